# %% [markdown]
# # 3. Combining weights and features
#
# Chapter 1 called `camlib.CAM` and got a map. This chapter opens it up. A class activation
# map needs two ingredients, both already inside a trained network: the **weights** of the
# final `Linear` layer, one row per class, and the **feature maps** that the last
# convolutional layer produces for one image. The map is a weighted sum of the feature maps,
# with the class's row as the weights. We take each ingredient out by hand, combine them
# three ways, check the result against `camlib.CAM`, and prove (then check) the identity
# that makes the map meaningful: *its mean plus the bias is the class score*.
#
# In this chapter you will:
#
# * read a class's weight vector out of the final `Linear` layer;
# * capture the last feature maps with a forward hook, first by hand, then with a context
#   manager that always removes it;
# * compute the map as a weighted sum three ways (a loop, `einsum`, `camlib.CAM`);
# * derive and check *mean of the map plus bias is the logit*, and relate it to the
#   paper's own convention (a sum, no bias);
# * upsample the coarse map to the photo and see what normalizing it for display keeps
#   and what it throws away.

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
import matplotlib.pyplot as plt
import pandas as pd
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

import cambook
import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
set_matplotlib_formats("jpeg", pil_kwargs={"quality": 90})  # photos: JPEG stays small
_ = torch.manual_seed(0)

# %% [markdown]
# We use the same pretrained EfficientNet-Lite0 and the same pagoda photo as chapter 1.

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
model, preprocess, categories = pretrained
photo = cambook.sample_images()["china"]
x = preprocess(photo).unsqueeze(0).to(device)
print("photo:", photo.shape, "| input:", tuple(x.shape))
print("the head:", model.pool, model.dropout, model.fc, sep="\n  ")

# %% [markdown]
# ## Ingredient 1: the classifier's weights
#
# The last layer is `Linear(1280, 1000)`. PyTorch stores its weight matrix as
# `[out_features, in_features]`, that is `[classes, channels]`: **row $c$ is the vector
# $w^c$ of class $c$**, with one number $w^c_k$ per feature map $k$. We detach the
# parameters: we only read them, and need no gradients.

# %%
W = model.fc.weight.detach()
b = model.fc.bias.detach()
print("weight:", tuple(W.shape), "| bias:", tuple(b.shape))

palace = categories.index("palace")
w_palace = W[palace]
print(f"class {palace} = {categories[palace]!r}: w^c of shape {tuple(w_palace.shape)}, "
      f"bias {b[palace]:.4f}")
negative = int((w_palace < 0).sum())
print(f"weights from {w_palace.min():.3f} to {w_palace.max():.3f}; "
      f"{negative} of {len(w_palace)} ({negative / len(w_palace):.0%}) are negative")

# %% [markdown]
# Many of the weights are negative (the count is printed above): a feature map can count
# *against* a class as well as for it.
#
# ## Ingredient 2: the feature maps, with a forward hook
#
# The feature maps are an intermediate result: `model(x)` computes them and throws them
# away. A **forward hook** is a function that PyTorch calls right after a module's
# `forward`, with the module, its inputs and its output. We register one on
# `model.features` (the whole convolutional trunk), keep its output, run the model, and
# remove the hook so that it does not stay on the model forever.

# %%
stored = {}


def keep_output(module, inputs, output):
    stored["features"] = output.detach()


handle = model.features.register_forward_hook(keep_output)
with torch.no_grad():
    logits = model(x)
handle.remove()

features = stored["features"]
print("features:", tuple(features.shape))
print("hooks left on model.features:", len(model.features._forward_hooks))

# %% [markdown]
# 1280 feature maps of 7 x 7 cells: a 224-pixel input shrinks 32 times on its way through
# the trunk. The last activation of this network is a ReLU6, so every value lies
# between 0 and 6.
#
# Forgetting `handle.remove()` (or never reaching it, when the forward pass raises an
# error) leaves a hook that fires on every later call. Python's answer to "always clean
# up" is a context manager: an object with `__enter__` and `__exit__`, used in a `with`
# block. A hook fits in a small class:

# %%
class Hook:
    """Keep the output of `module` while inside a `with` block."""

    def __init__(self, module):
        self.handle = module.register_forward_hook(self.hook_fn)

    def hook_fn(self, module, inputs, output):
        self.stored = output.detach()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.handle.remove()


with Hook(model.features) as hook, torch.no_grad():
    model(x)
print("same features as before:", torch.equal(hook.stored, features))
print("hooks left on model.features:", len(model.features._forward_hooks))

