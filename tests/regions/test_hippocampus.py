"""Hippocampus: keys of stable scale, read-out through the attached DND, gradient into the key projection."""

from __future__ import annotations

import pytest
import torch

from regions.dnd import DND
from regions.hippocampus import Hippocampus

PARAMS = {"key_size": 8, "capacity": 64, "k": 4, "actions": 3}


def filled_region() -> tuple[Hippocampus, DND]:
    """A region over 16-d inputs, attached to a memory holding a few entries per action."""
    region = Hippocampus({"key": (16,)}, **PARAMS)
    memory = region.make_memory()
    keys = torch.nn.functional.layer_norm(torch.randn(30, 8), (8,))
    memory.write(keys, torch.arange(30) % 3, torch.linspace(-1.0, 2.0, 30))
    region.attach_memory(memory)
    return region, memory


def test_read_out_equals_the_dnd_lookup_of_the_output_key():
    region, memory = filled_region()
    out, state = region({"key": torch.randn(5, 16)}, {})
    assert state == {}
    torch.testing.assert_close(out["values"], memory.lookup(out["key"]))
    assert out["values"].shape == (5, 3) and out["values"].abs().sum() > 0


def test_keys_are_normalised_to_a_fixed_scale():
    region = Hippocampus({"key": (16,)}, **PARAMS)
    region.attach_memory(region.make_memory())
    for scale in (0.01, 100.0):
        out, _ = region({"key": scale * torch.randn(6, 16)}, {})
        torch.testing.assert_close(out["key"].mean(-1), torch.zeros(6), atol=1e-5, rtol=0)
        torch.testing.assert_close(out["key"].square().mean(-1), torch.ones(6), atol=1e-2, rtol=0)


def test_gradient_of_the_read_out_reaches_the_key_projection():
    region, _ = filled_region()
    source = torch.randn(4, 16, requires_grad=True)
    out, _ = region({"key": source}, {})
    out["values"].sum().backward()
    assert region.project.weight.grad.abs().sum() > 0
    assert source.grad.abs().sum() > 0


def test_forward_only_reads_the_memory():
    region, memory = filled_region()
    before = memory.occupancy()
    region({"key": torch.randn(7, 16)}, {})
    assert memory.occupancy() == before


def test_the_memory_is_shared_by_reference_and_never_part_of_the_weights():
    first, memory = filled_region()
    second = Hippocampus({"key": (16,)}, **PARAMS)
    second.load_state_dict(first.state_dict())
    second.attach_memory(memory)
    assert second.memory is memory
    assert set(first.state_dict()) == {"project.weight", "project.bias"}
    assert "memory" not in dict(first.named_children())
    memory.write(torch.randn(1, 8), torch.tensor([1]), torch.tensor([9.0]))
    inputs = {"key": torch.randn(3, 16)}
    torch.testing.assert_close(first(inputs, {})[0]["values"], second(inputs, {})[0]["values"])


def test_without_an_attached_memory_the_region_makes_a_private_empty_one():
    region = Hippocampus({"key": (16,)}, **PARAMS)
    out, _ = region({"key": torch.randn(2, 16)}, {})
    assert isinstance(region.memory, DND) and region.memory.capacity == PARAMS["capacity"]
    assert not out["values"].any()  # an empty memory reads 0


def test_make_memory_follows_the_region_parameters():
    region = Hippocampus({"key": (16,)}, key_size=12, capacity=50, k=7, actions=4, delta=0.01, alpha=0.5,
                         match_radius=0.2, backend="torch")
    memory = region.make_memory()
    assert (memory.n_actions, memory.key_size, memory.capacity, memory.k) == (4, 12, 50, 7)
    assert (memory.delta, memory.alpha, memory.match_radius, memory.backend) == (0.01, 0.5, 0.2, "torch")


def test_attaching_a_memory_of_another_size_names_the_parameter():
    region = Hippocampus({"key": (16,)}, **PARAMS)
    with pytest.raises(ValueError, match=r"key_size 4.*params.key_size"):
        region.attach_memory(DND(n_actions=3, key_size=4, capacity=8))
