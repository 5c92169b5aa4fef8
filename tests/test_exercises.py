"""Each checker passes the reference and catches the classic mistakes with a specific message, on
fresh random cases each time; a solution that calls camlib's own answer is named."""

import numpy as np
import pytest
import torch

import camlib
from cambook import exercises as ex
from camlib import cam_to_box, iou, normalize


def run(checker, fn, capsys):
    assert checker(fn) is None, "a check cell shows no stray value"
    out = capsys.readouterr().out
    return out.startswith("PASS "), out


def hook_ok(model, layer, x):
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(f=o))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return kept["f"]


def hook_leaky(model, layer, x):
    kept = {}
    layer.register_forward_hook(lambda m, i, o: kept.update(f=o))
    with torch.no_grad():
        model(x)
    return kept["f"]


def gradcam_ok(model, layer, x, c):
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(f=o))
    try:
        logits = model(x)
    finally:
        handle.remove()
    (g,) = torch.autograd.grad(logits[:, c].sum(), kept["f"])
    return g.mean((2, 3))


def gradcam_summed(model, layer, x, c):
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(f=o))
    logits = model(x)
    handle.remove()
    (g,) = torch.autograd.grad(logits[:, c].sum(), kept["f"])
    return g.sum((2, 3))


def gradcam_no_gradient(model, layer, x, c):  # right on a GAP network only
    with torch.no_grad():
        h, w = layer(x).shape[-2:] if layer is model.features else model.features(x).shape[-2:]
    return model.fc.weight[c].detach().expand(len(x), -1) / (h * w)


def hook_no_finally(model, layer, x):
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(f=o))
    with torch.no_grad():
        model(x)
    handle.remove()
    return kept["f"]


def box_by_hand(cam, t):  # chapter 5's solution
    from scipy import ndimage

    cam = np.maximum(np.asarray(cam, dtype=np.float32), 0)
    h, w = cam.shape
    if cam.max() <= 0:
        return (0, 0, w, h)
    labels, n = ndimage.label(cam >= t * cam.max(), structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    peaks = ndimage.maximum(cam, labels, index=np.arange(1, n + 1))
    best = 1 + max(range(n), key=lambda k: (sizes[k], peaks[k]))
    ys, xs = np.nonzero(labels == best)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def iou_by_hand(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def box_off_by_one(cam, t):
    x0, y0, x1, y1 = cam_to_box(cam, t)
    return (x0, y0, x1 - 1, y1 - 1)


def box_swapped(cam, t):
    x0, y0, x1, y1 = cam_to_box(cam, t)
    return (y0, x0, y1, x1)


def box_whole_mask(cam, t):  # forgets the largest-component step
    ys, xs = np.nonzero(cam >= t * cam.max())
    return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)


def iou_plus_one(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]) + 1)
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]) + 1)
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return iw * ih / (area(a) + area(b) - iw * ih)


def not_done(*args):
    raise NotImplementedError


