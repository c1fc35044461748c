"""Cell metrics of recorded units: rate maps, gridness, spatial information, head-direction tuning, sparseness.

Pure numpy, so that the measures behave the same wherever the recordings are read. Conventions
follow ``docs/interfaces.md``: positions are ``(x, z)`` in metres (x east, z north); headings
are radians in (-pi, pi] (0 = north, +pi/2 = east). Maps are indexed ``[..., z bin, x bin]``
so that row 0 is the southern edge and a map can be drawn as a heatmap as it is.

Every measure but population sparseness takes one unit or a population: activity ``[T]`` gives
one map or number, ``[T, N]`` gives ``N`` of them (leading axis).

References for the measures (definitions only): Skaggs et al. 1993 (spatial information),
Sargolini et al. 2006 and Langston et al. 2010 (gridness from the autocorrelogram with an
expanding annulus), Banino et al. 2018 (the same scores on artificial units), Treves and Rolls 1991
and Vinje and Gallant 2000 (sparseness).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

#: Lags of the autocorrelogram that overlap in fewer valid bins than this are left out (NaN).
MIN_OVERLAP = 20
#: Rotations of the gridness score: symmetric for a hexagonal grid (60, 120) and not (30, 90, 150).
GRID_ON, GRID_OFF = (60.0, 120.0), (30.0, 90.0, 150.0)


@dataclass(frozen=True)
class RateMap:
    """Occupancy-normalised activity per spatial bin.

    Attributes:
        rates: mean activity per bin, ``[nz, nx]`` or ``[N, nz, nx]``; NaN where the bin was
            visited fewer than ``min_occupancy`` times.
        occupancy: samples per bin, ``[nz, nx]`` (not smoothed).
        x_edges, z_edges: bin edges in metres.
    """

    rates: np.ndarray
    occupancy: np.ndarray
    x_edges: np.ndarray
    z_edges: np.ndarray

    @property
    def x_centres(self) -> np.ndarray:
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2

    @property
    def z_centres(self) -> np.ndarray:
        return (self.z_edges[:-1] + self.z_edges[1:]) / 2


def _activity_matrix(activity: np.ndarray, samples: int) -> tuple[np.ndarray, bool]:
    """Activity as ``[T, N]`` and whether it came as one unit ``[T]``; a clear error on a bad shape."""
    values = np.asarray(activity, dtype=float)
    if values.ndim not in (1, 2) or values.shape[0] != samples:
        raise ValueError(f"activity must be [T] or [T, N] with T = {samples} samples, got shape {values.shape}")
    if samples == 0:
        raise ValueError("no samples: the recording is empty")
    return (values[:, None], True) if values.ndim == 1 else (values, False)


def _gaussian_matrix(size: int, sigma_bins: float) -> np.ndarray:
    """Gaussian blur along one axis as a matrix; nothing leaks in from beyond the edges."""
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    return np.exp(-0.5 * (offsets / sigma_bins) ** 2)


def rate_map(positions: np.ndarray, activity: np.ndarray, extent: tuple[float, float, float, float],
             bin_size: float, min_occupancy: int = 1, smoothing: float = 0.0) -> RateMap:
    """Rate maps of one or more units over a trajectory.

    Smoothing blurs the summed activity and the occupancy with the same Gaussian (``smoothing``
    is its sigma in metres) and divides them, so unvisited bins and the arena's edges do not drag
    the rates towards zero; bins below ``min_occupancy`` stay NaN. Samples outside ``extent``
    ``(x_min, x_max, z_min, z_max)`` or with NaN positions are left out.
    """
    xy = np.asarray(positions, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"positions must be [T, 2] (x, z), got shape {xy.shape}")
    values, single = _activity_matrix(activity, len(xy))
    x_min, x_max, z_min, z_max = extent
    if bin_size <= 0 or x_max <= x_min or z_max <= z_min:
        raise ValueError(f"need bin_size > 0 and a non-empty extent, got bin_size={bin_size}, extent={extent}")
    nx, nz = (max(1, int(np.ceil((hi - lo) / bin_size - 1e-9))) for lo, hi in ((x_min, x_max), (z_min, z_max)))
    x_edges, z_edges = x_min + bin_size * np.arange(nx + 1), z_min + bin_size * np.arange(nz + 1)
    inside = np.all(np.isfinite(xy), axis=1) & (xy[:, 0] >= x_min) & (xy[:, 0] <= x_max) & \
        (xy[:, 1] >= z_min) & (xy[:, 1] <= z_max)
    if not inside.any():
        raise ValueError(f"no position lies inside the extent {extent}")
    ix = np.minimum(((xy[inside, 0] - x_min) / bin_size).astype(int), nx - 1)
    iz = np.minimum(((xy[inside, 1] - z_min) / bin_size).astype(int), nz - 1)
    flat = iz * nx + ix
    occupancy = np.bincount(flat, minlength=nz * nx).reshape(nz, nx).astype(float)
    sums = np.zeros((nz * nx, values.shape[1]))
    np.add.at(sums, flat, values[inside])
    sums = np.moveaxis(sums.reshape(nz, nx, -1), -1, 0)
    counts = occupancy
    if smoothing > 0:
        blur_z, blur_x = (_gaussian_matrix(n, smoothing / bin_size) for n in (nz, nx))
        sums, counts = blur_z @ sums @ blur_x.T, blur_z @ occupancy @ blur_x.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = sums / counts
    rates[:, occupancy < max(min_occupancy, 1)] = np.nan
    return RateMap(rates[0] if single else rates, occupancy, x_edges, z_edges)


def _correlate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear cross-correlation ``sum_x a(x) b(x + lag)`` over the last two axes, lag 0 in the centre."""
    ny, nx = a.shape[-2:]
    shape = (2 * ny - 1, 2 * nx - 1)
    product = np.conj(np.fft.rfft2(a, shape)) * np.fft.rfft2(b, shape)
    return np.roll(np.fft.irfft2(product, shape), (ny - 1, nx - 1), axis=(-2, -1))


