"""k-nearest-neighbour search over one action's memory of a DND.

A searcher only finds *which* slots are nearest; the DND then recomputes the distances of
those slots exactly, with gradient, from the shared keys. So a searcher never needs to be
differentiable, and a stale or approximate one can only pick worse neighbours, never return
a wrong distance.

Backends, chosen by measurement on one core (``benchmarks/dnd_latency.py``, key_size 64, k 50):

* ``torch``: exact. One ``addmm`` gives ``||k||^2 - 2 q.k`` for every slot (``||q||^2`` does not
  change the ranking), then ``topk``. Best for batches of 16 queries or more.
* ``faiss``: exact. ``faiss.knn`` scans the shared keys in place (SIMD, no copy, so never
  stale); about 1.5-2x faster than torch for single queries.
* ``auto``: exact while an action holds fewer than ``ivf_min_size`` entries (``faiss`` below
  :data:`AUTO_TORCH_FROM_BATCH` queries, ``torch`` from there on), then approximate: a per-process
  faiss IVF index, 10-50x faster at 100k-500k entries (recall and staleness:
  :mod:`regions._dnd_ivf`). ``ivf_min_size=None`` keeps it exact; without faiss it is ``torch``.
"""

from __future__ import annotations

from typing import Callable, Hashable, Protocol

import torch

from regions._dnd_store import DNDStore

BACKENDS = ("auto", "torch", "faiss")
#: Batch size from which torch's matmul + topk beats faiss's flat scan (measured crossover at 100k entries).
AUTO_TORCH_FROM_BATCH = 16
#: Searches a process remembers (:class:`RecentSearches`): an A3C rollout of 20 steps re-reads its 21 keys.
RECENT_SEARCHES = 64
#: Largest coordinate difference at which :class:`RecentSearches` takes two keys for the same one
#: (the acting and training passes compute a key with different float rounding, about 1e-6 apart).
REUSE_TOLERANCE = 1e-4
#: Largest distance matrix (queries x slots) torch builds at once, to bound memory for big batches.
_CHUNK_ELEMENTS = 1 << 24


class Searcher(Protocol):
    def search(self, action: int, queries: torch.Tensor, n: int, k: int) -> torch.Tensor:
        """Slots of the ``k`` nearest keys among slots ``[0, n)`` of ``action`` (or among the slots a
        per-process index knows, all below capacity).

        ``queries``: contiguous float32 CPU ``[B, D]``, no grad; ``1 <= k <= n``.
        Returns int64 ``[B, k]``, unordered.
        """
        ...


def import_faiss():
    """faiss, with its OpenMP thread count matched to torch's (so ``torch.set_num_threads(1)`` in a
    worker also keeps faiss on one core)."""
    import faiss

    threads = torch.get_num_threads()
    if faiss.omp_get_max_threads() != threads:
        faiss.omp_set_num_threads(threads)
    return faiss


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


class TorchSearch:
    """Exact search by batched matmul and topk."""

    def __init__(self, store: DNDStore):
        self.store = store

    def search(self, action: int, queries: torch.Tensor, n: int, k: int) -> torch.Tensor:
        keys = self.store.keys[action, :n]
        sq_norms = self.store.sq_norms[action, :n]
        rows = max(1, _CHUNK_ELEMENTS // n)
        if queries.shape[0] <= rows:
            return self._nearest(queries, keys, sq_norms, k)
        return torch.cat([self._nearest(chunk, keys, sq_norms, k) for chunk in queries.split(rows)])

    @staticmethod
    def _nearest(queries: torch.Tensor, keys: torch.Tensor, sq_norms: torch.Tensor, k: int) -> torch.Tensor:
        sq_dist = torch.addmm(sq_norms, queries, keys.T, alpha=-2.0)  # minus ||q||^2, which ranks nothing
        return torch.topk(sq_dist, k, largest=False, sorted=False).indices


class FaissFlatSearch:
    """Exact search by faiss's brute-force scan, reading the (shared) key tensor in place."""

    def __init__(self, store: DNDStore):
        self.store = store

    def search(self, action: int, queries: torch.Tensor, n: int, k: int) -> torch.Tensor:
        faiss = import_faiss()
        _, slots = faiss.knn(queries.numpy(), self.store.keys[action, :n].numpy(), k)
        return torch.from_numpy(slots)


class ExactAutoSearch:
    """Exact search by whichever of faiss and torch is faster for the batch size."""

    def __init__(self, store: DNDStore):
        self.torch = TorchSearch(store)
        self.faiss = FaissFlatSearch(store)

    def search(self, action: int, queries: torch.Tensor, n: int, k: int) -> torch.Tensor:
        if queries.shape[0] < AUTO_TORCH_FROM_BATCH:
            return self.faiss.search(action, queries, n, k)
        return self.torch.search(action, queries, n, k)


class RecentSearches:
    """The answers to the last ``size`` queries of a DND search, given again to a query equal to one
    of them up to float rounding (:meth:`regions.dnd.DND.reusing_searches`).

    "Equal" means no coordinate differs by more than ``tolerance``: the A3C training pass
    recomputes the acting keys in batches, whose matmuls round differently in the last bits.
    A remembered answer is as safe as a slightly stale index: the DND recomputes every distance
    from the keys stored now, so it can only miss entries written since the first search.
    """

    def __init__(self, size: int = RECENT_SEARCHES, tolerance: float = REUSE_TOLERANCE):
        self.size, self.tolerance = size, tolerance
        self._queries: torch.Tensor | None = None  # [m, D], m <= size
        self._answers: torch.Tensor | None = None  # [m, ...]
        self._context: Hashable = None

    def search(self, queries: torch.Tensor, search: Callable[[torch.Tensor], torch.Tensor],
               context: Hashable = None) -> torch.Tensor:
        """``search(queries)`` (an answer row per query), with remembered rows instead where they exist.

        Answers are remembered per ``context`` (e.g. the number of neighbours): a new one forgets them.
        """
        if self._queries is None or context != self._context:
            self._queries, self._context = None, context
            return self._remember(queries, search(queries))
        gap, nearest = (self._queries - queries[:, None]).abs_().amax(-1).min(1)
        known = gap <= self.tolerance
        if not bool(known.any()):
            return self._remember(queries, search(queries))
        answers = self._answers[nearest]
        if not bool(known.all()):
            missing = ~known
            answers[missing] = self._remember(queries[missing], search(queries[missing].contiguous()))
        return answers

    def _remember(self, queries: torch.Tensor, answers: torch.Tensor) -> torch.Tensor:
        """Keep the newest ``size`` (query, answer) pairs; returns ``answers``."""
        kept_queries, kept_answers = queries, answers
        if self._queries is not None:
            kept_queries, kept_answers = torch.cat([self._queries, queries]), torch.cat([self._answers, answers])
        self._queries, self._answers = kept_queries[-self.size:], kept_answers[-self.size:]
        return answers


def make_searcher(backend: str, store: DNDStore, nprobe: int, ivf_min_size: int | None) -> Searcher:
    """The searcher for ``backend`` (one of :data:`BACKENDS`, already validated)."""
    if backend == "torch" or not faiss_available():
        return TorchSearch(store)
    if backend == "faiss":
        return FaissFlatSearch(store)
    if ivf_min_size is None:
        return ExactAutoSearch(store)
    from regions._dnd_ivf import FaissIVFSearch

    return FaissIVFSearch(store, nprobe=nprobe, min_size=ivf_min_size, exact=ExactAutoSearch(store))
