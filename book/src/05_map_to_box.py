# %% [markdown]
# # 5. From a map to a box
#
# The network of this book was trained on class labels alone: "this image holds a
# triangle", never "the triangle is *here*". Yet its class activation map lights up where
# the object is. The CAM paper turns that map into a **bounding box** with a very simple
# rule, and measures how often the box lands on the object: weakly supervised
# localization, with no box label in training.
#
# Our synthetic images know the true box of every object, so here we can *measure* it.
# This chapter builds the rule step by step, defines the score (intersection over union),
# and compares CAM's boxes with boxes that never look at the image. Chapter 6 scores the
# boxes the paper's way, where the class must be right too, and asks what changes the
# result.
#
# In this chapter you will:
#
# * turn a map into a box with the paper's rule, one step at a time;
# * score a box with intersection over union (IoU), and many boxes with the share whose
#   IoU reaches 0.5;
# * compare CAM boxes with baselines that never look at the image, choosing every setting
#   on a validation split and measuring on a test split;
# * find out whether CAM's boxes are too large or too small, and draw boxes on real photos.

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
# The usual start: the device chosen in one place, and a seed.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats
from scipy import ndimage

import cambook
import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
set_matplotlib_formats("jpeg", pil_kwargs={"quality": 90})  # photos: JPEG stays small
_ = torch.manual_seed(0)

# %% [markdown]
# ## The model and the data
#
# `cambook.book_model("gapnet")` is the GAPNet every chapter shares: a small convolutional
# trunk, global average pooling and one `Linear` layer, trained on the synthetic training
# split and shipped with the book's package cambook, so that these pages print the same numbers on every
# machine (chapter 2 shows it train).

# %%
model = cambook.book_model("gapnet", device=device)

# %% [markdown]
# Two more splits. The **validation** split is for every choice we make (a threshold, the
# size of a baseline box); the **test** split is only for the final numbers. Each image
# comes with its object's true box `(x0, y0, x1, y1)`, with exclusive ends like Python
# slices: the box covers columns `x0 .. x1 - 1` and rows `y0 .. y1 - 1`.

# %%
val_images, val_labels, val_boxes = cambook.book_split("valid")
test_images, test_labels, test_boxes = cambook.book_split("test")
H, W = test_images.shape[-2:]
print(f"valid: {len(val_images)} images, test: {len(test_images)}, each {H} x {W}")
print("first test box:", test_boxes[0].tolist())

# %% [markdown]
# ## The rule, one step at a time
#
# The paper's rule (its Section 3.2, the paragraph "Localization") has three steps:
#
# 1. keep the pixels whose map value is at least **20 % of the map's maximum**;
# 2. of the blobs this leaves, take the **largest connected component**;
# 3. return the **bounding box** of that component.
#
# To see step 2 do something, we take the first test image whose thresholded map falls
# into more than one blob. Its map is the CAM of the predicted class, computed on the
# 16 x 16 feature grid, stretched to the image's 64 x 64 pixels with bilinear
# interpolation (`camlib.upsample`), and divided by its maximum after a ReLU
# (`camlib.normalize`), so that its values lie in [0, 1].

# %%
with camlib.CAM(model) as cam:
    res = cam(test_images[:50].to(device))
maps = camlib.normalize(camlib.upsample(res.maps[:, 0], (H, W))).cpu()
eight = np.ones((3, 3))  # neighbours by an edge or a corner: 8-connectivity
n_blobs = [ndimage.label(m.numpy() >= 0.2, structure=eight)[1] for m in maps]
i = next(k for k, n in enumerate(n_blobs) if n > 1)
cam_map, true_box = maps[i].numpy(), test_boxes[i].tolist()
label, pred = camlib.CLASSES[test_labels[i]], camlib.CLASSES[res.class_idx[i, 0]]
print(f"test image {i}: a {label}, predicted {pred} ({res.probs[i, 0]:.1%})")

# %% [markdown]
# **Step 1: threshold.** A boolean mask of the pixels at or above 20 % of the maximum.

# %%
threshold = 0.2
mask = cam_map >= threshold * cam_map.max()
print(f"{mask.sum()} of {mask.size} pixels are at or above {threshold:.0%} of the max")

# %% [markdown]
# **Step 2: connected components.** `scipy.ndimage.label` gives every blob of the mask its
# own number. With the 3 x 3 structure of ones, pixels that touch by a corner belong to the
# same blob (8-connectivity). We keep the largest.

# %%
components, n = ndimage.label(mask, structure=eight)
sizes = np.bincount(components.ravel())[1:]  # pixels per blob; label 0 is background
largest = 1 + int(sizes.argmax())
print(f"{n} components of {sizes.tolist()} pixels; the largest is number {largest}")

