"""Prefrontal cortex: near-uniform first policy, learned use of memory values, working memory over a delay."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from regions.prefrontal import Prefrontal

SHAPES = {"state": (12,), "memory_values": (3,), "valence": (1,), "visual": (5,)}


def inputs(batch: int) -> dict[str, torch.Tensor]:
    return {name: torch.randn(batch, *shape) for name, shape in SHAPES.items()}


def test_first_policy_is_near_uniform():
    region = Prefrontal(SHAPES)
    out, _ = region(inputs(8), region.initial_state(8))
    assert out["logits"].abs().max() < 0.05
    assert out["working_memory"].shape == (8, 128)


def test_memory_values_enter_the_logits_through_a_learned_map():
    region = Prefrontal(SHAPES)
    x, state = inputs(4), region.initial_state(4)
    base, _ = region(x, state)
    shifted, _ = region({**x, "memory_values": x["memory_values"] + 5.0}, state)
    torch.testing.assert_close(base["logits"], shifted["logits"])  # starts ignoring memory
    F.cross_entropy(base["logits"], torch.tensor([0, 1, 2, 0])).backward()
    assert region.memory_gain.weight.grad.abs().sum() > 0  # ... but learns how much to trust it
    with torch.no_grad():
        region.memory_gain.weight.copy_(torch.eye(3))
    trusted, _ = region(x, state)
    torch.testing.assert_close(trusted["logits"] - base["logits"], x["memory_values"])


def test_optional_inputs_can_be_absent():
    region = Prefrontal({"state": (12,)}, working_memory=16, actions=4)
    assert region.memory_gain is None
    out, state = region({"state": torch.randn(2, 12)}, region.initial_state(2))
    assert out["logits"].shape == (2, 4) and state["h"].shape == state["c"].shape == (2, 16)


def test_memory_values_of_the_wrong_size_name_the_fix():
    with pytest.raises(ValueError, match=r"'memory_values'.*params.actions is 4"):
        Prefrontal(SHAPES, actions=4)


def test_working_memory_holds_a_cue_across_a_delay(unroll, fit):
    """A cue shown only at the first step must be reported at the last (tasks 1-7 and 1-8d)."""
    steps, batch = 6, 48
    cues = torch.arange(batch) % 3
    state_input = torch.zeros(steps, batch, 4)
    state_input[0, :, :3] = F.one_hot(cues, 3).float()
    state_input[:, :, 3] = 1.0  # a constant context, the same for every cue
    region = Prefrontal({"state": (4,)}, working_memory=32)

    def recall_loss() -> torch.Tensor:
        out, _ = unroll(region, {"state": state_input})
        return F.cross_entropy(out["logits"][-1], cues)

    fit(region.parameters(), recall_loss, steps=60, lr=2e-2)
    with torch.no_grad():
        out, _ = unroll(region, {"state": state_input})
        assert (out["logits"][-1].argmax(-1) == cues).float().mean() == 1.0
        _, carried = unroll(region, {"state": state_input[:3]})
        wiped, _ = unroll(region, {"state": state_input[3:]})  # state reset halfway: the cue is lost
        resumed, _ = unroll(region, {"state": state_input[3:]}, carried)
    assert (resumed["logits"][-1].argmax(-1) == cues).float().mean() == 1.0
    assert (wiped["logits"][-1].argmax(-1) == cues).float().mean() < 0.5


CUES = ("red", "green", "blue")


def cue_trials(generator: torch.Generator, steps: int = 10, batch: int = 64):
    """A cue on the first step only (one-hot in ``state``), then ``steps - 1`` steps of noise; its teacher signal."""
    cue = torch.randint(3, (batch,), generator=generator)
    state = 0.3 * torch.randn(steps, batch, 8, generator=generator)
    state[0] = 0.0
    state[0, torch.arange(batch), cue] = 1.0
    return state, F.one_hot(cue, 3).float().expand(steps, batch, 3), cue


def reported(region: Prefrontal, state: torch.Tensor) -> torch.Tensor:
    """``cue_report`` ``[T, B, 3]`` of the region run step by step over ``state``."""
    memory, reports = region.initial_state(state.shape[1]), []
    for x in state:
        out, memory = region({"state": x}, memory)
        reports.append(out["cue_report"])
    return torch.stack(reports)


def test_the_cue_report_recovers_a_cue_held_through_a_delay():
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    region = Prefrontal({"state": (8,)}, working_memory=32, actions=3, cue_targets=CUES)
    assert set(region.teachers()) == {"cue"} and region.output_shapes["cue_report"] == (3,)
    test_state, _, test_cue = cue_trials(torch.Generator().manual_seed(99), batch=300)

    def accuracy() -> float:
        with torch.no_grad():
            return (reported(region, test_state)[-1].argmax(-1) == test_cue).float().mean().item()

    untrained = accuracy()
    optimizer = torch.optim.Adam(region.parameters(), lr=1e-2)
    for _ in range(150):
        state, target, _ = cue_trials(generator)
        loss = region.auxiliary_losses({"cue_report": reported(region, state)}, {"cue": target})["cue"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert untrained < 0.5 and accuracy() > 0.9  # chance is 1/3: nine noisy steps after the cue left


def test_the_cue_loss_counts_only_the_steps_of_cued_trials():
    region = Prefrontal({"state": (8,)}, working_memory=16, actions=3, cue_targets=CUES)
    report = torch.full((4, 2, 3), 1 / 3)
    target = torch.zeros(4, 2, 3)
    target[:, 0, 1] = 1.0  # environment 0 in a cued trial, environment 1 in a task without a cue
    loss = region.auxiliary_losses({"cue_report": report}, {"cue": target, "mask": torch.ones(4, 2)})["cue"]
    torch.testing.assert_close(loss, torch.tensor(3.0).log())
    assert region.auxiliary_losses({"cue_report": report}, {"cue": torch.zeros(4, 2, 3)})["cue"] == 0
    assert Prefrontal({"state": (8,)}).teachers() == {} and "cue_report" not in Prefrontal({"state": (8,)}).output_shapes
