"""Evaluate a trained brain: ``python -m brain.evaluate RUN_DIR --task 1-3 --episodes 100``.

Loads the run's resolved connectome, config and checkpoint (weights and hippocampal memory),
plays whole episodes without learning, and prints the success rate and the mean episode length,
with the policy sampled (default, as in training) or greedy (``--greedy``). ``--record`` records
every step of every episode (all region activity, pose, action, reward, value, TD error) to
``RUN_DIR/eval-<task>.h5`` or a given path, appending to an existing file as a new session.
A run trained on Unity evaluates on Unity, on the port of worker id ``--unity-worker-id`` (default:
the run's worker count, the first port its training workers do not use, so an evaluation can run
beside the training).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from brain.a3c import attach_memory, observation_tensors, sample_action
from brain.argtypes import number
from brain.config import TrainConfig
from brain.recording import EpisodeBuffer, RecordingError, RecordingFile, RecordingSpec, prepare
from brain.errors import ConnectomeError
from brain.rundir import RunDirError, load_checkpoint, read_config
from tasks.unity import UnityWorkerError

if TYPE_CHECKING:
    from brain.engine import Brain


@dataclass
class EpisodeResult:
    task: str
    steps: int
    ret: float
    success: bool


@torch.no_grad()
def play_episode(brain, env, seed: int | None, greedy: bool, buffer: EpisodeBuffer | None = None) -> EpisodeResult:
    """Play one whole episode with ``brain`` (no learning), each step into ``buffer`` if given."""
    obs, info = env.reset(seed=seed)
    state = brain.initial_state(1)
    keys = tuple(brain.input_shapes)
    previous_reward, reset, steps, ret = 0.0, True, 0, 0.0
    while True:
        out, state = brain.step(observation_tensors(obs, previous_reward, keys), state, torch.tensor([reset]))
        logits = out.logits[0]
        action = int(logits.argmax()) if greedy else sample_action(logits)
        pose = np.asarray(info["pose"], dtype=np.float32)
        obs, reward, terminated, truncated, info = env.step(action)
        if buffer is not None:
            buffer.add(out.activity, pose, action, float(reward))
        previous_reward, reset = float(reward), False
        steps, ret = steps + 1, ret + float(reward)
        if terminated or truncated:
            return EpisodeResult(info["task"], steps, ret, bool(info.get("success", False)))


def load_trained_brain(run_dir: Path) -> tuple[Brain, TrainConfig, int]:
    """A run directory's brain (checkpointed weights and memory, eval mode), config and trained steps."""
    from brain.engine import Brain

    connectome = run_dir / "connectome.yaml"
    if not connectome.is_file():
        raise RunDirError(f"{run_dir}: no connectome.yaml here; give the directory a training run wrote "
                          f"(python -m brain.run --out {run_dir})")
    brain = Brain.from_connectome(str(connectome))
    payload = load_checkpoint(run_dir, brain)
    brain.load_state_dict(payload["brain"])
    region = next((r for r in brain.regions.values() if hasattr(r, "attach_memory")), None)
    if region is not None and payload.get("memory") is not None:
        memory = region.make_memory()
        memory.load_state_dict(payload["memory"])
        attach_memory(brain, memory)
    return brain.eval(), read_config(run_dir), int(payload["steps"])


def evaluate(run_dir: Path, task: str, episodes: int, greedy: bool, seed: int,
             record: Path | None = None, unity_worker_id: int | None = None) -> list[EpisodeResult]:
    """Play ``episodes`` trials of ``task`` in a row with the run's brain; record them all to ``record``.

    Only the first reset is seeded: the trials then follow each other as in training, so that the
    tasks whose rules read the trial history (1-1's moving start, the 1-6 / 1-8c cycles) evaluate
    the same thing that training measured. A recording stores the ports that the run's config
    selects (``record_regions``, ``record_float16``, ``record_compression``); its episodes' global
    step is the checkpoint's (how long the brain had trained). ``unity_worker_id``: see the module
    docstring (default ``cfg.workers``).
    """
    from brain.environment import make_environment

    brain, cfg, trained_steps = load_trained_brain(run_dir)
    cfg.task, cfg.curriculum = task, False
    env = make_environment(cfg, brain.input_shapes, seed, cfg.workers if unity_worker_id is None else unity_worker_id)
    torch.manual_seed(seed)
    recording = None
    if record is not None:
        session = {"kind": "evaluate", "run": str(run_dir), "task": task, "greedy": greedy, "seed": seed,
                   "global_step": trained_steps}
        recording = _open_recording(record, brain, cfg, session)
    results = []
    try:
        for i in tqdm(range(episodes), desc=f"evaluating {task}"):
            buffer = None if recording is None else EpisodeBuffer(recording.spec.buffered_keys)
            result = play_episode(brain, env, seed if i == 0 else None, greedy, buffer)
            if recording is not None:
                recording.append(buffer.finish(episode=i, worker=0, task=result.task, success=result.success,
                                               global_step=trained_steps))
            results.append(result)
    finally:
        env.close()
        if recording is not None:
            recording.close()
    return results


def _open_recording(path: Path, brain, cfg: TrainConfig, session: dict) -> RecordingFile:
    """``path`` prepared for one more session (created, or appended to) and opened for writing."""
    spec = RecordingSpec.for_brain(brain, cfg.record_regions, cfg.record_float16, cfg.record_compression)
    prepare(path, spec, brain.connectome.to_yaml(), brain.connectome.name, session)
    return RecordingFile(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m brain.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="run directory written by python -m brain.run")
    parser.add_argument("--task", default=None, help="task id, e.g. 1-3 (default: the task the run trained on)")
    parser.add_argument("--episodes", type=number(int, 1), default=100, help="episodes to play (default 100)")
    parser.add_argument("--greedy", action="store_true", help="take the most probable action instead of sampling")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the first reset (default 12345)")
    parser.add_argument("--record", nargs="?", const="", default=None, type=str, metavar="PATH",
                        help="record every step of every episode to PATH (default: RUN_DIR/eval-<task>.h5); "
                             "an existing recording gets the episodes appended as a new session")
    parser.add_argument("--unity-worker-id", type=number(int, 0), default=None, metavar="N",
                        help="a run trained on Unity: evaluate on port unity_base_port + N (default: the run's "
                             "worker count, a port its training workers do not use)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        task = args.task or read_config(args.run_dir).task
        record = None if args.record is None else Path(args.record or args.run_dir / f"eval-{task}.h5")
        results = evaluate(args.run_dir, task, args.episodes, args.greedy, args.seed, record, args.unity_worker_id)
    except (RunDirError, RecordingError, UnityWorkerError, FileNotFoundError, ValueError, ConnectomeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    success = np.mean([r.success for r in results])
    print(f"task {task}: success {success:.1%} over {len(results)} episodes "
          f"({'greedy' if args.greedy else 'sampled'} policy); mean steps {np.mean([r.steps for r in results]):.1f}; "
          f"mean return {np.mean([r.ret for r in results]):+.3f}")
    if record is not None:
        print(f"recorded {len(results)} episodes to {record} (read it with brain.recording.open_run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
