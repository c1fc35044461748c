"""Approximate kNN for large DND memories (backend ``auto``): a faiss IVF index per action, per process.

Why per process: a faiss index cannot live in shared memory, so every process that reads the
DND builds its own indexes from the shared key tensor (a copy of the keys: capacity x key_size
x 4 bytes per action per process).

Staleness. Before each search the action's index is brought up to date if any key of that
action was written since the last search (one counter compare, no lock, when nothing changed).
The slots written since are found through ``written_seq``, removed and re-added under the DND
lock (about 1 ms per 50 keys at 500k entries). So the index never misses a write that finished
before the lookup began. What does go stale are the coarse centroids, trained on the keys
present when the index was built: the index is rebuilt once as many keys have been written
since as the memory held then (the memory doubled, or turned over once). A build costs about
2 s per action at 100k entries and 9 s at 500k, in every reading process.

Exactness. IVF scans only the ``nprobe`` inverted lists nearest to the query, so it may miss
true neighbours: recall@k depends on the data. Measured against brute force (k 50, key_size
64, 4 sqrt(n) lists, nprobe 32; ``benchmarks/dnd_latency.py`` prints it): above 0.99 for keys on
a low-dimensional manifold, as encoder codes of places in a maze are, but only about 0.25 for
isotropic Gaussian keys. The DND recomputes every returned neighbour's distance exactly, so
read-outs are always correct kernel averages over the neighbours found. Below ``min_size``
entries this searcher is exact, where IVF would gain little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from regions._dnd_search import Searcher, import_faiss
from regions._dnd_store import DNDStore

#: Training points per inverted list (faiss asks for at least 39).
_TRAIN_PER_LIST = 40


@dataclass
class _ActionIndex:
    index: Any  # faiss.IndexIVFFlat with slot numbers as ids
    generation: int  # store.generation it was built from
    synced_seq: int  # store.key_writes[action] it includes
    built_seq: int  # key_writes at build time
    built_size: int  # entries at build time


def n_lists(n: int) -> int:
    """Inverted lists for ``n`` keys: 2 sqrt(n), but enough training points per list.

    Measured at 100k and 500k keys: 2 sqrt(n) lists with nprobe 32 reach the recall of 4 sqrt(n)
    lists for a third of the build time; sqrt(n) lists build faster still but search twice slower.
    """
    return max(1, min(int(2 * math.sqrt(n)), n // 39))


class FaissIVFSearch:
    """IVF search kept in step with the shared store (see the module docstring)."""

    def __init__(self, store: DNDStore, nprobe: int, min_size: int, exact: Searcher):
        self.store = store
        self.nprobe = nprobe
        self.min_size = min_size
        self.exact = exact  # below min_size, and when the probed lists hold fewer than k keys
        self._indexes: dict[int, _ActionIndex] = {}

    def search(self, action: int, queries: torch.Tensor, n: int, k: int) -> torch.Tensor:
        if n < self.min_size:
            return self.exact.search(action, queries, n, k)
        index = self._synced(action).index
        index.nprobe = self.nprobe
        _, slots = index.search(queries.numpy(), k)
        if (slots < 0).any():  # the probed lists held fewer than k keys: fall back to exact
            return self.exact.search(action, queries, n, k)
        return torch.from_numpy(slots)

    def _synced(self, action: int) -> _ActionIndex:
        store = self.store
        cached = self._indexes.get(action)
        if (
            cached is not None
            and cached.generation == int(store.generation)
            and cached.synced_seq == int(store.key_writes[action])
        ):
            return cached
        with store.lock:  # no writer may change keys while we copy them
            seq, generation = int(store.key_writes[action]), int(store.generation)
            if cached is None or cached.generation != generation or seq - cached.built_seq >= cached.built_size:
                cached = self._build(action, seq, generation)
                self._indexes[action] = cached
            else:
                self._add_changed(action, cached, seq)
        return cached

    def _build(self, action: int, seq: int, generation: int) -> _ActionIndex:
        faiss = import_faiss()
        n = int(self.store.sizes[action])
        keys = self.store.keys[action, :n].numpy()
        lists = n_lists(n)
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(keys.shape[1]), keys.shape[1], lists)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # fast remove_ids of changed slots
        sample = np.random.default_rng(seq).choice(n, size=min(n, _TRAIN_PER_LIST * lists), replace=False)
        index.train(keys[np.sort(sample)])
        index.add_with_ids(keys, np.arange(n, dtype=np.int64))
        return _ActionIndex(index, generation, synced_seq=seq, built_seq=seq, built_size=n)

    def _add_changed(self, action: int, cached: _ActionIndex, seq: int) -> None:
        faiss = import_faiss()
        n = int(self.store.sizes[action])
        changed = torch.nonzero(self.store.written_seq[action, :n] > cached.synced_seq).squeeze(1)
        slots = changed.numpy().astype(np.int64)
        cached.index.remove_ids(faiss.IDSelectorArray(slots))
        cached.index.add_with_ids(self.store.keys[action, changed].numpy(), slots)
        cached.synced_seq = seq
