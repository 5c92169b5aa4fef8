# %% [markdown]
# # 1. What CAM is, in one picture
#
# A convolutional network that says "palace" has, somewhere inside it, looked at the
# palace. *Class activation mapping* (CAM; Zhou et al., CVPR 2016, "Learning Deep Features
# for Discriminative Localization") shows **where**: a heat map over the photo, computed
# from weights the network already has, with one forward pass and one small matrix product.
#
# This chapter shows the picture before the theory. We take a pretrained ImageNet
# classifier (EfficientNet-Lite0, whose weights ship with pip and work offline), a photo of
# a pagoda, and ask for its top class and that class's map. The next chapters explain why
# it works (chapter 2), how it is computed (chapter 3), and what it is good for
# (chapters 4 to 7).
#
# In this chapter you will:
#
# - load a pretrained classifier whose head is global average pooling and one linear layer,
#   and read its five most likely classes for a photo;
# - compute the class activation map of the top class with `camlib.CAM`, look at it raw
#   (7 x 7, with its values on a colour bar) and laid over the photo;
# - measure where its strongest evidence lies against a hand-drawn box;
# - check on real numbers that the mean of the map plus the class's bias is the class score.

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

# %% [markdown]
# We pick the device in one place: the GPU when there is one, else the CPU. Everything in
# this book runs on a laptop CPU in seconds.

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
# ## A pretrained classifier whose head is global average pooling
#
# `camlib.load_pretrained` returns three things: the model (in evaluation mode), the
# `preprocess` function its weights expect, and the 1000 ImageNet class names.

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
model, preprocess, categories = pretrained
print(f"{camlib.count_params(model) / 1e6:.2f} M parameters, {len(categories)} classes")
print("head:", model.pool, model.fc, sep="\n  ")

# %% [markdown]
# The last two layers are what CAM needs: an average over all positions of the last
# feature maps (`AdaptiveAvgPool2d(1)`), then a single `Linear` layer from the 1280
# pooled features to the 1000 class scores.
#
# ## The photo
#
# `cambook.sample_images()` returns photos that ship inside scikit-learn and scikit-image.
# `"china"` is scikit-learn's `china.jpg`, a pagoda at the Summer Palace in Beijing,
# centre-cropped to a square.

# %%
photos = cambook.sample_images()
photo = photos["china"]
print("photo:", photo.shape, photo.dtype)

# %% tags=["hide-input"] mystnb={"image": {"alt": "The china.jpg photo: a pagoda by a lake, centre-cropped to a square"}}
plt.figure(figsize=(3.5, 3.5))
plt.imshow(photo)
plt.axis("off")
plt.title("china.jpg (scikit-learn)")
plt.show()

# %% [markdown]
# ## What the network says
#
# `preprocess` resizes the whole photo to 224 x 224 (no crop, so that a map at that size
# lies exactly over the photo) and scales the pixels to [-1, 1], as these weights expect.
# We add a batch dimension: PyTorch models take `[B, C, H, W]` tensors. The softmax turns
# the 1000 class scores into probabilities, and `topk` keeps the five largest.

# %%
x = preprocess(photo).unsqueeze(0).to(device)
print("input:", tuple(x.shape))
with torch.inference_mode():
    probs = model(x).softmax(dim=1)[0]
top5 = probs.topk(5)
pd.DataFrame({"class": [categories[c] for c in top5.indices],
              "probability (%)": (100 * top5.values).tolist()},
             index=pd.RangeIndex(1, 6, name="rank")).round(1)

# %% [markdown]
# "palace" comes first. It is also the top class of the photo in the CAM paper's figure of
# top-5 maps (its Figure 4), a different photo whose label is "dome", classified by
# another network; chapter 4 sets the two side by side. The runner-up here, "bell cote"
# (a small tower holding bells), is not a silly answer for a tower with roofs on every
# floor.
#
# ## Where the network looked
#
# `camlib.CAM` hooks the last feature maps, runs the model once, and combines the maps
# with the classifier's weights for the chosen class. The result is a coarse map, one
# value per cell of the last feature grid: 224 / 32 = 7 cells on a side.

# %%
with camlib.CAM(model) as cam:
    result = cam(x, topk=1)
top_class = int(result.class_idx[0, 0])
cam_map = result.maps[0, 0]
print("class:", categories[top_class], "| map:", tuple(cam_map.shape))

