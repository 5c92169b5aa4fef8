"""Tables (markdown) and plots from a saved results file; used by run.py and by book/benchmarks.md.

Nothing here measures anything: every function reads the dictionary that run.py saved.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LATEST = ROOT / "benchmarks" / "results" / "latest.json"

LABELS = {
    "forward": "(a) forward pass",
    "camlib_top1": "(b) camlib.CAM top-1",
    "camlib_top5": "(b) camlib.CAM top-5",
    "torchcam_top1": "(c) torchcam CAM top-1",
    "torchcam_top5": "(c) torchcam CAM top-5",
    "gradcam_top1": "(d) pytorch-grad-cam GradCAM top-1",
    "gradcam_top5": "(d) pytorch-grad-cam GradCAM top-5",
    "camlib_boxes": "camlib.CAM top-1 + a box per image",
}
OWN_LABELS = {
    "forward": "replayed maps -> GAP -> fc, no CAM",
    "camlib_top1": "camlib.CAM top-1",
    "camlib_top5": "camlib.CAM top-5",
    "torchcam_top1": "torchcam CAM top-1",
    "torchcam_top5": "torchcam CAM top-5",
}
MODEL_LABELS = {"resnet18": "ResNet-18", "resnet50": "ResNet-50", "efficientnet_lite0": "EfficientNet-Lite0"}
LOC_LABELS = {
    "cam_pred": "CAM (predicted class)",
    "cam_true": "CAM (true class)",
    "gradcam_pred": "Grad-CAM (predicted class)",
    "centre": "centred box",
    "whole": "whole image",
}


def load(path: str | Path | None = None) -> dict:
    return json.loads(Path(path or LATEST).read_text())


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _rows(r: dict, part: str) -> list[dict]:
    """The timing rows: "rows" (the networks) or "own_work" (the replayed feature maps; absent in older files)."""
    return r["speed"]["rows"] if part == "rows" else r["speed"].get(part, {}).get("rows", [])


def _ms(r: dict, part: str = "rows") -> dict[tuple[str, int, str], float]:
    return {(row["model"], row["batch"], row["method"]): row["median_ms"] for row in _rows(r, part)}


def _samples(r: dict, part: str = "rows") -> dict[tuple[str, int, str], list[float]]:
    return {(row["model"], row["batch"], row["method"]): row["samples_ms"] for row in _rows(r, part)}


def _round_ratios(r: dict, model: str, batch: int, method: str, base: str, part: str) -> list[float] | None:
    """time(method) / time(base), round by round (sample j of each method is from round j;
    a method timed in fewer rounds pairs with the first rounds of the other)."""
    s = _samples(r, part)
    a, b = s.get((model, batch, method)), s.get((model, batch, base))
    return [x / y for x, y in zip(a, b)] if a and b else None


def ratio(r: dict, model: str, batch: int, method: str, base: str = "forward", part: str = "rows") -> float | None:
    """Median over the timing rounds of time(method) / time(base) in the same round.

    Every round times each method once, back to back, so a ratio within a round compares
    calls made under the same load; the median of those ratios resists a busy machine better
    than a ratio of two medians taken from different rounds.
    """
    import statistics

    q = _round_ratios(r, model, batch, method, base, part)
    return statistics.median(q) if q else None


def median_ci(values: list[float], level: float = 0.95) -> tuple[float, float] | None:
    """A distribution-free confidence interval for the median: order statistics k and n + 1 - k
    (1-based), with k the largest rank whose binomial tail P(Bin(n, 1/2) < k) is at most
    (1 - level) / 2. None with fewer than 6 values (no such k exists at 95%)."""
    import math

    n = len(values)
    tail, k = 0.0, 0
    while True:
        nxt = tail + math.comb(n, k) / 2**n  # P(Bin(n, 1/2) <= k)
        if nxt > (1 - level) / 2:
            break
        tail, k = nxt, k + 1
    if k == 0:
        return None
    v = sorted(values)
    return v[k - 1], v[n - k]


def ratio_ci(
    r: dict, model: str, batch: int, method: str, base: str = "forward", part: str = "rows"
) -> tuple[float, float] | None:
    """95% interval of the median of the per-round ratios that :func:`ratio` reports."""
    q = _round_ratios(r, model, batch, method, base, part)
    return median_ci(q) if q else None


def _fmt_ms(ms: float) -> str:
    return f"{ms:.1f}" if ms >= 10 else f"{ms:.2f}" if ms >= 1 else f"{ms:.3f}"


# -- header -----------------------------------------------------------------------------------
def machine_md(r: dict) -> str:
    m, s = r["machine"], r["settings"]
    device = m["device_name"] if m["device"] == "cpu" else f"{m['device_name']} ({m['device']})"
    lines = [
        f"Run of {r['date']} (UTC), `{r['command']}`" + (f", at commit `{m['commit']}`." if m.get("commit") else "."),
        f"Machine: {m['cpu']}, {m['usable_cpus']} usable CPU cores ({m['logical_cpus']} logical), "
        f"{m['memory_gib']:.0f} GiB RAM; device {device}; torch {m['torch']} with {s['threads']} threads, "
        f"torchvision {m['torchvision']}, torchcam {m['torchcam']}, grad-cam {m['grad_cam']}, Python {m['python']}; "
        f"load average {m['load_avg_start'][0]:.2f} at the start, {m['load_avg_end'][0]:.2f} at the end.",
        f"Timing: {s['warmup']} warm-up calls per method, then {s['repeats']} timed rounds, each calling every method "
        f"once (GradCAM in the first {s.get('slow_repeats', s['repeats'])} rounds only)"
        + (
            f"; the libraries' own work on replayed feature maps in {s['own_repeats']} rounds"
            if s.get("own_repeats")
            else ""
        )
        + (" (a **quick** run: few rounds, numbers are rough)" if s["quick"] else "")
        + ("; glibc's malloc keeps freed memory for reuse" if s.get("malloc_keeps_freed_memory") else "")
        + ".",
    ]
    return "\n\n".join(lines)


# -- speed --------------------------------------------------------------------------------------
def speed_md(r: dict, model: str) -> str:
    ms = _ms(r)
    batches = r["speed"]["batch_sizes"]
    header = ["method"] + [f"{h} B={b}" for b in batches for h in ("ms", "x (a)")]
    rows = []
    for method in LABELS:
        row = [LABELS[method]]
        for b in batches:
            v, q = ms.get((model, b, method)), ratio(r, model, b, method)
            row += [_fmt_ms(v), f"{q:.2f}"] if v is not None and q is not None else ["-", "-"]
        rows.append(row)
    info = r["speed"]["models"][model]
    return (
        f"**{MODEL_LABELS[model]}** ({info['params_m']} M parameters, {info['weights']} weights, maps from "
        f"`{info['target_layer']}`; input {r['speed']['image_size']} px)\n\n" + table(header, rows)
    )


def _straddles(ci: tuple[float, float] | None, limit: float) -> bool:
    return ci is not None and ci[0] <= limit <= ci[1]


def _interval(ci: tuple[float, float] | None, digits: int = 3) -> str:
    return "-" if ci is None else f"{ci[0]:.{digits}f} to {ci[1]:.{digits}f}"


def targets(r: dict) -> list[dict]:
    """The issue's targets for camlib, each with its measured value, the 95% interval of that
    value, and whether it is met.

    A ratio target is met when the median of the per-round ratios meets it; ``note`` says when
    the 95% interval reaches across the limit (the verdict could flip on another run). The
    torchcam target compares two methods whose time is almost all the same forward pass: it is
    met when camlib's own work (timed on replayed feature maps, see ``speed.Replay``) costs no
    more than torchcam's at every batch size and camlib is not measurably slower in total (the
    95% interval of the total ratio reaches down to 1.0 or below). Files without the own-work
    timing (older runs) are judged on the medians of the totals alone.
    """
    if not r.get("speed"):
        return []
    batches = r["speed"]["batch_sizes"]
    out = []
    for model in r["speed"]["models"]:
        name = MODEL_LABELS[model]
        if 8 in batches:
            q, ci = ratio(r, model, 8, "camlib_top5"), ratio_ci(r, model, 8, "camlib_top5")
            out.append(
                {
                    "target": "camlib top-5 maps (upsampled) <= 1.05 x forward pass, batch 8",
                    "model": name,
                    "value": f"{q:.3f} x",
                    "interval": _interval(ci),
                    "met": q <= 1.05,
                    "note": "within noise" if _straddles(ci, 1.05) else "",
                }
            )
        total = {b: ratio(r, model, b, "camlib_top5", "torchcam_top5") for b in batches}
        cis = {b: ratio_ci(r, model, b, "camlib_top5", "torchcam_top5") for b in batches}
        worst, wb = max((q, b) for b, q in total.items())
        own = [ratio(r, model, b, "camlib_top5", "torchcam_top5", part="own_work") for b in batches]
        if all(o is not None for o in own):
            # the interval shown: the batch size whose interval reaches highest
            hb = max(batches, key=lambda b: cis[b][1] if cis[b] else total[b])
            slower = [b for b in batches if (cis[b][0] > 1.0 if cis[b] else total[b] > 1.0)]
            noisy = [b for b in batches if _straddles(cis[b], 1.0)]
            out.append(
                {
                    "target": "camlib top-5 <= torchcam top-5 (same work), every batch size",
                    "model": name,
                    "value": f"{worst:.3f} x in total (worst, B={wb}); own work {max(own):.2f} x (worst)",
                    "interval": _interval(cis[hb]) + f" (B={hb})",
                    "met": max(own) <= 1.0 and not slower,
                    "note": "; ".join(
                        filter(
                            None,
                            [
                                "own work cheaper" if max(own) <= 1.0 else "own work dearer",
                                f"totals equal within noise at B={', '.join(map(str, noisy))}" if noisy else "",
                                (
                                    f"measurably slower in total at B={', '.join(map(str, slower))}"
                                    if all(cis[b] for b in slower)
                                    else f"slower in total at B={', '.join(map(str, slower))} "
                                    "(medians; too few rounds for an interval)"
                                )
                                if slower
                                else "",
                            ],
                        )
                    ),
                }
            )
        else:
            ci = cis[wb]
            out.append(
                {
                    "target": "camlib top-5 <= torchcam top-5 (same work), every batch size",
                    "model": name,
                    "value": f"{worst:.3f} x (worst, B={wb})",
                    "interval": _interval(ci),
                    "met": worst <= 1.0,
                    "note": "within noise" if _straddles(ci, 1.0) else "",
                }
            )
        least, lb = min((ratio(r, model, b, "gradcam_top5", "camlib_top5"), b) for b in batches)
        ci = ratio_ci(r, model, lb, "gradcam_top5", "camlib_top5")
        if ci is None:  # too few rounds for a 95% interval (a quick run): show their range instead
            q = _round_ratios(r, model, lb, "gradcam_top5", "camlib_top5", "rows")
            spread, interval = (min(q), max(q)), f"{min(q):.1f} to {max(q):.1f} (range of {len(q)} rounds)"
        else:
            spread, interval = ci, _interval(ci, 1)
        out.append(
            {
                "target": "camlib top-5 >= 10 x faster than pytorch-grad-cam GradCAM top-5, every batch size",
                "model": name,
                "value": f"{least:.1f} x (least, B={lb})",
                "interval": interval,
                "met": least >= 10,
                "note": "within noise" if _straddles(spread, 10) else "",
            }
        )
        if 32 in batches:
            q, ci = 1 / ratio(r, model, 32, "camlib_boxes"), ratio_ci(r, model, 32, "camlib_boxes")
            ci = None if ci is None else (1 / ci[1], 1 / ci[0])  # throughput: the inverse of the time ratio
            out.append(
                {
                    "target": "top-1 maps + a box for each of 32 images >= 0.90 x forward throughput, batch 32",
                    "model": name,
                    "value": f"{q:.3f} x",
                    "interval": _interval(ci),
                    "met": q >= 0.90,
                    "note": "within noise" if _straddles(ci, 0.90) else "",
                }
            )
    return out


def targets_md(r: dict) -> str:
    rows = [
        [
            t["target"],
            t["model"],
            t["value"],
            t["interval"],
            ("met" if t["met"] else "**not met**") + (f" ({t['note'].lstrip('; ')})" if t["note"] else ""),
        ]
        for t in targets(r)
    ]
    return (
        table(["target", "model", "measured (median)", "95% interval", "verdict"], rows)
        if rows
        else "(speed not measured in this run)"
    )


def own_work_md(r: dict) -> str:
    """camlib's and torchcam's own work, on replayed feature maps (no convolutions)."""
    own = r["speed"].get("own_work")
    if not own:
        return "(the libraries' own work was not timed in this run)"
    ms = _ms(r, "own_work")
    batches = r["speed"]["batch_sizes"]
    methods = [m for m in OWN_LABELS if any((mo, b, m) in ms for mo in r["speed"]["models"] for b in batches)]
    rows = []
    for model in r["speed"]["models"]:
        for m in methods:
            rows.append(
                [MODEL_LABELS[model], OWN_LABELS[m]]
                + [_fmt_ms(ms[(model, b, m)]) if (model, b, m) in ms else "-" for b in batches]
            )
    shares = added_shares(r)
    spans = [f"{lib} {100 * min(v):.1f}% to {100 * max(v):.1f}%" for lib, v in shares.items() if v]
    summary = (
        f" For the top-5 maps, over the networks and batch sizes, the libraries add this share of the network's "
        f"forward pass (a): {' and '.join(spans)} (the time here less the replayed GAP and fc, over (a)'s "
        f"median)."
        if spans
        else ""
    )
    return (
        f"What each library adds to the forward pass, in ms per batch "
        f"(median of {own['repeats']} rounds): the same "
        f"calls as above on a stand-in network that replays each network's stored last feature maps through its "
        f"real global average pooling and fc layer, so that the convolutions, the same for every method, are "
        f"left out: hooks, checks, the choice of classes, the maps and their upsampling to the input size."
        f"{summary}\n\n" + table(["network", "method"] + [f"ms B={b}" for b in batches], rows)
    )


def added_shares(r: dict) -> dict[str, list[float]]:
    """{library: [(own work of its top-5 call - the replayed forward) / forward pass (a), per network and batch]}."""
    own, full = _ms(r, "own_work"), _ms(r)
    out: dict[str, list[float]] = {"camlib": [], "torchcam": []}
    for (model, batch, method), t in own.items():
        lib = method.split("_")[0]
        if (
            method.endswith("_top5")
            and lib in out
            and (model, batch, "forward") in own
            and (model, batch, "forward") in full
        ):
            out[lib].append((t - own[(model, batch, "forward")]) / full[(model, batch, "forward")])
    return out


# -- memory, agreement ---------------------------------------------------------------------------
def memory_md(r: dict) -> str:
    mem = r["memory"]
    models = list(dict.fromkeys(row["model"] for row in mem["rows"]))
    methods = list(dict.fromkeys(row["method"] for row in mem["rows"]))
    peak = {(row["model"], row["method"]): row.get("peak_mb") for row in mem["rows"]}
    rows = [
        [LABELS[m]] + [("-" if peak[(mo, m)] is None else f"{peak[(mo, m)]:.0f}") for mo in models] for m in methods
    ]
    return f"Peak memory at batch {mem['batch']}, MiB: {mem['what']}.\n\n" + table(
        ["method"] + [MODEL_LABELS[mo] for mo in models], rows
    )


def agreement_md(r: dict) -> str:
    a = r["agreement"]
    rows = [
        [
            MODEL_LABELS[row["model"]],
            row["pair"],
            row["maps"],
            f"{row['max_abs_diff']:.1e}",
            f"{row['min_corr']:.6f}",
            "met" if row["ok"] else "**not met**",
        ]
        for row in a["rows"]
    ]
    return f"Agreement of the maps: {a['what']}\n\n" + table(
        ["model", "pair", "maps", "max abs diff", "min correlation", f"<= {a['tolerance']:g}"], rows
    )


def family_md(r: dict) -> str:
    """Chapter 9's methods against torchcam and pytorch-grad-cam, and camlib's measures against pytorch-grad-cam's."""
    f = r["family"]

    def cell(value: dict | None) -> str:
        if value is None:
            return "not in the library"
        if "error" in value:
            return f"error ({value['error'].split(':')[0]})"
        mark = "" if value["mean"] >= 0.99 else " (below 0.99)"
        return f"{value['mean']:.4f} / {value['min']:.4f}{mark}"

    rows = [[row["method"], cell(row["torchcam"]), cell(row["pytorch-grad-cam"])] for row in f["maps"]]
    m = f["measures"]
    when = f" Run on {f['date']} UTC with `benchmarks/run.py --family-only`." if f.get("date") else ""
    return (
        f"Pearson correlation of camlib's maps with each library's, per image, on the shipped GAPNet and the first "
        f"{f['n']} test images (their true class), after the same post-processing on both sides: mean / minimum "
        f"over the images.{when}\n\n"
        + table(["method", "torchcam", "pytorch-grad-cam"], rows)
        + "\n\nThe measures on the same CAM maps, camlib against pytorch-grad-cam: ROAD's noisy linear imputation "
        f"(without noise, the map's top half removed) differs by at most {m['road_max_diff']:.1e}; camlib's "
        f"Average Drop ({m['average_drop_pct']:.2f} %) is the paper's max(0, Y - O) / Y per image, pytorch-grad-cam's "
        f"drop is max(0, Y - O), and the two agree within {m['drop_max_diff']:.1e} once camlib's is multiplied by Y; "
        f"Increase in Confidence is "
        f"{m['increase_pct']:.2f} % in camlib and {m['their_increase_pct']:.2f} % in pytorch-grad-cam."
    )