def autocorrelogram(rate_maps: np.ndarray, min_overlap: int = MIN_OVERLAP) -> np.ndarray:
    """Spatial autocorrelogram: the Pearson correlation of a map with itself at every lag.

    Only bins valid (finite) in both copies count, so NaN bins neither add nor remove
    correlation; lags overlapping in fewer than ``min_overlap`` bins are NaN. ``[..., ny, nx]``
    gives ``[..., 2ny - 1, 2nx - 1]`` with lag 0 at the centre.
    """
    maps = np.asarray(rate_maps, dtype=float)
    valid = np.isfinite(maps).astype(float)
    with np.errstate(invalid="ignore"):  # an all-NaN map stays all NaN
        centred = maps - np.nanmean(maps, axis=(-2, -1), keepdims=True)  # Pearson ignores offsets; sums stay exact
    f = np.where(valid > 0, centred, 0.0)
    n = np.rint(_correlate(valid, valid))
    sum_a, sum_b = _correlate(f, valid), _correlate(valid, f)
    sum_aa, sum_bb = _correlate(f * f, valid), _correlate(valid, f * f)
    sum_ab = _correlate(f, f)
    with np.errstate(invalid="ignore", divide="ignore"):
        spread = (n * sum_aa - sum_a ** 2) * (n * sum_bb - sum_b ** 2)
        r = (n * sum_ab - sum_a * sum_b) / np.sqrt(spread)
    r[(n < min_overlap) | ~(spread > 1e-10 * (n * sum_aa) * (n * sum_bb))] = np.nan  # too few bins, or flat
    return r


