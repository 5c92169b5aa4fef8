"""Grad-CAM (Selvaraju et al., arXiv 1610.02391, ICCV 2017 / IJCV 2020), written out to compare it with CAM.

Grad-CAM weights each feature map by the spatial mean of the gradient of the class
score with respect to it:  alpha_{c,k} = mean_{x,y} d logit_c / d f_k(x, y), and the map
is  sum_k alpha_{c,k} f_k  (the paper then applies a ReLU). For a GAP -> Linear network,
d logit_c / d f_k(x, y) = w_{c,k} / (h * w) at every position, so Grad-CAM is CAM divided
by h * w (Section 3.1 of the Grad-CAM paper). Grad-CAM also works when there is no GAP (a
flatten head, several Linear layers), at the price of one backward pass per class.

    result = gradcam(model, x, topk=5)     # the same call and result as camlib.CAM's
    result.maps                            # [B, 5, h, w]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._utils import (
    ClassIndex,
    check_images,
    class_index,
    find_layer,
    input_channels,
    last_feature_maps,
    top_classes,
)
from .cam import CAMResult
from .modes import eval_mode

__all__ = ["gradcam"]


def gradcam(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    target_layer: nn.Module | str | None = None,
    relu: bool = False,
) -> CAMResult:
    """Grad-CAM maps of images ``x``: the same call and the same result as :class:`camlib.CAM`.

    Taught in chapter 8, "CAM and Grad-CAM". Each channel is weighted by the mean over
    positions of the gradient of the class score; one forward pass, one backward pass per
    class; every module's own mode is restored and the parameters' ``.grad`` left untouched.

    Args:
        model: any differentiable network.
        x: images [B, C, H, W], float.
        class_idx: as for :class:`camlib.CAM` (None: the top ``topk``; an int; B ints, one per
            image; a [B, K] or [1, K] tensor; ``"all"``).
        topk: how many of the most likely classes, when ``class_idx`` is None.
        target_layer: the module (or its name) whose output [B, C, h, w] is weighted; by
            default the last 4-D feature map of the forward pass, in front of the head.
        relu: apply the paper's ReLU to the maps (off by default, to compare raw maps with CAM).

    Returns:
        A :class:`camlib.CAMResult` with maps [B, K, h, w] and the target layer's features.

    Raises:
        ValueError: no 4-D feature map, or a ``target_layer`` that the forward pass does not run.
    """
    check_images(x, input_channels(model))
    target_layer = find_layer(model, target_layer)
    kept: list[Tensor] = []
    handle = target_layer.register_forward_hook(lambda m, i, o: kept.append(o)) if target_layer is not None else None
    try:
        with torch.enable_grad(), eval_mode(model):
            x = x.detach().requires_grad_(True)  # so the graph exists even with frozen weights
            if target_layer is None:
                logits, found = last_feature_maps(model, x)
                if not found:
                    raise ValueError(
                        f"found no [B, C, h, w] feature map in {type(model).__name__}'s forward pass; "
                        "pass target_layer="
                    )
                feats = found[-1][2]
            else:
                logits = model(x)
                if not kept:
                    raise ValueError(
                        f"target_layer {type(target_layer).__name__} did not run in "
                        f"{type(model).__name__}'s forward pass; pass one of the layers model(x) uses"
                    )
                feats = kept[-1]
            idx = class_index(class_idx, len(x), logits.shape[1], device=logits.device)
            idx = top_classes(logits, topk) if idx is None else idx
            maps = []
            for k in range(idx.shape[1]):
                score = logits.gather(1, idx[:, k : k + 1]).sum()
                (grad,) = torch.autograd.grad(score, feats, retain_graph=k + 1 < idx.shape[1])
                alpha = grad.mean(dim=(2, 3), keepdim=True)  # [B, C, 1, 1]
                maps.append((alpha * feats).sum(dim=1).detach())
    finally:
        if handle is not None:
            handle.remove()
    out = torch.stack(maps, dim=1)
    logits = logits.detach()
    return CAMResult(
        logits=logits,
        probs=logits.softmax(dim=1).gather(1, idx),
        class_idx=idx,
        maps=out.clamp(min=0) if relu else out,
        features=feats.detach(),
    )
