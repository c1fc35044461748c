"""Cell metrics on synthetic units whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.metrics import (autocorrelogram, direction_tuning, false_positive_rate, grid_geometry, gridness,
                              mean_vector_length,
                              population_sparseness, preferred_direction, rate_map, shuffled_baseline,
                              spatial_information)

ARENA = (0.0, 1.0, 0.0, 1.0)


def random_walk(samples: int, seed: int, step: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``[T, 2]`` in the unit arena and headings ``[T]`` of a smooth random walk (reflecting walls)."""
    rng = np.random.default_rng(seed)
    headings = np.angle(np.exp(1j * np.cumsum(rng.normal(0, 0.3, samples))))
    steps = step * np.stack([np.sin(headings), np.cos(headings)], axis=1)  # heading 0 = north (+z)
    unfolded = 0.5 + np.cumsum(steps, axis=0)
    folded = np.abs((unfolded + 2) % 2 - 1)  # reflect at 0 and 1
    return 1 - folded, headings


def plane_waves(angles_deg: list[float], period: float = 10.0, size: int = 40, phase: float = 0.0) -> np.ndarray:
    """Sum of plane waves with the given directions on a ``size`` x ``size`` bin map (period in bins)."""
    z, x = np.mgrid[0:size, 0:size].astype(float)
    k = 2 * np.pi / period
    return sum(np.cos(k * (np.cos(a) * x + np.sin(a) * z) + phase) for a in np.deg2rad(angles_deg))


def place_field(positions: np.ndarray, centre=(0.3, 0.6), sigma: float = 0.08) -> np.ndarray:
    return np.exp(-((positions - np.array(centre)) ** 2).sum(axis=1) / (2 * sigma ** 2))


# rate maps

def test_rate_map_recovers_a_known_function_on_a_dense_trajectory():
    positions = np.random.default_rng(0).random((40_000, 2))
    field = lambda x, z: 1 + 0.5 * np.sin(2 * np.pi * x) * np.cos(np.pi * z)
    maps = rate_map(positions, field(positions[:, 0], positions[:, 1]), ARENA, bin_size=0.1)
    assert maps.rates.shape == (10, 10) and maps.occupancy.sum() == 40_000
    expected = field(maps.x_centres[None, :], maps.z_centres[:, None])
    np.testing.assert_allclose(maps.rates, expected, atol=0.03)


def test_rate_map_of_a_random_walk_recovers_a_place_field():
    positions, _ = random_walk(60_000, seed=1)
    maps = rate_map(positions, place_field(positions), ARENA, bin_size=0.05, smoothing=0.02)
    expected = place_field(np.stack(np.meshgrid(maps.x_centres, maps.z_centres), axis=-1).reshape(-1, 2))
    assert np.nanmax(np.abs(maps.rates - expected.reshape(20, 20))) < 0.1
    peak = np.unravel_index(np.nanargmax(maps.rates), maps.rates.shape)
    assert (maps.z_centres[peak[0]], maps.x_centres[peak[1]]) == pytest.approx((0.6, 0.3), abs=0.05)


def test_smoothing_keeps_unvisited_bins_nan_and_does_not_pull_rates_down_near_them():
    positions = np.random.default_rng(2).random((20_000, 2))
    visited = positions[(positions[:, 0] < 0.4) | (positions[:, 1] > 0.7)]  # an L-shaped arena
    maps = rate_map(visited, np.full(len(visited), 3.0), ARENA, bin_size=0.1, smoothing=0.15)
    unvisited = maps.occupancy == 0
    assert unvisited.sum() == 42 and np.isnan(maps.rates[unvisited]).all()
    np.testing.assert_allclose(maps.rates[~unvisited], 3.0)


def test_min_occupancy_blanks_rarely_visited_bins():
    positions = np.array([[0.05, 0.05]] * 5 + [[0.95, 0.95]] * 2)
    maps = rate_map(positions, np.ones(7), ARENA, bin_size=0.1, min_occupancy=3)
    assert maps.rates[0, 0] == 1.0 and np.isnan(maps.rates[9, 9])


def test_population_rate_maps_match_one_unit_at_a_time():
    positions, _ = random_walk(5_000, seed=3)
    activity = np.random.default_rng(3).random((5_000, 4))
    stack = rate_map(positions, activity, ARENA, bin_size=0.1, smoothing=0.05).rates
    assert stack.shape == (4, 10, 10)
    np.testing.assert_allclose(stack[2], rate_map(positions, activity[:, 2], ARENA, 0.1, smoothing=0.05).rates)


