"""The Unity side of the ML-Agents protocol, serving the embedded WBAI tasks: a stand-in for a Unity build.

It is launched exactly as a Unity player is (``UnityEnvironment(file_name=...)`` runs it with
``--mlagents-port N``, ``-nographics -batchmode``, ``-logFile PATH``) and speaks to the Python side
with the messages of ``mlagents_envs.communicator_objects``: it is the gRPC client, the Python side
the server. The exchange, and what a real Unity scene must send, is in docs/unity.md.

Make a launcher that ``UnityEnvironment`` accepts as a Linux build, then train on it::

    python -m tasks.unity.peer --make-build builds/     # writes builds/wbai-maze.x86_64
    python -m brain.run --env unity --unity-build builds/wbai-maze.x86_64
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import grpc
import numpy as np
from mlagents_envs.communicator_objects.agent_info_pb2 import AgentInfoProto
from mlagents_envs.communicator_objects.brain_parameters_pb2 import ActionSpecProto, BrainParametersProto
from mlagents_envs.communicator_objects.capabilities_pb2 import UnityRLCapabilitiesProto
from mlagents_envs.communicator_objects.command_pb2 import QUIT, RESET
from mlagents_envs.communicator_objects.observation_pb2 import NONE, PNG, ObservationProto
from mlagents_envs.communicator_objects.unity_message_pb2 import UnityMessageProto
from mlagents_envs.communicator_objects.unity_output_pb2 import UnityOutputProto
from mlagents_envs.communicator_objects.unity_rl_input_pb2 import UnityRLInputProto
from mlagents_envs.communicator_objects.unity_to_external_pb2_grpc import UnityToExternalProtoStub
from mlagents_envs.side_channel import DefaultTrainingAnalyticsSideChannel
from mlagents_envs.side_channel.side_channel import IncomingMessage, SideChannel
from mlagents_envs.side_channel.side_channel_manager import SideChannelManager

from tasks.env import MazeEnv
from tasks.png import encode_png
from tasks.rules import TICK_UNITS
from tasks.unity.protocol import (
    BEHAVIOR_NAME, COMMUNICATION_VERSION, DEPTH, ENGINE_CHANNEL_ID, N_ACTIONS, ODOMETRY, OPTION_DEFAULTS, RGB,
    JsonChannel, info_message,
)

BUILD_NAME = "wbai-maze.x86_64"
PACKAGE_VERSION = "brain-inspired-a3c peer 1"
TICK_SECONDS = 0.02
#: ``DimensionProperty`` of a camera observation, as Unity's camera sensor reports it (H, W, C).
CAMERA_DIMENSIONS = (2, 2, 1)  # translational equivariance, translational equivariance, none
log = logging.getLogger("tasks.unity.peer")


class Step(NamedTuple):
    """One agent info to send: a decision request (``done`` False) or the end of a trial."""

    obs: dict[str, np.ndarray]
    reward: float
    done: bool
    interrupted: bool  # ended by a step limit rather than by the task (ML-Agents' max_step_reached)
    info: dict[str, Any]


class EngineSettings(SideChannel):
    """The engine configuration the Python side sets (``EngineConfigurationChannel`` messages, read here).

    Only ``time_scale`` changes what the peer does (see :meth:`MazePeer.pace`); the screen size,
    quality level and frame rates concern a rendered Unity window, which the peer does not have.
    """

    FIELDS = {0: ("screen_width", "screen_height"), 1: ("quality_level",), 2: ("time_scale",),
              3: ("target_frame_rate",), 4: ("capture_frame_rate",)}

    def __init__(self) -> None:
        super().__init__(ENGINE_CHANNEL_ID)
        self.values: dict[str, float] = {"time_scale": 1.0}  # Unity's own default

    def on_message_received(self, msg: IncomingMessage) -> None:
        kind = msg.read_int32()
        names = self.FIELDS.get(kind)
        if names is None:
            log.warning("engine configuration: unknown setting %d ignored", kind)
            return
        values = {name: msg.read_float32() if name == "time_scale" else msg.read_int32() for name in names}
        if values.get("time_scale", 1.0) <= 0:  # Unity would pause; a lock-step scene cannot
            log.warning("engine configuration: time scale %s ignored (it must be positive)", values["time_scale"])
            return
        self.values.update(values)
        log.info("engine configuration: %s", values)


class TrainingAnalytics(SideChannel):
    """Unity's training-analytics channel: mlagents-envs announces the trainer on it; the peer only logs that."""

    def __init__(self) -> None:
        super().__init__(DefaultTrainingAnalyticsSideChannel.CHANNEL_ID)

    def on_message_received(self, msg: IncomingMessage) -> None:
        log.info("training analytics message (%d bytes) received", len(msg.get_raw_bytes()))