CASES = [
    (ex.check_topk, lambda lg: lg.softmax(1).topk(5, dim=1), []),
    (ex.check_topk, lambda lg: lg.topk(5, dim=1), ["raw logits"]),
    (ex.check_gap_head, lambda f, w, b: f.mean((2, 3)) @ w.T + b, []),
    (ex.check_gap_head, lambda f, w, b: f.sum((2, 3)) @ w.T + b, ["summed over positions"]),
    (ex.check_gap_head, lambda f, w, b: f.mean((2, 3)) @ w.T, ["bias is missing"]),
    (ex.check_head_params, lambda c, h, w, n: (c * h * w * n + n, c * n + n), []),
    (ex.check_head_params, lambda c, h, w, n: (c * h * w * n, c * n), ["biases"]),
    (ex.check_hook, hook_ok, []),
    (ex.check_hook, hook_leaky, ["still attached"]),
    (ex.check_cam, lambda f, w, c: torch.einsum("bc,bchw->bhw", w[c], f), []),
    (ex.check_cam, lambda f, w, c: torch.einsum("bc,bchw->bhw", w[c], f).relu(), ["ReLU"]),
    (ex.check_cam, lambda f, w, c: normalize(torch.einsum("bc,bchw->bhw", w[c], f)), ["normalised"]),
    (ex.check_cam, lambda f, w, c: torch.einsum("bc,bchw->bhw", w.T[c], f), ["transposed"]),
    (ex.check_cam, lambda f, w, c: torch.einsum("bc,bchw->bhw", w[c], f).sum(0), ["shape"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).amax((2, 3), keepdim=True).clamp(min=1e-12), []),
    (ex.check_normalize, normalize, ["camlib.postprocess.normalize"]),
    (
        ex.check_normalize,
        lambda m: (m - m.amin((2, 3), True)) / (m.amax((2, 3), True) - m.amin((2, 3), True)),
        ["min-max"],
    ),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).amax((2, 3), keepdim=True), ["NaN"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).max(), ["maximum of several maps"]),
    (ex.check_box, box_by_hand, []),
    (ex.check_box, cam_to_box, ["camlib.boxes.cam_to_box"]),
    (ex.check_box, box_off_by_one, ["Off by one"]),
    (ex.check_box, box_swapped, ["swapped"]),
    (ex.check_box, box_whole_mask, ["two blobs", "largest connected component"]),
    (ex.check_iou, iou_by_hand, []),
    (ex.check_iou, iou, ["camlib.metrics.iou"]),
    (ex.check_iou, lambda a, b: camlib.iou(a, b), ["camlib.metrics.iou"]),
    (ex.check_iou, iou_plus_one, ["touch"]),
    (ex.check_misclassified, lambda lg, y: (lg.argmax(1) != y).nonzero().flatten(), []),
    (ex.check_misclassified, lambda lg, y: (lg.argmax(1) == y).nonzero().flatten(), ["correctly classified"]),
    (ex.check_gradcam_weights, gradcam_ok, []),
    (ex.check_gradcam_weights, gradcam_summed, ["summed the gradients"]),
    (ex.check_gradcam_weights, gradcam_no_gradient, ["alpha"]),
    (ex.check_topk, lambda lg: (lg.exp() / lg.exp().sum(1, keepdim=True)).topk(5, dim=1), ["not finite"]),
    (ex.check_hook, hook_no_finally, ["raises", "still attached"]),
]


@pytest.mark.parametrize(
    ("checker", "fn", "messages"), CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)]
)
def test_checker(checker, fn, messages, capsys):
    ok, out = run(checker, fn, capsys)
    if not messages:
        assert ok, out
    else:
        assert not ok and out.startswith("FAIL "), out
        for m in messages:
            assert m in out, out


def test_cases_are_fresh_each_time_and_reproducible_from_a_seed():
    first, second = ex.cases("check_cam"), ex.cases("check_cam")
    assert not all(
        torch.equal(a.args[0], b.args[0]) for a, b in zip(first, second) if a.args[0].shape == b.args[0].shape
    )
    again = [c.args[0] for c in ex.cases("check_cam", seed=7)], [c.args[0] for c in ex.cases("check_cam", seed=7)]
    assert all(torch.equal(a, b) for a, b in zip(*again))


def test_verdict_is_data_and_judge_needs_no_function():
    drawn = ex.cases("check_iou", seed=1)
    outcomes = [ex.Returned(camlib.iou(*c.args)) for c in drawn]
    assert ex.judge("check_iou", drawn, outcomes).passed
    outcomes[3] = ex.Returned(0.25)
    assert not ex.judge("check_iou", drawn, outcomes).passed
    hook_cases = ex.cases("check_hook", seed=1)
    crashed = ex.judge("check_hook", hook_cases, [ex.Raised("ValueError", "bad size")] * len(hook_cases))
    assert not crashed.passed and "your function raised ValueError: bad size" in crashed.message
    assert hook_cases[-1].raises  # the model raises there on purpose: raising is right, a leftover hook is not
    leaky = ex.judge("check_hook", hook_cases[-1:], [ex.Raised("ValueError", "bad size", observed={"hooks": 1})])
    assert not leaky.passed and "still attached" in leaky.message
    assert ex.judge("check_hook", hook_cases[-1:], [ex.Raised("ValueError", "bad size", observed={"hooks": 0})]).passed


