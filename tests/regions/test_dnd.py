"""The differentiable neural dictionary: read-out, gradient, LRU, tabular update, processes, checkpoints."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from regions._dnd_ivf import n_lists
from regions.dnd import DND

EXACT_BACKENDS = ["torch", "faiss", "auto"]  # "auto" is exact below ivf_min_size (10k) entries
#: "auto" switched to its IVF index early; probing every inverted list makes IVF exact.
EXHAUSTIVE_IVF = {"backend": "auto", "ivf_min_size": 100, "nprobe": 10_000}
D = 8


def brute_force_readout(keys: list[np.ndarray], values: list[np.ndarray], queries: np.ndarray, k: int, delta: float) -> np.ndarray:
    """NEC read-out in float64 numpy: per action, kernel average over the k nearest stored keys (0 if empty)."""
    out = np.zeros((len(queries), len(keys)))
    for a, (stored, returns) in enumerate(zip(keys, values)):
        if len(stored) == 0:
            continue
        sq_dist = ((queries[:, None, :] - stored[None]) ** 2).sum(-1)
        nearest = np.argsort(sq_dist, axis=1)[:, : min(k, len(stored))]
        weights = 1.0 / (np.take_along_axis(sq_dist, nearest, 1) + delta)
        out[:, a] = (weights * returns[nearest]).sum(1) / weights.sum(1)
    return out


def fill(dnd: DND, sizes: list[int], seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Write ``sizes[a]`` random entries to each action in one shuffled bulk write; returns them per action."""
    rng = np.random.default_rng(seed)
    keys = [rng.standard_normal((n, dnd.key_size)).astype(np.float32) for n in sizes]
    values = [rng.standard_normal(n).astype(np.float32) for n in sizes]
    actions = np.concatenate([np.full(n, a) for a, n in enumerate(sizes)])
    order = rng.permutation(len(actions))
    dnd.write(
        torch.from_numpy(np.concatenate(keys)[order]),
        torch.from_numpy(actions[order]),
        torch.from_numpy(np.concatenate(values)[order]),
    )
    return keys, values


def stored_values(dnd: DND, action: int) -> set[float]:
    return {round(float(v), 4) for v in dnd.state_dict()["values"][action, : dnd.occupancy()[action]]}


@pytest.mark.parametrize("config", [*({"backend": b} for b in EXACT_BACKENDS), EXHAUSTIVE_IVF], ids=[*EXACT_BACKENDS, "ivf"])
@pytest.mark.parametrize("batch", [1, 20])
def test_readout_matches_brute_force_numpy(config, batch):
    # Action 0 well filled (400 entries: IVF built), action 1 holds fewer than k entries, action 2 is empty.
    dnd = DND(n_actions=3, key_size=D, capacity=500, k=10, **config)
    keys, values = fill(dnd, [400, 6, 0])
    queries = np.random.default_rng(1).standard_normal((batch, D)).astype(np.float32)
    got = dnd.lookup(torch.from_numpy(queries))
    want = brute_force_readout(keys, values, queries.astype(np.float64), k=10, delta=1e-3)
    assert got.shape == (batch, 3)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5)


def test_ivf_index_follows_writes_evictions_and_updates():
    dnd = DND(n_actions=1, key_size=D, capacity=300, k=5, match_radius=1e-6, **EXHAUSTIVE_IVF)
    keys, values = fill(dnd, [300], seed=0)
    queries = torch.from_numpy(keys[0][:50])
    dnd.lookup(queries)  # builds the index from the first 300 keys
    new_keys, new_values = fill(dnd, [120], seed=5)  # evicts 120 entries: slots now hold other keys
    got = dnd.lookup(torch.from_numpy(new_keys[0][:50] + 1e-3))
    state = dnd.state_dict()
    want = brute_force_readout([state["keys"][0].numpy()], [state["values"][0].numpy()],
                               new_keys[0][:50].astype(np.float64) + 1e-3, k=5, delta=1e-3)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-5)


