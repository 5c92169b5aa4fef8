# %% [markdown]
# # 8. CAM and Grad-CAM
#
# CAM needs a particular network: the last feature maps, globally average-pooled, then a
# single `Linear` layer. A year after the CAM paper, *Grad-CAM* (Selvaraju et al., ICCV
# 2017, "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
# Localization") lifted that restriction: it takes the channel weights from **gradients**
# instead of from the classifier, so it works on any network that is differentiable.
#
# This chapter shows that on a GAP network the two are the same map, up to one constant
# that we derive and then check on two networks; what Grad-CAM costs in exchange for its
# generality; and what it gives on a network where CAM cannot be computed at all.
#
# In this chapter you will:
#
# * derive why Grad-CAM equals CAM divided by the number of positions on a GAP network,
#   and check it on the pretrained network and on the book's GAPNet;
# * count the forward and backward passes each method needs, and time them with warm-up,
#   repeats and medians;
# * see why CAM cannot be computed for VGG or a flatten head, what Grad-CAM shows there,
#   and how close its gradient average comes to that network's exact map.

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
import textwrap
import time

import matplotlib.pyplot as plt
import pandas as pd
import torch
import torchvision
from matplotlib_inline.backend_inline import set_matplotlib_formats

import cambook
import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
set_matplotlib_formats("jpeg", pil_kwargs={"quality": 90})  # photos: JPEG stays small
_ = torch.manual_seed(0)

# %% [markdown]
# ## Grad-CAM in one formula
#
# Take the feature maps $f_k$ (size $H \times W$) of some layer and the score $y_c$ of
# class $c$ (the logit, before the softmax). Grad-CAM weights each channel by the average
# gradient of the score with respect to that channel,
#
# $$\alpha^c_k = \frac{1}{HW} \sum_{x,y} \frac{\partial y_c}{\partial f_k(x,y)},$$
#
# and the map is the weighted sum $\sum_k \alpha^c_k f_k(x,y)$, followed in the paper by a
# ReLU. `camlib.gradcam` computes it, and leaves the ReLU out unless asked
# (`relu=True`), so that we can compare raw maps with CAM's raw maps.
#
# ## For a GAP network, the gradient is the classifier's weight
#
# With global average pooling and one linear layer, the score is
#
# $$y_c = \sum_k w^c_k \, \frac{1}{HW} \sum_{x,y} f_k(x,y) + b_c .$$
#
# Each cell $f_k(x,y)$ appears once, multiplied by $w^c_k / (HW)$, so
#
# $$
# \begin{aligned}
# \frac{\partial y_c}{\partial f_k(x,y)} &= \frac{w^c_k}{HW}
#   \quad\text{at every position } (x,y),\\
# \alpha^c_k &= \frac{w^c_k}{HW},\\
# \sum_k \alpha^c_k f_k(x,y) &= \frac{1}{HW}\, M_c(x,y).
# \end{aligned}
# $$
#
# Grad-CAM is CAM divided by the number of cells. A positive factor changes neither where
# the map is high nor its ReLU, and normalizing for display removes it: on a GAP network
# both methods draw the same picture.
#
# The Grad-CAM paper makes this derivation itself (Section 3.1, "Grad-CAM generalizes
# CAM", in the arXiv version 1610.02391 that IJCV published in 2020): for a network whose last feature maps are globally average-pooled
# into the class scores, its weights $\alpha^c_k$ are CAM's class weights $w^c_k$ up to
# the constant $1/Z$, $Z$ the number of positions of the feature map (our $HW$), a
# constant that normalizing for display removes.
#
# We check each step, starting with the gradient itself. A forward hook keeps the
# features (this time *with* their autograd graph), and `torch.autograd.grad` returns
# $\partial y_c / \partial f$ without touching the parameters' `.grad`.

# %%
def feature_gradient(model, x, class_idx):
    """d logit[class_idx] / d model.features(x): [B, C, H, W], and the features."""
    kept = {}
    handle = model.features.register_forward_hook(
        lambda module, inputs, output: kept.update(f=output))
    try:
        logits = model(x)
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(logits[:, class_idx].sum(), kept["f"])
    return grad, kept["f"].detach()