@pytest.mark.parametrize(
    "checker",
    [
        ex.check_topk,
        ex.check_gap_head,
        ex.check_head_params,
        ex.check_hook,
        ex.check_cam,
        ex.check_normalize,
        ex.check_box,
        ex.check_iou,
        ex.check_misclassified,
        ex.check_gradcam_weights,
        ex.check_class_rank,
        ex.check_head_params_hidden,
        ex.check_masked_gap_head,
        ex.check_region_logit,
        ex.check_mass_box,
        ex.check_iou_matrix,
        ex.check_missed_at_k,
        ex.check_gradcam_maps,
    ],
)
def test_stubs_fail_cleanly(checker, capsys):
    ok, out = run(checker, not_done, capsys)
    assert not ok and out.startswith("TODO ") and "not implemented yet" in out


def test_a_crash_is_reported_not_raised(capsys):
    ok, out = run(ex.check_cam, lambda f, w, c: f @ w, capsys)
    assert not ok and "your function raised RuntimeError" in out


# -- the exercises past the chapters (cambook/exercises/beyond.py): the reference solutions pass -----
def peak(cam, image_size):
    h, w = cam.shape
    y, x = divmod(int(cam.flatten().argmax()), w)
    return ((x + 0.5) * image_size[0] / w, (y + 0.5) * image_size[1] / h)


def gmp_head(features, weight, bias):
    return features.amax(dim=(2, 3)) @ weight.T + bias


def contrast_map(features, weight, class_a, class_b):
    return torch.einsum("bc,bchw->bhw", weight[class_a] - weight[class_b], features)


def topk_cams(features, weight, bias, k):
    logits = features.mean(dim=(2, 3)) @ weight.T + bias
    idx = logits.topk(k, dim=1).indices
    return torch.einsum("bkc,bchw->bkhw", weight[idx], features), idx


def loc_correct(classes, boxes, labels, truth, k):
    return torch.tensor(
        [
            any(
                int(classes[i, j]) == int(labels[i]) and iou_by_hand(boxes[i, j].tolist(), truth[i].tolist()) >= 0.5
                for j in range(k)
            )
            for i in range(len(labels))
        ]
    )


def near_misses(logits, labels, k):
    top2 = logits.softmax(dim=1).topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    right = (logits.argmax(dim=1) == labels).nonzero().flatten()
    return right[gap[right].argsort(stable=True)][:k]


def flatten_maps(features, weight):
    b, c, h, w = features.shape
    return torch.einsum("nchw,bchw->bnhw", weight.view(-1, c, h, w), features)


NEW = [
    (ex.check_peak, peak, []),
    (ex.check_peak, lambda cam, size: peak(cam, size)[::-1], ["swapped"]),
    (ex.check_gmp_head, gmp_head, []),
    (ex.check_gmp_head, lambda f, w, b: f.mean((2, 3)) @ w.T + b, ["*average*"]),
    (ex.check_contrast_map, contrast_map, []),
    (ex.check_contrast_map, lambda f, w, a, b: -contrast_map(f, w, a, b), ["sign is reversed"]),
    (ex.check_topk_cams, topk_cams, []),
    (ex.check_topk_cams, lambda f, w, b, k: topk_cams(f, w, b * 0, k), ["without the bias"]),
    (ex.check_loc_correct, loc_correct, []),
    (ex.check_loc_correct, lambda c, bx, y, t, k: loc_correct(c, bx, y, t, c.shape[1]), ["only the first k"]),
    (ex.check_near_misses, near_misses, []),
    (ex.check_near_misses, lambda lg, y, k: near_misses(lg, y, k).flip(0), ["wrong order"]),
    (ex.check_flatten_maps, flatten_maps, []),
    (ex.check_flatten_maps, lambda f, w: flatten_maps(f, w) / (f.shape[2] * f.shape[3]), ["do not divide"]),
    (ex.check_flatten_maps, lambda f, w: flatten_maps(f, w)[:, 0], ["one map per image"]),
    (
        ex.check_flatten_maps,
        lambda f, w: torch.einsum("nhwc,bchw->bnhw", w.view(len(w), *f.shape[2:], f.shape[1]), f),
        ["wrong order"],
    ),
]


