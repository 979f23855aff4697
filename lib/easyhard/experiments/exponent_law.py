r"""The experiments of the chapter "One law for every exponent".

One frozen config per case, :class:`LawCase`, with presets per scale (:data:`CASES`), and the
functions the chapter calls:

* :func:`theory_constants`: the exponent k, the strength ``K = |g_k D_k|`` of the leading term,
  the noise constant C and the critical step constant, all from :mod:`easyhard.theory`;
* :func:`mean_field_steps`: the first-passage steps of the mean-field escape of
  ``x = d alpha^2`` (below), the theory beside every measurement;
* :func:`measure`: first-passage steps to ``|alpha| >= eta`` over the dims of a case, with the
  exact reduced engine or the effective (SDE) engine, saved with :mod:`easyhard.results` as
  ``exponent_law_<case>`` (checkpointed per d);
* :func:`slope_table`: fitted slopes with bootstrap intervals beside the predictions.

The mean-field escape. With a per-step factor ``lr = delta / d``, overlap ``alpha`` of the
spike and ``x = d alpha^2``, the leading term ``g_k D_k alpha^k`` of the population loss, the
Ito contraction of the normalisation ``-(lr^2 / 2) C d alpha`` and the step noise
``lr^2 C`` per step give

    dx/dn = 2 k K delta d^{-k/2} x^{k/2} - (delta^2 C / d) (x - 1).

For k >= 3 and ``delta = c d^{-(k-2)/2}`` this is ``(c / d^{k-1}) [2 k K x^{k/2} - c C (x - 1)]``:
n = Theta(d^{k-1}) at every fixed c. The bracket stays positive for every x (the drift wins from
the start) when ``c < c* = k^2 K (k / (k - 2))^{(k-2)/2} / C`` (k = 4: ``32 K / C``). For
k = 2 the bracket is ``4 K x - delta C (x - 1)``, positive when ``delta < 4 K / C``; with
``delta = c / ln d`` the cost is ``n ~ d ln d ln(eta^2 d) / (4 K c)``. The escape is
``n = int_{x_0}^{d eta^2} dx / (dx/dn)`` from the median uniform start ``x_0``
(:func:`easyhard.theory.flow.median_start`). It keeps only the leading term of the loss and
the noise at alpha = 0. :func:`mean_field_steps` uses this equation with the whole loss along
the spike in place of its leading term (:func:`loss_series`), on the sphere; it is the theory
beside every measurement (its slope over the same d, and the medians), not a fit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.integrate
import scipy.stats

from easyhard import results
from easyhard.activations import get_activation
from easyhard.config import preset
from easyhard.data.mcm import MixedCumulantModel
from easyhard.diffusion import vp_coefficients
from easyhard.neuron import NeuronSpec
from easyhard.sgd import fit_slope, run
from easyhard.sgd.effective import run_effective
from easyhard.sgd.sweep import sweep_seed
from easyhard.theory import hermite_coefficients, hermite_moments, information_exponent
from easyhard.theory.flow import median_start, noise_constant

ENGINES: tuple[str, ...] = ("reduced", "effective", "direct_mean")
SPIKES: dict[str, str] = {"mean": "m", "covariance": "u", "cumulant": "v"}


@dataclass(frozen=True)
class LawCase:
    """One case of the law: data, neuron, step schedule, sweep.

    ``spike``: ``"covariance"`` (beta_u > 0, beta_v = 0) or ``"cumulant"`` (beta_v > 0,
    beta_u = 0); ``k``: the exponent the case claims (None: the theory says the neuron is
    blind to the spike); ``step_scale`` c: ``delta = c / ln d`` for k <= 2 and
    ``delta = c d^{-(k-2)/2}`` for k >= 3 (``lr = delta / d`` per step); ``budget``: each
    walker runs at most this many mean-field escape times (for a blind case: this many
    times ``reference_steps``, the median of a seeing neuron at the same d); ``eta``: the
    weak-recovery threshold. Construction checks through :mod:`easyhard.theory` that the
    activation, latent and noise level give exponent ``k`` with the learnable sign, and
    that c is below the critical step constant: a bad combination raises ``ValueError``
    before any SGD runs.
    """

    name: str
    k: int | None
    spike: str
    dims: tuple[int, ...]
    walkers: int
    step_scale: float
    activation: str = "tanh"
    a: float = 0.6
    beta: float = 5.0
    latent: str = "rademacher"
    skew_p: float = 0.2
    engine: str = "reduced"
    eta: float = 0.5
    budget: float = 30.0
    reference_steps: tuple[float, ...] = ()
    seed: int = 0

    @property
    def neuron(self) -> NeuronSpec:
        """The neuron: ``activation`` at the noise level ``a``, with c = a and A = 1."""
        return NeuronSpec(self.activation, self.a)

    def __post_init__(self) -> None:
        """Check the spike, engine, dims, walkers, eta and the step (below c* for a known k)."""
        if self.spike not in SPIKES:
            raise ValueError(f"spike must be one of {tuple(SPIKES)}, got {self.spike!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if (self.spike == "mean") != (self.engine == "direct_mean"):
            raise ValueError("the mean spike needs engine='direct_mean' (the library's engines need beta_m = 0), "
                             f"and that engine runs only the mean spike; got spike={self.spike!r}, "
                             f"engine={self.engine!r}")
        dims = self.dims
        if len(dims) < 1 or any(not isinstance(d, int) or d < 8 for d in dims) or list(dims) != sorted(set(dims)):
            raise ValueError(f"dims must be increasing integers >= 8, got {dims!r}")
        if self.walkers < 2:
            raise ValueError(f"walkers must be >= 2, got {self.walkers!r}")
        if not 0.0 < self.eta < 1.0:
            raise ValueError(f"eta must lie in (0, 1), got {self.eta!r}")
        if not (self.step_scale > 0 and math.isfinite(self.step_scale)):
            raise ValueError(f"step_scale must be a finite number > 0, got {self.step_scale!r}")
        if self.k is None and len(self.reference_steps) != len(dims):
            raise ValueError("a blind case (k=None) needs reference_steps, one per entry of dims")
        th = theory_constants(self)  # raises if the exponent or the step is wrong
        if self.k is not None and not self.step_scale < th["critical"]:
            raise ValueError(
                f"step_scale c = {self.step_scale} is not below the critical step c* = {th['critical']:.4g} "
                f"of case {self.name!r} (k = {self.k}, K = {th['K']:.4g}, C = {th['C']:.4g})"
            )

    def model(self, d: int) -> MixedCumulantModel:
        """The MCM of the case at dimension d (spike directions seeded by d)."""
        if self.spike == "mean":
            return MixedCumulantModel(d, beta_u=0.0, beta_v=0.0, beta_m=self.beta, seed=d)
        bu, bv = (self.beta, 0.0) if self.spike == "covariance" else (0.0, self.beta)
        return MixedCumulantModel(d, beta_u=bu, beta_v=bv, latent=self.latent, skew_p=self.skew_p, seed=d)

    def delta(self, d: int) -> float:
        """The step delta(d) of the schedule the theory prescribes for exponent k."""
        k = self.k if self.k is not None else 4
        if k <= 2:
            return self.step_scale / math.log(d)
        return self.step_scale * d ** (-(k - 2) / 2)


def theory_constants(case: LawCase) -> dict[str, Any]:
    """``{"k", "K", "C", "critical", "note"}`` of the case, from :mod:`easyhard.theory`.

    ``K = |g_k D_k|`` (:func:`easyhard.theory.information_exponent`), ``C`` the noise constant
    (:func:`easyhard.theory.flow.noise_constant`), ``critical`` the critical step constant c*
    (module docstring; for k = 2 it is ``4 K ln(d_min) / C``, the c at which delta = c / ln d
    reaches ``4 K / C`` at the smallest d; for k = 1, ``2 K ln(d_min) / (C eta)``, where the
    contraction at the threshold, ``delta C eta / 2``, equals the constant drift K). Raises ``ValueError`` if the computed exponent is
    not the claimed ``k`` or the leading term has the wrong sign.
    """
    model = case.model(case.dims[0])
    ex = information_exponent(model, case.neuron)[case.spike]
    C = noise_constant(case.neuron)
    if case.k is None:
        if ex.exponent is not None:
            raise ValueError(f"case {case.name!r} claims a blind neuron, but the theory gives exponent "
                             f"{ex.exponent} ({ex.note})")
        return {"k": None, "K": 0.0, "C": C, "critical": math.inf, "note": ex.note}
    if ex.exponent != case.k or not ex.learnable:
        raise ValueError(
            f"case {case.name!r} claims exponent k = {case.k} (learnable), but {case.activation} at a = "
            f"{case.a} on this data gives exponent {ex.exponent}, learnable={ex.learnable} ({ex.note})"
        )
    K = abs(ex.g * ex.data_factor)
    k = case.k
    if k == 1:
        crit = 2.0 * K * math.log(case.dims[0]) / (C * case.eta)
    elif k == 2:
        crit = 4.0 * K * math.log(case.dims[0]) / C
    else:
        crit = k * k * K * (k / (k - 2)) ** ((k - 2) / 2) / C
    return {"k": k, "K": K, "C": C, "critical": crit, "note": ex.note}


#: Hermite orders kept in the loss along the spike (the series converges fast: |g_k| falls
#: faster than the data factors grow)
SERIES_ORDER = 12


def loss_series(case: LawCase) -> np.ndarray:
    """The coefficients ``b_j = g_j D_j``, j = 0..SERIES_ORDER, of the loss along the spike.

    The population loss along the spike is ``L(alpha) - L^iso = sum_j b_j alpha^j``
    exactly (up to the truncation), with the data factors ``D_j = E He_j(e.x0)``
    (:func:`easyhard.theory.hermite_moments` at overlap 1).
    """
    model = case.model(case.dims[0])
    g = hermite_coefficients(case.neuron, kmax=SERIES_ORDER)
    at = {"mean": (0.0, 0.0, 1.0), "covariance": (1.0, 0.0, 0.0), "cumulant": (0.0, 1.0, 0.0)}[case.spike]
    D = np.asarray(hermite_moments(model, SERIES_ORDER, *at), dtype=float)
    return g * D


def mean_field_steps(case: LawCase, d: int, step_scale: float | None = None, leading: bool = False) -> float:
    """Steps of the mean-field escape of x = d alpha^2 from the median start to d eta^2.

    The drift is that of the whole loss along the spike (:func:`loss_series`), on the sphere,
    with the Ito contraction and the step noise at alpha = 0:
    ``dx/dn = -2 d lr alpha (1 - alpha^2) L'(alpha) - lr^2 C d (x - 1)``, alpha = +-sqrt(x/d)
    of the sign that lowers the loss; ``leading=True`` keeps only the leading term (the
    formula of the module docstring). inf if the drift vanishes on the way or the case is
    blind. ``step_scale`` replaces the case's c (unchecked: above c* the escape is inf).
    """
    th = theory_constants(case)
    if case.k is None:
        return math.inf
    k, C, delta = case.k, th["C"], case.delta(d)
    if step_scale is not None:
        delta *= step_scale / case.step_scale
    b = loss_series(case)
    if leading:
        b = np.where(np.arange(b.size) == k, b, 0.0)
    sign = -np.sign(b[k]) if k % 2 else 1.0  # odd k: the side where the leading term is negative
    lr = delta / d
    x0 = d * median_start(d) ** 2
    x1 = d * case.eta**2
    if x1 <= x0:
        return 0.0
    x = np.geomspace(x0, x1, 4001)
    al = sign * np.sqrt(x / d)
    dL = np.polynomial.polynomial.polyval(al, np.arange(1, b.size) * b[1:])
    rate = -2.0 * d * lr * al * (1.0 - al**2) * dL - lr**2 * C * d * (x - 1.0)
    if np.any(rate <= 0):
        return math.inf
    return float(scipy.integrate.simpson(x / rate, x=np.log(x)))


def prefactor(case: LawCase) -> float:
    """The constant of the mean-field law at the largest d of the case.

    ``n / d^{k-1}`` (k >= 3) or ``n / (d ln d)`` (k = 2): the constant that moves with
    g_k(a) while the slope stays.
    """
    d = case.dims[-1]
    n = mean_field_steps(case, d)
    return n / d ** (case.k - 1) if case.k >= 3 else n / (d * math.log(d))


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # k = 1: a mean spike (beta_m = 1) seen by ReLU (not odd: g_1 != 0), delta = 0.5 / ln d
    "k1": {
        "ci": dict(dims=(32, 64, 128, 256), walkers=16),
        "laptop": dict(dims=(32, 64, 128, 256, 512, 1024), walkers=64),
        "base": dict(k=1, spike="mean", beta=1.0, activation="relu", a=0.4, step_scale=0.5,
                     engine="direct_mean"),
    },
    # k = 2: the covariance spike, delta = 1 / ln d
    "k2": {
        "ci": dict(dims=(32, 64, 128, 256), walkers=16),
        "laptop": dict(dims=(64, 128, 256, 512, 1024, 2048, 4096), walkers=64),
        "base": dict(k=2, spike="covariance", step_scale=1.0, engine="reduced"),
    },
    # k = 3: a skewed latent seen by ReLU (g_3 != 0), delta = 0.05 / sqrt(d)
    "k3": {
        "ci": dict(dims=(16, 24, 32, 48), walkers=16),
        "laptop": dict(dims=(16, 32, 64, 128, 256), walkers=64),
        "base": dict(k=3, spike="cumulant", latent="skewed", activation="relu", step_scale=0.05,
                     engine="reduced"),
    },
    # k = 4: the Rademacher cumulant spike, delta = 0.1 / d
    "k4": {
        "ci": dict(dims=(32, 128, 512, 2048), walkers=32),
        "laptop": dict(dims=(32, 64, 128, 256, 512, 1024, 2048, 4096, 8192), walkers=128),
        "base": dict(k=4, spike="cumulant", step_scale=0.1, engine="effective"),
    },
    # k = 6: the three-point latent (kappa_4 = 0, kappa_6 = -6); tanh at a = 0.9 has g_6 > 0
    "k6": {
        "ci": dict(dims=(32, 64, 128), walkers=32),
        "laptop": dict(dims=(32, 64, 128, 256, 512), walkers=128),
        "base": dict(k=6, budget=10.0, spike="cumulant", latent="three_point", a=0.9, step_scale=0.02,
                     engine="effective"),
    },
}
# invariance across noise levels: one step constant per k, below c* at every a
for _a in (0.4, 0.6, 0.8):
    PRESETS[f"k2_a{round(10 * _a):02d}"] = {
        "ci": dict(dims=(64, 128, 256), walkers=16),
        "laptop": dict(dims=(64, 128, 256, 512, 1024, 2048), walkers=64),
        "base": dict(k=2, spike="covariance", a=_a, step_scale=0.5, engine="reduced"),
    }
    PRESETS[f"k4_a{round(10 * _a):02d}"] = {
        "ci": dict(dims=(32, 128, 512), walkers=32),
        "laptop": dict(dims=(32, 64, 128, 256, 512, 1024, 2048), walkers=128),
        "base": dict(k=4, spike="cumulant", a=_a, step_scale=0.04, engine="effective"),
    }
# architecture: the Rademacher spike seen by erf (k = 4) and by ReLU (blind: g_4 = 0)
PRESETS["k4_erf"] = {
    "ci": dict(dims=(32, 128, 512), walkers=32),
    "laptop": dict(dims=(32, 64, 128, 256, 512, 1024, 2048), walkers=128),
    "base": dict(k=4, spike="cumulant", activation="erf", step_scale=0.1, engine="effective"),
}


def case(name: str, scale: str | None = None, **overrides: Any) -> LawCase:
    """The case ``name`` of :data:`PRESETS` at ``scale`` (default: the current scale).

    Fields are replaced by ``overrides`` (and checked again).
    """
    if name not in PRESETS:
        raise ValueError(f"case must be one of {tuple(PRESETS)}, got {name!r}")
    sizes = preset({s: v for s, v in PRESETS[name].items() if s != "base"} | {"paper": PRESETS[name]["laptop"]},
                   scale)
    return LawCase(name=name, **(PRESETS[name]["base"] | sizes | overrides))


#: no walker runs more steps than this (int64 step counters)
MAX_STEPS = 2**62

#: the blind case runs at these d (the exact engine pays every step of its budget)
BLIND_DIMS: dict[str, tuple[int, ...]] = {"ci": (32,), "laptop": (32,), "paper": (32,)}


def blind_case(seeing: LawCase, passage: np.ndarray, factor: float = 10.0, walkers: int = 32,
               dims: tuple[int, ...] | None = None) -> LawCase:
    """The blind case: ReLU on the spike of ``seeing`` (a k = 4 tanh case), exact engine.

    Its budget is ``factor`` times the seeing neuron's median passage at each of
    ``dims`` (a subset of ``seeing.dims``; default: all).
    """
    dims = seeing.dims if dims is None else tuple(dims)
    med = np.median(np.asarray(passage), axis=1)
    ref = tuple(float(med[seeing.dims.index(d)]) for d in dims)
    return dataclasses.replace(seeing, name=seeing.name + "_relu_blind", k=None, activation="relu",
                               engine="reduced", budget=factor, reference_steps=ref, walkers=walkers,
                               dims=dims)


def compute_saved(scale: str = "laptop", names: tuple[str, ...] | None = None,
                  checkpoint: str | Path | None = None) -> None:
    """Run the cases ``names`` (default: all) at ``scale`` and save each, then the blind case.

    Each case is saved as ``exponent_law_<name>``; then the blind ReLU case runs
    against the saved ``k4`` medians (one process, checkpointed per d so a cut-off run
    resumes).
    """
    results.check_writable()  # before the first case: no work lost to a failing save
    for name in names or tuple(PRESETS):
        c = case(name, scale)
        print(name, "...", flush=True)
        out = measure(c, checkpoint=checkpoint, save=True, scale=scale)
        print(name, f"{float(out['wall_s']):.0f} s", flush=True)
    seeing = load_saved("k4")
    if seeing is not None:
        c = blind_case(seeing[0], seeing[1]["passage"], dims=BLIND_DIMS[scale])
        out = measure(c, checkpoint=checkpoint, save=True, scale=scale)
        print("blind", f"{float(out['wall_s']):.0f} s", flush=True)


def mean_spike_sgd(model: MixedCumulantModel, steps: int, lr: float, activation: str, a: float,
                   walkers: int, seed: int, eta: float, spike: str = "m") -> np.ndarray:
    """First-passage steps to ``|w.e| >= eta`` (e = m or u) of projected online SGD in d dimensions.

    The library's engines need ``beta_m = 0``; this is the direct process for a model with
    ``beta_v = 0`` (``x0 = beta_m m + sqrt(beta_u) lam u + z``), vectorised over walkers, with
    the per-sample spherical gradient ``G = K0 x0 + Kxi xi - (K0 p + Kxi zeta) w`` of
    :mod:`easyhard.sgd._kernels` (``c = a``, ``A = 1``) and ``w <- (w - lr G) / ||w - lr G||``
    from a uniform start. Walker i draws from ``SeedSequence(seed, spawn_key=(i,))``.
    Returns shape (walkers,), inf if not reached within ``steps``.
    """
    if model.beta_v != 0.0:
        raise ValueError(f"mean_spike_sgd needs beta_v = 0, got {model.beta_v}")
    if spike not in ("m", "u") or (spike == "m" and model.m is None):
        raise ValueError(f"spike must be 'm' (with beta_m > 0) or 'u', got {spike!r}")
    act = get_activation(activation)
    a, s = vp_coefficients(a)
    c = a
    d = model.d
    u = model.u.detach().cpu().numpy().astype(np.float64)
    mean = np.zeros(d) if model.m is None else model.beta_m * model.m.detach().cpu().numpy().astype(np.float64)
    e = u if spike == "u" else model.m.detach().cpu().numpy().astype(np.float64)
    bu = math.sqrt(model.beta_u)
    rngs = [np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i,))))
            for i in range(walkers)]
    w = np.stack([r.standard_normal(d) for r in rngs])
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    passage = np.full(walkers, np.inf)
    alive = np.abs(w @ e) < eta
    passage[~alive] = 0.0
    for n in range(1, steps + 1):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        noise = np.stack([rngs[i].standard_normal(2 * d + 1) for i in idx])
        x0 = noise[:, :d] + mean + bu * noise[:, 2 * d : 2 * d + 1] * u
        xi = noise[:, d : 2 * d]
        wi = w[idx]
        p, zeta = np.einsum("ij,ij->i", wi, x0), np.einsum("ij,ij->i", wi, xi)
        h = a * p + s * zeta
        sig, dsig = act.numpy(h), act.slope(h)
        g1 = -2.0 * dsig * (p - c * h - sig)
        g2 = -2.0 * sig
        k0, kxi = a * g1 + (1.0 - c * a) * g2, s * g1 - c * s * g2
        G = k0[:, None] * x0 + kxi[:, None] * xi - (k0 * p + kxi * zeta)[:, None] * wi
        wi = wi - lr * G
        wi /= np.linalg.norm(wi, axis=1, keepdims=True)
        w[idx] = wi
        hit = np.abs(wi @ e) >= eta
        passage[idx[hit]] = n
        alive[idx[hit]] = False
    return passage


def _passage_at(case: LawCase, d: int) -> np.ndarray:
    model = case.model(d)
    lr = case.delta(d) / d
    if case.k is None:
        steps = int(case.budget * case.reference_steps[case.dims.index(d)])
    else:
        steps = int(case.budget * mean_field_steps(case, d))
    steps = min(max(steps, 1000), MAX_STEPS)
    e = SPIKES[case.spike]
    kw = dict(walkers=case.walkers, seed=sweep_seed(case.seed, d), thresholds={e: case.eta},
              stop_at_passage=True, records=2)
    if case.engine == "direct_mean":
        return mean_spike_sgd(model, steps, lr, case.activation, case.a, case.walkers,
                              sweep_seed(case.seed, d), case.eta)
    if case.engine == "effective":
        traj = run_effective(model, steps, lr, case.activation, case.a, **kw)
    else:
        traj = run(model, steps, lr, case.activation, case.a, engine="reduced", threads=1, **kw)
    return traj.passage[e]


def measure(case: LawCase, checkpoint: str | Path | None = None, save: bool = False,
            scale: str | None = None) -> dict[str, np.ndarray]:
    """First-passage steps of every walker at every d of ``case``, and the theory.

    Returns ``{"dims", "passage" (D, walkers; inf: not within budget), "lr", "theory_steps"
    (mean-field escape), "wall_s"}``. ``checkpoint``: a folder caching each d; ``save``:
    store the result as ``exponent_law_<name>`` with provenance.
    """
    if save:
        results.check_writable()  # before computing: no work lost to a failing save
    rows, wall = [], 0.0
    for d in case.dims:
        if checkpoint is None:
            start = time.perf_counter()
            rows.append(_passage_at(case, d))
            wall += time.perf_counter() - start
        else:
            key = dataclasses.asdict(case) | {"d": d}
            res = results.cached("exponent_law_task", key, lambda d=d: {"passage": _passage_at(case, d)},
                                 root=checkpoint)
            rows.append(res.arrays["passage"])
            wall += float(res.meta["wall_time_s"])  # the compute time, also when resumed
    out = {
        "dims": np.asarray(case.dims, dtype=np.int64),
        "passage": np.stack(rows).astype(np.float64),
        "lr": np.array([case.delta(d) / d for d in case.dims]),
        "theory_steps": np.array([mean_field_steps(case, d) for d in case.dims]),
    }
    out["wall_s"] = np.array(wall)
    if save:
        results.save(f"exponent_law_{case.name}", dataclasses.asdict(case), out, wall_time=wall, scale=scale)
    return out


def load_saved(name: str) -> tuple[LawCase, dict[str, np.ndarray], dict[str, Any]] | None:
    """The newest saved result ``exponent_law_<name>``: (case, arrays, provenance), or None."""
    found = results.find(f"exponent_law_{name}")
    if not found:
        return None
    res = found[0]
    cfg = dict(res.meta["config"])
    for key in ("dims", "reference_steps"):
        cfg[key] = tuple(cfg[key])
    return LawCase(**cfg), res.arrays, res.meta


def prediction(k: int) -> float:
    """The slope the theory predicts for online SGD: k - 1 for k >= 3, 1 (up to logs) for k <= 2."""
    return float(k - 1) if k >= 3 else 1.0


def slope_row(case: LawCase, arrays: dict[str, np.ndarray], n_boot: int = 2000, level: float = 0.95) -> dict[str, Any]:
    """The fitted slope of the case beside its predictions, as a table row.

    The fitted slope with its bootstrap interval at ``level``, the prediction, the
    mean-field slope over the same d and (k <= 2) the slope of passage /
    :func:`log_factor`.
    """
    dims, passage = arrays["dims"], arrays["passage"]
    slope, lo, hi, _ = fit_slope(dims, passage, n_boot, level)
    theory = float(np.polyfit(np.log(dims), np.log(arrays["theory_steps"]), 1)[0])
    th = theory_constants(case)
    logs = log_factor(case, dims)
    corr, clo, chi, _ = fit_slope(dims, passage / logs[:, None], n_boot, level)
    return {"corrected": corr, "corrected_lo": clo, "corrected_hi": chi,"case": case.name, "k": case.k, "activation": case.activation, "a": case.a, "latent": case.latent,
            "c": case.step_scale, "c_star": th["critical"], "dims": f"{dims[0]}-{dims[-1]}",
            "walkers": passage.shape[1], "slope": slope, "lo": lo, "hi": hi,
            "predicted": prediction(case.k), "mean_field": theory}


def log_factor(case: LawCase, dims: np.ndarray) -> np.ndarray:
    """The logarithms of the mean-field cost beyond the power d^{k-1} (k <= 2).

    ``ln d`` (k = 1, from delta = c / ln d) and ``ln d ln(eta^2 d / x_0)`` (k = 2, the
    exponential growth from x_0 to eta^2 d); 1 for k >= 3.
    """
    d = np.asarray(dims, dtype=float)
    if case.k == 1:
        return np.log(d)
    if case.k == 2:
        x0 = np.array([dd * median_start(int(dd)) ** 2 for dd in d])
        return np.log(d) * np.log(case.eta**2 * d / x0)
    return np.ones_like(d)


def normaliser(case: LawCase) -> Any:
    """The law's d-dependence for the case, as a callable of d.

    ``d * log_factor`` for k <= 2, ``d^{k-1}`` for k >= 3 (the medians divided by it
    are flat if the law holds).
    """
    if case.k is not None and case.k >= 3:
        return lambda d: np.asarray(d, float) ** (case.k - 1)
    return lambda d: np.asarray(d, float) * log_factor(case, d)


def fraction_within(passage: np.ndarray, dims: np.ndarray, power: float, K: float) -> np.ndarray:
    """Fraction of walkers at each d that passed within ``K d^power`` steps."""
    dims = np.asarray(dims, dtype=float)
    return np.mean(passage <= K * dims[:, None] ** power, axis=1)


def saved_runs(names: tuple[str, ...]) -> dict[str, tuple[LawCase, dict[str, np.ndarray], dict[str, Any]]]:
    """The saved sweeps ``exponent_law_<name>`` that exist, by name."""
    out = {}
    for name in names:
        found = load_saved(name)
        if found is not None:
            out[name] = found
    return out


#: the chapter's groups of saved sweeps: the law, the invariance across noise levels, the architectures
LAW: tuple[str, ...] = ("k1", "k2", "k3", "k4", "k6")
INVARIANCE: tuple[str, ...] = tuple(f"k{k}_a{a}" for k in (2, 4) for a in ("04", "06", "08"))
ARCHITECTURE: tuple[str, ...] = ("k4", "k4_erf", "k4_relu_blind")


def saved_all(names: tuple[str, ...]) -> dict[str, tuple[LawCase, dict[str, np.ndarray], dict[str, Any]]] | None:
    """All the saved sweeps ``exponent_law_<name>`` of ``names``, or None if any is missing.

    When one is missing it prints which, and how to make them, so that a chapter
    without the saved results says so and carries on with its live runs.
    """
    found = saved_runs(names)
    missing = [n for n in names if n not in found]
    if not missing:
        return found
    print(f"no saved laptop sweep for {', '.join(missing)} among the saved results "
          "(easyhard.paths.results_dir()): the cells that need them show nothing. Make them with "
          "`python -m easyhard reproduce <figure id> --scale laptop` (ids: `python -m easyhard list`; "
          "hours on a laptop CPU).")
    return None


def median_over_mean_field(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """The median first passage at each d divided by the mean-field escape steps there."""
    return np.median(arrays["passage"], axis=1) / arrays["theory_steps"]


def follows_law(row: Mapping[str, Any]) -> bool:
    """Whether a :func:`slope_row` shows the law for its exponent k.

    For k >= 3 the slope's interval contains k - 1 and excludes both k - 2 and k;
    for k <= 2 the raw slope lies in (1, 1.5) (linear up to the schedule's
    logarithms) and the slope of passage / :func:`log_factor` is within 0.1 of 1.
    """
    k, lo, hi = row["k"], row["lo"], row["hi"]
    if k >= 3:
        return bool(lo < k - 1 < hi and not lo < k - 2 < hi and not lo < k < hi)
    return bool(1.0 < lo < hi < 1.5 and abs(row["corrected"] - 1.0) < 0.1)


def slopes_agree(rows: list[Mapping[str, Any]]) -> bool:
    """Whether the slope intervals of ``rows`` have a common point (max lo < min hi)."""
    return bool(max(r["lo"] for r in rows) < min(r["hi"] for r in rows))


@dataclass(frozen=True)
class BlindSummary:
    """The blind ReLU case at its one d, against the seeing tanh neuron's median ``reference``.

    ``started_beyond``: walkers whose uniform start is already past eta; ``early``: the
    fraction that passed within the tanh median; ``within_budget``: the fraction that passed
    at all; ``median_ratio``: ReLU's median over the tanh median; ``noise_tail``: the
    probability ``P(chi^2_1 > d eta^2)`` that the step noise alone puts ``x = d alpha^2``
    past the threshold, at ``d = 32, 64, 128``.
    """

    d: int
    budget: float
    reference: float
    walkers: int
    started_beyond: int
    early: float
    within_budget: float
    median_ratio: float
    noise_tail: dict[int, float]

    def is_blind(self) -> bool:
        """Fewer than 20% pass within the tanh median, and the median is over 5 times the tanh median."""
        return self.early < 0.2 and self.median_ratio > 5.0

    def summary(self) -> str:
        """Two lines for the chapter."""
        tails = ", ".join(f"{p:.1e}" for p in self.noise_tail.values())
        return (f"d = {self.d}: budget {self.budget:g} x tanh median ({self.reference:.3g}) steps; "
                f"{self.started_beyond} of {self.walkers} start beyond eta; passed within the tanh median: "
                f"{self.early:.2f}; within the budget: {self.within_budget:.2f}\n"
                f"ReLU median / tanh median: {self.median_ratio:.1f}; noise-only P(x > d eta^2) at d = "
                f"{', '.join(map(str, self.noise_tail))}: {tails}")


def blind_summary(case: LawCase, arrays: Mapping[str, np.ndarray]) -> BlindSummary:
    """The :class:`BlindSummary` of a saved blind case (its first d)."""
    p, ref = np.asarray(arrays["passage"][0], float), float(case.reference_steps[0])
    return BlindSummary(
        d=int(case.dims[0]), budget=float(case.budget), reference=ref, walkers=int(p.size),
        started_beyond=int(np.sum(p == 0)), early=float(np.mean((p > 0) & (p <= ref))),
        within_budget=float(np.isfinite(p).mean()), median_ratio=float(np.median(p) / ref),
        noise_tail={d: float(scipy.stats.chi2(1).sf(d * case.eta**2)) for d in (32, 64, 128)},
    )


@dataclass(frozen=True)
class LowerBound:
    """The lower-bound view of a k = 4 sweep: fixed budgets ``K d^p`` and what they recover.

    ``K[p]`` puts half the walkers past ``K d^p`` steps at the smallest d;
    ``within[p]``: the fraction within ``K[p] d^p`` at each d; ``spread[p]``: the
    decades the median of passage / d^p spans over d.
    """

    K: dict[float, float]
    within: dict[float, np.ndarray]
    spread: dict[float, float]


def lower_bound(arrays: Mapping[str, np.ndarray], powers: tuple[float, ...] = (2.5, 3.0)) -> LowerBound:
    """Fixed budgets ``K d^p`` for each power of ``powers``, and what they recover across d."""
    dims, passage = np.asarray(arrays["dims"], float), np.asarray(arrays["passage"], float)
    med = np.median(passage, axis=1)
    K = {pw: float(med[0] / dims[0] ** pw) for pw in powers}
    within = {pw: fraction_within(passage, dims, pw, K[pw]) for pw in powers}
    spread = {pw: float(np.ptp(np.log10(med / dims**pw))) for pw in powers}
    return LowerBound(K, within, spread)


def case_markdown(names: tuple[str, ...], scale: str | None = None) -> str:
    """A Markdown table of the cases ``names``: data, neuron, computed k, K, C, step constant c and c*."""
    rows = []
    for name in names:
        c = case(name, scale)
        th = theory_constants(c)
        rows.append(f"| {name} | {c.spike} | {c.latent if c.spike == 'cumulant' else '-'} | {c.activation} | {c.a} "
                    f"| {th['k']} | {th['K']:.3g} | {th['C']:.3f} | {c.step_scale:g} | {th['critical']:.3g} |")
    return ("| case | spike | latent | neuron | a | k (computed) | K | C | c | c* |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows))


def neuron_exponents(models: Mapping[str, MixedCumulantModel], activations: tuple[str, ...], a: float) -> str:
    """A text table: the exponent of each model's cumulant spike for each activation at noise level ``a``."""
    lines = [f"{'neuron':7s} " + " ".join(f"{k:>24s}" for k in models)]
    for act in activations:
        ex = [information_exponent(m, act, a)["cumulant"] for m in models.values()]
        lines.append(f"{act:7s} " + " ".join(f"{str(e.exponent):>6s} (learnable {e.learnable!s:5s})    " for e in ex))
    return "\n".join(lines)