# %% [markdown]
# (Summing the scores over the batch is fine: image $i$'s score depends only on image
# $i$'s features, so each image gets its own gradient.) First, the pretrained
# EfficientNet-Lite0 and the pagoda photo, class "palace":

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
model, preprocess, categories = pretrained
photo = cambook.sample_images()["china"]
x = preprocess(photo).unsqueeze(0).to(device)
palace = categories.index("palace")
weight = model.fc.weight.detach()

grad, feats = feature_gradient(model, x, palace)
H, W = grad.shape[-2:]
expected = (weight[palace] / (H * W)).view(1, -1, 1, 1).expand_as(grad)
print("gradient:", tuple(grad.shape), "| H * W =", H * W)
corner = grad[:, :, :1, :1].expand_as(grad)  # the gradient at position (0, 0)
print("same at all", H * W, "positions:", torch.allclose(grad, corner))
print("equals fc.weight[palace] / (H * W) everywhere:",
      torch.allclose(grad, expected, atol=1e-7))
alpha = grad.mean(dim=(2, 3))
print("alpha equals fc.weight[palace] / (H * W):",
      torch.allclose(alpha[0], weight[palace] / (H * W), atol=1e-7))

# %% [markdown]
# ## The maps agree, up to H x W
#
# Now the maps themselves, for the top-5 classes: `camlib.CAM` in one forward pass, and
# `camlib.gradcam` for the same classes. `camlib.gradcam` is called like `camlib.CAM` and
# returns the same kind of result; without a `target_layer` it takes the last feature map
# of the forward pass, the same layer CAM reads (here we name it, to be explicit). Where
# Grad-CAM is not (nearly) zero, we also divide one by the other: the ratio should be
# $HW$ in every cell.

# %%
with camlib.CAM(model) as cam:
    result = cam(x, topk=5)
cam_top5 = result.maps
grad_top5 = camlib.gradcam(model, x, class_idx=result.class_idx,
                           target_layer=model.features).maps
print("classes:", [categories[c] for c in result.class_idx[0]])
print("maps:", tuple(cam_top5.shape), tuple(grad_top5.shape), "| H * W =", H * W)
print("CAM == Grad-CAM x H x W (allclose):",
      torch.allclose(cam_top5, grad_top5 * H * W, atol=1e-4))
cells = grad_top5.abs() > 1e-3 * grad_top5.abs().max()
ratio = cam_top5[cells] / grad_top5[cells]
print(f"CAM / Grad-CAM over {int(cells.sum())} of {cells.numel()} cells: "
      f"from {ratio.min():.2f} to {ratio.max():.2f}")

# %% [markdown]
# Drawn side by side, each with its own colour bar, the two maps of "palace" are the same
# picture; only the numbers on the colour bars differ, by the factor $HW$.

# %% tags=["hide-input"] mystnb={"image": {"alt": "The raw 7 by 7 CAM and Grad-CAM maps of palace side by side: the same pattern, with colour bars whose ranges differ by a factor of 49"}}
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, m, title in [(axes[0], cam_top5[0, 0], "CAM"),
                     (axes[1], grad_top5[0, 0], "Grad-CAM")]:
    im = ax.imshow(m.cpu(), cmap="jet")
    fig.colorbar(im, ax=ax, shrink=0.85)
    ax.set_title(f"{title} of 'palace', raw", fontsize=10)
    ax.axis("off")
plt.show()

# %% [markdown]
# ## The same on the book's GAPNet
#
# The derivation did not depend on the network, so the same must hold for the small GAPNet
# trained on synthetic shapes, whose last feature maps are 16 x 16. We take eight test
# images and the map of each image's true class.

# %%
gapnet = cambook.book_model("gapnet", device=device)

# %%
test_images, test_labels, test_boxes = cambook.book_split("test")
xb, yb = test_images[:8].to(device), test_labels[:8].to(device)
with camlib.CAM(gapnet) as cam:
    gap_cams = cam(xb, class_idx=yb).maps  # a 1-D tensor: one class per image
gap_gradcams = camlib.gradcam(gapnet, xb, class_idx=yb).maps
h, w = gap_cams.shape[-2:]
print("classes:", ", ".join(camlib.CLASSES[c] for c in yb.tolist()))
print("maps:", tuple(gap_cams.shape), "| H * W =", h * w)
print("CAM == Grad-CAM x H x W (allclose):",
      torch.allclose(gap_cams, gap_gradcams * h * w, atol=1e-4))