@pytest.mark.parametrize("positions, activity, message", [
    (np.zeros((5, 3)), np.zeros(5), "positions must be"),
    (np.zeros((5, 2)), np.zeros(4), "activity must be"),
    (np.zeros((0, 2)), np.zeros(0), "empty"),
    (np.full((5, 2), 7.0), np.zeros(5), "inside the extent"),
])
def test_rate_map_rejects_bad_input_clearly(positions, activity, message):
    with pytest.raises(ValueError, match=message):
        rate_map(positions, activity, ARENA, bin_size=0.1)


# gridness

@pytest.mark.parametrize("period, rotation", [(7.0, 0.0), (10.0, 17.0), (14.0, 40.0)])
def test_hexagonal_grid_scores_high_gridness(period, rotation):
    grid = plane_waves([rotation, rotation + 60, rotation + 120], period)
    assert gridness(grid) > 1.0
    assert gridness(np.maximum(grid, 0)) > 1.0  # firing fields on a silent background


@pytest.mark.parametrize("period, rotation", [(7.0, 0.0), (10.0, 17.0), (14.0, 40.0)])
def test_grid_spacing_and_orientation_come_from_the_six_peaks_around_the_centre(period, rotation):
    grid = plane_waves([rotation, rotation + 60, rotation + 120], period)
    spacing, orientation = grid_geometry(autocorrelogram(grid), bin_size=0.05)
    assert spacing == pytest.approx(2 * period / np.sqrt(3) * 0.05, rel=0.1)  # peaks of three plane waves
    expected = (rotation + 30) % 60  # the lattice runs at 30 deg to the waves
    assert min(abs(orientation - expected), 60 - abs(orientation - expected)) < 4
    spacings, _ = grid_geometry(np.stack([autocorrelogram(grid), autocorrelogram(np.ones((40, 40)))]), 0.05)
    assert spacings[0] == pytest.approx(spacing) and np.isnan(spacings[1])  # a flat map has no grid


def test_gridness_survives_unvisited_bins():
    grid = plane_waves([0, 60, 120])
    grid[np.random.default_rng(4).random(grid.shape) < 0.2] = np.nan
    assert gridness(grid) > 0.8


def test_gridness_ignores_the_scale_and_offset_of_the_activity():
    grid = np.maximum(plane_waves([0, 60, 120]), 0)
    assert gridness(1e-6 * grid) == pytest.approx(gridness(grid))
    assert gridness(1e3 + grid) == pytest.approx(gridness(grid))


def test_square_grid_scores_negative_and_noise_near_zero():
    assert gridness(plane_waves([0, 90])) < -0.5
    noise = gridness(np.random.default_rng(5).random((10, 40, 40)))
    assert noise.shape == (10,) and abs(noise.mean()) < 0.25


def test_autocorrelogram_is_one_at_zero_lag_and_point_symmetric():
    ac = autocorrelogram(np.random.default_rng(6).random((12, 15)))
    assert ac.shape == (23, 29) and ac[11, 14] == pytest.approx(1.0)
    np.testing.assert_allclose(ac, ac[::-1, ::-1], equal_nan=True)


def test_gridness_of_a_flat_map_is_nan_not_an_error():
    assert np.isnan(gridness(np.ones((20, 20))))
    with pytest.raises(ValueError, match="2-D rate map"):
        gridness(np.ones(20))


# spatial information

def test_place_field_carries_much_information_and_uniform_firing_none():
    occupancy = np.ones((20, 20))
    z, x = np.mgrid[0:20, 0:20]
    field = np.exp(-((x - 6) ** 2 + (z - 12) ** 2) / (2 * 1.5 ** 2))
    info = spatial_information(np.stack([field, np.full((20, 20), 2.0)]), occupancy)
    assert info[0] > 3.0 and info[1] == pytest.approx(0.0, abs=1e-12)


def test_firing_in_one_of_k_equally_visited_bins_gives_log2_k_bits():
    rates = np.zeros((4, 8))
    rates[1, 5] = 7.0
    rates[0, 0] = np.nan  # unvisited: left out, so k = 31
    assert spatial_information(rates, np.ones((4, 8))) == pytest.approx(np.log2(31))


def test_spatial_information_rejects_negative_rates_and_gives_nan_for_a_silent_unit():
    with pytest.raises(ValueError, match="non-negative"):
        spatial_information(-np.ones((3, 3)), np.ones((3, 3)))
    assert np.isnan(spatial_information(np.zeros((3, 3)), np.ones((3, 3))))


# head direction

