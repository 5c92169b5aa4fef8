"""The cases and judges of the exercises in the chapters, chapter by chapter (1 to 7)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from camlib.boxes import cam_to_box
from camlib.metrics import iou
from camlib.postprocess import normalize

from .core import Case, CheckFailed, Layer, Net, all_close, draw_seed, expect_tensor, normal_tensor, type_name


# -- chapter 1: top-5 -----------------------------------------------------------------------
def topk_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [(1, 5), (int(rng.integers(2, 6)), 1000), (int(rng.integers(1, 4)), int(rng.integers(6, 40)))]
    cases = [Case(f"logits of shape {s}", (normal_tensor(rng, *s, scale=3.0),)) for s in shapes]
    cases.append(Case("large logits (about 100)", (normal_tensor(rng, 2, 20, scale=100.0),)))
    return cases


def topk_judge(case: Case, out: Any) -> None:
    (logits,) = case.args
    b, k = logits.shape[0], 5
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"return a pair (probs, idx), got {type_name(out)}.")
    probs, idx = (expect_tensor(o, (b, k), w) for o, w in zip(out, ("probs", "idx")))
    ref_p, ref_i = logits.softmax(1).topk(k, dim=1)
    if not torch.isfinite(probs).all():
        raise CheckFailed(
            f"{case.label}: probs are not finite; exp() overflows there, but logits.softmax(dim=1) does not."
        )
    if idx.is_floating_point() or not torch.equal(idx.long(), ref_i):
        raise CheckFailed(
            f"{case.label}: idx is not the indices of the k largest classes in decreasing order "
            "(torch.topk sorts for you)."
        )
    if all_close(probs, logits.gather(1, ref_i), atol=1e-5):
        raise CheckFailed("probs are raw logits: apply softmax over the classes first.")
    if not all_close(probs, ref_p, atol=1e-5):
        raise CheckFailed(f"{case.label}: probs do not match softmax(logits) over dim=1 at the chosen classes.")


# -- chapter 2: the GAP head ----------------------------------------------------------------
def gap_head_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [
        (2, 8, 4, 4, 5),
        (1, int(rng.integers(3, 17)), int(rng.integers(2, 8)), int(rng.integers(2, 8)), 10),
        (3, 4, 1, 1, 2),
        (int(rng.integers(1, 5)), 6, 5, 3, int(rng.integers(2, 8))),
    ]
    return [
        Case(
            f"B={b}, C={c}, h={h}, w={w}, N={n}",
            (normal_tensor(rng, b, c, h, w), normal_tensor(rng, n, c), normal_tensor(rng, n)),
        )
        for b, c, h, w, n in shapes
    ]


def gap_head_judge(case: Case, out: Any) -> None:
    f, wt, bias = case.args
    (b, _, h, w), n = f.shape, wt.shape[0]
    out = expect_tensor(out, (b, n), "logits")
    ref = f.mean((2, 3)) @ wt.T + bias
    if h * w > 1 and all_close(out, f.sum((2, 3)) @ wt.T + bias):
        raise CheckFailed("you summed over positions; global *average* pooling divides by h*w.")
    if all_close(out, f.mean((2, 3)) @ wt.T):
        raise CheckFailed("the bias is missing.")
    if not all_close(out, ref):
        raise CheckFailed(f"{case.label}: logits differ from mean over (h, w), then @ weight.T + bias.")


def head_params_cases(rng: np.random.Generator) -> list[Case]:
    sizes = [(512, 7, 7, 1000), (3, 1, 1, 2)] + [tuple(int(v) for v in rng.integers(1, 65, 4)) for _ in range(4)]
    return [Case(f"n_ch={c}, h={h}, w={w}, classes={n}", (c, h, w, n)) for c, h, w, n in sizes]


def head_params_judge(case: Case, out: Any) -> None:
    n_ch, h, w, n = case.args
    try:
        got = tuple(int(v) for v in out)
    except (TypeError, ValueError):
        raise CheckFailed(f"return a pair of ints (flatten_params, gap_params), got {type_name(out)}.") from None
    if got == (n_ch * h * w * n, n_ch * n):
        raise CheckFailed("count the biases too: one per class in each head.")
    if got != (n_ch * h * w * n + n, n_ch * n + n):
        raise CheckFailed(
            f"for {case.label} you returned {got}; a Linear layer has in_features * out_features "
            "weights plus out_features biases."
        )


# -- chapter 3: hook and CAM ----------------------------------------------------------------
def _net(rng: np.random.Generator, kind: str = "gapnet", size: int = 16) -> Net:
    widths = (int(rng.integers(3, 7)), int(rng.integers(4, 9)))
    return Net(kind, int(rng.integers(2, 6)), widths, size, draw_seed(rng))


def hook_cases(rng: np.random.Generator) -> list[Case]:
    gap, flat = _net(rng), _net(rng, "flattennet")
    return [
        Case("GAPNet, layer `features`, a batch of one", (gap, Layer(0, "features"), normal_tensor(rng, 1, 3, 16, 16))),
        Case(
            "GAPNet, layer `features.2`, a batch of 3", (gap, Layer(0, "features.2"), normal_tensor(rng, 3, 3, 12, 12))
        ),
        Case(
            "FlattenNet, layer `features.4`, a batch of 2",
            (flat, Layer(0, "features.4"), normal_tensor(rng, 2, 3, 16, 16)),
        ),
        Case(
            "a forward pass that raises (FlattenNet fed a 12x12 image)",
            (flat, Layer(0, "features"), normal_tensor(rng, 1, 3, 12, 12)),
            raises=True,
        ),
    ]


def hook_judge(case: Case, out: Any) -> None:
    net, layer, x = case.args
    model = net.build()
    kept = {}
    handle = model.get_submodule(layer.path).register_forward_hook(lambda m, i, o: kept.update(f=o.detach()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    out = expect_tensor(out, tuple(kept["f"].shape), f"{case.label}: the captured features")
    if not all_close(out, kept["f"], atol=1e-5):
        raise CheckFailed(f"{case.label}: the captured tensor is not the output of `{layer.path}` for this x.")


def cam_reference(f: torch.Tensor, wt: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """The judges' own CAM: features [B, C, h, w], weights [N, C], one class per image [B] -> maps [B, h, w]."""
    return torch.einsum("bc,bchw->bhw", wt[idx], f)


