"""Every wba region has exactly the ports, optional inputs and default sizes of docs/interfaces.md section 4."""

from __future__ import annotations

import pytest
import torch

import regions
from regions import REGISTRY, build_region

A = 3
#: region -> (input shapes with every port connected, required inputs, default output shapes, params)
CONTRACT = {
    "visual_cortex": ({"rgb": (3, 84, 84), "depth": (1, 32, 32)}, {"rgb"}, {"features": (256,)}, {}),
    "entorhinal": ({"self_motion": (2,), "visual": (256,)}, {"self_motion"},
                   {"grid": (256,), "head_direction": (12,), "place": (256,)}, {}),
    "ca3": ({"ec": (256,), "visual": (256,), "previous": (256,)}, {"ec"}, {"state": (256,)}, {}),
    "ca1": ({"ca3": (256,), "ec": (256,)}, {"ca3"}, {"place_cells": (256,), "code": (128,)}, {}),
    "hippocampus": ({"key": (128,)}, {"key"}, {"values": (A,), "key": (64,)}, {"capacity": 100, "k": 4}),
    "prefrontal": ({"state": (256,), "memory_values": (A,), "valence": (1,), "visual": (256,)}, {"state"},
                   {"logits": (A,), "working_memory": (128,)}, {}),
    "basal_ganglia": ({"state": (256,), "memory_values": (A,), "valence": (1,), "reward": (1,)}, {"state"},
                      {"value": (1,), "td_error": (1,)}, {}),
    "amygdala": ({"visual": (256,), "reward": (1,)}, {"visual"}, {"valence": (1,)}, {}),
}
STATEFUL = {"entorhinal", "prefrontal", "basal_ganglia"}
AUXILIARY = {"entorhinal": ("head_direction", "place_cells"), "ca1": ("place_cells",), "amygdala": ("reward",)}


def random_inputs(shapes: dict, batch: int) -> dict[str, torch.Tensor]:
    """Plausible random inputs: uint8 images for ``rgb``, small floats elsewhere."""
    inputs = {}
    for name, shape in shapes.items():
        if name == "rgb":
            inputs[name] = torch.randint(0, 256, (batch, *shape), dtype=torch.uint8)
        elif name == "depth":
            inputs[name] = torch.rand(batch, *shape) * 10.0
        elif name == "self_motion":
            inputs[name] = torch.tensor([[10.0, 0.0], [-10.0, 0.0], [0.0, 2.0]])[torch.arange(batch) % 3]
        else:
            inputs[name] = torch.randn(batch, *shape)
    return inputs


def test_every_wba_region_is_registered_by_importing_the_package():
    assert set(CONTRACT) <= set(REGISTRY)
    assert regions.REGISTRY is REGISTRY


@pytest.mark.parametrize("type_name", sorted(CONTRACT))
def test_declared_ports_match_the_interface(type_name):
    shapes, required, outputs, params = CONTRACT[type_name]
    cls = REGISTRY[type_name]
    assert set(cls.inputs) == set(shapes)
    assert {name for name, port in cls.inputs.items() if port.required} == required
    region = build_region(type_name, shapes, params)
    assert tuple(region.teachers()) == AUXILIARY.get(type_name, ())
    assert region.output_shapes == outputs


@pytest.mark.parametrize("connected", ["all", "required"])
@pytest.mark.parametrize("type_name", sorted(CONTRACT))
def test_outputs_have_the_declared_shapes(type_name, connected):
    shapes, required, outputs, params = CONTRACT[type_name]
    if connected == "required":
        shapes = {name: shape for name, shape in shapes.items() if name in required}
    region = build_region(type_name, shapes, params)
    batch = 5
    out, state = region(random_inputs(shapes, batch), region.initial_state(batch))
    assert {name: tuple(t.shape[1:]) for name, t in out.items()} == region.output_shapes
    assert all(t.shape[0] == batch and t.dtype == torch.float32 and torch.isfinite(t).all() for t in out.values())
    assert set(state) == set(region.initial_state(batch))


@pytest.mark.parametrize("type_name", sorted(CONTRACT))
def test_recurrent_state_has_batch_rows_and_starts_at_zero(type_name):
    shapes, _, _, params = CONTRACT[type_name]
    region = build_region(type_name, shapes, params)
    assert region.is_recurrent == (type_name in STATEFUL)
    for tensor in region.initial_state(4).values():
        assert tensor.shape[0] == 4 and not tensor.any()
    _, state = region(random_inputs(shapes, 4), region.initial_state(4))
    assert {name: t.shape for name, t in state.items()} == {name: t.shape for name, t in region.initial_state(4).items()}


@pytest.mark.parametrize("type_name", sorted(set(CONTRACT) - STATEFUL - {"ca3"}))
def test_stateless_regions_accept_time_folded_into_batch(type_name):
    shapes, _, _, params = CONTRACT[type_name]
    region = build_region(type_name, shapes, params).eval()
    steps, batch = 4, 3
    inputs = random_inputs(shapes, steps * batch)
    folded, _ = region(inputs, {})
    for t in range(steps):
        rows = slice(t * batch, (t + 1) * batch)
        step, _ = region({name: value[rows] for name, value in inputs.items()}, {})
        for name, value in step.items():
            torch.testing.assert_close(folded[name][rows], value)


@pytest.mark.parametrize("type_name", sorted(CONTRACT))
def test_every_parameter_is_reached_by_some_output(type_name):
    """No dead layers: with every port connected, each parameter influences some output.

    Two steps, so that recurrent weights (which act on the zero initial state) are reached too.
    """
    shapes, _, _, params = CONTRACT[type_name]
    region = build_region(type_name, shapes, params).eval()
    _, state = region(random_inputs(shapes, 6), region.initial_state(6))
    out, _ = region(random_inputs(shapes, 6), state)
    sum(t.square().sum() for t in out.values()).backward()
    for name, parameter in region.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
