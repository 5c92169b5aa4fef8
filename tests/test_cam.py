"""CAM: the paper's identity, agreement with Grad-CAM, class selection, errors, hook hygiene."""

import gc
import re
import tracemalloc

import pytest
import torch
import torchvision
from torch import nn

import camlib
from camlib import CAM


def _identity_error(result, fc):
    expected = result.logits.gather(1, result.class_idx)
    got = result.maps.mean(dim=(2, 3)) + fc.bias[result.class_idx]
    return ((got - expected).abs() / expected.abs().clamp(min=1e-3)).max().item()


def test_identity_gapnet(small_gapnet):
    x = torch.rand(4, 3, 64, 64)
    with CAM(small_gapnet) as cam:
        res = cam(x, topk=5)
    assert res.maps.shape == (4, 5, 16, 16) and res.class_idx.shape == (4, 5) and res.probs.shape == (4, 5)
    assert res.logits.shape == (4, 5)
    assert _identity_error(res, small_gapnet.fc) < 1e-4


def test_identity_pretrained(pretrained, photos):
    x = torch.stack([pretrained.preprocess(photos[k]) for k in ("china", "coffee")])
    with CAM(pretrained.model) as cam:
        res = cam(x, topk=5)
    assert res.maps.shape == (2, 5, 7, 7)
    assert _identity_error(res, pretrained.model.fc) < 1e-4
    assert torch.allclose(res.probs, res.logits.softmax(1).gather(1, res.class_idx))
    assert (res.probs[:, :-1] >= res.probs[:, 1:]).all()  # top-k in decreasing order


def test_finds_the_layer_that_feeds_gap(small_gapnet, pretrained):
    with CAM(small_gapnet) as cam:
        cam(torch.rand(1, 3, 64, 64))
        assert cam.target_layer is small_gapnet.features
    with CAM(pretrained.model) as cam:
        cam(torch.rand(1, 3, 64, 64))
        assert cam.target_layer is pretrained.model.features
    resnet = torchvision.models.resnet18(weights=None).eval()
    with CAM(resnet) as cam:
        res = cam(torch.rand(2, 3, 96, 96), topk=3)
        assert cam.target_layer is resnet.layer4
    assert _identity_error(res, resnet.fc) < 1e-4


def test_cam_is_gradcam_up_to_a_positive_scale(small_gapnet):
    """Grad-CAM from autograd, written here independently of camlib.gradcam."""
    x = torch.rand(3, 3, 64, 64)
    feats = {}
    handle = small_gapnet.features.register_forward_hook(lambda m, i, o: feats.update(f=o))
    logits = small_gapnet(x)
    handle.remove()
    target = logits.argmax(1)
    (grad,) = torch.autograd.grad(logits.gather(1, target[:, None]).sum(), feats["f"])
    gradcam = (grad.mean(dim=(2, 3), keepdim=True) * feats["f"]).sum(1).detach()
    with CAM(small_gapnet) as cam:
        res = cam(x)
    scale = res.maps[:, 0] / gradcam
    h, w = res.maps.shape[-2:]
    assert torch.allclose(res.maps[:, 0], gradcam * h * w, rtol=1e-4, atol=1e-5)
    assert (scale[gradcam.abs() > 1e-4] > 0).all()
    ours = camlib.gradcam(small_gapnet, x, target_layer=small_gapnet.features)
    assert torch.equal(ours.class_idx[:, 0], target) and torch.allclose(ours.maps[:, 0], gradcam, atol=1e-6)


def test_gradcam_finds_its_layer_and_returns_what_cam_returns(small_gapnet):
    """Without target_layer, gradcam takes the last feature map, as CAM does, and fills the same result."""
    x = torch.rand(2, 3, 64, 64)
    found = camlib.gradcam(small_gapnet, x, topk=3)
    given = camlib.gradcam(small_gapnet, x, topk=3, target_layer="features")
    with CAM(small_gapnet) as cam:
        res = cam(x, topk=3)
    assert isinstance(found, camlib.CAMResult)
    for field in ("logits", "probs", "class_idx", "features"):
        assert torch.allclose(getattr(found, field).float(), getattr(res, field).float(), atol=1e-5), field
    assert torch.allclose(found.maps, given.maps) and found.maps.shape == res.maps.shape == (2, 3, 16, 16)
    h, w = res.maps.shape[-2:]
    assert torch.allclose(found.maps * h * w, res.maps, atol=1e-4)  # Grad-CAM = CAM / (h w) on a GAP network
    assert _hook_count(small_gapnet) == 0 and all(p.grad is None for p in small_gapnet.parameters())


