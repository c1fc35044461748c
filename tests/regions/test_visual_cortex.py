"""Visual cortex: image sizes, input normalisation, the optional depth branch, errors."""

from __future__ import annotations

import pytest
import torch

from regions.visual_cortex import VisualCortex, onednn


def images(batch: int, height: int, width: int) -> torch.Tensor:
    return torch.randint(0, 256, (batch, 3, height, width), dtype=torch.uint8)


@pytest.mark.parametrize("size", [(84, 84), (64, 48), (120, 160), (24, 24)])
def test_any_image_size_large_enough_for_the_convolutions_works(size):
    region = VisualCortex({"rgb": (3, *size)}, features=32)
    out, state = region({"rgb": images(2, *size)}, {})
    assert out["features"].shape == (2, 32) and state == {}
    assert (out["features"] >= 0).all()  # ReLU features


def test_too_small_an_image_names_the_port_and_the_fix():
    with pytest.raises(ValueError, match=r"'rgb'.*too small.*params.channels"):
        VisualCortex({"rgb": (3, 6, 6)})


def test_empty_channel_list_is_rejected():
    with pytest.raises(ValueError, match=r"params.channels"):
        VisualCortex({"rgb": (3, 84, 84)}, channels=[])


def test_uint8_pixels_are_scaled_to_unit_range_inside_the_region():
    region = VisualCortex({"rgb": (3, 32, 32)})
    seen = []
    region.rgb_stack[0].register_forward_hook(lambda module, args, output: seen.append(args[0]))
    pixels = images(3, 32, 32)
    as_uint8, _ = region({"rgb": pixels}, {})
    torch.testing.assert_close(seen[0], pixels.float() / 255.0)
    as_float, _ = region({"rgb": pixels.float()}, {})
    torch.testing.assert_close(as_uint8["features"], as_float["features"])


def test_depth_branch_is_used_when_connected_and_scaled_by_depth_scale():
    shapes = {"rgb": (3, 32, 32), "depth": (1, 16, 16)}
    region = VisualCortex(shapes, depth_scale=10.0)
    pixels, depth = images(2, 32, 32), torch.rand(2, 1, 16, 16) * 10.0
    near, _ = region({"rgb": pixels, "depth": depth}, {})
    far, _ = region({"rgb": pixels, "depth": depth + 5.0}, {})
    assert not torch.allclose(near["features"], far["features"])
    unity8 = VisualCortex(shapes, depth_scale=255.0)
    unity8.load_state_dict(region.state_dict())
    encoded, _ = unity8({"rgb": pixels, "depth": depth * 25.5}, {})
    torch.testing.assert_close(encoded["features"], near["features"])


def test_without_depth_the_region_has_no_depth_branch():
    region = VisualCortex({"rgb": (3, 84, 84)})
    assert region.depth_stack is None
    assert not any(name.startswith("depth") for name, _ in region.named_parameters())


def test_gradient_from_features_reaches_the_first_convolution():
    region = VisualCortex({"rgb": (3, 84, 84), "depth": (1, 32, 32)})
    out, _ = region({"rgb": images(2, 84, 84), "depth": torch.rand(2, 1, 32, 32)}, {})
    out["features"].sum().backward()
    assert region.rgb_stack[0].weight.grad.abs().sum() > 0
    assert region.depth_stack[0].weight.grad.abs().sum() > 0


def test_kernels_and_strides_are_set_per_layer():
    region = VisualCortex({"rgb": (3, 84, 84)}, channels=[16, 32, 32], kernels=[8, 4, 3], strides=[4, 2, 1])
    convs = [layer for layer in region.rgb_stack if isinstance(layer, torch.nn.Conv2d)]
    assert [(c.kernel_size, c.stride) for c in convs] == [((8, 8), (4, 4)), ((4, 4), (2, 2)), ((3, 3), (1, 1))]
    assert region.project[0].in_features == 32 * 7 * 7  # 84 -> 20 -> 9 -> 7


def test_a_kernel_list_of_the_wrong_length_names_the_parameter():
    with pytest.raises(ValueError, match=r"params.kernels needs one entry per layer .*\(3\)"):
        VisualCortex({"rgb": (3, 84, 84)}, channels=[16, 32, 32], kernels=[8, 4])


def test_the_depth_stream_at_batch_one_gives_the_batched_result_and_leaves_onednn_as_it_was():
    """Acting (batch 1) runs the depth convolutions without oneDNN; the global switch is restored."""
    torch.manual_seed(0)
    region = VisualCortex({"rgb": (3, 32, 32), "depth": (1, 16, 16)}, channels=(8,), features=16)
    rgb, depth = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8), torch.rand(3, 1, 16, 16)
    batched = region({"rgb": rgb, "depth": depth}, {})[0]["features"]
    single = torch.cat([region({"rgb": rgb[i:i + 1], "depth": depth[i:i + 1]}, {})[0]["features"] for i in range(3)])
    torch.testing.assert_close(single, batched)
    assert torch.backends.mkldnn.enabled
    with onednn(enabled=False):
        with onednn(enabled=True):
            assert not torch.backends.mkldnn.enabled, "an inner block never switches oneDNN back on"
    assert torch.backends.mkldnn.enabled
