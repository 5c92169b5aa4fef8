"""Retrain the book's networks on this machine and compare them with the shipped ones.

    .venv/bin/python benchmarks/retrain.py [gapnet gmpnet flattennet] [--runs 2] [--device cpu]

The chapters load the networks that ship with camlib (``camlib.book_model``), trained once by
``tools/train_book_models.py``. A reader can retrain them (``CAMLIB_RETRAIN=1``); this script
does so with the same recipes (no cache), ``--runs`` times each, and prints a table: training
seconds, test accuracy, the shipped network's test accuracy, and whether the retrained one
lands within 1.5 points of it (the target); for GAP networks also the localization accuracy
(IoU >= 0.5) at the paper's 0.2 threshold; and whether every run gave bit-identical weights
(they should on one machine; another CPU instruction set or a GPU gives slightly different ones).
Seconds depend on the machine (the table names it): compare them only within one run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import cambook  # noqa: E402
import camlib  # noqa: E402
from benchmarks.machine import cpu_description  # noqa: E402
from cambook.networks import RECIPES, manifest  # noqa: E402

TOLERANCE = 0.015  # a retrained network lands within 1.5 points of the shipped one's test accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", default=list(RECIPES), help=f"networks to retrain (default: {list(RECIPES)})"
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--device", default="cpu", help="cpu (default; what the shipped networks were trained on) or cuda"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    shipped = manifest()

    test_x, test_y, test_boxes = cambook.book_split("test")
    rows, all_same = [], True
    for name in args.names:
        recipe = RECIPES[name]
        train_x, train_y, _ = cambook.book_split(recipe.split)
        states = []
        for run in range(args.runs):
            model = recipe.build()
            start = time.perf_counter()
            camlib.train(model, train_x, train_y, device=device, progress=False, **recipe.settings)
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            acc = camlib.evaluate(model, test_x, test_y)
            gap = isinstance(getattr(model, "pool", None), torch.nn.AdaptiveAvgPool2d)  # CAM reads GAP networks
            loc = (
                camlib.box_accuracy(
                    camlib.cam_to_boxes(camlib.cam_maps(model, test_x).maps[:, 0], 0.2, size=64), test_boxes
                )
                if gap
                else None
            )
            rows.append((name, run + 1, seconds, acc, shipped[name]["test_accuracy"], loc))
            states.append({k: v.cpu() for k, v in model.state_dict().items()})
        same = all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in s)
        all_same &= same
        print(f"{name}: {args.runs} run(s), bit-identical weights across runs: {same}", flush=True)

    made = shipped[args.names[0]]["made_by"]
    print(
        f"\nthis machine: {cpu_description()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"device {device}"
    )
    print(f"shipped networks: trained on {made['machine']}, torch {made['torch']}, {made['date']}")
    print(
        "| network | run | train s | test acc | shipped test acc | difference | target (within 1.5 points) | "
        "loc acc @0.2 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, run, seconds, acc, ref, loc in rows:
        diff = acc - ref
        verdict = "met" if abs(diff) <= TOLERANCE + 1e-9 else "MISSED"
        print(
            f"| {name} | {run} | {seconds:.1f} | {100 * acc:.1f}% | {100 * ref:.1f}% | "
            f"{100 * diff:+.1f} | {verdict} | "
            f"{'-' if loc is None else f'{100 * loc:.1f}%'} |"
        )
    print(f"identical weights across runs of each network: {all_same}")


if __name__ == "__main__":
    main()
