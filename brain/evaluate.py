"""Evaluate a trained brain: ``python -m brain.evaluate RUN_DIR --task 1-3 --episodes 100``.

Loads the run's resolved connectome, config and checkpoint (weights and hippocampal memory),
plays whole episodes without learning, and prints the success rate and the mean episode length,
with the policy sampled (default, as in training) or greedy (``--greedy``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.distributions import Categorical
from tqdm import tqdm

from brain.a3c import attach_memory, observation_tensors
from brain.config import TrainConfig
from brain.rundir import RunDirError, load_checkpoint


@dataclass
class EpisodeResult:
    task: str
    steps: int
    ret: float
    success: bool


@torch.no_grad()
def play_episode(brain, env, seed: int | None, greedy: bool) -> EpisodeResult:
    """Play one whole episode with ``brain`` (no learning)."""
    obs, info = env.reset(seed=seed)
    state = brain.initial_state(1)
    keys = tuple(brain.input_shapes)
    previous_reward, reset, steps, ret = 0.0, True, 0, 0.0
    while True:
        out, state = brain.step(observation_tensors(obs, previous_reward, keys), state, torch.tensor([reset]))
        logits = out.logits[0]
        action = int(logits.argmax()) if greedy else int(Categorical(logits=logits).sample())
        obs, reward, terminated, truncated, info = env.step(action)
        previous_reward, reset = float(reward), False
        steps, ret = steps + 1, ret + float(reward)
        if terminated or truncated:
            return EpisodeResult(info["task"], steps, ret, bool(info.get("success", False)))


def load_trained_brain(run_dir: Path):
    """The brain of a run directory with its checkpointed weights and memory, in eval mode."""
    from brain.engine import Brain

    connectome = run_dir / "connectome.yaml"
    if not connectome.is_file():
        raise RunDirError(f"{run_dir}: no connectome.yaml here; give the directory a training run wrote "
                          f"(python -m brain.run --out {run_dir})")
    payload = load_checkpoint(run_dir)
    brain = Brain.from_connectome(str(connectome))
    brain.load_state_dict(payload["brain"])
    region = next((r for r in brain.regions.values() if hasattr(r, "attach_memory")), None)
    if region is not None and payload.get("memory") is not None:
        memory = region.make_memory()
        memory.load_state_dict(payload["memory"])
        attach_memory(brain, memory)
    return brain.eval(), TrainConfig.from_yaml(run_dir / "config.yaml")


def evaluate(run_dir: Path, task: str, episodes: int, greedy: bool, seed: int) -> list[EpisodeResult]:
    """Play ``episodes`` trials of ``task`` in a row with the run's brain.

    Only the first reset is seeded: the trials then follow each other as in training, so that the
    tasks whose rules read the trial history (1-1's moving start, the 1-6 / 1-8c cycles) evaluate
    the same thing that training measured.
    """
    from brain.environment import make_environment

    brain, cfg = load_trained_brain(run_dir)
    cfg.task, cfg.curriculum = task, False
    env = make_environment(cfg, brain.input_shapes, seed)
    torch.manual_seed(seed)
    return [play_episode(brain, env, seed if i == 0 else None, greedy)
            for i in tqdm(range(episodes), desc=f"evaluating {task}")]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m brain.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="run directory written by python -m brain.run")
    parser.add_argument("--task", default=None, help="task id, e.g. 1-3 (default: the task the run trained on)")
    parser.add_argument("--episodes", type=int, default=100, help="episodes to play (default 100)")
    parser.add_argument("--greedy", action="store_true", help="take the most probable action instead of sampling")
    parser.add_argument("--seed", type=int, default=12345, help="seed of the first reset (default 12345)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be at least 1")
    try:
        if not (args.run_dir / "config.yaml").is_file():
            raise RunDirError(f"{args.run_dir}: no config.yaml here; give a directory that python -m brain.run wrote")
        task = args.task or TrainConfig.from_yaml(args.run_dir / "config.yaml").task
        results = evaluate(args.run_dir, task, args.episodes, args.greedy, args.seed)
    except (RunDirError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    success = np.mean([r.success for r in results])
    print(f"task {task}: success {success:.1%} over {len(results)} episodes "
          f"({'greedy' if args.greedy else 'sampled'} policy); mean steps {np.mean([r.steps for r in results]):.1f}; "
          f"mean return {np.mean([r.ret for r in results]):+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
