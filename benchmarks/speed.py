"""Speed, peak memory and agreement of camlib.CAM, torchcam's CAM and pytorch-grad-cam's GradCAM.

Every method is a context manager that puts its hooks on the model, yields a function doing
one batch of work, and takes its hooks off again, so that no method pays for another's hooks:

==================  =========================================================================
``forward``         ``model(x)`` under ``torch.inference_mode()``: the floor, (a)
``camlib_top{k}``   ``camlib.CAM``: one forward pass, the top-k maps, ``camlib.upsample`` to
                    the input size. Called as the library ships it (its own ``no_grad``).
``torchcam_top{k}`` torchcam's ``CAM``, used as its documentation shows: the forward pass under
                    ``inference_mode``, then one extractor call per rank (it takes one class
                    per image), ``normalized=False`` (raw maps, as camlib returns), upsampled
                    to the input size as torchcam resizes maps itself (``F.interpolate``,
                    bilinear, ``align_corners=False``: the same values as ``camlib.upsample``).
``gradcam_top{k}``  pytorch-grad-cam's ``GradCAM``: one call per rank, each a forward and a
                    backward pass over the batch (``targets=None`` gives the top-1 classes,
                    then ``ClassifierOutputTarget`` per image for ranks 2..k, read from the
                    first call's outputs). Its maps come back ReLU'd, min-max scaled and
                    resized to the input by the library itself.
``camlib_boxes``    ``camlib.CAM`` top-1 maps, then ``camlib.cam_to_boxes(maps, 0.2, size=)``:
                    upsample, normalise, and the paper's box rule on every map at once (one
                    scipy labelling of the whole batch on the CPU, tensor ops on a GPU; the
                    same boxes as ``cam_to_box`` map by map).
==================  =========================================================================

All three libraries hook the same layer: the one ``camlib.CAM`` finds in front of global
average pooling (``layer4`` of the ResNets, ``features`` of EfficientNet-Lite0).

``python -m benchmarks.speed --memory-child '{...}'`` is the fresh process in which
:func:`peak_memory` measures one model.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

import cambook
import camlib
from camlib.cam import find_fc
from camlib.pretrained import IMAGENET_MEAN, IMAGENET_STD, make_preprocess

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("resnet18", "resnet50", "efficientnet_lite0")
METHODS = (
    "forward",
    "camlib_top1",
    "camlib_top5",
    "torchcam_top1",
    "torchcam_top5",
    "gradcam_top1",
    "gradcam_top5",
    "camlib_boxes",
)
SIZE = 224  # input side, pixels
BOX_THRESHOLD = 0.2  # the paper's threshold for cam_to_box
AGREEMENT_TOLERANCE = 1e-4  # max |difference| between normalised maps in [0, 1]


# -- models and inputs ---------------------------------------------------------------------
def build_model(name: str, device: torch.device) -> tuple[nn.Module, nn.Module, Callable]:
    """(model in eval mode on device, the layer CAM reads, preprocess). ResNets are randomly
    initialised (seed 0): torchvision's weights cannot be downloaded here, and timing and
    agreement do not depend on the weights."""
    torch.manual_seed(0)
    if name == "efficientnet_lite0":
        pretrained = camlib.load_pretrained(name, device=device)
        model, preprocess = pretrained.model, pretrained.preprocess
    elif name in ("resnet18", "resnet50"):
        model = getattr(torchvision.models, name)(weights=None).to(device).eval()
        preprocess = make_preprocess(IMAGENET_MEAN, IMAGENET_STD)
    else:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    for p in model.parameters():
        p.requires_grad_(True)  # as a user's model has them; GradCAM needs the graph anyway
    with camlib.CAM(model) as cam:  # let camlib find the layer in front of GAP, once
        cam(torch.zeros(1, 3, SIZE, SIZE, device=device))
        layer = cam.target_layer
    return model, layer, preprocess


def layer_name(model: nn.Module, layer: nn.Module) -> str:
    return next(n for n, m in model.named_modules() if m is layer)


def make_input(batch: int, device: torch.device, seed: int = 0) -> Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, SIZE, SIZE, generator=gen).to(device)


# -- the methods ---------------------------------------------------------------------------
@contextlib.contextmanager
def method(name: str, model: nn.Module, layer: nn.Module, x: Tensor) -> Iterator[Callable[[], object]]:
    """Hooks on for ``name``; yields a function that does one batch of ``name``'s work on ``x``."""
    fc = find_fc(model)
    size = tuple(x.shape[-2:])
    k = int(name[-1]) if name[-1].isdigit() else 1
    if name == "forward":

        def forward():
            with torch.inference_mode():
                return model(x)

        yield forward
    elif name.startswith("camlib_top"):
        with camlib.CAM(model, target_layer=layer, fc=fc) as cam:
            yield lambda: camlib.upsample(cam(x, topk=k).maps, size)
    elif name == "camlib_boxes":
        with camlib.CAM(model, target_layer=layer, fc=fc) as cam:
            yield lambda: camlib.cam_to_boxes(cam(x, topk=1).maps, BOX_THRESHOLD, size=size)
    elif name.startswith("torchcam_top"):
        from torchcam.methods import CAM as TorchCAM

        with TorchCAM(model, target_layer=layer, fc_layer=fc, input_shape=tuple(x.shape[1:])) as extractor:

            def torchcam_maps():
                with torch.inference_mode():
                    idx = model(x).topk(k, dim=1).indices.tolist()  # B lists of k classes
                    maps = [extractor(class_idx=[row[j] for row in idx], normalized=False)[0] for j in range(k)]
                    # upsampled as torchcam itself resizes maps (fuse_cams, its metrics)
                    return F.interpolate(torch.stack(maps, dim=1), size=size, mode="bilinear", align_corners=False)

            yield torchcam_maps
    elif name.startswith("gradcam_top"):
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        with GradCAM(model=model, target_layers=[layer]) as gradcam:

            def gradcam_maps():
                maps = [gradcam(input_tensor=x, targets=None)]  # top-1 class of each image
                if k > 1:
                    top = gradcam.outputs.detach().topk(k, dim=1).indices.cpu().tolist()
                    for j in range(1, k):
                        maps.append(gradcam(input_tensor=x, targets=[ClassifierOutputTarget(row[j]) for row in top]))
                return torch.from_numpy(np.stack(maps, axis=1))  # [B, k, H, W]

            yield gradcam_maps
        model.zero_grad(set_to_none=True)  # GradCAM's backward passes leave .grad on the weights
    else:
        raise ValueError(f"unknown method {name!r}; choose from {METHODS}")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


