"""How long the book's GAPNet takes to train, and what it reaches (issue: under 60 s on 2 CPU cores).

    .venv/bin/python benchmarks/train_gapnet.py [--runs 2] [--device cpu]

Trains ``GAPNet(len(CLASSES))`` with ``camlib.train``'s defaults on ``book_split("train")``
(no cache), ``--runs`` times, and prints a table: training seconds, test accuracy,
localization accuracy (IoU >= 0.5) at the paper's 0.2 threshold and at the threshold chosen
on the validation split, and whether every run gave bit-identical weights.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch

import camlib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--device", default=None, help="default: camlib.default_device()")
    args = parser.parse_args()
    device = torch.device(args.device) if args.device else camlib.default_device()

    train_x, train_y, _ = camlib.book_split("train")
    val_x, _, val_boxes = camlib.book_split("valid")
    test_x, test_y, test_boxes = camlib.book_split("test")
    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]

    rows, states = [], []
    for run in range(args.runs):
        model = camlib.GAPNet(len(camlib.CLASSES))
        start = time.perf_counter()
        camlib.train(model, train_x, train_y, device=device, progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        acc = camlib.evaluate(model, test_x, test_y)
        val = camlib.cam_boxes(model, val_x, thresholds)
        best = max(thresholds, key=lambda t: camlib.box_accuracy(val[t], val_boxes.tolist()))
        test = camlib.cam_boxes(model, test_x, sorted({0.2, best}))
        rows.append((run + 1, seconds, acc, camlib.box_accuracy(test[0.2], test_boxes.tolist()), best,
                     camlib.box_accuracy(test[best], test_boxes.tolist())))
        states.append({k: v.cpu() for k, v in model.state_dict().items()})

    same = all(torch.equal(states[0][k], s[k]) for s in states[1:] for k in s)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, device {device}")
    print(f"data: {len(train_x)} train / {len(val_x)} valid / {len(test_x)} test images of "
          f"{train_x.shape[-1]}x{train_x.shape[-1]} px, {len(camlib.CLASSES)} classes")
    print("| run | train s | target | test acc | target | loc acc @0.2 | chosen thr | loc acc @chosen | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run, seconds, acc, loc02, best, loc in rows:
        print(f"| {run} | {seconds:.1f} | < 60 {'met' if seconds < 60 else 'MISSED'} | {100 * acc:.1f}% | "
              f">= 95% {'met' if acc >= 0.95 else 'MISSED'} | {100 * loc02:.1f}% | {best} | {100 * loc:.1f}% | "
              f">= 70% {'met' if loc >= 0.70 else 'MISSED'} |")
    print(f"identical weights across runs: {same}")


if __name__ == "__main__":
    main()
