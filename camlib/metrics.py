"""How good a map or a box is, against the truth, and whether the map is faithful to the network.

IoU, box accuracy, the paper's localization accuracy, and the pointing game (chapters 1 to 7);
and the measures of chapter 9, "Can we trust a map?": the pointing game and relevance mass
against masks or boxes, deletion and insertion (RISE), ROAD, Average Drop and Increase in
Confidence (Grad-CAM++), and the cascading randomization test (Adebayo et al.).

Boxes are ``(x0, y0, x1, y1)`` with exclusive ends, as everywhere in camlib.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._utils import pair

__all__ = [
    "Curve",
    "blur",
    "box_accuracy",
    "cascading_randomization",
    "deletion_insertion",
    "drop_and_increase",
    "iou",
    "localization_accuracy",
    "noisy_linear_imputation",
    "peak_in_box",
    "pointing_game",
    "region_masks",
    "relevance_mass",
    "road",
    "spearman",
    "ssim",
]


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two boxes ``(x0, y0, x1, y1)`` with exclusive ends.

    Taught in chapter 5, "From a map to a box".

    Args:
        a: one box.
        b: the other box.

    Returns:
        The IoU, in [0, 1]; 0 for two empty boxes.

    Raises:
        ValueError: a box is not 4 numbers with x0 <= x1 and y0 <= y1.
    """
    a, b = [float(v) for v in a], [float(v) for v in b]
    if len(a) != 4 or len(b) != 4:
        raise ValueError("boxes are 4 numbers (x0, y0, x1, y1)")
    for box in (a, b):
        if box[2] < box[0] or box[3] < box[1]:
            raise ValueError(f"box {tuple(box)} has x1 < x0 or y1 < y0; boxes are (x0, y0, x1, y1)")
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def box_accuracy(pred: Sequence[Sequence[int]], truth: Sequence[Sequence[int]], min_iou: float = 0.5) -> float:
    """The share of predicted boxes whose IoU with their true box is at least ``min_iou``.

    Taught in chapter 5, "From a map to a box". The class is not looked at; for the paper's
    metric, where it must be right too, see :func:`localization_accuracy`.

    Args:
        pred: N predicted boxes.
        truth: N true boxes, in the same order.
        min_iou: the bar; the paper's 0.5.

    Returns:
        The share, in [0, 1].

    Raises:
        ValueError: the two lists differ in length, or are empty.
    """
    if len(pred) != len(truth) or len(pred) == 0:
        raise ValueError(f"need as many predicted as true boxes (and at least one), got {len(pred)} and {len(truth)}")
    return sum(iou(p, t) >= min_iou for p, t in zip(pred, truth)) / len(pred)


def localization_accuracy(
    classes: Tensor,
    boxes: Sequence[Sequence[Sequence[int]]],
    labels: Tensor,
    truth: Sequence[Sequence[int]],
    min_iou: float = 0.5,
) -> float:
    """The CAM paper's localization accuracy: an image counts only when the class is right too.

    Taught in chapter 6, "Scoring localization the paper's way". An image is localized when
    one of its K guesses has the true class *and* a box with IoU >= ``min_iou``. K = 1 gives
    top-1, K = 5 top-5 localization accuracy; the paper reports the error, 1 minus this.

    Args:
        classes: [N, K] each image's K guessed classes (the top-K predictions).
        boxes: N lists of K boxes, the box of each guessed class.
        labels: [N] the true classes.
        truth: N true boxes.
        min_iou: the bar; the paper's 0.5.

    Returns:
        The share of localized images, in [0, 1].

    Raises:
        ValueError: the inputs disagree in length, or an image lacks a box for a guess.
    """
    classes = torch.as_tensor(classes)
    if classes.ndim != 2 or len(classes) != len(boxes) or len(labels) != len(classes) or len(truth) != len(classes):
        raise ValueError(
            f"expected classes [N, K], N lists of K boxes, labels [N] and N true boxes, got "
            f"{tuple(classes.shape)}, {len(boxes)}, {len(labels)} and {len(truth)}"
        )
    if len(classes) == 0 or any(len(b) != classes.shape[1] for b in boxes):
        raise ValueError(f"need at least one image, and one box per guessed class ({classes.shape[1]} per image)")
    hits = sum(
        any(int(c) == int(y) and iou(b, t) >= min_iou for c, b in zip(cs, bs))
        for cs, bs, y, t in zip(classes.tolist(), boxes, torch.as_tensor(labels).tolist(), truth)
    )
    return hits / len(classes)


