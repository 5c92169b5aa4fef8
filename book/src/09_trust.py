# %% [markdown]
# # 9. Can we trust a map?
#
# The chapters so far compute class activation maps. This one asks whether a map explains
# the network. The question is pressing because CAM has a whole family now: Grad-CAM
# (chapter 8), Grad-CAM++, Score-CAM, Layer-CAM, XGrad-CAM and Eigen-CAM, each a few lines
# in `camlib`, each drawing a slightly different picture. Which one should a reader
# believe? The field answers with measurements, and the measurements disagree with each
# other; this chapter runs them side by side on a network whose objects we know to the
# pixel: the book's GAPNet on the synthetic shapes, which come with their object masks.
#
# In this chapter you will:
#
# * compute the five new maps with the same call as `camlib.gradcam`, and count what each
#   costs in forward and backward passes;
# * measure every map, and three baselines that know nothing of the network, with the
#   pointing game, relevance mass, deletion and insertion, ROAD, and Average Drop and
#   Increase in Confidence, each with a 95 % bootstrap interval;
# * see where these measures disagree, and explain it from what each one measures;
# * run the sanity check of Adebayo et al.: randomize the network from the top and watch
#   which maps change (by rank correlation and by SSIM), and which do not;
# * measure the cheap maps again on chapter 1's pretrained EfficientNet-Lite0, in scenes of
#   two photos where the target's tile is its box, and see what changes from the GAPNet.

# %% tags=["colab-setup", "remove-cell"]
# Set-up: in Colab, install camlib and its dependencies; elsewhere this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "camlib-book[book] @ git+https://github.com/camlib-book/cam-book"],
                   check=True)

import cambook

cambook.show_notes()  # the page prints which shipped weights the chapter loads

# %%
import itertools
import textwrap
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display

import cambook
import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
_ = torch.manual_seed(0)

# %% [markdown]
# ## Seven maps and three baselines
#
# Every method weights the feature maps $f_k$ of the last convolutional layer and sums
# them, as CAM does; they differ in the weights. With
# $g_k(x,y) = \partial y_c / \partial f_k(x,y)$ the gradient of the class score:
#
# | method | map of class $c$ | paper |
# |---|---|---|
# | CAM | $\sum_k w^c_k f_k$ | Zhou et al., CVPR 2016 |
# | Grad-CAM | $\sum_k \mathrm{mean}_{xy}(g_k)\, f_k$ | Selvaraju et al., ICCV 2017 |
# | Grad-CAM++ | $\sum_k \big(\sum_{xy} a_k(x,y)\,\mathrm{relu}(g_k(x,y))\big) f_k$ | Chattopadhyay et al., WACV 2018 |
# | Score-CAM | $\sum_k \mathrm{softmax}_k\big(y_c(\text{image masked by } f_k)\big)\, f_k$ | Wang et al., CVPRW 2020 |
# | Layer-CAM | $\sum_k \mathrm{relu}(g_k(x,y))\, f_k(x,y)$ | Jiang et al., TIP 2021 |
# | XGrad-CAM | $\sum_k \frac{\sum_{xy} g_k f_k}{\sum_{xy} f_k}\, f_k$ | Fu et al., BMVC 2020 |
# | Eigen-CAM | $f$ projected on its first principal component | Muhammad and Yeasin, IJCNN 2020 |
#
# Score-CAM uses no gradient: it masks the image with each upsampled feature map in turn,
# reads the class score of each masked image, and turns the scores into channel weights
# with a softmax over the channels (the paper's Algorithm 1). Eigen-CAM
# uses no class at all. Each is called like `camlib.gradcam` (their docstrings hold the
# formulas in full).
#
# Beside them we measure three maps that know nothing of the network: a **centre prior**
# (a Gaussian bump in the middle of the image), a **random map**, and a **Sobel edge map**
# of the image. A measure that cannot tell them from the real maps measures something
# else than the network.
#
# All ten take `(model, images, classes)` and return one map per image:

# %%
def family(method):
    """A camlib method as `(model, x, classes) -> maps [B, h, w]`."""
    return lambda model, x, idx: method(model, x, class_idx=idx).maps[:, 0]


def cam(model, x, idx):
    with camlib.CAM(model) as hooked:
        return hooked(x, class_idx=idx).maps[:, 0]


def centre_prior(model, x, idx):
    h, w = x.shape[-2:]
    ys = torch.arange(h, device=x.device) + 0.5 - h / 2
    xs = torch.arange(w, device=x.device) + 0.5 - w / 2
    bump = torch.exp(-(ys[:, None] ** 2 + xs[None] ** 2) / (2 * (h / 4) ** 2))
    return bump.expand(len(x), h, w)


