"""The cases and judges of the exercises that vary what a chapter shows: the same idea with one thing
changed (a class's rank instead of the top five, hidden layers in the flatten head, a mask in the pooling,
a region's share of the logit, the box of the heaviest blob, every pair of boxes at once, top-k misses,
Grad-CAM maps with one class per image)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import ndimage

from camlib.boxes import cam_to_box

from .chapters import box_slips, cam_reference
from .core import Case, CheckFailed, Layer, Net, all_close, draw_seed, expect_tensor, normal_tensor, type_name

EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)
FOUR_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)


# -- small helpers ----------------------------------------------------------------------------------
def _classes(rng: np.random.Generator, n: int, b: int) -> torch.Tensor:
    """``b`` class indices in [0, n) as int64, all different while b <= n."""
    if b <= n:
        return torch.from_numpy(rng.permutation(n)[:b].copy()).long()
    return torch.from_numpy(rng.integers(0, n, b)).long()


def _ranks(logits: torch.Tensor, class_idx: torch.Tensor) -> torch.Tensor:
    """1 + the number of classes whose logit is strictly larger than the given class's, per row."""
    own = logits.gather(1, class_idx.long()[:, None])
    return 1 + (logits > own).sum(1)


def _int_pair(out: Any) -> tuple[int, int]:
    """``out`` as a pair of Python ints, or CheckFailed that says it is not one."""
    fail = CheckFailed(f"return a pair of ints (flatten_params, gap_params), got {type_name(out)}.")
    if isinstance(out, (str, bytes, dict)):
        raise fail
    try:
        values = [v.item() if isinstance(v, (torch.Tensor, np.ndarray, np.generic)) else v for v in out]
    except (TypeError, ValueError, RuntimeError):
        raise fail from None
    if len(values) != 2:
        raise CheckFailed(f"return a pair of ints (flatten_params, gap_params), got {len(values)} values.")
    pair = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
            raise CheckFailed(
                f"return a pair of ints (flatten_params, gap_params), got {values!r}: a number of "
                "parameters is a whole number."
            )
        pair.append(int(v))
    return pair[0], pair[1]


# -- the rank of a class ----------------------------------------------------------------------------
def class_rank_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, n in [(4, 10), (int(rng.integers(2, 7)), int(rng.integers(3, 30)))]:
        cases.append(Case(f"random logits, B={b}, N={n}", (normal_tensor(rng, b, n, scale=2.0), _classes(rng, n, b))))
    ties = torch.from_numpy(rng.integers(-2, 3, (6, 8)).astype(np.float32))
    idx = _classes(rng, 8, 6)
    for i in range(6):  # every given class shares its logit with at least one other class
        other = (int(idx[i]) + int(rng.integers(1, 8))) % 8
        ties[i, other] = ties[i, idx[i]]
    cases.append(Case("logits with ties (the given class shares its value with other classes)", (ties, idx)))
    cases.append(Case("a batch of one image (B=1)", (normal_tensor(rng, 1, 7, scale=2.0), _classes(rng, 7, 1))))
    cases.append(Case("logits around 1e3", (1e3 + normal_tensor(rng, 3, 12, scale=5.0), _classes(rng, 12, 3))))
    b = int(rng.integers(2, 5))
    cases.append(Case(f"N=1000 classes, B={b}", (normal_tensor(rng, b, 1000, scale=3.0), _classes(rng, 1000, b))))
    return cases


def class_rank_judge(case: Case, out: Any) -> None:
    logits, idx = case.args
    b, n = logits.shape
    out = expect_tensor(out, (b,), f"{case.label}: ranks")
    if out.dtype == torch.bool or out.is_complex():
        raise CheckFailed(
            f"{case.label}: ranks should be integers (1 for the most likely class), got a {out.dtype} tensor."
        )
    if out.is_floating_point():
        if not torch.isfinite(out).all():
            raise CheckFailed(
                f"{case.label}: your ranks contain NaN or infinity. No softmax is needed: it keeps "
                "the order of the logits, and exp() overflows for logits this large. Compare the "
                "logits themselves."
            )
        if not torch.equal(out, out.round()):
            raise CheckFailed(
                f"{case.label}: your ranks are not whole numbers ({out.tolist()[:5]}...): a rank counts classes."
            )
    got = out.long()
    ref = _ranks(logits, idx)
    if torch.equal(got, ref):
        return
    own = logits.gather(1, idx.long()[:, None])
    at_least = (logits >= own).sum(1)  # the class itself and its ties included
    if torch.equal(got, ref - 1):
        raise CheckFailed(
            f"{case.label}: your ranks are one too small (0-based): the most likely class has "
            "rank 1, so the rank is 1 + the number of classes with a larger logit."
        )
    if torch.equal(got, at_least + 1):
        raise CheckFailed(
            f"{case.label}: you counted the given class itself among those above it (>= instead "
            "of >): count only the classes whose logit is strictly larger."
        )
    if torch.equal(got, at_least):
        raise CheckFailed(
            f"{case.label}: classes tied with the given class were counted against it: a tie does "
            "not outrank it (tied classes share the better rank), so count only strictly larger "
            "logits."
        )
    below = (logits < own).sum(1)
    if any(torch.equal(got, v) for v in (below + 1, (logits <= own).sum(1), n + 1 - ref, n - ref)):
        raise CheckFailed(
            f"{case.label}: you ranked from the least likely class; rank 1 is the most likely (the largest logit)."
        )
    wrong = int((got != ref).nonzero()[0])
    raise CheckFailed(
        f"{case.label}: image {wrong} (class {int(idx[wrong])}) should have rank {int(ref[wrong])}, "
        f"you returned {int(got[wrong])}. The rank is 1 + the number of classes whose logit is "
        "strictly larger"
        + (
            "; ties share the better rank."
            if "ties" in case.label
            else "; compare the logits themselves: exp() overflows for logits this large, and no softmax is needed."
            if "1e3" in case.label
            else "."
        )
    )