SLOW = ("gradcam_top1", "gradcam_top5")  # a backward pass per class: timed in fewer rounds


def time_methods(
    model: nn.Module,
    layer: nn.Module,
    x: Tensor,
    methods: tuple[str, ...],
    warmup: int,
    repeats: int,
    slow_repeats: int | None = None,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Seconds per call of each method: ``warmup`` untimed calls each, then ``repeats`` rounds
    that time every method once (so a change of load on the machine hits all alike).

    Within a round the methods come in a random order, drawn afresh for every round (seeded),
    so that no method regularly follows the same one. The methods in ``SLOW`` are timed in the
    first ``slow_repeats`` rounds only (default: all), at the end of the round, followed by an
    untimed forward pass, so that no timed call of the other methods comes right after their
    backward passes: their targets have wide margins, and one of their calls costs as much as
    dozens of the others', whose few-percent differences need many rounds to resolve.
    Sample j of every method comes from round j, so ratios can be taken round by round.
    """
    slow_repeats = repeats if slow_repeats is None else min(slow_repeats, repeats)
    for name in methods:
        with method(name, model, layer, x) as fn:
            for _ in range(warmup):
                fn()
    rng = random.Random(seed)
    fast = [m for m in methods if m not in SLOW]
    slow = [m for m in methods if m in SLOW]
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for i in range(repeats):
        order = rng.sample(fast, len(fast)) + (rng.sample(slow, len(slow)) if i < slow_repeats else [])
        for name in order:
            with method(name, model, layer, x) as fn:
                _sync(x.device)
                start = time.perf_counter()
                out = fn()
                _sync(x.device)
                samples[name].append(time.perf_counter() - start)
                del out
        if i < slow_repeats and slow:
            with method("forward", model, layer, x) as fn:  # settle before the next round's first timed call
                fn()
                _sync(x.device)
    return samples


class _Emit(nn.Module):
    """Returns the stored tensor, whatever its input: the replayed last feature map."""

    def __init__(self, features: Tensor):
        super().__init__()
        self.stored = features

    def forward(self, x: Tensor) -> Tensor:
        return self.stored


class Replay(nn.Module):
    """A stand-in network that replays stored feature maps [B, C, h, w] through the real
    network's global average pooling and fc layer. The CAM methods hook ``features`` as they
    hook the real network's last layer, so timing them on it leaves out the convolutions (the
    same for every method) and times what the libraries themselves add: hooks, checks, the
    choice of classes, the maps and their upsampling."""

    def __init__(self, features: Tensor, fc: nn.Linear):
        super().__init__()
        self.features = _Emit(features)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = fc

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


OWN_METHODS = ("forward", "camlib_top1", "camlib_top5", "torchcam_top1", "torchcam_top5")


def time_own_work(model: nn.Module, layer: nn.Module, x: Tensor, warmup: int, repeats: int) -> dict[str, list[float]]:
    """:func:`time_methods` for the CAM methods on a :class:`Replay` of ``model``'s feature maps for ``x``."""
    fc = find_fc(model)
    with camlib.CAM(model, target_layer=layer, fc=fc) as cam:
        features = cam(x).features
    replay = Replay(features, fc)
    return time_methods(replay, replay.features, x, OWN_METHODS, warmup, repeats)


