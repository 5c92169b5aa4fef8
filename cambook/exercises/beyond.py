"""The cases and judges of the exercises that go past the chapters (one per chapter)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from camlib.metrics import iou

from .chapters import cam_reference
from .core import Case, CheckFailed, all_close, expect_tensor, normal_tensor, type_name


# -- exercises that go past the chapters ---------------------------------------------------------
def peak_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        h, w = (int(v) for v in rng.integers(3, 15, 2))
        cases.append(Case(f"a random {h}x{w} map, image 224x224", (normal_tensor(rng, h, w), (224, 224))))
    flat = torch.zeros(7, 7)
    flat[2, 5] = flat[4, 1] = 1.0
    cases.append(Case("a map whose maximum is reached twice (the first in reading order wins)", (flat, (224, 224))))
    cases.append(
        Case("a non-square image (width 300, height 200) and a 4x6 map", (normal_tensor(rng, 4, 6), (300, 200)))
    )
    return cases


def _peak_reference(cam: torch.Tensor, size: tuple[int, int]) -> tuple[float, float]:
    h, w = cam.shape
    i = int(torch.argmax(cam.flatten()))  # the first maximum in row-major order
    y, x = divmod(i, w)
    return ((x + 0.5) * size[0] / w, (y + 0.5) * size[1] / h)


def peak_judge(case: Case, out: Any) -> None:
    cam, size = case.args
    try:
        got = tuple(float(v) for v in out)
        if len(got) != 2:
            raise TypeError
    except (TypeError, ValueError):
        raise CheckFailed(f"return a pair (x, y) of pixel coordinates, got {type_name(out)}.") from None
    ref = _peak_reference(cam, size)
    if max(abs(a - b) for a, b in zip(got, ref)) < 1e-4:
        return
    h, w = cam.shape
    if max(abs(a - b) for a, b in zip(got, ref[::-1])) < 1e-4:
        raise CheckFailed(f"{case.label}: x and y are swapped: x is the column (width), y the row (height).")
    if max(abs(a - b) for a, b in zip(got, (ref[0] - 0.5 * size[0] / w, ref[1] - 0.5 * size[1] / h))) < 1e-4:
        raise CheckFailed(f"{case.label}: you returned the cell's top-left corner; return its centre.")
    raise CheckFailed(
        f"{case.label}: expected {tuple(round(v, 2) for v in ref)}, you returned "
        f"{tuple(round(v, 2) for v in got)}. A cell (row i, column j) covers the image's pixels from "
        "j * W / w to (j + 1) * W / w across."
    )


def gmp_head_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(label, (normal_tensor(rng, b, c, h, w), normal_tensor(rng, n, c), normal_tensor(rng, n)))
        for label, (b, c, h, w, n) in [
            ("B=2, C=8, h=w=4, N=5", (2, 8, 4, 4, 5)),
            ("a batch of one, 3x7 maps", (1, 6, 3, 7, 3)),
            ("1x1 maps (GMP equals GAP there)", (3, 4, 1, 1, 2)),
            ("random sizes", tuple(int(v) for v in rng.integers(1, 9, 5))),
        ]
    ]


def gmp_head_judge(case: Case, out: Any) -> None:
    f, wt, bias = case.args
    (b, _, h, w), n = f.shape, wt.shape[0]
    out = expect_tensor(out, (b, n), f"{case.label}: logits")
    ref = f.amax((2, 3)) @ wt.T + bias
    if all_close(out, ref):
        return
    if h * w > 1 and all_close(out, f.mean((2, 3)) @ wt.T + bias):
        raise CheckFailed("that is global *average* pooling; global max pooling keeps each channel's largest value.")
    if all_close(out, f.amax((2, 3)) @ wt.T):
        raise CheckFailed("the bias is missing.")
    if h * w > 1 and all_close(out, f.amax(1).flatten(1).amax(1, keepdim=True) * wt.sum(1) + bias):
        raise CheckFailed("you took the maximum over the channels too; take it over the positions only, per channel.")
    raise CheckFailed(f"{case.label}: logits differ from max over (h, w), then @ weight.T + bias.")


def contrast_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h, w, n in [(2, 6, 4, 4, 5), (1, 10, 7, 3, 4), (3, 4, 1, 1, 3)]:
        a = torch.from_numpy(rng.integers(0, n, b)).long()
        other = (a + torch.from_numpy(rng.integers(1, n, b)).long()) % n
        cases.append(
            Case(
                f"B={b}, C={c}, h={h}, w={w}, N={n}",
                (normal_tensor(rng, b, c, h, w).relu(), normal_tensor(rng, n, c), a, other),
            )
        )
    return cases


def contrast_judge(case: Case, out: Any) -> None:
    f, wt, a, other = case.args
    b, _, h, w = f.shape
    out = expect_tensor(out, (b, h, w), f"{case.label}: maps")
    ref = cam_reference(f, wt, a) - cam_reference(f, wt, other)
    if all_close(out, ref):
        return
    if all_close(out, -ref):
        raise CheckFailed("the sign is reversed: the map is CAM(class_a) - CAM(class_b), positive where a wins.")
    if all_close(out, cam_reference(f, wt, a).relu() - cam_reference(f, wt, other).relu()):
        raise CheckFailed(
            "you applied a ReLU to each map first; subtract the raw maps (then mean plus the "
            "biases' difference is the logits' difference)."
        )
    raise CheckFailed(f"{case.label}: maps differ from CAM(class_a) - CAM(class_b), the maps of (w[a] - w[b]).")


def topk_cams_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h, w, n, k in [(2, 8, 4, 4, 10, 5), (1, 6, 3, 5, 5, 5), (3, 4, 2, 2, 7, 1)]:
        cases.append(
            Case(
                f"B={b}, C={c}, h={h}, w={w}, N={n}, k={k}",
                (normal_tensor(rng, b, c, h, w).relu(), normal_tensor(rng, n, c), normal_tensor(rng, n), k),
            )
        )
    return cases


def topk_cams_judge(case: Case, out: Any) -> None:
    f, wt, bias, k = case.args
    b, _, h, w = f.shape
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"return a pair (maps, idx), got {type_name(out)}.")
    maps = expect_tensor(out[0], (b, k, h, w), f"{case.label}: maps")
    idx = expect_tensor(out[1], (b, k), f"{case.label}: idx")
    logits = f.mean((2, 3)) @ wt.T + bias
    ref_idx = logits.topk(k, dim=1).indices
    if idx.is_floating_point() or not torch.equal(idx.long(), ref_idx):
        if not idx.is_floating_point() and torch.equal(idx.long(), (f.mean((2, 3)) @ wt.T).topk(k, dim=1).indices):
            raise CheckFailed(f"{case.label}: you ranked the classes without the bias; the logits include it.")
        raise CheckFailed(f"{case.label}: idx is not the k most likely classes, most likely first.")
    ref = torch.einsum("bkc,bchw->bkhw", wt[ref_idx], f)
    if not all_close(maps, ref):
        if all_close(maps, ref.flip(1)):
            raise CheckFailed("the maps are in the reverse order of idx.")
        raise CheckFailed(f"{case.label}: maps[:, j] is not the raw CAM of class idx[:, j].")


def loc_cases(rng: np.random.Generator) -> list[Case]:
    def box(size: int = 64) -> list[int]:
        x0, y0 = (int(v) for v in rng.integers(0, size - 8, 2))
        return [x0, y0, x0 + int(rng.integers(4, 24)), y0 + int(rng.integers(4, 24))]

    cases = []
    for b, kk, k in [(6, 5, 5), (6, 5, 1), (4, 3, 3)]:
        labels = torch.from_numpy(rng.integers(0, 5, b)).long()
        classes = torch.stack([torch.from_numpy(rng.permutation(8)[:kk]) for _ in range(b)]).long()
        classes[0, -1], classes[1, 0] = labels[0], labels[1]  # right class last, and first
        truth = torch.tensor([box() for _ in range(b)])
        boxes = torch.tensor([[box() for _ in range(kk)] for _ in range(b)])
        boxes[1, 0] = truth[1]  # a perfect box for the right class
        boxes[0, -1] = truth[0] + torch.tensor([0, 0, 2, 2])
        cases.append(Case(f"{b} images, {kk} guesses each, k={k}", (classes, boxes, labels, truth, k)))
    labels = torch.tensor([2, 2])
    truth = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10]])
    classes = torch.tensor([[2, 1], [1, 2]])
    boxes = torch.tensor([[[0, 0, 10, 5], [0, 0, 10, 10]], [[0, 0, 10, 10], [0, 0, 10, 10]]])
    cases.append(
        Case("IoU exactly 0.5 counts; a right box for a wrong class does not", (classes, boxes, labels, truth, 1))
    )
    return cases


def _loc_reference(classes, boxes, labels, truth, k) -> list[bool]:
    return [
        any(
            int(classes[i, j]) == int(labels[i]) and iou(boxes[i, j].tolist(), truth[i].tolist()) >= 0.5
            for j in range(k)
        )
        for i in range(len(labels))
    ]


def loc_judge(case: Case, out: Any) -> None:
    classes, boxes, labels, truth, k = case.args
    ref = _loc_reference(classes, boxes, labels, truth, k)
    try:
        got = [bool(v) for v in (out.tolist() if isinstance(out, (torch.Tensor, np.ndarray)) else out)]
    except TypeError:
        raise CheckFailed(f"return one bool per image, got {type_name(out)}.") from None
    if got == ref:
        return
    if len(got) != len(ref):
        raise CheckFailed(f"{case.label}: return one bool per image ({len(ref)}), got {len(got)}.")
    if got == _loc_reference(classes, boxes, labels, truth, classes.shape[1]):
        raise CheckFailed(f"{case.label}: you looked at every guess; only the first k = {k} count.")
    if got == [any(iou(boxes[i, j].tolist(), truth[i].tolist()) >= 0.5 for j in range(k)) for i in range(len(ref))]:
        raise CheckFailed(f"{case.label}: a good box counts only for the right class (classes[i, j] == labels[i]).")
    raise CheckFailed(
        f"{case.label}: expected {ref}, you returned {got}. An image is right if one of its first k "
        "guesses has the true class and a box with IoU >= 0.5."
    )


def near_misses_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, c, k in [(40, 5, 10), (12, 3, 4), (8, 4, 8)]:
        logits = normal_tensor(rng, n, c, scale=2.0)
        labels = torch.from_numpy(rng.integers(0, c, n)).long()
        labels[: n // 2] = logits[: n // 2].argmax(1)  # half of them right, at least
        cases.append(Case(f"{n} images, {c} classes, k={k}", (logits, labels, k)))
    return cases


def _near_misses_reference(logits, labels, k) -> list[int]:
    probs = logits.softmax(1)
    top2 = probs.topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    right = (logits.argmax(1) == labels).nonzero().flatten().tolist()
    return sorted(right, key=lambda i: (float(gap[i]), i))[:k]


def near_misses_judge(case: Case, out: Any) -> None:
    logits, labels, k = case.args
    ref = _near_misses_reference(logits, labels, k)
    try:
        got = [int(v) for v in (out.tolist() if isinstance(out, (torch.Tensor, np.ndarray)) else out)]
    except (TypeError, ValueError):
        raise CheckFailed(f"return a tensor of indices, got {type_name(out)}.") from None
    if got == ref:
        return
    if sorted(got) == sorted(ref):
        raise CheckFailed(f"{case.label}: the right images, in the wrong order: smallest gap first.")
    wrong = set(got) - set((logits.argmax(1) == labels).nonzero().flatten().tolist())
    if wrong:
        raise CheckFailed(f"{case.label}: {len(wrong)} of your images are misclassified; keep the correct ones only.")
    raise CheckFailed(
        f"{case.label}: these are not the {len(ref)} correct images with the smallest gap between "
        "the two largest probabilities (softmax first: logits' gaps rank differently)."
    )


def flatten_maps_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(
            f"B={b}, C={c}, h={h}, w={w}, N={n}",
            (normal_tensor(rng, b, c, h, w).relu(), normal_tensor(rng, n, c * h * w)),
        )
        for b, c, h, w, n in [(2, 4, 4, 4, 3), (1, 6, 2, 5, 5), (3, 3, 3, 3, 3), (2, 5, 3, 4, 7)]
    ]


def flatten_maps_judge(case: Case, out: Any) -> None:
    f, wt = case.args
    (b, c, h, w), n = f.shape, wt.shape[0]
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (b, h, w):
        raise CheckFailed(
            f"{case.label}: you returned one map per image, {tuple(out.shape)}; return the map of "
            f"every class, [B, N, h, w] = {(b, n, h, w)}."
        )
    out = expect_tensor(out, (b, n, h, w), f"{case.label}: maps")
    ref = torch.einsum("nchw,bchw->bnhw", wt.view(n, c, h, w), f)
    if all_close(out, ref):
        return
    if all_close(out, torch.einsum("nhwc,bchw->bnhw", wt.view(n, h, w, c), f)):
        raise CheckFailed("the weights are reshaped in the wrong order: nn.Flatten lays out [C, h, w], channel first.")
    if all_close(out, ref / (h * w)):
        raise CheckFailed("do not divide by h*w: the flatten head sums over positions, its map sums to the logit.")
    raise CheckFailed(
        f"{case.label}: maps differ from sum_k w[c, k, y, x] * f[k, y, x] (each row of weight viewed as [C, h, w])."
    )