@pytest.mark.parametrize(
    ("checker", "fn", "messages"), NEW, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(NEW)]
)
def test_new_checker(checker, fn, messages, capsys):
    test_checker(checker, fn, messages, capsys)


def test_every_checker_is_tested_both_ways():
    from tests.test_trust_exercises import TRUST

    every = CASES + NEW + VARIATIONS + TRUST
    tested = {c.__name__ for c, _, m in every if not m} & {c.__name__ for c, _, m in every if m}
    assert tested == set(ex.EXERCISES)


def test_every_checker_is_exported():
    for name in ex.EXERCISES:
        assert callable(getattr(ex, name)) and name in ex.__all__, name
        assert getattr(ex, name).__doc__.startswith(ex.EXERCISES[name].contract)


def box_through_camlib(cam, threshold):
    return cam_to_box(cam[None], threshold)  # camlib raises: the message must name this line


def test_a_crash_in_camlib_points_at_the_readers_line(capsys):
    ok, out = run(ex.check_box, box_through_camlib, capsys)
    assert not ok and "return cam_to_box(cam[None], threshold)" in out and "raise ValueError" not in out, out


def cam_via_the_checkers_internals(f, w, c):
    from cambook.exercises import chapters

    return chapters.cam_reference(f, w, c)


def loc_via_camlib(classes, boxes, labels, truth, k):
    return [
        camlib.localization_accuracy(classes[i : i + 1, :k], [boxes[i][:k]], labels[i : i + 1], [truth[i]]) == 1.0
        for i in range(len(classes))
    ]


@pytest.mark.parametrize(
    ("checker", "fn", "named"),
    [
        (ex.check_cam, cam_via_the_checkers_internals, "cambook.exercises (the checkers' own package)"),
        (ex.check_loc_correct, loc_via_camlib, "camlib.metrics.localization_accuracy"),
    ],
)
def test_the_books_own_answer_is_named(checker, fn, named, capsys):
    ok, out = run(checker, fn, capsys)
    assert not ok and "cases pass, but your function uses" in out and named in out, out


def test_importing_a_check_is_not_using_the_answer():
    from cambook.exercises import check_iou

    def iou_and_check(a, b):
        return 0.0 if check_iou is None else 1.0

    assert ex.reference_calls(iou_and_check, ()) == []


# -- the exercises that vary what a chapter shows (cambook/exercises/variations.py) ------------------
def class_rank(logits, class_idx):
    own = logits.gather(1, class_idx[:, None])
    return 1 + (logits > own).sum(dim=1)


def class_rank_softmax(logits, class_idx):  # exp() overflows at 1e3: inf / inf, then NaN in the arithmetic
    probs = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    own = probs.gather(1, class_idx[:, None])
    return 1 + (probs > own).float().sum(dim=1) + 0 * own[:, 0]


def head_params_hidden(n_ch, h, w, num_classes, hidden=()):
    dims = [n_ch * h * w, *hidden, num_classes]
    flatten = sum(a * b + b for a, b in zip(dims, dims[1:]))
    return flatten, n_ch * num_classes + num_classes


def head_params_no_bias(n_ch, h, w, num_classes, hidden=()):
    dims = [n_ch * h * w, *hidden, num_classes]
    return sum(a * b for a, b in zip(dims, dims[1:])), n_ch * num_classes