def _sample_bilinear(image: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``image`` at fractional coordinates; NaN outside the image or next to a NaN pixel."""
    h, w = image.shape
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    inside = (y0 >= 0) & (x0 >= 0) & (y0 <= h - 1) & (x0 <= w - 1)
    y0, x0 = np.clip(y0, 0, h - 1), np.clip(x0, 0, w - 1)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    dy, dx = y - y0, x - x0
    top = image[y0, x0] * (1 - dx) + image[y0, x1] * dx
    bottom = image[y1, x0] * (1 - dx) + image[y1, x1] * dx
    return np.where(inside, top * (1 - dy) + bottom * dy, np.nan)


def _rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """``image`` rotated by ``degrees`` about its centre pixel (bilinear)."""
    cy, cx = (np.array(image.shape) - 1) / 2
    yy, xx = np.indices(image.shape, dtype=float)
    angle = np.deg2rad(degrees)
    c, s = np.cos(angle), np.sin(angle)
    return _sample_bilinear(image, cy + c * (yy - cy) - s * (xx - cx), cx + s * (yy - cy) + c * (xx - cx))


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation over the entries finite in both; NaN with fewer than three or no variance."""
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < 3:
        return np.nan
    a, b = a[both] - a[both].mean(), b[both] - b[both].mean()
    norm = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / norm) if norm > 0 else np.nan


def _central_peak_radius(ac: np.ndarray, radius: np.ndarray) -> int | None:
    """Radius (bins) where the central peak ends: the radial mean first drops below zero, else its first minimum."""
    shells = np.rint(radius).astype(int)
    finite = np.isfinite(ac)
    totals = np.bincount(shells[finite], weights=ac[finite], minlength=shells.max() + 1)
    counts = np.bincount(shells[finite], minlength=shells.max() + 1)
    with np.errstate(invalid="ignore"):
        profile = totals / counts
    for k in range(1, len(profile) - 1):
        if profile[k] < 0 or profile[k] <= min(profile[k - 1], profile[k + 1]):
            return k
    return None


def _gridness_of(ac: np.ndarray) -> float:
    """Best gridness over annuli from the central peak outwards (the expanding annulus)."""
    cy, cx = (np.array(ac.shape) - 1) // 2
    yy, xx = np.indices(ac.shape)
    radius = np.hypot(yy - cy, xx - cx)
    inner = _central_peak_radius(ac, radius)
    if inner is None:
        return np.nan
    rotations = {angle: _rotated(ac, angle) for angle in GRID_ON + GRID_OFF}
    best = np.nan
    for outer in range(max(2 * inner, inner + 2), min(cy, cx) + 1):
        ring = (radius >= inner) & (radius <= outer)
        r = {angle: _pearson(ac[ring], rotated[ring]) for angle, rotated in rotations.items()}
        score = min(r[a] for a in GRID_ON) - max(r[a] for a in GRID_OFF)
        best = score if np.isnan(best) or score > best else best
    return float(best)


def gridness(rate_maps: np.ndarray) -> float | np.ndarray:
    """Rotational-symmetry gridness: ``min(r60, r120) - max(r30, r90, r150)`` on the autocorrelogram.

    ``r_theta`` correlates an annulus of the autocorrelogram around (outside) its central peak
    with the same annulus rotated by theta; the annulus' outer radius grows bin by bin and the best
    score counts, so grids of any spacing are found. Ranges over [-2, 2]: hexagonal grids score
    high, square grids negative. NaN for a map without a central peak (constant or empty).
    ``[nz, nx]`` gives a float, ``[N, nz, nx]`` an array ``[N]``.
    """
    maps = np.asarray(rate_maps, dtype=float)
    if maps.ndim < 2:
        raise ValueError(f"gridness needs a 2-D rate map [nz, nx] or a stack [N, nz, nx], got shape {maps.shape}")
    scores = np.array([_gridness_of(ac) for ac in autocorrelogram(maps.reshape(-1, *maps.shape[-2:]))])
    return float(scores[0]) if maps.ndim == 2 else scores.reshape(maps.shape[:-2])