def peak_in_box(maps: Tensor, boxes: Tensor) -> Tensor:
    """Is the maximum of each map inside its box? The "pointing game".

    Taught in chapter 1, "What CAM is, in one picture", and used in chapters 4 and 7. A
    weaker test than the share of evidence in the box: it asks only where the strongest
    evidence lies.

    Args:
        maps: [N, H, W] maps in the images' pixels.
        boxes: [N, 4] boxes ``(x0, y0, x1, y1)``, exclusive ends.

    Returns:
        bool [N].

    Raises:
        ValueError: the shapes do not match.
    """
    if maps.ndim != 3 or boxes.shape != (len(maps), 4):
        raise ValueError(f"expected maps [N, H, W] and boxes [N, 4], got {tuple(maps.shape)} and {tuple(boxes.shape)}")
    flat = maps.flatten(1).argmax(dim=1)
    y, x = flat // maps.shape[-1], flat % maps.shape[-1]
    return (x >= boxes[:, 0]) & (x < boxes[:, 2]) & (y >= boxes[:, 1]) & (y < boxes[:, 3])


# -- is the map on the object? ----------------------------------------------------------------
def region_masks(target: Tensor, size: int | Sequence[int]) -> Tensor:
    """The object's pixels as bool masks [N, H, W], from masks or from boxes.

    Taught in chapter 9, "Can we trust a map?", where the synthetic shapes come with both.

    Args:
        target: bool masks [N, H, W] (returned as they are, once their size is checked), or
            boxes [N, 4] ``(x0, y0, x1, y1)`` with exclusive ends.
        size: the images' (H, W), or one int for a square.

    Returns:
        bool [N, H, W].

    Raises:
        ValueError: ``target`` is neither [N, H, W] masks of that size nor [N, 4] boxes.
    """
    height, width = pair(size)
    if target.ndim == 3:
        if tuple(target.shape[1:]) != (height, width):
            raise ValueError(f"masks must be [N, {height}, {width}] to match size, got {tuple(target.shape)}")
        return target.bool()
    if target.ndim != 2 or target.shape[1] != 4:
        raise ValueError(f"expected masks [N, H, W] or boxes [N, 4] (x0, y0, x1, y1), got {tuple(target.shape)}")
    ys = torch.arange(height, device=target.device).view(1, -1, 1)
    xs = torch.arange(width, device=target.device).view(1, 1, -1)
    b = target.view(-1, 4, 1, 1)
    return (xs >= b[:, 0]) & (xs < b[:, 2]) & (ys >= b[:, 1]) & (ys < b[:, 3])


def _pixel_maps(maps: Tensor, size: tuple[int, int]) -> Tensor:
    """Maps [N, h, w] (or [N, 1, h, w]) at the images' size [N, H, W], upsampled when smaller."""
    if maps.ndim == 4 and maps.shape[1] == 1:
        maps = maps[:, 0]
    if maps.ndim != 3:
        raise ValueError(f"expected one map per image, [N, h, w], got {tuple(maps.shape)}; pick a class: maps[:, k]")
    if tuple(maps.shape[1:]) != size:
        from .postprocess import upsample

        maps = upsample(maps, size)
    return maps.float()


def pointing_game(maps: Tensor, target: Tensor, tolerance: int = 0) -> Tensor:
    """The pointing game (Zhang et al., IJCV 2018, "Top-down neural attention by excitation backprop").

    Taught in chapter 9, "Can we trust a map?". A hit when the map's maximum (the first in
    reading order on a tie) lies on the object, or within ``tolerance`` pixels of it (the paper
    uses 15 pixels on ImageNet-sized images); accuracy = hits / N. A constant map has no
    maximum and misses by rule (as TorchRay's benchmark counts it).

    Args:
        maps: [N, h, w] one map per image; upsampled to the target's size when smaller.
        target: the objects, as bool masks [N, H, W] or boxes [N, 4] ``(x0, y0, x1, y1)``
            (boxes need maps at the images' size, as the size is read from the maps).
        tolerance: pixels of slack around the object (a square neighbourhood).

    Returns:
        bool [N]: the hits.

    Raises:
        ValueError: the shapes do not match.
    """
    size = (maps.shape[-2], maps.shape[-1]) if target.ndim == 2 else (target.shape[1], target.shape[2])
    region = region_masks(target, size)
    m = _pixel_maps(maps, size)
    if len(m) != len(region):
        raise ValueError(f"need one map per object, got {len(m)} maps and {len(region)} objects")
    if tolerance > 0:
        k = 2 * tolerance + 1
        region = F.max_pool2d(region[:, None].float(), k, stride=1, padding=tolerance)[:, 0].bool()
    flat = m.flatten(1)
    peak = flat.argmax(dim=1)
    constant = flat.amax(dim=1) == flat.amin(dim=1)
    return region.flatten(1).gather(1, peak[:, None])[:, 0] & ~constant