def head_params_hidden_in_gap(n_ch, h, w, num_classes, hidden=()):
    gap = [n_ch, *hidden, num_classes]
    return head_params_hidden(n_ch, h, w, num_classes, hidden)[0], sum(a * b + b for a, b in zip(gap, gap[1:]))


def masked_gap(features, mask, weight, bias):
    m = mask[:, None].to(features.dtype)
    return (features * m).sum(dim=(2, 3)) / m.sum(dim=(2, 3)) @ weight.T + bias


def masked_gap_hw(features, mask, weight, bias):
    return (features * mask[:, None]).sum(dim=(2, 3)) / (features.shape[2] * features.shape[3]) @ weight.T + bias


def region_logit(features, weight, class_idx, mask, relu=False, divide=None):
    maps = torch.einsum("bc,bchw->bhw", weight[class_idx], features)
    maps = maps.relu() if relu else maps
    inside = (maps * mask).sum(dim=(1, 2))
    return inside / (features.shape[2] * features.shape[3] if divide is None else divide(mask))


EIGHT_CONNECTED = np.ones((3, 3))  # None means scipy's default, 4-connected


def mass_box(cam, threshold, structure=EIGHT_CONNECTED):
    from scipy import ndimage

    cam = np.maximum(np.asarray(cam, dtype=np.float32), 0)
    h, w = cam.shape
    if cam.max() <= 0:
        return (0, 0, w, h)
    labels, n = ndimage.label(cam >= threshold * cam.max(), structure=structure)
    masses = ndimage.sum(cam, labels, index=np.arange(1, n + 1))
    ys, xs = np.nonzero(labels == 1 + int(np.argmax(masses)))
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def mass_box_inclusive(cam, threshold):
    x0, y0, x1, y1 = mass_box(cam, threshold)
    return (x0, y0, x1 - 1, y1 - 1)


def mass_box_swapped(cam, threshold):
    x0, y0, x1, y1 = mass_box(cam, threshold)
    return (y0, x0, y1, x1)


def iou_matrix(a, b, plus=0, clamp=True, empty=0.0):
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = rb - lt + plus
    inter = (wh.clamp(min=0) if clamp else wh).prod(dim=2).double()
    area_a = ((a[:, 2] - a[:, 0] + plus) * (a[:, 3] - a[:, 1] + plus)).double()
    area_b = ((b[:, 2] - b[:, 0] + plus) * (b[:, 3] - b[:, 1] + plus)).double()
    union = area_a[:, None] + area_b[None, :] - inter
    if empty is None:
        return inter / union  # 0 / 0 is NaN
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.full_like(union, empty))


def iou_matrix_integer(a, b):
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return inter // union.clamp(min=1)


def iou_diagonal(a, b):  # pairs a[i], b[i] only
    lt, rb = torch.maximum(a[:, :2], b[:, :2]), torch.minimum(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1).double()
    area = lambda r: ((r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])).double()  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def iou_matrix_by_camlib(a, b):
    return torch.tensor([[camlib.iou(p.tolist(), q.tolist()) for q in b] for p in a])


def ranks_of(logits, labels):
    return 1 + (logits > logits.gather(1, labels[:, None])).sum(dim=1)


def missed_at_k(logits, labels, k):
    return (ranks_of(logits, labels) > k).nonzero().flatten()


def missed_from_a_list(logits, labels, k):  # float32 when nothing is missed
    ranks = ranks_of(logits, labels)
    return torch.tensor([i for i in range(len(labels)) if ranks[i] > k])


def gradcam_maps(model, layer, x, class_idx, relu=True, reduce="mean", same_class=False, remove=True, backward=False):
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(f=o))
    try:
        logits = model(x)
    finally:
        if remove:
            handle.remove()
    idx = class_idx[:1].expand(len(x)) if same_class else class_idx
    score = logits.gather(1, idx[:, None]).sum()
    if backward:
        kept["f"].retain_grad()
        score.backward()
        grad = kept["f"].grad
    else:
        (grad,) = torch.autograd.grad(score, kept["f"])
    alpha = grad.mean(dim=(2, 3)) if reduce == "mean" else grad.sum(dim=(2, 3))
    maps = (alpha[:, :, None, None] * kept["f"]).sum(dim=1).detach()
    return maps.relu() if relu else maps


