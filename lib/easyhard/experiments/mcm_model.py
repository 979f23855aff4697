"""The mixed cumulant model chapter: its sizes per scale and the statistics it checks against theory.

One frozen config, :class:`MCMModelConfig`, with ``ci``/``laptop``/``paper`` presets
(:func:`mcm_model_config`), and the computations of the chapter "The mixed cumulant
model", each returning the sample statistic, its standard error and the theory:

* :func:`covariance_spectrum`: the sample covariance's eigenvalues against the
  Marchenko-Pastur bulk ``(1 +- sqrt(d/n))^2``, and where ``u`` and ``v`` sit in it;
* :func:`kappa4_sweep`: ``kappa_4(v.x0)`` against ``beta_v``;
* :func:`cross_covariance`, :func:`correlated_sweep`: ``Cov(u.x0, v.x0) = rho`` and the
  tilt of the top principal component towards ``v`` as the latents are coupled;
* :func:`top_pc_tilt`: that tilt from the analytic covariance;
* :func:`surrogate_study`: samples of the data's Gaussian surrogate along ``u`` and ``v``.

The sample sizes give the standard errors, and the chapter's tolerances are multiples of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from easyhard.config import preset
from easyhard.data.mcm import MixedCumulantModel
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.stats import kstat_stderr, kstats, project


@dataclass(frozen=True)
class MCMModelConfig:
    """Sizes of the chapter at one scale.

    Attributes
    ----------
    d : dimension
    n : samples per estimate
    n_multiples : samples per panel of the small-multiples figure
    """

    d: int
    n: int
    n_multiples: int


PRESETS: dict[str, MCMModelConfig] = {
    "ci": MCMModelConfig(d=64, n=200_000, n_multiples=20_000),
    "laptop": MCMModelConfig(d=256, n=1_000_000, n_multiples=50_000),
    "paper": MCMModelConfig(d=1024, n=4_000_000, n_multiples=100_000),
}


def mcm_model_config(scale: str | None = None) -> MCMModelConfig:
    """The chapter's sizes at ``scale`` (default: the current scale)."""
    return preset(PRESETS, scale)


@dataclass(frozen=True)
class Spectrum:
    """Eigenvalues of a sample covariance and where the spikes sit in them.

    ``eigvals`` ascending; ``mp`` the Marchenko-Pastur edges ``(1 -+ sqrt(d/n))^2`` of the
    noise-only bulk; ``rayleigh_u``, ``rayleigh_v``: ``u^T C_hat u`` and ``v^T C_hat v``;
    ``top_u``, ``top_v``: ``|overlap|`` of the top eigenvector with ``u`` and ``v``;
    ``se_var``: the SE ``sqrt(2/n)`` of a unit variance estimate.
    """

    eigvals: np.ndarray
    mp: tuple[float, float]
    rayleigh_u: float
    rayleigh_v: float
    top_u: float
    top_v: float
    se_var: float


def covariance_spectrum(model: MixedCumulantModel, x: torch.Tensor) -> Spectrum:
    """:class:`Spectrum` of the samples ``x`` (n, d) of ``model``."""
    n, d = x.shape
    cov = torch.cov(x.T.double())
    evals, evecs = torch.linalg.eigh(cov)
    u, v, top = model.u.double().cpu(), model.v.double().cpu(), evecs[:, -1]
    r = np.sqrt(d / n)
    return Spectrum(evals.numpy(), ((1 - r) ** 2, (1 + r) ** 2), float(u @ cov @ u), float(v @ cov @ v),
                    abs(float(top @ u)), abs(float(top @ v)), float(np.sqrt(2 / n)))


@dataclass(frozen=True)
class Kappa4Sweep:
    """The fourth cumulant ``kappa_4(v.x0)`` per ``beta_v``, measured and in theory.

    The k-statistic ``estimate`` with batch-means ``se``, and ``theory``
    (:meth:`MixedCumulantModel.kappa4_v`).
    """

    beta_v: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    theory: np.ndarray
    latent: str

    def agrees(self, z: float = 5.0) -> bool:
        """Whether every estimate is within ``z`` SE of the theory."""
        return bool(np.all(np.abs(self.estimate - self.theory) < z * self.se))


def kappa4_sweep(d: int, n: int, beta_u: float, beta_vs: np.ndarray, latent: str = "rademacher",
                 seed: int = 1) -> Kappa4Sweep:
    """:class:`Kappa4Sweep` from ``n`` samples of the model at each ``beta_v``."""
    est, se, theory = [], [], []
    for beta_v in beta_vs:
        m = MixedCumulantModel(d, beta_u=beta_u, beta_v=float(beta_v), latent=latent, seed=seed)
        p = project(m.sample(n), m.v)
        est.append(kstats(p)[3])
        se.append(kstat_stderr(p, 4))
        theory.append(m.kappa4_v())
    return Kappa4Sweep(np.asarray(beta_vs, float), np.array(est), np.array(se), np.array(theory), latent)