def test_ivf_recall_on_low_dimensional_keys_with_default_nprobe():
    # Keys on a 3-d manifold in 16-d, as place codes are: a handful of probes finds the true neighbours.
    rng = np.random.default_rng(0)
    latent = rng.uniform(-1, 1, (6000, 3)).astype(np.float32)
    keys = np.tanh(latent @ rng.standard_normal((3, 16)).astype(np.float32))
    dnd = DND(n_actions=1, key_size=16, capacity=6000, k=20, backend="auto", nprobe=8, ivf_min_size=1000)
    dnd.write(torch.from_numpy(keys), torch.zeros(6000, dtype=torch.long), torch.from_numpy(rng.standard_normal(6000).astype(np.float32)))
    queries = torch.from_numpy(keys[:100] + 0.01)
    ivf = dnd.neighbours(queries, action=0).numpy()
    exact = np.argsort(((queries.numpy()[:, None] - keys[None]) ** 2).sum(-1), axis=1)[:, :20]
    recall = np.mean([len(set(a) & set(b)) / 20 for a, b in zip(ivf, exact)])
    assert 8 / n_lists(6000) < 0.1  # the 8 probed lists hold under a tenth of the keys
    assert recall > 0.95


@pytest.mark.parametrize("backend", EXACT_BACKENDS)
def test_gradient_reaches_the_query_key(backend):
    dnd = DND(n_actions=2, key_size=D, capacity=100, k=5, backend=backend)
    fill(dnd, [60, 60])
    queries = torch.randn(4, D, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(dnd.lookup, (queries,), eps=1e-6, atol=1e-5)
    dnd.lookup(queries).sum().backward()
    assert queries.grad.abs().sum() > 0


def test_lru_evicts_least_recently_used_and_a_looked_up_entry_is_protected():
    dnd = DND(n_actions=1, key_size=2, capacity=3, k=1)
    zeros = torch.zeros(1, dtype=torch.long)
    for i, value in enumerate([10.0, 11.0, 12.0]):  # oldest first
        dnd.write(torch.tensor([[10.0 * i, 0.0]]), zeros, torch.tensor([value]))
    assert dnd.lookup(torch.tensor([[0.1, 0.0]])).item() == pytest.approx(10.0)  # uses the oldest entry
    dnd.write(torch.tensor([[50.0, 0.0]]), zeros, torch.tensor([13.0]))
    assert stored_values(dnd, 0) == {10.0, 12.0, 13.0}  # 11 was least recently used
    dnd.write(torch.tensor([[60.0, 0.0]]), zeros, torch.tensor([14.0]))
    assert stored_values(dnd, 0) == {10.0, 13.0, 14.0}  # 12 was written before 10 was last looked up


def test_a_row_older_than_every_entry_of_a_full_memory_is_dropped_not_a_crash():
    """What a write sees when lookups in other processes refreshed every entry while it waited for the lock."""
    dnd = DND(n_actions=1, key_size=2, capacity=2, k=2)
    dnd.write(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), torch.tensor([0, 0]), torch.tensor([1.0, 2.0]))
    dnd.lookup(torch.zeros(1, 2))  # both entries used after the stamp below
    ids = dnd._write_action(0, torch.tensor([[5.0, 5.0]]), torch.tensor([9.0]), torch.tensor([0]), torch.zeros(1, 4))
    assert dnd.occupancy() == [2] and stored_values(dnd, 0) == {1.0, 2.0} and ids.tolist() == [-1]


def test_bulk_write_larger_than_capacity_keeps_the_last_rows():
    dnd = DND(n_actions=2, key_size=D, capacity=5, k=3)
    fill(dnd, [3, 0])
    values = torch.arange(12, dtype=torch.float32)
    dnd.write(torch.randn(12, D), torch.zeros(12, dtype=torch.long), values)
    assert dnd.occupancy() == [5, 0]
    assert stored_values(dnd, 0) == {7.0, 8.0, 9.0, 10.0, 11.0}


def test_match_radius_updates_the_nearest_entry_like_q_learning():
    dnd = DND(n_actions=2, key_size=D, capacity=10, k=1, alpha=0.1, match_radius=0.01)
    key = torch.randn(1, D)
    zero, one = torch.tensor([0]), torch.tensor([1])
    dnd.write(key, zero, torch.tensor([1.0]))
    dnd.write(key + 0.01, zero, torch.tensor([3.0]))  # squared distance 8e-4 <= 0.01: update
    assert dnd.occupancy() == [1, 0]
    assert stored_values(dnd, 0) == {1.2}
    # Two rows of one call hitting the same entry apply in order: 1.2 -> 1.38 -> 1.742.
    dnd.write(torch.cat([key, key - 0.01]), torch.tensor([0, 0]), torch.tensor([3.0, 5.0]))
    assert stored_values(dnd, 0) == {round(1.38 + 0.1 * (5 - 1.38), 4)}
    dnd.write(key, one, torch.tensor([7.0]))  # another action's memory: appended there
    dnd.write(key + 1.0, zero, torch.tensor([9.0]))  # squared distance 8 > 0.01: appended
    assert dnd.occupancy() == [2, 1]


