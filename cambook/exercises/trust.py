"""Checkers for chapter 9, "Can we trust a map?": relevance mass in boxes, and the insertion curve.

Each checker follows the registry's pattern (cases as plain data, a judge that compares with
camlib's reference and explains the first difference); :mod:`cambook.exercises` makes the
``check_box_mass`` and ``check_insertion_curve`` functions of them, as of every other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from camlib.metrics import deletion_insertion, relevance_mass

from .core import Case, CheckFailed, Net

__all__ = [
    "BOX_MASS",
    "INSERTION_CURVE",
    "box_mass_cases",
    "box_mass_judge",
    "insertion_curve_cases",
    "insertion_curve_judge",
]


BOX_MASS = (
    "``fn(maps [N, H, W], boxes [N, 4]) -> mass [N]``: relevance mass in boxes, the positive part of each map "
    "inside its box (x0, y0, x1, y1), exclusive ends, over the positive part everywhere; 0 for a map with no "
    "positive value."
)
INSERTION_CURVE = (
    "``fn(model, x [N, 3, H, W], maps [N, h, w], class_idx [N], steps) -> scores [N, steps + 1]``: the insertion "
    "curve from a black image: the class probability after restoring the round(i * H * W / steps) pixels with the "
    "largest map values (maps upsampled bilinearly to H x W), for i = 0 ... steps."
)


def tensor(rng: np.random.Generator, *shape: int) -> torch.Tensor:
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


def as_tensor(out: Any, shape: tuple, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{what}: expected a tensor of shape {shape}, got {type(out).__name__}.")
    if tuple(out.shape) != shape:
        raise CheckFailed(f"{what}: expected shape {shape}, got {tuple(out.shape)}.")
    if not torch.isfinite(out.float()).all():
        raise CheckFailed(f"{what}: your result holds NaN or infinite values; a map without positive values scores 0.")
    return out.detach().float().cpu()


# -- exercise 1: relevance mass in boxes ------------------------------------------------------
def box_mass_cases(rng: np.random.Generator) -> list[Case]:
    def boxes(n: int, size: int) -> torch.Tensor:
        x0, y0 = rng.integers(0, size - 2, n), rng.integers(0, size - 2, n)
        x1 = x0 + 1 + rng.integers(0, size - x0 - 1)
        y1 = y0 + 1 + rng.integers(0, size - y0 - 1)
        return torch.from_numpy(np.stack([x0, y0, x1, y1], 1).astype(np.int64))

    n = int(rng.integers(3, 7))
    flat = torch.zeros(2, 12, 12)
    negative = -tensor(rng, 2, 10, 10).abs()
    return [
        Case(f"{n} random maps 16 x 16 with random boxes", (tensor(rng, n, 16, 16), boxes(n, 16))),
        Case(
            "non-square maps 8 x 20",
            (tensor(rng, 3, 8, 20), torch.tensor([[0, 0, 5, 8], [3, 2, 20, 6], [19, 7, 20, 8]])),
        ),
        Case("all-zero maps (no positive value: 0 by rule)", (flat, torch.tensor([[0, 0, 6, 6], [2, 2, 12, 12]]))),
        Case(
            "all-negative maps (no positive value: 0 by rule)", (negative, torch.tensor([[0, 0, 10, 10], [1, 1, 4, 4]]))
        ),
        Case("boxes covering the whole map", (tensor(rng, 2, 9, 9), torch.tensor([[0, 0, 9, 9], [0, 0, 9, 9]]))),
        Case("one pixel boxes, a batch of one", (tensor(rng, 1, 6, 6), torch.tensor([[2, 3, 3, 4]]))),
    ]


def box_mass_judge(case: Case, out: Any) -> None:
    maps, boxes = case.args
    got = as_tensor(out, (len(maps),), case.label)
    want = relevance_mass(maps, boxes)
    if torch.allclose(got, want, atol=1e-5):
        return
    total = maps.clamp(min=0).sum(dim=(1, 2))
    rows = torch.arange(maps.shape[1]).view(1, -1, 1)
    cols = torch.arange(maps.shape[2]).view(1, 1, -1)
    b = boxes.view(-1, 4, 1, 1)
    inside = (cols >= b[:, 0]) & (cols < b[:, 2]) & (rows >= b[:, 1]) & (rows < b[:, 3])
    swapped = (rows >= b[:, 0]) & (rows < b[:, 2]) & (cols >= b[:, 1]) & (cols < b[:, 3])
    raw = (maps * inside).sum(dim=(1, 2)) / maps.sum(dim=(1, 2))
    if torch.allclose(got, (maps.clamp(min=0) * swapped).sum(dim=(1, 2)) / total.clamp(min=1e-12), atol=1e-5):
        raise CheckFailed(f"{case.label}: x and y are swapped; a box is (x0, y0, x1, y1), x the column.")
    if torch.isfinite(raw).all() and torch.allclose(got, raw, atol=1e-5):
        raise CheckFailed(f"{case.label}: keep only the positive part of the map, max(m, 0), before summing.")
    raise CheckFailed(
        f"{case.label}: expected {[round(v, 4) for v in want.tolist()]}, got {[round(v, 4) for v in got.tolist()]}: "
        "the positive map inside the box (exclusive ends) over the positive map everywhere."
    )


# -- exercise 2: the insertion curve ----------------------------------------------------------
def insertion_curve_cases(rng: np.random.Generator) -> list[Case]:
    def net() -> Net:
        return Net("gapnet", int(rng.integers(3, 6)), (4, 6), 16, int(rng.integers(0, 2**31 - 1)))

    def images(n: int, size: int) -> torch.Tensor:
        return torch.from_numpy(rng.random((n, 3, size, size)).astype(np.float32))

    def classes(model: Net, n: int) -> torch.Tensor:
        return torch.from_numpy(rng.integers(0, model.num_classes, n).astype(np.int64))

    a, b = net(), net()
    return [
        Case("a GAPNet, 3 images 16 x 16, 4 steps", (a, images(3, 16), tensor(rng, 3, 16, 16), classes(a, 3), 4)),
        Case("8 steps, maps at the feature grid (8 x 8)", (b, images(2, 16), tensor(rng, 2, 8, 8), classes(b, 2), 8)),
        Case(
            "one step (black, then the whole image), a batch of one",
            (a, images(1, 12), tensor(rng, 1, 12, 12), classes(a, 1), 1),
        ),
        Case(
            "steps that do not divide the pixels (7 steps of 144)",
            (b, images(2, 12), tensor(rng, 2, 12, 12), classes(b, 2), 7),
        ),
    ]


def insertion_curve_judge(case: Case, out: Any) -> None:
    net, x, maps, idx, steps = case.args
    model = net.build()
    got = as_tensor(out, (len(x), steps + 1), case.label)
    want = deletion_insertion(model, x, maps, idx, "insertion", steps=steps, substrate=torch.zeros_like(x)).scores
    if torch.allclose(got, want, atol=1e-4):
        return
    if torch.allclose(got, want.flip(1), atol=1e-4):
        raise CheckFailed(f"{case.label}: the curve runs backwards; it starts from the black image (no pixel).")
    with torch.no_grad():
        blank, full = model(torch.zeros_like(x)).softmax(1), model(x).softmax(1)
    ends = torch.stack([blank.gather(1, idx[:, None])[:, 0], full.gather(1, idx[:, None])[:, 0]], 1)
    if not torch.allclose(got[:, [0, -1]], ends, atol=1e-4):
        raise CheckFailed(
            f"{case.label}: the first point is the class probability of the black image and the last that of the "
            f"image itself: expected {ends.tolist()}, got {got[:, [0, -1]].tolist()} (softmax probabilities?)."
        )
    reverse = deletion_insertion(model, x, -maps, idx, "insertion", steps=steps, substrate=torch.zeros_like(x)).scores
    if torch.allclose(got, reverse, atol=1e-4):
        raise CheckFailed(f"{case.label}: you restore the least relevant pixels first; restore the largest map values.")
    raise CheckFailed(
        f"{case.label}: the points in between differ; restore round(i * H * W / steps) pixels at step i, ranked by "
        "the map upsampled to the image (bilinear), largest first."
    )
