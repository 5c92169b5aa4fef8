"""Checkers for the book's exercises.

Each ``check_*`` function takes the reader's function, calls it on fresh random inputs and
edge cases, compares what it returns with camlib's reference, and prints either a pass or a
specific explanation of the first case that fails (never the reference code). If the
function calls camlib's own implementation of the answer, the message says so.

    >>> from camlib.exercises import check_cam
    >>> check_cam(my_cam)            # doctest: +SKIP
    ✅ check_cam: 8 cases passed.

The checkers are written so that judging needs only *data*: a checker draws its cases
(:func:`cases`), the reader's function is called on them, and :func:`judge` compares the
returned values with the reference. In the book all three happen here, in the reader's
kernel. A grader can draw the cases in its own process with a secret seed, have the
function called somewhere else, and judge the values it gets back with the same messages.
:func:`verdict` is the programmatic form of a check: it returns a :class:`Verdict` instead
of printing.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .localize import cam_to_box, iou, normalize
from .models import FlattenNet, GAPNet


class CheckFailed(Exception):
    """A case where the reader's function disagrees with the reference."""


# -- what a case is made of ----------------------------------------------------------------------
@dataclass(frozen=True)
class Net:
    """A small network given by data: camlib's GAPNet or FlattenNet with seeded random weights.

    A case that needs a model holds a ``Net``; the model itself is built where the reader's
    function runs (:meth:`build`), so that the case stays plain data.
    """
    kind: str  # "gapnet" or "flattennet"
    num_classes: int
    widths: tuple[int, ...]
    input_size: int
    seed: int

    def build(self) -> nn.Module:
        if self.kind == "gapnet":
            model = GAPNet(self.num_classes, widths=tuple(self.widths), seed=self.seed)
        elif self.kind == "flattennet":
            model = FlattenNet(self.num_classes, widths=tuple(self.widths), input_size=self.input_size, seed=self.seed)
        else:
            raise ValueError(f"unknown network kind {self.kind!r}; use 'gapnet' or 'flattennet'")
        return model.eval()


@dataclass(frozen=True)
class Layer:
    """The submodule ``path`` (e.g. ``"features"`` or ``"features.5"``) of the network in argument ``net``."""
    net: int
    path: str


@dataclass(frozen=True)
class Case:
    """One call of the reader's function: what it is, in words, and its arguments (plain data,
    :class:`Net` and :class:`Layer` included)."""
    label: str
    args: tuple
    raises: bool = False  # the model raises on these inputs, on purpose (a hook must still be removed)


def materialize(args: tuple) -> tuple:
    """The arguments a function is called with: tensors and arrays copied, networks built."""
    built = [a.build() if isinstance(a, Net) else a for a in args]
    out = []
    for a in built:
        if isinstance(a, Layer):
            out.append(built[a.net].get_submodule(a.path))
        elif isinstance(a, torch.Tensor):
            out.append(a.clone())
        elif isinstance(a, np.ndarray):
            out.append(a.copy())
        else:
            out.append(a)
    return tuple(out)


def observe(args: tuple) -> dict[str, int]:
    """What a call left behind on the models it was given: forward hooks, and ``.grad`` set."""
    models = [a for a in args if isinstance(a, nn.Module)]
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for model in models for m in model.modules())
    grads = sum(p.grad is not None for model in models for p in model.parameters())
    return {"hooks": int(hooks), "grads": int(grads)}