def run_speed(
    models: tuple[str, ...],
    batch_sizes: tuple[int, ...],
    warmup: int,
    repeats: int,
    device: torch.device,
    log: Callable[[str], None] = print,
    slow_repeats: int | None = None,
    own_repeats: int = 60,
) -> dict:
    rows, own_rows, info = [], [], {}
    for name in models:
        model, layer, _ = build_model(name, device)
        info[name] = {
            "params_m": round(camlib.count_params(model) / 1e6, 2),
            "target_layer": layer_name(model, layer),
            "weights": ("ImageNet (camlib.load_pretrained)" if name == "efficientnet_lite0" else "random (seed 0)"),
        }
        for batch in batch_sizes:
            x = make_input(batch, device)
            start = time.perf_counter()
            samples = time_methods(model, layer, x, METHODS, warmup, repeats, slow_repeats)
            for m, s in samples.items():
                rows.append(
                    {
                        "model": name,
                        "batch": batch,
                        "method": m,
                        "median_ms": 1e3 * statistics.median(s),
                        "samples_ms": [round(1e3 * v, 3) for v in s],
                    }
                )
            own = time_own_work(model, layer, x, warmup, own_repeats)
            for m, s in own.items():
                own_rows.append(
                    {
                        "model": name,
                        "batch": batch,
                        "method": m,
                        "median_ms": 1e3 * statistics.median(s),
                        "samples_ms": [round(1e3 * v, 4) for v in s],
                    }
                )
            med = {m: 1e3 * statistics.median(s) for m, s in samples.items()}
            log(
                f"  speed {name} batch {batch}: forward {med['forward']:.1f} ms, "
                f"camlib top-5 {med['camlib_top5']:.1f} ms, torchcam top-5 {med['torchcam_top5']:.1f} ms, "
                f"gradcam top-5 {med['gradcam_top5']:.1f} ms, boxes {med['camlib_boxes']:.1f} ms; own work top-5: "
                f"camlib {1e3 * statistics.median(own['camlib_top5']):.2f} ms, "
                f"torchcam {1e3 * statistics.median(own['torchcam_top5']):.2f} ms "
                f"({time.perf_counter() - start:.0f} s)"
            )
        del model
    return {
        "rows": rows,
        "own_work": {"rows": own_rows, "repeats": own_repeats},
        "models": info,
        "warmup": warmup,
        "repeats": repeats,
        "slow_repeats": repeats if slow_repeats is None else min(slow_repeats, repeats),
        "slow_methods": list(SLOW),
        "batch_sizes": list(batch_sizes),
        "image_size": SIZE,
        "box_threshold": BOX_THRESHOLD,
    }


