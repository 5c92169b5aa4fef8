"""The faithfulness and localization measures of chapter 9 (camlib.metrics), on hand-made cases with known answers."""

import pytest
import torch
from torch import nn

import camlib
from camlib.metrics import (
    blur,
    cascading_randomization,
    deletion_insertion,
    drop_and_increase,
    noisy_linear_imputation,
    pointing_game,
    region_masks,
    relevance_mass,
    road,
    spearman,
    ssim,
)


class PixelNet(nn.Module):
    """Class 1's logit is twice the mean of channel 0 over the top-left 4 x 4 square; class 0's is 0."""

    def forward(self, x):
        s = x[:, 0, :4, :4].mean(dim=(1, 2)) * 2
        return torch.stack([torch.zeros_like(s), s], dim=1)


@pytest.fixture(autouse=True)
def seeded():
    _ = torch.manual_seed(0)


def square(n=2, size=8):
    m = torch.zeros(n, size, size, dtype=torch.bool)
    m[:, :4, :4] = True
    return m


def test_region_masks_from_boxes_match_masks():
    boxes = torch.tensor([[0, 0, 4, 4], [2, 1, 5, 3]])
    masks = region_masks(boxes, 8)
    assert masks.shape == (2, 8, 8) and masks[0].sum() == 16 and masks[1].sum() == 6
    assert masks[1, 1:3, 2:5].all() and torch.equal(region_masks(masks, (8, 8)), masks)
    with pytest.raises(ValueError, match=r"boxes \[N, 4\]"):
        region_masks(torch.zeros(2, 3), 8)


def test_relevance_mass_known_answers():
    mask = square()
    assert torch.allclose(relevance_mass(mask.float(), mask), torch.ones(2))  # map == mask -> 1
    assert torch.allclose(relevance_mass(torch.ones(2, 8, 8), mask), torch.full((2,), 16 / 64))  # flat: the area
    assert torch.equal(relevance_mass(-torch.ones(2, 8, 8), mask), torch.zeros(2))  # nothing positive: 0
    negative_inside = torch.where(mask, -5.0, 1.0)  # negative evidence does not count
    assert torch.equal(relevance_mass(negative_inside, mask), torch.zeros(2))
    boxes = torch.tensor([[0, 0, 4, 4], [0, 0, 4, 4]])
    assert torch.allclose(relevance_mass(mask.float(), boxes), torch.ones(2))
    coarse = torch.zeros(2, 2, 2)  # a 2 x 2 map, upsampled to the masks' 8 x 8
    coarse[:, 0, 0] = 1
    assert (relevance_mass(coarse, mask) > 0.75).all()  # bilinear upsampling spreads it a little


def test_pointing_game_known_answers():
    mask = square()
    peak_in = torch.zeros(2, 8, 8)
    peak_in[:, 1, 2] = 1
    peak_out = torch.zeros(2, 8, 8)
    peak_out[:, 6, 6] = 1
    assert pointing_game(peak_in, mask).all() and not pointing_game(peak_out, mask).any()
    assert not pointing_game(torch.full((2, 8, 8), 3.0), mask).any()  # a constant map fails by rule
    near = torch.zeros(2, 8, 8)
    near[:, 5, 5] = 1  # two pixels from the square's corner (3, 3)
    assert not pointing_game(near, mask).any() and pointing_game(near, mask, tolerance=2).all()
    boxes = torch.tensor([[0, 0, 4, 4], [4, 4, 8, 8]])
    assert pointing_game(peak_in, boxes).tolist() == [True, False]
    same = camlib.peak_in_box(peak_in, boxes)
    assert pointing_game(peak_in, boxes).tolist() == same.tolist()


