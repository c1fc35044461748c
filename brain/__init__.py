"""The brain: :mod:`~brain.connectome` (the connectome language), :mod:`~brain.engine` (the graph engine),
:mod:`~brain.training` (A3C), :mod:`~brain.recording` (region activity to HDF5), and the command lines
``python -m brain.run`` and ``python -m brain.evaluate``.

>>> from brain import Brain
>>> brain = Brain.from_connectome("wba")
"""

from brain.engine import Brain, SequenceOutput, StepOutput
from brain.errors import ConnectomeError

__all__ = ["Brain", "ConnectomeError", "SequenceOutput", "StepOutput"]