# %% [markdown]
# **Step 3: the box.** The smallest and largest row and column of the kept component; the
# ends are exclusive, hence the `+ 1`. `camlib.cam_to_box` does all three steps (and
# breaks a tie between equally large blobs in favour of the one holding the maximum).

# %%
ys, xs = np.nonzero(components == largest)
box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
print("our box:          ", box)
print("camlib.cam_to_box:", camlib.cam_to_box(cam_map, threshold))
print("true box:         ", tuple(true_box))

# %% [markdown]
# The steps in one picture. In the third panel each component has its own colour and its
# size in pixels; in the last, the CAM box (green) and the true box (white).

# %% tags=["hide-input"] mystnb={"image": {"alt": "Four panels for one test image: its CAM over the image, the mask of pixels at or above 20 percent of the maximum, the connected components labelled with their sizes, and the chosen CAM box next to the true box"}}
image = test_images[i].permute(1, 2, 0).numpy()
fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
axes[0].imshow(camlib.overlay(image, cam_map))
axes[0].set_title("1. CAM over the image")
axes[1].imshow(mask, cmap="gray")
axes[1].set_title(f"2. map >= {threshold:.0%} of max")
axes[2].imshow(np.ma.masked_equal(components, 0), cmap="tab10", vmin=1, vmax=10)
for k, size in enumerate(sizes, start=1):
    cy, cx = ndimage.center_of_mass(components == k)
    axes[2].text(cx, cy, str(size), ha="center", va="center", fontsize=9,
                 bbox=dict(facecolor="white", edgecolor="none", pad=1, alpha=0.8))
axes[2].set_title(f"3. {n} components (size in px)")
axes[3].imshow(image)
camlib.draw_box(axes[3], true_box, color="white", label="true")
camlib.draw_box(axes[3], box, color="lime", label="CAM")
axes[3].set_title("4. largest component's box")
for ax in axes:
    ax.set_xlim(-0.5, W - 0.5)
    ax.set_ylim(H - 0.5, -0.5)
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()
plt.show()

# %% [markdown]
# ## How good is a box? Intersection over union
#
# A predicted box is good when it covers the object and not much else. **Intersection over
# union** (IoU) scores both at once: the area the two boxes share, divided by the area
# they cover together. It is 1 for identical boxes and 0 for boxes that do not overlap,
# and it punishes a box that is too big as much as one that is too small.
#
# With exclusive ends a box's width is `x1 - x0`, and the overlap of two boxes runs from
# the larger of the two starts to the smaller of the two ends (empty when that is
# negative).

# %%
def box_area(b):
    return (b[2] - b[0]) * (b[3] - b[1])


iw = max(0, min(box[2], true_box[2]) - max(box[0], true_box[0]))
ih = max(0, min(box[3], true_box[3]) - max(box[1], true_box[1]))
inter = iw * ih
union = box_area(box) + box_area(true_box) - inter
print(f"areas: CAM {box_area(box)}, true {box_area(true_box)}; "
      f"intersection {inter}, union {union}")
print(f"IoU = {inter} / {union} = {inter / union:.3f}; "
      f"camlib.iou: {camlib.iou(box, true_box):.3f}")

# %% [markdown]
# The paper counts a box as **correct when its IoU with the true box is at least 0.5**,
# and reports the share of correct boxes. We call that share the **box accuracy**
# (`camlib.box_accuracy`); chapter 6 adds the paper's condition that the class must be
# right too.
#
# ## Box accuracy on the test split
#
# We run the model once over the 1000 test images, keep the map of each image's predicted
# class (`camlib.cam_maps`, which batches the images through `camlib.CAM`), and box all
# the maps at the paper's 20 % (`camlib.cam_to_boxes` upsamples, normalizes and boxes a
# whole stack of maps).

# %%
truth = test_boxes.tolist()
truth = test_boxes.tolist()
test_maps = camlib.cam_maps(model, test_images).maps  # [1000, 1, 16, 16]
cam_boxes = camlib.cam_to_boxes(test_maps[:, 0], 0.2, size=(H, W))  # [1000, 4]
acc_cam = camlib.box_accuracy(cam_boxes.tolist(), truth)
print(f"CAM boxes at 20 % of the max: {acc_cam:.1%} of {len(truth)} reach IoU 0.5")

# %% [markdown]
# A number means little alone. Two baselines that never look at the image:
#
# * the **whole image** as the box: always right about *where*, never tight;
# * a **centred box** covering a fraction of each side (`camlib.centre_box`). Objects sit
#   anywhere in our images, but a centred box of the right size still overlaps many of
#   them. To be fair to it, we pick its fraction where it scores best on the
#   *validation* split, and only then measure it on test.