# -- peak memory ---------------------------------------------------------------------------
MEMORY_WHAT = {
    "cuda": "growth of torch.cuda.max_memory_allocated during one call at this batch size, after a warm-up call, in "
    "a fresh process per model: activations, gradients, outputs and library buffers; not the weights or "
    "the input",
    "cpu": "growth of the process's peak resident set size (VmHWM, reset through /proc/self/clear_refs) during one "
    "call at this batch size, over the RSS just before it, after a warm-up call at the same size, in a fresh "
    "process per model; glibc's mmap threshold is fixed at 128 KiB and free memory trimmed first, so that "
    "every tensor freed earlier has left the RSS: activations, gradients, outputs and library buffers; "
    "not the weights or the input",
}


def _proc_status_kb(field: str) -> int:
    return int(re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M).group(1))


class _Glibc:
    """mallopt / malloc_trim, so that the RSS follows the live tensors (no-ops without glibc)."""

    def __init__(self) -> None:
        try:
            self.libc = ctypes.CDLL("libc.so.6")
            self.libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD: big blocks are mmap-ed, and unmapped on free
        except (OSError, AttributeError):
            self.libc = None

    def trim(self) -> None:
        gc.collect()
        if self.libc is not None:
            self.libc.malloc_trim(0)


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse (no mmap, no trimming), as a
    long-running process's allocator does. Without it every activation above 32 MiB is a fresh
    mmap whose pages the kernel must fault in and zero on each call: measured here, that made
    EfficientNet-Lite0's forward pass at batch 32 take 1,060 ms instead of 291 ms, and hid the
    work being compared. Returns False where there is no glibc (the timings then include it)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(-4, 0)) and bool(libc.mallopt(-1, 2**40))  # M_MMAP_MAX = 0, M_TRIM_THRESHOLD = 1 TiB


def peak_memory(
    models: tuple[str, ...],
    methods: tuple[str, ...],
    batch: int,
    device: torch.device,
    threads: int,
    log: Callable[[str], None] = print,
) -> dict:
    """Peak memory of one call of each method at ``batch`` (MiB), in a fresh process per model.

    A fresh process, because a process that has already run other work keeps freed memory
    and one-time buffers that would count (measured here: ResNet-18's forward pass at batch 32
    read 196 MiB in a fresh process and over 500 MiB after the speed runs).
    """
    rows = []
    for name in models:
        spec = {"model": name, "methods": list(methods), "batch": batch, "device": str(device), "threads": threads}
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.speed", "--memory-child", json.dumps(spec)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))),
        )
        try:
            rows += json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            log(f"  memory {name}: the measuring process failed (exit code {proc.returncode})")
            rows += [{"model": name, "method": m, "peak_mb": None} for m in methods]
    return {"batch": batch, "what": MEMORY_WHAT[device.type], "rows": rows}


def _memory_child(spec: dict) -> list[dict]:
    """Runs in a fresh process: the peak memory of each method on one model."""
    glibc = _Glibc()  # first thing, before any tensor exists
    torch.set_num_threads(spec["threads"])
    device, batch = torch.device(spec["device"]), spec["batch"]
    model, layer, _ = build_model(spec["model"], device)
    x = make_input(batch, device)
    rows = []
    for m in spec["methods"]:
        with method(m, model, layer, x) as fn:
            fn()  # warm-up at the same batch size: one-time buffers and kernel set-up are not counted
        with method(m, model, layer, x) as fn:  # a fresh extractor: nothing kept from the warm-up
            if device.type == "cuda":
                torch.cuda.synchronize(device)
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats(device)
                before = torch.cuda.memory_allocated(device)
                out = fn()
                torch.cuda.synchronize(device)
                peak = (torch.cuda.max_memory_allocated(device) - before) / 2**20
            else:
                glibc.trim()
                before = _proc_status_kb("VmRSS")
                try:
                    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := the current RSS
                    out = fn()
                    peak = (_proc_status_kb("VmHWM") - before) / 1024
                except OSError as err:
                    out, peak = None, None
                    print(f"  memory: cannot reset the peak RSS ({err})", file=sys.stderr)
            del out
        rows.append({"model": spec["model"], "method": m, "peak_mb": peak})
        print(
            f"  memory {spec['model']} {m} batch {batch}: " + ("-" if peak is None else f"{peak:.0f} MiB"),
            file=sys.stderr,
            flush=True,
        )
    return rows