# %% [markdown]
# And the gradient weights, for one class over the whole batch:

# %%
disk = camlib.CLASSES.index("disk")
grad, _ = feature_gradient(gapnet, xb, disk)
alpha = grad.mean(dim=(2, 3))  # [8, 64]
print("alpha:", tuple(alpha.shape))
w_disk = gapnet.fc.weight[disk].detach().expand_as(alpha)
print("every image's alpha equals fc.weight[disk] / (H * W):",
      torch.allclose(alpha, w_disk / (h * w), atol=1e-7))

# %% [markdown]
# ## What each costs
#
# CAM reads the class weights off the classifier. One forward pass gives the features,
# and a matrix product turns them into the maps of any number of classes, even all of
# them. Grad-CAM has to *ask* the network for each class's weights: one backward pass per
# class, from that class's score down to the target layer (for a batch, one per class,
# not per image). It also has to keep the autograd graph of the forward pass in memory.
#
# To see the passes rather than take them on trust, we count them: a forward hook on the
# model counts forward passes, and a hook on its output tensor (the logits) counts every
# backward pass that goes through it.

# %%
class PassCounter:
    """Count forward passes of `model`, and backward passes through its output."""

    def __init__(self, model):
        self.forward = self.backward = 0
        self.handle = model.register_forward_hook(self.on_forward)

    def on_forward(self, module, inputs, output):
        self.forward += 1
        if output.requires_grad:  # False under torch.no_grad, as inside camlib.CAM
            output.register_hook(self.on_backward)

    def on_backward(self, grad):
        self.backward += 1

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.handle.remove()


passes = {}
for k in (1, 10, 100):
    with PassCounter(model) as cam_passes, camlib.CAM(model) as cam:
        cam(x, topk=k)
    with PassCounter(model) as grad_passes:
        camlib.gradcam(model, x, target_layer=model.features, topk=k)
    passes[k] = {"CAM: forward": cam_passes.forward,
                 "CAM: backward": cam_passes.backward,
                 "Grad-CAM: forward": grad_passes.forward,
                 "Grad-CAM: backward": grad_passes.backward}
pd.DataFrame(passes).T.rename_axis("classes")

# %% [markdown]
# Counting passes is exact; time is what a reader pays. A single run is a poor measure
# of it: the first calls of a function are slower (memory is allocated, caches are
# cold), and other programs on the machine come and go. So we first run every method
# twice without timing it (warm-up), then time it in 11 **rounds**, each round running
# all six cases once in a rotated order (so that a busy moment of the machine hits every
# case alike), keep each case's **median**, and wait for a GPU to finish its work before
# reading the clock (`median_ms`, folded below). The milliseconds belong to the machine
# that ran this page; compare the ratios in the last columns.

# %% tags=["hide-input"]
import statistics


