"""Recording every region's activity to HDF5 during training and evaluation, and reading it back.

Modules, one job each:

* :mod:`~brain.recording.spec`: what is recorded (ports, sizes, storage) and the error type;
* :mod:`~brain.recording.episode`: one episode collected where it is played, sent whole;
* :mod:`~brain.recording.memory`: the episodic memory's traffic of a recorded step (lookup, write);
* :mod:`~brain.recording.store`: the HDF5 layout; create, reopen, salvage, append (the writer's side);
* :mod:`~brain.recording.writer`: the training run's one writer process and its queue;
* :mod:`~brain.recording.reader`: :func:`open_run` and lazy per-episode arrays.

Layout, options and examples: ``docs/recording.md``.
"""

from brain.recording.episode import EpisodeBuffer, EpisodeRecord
from brain.recording.reader import RECORDING_FILE, Episode, Recording, open_run
from brain.recording.spec import COMPRESSIONS, FORMAT, FORMAT_VERSION, RecordingError, RecordingSpec, check_regions
from brain.recording.store import RecordingFile, prepare
from brain.recording.writer import Recorder, RecordingSink

__all__ = ["COMPRESSIONS", "FORMAT", "FORMAT_VERSION", "RECORDING_FILE", "Episode", "EpisodeBuffer", "EpisodeRecord",
           "Recorder", "Recording", "RecordingError", "RecordingFile", "RecordingSink", "RecordingSpec",
           "check_regions", "open_run", "prepare"]
