"""The WBAI tasks in Unity through ML-Agents: the adapter (Python side) and a protocol peer (Unity side).

``tasks.unity.adapter.UnityMazeEnv`` is the environment the trainer uses with ``--env unity``;
``tasks.unity.peer`` is a program that plays a Unity build of the tasks, serving the embedded
simulator, so that everything can be run and tested without Unity. Contract: docs/unity.md.
Needs the ``unity`` extra (``pip install -e ".[unity]"``).
"""


class UnityWorkerError(RuntimeError):
    """A Unity build that keeps failing, or that does not send what docs/unity.md asks for.

    Defined here, without the ``unity`` extra's imports, so that the command-line tools can catch it.
    """