def random_map(model, x, idx):
    noise = torch.Generator().manual_seed(0)
    return torch.rand(len(x), 16, 16, generator=noise).to(x.device)


def sobel_edges(model, x, idx):
    grey = F.pad(x.mean(dim=1, keepdim=True), (1, 1, 1, 1), mode="replicate")
    k = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], device=x.device)
    gx, gy = F.conv2d(grey, k.view(1, 1, 3, 3)), F.conv2d(grey, k.T.reshape(1, 1, 3, 3))
    return (gx**2 + gy**2).sqrt()[:, 0]


methods = {
    "CAM": cam,
    "Grad-CAM": family(camlib.gradcam),
    "Grad-CAM++": family(camlib.gradcampp),
    "Score-CAM": family(camlib.scorecam),
    "Layer-CAM": family(camlib.layercam),
    "XGrad-CAM": family(camlib.xgradcam),
    "Eigen-CAM": family(camlib.eigencam),
    "centre prior": centre_prior,
    "random map": random_map,
    "Sobel edges": sobel_edges,
}

# %% [markdown]
# The network is the book's GAPNet, and the images are the first ones of the test split,
# each with its object's mask; every map is of the image's true class.

# %%
gapnet = cambook.book_model("gapnet", device=device)

# %%
images, labels, boxes, masks = cambook.book_split("test", with_masks=True)
n = 32  # as many as fit in this page's time budget (the chapter runs in 3 minutes)
x, y = images[:n].to(device), labels[:n].to(device)
mask, box = masks[:n].to(device), boxes[:n].to(device)
maps = {name: fn(gapnet, x, y) for name, fn in methods.items()}
print(f"{n} test images;", ", ".join(f"{k}: {tuple(m.shape[1:])}" for k, m in
                                     list(maps.items())[:1] + list(maps.items())[-1:]))

# %% [markdown]
# The ten maps of the first four images, each normalized to its own maximum for display,
# with the object's outline in white:

# %% tags=["hide-input"] mystnb={"image": {"alt": "A grid of four synthetic test images, one per row, followed by ten maps each: CAM, Grad-CAM, Grad-CAM++, Score-CAM, Layer-CAM, XGrad-CAM, Eigen-CAM, a centre prior, a random map and Sobel edges, with the object's outline drawn in white"}}
fig, axes = plt.subplots(4, 11, figsize=(16, 6.2))
for i in range(4):
    img = x[i].permute(1, 2, 0).cpu().numpy()
    axes[i, 0].imshow(img)
    axes[i, 0].set_ylabel(camlib.CLASSES[y[i]], fontsize=9)
    for j, (name, m) in enumerate(maps.items(), start=1):
        axes[i, j].imshow(camlib.overlay(img, m[i].cpu()))
        axes[i, j].contour(mask[i].cpu(), levels=[0.5], colors="white", linewidths=0.8)
        if i == 0:
            axes[i, j].set_title(name, fontsize=9)
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %% [markdown]
# On this network CAM, Grad-CAM and XGrad-CAM draw the same picture. Chapter 8 showed
# that Grad-CAM is CAM divided by $HW$ on a GAP network; XGrad-CAM's weight is a weighted
# mean of the same constant gradient, so it is Grad-CAM again. Layer-CAM keeps only the
# positive gradients, so it is CAM with the negative class weights set to zero. Checked:

# %%
h, w = maps["CAM"].shape[-2:]
print("Grad-CAM  x HW == CAM:", torch.allclose(maps["Grad-CAM"] * h * w, maps["CAM"],
                                                atol=1e-4))
print("XGrad-CAM == Grad-CAM:", torch.allclose(maps["XGrad-CAM"], maps["Grad-CAM"],
                                                atol=1e-6))
with camlib.CAM(gapnet) as hooked:
    feats = hooked(x, class_idx=y).features
positive = gapnet.fc.weight.detach()[y].clamp(min=0)
cam_positive = torch.einsum("bc,bchw->bhw", positive, feats)
print("Layer-CAM x HW == CAM with relu(w):",
      torch.allclose(maps["Layer-CAM"] * h * w, cam_positive, atol=1e-4))

