r"""Checks for the coding exercises of the book, used as the autograder's hidden tests.

Every coding exercise ends in a hidden test cell that calls one ``check_*`` function of this
module with the student's answers. A check recomputes the reference answer with the library
and raises ``AssertionError("<label>: <what is wrong>. <what to look at>")`` on the first wrong
answer, so that a failed test tells the student *which* answer is wrong and what the usual
mistake is; it returns ``None`` when every answer is right. Answers of the wrong kind (not a
number, a missing key) raise :class:`TypeError` naming the answer.

One function per exercise, named after its label (``ex-cifar-units`` ->
:func:`check_cifar_units`). The tolerances are stated in each docstring: exact quantities
(quadrature, closed forms) to a relative ``1e-3``; Monte Carlo estimates to 5 standard errors
(a correct answer fails with probability about ``6e-7``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.optimize

from easyhard.neuron import NeuronSpec

__all__ = [
    "check_cifar_units",
    "floor_units",
    "check_mcm_whiten",
    "check_mcmbias_capstone",
    "check_ie_sign_flips",
    "check_easyhard_noise",
    "check_corr_rho",
    "check_law_capstone",
    "sign_flip",
]


def _number(name: str, value: Any) -> float:
    """``value`` as a finite float, or TypeError/ValueError naming the answer."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        if not (isinstance(value, np.ndarray) and value.shape == ()):
            raise TypeError(f"the answer {name} must be a number, got {type(value).__name__} {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"the answer {name} must be a finite number, got {out!r}")
    return out


def _fail(label: str, wrong: str, hint: str) -> None:
    raise AssertionError(f"{label}: {wrong}. {hint}")


def _close(label: str, name: str, value: float, ref: float, rtol: float, hint: str) -> None:
    if not abs(value - ref) <= rtol * abs(ref):
        _fail(label, f"{name} = {value:.6g} is not the expected {ref:.6g} (relative tolerance {rtol:g})", hint)


def floor_units(eigvals: np.ndarray, a: float) -> dict[str, float]:
    r"""The Wiener floor of covariance eigenvalues ``eigvals`` at signal coefficient ``a``, in four units.

    With ``s^2 = 1 - a^2``: ``x0_sum`` (the x0-error summed over the d dimensions,
    ``sum_i s^2 lambda_i / (a^2 lambda_i + s^2)``), ``x0_per_dim``, ``eps_sum`` (times
    ``(a/s)^2``, the units of the DDPM loss) and ``eps_per_dim``.
    """
    lam = np.asarray(eigvals, dtype=float)
    s2 = 1.0 - a * a
    x0 = float(np.sum(s2 * lam / (a * a * lam + s2)))
    return {"x0_sum": x0, "x0_per_dim": x0 / lam.size, "eps_sum": x0 * a * a / s2,
            "eps_per_dim": x0 * a * a / s2 / lam.size}


def check_cifar_units(student_floor_units: Any) -> None:
    r"""``ex-cifar-units``: a function ``floor_units(eigvals, a)``, the Wiener floor in four units.

    The student's function is compared with :func:`floor_units` on two spectra and two noise
    levels (DDPM steps t = 100 and 500). Relative tolerance ``1e-6``.
    """
    from easyhard.diffusion import ddpm_alpha_bar

    label = "ex-cifar-units"
    if not callable(student_floor_units):
        raise TypeError(f"the answer floor_units must be a function, got {type(student_floor_units).__name__}")
    hints = {
        "x0_sum": "sum over the eigenvalues of s^2 lambda / (a^2 lambda + s^2), with s^2 = 1 - a^2",
        "x0_per_dim": "divide the summed x0-error by d, the number of eigenvalues",
        "eps_sum": "the eps-error is (a/s)^2 times the x0-error, not (s/a)^2",
        "eps_per_dim": "multiply by (a/s)^2 and divide by d: the units of the chapter's loss tables",
    }
    spectra = {"geometric, d = 50": np.geomspace(1e-4, 10.0, 50), "flat, d = 8": np.ones(8)}
    for t in (100, 500):
        a = float(ddpm_alpha_bar()[t - 1].sqrt())
        for name, lam in spectra.items():
            got = student_floor_units(lam.copy(), a)
            if not isinstance(got, Mapping) or set(hints) - set(got):
                raise TypeError(f"floor_units must return a dict with the keys {sorted(hints)}, got {got!r}")
            ref = floor_units(lam, a)
            for key in hints:
                value = _number(key, got[key])
                if not abs(value - ref[key]) <= 1e-6 * abs(ref[key]):
                    _fail(label, f"floor_units(eigvals, a)[{key!r}] = {value:.6g}, expected {ref[key]:.6g} for the "
                                 f"{name} spectrum at t = {t} (a = {a:.4f})", hints[key])


def check_mcm_whiten(var_unwhitened: Any, var_whitened: Any, n: int, beta_v: float = 5.0) -> None:
    r"""``ex-mcm-whiten``: the variance along v with and without the whitening matrix S.

    Without S, ``v . x0 = z . v + sqrt(beta_v) nu`` has variance ``1 + beta_v``; with S it has
    variance 1. Each answer is a sample variance of ``n`` samples; tolerance 5 standard errors
    of a sample variance, ``sqrt((m4 - sigma^4) / n)`` with the fourth moment of the law.
    """
    label = "ex-mcm-whiten"
    un, wh = _number("var_unwhitened", var_unwhitened), _number("var_whitened", var_whitened)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 100:
        raise ValueError(f"n must be an integer >= 100 (the number of samples), got {n!r}")
    # Rademacher nu: v.x0 without S is g + sqrt(beta) nu with g ~ N(0, 1): m4 = 3 + 6 beta + beta^2
    m4_un = 3.0 + 6.0 * beta_v + beta_v**2
    se_un = math.sqrt((m4_un - (1.0 + beta_v) ** 2) / n)
    b = beta_v / (1.0 + beta_v)
    m4_wh = 3.0 - 2.0 * b**2  # unit variance, fourth cumulant -2 b^2
    se_wh = math.sqrt((m4_wh - 1.0) / n)
    if abs(wh - (1.0 + beta_v)) < 5 * se_un and abs(un - 1.0) < 5 * se_wh:
        _fail(label, f"the two answers are swapped (var_unwhitened = {un:.4g}, var_whitened = {wh:.4g})",
              "S is the matrix that brings the variance along v back to 1")
    if abs(un - (1.0 + beta_v)) > 5 * se_un:
        _fail(label, f"var_unwhitened = {un:.4g} is not 1 + beta_v = {1 + beta_v:g} within 5 SE ({5 * se_un:.3g})",
              "build z + sqrt(beta_v) nu v from the model's latents (model.sample_latents) and a fresh "
              "Gaussian z, without the matrix S, and project it on model.v")
    if abs(wh - 1.0) > 5 * se_wh:
        _fail(label, f"var_whitened = {wh:.4g} is not 1 within 5 SE ({5 * se_wh:.3g})",
              "project model.sample(n) on model.v: the samples of the model are whitened along v")


def check_mcmbias_capstone(gap_u: Any, gap_v: Any, leading_v: Any, alpha_v: float = 0.3,
                           activation: str = "tanh", a: float = 0.6, beta: float = 5.0) -> None:
    r"""``ex-mcmbias-capstone``: the data-minus-surrogate loss of one tied neuron.

    ``gap_u``: ``L_MCM - L_surrogate`` at ``w = u`` (zero: along u the data are Gaussian);
    ``gap_v``: the same at ``alpha_v`` (``alpha_u = 0``), exactly
    (:func:`easyhard.theory.fixed_points.higher_order_gain`); ``leading_v``: the leading Hermite
    term ``g_4 kappa~_4 alpha_v^4`` with ``kappa~_4 = -2 (beta / (1 + beta))^2``. Relative
    tolerance ``1e-3``; ``gap_u`` to ``1e-8`` absolute.
    """
    from easyhard.data.mcm import MixedCumulantModel
    from easyhard.theory import hermite_coefficients
    from easyhard.theory.fixed_points import higher_order_gain

    label = "ex-mcmbias-capstone"
    gu, gv, lv = _number("gap_u", gap_u), _number("gap_v", gap_v), _number("leading_v", leading_v)
    model = MixedCumulantModel(64, beta_u=beta, beta_v=beta, seed=0)
    if abs(gu) > 1e-8:
        _fail(label, f"gap_u = {gu:.3g}, but along u the data are Gaussian (lambda ~ N(0, 1)), so the MCM "
                     "and its surrogate give the same loss", "evaluate higher_order_gain at alpha_u = 1, "
                     "alpha_v = 0")
    g4 = float(hermite_coefficients(activation, a, kmax=4)[4])
    kappa4 = -2.0 * (beta / (1.0 + beta)) ** 2
    ref_lead = g4 * kappa4 * alpha_v**4
    if abs(lv - ref_lead) > 1e-3 * abs(ref_lead):
        hint = (f"g_4 = {g4:.5f} (hermite_coefficients({activation!r}, {a}, kmax=4)[4]) times the fourth "
                f"cumulant of v.x0, -2 (beta/(1+beta))^2 = {kappa4:.4f} (not the latent's -2), times alpha_v^4")
        _fail(label, f"leading_v = {lv:.6g} is not g_4 kappa~_4 alpha_v^4 = {ref_lead:.6g}", hint)
    ref_gap = float(higher_order_gain(model, NeuronSpec(activation, a), 0.0, alpha_v))
    _close(label, "gap_v", gv, ref_gap, 1e-3,
           f"the exact L_MCM - L_surrogate at alpha_u = 0, alpha_v = {alpha_v} (higher_order_gain); it is "
           "negative, since the neuron profits from the fourth cumulant")


def sign_flip(activation: str, k: int, bracket: tuple[float, float]) -> float:
    """The noise level ``a`` in ``bracket`` at which ``g_k`` of the neuron changes sign.

    The neuron has skip ``c = a`` and amplitude 1; the root is found by Brent's method.
    """
    from easyhard.theory import hermite_coefficients

    return float(scipy.optimize.brentq(lambda a: hermite_coefficients(activation, a, kmax=k)[k], *bracket,
                                       xtol=1e-10))


def check_ie_sign_flips(a_covariance: Any, a_cumulant: Any) -> None:
    r"""``ex-ie-sign-flips``: the noise levels above which tanh can no longer learn a spike.

    ``a_covariance``: the root of ``g_2(a)`` (the covariance spike is learnable where
    ``g_2 < 0``); ``a_cumulant``: the root of ``g_4(a)`` (the Rademacher cumulant spike,
    ``D_4 < 0``, is learnable where ``g_4 > 0``). Both in ``(0.5, 0.99)``; absolute tolerance
    ``1e-3``.
    """
    label = "ex-ie-sign-flips"
    ac, a4 = _number("a_covariance", a_covariance), _number("a_cumulant", a_cumulant)
    ref_c, ref_4 = sign_flip("tanh", 2, (0.5, 0.99)), sign_flip("tanh", 4, (0.5, 0.99))
    if abs(ac - ref_4) < 1e-3 and abs(a4 - ref_c) < 1e-3:
        _fail(label, "the two answers are swapped", "g_2 sets the covariance spike, g_4 the cumulant spike")
    if abs(ac - ref_c) > 1e-3:
        _fail(label, f"a_covariance = {ac:.4f} is not the root of g_2(a) ({ref_c:.4f})",
              "solve hermite_coefficients('tanh', a, kmax=2)[2] = 0 with scipy.optimize.brentq on (0.5, 0.99)")
    if abs(a4 - ref_4) > 1e-3:
        _fail(label, f"a_cumulant = {a4:.4f} is not the root of g_4(a) ({ref_4:.4f})",
              "solve hermite_coefficients('tanh', a, kmax=4)[4] = 0 with scipy.optimize.brentq on (0.5, 0.99)")


def check_easyhard_noise(g2: Any, g4: Any, c_star: Any, supercritical: Any, a: float = 0.2) -> None:
    r"""``ex-easyhard-noise``: the Hermite coefficients and the critical step at noise level ``a``.

    ``g2``, ``g4`` from :func:`easyhard.theory.hermite_coefficients` (tanh, ``c = a``);
    ``c_star`` the critical step constant of the quartic escape
    (``eh.diffusion(0.1, eh.Physics(a=a)).critical_step``); ``supercritical``: whether the
    default ``c = 0.1`` exceeds it. Relative tolerance ``1e-3``.
    """
    from easyhard.experiments import easy_hard as eh
    from easyhard.theory import hermite_coefficients

    label = "ex-easyhard-noise"
    v2, v4, cs = _number("g2", g2), _number("g4", g4), _number("c_star", c_star)
    if not isinstance(supercritical, (bool, np.bool_)):
        raise TypeError(f"the answer supercritical must be True or False, got {supercritical!r}")
    g = hermite_coefficients("tanh", a, kmax=4)
    _close(label, "g2", v2, float(g[2]), 1e-3, f"hermite_coefficients('tanh', {a}, kmax=4)[2]; at a = {a}, not 0.6")
    _close(label, "g4", v4, float(g[4]), 1e-3, f"hermite_coefficients('tanh', {a}, kmax=4)[4]")
    ref = float(eh.diffusion(0.1, eh.Physics(a=a)).critical_step)
    _close(label, "c_star", cs, ref, 1e-3, f"eh.diffusion(0.1, eh.Physics(a={a})).critical_step")
    if bool(supercritical) != (0.1 > ref):
        _fail(label, f"supercritical = {bool(supercritical)}, but c = 0.1 is {'above' if 0.1 > ref else 'below'} "
                     f"c* = {ref:.4f}", "a step is supercritical when its constant c exceeds c*")


def check_corr_rho(rho_hat: Any, rho_se: Any, rho_theory: Any, n: int, beta_u: float = 5.0,
                   beta_v: float = 5.0) -> None:
    r"""``ex-corr-rho``: the covariance of ``u . x0`` and ``v . x0`` for ``nu = sign(lambda)``.

    ``rho_theory = sqrt(beta_u beta_v / (1 + beta_v)) E[lambda nu]`` with
    ``E[lambda sign lambda] = sqrt(2/pi)`` (relative tolerance ``1e-3``); ``rho_se`` the
    standard error of the sample covariance of ``n`` samples, within a factor 2 of its value
    from the law; ``rho_hat`` within 5 of the student's standard errors of the theory.
    """
    label = "ex-corr-rho"
    rh, se, rt = _number("rho_hat", rho_hat), _number("rho_se", rho_se), _number("rho_theory", rho_theory)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 100:
        raise ValueError(f"n must be an integer >= 100 (the number of samples), got {n!r}")
    ref = math.sqrt(beta_u * beta_v / (1.0 + beta_v)) * math.sqrt(2.0 / math.pi)
    _close(label, "rho_theory", rt, ref, 1e-3,
           "rho = sqrt(beta_u) sqrt(beta_v / (1 + beta_v)) E[lambda nu]: the factor of v is whitened, and "
           "E[|lambda|] = sqrt(2/pi)")
    # p = u.x0 = sqrt(beta_u) lam + z1 and q = v.x0 = sqrt(b) nu + sqrt(1 - b) z2 (whitened, nu^2 = 1),
    # so E[p^2 q^2] = 1 + beta_u and the sample covariance has standard error sqrt((1 + beta_u - rho^2) / n)
    expected = math.sqrt((1.0 + beta_u - ref**2) / n)
    if not expected / 1.5 <= se <= 1.5 * expected:
        _fail(label, f"rho_se = {se:.3g} is not the standard error of a covariance of {n} samples "
                     f"(about {expected:.3g})", "the standard error of the mean of p q is std(p q) / sqrt(n)")
    if abs(rh - ref) > 5 * se:
        _fail(label, f"rho_hat = {rh:.4f} is more than 5 SE ({5 * se:.3g}) from the theory {ref:.4f}",
              "use a model with p_corr = 1.0 (nu = sign(lambda) always) and the sample covariance of "
              "u . x0 and v . x0")


def check_law_capstone(k: Any, predicted_slope: Any, arrays: Mapping[str, np.ndarray], slope: Any, lo: Any,
                       hi: Any) -> None:
    r"""``ex-law-capstone``: the exponent of the skewed latent seen by ReLU, predicted and measured.

    ``k``: the information exponent (3: ReLU is not odd, so ``g_3 != 0``, and the skewed latent
    has ``kappa_3 != 0``); ``predicted_slope``: ``k - 1``; ``arrays``: the output of
    :func:`easyhard.experiments.exponent_law.measure` (at least three dims, at least 16 walkers,
    every walker recovered); ``slope, lo, hi``: the fitted slope of the median first passage
    against d and its 95 % bootstrap interval, which must be those of ``arrays`` (refitted
    here) and must contain the prediction: the claim of the chapter, which this check tests.
    """
    from easyhard.sgd import fit_slope

    label = "ex-law-capstone"
    kk, ps = _number("k", k), _number("predicted_slope", predicted_slope)
    s, l_, h = _number("slope", slope), _number("lo", lo), _number("hi", hi)
    if kk != 3:
        _fail(label, f"k = {kk:g}, but the leading term of the loss along v is of order 3",
              "ReLU is not odd, so g_3 != 0, and the skewed latent has kappa_3 != 0: "
              "information_exponent(model, 'relu', 0.6)['cumulant'].exponent")
    if ps != kk - 1:
        _fail(label, f"predicted_slope = {ps:g}, but online SGD with exponent k >= 3 needs n ~ d^(k-1) steps",
              "the slope of log n against log d is k - 1")
    if not isinstance(arrays, Mapping) or "dims" not in arrays or "passage" not in arrays:
        raise TypeError("the answer arrays must be the dict returned by el.measure(case), with 'dims' and 'passage'")
    dims, passage = np.asarray(arrays["dims"]), np.asarray(arrays["passage"], dtype=float)
    if dims.size < 3 or passage.shape != (dims.size, passage.shape[1]) or passage.shape[1] < 16:
        _fail(label, f"arrays has {dims.size} dims and {passage.shape[-1] if passage.ndim == 2 else '?'} walkers",
              "measure at least three dims with at least 16 walkers (the ci case el.case('k3', 'ci') has four "
              "and 16)")
    if not np.all(np.isfinite(passage)):
        _fail(label, f"{int(np.sum(~np.isfinite(passage)))} walkers did not reach eta within the budget",
              "keep the case's budget and step constant (el.case('k3', SCALE)); a larger step is refused "
              "above c*, a smaller budget stops walkers early")
    ref, ref_lo, ref_hi, _ = fit_slope(dims, passage)
    if abs(s - ref) > 1e-6 * max(1.0, abs(ref)) or abs(l_ - ref_lo) > 0.2 or abs(h - ref_hi) > 0.2:
        _fail(label, f"slope, lo, hi = {s:.3f}, {l_:.3f}, {h:.3f} are not the fit of your arrays "
                     f"({ref:.3f}, [{ref_lo:.3f}, {ref_hi:.3f}])",
              "use el.slope_row(case, arrays)['slope'], ['lo'] and ['hi'] (or easyhard.sgd.fit_slope)")
    if not ref_lo <= ps <= ref_hi:
        _fail(label, f"the measured interval [{ref_lo:.2f}, {ref_hi:.2f}] excludes the prediction {ps:g}",
              "the claim n ~ d^(k-1) is not reproduced by this run; more walkers or larger d narrow the "
              "interval, and a real failure is worth reporting with the run's configuration")
