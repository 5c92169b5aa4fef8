"""The book's promise for the small GAPNet: accurate, localizing, reproducible.

Training time is measured by benchmarks/train_gapnet.py, not asserted here.
"""
import pytest
import torch

import camlib
from camlib import CLASSES, GAPNet, book_split


@pytest.fixture(scope="module")
def two_runs():
    train_x, train_y, _ = book_split("train")
    models = []
    for _ in range(2):
        model = GAPNet(len(CLASSES))
        camlib.train(model, train_x, train_y, seed=0, device="cpu", progress=False)
        models.append(model)
    return models


def test_accuracy_on_another_seed(two_runs):
    test_x, test_y, _ = book_split("test")
    assert camlib.evaluate(two_runs[0], test_x, test_y) >= 0.95


def test_cam_boxes_hit_the_objects(two_runs):
    model = two_runs[0]
    val_x, _, val_boxes = book_split("valid")
    test_x, _, test_boxes = book_split("test")
    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    val = camlib.cam_boxes(model, val_x, thresholds)
    best = max(thresholds, key=lambda t: camlib.box_accuracy(val[t], val_boxes.tolist()))
    test = camlib.cam_boxes(model, test_x, [best])[best]
    assert camlib.box_accuracy(test, test_boxes.tolist()) >= 0.70
    centre = [camlib.centre_box(64, 64, 0.5)] * len(test_boxes)
    assert camlib.box_accuracy(test, test_boxes.tolist()) > camlib.box_accuracy(centre, test_boxes.tolist()) + 0.3


def test_same_seed_same_numbers(two_runs):
    a, b = (m.state_dict() for m in two_runs)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_load_or_train_reuses_the_weights(tmp_path):
    x, y, _ = camlib.synthetic(64, seed=9)
    first = camlib.load_or_train(GAPNet(5, widths=(4, 8)), x, y, cache_dir=str(tmp_path), epochs=1, progress=False)
    assert len(list(tmp_path.glob("gapnet-*.pt"))) == 1
    second = camlib.load_or_train(GAPNet(5, widths=(4, 8)), x, y, cache_dir=str(tmp_path), epochs=1, progress=False)
    assert all(torch.equal(first.state_dict()[k], second.state_dict()[k]) for k in first.state_dict())
    camlib.load_or_train(GAPNet(5, widths=(4, 8)), x, y, cache_dir=str(tmp_path), epochs=2, progress=False)
    assert len(list(tmp_path.glob("gapnet-*.pt"))) == 2  # other settings, other weights
