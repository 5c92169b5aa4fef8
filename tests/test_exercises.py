"""Each checker passes the reference and catches the classic mistakes with a specific message."""
import numpy as np
import pytest
import torch

from camlib import cam_to_box, iou, normalize
from camlib import exercises as ex


def run(checker, fn, capsys):
    ok = checker(fn)
    return ok, capsys.readouterr().out


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
    (ex.check_normalize, normalize, []),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).amax((2, 3), keepdim=True), ["NaN"]),
    (ex.check_normalize, lambda m: m.clamp(min=0) / m.clamp(min=0).max(), ["whole batch"]),
    (ex.check_box, cam_to_box, []),
    (ex.check_box, box_off_by_one, ["Off by one"]),
    (ex.check_box, box_swapped, ["swapped"]),
    (ex.check_box, box_whole_mask, ["two blobs", "largest connected component"]),
    (ex.check_iou, iou, []),
    (ex.check_iou, iou_plus_one, ["touch"]),
    (ex.check_misclassified, lambda lg, y: (lg.argmax(1) != y).nonzero().flatten(), []),
    (ex.check_misclassified, lambda lg, y: (lg.argmax(1) == y).nonzero().flatten(), ["correctly classified"]),
    (ex.check_gradcam_weights, gradcam_ok, []),
    (ex.check_gradcam_weights, gradcam_summed, ["summed the gradients"]),
]


@pytest.mark.parametrize("checker, fn, messages", CASES, ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_checker(checker, fn, messages, capsys):
    ok, out = run(checker, fn, capsys)
    if not messages:
        assert ok and out.startswith("✅"), out
    else:
        assert not ok and out.startswith("❌"), out
        for m in messages:
            assert m in out, out


@pytest.mark.parametrize("checker", [ex.check_topk, ex.check_gap_head, ex.check_head_params, ex.check_hook,
                                     ex.check_cam, ex.check_normalize, ex.check_box, ex.check_iou,
                                     ex.check_misclassified, ex.check_gradcam_weights])
def test_stubs_fail_cleanly(checker, capsys):
    ok, out = run(checker, not_done, capsys)
    assert not ok and "not implemented yet" in out


def test_a_crash_is_reported_not_raised(capsys):
    ok, out = run(ex.check_cam, lambda f, w, c: f @ w, capsys)
    assert not ok and "your function raised RuntimeError" in out