# %% [markdown]
# `camlib.CAM` is the same idea, grown up: a context manager that finds the layer by
# itself, hooks it, and hands the features back along with the maps.

# %%
with camlib.CAM(model) as cam:
    result = cam(x, topk=5)
print("camlib.CAM features:", tuple(result.features.shape))
print("same features as our hook:", torch.allclose(result.features, features))
print("top-5:", [categories[c] for c in result.class_idx[0]])

# %% [markdown]
# ## Which feature maps matter for "palace"?
#
# Each of the 1280 channels has one weight for "palace". Here are the channels with the
# six largest weights, and what they contain for our photo.

# %%
f = features[0]  # [1280, 7, 7]: one image


def channel_table(channels):
    """Weight for "palace", mean and max of the feature map, and their product."""
    return pd.DataFrame({
        "weight w_k": w_palace[channels].tolist(),
        "mean f_k": f[channels].mean(dim=(1, 2)).tolist(),
        "max f_k": f[channels].amax(dim=(1, 2)).tolist(),
        "w_k x mean f_k": (w_palace * f.mean(dim=(1, 2)))[channels].tolist(),
    }, index=pd.Index(channels.tolist(), name="channel k")).round(3)


top_weight = w_palace.topk(6).indices
channel_table(top_weight)

# %% [markdown]
# A large weight is only half of the story. Some of these channels are silent on this
# photo (a maximum of 0: whatever pattern they detect is not there), so they add nothing,
# however large their weight. What a channel adds to the class score is its weight times
# its average, $w^c_k \cdot \operatorname{mean} f_k$; the channels that add the most are
# another set:

# %%
contribution = w_palace * f.mean(dim=(1, 2))
top_contrib = contribution.topk(6).indices
channel_table(top_contrib)

# %% [markdown]
# Top row: the six channels with the largest weights; bottom row: the six that add the most
# to the "palace" score. Each 7 x 7 feature map is stretched to the photo and laid over it,
# all on the same colour scale, 0 (dark) to 6 (bright), so that you can see where on the
# photo each channel fires.

# %% tags=["hide-input"] mystnb={"image": {"alt": "Two rows of six feature maps laid over the pagoda photo on a common scale from 0 to 6: top, the channels with the largest palace weights, some of them completely dark; bottom, the channels contributing most to the palace score, bright over the tower"}}
fig, axes = plt.subplots(2, 6, figsize=(12, 4.6), layout="constrained")
rows = [(top_weight, "by weight"), (top_contrib, "by contribution")]
for row, (channels, label) in zip(axes, rows):
    for ax, k in zip(row, channels.tolist()):
        ax.imshow(camlib.overlay(photo, f[k].cpu(), alpha=0.6, cmap="viridis", vmax=6))
        ax.set_title(f"k={k}, w={w_palace[k]:.3f}", fontsize=9)
        ax.axis("off")
    row[0].text(-0.08, 0.5, label, transform=row[0].transAxes, rotation=90,
                va="center", ha="right", fontsize=10)
camlib.viz.add_scale_bar(fig, axes, 6, cmap="viridis", label="f_k(x, y)")
plt.show()

# %% [markdown]
# The channels that contribute are bright where the tower stands, each with its own
# pattern. No single channel is the map; their weighted sum is.
#
# ## The weighted sum, three ways
#
# The class activation map of class $c$ at cell $(x, y)$ is
#
# $$M_c(x, y) = \sum_{k=1}^{1280} w^c_k \, f_k(x, y).$$
#
# First, exactly as written: a Python loop over the channels.

# %%
cam_loop = torch.zeros_like(f[0])
for k in range(f.shape[0]):
    cam_loop += w_palace[k] * f[k]
print("loop:", tuple(cam_loop.shape))

# %% [markdown]
# Second, in one call: `torch.einsum` names the axes and sums over the ones that
# disappear from the output (here `k`, the channels). With the whole weight matrix instead
# of one row, the same product gives the maps of **all 1000 classes at once**.

# %%
cam_einsum = torch.einsum("k,khw->hw", w_palace, f)
all_maps = torch.einsum("ck,khw->chw", W, f)  # [1000, 7, 7]: every class, one pass
print("einsum:", tuple(cam_einsum.shape), "| all classes:", tuple(all_maps.shape))

# %% [markdown]
# Third, `camlib.CAM`, whose top class is "palace". The three agree (to floating-point
# rounding: the loop adds in a different order).