def relevance_mass(maps: Tensor, target: Tensor) -> Tensor:
    """Relevance mass accuracy (Arras et al., Information Fusion 2022, "CLEVR-XAI"): the share on the object.

    Taught in chapter 9, "Can we trust a map?". With m+ = max(m, 0) the map's positive part
    and S the object's pixels,

        mass = sum_{(x,y) in S} m+(x, y) / sum_{(x,y)} m+(x, y)

    in [0, 1]: 1 when all positive evidence lies on the object; the object's share of the
    image for a map that ignores the image. A map with no positive value scores 0 by rule.

    Args:
        maps: [N, h, w] one map per image; upsampled to the target's size when smaller.
        target: the objects, as bool masks [N, H, W] or boxes [N, 4] ``(x0, y0, x1, y1)``
            (boxes need maps at the images' size, as the size is read from the maps).

    Returns:
        float [N].

    Raises:
        ValueError: the shapes do not match.
    """
    size = (maps.shape[-2], maps.shape[-1]) if target.ndim == 2 else (target.shape[1], target.shape[2])
    region = region_masks(target, size)
    pos = _pixel_maps(maps, size).clamp(min=0)
    if len(pos) != len(region):
        raise ValueError(f"need one map per object, got {len(pos)} maps and {len(region)} objects")
    total = pos.sum(dim=(1, 2))
    inside = (pos * region).sum(dim=(1, 2))
    return torch.where(total > 0, inside / total.clamp(min=torch.finfo(pos.dtype).tiny), torch.zeros_like(total))


# -- does the network need what the map shows? -----------------------------------------------
class Curve(NamedTuple):
    """A removal curve: the class probability as pixels are removed or restored.

    Taught in chapter 9, "Can we trust a map?".

    Attributes:
        fractions: [S] the share of pixels removed (or restored) at each step.
        scores: [N, S] the class probability at each step.
        auc: [N] the area under each curve (trapezoids over ``fractions``).
    """

    fractions: Tensor
    scores: Tensor
    auc: Tensor


def _probs(model: nn.Module, images: Tensor, class_idx: Tensor, batch_size: int) -> Tensor:
    """Softmax probability [M] of class ``class_idx[i]`` for each image [M, C, H, W], in eval mode."""
    from .modes import eval_mode

    with torch.inference_mode(), eval_mode(model):
        out = [
            model(images[i : i + batch_size]).softmax(dim=1).gather(1, class_idx[i : i + batch_size, None])[:, 0]
            for i in range(0, len(images), batch_size)
        ]
    return torch.cat(out)


def _order(maps: Tensor) -> Tensor:
    """[N, H * W] pixel indices, most relevant first (stable: ties in reading order)."""
    return torch.argsort(maps.flatten(1), dim=1, descending=True, stable=True)


def _class_tensor(class_idx: Tensor | Sequence[int] | int, n: int, device: torch.device) -> Tensor:
    idx = torch.as_tensor(class_idx, device=device).long()
    idx = idx.expand(n) if idx.ndim == 0 else idx.reshape(-1)
    if len(idx) != n:
        raise ValueError(f"class_idx needs one class per image ({n}), got {len(idx)}; pass a [N] tensor")
    return idx


def _auc(fractions: Tensor, scores: Tensor) -> Tensor:
    return torch.trapezoid(scores, fractions.to(scores), dim=1) / (fractions[-1] - fractions[0]).item()