def test_gradcam_reads_a_network_without_gap():
    model = camlib.FlattenNet(3, widths=(8, 8), input_size=32).eval()
    res = camlib.gradcam(model, torch.rand(2, 3, 32, 32), class_idx=[0, 2], relu=True)
    assert res.maps.shape == (2, 1, 16, 16) and res.class_idx.tolist() == [[0], [2]] and (res.maps >= 0).all()


CLASS_IDX_FORMS = [
    (2, [[2], [2]]),  # an int: that class for every image
    ([0, 3], [[0], [3]]),  # a list of B: one class per image
    (torch.tensor([4, 1]), [[4], [1]]),  # a 1-D tensor of B: the same
    (torch.tensor([[1, 2], [4, 0]]), [[1, 2], [4, 0]]),  # [B, K]: K classes per image
    (torch.tensor([[0, 3]]), [[0, 3], [0, 3]]),  # [1, K]: the same K for every image
    ([[0, 3]], [[0, 3], [0, 3]]),  # the same, as a nested list
    ("all", [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]),  # every class
]


@pytest.mark.parametrize(("class_idx", "expected"), CLASS_IDX_FORMS)
def test_class_idx_forms(small_gapnet, class_idx, expected):
    with CAM(small_gapnet) as cam:
        res = cam(torch.rand(2, 3, 64, 64), class_idx=class_idx)
    assert res.class_idx.tolist() == expected
    assert res.maps.shape[:2] == (2, len(expected[0]))
    assert _identity_error(res, small_gapnet.fc) < 1e-4


@pytest.mark.parametrize(("class_idx", "expected"), CLASS_IDX_FORMS)
def test_class_idx_means_the_same_in_gradcam_and_cam_maps(small_gapnet, class_idx, expected):
    x = torch.rand(2, 3, 64, 64)
    assert camlib.gradcam(small_gapnet, x, class_idx=class_idx).class_idx.tolist() == expected
    maps = camlib.cam_maps(small_gapnet, x, class_idx=class_idx, batch_size=1).maps  # sliced per batch
    with CAM(small_gapnet) as cam:
        assert torch.allclose(maps, cam(x, class_idx=class_idx).maps, atol=1e-5)


@pytest.mark.parametrize(
    ("class_idx", "error", "match"),
    [
        ([0, 1, 2], ValueError, r"B = 2 entries, got 3.*\[1, K\]"),  # a list whose length is not B
        (torch.tensor([[1], [2], [3]]), ValueError, r"\[B, K\] = \[2, K\]"),
        (torch.zeros(2, 1, 1, dtype=torch.long), ValueError, r"\[B, K\]"),
        (torch.zeros(2, 0, dtype=torch.long), ValueError, r"\[B, K\]"),
        ("every", ValueError, "'all'"),
        (True, TypeError, "bool"),
        ([0.5, 1.0], TypeError, "integers"),
        ([0, 7], ValueError, r"\[0, 4\]"),
    ],
)
def test_bad_class_idx_says_what_to_pass(small_gapnet, class_idx, error, match):
    x = torch.rand(2, 3, 64, 64)
    with CAM(small_gapnet) as cam, pytest.raises(error, match=match):
        cam(x, class_idx=class_idx)
    with pytest.raises(error, match=match):
        camlib.gradcam(small_gapnet, x, class_idx=class_idx)


def test_many_classes_cost_one_forward_pass(small_gapnet):
    calls = []
    handle = small_gapnet.register_forward_hook(lambda *a: calls.append(1))
    with CAM(small_gapnet) as cam:
        cam(torch.rand(2, 3, 64, 64), topk=5)
        cam(torch.rand(2, 3, 64, 64), class_idx="all")
    handle.remove()
    assert len(calls) == 2


def test_model_state_and_autograd_untouched(small_gapnet):
    small_gapnet.train()
    before = {k: v.clone() for k, v in small_gapnet.state_dict().items()}
    with CAM(small_gapnet) as cam:
        res = cam(torch.rand(2, 3, 64, 64), topk=2)
    assert small_gapnet.training
    after = small_gapnet.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats too
    for t in (res.maps, res.logits, res.probs, res.features):
        assert t.grad_fn is None and not t.requires_grad
    assert all(p.grad is None for p in small_gapnet.parameters())


