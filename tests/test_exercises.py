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
    return out.startswith("✅"), out


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
    (ex.check_normalize, normalize, ["camlib.localize.normalize"]),
    (ex.check_normalize, lambda m: (m - m.amin((2, 3), True)) / (m.amax((2, 3), True) - m.amin((2, 3), True)),
     ["min-max"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).amax((2, 3), keepdim=True), ["NaN"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).max(), ["maximum of several maps"]),
    (ex.check_box, box_by_hand, []),
    (ex.check_box, cam_to_box, ["camlib.localize.cam_to_box"]),
    (ex.check_box, box_off_by_one, ["Off by one"]),
    (ex.check_box, box_swapped, ["swapped"]),
    (ex.check_box, box_whole_mask, ["two blobs", "largest connected component"]),
    (ex.check_iou, iou_by_hand, []),
    (ex.check_iou, iou, ["camlib.localize.iou"]),
    (ex.check_iou, lambda a, b: camlib.iou(a, b), ["camlib.localize.iou"]),
    (ex.check_iou, iou_plus_one, ["touch"]),
    (ex.check_misclassified, lambda lg, y: (lg.argmax(1) != y).nonzero().flatten(), []),
    (ex.check_misclassified, lambda lg, y: (lg.argmax(1) == y).nonzero().flatten(), ["correctly classified"]),
    (ex.check_gradcam_weights, gradcam_ok, []),
    (ex.check_gradcam_weights, gradcam_summed, ["summed the gradients"]),
    (ex.check_gradcam_weights, gradcam_no_gradient, ["alpha"]),
    (ex.check_topk, lambda lg: (lg.exp() / lg.exp().sum(1, keepdim=True)).topk(5, dim=1), ["not finite"]),
    (ex.check_hook, hook_no_finally, ["raises", "still attached"]),
]


@pytest.mark.parametrize("checker, fn, messages", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_checker(checker, fn, messages, capsys):
    ok, out = run(checker, fn, capsys)
    if not messages:
        assert ok, out
    else:
        assert not ok and out.startswith("❌"), out
        for m in messages:
            assert m in out, out


def test_cases_are_fresh_each_time_and_reproducible_from_a_seed():
    first, second = ex.cases("check_cam"), ex.cases("check_cam")
    assert not all(torch.equal(a.args[0], b.args[0])
                   for a, b in zip(first, second) if a.args[0].shape == b.args[0].shape)
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



@pytest.mark.parametrize("checker", [ex.check_topk, ex.check_gap_head, ex.check_head_params, ex.check_hook,
                                     ex.check_cam, ex.check_normalize, ex.check_box, ex.check_iou,
                                     ex.check_misclassified, ex.check_gradcam_weights])
def test_stubs_fail_cleanly(checker, capsys):
    ok, out = run(checker, not_done, capsys)
    assert not ok and out.startswith("⏳") and "not implemented yet" in out


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
    return torch.tensor([any(int(classes[i, j]) == int(labels[i])
                             and iou_by_hand(boxes[i, j].tolist(), truth[i].tolist()) >= 0.5
                             for j in range(k)) for i in range(len(labels))])


def near_misses(logits, labels, k):
    top2 = logits.softmax(dim=1).topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    right = (logits.argmax(dim=1) == labels).nonzero().flatten()
    return right[gap[right].argsort(stable=True)][:k]


def flatten_map(features, weight, class_idx):
    return (weight[class_idx].view(features.shape) * features).sum(dim=1)


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
    (ex.check_flatten_map, flatten_map, []),
    (ex.check_flatten_map, lambda f, w, c: flatten_map(f, w, c) / (f.shape[2] * f.shape[3]), ["do not divide"]),
]


@pytest.mark.parametrize("checker, fn, messages", NEW, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(NEW)])
def test_new_checker(checker, fn, messages, capsys):
    test_checker(checker, fn, messages, capsys)


def test_every_checker_is_tested_both_ways():
    tested = {c.__name__ for c, _, m in CASES + NEW if not m} & {c.__name__ for c, _, m in CASES + NEW if m}
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
    return chapters._cam_reference(f, w, c)


def loc_via_camlib(classes, boxes, labels, truth, k):
    return [camlib.localization_accuracy(classes[i:i + 1, :k], [boxes[i][:k]], labels[i:i + 1], [truth[i]]) == 1.0
            for i in range(len(classes))]


@pytest.mark.parametrize("checker, fn, named", [
    (ex.check_cam, cam_via_the_checkers_internals, "cambook.exercises (the checkers' own package)"),
    (ex.check_loc_correct, loc_via_camlib, "camlib.localize.localization_accuracy"),
])
def test_the_books_own_answer_is_named(checker, fn, named, capsys):
    ok, out = run(checker, fn, capsys)
    assert not ok and "cases pass, but your function uses" in out and named in out, out


def test_importing_a_check_is_not_using_the_answer():
    from cambook.exercises import check_iou

    def iou_and_check(a, b):
        return 0.0 if check_iou is None else 1.0

    assert ex.reference_calls(iou_and_check, ()) == []
