"""Differentiable Neural Dictionary: the hippocampus's episodic memory "that carries value".

As in Neural Episodic Control (Pritzel et al. 2017): one key -> value memory per action. Keys are
state codes (from CA1/CA3), values are returns computed by reverse replay. A lookup finds the
``k`` stored keys nearest to the query and averages their values with the inverse-distance
kernel ``w_i = 1 / (||q - k_i||^2 + delta)``, normalised, so the read-out is differentiable with
respect to the query (the policy gradient reaches the encoder through the key).

Compared with the 2017 hackathon DND (``shared/design/LEGACY_AGENT.md``): batched exact kNN by
matmul or faiss instead of a KD-tree rebuilt per query; least-recently-used eviction (it evicted
the most recent); a ``match_radius`` so that the tabular update can fire with float keys; and
writes serialised across worker processes with reads that never crash while a write runs.

Example:
    >>> import torch
    >>> from regions.dnd import DND
    >>> dnd = DND(n_actions=3, key_size=4, capacity=100, k=2)
    >>> dnd.write(torch.eye(4)[:3], torch.tensor([0, 0, 2]), torch.tensor([1.0, 3.0, 5.0]))  # the entries' ids
    tensor([0, 1, 2])
    >>> dnd.occupancy()
    [2, 0, 1]
    >>> dnd.lookup(torch.eye(4)[:1])  # action 0: mostly the entry at the query; action 1: empty
    tensor([[1.0010, 0.0000, 5.0000]])
    >>> sorted(dnd.recalled(row=0, action=0).ids.tolist())  # the entries that lookup averaged over for action 0
    [0, 1]
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, NamedTuple

import torch

from regions._dnd_search import BACKENDS, RECENT_SEARCHES, RecentSearches, Searcher, faiss_available, make_searcher
from regions._dnd_store import PLACE, DNDStore

__all__ = ["DND", "PLACE", "Recalled", "inverse_distance_readout"]

_CONFIG = ("n_actions", "key_size", "capacity", "k", "delta", "alpha", "match_radius")


def inverse_distance_readout(
    queries: torch.Tensor,
    neighbour_keys: torch.Tensor,
    neighbour_values: torch.Tensor,
    delta: float,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """NEC's kernel average: ``sum_i w_i v_i / sum_i w_i`` with ``w_i = 1 / (||q - k_i||^2 + delta)``.

    Shapes: ``queries [B, D]``, ``neighbour_keys [..., B, k, D]``, ``neighbour_values [..., B, k]``
    -> ``[..., B]``. ``mask`` (broadcastable to ``[..., B, k]``) drops neighbours; a query left with
    none reads 0. Differentiable with respect to ``queries`` (and the neighbours, if they carry grad).
    """
    sq_dist = (queries.unsqueeze(-2) - neighbour_keys).pow(2).sum(-1)
    weights = 1.0 / (sq_dist + delta)
    if mask is None:
        return (weights * neighbour_values).sum(-1) / weights.sum(-1)
    weights = weights * mask
    total = weights.sum(-1)
    return (weights * neighbour_values).sum(-1) / torch.where(total > 0, total, torch.ones_like(total))


@dataclass(frozen=True)
class Recalled:
    """What one lookup read for one query and one action: the read-out and the entries it averaged over.

    ``ids [k]`` (-1 past the entries found when the action held fewer than ``k``) and ``places [k, PLACE]``
    (NaN there, and where the writer gave no place) name the neighbours, so that a recall can be traced to
    where each neighbour's key was formed (:mod:`analysis.episodic`).
    """

    value: float
    ids: torch.Tensor
    places: torch.Tensor


class _Lookup(NamedTuple):
    """The last lookup of this process: flat slots ``[A, B, k]``, which are real (``[A, 1, k]``; None: all) and the
    read-out ``[B, A]``."""

    flat: torch.Tensor
    found: torch.Tensor | None
    values: torch.Tensor


class DND:
    """One memory per action: keys ``[A, capacity, key_size]``, values ``[A, capacity]``, last-used stamps.

    Args:
        n_actions: number of actions ``A`` (one memory each).
        key_size: length of a key.
        capacity: entries per action (500,000 x 64 x 3 actions of float32 keys is 384 MB).
        k: neighbours per read-out; ``min(k, entries)`` when a memory holds fewer.
        delta: kernel constant, keeps the weight of an exact hit finite (NEC: 1e-3).
        alpha: tabular learning rate of the ``match_radius`` update (NEC: 0.1).
        backend: kNN search. ``"torch"``: exact (batched matmul + topk). ``"faiss"``: exact
            (faiss's SIMD flat scan over the shared keys; faster for small batches). ``"auto"``:
            the fastest. Exact (the faster of the two for the batch size) while an action holds
            fewer than ``ivf_min_size`` entries; from there an approximate per-process faiss IVF
            index, recall@50 about 0.99 on manifold-like keys (:mod:`regions._dnd_ivf` documents
            recall and staleness). Without faiss, ``"auto"`` is ``"torch"``.
        match_radius: a written key whose squared distance to its nearest stored key of the same
            action is ``<= match_radius`` updates that entry, ``v <- v + alpha (R - v)``, instead of
            being appended. Exact float matches never happen in practice (the 2017 bug), hence a
            radius; 0 disables the update (every write appends). Its scale is that of squared key
            distances, e.g. a fraction of the typical squared distance between neighbours.
        nprobe: ``"auto"`` with IVF: inverted lists scanned per query (more = better recall, slower).
        ivf_min_size: ``"auto"``: entries from which an action is searched approximately (IVF);
            ``None`` keeps ``"auto"`` exact. 10,000: from there IVF is the faster for single
            queries (``benchmarks/dnd_latency.py --sizes 10000 20000 40000 --ivf-min-size 5000``:
            0.32 / 0.42 / 0.57 ms per acting lookup against 0.48 / 0.60 / 1.36 ms exact faiss,
            recall@50 0.994-0.995).

    Processes. Call :meth:`share_memory_` before handing the DND to workers
    (``torch.multiprocessing`` with the spawn start method; pass it as a ``Process`` argument).
    Every tensor then lives in shared memory and one ``multiprocessing`` lock, shared with the
    DND, serialises writers.

    Consistency given to a reader that runs while another process writes:

    * never a crash nor an out-of-range index: slots are never moved, a lookup reads each
      action's size once and only ever indexes below capacity;
    * appended entries are published by raising the size after they are stored, so a reader sees
      an appended entry whole or not at all;
    * an entry being overwritten in place (LRU eviction or ``match_radius`` update) may be read
      with its old or new key and value, or for that one lookup with a key half old and half
      new. The distances of the neighbours are always recomputed from the keys read, so a
      read-out is always a proper kernel average of finite values;
    * ``last_used`` stamps written by concurrent lookups may tie or lose a tick: eviction is
      least recently used up to those races.

    :meth:`load_state_dict` is a writer too (it takes the lock), but a reader running during a load
    may mix old and new contents for that one lookup.
    """

    def __init__(
        self,
        n_actions: int,
        key_size: int,
        capacity: int = 500_000,
        k: int = 50,
        delta: float = 1e-3,
        alpha: float = 0.1,
        backend: str = "auto",
        match_radius: float = 0.0,
        *,
        nprobe: int = 32,
        ivf_min_size: int | None = 10_000,
    ):
        _check_config(n_actions, key_size, capacity, k, delta, alpha, backend, match_radius, nprobe, ivf_min_size)
        self.n_actions, self.key_size, self.capacity = n_actions, key_size, capacity
        self.k, self.delta, self.alpha, self.match_radius = k, float(delta), float(alpha), float(match_radius)
        self.backend, self.nprobe, self.ivf_min_size = backend, nprobe, ivf_min_size
        self._store = DNDStore.allocate(n_actions, capacity, key_size)
        self._slot_offsets = torch.arange(n_actions).view(-1, 1, 1) * capacity  # [A, 1, 1]: slot -> flat index
        self._searcher: Searcher = make_searcher(backend, self._store, nprobe, ivf_min_size)
        self._recent: RecentSearches | None = None  # set within reusing_searches()
        self._last: _Lookup | None = None  # for recalled(): the last lookup's neighbours and read-out

    # ------------------------------------------------------------------ read
    def lookup(self, keys: torch.Tensor) -> torch.Tensor:
        """Per-action value estimates of ``keys [B, key_size]`` -> ``[B, A]`` (on the keys' device and dtype).

        The ``min(k, entries)`` nearest stored keys of each action are found without grad, then
        the inverse-distance kernel is computed with grad from the query to those stored keys,
        so the result is differentiable with respect to ``keys``. An empty action reads 0.
        Every returned neighbour counts as used (protects it from LRU eviction). The neighbours and the
        read-out are kept until the next lookup, for :meth:`recalled`.
        """
        _check_keys(keys, self.key_size, "lookup", "keys")
        store = self._store
        sizes = store.sizes.tolist()  # read once: slots found below stay < these sizes <= capacity
        k = min(self.k, max(sizes))
        self._last = None
        if k == 0 or keys.shape[0] == 0:
            return keys.new_zeros(keys.shape[0], self.n_actions)
        queries = keys.detach().to("cpu", torch.float32).contiguous()
        if min(sizes) >= k:  # the usual case, every action holds k entries: no padding, no mask
            slots, found = self._search_every_action(queries, sizes, k), None
        else:
            # Neighbours of every action side by side, [A, B, k]; actions with fewer than k entries are
            # padded with slot 0 and masked out, so that the kernel runs once for all actions.
            slots = torch.zeros(self.n_actions, keys.shape[0], k, dtype=torch.int64)
            found = torch.zeros(self.n_actions, 1, k, dtype=torch.bool)
            for action, n in enumerate(sizes):
                if n > 0:
                    slots[action, :, : min(k, n)] = self._searcher.search(action, queries, n, min(k, n))
                    found[action, :, : min(k, n)] = True
        flat = slots + self._slot_offsets
        used, mask = (flat, None) if found is None else (flat.masked_select(found), found.to(keys))
        store.last_used.view(-1).index_fill_(0, used.reshape(-1), store.tick())
        neighbour_keys = store.keys.view(-1, self.key_size)[flat].to(keys)
        neighbour_values = store.values.view(-1)[flat].to(keys)
        values = inverse_distance_readout(keys, neighbour_keys, neighbour_values, self.delta, mask).T
        self._last = _Lookup(flat, found, values.detach())
        return values

    def recalled(self, row: int, action: int) -> Recalled:
        """What this process's last :meth:`lookup` read for its query ``row`` from the memory of ``action``.

        The neighbours' ids and places are read now: an entry that another process evicted since the
        lookup (it was just used, so it is the last to go) names its successor. An empty memory read 0.
        """
        ids = torch.full((self.k,), -1, dtype=torch.int64)
        places = torch.full((self.k, PLACE), float("nan"))
        if self._last is None:
            return Recalled(0.0, ids, places)
        flat, found, values = self._last
        slots = flat[action, row] if found is None else flat[action, row][found[action, 0]]
        ids[: len(slots)] = self._store.ids.view(-1)[slots]
        places[: len(slots)] = self._store.places.view(-1, PLACE)[slots]
        return Recalled(float(values[row, action]), ids, places)

    def random_places(self, action: int, count: int, generator: torch.Generator) -> torch.Tensor:
        """Places ``[count, PLACE]`` of entries of ``action`` drawn uniformly with replacement (NaN: the memory is
        empty): what a recall that ignored the query would return, the control of the recall measurements."""
        n = int(self._store.sizes[action])
        if n == 0:
            return torch.full((count, PLACE), float("nan"))
        return self._store.places[action, torch.randint(n, (count,), generator=generator)]

    def _search_every_action(self, queries: torch.Tensor, sizes: list[int], k: int) -> torch.Tensor:
        """Slots ``[A, B, k]`` of each action's ``k`` nearest entries (remembered ones in a reusing block)."""
        def search(rows: torch.Tensor) -> torch.Tensor:
            return torch.stack([self._searcher.search(action, rows, n, k) for action, n in enumerate(sizes)], 1)

        if self._recent is None:
            return search(queries).transpose(0, 1)
        return self._recent.search(queries, search, context=k).transpose(0, 1)

    @contextmanager
    def reusing_searches(self, size: int = RECENT_SEARCHES) -> Iterator[None]:
        """Within the block, a key among the last ``size`` this process looked up gets the neighbours found then.

        For the A3C worker: its training pass replays the rollout with the acting weights, so it
        reads the memory with the acting keys up to float rounding (its batched matmuls round
        differently; :class:`~regions._dnd_search.RecentSearches` takes keys within 1e-4 of each
        other in every coordinate for the same); searching again would double the memory's cost
        (exact search is linear in the entries, ~8 ns per entry and query, and batching queries
        does not amortise it). Distances are still computed from the keys stored now; only entries
        written since a key's first search (by other processes) can be missed. Searches are
        remembered once every action holds ``k`` entries (before, lookups are cheap anyway).
        """
        self._recent = RecentSearches(size)
        try:
            yield
        finally:
            self._recent = None

    def neighbours(self, keys: torch.Tensor, action: int) -> torch.Tensor:
        """Slots ``[B, min(k, entries)]`` (unordered) of the entries of ``action`` that :meth:`lookup`
        would average over, for analysis and recall measurements; does not count as use."""
        _check_keys(keys, self.key_size, "neighbours", "keys")
        if not 0 <= action < self.n_actions:
            raise ValueError(f"DND.neighbours: action {action} is out of range; valid actions are 0..{self.n_actions - 1}")
        n = int(self._store.sizes[action])
        if n == 0 or keys.shape[0] == 0:
            return torch.zeros(keys.shape[0], min(self.k, n), dtype=torch.int64)
        return self._searcher.search(action, keys.detach().to("cpu", torch.float32).contiguous(), n, min(self.k, n))

    def occupancy(self) -> list[int]:
        """Entries per action."""
        return [int(n) for n in self._store.sizes]

    # ------------------------------------------------------------------ write
    def write(self, keys: torch.Tensor, actions: torch.Tensor, values: torch.Tensor,
              places: torch.Tensor | None = None) -> torch.Tensor:
        """Store ``keys [N, key_size]`` with returns ``values [N]`` in the memories of ``actions [N]``;
        returns the id of the entry each row went to ``[N]`` (-1: dropped).

        ``places [N, PLACE]`` (optional, NaN allowed): where each key was formed, kept beside the entry
        (the trainer gives ``(x, z, heading, maze)``); the entry keeps the place of the write that appended it.

        A bulk write (reverse replay writes a whole rollout at once) behaves as writing its rows in
        order, with one simplification: ``match_radius`` compares rows with the memory as it was
        before the call, not with each other. A row within ``match_radius`` of a stored key of the
        same action updates that entry's value, ``v <- v + alpha (R - v)`` (its key is kept);
        other rows are appended, or, when the memory is full, replace the least recently used
        entries. Writing more rows than ``capacity`` therefore keeps the last ones. An updated entry keeps its id.
        """
        keys, actions, values, places = self._check_write(keys, actions, values, places)
        store = self._store
        ids = torch.full((keys.shape[0],), -1, dtype=torch.int64)
        with store.lock:
            stamps = store.tick(keys.shape[0]) + torch.arange(keys.shape[0])
            for action in torch.unique(actions).tolist():
                rows = torch.nonzero(actions == action).squeeze(1)
                ids[rows] = self._write_action(action, keys[rows], values[rows], stamps[rows], places[rows])
        return ids

    def _write_action(self, action: int, keys: torch.Tensor, values: torch.Tensor, stamps: torch.Tensor,
                      places: torch.Tensor) -> torch.Tensor:
        """Write rows of one action (lock held): tabular updates first, then appends/evictions; the rows' ids."""
        store = self._store
        n = int(store.sizes[action])
        ids = torch.full((keys.shape[0],), -1, dtype=torch.int64)
        pending = torch.arange(keys.shape[0])  # the rows not matched to an entry
        if self.match_radius > 0 and n > 0:
            nearest = self._searcher.search(action, keys, n, 1).squeeze(1)
            matched = (store.keys[action, nearest] - keys).pow(2).sum(-1) <= self.match_radius
            self._update_matched(action, nearest[matched], values[matched], stamps[matched])
            ids[matched] = store.ids[action, nearest[matched]]
            pending = pending[~matched]
            keys, values, stamps, places = keys[~matched], values[~matched], stamps[~matched], places[~matched]
        if keys.shape[0] == 0:
            return ids
        slots, kept = self._allocate(action, n, stamps)
        if slots.numel() == 0:  # every row older than the entries it would evict (lookups ran meanwhile)
            return ids
        keys, stamps = keys[kept], stamps[kept]
        new_ids = int(store.entries) + torch.arange(slots.shape[0])
        store.keys[action, slots] = keys
        store.sq_norms[action, slots] = keys.pow(2).sum(-1)
        store.values[action, slots] = values[kept]
        store.last_used[action, slots] = stamps
        store.places[action, slots] = places[kept]
        store.ids[action, slots] = new_ids
        store.entries += slots.shape[0]
        ids[pending[kept]] = new_ids
        store.written_seq[action, slots] = int(store.key_writes[action]) + 1 + torch.arange(slots.shape[0])
        store.key_writes[action] += slots.shape[0]
        store.sizes[action] = max(n, int(slots.max()) + 1)  # last: publishes the appended rows
        return ids

    def _update_matched(self, action: int, slots: torch.Tensor, targets: torch.Tensor, stamps: torch.Tensor) -> None:
        """``v <- v + alpha (R - v)`` per matched row, in row order even when rows hit the same entry."""
        if slots.numel() == 0:
            return
        store = self._store
        order = torch.argsort(slots, stable=True)
        sorted_slots = slots[order]
        position = torch.arange(slots.shape[0])
        starts = torch.ones_like(sorted_slots, dtype=torch.bool)
        starts[1:] = sorted_slots[1:] != sorted_slots[:-1]
        repeat = position - torch.where(starts, position, 0).cummax(0).values  # 0 for a slot's first row, 1, ...
        for r in range(int(repeat.max()) + 1):
            rows = order[repeat == r]  # each slot at most once: a vectorised update is exact
            hit = slots[rows]
            store.values[action, hit] += self.alpha * (targets[rows] - store.values[action, hit])
            store.last_used[action, hit] = stamps[rows]

    def _allocate(self, action: int, n: int, stamps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Slots for new rows with use ``stamps``: free slots, then the least recently used.

        Returns ``(slots, kept)``: ``kept`` selects the rows that get a slot. Writing rows in order
        keeps the ``capacity`` most recently used of old entries and new rows together, so new rows
        older than that (when more rows than capacity arrive) are dropped.
        """
        m, capacity = stamps.shape[0], self.capacity
        if n + m <= capacity:
            return torch.arange(n, n + m), torch.ones(m, dtype=torch.bool)
        candidates = torch.cat([self._store.last_used[action, :n], stamps])
        evicted = torch.topk(candidates, n + m - capacity, largest=False, sorted=False).indices
        kept = torch.ones(m, dtype=torch.bool)
        kept[evicted[evicted >= n] - n] = False
        return torch.cat([torch.arange(n, capacity), evicted[evicted < n]]), kept

    # ------------------------------------------------------------------ processes, checkpoints
    def share_memory_(self) -> "DND":
        """Move every tensor to shared memory (for worker processes, spawn start method); returns self."""
        self._store.share_memory_()
        return self

    def is_shared(self) -> bool:
        return self._store.keys.is_shared()

    def state_dict(self) -> dict[str, Any]:
        """Configuration and the filled entries (copies, safe to ``torch.save``)."""
        store = self._store
        with store.lock:
            filled = int(store.sizes.max())
            return {
                **{name: getattr(self, name) for name in _CONFIG},
                "sizes": store.sizes.clone(),
                "keys": store.keys[:, :filled].clone(),
                "values": store.values[:, :filled].clone(),
                "last_used": store.last_used[:, :filled].clone(),
                "places": store.places[:, :filled].clone(),
                "ids": store.ids[:, :filled].clone(),
                "entries": int(store.entries),
                "clock": int(store.clock),
            }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Replace the memory's contents by ``state`` (from :meth:`state_dict`), in place, so a
        shared DND stays shared. ``k``, ``delta``, ``alpha`` and ``match_radius`` stay this object's.
        A state saved before entries had places and ids gives them unknown places and new ids."""
        keys, sizes = _check_state(state, self.n_actions, self.key_size, self.capacity)
        store = self._store
        filled = keys.shape[1]
        ids = state.get("ids", torch.arange(self.n_actions * filled).view(self.n_actions, filled))
        places = state.get("places", torch.full((self.n_actions, filled, PLACE), float("nan")))
        with store.lock:
            store.sizes.zero_()  # readers see empty memories while the rows change
            for name, source in (("keys", keys), ("values", state["values"]), ("last_used", state["last_used"]),
                                 ("places", places), ("ids", ids)):
                target = getattr(store, name)
                target.zero_()
                target[:, :filled] = source
            store.entries.fill_(max(int(state.get("entries", 0)), int(ids.max()) + 1 if ids.numel() else 0))
            store.sq_norms.copy_(store.keys.pow(2).sum(-1))
            store.written_seq.zero_()
            store.written_seq[:, :filled] = 1
            store.key_writes.fill_(1)
            store.clock.fill_(max(int(state["clock"]), int(store.last_used.max())))
            store.generation += 1
            store.sizes.copy_(sizes)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for a worker process: the searcher (may hold per-process faiss indexes) is rebuilt there."""
        if not self.is_shared():
            raise TypeError("a DND reaches another process through shared memory: call share_memory_() "
                            "before passing it (state_dict() / load_state_dict() copy one instead)")
        state = dict(self.__dict__)
        del state["_searcher"]
        state["_last"] = None  # this process's last lookup
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._searcher = make_searcher(self.backend, self._store, self.nprobe, self.ivf_min_size)

    def __repr__(self) -> str:
        return (
            f"DND(n_actions={self.n_actions}, key_size={self.key_size}, capacity={self.capacity}, k={self.k}, "
            f"backend={self.backend!r}, match_radius={self.match_radius}, occupancy={self.occupancy()})"
        )

    # ------------------------------------------------------------------ validation
    def _check_write(
        self, keys: torch.Tensor, actions: torch.Tensor, values: torch.Tensor, places: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validated CPU copies: float32 keys ``[N, D]``, int64 actions ``[N]``, float32 values ``[N]``, float32
        places ``[N, PLACE]`` (NaN when not given)."""
        _check_keys(keys, self.key_size, "write", "keys")
        n = keys.shape[0]
        if not isinstance(actions, torch.Tensor) or actions.shape != (n,) or actions.is_floating_point() or actions.dtype == torch.bool:
            raise ValueError(
                f"DND.write: actions must be an integer tensor of shape [{n}] (one per key), "
                f"got {_describe(actions)}"
            )
        if not isinstance(values, torch.Tensor) or values.shape != (n,):
            raise ValueError(f"DND.write: values must be a tensor of shape [{n}] (one return per key), got {_describe(values)}")
        actions = actions.detach().to("cpu", torch.int64)
        if n and (int(actions.min()) < 0 or int(actions.max()) >= self.n_actions):
            bad = actions[(actions < 0) | (actions >= self.n_actions)][0]
            raise ValueError(f"DND.write: action {int(bad)} is out of range; valid actions are 0..{self.n_actions - 1}")
        keys = keys.detach().to("cpu", torch.float32)
        values = values.detach().to("cpu", torch.float32)
        if not (torch.isfinite(keys).all() and torch.isfinite(values).all()):
            raise ValueError("DND.write: keys and values must be finite (got NaN or inf); a NaN key would poison every lookup")
        if places is None:
            return keys, actions, values, torch.full((n, PLACE), float("nan"))
        if not isinstance(places, torch.Tensor) or places.shape != (n, PLACE):
            raise ValueError(f"DND.write: places must be a tensor of shape [{n}, {PLACE}] (x, z, heading, maze per "
                             f"key; NaN where unknown) or None, got {_describe(places)}")
        return keys, actions, values, places.detach().to("cpu", torch.float32)


def _describe(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"a {x.dtype} tensor of shape {list(x.shape)}"
    return f"{type(x).__name__}"


def _check_keys(keys: torch.Tensor, key_size: int, method: str, name: str) -> None:
    if not isinstance(keys, torch.Tensor) or keys.dim() != 2 or keys.shape[1] != key_size or not keys.is_floating_point():
        raise ValueError(
            f"DND.{method}: {name} must be a floating tensor of shape [batch, key_size={key_size}], "
            f"got {_describe(keys)}; a single key needs a batch axis: key.unsqueeze(0)"
        )


def check_config(n_actions: int, key_size: int, capacity: int = 500_000, k: int = 50, delta: float = 1e-3,
                 alpha: float = 0.1, backend: str = "auto", match_radius: float = 0.0, *, nprobe: int = 32,
                 ivf_min_size: int | None = 10_000) -> None:
    """Raise the ValueError that :class:`DND` would, without allocating its memory (a region checks its params)."""
    _check_config(n_actions, key_size, capacity, k, delta, alpha, backend, match_radius, nprobe, ivf_min_size)


def _check_config(
    n_actions: int,
    key_size: int,
    capacity: int,
    k: int,
    delta: float,
    alpha: float,
    backend: str,
    match_radius: float,
    nprobe: int,
    ivf_min_size: int | None,
) -> None:
    for name, value in (("n_actions", n_actions), ("key_size", key_size), ("capacity", capacity), ("k", k), ("nprobe", nprobe)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"DND: {name} must be a positive integer, got {value!r}")
    if ivf_min_size is not None and (not isinstance(ivf_min_size, int) or ivf_min_size < 1):
        raise ValueError(f"DND: ivf_min_size must be a positive integer or None (always exact), got {ivf_min_size!r}")
    if not delta > 0:
        raise ValueError(f"DND: delta must be > 0 (it keeps the kernel finite at an exact hit), got {delta!r}")
    if not 0 < alpha <= 1:
        raise ValueError(f"DND: alpha must be in (0, 1], got {alpha!r}")
    if not match_radius >= 0:
        raise ValueError(f"DND: match_radius must be >= 0 (a squared distance; 0 disables the update), got {match_radius!r}")
    if backend not in BACKENDS:
        raise ValueError(f"DND: unknown backend {backend!r}; choose one of {', '.join(map(repr, BACKENDS))}")
    if backend == "faiss" and not faiss_available():
        raise ValueError("DND: backend 'faiss' needs faiss: pip install faiss-cpu, or use backend='torch'")


def _check_state(state: dict[str, Any], n_actions: int, key_size: int, capacity: int) -> tuple[torch.Tensor, torch.Tensor]:
    missing = [name for name in ("sizes", "keys", "values", "last_used", "clock") if name not in state]
    if missing:
        raise ValueError(f"DND.load_state_dict: state lacks {missing}; pass a dict made by DND.state_dict()")
    keys, sizes = state["keys"], state["sizes"]
    if keys.dim() != 3 or keys.shape[0] != n_actions or keys.shape[2] != key_size:
        raise ValueError(
            f"DND.load_state_dict: saved keys have shape {list(keys.shape)}, this DND needs "
            f"[n_actions={n_actions}, entries, key_size={key_size}]"
        )
    for name in ("values", "last_used"):
        if state[name].shape != keys.shape[:2]:
            raise ValueError(f"DND.load_state_dict: saved {name} has shape {list(state[name].shape)}, expected {list(keys.shape[:2])}")
    if sizes.shape != (n_actions,) or int(sizes.min()) < 0 or int(sizes.max()) > keys.shape[1]:
        raise ValueError(f"DND.load_state_dict: saved sizes {sizes.tolist()} do not fit the {keys.shape[1]} saved entries per action")
    if keys.shape[1] > capacity:
        raise ValueError(
            f"DND.load_state_dict: the saved memory holds {keys.shape[1]} entries per action, more than "
            f"capacity={capacity}; build the DND with capacity >= {keys.shape[1]}"
        )
    return keys, sizes
