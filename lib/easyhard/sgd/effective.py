r"""The effective engine: the diffusion (SDE) limit of the exact overlap chain.

The chain. For one tied neuron on the MCM, ``(alpha_u, alpha_v)`` is an exact
Markov chain (:mod:`easyhard.sgd.reduced`). One step is

    alpha_e' = (alpha_e - lr G_e) / sqrt(1 + lr^2 ||G||^2),    e in {u, v},

with the spherical per-sample gradient G (``G.w = 0``, so ``||w - lr G||^2 = 1 + lr^2 ||G||^2``).

The expansion. With ``N = lr^2 ||G||^2 = O(lr^2 d)``,

    Delta alpha_e = -lr G_e - (N / 2) alpha_e + R_e,
    R_e = lr G_e (1 - (1 + N)^{-1/2}) + alpha_e ((1 + N)^{-1/2} - 1 + N / 2)
        = O(lr^3 d |G_e|) + O(lr^4 d^2 |alpha_e|).

Given the state, the first two moments of the increment are therefore

    E[Delta alpha_e | alpha]   = -lr m_e - (lr^2 / 2) (d C0 + C1) alpha_e + O(lr^3 d),
    Cov(Delta alpha_e, Delta alpha_f | alpha) = lr^2 S_ef + O(lr^3 d),

with ``m_e = E[G_e]``, ``S_ef = Cov(G_e, G_f)`` and ``E||G||^2 = d C0 + C1``,
functions of the overlaps alone, computed exactly from the per-sample gradient
by quadrature over the sample's projections and the latent laws
(:mod:`easyhard.theory.effective`). ``-lr m_e`` is the population gradient
(the noiseless flow); ``-(lr^2 / 2) E||G||^2 alpha_e`` is the Ito contraction of
the normalisation, the term that sets the critical step; ``S`` is the noise.
The effective dynamics is the diffusion with these moments, in SGD steps n
as a continuous time:

    d alpha = b(alpha) dn + lr S(alpha)^{1/2} dW_n,
    b_e = -lr m_e - (lr^2 / 2) (d C0 + C1) alpha_e.

What it neglects, exactly: (i) the O(lr^3 d) remainders of the two moments
above (e.g. the change of the normalisation's contraction with G_e, and the
fluctuation of ``||G||^2`` around its mean, whose variance is O(lr^4 d));
(ii) the third and higher cumulants of the one-step increment (of order
``lr^3 E|G_e|^3``): the chain is replaced by the diffusion with its first two
moments (Kramers-Moyal truncated at second order); (iii) the discreteness of
time (each SGD step moves alpha by ``lr G_e = O(lr)``; there are no jumps and the
process is continuous). Validity: every step is small against the scale on
which the coefficients change, ``lr |G_e| << max(|alpha|, d^{-1/2})``, and
``lr^2 d << 1``. For the quartic spike at ``lr = c / d^2`` the ratio is
``c d^{-3/2}``; for the covariance spike at ``lr = 1/(d ln d)`` it is
``(d^{1/2} ln d)^{-1}``. The rescaled quartic process of the book (x = d alpha_v^2,
s = c n / d^3, drift ``8 K x^2 - c C (x - 1)``, noise variance ``4 c C x``) is its
small-overlap limit: ``K = |g_4 kt_4|``, ``C = C0(0)``, and the ``+c C`` of the
drift is Ito's ``d (d alpha)^2`` of the change of variable.

Integration. Euler-Maruyama in alpha with an adaptive step Delta n chosen from
the local scales: with ``sigma_e = max(|alpha_e|, d^{-1/2})`` (the safeguard at the
start, where overlaps are O(d^{-1/2}) and may cross zero),

    Delta n = min_e min(eps^2 sigma_e^2 / (lr^2 S_ee), eps sigma_e / |b_e|),

so that one step moves each overlap by at most a fraction eps of its own scale
by noise or by drift. In rescaled time this is d-independent, so the number of
steps per walker does not grow with d. The coefficients are read from tensor
Chebyshev interpolants on [-1, 1]^2 (geometric convergence, truncated where the
coefficients fall below 1e-11 of the largest: error ~1e-11 to 1e-8 of their O(1)
values, which keeps the cubic drift's relative error below 1e-4 at the smallest
overlaps). Steps end exactly on record steps.
First passage of ``|alpha_e| >= eta_e`` is detected without the bias of a
discrete step by the Brownian-bridge correction: when both ends of a step stay
below the threshold, the path crossed in between with probability
``exp(-2 (eta - a0)(eta - a1) / (lr^2 S_ee Delta n))`` (and its mirror at -eta),
tested with a uniform draw. The chain itself is observed once per SGD step, so
it passes later than a continuous path would: the threshold is moved out by
``0.5826 lr S_ee^{1/2}`` (the per-step standard deviation times
``-zeta(1/2)/sqrt(2 pi)``, Broadie, Glasserman and Kou 1997), which corrects the
first-passage law to first order in the per-step noise. It matters only where the
per-step noise is comparable to the distance to the threshold (a plateau just
above it, small d); for the quartic spike it is ``O(c d^{-2})``. The recorded
passage step is the first integer step at or after the crossing. Walker i draws from its own generator,
``SeedSequence(seed, spawn_key=(i,))``, whatever the number of walkers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numba as nb
import numpy as np

from easyhard._validation import check_choice, check_int, check_scalar
from easyhard.sgd._kernels import Schedule, map_chunks, walker_generator
from easyhard.sgd.run import EngineOutput
from easyhard.theory.effective import FIELDS, SLOPES, chebyshev_tables

if TYPE_CHECKING:
    from easyhard.activations import Activation
    from easyhard.data.mcm import MixedCumulantModel
    from easyhard.sgd.run import Problem, Trajectories

#: default accuracy of the adaptive step (fraction of the local overlap scale per step)
EPS = 0.1
#: -zeta(1/2) / sqrt(2 pi): the barrier shift of Broadie, Glasserman and Kou (1997) that turns
#: continuous into once-per-step monitoring
_BGK = 0.5825971579390106


@nb.njit(cache=True, nogil=True, fastmath=True)
def _chebyshev(tab, nf, au, av, tu, tv, out):  # pragma: no cover - compiled
    """out[f] = sum_jk tab[f, j, k] T_j(au) T_k(av) for f < nf."""
    n = tab.shape[1]
    tu[0] = 1.0
    tv[0] = 1.0
    tu[1] = au
    tv[1] = av
    for k in range(2, n):
        tu[k] = 2.0 * au * tu[k - 1] - tu[k - 2]
        tv[k] = 2.0 * av * tv[k - 1] - tv[k - 2]
    for f in range(nf):
        acc = 0.0
        for j in range(n):
            row = 0.0
            for k in range(n):
                row += tab[f, j, k] * tv[k]
            acc += tu[j] * row
        out[f] = acc


@nb.njit(cache=True, nogil=True, inline="always")
def _bridge_crossed(rng, a0, a1, eta, var):  # pragma: no cover - compiled
    """Whether a Brownian bridge from a0 to a1 (|a0|, |a1| < eta) of variance var left (-eta, eta)."""
    if var <= 0.0:
        return False
    p = math.exp(-2.0 * (eta - a0) * (eta - a1) / var) + math.exp(-2.0 * (eta + a0) * (eta + a1) / var)
    if p < 1e-300:
        return False
    return rng.random() < p


@nb.njit(cache=True, nogil=True, inline="always")
def _passage(rng, a0, a1, bar, t, dt, var):  # pragma: no cover - compiled
    """First passage within one integration step.

    First integer step at or after the path from a0 (time t) to a1 (t + dt) leaves
    (-bar, bar), or NaN if it stays inside (endpoint, then Brownian bridge).
    """
    if abs(a1) >= bar:
        frac = (bar - abs(a0)) / (abs(a1) - abs(a0)) if abs(a1) > abs(a0) else 1.0
        return max(1.0, math.ceil(t + frac * dt))
    if _bridge_crossed(rng, a0, a1, bar, var):
        return max(1.0, math.ceil(t + 0.5 * dt))
    return np.nan


@nb.njit(cache=True, nogil=True)
def _effective_walker(
    rng, mu, mv, d, lr, ito, tab, rec, eta, stop, eps, out_u, out_v, out_loss, out_pass,
):  # pragma: no cover - compiled
    """One walker of the module docstring's scheme; returns the number of SDE steps."""
    n = tab.shape[1]
    tu = np.empty(n)
    tv = np.empty(n)
    f = np.empty(tab.shape[0])
    floor = 1.0 / math.sqrt(d)
    tracked_u = not math.isnan(eta[0])
    tracked_v = not math.isnan(eta[1])
    nrec = rec.size
    ri = 0
    if rec[0] == 0:
        out_u[0] = mu
        out_v[0] = mv
        out_loss[0] = np.nan
        ri = 1
    t = 0.0
    end = float(rec[nrec - 1])
    count = 0
    lr2 = lr * lr
    while ri < nrec:
        _chebyshev(tab, 7, mu, mv, tu, tv, f)
        contraction = 0.5 * lr2 * (d * f[5] + f[6]) if ito else 0.0
        bu = -lr * f[0] - contraction * mu
        bv = -lr * f[1] - contraction * mv
        duu = lr2 * max(f[2], 0.0)
        dvv = lr2 * max(f[4], 0.0)
        duv = lr2 * f[3]
        su = max(abs(mu), floor)
        sv = max(abs(mv), floor)
        dt = end - t
        if duu > 0.0:
            dt = min(dt, eps * eps * su * su / duu)
        if dvv > 0.0:
            dt = min(dt, eps * eps * sv * sv / dvv)
        if bu != 0.0:
            dt = min(dt, eps * su / abs(bu))
        if bv != 0.0:
            dt = min(dt, eps * sv / abs(bv))
        target = float(rec[ri])
        landing = t + dt >= target
        if landing:
            dt = target - t
        l11 = math.sqrt(duu)
        l21 = duv / l11 if l11 > 0.0 else 0.0
        l22 = math.sqrt(max(dvv - l21 * l21, 0.0))
        sq = math.sqrt(dt)
        g1 = rng.standard_normal()
        g2 = rng.standard_normal()
        nu_ = mu + bu * dt + sq * l11 * g1
        nv_ = mv + bv * dt + sq * (l21 * g1 + l22 * g2)
        norm2 = nu_ * nu_ + nv_ * nv_
        if norm2 >= 1.0:
            shrink = math.sqrt((1.0 - 1e-12) / norm2)
            nu_ *= shrink
            nv_ *= shrink
        if tracked_u and math.isnan(out_pass[0]):
            out_pass[0] = _passage(rng, mu, nu_, eta[0] + _BGK * l11, t, dt, duu * dt)
        if tracked_v and math.isnan(out_pass[1]):
            out_pass[1] = _passage(rng, mv, nv_, eta[1] + _BGK * math.sqrt(dvv), t, dt, dvv * dt)
        mu, mv = nu_, nv_
        count += 1
        t = target if landing else t + dt
        if landing:
            out_u[ri] = mu
            out_v[ri] = mv
            _chebyshev(tab[7:8], 1, mu, mv, tu, tv, f)
            out_loss[ri] = f[0]
            ri += 1
        if stop and (tracked_u or tracked_v):
            if (not tracked_u or not math.isnan(out_pass[0])) and (
                not tracked_v or not math.isnan(out_pass[1])
            ):
                break
    return count