# %% [markdown]
# So on this network seven methods give five different maps, and any measure must give
# CAM, Grad-CAM and XGrad-CAM the same value (every measure below depends only on the
# ranking of a map's values, or divides its scale away).
#
# ## What each costs
#
# As in chapter 8, hooks count the passes: a forward hook on the network, and a hook on
# its output tensor for each backward pass through it. For one batch of 8 images and one
# class each:

# %%
class PassCounter:
    """Count forward passes of `model`, and backward passes through its output."""

    def __init__(self, model):
        self.forward = self.backward = 0
        self.handle = model.register_forward_hook(self.on_forward)

    def on_forward(self, module, inputs, output):
        self.forward += 1
        if output.requires_grad:
            output.register_hook(self.on_backward)

    def on_backward(self, grad):
        self.backward += 1

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.handle.remove()


passes = {}
for name, fn in methods.items():
    with PassCounter(gapnet) as counted:
        fn(gapnet, x[:8], y[:8])
    passes[name] = {"forward": counted.forward, "backward": counted.backward}
passes = pd.DataFrame(passes).T
passes.T

# %% [markdown]
# Score-CAM's forward passes are its masked images, 64 channels for each of the 8 images,
# in batches of 64: $1 + \lceil 8 \cdot 64 / 64 \rceil$. Every other method needs one
# forward pass, and the gradient methods one backward pass per class. In milliseconds, the
# median of 3 rounds after a warm-up (the numbers are this machine's):

# %% tags=["nbval-ignore-output"] nbval={"ignore-output": "timings: milliseconds differ from machine to machine and from run to run"}
def median_ms(fn, rounds=3):
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    times = []
    for _ in range(rounds):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(1000 * (time.perf_counter() - start))
    return float(np.median(times))


ms = {name: median_ms(lambda fn=fn: fn(gapnet, x[:8], y[:8]))
      for name, fn in methods.items()}
cost = passes.assign(ms=pd.Series(ms)).round(1)
cost.T

# %% [markdown]
# ## Is the map on the object?
#
# Two measures compare a map with the object's pixels:
#
# * the **pointing game** (Zhang et al., IJCV 2018): a hit when the map's maximum lies on
#   the object; a constant map has no maximum and misses by rule;
# * **relevance mass** (Arras et al., 2022): the share of the map's positive part that
#   lies on the object, $\sum_{S} m^+ / \sum m^+$; a map that ignored the image would
#   score the object's share of the image.
#
# Neither asks the network anything: they measure agreement with a human's idea of where
# the object is.

# %%
scores = {}
for name, m in maps.items():
    scores[name] = {
        "pointing game": camlib.pointing_game(m, mask).float().cpu(),
        "relevance mass": camlib.relevance_mass(m, mask).cpu(),
    }
area = mask.float().mean(dim=(1, 2))
print(f"the objects' share of the image: {area.mean():.2f}")

# %% [markdown]
# ## Does the network need what the map shows?
#
# The other measures ask the network. They remove or keep pixels in the order the map
# ranks them, and watch the class probability:
#
# * **deletion** (Petsiuk et al., BMVC 2018, RISE): black out the top-ranked pixels, 1/8
#   of the image at a time; a faithful map makes the probability fall fast, so a *low*
#   area under the curve is good;
# * **insertion**: start from a blurred image and restore the top-ranked pixels; a *high*
#   area is good;
# * **ROAD** (Rong et al., ICML 2022): remove 10 %, 30 %, 50 %, 70 % and 90 % of the
#   pixels, most relevant first (MoRF, low is good) or least relevant first (LeRF, high is
#   good), but fill the holes from their neighbours with *noisy linear imputation* instead
#   of black, so that the shape of the hole itself tells the network nothing;
# * **Average Drop** and **Increase in Confidence** (Grad-CAM++ paper): multiply the
#   image by its map scaled to $[0, 1]$; the drop $\max(0, Y_c - O_c)/Y_c$ of the class
#   probability (low is good), and how often it rises instead (high is good).
#
# One deletion curve first, for the first image and CAM, beside the centre prior's:

# %% tags=["hide-input"] mystnb={"image": {"alt": "Deletion curves of the first test image: the class probability against the share of pixels blacked out, falling faster for CAM than for the centre prior"}}
fig, ax = plt.subplots(figsize=(4.6, 3))
for name in ("CAM", "centre prior"):
    curve = camlib.deletion_insertion(gapnet, x[:1], maps[name][:1], y[:1], steps=8)
    ax.plot(curve.fractions, curve.scores[0], marker="o",
            label=f"{name}: AUC {curve.auc[0]:.2f}")