def blur(x: Tensor, sigma: float = 5.0, kernel: int = 11) -> Tensor:
    """Gaussian blur of images [B, C, H, W] (reflect padding), the substrate of insertion.

    Taught in chapter 9, "Can we trust a map?"; RISE's ``evaluation.py`` blurs with a kernel
    of 11 and sigma 5, as here.

    Args:
        x: images [B, C, H, W].
        sigma: the Gaussian's standard deviation in pixels.
        kernel: the kernel's side, odd.

    Returns:
        Blurred images [B, C, H, W].
    """
    t = torch.arange(kernel, dtype=x.dtype, device=x.device) - (kernel - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    c = x.shape[1]
    pad = kernel // 2
    out = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    out = F.conv2d(out, g.view(1, 1, 1, -1).expand(c, 1, 1, kernel), groups=c)
    return F.conv2d(out, g.view(1, 1, -1, 1).expand(c, 1, kernel, 1), groups=c)


def deletion_insertion(
    model: nn.Module,
    x: Tensor,
    maps: Tensor,
    class_idx: Tensor | Sequence[int] | int,
    mode: str = "deletion",
    steps: int = 16,
    substrate: Tensor | None = None,
    batch_size: int = 64,
) -> Curve:
    """Deletion and insertion (Petsiuk et al., BMVC 2018, "RISE"), as removal curves and their area.

    Taught in chapter 9, "Can we trust a map?". Rank the pixels by the map, most relevant
    first. **Deletion** replaces the top fraction t of them with the substrate (zeros, as in
    RISE) and reads the class probability p_c(t); a faithful map makes it fall fast, so a
    *low* area is good. **Insertion** starts from the substrate (a blurred copy, as in RISE)
    and restores the top pixels; a *high* area is good. With t_i = i / steps,

        AUC = sum_i (t_{i+1} - t_i) (p_c(t_i) + p_c(t_{i+1})) / 2

    The images in between are unlike any the network was trained on, which is what ROAD
    (:func:`road`) corrects. Cost: N (steps + 1) images through the model.

    Args:
        model: the classifier.
        x: images [N, C, H, W], as the model takes them.
        maps: [N, h, w] one map per image; upsampled to (H, W) when smaller.
        class_idx: the class of each image's map: [N] (or one int for all).
        mode: ``"deletion"`` or ``"insertion"``.
        steps: the number of steps from 0 to all pixels.
        substrate: [N, C, H, W] what removed pixels become; zeros for deletion, :func:`blur`
            of ``x`` for insertion when None.
        batch_size: images per forward pass.

    Returns:
        A :class:`Curve`: fractions [steps + 1], scores [N, steps + 1], auc [N].

    Raises:
        ValueError: an unknown ``mode``, ``steps`` below 1, or shapes that do not match.
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode is 'deletion' or 'insertion', got {mode!r}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    n, c, h, w = x.shape
    m = _pixel_maps(maps, (h, w))
    idx = _class_tensor(class_idx, n, x.device)
    if substrate is None:
        substrate = torch.zeros_like(x) if mode == "deletion" else blur(x)
    start, end = (x, substrate) if mode == "deletion" else (substrate, x)
    rank = torch.empty_like(_order(m))
    rank.scatter_(1, _order(m), torch.arange(h * w, device=x.device).expand(n, -1))  # each pixel's rank
    counts = [round(i * h * w / steps) for i in range(steps + 1)]
    changed = torch.stack([rank < k for k in counts], dim=1).view(n, steps + 1, 1, h, w)  # [N, S, 1, H, W]
    images = torch.where(changed, end[:, None], start[:, None]).flatten(0, 1)
    scores = _probs(model, images, idx.repeat_interleave(steps + 1), batch_size).view(n, steps + 1)
    fractions = torch.tensor(counts, dtype=torch.float32) / (h * w)
    return Curve(fractions, scores.cpu(), _auc(fractions, scores.cpu()))


def noisy_linear_imputation(image: Tensor, removed: Tensor, noise: float = 0.01, seed: int = 0) -> Tensor:
    """Fill the removed pixels of one image from their neighbours (ROAD's noisy linear imputation).

    Taught in chapter 9, "Can we trust a map?". Rong et al. (ICML 2022) make each removed
    pixel the weighted mean of its 8 neighbours (weight 1/6 for the 4 direct, 1/12 for the 4
    diagonal ones), removed neighbours included, which is one sparse linear system per image,
    and then add Gaussian noise of standard deviation ``noise`` to the filled pixels, so that
    the hole's shape carries no information about the class (``tleemann/road_evaluation``).

    Args:
        image: [C, H, W].
        removed: bool [H, W], not every pixel.
        noise: the noise's standard deviation, in the image's units.
        seed: the noise's seed (the global random state is not touched).

    Returns:
        [C, H, W]: the image with its removed pixels filled.

    Raises:
        ValueError: every pixel is removed (nothing to fill from), or the shapes differ.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    c, h, w = image.shape
    if tuple(removed.shape) != (h, w):
        raise ValueError(f"removed must be [H, W] = [{h}, {w}], got {tuple(removed.shape)}")
    hole = removed.cpu().numpy().astype(bool)
    n = int(hole.sum())
    if n == 0:
        return image.clone()
    if n == h * w:
        raise ValueError("every pixel is removed: nothing to fill from; remove a fraction below 1")
    values = image.detach().cpu().double().numpy().reshape(c, -1)
    number = -np.ones(h * w, dtype=np.int64)
    number[hole.ravel()] = np.arange(n)
    ys, xs = np.nonzero(hole)
    rows, cols, data = [np.arange(n)], [np.arange(n)], []
    diag = np.zeros(n)
    rhs = np.zeros((n, c))
    for dy, dx, weight in [(0, 1, 1 / 6), (0, -1, 1 / 6), (1, 0, 1 / 6), (-1, 0, 1 / 6)] + [
        (dy, dx, 1 / 12) for dy in (-1, 1) for dx in (-1, 1)
    ]:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        p = np.nonzero(inside)[0]
        q = ny[inside] * w + nx[inside]
        diag[p] += weight
        unknown = number[q] >= 0
        rows.append(p[unknown])
        cols.append(number[q[unknown]])
        data.append(-weight * np.ones(int(unknown.sum())))
        rhs[p[~unknown]] += weight * values[:, q[~unknown]].T
    matrix = coo_matrix((np.concatenate([diag, *data]), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    solved = spsolve(matrix.tocsc(), rhs).reshape(n, c)
    gen = torch.Generator().manual_seed(seed)
    filled = torch.from_numpy(solved.T.copy()).float() + noise * torch.randn(c, n, generator=gen)
    out = image.detach().clone().reshape(c, -1)
    out[:, torch.from_numpy(hole.ravel()).to(out.device)] = filled.to(out)
    return out.view(c, h, w)


def road(
    model: nn.Module,
    x: Tensor,
    maps: Tensor,
    class_idx: Tensor | Sequence[int] | int,
    order: str = "morf",
    fractions: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    noise: float = 0.01,
    batch_size: int = 64,
) -> Curve:
    """ROAD: RemOve And Debias (Rong et al., ICML 2022, "A consistent and efficient evaluation strategy").

    Taught in chapter 9, "Can we trust a map?". Removes a fraction t of the pixels, the most
    relevant first (``"morf"``: a faithful map makes p_c(t) fall fast, a low area is good) or
    the least relevant first (``"lerf"``: p_c(t) should stay high), and fills them by
    :func:`noisy_linear_imputation` instead of a constant, so that the removal leaves no hole
    whose shape the network could read. The area is taken over ``fractions`` (trapezoids,
    divided by their span: the mean probability); the paper compares MoRF with LeRF, and a
    larger LeRF - MoRF gap is better. Cost: N len(fractions) images, each with a sparse solve.

    Args:
        model: the classifier.
        x: images [N, C, H, W], as the model takes them.
        maps: [N, h, w] one map per image; upsampled to (H, W) when smaller.
        class_idx: the class of each image's map: [N] (or one int).
        order: ``"morf"`` (most relevant first) or ``"lerf"`` (least relevant first).
        fractions: the shares of pixels removed, each in [0, 1).
        noise: the imputation's noise (standard deviation).
        batch_size: images per forward pass.

    Returns:
        A :class:`Curve`: fractions [S], scores [N, S], auc [N].

    Raises:
        ValueError: an unknown ``order``, or a fraction outside [0, 1).
    """
    if order not in ("morf", "lerf"):
        raise ValueError(f"order is 'morf' (most relevant first) or 'lerf' (least relevant first), got {order!r}")
    if not fractions or any(not 0 <= f < 1 for f in fractions):
        raise ValueError(f"fractions must be shares of pixels in [0, 1), got {tuple(fractions)}")
    n, c, h, w = x.shape
    m = _pixel_maps(maps, (h, w))
    idx = _class_tensor(class_idx, n, x.device)
    ranking = _order(m if order == "morf" else -m)
    images = []
    for i in range(n):
        for j, t in enumerate(fractions):
            removed = torch.zeros(h * w, dtype=torch.bool)
            removed[ranking[i, : round(t * h * w)].cpu()] = True
            images.append(noisy_linear_imputation(x[i], removed.view(h, w), noise, seed=i * len(fractions) + j))
    scores = _probs(model, torch.stack(images), idx.repeat_interleave(len(fractions)), batch_size)
    scores = scores.view(n, len(fractions)).cpu()
    grid = torch.tensor(list(fractions), dtype=torch.float32)
    auc = _auc(grid, scores) if len(fractions) > 1 else scores[:, 0]
    return Curve(grid, scores, auc)


def drop_and_increase(
    model: nn.Module, x: Tensor, maps: Tensor, class_idx: Tensor | Sequence[int] | int, batch_size: int = 64
) -> tuple[Tensor, Tensor]:
    """Average Drop and Increase in Confidence (Chattopadhyay et al., WACV 2018, "Grad-CAM++"), per image.

    Taught in chapter 9, "Can we trust a map?". The image is multiplied by its map, scaled to
    [0, 1] (ReLU, divided by its maximum), and the class probability O_c of that "explanation
    map" is compared with the image's own, Y_c:

        Average Drop = 100 / N sum_i max(0, Y_c^i - O_c^i) / Y_c^i      (lower is better)
        Increase in Confidence = 100 / N sum_i [O_c^i > Y_c^i]           (higher is better)

    This returns the per-image terms; their means times 100 are the paper's percentages.
    Cost: 2 N images through the model.

    Args:
        model: the classifier.
        x: images [N, C, H, W], as the model takes them.
        maps: [N, h, w] one map per image; upsampled to (H, W) when smaller.
        class_idx: the class of each image's map: [N] (or one int).
        batch_size: images per forward pass.

    Returns:
        ``(drop, increase)``: float [N] in [0, 1], and bool [N].
    """
    from .postprocess import normalize

    n, c, h, w = x.shape
    m = normalize(_pixel_maps(maps, (h, w)))
    idx = _class_tensor(class_idx, n, x.device)
    both = _probs(model, torch.cat([x, x * m[:, None].to(x)]), torch.cat([idx, idx]), batch_size).cpu()
    y, o = both[:n], both[n:]
    return (y - o).clamp(min=0) / y.clamp(min=torch.finfo(y.dtype).tiny), o > y


# -- does the map depend on the network? -----------------------------------------------------
def spearman(a: Tensor, b: Tensor) -> Tensor:
    """Spearman rank correlation of each pair of maps (ties get their average rank).

    Taught in chapter 9, "Can we trust a map?": the similarity of the sanity check.

    Args:
        a: [N, ...] maps.
        b: [N, ...] maps of the same shape.

    Returns:
        float [N] in [-1, 1]; NaN where a map is constant (it has no ranking).

    Raises:
        ValueError: the shapes differ.
    """
    from scipy.stats import rankdata

    if a.shape != b.shape:
        raise ValueError(f"the maps must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    ra = torch.from_numpy(rankdata(a.detach().cpu().flatten(1).double().numpy(), axis=1))
    rb = torch.from_numpy(rankdata(b.detach().cpu().flatten(1).double().numpy(), axis=1))
    ra, rb = ra - ra.mean(dim=1, keepdim=True), rb - rb.mean(dim=1, keepdim=True)
    return ((ra * rb).sum(dim=1) / (ra.norm(dim=1) * rb.norm(dim=1))).float()


def ssim(a: Tensor, b: Tensor, window: int = 7) -> Tensor:
    """Structural similarity (Wang et al., IEEE TIP 2004) of each pair of maps, each scaled to [0, 1] first.

    Taught in chapter 9, "Can we trust a map?": the second similarity of the sanity check, as
    Adebayo et al. use it. Each map is min-max scaled to [0, 1]; with means mu, variances
    sigma^2 and covariance sigma_ab over each ``window`` x ``window`` patch (uniform weights,
    sample covariance, as scikit-image's ``structural_similarity`` computes them by default),

        SSIM = mean over patches of  (2 mu_a mu_b + C1) (2 sigma_ab + C2)
                                     / ((mu_a^2 + mu_b^2 + C1) (sigma_a^2 + sigma_b^2 + C2))

    with C1 = 0.01^2 and C2 = 0.03^2, the patches lying wholly inside the map.

    Args:
        a: [N, h, w] maps.
        b: [N, h, w] maps of the same shape.
        window: the patch side, odd, at most the map's smaller side.

    Returns:
        float [N] in [-1, 1]; 1 for maps equal after scaling.

    Raises:
        ValueError: the shapes differ, or the window does not fit.
    """
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(f"expected two [N, h, w] maps of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if window % 2 == 0 or window > min(a.shape[-2:]):
        raise ValueError(f"window must be odd and at most the maps' side {min(a.shape[-2:])}, got {window}")

    def scaled(m: Tensor) -> Tensor:
        m = m.detach().double()
        low, high = m.amin((1, 2), keepdim=True), m.amax((1, 2), keepdim=True)
        return ((m - low) / (high - low).clamp(min=1e-12))[:, None]

    x, y = scaled(a), scaled(b)
    n = window * window
    mean = lambda t: F.avg_pool2d(t, window, stride=1)  # noqa: E731 - one line, read as a formula
    mx, my = mean(x), mean(y)
    cov = n / (n - 1)
    vx, vy, vxy = cov * (mean(x * x) - mx**2), cov * (mean(y * y) - my**2), cov * (mean(x * y) - mx * my)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(1, 2, 3)).float()


def cascading_randomization(
    model: nn.Module,
    x: Tensor,
    method: Callable[[nn.Module, Tensor, Tensor], Tensor],
    class_idx: Tensor | Sequence[int] | int,
    layers: Mapping[str, Sequence[str]] | None = None,
    seed: int = 0,
    similarity: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> dict[str, Tensor]:
    """The cascading model-parameter randomization test (Adebayo et al., NeurIPS 2018, "Sanity Checks").

    Taught in chapter 9, "Can we trust a map?". The layers with parameters are re-initialized
    one after another from the top (output) down, each on top of the ones before, on a copy of
    the model (``reset_parameters``, seeded, the global random state untouched); after each,
    the maps are recomputed for the same classes and compared with the trained network's by
    Spearman's rank correlation rho (:func:`spearman`). A map that explains the network must
    change: rho should fall towards 0 as layers are randomized. A map that stays the same
    (rho = 1, as an edge detector's) does not depend on what the network learnt.

    Args:
        model: the trained network (left as it was).
        x: images [N, C, H, W].
        method: ``method(model, x, class_idx) -> maps [N, h, w]``.
        class_idx: [N] the class of each image (kept fixed as the network changes), or one int.
        layers: the steps of the cascade, top first, as ``{label: [module names]}`` (every layer
            with parameters inside the named modules is re-initialized at that step, as Adebayo
            et al. do block by block for Inception); by default each layer with parameters is
            one step, named by its module's name.
        seed: the seed of the re-initialization.
        similarity: ``(maps, maps) -> [N]``; :func:`spearman` by default, or :func:`ssim`.

    Returns:
        ``{layer name: similarity [N]}`` in the order randomized, starting with ``"none"`` (1).

    Raises:
        ValueError: the model has no layer with parameters to randomize, or ``layers`` names a
            module it does not have.
    """
    import copy

    idx = _class_tensor(class_idx, len(x), x.device)
    original = method(model, x, idx)
    randomized = copy.deepcopy(model)
    modules = dict(randomized.named_modules())

    def with_parameters(module: nn.Module) -> list[nn.Module]:
        return [
            m for m in module.modules() if hasattr(m, "reset_parameters") and any(True for _ in m.parameters(False))
        ]

    if layers is None:
        steps = {
            name: [m] for name, m in reversed(modules.items()) if m is not randomized and with_parameters(m) == [m]
        }
    else:
        missing = [n for names in layers.values() for n in names if n not in modules]
        if missing:
            raise ValueError(f"no module named {missing} in {type(model).__name__}; see model.named_modules()")
        steps = {label: [m for n in names for m in with_parameters(modules[n])] for label, names in layers.items()}
    if not any(steps.values()):
        raise ValueError(f"{type(model).__name__} has no layer with parameters to randomize")
    compare = spearman if similarity is None else similarity
    out = {"none": compare(original, original)}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for label, step in steps.items():
            for layer in step:
                layer.reset_parameters()
                if hasattr(layer, "reset_running_stats"):
                    layer.reset_running_stats()
            out[label] = compare(original, method(randomized, x, idx))
    return out
