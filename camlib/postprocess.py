"""After the map: stretch it to the image, and scale it for display.

A class activation map is as coarse as the last feature grid (7 x 7 for a 224-pixel input).
:func:`upsample` stretches it to the image with bilinear interpolation, and
:func:`normalize` keeps its positive part and divides it by its maximum, for display and
for the box rule. Neither adds information; normalizing throws away the map's scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ._fast import MATMUL_MAX_SIDE, resize_matrix
from ._utils import pair

__all__ = ["normalize", "upsample"]


def upsample(maps: Tensor, size: int | Sequence[int]) -> Tensor:
    """Bilinear resize of maps to ``size``, as ``F.interpolate(..., align_corners=False)`` computes it.

    Taught in chapter 3, "Combining weights and features". Small CPU maps (sides up to 32,
    as class activation maps are) are computed faster as two matrix products
    (:mod:`camlib._fast`); larger maps, and maps on a GPU, go through ``F.interpolate``.

    Args:
        maps: [B, K, h, w], [K, h, w] or [h, w]; any real dtype (converted to float32).
        size: the output's (H, W), or one int for a square.

    Returns:
        float32 maps [..., H, W] with the leading dimensions of ``maps``.

    Raises:
        ValueError: ``maps`` is not a tensor of 2 to 4 dimensions, or ``size`` is not positive.
    """
    if not isinstance(maps, Tensor) or maps.ndim not in (2, 3, 4):
        raise ValueError(
            f"expected maps as a [B, K, h, w], [K, h, w] or [h, w] tensor, got {getattr(maps, 'shape', type(maps))}"
        )
    out_hw = pair(size)
    h, w = maps.shape[-2:]
    x = maps.float()
    if x.device.type == "cpu" and max(h, w) <= MATMUL_MAX_SIDE:
        return torch.matmul(resize_matrix(h, out_hw[0]), torch.matmul(x, resize_matrix(w, out_hw[1]).T))
    extra = 4 - maps.ndim
    out = F.interpolate(x.reshape((1,) * extra + tuple(maps.shape)), size=out_hw, mode="bilinear", align_corners=False)
    return out.reshape(tuple(maps.shape[:-2]) + out_hw)


def normalize(maps: Tensor) -> Tensor:
    """ReLU, then divide each map by its own maximum: values in [0, 1]; all-zero maps stay zero.

    Taught in chapter 3, "Combining weights and features" (and written by hand in chapter 4's
    exercise 1).

    Args:
        maps: [..., h, w]; every leading index is one map. Integer maps become float32.

    Returns:
        Maps of the same shape, in [0, 1].

    Raises:
        ValueError: ``maps`` is not a tensor of at least two dimensions.
    """
    if not isinstance(maps, Tensor) or maps.ndim < 2:
        raise ValueError(f"expected maps as a tensor [..., h, w], got {getattr(maps, 'shape', type(maps))}")
    pos = (maps if maps.is_floating_point() else maps.float()).clamp(min=0)
    peak = pos.amax(dim=(-2, -1), keepdim=True)
    return pos / peak.clamp(min=torch.finfo(pos.dtype).tiny)  # a map without a positive value is all 0: 0 / tiny
