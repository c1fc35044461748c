"""The one writer process of a training run's recording, and the two ends that talk to it.

Workers never touch the file: a :class:`RecordingSink` (the workers' end) picks every k-th
episode, and sends each finished one whole through a bounded queue without ever waiting. The
:class:`Recorder` (the master's end) starts :func:`writer_main` on a prepared file and stops
it cleanly at the end (queue drained, file closed). Trouble stays inside recording: a full queue
drops the episode (and says so), a writer that fails or dies is logged and recording stops,
and the training goes on.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from brain.events import RecordingDropped, RecordingFailed
from brain.recording.episode import EpisodeBuffer, EpisodeRecord
from brain.recording.spec import RecordingSpec
from brain.recording.store import BATCH_SECONDS, RecordingFile

#: Finished episodes that may wait for the writer; beyond that they are dropped (memory stays bounded).
QUEUE_EPISODES = 32
#: Seconds the master waits for the writer to drain its queue and close the file at the end.
CLOSE_TIMEOUT = 60.0
#: Seconds between the writer's checks that the master is alive and that a batch is due.
PARENT_POLL = 1.0

Log = Callable[[str], None]


@dataclass
class RecordingSink:
    """The workers' end: which episodes to record, and where to send them (picklable, for spawn)."""

    queue: Any  # multiprocessing Queue of EpisodeRecord
    accepting: Any  # multiprocessing Event, cleared when the writer is gone
    every: int
    keys: tuple[str, ...]
    memory: int = 0  # neighbours per lookup of the episodic memory (RecordingSpec.memory)

    def start_episode(self, number: int) -> EpisodeBuffer | None:
        """A buffer if this worker's ``number``-th episode (0-based) is recorded, else None."""
        if number % self.every or not self.accepting.is_set():
            return None
        return EpisodeBuffer(self.keys, self.memory, seed=number)

    def send(self, record: EpisodeRecord) -> bool:
        """Hand a finished episode to the writer without waiting; False if the queue is full (dropped)."""
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            return False
        return True


class Recorder:
    """The master's end: owns the writer process and reports its trouble."""

    def __init__(self, context, path: Path, spec: RecordingSpec, every: int, events,
                 flush_seconds: float = BATCH_SECONDS):
        self.path = path
        self.queue = context.Queue(maxsize=QUEUE_EPISODES)
        accepting = context.Event()
        accepting.set()
        self.sink = RecordingSink(self.queue, accepting, every, spec.buffered_keys, spec.memory)
        self.events = events  # held here too: a spawned child opens its semaphores by name after start()
        self.process = context.Process(target=writer_main, args=(str(path), self.queue, events, flush_seconds),
                                       name="recording-writer", daemon=True)
        self.dropped = 0
        self._stopped = False

    def start(self) -> None:
        self.process.start()

    def check(self, log: Log) -> None:
        """Notice a writer that died (killed, crashed outside Python): log once, stop recording."""
        if not self._stopped and not self.process.is_alive():
            self._stop(log, f"recording: the writer process died (exit code {self.process.exitcode}); recording "
                            f"stopped, training goes on; {self.path} keeps every episode written so far")

    def on_event(self, event: RecordingDropped | RecordingFailed, log: Log) -> None:
        """A worker dropped an episode, or the writer failed."""
        match event:
            case RecordingFailed(traceback=error):
                self._stop(log, f"recording failed, training goes on without it:\n{error}")
            case RecordingDropped(worker=worker):
                self.dropped += 1
                if self.dropped == 1:
                    log(f"recording: worker {worker} dropped an episode because the writer is behind "
                        f"(queue of {QUEUE_EPISODES} full); record less often (--record-every) if this repeats")

    def close(self, log: Log) -> None:
        """Let the writer drain the queue and close the file; terminate it if it does not finish in time."""
        if self.process.is_alive():
            deadline = time.monotonic() + CLOSE_TIMEOUT
            try:
                self.queue.put(None, timeout=CLOSE_TIMEOUT)
            except queue.Full:
                pass
            self.process.join(max(deadline - time.monotonic(), 0.0))
            if self.process.is_alive():
                log(f"recording: the writer did not finish within {CLOSE_TIMEOUT:.0f} s; stopping it "
                    f"({self.path} keeps every episode written so far)")
                self.process.terminate()
                self.process.join(5)
        self.queue.cancel_join_thread()  # never let an undelivered sentinel hold the master at exit
        self._stopped = True

    def _stop(self, log: Log, message: str) -> None:
        self._stopped = True
        self.sink.accepting.clear()
        log(message)


def writer_main(path: str, records, events, flush_seconds: float) -> None:
    """The writer process: append each queued episode until the sentinel (None) or the master's death.

    Episodes reach the file in batches (:class:`RecordingFile`), at the latest ``flush_seconds``
    after they arrived, and all of them when the writer stops.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group; the master stops us
    try:
        with RecordingFile(Path(path), batch_seconds=flush_seconds) as file:
            _serve(file, records)
    except Exception:
        events.put(RecordingFailed(traceback.format_exc()))
        raise SystemExit(1) from None


def _serve(file: RecordingFile, records) -> None:
    parent = multiprocessing.parent_process()
    while True:
        try:
            record = records.get(timeout=PARENT_POLL)
        except queue.Empty:
            file.write_if_due()
            if parent is not None and not parent.is_alive():
                return  # the master was killed: close the file rather than wait for orphans
            continue
        if record is None:
            return
        file.append(record)
