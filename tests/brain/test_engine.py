"""The graph engine: step and rollout agree, rollouts resume, gradients reach every region, lesions, CLI.

Two brains are used: the tiny test connectome of ``conftest.py`` (a time-folded front ``sense``, a
delayed self-loop ``loop``, a stateful ``memory``, a two-source port ``actor.state``) and the wba
architecture with fewer units (``data/tiny.yaml``, which extends the bundled ``wba.yaml``). The
full bundled ``wba`` and its ablation variants are only built where the point is the real files.

The wba brain runs in ``eval()`` wherever step and rollout are compared on every tensor: the
entorhinal dropout draws new random numbers in each call, and so changes its ``head_direction``
and ``place`` read-outs between acting and replaying. Its exported ``grid`` code is taken before
the dropout, so in train mode everything else, the policy and the value included, still agrees
(tested separately).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from brain import Brain, ConnectomeError
from brain.connectome import bundled_connectomes
from brain.engine import SequenceOutput
from brain.run import main
from brain.training.a3c import a3c_loss, advantages_and_returns, attach_memory, memory_region_name
from brain.training.config import TrainConfig
from regions.base import TeacherInput
from regions.dnd import DND

TINY_WBA = Path(__file__).parent / "data" / "tiny.yaml"
MOVES = torch.tensor([[10.0, 0.0], [-10.0, 0.0], [0.0, 2.0]])  # odometry of the three actions


# --- helpers -------------------------------------------------------------------------------------
def build(source, seed: int = 0, lesions=None, memory: bool = True) -> Brain:
    """A brain with seeded weights; a memory region gets a small, seeded, non-empty DND."""
    torch.manual_seed(seed)
    brain = Brain.from_connectome(source, lesions=lesions)
    if memory and memory_region_name(brain) is not None:
        attach_memory(brain, small_memory(brain, seed))
    return brain


def small_memory(brain: Brain, seed: int, entries: int = 40) -> DND:
    """A DND sized like the brain's memory region but with room for few entries, filled with random ones."""
    params = brain.regions[memory_region_name(brain)].memory_params
    memory = DND(n_actions=params["n_actions"], key_size=params["key_size"], capacity=4 * entries,
                 k=min(params["k"], 10), backend="torch")
    gen = torch.Generator().manual_seed(seed)
    memory.write(torch.randn(entries, params["key_size"], generator=gen),
                 torch.randint(0, params["n_actions"], (entries,), generator=gen),
                 torch.randn(entries, generator=gen))
    return memory