def places_at(x: list[float], maze: float = 2.0) -> torch.Tensor:
    """Places ``(x, 0, 0, maze)``, one per value of ``x``."""
    return torch.tensor([[value, 0.0, 0.0, maze] for value in x])


def test_an_entry_keeps_its_id_and_place_an_update_keeps_both_and_eviction_gives_new_ones():
    dnd = DND(n_actions=2, key_size=D, capacity=3, k=1, match_radius=0.01)
    keys = torch.randn(4, D) * 3
    ids = dnd.write(keys[:3], torch.tensor([0, 1, 0]), torch.ones(3), places_at([0.0, 1.0, 2.0]))
    assert ids.tolist() == [0, 2, 1]  # per action, in row order
    assert dnd.write(keys[:1] + 0.01, torch.tensor([0]), torch.ones(1), places_at([9.0])).tolist() == [0]
    dnd.lookup(keys[:1])  # entry 0 used: entry 1 (action 0's other one) is the least recently used
    assert dnd.write(keys[3:], torch.tensor([0]), torch.ones(1)).tolist() == [3]  # appended: a new id
    dnd.write(torch.randn(1, D) * 3 + 100, torch.tensor([0]), torch.ones(1), places_at([7.0]))  # evicts id 1
    state = dnd.state_dict()
    held = {int(i): float(x) for i, x in zip(state["ids"][0], state["places"][0, :, 0])}
    assert set(held) == {0, 3, 4} and held[0] == 0.0 and held[4] == 7.0, "an update keeps the first write's place"
    assert np.isnan(held[3]), "written without a place: unknown"


def test_recalled_names_the_neighbours_the_last_lookup_averaged_and_its_read_out():
    dnd = DND(n_actions=2, key_size=D, capacity=50, k=4, backend="torch")
    generator = torch.Generator().manual_seed(0)
    keys = torch.randn(10, D, generator=generator)
    dnd.write(keys, torch.zeros(10, dtype=torch.long), torch.arange(10.0), places_at(list(range(10))))
    dnd.write(keys[:2], torch.ones(2, dtype=torch.long), torch.ones(2))  # action 1 holds fewer than k
    queries = keys[[3, 7]] + 0.01
    read_out = dnd.lookup(queries)
    nearest = torch.cdist(queries, keys).argsort(1)[:, :4]
    for row in range(2):
        recalled = dnd.recalled(row, 0)
        assert set(recalled.ids.tolist()) == set(nearest[row].tolist())
        assert recalled.places[:, 0].tolist() == [float(i) for i in recalled.ids], "each id's own place"
        assert recalled.value == pytest.approx(float(read_out[row, 0]))
    fewer = dnd.recalled(1, 1)
    assert sorted(fewer.ids.tolist()) == [-1, -1, 10, 11] and torch.isnan(fewer.places[fewer.ids < 0]).all()
    assert dnd.recalled(0, 1).value == pytest.approx(1.0)


def test_random_places_are_drawn_from_the_memory_and_an_empty_memory_has_none():
    dnd = DND(n_actions=2, key_size=D, capacity=50, k=4)
    dnd.write(torch.randn(5, D), torch.zeros(5, dtype=torch.long), torch.zeros(5), places_at([0, 1, 2, 3, 4]))
    drawn = dnd.random_places(0, 200, torch.Generator().manual_seed(0))
    assert drawn.shape == (200, 4) and set(drawn[:, 0].tolist()) == {0.0, 1.0, 2.0, 3.0, 4.0}
    assert torch.isnan(dnd.random_places(1, 3, torch.Generator())).all()


def test_places_and_ids_survive_a_checkpoint_and_an_old_checkpoint_gets_new_ids():
    dnd = DND(n_actions=2, key_size=D, capacity=20, k=2)
    dnd.write(torch.randn(6, D), torch.tensor([0, 1] * 3), torch.zeros(6), places_at([0, 1, 2, 3, 4, 5]))
    copy = DND(n_actions=2, key_size=D, capacity=20, k=2)
    copy.load_state_dict(dnd.state_dict())
    for name in ("places", "ids"):
        torch.testing.assert_close(copy.state_dict()[name], dnd.state_dict()[name], equal_nan=True)
    assert copy.write(torch.randn(1, D), torch.tensor([0]), torch.zeros(1)).tolist() == [6], "ids go on"
    old = {name: value for name, value in dnd.state_dict().items() if name not in ("places", "ids", "entries")}
    copy.load_state_dict(old)
    state = copy.state_dict()
    assert torch.isnan(state["places"]).all() and len(set(state["ids"].flatten().tolist())) == 6


