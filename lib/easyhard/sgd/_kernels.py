r"""Shared pieces of the compiled SGD engines.

The per-sample gradient, latent and chi-square draws, passage and stop bookkeeping, per-walker streams and threads.

The per-sample gradient (see the chapter "Easy and hard", section "Online SGD").
For the tied single neuron ``D_w(x_t) = c x_t + A w sigma(h)``, ``h = w.x_t``,
``||w|| = 1``, write ``p = w.x0`` and ``zeta = w.xi`` (so ``h = a p + s zeta``) and
``R = x0 - c x_t - A w sigma(h)`` (the residual; ``w.R = p - c h - A sigma``).
The loss ``l = ||R||^2`` has gradient

    grad_w l = -2 A sigma R - 2 A sigma' (w.R) x_t
             = K0 x0 + Kxi xi + 2 A^2 sigma^2 w,
    K0  = a g1 + (1 - c a) g2,   Kxi = s g1 - c s g2,
    g1  = -2 A sigma'(h) (p - c h - A sigma(h)),   g2 = -2 A sigma(h),

using ``x_t = a x0 + s xi``. The last term is radial and drops out of the
spherical gradient ``G = (I - w w^T) grad = K0 x0 + Kxi xi - (K0 p + Kxi zeta) w``.
The gradient depends on the sample only through ``(p, zeta)`` and lies in
``span(w, x0, xi)``: that is what makes the exact reduction possible.

The w-dependent part of the loss, recorded by the engines, is
``G_loss = l - ||x0 - c x_t||^2 = A^2 sigma^2 - 2 A sigma (p - c h)``
(x0 units, summed over dimensions; its Gaussian mean is the coefficient ``g_0``
of the chapter "The diffusion information exponent").

Streams. Walker ``i`` of a run with seed ``s`` draws from its own PCG64
generator seeded by ``SeedSequence(s, spawn_key=(i,))`` (the i-th child of
``SeedSequence(s).spawn``), whatever the number of walkers, their grouping
into chunks and the number of threads. Chunks run in a thread pool; the
kernels release the GIL (``nogil=True``).

Compiled-code cache. numba keys its on-disk cache by the kernel's own source
file only, so an edit to a helper here that a kernel in another module inlines
would leave the old machine code running. :class:`_SourceKeyedLocator` keys
the cache of every kernel of this package by a hash of *all* the package's
sources instead.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import NamedTuple

import numba as nb
import numpy as np
from numba.core import caching

# -- the compiled-code cache, keyed by every source of the package ------------------

_PACKAGE_DIR = Path(__file__).resolve().parent


def sources_hash(directory: Path = _PACKAGE_DIR) -> bytes:
    """sha256 over the names and contents of the ``*.py`` files in ``directory``."""
    h = hashlib.sha256()
    for path in sorted(directory.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.digest()


class _SourceKeyedLocator(caching.InTreeCacheLocator):
    """A numba cache locator keyed by the hash of all sources of a folder.

    For the files of registered folders (this package): the
    cache lives in the usual ``__pycache__`` but is valid only for the same hash of
    all the folder's sources (:func:`sources_hash`).
    """

    folders: set[Path] = set()

    def get_source_stamp(self) -> bytes:
        return sources_hash(Path(self._py_file).resolve().parent)

    @classmethod
    def from_function(cls, py_func, py_file):  # noqa: ANN001 - numba's interface
        if Path(py_file).resolve().parent not in cls.folders:
            return None
        return super().from_function(py_func, py_file)


class _SourceKeyedUserLocator(caching.UserWideCacheLocator):
    """:class:`_SourceKeyedLocator` for a package folder that is not writable."""

    get_source_stamp = _SourceKeyedLocator.get_source_stamp

    @classmethod
    def from_function(cls, py_func, py_file):  # noqa: ANN001 - numba's interface
        if Path(py_file).resolve().parent not in _SourceKeyedLocator.folders:
            return None
        return super().from_function(py_func, py_file)


def key_cache_by_sources(folder: Path | str) -> None:
    """Key the numba cache of a folder's functions by all of its sources.

    Every ``cache=True`` function defined in ``folder`` is keyed by the
    hash of all of the folder's sources (call before those functions are decorated).
    """
    _SourceKeyedLocator.folders.add(Path(folder).resolve())
    classes = caching.CacheImpl._locator_classes
    for cls in (_SourceKeyedUserLocator, _SourceKeyedLocator):
        if cls not in classes:
            classes.insert(0, cls)


key_cache_by_sources(_PACKAGE_DIR)

# -- parameters -------------------------------------------------------------------


class KernelParams(NamedTuple):
    """The numbers every kernel reads, built once by :meth:`easyhard.sgd.run.Problem.kernel`.

    Model: ``su = sqrt(beta_u)``, ``nu_scale = sqrt(beta_v / (1 + beta_v))``,
    ``shrink = 1 - 1/sqrt(1 + beta_v)`` (so ``1 - shrink`` rescales the v
    coordinate of z), latent law (``gaussian``; else ``atoms``, cumulative
    ``cdf``, Gaussian quantile ``cuts`` of the coupling) and ``p_corr``.
    Neuron: ``a, s`` (VP noise level), skip ``c``, amplitude ``amp``, activation
    ``code`` (:data:`ACTIVATION_CODES`). Step: ``lr``.
    """

    d: int
    su: float
    nu_scale: float
    shrink: float
    a: float
    s: float
    c: float
    amp: float
    code: int
    lr: float
    gaussian: bool
    atoms: np.ndarray
    cdf: np.ndarray
    cuts: np.ndarray
    p_corr: float


class Schedule(NamedTuple):
    """When to record, what to track, whether to stop.

    Record steps ``rec`` (int64, from 0 or 1, increasing; the last is the number of
    steps), thresholds ``eta`` (u, v; NaN where not tracked), ``stop`` (stop a
    walker once every tracked spike passed; False when nothing is tracked) and
    ``abort``: a one-byte flag the kernels read every few thousand steps and stop
    at when set (:func:`map_chunks` sets it on Ctrl-C; engines pass a fresh one).
    """

    rec: np.ndarray
    eta: np.ndarray
    stop: bool
    abort: np.ndarray = np.zeros(1, dtype=np.uint8)  # never set: engines replace it


#: a compiled loop reads :attr:`Schedule.abort` when ``n & ABORT_MASK == 0`` (every 65536 steps
#: of the reduced engine, about 5 ms; the direct engines use a mask of their own)
ABORT_MASK = 0xFFFF


#: activations the compiled engines know, by code (see :func:`activation_and_slope`)
ACTIVATION_CODES: dict[str, int] = {"tanh": 0, "erf": 1, "relu": 2, "linear": 3}

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)

# -- per-sample physics ---------------------------------------------------------------


@nb.njit(cache=True, inline="always")
def activation_and_slope(h: float, code: int) -> tuple[float, float]:
    """Return sigma(h) and sigma'(h) of the activation with ``code``.

    ``code`` is from :data:`ACTIVATION_CODES`; the compiled copy of :class:`easyhard.activations.Activation` and its ``slope``.
    """
    if code == 0:
        # tanh from one exp: with e = exp(-2|h|), tanh|h| = (1 - e)/(1 + e) and
        # 1 - tanh^2 = 4e/(1 + e)^2, both within 3e-16 (absolute) of the exact values;
        # half the latency of libm's tanh, which the reduced step waits on.
        e = math.exp(-2.0 * abs(h))
        q = 1.0 / (1.0 + e)
        t = (1.0 - e) * q
        return (t if h >= 0.0 else -t), 4.0 * e * q * q
    if code == 1:
        return math.erf(h * _INV_SQRT2), _SQRT_2_OVER_PI * math.exp(-0.5 * h * h)
    if code == 2:
        return (h, 1.0) if h > 0.0 else (0.0, 0.0)
    return h, 1.0


@nb.njit(cache=True, inline="always")
def neuron_coefficients(
    p: float, zeta: float, a: float, s: float, c: float, amp: float, code: int
) -> tuple[float, float, float]:
    """``(K0, Kxi, G_loss)`` of the per-sample gradient of one neuron (module docstring).

    The kernels pass the scalars of :class:`KernelParams` unpacked once: reading
    them from the tuple inside a hot loop measurably slows the step.
    """
    h = a * p + s * zeta
    sig, dsig = activation_and_slope(h, code)
    g1 = -2.0 * amp * dsig * (p - c * h - amp * sig)
    g2 = -2.0 * amp * sig
    k0 = a * g1 + (1.0 - c * a) * g2
    kxi = s * g1 - c * s * g2
    loss = amp * amp * sig * sig - 2.0 * amp * sig * (p - c * h)
    return k0, kxi, loss


@nb.njit(cache=True, inline="always")
def latent_draws(rng: np.random.Generator, gaussian: bool, p_corr: float) -> tuple[float, bool, float]:
    """The random numbers of one latent pair: ``(lam, coupled, x)``.

    lam ~ N(0, 1); ``coupled`` is true with probability ``p_corr`` (then ``x = lam``);
    else x ~ N(0, 1) for Gaussian latents and x ~ U(0, 1) for a discrete law. See
    :func:`latent_nu`. (The draws and the table look-up are two helpers because a
    kernel that passes the generator and the law's arrays to one inlined helper
    keeps reference counting of the arrays in its loop: measured, 40 of 100 ns
    per reduced step.)
    """
    lam = rng.standard_normal()
    if p_corr > 0.0 and rng.random() < p_corr:
        return lam, True, lam
    return lam, False, rng.standard_normal() if gaussian else rng.random()


@nb.njit(cache=True, inline="always")
def latent_nu(
    lam: float, coupled: bool, x: float, gaussian: bool, atoms: np.ndarray, cdf: np.ndarray,
    cuts: np.ndarray,
) -> float:
    """Nu from the draws of :func:`latent_draws`.

    Gaussian latents: x itself. A discrete law: the atom of the cumulative ``cdf``
    that holds x, or, when coupled, ``Q(Phi(lam))`` (the quantile coupling of
    :mod:`easyhard.data.latents`: the atom whose Gaussian-quantile cell, cut at
    ``cuts``, holds lam). The index is a count (``cuts`` and ``cdf`` increase),
    not a search loop, whose random exit would cost a mispredicted branch.
    """
    if gaussian:
        return x
    j = 0
    if coupled:
        for k in range(cuts.size):
            j += lam > cuts[k]
    else:
        for k in range(cdf.size - 1):
            j += x >= cdf[k]
    return atoms[j]


@nb.njit(cache=True, inline="always")
def draw_latents(
    rng: np.random.Generator, gaussian: bool, atoms: np.ndarray, cdf: np.ndarray,
    cuts: np.ndarray, p_corr: float,
) -> tuple[float, float]:
    """(lam, nu) of the mixed cumulant model (:func:`latent_draws`, :func:`latent_nu`).

    The arguments are the latent fields of :class:`KernelParams`, unpacked once by the
    kernel (taking an array out of the tuple inside the loop costs reference counting).
    """
    lam, coupled, x = latent_draws(rng, gaussian, p_corr)
    return lam, latent_nu(lam, coupled, x, gaussian, atoms, cdf, cuts)


class ChiSquare(NamedTuple):
    """A chi-square law with its sampler's constants.

    chi2(df) with the Marsaglia-Tsang constants of Gamma(df/2), ``mt_d = df/2 - 1/3``
    and ``mt_c = 1/sqrt(9 mt_d)`` (unused for df = 1); see :func:`chi_square_law`.
    """

    df: int
    mt_d: float
    mt_c: float


def chi_square_law(df: int) -> ChiSquare:
    """The :class:`ChiSquare` of ``df >= 1`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"df (chi-square degrees of freedom) must be >= 1, got {df}")
    if df == 1:
        return ChiSquare(1, 1.0, 1.0)
    mt_d = df / 2.0 - 1.0 / 3.0
    return ChiSquare(int(df), mt_d, 1.0 / math.sqrt(9.0 * mt_d))


@nb.njit(cache=True, inline="always")
def chi_square(rng: np.random.Generator, law: ChiSquare) -> float:
    """Draw chi2(df) exactly.

    N(0,1)^2 for df = 1, else 2 Gamma(df/2) by Marsaglia and
    Tsang's rejection method (one normal and one uniform per try; the acceptance rate
    exceeds 0.95 for df >= 2). With the constants precomputed it costs about a third of
    numba's ``rng.chisquare`` (measured by ``benchmarks/sgd_engines.py``).
    """
    if law.df == 1:
        g = rng.standard_normal()
        return g * g
    while True:
        x = rng.standard_normal()
        t = 1.0 + law.mt_c * x
        if t <= 0.0:
            continue
        t = t * t * t
        y = rng.random()
        x2 = x * x
        if y < 1.0 - 0.0331 * x2 * x2:
            return 2.0 * law.mt_d * t
        if math.log(y) < 0.5 * x2 + law.mt_d * (1.0 - t + math.log(t)):
            return 2.0 * law.mt_d * t


# -- passage and stop bookkeeping -------------------------------------------------------


@nb.njit(cache=True, inline="always")
def track_passage(
    n: int, abs_u: float, abs_v: float, eta_u: float, eta_v: float, stop: bool,
    pass_u: float, pass_v: float,
) -> tuple[float, float, bool]:
    """First-passage bookkeeping after step ``n``: ``(pass_u, pass_v, done)``.

    ``pass_u``, ``pass_v`` (NaN until then) become ``n`` when ``abs_u``, ``abs_v`` (the
    largest |overlap| over the neurons) first reach ``eta_u``, ``eta_v`` (:class:`Schedule`,
    unpacked once by the kernel; a NaN threshold never passes); ``done`` is true when
    the walker must stop (``stop`` and every tracked spike passed). Scalars in and out:
    a kernel keeps them in registers and writes its ``out_pass`` once, at the end.
    """
    if abs_u >= eta_u and math.isnan(pass_u):
        pass_u = float(n)
    if abs_v >= eta_v and math.isnan(pass_v):
        pass_v = float(n)
    done = stop and (math.isnan(eta_u) or not math.isnan(pass_u)) and (
        math.isnan(eta_v) or not math.isnan(pass_v))
    return pass_u, pass_v, done


# -- streams and threads -------------------------------------------------------------------


def walker_generator(seed: int, i: int) -> np.random.Generator:
    """Walker ``i``'s generator: PCG64 from ``SeedSequence(seed, spawn_key=(i,))``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(i,))))


def walker_chunks(walkers: int, chunk: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(walkers)`` in pieces of ``chunk``."""
    return [(i, min(i + chunk, walkers)) for i in range(0, walkers, chunk)]


def default_threads() -> int:
    """Threads for walker chunks.

    ``EASYHARD_THREADS`` if set, else 1 (the machines of
    this book are shared; raise it on a machine of your own).
    """
    value = os.environ.get("EASYHARD_THREADS", "1")
    try:
        n = int(value)
    except ValueError:
        raise ValueError(f"EASYHARD_THREADS must be an integer >= 1, got {value!r}") from None
    if n < 1:
        raise ValueError(f"EASYHARD_THREADS must be an integer >= 1, got {value!r}")
    return n


def map_chunks(
    work: Callable[[int, int], None], walkers: int, threads: int, chunk: int | None = None,
    progress: bool = False, desc: str = "", abort: np.ndarray | None = None,
) -> None:
    """Call ``work(start, stop)`` for every walker chunk, on ``threads`` worker threads.

    ``work`` fills disjoint slices of preallocated outputs and draws walker i
    from :func:`walker_generator`, so the numbers do not depend on ``threads``
    or ``chunk`` (default: about four chunks per thread, at most 256 walkers).
    The calling thread only waits (in steps of 0.1 s), so Ctrl-C reaches it
    while compiled kernels run: it then sets ``abort[0]`` (the :class:`Schedule`
    flag the kernels of ``work`` read), cancels the chunks not started, waits for
    the running ones to stop and re-raises.
    """
    from tqdm.auto import tqdm

    if chunk is None:
        chunk = max(1, min(256, -(-walkers // (4 * threads))))
    pieces = walker_chunks(walkers, chunk)
    bar = tqdm(total=len(pieces), desc=desc, disable=not progress, leave=False)
    with ThreadPoolExecutor(max_workers=min(threads, len(pieces))) as pool:
        futures = [pool.submit(work, lo, hi) for lo, hi in pieces]
        try:
            for fut in futures:
                while True:
                    try:
                        fut.result(timeout=0.1)
                        break
                    except FutureTimeout:
                        continue
                bar.update()
        except BaseException:
            if abort is not None:
                abort[0] = 1
            for fut in futures:
                fut.cancel()
            raise
        finally:
            bar.close()


def generators(seed: int, lo: int, hi: int) -> Iterator[np.random.Generator]:
    """The generators of walkers ``lo .. hi - 1`` (:func:`walker_generator`)."""
    return (walker_generator(seed, i) for i in range(lo, hi))
