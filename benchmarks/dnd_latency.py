"""DND speed on one core: lookup latency per backend, memory size and batch size; write throughput.

Run: ``python benchmarks/dnd_latency.py`` (about 2 minutes; ``--sizes 10000 100000`` for a quick one).

Setup as the hippocampus uses it: 3 actions (one memory each), key_size 64, k 50, every memory
filled to the stated size. "ms/query" is the time of ``lookup`` divided by the batch size: one
query reads all 3 memories and returns 3 estimates; "ms/query/action" divides once more by 3
(one kNN search + kernel over one memory of that size). ``auto`` (the default backend) is
approximate from 10,000 entries per action (``--ivf-min-size``): its recall@50 against brute force
is measured on 64 queries per action, and its index build (once per process, then incremental) is
timed on the first lookup.

Keys: ``--keys manifold`` (default) puts them on an 8-d manifold embedded in 64-d, as encoder
codes of places are; ``--keys gaussian`` makes them isotropic, the worst case for IVF. Queries
are stored keys plus noise (the agent revisits states). Exact backends do not care.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from regions.dnd import DND

KEY_SIZE, N_ACTIONS, K = 64, 3, 50
#: What each row of the table measures: the exact backends, and the default (exact below
#: ``ivf_min_size`` entries per action, an approximate faiss IVF index from there).
BACKENDS = {"torch": {"backend": "torch"}, "faiss": {"backend": "faiss"}, "auto": {"backend": "auto"}}
ROLLOUT = 50  # rows per reverse-replay write


def make_keys(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` keys of KEY_SIZE: isotropic Gaussian, or a smooth 8-d manifold plus a little noise."""
    if kind == "gaussian":
        return rng.standard_normal((n, KEY_SIZE), dtype=np.float32)
    projection = rng.standard_normal((8, KEY_SIZE), dtype=np.float32) / np.sqrt(8)
    latent = rng.standard_normal((n, 8), dtype=np.float32)
    return np.tanh(latent @ projection) + 0.02 * rng.standard_normal((n, KEY_SIZE), dtype=np.float32)


def seconds_per_call(fn, budget_s: float = 0.4, min_calls: int = 3) -> float:
    """Mean wall time of ``fn()`` after one warm-up call, over about ``budget_s`` seconds."""
    fn()
    calls, start = 0, time.perf_counter()
    while calls < min_calls or time.perf_counter() - start < budget_s:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def fill(dnd: DND, size: int, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Fill every action to ``size`` entries by bulk writes; returns all keys and rows/s."""
    keys = make_keys(size * N_ACTIONS, kind, rng)
    actions = np.repeat(np.arange(N_ACTIONS), size)
    returns = rng.standard_normal(size * N_ACTIONS, dtype=np.float32)
    start = time.perf_counter()
    for chunk in np.array_split(rng.permutation(len(keys)), max(1, len(keys) // 50_000)):
        dnd.write(torch.from_numpy(keys[chunk]), torch.from_numpy(actions[chunk]), torch.from_numpy(returns[chunk]))
    return keys, len(keys) / (time.perf_counter() - start)


def rollout_rows_per_s(dnd: DND, kind: str, rng: np.random.Generator) -> float:
    """Rows/s of reverse-replay writes (ROLLOUT rows over all actions) into the full memory."""
    rollouts = [
        (torch.from_numpy(make_keys(ROLLOUT, kind, rng)), torch.from_numpy(rng.integers(0, N_ACTIONS, ROLLOUT)),
         torch.from_numpy(rng.standard_normal(ROLLOUT, dtype=np.float32)))
        for _ in range(8)
    ]
    it = iter(rollouts * 1000)
    return ROLLOUT / seconds_per_call(lambda: dnd.write(*next(it)), budget_s=0.3)


def recall(approx: DND, exact: DND, queries: torch.Tensor) -> float:
    """Mean fraction of the exact k nearest that ``approx`` finds, over queries and actions."""
    hits = []
    for action in range(N_ACTIONS):
        for a, e in zip(approx.neighbours(queries, action).tolist(), exact.neighbours(queries, action).tolist()):
            hits.append(len(set(a) & set(e)) / len(e))
    return float(np.mean(hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 500_000], help="entries per action")
    parser.add_argument("--keys", choices=["manifold", "gaussian"], default="manifold")
    parser.add_argument("--nprobe", type=int, default=32)
    parser.add_argument("--ivf-min-size", type=int, default=DND(1, 1, capacity=1, k=1).ivf_min_size,
                        help="entries per action from which auto searches with IVF (default: the DND's)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # faiss follows torch's thread count inside the DND
    rng = np.random.default_rng(0)

    print(f"DND lookup, one core: {N_ACTIONS} actions, key_size {KEY_SIZE}, k {K}, keys {args.keys}, "
          f"auto = exact below {args.ivf_min_size:,} entries, then faiss IVF with nprobe {args.nprobe}")
    print(f"{'backend':<10} {'entries/action':>14} {'batch':>5} {'ms/query':>9} {'ms/query/action':>15} {'recall@50':>9}")
    writes = []
    for size in args.sizes:
        exact = DND(N_ACTIONS, KEY_SIZE, capacity=size, k=K, backend="torch")
        keys, append_rate = fill(exact, size, args.keys, rng)
        picks = rng.choice(len(keys), 64, replace=False)
        queries = torch.from_numpy(keys[picks] + 0.05 * rng.standard_normal((64, KEY_SIZE), dtype=np.float32))
        state = exact.state_dict()
        for backend in BACKENDS:
            dnd = exact if backend == "torch" else DND(N_ACTIONS, KEY_SIZE, capacity=size, k=K,
                                                       nprobe=args.nprobe, ivf_min_size=args.ivf_min_size,
                                                       **BACKENDS[backend])
            if dnd is not exact:
                dnd.load_state_dict(state)
            build = ""
            if backend == "auto":
                start = time.perf_counter()
                dnd.lookup(queries[:1])
                build = f"   (index build {time.perf_counter() - start:.1f} s for {N_ACTIONS} actions)"
            measured = recall(dnd, exact, queries) if backend == "auto" else 1.0
            for batch in (1, 32):
                ms = 1e3 * seconds_per_call(lambda: dnd.lookup(queries[:batch])) / batch
                print(f"{backend:<10} {size:>14,} {batch:>5} {ms:>9.3f} {ms / N_ACTIONS:>15.3f} {measured:>9.3f}"
                      f"{build if batch == 1 else ''}", flush=True)
            del dnd
        evict_rate = rollout_rows_per_s(exact, args.keys, rng)
        matching = DND(N_ACTIONS, KEY_SIZE, capacity=size, k=K, backend="auto", match_radius=1e-3)
        matching.load_state_dict(state)
        match_rate = rollout_rows_per_s(matching, args.keys, rng)
        writes.append((size, append_rate, evict_rate, match_rate))
        del exact, matching, state

    print(f"\nDND write throughput, rows/s (rollouts of {ROLLOUT} rows over {N_ACTIONS} actions into the full memory)")
    print(f"{'entries/action':>14} {'bulk fill':>10} {'rollout, LRU evict':>19} {'rollout, match_radius':>22}")
    for size, append_rate, evict_rate, match_rate in writes:
        print(f"{size:>14,} {append_rate:>10,.0f} {evict_rate:>19,.0f} {match_rate:>22,.0f}")


if __name__ == "__main__":
    main()