ax.set_xlabel("share of pixels deleted")
ax.set_ylabel(f"p({camlib.CLASSES[y[0]]})")
ax.legend(fontsize=9)
plt.show()

# %%
road_steps = (0.1, 0.3, 0.5, 0.7, 0.9)
shares = ", ".join(f"{100 * t:.0f} %" for t in road_steps)
print("ROAD removes", shares, "of the pixels")
for name, m in maps.items():
    drop, rise = camlib.drop_and_increase(gapnet, x, m, y)
    scores[name].update({
        "deletion": camlib.deletion_insertion(gapnet, x, m, y, "deletion", 8).auc,
        "insertion": camlib.deletion_insertion(gapnet, x, m, y, "insertion", 8).auc,
        "ROAD MoRF": camlib.road(gapnet, x, m, y, "morf", road_steps).auc,
        "ROAD LeRF": camlib.road(gapnet, x, m, y, "lerf", road_steps).auc,
        "Average Drop": drop,
        "Increase": rise.float(),
    })

# %% [markdown]
# ## The table
#
# Every measure is a mean over the images, and with 32 images a mean is uncertain. The
# bracket after each value is a 95 % **bootstrap interval**: resample the images with
# replacement 1,000 times, recompute the mean, and keep the middle 95 % of those means.
# The arrows say which direction is better.

# %%
def bootstrap(values, rounds=1000, seed=0):
    """Mean of `values` [n] and its 95 % percentile bootstrap interval."""
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(values), (rounds, len(values)), generator=gen)
    means = values.float()[pick].mean(dim=1)
    low, high = torch.quantile(means, torch.tensor([0.025, 0.975]))
    return values.float().mean().item(), low.item(), high.item()


def interval_table(scores, better, label, digits=2):
    """Each measure's mean and 95 % interval: the bootstraps, and the table to print."""
    summary = {name: {metric: bootstrap(v) for metric, v in s.items()}
               for name, s in scores.items()}
    cell = "{:.%df} [{:.%df}, {:.%df}]" % (digits, digits, digits)
    return summary, pd.DataFrame({
        f"{metric} {arrow}": [cell.format(*summary[name][metric]) for name in scores]
        for metric, arrow in better.items()
    }, index=pd.Index(list(scores), name=label))


better = {"pointing game": "↑", "relevance mass": "↑", "deletion": "↓",
          "insertion": "↑", "ROAD MoRF": "↓", "ROAD LeRF": "↑", "Average Drop": "↓",
          "Increase": "↑"}
summary, table = interval_table(scores, better, f"n = {n} images")
print(f"mean [95 % interval] over n = {n} images, 1,000 bootstrap rounds;"
      " passes: forward + backward")
table.insert(0, "passes", [f"{passes.loc[k, 'forward']} + "
                           f"{passes.loc[k, 'backward']}" for k in methods])
display(table.iloc[:, :5])  # one table, in two parts that fit the page
table.iloc[:, 5:]

# %% [markdown]
# ## Where the measures disagree
#
# Read the table by columns and the methods trade places. Ranking the ten maps under each
# measure by the means as the table prints them (1 = best; ties share a rank) makes it
# plain:

# %%
means = pd.DataFrame({metric: {name: summary[name][metric][0] for name in methods}
                      for metric in better}).round(2)  # the table's digits
ranks = pd.DataFrame({metric: means[metric].rank(ascending=arrow == "↓", method="min")
                      for metric, arrow in better.items()}).astype(int)
ranks

# %% [markdown]
# Four disagreements stand out; each follows from what the measure measures.
#
# **Deletion cannot tell the centre prior from CAM; ROAD can.** Deletion replaces pixels
# by black, and an image with a growing black hole in it is unlike any image the network
# was trained on: the probability can collapse because of the hole itself, wherever it
# is, not because of what it covers. That is deletion's out-of-distribution artefact. The
# centre prior blacks out the middle of the image first, a large hole near most objects,
# and deletion scores it as well as CAM. ROAD removes the same pixels but fills them from
# their neighbours, with a little noise, so that the hole looks like background; then only
# removing the object itself hurts, and CAM pulls clearly ahead of the prior:

# %%
for metric in ("deletion", "ROAD MoRF"):
    gap = means.loc["centre prior", metric] - means.loc["CAM", metric]
    print(f"{metric:9s}: centre prior {means.loc['centre prior', metric]:.2f}, "
          f"CAM {means.loc['CAM', metric]:.2f}, difference {gap:.2f}")

