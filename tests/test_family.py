"""CAM's family (camlib.family): known answers on a GAP network, CAM's contract, hook and mode hygiene."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import camlib

METHODS = [camlib.gradcampp, camlib.scorecam, camlib.layercam, camlib.xgradcam, camlib.eigencam]
IDS = [m.__name__ for m in METHODS]


@pytest.fixture(autouse=True)
def seeded():
    _ = torch.manual_seed(0)


def cam_of(model, x, idx):
    with camlib.CAM(model) as cam:
        return cam(x, class_idx=idx)


@pytest.fixture
def trained_like():
    """A GAPNet whose batch-norm statistics are not the identity (as after training)."""
    model = camlib.GAPNet(5, widths=(8, 16), seed=1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_xgradcam_is_gradcam_and_cam_over_hw_on_a_gap_network(trained_like):
    x = torch.rand(3, 3, 32, 32)
    idx = torch.tensor([[0, 2], [1, 3], [4, 4]])
    cam = cam_of(trained_like, x, idx)
    hw = cam.maps.shape[-2] * cam.maps.shape[-1]
    grad = camlib.gradcam(trained_like, x, class_idx=idx)
    xgrad = camlib.xgradcam(trained_like, x, class_idx=idx)
    assert torch.allclose(grad.maps * hw, cam.maps, atol=1e-4)
    # a channel that is zero everywhere contributes nothing to either map, whatever its weight
    assert torch.allclose(xgrad.maps, grad.maps, atol=1e-5)
    assert torch.equal(xgrad.class_idx, idx) and torch.allclose(xgrad.logits, cam.logits)


def test_layercam_is_cam_with_positive_weights_over_hw(trained_like):
    x = torch.rand(2, 3, 32, 32)
    res = camlib.layercam(trained_like, x, class_idx=[1, 3])
    f = res.features
    w = trained_like.fc.weight.detach()[[1, 3]].clamp(min=0)  # [B, C]
    expected = torch.einsum("bc,bchw->bhw", w, f) / (f.shape[-2] * f.shape[-1])
    assert torch.allclose(res.maps[:, 0], expected, atol=1e-6)


def test_gradcampp_weights_follow_the_closed_form_on_a_gap_network(trained_like):
    """g = w / hw everywhere, so a = 1 / (2 + S g) where g > 0 and the weight is hw relu(g) a."""
    x = torch.rand(2, 3, 32, 32)
    res = camlib.gradcampp(trained_like, x, class_idx=2)
    f = res.features
    hw = f.shape[-2] * f.shape[-1]
    g = trained_like.fc.weight.detach()[2] / hw  # [C]
    s = f.sum(dim=(2, 3))  # [B, C]
    a = g**2 / (2 * g**2 + s * g**3 + 1e-7)
    weight = hw * g.clamp(min=0) * a  # [B, C]
    expected = torch.einsum("bc,bchw->bhw", weight, f)
    assert torch.allclose(res.maps[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_scorecam_weights_are_the_softmax_over_channels_of_masked_inputs_scores(trained_like):
    x = torch.rand(2, 3, 32, 32)
    res = camlib.scorecam(trained_like, x, class_idx=[0, 4], batch_size=7)  # batches that split images
    f = res.features
    up = F.interpolate(f, size=(32, 32), mode="bilinear", align_corners=False)
    scores = torch.zeros(2, f.shape[1])
    with torch.no_grad():
        for i, c in enumerate([0, 4]):
            for k in range(f.shape[1]):
                m = up[i, k]
                m = (m - m.min()) / (m.max() - m.min()) if m.max() > m.min() else m * 0
                scores[i, k] = trained_like(x[i : i + 1] * m)[0, c]  # the logit
    weights = scores.softmax(dim=1)  # over the channels (Algorithm 1 of the paper)
    expected = torch.einsum("bc,bchw->bhw", weights, f)
    assert torch.allclose(res.maps[:, 0], expected, atol=1e-5)


def test_scorecam_costs_one_plus_bc_over_batch_forward_passes(trained_like):
    calls = []
    handle = trained_like.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    try:
        camlib.scorecam(trained_like, torch.rand(3, 3, 32, 32), topk=2, batch_size=10)
    finally:
        handle.remove()
    assert calls == [3] + [10] * 4 + [8]  # 1 + ceil(3 * 16 / 10) passes


def test_eigencam_is_the_first_principal_component(trained_like):
    x = torch.rand(2, 3, 32, 32)
    res = camlib.eigencam(trained_like, x, topk=3)
    assert res.maps.shape == (2, 3, 16, 16) and torch.equal(res.maps[:, 0], res.maps[:, 2])
    for i in range(2):
        a = res.features[i].flatten(1).T.double()  # [hw, C]
        a = a - a.mean(0)
        cov = a.T @ a
        v = torch.linalg.eigh(cov).eigenvectors[:, -1]  # the largest eigenvalue's
        proj = (a @ v).float().view(16, 16)
        m = res.maps[i, 0]
        assert torch.allclose(m, proj, atol=1e-4) or torch.allclose(m, -proj, atol=1e-4)
        assert (m * res.features[i].sum(0)).sum() >= 0  # the sign: along the summed features


@pytest.mark.parametrize("method", METHODS, ids=IDS)
def test_contract_class_idx_meanings_and_result(method, trained_like):
    x = torch.rand(2, 3, 32, 32)
    top = method(trained_like, x, topk=2)
    assert top.maps.shape == (2, 2, 16, 16) and top.class_idx.shape == (2, 2)
    assert torch.equal(top.class_idx, trained_like(x).topk(2, dim=1).indices)
    assert torch.allclose(top.probs, top.logits.softmax(1).gather(1, top.class_idx))
    every = method(trained_like, x, class_idx="all")
    assert every.maps.shape == (2, 5, 16, 16)
    one = method(trained_like, x, class_idx=torch.tensor([[3]]))
    assert torch.equal(one.class_idx, torch.tensor([[3], [3]]))
    assert torch.allclose(one.maps[:, 0], every.maps[:, 3], atol=1e-5)
    assert (method(trained_like, x, class_idx=1, relu=True).maps >= 0).all()
    with pytest.raises(ValueError, match=r"\[0, 4\]"):
        method(trained_like, x, class_idx=5)
    with pytest.raises(ValueError, match="x.unsqueeze"):
        method(trained_like, x[0])


class Boom(nn.Module):
    def forward(self, x):
        raise RuntimeError("boom")


@pytest.mark.parametrize("method", [*METHODS, camlib.gradcam], ids=[*IDS, "gradcam"])
def test_hooks_removed_and_modes_restored_on_every_path(method):
    model = camlib.GAPNet(5, widths=(8, 16), seed=0)
    model.train()
    model.features[1].eval()  # one module in the other mode
    modes = [m.training for m in model.modules()]
    method(model, torch.rand(2, 3, 32, 32), target_layer=model.features)
    assert [m.training for m in model.modules()] == modes
    assert all(not m._forward_hooks for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    model.fc = nn.Sequential(Boom())  # the forward pass raises after the target layer ran
    with pytest.raises(RuntimeError, match="boom"):
        method(model, torch.rand(2, 3, 32, 32), target_layer=model.features)
    assert [m.training for m in model.modules()][: len(modes) - 1] == modes[:-1]
    assert all(not m._forward_hooks for m in model.modules())


def test_errors_say_what_to_pass(trained_like):
    x = torch.rand(1, 3, 32, 32)
    with pytest.raises(ValueError, match="did not run"):
        camlib.layercam(trained_like, x, target_layer=nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="batch_size"):
        camlib.scorecam(trained_like, x, batch_size=0)
    with pytest.raises(ValueError, match="no layer named"):
        camlib.xgradcam(trained_like, x, target_layer="featurs")
