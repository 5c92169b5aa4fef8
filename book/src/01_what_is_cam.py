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
# - set its top class and probability beside the example in Figure 4 of the CAM paper;
# - compute the class activation map of the top class with `camlib.CAM`, look at it raw
#   (7 x 7, with its values on a colour bar) and laid over the photo;
# - measure where its strongest evidence lies against a hand-drawn box;
# - check on real numbers that the mean of the map plus the class's bias is the class score.

# %% tags=["colab-setup", "remove-cell"]
# Set-up: in Colab, install camlib and its dependencies; anywhere else this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "camlib @ git+https://github.com/camlib-book/cam-book"], check=True)

# %% [markdown]
# We pick the device in one place: the GPU when there is one, else the CPU. Everything in
# this book runs on a laptop CPU in seconds.

# %%
import matplotlib.pyplot as plt
import torch

import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: full float32, no TF32, so it prints the digits a CPU prints
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
print("head:", model.pool, "->", model.fc)

# %% [markdown]
# The last two layers are what CAM needs: an average over all positions of the last
# feature maps (`AdaptiveAvgPool2d(1)`), then a single `Linear` layer from the 1280
# pooled features to the 1000 class scores.
#
# ## The photo
#
# `camlib.sample_images()` returns photos that ship inside scikit-learn and scikit-image.
# `"china"` is scikit-learn's `china.jpg`, a pagoda at the Summer Palace in Beijing,
# centre-cropped to a square.

# %% mystnb={"image": {"alt": "The china.jpg photo: a pagoda by a lake, centre-cropped to a square"}}
photos = camlib.sample_images()
photo = photos["china"]
print("photo:", photo.shape, photo.dtype)
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
# We add a batch dimension: PyTorch models take `[B, C, H, W]` tensors.

# %%
x = preprocess(photo).unsqueeze(0).to(device)
print("input:", tuple(x.shape))
with torch.inference_mode():
    probs = model(x).softmax(dim=1)[0]
top5 = probs.topk(5)
for p, c in zip(top5.values, top5.indices):
    print(f"{categories[c]:>12s}  {100 * p:5.1f} %")

# %% [markdown]
# "palace" comes first. So it does in the CAM paper's figure of top-5 maps (Figure 4 of
# Zhou et al. 2016), but that figure shows a different photo, whose ground-truth label is
# "dome", classified by a different network (one of the paper's GAP networks). Side by side,
# the paper's number quoted from the figure and ours computed above:

# %%
PAPER_FIG4_PALACE = 0.459  # the CAM paper, Figure 4: "palace" is the top class, the photo's label is "dome"
palace = categories.index("palace")
print(f"CAM paper, Figure 4: a GAP network, a photo labelled 'dome': palace {PAPER_FIG4_PALACE:.3f}")
print(f"this book:           EfficientNet-Lite0, china.jpg (pagoda):  palace {probs[palace]:.3f}"
      f" (rank {int((probs > probs[palace]).sum()) + 1})")

# %% [markdown]
# Both networks rank "palace" first, with different probabilities: the networks and the
# photos differ (the paper's photo is labelled "dome"; ours has no ImageNet label), so the
# two numbers agree on the top class and nothing more. The runner-up here, "bell cote" (a small tower holding bells), is not a silly
# answer for a tower with roofs on every floor.
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
# around the tower (`camlib.data.HAND_BOXES["china"]`): it is not used by the network, only
# to measure the map against.

# %% mystnb={"image": {"alt": "Left, the raw 7 by 7 class activation map of palace with a colour bar of its values; right, the same map upsampled and laid over the photo as a heat map, with a hand-drawn green box around the tower"}}
tower = camlib.data.HAND_BOXES["china"]
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
print(f"peak: cell (row {cell // 7}, col {cell % 7}) of the 7 x 7 grid, inside the tower box:",
      bool(camlib.peak_in_box(up[None], box)[0]))
print(f"positive evidence inside the box: {100 * inside:.1f} % (the box covers {100 * area:.1f} % of the photo)")

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
# ranks "palace" first, as the paper's network does for the different photo of its
# Figure 4 (probabilities printed side by side above); the map of "palace" peaks inside
# the hand-drawn tower box and puts most of its positive evidence there. The map is coarse
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
# 5. Which class does the network rank first on the pagoda photo, and how does its
#    probability compare with the 0.459 of the CAM paper's Figure 4? Why can the two
#    numbers not be compared as measurements of the same thing?
# 6. What labels was the network trained with? Why is it remarkable that the map of
#    "palace" peaks on the tower?
# 7. What do the two numbers of the "where exactly" cell measure, and why is the box's
#    share of the photo printed next to the share of evidence?
# 8. Why does the raw map carry a colour bar while the overlay does not need one?
# 9. Write the identity between the map and the logit that this chapter checks.

# %% [markdown]
# ## Exercises
#
# 1. **Top-5 by hand.** Write `top5(logits)` that takes logits `[B, N]` and returns the
#    softmax probabilities and the indices of the five most likely classes, both `[B, 5]`,
#    most likely first. The check cell compares it with the reference on random logits.

# %% tags=["solution", "hide-input"]
def top5(logits):
    probs = logits.softmax(dim=1)
    values, indices = probs.topk(5, dim=1)
    return values, indices


# %%
from cambook.exercises import check_topk

check_topk(top5)

# %% [markdown]
# 2. **The runner-up.** Compute the CAM of "bell cote" for the same photo
#    (`cam(x, class_idx=categories.index("bell cote"))`) and show it next to the one for
#    "palace". Do the two classes look at the same place?
# 3. **Another photo.** Run this chapter's cells on `photos["coffee"]` or
#    `photos["chelsea"]`. Where does the evidence for the top class sit?
# 4. **Think.** The map is 7 x 7 for a 224 x 224 input. What would it be for a
#    448 x 448 input, and why can this network take that input at all?

# %% [markdown]
# 5. **Where is the peak?** Write `peak(cam, image_size)` that takes one map `[h, w]` (a
#    tensor) and the photo's size `(W, H)` in pixels, and returns the pixel `(x, y)` at the
#    centre of the map's highest cell, as floats. On a tie, the first highest cell in reading
#    order (row by row) wins. Try it on `cam` and the palace photo: is the peak on the palace?

# %% tags=["solution", "hide-input"]
def peak(cam, image_size):
    h, w = cam.shape
    row, col = divmod(int(cam.flatten().argmax()), w)  # argmax returns the first maximum
    return ((col + 0.5) * image_size[0] / w, (row + 0.5) * image_size[1] / h)


# %%
from cambook.exercises import check_peak

check_peak(peak)
