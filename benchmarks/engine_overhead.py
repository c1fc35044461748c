"""Cost of the graph engine: the wba brain run by ``brain.engine`` vs the same layers written by hand.

    python benchmarks/engine_overhead.py                # about a minute on an idle core
    python benchmarks/engine_overhead.py --repeats 60   # steadier figures on a busy machine

Both sides use the *same* parameter tensors: :class:`MonolithicWBA` holds the Brain's own region
modules and calls their layers (convolutions, LSTM/GRU cells, linears, the hippocampal DND lookup)
in a fixed, hand-written order, with hand-written concatenations, a tuple for the recurrent state
and the visual front folded over time in a rollout, as the engine does. So the only difference is
the graph machinery: the engine's dispatch (the dict of values, per-port concatenation, the
schedule loop, the delayed-edge buffers, the state dict) and the regions' side of the port
contract (one module call per region, joining optional ports). Before timing, the script checks
that both give the same outputs, states, losses and gradients.

Cases, on one thread (``torch.set_num_threads(1)``, like an A3C worker), in training mode
(dropout on, as the worker acts and learns):

* ``step``: one ``brain.step`` under ``torch.no_grad`` with a reset flag (the acting worker);
* ``rollout``: ``brain.rollout`` over ``[20, B, ...]``, A3C-style loss from logits, value and the
  auxiliary losses, then ``backward`` (the training pass).

The hippocampal memory is a DND of ``--memory`` entries per action (exact faiss/torch search);
its lookup is real work that both sides do. Timing: ``--repeats`` blocks, each of interleaved
graph/monolith call pairs (40 steps or 6 rollouts), timed per call with this thread's CPU clock by
default (``--clock wall`` for perf_counter), so that load from other processes lands on both sides
alike and time spent descheduled is not counted. "graph ms" and "mono ms" are medians over all
calls; "overhead %" is the median over blocks of (graph block median / mono block median - 1),
with its interquartile range over blocks.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from brain import Brain
from regions.dnd import DND
from regions.entorhinal import encode_self_motion
from regions.functional import masked_mean, soft_cross_entropy

STEPS = 20  # rollout length (the A3C t_max)
TARGET = 10.0  # overhead (%) the engine should stay under
OBS_SHAPES = {"rgb": (3, 84, 84), "depth": (1, 32, 32), "odometry": (2,), "reward": (1,)}

# --- the hand-written brain ----------------------------------------------------------------------


class Outputs(NamedTuple):
    """Every output port of the wba brain, named ``region_port`` (the engine's ``"region.port"``)."""

    visual_cortex_features: torch.Tensor
    entorhinal_grid: torch.Tensor
    entorhinal_head_direction: torch.Tensor
    entorhinal_place: torch.Tensor
    amygdala_valence: torch.Tensor
    ca3_state: torch.Tensor
    ca1_place_cells: torch.Tensor
    ca1_code: torch.Tensor
    hippocampus_values: torch.Tensor
    hippocampus_key: torch.Tensor
    prefrontal_logits: torch.Tensor
    prefrontal_working_memory: torch.Tensor
    basal_ganglia_value: torch.Tensor
    basal_ganglia_td_error: torch.Tensor


class State(NamedTuple):
    """The recurrent state, as a hand-written agent would keep it."""

    ec_h: torch.Tensor
    ec_c: torch.Tensor
    ca3: torch.Tensor  # CA3's previous output (the engine's delay-1 buffer)
    pfc_h: torch.Tensor
    pfc_c: torch.Tensor
    bg_value: torch.Tensor
    bg_has_previous: torch.Tensor


class MonolithicWBA(nn.Module):
    """The wba brain as one module that calls the Brain's own layers directly (shared parameters).

    Written for this connectome only, as a competent engineer would: no port mappings, one
    concatenation per layer input, no-op reshapes left out, the stateless front (visual cortex,
    amygdala) run once over ``[T * B]`` in a rollout.
    """

    def __init__(self, brain: Brain):
        super().__init__()
        r = brain.regions
        self.vc, self.ec, self.amygdala = r["visual_cortex"], r["entorhinal"], r["amygdala"]
        self.ca3, self.ca1, self.hippocampus = r["ca3"], r["ca1"], r["hippocampus"]
        self.pfc, self.bg = r["prefrontal"], r["basal_ganglia"]
        self.memory = self.hippocampus.memory
        assert self.memory is not None, "attach the DND to the brain before building the monolith"

    def initial_state(self, batch: int) -> State:
        """All zeros, as every wba region starts."""
        ec, pfc = self.ec.hidden, self.pfc.units
        return State(torch.zeros(batch, ec), torch.zeros(batch, ec), torch.zeros(batch, self.ca3.units),
                     torch.zeros(batch, pfc), torch.zeros(batch, pfc), torch.zeros(batch, 1), torch.zeros(batch, 1))

    @staticmethod
    def reset(state: State, reset: torch.Tensor | None) -> State:
        """Rows flagged in ``reset`` go back to the (zero) initial state."""
        if reset is None or not bool(reset.any()):
            return state
        rows = reset.reshape(-1, 1)
        return State(*(torch.where(rows, torch.zeros_like(s), s) for s in state))

    def front(self, rgb: torch.Tensor, depth: torch.Tensor, reward: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Visual cortex and amygdala (stateless): features and valence."""
        vc, clip = self.vc, self.amygdala.clip
        dtype = vc.project[0].weight.dtype
        x = torch.cat([vc.rgb_stack(rgb.to(dtype) / 255.0).flatten(1),
                       vc.depth_stack(depth.to(dtype) / vc.depth_scale).flatten(1)], -1)
        features = vc.project(x)
        valence = clip * self.amygdala.net(torch.cat([features, reward.to(dtype).clamp(-clip, clip)], -1))
        return features, valence

    def core(self, features: torch.Tensor, valence: torch.Tensor, odometry: torch.Tensor, reward: torch.Tensor,
             state: State) -> tuple[tuple[torch.Tensor, ...], State]:
        """The recurrent rest of one step: entorhinal, CA3, CA1, hippocampus, prefrontal, basal ganglia."""
        ec, pfc, hip, bg = self.ec, self.pfc, self.hippocampus, self.bg
        x = torch.cat([encode_self_motion(odometry, ec.turn_scale, ec.move_scale), ec.visual(features)], -1)
        ec_h, ec_c = ec.cell(x, (state.ec_h, state.ec_c))
        grid = ec.bottleneck(ec_h)
        dropped = ec.dropout(grid)
        head = ec.head_readout(dropped).softmax(-1)
        place = ec.place_readout(dropped).softmax(-1)
        ca3 = self.ca3.cell(torch.cat([grid, features], -1), state.ca3)
        code = self.ca1.code(torch.cat([ca3, grid], -1))
        place_cells = self.ca1.place_readout(code).softmax(-1)
        key = hip.normalise(hip.project(code))
        memory_values = self.memory.lookup(key)
        pfc_h, pfc_c = pfc.cell(torch.cat([ca3, code, valence], -1), (state.pfc_h, state.pfc_c))
        logits = pfc.readout(pfc_h) + pfc.memory_gain(memory_values)
        value = bg.critic(torch.cat([ca3, code, memory_values, valence], -1))
        current = value.detach()
        td_error = state.bg_has_previous * (reward + bg.gamma * current - state.bg_value)
        outputs = (grid, head, place, ca3, place_cells, code, memory_values, key, logits, pfc_h, value, td_error)
        return outputs, State(ec_h, ec_c, ca3, pfc_h, pfc_c, current, torch.ones_like(current))

    def step(self, obs: dict[str, torch.Tensor], state: State,
             reset: torch.Tensor | None = None) -> tuple[Outputs, State]:
        """One step for a batch ``[B, ...]``."""
        state = self.reset(state, reset)
        features, valence = self.front(obs["rgb"], obs["depth"], obs["reward"])
        rest, state = self.core(features, valence, obs["odometry"], obs["reward"], state)
        return _assemble(features, valence, rest), state

    def rollout(self, obs: dict[str, torch.Tensor], state: State,
                resets: torch.Tensor | None = None) -> tuple[Outputs, State]:
        """``T`` steps ``[T, B, ...]``: the front once over ``T * B``, the core step by step."""
        steps, batch = obs["rgb"].shape[:2]
        features, valence = self.front(*(obs[key].flatten(0, 1) for key in ("rgb", "depth", "reward")))
        features, valence = features.unflatten(0, (steps, batch)), valence.unflatten(0, (steps, batch))
        odometry, reward = obs["odometry"], obs["reward"]
        per_step = []
        for t in range(steps):
            state = self.reset(state, None if resets is None else resets[t])
            rest, state = self.core(features[t], valence[t], odometry[t], reward[t], state)
            per_step.append(rest)
        return _assemble(features, valence, [torch.stack(port) for port in zip(*per_step)]), state

    def auxiliary_losses(self, out: Outputs, targets: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """The regions' teacher losses (entorhinal, CA1, amygdala), in the engine's order."""
        mask, clip = targets["mask"], self.amygdala.clip
        error = out.amygdala_valence[..., 0] - targets["amygdala/reward"].clamp(-clip, clip)
        return [soft_cross_entropy(out.entorhinal_head_direction, targets["entorhinal/head_direction"], mask),
                soft_cross_entropy(out.entorhinal_place, targets["entorhinal/place_cells"], mask),
                soft_cross_entropy(out.ca1_place_cells, targets["ca1/place_cells"], mask),
                masked_mean(error.square(), mask)]


def _assemble(features: torch.Tensor, valence: torch.Tensor, rest) -> Outputs:
    grid, head, place, ca3, place_cells, code, values, key, logits, working_memory, value, td_error = rest
    return Outputs(features, grid, head, place, valence, ca3, place_cells, code, values, key, logits,
                   working_memory, value, td_error)


def engine_key(field: str) -> str:
    """``Outputs`` field -> the engine's activity key (``ca1_place_cells`` -> ``ca1.place_cells``)."""
    for region in ("visual_cortex", "basal_ganglia", "entorhinal", "amygdala", "ca3", "ca1", "hippocampus",
                   "prefrontal"):
        if field.startswith(region + "_"):
            return f"{region}.{field[len(region) + 1:]}"
    raise KeyError(field)


def engine_state(state: State) -> dict[str, torch.Tensor]:
    """A monolith state in the engine's layout (for the equality check)."""
    return {"entorhinal/h": state.ec_h, "entorhinal/c": state.ec_c, "prefrontal/h": state.pfc_h,
            "prefrontal/c": state.pfc_c, "basal_ganglia/value": state.bg_value,
            "basal_ganglia/has_previous": state.bg_has_previous, "ca3.state@delay": state.ca3.unsqueeze(1)}


# --- inputs, loss --------------------------------------------------------------------------------


def observations(lead: tuple[int, ...], generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Random observations with leading axes ``lead`` (``(B,)`` or ``(T, B)``), in the env's dtypes."""
    return {
        "rgb": torch.randint(0, 256, (*lead, *OBS_SHAPES["rgb"]), generator=generator, dtype=torch.uint8),
        "depth": 10.0 * torch.rand(*lead, *OBS_SHAPES["depth"], generator=generator),
        "odometry": torch.tensor([[10.0, 0.0], [-10.0, 0.0], [0.0, 2.0]])[
            torch.randint(0, 3, lead, generator=generator)],
        "reward": torch.randn(*lead, 1, generator=generator).clamp(-1, 1) * 0.1,
    }


def teacher_targets(steps: int, batch: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Soft place-cell and head-direction ensembles, rewards and a full mask, ``[T, B, ...]``, keyed as
    ``Brain.teacher_targets`` keys them."""
    place = torch.randn(steps, batch, 256, generator=generator).softmax(-1)
    return {
        "entorhinal/place_cells": place,
        "ca1/place_cells": place,
        "entorhinal/head_direction": torch.randn(steps, batch, 12, generator=generator).softmax(-1),
        "amygdala/reward": torch.randn(steps, batch, generator=generator).clamp(-1, 1),
        "mask": torch.ones(steps, batch),
    }


def a3c_style_loss(logits: torch.Tensor, value: torch.Tensor, aux: list[torch.Tensor],
                   batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Policy-gradient, value and entropy terms plus the auxiliary losses: a scalar, as the trainer makes."""
    log_probs = F.log_softmax(logits, -1)
    policy = -(log_probs.gather(-1, batch["actions"][..., None])[..., 0] * batch["advantages"]).mean()
    value_loss = (batch["returns"] - value).square().mean()
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    return policy + 0.5 * value_loss - 0.01 * entropy + sum(aux)


# --- checks and timing ---------------------------------------------------------------------------


def check_same_function(brain: Brain, mono: MonolithicWBA, batch: int, generator: torch.Generator) -> None:
    """Assert that both compute the same outputs, states, loss and gradients (dropout seeded alike)."""
    g_state, m_state = brain.initial_state(batch), mono.initial_state(batch)
    with torch.no_grad():
        for t in range(6):  # steps, one of them resetting row 0 mid-episode
            obs = observations((batch,), generator)
            reset = torch.zeros(batch, dtype=torch.bool)
            reset[0] = t == 3
            torch.manual_seed(t)
            g_out, g_state = brain.step(obs, g_state, reset)
            torch.manual_seed(t)
            m_out, m_state = mono.step(obs, m_state, reset)
            for field, value in m_out._asdict().items():
                torch.testing.assert_close(g_out.activity[engine_key(field)], value, msg=f"step {t}: {field}")
            torch.testing.assert_close(g_out.logits, m_out.prefrontal_logits)
            torch.testing.assert_close(g_out.value, m_out.basal_ganglia_value[..., 0])
            torch.testing.assert_close(g_state, engine_state(m_state))

    obs_seq, targets, loss_batch = rollout_inputs(batch, generator)
    resets = torch.zeros(STEPS, batch, dtype=torch.bool)
    resets[STEPS // 2, 0] = True
    grads = []
    for side in ("graph", "monolith"):
        brain.zero_grad(set_to_none=True)
        torch.manual_seed(0)
        if side == "graph":
            seq = brain.rollout(obs_seq, g_state, resets)
            loss = a3c_style_loss(seq.logits, seq.value, list(brain.auxiliary_losses(seq.activity, targets).values()),
                                  loss_batch)
            g_seq, g_loss = seq, loss
        else:
            out, final = mono.rollout(obs_seq, m_state, resets)
            loss = a3c_style_loss(out.prefrontal_logits, out.basal_ganglia_value[..., 0],
                                  mono.auxiliary_losses(out, targets), loss_batch)
            for field, value in out._asdict().items():
                torch.testing.assert_close(g_seq.activity[engine_key(field)], value, msg=f"rollout: {field}")
            torch.testing.assert_close(g_seq.state, engine_state(final))
            torch.testing.assert_close(g_loss, loss)
        loss.backward()
        grads.append({name: p.grad.clone() for name, p in brain.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0], "different parameters got gradients"
    torch.testing.assert_close(grads[0], grads[1])
    brain.zero_grad(set_to_none=True)


def rollout_inputs(batch: int, generator: torch.Generator):
    """Observations ``[T, B, ...]``, teacher targets and the A3C batch (actions, advantages, returns)."""
    loss_batch = {"actions": torch.randint(0, 3, (STEPS, batch), generator=generator),
                  "advantages": torch.randn(STEPS, batch, generator=generator),
                  "returns": torch.randn(STEPS, batch, generator=generator)}
    return observations((STEPS, batch), generator), teacher_targets(STEPS, batch, generator), loss_batch


def paired_times(graph: Callable[[], None], mono: Callable[[], None], calls: int, repeats: int, warmup: int,
                 clock: Callable[[], float]) -> tuple[list[list[float]], list[list[float]]]:
    """Ms of every call, per block: ``repeats`` blocks of ``calls`` interleaved graph/monolith call pairs.

    Calls alternate (which side goes first alternates too), so that load from other processes lands
    on both sides of a block alike.
    """
    for _ in range(warmup):
        graph()
        mono()
    blocks: dict[str, list[list[float]]] = {"graph": [], "mono": []}
    for _ in range(repeats):
        times: dict[str, list[float]] = {"graph": [], "mono": []}
        gc.collect()
        for call in range(calls):
            pair = (("graph", graph), ("mono", mono))
            for name, fn in pair if call % 2 == 0 else pair[::-1]:
                start = clock()
                fn()
                times[name].append((clock() - start) * 1e3)
        for name, block in times.items():
            blocks[name].append(block)
    return blocks["graph"], blocks["mono"]


def summary(graph: list[list[float]], mono: list[list[float]]) -> tuple[float, float, float, float, float]:
    """Median ms of each side over all calls; overhead % (median over blocks of the ratio of the
    block medians) and its interquartile range over blocks."""
    median = statistics.median
    ratios = [100.0 * (median(g) / median(m) - 1.0) for g, m in zip(graph, mono)]
    q1, _, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else (ratios[0],) * 3
    return median(sum(graph, [])), median(sum(mono, [])), median(ratios), q1, q3


def make_memory(entries: int, generator: torch.Generator) -> DND:
    """A DND holding ``entries`` random layer-normalised keys per action (``auto``: exact search)."""
    memory = DND(n_actions=3, key_size=64, capacity=max(entries, 1), k=50)
    if entries:
        keys = F.layer_norm(torch.randn(3 * entries, 64, generator=generator), (64,))
        memory.write(keys, torch.arange(3).repeat_interleave(entries), torch.randn(3 * entries, generator=generator))
    return memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed blocks per case, each of interleaved graph/monolith calls")
    parser.add_argument("--batch", type=int, default=1, help="batch size of both cases")
    parser.add_argument("--memory", type=int, default=1000, help="DND entries per action (0: empty memory)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: this thread's CPU time (all the work runs on it with one thread; discounts "
                             "time spent descheduled on a shared machine); wall: perf_counter")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the random inputs")
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)

    brain = Brain.from_connectome("wba").train()  # train mode, as the A3C worker acts and learns
    brain.regions["hippocampus"].attach_memory(make_memory(args.memory, generator))
    mono = MonolithicWBA(brain).train()
    check_same_function(brain, mono, args.batch, generator)
    print(f"same outputs, states, loss and gradients: ok (batch {args.batch}, DND {args.memory} entries/action, "
          f"torch {torch.__version__}, 1 thread, {args.clock} clock)")

    # (a) acting: one step under no_grad, state carried from step to step
    step_obs = [observations((args.batch,), generator) for _ in range(8)]
    no_reset = torch.zeros(args.batch, dtype=torch.bool)
    carried = {"graph": brain.initial_state(args.batch), "mono": mono.initial_state(args.batch), "t": 0}

    def graph_step() -> None:
        carried["t"] += 1
        _, carried["graph"] = brain.step(step_obs[carried["t"] % 8], carried["graph"], no_reset)

    def mono_step() -> None:
        carried["t"] += 1
        _, carried["mono"] = mono.step(step_obs[carried["t"] % 8], carried["mono"], no_reset)

    with torch.no_grad():
        step_times = paired_times(graph_step, mono_step, calls=40, repeats=args.repeats, warmup=50, clock=clock)

    # (b) learning: rollout over [20, B] from a mid-episode state, loss, backward
    obs_seq, targets, loss_batch = rollout_inputs(args.batch, generator)
    resets = torch.zeros(STEPS, args.batch, dtype=torch.bool)
    g_start = {key: value.detach() for key, value in carried["graph"].items()}
    m_start = State(*(value.detach() for value in carried["mono"]))

    def graph_rollout() -> None:
        brain.zero_grad(set_to_none=True)
        seq = brain.rollout(obs_seq, g_start, resets)
        aux = list(brain.auxiliary_losses(seq.activity, targets).values())
        a3c_style_loss(seq.logits, seq.value, aux, loss_batch).backward()

    def mono_rollout() -> None:
        mono.zero_grad(set_to_none=True)
        out, _ = mono.rollout(obs_seq, m_start, resets)
        a3c_style_loss(out.prefrontal_logits, out.basal_ganglia_value[..., 0], mono.auxiliary_losses(out, targets),
                       loss_batch).backward()

    rollout_times = paired_times(graph_rollout, mono_rollout, calls=6, repeats=args.repeats, warmup=5, clock=clock)

    print(f"\n{'case':<34} {'graph ms':>9} {'mono ms':>9} {'overhead %':>11} {'IQR %':>13} {'target':>8}")
    for case, times in ((f"step (no_grad, batch {args.batch})", step_times),
                        (f"rollout {STEPS} + backward (batch {args.batch})", rollout_times)):
        graph_ms, mono_ms, overhead, q1, q3 = summary(*times)
        verdict = "ok" if overhead <= TARGET else "OVER"
        print(f"{case:<34} {graph_ms:9.3f} {mono_ms:9.3f} {overhead:11.1f} {f'{q1:.1f}..{q3:.1f}':>13} "
              f"{f'<= {TARGET:.0f}':>6} {verdict}")


if __name__ == "__main__":
    main()