def grid_geometry(autocorrelograms: np.ndarray, bin_size: float) -> tuple[np.ndarray, np.ndarray]:
    """Spacing (metres) and orientation (degrees in [0, 60)) of grids, from the peaks around each autocorrelogram's centre.

    The peaks are the local maxima (above their eight neighbours and above zero) outside the central
    peak (:func:`gridness`'s inner radius); the six nearest the centre, or all when fewer, count, and
    at least three must. Spacing is their median distance from the centre; orientation is their
    mean angle modulo 60 degrees (a circular mean on six-fold angles), measured anticlockwise from
    east (+x) as seen from above, north up. ``[ny, nx]`` gives floats, ``[N, ny, nx]`` arrays ``[N]``; NaN
    where no grid is found (too few peaks or no central peak).
    """
    acs = np.asarray(autocorrelograms, dtype=float)
    if acs.ndim < 2:
        raise ValueError(f"grid_geometry needs autocorrelograms [ny, nx] or [N, ny, nx], got shape {acs.shape}")
    flat = acs.reshape(-1, *acs.shape[-2:])
    spacing, orientation = np.full(len(flat), np.nan), np.full(len(flat), np.nan)
    cy, cx = (np.array(flat.shape[-2:]) - 1) // 2
    yy, xx = np.indices(flat.shape[-2:])
    radius = np.hypot(yy - cy, xx - cx)
    for k, ac in enumerate(flat):
        inner = _central_peak_radius(ac, radius)
        if inner is None:
            continue
        padded = np.pad(np.nan_to_num(ac, nan=-np.inf), 1, constant_values=-np.inf)
        neighbours = np.stack([padded[1 + dy: padded.shape[0] - 1 + dy, 1 + dx: padded.shape[1] - 1 + dx]
                               for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
        peak = np.isfinite(ac) & (ac > 0) & (ac > neighbours.max(axis=0)) & (radius > inner)
        rows, cols = np.nonzero(peak)
        if len(rows) < 3:
            continue
        nearest = np.argsort(radius[rows, cols])[:6]
        dz, dx = (rows[nearest] - cy).astype(float), (cols[nearest] - cx).astype(float)
        spacing[k] = float(np.median(np.hypot(dz, dx))) * bin_size
        six_fold = np.exp(6j * np.arctan2(dz, dx)).mean()
        orientation[k] = float(np.degrees(np.angle(six_fold)) / 6.0) % 60.0
    shape = acs.shape[:-2]
    if not shape:
        return float(spacing[0]), float(orientation[0])
    return spacing.reshape(shape), orientation.reshape(shape)


def spatial_information(rate_maps: np.ndarray, occupancy: np.ndarray) -> float | np.ndarray:
    """Skaggs information in bits per spike: ``sum_i p_i (r_i / r) log2(r_i / r)``.

    ``p_i`` is the share of time in bin ``i`` and ``r`` the occupancy-weighted mean rate; NaN
    bins are left out. Rates must not be negative (rectify or shift artificial units first);
    a silent unit gives NaN.
    """
    maps = np.asarray(rate_maps, dtype=float)
    time = np.asarray(occupancy, dtype=float)
    if maps.shape[-2:] != time.shape or maps.ndim not in (2, 3):
        raise ValueError(f"rate maps {maps.shape} must be [nz, nx] or [N, nz, nx] with occupancy {time.shape}")
    if np.nanmin(maps, initial=0.0) < 0:
        raise ValueError("spatial information needs non-negative rates; rectify or shift the activity first")
    valid = np.isfinite(maps) & (time > 0)
    weights = np.where(valid, time, 0.0)
    p = weights / weights.sum(axis=(-2, -1), keepdims=True)
    rates = np.where(valid, maps, 0.0)
    mean = (p * rates).sum(axis=(-2, -1), keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = rates / mean
        terms = np.where(ratio > 0, p * ratio * np.log2(ratio), 0.0)
    info = np.where(mean[..., 0, 0] > 0, terms.sum(axis=(-2, -1)), np.nan)
    return float(info) if maps.ndim == 2 else info


def direction_centres(bins: int) -> np.ndarray:
    """Centres of ``bins`` equal heading bins spanning (-pi, pi]."""
    return -np.pi + (np.arange(bins) + 0.5) * 2 * np.pi / bins


def direction_tuning(headings: np.ndarray, activity: np.ndarray, bins: int = 36) -> tuple[np.ndarray, np.ndarray]:
    """Mean activity per heading bin: ``(centres [bins], tuning [bins] or [N, bins])``, NaN for unvisited bins."""
    angles = np.asarray(headings, dtype=float)
    if angles.ndim != 1:
        raise ValueError(f"headings must be [T], got shape {angles.shape}")
    if bins < 2:
        raise ValueError(f"need at least 2 heading bins, got {bins}")
    values, single = _activity_matrix(activity, len(angles))
    index = np.floor((angles + np.pi) / (2 * np.pi) * bins).astype(int) % bins
    counts = np.bincount(index, minlength=bins).astype(float)
    sums = np.zeros((bins, values.shape[1]))
    np.add.at(sums, index, values)
    with np.errstate(invalid="ignore", divide="ignore"):
        tuning = (sums / counts[:, None]).T
    return direction_centres(bins), tuning[0] if single else tuning


def _resultant(tuning: np.ndarray) -> np.ndarray:
    """Mean resultant vector of tuning curves ``[..., bins]`` as complex numbers (NaN bins left out)."""
    curves = np.asarray(tuning, dtype=float)
    if np.nanmin(curves, initial=0.0) < 0:
        raise ValueError("direction tuning needs non-negative activity; rectify or shift the activity first")
    weights = np.nan_to_num(curves, nan=0.0)
    vector = (weights * np.exp(1j * direction_centres(curves.shape[-1]))).sum(axis=-1)
    total = weights.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, vector / total, np.nan)


def mean_vector_length(tuning: np.ndarray) -> float | np.ndarray:
    """Rayleigh vector length of tuning curves: 1 for a unit firing in one direction only, 0 for no preference."""
    length = np.abs(_resultant(tuning))
    return float(length) if length.ndim == 0 else length


def preferred_direction(tuning: np.ndarray) -> float | np.ndarray:
    """Direction of the Rayleigh vector in radians, in the headings' convention (0 = north)."""
    angle = np.angle(_resultant(tuning))
    return float(angle) if angle.ndim == 0 else angle


def population_sparseness(activity: np.ndarray) -> float:
    """Mean population sparseness of ``[T, N]`` activity: 0 when all units are equally active, 1 when one is.

    Per step, Treves and Rolls' ``a = mean(r)^2 / mean(r^2)`` over the units, rescaled as
    ``(1 - a) / (1 - 1 / N)`` (Vinje and Gallant 2000) so that it does not depend on ``N``; steps
    with no activity at all are left out. Rates must not be negative; NaN when no step counts.
    """
    rates = np.asarray(activity, dtype=float)
    if rates.ndim != 2 or rates.shape[1] < 2:
        raise ValueError(f"population sparseness needs activity [T, N] with N >= 2 units, got shape {rates.shape}")
    if np.nanmin(rates, initial=0.0) < 0:
        raise ValueError("population sparseness needs non-negative activity; rectify or shift the activity first")
    square = (rates ** 2).mean(axis=1)
    active = square > 0
    if not active.any():
        return float("nan")
    a = rates[active].mean(axis=1) ** 2 / square[active]
    return float(((1 - a) / (1 - 1 / rates.shape[1])).mean())


@dataclass(frozen=True)
class Shuffled:
    """A metric of real units against the same metric after shifting activity against behaviour.

    Attributes:
        observed: the metric of each unit, ``[N]``.
        null: the metric after each shift, ``[n_shuffles, N]``.
    """

    observed: np.ndarray
    null: np.ndarray

    def threshold(self, percentile: float = 95.0, pooled: bool = False) -> np.ndarray:
        """Percentile of the null per unit, ``[N]``: of each unit's own shuffles, or of the whole population's
        pooled (the same for every unit, as in the grid-cell literature).

        Each unit's own is the default: a unit whose metric varies widely by chance (sparse, bursty
        activity) beats a pooled threshold set by calmer units without being tuned. The percentile
        is taken at the next null value up rather than interpolated, so that an untuned unit passes
        with at most the nominal probability (:func:`false_positive_rate`) even with few shuffles.
        """
        if pooled:
            return np.full(self.observed.shape, np.nanpercentile(self.null, percentile, method="higher"))
        return np.nanpercentile(self.null, percentile, axis=0, method="higher")

    def is_significant(self, percentile: float = 95.0, pooled: bool = False) -> np.ndarray:
        """Units whose observed metric exceeds the threshold (NaN counts as not significant)."""
        with np.errstate(invalid="ignore"):
            return self.observed > self.threshold(percentile, pooled)

    def significant_fraction(self, percentile: float = 95.0, pooled: bool = False) -> float:
        """Share of the population above the threshold."""
        return float(self.is_significant(percentile, pooled).mean())

    def z_scores(self) -> np.ndarray:
        """Effect size per unit, ``[N]``: the observed metric in standard deviations of the unit's own shuffles
        above their mean (NaN where the shuffles do not vary)."""
        with warnings.catch_warnings():  # a silent unit's shuffles are all NaN: so is its z-score
            warnings.simplefilter("ignore", RuntimeWarning)
            mean, spread = np.nanmean(self.null, axis=0), np.nanstd(self.null, axis=0, ddof=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(spread > 0, (self.observed - mean) / spread, np.nan)


def false_positive_rate(percentile: float, shuffles: int) -> float:
    """Probability that a unit tuned to nothing beats the ``percentile`` of its own ``shuffles`` null values.

    Observed and shuffled values of such a unit are exchangeable, so the observed one is equally
    likely to take any of the ``shuffles + 1`` ranks; it passes when it lies above the null value
    :meth:`Shuffled.threshold` picks. 20 shuffles at the 95th percentile: 1/21 = 4.8 %; 10: 1/11.
    """
    threshold_rank = int(np.ceil(percentile / 100 * (shuffles - 1) - 1e-9))  # 0-based, in ascending order
    return (shuffles - threshold_rank) / (shuffles + 1)


def shuffled_baseline(metric: Callable[[np.ndarray], float | np.ndarray], activity: np.ndarray,
                      n_shuffles: int = 100, min_shift: int | None = None, seed: int = 0) -> Shuffled:
    """Null distribution of ``metric`` by circularly shifting activity ``[T]`` / ``[T, N]`` in time.

    Shifting keeps each unit's own temporal structure but breaks its relation to the trajectory;
    each shift is at least ``min_shift`` samples either way (default: a tenth of the recording),
    well beyond how long behaviour stays correlated with itself. ``metric`` maps activity to one
    value per unit (e.g. a closure over positions calling :func:`rate_map` and :func:`gridness`).
    """
    values = np.asarray(activity, dtype=float)
    samples = len(values)
    shift = samples // 10 if min_shift is None else min_shift
    if n_shuffles < 1 or shift < 1 or samples <= 2 * shift:
        raise ValueError(f"need n_shuffles >= 1 and 1 <= min_shift < T / 2; got n_shuffles={n_shuffles}, "
                         f"min_shift={shift}, T={samples}")
    offsets = np.random.default_rng(seed).integers(shift, samples - shift + 1, size=n_shuffles)
    observed = np.atleast_1d(np.asarray(metric(values), dtype=float))
    null = np.stack([np.atleast_1d(np.asarray(metric(np.roll(values, offset, axis=0)), dtype=float))
                     for offset in offsets])
    return Shuffled(observed, null)
