"""The benchmark of camlib and the book: speed, memory and agreement against torchcam and
pytorch-grad-cam, localization against baselines, and the book's own run time.

    .venv/bin/pip install -r requirements-bench.txt        # torchcam, grad-cam, psutil
    .venv/bin/python benchmarks/run.py                     # the full run (about 16 min on 2 CPU cores)
    .venv/bin/python benchmarks/run.py --quick --skip-book # a rough run in a few minutes

Writes every result, with the machine it ran on, to ``--out`` (default
benchmarks/results/latest.json, or latest-cuda.json with ``--device cuda``; book/benchmarks.md
renders both) and prints the tables.
All parts run in one process, one after the other, on the same machine: a part that is
skipped is absent from the file (results of different runs are never mixed).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import camlib  # noqa: E402
from benchmarks import report  # noqa: E402
from benchmarks.machine import cpu_model, git_commit, usable_cpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def machine_info(device: torch.device) -> dict:
    import psutil

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "memory_gib": psutil.virtual_memory().total / 2**30,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": version("torchvision"),
        "torchcam": version("torchcam"),
        "grad_cam": version("grad-cam"),
        "camlib": camlib.__version__,
        "commit": git_commit(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({cpu_model()})",
        "load_avg_start": list(os.getloadavg()),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="1 warm-up and 3 timed calls per method (rough numbers)")
    p.add_argument("--warmup", type=int, help="warm-up calls per method (default 2; 1 with --quick)")
    p.add_argument(
        "--repeats",
        type=int,
        help="timed rounds, each calling every method once; medians are reported (default 20; 3 with --quick)",
    )
    p.add_argument(
        "--slow-repeats",
        type=int,
        help="of those rounds, how many also time pytorch-grad-cam's GradCAM (default 6, the fewest "
        "with a 95%% interval of the median; 2 with --quick)",
    )
    p.add_argument(
        "--own-repeats",
        type=int,
        help="rounds timing the libraries' own work on replayed feature maps (default 60; 10 with --quick)",
    )
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda; the same script on either")
    p.add_argument(
        "--threads", type=int, default=usable_cpus(), help="torch.set_num_threads (default: every usable core)"
    )
    p.add_argument(
        "--models",
        nargs="+",
        default=list(("resnet18", "resnet50", "efficientnet_lite0")),
        choices=("resnet18", "resnet50", "efficientnet_lite0"),
    )
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8, 32])
    p.add_argument("--memory-batch", type=int, default=32, help="batch size of the peak-memory measurement")
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-memory", action="store_true")
    p.add_argument("--skip-agreement", action="store_true")
    p.add_argument("--skip-localization", action="store_true")
    p.add_argument("--skip-book", action="store_true", help="do not execute the chapters (the slowest part)")
    p.add_argument("--skip-family", action="store_true", help="do not compare the CAM family with the references")
    p.add_argument(
        "--family-only",
        action="store_true",
        help="compare the CAM family and its measures with torchcam and pytorch-grad-cam only, and replace the "
        "'family' part of the results file (--out) with this run's, dated",
    )
    p.add_argument(
        "--book-only",
        action="store_true",
        help="execute the chapters only, and replace the 'book' part of the results file (--out) with "
        "this run's, which records its own date, commit and machine (the chapters change more often "
        "than camlib)",
    )
    p.add_argument(
        "--out",
        help="results file (default benchmarks/results/latest.json on the CPU, "
        "latest-cuda.json with --device cuda: the book's appendix shows both)",
    )
    args = p.parse_args(argv)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 2)
    args.repeats = args.repeats if args.repeats is not None else (3 if args.quick else 20)
    args.slow_repeats = args.slow_repeats if args.slow_repeats is not None else (2 if args.quick else 6)
    args.own_repeats = args.own_repeats if args.own_repeats is not None else (10 if args.quick else 60)
    if args.out is None:
        suffix = "" if torch.device(args.device).type == "cpu" else "-" + torch.device(args.device).type
        args.out = str(ROOT / "benchmarks" / "results" / f"latest{suffix}.json")
    return args


def update_part(args, part: str, flag: str, measure, render) -> dict:
    """Run one part of the benchmarks alone and replace that part of the saved results (--out).

    The part records its own date, commit and machine: ``flag`` parts change more often than camlib.
    """
    out = Path(args.out)
    if not out.is_file():
        raise SystemExit(f"{flag} updates {out}, which does not exist: run benchmarks/run.py first")
    results = json.loads(out.read_text())
    started = time.perf_counter()
    value = measure()
    value.update(
        date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        machine=machine_info(torch.device("cpu")),
        seconds=time.perf_counter() - started,
    )
    results[part] = value
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(render(results))
    print(f"\nupdated the {part} part of {out} ({value['seconds']:.0f} s)")
    return results


def update_book(args) -> dict:
    """``--book-only``: time the chapters and put them into the saved results as their own dated part."""
    from benchmarks import book_time

    def measure() -> dict:
        return book_time.run_book(log=lambda msg: print(msg, file=sys.stderr, flush=True))

    return update_part(args, "book", "--book-only", measure, report.book_md)


def update_family(args) -> dict:
    """``--family-only``: chapter 9's methods and measures against the references, as their own dated part."""
    from benchmarks import agreement

    return update_part(args, "family", "--family-only", agreement.measure, report.family_md)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.book_only:
        return update_book(args)
    if args.family_only:
        return update_family(args)
    from benchmarks import book_time, localization, speed  # after sys.path is set

    warm_malloc = speed.keep_freed_memory()  # before the measurements: every method runs on reused memory
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda, but torch sees no GPU")
    torch.set_num_threads(args.threads)
    models = tuple(args.models)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.perf_counter()
    results: dict = {
        "schema": 1,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "command": "benchmarks/run.py "
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "settings": {
            "quick": args.quick,
            "warmup": args.warmup,
            "repeats": args.repeats,
            "slow_repeats": min(args.slow_repeats, args.repeats),
            "own_repeats": args.own_repeats,
            "threads": args.threads,
            "device": str(device),
            "models": list(models),
            "batch_sizes": args.batch_sizes,
            "malloc_keeps_freed_memory": warm_malloc,
        },
        "machine": machine_info(device),
    }
    parts = {}
    if not args.skip_agreement:
        log("agreement of the maps ...")
        t = time.perf_counter()
        results["agreement"] = speed.run_agreement(models, device)
        parts["agreement"] = time.perf_counter() - t
    if not args.skip_speed:
        log("speed ...")
        t = time.perf_counter()
        results["speed"] = speed.run_speed(
            models,
            tuple(args.batch_sizes),
            args.warmup,
            args.repeats,
            device,
            log,
            slow_repeats=args.slow_repeats,
            own_repeats=args.own_repeats,
        )
        parts["speed"] = time.perf_counter() - t
    if not args.skip_localization:
        log("localization ...")
        t = time.perf_counter()
        results["localization"] = localization.run_localization(device)
        parts["localization"] = time.perf_counter() - t
    if not args.skip_memory:  # in a fresh process per model
        log(f"peak memory at batch {args.memory_batch} ...")
        t = time.perf_counter()
        results["memory"] = speed.peak_memory(models, speed.METHODS, args.memory_batch, device, args.threads, log)
        parts["memory"] = time.perf_counter() - t
    if not args.skip_family:
        from benchmarks import agreement

        log("the CAM family against torchcam and pytorch-grad-cam ...")
        t = time.perf_counter()
        results["family"] = agreement.measure()
        parts["family"] = time.perf_counter() - t
    if not args.skip_book:
        log("executing the chapters ...")
        t = time.perf_counter()
        results["book"] = book_time.run_book(log=log)
        parts["book"] = time.perf_counter() - t
    results["machine"]["load_avg_end"] = list(os.getloadavg())
    results["seconds"] = {"total": time.perf_counter() - started, **parts}

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(report.all_md(results))
    print(f"\nsaved {out} ({results['seconds']['total']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