# %%
cam_camlib = result.maps[0, 0]
print("camlib.CAM class:", categories[result.class_idx[0, 0]])
others = {"einsum": cam_einsum, "camlib.CAM": cam_camlib,
          "all_maps[palace]": all_maps[palace]}
for name, other in others.items():
    diff = (cam_loop - other).abs().max()
    print(f"loop vs {name:16s} max difference below 1e-4: {bool(diff < 1e-4)}")

# %% [markdown]
# ## The identity: mean of the map plus bias is the logit
#
# Why is $M_c$ a map of evidence *for class $c$*? Follow the head of the network. Global
# average pooling turns each feature map into its mean over the $H \times W$ cells, and the
# linear layer (dropout does nothing at evaluation) weights those means:
#
# $$y_c = \sum_k w^c_k \, \underbrace{\frac{1}{HW}\sum_{x,y} f_k(x,y)}_{\text{global average pooling}} + b_c .$$
#
# The weight $w^c_k$ does not depend on the position $(x, y)$: GAP gives each channel one
# weight, shared by every position. So it can move inside the sum over positions, and the
# two finite sums can be swapped:
#
# $$y_c = \frac{1}{HW}\sum_{x,y} \underbrace{\sum_k w^c_k \, f_k(x,y)}_{M_c(x,y)} + b_c
#       = \operatorname{mean}_{x,y} M_c(x,y) + b_c .$$
#
# The score of class $c$ is the average of its map plus a constant. Every cell of the map
# adds its value (divided by $HW$) to the score: the map shows how much each place in the
# image pushes the network towards $c$, and the pushes add up to exactly the logit.
# Checked on the five most likely classes:

# %%
top = result.class_idx[0]
pd.DataFrame({"logit": logits[0, top].tolist(),
              "mean(M) + b": (all_maps[top].mean(dim=(1, 2)) + b[top]).tolist(),
              "max(M)": all_maps[top].amax(dim=(1, 2)).tolist()},
             index=pd.Index([categories[c] for c in top], name="class")).round(3)

# %%
from_maps = all_maps.mean(dim=(1, 2)) + b
print("identity holds for all 1000 classes:",
      torch.allclose(logits[0], from_maps, atol=1e-4))

# %% [markdown]
# **The paper writes it differently.** Section 2 of the CAM paper defines the pooled value
# as a *sum*, $F_k = \sum_{x,y} f_k(x,y)$, and the class score as $S_c = \sum_k w^c_k F_k$,
# without a bias: "Here we ignore the bias term: we explicitly set the input bias of the
# softmax to 0 as it has little to no impact on the classification performance." So there
# $S_c = \sum_{x,y} M_c(x,y)$: the score is the map's *sum*. PyTorch's pooling averages and
# its `Linear` layer has a bias, so this book writes *mean plus bias*. The two are the same
# up to constants: a network that sums instead of averaging, with weights $w^c_k / (HW)$ and
# no bias, gives our scores minus $b_c$, and its map is ours divided by $HW$ (with our bias
# added back it gives exactly our scores). Dropping the bias, as the paper does, shifts each
# class's score by $b_c$ and changes no map. Neither constant moves the map's peak or
# changes its shape, so both conventions draw the same picture. Checked here, with the
# summing network's weights and no bias:

# %%
h, w = all_maps.shape[-2:]
summing_weights = w_palace / (h * w)  # the equivalent network that sums and has no bias
paper_map = torch.einsum("k,khw->hw", summing_weights, f)
print(f"sum of the summing network's map: {paper_map.sum():.3f}")
print(f"logit - bias:                     {logits[0, palace] - b[palace]:.3f}")
print("its map is ours divided by h x w:",
      torch.allclose(paper_map, all_maps[palace] / (h * w), atol=1e-6))

# %% [markdown]
# ## From a 7 x 7 grid to the photo
#
# The map has one value per cell of the last feature grid, and neighbouring cells are
# 32 input pixels apart (the trunk's total stride). To lay it over the photo we stretch
# it to the photo's size with bilinear interpolation. `camlib.upsample` gives the values of
# `torch.nn.functional.interpolate(..., mode="bilinear", align_corners=False)`; for small
# maps on the CPU it computes them faster, as two matrix products (bilinear resizing is
# separable: rows first, then columns), which is why it is not a one-line wrapper.
# Interpolation only smooths between the 49 values: it adds no detail.