VARIATIONS = [
    (ex.check_class_rank, class_rank, []),
    (ex.check_class_rank, lambda lg, c: class_rank(lg, c).double(), []),  # whole numbers in a float tensor pass
    (ex.check_class_rank, lambda lg, c: class_rank(lg, c) - 1, ["0-based"]),
    (ex.check_class_rank, lambda lg, c: 1 + (lg >= lg.gather(1, c[:, None])).sum(1), ["itself"]),
    (ex.check_class_rank, lambda lg, c: (lg >= lg.gather(1, c[:, None])).sum(1), ["ties", "tied"]),
    (ex.check_class_rank, lambda lg, c: 1 + (lg < lg.gather(1, c[:, None])).sum(1), ["least likely"]),
    (ex.check_class_rank, class_rank_softmax, ["1e3", "NaN", "No softmax is needed"]),
    (ex.check_class_rank, lambda lg, c: class_rank(lg, c) + 0.5, ["not whole numbers"]),
    (ex.check_class_rank, lambda lg, c: class_rank(lg, c)[:, None], ["shape"]),
    (ex.check_head_params_hidden, head_params_hidden, []),
    (
        ex.check_head_params_hidden,
        lambda c, h, w, n, hidden=(): (c * h * w * n + n, c * n + n),
        ["VGG-16", "hidden layers are ignored"],
    ),
    (ex.check_head_params_hidden, head_params_no_bias, ["biases"]),
    (ex.check_head_params_hidden, head_params_hidden_in_gap, ["GAP head has no hidden layers"]),
    (
        ex.check_head_params_hidden,
        lambda c, h, w, n, hidden=(): head_params_hidden(c, h, w, n, hidden)[0],
        ["pair of ints"],
    ),
    (ex.check_head_params_hidden, lambda c, h, w, n, hidden=(): {"flatten": 1, "gap": 2}, ["pair of ints"]),
    (
        ex.check_head_params_hidden,
        lambda c, h, w, n: (c * h * w * n + n, c * n + n),
        ["raised TypeError", "but 5 were given on VGG-16"],
    ),  # no checker line: the call itself failed
    (ex.check_masked_gap_head, masked_gap, []),
    (ex.check_masked_gap_head, lambda f, m, w, b: f.mean((2, 3)) @ w.T + b, ["padding counts"]),
    (ex.check_masked_gap_head, masked_gap_hw, ["divided the masked sum by h*w"]),
    (ex.check_masked_gap_head, lambda f, m, w, b: masked_gap(f, m, w, b * 0), ["bias is missing"]),
    (ex.check_masked_gap_head, lambda f, m, w, b: masked_gap(f, m, w, b).T, ["shape"]),
    (ex.check_region_logit, region_logit, []),
    (
        ex.check_region_logit,
        lambda f, w, c, m: region_logit(f, w, c, m, divide=lambda m: m.sum((1, 2))),
        ["number of masked cells"],
    ),
    (ex.check_region_logit, lambda f, w, c, m: region_logit(f, w, c, m, relu=True), ["ReLU"]),
    (ex.check_region_logit, lambda f, w, c, m: region_logit(f, w.T, c, m), ["transposed"]),
    (ex.check_region_logit, lambda f, w, c, m: region_logit(f, w, c[:1].expand(len(c)), m), ["class_idx[0]"]),
    (ex.check_region_logit, lambda f, w, c, m: region_logit(f, w, (c + 1) % len(w), m), ["not of its class"]),
    (ex.check_region_logit, lambda f, w, c, m: region_logit(f, w, c, m)[:, None], ["shape"]),
    (ex.check_mass_box, mass_box, []),
    (ex.check_mass_box, box_by_hand, ["by area", "the paper's rule"]),
    (ex.check_mass_box, cam_to_box, ["by area"]),
    (ex.check_mass_box, lambda cam, t: mass_box(cam, t, structure=None), ["4-connected"]),
    (ex.check_mass_box, mass_box_inclusive, ["Off by one"]),
    (ex.check_mass_box, mass_box_swapped, ["swapped"]),
    (ex.check_mass_box, box_whole_mask, ["every pixel above the threshold"]),
    (ex.check_mass_box, lambda cam, t: mass_box(cam, t)[:2], ["four ints", "2 values"]),
    (ex.check_iou_matrix, iou_matrix, []),
    (ex.check_iou_matrix, lambda a, b: iou_matrix(a, b).float(), []),
    (ex.check_iou_matrix, iou_matrix_by_camlib, ["camlib.metrics.iou"]),
    (ex.check_iou_matrix, lambda a, b: iou_matrix(a, b, plus=1), ["a +1 in the widths"]),
    (ex.check_iou_matrix, lambda a, b: iou_matrix(a, b, clamp=False), ["clamp"]),
    (ex.check_iou_matrix, lambda a, b: iou_matrix(a, b).T, ["transposed"]),
    (ex.check_iou_matrix, iou_diagonal, ["diagonal"]),
    (ex.check_iou_matrix, lambda a, b: iou_matrix(a, b, empty=None), ["empty union", "NaN"]),
    (ex.check_iou_matrix, iou_matrix_integer, ["integer division"]),
    (ex.check_iou_matrix, lambda a, b: iou_matrix_integer(a, b).float(), ["integer division"]),
    (ex.check_missed_at_k, missed_at_k, []),
    (ex.check_missed_at_k, lambda lg, y, k: (ranks_of(lg, y) <= k).nonzero().flatten(), ["hits"]),
    (ex.check_missed_at_k, lambda lg, y, k: (lg.argmax(1) != y).nonzero().flatten(), ["ignored k"]),
    (ex.check_missed_at_k, lambda lg, y, k: (ranks_of(lg, y) >= k).nonzero().flatten(), ["off by one"]),
    (ex.check_missed_at_k, lambda lg, y, k: (ranks_of(lg, y) > k + 1).nonzero().flatten(), ["off by one"]),
    (ex.check_missed_at_k, lambda lg, y, k: missed_at_k(lg, y, k).flip(0), ["ascending"]),
    (ex.check_missed_at_k, missed_from_a_list, ["k = C", "integer indices"]),
    (ex.check_missed_at_k, lambda lg, y, k: missed_at_k(lg, y, k).float(), ["integer indices"]),
    (ex.check_missed_at_k, lambda lg, y, k: ranks_of(lg, y) > k, ["boolean mask"]),
    (ex.check_missed_at_k, lambda lg, y, k: missed_at_k(lg, y, k).tolist(), ["torch tensor"]),
    (ex.check_gradcam_maps, gradcam_maps, []),
    (ex.check_gradcam_maps, lambda m, layer, x, c: gradcam_maps(m, layer, x, c, relu=False), ["ReLU is missing"]),
    (
        ex.check_gradcam_maps,
        lambda m, layer, x, c: gradcam_maps(m, layer, x, c, reduce="sum"),
        ["summed the gradients"],
    ),
    (ex.check_gradcam_maps, lambda m, layer, x, c: gradcam_maps(m, layer, x, c, same_class=True), ["class_idx[0]"]),
    (ex.check_gradcam_maps, lambda m, layer, x, c: gradcam_maps(m, layer, x, c, remove=False), ["still attached"]),
    (ex.check_gradcam_maps, lambda m, layer, x, c: gradcam_maps(m, layer, x, c, backward=True), [".grad"]),
    (ex.check_gradcam_maps, lambda m, layer, x, c: gradcam_maps(m, layer, x, c)[:, None], ["shape"]),
    (
        ex.check_gradcam_maps,
        lambda m, layer, x, c: camlib.gradcam(m, x, c, target_layer=layer, relu=True).maps[:, 0],
        ["camlib.gradients.gradcam"],
    ),
]