# %%
fractions = np.round(np.arange(0.2, 1.01, 0.05), 2)
val_truth = val_boxes.tolist()
centre_val = {f: camlib.box_accuracy([camlib.centre_box((H, W), f)] * len(val_truth),
                                     val_truth)
              for f in fractions}
best_fraction = max(centre_val, key=centre_val.get)
print(f"best fraction on validation: {best_fraction:.2f} "
      f"(box accuracy {centre_val[best_fraction]:.1%})")

# %% [markdown]
# The three on the test split, side by side:

# %%
def one_box_for_all(box):
    return camlib.box_accuracy([box] * len(truth), truth)


centre = camlib.centre_box((H, W), best_fraction)
table = pd.DataFrame({
    "method": ["whole image", f"centred box, {best_fraction:.2f} of each side",
               "CAM, threshold 0.2 (the paper's)"],
    "box accuracy (%)": [100 * one_box_for_all((0, 0, W, H)),
                         100 * one_box_for_all(centre), 100 * acc_cam],
}).set_index("method").rename_axis(index=None, columns="method").round(1)
table

# %% [markdown]
# Box accuracy is the share of the 1000 test images whose box reaches IoU 0.5. The whole
# image never does, because no object is large enough: the largest true box covers this
# share of its image, so the whole image's IoU with it can be no larger.

# %%
largest_object = max(box_area(b) for b in truth) / (W * H)
print(f"the largest true box covers {largest_object:.0%} of its image")

# %% [markdown]
# The centred box is right only when the object happens to sit near the middle at about
# that size. CAM, which looks at the image, does far better than both, but its boxes at
# the paper's threshold still miss the 0.5 bar on many images. Too small or too big? The
# ratio of the CAM box's area to the true box's area tells.

# %%
ratios = np.array([box_area(p) / box_area(t)
                   for p, t in zip(cam_boxes.tolist(), truth)])
print(f"CAM box area / true box area: median {np.median(ratios):.2f}; "
      f"{(ratios > 1).mean():.0%} of the CAM boxes are larger")

# %% [markdown]
# Most CAM boxes are too large. The map is computed on a 16 x 16 grid and stretched to
# 64 x 64, so it is smooth: it fades out slowly around the object, and 20 % of the
# maximum is reached well outside the object's edges. Chapter 6 chooses the threshold on
# the validation split instead. Here are the boxes of the first six test images (green:
# CAM at 0.2, white: the truth), titled with their IoU:

# %% tags=["hide-input"] mystnb={"image": {"alt": "Six test images, each with its true box in white and its CAM box at threshold 0.2 in green, titled with the IoU of the two"}}
fig, axes = plt.subplots(1, 6, figsize=(12, 2.4))
for k, ax in enumerate(axes):
    ax.imshow(test_images[k].permute(1, 2, 0))
    camlib.draw_box(ax, truth[k], color="white")
    camlib.draw_box(ax, cam_boxes[k].tolist(), color="lime")
    ax.set_title(f"IoU {camlib.iou(cam_boxes[k].tolist(), truth[k]):.2f}", fontsize=9)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Boxes on real photos
#
# The same rule on the pretrained EfficientNet-Lite0 of chapter 1. `camlib.localize`
# computes the map of the top class at 224 x 224, stretches it to the photo's own pixels,
# and boxes it at 20 % of the maximum. These photos come without true boxes, so here we
# can only look.

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
photos = cambook.sample_images()
found = {name: camlib.localize(pretrained, photo, topk=1, threshold=0.2)[0]
         for name, photo in photos.items()}
pd.DataFrame({
    "photo": list(found),
    "top class": [loc.label for loc in found.values()],
    "probability (%)": [round(100 * loc.prob, 1) for loc in found.values()],
    "box (x0, y0, x1, y1)": [str(loc.box) for loc in found.values()],
    "box / photo area (%)": [round(100 * box_area(loc.box) / photos[n].shape[0]
                                   / photos[n].shape[1])
                             for n, loc in found.items()],
}).set_index("photo").rename_axis(index=None, columns="photo")

# %% tags=["hide-input"] mystnb={"image": {"alt": "The five sample photos with the heat map of their top class and the CAM box in green, each titled with the class and its probability"}}
fig, axes = plt.subplots(1, len(photos), figsize=(2.6 * len(photos), 3))
for ax, (name, loc) in zip(axes, found.items()):
    ax.imshow(camlib.overlay(photos[name], loc.cam, alpha=0.4))
    camlib.draw_box(ax, loc.box, color="lime", lw=2.5)
    ax.set_title(f"{loc.label} ({100 * loc.prob:.0f} %)", fontsize=10)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# In these photos the object fills much of the frame, and so does its box (the last