def median_ms(cases, warmup=2, rounds=11):
    """{name: fn} -> {name: median time of fn() in ms}, in rounds after warm-up."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    names = list(cases)
    for _ in range(warmup):
        for name in names:
            cases[name]()
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            sync()
            start = time.perf_counter()
            cases[name]()
            sync()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * statistics.median(t) for name, t in times.items()}


# %% tags=["nbval-ignore-output"] nbval={"ignore-output": "timings: milliseconds and their ratios differ from machine to machine and from run to run"}
def run_cam(k):
    with camlib.CAM(model, target_layer=model.features) as cam:
        cam(x, topk=k)


def run_gradcam(k):
    camlib.gradcam(model, x, target_layer=model.features, topk=k)


ks = (1, 10, 100)
methods = {"CAM": run_cam, "Grad-CAM": run_gradcam}
cases = {(m, k): (lambda fn=fn, k=k: fn(k)) for m, fn in methods.items() for k in ks}
ms = median_ms(cases)
timing = pd.DataFrame({f"{k} class{'es' * (k > 1)} (ms)": [ms[m, k] for m in methods]
                       for k in ks}, index=list(methods))
one, hundred = timing.iloc[:, 0], timing.iloc[:, -1]
timing["100 / 1 class"] = hundred / one
timing["per extra class (ms)"] = (hundred - one) / 99
timing["per extra class (% of 1)"] = 100 * timing["per extra class (ms)"] / one
timing.round(2)

# %% [markdown]
# Read the ratios (the milliseconds are this machine's). From 1 to 100 classes,
# Grad-CAM's time grows with the classes, one backward pass each, while CAM's ratio stays
# close to 1: its only extra work is one small matrix product, next to a forward pass
# through the whole network, so what remains of its growth is mostly run-to-run noise
# (compare the two costs per extra class). Each of Grad-CAM's backward passes is short
# here, since it only runs through the pooling and the linear layer back to the last
# features: one extra class costs only a small share of the 1-class time (the last
# column). So a few classes more can vanish in the noise of a single run, and it takes
# medians over rounds and a wide range of class counts to see the growth. At an earlier
# target layer each backward pass would run through more of the network, and cost more.
#
# ## Where CAM cannot go
#
# So why pay? Because CAM is only defined for one architecture. VGG, for example, ends in
# three linear layers after flattening its feature maps: its class score is not a weighted
# sum of pooled feature maps, and there is no class weight per channel to read.
# `camlib.CAM` checks this and says so:

# %%
vgg = torchvision.models.vgg11(weights=None)  # random weights: the architecture matters
try:
    camlib.CAM(vgg)
except ValueError as err:
    print(textwrap.fill(f"ValueError: {err}", 88))

# %% [markdown]
# The same goes for the book's `FlattenNet` (chapter 2): the same trunk as the GAPNet,
# but its 64 feature maps of 16 x 16 are flattened into one `Linear` layer with a weight
# for every channel *and position*. It has a single linear layer, so `camlib.CAM` gets
# further, and stops when it finds no feature map that is averaged into it:

# %%
flatnet = cambook.book_model("flattennet", device=device)

# %%
try:
    with camlib.CAM(flatnet) as cam:
        cam(xb)
except ValueError as err:
    print(textwrap.fill(f"ValueError: {err}", 88))
gap_pred = camlib.predict(gapnet, test_images)
flat_pred = camlib.predict(flatnet, test_images)
for name, pred in [("GAPNet", gap_pred), ("FlattenNet", flat_pred)]:
    print(f"{name:10s} test accuracy: {(pred == test_labels).float().mean():.3f}")

# %% [markdown]
# The FlattenNet is a decent classifier, if a worse one than the GAPNet, so it is worth
# asking where it looks. Grad-CAM can answer, because gradients exist whatever the head.
# But look at what they are here:
# the score is $y_c = \sum_{k,x,y} w^c_{k,x,y} f_k(x,y) + b_c$, so the gradient at each
# position is the weight *of that position*, which changes from cell to cell:

# %%
grad, _ = feature_gradient(flatnet, xb, disk)
template = flatnet.fc.weight[disk].detach().view(grad.shape[1:])  # [64, 16, 16]
print("gradient:", tuple(grad.shape))
corner = grad[:, :, :1, :1].expand_as(grad)
print("same at all positions:", torch.allclose(grad, corner))
print("equals the position's weight w[disk, k, x, y]:",
      torch.allclose(grad, template.expand_as(grad)))

# %% [markdown]
# Grad-CAM averages those per-position weights into one $\alpha^c_k$ per channel, and
# weights the feature maps with it, as if the head had been a GAP head. It is a useful
# picture, not an exact decomposition of the score as CAM is on a GAP network.
#
# To compare the maps of two networks we need a number that does not depend on their
# scales. We use the share of a map's positive mass (after the ReLU, upsampled to 64 x 64)
# that falls inside the true box. A map that ignored the image, the same value everywhere,
# would score the box's share of the image's area; a map entirely on the object scores 1.
# We compute it for every test image and its true class: CAM for the GAPNet, Grad-CAM for
# the FlattenNet.

# %%
def share_in_box(maps, boxes, size=64):
    """Share of each ReLU'd map [N, h, w], upsampled to size x size, inside its box."""
    up = camlib.upsample(maps, size).clamp(min=0)
    inside = torch.zeros_like(up)
    for i, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        inside[i, y0:y1, x0:x1] = 1
    total = up.sum(dim=(1, 2)).clamp(min=1e-12)
    return ((up * inside).sum(dim=(1, 2)) / total).cpu()