# %% [markdown]
# Left: the raw 7 x 7 map, with a colour bar for its values (raw: in the units of the
# class score, not normalised; some cells may be negative). Right: the same map,
# stretched to the photo's size with bilinear interpolation and laid over it
# (`camlib.overlay`, which keeps the positive part and divides it by its maximum). Red is
# where the evidence for "palace" is strongest. The green box is one we drew by hand
# around the tower (`cambook.HAND_BOXES["china"]`): it is not used by the network, only
# to measure the map against.

# %% tags=["hide-input"] mystnb={"image": {"alt": "Left, the raw 7 by 7 class activation map of palace with a colour bar of its values; right, the same map upsampled and laid over the photo as a heat map, with a hand-drawn green box around the tower"}}
tower = cambook.HAND_BOXES["china"]
fig, axes = plt.subplots(1, 2, figsize=(8.2, 3.6))
im = axes[0].imshow(cam_map.cpu(), cmap="jet")
fig.colorbar(im, ax=axes[0], fraction=0.046, pad=0.04, label="raw CAM value")
axes[0].set_title(f"raw CAM, {cam_map.shape[0]} x {cam_map.shape[1]}")
axes[1].imshow(camlib.overlay(photo, cam_map))
camlib.draw_box(axes[1], tower, label="tower (hand-drawn)")
axes[1].set_title(f"'{categories[top_class]}' over the photo")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# Where exactly is the evidence? We upsample the map to the photo's pixels and ask two
# questions of it: does its maximum fall inside the tower box (`camlib.peak_in_box`, the
# "pointing game"), and what share of its positive part lies inside the box, against the
# share of the photo the box covers (what a map spread evenly would give).

# %%
up = camlib.upsample(cam_map.cpu(), photo.shape[:2])  # [H, W], raw values
pos = up.clamp(min=0)
box = torch.tensor([tower])
x0, y0, x1, y1 = tower
inside = pos[y0:y1, x0:x1].sum() / pos.sum()
area = (x1 - x0) * (y1 - y0) / (photo.shape[0] * photo.shape[1])
cell = int(cam_map.flatten().argmax())
print(f"peak: cell (row {cell // 7}, col {cell % 7}) of the 7 x 7 grid, "
      f"inside the tower box: {bool(camlib.peak_in_box(up[None], box)[0])}")
print(f"positive evidence inside the box: {inside:.1%}")
print(f"the box's share of the photo:      {area:.1%}")

# %% [markdown]
# The strongest evidence falls on the tower. That alone is a weak test here: the peak's
# cell is in the middle of the grid, and the box holds the middle of the photo. The second
# number says more: the share of the evidence inside the box is well above the box's share
# of the photo, so the sky, the lake and the trees contribute less than their area. Nobody told the network where the building is: it was trained
# on class labels alone. That is the paper's point: a network trained to *classify* has
# learned to *localize*, and global average pooling lets us read it off.
#
# ## A first look at the identity behind it
#
# The class score (the *logit*) is the average of the map plus the class's bias. We
# check it on these real numbers; chapter 3 derives it.

# %%
logit = result.logits[0, top_class]
from_map = cam_map.mean() + model.fc.bias[top_class]
print(f"logit          = {logit:.3f}")
print(f"mean(map) + b  = {from_map:.3f}")
print("equal:", torch.allclose(logit, from_map, rtol=1e-4, atol=1e-4))

# %% [markdown]
# ## Summary
#
# A classifier whose last layers are global average pooling and one linear layer carries
# its own localization: the class activation map, the classifier's weights for one class
# applied to the feature maps at every position. On the pagoda photo, EfficientNet-Lite0
# ranks "palace" first; the map of "palace" peaks inside the hand-drawn tower box and
# puts most of its positive evidence there, a larger share than the box's share of the
# photo. The map is coarse
# (7 x 7 for a 224 x 224 input), its raw values are in the units of the class score, and
# its mean plus the class's bias is exactly the class's logit.
#
# ## Questionnaire
#
# 1. What does a class activation map show, and what does it cost beyond the forward pass?
# 2. Which two layers at the end of EfficientNet-Lite0 does CAM need, and what does each do?
# 3. Why does this book's `preprocess` resize the whole photo to 224 x 224 instead of
#    cropping it?
# 4. Why is the map of a 224 x 224 input 7 x 7?
# 5. What do the softmax and `topk` do to the model's output, and what are the shapes
#    before and after?
# 6. What labels was the network trained with? Why is it remarkable that the map of
#    "palace" peaks on the tower?
# 7. What do the two numbers of the "where exactly" cell measure, and why is the box's
#    share of the photo printed next to the share of evidence?
# 8. Why does the raw map carry a colour bar while the overlay does not need one?
# 9. Write the identity between the map and the logit that this chapter checks.