@dataclass(frozen=True)
class Returned:
    """The function returned ``value``; ``observed`` is :func:`observe` after the call."""
    value: Any
    observed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Raised:
    """The function raised ``kind`` (the exception's class name) with ``message``, at ``line`` of its own code."""
    kind: str
    message: str
    line: str = ""
    observed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The result of a check: whether it passed, the message, and how many cases ran."""
    checker: str
    passed: bool
    message: str
    cases: int = 0
    done: bool = True  # False while the function still raises NotImplementedError

    def __str__(self) -> str:
        mark = "✅" if self.passed else ("⏳" if not self.done else "❌")
        return f"{mark} {self.checker}: {self.message}"


# -- helpers for the judges -------------------------------------------------------------------
def _type_name(value: Any) -> str:
    return getattr(value, "type_name", None) or type(value).__name__


def _expect_tensor(out: Any, shape: tuple, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor of shape {tuple(shape)}, got {_type_name(out)}.")
    if tuple(out.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(out.shape)}.")
    return out.detach()


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-4, rtol: float = 1e-4) -> bool:
    if a.shape != b.shape:
        return False
    a, b = a.detach().double(), b.detach().double()
    return bool(torch.isfinite(a).all()) and bool(torch.allclose(a, b, atol=atol, rtol=rtol))


def _t(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


# -- chapter 1: top-5 -----------------------------------------------------------------------
def _topk_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [(1, 5), (int(rng.integers(2, 6)), 1000), (int(rng.integers(1, 4)), int(rng.integers(6, 40)))]
    cases = [Case(f"logits of shape {s}", (_t(rng, *s, scale=3.0),)) for s in shapes]
    cases.append(Case("large logits (about 100)", (_t(rng, 2, 20, scale=100.0),)))
    return cases


def _topk_judge(case: Case, out: Any) -> None:
    (logits,) = case.args
    b, k = logits.shape[0], 5
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"return a pair (probs, idx), got {_type_name(out)}.")
    probs, idx = (_expect_tensor(o, (b, k), w) for o, w in zip(out, ("probs", "idx")))
    ref_p, ref_i = logits.softmax(1).topk(k, dim=1)
    if not torch.isfinite(probs).all():
        raise CheckFailed(f"{case.label}: probs are not finite; exp() overflows there, but logits.softmax(dim=1) "
                          "does not.")
    if idx.is_floating_point() or not torch.equal(idx.long(), ref_i):
        raise CheckFailed(f"{case.label}: idx is not the indices of the k largest classes in decreasing order "
                          "(torch.topk sorts for you).")
    if _close(probs, logits.gather(1, ref_i), atol=1e-5):
        raise CheckFailed("probs are raw logits: apply softmax over the classes first.")
    if not _close(probs, ref_p, atol=1e-5):
        raise CheckFailed(f"{case.label}: probs do not match softmax(logits) over dim=1 at the chosen classes.")


# -- chapter 2: the GAP head ----------------------------------------------------------------
def _gap_head_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [(2, 8, 4, 4, 5), (1, int(rng.integers(3, 17)), int(rng.integers(2, 8)), int(rng.integers(2, 8)), 10),
              (3, 4, 1, 1, 2), (int(rng.integers(1, 5)), 6, 5, 3, int(rng.integers(2, 8)))]
    return [Case(f"B={b}, C={c}, h={h}, w={w}, N={n}", (_t(rng, b, c, h, w), _t(rng, n, c), _t(rng, n)))
            for b, c, h, w, n in shapes]


def _gap_head_judge(case: Case, out: Any) -> None:
    f, wt, bias = case.args
    (b, _, h, w), n = f.shape, wt.shape[0]
    out = _expect_tensor(out, (b, n), "logits")
    ref = f.mean((2, 3)) @ wt.T + bias
    if h * w > 1 and _close(out, f.sum((2, 3)) @ wt.T + bias):
        raise CheckFailed("you summed over positions; global *average* pooling divides by h*w.")
    if _close(out, f.mean((2, 3)) @ wt.T):
        raise CheckFailed("the bias is missing.")
    if not _close(out, ref):
        raise CheckFailed(f"{case.label}: logits differ from mean over (h, w), then @ weight.T + bias.")


def _head_params_cases(rng: np.random.Generator) -> list[Case]:
    sizes = [(512, 7, 7, 1000), (3, 1, 1, 2)] + [tuple(int(v) for v in rng.integers(1, 65, 4)) for _ in range(4)]
    return [Case(f"n_ch={c}, h={h}, w={w}, classes={n}", (c, h, w, n)) for c, h, w, n in sizes]


def _head_params_judge(case: Case, out: Any) -> None:
    n_ch, h, w, n = case.args
    try:
        got = tuple(int(v) for v in out)
    except (TypeError, ValueError):
        raise CheckFailed(f"return a pair of ints (flatten_params, gap_params), got {_type_name(out)}.") from None
    if got == (n_ch * h * w * n, n_ch * n):
        raise CheckFailed("count the biases too: one per class in each head.")
    if got != (n_ch * h * w * n + n, n_ch * n + n):
        raise CheckFailed(f"for {case.label} you returned {got}; a Linear layer has in_features * out_features "
                          "weights plus out_features biases.")


# -- chapter 3: hook and CAM ----------------------------------------------------------------
def _net(rng: np.random.Generator, kind: str = "gapnet", size: int = 16) -> Net:
    widths = (int(rng.integers(3, 7)), int(rng.integers(4, 9)))
    return Net(kind, int(rng.integers(2, 6)), widths, size, _seed(rng))


def _hook_cases(rng: np.random.Generator) -> list[Case]:
    gap, flat = _net(rng), _net(rng, "flattennet")
    return [
        Case("GAPNet, layer `features`, a batch of one", (gap, Layer(0, "features"), _t(rng, 1, 3, 16, 16))),
        Case("GAPNet, layer `features.2`, a batch of 3", (gap, Layer(0, "features.2"), _t(rng, 3, 3, 12, 12))),
        Case("FlattenNet, layer `features.4`, a batch of 2", (flat, Layer(0, "features.4"), _t(rng, 2, 3, 16, 16))),
        Case("a forward pass that raises (FlattenNet fed a 12x12 image)",
             (flat, Layer(0, "features"), _t(rng, 1, 3, 12, 12)), raises=True),
    ]


def _hook_judge(case: Case, out: Any) -> None:
    net, layer, x = case.args
    model = net.build()
    kept = {}
    handle = model.get_submodule(layer.path).register_forward_hook(lambda m, i, o: kept.update(f=o.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    out = _expect_tensor(out, tuple(kept["f"].shape), f"{case.label}: the captured features")
    if not _close(out, kept["f"], atol=1e-5):
        raise CheckFailed(f"{case.label}: the captured tensor is not the output of `{layer.path}` for this x.")


def _cam_reference(f: torch.Tensor, wt: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bc,bchw->bhw", wt[idx], f)


def _cam_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [(3, 6, 4, 4, 6), (2, 8, 5, 5, 4), (1, 16, 7, 3, 10), (2, 5, 3, 3, 5),
              (int(rng.integers(1, 5)), int(rng.integers(2, 20)), int(rng.integers(1, 9)), int(rng.integers(1, 9)),
               int(rng.integers(2, 12)))]
    cases = []
    for b, c, h, w, n in shapes:
        f = _t(rng, b, c, h, w).relu()
        idx = torch.from_numpy(rng.integers(0, n, b)).long()
        cases.append(Case(f"B={b}, C={c}, h={h}, w={w}, N={n}" + (" (C == N)" if c == n else ""),
                          (f, _t(rng, n, c), idx)))
    return cases


def _cam_judge(case: Case, out: Any) -> None:
    f, wt, idx = case.args
    (b, c, h, w), n = f.shape, wt.shape[0]
    out = _expect_tensor(out, (b, h, w), f"{case.label}: maps")
    ref = _cam_reference(f, wt, idx)
    if _close(out, ref):
        return
    if _close(out, ref.relu()):
        raise CheckFailed("your maps are ReLU'd. The raw CAM keeps negative values, so that its mean plus "
                          "the bias is the logit; apply ReLU only for display.")
    if _close(out, normalize(ref)):
        raise CheckFailed("your maps are normalised; return the raw sum (normalise only for display).")
    if c == n and _close(out, _cam_reference(f, wt.T, idx)):
        raise CheckFailed("you used the weight matrix transposed: row w[c] (shape [C]) holds class c's weights.")
    if _close(out, ref / (h * w)):
        raise CheckFailed("your maps are divided by h*w; CAM's mean is the pooled logit, so do not average.")
    raise CheckFailed(f"{case.label}: maps differ from sum_k w[c, k] * f[:, k]; "
                      f"largest difference {float((out.double() - ref.double()).abs().max()):.3g}.")


# -- chapter 4: normalisation for display -----------------------------------------------------
def _normalize_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(2, 9)), int(rng.integers(2, 9)))
        cases.append(Case(f"random maps of shape {shape}", (_t(rng, *shape, scale=float(10 ** rng.uniform(-2, 2))),)))
    mixed = _t(rng, 3, 2, 6, 5)
    mixed[0, 1] = 0  # a flat zero map
    mixed[1, 0] = -mixed[1, 0].abs() - 0.1  # an all-negative map
    mixed[2, 1] = -1.0
    mixed[2, 1, 3, 2] = 0.5  # one positive pixel
    cases.append(Case("a batch with an all-zero map, an all-negative map and a single positive pixel", (mixed,)))
    cases.append(Case("1x1 maps, positive and negative", (torch.tensor([[[[2.0]], [[-3.0]]]]),)))
    cases.append(Case("one map with its maximum reached twice", (torch.tensor([[[[1.0, 3.0], [3.0, -2.0]]]]),)))
    return cases


def _normalize_judge(case: Case, out: Any) -> None:
    (maps,) = case.args
    out = _expect_tensor(out, tuple(maps.shape), f"{case.label}: normalised maps")
    if not torch.isfinite(out).all():
        raise CheckFailed(f"{case.label}: an all-zero (or all-negative) map became NaN: divide only where the "
                          "max is > 0.")
    ref = normalize(maps)
    if _close(out, ref, atol=1e-5):
        return
    lo, hi = maps.amin((2, 3), True), maps.amax((2, 3), True)
    if _close(out, (maps - lo) / (hi - lo).clamp(min=1e-12)):
        raise CheckFailed("that is min-max scaling; CAM display uses ReLU and then divides by the max.")
    if (out < -1e-6).any():
        raise CheckFailed("negative values remain: apply the ReLU first.")
    pos = maps.clamp(min=0)
    if _close(out, pos / pos.amax().clamp(min=1e-12)) or _close(out, pos / pos.amax(dim=(1, 2, 3), keepdim=True)
                                                                  .clamp(min=1e-12)):
        raise CheckFailed("you divided by the maximum of several maps; divide each map by its own maximum.")
    raise CheckFailed(f"{case.label}: values differ from relu(m) / max(relu(m)) per map.")


# -- chapter 5: boxes ------------------------------------------------------------------------
def _fixed_box_cases() -> list[tuple[str, np.ndarray, float]]:
    blob = np.zeros((20, 30), np.float32)
    blob[4:9, 6:15] = 1.0
    border = np.zeros((12, 12), np.float32)
    border[0:3, 9:12] = 1.0  # maximum on the border: x1 = 12 = width
    two = np.zeros((10, 20), np.float32)
    two[2:5, 1:4] = 1.0
    two[5:8, 12:16] = 0.9  # larger component, lower peak
    equal = np.zeros((10, 20), np.float32)
    equal[1:4, 1:4] = 0.8
    equal[6:9, 14:17] = 1.0  # equal sizes: the one holding the maximum wins
    weak = np.zeros((8, 8), np.float32)
    weak[2:6, 2:6] = 1.0
    weak[0, 0] = 0.15  # below 20% of the max: not part of the box
    diagonal = np.zeros((9, 9), np.float32)
    diagonal[[1, 2, 3, 4], [1, 2, 3, 4]] = 1.0  # one component only with 8-connectivity
    diagonal[6:9, 6:8] = 0.9
    negative = -np.ones((6, 9), np.float32)
    return [("a single rectangle", blob, 0.2), ("a blob touching the right border", border, 0.2),
            ("two blobs, the larger with the lower peak", two, 0.2), ("two blobs of equal size", equal, 0.2),
            ("a faint pixel below the threshold", weak, 0.2),
            ("a flat map (all equal)", np.full((5, 7), 0.3, np.float32), 0.2),
            ("pixels touching only at corners (8-connected)", diagonal, 0.5),
            ("a map with no positive value", negative, 0.2)]


def _box_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case(name, (cam, thr)) for name, cam, thr in _fixed_box_cases()]
    for k in range(4):
        h, w = (int(v) for v in rng.integers(8, 33, 2))
        yy, xx = np.mgrid[0:h, 0:w]
        cam = rng.standard_normal((h, w)).astype(np.float32) * 0.1
        for _ in range(int(rng.integers(1, 4))):
            cy, cx, s = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, 5)
            cam += rng.uniform(0.5, 2) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)).astype(np.float32)
        thr = float(np.round(rng.uniform(0.1, 0.7), 2))
        cases.append(Case(f"random blobs on a {h}x{w} map with negative noise, threshold {thr}", (cam, thr)))
    return cases


def _box_judge(case: Case, out: Any) -> None:
    cam, thr = case.args
    try:
        box = tuple(int(v) for v in out)
        if len(box) != 4:
            raise TypeError
    except (TypeError, ValueError):
        raise CheckFailed(f"return four ints (x0, y0, x1, y1), got {_type_name(out)}.") from None
    ref = cam_to_box(cam, thr)
    if box == ref:
        return
    name = case.label
    if box == (ref[0], ref[1], ref[2] - 1, ref[3] - 1):
        raise CheckFailed(f"{name}: you returned {box}, expected {ref}. Off by one: x1 and y1 are exclusive "
                          "(one past the last pixel), like Python slices.")
    if box == (ref[1], ref[0], ref[3], ref[2]):
        raise CheckFailed(f"{name}: x and y are swapped. Rows are y (axis 0), columns are x (axis 1).")
    raise CheckFailed(f"{name} (shape {cam.shape}, threshold {thr}): you returned {box}, expected {ref}. "
                      "Keep pixels >= threshold * max (negative values count as zero), take the largest connected "
                      "component (8-connected; on a tie, the one holding the maximum), and box it.")


def _iou_cases(rng: np.random.Generator) -> list[Case]:
    fixed = [((0, 0, 10, 10), (0, 0, 10, 10), "identical boxes"),
             ((0, 0, 10, 10), (10, 0, 20, 10), "boxes that only touch"),
             ((0, 0, 10, 10), (5, 5, 15, 15), "a quarter overlap"),
             ((0, 0, 4, 4), (1, 1, 2, 2), "one box inside the other"),
             ((0, 0, 3, 3), (20, 20, 25, 25), "disjoint boxes")]
    cases = [Case(label, (a, b)) for a, b, label in fixed]

    def box() -> tuple[int, int, int, int]:
        x0, y0 = (int(v) for v in rng.integers(0, 20, 2))
        return (x0, y0, x0 + int(rng.integers(1, 15)), y0 + int(rng.integers(1, 15)))

    return cases + [Case("random boxes", (box(), box())) for _ in range(20)]


def _iou_judge(case: Case, out: Any) -> None:
    a, b = case.args
    try:
        got = float(out)
    except (TypeError, ValueError):
        raise CheckFailed(f"return a float, got {_type_name(out)}.") from None
    ref = iou(a, b)
    if abs(got - ref) < 1e-6:
        return
    if case.label == "boxes that only touch":
        raise CheckFailed(f"boxes that only touch ({a}, {b}) share no pixel: IoU 0, you returned {got:.3f}. "
                          "With exclusive ends the width is x1 - x0, with no +1.")
    if ref == 0 and got < 0:
        raise CheckFailed(f"disjoint boxes {a}, {b} gave {got:.3f}: clamp the overlap's width and height at 0.")
    raise CheckFailed(f"iou({a}, {b}) should be {ref:.4f}, you returned {got:.4f}.")


# -- chapter 6: errors ------------------------------------------------------------------------
def _misclassified_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, c in [(50, 5), (int(rng.integers(5, 30)), 3), (int(rng.integers(2, 9)), 2)]:
        cases.append(Case(f"{n} images, {c} classes", (_t(rng, n, c), torch.from_numpy(rng.integers(0, c, n)).long())))
    logits = _t(rng, 6, 4)
    cases.append(Case("no mistakes at all", (logits, logits.argmax(1))))
    cases.append(Case("every image wrong", (logits, (logits.argmax(1) + 1) % 4)))
    return cases


def _misclassified_judge(case: Case, out: Any) -> None:
    logits, labels = case.args
    ref = (logits.argmax(1) != labels).nonzero().flatten()
    if isinstance(out, (torch.Tensor, np.ndarray)):
        values = [int(v) for v in np.asarray(out.detach() if isinstance(out, torch.Tensor) else out).ravel()]
    elif isinstance(out, (list, tuple)):
        try:
            values = [int(v) for v in out]
        except (TypeError, ValueError):
            raise CheckFailed(f"return a tensor of indices, got a {_type_name(out)} of other things.") from None
    else:
        raise CheckFailed(f"return a tensor of indices, got {_type_name(out)}.")
    n = len(labels)
    if values and len(values) == n - len(ref) and not set(values) & set(ref.tolist()):
        raise CheckFailed("you returned the correctly classified images; keep those where argmax != label.")
    if sorted(values) == ref.tolist() and values != ref.tolist():
        raise CheckFailed(f"{case.label}: the right indices, but not in ascending order.")
    if values != ref.tolist():
        raise CheckFailed(f"{case.label}: expected {len(ref)} misclassified images, got {len(values)} indices "
                          "that differ.")


# -- chapter 7: Grad-CAM weights ----------------------------------------------------------------
def _gradcam_cases(rng: np.random.Generator) -> list[Case]:
    gap, flat = _net(rng), _net(rng, "flattennet")
    return [
        Case("GAPNet, layer `features`, a batch of one", (gap, Layer(0, "features"), _t(rng, 1, 3, 16, 16),
                                                           int(rng.integers(0, gap.num_classes)))),
        Case("GAPNet, an inner layer (`features.5`), a batch of 3",
             (gap, Layer(0, "features.5"), _t(rng, 3, 3, 12, 12), int(rng.integers(0, gap.num_classes)))),
        Case("FlattenNet (no GAP), layer `features`, a batch of 2",
             (flat, Layer(0, "features"), _t(rng, 2, 3, 16, 16), int(rng.integers(0, flat.num_classes)))),
        Case("FlattenNet (no GAP), an inner layer (`features.2`), a batch of 2",
             (flat, Layer(0, "features.2"), _t(rng, 2, 3, 16, 16), int(rng.integers(0, flat.num_classes)))),
    ]


def _gradcam_reference(net: Net, path: str, x: torch.Tensor, c: int) -> tuple[torch.Tensor, int]:
    """Grad-CAM's alpha [B, C] at layer ``path`` of ``net`` for class ``c``, and the layer's h * w."""
    model = net.build()
    kept = {}
    handle = model.get_submodule(path).register_forward_hook(lambda m, i, o: kept.update(f=o))
    try:
        with torch.enable_grad():
            logits = model(x.detach().requires_grad_(True))
            (grad,) = torch.autograd.grad(logits[:, c].sum(), kept["f"])
    finally:
        handle.remove()
    return grad.mean(dim=(2, 3)), grad.shape[-2] * grad.shape[-1]


def _gradcam_judge(case: Case, out: Any) -> None:
    net, layer, x, c = case.args
    ref, hw = _gradcam_reference(net, layer.path, x, c)
    no_gap = net.kind != "gapnet"
    if no_gap and isinstance(out, torch.Tensor) and tuple(out.shape) != tuple(ref.shape):
        raise CheckFailed(f"{case.label}: alpha should have shape {tuple(ref.shape)}, got {tuple(out.shape)}. "
                          "On a network without GAP, alpha is not fc.weight[c] / (h*w): take the gradient "
                          "with torch.autograd.grad.")
    out = _expect_tensor(out, tuple(ref.shape), f"{case.label}: alpha")
    if _close(out, ref, atol=1e-5):
        return
    if hw > 1 and _close(out, ref * hw, atol=1e-5):
        raise CheckFailed("you summed the gradients over positions; Grad-CAM averages them (divide by h*w).")
    raise CheckFailed(f"{case.label}: alpha differs from the spatial mean of the gradient of logit[class_idx] "
                      "with respect to the layer's output" +
                      ("; without GAP the gradient is not fc.weight[c] / (h*w)." if no_gap else "."))


def _clean_model(case: Case, observed: dict) -> None:
    if observed.get("hooks"):
        raise CheckFailed(f"{case.label}: a hook is still attached after your function returns: call "
                          "handle.remove() (in a finally block, or use a with-statement).")


def _clean_gradients(case: Case, observed: dict) -> None:
    _clean_model(case, observed)
    if observed.get("grads"):
        raise CheckFailed("leave the model as you found it: use torch.autograd.grad (not .backward(), which "
                          "fills the parameters' .grad).")


# -- exercises that go past the chapters ---------------------------------------------------------
def _peak_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        h, w = (int(v) for v in rng.integers(3, 15, 2))
        cases.append(Case(f"a random {h}x{w} map, image 224x224", (_t(rng, h, w), (224, 224))))
    flat = torch.zeros(7, 7)
    flat[2, 5] = flat[4, 1] = 1.0
    cases.append(Case("a map whose maximum is reached twice (the first in reading order wins)", (flat, (224, 224))))
    cases.append(Case("a non-square image (width 300, height 200) and a 4x6 map", (_t(rng, 4, 6), (300, 200))))
    return cases


def _peak_reference(cam: torch.Tensor, size: tuple[int, int]) -> tuple[float, float]:
    h, w = cam.shape
    i = int(torch.argmax(cam.flatten()))  # the first maximum in row-major order
    y, x = divmod(i, w)
    return ((x + 0.5) * size[0] / w, (y + 0.5) * size[1] / h)


def _peak_judge(case: Case, out: Any) -> None:
    cam, size = case.args
    try:
        got = tuple(float(v) for v in out)
        if len(got) != 2:
            raise TypeError
    except (TypeError, ValueError):
        raise CheckFailed(f"return a pair (x, y) of pixel coordinates, got {_type_name(out)}.") from None
    ref = _peak_reference(cam, size)
    if max(abs(a - b) for a, b in zip(got, ref)) < 1e-4:
        return
    h, w = cam.shape
    if max(abs(a - b) for a, b in zip(got, ref[::-1])) < 1e-4:
        raise CheckFailed(f"{case.label}: x and y are swapped: x is the column (width), y the row (height).")
    if max(abs(a - b) for a, b in zip(got, (ref[0] - 0.5 * size[0] / w, ref[1] - 0.5 * size[1] / h))) < 1e-4:
        raise CheckFailed(f"{case.label}: you returned the cell's top-left corner; return its centre.")
    raise CheckFailed(f"{case.label}: expected {tuple(round(v, 2) for v in ref)}, you returned "
                      f"{tuple(round(v, 2) for v in got)}. A cell (row i, column j) covers the image's pixels from "
                      "j * W / w to (j + 1) * W / w across.")


def _gmp_head_cases(rng: np.random.Generator) -> list[Case]:
    return [Case(label, (_t(rng, b, c, h, w), _t(rng, n, c), _t(rng, n))) for label, (b, c, h, w, n) in [
        ("B=2, C=8, h=w=4, N=5", (2, 8, 4, 4, 5)), ("a batch of one, 3x7 maps", (1, 6, 3, 7, 3)),
        ("1x1 maps (GMP equals GAP there)", (3, 4, 1, 1, 2)),
        ("random sizes", tuple(int(v) for v in rng.integers(1, 9, 5)))]]


def _gmp_head_judge(case: Case, out: Any) -> None:
    f, wt, bias = case.args
    (b, _, h, w), n = f.shape, wt.shape[0]
    out = _expect_tensor(out, (b, n), f"{case.label}: logits")
    ref = f.amax((2, 3)) @ wt.T + bias
    if _close(out, ref):
        return
    if h * w > 1 and _close(out, f.mean((2, 3)) @ wt.T + bias):
        raise CheckFailed("that is global *average* pooling; global max pooling keeps each channel's largest value.")
    if _close(out, f.amax((2, 3)) @ wt.T):
        raise CheckFailed("the bias is missing.")
    if h * w > 1 and _close(out, f.amax(1).flatten(1).amax(1, keepdim=True) * wt.sum(1) + bias):
        raise CheckFailed("you took the maximum over the channels too; take it over the positions only, per channel.")
    raise CheckFailed(f"{case.label}: logits differ from max over (h, w), then @ weight.T + bias.")


def _contrast_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h, w, n in [(2, 6, 4, 4, 5), (1, 10, 7, 3, 4), (3, 4, 1, 1, 3)]:
        a = torch.from_numpy(rng.integers(0, n, b)).long()
        other = (a + torch.from_numpy(rng.integers(1, n, b)).long()) % n
        cases.append(Case(f"B={b}, C={c}, h={h}, w={w}, N={n}", (_t(rng, b, c, h, w).relu(), _t(rng, n, c), a, other)))
    return cases


def _contrast_judge(case: Case, out: Any) -> None:
    f, wt, a, other = case.args
    b, _, h, w = f.shape
    out = _expect_tensor(out, (b, h, w), f"{case.label}: maps")
    ref = _cam_reference(f, wt, a) - _cam_reference(f, wt, other)
    if _close(out, ref):
        return
    if _close(out, -ref):
        raise CheckFailed("the sign is reversed: the map is CAM(class_a) - CAM(class_b), positive where a wins.")
    if _close(out, _cam_reference(f, wt, a).relu() - _cam_reference(f, wt, other).relu()):
        raise CheckFailed("you applied a ReLU to each map first; subtract the raw maps (then mean plus the "
                          "biases' difference is the logits' difference).")
    raise CheckFailed(f"{case.label}: maps differ from CAM(class_a) - CAM(class_b), the maps of (w[a] - w[b]).")


def _topk_cams_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h, w, n, k in [(2, 8, 4, 4, 10, 5), (1, 6, 3, 5, 5, 5), (3, 4, 2, 2, 7, 1)]:
        cases.append(Case(f"B={b}, C={c}, h={h}, w={w}, N={n}, k={k}",
                          (_t(rng, b, c, h, w).relu(), _t(rng, n, c), _t(rng, n), k)))
    return cases


def _topk_cams_judge(case: Case, out: Any) -> None:
    f, wt, bias, k = case.args
    b, _, h, w = f.shape
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"return a pair (maps, idx), got {_type_name(out)}.")
    maps = _expect_tensor(out[0], (b, k, h, w), f"{case.label}: maps")
    idx = _expect_tensor(out[1], (b, k), f"{case.label}: idx")
    logits = f.mean((2, 3)) @ wt.T + bias
    ref_idx = logits.topk(k, dim=1).indices
    if idx.is_floating_point() or not torch.equal(idx.long(), ref_idx):
        if not idx.is_floating_point() and torch.equal(idx.long(), (f.mean((2, 3)) @ wt.T).topk(k, dim=1).indices):
            raise CheckFailed(f"{case.label}: you ranked the classes without the bias; the logits include it.")
        raise CheckFailed(f"{case.label}: idx is not the k most likely classes, most likely first.")
    ref = torch.einsum("bkc,bchw->bkhw", wt[ref_idx], f)
    if not _close(maps, ref):
        if _close(maps, ref.flip(1)):
            raise CheckFailed("the maps are in the reverse order of idx.")
        raise CheckFailed(f"{case.label}: maps[:, j] is not the raw CAM of class idx[:, j].")


def _loc_cases(rng: np.random.Generator) -> list[Case]:
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
    cases.append(Case("IoU exactly 0.5 counts; a right box for a wrong class does not",
                      (classes, boxes, labels, truth, 1)))
    return cases


def _loc_reference(classes, boxes, labels, truth, k) -> list[bool]:
    return [any(int(classes[i, j]) == int(labels[i]) and iou(boxes[i, j].tolist(), truth[i].tolist()) >= 0.5
                for j in range(k)) for i in range(len(labels))]


def _loc_judge(case: Case, out: Any) -> None:
    classes, boxes, labels, truth, k = case.args
    ref = _loc_reference(classes, boxes, labels, truth, k)
    try:
        got = [bool(v) for v in (out.tolist() if isinstance(out, (torch.Tensor, np.ndarray)) else out)]
    except TypeError:
        raise CheckFailed(f"return one bool per image, got {_type_name(out)}.") from None
    if got == ref:
        return
    if len(got) != len(ref):
        raise CheckFailed(f"{case.label}: return one bool per image ({len(ref)}), got {len(got)}.")
    if got == _loc_reference(classes, boxes, labels, truth, classes.shape[1]):
        raise CheckFailed(f"{case.label}: you looked at every guess; only the first k = {k} count.")
    if got == [any(iou(boxes[i, j].tolist(), truth[i].tolist()) >= 0.5 for j in range(k)) for i in range(len(ref))]:
        raise CheckFailed(f"{case.label}: a good box counts only for the right class (classes[i, j] == labels[i]).")
    raise CheckFailed(f"{case.label}: expected {ref}, you returned {got}. An image is right if one of its first k "
                      "guesses has the true class and a box with IoU >= 0.5.")


def _near_misses_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, c, k in [(40, 5, 10), (12, 3, 4), (8, 4, 8)]:
        logits = _t(rng, n, c, scale=2.0)
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


def _near_misses_judge(case: Case, out: Any) -> None:
    logits, labels, k = case.args
    ref = _near_misses_reference(logits, labels, k)
    try:
        got = [int(v) for v in (out.tolist() if isinstance(out, (torch.Tensor, np.ndarray)) else out)]
    except (TypeError, ValueError):
        raise CheckFailed(f"return a tensor of indices, got {_type_name(out)}.") from None
    if got == ref:
        return
    if sorted(got) == sorted(ref):
        raise CheckFailed(f"{case.label}: the right images, in the wrong order: smallest gap first.")
    wrong = set(got) - set((logits.argmax(1) == labels).nonzero().flatten().tolist())
    if wrong:
        raise CheckFailed(f"{case.label}: {len(wrong)} of your images are misclassified; keep the correct ones only.")
    raise CheckFailed(f"{case.label}: these are not the {len(ref)} correct images with the smallest gap between "
                      "the two largest probabilities (softmax first: logits' gaps rank differently).")


def _flatten_map_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, c, h, w, n in [(2, 4, 4, 4, 3), (1, 6, 2, 5, 5), (3, 3, 3, 3, 3)]:
        idx = torch.from_numpy(rng.integers(0, n, b)).long()
        cases.append(Case(f"B={b}, C={c}, h={h}, w={w}, N={n}",
                          (_t(rng, b, c, h, w).relu(), _t(rng, n, c * h * w), idx)))
    return cases


def _flatten_map_judge(case: Case, out: Any) -> None:
    f, wt, idx = case.args
    b, c, h, w = f.shape
    out = _expect_tensor(out, (b, h, w), f"{case.label}: maps")
    ref = (wt[idx].view(b, c, h, w) * f).sum(1)
    if _close(out, ref):
        return
    if _close(out, (wt[idx].view(b, h, w, c).permute(0, 3, 1, 2) * f).sum(1)):
        raise CheckFailed("the weights are reshaped in the wrong order: nn.Flatten lays out [C, h, w], channel first.")
    if _close(out, ref / (h * w)):
        raise CheckFailed("do not divide by h*w: the flatten head sums over positions, its map sums to the logit.")
    raise CheckFailed(f"{case.label}: maps differ from sum_k w[c, k, y, x] * f[k, y, x] "
                      "(weight[c] viewed as [C, h, w]).")


# -- the checkers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Exercise:
    """What a checker knows about one exercise: its contract, its cases, its judge, and which camlib
    callables *are* its answer (a solution that calls them is named in the message)."""
    checker: str
    contract: str
    cases: Callable[[np.random.Generator], list[Case]]
    judge: Callable[[Case, Any], None]
    after: Callable[[Case, dict], None] | None = None  # judges what the call left behind (see observe)
    references: tuple[str, ...] = ()


EXERCISES: dict[str, Exercise] = {e.checker: e for e in [
    Exercise("check_topk", "``fn(logits [B, N]) -> (probs [B, 5], idx [B, 5])``: softmax probabilities of the "
             "five most likely classes, most likely first.", _topk_cases, _topk_judge),
    Exercise("check_head_params", "``fn(n_ch, h, w, num_classes) -> (flatten_params, gap_params)``, weights plus "
             "biases.", _head_params_cases, _head_params_judge, references=("camlib.models.count_params",)),
    Exercise("check_gap_head", "``fn(features [B, C, h, w], weight [N, C], bias [N]) -> logits [B, N]``: GAP then "
             "Linear.", _gap_head_cases, _gap_head_judge),
    Exercise("check_hook", "``fn(model, layer, x) -> features``: the output of ``layer`` during ``model(x)``, "
             "no hook left behind (even if the forward pass raises).", _hook_cases, _hook_judge, _clean_model,
             references=("camlib.cam.CAM",)),
    Exercise("check_cam", "``fn(features [B, C, h, w], weight [N, C], class_idx [B]) -> maps [B, h, w]``: "
             "sum_k w^c_k f_k.", _cam_cases, _cam_judge, references=("camlib.cam.CAM", "camlib.localize.cam_maps")),
    Exercise("check_normalize", "``fn(maps [B, K, h, w]) -> [B, K, h, w]``: ReLU, then divide each map by its max "
             "(zero maps stay zero).", _normalize_cases, _normalize_judge, references=("camlib.localize.normalize",)),
    Exercise("check_box", "``fn(cam [H, W] array, threshold) -> (x0, y0, x1, y1)``, exclusive ends: the paper's "
             "box rule.", _box_cases, _box_judge,
             references=("camlib.localize.cam_to_box", "camlib.localize.cam_to_boxes", "camlib.localize.cam_boxes",
                         "camlib.localize.boxes_from_maps", "camlib.localize.localize")),
    Exercise("check_iou", "``fn(a, b) -> float``: intersection over union of two (x0, y0, x1, y1) boxes, exclusive "
             "ends.", _iou_cases, _iou_judge, references=("camlib.localize.iou", "camlib.localize.box_accuracy")),
    Exercise("check_misclassified", "``fn(logits [N, C], labels [N]) -> idx [M]``: indices of the wrongly "
             "classified images, ascending.", _misclassified_cases, _misclassified_judge),
    Exercise("check_gradcam_weights", "``fn(model, layer, x, class_idx) -> alpha [B, C]``: mean over (h, w) of "
             "d logit / d features, on any network (with or without GAP).", _gradcam_cases, _gradcam_judge,
             _clean_gradients, references=("camlib.gradcam.gradcam",)),
    Exercise("check_peak", "``fn(cam [h, w], image_size (W, H)) -> (x, y)``: "
             "the image pixel at the centre of the map's "
             "highest cell (the first one in reading order on a tie).", _peak_cases, _peak_judge),
    Exercise("check_gmp_head", "``fn(features [B, C, h, w], weight [N, C], bias [N]) -> logits [B, N]``: global max "
             "pooling then Linear.", _gmp_head_cases, _gmp_head_judge),
    Exercise("check_contrast_map", "``fn(features [B, C, h, w], weight [N, C], class_a [B], class_b [B]) -> "
             "maps [B, h, w]``: CAM of class_a minus CAM of class_b.", _contrast_cases, _contrast_judge,
             references=("camlib.cam.CAM", "camlib.localize.cam_maps")),
    Exercise("check_topk_cams", "``fn(features [B, C, h, w], weight [N, C], bias [N], k) -> (maps [B, k, h, w], "
             "idx [B, k])``: the raw CAMs of the k most likely classes, most likely first.", _topk_cams_cases,
             _topk_cams_judge, references=("camlib.cam.CAM", "camlib.localize.cam_maps")),
    Exercise("check_loc_correct", "``fn(classes [B, K], boxes [B, K, 4], labels [B], truth [B, 4], k) -> [B] bools``: "
             "the paper's top-k localization: one of the first k guesses has the true class and IoU >= 0.5.",
             _loc_cases, _loc_judge, references=("camlib.localize.box_accuracy",)),
    Exercise("check_near_misses", "``fn(logits [N, C], labels [N], k) -> idx [<= k]``: the correctly classified "
             "images with the smallest gap between their two largest probabilities, smallest gap first.",
             _near_misses_cases, _near_misses_judge),
    Exercise("check_flatten_map", "``fn(features [B, C, h, w], weight [N, C*h*w], class_idx [B]) -> maps [B, h, w]``: "
             "each position's exact contribution to a flatten head's logit.", _flatten_map_cases, _flatten_map_judge),
]}


def exercise(checker: str) -> Exercise:
    """The :class:`Exercise` behind ``checker`` (e.g. ``"check_box"``)."""
    try:
        return EXERCISES[checker]
    except KeyError:
        raise KeyError(f"no checker named {checker!r}; the checkers are {', '.join(EXERCISES)}") from None


def cases(checker: str, seed: int | None = None) -> list[Case]:
    """The cases of ``checker``, drawn from ``seed`` (fresh randomness from the OS when None)."""
    return exercise(checker).cases(np.random.default_rng(seed))


def judge(checker: str, cases: Sequence[Case], outcomes: Sequence[Any]) -> Verdict:
    """The verdict on a function from what it did on each case (:class:`Returned` or :class:`Raised`).

    Pure data in, verdict out: it runs the same wherever the function itself was called.
    """
    ex = exercise(checker)
    if len(outcomes) != len(cases):
        return Verdict(checker, False, f"expected {len(cases)} results, got {len(outcomes)}.")
    for case, outcome in zip(cases, outcomes):
        if isinstance(outcome, Raised) and outcome.kind == "NotImplementedError":
            return Verdict(checker, False, "not implemented yet (replace the `raise NotImplementedError` with "
                                           "your code).", done=False)
        try:
            if isinstance(outcome, Raised) and not case.raises:
                where = f" (at line {outcome.line})" if outcome.line else ""
                raise CheckFailed(f"your function raised {outcome.kind}: {outcome.message}{where} on "
                                  f"{case.label}.")
            if isinstance(outcome, Returned) and not case.raises:
                ex.judge(case, outcome.value)
            if ex.after is not None:
                ex.after(case, outcome.observed)
        except CheckFailed as err:
            return Verdict(checker, False, str(err))
    return Verdict(checker, True, f"{len(cases)} cases passed.", len(cases))


# -- calling the reader's function here, in the book --------------------------------------------
_LIBRARIES = (Path(torch.__file__).parent, Path(__file__).parent, Path(np.__file__).parent)


def where_raised(err: BaseException) -> str:
    """``'3: return f @ w'``: the line of the reader's own code (not library code) an error came from."""
    frames = traceback.extract_tb(err.__traceback__)
    yours = [f for f in frames[1:] if not any(Path(f.filename).is_relative_to(p) for p in _LIBRARIES)]
    frame = (yours or frames[-1:] or [None])[-1]
    return f"{frame.lineno}: {frame.line!r}" if frame is not None else ""