def cam_cases(rng: np.random.Generator) -> list[Case]:
    shapes = [
        (3, 6, 4, 4, 6),
        (2, 8, 5, 5, 4),
        (1, 16, 7, 3, 10),
        (2, 5, 3, 3, 5),
        (
            int(rng.integers(1, 5)),
            int(rng.integers(2, 20)),
            int(rng.integers(1, 9)),
            int(rng.integers(1, 9)),
            int(rng.integers(2, 12)),
        ),
    ]
    cases = []
    for b, c, h, w, n in shapes:
        f = normal_tensor(rng, b, c, h, w).relu()
        idx = torch.from_numpy(rng.integers(0, n, b)).long()
        cases.append(
            Case(
                f"B={b}, C={c}, h={h}, w={w}, N={n}" + (" (C == N)" if c == n else ""),
                (f, normal_tensor(rng, n, c), idx),
            )
        )
    return cases


def cam_judge(case: Case, out: Any) -> None:
    f, wt, idx = case.args
    (b, c, h, w), n = f.shape, wt.shape[0]
    out = expect_tensor(out, (b, h, w), f"{case.label}: maps")
    ref = cam_reference(f, wt, idx)
    if all_close(out, ref):
        return
    if all_close(out, ref.relu()):
        raise CheckFailed(
            "your maps are ReLU'd. The raw CAM keeps negative values, so that its mean plus "
            "the bias is the logit; apply ReLU only for display."
        )
    if all_close(out, normalize(ref)):
        raise CheckFailed("your maps are normalised; return the raw sum (normalise only for display).")
    if c == n and all_close(out, cam_reference(f, wt.T, idx)):
        raise CheckFailed("you used the weight matrix transposed: row w[c] (shape [C]) holds class c's weights.")
    if all_close(out, ref / (h * w)):
        raise CheckFailed("your maps are divided by h*w; CAM's mean is the pooled logit, so do not average.")
    raise CheckFailed(
        f"{case.label}: maps differ from sum_k w[c, k] * f[:, k]; "
        f"largest difference {float((out.double() - ref.double()).abs().max()):.3g}."
    )