def wba_obs(brain: Brain, steps: int, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random ``[T, B, ...]`` observations of the env ports of a wba-like brain (docs/interfaces.md)."""
    gen = torch.Generator().manual_seed(seed)
    shapes = brain.input_shapes
    return {
        "rgb": torch.randint(0, 256, (steps, batch, *shapes["rgb"]), generator=gen, dtype=torch.uint8),
        "depth": 10.0 * torch.rand(steps, batch, *shapes["depth"], generator=gen),
        "odometry": MOVES[torch.randint(0, 3, (steps, batch), generator=gen)],
        "reward": torch.where(torch.rand(steps, batch, 1, generator=gen) < 0.3, 2.0, -0.01),
    }


def at(obs: dict[str, torch.Tensor], t) -> dict[str, torch.Tensor]:
    return {key: value[t] for key, value in obs.items()}


def run_steps(brain: Brain, obs: dict[str, torch.Tensor], state, resets=None) -> SequenceOutput:
    """``T`` calls of ``Brain.step``, stacked like a rollout."""
    outs = []
    for t in range(next(iter(obs.values())).shape[0]):
        out, state = brain.step(at(obs, t), state, None if resets is None else resets[t])
        outs.append(out)
    return SequenceOutput(torch.stack([o.logits for o in outs]), torch.stack([o.value for o in outs]),
                          {key: torch.stack([o.activity[key] for o in outs]) for key in outs[0].activity}, state)


def assert_same_run(a: SequenceOutput, b: SequenceOutput, skip: tuple[str, ...] = ()) -> None:
    """Same logits, values, activity (every port) and final state."""
    torch.testing.assert_close(a.logits, b.logits)
    torch.testing.assert_close(a.value, b.value)
    assert a.activity.keys() == b.activity.keys()
    for key in a.activity:
        if key not in skip:
            torch.testing.assert_close(a.activity[key], b.activity[key], msg=lambda m: f"{key}: {m}")
    assert a.state.keys() == b.state.keys()
    for key in a.state:
        torch.testing.assert_close(a.state[key], b.state[key], msg=lambda m: f"state {key}: {m}")


def warm_state(brain: Brain, obs: dict[str, torch.Tensor], batch: int):
    """A mid-episode state: a few steps from the initial one (so saved state is not all zeros)."""
    state = brain.initial_state(batch)
    for t in range(next(iter(obs.values())).shape[0]):
        _, state = brain.step(at(obs, t), state)
    assert any(bool(value.abs().sum() > 0) for value in state.values())
    return {key: value.clone() for key, value in state.items()}


def assert_finite(out) -> None:
    assert torch.isfinite(out.logits).all() and torch.isfinite(out.value).all()
    for key, value in out.activity.items():
        assert torch.isfinite(value.float()).all(), key


def tiny_wba_targets(brain: Brain, steps: int, batch: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """The brain's teacher signals of random poses in the 1-D maze."""
    rng = np.random.default_rng(seed)
    poses = np.concatenate([rng.uniform(-5, 5, (steps, batch, 2)), rng.uniform(-np.pi, np.pi, (steps, batch, 1))], -1)
    cued = ("red", "green", "blue")
    infos = [[{"pose": poses[t, b].astype(np.float32), "maze": "onedim", "cued_target": cued[(t + b) % 3]}
              for b in range(batch)] for t in range(steps)]
    return brain.teacher_targets(TeacherInput(infos, rng.normal(size=(steps, batch)).astype(np.float32)))


# --- step == rollout -----------------------------------------------------------------------------
def test_tiny_brain_step_and_rollout_agree_from_a_saved_state_with_resets(tiny, tiny_obs):
    brain = build(tiny)
    assert brain.time_folded == ("sense", "actor"), "the test needs folded regions before and after the recurrence"
    assert "loop.y@delay" in brain.initial_state(1) and "memory/h" in brain.initial_state(1)
    T, B = 6, 3
    state = warm_state(brain, tiny_obs(3, B, seed=1), B)
    obs = tiny_obs(T, B, seed=2)
    resets = torch.zeros(T, B, dtype=torch.bool)
    resets[2, 1] = resets[4, 0] = resets[4, 2] = True
    with torch.no_grad():
        stepped = run_steps(brain, obs, dict(state), resets)
        rolled = brain.rollout(obs, dict(state), resets)
        without = brain.rollout(obs, dict(state))
    assert_same_run(stepped, rolled)
    # the resets did something, and only from their step on, in their row
    torch.testing.assert_close(rolled.logits[:2], without.logits[:2])
    assert not torch.allclose(rolled.logits[2:, 1], without.logits[2:, 1])
    torch.testing.assert_close(rolled.logits[:4, 0], without.logits[:4, 0])


def test_a_stateless_region_fed_through_a_delay_by_the_folded_front_runs_per_step(broken, tiny_obs):
    path, _ = broken("  - env.reward -> actor.bonus\n",
                     "  - env.reward -> actor.bonus\n  - {from: sense.y, to: loop.extra, delay: 1}\n")
    brain = build(path)
    assert brain.time_folded == ("sense", "actor")  # loop reads sense one step late: loop runs per step
    obs, state = tiny_obs(5, 2, seed=5), brain.initial_state(2)
    with torch.no_grad():
        assert_same_run(run_steps(brain, obs, dict(state)), brain.rollout(obs, dict(state)))


def test_a_reset_restarts_its_row_from_the_initial_state(tiny, tiny_obs):
    brain = build(tiny)
    T, B, t0 = 5, 3, 2
    obs = tiny_obs(T, B, seed=3)
    resets = torch.zeros(T, B, dtype=torch.bool)
    resets[t0, 1] = True
    with torch.no_grad():
        rolled = brain.rollout(obs, warm_state(brain, tiny_obs(4, B, seed=4), B), resets)
        fresh = brain.rollout({key: value[t0:, 1:2] for key, value in obs.items()}, brain.initial_state(1))
    torch.testing.assert_close(rolled.logits[t0:, 1:2], fresh.logits)
    torch.testing.assert_close(rolled.value[t0:, 1:2], fresh.value)
    for key in fresh.state:
        torch.testing.assert_close(rolled.state[key][1:2], fresh.state[key])


def test_wba_step_and_rollout_agree_in_eval_mode_with_resets():
    brain = build(TINY_WBA).eval()
    assert brain.time_folded == ("visual_cortex", "amygdala", "ca1", "hippocampus")  # ca1 folded after ca3
    T, B = 4, 2
    state = warm_state(brain, wba_obs(brain, 2, B, seed=1), B)
    obs = wba_obs(brain, T, B, seed=2)
    resets = torch.zeros(T, B, dtype=torch.bool)
    resets[2, 0] = True
    with torch.no_grad():
        stepped = run_steps(brain, obs, dict(state), resets)
        rolled = brain.rollout(obs, dict(state), resets)
    assert_same_run(stepped, rolled)
    assert rolled.activity["hippocampus.values"].abs().sum() > 0, "the memory read-out is part of the comparison"
    assert (rolled.activity["basal_ganglia.td_error"][2, 0] == 0).all(), "a reset starts a new episode"


def count_calls(brain: Brain, method: str, monkeypatch) -> dict[str, list[int]]:
    """Rows of every call of ``method`` (``drive`` or ``read_out``), by region."""
    calls: dict[str, list[int]] = {}
    for name, region in brain.regions.items():
        if region.has_drive:
            def counted(tensors, name=name, original=getattr(region, method)):
                calls.setdefault(name, []).append(next(iter(tensors.values())).shape[0])
                return original(tensors)
            monkeypatch.setattr(region, method, counted)
    return calls


def test_a_rollout_runs_drives_and_read_outs_once_over_all_steps(monkeypatch):
    """The input terms of entorhinal, CA3, prefrontal and basal ganglia need no state, nor do the
    entorhinal read-outs of its grid code: one batched call each per rollout."""
    brain = build(TINY_WBA).eval()
    T, B = 5, 2
    drives, read_outs = count_calls(brain, "drive", monkeypatch), count_calls(brain, "read_out", monkeypatch)
    brain.rollout(wba_obs(brain, T, B), brain.initial_state(B))
    assert drives == {name: [T * B] for name in ("entorhinal", "ca3", "prefrontal", "basal_ganglia")}
    assert read_outs == {"entorhinal": [T * B]}


def test_a_drive_port_read_through_a_delay_keeps_that_drive_per_step(monkeypatch, write):
    """A drive that reads last step's CA3 state cannot be computed before the rollout's steps."""
    text = TINY_WBA.read_text() + "connections+:\n  - {from: ca3.state, to: prefrontal.visual, delay: 1}\n"
    brain = build(write(text, "delayed_drive.yaml")).eval()
    T, B = 4, 2
    obs, state = wba_obs(brain, T, B, seed=3), brain.initial_state(B)
    with torch.no_grad():
        stepped = run_steps(brain, obs, dict(state))
        calls = count_calls(brain, "drive", monkeypatch)
        rolled = brain.rollout(obs, dict(state))
    assert calls["prefrontal"] == [B] * T and calls["ca3"] == [T * B]
    assert_same_run(stepped, rolled)


def test_wba_train_mode_dropout_changes_only_the_entorhinal_read_outs():
    """The trainer acts with step and replays with rollout, both in train mode: policy and value must agree."""
    brain = build(TINY_WBA).train()
    T, B = 3, 2
    obs = wba_obs(brain, T, B, seed=5)
    state = brain.initial_state(B)
    dropped = ("entorhinal.head_direction", "entorhinal.place")
    torch.manual_seed(1)
    with torch.no_grad():
        stepped = run_steps(brain, obs, dict(state))
        torch.manual_seed(2)
        rolled = brain.rollout(obs, dict(state))
    assert_same_run(stepped, rolled, skip=dropped)
    for key in dropped:
        assert not torch.allclose(stepped.activity[key], rolled.activity[key]), f"{key}: dropout is on in train mode"


@pytest.mark.parametrize("kind", ["tiny", "wba"])
def test_every_region_output_is_in_the_activity_with_its_shape(kind, tiny, tiny_obs):
    brain = build(tiny if kind == "tiny" else TINY_WBA).eval()
    T, B = 3, 2
    obs = tiny_obs(T, B) if kind == "tiny" else wba_obs(brain, T, B)
    shapes = brain.output_shapes()
    assert set(shapes) == {f"{name}.{port}" for name, region in brain.regions.items() for port in region.output_shapes}
    with torch.no_grad():
        out, _ = brain.step(at(obs, 0), brain.initial_state(B))
        seq = brain.rollout(obs, brain.initial_state(B))
    assert set(out.activity) == set(shapes) == set(seq.activity)
    for key, shape in shapes.items():
        assert tuple(out.activity[key].shape) == (B, *shape), key
        assert tuple(seq.activity[key].shape) == (T, B, *shape), key
    assert out.logits is out.activity[str(brain.connectome.policy)]
    assert tuple(out.value.shape) == (B,) and tuple(seq.value.shape) == (T, B)
    torch.testing.assert_close(seq.value, seq.activity[str(brain.connectome.value)][..., 0])


# --- resuming ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tiny", "wba"])
def test_a_rollout_resumed_from_its_returned_state_equals_one_long_rollout(kind, tiny, tiny_obs):
    brain = build(tiny if kind == "tiny" else TINY_WBA).eval()
    T1, T2, B = 3, 4, 2
    obs = tiny_obs(T1 + T2, B, seed=6) if kind == "tiny" else wba_obs(brain, T1 + T2, B, seed=6)
    resets = torch.zeros(T1 + T2, B, dtype=torch.bool)
    resets[T1 + 1, 1] = True
    state = brain.initial_state(B)
    with torch.no_grad():
        whole = brain.rollout(obs, state, resets)
        first = brain.rollout({key: value[:T1] for key, value in obs.items()}, state, resets[:T1])
        second = brain.rollout({key: value[T1:] for key, value in obs.items()}, first.state, resets[T1:])
    joined = SequenceOutput(torch.cat([first.logits, second.logits]), torch.cat([first.value, second.value]),
                            {key: torch.cat([first.activity[key], second.activity[key]]) for key in first.activity},
                            second.state)
    assert_same_run(joined, whole)


# --- gradients -----------------------------------------------------------------------------------
def test_the_a3c_loss_sends_gradient_into_every_trainable_region_of_the_wba_architecture():
    brain = build(TINY_WBA, seed=3).train()
    T, B = 5, 2
    obs = wba_obs(brain, T + 1, B, seed=7)  # T + 1 steps: the last supplies the bootstrap value, as in a3c
    seq = brain.rollout(obs, brain.initial_state(B))
    gen = torch.Generator().manual_seed(0)
    actions = torch.randint(0, 3, (T, B), generator=gen)
    rewards = torch.randn(T, B, generator=gen)
    dones = torch.zeros(T, B)
    advantages, returns = advantages_and_returns(rewards, seq.value[:T], dones, seq.value[T].detach(), 0.99, 1.0)
    activity = {key: value[:T] for key, value in seq.activity.items()}
    aux = brain.auxiliary_losses(activity, tiny_wba_targets(brain, T, B))
    assert set(aux) == {"entorhinal/head_direction", "entorhinal/place_cells", "ca1/place_cells", "amygdala/reward",
                        "prefrontal/cue"}
    loss, terms = a3c_loss(seq.logits[:T], seq.value[:T], actions, advantages, returns, aux, brain.aux_weights,
                           TrainConfig())
    assert math.isfinite(terms["loss/total"])
    brain.zero_grad(set_to_none=True)
    loss.backward()
    trainable = [name for name, region in brain.regions.items() if any(p.requires_grad for p in region.parameters())]
    assert set(trainable) == set(brain.regions), "every wba region has parameters"
    for name in trainable:
        grads = [p.grad for p in brain.regions[name].parameters() if p.requires_grad]
        assert any(g is not None and bool(g.abs().sum() > 0) for g in grads), f"no gradient reaches {name}"
    dead = [name for name, p in brain.named_parameters() if p.grad is None or not p.grad.any()]
    assert dead == [], "every parameter tensor is reached by the loss"
    key_projection = brain.regions["hippocampus"].project.weight.grad
    assert key_projection is not None and key_projection.abs().sum() > 0, "the DND read-out trains the key"


# --- lesions -------------------------------------------------------------------------------------
@pytest.mark.parametrize("file", bundled_connectomes())
def test_every_bundled_connectome_builds_and_runs_with_its_lesions_applied(file):
    brain = build(file).eval()
    connectome = brain.connectome
    if file != "wba.yaml":
        wba = build("wba.yaml")
        params = {name: spec.params for name, spec in connectome.regions.items()}
        changed = (set(brain.teachers) != set(wba.teachers) or brain.output_shapes() != wba.output_shapes()
                   or params != {name: spec.params for name, spec in wba.connectome.regions.items()})
        assert connectome.lesions or changed, f"{file} is a variant of wba: it lesions or changes something"
    for key, mode in connectome.lesions.items():
        if key in connectome.regions:
            assert (key in brain.regions) == (mode != "remove"), key
        else:
            assert key not in {str(conn) for _, conn in brain.links}, key
    with torch.no_grad():
        out, _ = brain.step(at(wba_obs(brain, 1, 1), 0), brain.initial_state(1))
        seq = brain.rollout(wba_obs(brain, 2, 1), brain.initial_state(1))
    assert_finite(out)
    assert_finite(seq)


def tiny_loss(brain: Brain, seq: SequenceOutput, targets) -> torch.Tensor:
    aux = brain.auxiliary_losses(seq.activity, targets)
    return seq.logits.square().sum() + seq.value.square().sum() + sum(aux.values())


@pytest.mark.parametrize("kind, region", [("tiny", "memory"), ("tiny", "loop"), ("wba", "amygdala"),
                                          ("wba", "entorhinal")])
def test_a_silenced_region_outputs_zeros_and_gets_no_gradient(kind, region, tiny, tiny_obs):
    T, B = 4, 2
    seqs = {}
    for lesions in (None, {region: "silence"}):
        brain = build(tiny if kind == "tiny" else TINY_WBA, lesions=lesions).eval()
        obs = tiny_obs(T, B) if kind == "tiny" else wba_obs(brain, T, B)
        targets = ({key: torch.randn(T, B, generator=torch.Generator().manual_seed(0)) for key in brain.teachers}
                   if kind == "tiny" else tiny_wba_targets(brain, T, B))
        seq = brain.rollout(obs, brain.initial_state(B))
        tiny_loss(brain, seq, targets).backward()
        grads = [p.grad for p in brain.regions[region].parameters()]
        silenced = lesions is not None
        assert all(g is None or not g.any() for g in grads) == silenced, (region, lesions)
        losses = brain.auxiliary_losses(seq.activity, targets)
        has_teacher = bool(brain.regions[region].teachers())
        assert any(key.startswith(f"{region}/") for key in losses) == (has_teacher and not silenced)
        with torch.no_grad():
            stepped = run_steps(brain, obs, brain.initial_state(B))
        assert_same_run(stepped, seq)
        seqs[silenced] = seq
    for key in seqs[True].activity:
        if key.startswith(f"{region}."):
            assert not seqs[True].activity[key].any(), key
            assert seqs[False].activity[key].any(), key
    assert not torch.allclose(seqs[True].logits, seqs[False].logits), "silencing reaches the actor"


@pytest.mark.parametrize("kind, region, fraction", [("tiny", "sense", 0.3), ("tiny", "memory", 0.5),
                                                    ("wba", "entorhinal", 0.3)])
def test_a_fraction_lesion_zeroes_the_same_round_p_units_of_every_port_every_step(kind, region, fraction, tiny,
                                                                                   tiny_obs):
    T, B = 5, 3
    intact = build(tiny if kind == "tiny" else TINY_WBA).eval()
    lesioned = build(tiny if kind == "tiny" else TINY_WBA, lesions={region: fraction}).eval()
    obs = tiny_obs(T, B, seed=8) if kind == "tiny" else wba_obs(intact, T, B, seed=8)
    with torch.no_grad():
        full = intact.rollout(obs, intact.initial_state(B))
        seq = lesioned.rollout(obs, lesioned.initial_state(B))
        stepped = run_steps(lesioned, obs, lesioned.initial_state(B))
    assert_same_run(stepped, seq)
    ports = lesioned.regions[region].output_shapes
    assert len(ports) >= 1
    for port, shape in ports.items():
        key = f"{region}.{port}"
        units = math.prod(shape)
        values = seq.activity[key].reshape(T * B, units)
        dead = (values == 0).all(0)
        assert int(dead.sum()) == round(fraction * units), key
        assert (values[:, ~dead] != 0).all(), f"{key}: the same units are silenced at every step and in every row"
        # the region itself runs unchanged (its inputs are upstream of the lesion): outputs times a fixed mask
        torch.testing.assert_close(seq.activity[key], full.activity[key] * (~dead).float().reshape(shape))


def test_a_removed_region_and_a_removed_connection_leave_the_compiled_graph(tiny, tiny_obs):
    brain = build(tiny, lesions={"memory": "remove", "loop.y -> loop.previous": "remove"})
    assert "memory" not in brain.regions and "memory" not in brain.phases[-1]
    assert not any(key.startswith("memory.") for key in brain.output_shapes())
    state = brain.initial_state(2)
    assert not any(key.startswith("memory/") for key in state) and "loop.y@delay" not in state
    assert brain.regions["actor"].input_shapes["state"] == (5,), "actor.state narrows to loop.y"
    assert all(conn.source.region != "memory" and conn.target.region != "memory" for _, conn in brain.links)
    with torch.no_grad():
        out, _ = brain.step(at(tiny_obs(1, 2), 0), state)
        seq = brain.rollout(tiny_obs(3, 2), state)
    assert_finite(out)
    assert_finite(seq)
    assert "memory.h" not in seq.activity


@pytest.mark.parametrize("region, field, role", [("prefrontal", "policy", "actor"),
                                                 ("basal_ganglia", "value", "critic")])
def test_removing_the_actor_or_the_critic_is_a_connectome_error_with_the_fix(region, field, role, write):
    with pytest.raises(ConnectomeError) as info:
        Brain.from_connectome(TINY_WBA, lesions={region: "remove"})
    err = info.value
    assert err.file == "--lesion" and err.field == f"lesions.{region}"
    assert f"no {role} left" in err.problem and f"`{field}: {region}." in err.problem
    assert f"{region}: silence" in err.fix and f"`{field}:`" in err.fix
    path = write(f"extends: wba.yaml\nname: broken\nlesions:\n  {region}: remove\n")
    with pytest.raises(ConnectomeError) as info:
        Brain.from_connectome(path)
    assert str(info.value).startswith(f"{path}:4: lesions.{region}: no {role} left")


def test_removing_every_pathway_from_env_to_the_actor_is_a_connectome_error(tiny, write):
    with pytest.raises(ConnectomeError) as info:
        Brain.from_connectome(TINY_WBA, lesions={"ca3": "remove", "ca1": "remove", "amygdala": "remove"})
    err = info.value
    assert err.field == "lesions.amygdala"
    assert "no pathway from the environment to the actor" in err.problem
    assert "ca3, ca1, amygdala" in err.problem and "`policy: prefrontal.logits`" in err.problem
    assert "remove fewer" in err.fix and "prefrontal" in err.fix
    # connection lesions count too: the tiny actor keeps env.reward until that connection goes
    build(tiny, lesions={"sense": "remove"})
    path = write(f"extends: {tiny}\nname: cut\nlesions:\n  sense: remove\n  'env.reward -> actor.bonus': remove\n")
    with pytest.raises(ConnectomeError) as info:
        Brain.from_connectome(path)
    assert str(info.value).startswith(f"{path}:5: lesions.env.reward -> actor.bonus: no pathway from the "
                                      "environment to the actor left")
    # removing only some of the actor's sources is a legitimate ablation (zero-filled ports)
    brain = build(TINY_WBA, lesions={"ca3": "remove", "ca1": "remove"})
    assert set(brain.regions) == {"visual_cortex", "entorhinal", "hippocampus", "prefrontal", "basal_ganglia",
                                  "amygdala"}


# --- command line --------------------------------------------------------------------------------
def table_rows(text: str, title: str) -> list[dict[str, str]]:
    """Rows of one ``--check`` table (ASCII borders), as header -> cell."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    header = [cell.strip() for cell in lines[start + 1].split("|")]
    rows = []
    for line in lines[start + 3:]:
        if not line.strip():
            break
        rows.append(dict(zip(header, (cell.strip() for cell in line.split("|")))))
    return rows


def test_check_prints_every_region_every_connection_with_its_delay_and_the_parameter_count(capsys):
    assert main(["--connectome", "wba.yaml", "--check"]) == 0
    out = capsys.readouterr().out
    brain = build("wba", memory=False)
    regions = {row["region"]: row for row in table_rows(out, "regions")}
    assert list(regions) == list(brain.connectome.regions)
    for name, row in regions.items():
        assert row["type"] == brain.connectome.regions[name].type
        assert int(row["parameters"].replace(",", "")) == sum(p.numel() for p in brain.regions[name].parameters())
    connections = [(row["from"], row["to"], int(row["delay"])) for row in table_rows(out, "connections")]
    assert connections == [(str(c.source), str(c.target), c.delay) for c in brain.connectome.connections]
    assert ("ca3.state", "ca3.previous", 1) in connections
    total = re.search(r"^total parameters: ([\d,]+)", out, re.MULTILINE)
    assert total and int(total.group(1).replace(",", "")) == sum(p.numel() for p in brain.parameters())


@pytest.mark.parametrize("case", ["unknown type", "yaml syntax", "bad params", "actor removed", "no such file"])
def test_check_of_a_broken_connectome_exits_2_with_a_one_line_message_and_no_traceback(case, write, capsys):
    lesions = []
    if case == "unknown type":
        path, where = write("extends: wba.yaml\nname: bad\nregions:\n  ca3: {type: ca4}\n"), ":4: regions.ca3.type:"
    elif case == "yaml syntax":
        path, where = write("extends: wba.yaml\nname: bad\nregions: {ca3: {type: [ca3}\n"), ":3:"
    elif case == "bad params":  # found while building the regions, after validation
        path, where = write("extends: wba.yaml\nname: bad\nregions:\n  ca3: {params: {units: 0}}\n"), \
            ":4: regions.ca3.params:"
    elif case == "actor removed":
        path, where, lesions = TINY_WBA, "--lesion: lesions.prefrontal:", ["--lesion", "prefrontal=remove"]
    else:
        path, where = Path("no_such_brain.yaml"), "--connectome:"
    code = main(["--connectome", str(path), *lesions, "--check"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    message = captured.err.rstrip("\n")
    assert "\n" not in message and "Traceback" not in message, message
    assert message.startswith("error: ") and where in message, message
    if case not in ("actor removed", "no such file"):
        assert str(path) in message
    assert "Fix: " in message


def test_a_delayed_loop_through_a_stateless_region_keeps_it_per_step(broken, tiny_obs):
    # actor feeds loop one step late: loop -> actor -> loop is a cycle, so actor cannot be folded
    path, _ = broken("  - env.reward -> actor.bonus\n",
                     "  - env.reward -> actor.bonus\n  - {from: actor.logits, to: loop.extra, delay: 1}\n")
    brain = build(path)
    assert brain.time_folded == ("sense",)
    T, B = 5, 2
    state = warm_state(brain, tiny_obs(3, B, seed=6), B)
    resets = torch.zeros(T, B, dtype=torch.bool)
    resets[3, 0] = True
    obs = tiny_obs(T, B, seed=7)
    with torch.no_grad():
        assert_same_run(run_steps(brain, obs, dict(state), resets), brain.rollout(obs, dict(state), resets))