# -- localization -----------------------------------------------------------------------------------
def localization_md(r: dict) -> str:
    loc = r["localization"]
    test = loc["test"]
    rows = [
        [t] + [f"{100 * test[k][str(t)]:.1f}%" for k in ("cam_pred", "cam_true", "gradcam_pred")]
        for t in loc["thresholds"]
    ]
    per_thr = table(
        ["threshold (fraction of the map's max)"] + [LOC_LABELS[k] for k in ("cam_pred", "cam_true", "gradcam_pred")],
        rows,
    )
    centre = table(
        ["centred box, fraction of each side", "accuracy"],
        [[f, f"{100 * test['centre'][str(f)]:.1f}%"] for f in loc["fractions"]],
    )
    chosen = loc["chosen_on_valid"]
    rows = [
        [
            LOC_LABELS[k],
            "-" if c["param"] is None else c["param"],
            f"{100 * c['valid']:.1f}%",
            f"{100 * c['test']:.1f}%",
        ]
        for k, c in chosen.items()
    ]
    summary = table(["method", "parameter chosen on valid", "valid", "test"], rows)
    return (
        f"Localization accuracy (IoU >= 0.5 with the true box) of the book's GAPNet on the synthetic test split "
        f"({loc['n_test']} images of {loc['image_size']} px; classification accuracy "
        f"{100 * loc['classification_accuracy']:.1f}%), by threshold:\n\n{per_thr}\n\n"
        f"Baselines that look at nothing: the whole image, {100 * test['whole']:.1f}%; "
        f"the centred box:\n\n{centre}\n\n"
        f"Each method with its one parameter (threshold or fraction) chosen on the validation split "
        f"({loc['n_valid']} images):\n\n{summary}\n\n"
        f"CAM and Grad-CAM give the same box on {100 * loc['same_boxes_cam_gradcam']:.1f}% of the test images at "
        f"threshold 0.2 (for a GAP network Grad-CAM is CAM divided by h x w); boxes cost "
        f"{loc['cam_boxes_ms_per_image']:.2f} ms per image and threshold with CAM, "
        f"{loc['gradcam_boxes_ms_per_image']:.2f} ms with Grad-CAM."
    )


