import numpy as np
import pytest
import torch

import camlib
from camlib import box_accuracy, cam_to_box, centre_box, iou, normalize, upsample


def test_single_blob_box_has_exclusive_ends():
    cam = np.zeros((20, 30))
    cam[4:9, 6:15] = 1.0
    assert cam_to_box(cam) == (6, 4, 15, 9)
    assert cam_to_box(torch.from_numpy(cam)) == (6, 4, 15, 9)


def test_threshold_is_a_fraction_of_the_maximum():
    cam = np.zeros((10, 10))
    cam[2:8, 2:8] = 0.3
    cam[4:6, 4:6] = 1.0
    assert cam_to_box(cam, threshold=0.2) == (2, 2, 8, 8)  # 0.3 >= 0.2 * 1.0
    assert cam_to_box(cam, threshold=0.5) == (4, 4, 6, 6)  # 0.3 < 0.5 * 1.0


def test_largest_component_wins_over_highest_peak():
    cam = np.zeros((10, 20))
    cam[2:4, 1:3] = 1.0  # small, strongest
    cam[5:9, 10:16] = 0.5  # large
    assert cam_to_box(cam) == (10, 5, 16, 9)


def test_equal_components_tie_goes_to_the_peak():
    cam = np.zeros((10, 20))
    cam[1:4, 1:4] = 0.8
    cam[6:9, 14:17] = 1.0
    assert cam_to_box(cam) == (14, 6, 17, 9)


def test_diagonal_pixels_are_connected():
    cam = np.zeros((6, 6))
    cam[1, 1] = cam[2, 2] = cam[3, 3] = 1.0
    assert cam_to_box(cam) == (1, 1, 4, 4)


def test_border_flat_and_negative_maps():
    cam = np.zeros((12, 12))
    cam[0:3, 9:12] = 1.0
    assert cam_to_box(cam) == (9, 0, 12, 3)
    assert cam_to_box(np.full((5, 7), 0.3)) == (0, 0, 7, 5)
    assert cam_to_box(-np.ones((5, 7))) == (0, 0, 7, 5)  # no evidence anywhere: the whole image
    neg = -np.ones((8, 8))
    neg[3:5, 3:5] = 2.0
    assert cam_to_box(neg) == (3, 3, 5, 5)  # negatives count as zero


def test_cam_to_box_errors():
    with pytest.raises(ValueError, match="one map"):
        cam_to_box(np.zeros((2, 5, 5)))
    with pytest.raises(ValueError, match="threshold"):
        cam_to_box(np.ones((5, 5)), threshold=20)
    with pytest.raises(ValueError, match="NaN"):
        cam_to_box(np.full((5, 5), np.nan))


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # touching boxes share no pixel
    assert iou((0, 0, 10, 10), (5, 5, 15, 15)) == pytest.approx(25 / 175)
    assert iou((0, 0, 4, 4), (1, 1, 2, 2)) == pytest.approx(1 / 16)
    assert iou((0, 0, 3, 3), (20, 20, 25, 25)) == 0.0
    with pytest.raises(ValueError, match="x1 < x0"):
        iou((5, 0, 0, 5), (0, 0, 1, 1))


def test_box_accuracy_and_centre_box():
    assert centre_box(64, 0.5) == centre_box((64, 64), 0.5) == (16, 16, 48, 48)
    assert centre_box((40, 80), 0.5) == (20, 10, 60, 30)  # (H, W): a wide image, a wide box
    assert box_accuracy([(0, 0, 10, 10), (0, 0, 10, 10)], [(0, 0, 10, 10), (20, 20, 30, 30)]) == 0.5
    with pytest.raises(ValueError, match="as many predicted as true boxes"):
        box_accuracy([], [])


def test_upsample_and_normalize():
    maps = torch.randn(2, 3, 7, 7)
    up = upsample(maps, 224)
    assert up.shape == (2, 3, 224, 224)
    assert upsample(maps[0, 0], (100, 50)).shape == (100, 50)
    n = normalize(torch.stack([maps[0, 0], torch.zeros(7, 7), -maps[0, 0].abs()]))
    assert n.min() >= 0 and n[0].max() == pytest.approx(1.0)
    assert torch.equal(n[1], torch.zeros(7, 7)) and torch.equal(n[2], torch.zeros(7, 7))
    assert torch.isfinite(n).all()