@pytest.mark.parametrize(
    ("checker", "fn", "messages"), VARIATIONS, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(VARIATIONS)]
)
def test_variation_checker(checker, fn, messages, capsys):
    test_checker(checker, fn, messages, capsys)


def test_variations_are_tested_both_ways():
    names = {name for name in ex.EXERCISES if ex.EXERCISES[name].cases.__module__.endswith(".variations")}
    assert len(names) == 8
    assert {c.__name__ for c, _, m in VARIATIONS if not m} == names
    assert {c.__name__ for c, _, m in VARIATIONS if m} == names


def test_the_vgg_head_is_counted_from_the_formula():
    vgg = [c for c in ex.cases("check_head_params_hidden", seed=3) if "VGG-16" in c.label]
    assert vgg and vgg[0].args == (512, 7, 7, 1000, (4096, 4096))
    assert ex.judge("check_head_params_hidden", vgg, [ex.Returned((123_642_856, 513_000))]).passed
    assert ex.judge("check_head_params_hidden", vgg, [ex.Returned((np.int64(123_642_856), 513_000.0))]).passed
    assert not ex.judge("check_head_params_hidden", vgg, [ex.Returned((123_642_857, 513_000))]).passed


def test_the_named_edge_cases_are_drawn():
    labels = {name: " | ".join(c.label for c in ex.cases(name, seed=11)) for name in ex.EXERCISES}
    for name, words in [
        ("check_class_rank", ["ties", "B=1", "1e3", "N=1000"]),
        ("check_masked_gap_head", ["all-True", "single True cell", "padded", "B=1"]),
        ("check_region_logit", ["all-True", "all-False", "box-shaped", "C == N", "B=1"]),
        ("check_mass_box", ["faint", "corner", "border", "flat", "no positive", "not the largest", "also the largest"]),
        ("check_iou_matrix", ["identical", "touch", "nested", "disjoint", "N=1", "M=1", "zero-area"]),
        ("check_missed_at_k", ["k=1", "k=5", "k = C", "no misses", "every image", "N=1"]),
        ("check_gradcam_maps", ["GAPNet", "FlattenNet", "inner layer", "a batch of one"]),
    ]:
        for word in words:
            assert word in labels[name], (name, word)
    ranks = ex.cases("check_class_rank", seed=11)
    assert all(c.args[1].dtype == torch.int64 for c in ranks)
    ties = next(c for c in ranks if "ties" in c.label)
    logits, idx = ties.args
    assert all(int((row == row[i]).sum()) > 1 for row, i in zip(logits, idx))


