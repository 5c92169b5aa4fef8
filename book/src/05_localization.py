# %% [markdown]
# # 5. Localization without boxes
#
# The network of this book was trained on class labels alone: "this image holds a
# triangle", never "the triangle is *here*". Yet its class activation map lights up where
# the object is. The CAM paper turns that map into a **bounding box** with a very simple
# rule, and measures how often the box lands on the object: weakly supervised
# localization, for free.
#
# Our synthetic images know the true box of every object, so here we can *measure* it.
# This chapter builds the rule step by step, defines the score (intersection over union),
# compares CAM boxes with boxes that do not look at the image at all, and asks what
# changes the result: the threshold, the input resolution, and whether we map the
# predicted or the true class. It ends on real photos.

# %% tags=["colab-setup"]
# Set-up: in Colab, install camlib and its dependencies; anywhere else this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "camlib @ git+https://github.com/camlib-book/cam-book"], check=True)

# %% [markdown]
# We pick the device in one place: the GPU when there is one, else the CPU.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: full float32, no TF32, so it prints the digits a CPU prints
_ = torch.manual_seed(0)

# %% [markdown]
# ## The model and the data
#
# `camlib.book_model("gapnet")` is the GAPNet every chapter shares: a small convolutional
# trunk, global average pooling and one `Linear` layer, trained on the synthetic training
# split by the book's authors and shipped with camlib, so that these pages print the same
# numbers on every machine (chapter 2 shows it train, and says how to retrain it on yours).

# %%
model = camlib.book_model("gapnet", device=device)

# %% [markdown]
# We use two other splits. The **validation** split is for every choice we make (a
# threshold, the size of a baseline box); the **test** split is only for the final
# numbers. Each image comes with its object's true box `(x0, y0, x1, y1)`, with exclusive
# ends like Python slices: the box covers columns `x0 .. x1 - 1` and rows `y0 .. y1 - 1`.

# %%
val_images, val_labels, val_boxes = camlib.book_split("valid")
test_images, test_labels, test_boxes = camlib.book_split("test")
val_boxes, test_boxes = val_boxes.tolist(), test_boxes.tolist()
H, W = test_images.shape[-2:]
print(f"valid: {len(val_images)} images, test: {len(test_images)} images, each {H} x {W}")
print("classes:", camlib.CLASSES)
print("first test box:", test_boxes[0])

# %% [markdown]
# ## From a map to a box, step by step
#
# The paper's rule (Section 3 of the paper) has three steps:
#
# 1. keep the pixels whose map value is at least **20% of the map's maximum**;
# 2. of the blobs this leaves, take the **largest connected component**;
# 3. return the **bounding box** of that component.
#
# To watch step 2 do something, we take the first test image whose thresholded map falls
# into more than one blob. First, its map: CAM of the predicted class, computed on the
# 16 x 16 feature grid, stretched to the image's 64 x 64 pixels with bilinear
# interpolation (`camlib.upsample`) and divided by its maximum after a ReLU
# (`camlib.normalize`), so that values lie in [0, 1].

# %%
with camlib.CAM(model) as cam:
    res = cam(test_images[:50].to(device))
maps = camlib.normalize(camlib.upsample(res.maps[:, 0], (H, W))).cpu()
n_blobs = [ndimage.label(m.numpy() >= 0.2, structure=np.ones((3, 3)))[1] for m in maps]
i = next(k for k, n in enumerate(n_blobs) if n > 1)
cam_map, true_box = maps[i].numpy(), test_boxes[i]
print(f"test image {i}: true class {camlib.CLASSES[test_labels[i]]}, "
      f"predicted {camlib.CLASSES[res.class_idx[i, 0]]} ({100 * res.probs[i, 0]:.1f} %)")
print(f"raw map {tuple(res.maps.shape[-2:])} -> upsampled {cam_map.shape}, max {cam_map.max():.2f}")

# %% [markdown]
# **Step 1: threshold.** A boolean mask of the pixels at or above 20% of the maximum.

# %%
threshold = 0.2
mask = cam_map >= threshold * cam_map.max()
print(f"{mask.sum()} of {mask.size} pixels are at or above {threshold:.0%} of the maximum")