def test_cam_maps_over_a_dataset_match_one_batch(small_gapnet):
    import camlib

    x = torch.rand(7, 3, 32, 32)
    result = camlib.cam_maps(small_gapnet, x, class_idx="all", batch_size=3)
    logits, maps = result.logits, result.maps
    with camlib.CAM(small_gapnet) as cam:
        ref = cam(x, class_idx=torch.tensor([[0, 1, 2, 3, 4]]))  # [1, K]: these classes for every image
    assert torch.allclose(logits, ref.logits, atol=1e-5) and torch.allclose(maps, ref.maps, atol=1e-5)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1])
    per_image = camlib.cam_maps(small_gapnet, x, class_idx=labels, batch_size=3).maps
    assert torch.allclose(per_image[:, 0], ref.maps[torch.arange(7), labels], atol=1e-5)


def test_peak_in_box():
    from camlib import peak_in_box

    maps = torch.zeros(2, 10, 10)
    maps[0, 2, 3] = 1.0  # x = 3, y = 2
    maps[1, 9, 9] = 1.0
    boxes = torch.tensor([[3, 2, 4, 3], [0, 0, 9, 9]])
    assert peak_in_box(maps, boxes).tolist() == [True, False]  # exclusive ends


# --- the batched box rule (cam_to_boxes): the same boxes as cam_to_box, map by map ---


def _assert_same_as_cam_to_box(maps, threshold=0.2, every_round=True):
    """Both batched paths (scipy on the stack; tensor ops, as on a GPU) give cam_to_box's boxes on maps [N, H, W]."""
    from camlib._fast import boxes_torch as _boxes_torch
    from camlib.boxes import cam_to_boxes

    maps = torch.as_tensor(np.asarray(maps, dtype=np.float32))
    ref = [cam_to_box(m, threshold) for m in maps]
    paths = {"scipy": cam_to_boxes(maps, threshold), "torch": _boxes_torch(maps, threshold)}
    if every_round:  # checking for convergence after every round of labelling
        paths["torch, check_every=1"] = _boxes_torch(maps, threshold, check_every=1)
    for name, boxes in paths.items():
        assert boxes.dtype == torch.int64 and boxes.shape == (len(maps), 4), name
        got = [tuple(b) for b in boxes.tolist()]
        bad = [i for i, (g, r) in enumerate(zip(got, ref)) if g != r]
        assert not bad, f"{name}: map {bad[0]} gives {got[bad[0]]}, cam_to_box {ref[bad[0]]}"
    return ref


@pytest.mark.parametrize(("size", "n"), [(64, 100), (224, 12)])
def test_batched_boxes_equal_cam_to_box_on_random_smooth_maps(size, n):
    g = torch.Generator().manual_seed(size)
    for small in (3, 7, 14):  # coarse maps: one or two big blobs; finer ones: many small blobs
        raw = torch.randn(n, small, small, generator=g) * torch.rand(n, 1, 1, generator=g) * 5  # not normalised
        up = upsample(raw, size)
        for t in (0.0, 0.2, 0.37, 0.8):
            _assert_same_as_cam_to_box(up, t, every_round=False)


def test_batched_boxes_break_ties_as_cam_to_box():
    # Maps of a few levels on small grids: many blobs of equal size and equal peak, empty maps,
    # and maps whose blobs all tie, next to each other in one stack.
    rng = np.random.default_rng(0)
    for _ in range(40):
        n, h, w = rng.integers(1, 7), rng.integers(1, 13), rng.integers(1, 13)
        maps = rng.integers(-1, 3, size=(n, h, w)) * rng.choice([0.0, 0.5, 1.0], size=(n, 1, 1))
        for t in (0.0, 0.2, 0.5, 1.0):
            _assert_same_as_cam_to_box(maps, t, every_round=False)