# -- chapter 4: normalisation for display -----------------------------------------------------
def normalize_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(4):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 5)), int(rng.integers(2, 9)), int(rng.integers(2, 9)))
        cases.append(
            Case(f"random maps of shape {shape}", (normal_tensor(rng, *shape, scale=float(10 ** rng.uniform(-2, 2))),))
        )
    mixed = normal_tensor(rng, 3, 2, 6, 5)
    mixed[0, 1] = 0  # a flat zero map
    mixed[1, 0] = -mixed[1, 0].abs() - 0.1  # an all-negative map
    mixed[2, 1] = -1.0
    mixed[2, 1, 3, 2] = 0.5  # one positive pixel
    cases.append(Case("a batch with an all-zero map, an all-negative map and a single positive pixel", (mixed,)))
    cases.append(Case("1x1 maps, positive and negative", (torch.tensor([[[[2.0]], [[-3.0]]]]),)))
    cases.append(Case("one map with its maximum reached twice", (torch.tensor([[[[1.0, 3.0], [3.0, -2.0]]]]),)))
    return cases


def normalize_judge(case: Case, out: Any) -> None:
    (maps,) = case.args
    out = expect_tensor(out, tuple(maps.shape), f"{case.label}: normalised maps")
    if not torch.isfinite(out).all():
        raise CheckFailed(
            f"{case.label}: an all-zero (or all-negative) map became NaN: divide only where the max is > 0."
        )
    ref = normalize(maps)
    if all_close(out, ref, atol=1e-5):
        return
    lo, hi = maps.amin((2, 3), True), maps.amax((2, 3), True)
    if all_close(out, (maps - lo) / (hi - lo).clamp(min=1e-12)):
        raise CheckFailed("that is min-max scaling; CAM display uses ReLU and then divides by the max.")
    if (out < -1e-6).any():
        raise CheckFailed("negative values remain: apply the ReLU first.")
    pos = maps.clamp(min=0)
    if all_close(out, pos / pos.amax().clamp(min=1e-12)) or all_close(
        out, pos / pos.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1e-12)
    ):
        raise CheckFailed("you divided by the maximum of several maps; divide each map by its own maximum.")
    raise CheckFailed(f"{case.label}: values differ from relu(m) / max(relu(m)) per map.")


# -- chapter 5: boxes ------------------------------------------------------------------------
def fixed_box_cases() -> list[tuple[str, np.ndarray, float]]:
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
    return [
        ("a single rectangle", blob, 0.2),
        ("a blob touching the right border", border, 0.2),
        ("two blobs, the larger with the lower peak", two, 0.2),
        ("two blobs of equal size", equal, 0.2),
        ("a faint pixel below the threshold", weak, 0.2),
        ("a flat map (all equal)", np.full((5, 7), 0.3, np.float32), 0.2),
        ("pixels touching only at corners (8-connected)", diagonal, 0.5),
        ("a map with no positive value", negative, 0.2),
    ]


def box_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case(name, (cam, thr)) for name, cam, thr in fixed_box_cases()]
    for _k in range(4):
        h, w = (int(v) for v in rng.integers(8, 33, 2))
        yy, xx = np.mgrid[0:h, 0:w]
        cam = rng.standard_normal((h, w)).astype(np.float32) * 0.1
        for _ in range(int(rng.integers(1, 4))):
            cy, cx, s = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(1.5, 5)
            cam += rng.uniform(0.5, 2) * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s)).astype(np.float32)
        thr = float(np.round(rng.uniform(0.1, 0.7), 2))
        cases.append(Case(f"random blobs on a {h}x{w} map with negative noise, threshold {thr}", (cam, thr)))
    return cases


