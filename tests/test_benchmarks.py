"""The benchmark's report: tables and targets computed from a results file (nothing is timed here).

The benchmark itself (benchmarks/run.py) is not part of the test suite; these tests check that
the numbers the book's appendix shows are read correctly from the saved results.
"""

from pathlib import Path

import pytest

from benchmarks import report

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def fake_results(forward, camlib_top5, torchcam_top5, gradcam_top5, boxes, own=None):
    """A results dict with one model at batch 8 and 32, the given per-round timings (ms) at both;
    ``own`` = (camlib top-5, torchcam top-5) own-work timings, or None for a file without them."""
    rows = []
    for batch in (8, 32):
        for method, samples in (
            ("forward", forward),
            ("camlib_top1", camlib_top5),
            ("camlib_top5", camlib_top5),
            ("torchcam_top1", torchcam_top5),
            ("torchcam_top5", torchcam_top5),
            ("gradcam_top1", gradcam_top5),
            ("gradcam_top5", gradcam_top5),
            ("camlib_boxes", boxes),
        ):
            rows.append(
                {
                    "model": "resnet18",
                    "batch": batch,
                    "method": method,
                    "median_ms": sorted(samples)[len(samples) // 2],
                    "samples_ms": list(samples),
                }
            )
    r = {
        "speed": {
            "rows": rows,
            "batch_sizes": [8, 32],
            "image_size": 224,
            "models": {"resnet18": {"params_m": 11.69, "target_layer": "layer4", "weights": "random"}},
        }
    }
    if own is not None:
        r["speed"]["own_work"] = {
            "repeats": len(own[0]),
            "rows": [
                {
                    "model": "resnet18",
                    "batch": b,
                    "method": m,
                    "median_ms": sorted(v)[len(v) // 2],
                    "samples_ms": list(v),
                }
                for b in (8, 32)
                for m, v in (("camlib_top5", own[0]), ("torchcam_top5", own[1]))
            ],
        }
    return r


def test_median_interval_is_the_binomial_order_statistics():
    assert report.median_ci([1, 2, 3, 4, 5]) is None  # 5 values: no 95% interval exists
    assert report.median_ci(list(range(6))) == (0, 5)  # P(Bin(6, 1/2) = 0) = 1/64 <= 0.025
    assert report.median_ci(list(range(20, 0, -1))) == (6, 15)  # n = 20: ranks 6 and 15 (95.9%)
    v = list(range(100))
    assert report.median_ci(v) == (39, 60)  # n = 100: ranks 40 and 61


def test_ratio_is_the_median_of_ratios_within_rounds():
    # Round 2 is slow for every method (a busy machine): ratios within a round cancel it out.
    r = fake_results(
        forward=[10, 40, 10],
        camlib_top5=[10.3, 41, 10.4],
        torchcam_top5=[10.5, 42, 10.6],
        gradcam_top5=[200, 800, 210],
        boxes=[10.5, 42, 10.5],
    )
    assert report.ratio(r, "resnet18", 8, "camlib_top5") == pytest.approx(1.03)
    assert report.ratio(r, "resnet18", 8, "gradcam_top5", "camlib_top5") == pytest.approx(800 / 41)  # the middle round


def test_targets_met_and_not_met():
    good = fake_results(
        forward=[10, 10, 10],
        camlib_top5=[10.2, 10.3, 10.4],
        torchcam_top5=[10.5, 10.5, 10.5],
        gradcam_top5=[150, 150, 150],
        boxes=[10.5, 10.6, 10.7],
    )
    assert [t["met"] for t in report.targets(good)] == [True, True, True, True]
    assert "14.4 to 14.7 (range of 3 rounds)" in report.targets_md(good)  # too few rounds for a 95% interval
    bad = fake_results(
        forward=[10, 10, 10],
        camlib_top5=[12, 12, 12],
        torchcam_top5=[11, 11, 11],
        gradcam_top5=[100, 100, 100],
        boxes=[20, 20, 20],
    )
    assert [t["met"] for t in report.targets(bad)] == [False, False, False, False]
    table = report.targets_md(bad)
    assert table.count("**not met**") == 4 and "1.200 x" in table


def test_torchcam_target_uses_the_own_work_and_the_interval():
    # Totals equal within noise (the ratio scatters around 1), camlib's own work cheaper: met.
    forward = [100.0] * 8
    camlib = [101, 99, 102, 98, 100.5, 99.5, 101, 99]
    torchcam = [100.0] * 8
    noisy = fake_results(forward, camlib, torchcam, [2000] * 8, [101] * 8, own=([1.0] * 8, [2.0] * 8))
    t = report.targets(noisy)[1]
    assert t["met"] and "within noise" in t["note"] and "own work 0.50 x" in t["value"]
    # The same totals, but camlib's own work dearer than torchcam's: not met.
    dear = fake_results(forward, camlib, torchcam, [2000] * 8, [101] * 8, own=([3.0] * 8, [2.0] * 8))
    assert not report.targets(dear)[1]["met"]
    # camlib measurably slower in total (the whole interval above 1), however cheap its own work: not met.
    slow = fake_results(forward, [103.0] * 8, torchcam, [2000] * 8, [101] * 8, own=([1.0] * 8, [2.0] * 8))
    t = report.targets(slow)[1]
    assert not t["met"] and "measurably slower" in t["note"]
    noisy["speed"]["own_work"]["rows"] += [
        {"model": "resnet18", "batch": b, "method": "forward", "median_ms": 0.5, "samples_ms": [0.5] * 8}
        for b in (8, 32)
    ]
    assert report.added_shares(noisy) == {"camlib": [0.005, 0.005], "torchcam": [0.015, 0.015]}  # (1 - 0.5) / 100 ...
    assert "camlib 0.5% to 0.5% and torchcam 1.5% to 1.5%" in report.own_work_md(noisy)
    assert "replays" in report.own_work_md(noisy) and "own work was not timed" in report.own_work_md(
        slow | {"speed": {k: v for k, v in slow["speed"].items() if k != "own_work"}}
    )


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


def test_the_appendix_scans_the_chapters_grids():
    """One threshold grid and one grid of centred boxes for chapters 5 and 6 and the appendix."""
    import re
    from pathlib import Path

    import numpy as np

    from benchmarks.localization import FRACTIONS, THRESHOLDS

    src = Path(__file__).resolve().parents[1] / "book" / "src"
    scoring = (src / "06_scoring.py").read_text()
    assert "thresholds = [round(t, 2) for t in np.arange(0.05, 0.81, 0.05)]" in scoring
    assert list(THRESHOLDS) == [round(t, 2) for t in np.arange(0.05, 0.81, 0.05)]
    for chapter in ("05_map_to_box.py", "06_scoring.py"):
        assert re.search(r"np\.round\(np\.arange\(0\.2, 1\.01, 0\.05\), 2\)", (src / chapter).read_text())
    assert list(FRACTIONS) == np.round(np.arange(0.2, 1.01, 0.05), 2).tolist()


def test_a_book_part_timed_on_its_own_says_when_and_where():
    from benchmarks import report

    book = {
        "chapters": [{"chapter": "01_what_is_cam", "seconds": 9.5, "ok": True}],
        "total_s": 9.5,
        "gapnet_seconds": 0.02,
        "models": "shipped",
        "date": "2026-12-02 03:10",
        "machine": {"commit": "abc123", "logical_cpus": 2, "cpu": "AMD EPYC"},
    }
    text = report.book_md({"book": book})
    assert "--book-only" in text and "2026-12-02 03:10" in text and "abc123" in text
    assert "--book-only" not in report.book_md({"book": {k: v for k, v in book.items() if k not in ("date",)}})