def describe(meta: Mapping[str, Any]) -> str:
    """One provenance line of a saved sweep: scale, machine, date, compute time."""
    return (f"{meta.get('scale', '?')} scale, {meta.get('machine', '?')}, {str(meta.get('date', '?'))[:10]}, "
            f"{meta.get('wall_time_s') or 0:.0f} s")


def slope_markdown(rows: list[Mapping[str, Any]], title: str) -> str:
    """A Markdown table of :func:`slope_row` rows."""
    head = (f"**{title}**\n\n| case | k | neuron, a | c | c* | d | walkers | slope [95% CI] | mean field "
            "| log-corrected slope | predicted |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['case']} | {r['k']} | {r['activation']}, {r['a']} | {r['c']:g} | {r['c_star']:.3g} | {r['dims']} "
        f"| {r['walkers']} | {r['slope']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}] | {r['mean_field']:.2f} | "
        + (f"{r['corrected']:.2f} [{r['corrected_lo']:.2f}, {r['corrected_hi']:.2f}]" if r['k'] <= 2 else "-")
        + f" | {r['predicted']:g} |\n" for r in rows)
    return head + body


if __name__ == "__main__":  # python -m easyhard.experiments.exponent_law [scale] [checkpoint folder]
    import sys

    compute_saved(sys.argv[1] if len(sys.argv) > 1 else "laptop",
                  checkpoint=sys.argv[2] if len(sys.argv) > 2 else None)
