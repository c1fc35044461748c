"""The small choices behind the worker's speed, each timed against its alternative on one thread.

    python benchmarks/acting_parts.py [--repeats 7]

Each pair runs alternately ``--repeats`` times (median of several hundred calls each time), so a
drift in the shared machine's speed hits both sides alike; the median over repeats is printed.

* LSTM over a 21-step rollout, forward + backward: ``nn.LSTMCell`` step by step against the
  written-out step with the input term computed once for all steps and one weight gradient per
  loop (what ``Brain.rollout`` does for the prefrontal cortex's sizes).
* ``Brain.step`` of the full wba brain at batch 1 under ``no_grad`` against ``inference_mode``.
* Drawing an action: ``Categorical(logits).sample()`` against ``torch.multinomial(softmax)``.
* The visual cortex at batch 1 with the depth convolutions on oneDNN against without.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import nullcontext
from typing import Callable

import torch
from torch.distributions import Categorical

import regions.visual_cortex as visual_cortex
from brain.engine import Brain
from brain.training.acting import sample_actions
from regions.functional import input_gates, lstm_step
from regions.loop_weights import gradients_per_loop


def median_ms(fn: Callable[[], object], calls: int) -> float:
    for _ in range(calls // 10):
        fn()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def compare(name: str, a: tuple[str, Callable], b: tuple[str, Callable], repeats: int, calls: int) -> None:
    results: dict[str, list[float]] = {a[0]: [], b[0]: []}
    for _ in range(repeats):
        for label, fn in (a, b):
            results[label].append(median_ms(fn, calls))
    (la, ta), (lb, tb) = ((label, statistics.median(ms)) for label, ms in results.items())
    print(f"{name:42} {la} {ta:7.3f} ms   {lb} {tb:7.3f} ms   ratio {tb / ta:5.2f}")


def lstm_pair(steps: int = 21) -> tuple[tuple[str, Callable], tuple[str, Callable]]:
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(385, 128)
    xs, h0, c0 = torch.randn(steps, 1, 385), torch.zeros(1, 128), torch.zeros(1, 128)

    def torch_cell() -> None:
        h, c, outputs = h0, c0, []
        for x in xs:
            h, c = cell(x, (h, c))
            outputs.append(h)
        torch.stack(outputs).sum().backward()

    def written_out() -> None:
        gates = input_gates(cell, xs).unbind(0)
        h, c, outputs = h0, c0, []
        with gradients_per_loop():
            for g in gates:
                h, c = lstm_step(cell, g, h, c)
                outputs.append(h)
        torch.stack(outputs).sum().backward()

    return ("nn.LSTMCell", torch_cell), ("written-out", written_out)


def wba_inputs(brain: Brain) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    shapes = brain.input_shapes
    return {"rgb": torch.randint(0, 256, (1, *shapes["rgb"]), generator=generator, dtype=torch.uint8),
            "depth": 10 * torch.rand(1, *shapes["depth"], generator=generator),
            "odometry": torch.tensor([[0.0, 2.0]]), "reward": torch.tensor([[-0.01]])}


def step_pair(brain: Brain) -> tuple[tuple[str, Callable], tuple[str, Callable]]:
    memory = brain.regions["hippocampus"].make_memory()
    generator = torch.Generator().manual_seed(1)
    memory.write(torch.randn(3000, memory.key_size, generator=generator), torch.arange(3000) % 3,
                 torch.randn(3000, generator=generator))  # 1,000 entries per action
    brain.regions["hippocampus"].attach_memory(memory)
    obs, state = wba_inputs(brain), brain.initial_state(1)

    def under(mode) -> Callable:
        def run() -> None:
            with mode():
                brain.step(obs, state)
        return run

    return ("no_grad", under(torch.no_grad)), ("inference_mode", under(torch.inference_mode))


def depth_pair(brain: Brain) -> tuple[tuple[str, Callable], tuple[str, Callable]]:
    region, obs = brain.regions["visual_cortex"], wba_inputs(brain)
    inputs = {"rgb": obs["rgb"], "depth": obs["depth"]}
    native = visual_cortex.onednn

    def with_onednn() -> None:
        visual_cortex.onednn = lambda enabled: nullcontext()
        try:
            with torch.inference_mode():
                region(inputs, {})
        finally:
            visual_cortex.onednn = native

    def as_built() -> None:
        with torch.inference_mode():
            region(inputs, {})

    return ("depth on oneDNN", with_onednn), ("depth native", as_built)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="alternating rounds of each pair")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    brain = Brain.from_connectome("wba").train()
    logits = torch.randn(1, 3)
    compare("LSTM 21 steps forward + backward", *lstm_pair(), args.repeats, 100)
    compare("Brain.step, wba, batch 1", *step_pair(brain), args.repeats, 200)
    compare("draw an action", ("Categorical", lambda: int(Categorical(logits=logits).sample())),
            ("multinomial", lambda: sample_actions(logits)), args.repeats, 2000)
    compare("visual cortex, batch 1", *depth_pair(brain), args.repeats, 300)


if __name__ == "__main__":
    main()