def book_md(r: dict) -> str:
    b = r["book"]
    rows = [
        [c["chapter"], f"{c['seconds']:.1f}", "ok" if c["ok"] else f"**failed**: {c.get('error', '')}"]
        for c in b["chapters"]
    ]
    rows.append(["**total**", f"**{b['total_s']:.1f}**", ""])
    if b.get("models") == "shipped":  # runs since the book ships its trained networks
        before = (
            f"shipped GAPNet loaded once before (it took {b['gapnet_seconds']:.1f} s; the chapters load the "
            f"shipped networks too, so none trains one but for chapter 2's short demonstration)"
        )
    else:  # the saved runs of earlier versions, which trained the GAPNet into a cache
        before = (
            f"trained GAPNet already in camlib's cache (getting it took {b['gapnet_seconds']:.1f} s before the "
            f"chapters ran; on a fresh machine, training it once takes about 40 s more)"
        )
    own = ""
    if b.get("date"):  # timed on its own by `run.py --book-only`, after the rest of the run
        m = b["machine"]
        own = (
            f" Timed on its own with `benchmarks/run.py --book-only` on {b['date']} UTC (commit "
            f"{m.get('commit') or 'unknown'}, {m.get('logical_cpus', '?')}-core {m.get('cpu', 'CPU')}), after the "
            f"rest of this page: the chapters change more often than camlib."
        )
    return (
        f"Wall time to execute each chapter in a fresh kernel (nbclient, kernel start included), with the book's "
        f"{before}.{own}\n\n" + table(["chapter", "seconds", "status"], rows)
    )


