"""Agreement of camlib's CAM family with torchcam and pytorch-grad-cam on the same inputs (chapter 9).

Not part of `make test`: it needs the benchmark requirements (`pip install -r
requirements-bench.txt`). For each method, the book's GAPNet maps the first ``--n`` test
images for their true class with camlib and with each reference library that has the
method, and the script prints the Pearson correlation of the two maps, after the same
post-processing on both sides (ReLU, then each map divided by its maximum), per image: its
mean and its minimum over the images. The target is >= 0.99. Then camlib's measures against
pytorch-grad-cam's on the same CAM maps: ROAD's noisy linear imputation (without noise) and
Average Drop / Increase in Confidence.

    .venv/bin/python -m benchmarks.agreement [--n 32]

torchcam returns maps at the target layer's resolution (compared as they are);
pytorch-grad-cam returns them resized to the input with OpenCV and min-max scaled, so camlib's
maps are upsampled (bilinear) and min-max scaled the same way before the comparison there.
Eigen-CAM's sign is arbitrary in an SVD: pytorch-grad-cam leaves it as it falls, camlib turns
the map towards the summed features, so its correlation is taken with the better of the two
signs.
"""

from __future__ import annotations

import argparse
import warnings

import torch

import cambook
import camlib


def pearson(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-row Pearson correlation of [N, ...] tensors."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp(min=1e-30)


def minmax(m: torch.Tensor) -> torch.Tensor:
    m = m.clamp(min=0)
    low, high = m.amin((-2, -1), keepdim=True), m.amax((-2, -1), keepdim=True)
    return (m - low) / (high - low).clamp(min=1e-7)


def ours(method, model, x, y):
    return method(model, x, class_idx=y).maps[:, 0].detach()


def torchcam_maps(name: str, model, x, y):
    from torchcam import methods

    cls = getattr(methods, name)
    kwargs = {"batch_size": 64, "input_shape": tuple(x.shape[1:])} if name == "ScoreCAM" else {}
    out = []
    for i in range(len(x)):  # one image at a time: torchcam's class_idx is per batch in older versions
        with cls(model, target_layer="features", **kwargs) as extractor:
            scores = model(x[i : i + 1])
            out.append(extractor(int(y[i]), scores, normalized=False)[0].detach())
    return torch.cat(out)


def gradcam_lib_maps(name: str, model, x, y):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cls = getattr(pytorch_grad_cam, name)
    with cls(model=model, target_layers=[model.features]) as cam:
        grey = cam(input_tensor=x, targets=[ClassifierOutputTarget(int(c)) for c in y])
    return torch.from_numpy(grey)


METHODS = {  # camlib function, torchcam class, pytorch-grad-cam class
    "Grad-CAM": (camlib.gradcam, "GradCAM", "GradCAM"),
    "Grad-CAM++": (camlib.gradcampp, "GradCAMpp", "GradCAMPlusPlus"),
    "Score-CAM": (camlib.scorecam, "ScoreCAM", "ScoreCAM"),
    "Layer-CAM": (camlib.layercam, "LayerCAM", "LayerCAM"),
    "XGrad-CAM": (camlib.xgradcam, "XGradCAM", "XGradCAM"),
    "Eigen-CAM": (camlib.eigencam, None, "EigenCAM"),
}


def map_agreement(model, x, y) -> list[dict]:
    """Per method: the Pearson r of camlib's maps with torchcam's and pytorch-grad-cam's (mean, min)."""
    rows = []
    for name, (fn, tc, pgc) in METHODS.items():
        mine = ours(fn, model, x, y)
        row: dict = {"method": name, "torchcam": None, "pytorch-grad-cam": None}
        if tc is not None:
            try:
                r = pearson(camlib.normalize(mine), camlib.normalize(torchcam_maps(tc, model, x, y)))
                row["torchcam"] = {"mean": r.mean().item(), "min": r.min().item()}
            except Exception as err:  # a reference that fails is reported, not fatal
                row["torchcam"] = {"error": f"{type(err).__name__}: {err}"[:200]}
        try:
            theirs = gradcam_lib_maps(pgc, model, x, y)
            size = tuple(theirs.shape[-2:])
            r = pearson(minmax(camlib.upsample(mine, size)), theirs)
            if name == "Eigen-CAM":  # pytorch-grad-cam leaves the SVD's sign as it falls; camlib fixes it
                r = torch.maximum(r, pearson(minmax(camlib.upsample(-mine, size)), theirs))
            row["pytorch-grad-cam"] = {"mean": r.mean().item(), "min": r.min().item()}
        except Exception as err:
            row["pytorch-grad-cam"] = {"error": f"{type(err).__name__}: {err}"[:200]}
        rows.append(row)
    return rows


def measure(n: int = 32) -> dict:
    """The whole comparison on the first ``n`` test images, as plain data (what `run.py` saves)."""
    warnings.filterwarnings("ignore")
    model = cambook.book_model("gapnet").eval()
    images, labels, _ = cambook.book_split("test")
    x, y = images[:n], labels[:n]
    return {"n": n, "model": "gapnet", "maps": map_agreement(model, x, y), "measures": metric_agreement(model, x, y)}


def _cell(value: dict | None) -> str:
    if value is None:
        return "-"
    if "error" in value:
        return "error: " + value["error"].split(":")[0]
    return f"{value['mean']:.4f} / {value['min']:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="test images")
    args = parser.parse_args()
    result = measure(args.n)
    print(f"Pearson r of the maps (mean and minimum over {args.n} test images), GAPNet, true class")
    print(f"{'method':12s} {'torchcam':>18s} {'pytorch-grad-cam':>18s}")
    for row in result["maps"]:
        print(f"{row['method']:12s} {_cell(row['torchcam']):>18s} {_cell(row['pytorch-grad-cam']):>18s}")
    m = result["measures"]
    print(f"ROAD imputation (noise 0), top half of CAM removed: largest difference {m['road_max_diff']:.2e}")
    print(
        f"Average Drop: camlib {m['average_drop_pct']:.2f} %; largest |camlib x Y - pytorch-grad-cam| per image "
        f"{m['drop_max_diff']:.2e}"
    )
    print(f"Increase in Confidence: camlib {m['increase_pct']:.2f} %, pytorch-grad-cam {m['their_increase_pct']:.2f} %")


def metric_agreement(model, x, y) -> dict:
    """camlib's measures against pytorch-grad-cam's on the same CAM maps: the ROAD imputation
    (without noise, so that both are deterministic) and Average Drop / Increase in Confidence."""
    from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence, IncreaseInConfidence
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    with camlib.CAM(model) as cam:
        maps = camlib.normalize(camlib.upsample(cam(x, class_idx=y).maps[:, 0], tuple(x.shape[-2:])))
    worst = 0.0
    for i in range(len(x)):
        top = maps[i].flatten().argsort(descending=True, stable=True)[: maps[i].numel() // 2]
        removed = torch.zeros(maps[i].numel(), dtype=torch.bool)
        removed[top] = True  # the top half, as ROAD at 50 % removes it
        removed = removed.view(maps[i].shape)
        mine = camlib.noisy_linear_imputation(x[i], removed, noise=0.0)
        theirs = NoisyLinearImputer(noise=0.0)(x[i], (~removed).float())
        worst = max(worst, (mine - theirs).abs().max().item())
    targets = [ClassifierOutputSoftmaxTarget(int(c)) for c in y]
    drop, rise = camlib.drop_and_increase(model, x, maps, y)
    with torch.no_grad():
        p = model(x).softmax(1).gather(1, y[:, None])[:, 0]
    their_drop = torch.from_numpy(DropInConfidence()(x, maps.numpy(), targets, model)).flatten()
    their_rise = torch.from_numpy(IncreaseInConfidence()(x, maps.numpy(), targets, model)).flatten()
    # pytorch-grad-cam's drop is Y - O (not divided by Y, the paper's Average Drop): compare drop * Y
    return {
        "road_max_diff": worst,
        "average_drop_pct": 100 * drop.mean().item(),
        "drop_max_diff": (drop * p - their_drop).abs().max().item(),
        "increase_pct": 100 * rise.float().mean().item(),
        "their_increase_pct": 100 * their_rise.float().mean().item(),
    }


if __name__ == "__main__":
    main()
