"""Checkers for the book's exercises.

Each ``check_*`` function takes the reader's function, calls it on fresh random inputs
and edge cases, compares it with camlib's reference, and prints either a pass or a
specific explanation of the first case that fails (it never prints the reference code).
It returns True or False, so a grader can count passes.

    >>> from camlib.exercises import check_cam
    >>> check_cam(my_cam)            # doctest: +SKIP
    ✅ check_cam: 6 cases passed.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .localize import cam_to_box, iou, normalize


class CheckFailed(Exception):
    """A case where the reader's function disagrees with the reference."""


def _run(name: str, cases: Callable[[], int]) -> bool:
    try:
        n = cases()
    except NotImplementedError:
        print(f"⏳ {name}: not implemented yet (replace the `raise NotImplementedError` with your code).")
        return False
    except CheckFailed as err:
        print(f"❌ {name}: {err}")
        return False
    except Exception as err:  # the reader's code crashed: show where, in their words
        frames = traceback.extract_tb(err.__traceback__)
        library = (Path(torch.__file__).parent, Path(__file__).parent, Path(np.__file__).parent)
        yours = [f for f in frames if not any(Path(f.filename).is_relative_to(p) for p in library)]
        where = (yours or frames)[-1]
        print(f"❌ {name}: your function raised {type(err).__name__}: {err} (at line {where.lineno}: {where.line!r})")
        return False
    print(f"✅ {name}: {n} cases passed.")
    return True


def _expect_tensor(out, shape: tuple, what: str) -> torch.Tensor:
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor of shape {shape}, got {type(out).__name__}.")
    if tuple(out.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(out.shape)}.")
    return out


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# -- chapter 1: top-5 -----------------------------------------------------------------------
def check_topk(fn: Callable, k: int = 5) -> bool:
    """``fn(logits [B, N]) -> (probs [B, k], idx [B, k])``: softmax probabilities of the top-k classes."""

    def cases() -> int:
        for i, (b, n) in enumerate([(1, 10), (4, 1000), (3, 7)]):
            logits = torch.randn(b, n, generator=_gen(i)) * 3
            out = fn(logits)
            if not isinstance(out, tuple) or len(out) != 2:
                raise CheckFailed("return a pair (probs, idx).")
            probs, idx = (_expect_tensor(o, (b, k), w) for o, w in zip(out, ("probs", "idx")))
            ref_p, ref_i = logits.softmax(1).topk(k, dim=1)
            if not torch.equal(idx.long(), ref_i):
                raise CheckFailed("idx is not the k largest classes in decreasing order (torch.topk sorts for you).")
            if torch.allclose(probs, logits.gather(1, ref_i), atol=1e-5):
                raise CheckFailed("probs are raw logits: apply softmax over the classes first.")
            if not torch.allclose(probs, ref_p, atol=1e-5):
                raise CheckFailed("probs do not match softmax(logits) over dim=1 at the chosen classes.")
        return 3

    return _run("check_topk", cases)


# -- chapter 2: the GAP head ----------------------------------------------------------------
def check_gap_head(fn: Callable) -> bool:
    """``fn(features [B, C, h, w], weight [N, C], bias [N]) -> logits [B, N]``: GAP then Linear."""

    def cases() -> int:
        for i, (b, c, h, w, n) in enumerate([(2, 8, 4, 4, 5), (1, 16, 7, 3, 10), (3, 4, 1, 1, 2)]):
            g = _gen(10 + i)
            f, wt, bias = torch.randn(b, c, h, w, generator=g), torch.randn(n, c, generator=g), torch.randn(n, generator=g)
            out = _expect_tensor(fn(f, wt, bias), (b, n), "logits")
            ref = f.mean((2, 3)) @ wt.T + bias
            if torch.allclose(out, f.sum((2, 3)) @ wt.T + bias, atol=1e-4) and h * w > 1:
                raise CheckFailed("you summed over positions; global *average* pooling divides by h*w.")
            if torch.allclose(out, f.mean((2, 3)) @ wt.T, atol=1e-4):
                raise CheckFailed("the bias is missing.")
            if not torch.allclose(out, ref, atol=1e-4):
                raise CheckFailed(f"case {i}: logits differ from mean over (h, w), then @ weight.T + bias.")
        return 3

    return _run("check_gap_head", cases)