# %% [markdown]
# **Step 2: connected components.** `scipy.ndimage.label` gives every blob of the mask its
# own number. With the 3 x 3 structure of ones, pixels that touch by a corner belong to the
# same blob (8-connectivity). We keep the largest.

# %%
components, n = ndimage.label(mask, structure=np.ones((3, 3)))
sizes = np.bincount(components.ravel())[1:]  # pixels per component; label 0 is background
largest = 1 + int(sizes.argmax())
print(f"{n} components, sizes {sizes.tolist()} pixels; the largest is component {largest}")

# %% [markdown]
# **Step 3: the box.** The smallest and largest row and column of the kept component; the
# ends are exclusive, hence the `+ 1`. `camlib.cam_to_box` does all three steps (and
# breaks ties between equally large blobs in favour of the one holding the maximum).

# %%
ys, xs = np.nonzero(components == largest)
box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
print("our box:          ", box)
print("camlib.cam_to_box:", camlib.cam_to_box(cam_map, threshold))
print("true box:         ", tuple(true_box))

# %% [markdown]
# The four steps in one picture. In the third panel each component has its own colour and
# its size in pixels; in the last, the CAM box (green) and the true box (white).

# %% mystnb={"image": {"alt": "Four panels for one test image: its CAM over the image, the mask of pixels at or above 20 percent of the maximum, the connected components labelled with their sizes, and the chosen CAM box next to the true box"}}
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
# they cover together. It is 1 for identical boxes, 0 for boxes that do not overlap, and
# it punishes a box that is too big as much as one that is too small.
#
# With exclusive ends a box's width is `x1 - x0`, and the overlap of two boxes is the box
# from the larger of the two starts to the smaller of the two ends (empty when that is
# negative).

# %%
iw = max(0, min(box[2], true_box[2]) - max(box[0], true_box[0]))
ih = max(0, min(box[3], true_box[3]) - max(box[1], true_box[1]))
inter = iw * ih
area = lambda b: (b[2] - b[0]) * (b[3] - b[1])  # noqa: E731
union = area(box) + area(true_box) - inter
print(f"areas: CAM {area(box)}, true {area(true_box)}; intersection {inter}, union {union}")
print(f"IoU = {inter} / {union} = {inter / union:.3f};  camlib.iou: {camlib.iou(box, true_box):.3f}")
print("correct by the paper's criterion (IoU >= 0.5):", inter / union >= 0.5)

# %% [markdown]
# The paper counts a box as **correct when its IoU with the true box is at least 0.5**
# (the last line above applies it to our example), and reports the percentage of correct boxes: the *localization accuracy*
# (`camlib.box_accuracy`).
#
# ## Localization accuracy on the test split, against baselines
#
# On the test split we will want boxes at several thresholds, from the map of the
# predicted class and later of the true class. So we run the model once, ask `camlib.cam_maps` for the
# maps of all five classes (`class_idx="all"`), stretch and normalise them, and
# box whichever map we need, as often as we like. (For one threshold and the predicted
# class, `camlib.cam_boxes(model, images)` does it all in one call; we use it below.)

# %%
def all_class_maps(images, size=None):
    """Logits [N, 5], the normalised maps of all classes [N, 5, H, W] in the images' own pixels, and
    the side of the raw map (the last feature grid).

    With ``size``, the images are first upsampled to size x size (used at the end of the chapter).
    """
    x = images if size is None else F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    logits, maps = camlib.cam_maps(model, x, class_idx="all")
    return logits, camlib.normalize(camlib.upsample(maps, images.shape[-2:])), maps.shape[-1]


def boxes_of(maps, classes, threshold):
    """The CAM box of class classes[k] in image k, for every image."""
    return [camlib.cam_to_box(maps[k, c], threshold) for k, c in enumerate(classes.tolist())]


test_logits, test_maps, _ = all_class_maps(test_images)
test_pred = test_logits.argmax(1)
print("maps of all classes:", tuple(test_maps.shape))
pct = lambda acc: f"{100 * acc:.1f} %"  # noqa: E731
acc_cam_02 = camlib.box_accuracy(boxes_of(test_maps, test_pred, 0.2), test_boxes)
print("CAM boxes of the predicted class at 20% of the max, test:", pct(acc_cam_02))