def all_md(r: dict) -> str:
    """Everything, as printed by run.py."""
    parts = ["# Benchmark results", machine_md(r)]
    if r.get("speed"):
        parts += [
            "## Targets",
            targets_md(r),
            "## Speed (ms per batch: median; x (a): median over rounds of the ratio to the forward pass)",
        ]
        parts += [speed_md(r, m) for m in r["speed"]["models"]]
        parts += ["## The libraries' own work", own_work_md(r)]
    for key, title, fn in (
        ("memory", "## Peak memory", memory_md),
        ("agreement", "## Agreement", agreement_md),
        ("localization", "## Localization", localization_md),
        ("family", "## The CAM family against torchcam and pytorch-grad-cam", family_md),
        ("book", "## The book's run time", book_md),
    ):
        parts += [title, fn(r) if r.get(key) else f"(not measured in this run: --skip-{key})"]
    return "\n\n".join(parts)


# -- plots (for the book page) ------------------------------------------------------------------------
def plot_speed(r: dict):
    import matplotlib.pyplot as plt

    models = list(r["speed"]["models"])
    batches = r["speed"]["batch_sizes"]
    methods = [m for m in LABELS if m != "forward"]
    # one network per row, so that the figure stays readable at the width of the book's text
    fig, axes = plt.subplots(len(models), 1, figsize=(7.5, 2.6 * len(models) + 1.2), sharey=True, squeeze=False)
    width = 0.8 / len(methods)
    paired = plt.get_cmap("Paired").colors  # light/dark pairs: top-1/top-5 of one library
    colours = {
        "camlib_top1": paired[0],
        "camlib_top5": paired[1],
        "torchcam_top1": paired[2],
        "torchcam_top5": paired[3],
        "gradcam_top1": paired[4],
        "gradcam_top5": paired[5],
        "camlib_boxes": paired[9],
    }
    for ax, model in zip(axes[:, 0], models):
        for i, method in enumerate(methods):
            ratios = [ratio(r, model, b, method) for b in batches]
            ax.bar(
                [j + (i - (len(methods) - 1) / 2) * width for j in range(len(batches))],
                ratios,
                width,
                label=LABELS[method],
                color=colours[method],
            )
        ax.axhline(1.0, color="black", lw=0.8)
        ax.set_yscale("log")
        ax.set_xticks(range(len(batches)), [f"B={b}" for b in batches])
        ax.set_title(MODEL_LABELS[model])
        ax.set_ylabel("time / forward (a)")
    axes[-1][0].set_xlabel("batch size; bars: time of each method / time of the forward pass (log scale)")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 1.1 / (2.6 * len(models) + 1.2), 1, 1))
    return fig


def plot_localization(r: dict):
    import matplotlib.pyplot as plt

    loc = r["localization"]
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for key, style in (("cam_pred", "o-"), ("cam_true", "s--"), ("gradcam_pred", "x:")):
        ax.plot(
            loc["thresholds"], [100 * loc["test"][key][str(t)] for t in loc["thresholds"]], style, label=LOC_LABELS[key]
        )
    best_centre = max(loc["test"]["centre"].values())
    ax.axhline(100 * best_centre, color="grey", ls="-.", label="centred box (best fraction on test)")
    ax.axhline(100 * loc["test"]["whole"], color="black", ls=":", label="whole image")
    ax.set_xlabel("threshold (fraction of the map's maximum)")
    ax.set_ylabel("boxes with IoU >= 0.5 (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_book(r: dict):
    import matplotlib.pyplot as plt

    chapters = r["book"]["chapters"]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(chapters) + 1.2))
    ax.barh([c["chapter"] for c in chapters][::-1], [c["seconds"] for c in chapters][::-1], color="tab:blue")
    ax.set_xlabel("seconds to execute")
    ax.set_title(f"total {r['book']['total_s']:.0f} s")
    fig.tight_layout()
    return fig