# %% [markdown]
# **ROAD has an artefact of its own, and the Sobel map finds it.** Removing the *least*
# relevant pixels first (LeRF), the Sobel map ranks best of all ten, although it ranks
# last on deletion. Its least relevant pixels are the flattest ones, and a flat region is
# exactly what linear imputation restores from its neighbours: the image hardly changes,
# so the probability stays high. That is why Rong et al. read MoRF and LeRF together: the
# gap between them is what a map earns, and on the gap the Sobel map falls far behind:

# %%
gaps = (means["ROAD LeRF"] - means["ROAD MoRF"]).round(2)
gaps.to_frame("ROAD LeRF - MoRF")

# %% [markdown]
# **Being on the object, being needed by the network, and surviving a masking are
# different things.** Relevance mass rewards a map that stays inside the object, and
# Eigen-CAM does best, because the largest variation of the features on these images is
# the object against the background, whatever the class; it also ranks first on deletion,
# yet only seventh on Average Drop. Score-CAM is the opposite case: last of the family on
# the pointing game, relevance mass, deletion and ROAD's most-relevant-first curve, but
# first on Average Drop and Increase in Confidence. It chose its channel weights by
# masking the image with each channel's map and asking the network for the class score;
# Average Drop masks the image with the whole map and asks the same question. A map does
# well on the measures that resemble its own construction.
#
# **The Sobel edge map points well and explains nothing.** Its maximum often falls on the
# object, because the object's outline is the strongest edge in the image, so it beats
# the centre prior at the pointing game; but deleting the edges first barely touches the
# network's probability. The pointing game looks at one pixel, and asks nothing of the
# network.

# %%
for metric in ("pointing game", "relevance mass", "deletion"):
    print(f"{metric:14s}: Sobel {means.loc['Sobel edges', metric]:.2f}, "
          f"centre prior {means.loc['centre prior', metric]:.2f}")

# %% [markdown]
# ## The sanity check: randomize the network
#
# Adebayo et al. (NeurIPS 2018, "Sanity Checks for Saliency Maps") asked a blunter
# question: does the map depend on the network at all? They re-initialize the weights
# from the top of the network down, step by step, recompute the maps for the same images
# and classes, and compare them with the trained network's maps by Spearman's rank
# correlation $\rho$. A map that explains the network must change as the network is
# destroyed; one that does not change was never about the network.
#
# `camlib.cascading_randomization` does it on a copy of the network. We take four steps:
# the classifier, then each of the trunk's three stages, from the top, on the first 8
# images:

# %%
stages = {"classifier": ["fc"],
          "stage 3": [f"features.{i}" for i in range(14, 20)],
          "stage 2": [f"features.{i}" for i in range(7, 13)],
          "stage 1": [f"features.{i}" for i in range(0, 6)]}
kept = {}


def keeping(name, fn):
    """`fn`, also keeping the first image's map at each step, for the figure."""
    def run(model, x, idx):
        out = fn(model, x, idx)
        kept.setdefault(name, []).append(out[0].detach().cpu())
        return out
    return run


rho = {name: camlib.cascading_randomization(gapnet, x[:8], keeping(name, fn), y[:8],
                                            layers=stages)
       for name, fn in methods.items()}
similarity = pd.DataFrame({name: {step: r.nanmean().item() for step, r in steps.items()}
                           for name, steps in rho.items()}).T
similarity.round(2)

# %% [markdown]
# Adebayo et al. also compare with SSIM, the structural similarity of the two maps scaled
# to $[0, 1]$ (`camlib.ssim`, which agrees with scikit-image's). It tells the same story:

# %%
structure = pd.DataFrame({
    name: {step: v.mean().item() for step, v in camlib.cascading_randomization(
        gapnet, x[:8], fn, y[:8], layers=stages, similarity=camlib.ssim).items()}
    for name, fn in methods.items()}).T
structure.round(2)

# %% tags=["hide-input"] mystnb={"image": {"alt": "Left: the first test image's maps for the ten methods as the network is randomized from the top, one row per method and one column per step. Right: the mean Spearman correlation with the trained network's map against the randomization step, one line per method; the baselines stay at 1"}}
steps = list(similarity.columns)
fig = plt.figure(figsize=(15, 8))
grid = fig.add_gridspec(len(methods), len(steps) + 1 + 6)
for i, name in enumerate(methods):
    for j, step in enumerate(steps):
        ax = fig.add_subplot(grid[i, j])
        ax.imshow(camlib.normalize(kept[name][j][None])[0], cmap="jet")
        ax.set_xticks([])
        ax.set_yticks([])
        if i == 0:
            ax.set_title(step, fontsize=8)
        if j == 0:
            ax.set_ylabel(name, fontsize=8, rotation=0, ha="right")