# %%
cam_up = camlib.upsample(cam_camlib, photo.shape[:2])
reference = torch.nn.functional.interpolate(cam_camlib[None, None], photo.shape[:2],
                                            mode="bilinear", align_corners=False)
reference = reference[0, 0]
print("raw:", tuple(cam_camlib.shape), "-> upsampled:", tuple(cam_up.shape))
print("the same values as F.interpolate:", torch.allclose(cam_up, reference, atol=1e-5))
print(f"raw range [{cam_camlib.min():.2f}, {cam_camlib.max():.2f}], "
      f"upsampled range [{cam_up.min():.2f}, {cam_up.max():.2f}]")

# %% [markdown]
# For display we then **normalize**: a ReLU sets the negative cells (evidence *against*
# the class) to 0, and a division by the maximum scales the map to [0, 1], so that a
# colour map can show it (`camlib.normalize`). This is for the eyes only. The ReLU throws
# away the negative evidence and the division throws away the scale, so the identity is
# lost, and so is any comparison between classes: every normalized map peaks at 1, whether
# its class's logit is high or low.

# %%
cam_norm = camlib.normalize(cam_up)
print(f"normalized range [{cam_norm.min():.2f}, {cam_norm.max():.2f}]")
print(f"mean of raw 7x7 map + b = {cam_camlib.mean() + b[palace]:.3f} "
      f"(the logit: {logits[0, palace]:.3f})")
print(f"mean of normalized map  = {cam_norm.mean():.3f} (unrelated to the logit)")

# %% [markdown]
# Last, `camlib.overlay` colours the normalized map (blue for 0, red for 1) and blends it
# with the photo. The three steps, left to right:

# %% tags=["hide-input"] mystnb={"image": {"alt": "Three panels for the class palace: the raw 7 by 7 map with a colour bar including negative values; the map upsampled to the photo's size and normalized to the range 0 to 1; and the normalized map laid over the pagoda photo as a heat map"}}
fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
lim = cam_camlib.abs().max()
im = axes[0].imshow(cam_camlib.cpu(), cmap="RdBu_r", vmin=-lim, vmax=lim)
fig.colorbar(im, ax=axes[0], shrink=0.8)
axes[0].set_title("raw 7 x 7 map (red +, blue -)", fontsize=10)
im = axes[1].imshow(cam_norm.cpu(), cmap="jet", vmin=0, vmax=1)
fig.colorbar(im, ax=axes[1], shrink=0.8)
axes[1].set_title(f"upsampled to {cam_norm.shape[0]} x {cam_norm.shape[1]}, normalized",
                  fontsize=10)
axes[2].imshow(camlib.overlay(photo, cam_norm))
axes[2].set_title("overlay on the photo", fontsize=10)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %% [markdown]
# Everything `camlib.CAM` does is now on this page: a hook for the features, one row of
# the weight matrix, a weighted sum over channels. Upsampling and normalizing come after,
# for display.

# %% [markdown]
# ## Summary
#
# A class activation map needs nothing the network does not already have: row $c$ of the
# final layer's weight matrix, and the last feature maps of one forward pass, which a
# forward hook captures (and must remove afterwards). Their weighted sum over channels,
# $M_c = \sum_k w^c_k f_k$, is the map, and because global average pooling and the linear
# layer can be swapped, the mean of the map plus the bias is exactly the class's logit.
# The paper writes the same identity with a sum and no bias; the maps differ only by a
# constant factor. Upsampling to the photo and normalizing to [0, 1] are for display: the
# normalized map no longer adds up to the score.
#
# ## Questionnaire
#
# 1. Which two ingredients does a class activation map need, and where in the network does
#    each come from?
# 2. Why is the weight matrix of `nn.Linear(1280, 1000)` stored with shape `[1000, 1280]`,
#    and which part of it belongs to one class?
# 3. What does a forward hook receive, and why must it be removed after use? How does a
#    context manager guarantee that?
# 4. Write the class activation map of class $c$ as a formula.
# 5. Derive why the mean of the map plus the bias equals the logit. Which property of
#    global average pooling makes the swap of the sums possible?
# 6. How does the paper's convention (a sum, no bias) differ from this book's, and why does
#    it not change the picture?
# 7. Why can the raw map have negative cells although every feature map is non-negative?
# 8. What is lost when the map is normalized to [0, 1] for display?