cam_gap, gradcam_flat = [], []
for start in range(0, len(test_images), 250):
    xs = test_images[start:start + 250].to(device)
    ys = test_labels[start:start + 250].to(device)
    with camlib.CAM(gapnet) as cam:
        cam_gap.append(cam(xs, class_idx=ys).maps[:, 0])
    grad_maps = camlib.gradcam(flatnet, xs, class_idx=ys, target_layer=flatnet.features)
    gradcam_flat.append(grad_maps.maps[:, 0])
cam_gap, gradcam_flat = torch.cat(cam_gap), torch.cat(gradcam_flat)
share_cam = share_in_box(cam_gap, test_boxes)
share_grad = share_in_box(gradcam_flat, test_boxes)

sides = test_boxes[:, 2:] - test_boxes[:, :2]
area = (sides[:, 0] * sides[:, 1]).float() / 64**2
print(f"box's share of the image (a flat map's score): {area.mean():.3f}")

# %% tags=["hide-input"]
pd.DataFrame({
    "mean share in box": [share_cam.mean().item(), share_grad.mean().item()],
    "maps with < 0.2 in box (%)": [100 * (share_cam < 0.2).float().mean().item(),
                                   100 * (share_grad < 0.2).float().mean().item()],
}, index=["GAPNet, CAM", "FlattenNet, Grad-CAM"]).round(3)

# %%
print(f"Grad-CAM's share at least CAM's: {int((share_grad >= share_cam).sum())} "
      f"of {len(share_cam)} images")

# %% [markdown]
# Here are both on the first six test images, each for its true class: the GAPNet's CAM
# (middle row) and the FlattenNet's Grad-CAM (bottom row), titled with their share in
# the box. The green box is the true object.

# %% tags=["hide-input"] mystnb={"image": {"alt": "Six synthetic test images with green true boxes in the top row; below each, the GAPNet's class activation map and, in the bottom row, the FlattenNet's Grad-CAM map for the true class, laid over the image as heat maps and titled with the share of the map inside the box"}}
n_show = 6
fig, axes = plt.subplots(3, n_show, figsize=(2.1 * n_show, 7.3))
for j in range(n_show):
    img = test_images[j].permute(1, 2, 0).numpy()
    axes[0, j].imshow(img)
    axes[0, j].set_title(camlib.CLASSES[test_labels[j]], fontsize=10)
    axes[1, j].imshow(camlib.overlay(img, cam_gap[j].cpu()))
    axes[1, j].set_title(f"in box: {share_cam[j]:.2f}", fontsize=9)
    axes[2, j].imshow(camlib.overlay(img, gradcam_flat[j].cpu()))
    axes[2, j].set_title(f"in box: {share_grad[j]:.2f}", fontsize=9)
    for ax in axes[:, j]:
        camlib.draw_box(ax, test_boxes[j].tolist(), lw=1.2)
        ax.set_xticks([])
        ax.set_yticks([])
