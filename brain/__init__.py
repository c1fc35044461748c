"""The brain: connectome loading and validation, the graph engine, the A3C trainer and the CLI.

>>> from brain import Brain
>>> brain = Brain.from_connectome("wba")
"""

from brain.engine import Brain, SequenceOutput, StepOutput
from brain.errors import ConnectomeError

__all__ = ["Brain", "ConnectomeError", "SequenceOutput", "StepOutput"]