def test_match_radius_zero_always_appends():
    dnd = DND(n_actions=1, key_size=D, capacity=10)
    key = torch.randn(1, D)
    for _ in range(3):
        dnd.write(key, torch.tensor([0]), torch.tensor([1.0]))
    assert dnd.occupancy() == [3]


@pytest.mark.parametrize("backend", EXACT_BACKENDS)
def test_empty_memory_reads_zero(backend):
    dnd = DND(n_actions=3, key_size=D, capacity=10, backend=backend)
    assert dnd.occupancy() == [0, 0, 0]
    assert torch.equal(dnd.lookup(torch.randn(5, D)), torch.zeros(5, 3))
    assert dnd.lookup(torch.randn(0, D)).shape == (0, 3)


def test_state_dict_round_trip_keeps_contents_and_lru_order():
    dnd = DND(n_actions=2, key_size=D, capacity=20, k=4)
    fill(dnd, [20, 7])
    queries = torch.randn(6, D)
    dnd.lookup(queries[:2])
    buffer = io.BytesIO()
    torch.save(dnd.state_dict(), buffer)
    buffer.seek(0)
    copy = DND(n_actions=2, key_size=D, capacity=20, k=4, backend="faiss")
    copy.load_state_dict(torch.load(buffer))
    assert copy.occupancy() == dnd.occupancy()
    torch.testing.assert_close(copy.lookup(queries), dnd.lookup(queries))
    new = (torch.randn(3, D), torch.zeros(3, dtype=torch.long), torch.tensor([100.0, 101.0, 102.0]))
    dnd.write(*new)
    copy.write(*new)  # evicts the same least recently used entries
    assert stored_values(copy, 0) == stored_values(dnd, 0)


def test_load_state_dict_refuses_a_bigger_memory():
    big = DND(n_actions=1, key_size=D, capacity=10)
    fill(big, [10])
    with pytest.raises(ValueError, match="capacity >= 10"):
        DND(n_actions=1, key_size=D, capacity=5).load_state_dict(big.state_dict())
    with pytest.raises(ValueError, match="key_size=4"):
        DND(n_actions=1, key_size=4, capacity=10).load_state_dict(big.state_dict())


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: d.lookup(torch.randn(2, D + 1)), r"shape \[batch, key_size=8\]"),
        (lambda d: d.lookup(torch.randn(D)), "unsqueeze"),
        (lambda d: d.write(torch.randn(2, D), torch.tensor([0, 3]), torch.zeros(2)), "action 3 is out of range; valid actions are 0..2"),
        (lambda d: d.write(torch.randn(2, D), torch.tensor([0, -1]), torch.zeros(2)), "action -1 is out of range"),
        (lambda d: d.write(torch.randn(2, D), torch.tensor([0.0, 1.0]), torch.zeros(2)), "integer tensor"),
        (lambda d: d.write(torch.randn(2, D), torch.tensor([0, 1]), torch.zeros(3)), r"values must be a tensor of shape \[2\]"),
        (lambda d: d.write(torch.full((1, D), float("nan")), torch.tensor([0]), torch.zeros(1)), "finite"),
        (lambda d: d.write(torch.randn(2, D), torch.tensor([0, 1]), torch.zeros(2), torch.zeros(2, 3)),
         r"places must be a tensor of shape \[2, 4\] \(x, z, heading, maze"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(DND(n_actions=3, key_size=D, capacity=10))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backend": "kdtree"}, "unknown backend 'kdtree'; choose one of"),
        ({"capacity": 0}, "capacity must be a positive integer"),
        ({"k": 2.5}, "k must be a positive integer"),
        ({"alpha": 0.0}, r"alpha must be in \(0, 1\]"),
        ({"delta": 0.0}, "delta must be > 0"),
        ({"match_radius": -1.0}, "match_radius must be >= 0"),
    ],
)
def test_bad_config_raises_clear_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DND(n_actions=3, key_size=D, **kwargs)


# ---------------------------------------------------------------- processes (spawn)
def _child_write(dnd: DND, key: torch.Tensor) -> None:
    dnd.write(key, torch.tensor([1]), torch.tensor([42.0]))