def test_batched_boxes_on_a_grid_of_tied_pixels():
    # Dozens of single-pixel blobs of equal size per map, some with equal values: the peak
    # and then raster order decide, as in cam_to_box.
    maps = np.zeros((3, 24, 24), dtype=np.float32)
    maps[:, ::3, ::3] = 1.0
    maps[1, 9, 12] = maps[1, 21, 3] = 2.0  # two equal highest peaks: the first in raster order
    maps[2, ::3, ::3] = np.arange(64, dtype=np.float32).reshape(8, 8)  # distinct peaks: the largest value
    assert _assert_same_as_cam_to_box(maps, every_round=False) == [(0, 0, 1, 1), (12, 9, 13, 10), (21, 21, 22, 22)]


def test_upsample_is_bilinear_interpolation():
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    # small maps (matrix products on the CPU) and a large one (F.interpolate), up and down
    for shape, size in [
        ((2, 3, 7, 7), (224, 224)),
        ((5, 16, 16), (64, 64)),
        ((7, 7), (100, 50)),
        ((1, 1, 32, 20), (13, 300)),
        ((3, 8, 8), (4, 5)),
        ((2, 40, 40), (224, 224)),
    ]:
        maps = torch.randn(shape, generator=g)
        lead = (1,) * (4 - len(shape))
        ref = F.interpolate(maps.reshape(lead + shape), size=size, mode="bilinear", align_corners=False)
        up = upsample(maps, size)
        assert up.shape == shape[:-2] + size and up.dtype == torch.float32
        torch.testing.assert_close(up, ref.reshape(shape[:-2] + size), rtol=0, atol=1e-6)
    # the resize matrices are plain tensors, so upsampling works with autograd even after
    # a first call inside inference_mode
    with torch.inference_mode():
        upsample(torch.randn(6, 6), 11)
    leaf = torch.randn(6, 6, requires_grad=True)
    upsample(leaf, 11).sum().backward()
    assert leaf.grad.shape == (6, 6) and torch.isfinite(leaf.grad).all()


def _boustrophedon(h, w):
    """A one-pixel-wide snake over an h x w box (h odd): full even rows joined at alternate ends."""
    snake = np.zeros((h, w), dtype=np.float32)
    snake[::2] = 1.0
    snake[1::4, -1] = snake[3::4, 0] = 1.0
    return snake


def test_batched_boxes_follow_a_snake_to_its_end():
    # A snake of 21 * 40 + 20 = 860 pixels, joined only end to end (a path of 860 steps), above a
    # solid 20 x 40 = 800-pixel block: the snake wins only if it is labelled as one blob.
    cam = np.zeros((64, 64), dtype=np.float32)
    cam[:41, :40] = _boustrophedon(41, 40)
    cam[44:64, :40] = 0.9
    vertical = np.ascontiguousarray(cam.T)
    assert _assert_same_as_cam_to_box(np.stack([cam, vertical])) == [(0, 0, 40, 41), (0, 0, 41, 40)]


def test_batched_boxes_edge_cases():
    maps = np.zeros((9, 10, 20), dtype=np.float32)
    maps[0] = 0.3  # flat: one blob, the whole image
    maps[1] = -1.0  # all negative: no evidence, the whole image
    # maps[2] stays all zero: the whole image
    maps[3, 0:3, 17:20] = 1.0  # maximum on the border (a corner)
    maps[4, 1:4, 1:4], maps[4, 6:9, 14:17] = 0.8, 1.0  # equal sizes: the higher peak wins
    maps[5, 6:9, 1:4], maps[5, 1:4, 14:17] = 1.0, 1.0  # full tie: the first in raster order
    maps[6, 5, 7] = 2.0  # a single pixel
    maps[7, 2, 3], maps[7, 8, 1] = 0.5, 0.6  # two single pixels: the higher
    maps[8] = -1.0  # negatives count as zero
    maps[8, 3:5, 3:5] = 2.0
    assert _assert_same_as_cam_to_box(maps) == [
        (0, 0, 20, 10),
        (0, 0, 20, 10),
        (0, 0, 20, 10),
        (17, 0, 20, 3),
        (14, 6, 17, 9),
        (14, 1, 17, 4),
        (7, 5, 8, 6),
        (1, 8, 2, 9),
        (3, 3, 5, 5),
    ]
    for i in range(len(maps)):  # a batch of one, each on its own
        _assert_same_as_cam_to_box(maps[i : i + 1])