def check_head_params(fn: Callable) -> bool:
    """``fn(n_ch, h, w, num_classes) -> (flatten_params, gap_params)``, weights plus biases."""

    def cases() -> int:
        for n_ch, h, w, n in [(64, 16, 16, 5), (512, 7, 7, 1000), (3, 1, 1, 2), (128, 8, 4, 10)]:
            out = fn(n_ch, h, w, n)
            ref = (n_ch * h * w * n + n, n_ch * n + n)
            if tuple(out) == (n_ch * h * w * n, n_ch * n):
                raise CheckFailed("count the biases too: one per class in each head.")
            if tuple(out) != ref:
                raise CheckFailed(f"for n_ch={n_ch}, h={h}, w={w}, classes={n} you returned {tuple(out)}; "
                                  "a Linear layer has in_features * out_features weights plus out_features biases.")
        return 4

    return _run("check_head_params", cases)


# -- chapter 3: hook and CAM ----------------------------------------------------------------
def check_hook(fn: Callable) -> bool:
    """``fn(model, layer, x) -> features``: the output of ``layer`` during ``model(x)``, hook removed after."""

    def cases() -> int:
        from .models import GAPNet

        model = GAPNet(3).eval()
        for i, b in enumerate([1, 4]):
            x = torch.randn(b, 3, 32, 32, generator=_gen(20 + i))
            out = fn(model, model.features, x)
            with torch.no_grad():
                ref = model.features(x)
            _expect_tensor(out, tuple(ref.shape), "the captured features")
            if model.features._forward_hooks:
                raise CheckFailed("a hook is still attached after your function returns: call handle.remove() "
                                  "(in a finally block, or use a with-statement).")
            if not torch.allclose(out, ref, atol=1e-5):
                raise CheckFailed("the captured tensor is not the layer's output for this x.")
        return 2

    return _run("check_hook", cases)