for ax, label in zip(axes[:, 0], ["image", "GAPNet: CAM", "FlattenNet: Grad-CAM"]):
    ax.set_ylabel(label, fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# For many images the FlattenNet's Grad-CAM is as tight on the object as CAM, or tighter
# (the count on the last line above). But it misses more often, and the misses are not
# random. Is Grad-CAM's averaging to blame? The comparison so far cannot say: it sets CAM
# on one network beside Grad-CAM on another, and the FlattenNet may simply find its
# evidence elsewhere. The same network's **exact** map separates the two. Its head is
# linear in the features, so its logit is
# $y_c = \sum_{x,y} \sum_k \frac{\partial y_c}{\partial f_k(x,y)} f_k(x,y) + b_c$: each
# position's exact contribution is the gradient times the features, summed over the
# channels, with no averaging. `feature_gradient` gives the gradient for one class at a
# time, so we take the images of each class in turn, and check that each exact map sums
# to the logit minus the bias.

# %%
exact_flat = torch.zeros(len(test_images), 16, 16)
for c in range(len(camlib.CLASSES)):
    sel = (test_labels == c).nonzero().flatten()
    grad, feats = feature_gradient(flatnet, test_images[sel].to(device), c)
    exact_flat[sel] = (grad * feats).sum(dim=1).detach().cpu()  # [n, 16, 16]
with torch.no_grad():
    flat_logits = flatnet(test_images.to(device)).cpu()
true_logit = flat_logits.gather(1, test_labels[:, None])
total = exact_flat.sum(dim=(1, 2)) + flatnet.fc.bias[test_labels].detach().cpu()
print("sum of the exact map + bias == logit:",
      torch.allclose(total, true_logit[:, 0], atol=1e-3))
share_exact = share_in_box(exact_flat, test_boxes)

# %% [markdown]
# The share in the box per class, for the three maps, beside the FlattenNet's accuracy:

# %% tags=["hide-input"]
def per_class(values):
    return [values[test_labels == c].float().mean().item() for c in range(5)]


pd.DataFrame({
    "CAM (GAPNet)": per_class(share_cam),
    "Grad-CAM (FlattenNet)": per_class(share_grad),
    "exact map (FlattenNet)": per_class(share_exact),
    "FlattenNet accuracy": per_class(flat_pred == test_labels),
}, index=pd.Index(camlib.CLASSES, name="true class")).round(3)

# %% [markdown]
# For one class, triangle, the FlattenNet's Grad-CAM lands mostly *off* the object,
# although the network recognizes most images of that class (last column). But the
# network's exact map does too: for triangles the FlattenNet's own evidence lies mostly
# outside the box, whatever we use to read it. Grad-CAM's average of the
# position-dependent weights moves each class's share by up to about a tenth, up or
# down; it does not create the triangle failure. A flatten head is free to find its
# evidence for a class anywhere it correlates with the class in the training data, and
# for triangles this one did. On a GAP network the question does not arise: CAM *is* the
# exact map there, and Grad-CAM equals it up to $HW$.

# %% [markdown]
# ## Summary
#
# Grad-CAM weights each feature map by the average gradient of the class score. On a
# network whose last feature maps are globally average-pooled into one linear layer,
# that gradient is the class weight divided by the number of positions at every
# position, so Grad-CAM's map is CAM's divided by $HW$ (the Grad-CAM paper's Section 3.1
# derives the same), as the checks on the pretrained network and on the GAPNet print.
# CAM needs one forward pass for any number of classes; Grad-CAM adds one backward pass
# per class, and its time grows with the classes. In exchange Grad-CAM works where CAM
# is not defined: VGG's three linear layers, the FlattenNet's flatten head, any layer.
# There its channel weights are an average of position-dependent gradients, a useful
# picture rather than an exact decomposition of the score. On the FlattenNet, Grad-CAM
# and the exact map agree on where each class's evidence lies, give or take a tenth of
# the share in the box; for triangles both point mostly off the object, because that is
# where this network found its evidence.
#
# ## Questionnaire
#
# 1. How does Grad-CAM compute the weight $\alpha^c_k$ of a channel?
# 2. For a GAP network with one linear layer, what is $\partial y_c / \partial f_k(x,y)$,
#    and why is it the same at every position?
# 3. By what factor do CAM and Grad-CAM differ on a GAP network, and why does it not
#    change the displayed picture? Which section of the Grad-CAM paper derives this?
# 4. How many forward and backward passes do CAM and Grad-CAM need for $k$ classes?
# 5. Why does the chapter time with warm-up runs, repeats and medians, and compare
#    ratios rather than milliseconds?
# 6. Why does `camlib.CAM` refuse VGG-11 and the FlattenNet?
# 7. For the FlattenNet, why is the gradient not the same at every position, and what
#    does Grad-CAM's averaging throw away?
# 8. What does the "share in the box" measure, and what score would a map that ignored
#    the image get?
# 9. Why does comparing CAM on the GAPNet with Grad-CAM on the FlattenNet not show what
#    Grad-CAM's averaging costs? Which map does show it, and what did it show for
#    triangles?

# %% [markdown]
# ## Exercises
#
# 1. **Grad-CAM, one class per image, by hand.** `feature_gradient` above takes one class
#    for the whole batch; `camlib.gradcam` took one class per image for us. Write what it
#    does: `gradcam_maps(model, layer, x, class_idx)` where `class_idx` is a `[B]` tensor
#    with one class per image, returning the Grad-CAM maps `[B, h, w]` after the paper's
#    ReLU, from one forward and one backward pass: $f$ is the output of `layer` during
#    `model(x)`, $\alpha$ the mean over positions of the gradient of each image's own class
#    score. Leave no hook on the model, and use
#    `torch.autograd.grad` rather than `.backward()`, which would leave gradients in the
#    parameters' `.grad`. The check uses networks with and without global average
#    pooling, and inner layers as well as the last one.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def gradcam_maps(model, layer, x, class_idx):
    kept = {}
    handle = layer.register_forward_hook(lambda mod, inp, out: kept.update(f=out))
    try:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)  # a graph even if weights are frozen
            scores = model(x).gather(1, class_idx[:, None]).sum()  # each image's class
            (grad,) = torch.autograd.grad(scores, kept["f"])
    finally:
        handle.remove()
    alpha = grad.mean(dim=(2, 3), keepdim=True)  # [B, C, 1, 1]
    return (alpha * kept["f"]).sum(dim=1).relu().detach()


