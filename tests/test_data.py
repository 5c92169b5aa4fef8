import numpy as np
import pytest
import torch
from PIL import Image

from cambook import book_split, sample_images
from camlib import CLASSES, load_image, synthetic


def test_synthetic_shapes_and_ranges():
    images, labels, boxes = synthetic(50, seed=3)
    assert images.shape == (50, 3, 64, 64) and images.dtype == torch.float32
    assert labels.shape == (50,) and labels.dtype == torch.int64
    assert boxes.shape == (50, 4) and boxes.dtype == torch.int64
    assert images.min() >= 0 and images.max() <= 1
    assert set(labels.tolist()) == set(range(len(CLASSES)))
    assert torch.bincount(labels).tolist() == [10] * 5  # balanced


def test_synthetic_is_deterministic_and_seeds_differ():
    a, b, c = synthetic(20, seed=7), synthetic(20, seed=7), synthetic(20, seed=8)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])


def test_boxes_are_the_tight_boxes_of_the_objects():
    images, labels, boxes, masks = synthetic(100, seed=4, with_masks=True)
    for img, box, mask in zip(images, boxes, masks):
        x0, y0, x1, y1 = box.tolist()
        ys, xs = torch.nonzero(mask, as_tuple=True)
        assert (x0, y0, x1, y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
        # the object is drawn last, in one colour: every mask pixel has the same value
        colours = img[:, mask]
        assert torch.allclose(colours, colours[:, :1].expand_as(colours))
        # box sizes vary: 12%..30% radius of a 64 px image
    sides = (boxes[:, 2] - boxes[:, 0]).float()
    assert sides.min() < 14 and sides.max() > 30


def test_the_scene_is_cluttered():
    images, _, _, masks = synthetic(20, seed=5, with_masks=True)
    background = images.permute(0, 2, 3, 1)[~masks]
    assert background.std(0).min() > 0.1  # not a flat background


def test_book_splits_do_not_overlap():
    tr, te = book_split("train")[0][:200], book_split("test")[0][:200]
    flat_tr = {hash(x.numpy().tobytes()) for x in tr}
    assert not any(hash(x.numpy().tobytes()) in flat_tr for x in te)
    with pytest.raises(ValueError, match="train"):
        book_split("training")


def test_sample_images():
    photos = sample_images()
    assert {"china", "chelsea", "coffee", "motorcycle", "flower"} <= set(photos)
    for name, photo in photos.items():
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3, name
        assert photo.shape[0] == photo.shape[1], name  # centre-cropped to a square
    full = sample_images(square=False)
    assert full["china"].shape == (427, 640, 3)


def test_load_image_accepts_paths_pil_and_arrays(tmp_path):
    rgb = (np.random.default_rng(0).random((10, 12, 3)) * 255).astype(np.uint8)
    path = tmp_path / "x.png"
    Image.fromarray(rgb).save(path)
    for source in (path, str(path), Image.fromarray(rgb), rgb, np.dstack([rgb, np.full((10, 12), 255, np.uint8)])):
        assert np.array_equal(load_image(source), rgb)
    gray = load_image(rgb[:, :, 0])
    assert gray.shape == (10, 12, 3) and np.array_equal(gray[:, :, 1], rgb[:, :, 0])


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        ("/no/such/file.jpg", ValueError, "no image file"),
        (np.zeros((4, 4, 2), np.uint8), ValueError, "HxWx3"),
        (np.zeros((4, 4, 3), np.int32), TypeError, "uint8"),
        (np.full((4, 4, 3), 2.0), ValueError, r"\[0, 1\]"),
        (torch.zeros(3, 4, 4), TypeError, "numpy"),
        (42, TypeError, "file path"),
    ],
)
def test_load_image_errors(bad, error, match):
    with pytest.raises(error, match=match):
        load_image(bad)


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"this is not a jpeg")
    with pytest.raises(ValueError, match="cannot read"):
        load_image(path)


def test_composite_places_each_photo_in_its_box():
    from camlib.data import composite
    from camlib.pretrained import make_preprocess

    photos = sample_images()
    scene, boxes = composite([photos["chelsea"], photos["motorcycle"]], size=64)
    assert scene.shape == (64, 128, 3) and scene.dtype == np.uint8
    assert boxes.dtype == torch.int64 and boxes.tolist() == [[0, 0, 64, 64], [64, 0, 128, 64]]
    preprocess = make_preprocess((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    for (x0, y0, x1, y1), name in zip(boxes.tolist(), ["chelsea", "motorcycle"]):
        # a tile preprocesses to exactly what the photo alone gives (same resize, none at the tile's size)
        assert torch.equal(preprocess(scene[y0:y1, x0:x1], size=64), preprocess(photos[name], size=64))
    one, box = composite([photos["coffee"]], size=32)
    assert one.shape == (32, 32, 3) and box.tolist() == [[0, 0, 32, 32]]


@pytest.mark.parametrize(
    ("images", "size", "message"),
    [
        ([], 224, "list of one or more photos"),
        (np.zeros((8, 8, 3), np.uint8), 224, "list of one or more photos"),
        ([np.zeros((8, 8, 3), np.uint8)], 0, "positive"),
    ],
)
def test_composite_errors(images, size, message):
    from camlib.data import composite

    with pytest.raises(ValueError, match=message):
        composite(images, size=size)


def test_hand_boxes_lie_inside_their_photos():
    from cambook import HAND_BOXES

    photos = sample_images()
    for name, (x0, y0, x1, y1) in HAND_BOXES.items():
        h, w = photos[name].shape[:2]
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, name
