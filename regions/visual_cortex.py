"""Visual cortex: a small convolutional network over the first-person view."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import torch
from torch import nn

from regions.base import InputPort, Region, Shape, Tensors, register
from regions.functional import check_units


def conv_stack(in_channels: int, channels: Sequence[int], kernels: Sequence[int], strides: Sequence[int]) -> nn.Sequential:
    """Convolutions with ReLU, one per entry of ``channels`` (no padding)."""
    layers: list[nn.Module] = []
    for out_channels, kernel, stride in zip(channels, kernels, strides):
        layers += [nn.Conv2d(in_channels, out_channels, kernel, stride=stride), nn.ReLU()]
        in_channels = out_channels
    return nn.Sequential(*layers)


@contextmanager
def onednn(enabled: bool) -> Iterator[None]:
    """oneDNN (mkldnn) convolutions on or off within the block (never on if they were off).

    For the small depth image at batch 1 (every acting step) oneDNN's per-call set-up costs
    four times the native convolutions (about 160 vs 40 us for the two layers here); for a
    rollout's folded batch it is the other way round.
    """
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = enabled and previous
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


def layer_list(name: str, values: int | Sequence[int], layers: int) -> list[int]:
    """``params.<name>`` as one positive integer per layer (a single number applies to every layer)."""
    values = [values] * layers if isinstance(values, int) else list(values)
    if len(values) != layers:
        raise ValueError(f"visual_cortex: params.{name} needs one entry per layer of its channels "
                         f"({layers}), got {values!r}")
    return [check_units("visual_cortex", name, value) for value in values]


def flat_size(stack: nn.Sequential, shape: Shape, port: str) -> int:
    """Units after ``stack`` for an input of ``shape`` (measured once, at construction)."""
    try:
        with torch.no_grad():
            return int(stack(torch.zeros(1, *shape)).numel())
    except RuntimeError as error:
        raise ValueError(f"visual_cortex: input {port!r} of shape {tuple(shape)} is too small for "
                         f"{len(stack) // 2} convolutions; use a larger image, or fewer or smaller-strided "
                         f"params.channels ({error})") from None


@register("visual_cortex")
class VisualCortex(Region):
    """Ventral/dorsal visual stream: a CNN trained end to end from the task's own pixels.

    The 2017 agent used frozen ImageNet AlexNet features, which were weak on the pale
    first-person colours of the mazes; a small CNN learned by the A3C and auxiliary
    gradients fits the scenes instead (as in the A3C Atari network).

    Computation: ``rgb / 255`` through convolutions with ReLU (``channels``, ``kernels``,
    ``strides``: one entry per layer); when ``depth`` is connected, ``depth / depth_scale``
    through its own smaller convolutions (``depth_channels``, ``depth_kernels``, ``depth_strides``);
    both flattened, joined and mapped by a linear layer with ReLU to ``features``. Flattened sizes
    are measured from the resolved input shapes, so any image size large enough for the
    convolutions works. ``wba.yaml`` uses the A3C network's 8x8/4 then 4x4/2 layers (plus a 3x3/1):
    2.5 times cheaper than three 4x4/2 layers on 84x84 images, and acting runs it once per step.

    Ports:
        in ``rgb`` [C, H, W] uint8 (0..255); ``depth`` *opt* [1, h, w] metres.
        out ``features`` [features].
    State: none (time may be folded into the batch axis). Losses: none.

    Args:
        input_shapes: resolved input shapes (``rgb`` required).
        channels: output channels of the RGB convolutions, one layer each.
        kernels, strides: kernel size and stride of each RGB convolution (or one number for all).
        depth_channels, depth_kernels, depth_strides: the same for the depth convolutions.
        features: units of the output layer.
        depth_scale: divisor that brings depth to about [0, 1]: the maximum depth in metres
            (10), or 255 for the 2017 ``unity8`` depth encoding.
    """

    inputs = {
        "rgb": InputPort(ndim=3, doc="first-person colour image, uint8 0..255, channel first"),
        "depth": InputPort(required=False, ndim=3, doc="depth image in metres (or 0..255 with unity8)"),
    }

    def __init__(self, input_shapes: Mapping[str, Shape], channels: Sequence[int] = (16, 32, 32),
                 kernels: int | Sequence[int] = 4, strides: int | Sequence[int] = 2,
                 depth_channels: Sequence[int] = (8, 16), depth_kernels: int | Sequence[int] = 4,
                 depth_strides: int | Sequence[int] = 2, features: int = 256, depth_scale: float = 10.0):
        super().__init__(input_shapes)
        for name, values in (("channels", channels), ("depth_channels", depth_channels)):
            if not values:
                raise ValueError(f"visual_cortex: params.{name} must list at least one layer, got {values!r}")
            for value in values:
                check_units("visual_cortex", name, value)
        if depth_scale <= 0:
            raise ValueError(f"visual_cortex: params.depth_scale must be positive, got {depth_scale!r}")
        self.depth_scale = float(depth_scale)
        rgb_shape = input_shapes["rgb"]
        self.rgb_stack = conv_stack(rgb_shape[0], channels, layer_list("kernels", kernels, len(channels)),
                                    layer_list("strides", strides, len(channels)))
        flat = flat_size(self.rgb_stack, rgb_shape, "rgb")
        self.depth_stack: nn.Sequential | None = None
        if "depth" in input_shapes:
            depth_shape = input_shapes["depth"]
            self.depth_stack = conv_stack(depth_shape[0], depth_channels,
                                          layer_list("depth_kernels", depth_kernels, len(depth_channels)),
                                          layer_list("depth_strides", depth_strides, len(depth_channels)))
            flat += flat_size(self.depth_stack, depth_shape, "depth")
        self.project = nn.Sequential(nn.Linear(flat, check_units("visual_cortex", "features", features)), nn.ReLU())
        self.output_shapes = {"features": (features,)}

    def forward(self, inputs: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> tuple[Tensors, Tensors]:
        dtype = self.project[0].weight.dtype
        parts = [self.rgb_stack(inputs["rgb"].to(dtype) / 255.0).flatten(1)]
        if self.depth_stack is not None:
            depth = inputs["depth"].to(dtype) / self.depth_scale
            with onednn(enabled=depth.shape[0] > 1):
                parts.append(self.depth_stack(depth).flatten(1))
        return {"features": self.project(torch.cat(parts, dim=-1))}, {}