def test_mass_box_cases_have_no_near_ties_and_differ_from_the_papers_rule():
    from cambook.exercises import variations

    for seed in range(20):
        drawn = ex.cases("check_mass_box", seed=seed)
        for case in drawn:
            assert variations._fair(*case.args), case.label
        differ = [c for c in drawn if variations._mass_box(*c.args) != cam_to_box(*c.args)]
        assert len(differ) >= 4


def test_new_checker_cases_are_plain_data_that_travel():
    from classroom import wire

    def opaque(encoded):
        if isinstance(encoded, dict):
            return encoded.get("t") == "opaque" or any(opaque(v) for v in encoded.values())
        return isinstance(encoded, list) and any(opaque(v) for v in encoded)

    for name in ex.EXERCISES:
        for case in ex.cases(name, seed=5):
            assert not any(opaque(wire.encode(a)) for a in case.args), (name, case.label)


def test_verdicts_print_plain_text():
    assert str(ex.Verdict("check_x", True, "5 cases passed.", 5)) == "PASS check_x: 5 cases passed."
    assert str(ex.Verdict("check_x", False, "the bias is missing.")) == "FAIL check_x: the bias is missing."
    assert str(ex.Verdict("check_x", False, "not implemented yet.", done=False)).startswith("TODO check_x: ")
    text = " ".join(str(ex.Verdict("c", p, "m", done=d)) for p in (True, False) for d in (True, False))
    assert text.isascii()