# %% [markdown]
# ## Exercises
#
# 1. **Where does a class rank?** The chapter printed the five most likely classes. Often
#    the question is the other way round: where in the ranking is *this* class? Write
#    `class_rank(logits, class_idx)` that takes logits `[B, N]` and one class per image
#    `[B]` (an int64 tensor) and returns each class's rank `[B]`, 1 for the most likely:
#    one plus the number of classes with a strictly larger score. Do you need the softmax?

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def class_rank(logits, class_idx):
    own = logits.gather(1, class_idx[:, None])  # [B, 1]: the score of its class
    return 1 + (logits > own).sum(dim=1)


# %%
from cambook.exercises import check_class_rank

check_class_rank(class_rank)

# %% [markdown]
# Your function on this chapter's photo: where do "palace" and "dome" rank?

# %%
with torch.inference_mode():
    logits = model(x)
for name in ("palace", "dome"):
    rank = class_rank(logits, torch.tensor([categories.index(name)]))
    print(f"{name}: rank {int(rank[0])} of {len(categories)}")

# %% [markdown]
# 2. **The runner-up.** Compute the CAM of "bell cote" for the same photo and show it next
#    to the one for "palace", on one colour scale. A `CAM` object works only inside its
#    `with` block, so call it there:
#    `with camlib.CAM(model) as cam: bell = cam(x, class_idx=categories.index("bell cote"))`.
#    Do the two classes look at the same place?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "The pagoda photo, then the class activation maps of palace and of bell cote laid over it on one shared colour scale"}}
with camlib.CAM(model) as cam:
    bell = cam(x, class_idx=categories.index("bell cote"))
fig = camlib.show_cams(photo, [cam_map.cpu(), bell.maps[0, 0].cpu()],
                       ["palace", "bell cote"], shared_scale=True)
plt.show()

# %% [markdown]
# 3. **Another photo.** Run this chapter's cells on `photos["coffee"]` or
#    `photos["chelsea"]`. Which class comes first, and where does its evidence sit?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "The coffee and the cat photos, each with the class activation map of its top class laid over it"}}
fig, axes = plt.subplots(1, 2, figsize=(6, 3.2))
for ax, name in zip(axes, ["coffee", "chelsea"]):
    xi = preprocess(photos[name]).unsqueeze(0).to(device)
    with camlib.CAM(model) as cam:
        r = cam(xi, topk=1)
    ax.imshow(camlib.overlay(photos[name], r.maps[0, 0].cpu()))
    ax.set_title(f"{categories[r.class_idx[0, 0]]} {r.probs[0, 0]:.0%}", fontsize=10)
    ax.axis("off")
plt.show()

# %% [markdown]
# 4. **Think.** The map is 7 x 7 for a 224 x 224 input. What would it be for a
#    448 x 448 input, and why can this network take that input at all?
#
# 5. **Where is the peak?** Write `peak(cam, image_size)` that takes one map `[h, w]` (a
#    tensor) and the photo's size `(W, H)` in pixels, and returns the pixel `(x, y)` at the
#    centre of the map's highest cell, as floats. On a tie, the first highest cell in
#    reading order (row by row) wins. Try it on `cam_map` and the pagoda photo: is the
#    peak on the tower?

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def peak(cam, image_size):
    h, w = cam.shape
    row, col = divmod(int(cam.flatten().argmax()), w)  # the first maximum
    return ((col + 0.5) * image_size[0] / w, (row + 0.5) * image_size[1] / h)


# %%
from cambook.exercises import check_peak

check_peak(peak)

# %% [markdown]
# Your function on the pagoda photo, against the hand-drawn tower box `(x0, y0, x1, y1)`:

# %%
px, py = peak(cam_map.cpu(), (photo.shape[1], photo.shape[0]))
print(f"peak at ({px:.1f}, {py:.1f}); tower box {tower}")
