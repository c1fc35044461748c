"""What a Unity build of the WBAI tasks and this project agree on (the contract of docs/unity.md).

Both sides import it: the peer (:mod:`tasks.unity.peer`, the Unity side) and the adapter
(:mod:`tasks.unity.adapter`, the Python side). A real Unity scene implements the same names,
shapes and side channels in C#.

The wire format of side channels is ML-Agents' own (16-byte channel id, int32 length, payload),
handled by ``mlagents_envs.side_channel``; this module only adds the channels' meaning.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from mlagents_envs.side_channel.side_channel import IncomingMessage, OutgoingMessage, SideChannel

#: The agent's behaviour as ML-Agents names it: ``BehaviorParameters.BehaviorName`` + ``?team=0``.
BEHAVIOR_NAME = "WbaiAgent?team=0"
#: Observation names (``ISensor.GetName()`` in C#); the adapter finds each observation by its name.
RGB, DEPTH, ODOMETRY = "rgb", "depth", "odometry"
#: Discrete actions, one branch: 0 turn right 10 deg, 1 turn left 10 deg, 2 forward 2 m.
N_ACTIONS = 3
#: Communication version of the ML-Agents protocol that mlagents-envs 0.28.0 speaks.
COMMUNICATION_VERSION = "1.5.0"

#: The ``wbai`` side channel: UTF-8 JSON objects, one per message, both ways (see :class:`JsonChannel`).
WBAI_CHANNEL_ID = uuid.UUID("6b1f3c4e-1d2a-4e55-9a7b-3c0e2f5d8a91")
#: ML-Agents' engine-configuration channel id (``EngineConfigurationChannel`` in Python and C#).
ENGINE_CHANNEL_ID = uuid.UUID("e951342c-4f7e-11ea-b238-784f4387d1f7")

#: Python -> Unity ``{"options": {...}}``: applied at the next reset. Keys and their embedded defaults.
OPTION_DEFAULTS: dict[str, Any] = {
    "task": "1-3",            # a task id or "curriculum"
    "start_task": None,       # first task of the curriculum (a restarted build goes on where it was)
    "ticks_per_step": 10,     # physics ticks (0.02 s) per action
    "rgb_size": 84,           # rgb camera width = height
    "depth_size": 32,         # depth camera width = height; 0 = no depth camera
}


def info_message(done: bool, info: dict[str, Any]) -> dict[str, Any]:
    """Unity -> Python, one per agent info sent, in the same order: the step's ``info`` (docs/interfaces.md 1)."""
    return {"agent": 0, "done": done, "info": info}


class JsonChannel(SideChannel):
    """A side channel of JSON objects: ``send(obj)`` queues one, ``take()`` returns those received since."""

    def __init__(self, channel_id: uuid.UUID = WBAI_CHANNEL_ID):
        super().__init__(channel_id)
        self._received: list[dict[str, Any]] = []

    def on_message_received(self, msg: IncomingMessage) -> None:
        self._received.append(json.loads(msg.read_string()))

    def send(self, obj: dict[str, Any]) -> None:
        message = OutgoingMessage()
        message.write_string(json.dumps(obj, default=lambda value: value.tolist()))  # numpy arrays and scalars
        self.queue_message_to_send(message)

    def take(self) -> list[dict[str, Any]]:
        received, self._received = self._received, []
        return received