ax = fig.add_subplot(grid[1:-1, len(steps) + 2:])
for name in methods:
    ax.plot(range(len(steps)), similarity.loc[name], marker="o", label=name)
ax.set_xticks(range(len(steps)), steps, rotation=20)
ax.set_ylabel("Spearman rho with the trained map")
ax.axhline(0, color="grey", lw=0.5)
ax.legend(fontsize=8, loc="lower left")
plt.show()

# %% [markdown]
# Read the right-hand plot from the left. CAM, Grad-CAM and XGrad-CAM fail the network's
# destruction the way a faithful map should: once the classifier is random, their maps of
# the true class are the features weighted by random class weights, and $\rho$ falls to
# about zero or below at once (the second column of the table). Grad-CAM++, Layer-CAM and
# Score-CAM keep much of their picture after the classifier is gone: their weights pass
# through a ReLU or a softmax, so they stay positive and the map stays dominated by where
# the features are strong at all. Eigen-CAM ignores the classifier by construction, so its $\rho$ stays at
# exactly 1 until the trunk itself changes. And the three baselines stay at 1 all the way:
# the edge detector's flat line means that a map can look right, on the object's outline,
# while telling us *nothing* about the network; only randomizing the network reveals it.

# %%
after_head = similarity["classifier"]
pd.Series(after_head).round(2).to_frame("rho after randomizing the classifier")

# %% [markdown]
# ## On a pretrained ImageNet network
#
# The GAPNet's objects are known to the pixel, but it is a small network on synthetic
# shapes. Chapter 1's EfficientNet-Lite0 is a real ImageNet classifier; its objects are
# known in the composites of chapter 4: two of the book's photos side by side, where the
# class of one photo belongs to that photo's tile, so the tile is the object's box. The
# five photos make ten pairs; in each scene the target is the top class of one tile's
# photo alone, the left tile in half the scenes, so that every photo is the target twice.

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
photos = cambook.sample_images()
with torch.inference_mode():
    alone = pretrained.model(torch.stack(
        [pretrained.preprocess(p) for p in photos.values()]).to(device))
top_class = dict(zip(photos, alone.argmax(dim=1).tolist()))
tiles, targets, owner_box = [], [], []
for i, pair in enumerate(itertools.combinations(photos, 2)):
    scene, tile_boxes = camlib.data.composite([photos[p] for p in pair])
    tiles.append(torch.cat([pretrained.preprocess(scene[:, x0:x1])
                            for x0, _, x1, _ in tile_boxes.tolist()], dim=2))
    targets.append(top_class[pair[i % 2]])
    owner_box.append(tile_boxes[i % 2])
xs, ys = torch.stack(tiles).to(device), torch.tensor(targets, device=device)
xs_box = torch.stack(owner_box).to(device)
print(f"{len(xs)} scenes {tuple(xs.shape[1:])}; targets:")
print(textwrap.fill(", ".join(pretrained.categories[c] for c in targets), 80))

# %% [markdown]
# The six cheap methods and the three baselines, measured as before; Score-CAM is left
# out, for its cost (below). The pointing game and relevance mass use the target's
# tile, and deletion and insertion take 4 steps of a quarter of the scene each, to fit
# this page's time budget. As on the GAPNet, the head is global average pooling and one
# linear layer, so Grad-CAM and XGrad-CAM are CAM divided by $hw$ and rank the pixels as
# CAM does: their curves are CAM's, measured once.

# %%
cheap = [name for name in methods if name != "Score-CAM"]
scene_maps = {name: methods[name](pretrained.model, xs, ys) for name in cheap}
h, w = scene_maps["CAM"].shape[-2:]
print("Grad-CAM x hw == CAM:", torch.allclose(scene_maps["Grad-CAM"] * h * w,
                                              scene_maps["CAM"], rtol=1e-4, atol=1e-4),
      "| XGrad-CAM == Grad-CAM:", torch.allclose(scene_maps["XGrad-CAM"],
                                                 scene_maps["Grad-CAM"], atol=1e-6))
scene_scores, curves = {}, {}
for name, m in scene_maps.items():
    m = camlib.upsample(m, xs.shape[-2:])  # boxes need maps at the scene's size
    measured = "CAM" if name in ("Grad-CAM", "XGrad-CAM") else name
    if measured not in curves:
        curves[measured] = {mode: camlib.deletion_insertion(
            pretrained.model, xs, m, ys, mode, steps=4).auc
            for mode in ("deletion", "insertion")}
    scene_scores[name] = {
        "pointing game": camlib.pointing_game(m, xs_box).float().cpu(),
        "relevance mass": camlib.relevance_mass(m, xs_box).cpu(),
        **curves[measured],
    }

