"""The graph engine: a connectome compiled once into a schedule of region calls, run step by step or over a rollout.

:mod:`~brain.engine.brain` holds :class:`Brain` (build, ``step``, ``rollout``, teacher losses);
:mod:`~brain.engine.check` what ``python -m brain.run --check`` prints and its dry run.
"""

from brain.engine.brain import Brain, SequenceOutput, StepOutput

__all__ = ["Brain", "SequenceOutput", "StepOutput"]
