"""The tensors behind a :class:`regions.dnd.DND`, kept together so that they can be shared.

Every array is a plain CPU tensor indexed ``[action, slot]``. Rows ``[0, sizes[a])`` of action
``a`` hold entries; rows beyond are unused. Slots are never compacted, so an index found by a
reader stays inside ``[0, capacity)`` whatever a writer does meanwhile.

Two clocks, for two jobs:

* ``clock`` stamps *use* (``last_used``): a write stamps its rows, a lookup stamps the
  neighbours it returns. Lookups advance it without the lock, so under concurrency two stamps
  may tie or a tick may be lost; least-recently-used eviction is then approximate, never wrong
  by more than the few lookups that raced.
* ``key_writes[a]`` counts keys written to action ``a`` and is changed only under the lock;
  ``written_seq`` records it per slot. Per-process indexes (faiss IVF) use it to find exactly
  the slots whose key changed since they last looked.

Where an entry came from, for the recall measurements (:mod:`analysis.episodic`): ``places``
holds the place at which its key was formed, as the writer gave it (the trainer gives ``(x, z,
heading, maze)``, NaN when unknown), and ``ids`` a number no other entry of the memory has:
``entries`` counts the entries ever appended, under the lock, so an id names one write for good.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import threading
from dataclasses import dataclass, fields
from typing import Any

import torch

#: Numbers per entry's place: x, z (metres), heading (radians), maze (an index into tasks.geometry.MAZE_NAMES).
PLACE = 4


@dataclass
class DNDStore:
    """Keys, values and bookkeeping of one DND (one memory per action)."""

    keys: torch.Tensor  # float32 [A, C, D]
    sq_norms: torch.Tensor  # float32 [A, C]: ||key||^2, so exact search need not recompute it per query
    values: torch.Tensor  # float32 [A, C]
    last_used: torch.Tensor  # int64 [A, C]: clock stamp of the last write or lookup that touched the slot
    written_seq: torch.Tensor  # int64 [A, C]: key_writes[a] just after this slot's key was written
    places: torch.Tensor  # float32 [A, C, PLACE]: where the entry's key was formed (NaN: unknown)
    ids: torch.Tensor  # int64 [A, C]: the entry's identity, unique over the memory's life
    sizes: torch.Tensor  # int64 [A]: filled slots per action; only grows (except load_state_dict)
    key_writes: torch.Tensor  # int64 [A]: keys written so far per action (changed under the lock only)
    entries: torch.Tensor  # int64 [1]: entries appended so far, all actions (the next id; under the lock only)
    clock: torch.Tensor  # int64 [1]: use clock for last_used
    generation: torch.Tensor  # int64 [1]: bumped when the whole content is replaced (load_state_dict)
    lock: Any  # serialises writers: a threading RLock, a spawn-context one once shared across processes

    @classmethod
    def allocate(cls, n_actions: int, capacity: int, key_size: int) -> "DNDStore":
        """Zero-filled store with a process-local lock (:meth:`share_memory_` makes it a process one).

        A process lock is a named semaphore that ``multiprocessing``'s resource tracker follows;
        memories that never leave their process (a Ray actor's copy, the learner's) need none.
        """

        def ints(*shape: int) -> torch.Tensor:
            return torch.zeros(shape, dtype=torch.int64)

        return cls(
            keys=torch.zeros(n_actions, capacity, key_size),
            sq_norms=torch.zeros(n_actions, capacity),
            values=torch.zeros(n_actions, capacity),
            last_used=ints(n_actions, capacity),
            written_seq=ints(n_actions, capacity),
            places=torch.full((n_actions, capacity, PLACE), float("nan")),
            ids=ints(n_actions, capacity),
            sizes=ints(n_actions),
            key_writes=ints(n_actions),
            entries=ints(1),
            clock=ints(1),
            generation=ints(1),
            lock=threading.RLock(),
        )

    @property
    def n_actions(self) -> int:
        return self.keys.shape[0]

    @property
    def capacity(self) -> int:
        return self.keys.shape[1]

    @property
    def key_size(self) -> int:
        return self.keys.shape[2]

    def tensors(self) -> dict[str, torch.Tensor]:
        """Every tensor field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}

    def share_memory_(self) -> None:
        """Move every tensor to shared memory in place.

        The tensor objects stay the same but their storage moves, so nothing may cache a view
        of them across this call (the searchers index ``store.keys[a]`` afresh on every call).
        The lock becomes a spawn-context one, which travels to spawned workers.
        """
        for tensor in self.tensors().values():
            tensor.share_memory_()
        if not isinstance(self.lock, multiprocessing.synchronize.RLock):
            self.lock = multiprocessing.get_context("spawn").RLock()

    def tick(self, n: int = 1) -> int:
        """Advance the use clock by ``n`` and return the first of the ``n`` new stamps."""
        return int(self.clock.add_(n).item()) - n + 1