# %%
from cambook.exercises import check_gradcam_maps

check_gradcam_maps(gradcam_maps)

# %% [markdown]
# 2. **Every class's exact map at once.** The chapter got the FlattenNet's exact map one
#    class at a time, through gradients. Write `flatten_maps(features, weight)` from the
#    weight matrix instead, for all classes in one product: `features` `[B, C, h, w]` (the
#    trunk's output), `weight` the flatten head's `[N, C*h*w]`; return `[B, N, h, w]`, each
#    position's exact contribution to each class's logit, so that each map's sum plus its
#    class's bias is that logit. Then use it to see where the FlattenNet's evidence for
#    "triangle" lies on a triangle it classifies correctly, and on one of another class.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def flatten_maps(features, weight):
    b, c, h, w = features.shape
    templates = weight.view(-1, c, h, w)  # [N, C, h, w]: nn.Flatten's order
    return torch.einsum("nchw,bchw->bnhw", templates, features)


# %%
from cambook.exercises import check_flatten_maps

check_flatten_maps(flatten_maps)

# %% [markdown]
# Your function on this chapter's FlattenNet: every class's exact map of the first 200 test
# images, checked against the logits, then the map of "triangle" on a triangle the network
# gets right and on an image of another class.

# %%
with torch.no_grad():
    feats200 = flatnet.features(test_images[:200].to(device))
    logits200 = flatnet(test_images[:200].to(device))
every = flatten_maps(feats200, flatnet.fc.weight.detach())  # [200, 5, 16, 16]
sums = every.sum(dim=(2, 3)) + flatnet.fc.bias.detach()
print("each map's sum + bias == its logit:", torch.allclose(sums, logits200, atol=1e-3))
tri = camlib.CLASSES.index("triangle")
labels200, pred200 = test_labels[:200], flat_pred[:200]
shown = [int(((labels200 == tri) & (pred200 == tri)).nonzero()[0]),
         int((labels200 != tri).nonzero()[0])]

# %% tags=["hide-input"] mystnb={"image": {"alt": "Two test images with the FlattenNet's exact map of the class triangle over each: a triangle the network classifies correctly, and an image of another class"}}
fig, axes = plt.subplots(1, 2, figsize=(5, 2.6))
for ax, i in zip(axes, shown):
    img = test_images[i].permute(1, 2, 0).numpy()
    ax.imshow(camlib.overlay(img, every[i, tri].cpu()))
    camlib.draw_box(ax, test_boxes[i].tolist(), lw=1.2)
    ax.set_title(f"#{i}, a {camlib.CLASSES[test_labels[i]]}: 'triangle'", fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# 3. **Grad-CAM deeper inside.** CAM only reads the last feature maps; Grad-CAM can use any
#    layer. Compute `camlib.gradcam` for "palace" with `target_layer=model.features[11]`
#    (14 x 14 maps) and with `model.features[5]` (28 x 28), and show them over the photo
#    next to the 7 x 7 map. What do you gain in resolution, and what do you lose?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "The pagoda photo with the Grad-CAM map of palace at three layers: the last 7 by 7 feature map, a 14 by 14 and a 28 by 28 map from earlier layers"}}
layers = {"last, 7 x 7": model.features, "features[11]": model.features[11],
          "features[5]": model.features[5]}
deeper = {name: camlib.gradcam(model, x, class_idx=palace, target_layer=layer,
                               relu=True).maps[0, 0].cpu()
          for name, layer in layers.items()}
fig = camlib.show_cams(photo, list(deeper.values()),
                       [f"{n} ({tuple(m.shape)})" for n, m in deeper.items()])
plt.show()
