"""Localization on camlib's synthetic data with ground-truth boxes: CAM, Grad-CAM and two baselines.

The trained GAPNet of the book (``cambook.book_model("gapnet")``), the book's ``valid`` and ``test``
splits. For each image one box; a box is correct when its IoU with the true box is at
least 0.5 (the paper's criterion). Methods:

* CAM, predicted class: ``cam_boxes`` below (the map of the class the network predicts)
* CAM, true class: the same with ``class_idx`` = the label (what a perfect classifier would give)
* Grad-CAM, predicted class: ``camlib.gradcam`` at the same layer, boxed by the same rule (``boxes_at``)
* centred box: ``camlib.centre_box`` covering a fraction of each side (looks at nothing)
* whole image: the box (0, 0, W, H)

CAM and Grad-CAM have one parameter (the threshold), the centred box one (the fraction);
each is chosen on ``valid`` and reported on ``test``.
"""

from __future__ import annotations

import time

import torch
from torch import Tensor

import cambook
import camlib

# The grids of chapters 5 and 6, so that the appendix and the chapters choose from the same values.
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 17))  # 0.05, 0.10, ..., 0.80 of the map's maximum
FRACTIONS = tuple(round(0.2 + 0.05 * k, 2) for k in range(17))  # 0.20, 0.25, ..., 1.00 of each side


def gradcam_boxes(model, images: Tensor, thresholds, batch_size: int = 256) -> dict[float, list]:
    """Grad-CAM boxes (predicted class) of images [N, C, H, W] at several thresholds."""
    device = next(model.parameters()).device
    maps = torch.cat(
        [
            camlib.gradcam(model, images[start : start + batch_size].to(device), target_layer=model.features, topk=1)
            .maps[:, 0]
            .cpu()
            for start in range(0, len(images), batch_size)
        ]
    )
    # the boxes exactly as cam_boxes makes CAM's, so the timings compare the maps
    return boxes_at(maps, tuple(images.shape[-2:]), thresholds)


def boxes_at(maps: Tensor, size: tuple[int, int], thresholds) -> dict[float, list]:
    """Maps [N, h, w] upsampled to ``size`` and normalized once, then boxed at each threshold: {t: N boxes}."""
    up = camlib.normalize(camlib.upsample(maps, size))
    return {t: camlib.cam_to_boxes(up, t).tolist() for t in thresholds}


def cam_boxes(model, images: Tensor, thresholds, class_idx=None) -> dict[float, list]:
    """CAM boxes of images [N, C, H, W] (predicted class, or ``class_idx``) at several thresholds."""
    maps = camlib.cam_maps(model, images, class_idx=class_idx).maps
    return boxes_at(maps[:, 0], tuple(images.shape[-2:]), thresholds)


def _accuracies(model, x: Tensor, y: Tensor, boxes: Tensor) -> tuple[dict, dict]:
    truth = boxes.tolist()
    side = x.shape[-1]
    n = len(x)
    start = time.perf_counter()
    cam = cam_boxes(model, x, THRESHOLDS)
    cam_s = time.perf_counter() - start
    cam_true = cam_boxes(model, x, THRESHOLDS, class_idx=y)
    start = time.perf_counter()
    grad = gradcam_boxes(model, x, THRESHOLDS)
    grad_s = time.perf_counter() - start
    acc = {
        "cam_pred": {t: camlib.box_accuracy(cam[t], truth) for t in THRESHOLDS},
        "cam_true": {t: camlib.box_accuracy(cam_true[t], truth) for t in THRESHOLDS},
        "gradcam_pred": {t: camlib.box_accuracy(grad[t], truth) for t in THRESHOLDS},
        "centre": {f: camlib.box_accuracy([camlib.centre_box((side, side), f)] * n, truth) for f in FRACTIONS},
        "whole": camlib.box_accuracy([(0, 0, side, side)] * n, truth),
    }
    extra = {
        "same_boxes_cam_gradcam": sum(a == b for a, b in zip(cam[0.2], grad[0.2])) / n,
        "cam_boxes_ms_per_image": 1e3 * cam_s / n / len(THRESHOLDS),
        "gradcam_boxes_ms_per_image": 1e3 * grad_s / n / len(THRESHOLDS),
    }
    return acc, extra


def run_localization(device: torch.device) -> dict:
    start = time.perf_counter()
    model = cambook.book_model("gapnet", device=device)
    model_s = time.perf_counter() - start
    val_x, val_y, val_boxes = cambook.book_split("valid")
    test_x, test_y, test_boxes = cambook.book_split("test")
    val, _ = _accuracies(model, val_x, val_y, val_boxes)
    test, extra = _accuracies(model, test_x, test_y, test_boxes)
    chosen = {}
    for key in ("cam_pred", "cam_true", "gradcam_pred", "centre"):
        best = max(val[key], key=lambda p: (val[key][p], -abs(p - 0.2)))  # ties: closest to the paper's 0.2
        chosen[key] = {"param": best, "valid": val[key][best], "test": test[key][best]}
    chosen["whole"] = {"param": None, "valid": val["whole"], "test": test["whole"]}

    def keyed(acc: dict) -> dict:  # JSON keys are strings
        return {k: ({str(p): v for p, v in d.items()} if isinstance(d, dict) else d) for k, d in acc.items()}

    return {
        "thresholds": list(THRESHOLDS),
        "fractions": list(FRACTIONS),
        "test": keyed(test),
        "valid": keyed(val),
        "chosen_on_valid": chosen,
        "classification_accuracy": camlib.evaluate(model, test_x, test_y),
        "n_valid": len(val_x),
        "n_test": len(test_x),
        "image_size": int(test_x.shape[-1]),
        "gapnet_seconds": model_s,
        **extra,
    }