def test_cam_to_boxes_shapes_and_errors():
    from camlib.boxes import cam_to_boxes

    maps = torch.zeros(2, 3, 6, 5)
    maps[1, 2, 1:3, 2] = 1.0
    boxes = cam_to_boxes(maps)
    assert boxes.shape == (2, 3, 4) and boxes[1, 2].tolist() == [2, 1, 3, 3] and boxes[0, 0].tolist() == [0, 0, 5, 6]
    assert cam_to_boxes(maps[1, 2]).tolist() == [2, 1, 3, 3]  # one map [H, W] -> one box [4]
    assert cam_to_boxes(torch.zeros(0, 6, 5)).shape == (0, 4)
    with pytest.raises(ValueError, match="NaN"):
        cam_to_boxes(torch.full((2, 5, 5), float("nan")))
    with pytest.raises(ValueError, match="threshold"):
        cam_to_boxes(maps, threshold=20)


def test_cam_to_boxes_with_a_size_upsamples_and_normalizes_first():
    from camlib import cam_to_boxes

    maps = torch.randn(3, 2, 7, 7, generator=torch.Generator().manual_seed(1))
    maps[1, 0] = -1.0  # no evidence: the whole image
    boxes = cam_to_boxes(maps, size=56)
    up = normalize(upsample(maps, 56))
    assert boxes.shape == (3, 2, 4) and boxes.dtype == torch.int64
    assert boxes.tolist() == [[list(cam_to_box(m)) for m in per_image] for per_image in up]
    assert boxes[1, 0].tolist() == [0, 0, 56, 56]
    assert torch.equal(cam_to_boxes(maps, 0.4, size=(56, 56)), cam_to_boxes(up, 0.4))


def test_localization_accuracy_needs_the_class_and_the_box():
    truth = [(0, 0, 10, 10), (0, 0, 10, 10), (0, 0, 10, 10)]
    labels = torch.tensor([1, 2, 3])
    good, bad = (0, 0, 10, 10), (20, 20, 30, 30)
    # top-1: right class and box; right box, wrong class; right class, wrong box
    top1 = camlib.localization_accuracy(torch.tensor([[1], [0], [3]]), [[good], [good], [bad]], labels, truth)
    assert top1 == pytest.approx(1 / 3)
    # top-2: the second guess counts when it has the true class and a good box, not the first guess's box
    classes = torch.tensor([[0, 1], [0, 2], [3, 0]])
    boxes = [[bad, good], [good, bad], [bad, good]]
    assert camlib.localization_accuracy(classes, boxes, labels, truth) == pytest.approx(1 / 3)
    assert camlib.localization_accuracy(classes, boxes, labels, truth, min_iou=0.0) == pytest.approx(1.0)


def test_localization_accuracy_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match=r"classes \[N, K\]"):
        camlib.localization_accuracy(
            torch.tensor([1, 2]), [[(0, 0, 1, 1)]] * 2, torch.tensor([1, 2]), [(0, 0, 1, 1)] * 2
        )
    with pytest.raises(ValueError, match="one box per guessed class"):
        camlib.localization_accuracy(torch.tensor([[1, 2]]), [[(0, 0, 1, 1)]], torch.tensor([1]), [(0, 0, 1, 1)])


def test_cam_maps_of_a_gmp_network_with_a_named_layer():
    """CAM refuses a max-pooled network by itself; named, its layer gives the paper's GMP maps."""
    model = camlib.GMPNet(5).eval()
    x = torch.rand(3, 3, 32, 32)
    with pytest.raises(ValueError, match="not the global average"):
        camlib.cam_maps(model, x)
    result = camlib.cam_maps(model, x, class_idx="all", target_layer="features")
    logits, maps = result.logits, result.maps
    with torch.no_grad():
        feats = model.features(x)
    assert torch.allclose(maps, torch.einsum("nc,bchw->bnhw", model.fc.weight, feats), atol=1e-5)
    assert torch.allclose(logits, model(x), atol=1e-5)
