"""The benchmark's report: tables and targets computed from a results file (nothing is timed here).

The benchmark itself (benchmarks/run.py) is not part of the test suite; these tests check that
the numbers the book's appendix shows are read correctly from the saved results.
"""
from pathlib import Path

import pytest

from benchmarks import report

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def fake_results(forward, camlib_top5, torchcam_top5, gradcam_top5, boxes):
    """A results dict with one model at batch 8 and 32, the given per-round timings (ms) at both."""
    rows = []
    for batch in (8, 32):
        for method, samples in (("forward", forward), ("camlib_top1", camlib_top5), ("camlib_top5", camlib_top5),
                                ("torchcam_top1", torchcam_top5), ("torchcam_top5", torchcam_top5),
                                ("gradcam_top1", gradcam_top5), ("gradcam_top5", gradcam_top5),
                                ("camlib_boxes", boxes)):
            rows.append({"model": "resnet18", "batch": batch, "method": method,
                         "median_ms": sorted(samples)[len(samples) // 2], "samples_ms": list(samples)})
    return {"speed": {"rows": rows, "batch_sizes": [8, 32], "image_size": 224,
                      "models": {"resnet18": {"params_m": 11.69, "target_layer": "layer4", "weights": "random"}}}}


def test_ratio_is_the_median_of_ratios_within_rounds():
    # Round 2 is slow for every method (a busy machine): ratios within a round cancel it out.
    r = fake_results(forward=[10, 40, 10], camlib_top5=[10.3, 41, 10.4], torchcam_top5=[10.5, 42, 10.6],
                     gradcam_top5=[200, 800, 210], boxes=[10.5, 42, 10.5])
    assert report.ratio(r, "resnet18", 8, "camlib_top5") == pytest.approx(1.03)
    assert report.ratio(r, "resnet18", 8, "gradcam_top5", "camlib_top5") == pytest.approx(800 / 41)  # the middle round


def test_targets_met_and_not_met():
    good = fake_results(forward=[10, 10, 10], camlib_top5=[10.2, 10.3, 10.4], torchcam_top5=[10.5, 10.5, 10.5],
                        gradcam_top5=[150, 150, 150], boxes=[10.5, 10.6, 10.7])
    assert [t["met"] for t in report.targets(good)] == [True, True, True, True]
    bad = fake_results(forward=[10, 10, 10], camlib_top5=[12, 12, 12], torchcam_top5=[11, 11, 11],
                       gradcam_top5=[100, 100, 100], boxes=[20, 20, 20])
    assert [t["met"] for t in report.targets(bad)] == [False, False, False, False]
    table = report.targets_md(bad)
    assert table.count("**not met**") == 4 and "1.200 x" in table


@pytest.mark.parametrize("name", ["latest.json", "latest-cuda.json"])
def test_saved_results_render(name):
    """The files the book's appendix reads are complete: every part renders, every target is decided."""
    r = report.load(RESULTS / name)
    text = report.all_md(r)
    assert r["machine"]["torch"] in text and r["date"] in text
    assert all(isinstance(t["met"], bool) for t in report.targets(r))
    for model in r["speed"]["models"]:
        assert report.MODEL_LABELS[model] in text
    assert "(not measured" not in report.speed_md(r, next(iter(r["speed"]["models"])))
    assert all(row["ok"] for row in r["agreement"]["rows"]), "the three libraries' maps must agree"


def test_run_writes_the_device_file():
    from benchmarks import run

    assert run.parse_args([]).out.endswith("latest.json")
    assert run.parse_args(["--device", "cuda"]).out.endswith("latest-cuda.json")
    assert run.parse_args(["--out", "x.json"]).out == "x.json"