def test_a_perfect_ranking_has_the_best_deletion_and_insertion():
    x = torch.rand(3, 3, 8, 8) + 0.5
    truth = square(3).float()  # exactly the pixels PixelNet reads
    n = 8 * 8
    perfect = truth + torch.linspace(0, 0.01, n).view(1, 8, 8)  # the right pixels first, ties broken
    reverse = 1 - truth
    aucs = {}
    for name, m in [("perfect", perfect), ("reverse", reverse), ("random", torch.rand(3, 8, 8))]:
        aucs[name] = (
            deletion_insertion(PixelNet(), x, m, 1, "deletion", steps=8).auc,
            # from black: every restored pixel of the square raises the score (a blur could lower it)
            deletion_insertion(PixelNet(), x, m, 1, "insertion", steps=8, substrate=torch.zeros_like(x)).auc,
        )
    assert (aucs["perfect"][0] <= aucs["random"][0] + 1e-6).all() and (aucs["perfect"][0] < aucs["reverse"][0]).all()
    assert (aucs["perfect"][1] >= aucs["random"][1] - 1e-6).all() and (aucs["perfect"][1] > aucs["reverse"][1]).all()
    curve = deletion_insertion(PixelNet(), x, perfect, torch.tensor([1, 1, 1]), "deletion", steps=4)
    assert curve.scores.shape == (3, 5) and torch.allclose(curve.fractions, torch.linspace(0, 1, 5))
    # after a quarter of the pixels (the square) is deleted, the logit is 0: probability 1/2
    assert torch.allclose(curve.scores[:, 1:], torch.full((3, 4), 0.5))


def test_deletion_auc_is_the_trapezoid_area():
    x = torch.rand(1, 3, 8, 8)
    curve = deletion_insertion(PixelNet(), x, torch.rand(1, 8, 8), 1, steps=4)
    s = curve.scores[0]
    expected = ((s[:-1] + s[1:]) / 2).sum() / 4
    assert torch.allclose(curve.auc[0], expected)


def test_insertion_starts_from_the_blurred_image():
    x = torch.rand(2, 3, 16, 16)
    curve = deletion_insertion(PixelNet(), x, torch.rand(2, 16, 16), 1, "insertion", steps=2)
    start = PixelNet()(blur(x)).softmax(1)[:, 1]
    end = PixelNet()(x).softmax(1)[:, 1]
    assert torch.allclose(curve.scores[:, 0], start) and torch.allclose(curve.scores[:, -1], end)
    flat = torch.ones(1, 3, 16, 16)
    assert torch.allclose(blur(flat), flat, atol=1e-6)  # reflect padding: a flat image stays flat
    with pytest.raises(ValueError, match="'deletion' or 'insertion'"):
        deletion_insertion(PixelNet(), x, torch.rand(2, 16, 16), 1, "removal")


def test_noisy_linear_imputation_fills_holes_from_the_neighbours():
    ramp = torch.linspace(0, 1, 10).view(1, 1, 10).expand(2, 10, 10).clone()  # [C, H, W], linear in x
    removed = torch.zeros(10, 10, dtype=torch.bool)
    removed[3:7, 3:7] = True
    filled = noisy_linear_imputation(ramp, removed, noise=0.0)
    assert torch.allclose(filled, ramp, atol=1e-5)  # a linear image is its own interpolation
    assert torch.equal(filled[:, ~removed], ramp[:, ~removed])
    noisy = noisy_linear_imputation(ramp, removed, noise=0.01, seed=3)
    assert torch.equal(noisy, noisy_linear_imputation(ramp, removed, noise=0.01, seed=3))
    diff = (noisy - ramp)[:, removed]
    assert 0.003 < diff.std() < 0.03 and torch.equal(noisy[:, ~removed], ramp[:, ~removed])
    with pytest.raises(ValueError, match="every pixel"):
        noisy_linear_imputation(ramp, torch.ones(10, 10, dtype=torch.bool))


def test_road_most_relevant_first_falls_least_relevant_first_stays():
    x = square(2).float()[:, None].expand(2, 3, 8, 8)  # a bright square on black: filling it from around darkens it
    truth = square(2).float() + torch.linspace(0, 0.01, 64).view(1, 8, 8)
    morf = road(PixelNet(), x, truth, 1, "morf", fractions=(0.1, 0.25), noise=0.0)
    lerf = road(PixelNet(), x, truth, 1, "lerf", fractions=(0.1, 0.25), noise=0.0)
    assert morf.scores.shape == (2, 2)
    assert (lerf.scores[:, -1] > morf.scores[:, -1]).all()
    assert torch.allclose(lerf.scores, PixelNet()(x).softmax(1)[:, 1:].expand(2, 2), atol=1e-6)  # untouched
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        road(PixelNet(), x, truth, 1, fractions=(1.0,))


