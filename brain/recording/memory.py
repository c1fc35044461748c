"""The episodic memory's traffic in a recording: what each recorded step read from it and wrote into it.

The hippocampal memory (:class:`regions.dnd.DND`) is looked up at every step and written by reverse
replay after every rollout. For a recorded step the recording keeps, of the taken action's memory:

* the lookup: its read-out, and the ``k`` neighbours it averaged over, each by id and by the place
  (x, z, maze) at which its key was formed; beside them, as a control, the places of ``k`` entries
  drawn at random from the same memory at the same moment;
* the write: the return the reverse pass wrote for the step, and the id of the entry it went to
  (the step's own pose is the place of that key).

Entries keep their place in the memory itself (and in checkpoints), so the lookups of an evaluation,
whose memory was written in training, trace to places as well as those of training.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from tasks.geometry import MAZE_NAMES

if TYPE_CHECKING:
    from regions.dnd import DND

#: Where the datasets lie in the file.
GROUP = "steps/memory"


def datasets(k: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """The memory's per-step datasets for ``k`` neighbours: name -> (shape after the step axis, dtype)."""
    return {"value": ((), "float32"), "neighbour_id": ((k,), "int64"), "neighbour_position": ((k, 2), "float16"),
            "neighbour_maze": ((k,), "int8"), "random_position": ((k, 2), "float16"), "random_maze": ((k,), "int8"),
            "written_value": ((), "float32"), "written_id": ((), "int64")}


def places_of(infos: Sequence[Sequence[dict]]) -> torch.Tensor:
    """``[T * N, 4]`` places ``(x, z, heading, maze index)`` of the observations of ``infos[t][i]`` (time-major, as
    the trainer writes its rollout), for :meth:`DND.write`; a maze outside ``MAZE_NAMES`` is NaN."""
    rows = [info for step in infos for info in step]
    places = np.empty((len(rows), 4), dtype=np.float32)
    places[:, :3] = [info["pose"] for info in rows]
    places[:, 3] = [_maze_index(info.get("maze")) for info in rows]
    return torch.from_numpy(places)


def _maze_index(name: str | None) -> float:
    return float(MAZE_NAMES.index(name)) if name in MAZE_NAMES else float("nan")


class MemoryTrace:
    """One recorded episode's memory traffic, collected step by step (:class:`~brain.recording.EpisodeBuffer`).

    ``seed`` seeds the draws of the random control (its own generator: recording never changes the
    random numbers that acting draws).
    """

    def __init__(self, k: int, seed: int = 0):
        self.k = k
        self._generator = torch.Generator().manual_seed(seed)
        self._values: list[float] = []
        self._ids: list[torch.Tensor] = []
        self._places: list[torch.Tensor] = []
        self._random: list[torch.Tensor] = []
        self._writes: dict[int, tuple[float, int]] = {}

    def recall(self, memory: DND, row: int, action: int) -> None:
        """The step just looked up: what ``memory``'s last lookup read for query ``row`` and the taken ``action``."""
        recalled = memory.recalled(row, action)
        self._values.append(recalled.value)
        self._ids.append(recalled.ids)
        self._places.append(recalled.places)
        self._random.append(memory.random_places(action, self.k, self._generator))

    def written(self, step: int, value: float, entry: int) -> None:
        """Reverse replay wrote ``value`` for step ``step`` of the episode into entry ``entry`` (-1: dropped)."""
        self._writes[step] = (value, entry)

    def arrays(self) -> dict[str, np.ndarray]:
        """The collected steps as the recording's datasets (:func:`datasets`); unwritten steps: NaN and -1."""
        length = len(self._values)
        places, random = torch.stack(self._places).numpy(), torch.stack(self._random).numpy()
        written_value, written_id = np.full(length, np.nan, dtype=np.float32), np.full(length, -1, dtype=np.int64)
        for step, (value, entry) in self._writes.items():
            written_value[step], written_id[step] = value, entry
        return {"value": np.asarray(self._values, dtype=np.float32), "neighbour_id": torch.stack(self._ids).numpy(),
                "neighbour_position": places[..., :2].astype(np.float16), "neighbour_maze": _maze_codes(places),
                "random_position": random[..., :2].astype(np.float16), "random_maze": _maze_codes(random),
                "written_value": written_value, "written_id": written_id}


def _maze_codes(places: np.ndarray) -> np.ndarray:
    """The maze index of ``places [..., 4]`` as int8, -1 where unknown."""
    maze = places[..., 3]
    return np.where(np.isnan(maze), -1, maze).astype(np.int8)
