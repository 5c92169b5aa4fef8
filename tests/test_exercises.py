"""Each checker passes the reference and catches the classic mistakes with a specific message, on
fresh random cases each time; a solution that calls camlib's own answer is named."""
import numpy as np
import pytest
import torch

import camlib
from camlib import cam_to_box, iou, normalize
from camlib import exercises as ex


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
    (ex.check_normalize, lambda m: (m - m.amin((2, 3), True)) / (m.amax((2, 3), True) - m.amin((2, 3), True)), ["min-max"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).amax((2, 3), keepdim=True), ["NaN"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).max(), ["maximum of several maps"]),
    (ex.check_box, cam_to_box, ["camlib.localize.cam_to_box"]),
    (ex.check_box, box_off_by_one, ["Off by one"]),
    (ex.check_box, box_swapped, ["swapped"]),
    (ex.check_box, box_whole_mask, ["two blobs", "largest connected component"]),
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
    assert not all(torch.equal(a.args[0], b.args[0]) for a, b in zip(first, second) if a.args[0].shape == b.args[0].shape)
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