class MazePeer:
    """One Unity "scene": a ``MazeEnv`` behind ML-Agents messages, with the agent ``BEHAVIOR_NAME``.

    Like a Unity agent, it starts its next trial as soon as one ends and sends both the terminal
    step and the new trial's first decision request in the same output.
    """

    def __init__(self) -> None:
        self.wbai = JsonChannel()
        self.engine = EngineSettings()
        self.channels = SideChannelManager([self.wbai, self.engine, TrainingAnalytics()])
        self.options = dict(OPTION_DEFAULTS)
        self.seed = 0
        self.env: MazeEnv | None = None
        self._spec_sent = False
        self._released = time.monotonic()  # when the last output left (pacing)

    # --- the exchange ----------------------------------------------------------------------------
    def initialization_output(self) -> UnityOutputProto:
        """The academy's greeting: versions and capabilities; the behaviour follows with the first agent."""
        output = UnityOutputProto()
        init = output.rl_initialization_output
        init.name = "WBAI 2017 maze (embedded simulator)"
        init.communication_version = COMMUNICATION_VERSION
        init.package_version = PACKAGE_VERSION
        init.capabilities.CopyFrom(UnityRLCapabilitiesProto(baseRLCapabilities=True, concatenatedPngObservations=True,
                                                            compressedChannelMapping=True, hybridActions=True,
                                                            trainingAnalytics=True, variableLengthObservation=True,
                                                            multiAgentGroups=True))
        return output

    def handle(self, rl_input: UnityRLInputProto) -> UnityOutputProto:
        """One Python input (side channels, then RESET or STEP with actions) -> the output to send back."""
        self.channels.process_side_channel_message(bytes(rl_input.side_channel))
        for message in self.wbai.take():
            self._set_options(message.get("options", {}))
        steps: list[Step] = []
        if rl_input.command == RESET or self.env is None:
            steps.append(self._reset())
        elif BEHAVIOR_NAME in rl_input.agent_actions and rl_input.agent_actions[BEHAVIOR_NAME].value:
            action = int(rl_input.agent_actions[BEHAVIOR_NAME].value[0].discrete_actions[0])
            obs, reward, terminated, truncated, info = self.env.step(action)
            steps.append(Step(obs, reward, terminated or truncated, truncated and not terminated, info))
            self.pace(self.env.step_units / TICK_UNITS * TICK_SECONDS)
            if terminated or truncated:
                steps.append(self._reset())
        return self._output(steps)

    def pace(self, sim_seconds: float) -> None:
        """Hold the output back so that simulated time runs at most ``time_scale`` times wall-clock time.

        This is what Unity's time scale means for a scene that is stepped as fast as it can be:
        1 plays in real time (for watching), the ML-Agents trainer's 20 and above train fast.
        """
        due = self._released + sim_seconds / self.engine.values["time_scale"]
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        self._released = max(now, due)

    # --- internals -------------------------------------------------------------------------------
    def _set_options(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - set(OPTION_DEFAULTS))
        if unknown:
            raise ValueError(f"unknown wbai options {unknown}; known: {sorted(OPTION_DEFAULTS)}")
        if {**self.options, **options} != self.options:
            self.options.update(options)
            self.env = None  # rebuilt at the next reset, with the new observation shapes announced
            log.info("options: %s", self.options)

    def _reset(self) -> Step:
        if self.env is None:
            o = self.options
            self.env = MazeEnv(o["task"], start_task=o["start_task"], ticks_per_step=o["ticks_per_step"],
                               rgb_size=o["rgb_size"], depth_size=max(1, o["depth_size"]))
            self._spec_sent = False
            obs, info = self.env.reset(seed=self.seed)
        else:
            obs, info = self.env.reset()
        return Step(obs, 0.0, False, False, info)

    def _output(self, steps: list[Step]) -> UnityOutputProto:
        output = UnityOutputProto()
        if not self._spec_sent:
            output.rl_initialization_output.brain_parameters.append(BrainParametersProto(
                brain_name=BEHAVIOR_NAME, is_training=True,
                action_spec=ActionSpecProto(num_discrete_actions=1, discrete_branch_sizes=[N_ACTIONS])))
            self._spec_sent = True
        infos = output.rl_output.agentInfos[BEHAVIOR_NAME].value
        for step in steps:
            infos.append(AgentInfoProto(id=0, reward=step.reward, done=step.done, max_step_reached=step.interrupted,
                                        observations=self._observations(step.obs)))
            self.wbai.send(info_message(step.done, step.info))
        output.rl_output.side_channel = bytes(self.channels.generate_side_channel_messages())
        return output

    def _observations(self, obs: dict[str, np.ndarray]) -> list[ObservationProto]:
        """RGB as a PNG like Unity's camera sensor (exact: lossless); depth in metres and odometry as floats."""
        rgb = obs["rgb"].transpose(1, 2, 0)
        protos = [ObservationProto(name=RGB, shape=rgb.shape, compression_type=PNG,
                                   compressed_data=encode_png(np.ascontiguousarray(rgb), level=1),
                                   dimension_properties=CAMERA_DIMENSIONS)]
        if self.options["depth_size"] > 0:
            depth = obs["depth"][0]
            proto = ObservationProto(name=DEPTH, shape=(*depth.shape, 1), compression_type=NONE,
                                     dimension_properties=CAMERA_DIMENSIONS)
            proto.float_data.data.extend(depth.ravel().tolist())
            protos.append(proto)
        proto = ObservationProto(name=ODOMETRY, shape=obs["odometry"].shape, compression_type=NONE)
        proto.float_data.data.extend(obs["odometry"].tolist())
        protos.append(proto)
        return protos


