"""CAM's family: five methods a reader meets after CAM and Grad-CAM, each in a few lines.

Every method is called like :func:`camlib.gradcam` and returns a :class:`camlib.CAMResult`
(maps [B, K, h, w] at the target layer's resolution, raw unless ``relu=True``); each weights
the target layer's feature maps f_k [B, C, h, w] differently:

=============  ==========================================================  =======================
method         map of class c                                              cost for K classes
=============  ==========================================================  =======================
Grad-CAM++     sum_k (sum_xy a_k(x,y) relu(g_k(x,y))) f_k                  1 forward, K backward
Score-CAM      sum_k softmax_k(logit_c(x * up(f_k))) f_k                   1 + ceil(B C / batch)
                                                                           forward, 0 backward
Layer-CAM      sum_k relu(g_k(x,y)) f_k(x,y)                               1 forward, K backward
XGrad-CAM      sum_k (sum_xy g_k(x,y) f_k(x,y) / sum_xy f_k(x,y)) f_k      1 forward, K backward
Eigen-CAM      f projected on its first principal component (no class)     1 forward, 0 backward
=============  ==========================================================  =======================

g_k(x, y) = d logit_c / d f_k(x, y). On a GAP -> Linear network g_k = w_{c,k} / (h w) at every
position, so XGrad-CAM equals Grad-CAM (CAM / (h w)) and Layer-CAM is CAM with the negative
class weights set to zero, divided by h w. All share one hooked forward pass (hooks removed and
modes restored on every path), and read ``class_idx`` as :class:`camlib.CAM` does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._hooked import hooked_forward
from ._utils import ClassIndex
from .cam import CAMResult

__all__ = ["eigencam", "gradcampp", "layercam", "scorecam", "xgradcam"]

EPS = 1e-7  # keeps a division by a zero sum at zero: the references' 1e-6 to 1e-8


def gradcampp(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    target_layer: nn.Module | str | None = None,
    relu: bool = False,
) -> CAMResult:
    """Grad-CAM++ (Chattopadhyay et al., WACV 2018): positive gradients, weighted per position.

    Taught in chapter 9, "Can we trust a map?". With g = d logit_c / d f (the paper's
    exponential trick turns its higher derivatives into powers of g):

        a_k(x, y) = g_k(x, y)^2 / (2 g_k(x, y)^2 + sum_ab f_k(a, b) g_k(x, y)^3)   (0 where g = 0)
        w_k = sum_xy a_k(x, y) relu(g_k(x, y)),    map = sum_k w_k f_k

    as the paper's Eq. 19 and pytorch-grad-cam's ``grad_cam_plusplus.py`` compute it. Cost: one
    forward pass, one backward pass per class.

    Args:
        model: any differentiable network.
        x: images [B, C, H, W], float.
        class_idx: as for :class:`camlib.CAM` (None: the top ``topk``; an int; B ints, one per
            image; a [B, K] or [1, K] tensor; ``"all"``).
        topk: how many of the most likely classes, when ``class_idx`` is None.
        target_layer: the module (or its name) whose output [B, C, h, w] is weighted; by
            default the last 4-D feature map of the forward pass.
        relu: apply the paper's final ReLU to the maps.

    Returns:
        A :class:`camlib.CAMResult` with maps [B, K, h, w] and the target layer's features.

    Raises:
        ValueError: no 4-D feature map, or a ``target_layer`` that the forward pass does not run.
    """
    with hooked_forward(model, x, class_idx, topk, target_layer) as fw:
        f = fw.features
        total = f.sum(dim=(2, 3), keepdim=True)  # sum_ab f_k(a, b): [B, C, 1, 1]
        maps = []
        for g in fw.gradients():
            a = g**2 / (2 * g**2 + total * g**3 + EPS)
            a = torch.where(g != 0, a, torch.zeros_like(a))
            w = (a * g.clamp(min=0)).sum(dim=(2, 3), keepdim=True)
            maps.append((w * f).sum(dim=1))
    return fw.result(maps, relu)


def layercam(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    target_layer: nn.Module | str | None = None,
    relu: bool = False,
) -> CAMResult:
    """Layer-CAM (Jiang et al., IEEE TIP 2021): each position weighted by its own positive gradient.

    Taught in chapter 9, "Can we trust a map?". No average over positions:

        map(x, y) = sum_k relu(g_k(x, y)) f_k(x, y),    g = d logit_c / d f

    so it also works on early layers, where the gradient changes from place to place. Cost: one
    forward pass, one backward pass per class.

    Args:
        model: any differentiable network.
        x: images [B, C, H, W], float.
        class_idx: as for :class:`camlib.CAM`.
        topk: how many of the most likely classes, when ``class_idx`` is None.
        target_layer: the module (or its name) whose output [B, C, h, w] is weighted.
        relu: apply the paper's final ReLU to the maps.

    Returns:
        A :class:`camlib.CAMResult` with maps [B, K, h, w] and the target layer's features.

    Raises:
        ValueError: no 4-D feature map, or a ``target_layer`` that the forward pass does not run.
    """
    with hooked_forward(model, x, class_idx, topk, target_layer) as fw:
        maps = [(g.clamp(min=0) * fw.features).sum(dim=1) for g in fw.gradients()]
    return fw.result(maps, relu)


def xgradcam(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    target_layer: nn.Module | str | None = None,
    relu: bool = False,
) -> CAMResult:
    """XGrad-CAM (Fu et al., BMVC 2020): gradients averaged with the activations as weights.

    Taught in chapter 9, "Can we trust a map?". The weight of channel k is the gradient's mean
    weighted by where the channel is active:

        w_k = sum_xy g_k(x, y) f_k(x, y) / sum_xy f_k(x, y),    map = sum_k w_k f_k

    On a GAP -> Linear network g_k is the same at every position, so XGrad-CAM equals Grad-CAM.
    Cost: one forward pass, one backward pass per class.

    Args:
        model: any differentiable network.
        x: images [B, C, H, W], float.
        class_idx: as for :class:`camlib.CAM`.
        topk: how many of the most likely classes, when ``class_idx`` is None.
        target_layer: the module (or its name) whose output [B, C, h, w] is weighted.
        relu: apply the final ReLU to the maps.

    Returns:
        A :class:`camlib.CAMResult` with maps [B, K, h, w] and the target layer's features.

    Raises:
        ValueError: no 4-D feature map, or a ``target_layer`` that the forward pass does not run.
    """
    with hooked_forward(model, x, class_idx, topk, target_layer) as fw:
        f = fw.features
        total = f.sum(dim=(2, 3), keepdim=True) + EPS
        maps = [(((g * f).sum(dim=(2, 3), keepdim=True) / total) * f).sum(dim=1) for g in fw.gradients()]
    return fw.result(maps, relu)


def scorecam(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    target_layer: nn.Module | str | None = None,
    relu: bool = False,
    batch_size: int = 64,
) -> CAMResult:
    """Score-CAM (Wang et al., CVPR Workshops 2020): each channel weighted by the score it alone earns.

    Taught in chapter 9, "Can we trust a map?". Each feature map is upsampled to the input and
    scaled to [0, 1], H_k = (up(f_k) - min) / (max - min) (0 for a constant map), the image is
    masked with it, and the class logits y_c of the masked images, normalized by a softmax over
    the channels, are the weights (the paper's Algorithm 1, where subtracting the baseline's
    score changes nothing under the softmax; pytorch-grad-cam's ``score_cam.py`` and torchcam's
    ``ScoreCAM`` compute the same, though torchcam scales f_k to [0, 1] *before* upsampling,
    which moves the masks slightly, and the softmax can amplify that):

        w_k = exp(y_c(x * H_k)) / sum_j exp(y_c(x * H_j)),    map = sum_k w_k f_k

    No gradient at all; the cost is 1 + ceil(B * C / batch_size) forward passes (B * C masked
    images in batches), whatever the number of classes K.

    Args:
        model: any network.
        x: images [B, C_in, H, W], float.
        class_idx: as for :class:`camlib.CAM`.
        topk: how many of the most likely classes, when ``class_idx`` is None.
        target_layer: the module (or its name) whose output [B, C, h, w] is weighted.
        relu: apply the final ReLU to the maps.
        batch_size: masked images per forward pass.

    Returns:
        A :class:`camlib.CAMResult` with maps [B, K, h, w] and the target layer's features.

    Raises:
        ValueError: ``batch_size`` below 1, no 4-D feature map, or a ``target_layer`` that the
            forward pass does not run.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size is the number of masked images per forward pass, at least 1; got {batch_size}")
    with hooked_forward(model, x, class_idx, topk, target_layer, with_grad=False) as fw:
        fw.release()  # the masked passes below need no features
        f = fw.features
        b, c = f.shape[:2]
        up = F.interpolate(f, size=x.shape[-2:], mode="bilinear", align_corners=False)
        low, high = up.amin(dim=(2, 3), keepdim=True), up.amax(dim=(2, 3), keepdim=True)
        masks = torch.where(high > low, (up - low) / (high - low).clamp(min=EPS), torch.zeros_like(up))
        masks, image = masks.flatten(0, 1).unsqueeze(1), torch.arange(b, device=x.device).repeat_interleave(c)
        with torch.inference_mode():  # masked images made one batch at a time: B * C of them need not fit
            logits = torch.cat(
                [model(masks[i : i + batch_size] * x[image[i : i + batch_size]]) for i in range(0, b * c, batch_size)]
            )
        scores = logits.clone().view(b, c, -1).gather(2, fw.idx.unsqueeze(1).expand(b, c, -1))  # [B, C, K]
        weights = scores.softmax(dim=1)  # over the channels
    maps = torch.einsum("bck,bchw->bkhw", weights, f)
    return fw.result(maps, relu)


