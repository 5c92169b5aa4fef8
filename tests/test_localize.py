import numpy as np
import pytest
import torch

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
    cam[2:4, 1:3] = 1.0          # small, strongest
    cam[5:9, 10:16] = 0.5        # large
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
    assert centre_box(64, 64, 0.5) == (16, 16, 48, 48)
    assert box_accuracy([(0, 0, 10, 10), (0, 0, 10, 10)], [(0, 0, 10, 10), (20, 20, 30, 30)]) == 0.5
    with pytest.raises(ValueError):
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
    logits, maps = camlib.cam_maps(small_gapnet, x, class_idx="all", batch_size=3)
    with camlib.CAM(small_gapnet) as cam:
        ref = cam(x, class_idx=[0, 1, 2, 3, 4])
    assert torch.allclose(logits, ref.logits, atol=1e-5) and torch.allclose(maps, ref.maps, atol=1e-5)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1])
    _, per_image = camlib.cam_maps(small_gapnet, x, class_idx=labels, batch_size=3)
    assert torch.allclose(per_image[:, 0], ref.maps[torch.arange(7), labels], atol=1e-5)


def test_peak_in_box():
    from camlib import peak_in_box

    maps = torch.zeros(2, 10, 10)
    maps[0, 2, 3] = 1.0  # x = 3, y = 2
    maps[1, 9, 9] = 1.0
    boxes = torch.tensor([[3, 2, 4, 3], [0, 0, 9, 9]])
    assert peak_in_box(maps, boxes).tolist() == [True, False]  # exclusive ends
