"""Helpers that camlib's modules share: checking inputs, reading ``class_idx``, finding layers.

Private to camlib (the leading underscore of the module's name); what it offers is in
``__all__``, and no other module reaches for an underscore name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
from torch import Tensor, nn

__all__ = [
    "GRADCAM_HINT",
    "POOLS",
    "ClassIndex",
    "all_finite",
    "check_images",
    "check_topk",
    "class_index",
    "find_layer",
    "input_channels",
    "last_feature_maps",
    "pair",
    "top_classes",
]

ClassIndex = Union[None, int, str, Sequence[int], Sequence[Sequence[int]], Tensor]
POOLS = (nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.MaxPool2d, nn.Flatten, nn.Dropout, nn.Identity)
GRADCAM_HINT = (
    "CAM needs a network whose last feature map is globally average-pooled into a single nn.Linear; "
    "for other networks use Grad-CAM (camlib.gradcam, or pytorch-grad-cam / torchcam)."
)


def all_finite(x: Tensor) -> bool:
    """No NaN or infinity in ``x``. A NaN or an infinity makes the sum non-finite: one cheap
    pass, and the exact element-wise test only when the sum is not finite (it can overflow)."""
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def pair(size: int | Sequence[int], what: str = "size") -> tuple[int, int]:
    """``size`` as (H, W): an int is a square side, a pair is (H, W); the error says what to pass."""
    if isinstance(size, bool):
        raise TypeError(f"{what} must be an int or a pair (H, W) of ints, got a bool")
    if isinstance(size, int):
        values = [size, size]
    else:
        try:
            values = [int(v) for v in size]
        except TypeError:
            raise TypeError(f"{what} must be an int or a pair (H, W) of ints, got {size!r}") from None
        if len(values) != 2 or any(int(v) != v for v in size):
            raise ValueError(f"{what} must be an int or a pair (H, W) of ints, got {size!r}")
    if min(values) < 1:
        raise ValueError(f"{what} must be positive, got {size!r}")
    return values[0], values[1]


def find_layer(model: nn.Module, layer: nn.Module | str | None) -> nn.Module | None:
    """``layer`` itself, or the module of ``model`` named ``layer``; the error suggests close names."""
    if not isinstance(layer, str):
        return layer
    modules = dict(model.named_modules())
    if layer not in modules:
        close = [n for n in modules if layer.split(".")[-1] in n][:5]
        raise ValueError(
            f"no layer named {layer!r} in {type(model).__name__}"
            + (f"; did you mean one of {close}?" if close else "; see model.named_modules()")
        )
    return modules[layer]


def input_channels(model: nn.Module) -> int:
    """The channels the model's first convolution takes, or -1 when it has none."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return conv.in_channels if conv is not None else -1


def check_images(x: Tensor, channels: int) -> None:
    """``x`` must be a float batch [B, C, H, W] with ``C == channels`` (any C when ``channels`` is -1)."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"expected a float tensor [B, C, H, W], got {type(x).__name__}; "
            "use the weights' preprocess (or torch.as_tensor) first"
        )
    if x.ndim != 4:
        hint = " (for one image use x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ValueError(f"expected a batch [B, C, H, W], got a tensor of shape {tuple(x.shape)}{hint}")
    if channels > 0 and x.shape[1] != channels:
        raise ValueError(
            f"the model's first convolution takes {channels} channels, got an input with "
            f"{x.shape[1]} ([B, C, H, W] = {tuple(x.shape)}); convert the image to RGB"
        )
    if not x.is_floating_point():
        raise TypeError(f"expected a float tensor, got {x.dtype}; scale uint8 images to floats first")


def check_topk(topk: int, num_classes: int) -> None:
    if not 1 <= topk <= num_classes:
        raise ValueError(f"topk must be between 1 and the number of classes ({num_classes}), got {topk}")


def class_index(
    class_idx: ClassIndex, batch: int, num_classes: int, device: torch.device | None = None
) -> Tensor | None:
    """The classes to map, [B, K], from ``class_idx`` as every camlib function reads it; None when
    the caller should take the top-k classes.

    * ``None``: the top-``topk`` classes (the caller picks them once it has the logits);
    * an int: that class for every image;
    * a list, tuple or 1-D tensor of length B: one class per image (as in torchcam and
      pytorch-grad-cam);
    * a [B, K] tensor (or nested list): K classes per image; a [1, K] one: the same K for all;
    * ``"all"``: every class, for every image.
    """
    if class_idx is None:
        return None
    if isinstance(class_idx, str):
        if class_idx != "all":
            raise ValueError(f"the only string class_idx is 'all' (every class), got {class_idx!r}")
        return torch.arange(num_classes, device=device).expand(batch, num_classes)
    if isinstance(class_idx, bool):
        raise TypeError("class_idx must be None, an int, a list of B ints or a [B, K] tensor, got a bool")
    try:
        idx = torch.as_tensor(class_idx, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"class_idx must be None, an int, a list of B ints or a [B, K] tensor ({err})") from err
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        raise TypeError(f"class_idx must hold integers, got dtype {idx.dtype}")
    if idx.ndim == 0:
        idx = idx.view(1, 1).expand(batch, 1)
    elif idx.ndim == 1:
        if len(idx) != batch:
            raise ValueError(
                f"a list or 1-D tensor class_idx gives one class per image, so it needs B = {batch} "
                f"entries, got {len(idx)}; for the same classes for every image pass a [1, K] tensor, "
                f"e.g. torch.tensor([{idx.tolist()}])"
            )
        idx = idx.view(batch, 1)
    elif idx.ndim == 2 and idx.shape[0] in (1, batch) and idx.shape[1] > 0:
        idx = idx.expand(batch, -1)
    else:
        raise ValueError(f"a class_idx tensor must be [B, K] = [{batch}, K] or [1, K], got {tuple(idx.shape)}")
    if idx.numel() and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(
            f"class_idx must be in [0, {num_classes - 1}] (the model has {num_classes} classes), got {class_idx!r}"
        )
    return idx.long()


def top_classes(logits: Tensor, topk: int) -> Tensor:
    """The indices [B, topk] of the ``topk`` largest logits of each image, most likely first."""
    check_topk(topk, logits.shape[1])
    return logits.detach().topk(topk, dim=1).indices


def last_feature_maps(
    model: nn.Module, x: Tensor, channels: int | None = None
) -> tuple[Tensor, list[tuple[str, nn.Module, Tensor]]]:
    """One forward pass that records every 4-D output: the logits, and the [B, C, h, w] maps
    (h * w > 1, ``C == channels`` when given) in the order they were made; the last one is
    the map in front of the head, produced by the outermost module that made it."""
    seen: list[tuple[str, nn.Module, Tensor]] = []
    names = {m: n for n, m in model.named_modules()}
    handles = [
        m.register_forward_hook(lambda mod, i, o: seen.append((names[mod], mod, o)))
        for m in model.modules()
        if m is not model and not isinstance(m, POOLS)
    ]
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    maps = [
        (n, m, o)
        for n, m, o in seen
        if isinstance(o, Tensor)
        and o.ndim == 4
        and o.shape[2] * o.shape[3] > 1
        and (channels is None or o.shape[1] == channels)
    ]
    return logits, maps