def eigencam(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex = None,
    topk: int = 1,
    target_layer: nn.Module | str | None = None,
    relu: bool = False,
) -> CAMResult:
    """Eigen-CAM (Muhammad and Yeasin, IJCNN 2020): the features' first principal component.

    Taught in chapter 9, "Can we trust a map?". With A the features of one image as a
    [h w, C] matrix, centred per channel (as pytorch-grad-cam's ``eigen_cam.py`` does), and
    A = U S V^T its singular value decomposition,

        map(x, y) = (A v_1)(x, y),    v_1 the first right singular vector

    whose sign (arbitrary in an SVD) is chosen so that the map correlates positively with the
    summed features. The map ignores the class: all K maps of an image are the same. Cost: one
    forward pass, no backward pass.

    Args:
        model: any network.
        x: images [B, C_in, H, W], float.
        class_idx: as for :class:`camlib.CAM` (it sets ``class_idx`` and ``probs``, not the maps).
        topk: how many of the most likely classes, when ``class_idx`` is None.
        target_layer: the module (or its name) whose output [B, C, h, w] is projected.
        relu: apply a ReLU to the maps.

    Returns:
        A :class:`camlib.CAMResult` with maps [B, K, h, w] (K equal maps per image) and the features.

    Raises:
        ValueError: no 4-D feature map, or a ``target_layer`` that the forward pass does not run.
    """
    with hooked_forward(model, x, class_idx, topk, target_layer, with_grad=False) as fw:
        f = fw.features
    b, c, h, w = f.shape
    a = f.flatten(2).transpose(1, 2).double()  # [B, h w, C]
    a = a - a.mean(dim=1, keepdim=True)
    v1 = torch.linalg.svd(a, full_matrices=False).Vh[:, 0]  # [B, C]
    proj = (a @ v1.unsqueeze(-1)).squeeze(-1)  # [B, h w]
    sign = torch.where((proj * f.sum(dim=1).flatten(1).double()).sum(dim=1) < 0, -1.0, 1.0)
    maps = (proj * sign[:, None]).to(f.dtype).view(b, 1, h, w).expand(-1, fw.idx.shape[1], -1, -1)
    return fw.result(maps.contiguous(), relu)