def call(fn: Callable, case: Case) -> Returned | Raised:
    """Call ``fn`` on one case and record what it returned or raised, and what it left behind."""
    args = materialize(case.args)
    try:
        value = fn(*args)
    except Exception as err:
        return Raised(type(err).__name__, " ".join(str(err).split())[:300], where_raised(err), observe(args))
    return Returned(value, observe(args))


def reference_calls(fn: Callable, references: Sequence[str]) -> list[str]:
    """The camlib callables among ``references`` (dotted names) that ``fn`` is, or that its code names.

    Looks at the names the function's code uses and what they are bound to, and at its source.
    """
    import importlib

    targets = {}
    for dotted in (*references, "camlib.exercises"):
        module, _, attr = dotted.rpartition(".")
        try:
            obj = getattr(importlib.import_module(module), attr) if module else importlib.import_module(dotted)
        except (ImportError, AttributeError):
            continue
        targets[id(obj)] = dotted
    found = []
    if id(fn) in targets:
        found.append(targets[id(fn)])
    code, env = getattr(fn, "__code__", None), getattr(fn, "__globals__", {})
    if code is not None:
        def names(c: types.CodeType):
            yield from c.co_names
            for const in c.co_consts:
                if isinstance(const, types.CodeType):
                    yield from names(const)

        used = set(names(code))
        for name in sorted(used):
            obj = env.get(name)
            if id(obj) in targets:
                found.append(targets[id(obj)])
            elif isinstance(obj, types.ModuleType):
                found += [targets[id(getattr(obj, a, None))] for a in sorted(used)
                          if id(getattr(obj, a, None)) in targets]
    short = {r.rsplit(".", 1)[1]: r for r in references}
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):  # no source (a builtin, a lambda in a REPL)
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        dotted = ast.unparse(node) if isinstance(node, ast.Attribute) else ""
        if dotted.startswith("camlib.exercises"):
            found.append("camlib.exercises")
        elif dotted.startswith("camlib.") and node.attr in short:
            found.append(short[node.attr])
    found = [f if f != "camlib.exercises" else "camlib.exercises (the checkers' own module)" for f in found]
    return list(dict.fromkeys(found))


