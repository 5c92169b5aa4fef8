"""Three small CNNs with the same convolutional trunk and different heads.

All three map [B, 3, S, S] images to [B, num_classes] logits. The trunk (``.features``)
turns an image into ``n_ch`` feature maps of size H x W (H = W = S / 4 by default):

* :class:`GAPNet`: global average pooling, then ``fc = nn.Linear(n_ch, num_classes)``.
  The head has ``n_ch`` weights per class, one per feature map; this is what CAM reads.
* :class:`GMPNet`: global *max* pooling, then the same ``fc``: the CAM paper's ablation
  (the paper compares GoogLeNet-GAP with GoogLeNet-GMP in Section 3.2, as chapter 5 quotes).
* :class:`FlattenNet`: flatten, then ``fc = nn.Linear(n_ch * H * W, num_classes)``.
  The head has ``n_ch * H * W`` weights per class, and a weight per position, so the
  spatial layout is baked into the classifier and there is no single map to read.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def trunk(widths: tuple[int, ...] = (16, 32, 64), in_channels: int = 3) -> nn.Sequential:
    """The book's convolutional trunk: stages of conv3x3-BN-ReLU x2, a 2x2 max-pool between stages.

    Taught in chapter 2, "Global average pooling versus flatten".

    Args:
        widths: the channels of each stage.
        in_channels: the image's channels.

    Returns:
        An ``nn.Sequential``: [B, in_channels, S, S] -> [B, widths[-1], S / 2**(len(widths) - 1), same].
    """
    layers: list[nn.Module] = []
    c_in = in_channels
    for i, width in enumerate(widths):
        if i > 0:
            layers.append(nn.MaxPool2d(2))
        for _ in range(2):
            layers += [nn.Conv2d(c_in, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            c_in = width
    return nn.Sequential(*layers)


class GAPNet(nn.Module):
    """Trunk -> global average pooling -> one Linear layer (the CAM paper's design).

    Taught in chapter 2, "Global average pooling versus flatten". The initial weights come
    from ``seed`` (without touching the global random state), so ``GAPNet(5)`` is the same
    network every time. [B, 3, S, S] images in [0, 1] -> [B, num_classes] logits, for any S.

    Args:
        num_classes: the number of classes.
        widths: the trunk's channels per stage.
        in_channels: the image's channels.
        seed: the seed of the initial weights.
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64), in_channels: int = 3, seed: int = 0):
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.features = trunk(widths, in_channels)
            self.pool: nn.Module = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """[B, C, S, S] images -> [B, num_classes] logits."""
        return self.fc(self.pool(self.features(x)).flatten(1))


class GMPNet(GAPNet):
    """Trunk -> global *max* pooling -> one Linear layer: the paper's GAP-versus-GMP ablation.

    Taught in chapter 6, "Scoring localization the paper's way". Arguments as for :class:`GAPNet`.

    Same trunk, head and initial weights as :class:`GAPNet` for the same ``seed``; only the
    pooling differs. Each channel is summarised by its largest value instead of its mean, so
    a class score rewards one strong position, not the whole extent of the object.
    """

    def __init__(self, num_classes: int, widths: tuple[int, ...] = (16, 32, 64), in_channels: int = 3, seed: int = 0):
        super().__init__(num_classes, widths, in_channels, seed)
        self.pool = nn.AdaptiveMaxPool2d(1)


class FlattenNet(nn.Module):
    """Trunk -> flatten -> one Linear layer, with a weight per channel *and position*.

    Taught in chapter 2, "Global average pooling versus flatten". Same trunk as
    :class:`GAPNet`, with the same initial trunk weights for the same ``seed``; its head is
    sized for one input size, and any other size raises.

    Args:
        num_classes: the number of classes.
        widths: the trunk's channels per stage.
        in_channels: the image's channels.
        input_size: the side of the square images it takes.
        seed: the seed of the initial weights.

    Raises:
        ValueError: an ``input_size`` the trunk's pooling does not divide.
    """

    def __init__(
        self,
        num_classes: int,
        widths: tuple[int, ...] = (16, 32, 64),
        in_channels: int = 3,
        input_size: int = 64,
        seed: int = 0,
    ):
        super().__init__()
        side = input_size // 2 ** (len(widths) - 1)
        if side < 1 or side * 2 ** (len(widths) - 1) != input_size:
            raise ValueError(f"input_size={input_size} must be divisible by {2 ** (len(widths) - 1)}")
        self.input_size = input_size
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.features = trunk(widths, in_channels)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(widths[-1] * side * side, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """[B, C, S, S] images -> [B, num_classes] logits."""
        if x.shape[-2:] != (self.input_size, self.input_size):
            raise ValueError(
                f"FlattenNet takes {self.input_size} x {self.input_size} inputs, got "
                f"{tuple(x.shape[-2:])}:\na flatten head fits one size only (GAPNet fits any)"
            )
        return self.fc(self.flatten(self.features(x)))


def count_params(module: nn.Module) -> int:
    """The number of trainable parameters (weights and biases) of a module.

    Taught in chapter 2, "Global average pooling versus flatten".

    Args:
        module: any ``nn.Module``.

    Returns:
        The count.
    """
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