# %% [markdown]
# A number means little alone. Two baselines that never look at the image:
#
# * the **whole image** as the box: always right about *where*, never tight;
# * a **centred box** covering a fraction of each side (`camlib.centre_box`). Objects
#   sit anywhere in our images, but a centred box of the right size still overlaps many
#   of them. To be fair to it, we pick its fraction where it scores best on the
#   *validation* split, and only then measure it on test.

# %%
fractions = np.round(np.arange(0.2, 1.01, 0.05), 2)
centre_val = {f: camlib.box_accuracy([camlib.centre_box(W, H, f)] * len(val_boxes), val_boxes) for f in fractions}
best_fraction = max(centre_val, key=centre_val.get)
print("centred box, validation accuracy by fraction of the side:")
print("  " + "  ".join(f"{f:.2f}: {100 * a:.1f}" for f, a in centre_val.items()))
print(f"best fraction on validation: {best_fraction:.2f}")

# %%
def accuracy_of_one_box(box, truth):
    return camlib.box_accuracy([box] * len(truth), truth)


rows = [("whole image", accuracy_of_one_box((0, 0, W, H), test_boxes)),
        (f"centred box, {best_fraction:.2f} of each side", accuracy_of_one_box(camlib.centre_box(W, H, best_fraction), test_boxes)),
        ("CAM, paper's threshold 0.2", acc_cam_02)]
print(f"{'method':38s} {'test accuracy (IoU >= 0.5)':>27s}")
for name, acc in rows:
    print(f"{name:38s} {pct(acc):>27s}")
largest_object = max(area(b) for b in test_boxes) / (W * H)
print(f"the largest true box covers {largest_object:.0%} of its image")

# %% [markdown]
# The whole image never reaches IoU 0.5 here: every object is far smaller than half of the
# image. The centred box is right only when the object happens to sit near the middle at
# about that size. CAM, which looks at the image, does far better than both, though
# the paper's threshold leaves many boxes below the 0.5 bar. Are they too small or too big?
# The ratio of the CAM box's area to the true box's area tells.

# %%
ratios = np.array([area(p) / area(t) for p, t in zip(boxes_of(test_maps, test_pred, 0.2), test_boxes)])
print(f"area of CAM box / area of true box at 0.2: median {np.median(ratios):.2f}, "
      f"{(ratios > 1).mean():.0%} of the boxes are larger than the object's")

# %% [markdown]
# ## How the threshold changes it
#
# A map computed on a 16 x 16 grid and stretched to 64 x 64 is smooth: it fades out
# slowly around the object, so a low threshold lets the blob spread past the object's
# edges. The paper's 20% was chosen for ImageNet networks; nothing says it suits ours.
# We scan thresholds **on the validation split**, with `camlib.cam_boxes`: one forward
# pass, boxes of the predicted class at every threshold.

# %%
thresholds = [round(t, 2) for t in np.arange(0.05, 0.81, 0.05)]
val_cam = camlib.cam_boxes(model, val_images, thresholds=thresholds)
val_acc = {t: camlib.box_accuracy(val_cam[t], val_boxes) for t in thresholds}
best_t = max(val_acc, key=val_acc.get)
print("validation accuracy by threshold:")
print("  " + "  ".join(f"{t:.2f}: {100 * a:.1f}" for t, a in val_acc.items()))
print(f"best threshold on validation: {best_t:.2f} ({pct(val_acc[best_t])})")

# %% mystnb={"image": {"alt": "Line plot of localization accuracy on the validation split against the box threshold, with the paper's 0.2, the best threshold and the best centred box marked"}}
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.plot(list(val_acc), [100 * a for a in val_acc.values()], "o-", label="CAM, validation")
ax.axvline(0.2, color="gray", ls="--", label="paper's threshold 0.2")
ax.axvline(best_t, color="tab:green", ls=":", label=f"best on validation, {best_t:.2f}")
ax.axhline(100 * centre_val[best_fraction], color="tab:red", ls="-.", label="best centred box, validation")
ax.set_xlabel("threshold (fraction of the map's maximum)")
ax.set_ylabel("localization accuracy (%)")
ax.set_ylim(0, 100)
ax.legend(fontsize=8, loc="lower center")
ax.set_title("Box accuracy (IoU >= 0.5) vs threshold")
plt.show()