def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_removed_after_exception(small_gapnet):
    with pytest.raises(ZeroDivisionError), CAM(small_gapnet) as cam:  # noqa: PT012 - an error inside the block
        cam(torch.rand(1, 3, 64, 64))
        assert _hook_count(small_gapnet) > 0
        raise ZeroDivisionError("raised inside the block")
    assert _hook_count(small_gapnet) == 0
    with pytest.raises(ValueError, match="class_idx must be in"), CAM(small_gapnet) as cam:  # inside the call
        cam(torch.rand(1, 3, 64, 64), class_idx=99)
    assert _hook_count(small_gapnet) == 0


def test_no_hook_or_memory_leak_over_200_uses(small_gapnet):
    x = torch.rand(1, 3, 32, 32)

    def use_many(n):
        for _ in range(n):
            with CAM(small_gapnet) as cam:
                cam(x, topk=2)

    use_many(50)  # warm-up: allocator caches, lazy imports
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    use_many(200)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert _hook_count(small_gapnet) == 0
    # about 5 kB of allocator noise; keeping one small dict per use would add about 40 kB
    assert grown < 20_000, f"Python memory grew by {grown} bytes over 200 uses"


def test_call_outside_with_block_is_refused(small_gapnet):
    with pytest.raises(RuntimeError, match="with"):
        CAM(small_gapnet)(torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize("ctor", [torchvision.models.vgg11, torchvision.models.alexnet])
def test_networks_without_gap_head_point_to_gradcam(ctor):
    with pytest.raises(ValueError, match="Grad-CAM"):
        CAM(ctor(weights=None))


def test_several_linear_layers_point_to_gradcam():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 8), nn.Linear(8, 2))
    with pytest.raises(ValueError, match="2 Linear layers.*Grad-CAM"):
        CAM(model)


def test_flatten_head_is_not_gap():
    model = camlib.FlattenNet(3, widths=(8, 8), input_size=32)
    with pytest.raises(ValueError, match="Grad-CAM"), CAM(model) as cam:
        cam(torch.rand(1, 3, 32, 32))
    assert _hook_count(model) == 0


def test_max_pooled_head_is_not_gap():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(8, 2)
    )
    with pytest.raises(ValueError, match="not the global average"), CAM(model) as cam:
        cam(torch.rand(2, 3, 16, 16))


def test_explicit_layer_by_name(small_gapnet):
    with CAM(small_gapnet, target_layer="features") as cam:
        res = cam(torch.rand(1, 3, 64, 64))
    assert _identity_error(res, small_gapnet.fc) < 1e-4
    with pytest.raises(ValueError, match="no layer named 'featurez'"):
        CAM(small_gapnet, target_layer="featurez")


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "match"),
    [
        (torch.rand(3, 64, 64), {}, ValueError, r"unsqueeze\(0\)"),
        (torch.rand(1, 1, 64, 64), {}, ValueError, "3 channels"),
        (torch.full((1, 3, 64, 64), float("nan")), {}, ValueError, "NaN"),
        (torch.rand(1, 3, 64, 64), {"class_idx": 5}, ValueError, r"\[0, 4\]"),
        (torch.rand(1, 3, 64, 64), {"class_idx": -1}, ValueError, r"\[0, 4\]"),
        (torch.rand(1, 3, 64, 64), {"topk": 6}, ValueError, "topk"),
        (torch.rand(1, 3, 64, 64), {"class_idx": 1.5}, TypeError, "integers"),
        (torch.zeros(1, 3, 64, 64, dtype=torch.uint8), {}, TypeError, "float"),
        ([[1.0]], {}, TypeError, "tensor"),
    ],
)
def test_bad_inputs_say_what_to_pass(small_gapnet, x, kwargs, error, match):
    with CAM(small_gapnet) as cam, pytest.raises(error, match=match):
        cam(x, **kwargs)
    assert _hook_count(small_gapnet) == 0


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (torch.rand(3, 64, 64), ValueError, "x.unsqueeze(0)"),
        ((torch.rand(1, 3, 64, 64) * 255).byte(), TypeError, "scale uint8 images to floats"),
        (torch.rand(1, 1, 64, 64), ValueError, "convert the image to RGB"),
        ([[0.0]], TypeError, "preprocess"),
    ],
)
def test_gradcam_checks_its_input_as_cam_does(small_gapnet, bad, error, words):
    with pytest.raises(error, match=re.escape(words)):
        camlib.gradcam(small_gapnet, bad)
    with camlib.CAM(small_gapnet) as cam, pytest.raises(error, match=re.escape(words)):
        cam(bad)


def test_gradcam_says_when_its_layer_never_runs(small_gapnet):
    with pytest.raises(ValueError, match="did not run in GAPNet's forward pass"):
        camlib.gradcam(small_gapnet, torch.rand(1, 3, 64, 64), target_layer=nn.Conv2d(3, 3, 1))
