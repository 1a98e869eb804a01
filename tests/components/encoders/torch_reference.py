"""A tiny hand-written PyTorch forward pass of EfficientNet-Lite0 straight from the packaged state dict,
the reference the Keras port is checked against (TF "same" padding, as the TF checkpoint was trained)."""

from __future__ import annotations

import math

from components.encoders.efficientnet_lite import BN_EPSILON, lite0_blocks


def _same_pad(x, kernel_size: int, stride: int):
    import torch.nn.functional as F

    pads = []
    for size in (x.shape[3], x.shape[2]):  # F.pad wants the last dimension (width) first
        total = max((math.ceil(size / stride) - 1) * stride + kernel_size - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


def lite0_logits_and_features(state: dict, pixels):
    """`pixels`: float tensor [B, 3, H, W] in [0, 255]. Returns (logits [B, 1000], pooled features [B, 1280])."""
    import torch.nn.functional as F

    def conv(x, weight, stride=1, groups=1):
        return F.conv2d(_same_pad(x, weight.shape[-1], stride), weight, stride=stride, groups=groups)

    def bn(x, prefix):
        return F.batch_norm(
            x,
            state[f"{prefix}.running_mean"],
            state[f"{prefix}.running_var"],
            state[f"{prefix}.weight"],
            state[f"{prefix}.bias"],
            training=False,
            eps=BN_EPSILON,
        )

    x = (pixels - 127.0) / 128.0
    x = F.relu6(bn(conv(x, state["_conv_stem.weight"], stride=2), "_bn0"))
    for block in lite0_blocks():
        prefix, inputs = f"_blocks.{block.index}", x
        if block.expand_ratio != 1:
            x = F.relu6(bn(conv(x, state[f"{prefix}._expand_conv.weight"]), f"{prefix}._bn0"))
        x = F.relu6(
            bn(
                conv(x, state[f"{prefix}._depthwise_conv.weight"], stride=block.stride, groups=x.shape[1]),
                f"{prefix}._bn1",
            )
        )
        x = bn(conv(x, state[f"{prefix}._project_conv.weight"]), f"{prefix}._bn2")
        if block.has_skip:
            x = x + inputs
    x = F.relu6(bn(conv(x, state["_conv_head.weight"]), "_bn1"))
    features = x.mean(dim=(2, 3))
    return F.linear(features, state["_fc.weight"], state["_fc.bias"]), features