def verdict(checker: str, fn: Callable, seed: int | None = None) -> Verdict:
    """Check ``fn`` with ``checker`` here, on fresh random cases; return the :class:`Verdict` (prints nothing)."""
    ex = exercise(checker)
    drawn = cases(checker, seed)
    outcomes: list[Returned | Raised] = []
    for case in drawn:
        outcomes.append(call(fn, case))
        if isinstance(outcomes[-1], Raised) and not case.raises:
            break  # the first crash is the message; the remaining cases would not change it
    result = judge(checker, drawn[:len(outcomes)], outcomes)
    used = reference_calls(fn, ex.references)
    if used and result.passed:
        named = ", ".join(f"`{u}`" for u in used)
        return Verdict(checker, False, f"{result.cases} cases pass, but your function uses {named}, camlib's own "
                                       "answer to this exercise: write it without it.", result.cases)
    return result


def _checker(name: str) -> Callable[[Callable], None]:
    def check(fn: Callable) -> None:
        print(verdict(name, fn))

    check.__name__ = check.__qualname__ = name
    check.__doc__ = exercise(name).contract + "\n\nPrints whether ``fn`` passes, or what is wrong; returns None."
    return check


check_topk = _checker("check_topk")
check_head_params = _checker("check_head_params")
check_gap_head = _checker("check_gap_head")
check_hook = _checker("check_hook")
check_cam = _checker("check_cam")
check_normalize = _checker("check_normalize")
check_box = _checker("check_box")
check_iou = _checker("check_iou")
check_misclassified = _checker("check_misclassified")
check_gradcam_weights = _checker("check_gradcam_weights")
check_peak = _checker("check_peak")
check_gmp_head = _checker("check_gmp_head")
check_contrast_map = _checker("check_contrast_map")
check_topk_cams = _checker("check_topk_cams")
check_loc_correct = _checker("check_loc_correct")
check_near_misses = _checker("check_near_misses")
check_flatten_map = _checker("check_flatten_map")