# -- parameters of a flatten head with hidden layers -------------------------------------------------
def _chain_params(dims: tuple[int, ...], bias: bool = True) -> int:
    """Weights (and biases) of Linear layers from dims[0] through each next width to dims[-1]."""
    return sum(a * b + (b if bias else 0) for a, b in zip(dims, dims[1:]))


def head_params_hidden_cases(rng: np.random.Generator) -> list[Case]:
    def label(c: int, h: int, w: int, n: int, hidden: tuple | None) -> str:
        tail = " (no hidden argument: the default)" if hidden is None else f", hidden={hidden}"
        return f"n_ch={c}, h={h}, w={w}, classes={n}{tail}"

    cases = [
        Case(label(512, 7, 7, 1000, None), (512, 7, 7, 1000)),
        Case(
            "VGG-16 on ImageNet: n_ch=512, h=7, w=7, classes=1000, hidden=(4096, 4096)", (512, 7, 7, 1000, (4096, 4096))
        ),
        Case(label(3, 1, 1, 2, ()), (3, 1, 1, 2, ())),
    ]
    for _ in range(2):
        c, h, w, n = (int(v) for v in rng.integers(1, 65, 4))
        cases.append(Case(label(c, h, w, n, None), (c, h, w, n)))
    for _ in range(3):
        c, h, w, n = (int(v) for v in rng.integers(1, 65, 4))
        hidden = tuple(int(v) for v in rng.integers(1, 300, int(rng.integers(1, 4))))
        cases.append(Case(label(c, h, w, n, hidden), (c, h, w, n, hidden)))
    return cases


def head_params_hidden_judge(case: Case, out: Any) -> None:
    n_ch, h, w, n = case.args[:4]
    hidden = tuple(case.args[4]) if len(case.args) > 4 else ()
    got = _int_pair(out)
    flat, gap = _chain_params((n_ch * h * w, *hidden, n)), n_ch * n + n
    if got == (flat, gap):
        return
    flat_nb, gap_nb = _chain_params((n_ch * h * w, *hidden, n), bias=False), n_ch * n
    if hidden and got[0] in (_chain_params((n_ch * h * w, n)), _chain_params((n_ch * h * w, n), bias=False)):
        raise CheckFailed(
            f"{case.label}: the hidden layers are ignored. The flatten head is a chain of Linear "
            "layers, from n_ch*h*w inputs through each width in hidden to num_classes; count every "
            "layer's weights and biases."
        )
    if got[0] in (flat, flat_nb) and got[1] in (gap, gap_nb):
        raise CheckFailed(f"{case.label}: count the biases too: every Linear layer has one per output, in each head.")
    if hidden and got[1] in (_chain_params((n_ch, *hidden, n)), _chain_params((n_ch, *hidden, n), bias=False)):
        raise CheckFailed(
            f"{case.label}: the GAP head has no hidden layers: it is one Linear(n_ch, num_classes); "
            "the hidden widths belong to the flatten head only."
        )
    if got[0] != flat:
        raise CheckFailed(
            f"{case.label}: your flatten head has {got[0]:,} parameters, which is not right: a chain "
            "of Linear layers from n_ch*h*w inputs through each width in hidden to num_classes, each "
            "with in_features x out_features weights plus out_features biases."
        )
    raise CheckFailed(
        f"{case.label}: your GAP head has {got[1]:,} parameters, which is not right: one "
        "Linear(n_ch, num_classes), weights plus biases."
    )