# column of the table). Where the evidence spreads over a large region, the box grows
# with it, up to the photo's edges. Without true boxes we cannot score these boxes, which
# is why this chapter measured on synthetic images.

# %% [markdown]
# ## Summary
#
# The paper's box rule (keep the pixels above 20 % of the map's maximum, take the largest
# connected component, box it) turns a class activation map into a bounding box without a
# single box label in training. A box is correct when its intersection over union with
# the true box is at least 0.5. On our test split CAM's boxes are correct far more often
# than a whole-image box or the best centred box, baselines that ignore the image, but at
# the paper's threshold most of them are larger than the object: our maps are smooth,
# stretched from a 16 x 16 grid, and spread past the object's edges.
#
# ## Questionnaire
#
# 1. What are the three steps of the paper's rule from a map to a box?
# 2. What does 8-connectivity mean, and which argument of `scipy.ndimage.label` sets it?
# 3. How is the IoU of two boxes computed, and what IoU makes a box "correct" in the
#    paper?
# 4. Why does a box with exclusive ends have width `x1 - x0`, and why does that matter for
#    two boxes that only touch?
# 5. Why do we choose the centred box's size on the validation split and not on the test
#    split?
# 6. What do the whole-image and centred-box baselines tell us that CAM's box accuracy
#    alone does not? Why does the whole image score 0 here?
# 7. Are CAM's boxes at the paper's threshold too large or too small on our data, and why?

# %% [markdown]
# ## Exercises
#
# 1. **Evidence, not area.** The paper keeps the *largest* component. Another choice is
#    the component that holds the most evidence: the largest *sum of map values*. Write
#    `mass_box(cam, threshold)`: one map `[H, W]` as a numpy array (negative values count
#    as zero), the pixels `>= threshold * max`, their 8-connected components, and the
#    bounding box `(x0, y0, x1, y1)` (exclusive ends) of the component with the largest
#    sum of map values. A map with no positive value gives the whole image.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def mass_box(cam, threshold):
    cam = np.maximum(np.asarray(cam, dtype=np.float64), 0)
    h, w = cam.shape
    if cam.max() <= 0:
        return (0, 0, w, h)
    labels, n = ndimage.label(cam >= threshold * cam.max(), structure=np.ones((3, 3)))
    mass = ndimage.sum(cam, labels, index=np.arange(1, n + 1))  # each blob's evidence
    ys, xs = np.nonzero(labels == 1 + int(np.argmax(mass)))
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


# %%
from cambook.exercises import check_mass_box

check_mass_box(mass_box)

# %% [markdown]
# 2. **Every pair at once.** A detector is scored by matching many predicted boxes with
#    many true ones, so it needs the IoU of every pair. Write `iou_matrix(a, b)`: boxes
#    `a` `[N, 4]` and `b` `[M, 4]` (int64 tensors, exclusive ends); return the float
#    tensor `[N, M]` whose entry `(i, j)` is the IoU of `a[i]` and `b[j]`, without a
#    Python loop (broadcast `a[:, None]` against `b[None]`). Two empty boxes have IoU 0.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def iou_matrix(a, b):
    a, b = a[:, None].double(), b[None].double()  # [N, 1, 4] and [1, M, 4]
    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0]))
    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1]))
    inter = iw.clamp(min=0) * ih.clamp(min=0)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), 0.0).float()


# %%
from cambook.exercises import check_iou_matrix

check_iou_matrix(iou_matrix)

# %% [markdown]
# 3. **Area, mass, or everything?** On the validation split, compare three ways to turn a
#    map into a box at the thresholds 0.1 to 0.5: the paper's largest component
#    (`camlib.cam_to_box`), your `mass_box`, and the box around *all* pixels above the
#    threshold. Which gives the best box accuracy, and why might the paper have kept one
#    component?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer"}
val_maps = camlib.cam_maps(model, val_images).maps
val_up = camlib.normalize(camlib.upsample(val_maps[:, 0], (H, W))).numpy()


def all_pixels_box(m, t):
    ys, xs = np.nonzero(m >= t * m.max())
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


rules = {"largest component": camlib.cam_to_box, "most mass": mass_box,
         "all pixels": all_pixels_box}
pd.DataFrame({name: [100 * camlib.box_accuracy([rule(m, t) for m in val_up], val_truth)
                     for t in (0.1, 0.2, 0.3, 0.4, 0.5)]
              for name, rule in rules.items()},
             index=pd.Index([0.1, 0.2, 0.3, 0.4, 0.5], name="threshold")).round(1)

# %% [markdown]
# 4. **Think.** The rule thresholds at a fraction of each map's *own* maximum. What does
#    that make the box independent of? Think of a confident and an unsure prediction of
#    the same image. Is that a strength or a weakness?