def test_drop_and_increase_known_answers():
    x = torch.rand(2, 3, 8, 8) + 0.5
    keep = square(2).float()  # the explanation map keeps exactly what the network reads
    drop, increase = drop_and_increase(PixelNet(), x, keep, 1)
    assert torch.allclose(drop, torch.zeros(2), atol=1e-6) and not increase.any()
    drop, increase = drop_and_increase(PixelNet(), x, 1 - keep, 1)  # removes it: p falls to 1/2
    y = PixelNet()(x).softmax(1)[:, 1]
    assert torch.allclose(drop, (y - 0.5) / y) and not increase.any()
    drop, increase = drop_and_increase(PixelNet(), -x, 1 - keep / 2, 1)  # halves a negative logit
    assert torch.equal(drop, torch.zeros(2)) and increase.all()


def test_spearman_known_answers():
    a = torch.arange(16.0).view(1, 4, 4)
    assert torch.allclose(spearman(a, a**3), torch.ones(1))  # monotone: 1
    assert torch.allclose(spearman(a, -a), -torch.ones(1))
    assert torch.isnan(spearman(a, torch.ones(1, 4, 4))).all()  # a constant map has no ranking
    tied = torch.tensor([[1.0, 1.0, 2.0, 3.0]])
    assert torch.allclose(spearman(tied, torch.tensor([[0.0, 0.0, 5.0, 6.0]])), torch.ones(1))


def test_cascading_randomization_edges_stay_maps_move():
    model = camlib.GAPNet(5, widths=(8, 16), seed=0).eval()
    before = [p.clone() for p in model.parameters()]
    x = torch.rand(3, 3, 32, 32)

    def grad_maps(m, images, idx):
        return camlib.gradcam(m, images, class_idx=idx).maps[:, 0]

    def edges(m, images, idx):  # ignores the network
        return images.mean(1)[:, 1:, :] - images.mean(1)[:, :-1, :]

    rho = cascading_randomization(model, x, grad_maps, torch.tensor([0, 1, 2]))
    names = list(rho)
    assert names[0] == "none" and names[1] == "fc" and names[-1] == "features.0"
    assert len(names) == 1 + 1 + 4 * 2  # fc, then 4 conv and 4 batch-norm layers from the top
    assert torch.allclose(rho["none"], torch.ones(3))
    assert (rho[names[-1]].abs() < 0.9).all()
    blocks = {"head": ["fc"], "last stage": [f"features.{i}" for i in range(7, 12)], "first stage": ["features"]}
    staged = cascading_randomization(model, x, grad_maps, torch.tensor([0, 1, 2]), layers=blocks)
    assert list(staged) == ["none", "head", "last stage", "first stage"]
    assert torch.allclose(staged["head"], rho["fc"]) and (staged["first stage"].abs() < 0.9).all()
    with pytest.raises(ValueError, match="no module named"):
        cascading_randomization(model, x, grad_maps, 0, layers={"x": ["featurs"]})
    flat = cascading_randomization(model, x, edges, 0)
    assert all(torch.allclose(v, torch.ones(3)) for v in flat.values())
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))  # the model is left alone
    state = torch.get_rng_state()
    cascading_randomization(model, x, edges, 0)
    assert torch.equal(state, torch.get_rng_state())  # the global random state is untouched


def test_ssim_matches_scikit_image_and_cascades():
    from skimage.metrics import structural_similarity

    a, b = torch.rand(3, 16, 16), torch.rand(3, 16, 16)
    b[1] = a[1] * 5 + 2  # the same map after scaling: SSIM 1
    got = ssim(a, b)
    for i in range(3):
        scale = lambda m: ((m - m.min()) / (m.max() - m.min())).double().numpy()  # noqa: E731
        want = structural_similarity(scale(a[i]), scale(b[i]), win_size=7, data_range=1.0)
        assert abs(got[i].item() - want) < 1e-5
    assert abs(got[1].item() - 1) < 1e-6
    with pytest.raises(ValueError, match="window"):
        ssim(a, b, window=4)
    model = camlib.GAPNet(5, widths=(8, 16), seed=0).eval()
    x = torch.rand(2, 3, 32, 32)
    flat = cascading_randomization(model, x, lambda m, images, idx: images.mean(1), 0, similarity=ssim)
    assert all(torch.allclose(v, torch.ones(2)) for v in flat.values())