# -- GAP over the valid cells only -----------------------------------------------------------------
def masked_gap_cases(rng: np.random.Generator) -> list[Case]:
    def data(b: int, c: int, h: int, w: int, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return normal_tensor(rng, b, c, h, w), normal_tensor(rng, n, c), normal_tensor(rng, n)

    def one_cell_each(mask: np.ndarray) -> np.ndarray:
        for i in range(len(mask)):  # at least one valid cell per image
            mask[i, int(rng.integers(0, mask.shape[1])), int(rng.integers(0, mask.shape[2]))] = True
        return mask

    cases = []
    f, wt, bias = data(2, 6, 4, 5, 3)
    cases.append(Case("an all-True mask (the plain GAP head)", (f, torch.ones(2, 4, 5, dtype=torch.bool), wt, bias)))
    b, c, h, w, n = 3, int(rng.integers(3, 9)), int(rng.integers(3, 8)), int(rng.integers(3, 8)), 4
    f, wt, bias = data(b, c, h, w, n)
    mask = one_cell_each(rng.random((b, h, w)) < 0.5)
    cases.append(Case(f"random masks, B={b}, C={c}, h={h}, w={w}, N={n}", (f, torch.from_numpy(mask), wt, bias)))
    f, wt, bias = data(2, 5, 4, 4, 3)
    mask = one_cell_each(np.zeros((2, 4, 4), dtype=bool))
    cases.append(Case("a mask with a single True cell per image", (f, torch.from_numpy(mask), wt, bias)))
    b, h, w = 4, 6, 7
    f, wt, bias = data(b, 5, h, w, 5)
    mask = np.zeros((b, h, w), dtype=bool)
    sizes = [(h, w), (int(rng.integers(1, h)), int(rng.integers(1, w)))] + [
        (int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))) for _ in range(b - 2)
    ]
    for i, (hi, wi) in enumerate(sizes):
        mask[i, :hi, :wi] = True
    cases.append(
        Case(
            "images of different sizes padded at the right and bottom (True in a top-left rectangle)",
            (f, torch.from_numpy(mask), wt, bias),
        )
    )
    f, wt, bias = data(1, 8, 5, 3, 6)
    cases.append(
        Case(
            "a batch of one (B=1), a random mask",
            (f, torch.from_numpy(one_cell_each(rng.random((1, 5, 3)) < 0.4)), wt, bias),
        )
    )
    return cases


def masked_gap_judge(case: Case, out: Any) -> None:
    f, mask, wt, bias = case.args
    (b, _, h, w), n = f.shape, wt.shape[0]
    out = expect_tensor(out, (b, n), f"{case.label}: logits")
    m = mask[:, None].to(f.dtype)
    summed = (f * m).sum((2, 3))
    count = mask.sum((1, 2)).to(f.dtype)[:, None]
    ref = summed / count @ wt.T + bias
    if all_close(out, ref):
        return
    if not torch.isfinite(out).all():
        raise CheckFailed(
            f"{case.label}: your logits hold NaN or infinity; every image has at least one True "
            "cell, so divide each image's masked sum by its own count of True cells."
        )
    if all_close(out, f.mean((2, 3)) @ wt.T + bias):
        raise CheckFailed(
            f"{case.label}: you averaged over every position, so the padding counts; average over "
            "the cells where the mask is True only."
        )
    if all_close(out, summed / (h * w) @ wt.T + bias):
        raise CheckFailed(
            f"{case.label}: you divided the masked sum by h*w; divide it by the number of valid "
            "(True) cells of each image, or the padding still pulls the average down."
        )
    if all_close(out, summed / count @ wt.T):
        raise CheckFailed("the bias is missing.")
    if all_close(out, summed / mask.sum() @ wt.T + bias):
        raise CheckFailed(
            f"{case.label}: you divided by the number of True cells of the whole batch; each image "
            "has its own mask, so divide by its own count."
        )
    raise CheckFailed(
        f"{case.label}: logits differ from the mean over the True cells of each image, then @ weight.T + bias."
    )