# %%
scene_better = {k: better[k] for k in ("pointing game", "relevance mass", "deletion",
                                       "insertion")}
scene_summary, scene_table = interval_table(scene_scores, scene_better,
                                            f"n = {len(xs)} scenes", digits=3)
print(f"EfficientNet-Lite0, mean [95 % interval] over n = {len(xs)} scenes, "
      "1,000 bootstrap rounds")
scene_table

# %% [markdown]
# On the real network the class-weighted maps find the target's photo: CAM, Grad-CAM,
# Grad-CAM++, Layer-CAM and XGrad-CAM peak inside its tile in all 10 scenes, and CAM
# keeps 0.941 of its positive part there (Grad-CAM++ 0.703 and Layer-CAM 0.692, which
# spread more of it onto the other photo). Eigen-CAM, which had the best relevance mass
# on the GAPNet (0.50), is here not told apart from the baselines (0.604 [0.305, 0.898],
# against the centre prior's 0.500) and has the worst deletion area of all nine (0.043):
# it draws the same map whichever photo is the target, and a scene of two objects
# exposes what a scene of one hid. Deletion, which could not tell CAM from the centre
# prior on the GAPNet, now separates them (0.007 [0.004, 0.010] against 0.021 [0.014,
# 0.028]); insertion also ranks CAM first (0.051), but its interval overlaps the
# baselines'. The areas are small because a class's probability in a two-photo scene is
# small (chapter 4), and 10 scenes are few: this is a first check on a real network, not
# a benchmark.
#
# Score-CAM would weight each of the 1280 channels of the last feature maps by the score
# of the scene masked with it. By camlib's count, $1 + \lceil BC/64 \rceil$ forward
# passes of up to 64 masked images each:

# %%
channels = pretrained.model.fc.in_features
print(f"Score-CAM on {len(xs)} scenes of {channels} channels: "
      f"{1 + -(-len(xs) * channels // 64)} forward passes, "
      f"{len(xs) * channels:,} masked scenes")
print(f"deletion and insertion above: {len(xs) * len(curves) * 2 * 5:,} scenes")

# %% [markdown]
# That is more than eighteen times the scenes of every deletion and insertion curve in
# the table, which is why the table leaves Score-CAM out.

# %% [markdown]
# ## Summary
#
# Five more members of the CAM family (Grad-CAM++, Score-CAM, Layer-CAM, XGrad-CAM,
# Eigen-CAM) are each a different weighting of the same feature maps. On the GAPNet,
# XGrad-CAM equals Grad-CAM, which equals CAM up to $HW$, and Layer-CAM is CAM with the
# negative class weights dropped; Score-CAM pays a forward pass per channel for weights
# that need no gradient, and Eigen-CAM needs no class. The measures of a map fall in
# three groups: agreement with the object (the pointing game, relevance mass), the
# network's need for the top pixels (deletion, insertion, ROAD, Average Drop and Increase
# in Confidence), and dependence on the network (the randomization test). They disagree:
# deletion's black holes are out of distribution, so it rates the centre prior close to
# CAM, which ROAD's imputation corrects; ROAD's least-relevant-first curve in turn
# favours a map that ranks flat, easily imputed pixels last; the Sobel edges win the
# pointing game over the centre prior but lose deletion, insertion and ROAD's
# most-relevant-first curve; and only the randomization
# test shows which maps do not depend on the classifier at all. On EfficientNet-Lite0,
# in 10 scenes of two photos, the class-weighted maps peak on the target's photo every
# time, while Eigen-CAM, which ignores the class, falls to the baselines' level. Report
# several measures, with their intervals and the baselines beside them, or a measure can
# crown a map that explains nothing.
#
# ## Questionnaire
#
# 1. Which two of the five new methods give the same map as Grad-CAM, or a simple
#    transformation of it, on a GAP network, and why?
# 2. How many forward and backward passes does Score-CAM need for $B$ images and a layer
#    of $C$ channels, with batches of 64? How many does Grad-CAM++ need for $K$ classes?
# 3. What does Eigen-CAM compute, and what does it not depend on?
# 4. What does the pointing game count, and why does a constant map fail it?
# 5. What does relevance mass measure, and what score would a map that ignored the image
#    get?
# 6. In deletion, why is a low area good, and in insertion a high one?
# 7. What is deletion's out-of-distribution artefact, and how does ROAD avoid it?
# 8. What do Average Drop and Increase in Confidence compute, and why might Score-CAM do
#    well on them?
# 9. Why does the Sobel edge map rank first on ROAD's least-relevant-first curve, and
#    what do Rong et al. read instead of one curve alone?
# 10. What is a 95 % bootstrap interval, and why does the table need one?
# 11. In the cascading randomization test, what should happen to a faithful map, and
#     what does the Sobel edge map's flat curve mean?
# 12. Why do CAM's maps change at once when the classifier is randomized, while
#     Eigen-CAM's do not?
# 13. In EfficientNet-Lite0's two-photo scenes, why does Eigen-CAM fall to the
#     baselines' level, when it had the best relevance mass on the GAPNet?