@pytest.mark.parametrize("preferred", [1.0, -2.5, 3.1])
def test_von_mises_cell_has_a_long_vector_pointing_at_its_preferred_direction(preferred):
    headings = np.random.default_rng(7).uniform(-np.pi, np.pi, 20_000)
    centres, tuning = direction_tuning(headings, np.exp(4 * np.cos(headings - preferred)), bins=36)
    assert centres.shape == tuning.shape == (36,)
    assert mean_vector_length(tuning) > 0.8
    assert abs(np.angle(np.exp(1j * (preferred_direction(tuning) - preferred)))) < 0.05


def test_untuned_cell_has_a_short_vector():
    rng = np.random.default_rng(8)
    headings = rng.uniform(-np.pi, np.pi, 20_000)
    _, tuning = direction_tuning(headings, 1 + 0.1 * rng.random((20_000, 3)))
    assert tuning.shape == (3, 36) and (mean_vector_length(tuning) < 0.02).all()


def test_tuning_bins_follow_the_heading_convention():
    centres, tuning = direction_tuning(np.array([0.01, np.pi / 2]), np.array([1.0, 5.0]), bins=4)
    np.testing.assert_allclose(centres, [-3 * np.pi / 4, -np.pi / 4, np.pi / 4, 3 * np.pi / 4])
    np.testing.assert_array_equal(tuning, [np.nan, np.nan, 1.0, 5.0])


# sparseness

def test_one_active_unit_is_fully_sparse_and_equal_activity_not_at_all():
    one_hot = np.eye(8)[np.random.default_rng(10).integers(0, 8, 50)]
    assert population_sparseness(one_hot) == pytest.approx(1.0)
    assert population_sparseness(np.full((50, 8), 0.3)) == pytest.approx(0.0)
    half = np.tile([1.0, 1.0, 0.0, 0.0], (10, 1))  # a = 1/2 of 4 units: (1 - 1/2) / (1 - 1/4)
    assert population_sparseness(half) == pytest.approx(2 / 3)


def test_sparseness_leaves_silent_steps_out_and_refuses_negative_activity():
    rates = np.vstack([np.zeros((5, 4)), np.eye(4)])
    assert population_sparseness(rates) == pytest.approx(1.0)
    assert np.isnan(population_sparseness(np.zeros((5, 4))))
    with pytest.raises(ValueError, match="non-negative"):
        population_sparseness(-np.ones((3, 4)))


# shuffled baselines

def test_shuffles_put_a_place_cell_above_threshold_and_noise_below():
    positions, _ = random_walk(20_000, seed=9)
    rng = np.random.default_rng(9)
    activity = np.column_stack([place_field(positions) + 0.05 * rng.random(20_000), rng.random((20_000, 40))])

    def information(values: np.ndarray) -> np.ndarray:
        maps = rate_map(positions, values, ARENA, bin_size=0.05, smoothing=0.03)
        return spatial_information(maps.rates, maps.occupancy)

    baseline = shuffled_baseline(information, activity, n_shuffles=50, min_shift=1_000, seed=0)
    assert baseline.null.shape == (50, 41)
    assert baseline.is_significant(99, pooled=False)[0]
    assert baseline.is_significant(99, pooled=True)[0]  # also against the population's pooled threshold
    assert baseline.significant_fraction(95, pooled=False) < 0.15  # the place cell and chance hits only


def test_a_units_own_threshold_passes_units_tuned_to_nothing_at_the_stated_rate():
    """4,000 noise units against a fixed 'trajectory': observed and shuffled scores are exchangeable."""
    rng = np.random.default_rng(3)
    activity, trajectory = rng.normal(size=(400, 4_000)), rng.normal(size=400)
    baseline = shuffled_baseline(lambda values: trajectory @ values, activity, n_shuffles=20, seed=3)
    rate = baseline.significant_fraction(95)
    assert false_positive_rate(95, 20) == pytest.approx(1 / 21)
    assert rate == pytest.approx(1 / 21, abs=0.012)  # binomial sd 0.34 %
    interpolated = np.mean(baseline.observed > np.percentile(baseline.null, 95, axis=0))
    assert interpolated > 0.08  # why the threshold is the next null value up: interpolating passes about 2/21
    z = baseline.z_scores()
    assert abs(np.mean(z)) < 0.1 and 0.9 < np.std(z) < 1.2


def test_shuffles_are_deterministic_and_respect_the_minimum_shift():
    activity = np.arange(100.0)
    shifts = lambda seed: shuffled_baseline(lambda a: a[0], activity, n_shuffles=30, min_shift=20, seed=seed).null
    first = shifts(1)
    np.testing.assert_array_equal(first, shifts(1))
    offsets = (100 - first[:, 0]) % 100  # np.roll by k puts sample 100 - k first
    assert ((offsets >= 20) & (offsets <= 80)).all()
    with pytest.raises(ValueError, match="min_shift"):
        shuffled_baseline(lambda a: a[0], activity, min_shift=50)