def _cam_reference(f: torch.Tensor, wt: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bc,bchw->bhw", wt[idx], f)


def check_cam(fn: Callable) -> bool:
    """``fn(features [B, C, h, w], weight [N, C], class_idx [B]) -> maps [B, h, w]``: sum_k w^c_k f_k."""

    def cases() -> int:
        shapes = [(3, 6, 4, 4, 6), (2, 8, 5, 5, 4), (1, 16, 7, 3, 10), (2, 5, 3, 3, 5)]  # C == N first
        for i, (b, c, h, w, n) in enumerate(shapes):
            g = _gen(30 + i)
            f = torch.randn(b, c, h, w, generator=g).relu()
            wt = torch.randn(n, c, generator=g)
            idx = torch.randint(0, n, (b,), generator=g)
            out = _expect_tensor(fn(f, wt, idx), (b, h, w), "maps")
            ref = _cam_reference(f, wt, idx)
            if torch.allclose(out, ref, atol=1e-4):
                continue
            if torch.allclose(out, ref.relu(), atol=1e-4):
                raise CheckFailed("your maps are ReLU'd. The raw CAM keeps negative values, so that its mean plus "
                                  "the bias is the logit; apply ReLU only for display.")
            if torch.allclose(out, normalize(ref), atol=1e-4):
                raise CheckFailed("your maps are normalised; return the raw sum (normalise only for display).")
            if c == n and torch.allclose(out, _cam_reference(f, wt.T, idx), atol=1e-4):
                raise CheckFailed("you used the weight matrix transposed: row w[c] (shape [C]) holds class c's weights.")
            if torch.allclose(out, ref / (h * w), atol=1e-4):
                raise CheckFailed("your maps are divided by h*w; CAM's mean is the pooled logit, so do not average.")
            raise CheckFailed(f"case {i} (B={b}, C={c}, h={h}, w={w}): maps differ from sum_k w[c, k] * f[:, k]; "
                              f"largest difference {float((out - ref).abs().max()):.3g}.")
        return len(shapes)

    return _run("check_cam", cases)


# -- chapter 4: normalisation for display -----------------------------------------------------
def check_normalize(fn: Callable) -> bool:
    """``fn(maps [B, K, h, w]) -> [B, K, h, w]``: ReLU, then divide each map by its max (zero maps stay zero)."""

    def cases() -> int:
        maps = torch.randn(2, 3, 6, 6, generator=_gen(40))
        maps[1, 2] = 0  # a flat zero map
        maps[0, 1] = -maps[0, 1].abs()  # an all-negative map
        out = _expect_tensor(fn(maps), tuple(maps.shape), "normalised maps")
        if not torch.isfinite(out).all():
            raise CheckFailed("an all-zero (or all-negative) map became NaN: divide only where the max is > 0.")
        ref = normalize(maps)
        if torch.allclose(out, (maps - maps.amin((2, 3), True)) / (maps.amax((2, 3), True) - maps.amin((2, 3), True) + 1e-12), atol=1e-4):
            raise CheckFailed("that is min-max scaling; CAM display uses ReLU and then divides by the max.")
        if (out < -1e-6).any():
            raise CheckFailed("negative values remain: apply the ReLU first.")
        if torch.allclose(out, maps.clamp(min=0) / maps.clamp(min=0).max().clamp(min=1e-12), atol=1e-4):
            raise CheckFailed("you divided by the maximum of the whole batch; divide each map by its own maximum.")
        if not torch.allclose(out, ref, atol=1e-5):
            raise CheckFailed("values differ from relu(m) / max(relu(m)) per map.")
        return 1

    return _run("check_normalize", cases)


# -- chapter 5: boxes ------------------------------------------------------------------------
def _box_cases() -> list[tuple[str, np.ndarray, float]]:
    rng = np.random.default_rng(50)
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
    smooth = rng.random((16, 16)).astype(np.float32)
    return [("a single rectangle", blob, 0.2), ("a blob touching the right border", border, 0.2),
            ("two blobs, the larger with the lower peak", two, 0.2),
            ("two blobs of equal size", equal, 0.2), ("a faint pixel below the threshold", weak, 0.2),
            ("a flat map (all equal)", np.full((5, 7), 0.3, np.float32), 0.2),
            ("a random map at threshold 0.5", smooth, 0.5)]


def check_box(fn: Callable) -> bool:
    """``fn(cam [H, W] array, threshold) -> (x0, y0, x1, y1)``, exclusive ends: the paper's box rule."""

    def cases() -> int:
        for name, cam, thr in _box_cases():
            out = fn(cam.copy(), thr)
            try:
                box = tuple(int(v) for v in out)
            except TypeError:
                raise CheckFailed(f"return four ints (x0, y0, x1, y1), got {out!r}") from None
            ref = cam_to_box(cam, thr)
            if box == ref:
                continue
            if box == (ref[0], ref[1], ref[2] - 1, ref[3] - 1):
                raise CheckFailed(f"{name}: you returned {box}, expected {ref}. Off by one: x1 and y1 are exclusive "
                                  "(one past the last pixel), like Python slices.")
            if box == (ref[1], ref[0], ref[3], ref[2]):
                raise CheckFailed(f"{name}: x and y are swapped. Rows are y (axis 0), columns are x (axis 1).")
            raise CheckFailed(f"{name} (shape {cam.shape}, threshold {thr}): you returned {box}, expected {ref}. "
                              "Keep pixels >= threshold * max, take the largest connected component "
                              "(8-connected; on a tie, the one holding the maximum), and box it.")
        return len(_box_cases())

    return _run("check_box", cases)


def check_iou(fn: Callable) -> bool:
    """``fn(a, b) -> float``: intersection over union of two (x0, y0, x1, y1) boxes, exclusive ends."""

    def cases() -> int:
        rng = np.random.default_rng(60)
        fixed = [((0, 0, 10, 10), (0, 0, 10, 10)), ((0, 0, 10, 10), (10, 0, 20, 10)), ((0, 0, 10, 10), (5, 5, 15, 15)),
                 ((0, 0, 4, 4), (1, 1, 2, 2)), ((0, 0, 3, 3), (20, 20, 25, 25))]
        randoms = []
        for _ in range(20):
            x0, y0 = rng.integers(0, 20, 2)
            a = (int(x0), int(y0), int(x0 + rng.integers(1, 15)), int(y0 + rng.integers(1, 15)))
            x0, y0 = rng.integers(0, 20, 2)
            randoms.append((a, (int(x0), int(y0), int(x0 + rng.integers(1, 15)), int(y0 + rng.integers(1, 15)))))
        for a, b in fixed + randoms:
            got, ref = float(fn(a, b)), iou(a, b)
            if abs(got - ref) < 1e-6:
                continue
            if a == (0, 0, 10, 10) and b == (10, 0, 20, 10):
                raise CheckFailed(f"boxes that only touch ({a}, {b}) share no pixel: IoU 0, you returned {got:.3f}. "
                                  "With exclusive ends the width is x1 - x0, with no +1.")
            if ref == 0 and got < 0:
                raise CheckFailed(f"disjoint boxes {a}, {b} gave {got:.3f}: clamp the overlap's width and height at 0.")
            raise CheckFailed(f"iou({a}, {b}) should be {ref:.4f}, you returned {got:.4f}.")
        return len(fixed) + len(randoms)

    return _run("check_iou", cases)


# -- chapter 6: errors ------------------------------------------------------------------------
def check_misclassified(fn: Callable) -> bool:
    """``fn(logits [N, C], labels [N]) -> idx [M]``: indices of the wrongly classified images, ascending."""

    def cases() -> int:
        for i, (n, c) in enumerate([(50, 5), (10, 3), (5, 2)]):
            g = _gen(70 + i)
            logits, labels = torch.randn(n, c, generator=g), torch.randint(0, c, (n,), generator=g)
            if i == 2:
                labels = logits.argmax(1)  # no mistakes at all
            ref = (logits.argmax(1) != labels).nonzero().flatten()
            out = torch.as_tensor(fn(logits, labels)).flatten().long()
            if len(out) == n - len(ref) and not set(out.tolist()) & set(ref.tolist()):
                raise CheckFailed("you returned the correctly classified images; keep those where argmax != label.")
            if not torch.equal(out.sort().values, ref):
                raise CheckFailed(f"case {i}: expected {len(ref)} misclassified images, got {len(out)} indices that differ.")
        return 3

    return _run("check_misclassified", cases)


# -- chapter 7: Grad-CAM weights ----------------------------------------------------------------
def check_gradcam_weights(fn: Callable) -> bool:
    """``fn(model, layer, x, class_idx) -> alpha [B, C]``: mean over (h, w) of d logit / d features."""

    def cases() -> int:
        from .models import GAPNet

        model = GAPNet(4).eval()
        for i, b in enumerate([1, 3]):
            x = torch.randn(b, 3, 32, 32, generator=_gen(80 + i))
            c = i + 1
            out = fn(model, model.features, x, c)
            with torch.no_grad():
                feats = model.features(x)
            _expect_tensor(out, (b, feats.shape[1]), "alpha")
            h, w = feats.shape[-2:]
            ref = model.fc.weight[c].detach().expand(b, -1) / (h * w)
            if torch.allclose(out, ref * h * w, atol=1e-5):
                raise CheckFailed("you summed the gradients over positions; Grad-CAM averages them (divide by h*w).")
            if not torch.allclose(out.detach(), ref, atol=1e-5):
                raise CheckFailed("alpha differs from the spatial mean of the gradient of logit[class_idx].")
            if model.features._forward_hooks or any(p.grad is not None for p in model.parameters()):
                raise CheckFailed("leave the model as you found it: remove hooks and use torch.autograd.grad "
                                  "(not .backward(), which fills the parameters' .grad).")
        return 2

    return _run("check_gradcam_weights", cases)