def cross_covariance(model: MixedCumulantModel, x: torch.Tensor) -> tuple[float, float]:
    """The sample ``Cov(u.x0, v.x0)`` and its SE.

    The SE is ``sqrt((C_uu C_vv + C_uv^2) / n)``, from the variance of a Gaussian
    sample covariance.
    """
    c = np.cov(project(x, model.u), project(x, model.v))
    return float(c[0, 1]), float(np.sqrt((c[0, 0] * c[1, 1] + c[0, 1] ** 2) / len(x)))


def top_pc_tilt(model: MixedCumulantModel) -> float:
    """``|w . v|`` for the top eigenvector ``w`` of the model's analytic covariance.

    In the (u, v) plane the covariance is ``[[1 + beta_u, rho], [rho, 1]]``, so ``w`` is
    tilted from ``u`` towards ``v`` by ``tan(2 theta) = 2 rho / beta_u``, i.e.
    ``|w . v| = sin(theta)``.
    """
    w = torch.linalg.eigh(model.covariance())[1][:, -1]
    return abs(float(w @ model.v.double().cpu()))


@dataclass(frozen=True)
class CorrelatedSweep:
    """The covariance of the spikes and the tilt of the top principal component per ``p_corr``.

    Per ``p_corr``: the sample ``cov`` of ``(u.x0, v.x0)`` with its ``se`` and the theory
    ``rho``; the sample top principal component's overlap with ``v`` (``tilt``) and the
    theory's (``tilt_theory``, :func:`top_pc_tilt`).
    """

    p_corr: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    rho: np.ndarray
    tilt: np.ndarray
    tilt_theory: np.ndarray

    def covariance_agrees(self, z: float = 5.0) -> bool:
        """Whether every sample covariance is within ``z`` SE of ``rho``."""
        return bool(np.all(np.abs(self.cov - self.rho) < z * self.se))

    def tilt_agrees(self, tol: float = 0.03) -> bool:
        """Whether every sample tilt is within ``tol`` of the theory's."""
        return bool(np.all(np.abs(self.tilt - self.tilt_theory) < tol))


def correlated_sweep(d: int, n: int, beta_u: float, beta_v: float, p_corrs: np.ndarray, seed: int = 3
                     ) -> CorrelatedSweep:
    """:class:`CorrelatedSweep` from ``n`` samples of the model at each ``p_corr``."""
    rows = []
    for p_corr in p_corrs:
        m = MixedCumulantModel(d, beta_u=beta_u, beta_v=beta_v, p_corr=float(p_corr), seed=seed)
        xs = m.sample(n)
        w = torch.linalg.eigh(torch.cov(xs.T.double()))[1][:, -1]
        rows.append((*cross_covariance(m, xs), m.rho, abs(float(w @ m.v.double())), top_pc_tilt(m)))
    cov, se, rho, tilt, theory = map(np.array, zip(*rows, strict=True))
    return CorrelatedSweep(np.asarray(p_corrs, float), cov, se, rho, tilt, theory)


@dataclass(frozen=True)
class SurrogateStudy:
    """Samples of the Gaussian surrogate fitted to MCM data, projected on ``u`` and ``v``.

    ``cov_err`` is the largest entry of ``|cov(surrogate samples) - cov(data)|``.
    """

    u: np.ndarray
    v: np.ndarray
    cov_err: float


def surrogate_study(model: MixedCumulantModel, x: torch.Tensor, seed: int = 4) -> SurrogateStudy:
    """Fit :class:`~easyhard.data.surrogate.GaussianSurrogate` to ``x`` and draw as many samples (from ``seed``)."""
    surrogate = GaussianSurrogate.fit(x)
    y = surrogate.sample(len(x), generator=torch.Generator().manual_seed(seed))
    cov_err = float((torch.cov(y.T.double()) - surrogate.cov).abs().max())
    return SurrogateStudy(project(y, model.u), project(y, model.v), cov_err)


__all__ = ["PRESETS", "CorrelatedSweep", "Kappa4Sweep", "MCMModelConfig", "Spectrum", "SurrogateStudy", "correlated_sweep",
           "covariance_spectrum", "cross_covariance", "kappa4_sweep", "mcm_model_config", "surrogate_study", "top_pc_tilt"]