# %% [markdown]
# ## Exercises
#
# 1. **Relevance mass for boxes.** The chapter measured relevance mass against the
#    objects' masks. Often only boxes are known. Write `box_mass(maps, boxes)`: `maps`
#    `[N, H, W]` at the image's size, `boxes` `[N, 4]` as `(x0, y0, x1, y1)` with
#    exclusive ends; return `[N]`, the share of each map's positive part inside its box,
#    and 0 for a map with no positive value. Then compare the box version with the mask
#    version for CAM on the chapter's images: which is larger, and why?

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def box_mass(maps, boxes):
    positive = maps.clamp(min=0)
    inside = torch.zeros_like(positive)
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        inside[i, y0:y1, x0:x1] = 1
    total = positive.sum(dim=(1, 2))
    share = (positive * inside).sum(dim=(1, 2)) / total.clamp(min=1e-12)
    return torch.where(total > 0, share, torch.zeros_like(share))


# %%
from cambook.exercises import check_box_mass

check_box_mass(box_mass)

# %% [markdown]
# Your function on CAM's maps, upsampled to the images, against the boxes, beside the
# chapter's mask version:

# %%
cam_up = camlib.upsample(maps["CAM"], 64)
print(f"CAM relevance mass, boxes: {box_mass(cam_up, box).mean():.3f}, "
      f"masks: {scores['CAM']['relevance mass'].mean():.3f}")

# %% [markdown]
# 2. **The insertion curve.** The table gave only the area under the insertion curve,
#    from a blurred image. Write `insertion_curve(model, x, maps, class_idx, steps)`
#    that returns the whole curve `[N, steps + 1]` from a **black** image: at step $i$,
#    restore the $\mathrm{round}(i \cdot HW / \text{steps})$ pixels with the largest
#    map values (maps upsampled bilinearly to the image), and read the softmax
#    probability of each image's class. Then plot the curves of CAM, Score-CAM and the
#    Sobel edges for the first image.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def insertion_curve(model, x, maps, class_idx, steps):
    b, _, height, width = x.shape
    up = camlib.upsample(maps, (height, width)).flatten(1)
    order = up.argsort(dim=1, descending=True, stable=True)
    curve = []
    for i in range(steps + 1):
        keep = torch.zeros_like(up, dtype=torch.bool)
        keep.scatter_(1, order[:, : round(i * height * width / steps)], True)
        with torch.inference_mode():
            p = model(x * keep.view(b, 1, height, width)).softmax(dim=1)
        curve.append(p.gather(1, class_idx[:, None])[:, 0])
    return torch.stack(curve, dim=1)


# %%
from cambook.exercises import check_insertion_curve

check_insertion_curve(insertion_curve)

# %% tags=["hide-input"] mystnb={"image": {"alt": "Insertion curves from a black image for the first test image: the class probability against the share of pixels restored, for CAM, Score-CAM and the Sobel edge map"}}
fig, ax = plt.subplots(figsize=(4.6, 3))
for name in ("CAM", "Score-CAM", "Sobel edges"):
    curve = insertion_curve(gapnet, x[:1], maps[name][:1], y[:1], 16)
    ax.plot(torch.linspace(0, 1, 17), curve[0].cpu(), marker=".", label=name)
ax.set_xlabel("share of pixels restored")
ax.set_ylabel(f"p({camlib.CLASSES[y[0]]})")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# 3. **Think.** A map that games the measure: describe a map that would score the best
#    possible Average Drop on every image without saying anything about *where* the
#    network looks. (Hint: what does the image multiplied by a map equal to 1 everywhere
#    look like?) Which other measure of the table would expose it?