def box_slips(name: str, box: tuple, ref: tuple) -> None:
    """Name the two slips any box rule can make: inclusive ends, and x and y swapped."""
    if box == (ref[0], ref[1], ref[2] - 1, ref[3] - 1):
        raise CheckFailed(
            f"{name}: you returned {box}, expected {ref}. Off by one: x1 and y1 are exclusive "
            "(one past the last pixel), like Python slices."
        )
    if box == (ref[1], ref[0], ref[3], ref[2]):
        raise CheckFailed(f"{name}: x and y are swapped. Rows are y (axis 0), columns are x (axis 1).")


def box_judge(case: Case, out: Any) -> None:
    cam, thr = case.args
    try:
        box = tuple(int(v) for v in out)
        if len(box) != 4:
            raise TypeError
    except (TypeError, ValueError):
        raise CheckFailed(f"return four ints (x0, y0, x1, y1), got {type_name(out)}.") from None
    ref = cam_to_box(cam, thr)
    if box == ref:
        return
    name = case.label
    box_slips(name, box, ref)
    raise CheckFailed(
        f"{name} (shape {cam.shape}, threshold {thr}): you returned {box}, expected {ref}. "
        "Keep pixels >= threshold * max (negative values count as zero), take the largest connected "
        "component (8-connected; on a tie, the one holding the maximum), and box it."
    )


def iou_cases(rng: np.random.Generator) -> list[Case]:
    fixed = [
        ((0, 0, 10, 10), (0, 0, 10, 10), "identical boxes"),
        ((0, 0, 10, 10), (10, 0, 20, 10), "boxes that only touch"),
        ((0, 0, 10, 10), (5, 5, 15, 15), "a quarter overlap"),
        ((0, 0, 4, 4), (1, 1, 2, 2), "one box inside the other"),
        ((0, 0, 3, 3), (20, 20, 25, 25), "disjoint boxes"),
    ]
    cases = [Case(label, (a, b)) for a, b, label in fixed]

    def box() -> tuple[int, int, int, int]:
        x0, y0 = (int(v) for v in rng.integers(0, 20, 2))
        return (x0, y0, x0 + int(rng.integers(1, 15)), y0 + int(rng.integers(1, 15)))

    return cases + [Case("random boxes", (box(), box())) for _ in range(20)]


def iou_judge(case: Case, out: Any) -> None:
    a, b = case.args
    try:
        got = float(out)
    except (TypeError, ValueError):
        raise CheckFailed(f"return a float, got {type_name(out)}.") from None
    ref = iou(a, b)
    if abs(got - ref) < 1e-6:
        return
    if case.label == "boxes that only touch":
        raise CheckFailed(
            f"boxes that only touch ({a}, {b}) share no pixel: IoU 0, you returned {got:.3f}. "
            "With exclusive ends the width is x1 - x0, with no +1."
        )
    if ref == 0 and got < 0:
        raise CheckFailed(f"disjoint boxes {a}, {b} gave {got:.3f}: clamp the overlap's width and height at 0.")
    raise CheckFailed(f"iou({a}, {b}) should be {ref:.4f}, you returned {got:.4f}.")


# -- chapter 6: errors ------------------------------------------------------------------------
def misclassified_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, c in [(50, 5), (int(rng.integers(5, 30)), 3), (int(rng.integers(2, 9)), 2)]:
        cases.append(
            Case(f"{n} images, {c} classes", (normal_tensor(rng, n, c), torch.from_numpy(rng.integers(0, c, n)).long()))
        )
    logits = normal_tensor(rng, 6, 4)
    cases.append(Case("no mistakes at all", (logits, logits.argmax(1))))
    cases.append(Case("every image wrong", (logits, (logits.argmax(1) + 1) % 4)))
    return cases