# -- agreement -----------------------------------------------------------------------------
def _minmax(maps: Tensor) -> Tensor:
    lo = maps.amin(dim=(-2, -1), keepdim=True)
    hi = maps.amax(dim=(-2, -1), keepdim=True)
    return (maps - lo) / (hi - lo).clamp(min=1e-12)


def canonical(raw: Tensor, size: tuple[int, int]) -> Tensor:
    """Raw maps [B, K, h, w] in the form pytorch-grad-cam returns: ReLU at the feature-map
    resolution, min-max scaling, bilinear resize to ``size`` (half-pixel centres, as cv2.resize),
    min-max scaling again (which also removes the small epsilon grad-cam divides with)."""
    return _minmax(camlib.upsample(_minmax(raw.float().clamp(min=0)), size))


AGREEMENT_WHAT = (
    f"each library's top-5 maps of the same 5 photos (camlib.sample_images, 224 px, the model's "
    f"preprocess) for the same classes (camlib's top-5), brought to one form: ReLU, min-max scaling, "
    f"bilinear resize to 224 px, min-max scaling (pytorch-grad-cam returns that form itself). Agreement: "
    f"max |difference| <= {AGREEMENT_TOLERANCE} over all pixels of all maps."
)


def run_agreement(models: tuple[str, ...], device: torch.device) -> dict:
    photos = list(cambook.sample_images().values())
    rows: list[dict] = []
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # the maths, in float32
    try:
        for name in models:
            rows += _agreement_rows(name, device, photos)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    return {"tolerance": AGREEMENT_TOLERANCE, "what": AGREEMENT_WHAT, "rows": rows}


def _agreement_rows(name: str, device: torch.device, photos: list) -> list[dict]:
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    from torchcam.methods import CAM as TorchCAM

    model, layer, preprocess = build_model(name, device)
    x = torch.stack([preprocess(p, size=SIZE) for p in photos]).to(device)
    size = tuple(x.shape[-2:])
    with camlib.CAM(model, target_layer=layer) as cam:
        res = cam(x, topk=5)
    idx = res.class_idx.cpu().tolist()  # the same classes for all three libraries
    ours_raw = res.maps.cpu()
    with TorchCAM(model, target_layer=layer, fc_layer=find_fc(model)) as extractor, torch.inference_mode():
        model(x)
        tc_raw = torch.stack(
            [extractor(class_idx=[row[j] for row in idx], normalized=False)[0].cpu() for j in range(5)], dim=1
        )
    with GradCAM(model=model, target_layers=[layer]) as gc:
        gc_maps = [gc(input_tensor=x, targets=[ClassifierOutputTarget(row[j]) for row in idx]) for j in range(5)]
    model.zero_grad(set_to_none=True)
    ours = canonical(ours_raw, size)
    rows = []
    for other, maps in (
        ("torchcam CAM", canonical(tc_raw, size)),
        ("pytorch-grad-cam GradCAM", _minmax(torch.from_numpy(np.stack(gc_maps, axis=1)))),
    ):
        diff = (ours - maps).abs().amax().item()
        a, b = ours.flatten(2).double(), maps.flatten(2).double()
        a, b = a - a.mean(-1, keepdim=True), b - b.mean(-1, keepdim=True)
        corr = ((a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp(min=1e-12)).amin().item()
        rows.append(
            {
                "model": name,
                "pair": f"camlib.CAM vs {other}",
                "maps": int(ours.shape[0] * ours.shape[1]),
                "max_abs_diff": diff,
                "min_corr": corr,
                "ok": diff <= AGREEMENT_TOLERANCE,
            }
        )
    # the raw maps of camlib and torchcam are the same sum_k w_ck f_k, before any normalisation
    rows[0]["raw_rel_diff"] = ((ours_raw - tc_raw).abs().amax() / ours_raw.abs().amax()).item()
    return rows


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="peak memory of the methods on one model, in this fresh process (run.py starts it)"
    )
    parser.add_argument("--memory-child", required=True, help="JSON: model, methods, batch, device, threads")
    print(json.dumps(_memory_child(json.loads(parser.parse_args().memory_child))))


if __name__ == "__main__":
    main()