# %% [markdown]
# Too low a threshold and the blob swallows the background around the object; too high
# and only the map's peak survives, a box smaller than the object. In between there is a
# clear best. Now, and only now, the test split: the threshold chosen on validation, and
# the paper's 0.2 for reference.

# %%
test_cam = {t: boxes_of(test_maps, test_pred, t) for t in (0.2, best_t)}
acc_cam_best = camlib.box_accuracy(test_cam[best_t], test_boxes)
print(f"test accuracy at the paper's 0.2:                {pct(camlib.box_accuracy(test_cam[0.2], test_boxes))}")
print(f"test accuracy at {best_t:.2f} (chosen on validation): {pct(acc_cam_best)}")
ratios = np.array([area(p) / area(t) for p, t in zip(test_cam[best_t], test_boxes)])
print(f"area of CAM box / area of true box at {best_t:.2f}: median {np.median(ratios):.2f}")

# %% [markdown]
# Boxes at both thresholds on the first few test images: green at 0.2, yellow at the
# chosen threshold, white the truth, with each box's IoU.

# %% mystnb={"image": {"alt": "Six test images with their true boxes in white, the CAM boxes at threshold 0.2 in green and at the chosen threshold in yellow, each titled with both IoUs"}}
fig, axes = plt.subplots(1, 6, figsize=(13, 2.8))
for k, ax in enumerate(axes):
    ax.imshow(test_images[k].permute(1, 2, 0))
    camlib.draw_box(ax, test_boxes[k], color="white")
    camlib.draw_box(ax, test_cam[0.2][k], color="lime")
    camlib.draw_box(ax, test_cam[best_t][k], color="yellow")
    ax.set_title(f"IoU {camlib.iou(test_cam[0.2][k], test_boxes[k]):.2f} | "
                 f"{camlib.iou(test_cam[best_t][k], test_boxes[k]):.2f}", fontsize=9)
    ax.axis("off")