def _child_hammer(dnd: DND, rounds: int) -> None:
    """Overwrite the full memory again and again: appends are done, so every write evicts in place."""
    generator = torch.Generator().manual_seed(1)
    for _ in range(rounds):
        n = 64
        dnd.write(torch.randn(n, D, generator=generator), torch.randint(0, 2, (n,), generator=generator),
                  torch.rand(n, generator=generator) * 10)


def test_write_from_spawned_child_is_seen_by_parent():
    dnd = DND(n_actions=2, key_size=D, capacity=10, k=1).share_memory_()
    key = torch.randn(1, D)
    child = mp.get_context("spawn").Process(target=_child_write, args=(dnd, key))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    assert dnd.occupancy() == [0, 1]
    assert dnd.lookup(key)[0, 1].item() == pytest.approx(42.0)


def test_a_memory_that_stays_in_its_process_starts_no_resource_tracker():
    # A named semaphore starts multiprocessing's resource tracker; in a Ray actor that tracker
    # died and its restart printed a KeyError traceback for every run. Only sharing needs one.
    script = (
        "import multiprocessing.resource_tracker as rt, torch\n"
        "from regions.dnd import DND\n"
        "dnd = DND(n_actions=2, key_size=4, capacity=8, k=1)\n"
        "dnd.write(torch.randn(3, 4), torch.tensor([0, 1, 1]), torch.ones(3))\n"
        "print(rt._resource_tracker._fd is None, end=' ')\n"
        "dnd.share_memory_()\n"
        "print(rt._resource_tracker._fd is None)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]  # no tracker until shared


def test_passing_an_unshared_memory_to_a_process_says_to_share_it():
    dnd = DND(n_actions=2, key_size=D, capacity=10, k=1)
    with pytest.raises(TypeError, match=r"call share_memory_\(\)"):
        pickle.dumps(dnd)  # shared, it travels to a spawned child: test_write_from_spawned_child_is_seen_by_parent


@pytest.mark.parametrize("ivf_min_size", [None, 64], ids=["exact", "ivf"])
def test_lookups_during_concurrent_writes_stay_in_range(ivf_min_size):
    # Values written are in [0, 10], so every read-out (a convex combination) must be too.
    dnd = DND(n_actions=2, key_size=D, capacity=256, k=8, ivf_min_size=ivf_min_size).share_memory_()
    _child_hammer(dnd, rounds=8)  # full memories
    child = mp.get_context("spawn").Process(target=_child_hammer, args=(dnd, 300))
    child.start()
    reads = []
    while child.is_alive():
        reads.append(dnd.lookup(torch.randn(16, D)))
    child.join(timeout=60)
    assert child.exitcode == 0
    reads = torch.cat(reads)
    assert len(reads) > 16 and torch.isfinite(reads).all()
    assert reads.min() >= 0 and reads.max() <= 10
    assert dnd.occupancy() == [256, 256]


def test_reusing_searches_answers_a_repeated_key_without_searching_again():
    """Equal up to float rounding (the A3C replay recomputes the acting keys in a batch) counts as repeated."""
    dnd = DND(n_actions=3, key_size=D, capacity=500, k=10, backend="torch")
    keys, values = fill(dnd, [300, 300, 300])
    queries = torch.from_numpy(np.random.default_rng(1).standard_normal((4, D)).astype(np.float32))
    expected = brute_force_readout(keys, values, queries.numpy(), 10, dnd.delta)
    searches = []
    exact_search = dnd._searcher.search
    dnd._searcher.search = lambda action, q, n, k: searches.append(len(q)) or exact_search(action, q, n, k)
    with dnd.reusing_searches():
        first = dnd.lookup(queries[:2])  # acting: one search per action
        rounded = queries[:3] + torch.tensor([[1e-6], [-1e-6], [0.0]])  # a batched replay rounds differently
        replay = dnd.lookup(rounded)  # replay: only the new key is searched
        dnd.lookup(queries[:1] + 1e-2)  # a nearby but different state is searched
    assert searches == [2, 2, 2, 1, 1, 1, 1, 1, 1]
    np.testing.assert_allclose(replay.numpy(), expected[:3], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(replay[:2], first)
    fill(dnd, [50, 50, 50], seed=2)  # writes after the block are seen: the block's memory is gone
    searches.clear()
    dnd.lookup(queries[:2])
    assert searches == [2, 2, 2]