def _message(output: UnityOutputProto) -> UnityMessageProto:
    message = UnityMessageProto(unity_output=output)
    message.header.status = 200
    return message


def serve(port: int, peer: MazePeer) -> int:
    """Connect to the Python side on ``port`` and play until it says goodbye (exit 0) or vanishes (exit 1)."""
    with grpc.insecure_channel(f"localhost:{port}") as channel:
        stub = UnityToExternalProtoStub(channel)
        try:
            reply = stub.Exchange(_message(peer.initialization_output()))  # the service has only Exchange
            peer.seed = int(reply.unity_input.rl_initialization_input.seed)
            log.info("connected on port %d, seed %d", port, peer.seed)
            reply = stub.Exchange(_message(UnityOutputProto()))  # asks for the first real input
            while reply.header.status == 200 and reply.unity_input.rl_input.command != QUIT:
                reply = stub.Exchange(_message(peer.handle(reply.unity_input.rl_input)))
        except grpc.RpcError as error:
            log.error("the Python side went away: %s", error.details() if hasattr(error, "details") else error)
            return 1
    log.info("the Python side closed the connection")
    return 0


def make_build(directory: Path) -> Path:
    """Write ``directory/wbai-maze.x86_64``: an executable that runs this peer with this Python and this code."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / BUILD_NAME
    root = Path(__file__).resolve().parents[2]
    path.write_text("#!/bin/sh\n# A stand-in for a Unity build of the WBAI tasks (tasks/unity/peer.py).\n"
                    "export GRPC_VERBOSITY=${GRPC_VERBOSITY:-ERROR}  # gRPC's own notices would reach the trainer's terminal\n"
                    f"PYTHONPATH='{root}'${{PYTHONPATH:+:$PYTHONPATH}} exec '{sys.executable}' -m tasks.unity.peer \"$@\"\n")
    path.chmod(0o755)
    return path


def build_parser() -> argparse.ArgumentParser:
    """Unity's player flags that ML-Agents passes, plus ``--make-build``; other Unity flags are ignored."""
    parser = argparse.ArgumentParser(prog="python -m tasks.unity.peer", description=__doc__.splitlines()[0],
                                     allow_abbrev=False)
    parser.add_argument("--mlagents-port", type=int, help="port of the Python side's gRPC server")
    parser.add_argument("-logFile", "-logfile", dest="log_file", help="append the peer's log here (default: stderr)")
    parser.add_argument("-nographics", action="store_true", help="accepted; the peer never opens a window")
    parser.add_argument("-batchmode", action="store_true", help="accepted; the peer never waits for a user")
    parser.add_argument("--make-build", type=Path, metavar="DIR", help=f"write DIR/{BUILD_NAME} and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args, ignored = build_parser().parse_known_args(argv)
    if args.make_build is not None:
        print(make_build(args.make_build))
        return 0
    if args.mlagents_port is None:
        build_parser().error("--mlagents-port is required (UnityEnvironment passes it) unless --make-build is given")
    handler = logging.FileHandler(args.log_file) if args.log_file else logging.StreamHandler()
    logging.basicConfig(level=logging.INFO, handlers=[handler], format="%(asctime)s %(levelname)s %(message)s")
    log.info("peer started (pid %d); ignored Unity flags: %s", os.getpid(), ignored)
    try:
        return serve(args.mlagents_port, MazePeer())
    except Exception:  # into the log file, where a Unity player's errors go too
        log.exception("the peer failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())