def misclassified_judge(case: Case, out: Any) -> None:
    logits, labels = case.args
    ref = (logits.argmax(1) != labels).nonzero().flatten()
    if isinstance(out, (torch.Tensor, np.ndarray)):
        values = [int(v) for v in np.asarray(out.detach() if isinstance(out, torch.Tensor) else out).ravel()]
    elif isinstance(out, (list, tuple)):
        try:
            values = [int(v) for v in out]
        except (TypeError, ValueError):
            raise CheckFailed(f"return a tensor of indices, got a {type_name(out)} of other things.") from None
    else:
        raise CheckFailed(f"return a tensor of indices, got {type_name(out)}.")
    n = len(labels)
    if values and len(values) == n - len(ref) and not set(values) & set(ref.tolist()):
        raise CheckFailed("you returned the correctly classified images; keep those where argmax != label.")
    if sorted(values) == ref.tolist() and values != ref.tolist():
        raise CheckFailed(f"{case.label}: the right indices, but not in ascending order.")
    if values != ref.tolist():
        raise CheckFailed(
            f"{case.label}: expected {len(ref)} misclassified images, got {len(values)} indices that differ."
        )


# -- chapter 7: Grad-CAM weights ----------------------------------------------------------------
def gradcam_cases(rng: np.random.Generator) -> list[Case]:
    gap, flat = _net(rng), _net(rng, "flattennet")
    return [
        Case(
            "GAPNet, layer `features`, a batch of one",
            (gap, Layer(0, "features"), normal_tensor(rng, 1, 3, 16, 16), int(rng.integers(0, gap.num_classes))),
        ),
        Case(
            "GAPNet, an inner layer (`features.5`), a batch of 3",
            (gap, Layer(0, "features.5"), normal_tensor(rng, 3, 3, 12, 12), int(rng.integers(0, gap.num_classes))),
        ),
        Case(
            "FlattenNet (no GAP), layer `features`, a batch of 2",
            (flat, Layer(0, "features"), normal_tensor(rng, 2, 3, 16, 16), int(rng.integers(0, flat.num_classes))),
        ),
        Case(
            "FlattenNet (no GAP), an inner layer (`features.2`), a batch of 2",
            (flat, Layer(0, "features.2"), normal_tensor(rng, 2, 3, 16, 16), int(rng.integers(0, flat.num_classes))),
        ),
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


def gradcam_judge(case: Case, out: Any) -> None:
    net, layer, x, c = case.args
    ref, hw = _gradcam_reference(net, layer.path, x, c)
    no_gap = net.kind != "gapnet"
    if no_gap and isinstance(out, torch.Tensor) and tuple(out.shape) != tuple(ref.shape):
        raise CheckFailed(
            f"{case.label}: alpha should have shape {tuple(ref.shape)}, got {tuple(out.shape)}. "
            "On a network without GAP, alpha is not fc.weight[c] / (h*w): take the gradient "
            "with torch.autograd.grad."
        )
    out = expect_tensor(out, tuple(ref.shape), f"{case.label}: alpha")
    if all_close(out, ref, atol=1e-5):
        return
    if hw > 1 and all_close(out, ref * hw, atol=1e-5):
        raise CheckFailed("you summed the gradients over positions; Grad-CAM averages them (divide by h*w).")
    raise CheckFailed(
        f"{case.label}: alpha differs from the spatial mean of the gradient of logit[class_idx] "
        "with respect to the layer's output"
        + ("; without GAP the gradient is not fc.weight[c] / (h*w)." if no_gap else ".")
    )


def clean_model(case: Case, observed: dict) -> None:
    if observed.get("hooks"):
        raise CheckFailed(
            f"{case.label}: a hook is still attached after your function returns: call "
            "handle.remove() (in a finally block, or use a with-statement)."
        )


def clean_gradients(case: Case, observed: dict) -> None:
    clean_model(case, observed)
    if observed.get("grads"):
        raise CheckFailed(
            "leave the model as you found it: use torch.autograd.grad (not .backward(), which "
            "fills the parameters' .grad)."
        )
