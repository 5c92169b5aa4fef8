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

from torch import Tensor, nn

from ._hooked import hooked_forward
from ._utils import ClassIndex
from .cam import CAMResult

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
    with hooked_forward(model, x, class_idx, topk, target_layer) as fw:
        maps = [(grad.mean(dim=(2, 3), keepdim=True) * fw.features).sum(dim=1) for grad in fw.gradients()]
    return fw.result(maps, relu)