fig.suptitle(f"green: threshold 0.2, yellow: {best_t:.2f}, white: true box", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The predicted class or the true class?
#
# So far each box comes from the map of the class the network *predicts*, as in the paper:
# at test time nobody knows the true class. With the true class instead (`class_idx=` the
# labels), a wrong prediction no longer costs the map of the wrong class. The difference
# can only come from the misclassified images.

# %%
wrong = (test_pred != test_labels).nonzero().flatten().tolist()
true_cam = {t: boxes_of(test_maps, test_labels, t) for t in (0.2, best_t)}
print(f"classification accuracy on test: {pct((test_pred == test_labels).float().mean().item())} "
      f"({len(wrong)} of {len(test_labels)} images wrong)")
print(f"{'threshold':>9s} {'predicted class':>16s} {'true class':>11s}   on the wrong ones: predicted / true")
for t in (0.2, best_t):
    on_wrong = [camlib.box_accuracy([b[k] for k in wrong], [test_boxes[k] for k in wrong]) if wrong else float("nan")
                for b in (test_cam[t], true_cam[t])]
    print(f"{t:9.2f} {pct(camlib.box_accuracy(test_cam[t], test_boxes)):>16s} "
          f"{pct(camlib.box_accuracy(true_cam[t], test_boxes)):>11s}   {pct(on_wrong[0])} / {pct(on_wrong[1])}")

# %% [markdown]
# Compare the two columns: with a classifier this accurate, only a handful of images can
# change, so the predicted class costs little here. On ImageNet, where the top class is
# wrong far more often, the paper's top-1 localization error mixes both kinds of error;
# this is also why it reports top-5 localization, where a box counts if any of the five
# most likely classes is right and has a good box.
#
# ## The summary table

# %%
rows += [(f"CAM, threshold {best_t:.2f} (chosen on valid)", acc_cam_best),
         (f"CAM, threshold {best_t:.2f}, true class", camlib.box_accuracy(true_cam[best_t], test_boxes))]
print(f"{'method':38s} {'test accuracy (IoU >= 0.5)':>27s}")
for name, acc in rows:
    print(f"{name:38s} {pct(acc):>27s}")

# %% [markdown]
# ## How the input resolution changes it
#
# The box can be no finer than the map, and our map is 16 x 16 for a 64 x 64 image: each
# cell covers 4 x 4 pixels. The paper got finer maps by cutting layers off its networks.
# GAP offers another lever: a GAP network accepts **any input size**, so an image
# upsampled to 96 or 128 pixels gives a 24 x 24 or 32 x 32 map of the same scene. Does the
# finer map give better boxes?
#
# `all_class_maps(images, size)` upsamples the test images with `F.interpolate`, computes
# the maps of all five classes, and stretches each map back to the original 64 x 64, so
# the boxes live in the original pixels and compare with the same true boxes. The largest
# input takes the CPU a while, so we use the first 200 test images at every size (the same
# ones for each), at the paper's threshold and at the one chosen on validation.

# %%
def boxes_at_size(images, labels, truth, size, thresholds):
    """Classification accuracy and box accuracies (predicted and true class, per threshold) at one input size."""
    logits, maps, side = all_class_maps(images, size)
    pred = logits.argmax(1)
    out = {"classification": (pred == labels).float().mean().item(), "map": side}
    for t in thresholds:
        for name, cls in (("predicted", pred), ("true", labels)):
            out[name, t] = camlib.box_accuracy(boxes_of(maps, cls, t), truth)
    return out


n_sub = 200
sizes = [64, 96, 128]
by_size = {s: boxes_at_size(test_images[:n_sub], test_labels[:n_sub], test_boxes[:n_sub], s, [0.2, best_t])
           for s in sizes}
print(f"{'input':>6s} {'map':>6s} {'classif.':>9s} | box accuracy: pred 0.2, pred {best_t:.2f}, true 0.2, true {best_t:.2f}")
for s, r in by_size.items():
    print(f"{s:6d} {r['map']:3d}x{r['map']:<2d} {pct(r['classification']):>9s} | "
          + ", ".join(pct(r[c, t]) for c in ("predicted", "true") for t in (0.2, best_t)))
settings = [(c, t) for c in ("predicted", "true") for t in (0.2, best_t)]
for c, t in settings:
    print(f"{c} class, threshold {t:.2f}: best boxes at {max(sizes, key=lambda s: by_size[s][c, t])} px")
c, t, s = max(((c, t, s) for c, t in settings for s in sizes), key=lambda k: by_size[k[2]][k[0], k[1]])
print(f"best of all: {pct(by_size[s][c, t])}, {c} class, threshold {t:.2f}, input {s} px")

# %% mystnb={"image": {"alt": "Two line plots against input size: localization accuracy for the predicted and the true class at two thresholds, and classification accuracy"}}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
for (c, t), style in zip([("predicted", 0.2), ("predicted", best_t), ("true", 0.2), ("true", best_t)],
                         ["o-", "s-", "o--", "s--"]):
    axes[0].plot(sizes, [100 * by_size[s][c, t] for s in sizes], style, label=f"{c} class, threshold {t:.2f}")
axes[0].set_title("localization accuracy (IoU >= 0.5)")
axes[0].legend(fontsize=8)
axes[1].plot(sizes, [100 * by_size[s]["classification"] for s in sizes], "o-", color="black")
axes[1].set_title("classification accuracy")
for ax in axes:
    ax.set_xticks(sizes, [f"{s} px\n({by_size[s]['map']}x{by_size[s]['map']} map)" for s in sizes])
    ax.set_xlabel("input size")
    ax.set_ylim(0, 100)
axes[0].set_ylabel("%")
fig.tight_layout()
plt.show()

# %% [markdown]
# What the numbers say. Classification accuracy falls steeply as the input grows: the
# network learned its filters on objects of the sizes found in 64-pixel images, and an
# upsampled object is larger than anything it has seen. Boxes from the *predicted* class
# pay for that twice, since a wrong class's map points at the wrong evidence; boxes from
# the *true* class separate the two effects. The last lines say at which input size each
# setting gives its best boxes, and which setting is best of all. The lesson: a finer map
# is no better box by itself. It helps only if the features behind it still respond to the
# object, and the threshold chosen at one size need not suit another. The fair test of
# resolution trains the network at the larger size (exercise 3).
#
# ## Boxes on real photos
#
# The same rule on the pretrained EfficientNet-Lite0 of chapter 1. `camlib.localize`
# computes the map of the top class at 224 x 224, stretches it to the photo's own pixels,
# and boxes it at 20% of the maximum. These photos come without true boxes, so here we
# can only look.

# %%
weights = camlib.load_pretrained("efficientnet_lite0", device=device)
photos = camlib.sample_images()
found = {name: camlib.localize(weights, photo, topk=1, threshold=0.2)[0] for name, photo in photos.items()}
for name, loc in found.items():
    h, w = photos[name].shape[:2]
    print(f"{name:>10s}: {loc.label:<14s} {100 * loc.prob:5.1f} %  box {loc.box} "
          f"covers {area(loc.box) / (h * w):4.0%} of the {w} x {h} photo")

# %% mystnb={"image": {"alt": "The five sample photos with the heat map of their top class and the CAM box in green, each titled with the class and its probability"}}
fig, axes = plt.subplots(1, len(photos), figsize=(3 * len(photos), 3.4))
for ax, (name, loc) in zip(axes, found.items()):
    ax.imshow(camlib.overlay(photos[name], loc.cam, alpha=0.4))
    camlib.draw_box(ax, loc.box, color="lime", lw=2.5)
    ax.set_title(f"{loc.label} ({100 * loc.prob:.0f} %)", fontsize=10)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# In these photos the object fills much of the frame, and so does its box (the share of
# the photo each box covers is printed above). Where the evidence spreads over a large
# region, the box grows with it, up to the photo's edges. Without true boxes we cannot
# score these boxes, which is exactly why this chapter measured on synthetic images.

# %% [markdown]
# ## Exercises
#
# 1. **The box rule.** Write `cam_box(cam, threshold)` that takes one map as a numpy array
#    `[H, W]` and returns the paper's box `(x0, y0, x1, y1)` with exclusive ends: pixels
#    `>= threshold * max`, the largest 8-connected component, its bounding box. When two
#    components are equally large, the one holding the map's maximum wins; a map with no
#    positive value gives the whole image. Treat negative values as zero.

# %% tags=["solution", "hide-input"]
def cam_box(cam, threshold):
    cam = np.maximum(np.asarray(cam, dtype=np.float32), 0)
    h, w = cam.shape
    if cam.max() <= 0:
        return (0, 0, w, h)
    labels, n = ndimage.label(cam >= threshold * cam.max(), structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    peaks = ndimage.maximum(cam, labels, index=np.arange(1, n + 1))  # each component's highest value
    best = 1 + max(range(n), key=lambda k: (sizes[k], peaks[k]))  # largest; on a tie, the higher peak
    ys, xs = np.nonzero(labels == best)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


# %%
from camlib.exercises import check_box

check_box(cam_box)

# %% [markdown]
# 2. **IoU.** Write `box_iou(a, b)` for two boxes `(x0, y0, x1, y1)` with exclusive ends,
#    returning a float in [0, 1]. Boxes that only touch share no pixel.

# %% tags=["solution", "hide-input"]
def box_iou(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# %%
from camlib.exercises import check_iou

check_iou(box_iou)

# %% [markdown]
# 3. **Resolution, fairly.** Train a fresh `camlib.GAPNet(5)` on `book_split("train")`
#    upsampled to 96 pixels (`camlib.train`; it takes a few minutes on a CPU), choose its
#    threshold on the upsampled validation split, and measure its test localization
#    accuracy. Does a finer map help when the features were learned at that size?
# 4. **Beyond the largest blob.** The rule throws away every blob but the largest. On the
#    validation split, compare it with the box around *all* pixels above the threshold,
#    at each threshold. Which is better, and why might the paper have kept only the
#    largest component?