# %% [markdown]
# ## Exercises
#
# 1. **A hook that cleans up after itself.** Write `capture(model, layer, x)` that returns
#    the output of `layer` during `model(x)` and leaves no hook behind, even if the forward
#    pass raises an error (use `try`/`finally`, or a `with` block).

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def capture(model, layer, x):
    stored = {}

    def keep(module, inputs, output):
        stored["out"] = output.detach()

    handle = layer.register_forward_hook(keep)
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return stored["out"]


# %%
from cambook.exercises import check_hook

check_hook(capture)

# %% [markdown]
# 2. **Where the logit comes from.** Because the logit is the map's mean plus the bias,
#    it splits over any set of cells: the cells of a region add their share, the others
#    the rest. Write `region_logit(features, weight, class_idx, mask)`: `features`
#    `[B, C, h, w]`, `weight` the `[N, C]` matrix of the `Linear` layer, `class_idx` `[B]`
#    (one class per image), and a bool `mask` `[B, h, w]`; return `[B]`, the part of each
#    image's logit (bias excluded) that the cells inside the mask contribute. The parts of
#    a mask and of its complement add up to the logit minus the bias.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def region_logit(features, weight, class_idx, mask):
    maps = torch.einsum("bc,bchw->bhw", weight[class_idx], features)  # M_c per image
    h, w = maps.shape[-2:]
    return (maps * mask).sum(dim=(1, 2)) / (h * w)  # each cell adds M_c(x, y) / (h w)


# %%
from cambook.exercises import check_region_logit

check_region_logit(region_logit)

# %% [markdown]
# Your function on the pagoda: how much of the "palace" logit comes from the cells under
# the hand-drawn tower box, and how much from the rest?

# %%
x0, y0, x1, y1 = cambook.HAND_BOXES["china"]
stride = photo.shape[0] / features.shape[-1]  # photo pixels per cell of the 7 x 7 grid
cy, cx = (torch.arange(7) + 0.5) * stride, (torch.arange(7) + 0.5) * stride
tower = ((cy[:, None] >= y0) & (cy[:, None] < y1) & (cx >= x0) & (cx < x1))[None]
cls = torch.tensor([palace])
inside = region_logit(features, W, cls, tower.to(features.device))
outside = region_logit(features, W, cls, ~tower.to(features.device))
print(f"cells whose centre lies in the tower box: {int(tower.sum())} of 49")
total = float(inside + outside + b[palace])
print(f"inside {float(inside):.3f} + outside {float(outside):.3f} "
      f"+ bias {float(b[palace]):.3f} = {total:.3f}")
print(f"the logit: {logits[0, palace]:.3f}")

# %% [markdown]
# 3. **Think.** Every feature map of this network is non-negative (ReLU6), yet the raw map
#    has negative cells. Where do they come from? If we applied the ReLU to the map *before*
#    taking its mean, would "mean plus bias is the logit" still hold? For which maps would
#    it?
# 4. **Another class.** Using `all_maps`, show the raw maps of "palace" and "lakeside" side
#    by side on one common colour scale (`vmin`, `vmax`), then normalized. What does the
#    common scale show that the normalized maps hide?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "Four panels: the raw 7 by 7 maps of palace and lakeside on one common red and blue scale, then the same two maps normalized to the range 0 to 1"}}
pair = [palace, categories.index("lakeside")]
lim = all_maps[pair].abs().max()
fig, axes = plt.subplots(1, 4, figsize=(11, 2.8), layout="constrained")
for ax, c in zip(axes[:2], pair):
    im = ax.imshow(all_maps[c].cpu(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(f"{categories[c]}, raw", fontsize=9)
fig.colorbar(im, ax=axes[:2], shrink=0.8)
for ax, c in zip(axes[2:], pair):
    ax.imshow(camlib.normalize(all_maps[c]).cpu(), cmap="jet", vmin=0, vmax=1)
    ax.set_title(f"{categories[c]}, normalized", fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# 5. **Why this class and not that one?** Write `contrast_map(features, weight, class_a,
#    class_b)`: `features` `[B, C, h, w]`, `weight` `[N, C]`, `class_a` and `class_b` `[B]`
#    tensors of classes; return the maps `[B, h, w]` of the CAM of `class_a` minus the CAM of
#    `class_b` (raw, no ReLU). Where it is positive, the image argues for `class_a` over
#    `class_b`. What is its mean plus `bias[class_a] - bias[class_b]`?

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def contrast_map(features, weight, class_a, class_b):
    difference = weight[class_a] - weight[class_b]  # [B, C]
    return torch.einsum("bc,bchw->bhw", difference, features)


# %%
from cambook.exercises import check_contrast_map

check_contrast_map(contrast_map)