# -- a region's share of the logit ---------------------------------------------------------------------
def region_logit_cases(rng: np.random.Generator) -> list[Case]:
    def data(b: int, c: int, h: int, w: int, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return normal_tensor(rng, b, c, h, w).relu(), normal_tensor(rng, n, c), _classes(rng, n, b)

    def boxes(b: int, h: int, w: int) -> torch.Tensor:
        mask = np.zeros((b, h, w), dtype=bool)
        for i in range(b):
            y0, x0 = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
            mask[i, y0 : int(rng.integers(y0 + 1, h + 1)), x0 : int(rng.integers(x0 + 1, w + 1))] = True
        return torch.from_numpy(mask)

    cases = []
    f, wt, idx = data(2, 5, 4, 5, 5)
    cases.append(
        Case(
            "an all-True mask (the part is the map's mean), C == N (5 channels, 5 classes)",
            (f, wt, idx, torch.ones(2, 4, 5, dtype=torch.bool)),
        )
    )
    b, c, h, w, n = 3, int(rng.integers(3, 9)), int(rng.integers(3, 8)), int(rng.integers(3, 8)), 6
    f, wt, idx = data(b, c, h, w, n)
    cases.append(
        Case(
            f"random masks, B={b}, C={c}, h={h}, w={w}, N={n}",
            (f, wt, idx, torch.from_numpy(rng.random((b, h, w)) < 0.5)),
        )
    )
    f, wt, idx = data(3, 4, 6, 7, 6)
    cases.append(Case("box-shaped masks", (f, wt, idx, boxes(3, 6, 7))))
    f, wt, idx = data(2, 5, 4, 4, 5)
    cases.append(
        Case(
            "random masks, C == N (5 channels, 5 classes)", (f, wt, idx, torch.from_numpy(rng.random((2, 4, 4)) < 0.5))
        )
    )
    f, wt, idx = data(2, 6, 3, 5, 4)
    cases.append(
        Case("an all-False mask (an empty region: its part is 0)", (f, wt, idx, torch.zeros(2, 3, 5, dtype=torch.bool)))
    )
    f, wt, idx = data(1, 7, 5, 5, 3)
    cases.append(Case("a batch of one (B=1), a box-shaped mask", (f, wt, idx, boxes(1, 5, 5))))
    return cases


def region_logit_judge(case: Case, out: Any) -> None:
    f, wt, idx, mask = case.args
    (b, c, h, w), n = f.shape, wt.shape[0]
    out = expect_tensor(out, (b,), f"{case.label}: parts")
    cam = cam_reference(f, wt, idx)
    m = mask.to(cam.dtype)
    inside = (cam * m).sum((1, 2))
    ref = inside / (h * w)
    if all_close(out, ref):
        return
    cells = mask.sum((1, 2))
    if not torch.isfinite(out).all():
        if (cells == 0).any():
            raise CheckFailed(
                f"{case.label}: you returned NaN for an empty region; its part of the logit is 0. "
                "Divide the region's sum by h*w, the number of all cells, not by the number of "
                "masked cells."
            )
        raise CheckFailed(f"{case.label}: your parts hold NaN or infinity.")
    if all_close(out, inside / cells.clamp(min=1).to(cam.dtype)):
        raise CheckFailed(
            f"{case.label}: you took the mean over the region (divided by the number of masked "
            "cells); divide by h*w, the number of all cells, so that the parts of a mask and of its "
            "complement add up to the logit minus the bias."
        )
    if all_close(out, (cam.relu() * m).sum((1, 2)) / (h * w)):
        raise CheckFailed(
            f"{case.label}: you applied a ReLU to the map; use the raw map, negative cells "
            "included, or the parts no longer add up to the logit."
        )
    if h * w > 1 and all_close(out, inside):
        raise CheckFailed(
            f"{case.label}: divide the region's sum by h*w: the logit is the map's mean (plus "
            "the bias), so each cell contributes its value / (h*w)."
        )
    if c == n and all_close(out, (cam_reference(f, wt.T, idx) * m).sum((1, 2)) / (h * w)):
        raise CheckFailed("you used the weight matrix transposed: row weight[c] (shape [C]) holds class c's weights.")
    if (
        b > 1
        and bool((idx != idx[0]).any())
        and all_close(out, (cam_reference(f, wt, idx[:1].expand(b)) * m).sum((1, 2)) / (h * w))
    ):
        raise CheckFailed(
            f"{case.label}: you used class_idx[0] for every image; image i's part uses the row "
            "of its own class, class_idx[i]."
        )
    for i in range(b):
        if abs(float(out[i]) - float(ref[i])) <= 1e-4 + 1e-4 * abs(float(ref[i])):
            continue
        for other in range(n):
            part = float((cam_reference(f[i : i + 1], wt, torch.tensor([other])) * m[i]).sum()) / (h * w)
            if other != int(idx[i]) and abs(float(out[i]) - part) <= 1e-4 + 1e-4 * abs(part):
                raise CheckFailed(
                    f"{case.label}: image {i}'s part is that of class {other}, not of its class "
                    f"class_idx[{i}] = {int(idx[i])}: take the weight row of the image's own class."
                )
        break
    raise CheckFailed(
        f"{case.label}: parts differ from the sum over the masked cells of the map sum_k w[c, k] f_k, divided by h*w."
    )


# -- the box of the heaviest blob ---------------------------------------------------------------------
def _components(cam: np.ndarray, threshold: float, structure: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """The map with negatives set to 0, its labelled components above threshold * max, and how many."""
    arr = np.maximum(np.asarray(cam, dtype=np.float32), 0)
    if arr.max() <= 0:
        return arr, np.zeros(arr.shape, dtype=np.int32), 0
    labels, k = ndimage.label(arr >= np.float32(threshold) * arr.max(), structure=structure)
    return arr, labels, k


def _masses(arr: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return np.asarray(ndimage.sum(arr.astype(np.float64), labels, np.arange(1, k + 1)), dtype=np.float64)


def _bbox(selected: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(selected)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def _mass_box(cam: np.ndarray, threshold: float, structure: np.ndarray = EIGHT_NEIGHBOURS) -> tuple[int, int, int, int]:
    arr, labels, k = _components(cam, threshold, structure)
    if k == 0:
        return (0, 0, arr.shape[1], arr.shape[0])
    return _bbox(labels == 1 + int(np.argmax(_masses(arr, labels, k))))


def _fair(cam: np.ndarray, threshold: float) -> bool:
    """No pixel within rounding of the cut, no near tie between the heaviest components (either connectivity)."""
    arr = np.maximum(np.asarray(cam, dtype=np.float32), 0)
    peak = float(arr.max())
    if peak <= 0:
        return True
    if np.abs(arr.astype(np.float64) - threshold * peak).min() < 1e-4 * peak:
        return False
    for structure in (EIGHT_NEIGHBOURS, FOUR_NEIGHBOURS):
        arr, labels, k = _components(cam, threshold, structure)
        masses = np.sort(_masses(arr, labels, k))[::-1]
        if k > 1 and masses[0] - masses[1] < 1e-3 * masses[0]:
            return False
    return True


def fixed_mass_box_cases() -> list[tuple[str, np.ndarray, float]]:
    bright = np.zeros((16, 24), np.float32)
    bright[3:10, 2:9] = 0.3  # 49 cells, mass 14.7: the larger area
    bright[5:9, 15:19] = 1.0  # 16 cells, mass 16: the larger mass
    faint = np.zeros((16, 24), np.float32)
    faint[3:11, 2:10] = 0.4  # 64 cells, mass 25.6: larger on both counts
    faint[5:8, 16:19] = 1.0  # 9 cells, mass 9, the map's maximum
    corner = np.zeros((12, 20), np.float32)
    corner[2:5, 2:5] = 1.0
    corner[5:8, 5:8] = 0.8  # touches the first block at one corner: together mass 16.2
    corner[1:5, 12:16] = 0.9  # mass 14.4: heavier than either block alone
    border = np.zeros((12, 15), np.float32)
    border[7:12, 10:15] = 1.0  # reaches the right and bottom borders: x1 = W, y1 = H
    border[1:4, 1:4] = 0.9
    strip = np.zeros((8, 25), np.float32)
    strip[3:5, 1:20] = 0.35  # a long faint strip, 38 cells, mass 13.3
    strip[1:7, 21:24] = 1.0  # 18 cells, mass 18
    return [
        ("a big faint blob beside a small bright one (the bright one holds more mass)", bright, 0.2),
        ("a big faint blob that outweighs a small bright one", faint, 0.2),
        ("two blobs touching only at a corner (8-connected: one component)", corner, 0.5),
        ("a maximum on the border (the blob reaches the right and bottom edges)", border, 0.2),
        ("a flat positive map (all equal)", np.full((6, 9), 0.3, np.float32), 0.2),
        ("a map with no positive value", -np.ones((7, 5), np.float32), 0.2),
        ("a non-square 8x25 map: a long faint strip and a compact bright blob", strip, 0.2),
    ]


def _random_blobs(rng: np.random.Generator, differ: bool) -> tuple[np.ndarray, float]:
    """A smooth map of a few Gaussian blobs whose heaviest and largest components differ (or agree)."""
    for _ in range(500):
        h, w = (int(v) for v in rng.integers(10, 33, 2))
        yy, xx = np.mgrid[0:h, 0:w]
        cam = np.full((h, w), -rng.uniform(0, 0.05), dtype=np.float32)
        for j in range(int(rng.integers(2, 5))):
            tall = j == 0 and differ
            s = rng.uniform(0.8, 1.6) if tall else rng.uniform(1.5, 4.5)
            a = rng.uniform(1.5, 2.5) if tall else rng.uniform(0.3, 1.5)
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            cam += (a * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))).astype(np.float32)
        thr = float(np.round(rng.uniform(0.15, 0.4), 2))
        _, _, k = _components(cam, thr, EIGHT_NEIGHBOURS)
        if k > 1 and _fair(cam, thr) and (_mass_box(cam, thr) != cam_to_box(cam, thr)) == differ:
            return cam, thr
    raise RuntimeError("could not draw a fair random map")  # pragma: no cover - the loop succeeds in practice


def mass_box_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case(name, (cam, thr)) for name, cam, thr in fixed_mass_box_cases()]
    for differ in (True, True, False, True):
        cam, thr = _random_blobs(rng, differ)
        how = "the heaviest blob is not the largest" if differ else "the heaviest blob is also the largest"
        cases.append(Case(f"random blobs on a {cam.shape[0]}x{cam.shape[1]} map, threshold {thr} ({how})", (cam, thr)))
    return cases


def mass_box_judge(case: Case, out: Any) -> None:
    cam, thr = case.args
    try:
        box = tuple(int(v) for v in out)
    except (TypeError, ValueError, RuntimeError):
        raise CheckFailed(f"return four ints (x0, y0, x1, y1), got {type_name(out)}.") from None
    if len(box) != 4:
        raise CheckFailed(f"return four ints (x0, y0, x1, y1), got {len(box)} values.")
    ref = _mass_box(cam, thr)
    if box == ref:
        return
    name = case.label
    box_slips(name, box, ref)
    area = cam_to_box(cam, thr)
    if box == area and area != ref:
        raise CheckFailed(
            f"{name}: you kept the largest component by area (the paper's rule); this exercise "
            "keeps the component with the largest sum of map values, its evidence mass."
        )
    four = _mass_box(cam, thr, FOUR_NEIGHBOURS)
    if box == four and four != ref:
        raise CheckFailed(
            f"{name}: your components are 4-connected; pixels that touch at a corner belong to "
            "the same component (8-connectivity: a 3x3 structure of ones)."
        )
    arr, labels, k = _components(cam, thr, EIGHT_NEIGHBOURS)
    if k > 1 and box == _bbox(labels > 0):
        raise CheckFailed(
            f"{name}: you boxed every pixel above the threshold; keep only the component with the largest mass."
        )
    raise CheckFailed(
        f"{name} (shape {cam.shape}, threshold {thr}): you returned {box}, expected {ref}. "
        "Keep pixels >= threshold * max (negative values count as zero), label the 8-connected "
        "components, keep the one with the largest sum of map values, and box it (a map with no "
        "positive value gives the whole image)."
    )


# -- IoU of every pair of boxes ---------------------------------------------------------------------
def _pairwise(a: torch.Tensor, b: torch.Tensor, plus: int = 0, clamp: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Intersection and union [N, M] of every box of ``a`` with every box of ``b``, in float64."""
    a, b = a.double(), b.double()
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = rb - lt + plus
    inter = (wh.clamp(min=0) if clamp else wh).prod(2)

    def area(r: torch.Tensor) -> torch.Tensor:
        return (r[:, 2] - r[:, 0] + plus) * (r[:, 3] - r[:, 1] + plus)

    return inter, area(a)[:, None] + area(b)[None, :] - inter


def _iou_matrix(a: torch.Tensor, b: torch.Tensor, plus: int = 0, clamp: bool = True) -> torch.Tensor:
    inter, union = _pairwise(a, b, plus, clamp)
    return torch.where(
        union > 0, inter / torch.where(union > 0, union, torch.ones_like(union)), torch.zeros_like(union)
    )


def iou_matrix_cases(rng: np.random.Generator) -> list[Case]:
    def boxes(k: int, size: int = 64) -> torch.Tensor:
        x0, y0 = rng.integers(0, size - 8, k), rng.integers(0, size - 8, k)
        x1 = np.minimum(x0 + rng.integers(1, 25, k), size)
        y1 = np.minimum(y0 + rng.integers(1, 25, k), size)
        return torch.from_numpy(np.stack([x0, y0, x1, y1], 1)).long()

    def t(rows: list) -> torch.Tensor:
        return torch.tensor(rows, dtype=torch.long)

    same = t([[0, 0, 10, 10], [5, 5, 15, 20], [8, 2, 30, 12]])
    n, m = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    m = m if m != n else n + 1
    return [
        Case("identical boxes (the same three boxes in a and b)", (same, same.clone())),
        Case("random boxes on a 64x64 canvas, N=5, M=7", (boxes(5), boxes(7))),
        Case(
            "boxes that only touch (N=1, M=3)",
            (t([[0, 0, 10, 10]]), t([[10, 0, 20, 10], [0, 10, 10, 20], [10, 10, 20, 20]])),
        ),
        Case("nested boxes", (t([[0, 0, 20, 20], [4, 4, 12, 12]]), t([[2, 2, 8, 8], [0, 0, 20, 20], [4, 4, 12, 12]]))),
        Case(
            "disjoint boxes",
            (t([[0, 0, 3, 3], [40, 40, 50, 45]]), t([[20, 20, 25, 25], [5, 50, 9, 60], [60, 0, 64, 4]])),
        ),
        Case(f"random boxes on a 64x64 canvas, N={n}, M={m}", (boxes(n), boxes(m))),
        Case("one box against many (N=1, M=6)", (boxes(1), boxes(6))),
        Case("many boxes against one (N=4, M=1)", (boxes(4), boxes(1))),
        Case(
            "zero-area boxes (two of them have an empty union: IoU 0)",
            (t([[5, 5, 5, 10], [0, 0, 8, 8]]), t([[3, 3, 3, 3], [5, 5, 5, 10], [2, 2, 6, 6]])),
        ),
    ]


def iou_matrix_judge(case: Case, out: Any) -> None:
    a, b = case.args
    n, m = len(a), len(b)
    ref = _iou_matrix(a, b)
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"iou should be a torch.Tensor of shape {(n, m)}, got {type_name(out)}.")
    out = out.detach()
    if tuple(out.shape) == (m, n) and n != m and all_close(out.T, ref):
        raise CheckFailed(
            f"{case.label}: your result is transposed, [M, N]; row i is a's box i, column j "
            "is b's box j: iou has shape [N, M]."
        )
    if out.ndim == 1 and len(out) == min(n, m) and n == m and all_close(out, ref.diagonal()):
        raise CheckFailed(
            f"{case.label}: you compared only the pairs a[i], b[i] (the diagonal); compare every "
            "box of a with every box of b, an [N, M] matrix (give a and b each a new axis, so that "
            "they broadcast against each other)."
        )
    out = expect_tensor(out, (n, m), f"{case.label}: iou")
    if out.is_complex() or out.dtype == torch.bool:
        raise CheckFailed(f"{case.label}: iou should be a float tensor, got {out.dtype}.")
    if not out.is_floating_point():
        if torch.equal(out.double(), ref.floor()):
            raise CheckFailed(
                f"{case.label}: integer division: your IoUs are rounded down to 0 (or 1). Turn the "
                "areas into floats before dividing."
            )
        raise CheckFailed(f"{case.label}: iou should be a float tensor, got {out.dtype}.")
    nan = torch.isnan(out)
    if nan.any():
        _, union = _pairwise(a, b)
        empty = union == 0
        if torch.equal(nan, empty) and all_close(out[~nan], ref[~nan]):
            raise CheckFailed(
                f"{case.label}: two zero-area boxes have an empty union, and 0 / 0 gave NaN; return "
                "0 there (no overlap, nothing to measure)."
            )
        raise CheckFailed(f"{case.label}: your IoUs contain NaN.")
    if all_close(out, ref):
        return
    if all_close(out, ref.floor()):
        raise CheckFailed(
            f"{case.label}: integer division: your IoUs are rounded down to 0 (or 1). Turn the "
            "areas into floats before dividing."
        )
    if all_close(out, _iou_matrix(a, b, plus=1)):
        raise CheckFailed(
            f"{case.label}: a +1 in the widths: with exclusive ends a width is x1 - x0, with no +1 "
            "(boxes that only touch share no pixel: IoU 0)."
        )
    if all_close(out, _iou_matrix(a, b, clamp=False)):
        raise CheckFailed(
            f"{case.label}: disjoint boxes got an overlap: clamp the overlap's width and height at 0 "
            "before multiplying them."
        )
    i, j = divmod(int((out.double() - ref).abs().argmax()), m)
    raise CheckFailed(
        f"{case.label}: iou[{i}, {j}] of a = {a[i].tolist()} and b = {b[j].tolist()} should be "
        f"{float(ref[i, j]):.4f}, you returned {float(out[i, j]):.4f}."
    )


# -- the images missed at top-k ---------------------------------------------------------------------
def _missed(logits: torch.Tensor, labels: torch.Tensor, k: int) -> list[int]:
    return (_ranks(logits, labels) > k).nonzero().flatten().tolist()


def missed_at_k_cases(rng: np.random.Generator) -> list[Case]:
    def labels(n: int, c: int) -> torch.Tensor:
        return torch.from_numpy(rng.integers(0, c, n)).long()

    cases = [
        Case("20 images, 5 classes, k=1 (the misclassified images)", (normal_tensor(rng, 20, 5), labels(20, 5), 1)),
        Case(
            "30 images, 10 classes, k=5 (the CAM paper's top-5 error)", (normal_tensor(rng, 30, 10), labels(30, 10), 5)
        ),
    ]
    n = int(rng.integers(15, 40))
    cases.append(Case(f"{n} images, 8 classes, k=3", (normal_tensor(rng, n, 8), labels(n, 8), 3)))
    cases.append(Case("k = C = 6: nothing is missed (an empty result)", (normal_tensor(rng, 8, 6), labels(8, 6), 6)))
    logits = normal_tensor(rng, 10, 7)
    cases.append(Case("a batch with no misses at k=3", (logits, logits.argmax(1), 3)))
    logits = normal_tensor(rng, 6, 4)
    cases.append(Case("every image missed at k=1", (logits, (logits.argmax(1) + 1) % 4, 1)))
    logits = normal_tensor(rng, 1, 6)
    fourth = logits.argsort(1, descending=True)[:, 3]  # rank 4: missed at k=3, found at k=4
    cases.append(Case("a single image (N=1), k=3, its class ranked 4th", (logits, fourth, 3)))
    return cases


def missed_at_k_judge(case: Case, out: Any) -> None:
    logits, labels, k = case.args
    ref = _missed(logits, labels, k)
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{case.label}: return a torch tensor of integer indices, got {type_name(out)}.")
    if out.dtype == torch.bool:
        raise CheckFailed(
            f"{case.label}: you returned a boolean mask; return the indices of the images where it is True."
        )
    if out.ndim != 1:
        raise CheckFailed(f"{case.label}: idx should be one-dimensional, [M], got shape {tuple(out.shape)}.")
    if out.is_floating_point() or out.is_complex():
        raise CheckFailed(
            f"{case.label}: idx is a {out.dtype} tensor; return integer indices (int64), an empty "
            "result too (a tensor made from an empty list is float unless you give it an integer "
            "dtype)."
        )
    got = out.tolist()
    if got == ref:
        return
    hits = [i for i in range(len(labels)) if i not in set(ref)]
    if sorted(got) == hits:
        raise CheckFailed(
            f"{case.label}: you returned the images whose class is among the top k (the hits); "
            "return those missed: rank > k."
        )
    if sorted(got) == ref:
        raise CheckFailed(f"{case.label}: the right indices, but not in ascending order.")
    if k > 1 and got == _missed(logits, labels, 1):
        raise CheckFailed(
            f"{case.label}: you ignored k and returned the misclassified images (top-1); an image "
            f"is missed only if its class is not among its k = {k} most likely."
        )
    if any(got == _missed(logits, labels, kk) for kk in (k - 1, k + 1)):
        raise CheckFailed(
            f"{case.label}: off by one in k: an image is missed when its class's rank (1 for the "
            f"most likely) is larger than k = {k}; a class ranked exactly k is found."
        )
    raise CheckFailed(
        f"{case.label}: expected {len(ref)} missed images, got {len(got)} indices that differ. An "
        "image is missed when 1 + the number of classes with a larger logit than its true class "
        "is > k."
    )


# -- Grad-CAM maps, one class per image ---------------------------------------------------------------
def gradcam_maps_cases(rng: np.random.Generator) -> list[Case]:
    def net(kind: str) -> Net:
        return Net(
            kind, int(rng.integers(3, 6)), (int(rng.integers(3, 7)), int(rng.integers(4, 9))), 16, draw_seed(rng)
        )

    gap, flat = net("gapnet"), net("flattennet")
    return [
        Case(
            "GAPNet, layer `features`, a batch of 3, a different class per image",
            (gap, Layer(0, "features"), normal_tensor(rng, 3, 3, 16, 16), _classes(rng, gap.num_classes, 3)),
        ),
        Case(
            "GAPNet, an inner layer (`features.3`), a batch of 2",
            (gap, Layer(0, "features.3"), normal_tensor(rng, 2, 3, 12, 12), _classes(rng, gap.num_classes, 2)),
        ),
        Case(
            "FlattenNet (no GAP), layer `features`, a batch of 2",
            (flat, Layer(0, "features"), normal_tensor(rng, 2, 3, 16, 16), _classes(rng, flat.num_classes, 2)),
        ),
        Case(
            "FlattenNet (no GAP), an inner layer (`features.5`), a batch of 3",
            (flat, Layer(0, "features.5"), normal_tensor(rng, 3, 3, 16, 16), _classes(rng, flat.num_classes, 3)),
        ),
        Case(
            "GAPNet, layer `features`, a batch of one",
            (gap, Layer(0, "features"), normal_tensor(rng, 1, 3, 16, 16), _classes(rng, gap.num_classes, 1)),
        ),
    ]


def _gradcam_parts(net: Net, path: str, x: torch.Tensor, class_idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradient of the selected logits (summed) with respect to layer ``path``'s output, and that output."""
    model = net.build()
    kept = {}
    handle = model.get_submodule(path).register_forward_hook(lambda m, i, o: kept.update(f=o))
    try:
        with torch.enable_grad():
            logits = model(x.detach().requires_grad_(True))
            (grad,) = torch.autograd.grad(logits.gather(1, class_idx.long()[:, None]).sum(), kept["f"])
    finally:
        handle.remove()
    return grad, kept["f"].detach()


def gradcam_maps_judge(case: Case, out: Any) -> None:
    net, layer, x, idx = case.args
    grad, f = _gradcam_parts(net, layer.path, x, idx)
    b, _, h, w = f.shape
    out = expect_tensor(out, (b, h, w), f"{case.label}: maps")
    raw = (grad.mean((2, 3))[:, :, None, None] * f).sum(1)
    if all_close(out, raw.relu(), atol=1e-5):
        return
    if all_close(out, raw, atol=1e-5):
        raise CheckFailed("the ReLU is missing: Grad-CAM keeps only the positive evidence, ReLU(sum_k alpha_k f_k).")
    if h * w > 1 and all_close(out, (raw * (h * w)).relu(), atol=1e-5):
        raise CheckFailed("you summed the gradients over positions; Grad-CAM averages them (divide by h*w).")
    if b > 1 and bool((idx != idx[0]).any()):
        g0, _ = _gradcam_parts(net, layer.path, x, idx[:1].expand(b))
        same = (g0.mean((2, 3))[:, :, None, None] * f).sum(1)
        if all_close(out, same.relu(), atol=1e-5) or all_close(out, same, atol=1e-5):
            raise CheckFailed(
                f"{case.label}: every image got the map of class_idx[0]; each image has its own "
                "class: select logit[i, class_idx[i]] for image i before summing and taking the "
                "gradient."
            )
    raise CheckFailed(
        f"{case.label}: maps differ from ReLU(sum_k alpha[i, k] f[i, k]), alpha the spatial mean "
        "of the gradient of logit[i, class_idx[i]] with respect to the layer's output."
    )