@nb.njit(cache=True, nogil=True)
def _uniform_start(rng, d):  # pragma: no cover - compiled
    """(alpha_u, alpha_v) of a point uniform on S^{d-1}: (g1, g2) / sqrt(g1^2 + g2^2 + chi2(d-2))."""
    g1 = rng.standard_normal()
    g2 = rng.standard_normal()
    rest = 2.0 * rng.standard_gamma(0.5 * (d - 2))
    norm = math.sqrt(g1 * g1 + g2 * g2 + rest)
    return g1 / norm, g2 / norm


@nb.njit(cache=True, nogil=True)
def _walker_from(
    rng, init, d, lr, ito, tab, rec, eta, stop, eps, out_u, out_v, out_loss, out_pass,
):  # pragma: no cover - compiled
    """Start (fixed ``init`` of size 2, else uniform) and run one walker."""
    if init.size == 2:
        mu, mv = init[0], init[1]
    else:
        mu, mv = _uniform_start(rng, d)
    return _effective_walker(rng, mu, mv, d, lr, ito, tab, rec, eta, stop, eps,
                             out_u, out_v, out_loss, out_pass)


def run_engine(
    params: Problem, walkers: int, schedule: Schedule, seed: int, init: np.ndarray | None, *,
    neurons: int = 1, threads: int = 1, progress: bool = False, backend: str = "numba",
    complement: str = "exact", first: int = 0, device: object = None, ito: bool = True,
    eps: float = EPS, degree: int = 40,
) -> EngineOutput:
    """Run the effective engine.

    Walkers ``first .. first + walkers - 1`` of the effective engine (the engine interface of
    :mod:`easyhard.sgd.run`): walker i from :func:`~easyhard.sgd._kernels.walker_generator`
    ``(seed, i)``, in chunks on ``threads`` threads.

    ``loss`` holds the population mean of the per-sample loss at the recorded overlaps
    (the diffusion has no per-sample losses). ``ito=False`` drops the Ito contraction
    (a negative control, not the process); ``eps`` is the step accuracy; ``degree`` that
    of the Chebyshev tables (:func:`easyhard.theory.effective.chebyshev_tables`). The
    output's ``extra`` holds these options and ``sde_steps``, the number of integration
    steps per walker.
    """
    if neurons != 1:
        raise ValueError(f"engine='effective' simulates one neuron (neurons=1), got neurons={neurons}")
    if backend != "numba":
        raise ValueError(f"engine='effective' runs on numba only, got backend={backend!r}")
    if complement != "exact":
        raise ValueError("complement applies to engine='reduced' only")
    check_choice(ito, "ito", (True, False))
    eps = check_scalar(eps, "eps (step accuracy)", lo=0.0, hi=0.5, closed="right")
    degree = check_int(degree, "degree", lo=4)
    if params.neuron.activation.name not in SLOPES:
        raise ValueError(f"engine='effective' needs a smooth activation {tuple(SLOPES)}, "
                         f"got {params.neuron.activation.name!r}")
    tab = np.ascontiguousarray(chebyshev_tables(params.model, params.neuron, degree))
    if tab.shape[0] != len(FIELDS) or FIELDS[7] != "loss":
        raise RuntimeError("the Chebyshev tables do not have the fields this kernel reads")
    R = schedule.rec.size
    out_u = np.full((walkers, 1, R), np.nan)
    out_v = np.full((walkers, 1, R), np.nan)
    out_loss = np.full((walkers, R), np.nan)
    out_pass = np.full((walkers, 2), np.nan)
    counts = np.zeros(walkers, dtype=np.int64)
    start = np.zeros(0) if init is None else np.asarray(init, dtype=np.float64)

    def work(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            counts[i] = _walker_from(
                walker_generator(seed, first + i), start, params.d, params.lr, bool(ito), tab,
                schedule.rec, schedule.eta, schedule.stop, eps, out_u[i, 0], out_v[i, 0],
                out_loss[i], out_pass[i])

    map_chunks(work, walkers, threads, progress=progress, desc=f"effective d={params.d}")
    extra = {"ito": bool(ito), "eps": eps, "degree": degree, "sde_steps": counts}
    return EngineOutput(out_u, out_v, out_loss, out_pass, None, extra)


def run_effective(
    model: MixedCumulantModel,
    steps: int,
    lr: float,
    activation: str | Activation = "tanh",
    a: float = 0.6,
    walkers: int = 16,
    seed: int = 0,
    **kwargs: Any,
) -> Trajectories:
    """Run the effective engine through :func:`easyhard.sgd.run`.

    ``easyhard.sgd.run(model, steps, lr, activation, a, walkers, engine="effective",
    seed=seed, **kwargs)``: the diffusion limit (module docstring, :func:`run_engine` for
    its options ``ito``, ``eps`` and ``degree``).
    """
    from easyhard.sgd.run import run

    return run(model, steps, lr, activation, a, walkers, "effective", seed, **kwargs)


__all__ = ["EPS", "run_effective", "run_engine"]
