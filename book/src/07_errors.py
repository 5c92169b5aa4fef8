# %% [markdown]
# # 7. When the model is wrong
#
# An accuracy tells you *how often* a classifier fails, not *why*. The CAM paper presents
# the class activation map of a category as the discriminative image regions the network
# uses to identify that category (its Section 2), and says in its CVPR abstract that global
# average pooling builds a representation that "exposes the implicit attention of CNNs
# on an image". Because every class has its own map, we can take a mistake and ask where
# the evidence for the wrong answer came from. Did the network look at the object and
# misread its shape, or did something else in the picture (a distractor, clutter) pull it
# away? Reading a network's mistakes this way is this chapter's use of the maps.
#
# This chapter takes the book's GAPNet, finds the test images it gets wrong, and puts the
# map of the wrong class next to the map of the true class for each of them. It then
# tests one suspect the data generator plants in every image, and ends with the
# pretrained ImageNet network's mistakes on real photos.
#
# In this chapter you will:
#
# * list a classifier's mistakes and its confusion matrix;
# * compare the maps of the wrong and the true class of a mistake on **one shared colour
#   scale**, and read from them where each class's evidence lies;
# * test a suspected cause (the clutter drawn into every image) by erasing it and
#   classifying again, beside a control edit of the same size;
# * read the maps of a pretrained network's mistakes on real photos.

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
from matplotlib.colors import LogNorm
from matplotlib_inline.backend_inline import set_matplotlib_formats
from scipy import ndimage

import cambook
import camlib
from cambook.plots import matrix_heatmap

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
set_matplotlib_formats("jpeg", pil_kwargs={"quality": 90})  # photos: JPEG stays small
_ = torch.manual_seed(0)

# %% [markdown]
# ## The model and the test images
#
# The GAPNet every chapter shares (trained on the training split and shipped with cambook,
# see chapter 2), and the 1000 test images with their true boxes and, this time, the
# masks of their objects (the exact pixels of each object, which the generator knows).

# %%
model = cambook.book_model("gapnet", device=device)

# %%
images, labels, boxes, objects = cambook.book_split("test", with_masks=True)
classes = camlib.CLASSES
num_classes = len(classes)
print("test images:", tuple(images.shape), "| object masks:", tuple(objects.shape))
print("classes:", classes)

# %% [markdown]
# ## Every class's map for every test image
#
# One forward pass gives the logits and, through `camlib.CAM`, the maps of all five
# classes at once: asking for every class costs no more than asking for one.
# `camlib.cam_maps` does this for a whole set of images, batch by batch, and keeps the
# results on the CPU.

# %%
result = camlib.cam_maps(model, images, class_idx="all", batch_size=250)
logits, maps = result.logits, result.maps
probs = logits.softmax(dim=1)
pred = logits.argmax(dim=1)
print("logits:", tuple(logits.shape), "| maps:", tuple(maps.shape),
      "(images, classes, h, w)")

# %% [markdown]
# ## How many mistakes, and which
#
# A mistake is an image whose highest logit is not its label.

# %%
wrong = (pred != labels).nonzero().flatten()
print(f"accuracy: {(pred == labels).float().mean():.1%}")
print(f"misclassified: {len(wrong)} of {len(labels)} test images")

# %% [markdown]
# The confusion matrix counts, for every true class (row), how often each class was
# predicted (column). The diagonal holds the correct answers; everything off it is a
# mistake, and *which* cell it lands in says which classes the network mixes up.

# %%
confusion = torch.bincount(labels * num_classes + pred, minlength=num_classes ** 2)
confusion = confusion.reshape(num_classes, num_classes)
print("off-diagonal total:", int(confusion.sum() - confusion.trace()))

# %% [markdown]
# The colour is on a logarithmic scale, so that a single mistake is not lost next to the
# large counts on the diagonal (an empty cell stays white).

# %% tags=["hide-input"] mystnb={"image": {"alt": "The 5 by 5 confusion matrix of the GAPNet on the test split, true class in rows and predicted class in columns, each cell labelled with its count"}}
fig, ax = plt.subplots(figsize=(4.8, 4.2))
shown = confusion.float().masked_fill(confusion == 0, float("nan"))
matrix_heatmap(shown, classes, ax=ax, cmap="Blues", fmt="{:.0f}",
               norm=LogNorm(vmin=0.5, vmax=float(confusion.max())),
               title=f"Confusion matrix ({len(labels)} test images)")
ax.set_xlabel("predicted")
ax.set_ylabel("true")
plt.show()

# %% [markdown]
# ## The mistakes one by one
#
# For each misclassified image: its probabilities for the predicted class and for the
# true class, and the size of its object (the true box's area as a share of the image),
# since a small object is a common reason to miss.

# %%
area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / images[0, 0].numel()

# %% tags=["hide-input"]
rows = pd.Index(wrong.tolist(), name="image")
pd.DataFrame({"true": [classes[labels[i]] for i in wrong],
              "predicted": [classes[pred[i]] for i in wrong],
              "p(predicted) (%)": (100 * probs[wrong, pred[wrong]]).tolist(),
              "p(true) (%)": (100 * probs[wrong, labels[wrong]]).tolist(),
              "box area (%)": (100 * area[wrong]).tolist()}, index=rows).round(1)

# %%
print(f"median box area: misclassified {area[wrong].median():.1%} "
      f"(of {len(wrong)} images), all {area.median():.1%} (of {len(images)})")

# %% [markdown]
# ## Where each class's evidence lies
#
# For every mistake we locate the peak of the wrong class's map and of the true class's
# map (upsampled to the 64 x 64 image), say whether it falls inside the true box, and give
# each map's maximum. The maps are raw class activation maps (chapter 3): the same units
# for both classes of an image, so their maxima can be compared directly.

# %%
size = tuple(images.shape[-2:])
everyone = torch.arange(len(images))
up_pred = camlib.upsample(maps[everyone, pred], size)  # [N, 64, 64]: predicted class
up_true = camlib.upsample(maps[everyone, labels], size)  # [N, 64, 64]: true class


def peak_xy(up_maps):
    """[N, H, W] -> [N, 2]: (x, y) pixel of each map's maximum."""
    flat = up_maps.flatten(1).argmax(dim=1)
    return torch.stack([flat % up_maps.shape[-1], flat // up_maps.shape[-1]], dim=1)


pred_xy, true_xy = peak_xy(up_pred), peak_xy(up_true)
pred_peak_in = camlib.peak_in_box(up_pred, boxes)
true_peak_in = camlib.peak_in_box(up_true, boxes)

# %% tags=["hide-input"]
def peaks(kind, cls, xy, inside, up):
    """The columns of one class's map: its class, peak, whether in the box, maximum."""
    return {(kind, "class"): [classes[cls[i]] for i in wrong],
            (kind, "peak (x, y)"): [tuple(xy[i].tolist()) for i in wrong],
            (kind, "in box"): inside[wrong].tolist(),
            (kind, "max"): up[wrong].amax(dim=(1, 2)).tolist()}


pd.DataFrame({**peaks("wrong class's map", pred, pred_xy, pred_peak_in, up_pred),
              **peaks("true class's map", labels, true_xy, true_peak_in, up_true)},
             index=rows).round(1)

# %% [markdown]
# Now the pictures. Each mistake takes three panels: the image with its true box (green),
# the CAM of the class the network chose (wrong), and the CAM of the true class, each
# titled with its probability, with a white cross on the map's peak. The two maps of one
# mistake share **one colour scale**, from 0 to the larger of their two maxima (the
# colour bar beside them, in the maps' raw units), so that within a mistake a map that
# looks fainter *is* weaker. Each mistake has its own scale, so that every map is
# readable; compare strengths within a mistake, not across mistakes.

# %% tags=["hide-input"] mystnb={"image": {"alt": "For each misclassified test image, three panels: the image with its green true box, the heat map of the wrongly predicted class, and the heat map of the true class, each titled with its probability and with a white cross on its peak; the two maps of each mistake share a colour scale shown by a colour bar beside them"}}
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

per_row = 2
n_rows = (len(wrong) + per_row - 1) // per_row
fig, axes = plt.subplots(n_rows, 3 * per_row, figsize=(10, 1.85 * n_rows), dpi=80,
                         squeeze=False, layout="constrained")
for slot, i in enumerate(wrong.tolist()):
    row, col = divmod(slot, per_row)
    ax_img, ax_pred, ax_true = axes[row, 3 * col:3 * col + 3]
    img = images[i].permute(1, 2, 0).numpy()
    t, p = int(labels[i]), int(pred[i])
    vmax = camlib.viz.shared_vmax([maps[i, p], maps[i, t]])  # one scale per mistake
    ax_img.imshow(img, interpolation="nearest")
    ax_img.set_title(f"#{i}: a {classes[t]}", fontsize=9)
    for ax, c, xy, colour, kind in [(ax_pred, p, pred_xy[i], "firebrick", "chosen"),
                                    (ax_true, t, true_xy[i], "darkgreen", "true")]:
        ax.imshow(camlib.overlay(img, maps[i, c], vmax=vmax))
        ax.plot(*xy.tolist(), marker="x", color="white", markersize=7, mew=2)
        ax.set_title(f"{kind}: {classes[c]} {100 * probs[i, c]:.0f}%", fontsize=9,
                     color=colour)
    for ax in (ax_img, ax_pred, ax_true):
        camlib.draw_box(ax, boxes[i].tolist(), lw=1.2)
    bar = fig.colorbar(ScalarMappable(Normalize(0, vmax), cmap="jet"),
                       ax=[ax_pred, ax_true], shrink=0.85, pad=0.01, aspect=12)
    bar.ax.tick_params(labelsize=7)
for ax in axes.flat:
    ax.axis("off")
plt.show()

# %% [markdown]
# ### Three mistakes, read from their maps
#
# * **#661, a square called a triangle.** The true class's map sits on the cyan square,
#   and it has the larger maximum of the two (the table). The triangle's map peaks
#   outside the box, at the top of the image, on a small pink triangle: one of the
#   miniature shapes of the clutter, which the next section is about. The network did
#   find a triangle; it was not the object.
# * **#11, a cross called a triangle.** The cross's map is bright on the cross. The
#   triangle's map is faint everywhere; its peak lies just outside the box's upper-left
#   corner, where line segments of the clutter pass the cross's arm. Yet the triangle's
#   map has the slightly larger mean, and its larger bias supplies most of the margin (the
#   table below splits each logit into the two).
# * **#287, a disk called a square.** Both maps sit on the disk, the right object, and
#   the disk's map is the brighter one at its peak (the table gives both maxima). It still
#   loses, narrowly. Where the maps look does not explain this mistake.
#
# The peak is not the score. For a GAP network the logit is the *mean* of the class's
# map plus the class's bias (chapter 3), so a map can be bright in one place and lose to
# a map that is moderate everywhere, and a class with a larger bias needs less evidence
# in the map. Here are both parts for every mistake:

# %%
bias = model.fc.bias.detach().cpu()
means = maps.mean(dim=(2, 3))  # [N, 5]: mean of each class's map; mean + bias = logit
parts = {}
for kind, cls in [("wrong class", pred[wrong]), ("true class", labels[wrong])]:
    parts[kind, "mean of map"] = means[wrong, cls].tolist()
    parts[kind, "+ bias"] = bias[cls].tolist()
    parts[kind, "= logit"] = logits[wrong, cls].tolist()
pd.DataFrame(parts, index=rows).round(2)

# %%
true_mean_larger = means[wrong, labels[wrong]] > means[wrong, pred[wrong]]
decided = wrong[true_mean_larger].tolist()
print("the true class's map has the larger mean, and the bias decides:")
print(f"{len(decided)} of {len(wrong)} mistakes: {decided}")

# %% [markdown]
# In the images of the last line, #287 and #661 among them, the true class's map holds
# more evidence on average than the wrong class's map, and the wrong class wins only by
# its bias, a constant that no map shows (#471 is a near tie: its two logits agree to the
# printed decimals). So read a mistake's maps for *where* each class's evidence lies,
# and its means and biases for *why* the wrong class won.

# %% [markdown]
# ## The miniature shapes in the clutter
#
# The generator does not only draw lines into the background. Look at `_clutter` in
# `camlib/data.py`: besides 3 to 6 thin line segments, it draws 3 to 6 **small blobs, each
# one of the five class shapes** (a disk, square, triangle, cross or ring of "radius" 2 to
# 6 pixels, in a random colour), before it draws the object (radius 7.7 to 19.2 pixels).
# Every image carries a few miniature disks, squares and triangles that the network must
# learn to ignore. They are an obvious suspect for a mistake, so we test it.
#
# The generator does not return where it put them, but we can find them: the clutter is
# painted in flat colours (every pixel of a blob or a line has exactly the same colour),
# while the background has pixel noise. So a pixel whose colour equals a neighbour's
# exactly, outside the object's mask, is clutter. Miniature shapes are at least 4 pixels
# across and lines at most about 2.4 pixels wide, so a morphological *opening* with a
# 3 x 3 square keeps the miniature shapes and drops the lines. The split is approximate:
# thin rings and cross arms of the smallest blobs count as lines, and two lines crossing
# at a shallow angle as a blob.

# %%
def clutter_pixels(images, objects):
    """Flat-colour pixels outside the objects, bool [N, H, W]: miniature shapes, lines.

    images [N, 3, H, W] as the generator made them, objects [N, H, W] bool masks.
    """
    same_x = (images[..., :, 1:] == images[..., :, :-1]).all(dim=1)  # [N, H, W-1]
    same_y = (images[..., 1:, :] == images[..., :-1, :]).all(dim=1)  # [N, H-1, W]
    flat = torch.zeros(objects.shape, dtype=torch.bool)
    flat[..., :, 1:] |= same_x
    flat[..., :, :-1] |= same_x
    flat[..., 1:, :] |= same_y
    flat[..., :-1, :] |= same_y
    clutter = flat & ~objects
    opened = ndimage.binary_opening(clutter.numpy(), structure=np.ones((1, 3, 3)))
    shapes = torch.from_numpy(opened)
    return shapes, clutter & ~shapes


minis, lines = clutter_pixels(images, objects)
print(f"share of the pixels: miniature shapes {minis.float().mean():.1%}, "
      f"lines {lines.float().mean():.1%}, object {objects.float().mean():.1%}")
print(f"(means over {len(images)} images)")

# %% [markdown]
# Is the wrong class's peak on a miniature shape? For each mistake, the distance from the
# peak to the nearest miniature-shape pixel (0 means on it; one cell of the 16 x 16 map
# is 4 pixels wide):

# %%
distance = torch.tensor([float(ndimage.distance_transform_edt(~minis[i].numpy())
                               [pred_xy[i, 1], pred_xy[i, 0]]) for i in wrong])
near_mini = distance <= 4

# %% tags=["hide-input"]
pd.DataFrame({"true": [classes[labels[i]] for i in wrong],
              "predicted": [classes[pred[i]] for i in wrong],
              "wrong peak in box": pred_peak_in[wrong].tolist(),
              "px to nearest miniature shape": distance.tolist()}, index=rows).round(1)

# %%
outside = ~pred_peak_in[wrong]
print(f"wrong peaks within 4 px of a miniature shape: {int(near_mini.sum())} "
      f"of {len(wrong)}; of the {int(outside.sum())} outside the box: "
      f"{int(near_mini[outside].sum())}")

# %% [markdown]
# A peak next to a miniature shape is a hint, not a proof. The test is to remove the
# suspect and ask the network again. We erase the miniature shapes, or the lines, or all
# the clutter, by filling their pixels with the background around them (a
# Gaussian-weighted mean of the untouched pixels nearby), and classify all 1000 test
# images once more.
#
# Any edit to a picture also tips some borderline images either way, whether it removes a
# distractor or not. To know how much, we need a **control**: an edit of the same kind
# that removes nothing suspect. We erase, in each image, the clutter pixels of *another*
# test image (drawn at random; its shapes and lines, where this image has only
# background), three times with three different draws. Where the two images' clutter or
# objects overlap the control erases nothing, so it is a little smaller than the real
# edit; the table gives both sizes.

# %%
def erase(images, region, sigma=3.0):
    """Fill the pixels of region [N, H, W] with a Gaussian-weighted mean of the rest."""
    keep = (~region).float().unsqueeze(1)
    smooth = (0, 0, sigma, sigma)
    kept = (images * keep).numpy()
    num = torch.from_numpy(ndimage.gaussian_filter(kept, sigma=smooth))
    den = torch.from_numpy(ndimage.gaussian_filter(keep.numpy(), sigma=smooth))
    return torch.where(region.unsqueeze(1), num / den.clamp(min=1e-6), images)


# %%
before = set(wrong.tolist())


def churn(region):
    """Mistakes fixed and new mistakes after erasing region [N, H, W]."""
    after = camlib.predict(model, erase(images, region)) != labels
    after = set(after.nonzero().flatten().tolist())
    return sorted(before - after), sorted(after - before)


clutter = minis | lines
suspects = {"miniature shapes": minis, "lines": lines, "all clutter": clutter}
erased = {name: churn(region) for name, region in suspects.items()}
controls = {name: [] for name in suspects}
control_size = {name: [] for name in suspects}
for seed in range(3):
    other = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    for name, region in suspects.items():
        elsewhere = region[other] & ~objects & ~clutter
        controls[name].append(churn(elsewhere))
        control_size[name].append(100 * elsewhere.float().mean().item())

# %% tags=["hide-input"]
pd.DataFrame({
    f"fixed (of {len(before)})": [len(erased[n][0]) for n in suspects],
    "new mistakes": [len(erased[n][1]) for n in suspects],
    "pixels erased (%)": [100 * suspects[n].float().mean().item() for n in suspects],
    "control: fixed": [np.mean([len(f) for f, _ in controls[n]]) for n in suspects],
    "control: new": [np.mean([len(m) for _, m in controls[n]]) for n in suspects],
    "control: pixels (%)": [np.mean(control_size[n]) for n in suspects],
}, index=pd.Index(list(suspects), name="erased")).round(1)

# %%
for name, (fixed, new) in erased.items():
    print(f"erasing {name}: fixed {fixed}")

# %% [markdown]
# Read the table with its counts: a dozen mistakes among 1000 images, and the control
# columns are means over three draws. Each of the three erasures fixes more mistakes than
# its control, and erasing all the clutter creates fewer new mistakes than its control:
# the clutter, shapes and lines together, causes most of these mistakes. Erasing the
# miniature shapes fixes #509 and #661, the two mistakes whose wrong peak lay *on* a
# miniature shape, and #68, whose peak lay next to one; erasing the lines fixes #11, whose
# triangle map peaked where lines pass the cross. Erasing all the clutter leaves three
# wrong, among them #60 and #354, large triangles that the network calls squares on a
# clean background too: misread shapes, not distractors.
#
# What the counts cannot do is rank the two kinds of clutter. Erasing the shapes alone or
# the lines alone fixes more mistakes than its control, but also creates about as many
# new ones as it fixes, a few more than its control: with twelve mistakes, the difference
# between the two kinds is within the churn that any edit causes. #287 and #471, whose maps peak on the object far from any
# miniature shape, are fixed by erasing the shapes too: they were so close to the boundary
# (see their probabilities) that any change to the picture can tip them.
#
# Before and after, for every mistake (the second row is titled with the new prediction,
# green when it is right):

# %% tags=["hide-input"] mystnb={"image": {"alt": "Each misclassified test image before and after its clutter is erased, the second row titled with the new prediction"}}
shown_idx = wrong.tolist()
fig, axes = plt.subplots(2, len(shown_idx), figsize=(1.1 * len(shown_idx), 2.9))
x_clean = erase(images[shown_idx], clutter[shown_idx])
clean_pred = camlib.predict(model, x_clean)
for j, i in enumerate(shown_idx):
    axes[0, j].imshow(images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
    axes[0, j].set_title(f"#{i}: {classes[pred[i]]}", fontsize=8, color="firebrick")
    axes[1, j].imshow(x_clean[j].permute(1, 2, 0).numpy(), interpolation="nearest")
    ok = bool(clean_pred[j] == labels[i])
    axes[1, j].set_title(classes[clean_pred[j]], fontsize=8,
                         color="darkgreen" if ok else "firebrick")
for ax in axes.flat:
    ax.axis("off")
axes[0, 0].text(-8, 32, "as drawn", rotation=90, va="center", ha="right", fontsize=9)
axes[1, 0].text(-8, 32, "clutter erased", rotation=90, va="center", ha="right",
                fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Does the winning evidence sit on the object?
#
# We can ask whether the peak falls in the true box for every test image at once, with
# the peaks computed above: does the predicted class's peak lie inside the true box? For the mistakes we ask
# the same of the true class's map.

# %%
right = pred == labels


def count(flags):
    """'k of n (p %)' for a bool tensor."""
    return f"{int(flags.sum())} of {len(flags)} ({flags.float().mean():.1%})"


print(f"chance (a peak at a random pixel): {area.mean():.1%} "
      f"(mean box area of {len(images)} images)")
print("correct images, predicted class's peak in the box:", count(pred_peak_in[right]))
print("misclassified, wrong class's peak in the box:     ", count(pred_peak_in[wrong]))
print("misclassified, true class's peak in the box:      ", count(true_peak_in[wrong]))

# %% [markdown]
# The first line is the baseline: a map that looked nowhere in particular would hit the
# box about that often. Compare the second line with it, then the third: with only a
# dozen mistakes, each one moves the percentage by several points, so read the counts.
#
# A peak is a blunt test: a map can peak on a distractor and still cover the object, or
# peak just outside a small object's box. Use it to sort the mistakes, and the pictures
# above to understand them.
#
# ## Real mistakes of a real network
#
# The synthetic shapes have a right answer for every image. The pretrained ImageNet
# network (EfficientNet-Lite0, chapters 1 and 4) makes a different kind of mistake on two
# of the book's photos: the motorcycle and the flower.

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
categories = pretrained.categories
photos = cambook.sample_images()
for word in ("motorcycle", "dahlia"):
    print(f"a category with {word!r} in its name among the {len(categories)}:",
          any(word in c for c in categories))

# %%
def peak_position(cam_map):
    """[h, w] map -> (x, y) of its maximum cell's centre, as shares of width, height."""
    h, w = cam_map.shape
    y, x = divmod(int(cam_map.argmax()), w)
    return (x + 0.5) / w, (y + 0.5) / h


found, table = {}, []
with camlib.CAM(pretrained.model) as cam:
    for name in ("motorcycle", "flower"):
        x = pretrained.preprocess(photos[name]).unsqueeze(0).to(device)
        found[name] = r = cam(x, topk=4)
        for c, p, m in zip(r.class_idx[0], r.probs[0].tolist(), r.maps[0].cpu()):
            px, py = peak_position(m)
            table.append({"photo": name, "class": categories[c],
                          "probability (%)": 100 * p, "peak x (% of width)": 100 * px,
                          "peak y (% of height)": 100 * py, "max": m.max().item(),
                          "mean": m.mean().item()})
pd.DataFrame(table).set_index(["photo", "class"]).round(1)

# %% [markdown]
# ImageNet's 1000 categories have no motorcycle and no dahlia (the flower photo shows an
# orange ball-shaped flower, by its look a dahlia). The network answers with the nearest
# category it knows: "moped" for the motorcycle, "daisy" for the flower. So each answer is
# wrong for the photo, and no category is entirely right; the other top classes show
# what else the network considers. The table gives each photo's top four classes and
# where each map peaks, as a share of the photo's width and height. The maps, on **one
# shared colour scale** per photo (`camlib.show_cams(..., shared_scale=True)`):

# %% tags=["hide-input"] mystnb={"image": {"alt": "Two rows: the motorcycle photo and the maps of its top four ImageNet classes, moped first, then the flower photo and the maps of its top four classes, daisy first, each row on one shared colour scale with a colour bar"}}
for name, r in found.items():
    titles = [f"{categories[c]} {100 * p:.1f}%"
              for c, p in zip(r.class_idx[0].tolist(), r.probs[0].tolist())]
    fig = camlib.show_cams(photos[name], list(r.maps[0].cpu()), titles,
                           shared_scale=True, panel_inches=2.2)
    plt.show()

# %% [markdown]
# On the shared scales:
#
# * **The motorcycle.** The maps of all four classes lie on the motorcycle's body, tank
#   and engine, and the map of "moped" is the strongest there; "moped", "motor scooter"
#   and "crash helmet" peak in the same cell (the table's positions). Even "disk brake",
#   a part that is in the photo (on the front wheel, at the right), peaks on the engine
#   rather than on the wheel. The network looked at the right object; its mistake is the
#   name, because the category the photo needs is not among its 1000.
# * **The flower.** All four maps peak in the same cell, on the blossom, and "daisy" is
#   the strongest. "Mushroom" and "hen-of-the-woods" (a fungus) light up the same round,
#   many-layered blossom: the network sees a round layered object and offers the nearest
#   categories it has.
#
# When the maps of the predicted class and of its rivals cover the same pixels, as here,
# CAM tells you the network looked at the right object, and the mistake lies in what it
# knows (its categories, its features), not in where it looked. Compare #661 above, where
# the wrong class's map pointed at a different object than the true class's.

# %% [markdown]
# ## Summary
#
# A classifier's mistakes are few and specific: the confusion matrix says which classes
# it mixes up, and the maps of the wrong and the true class, drawn on one colour scale,
# say where each class's evidence lies. For the GAPNet, some wrong classes find their
# evidence off the object, on the clutter's miniature shapes or lines; erasing the
# clutter fixes most of the mistakes and more than a control edit of the same size does,
# though with twelve mistakes the counts cannot say whether the shapes or the lines
# matter more. Other mistakes are misread objects: both maps sit on the object, and the
# score, the mean of the map plus a bias, decides narrowly, sometimes by the bias alone.
# The pretrained network's mistakes on the photos are of a third kind: every rival class
# looks at the right object, and the error lies in the names it knows. A map shows
# *where*, never *why*; an experiment such as erasing the suspect, beside a control,
# answers the why.
#
# ## Questionnaire
#
# 1. What does a confusion matrix count, and what does an off-diagonal cell tell you?
# 2. Why must the maps of two classes be drawn on one shared colour scale to be compared?
#    What can a map that is scaled by its own maximum hide?
# 3. For a GAP network, which two numbers make a class's logit from its map? Why can a
#    class whose map has the higher peak still lose?
# 4. What do the miniature shapes in the synthetic clutter look like, and why are they a
#    natural suspect for the GAPNet's mistakes?
# 5. How does the chapter find the clutter pixels without the generator's help, and how
#    does it separate miniature shapes from lines?
# 6. Why is erasing a suspect region and classifying again stronger evidence than the
#    position of a map's peak? What is the control for, and what did it show?
# 7. Why are the pretrained network's answers "moped" and "daisy" wrong, and what do the
#    maps of its rival classes show about where it looked?
# 8. When a percentage is taken over 12 mistakes, why should the count be printed with it?

# %% [markdown]
# ## Exercises
#
# 1. **Missed at k.** The CAM paper reports top-5 errors: an image counts as wrong only
#    when its true class is not among the five most likely. Write
#    `missed_at_k(logits, labels, k)` that takes logits `[N, C]`, labels `[N]` and `k`,
#    and returns the indices of the images whose true class is not among their k most
#    likely classes, in ascending order (an empty tensor when there are none). With
#    `k=1` these are this chapter's mistakes.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def missed_at_k(logits, labels, k):
    own = logits.gather(1, labels[:, None])  # [N, 1]: the true class's score
    rank = 1 + (logits > own).sum(dim=1)  # 1 for the most likely class
    return (rank > k).nonzero().flatten()


# %%
from cambook.exercises import check_missed_at_k

check_missed_at_k(missed_at_k)

# %% [markdown]
# Your function on this chapter's own data:

# %%
same = torch.equal(missed_at_k(logits, labels, 1), wrong)
print("k=1, same as this chapter's list:", same)
print("missed at k=2:", missed_at_k(logits, labels, 2).tolist())

# %% [markdown]
# 2. **Near misses, found.** Write `near_misses(logits, labels, k)`: among the *correctly*
#    classified images, the indices of the k with the smallest gap between their two
#    largest softmax probabilities, smallest gap first (fewer if fewer are correct).

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def near_misses(logits, labels, k):
    top2 = logits.softmax(dim=1).topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    right = (logits.argmax(dim=1) == labels).nonzero().flatten()
    return right[gap[right].argsort(stable=True)][:k]


# %%
from cambook.exercises import check_near_misses

check_near_misses(near_misses)

# %% [markdown]
# 3. **Near misses, seen.** Draw the maps of the top two classes of the ten near misses of
#    the test split (your `near_misses`), each pair on its own colour scale as above. Do
#    the near misses look like the mistakes (the same class pairs, the same kind of
#    distractor)?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "Ten correctly classified test images that were nearly wrong, each with the maps of its two most likely classes on a shared colour scale"}}
close = near_misses(logits, labels, 10).tolist()
for i in close:
    runner_up = classes[logits[i].topk(2).indices[1]]
    print(f"#{i}: a {classes[labels[i]]}, nearly a {runner_up}")
fig, axes = plt.subplots(2, 15, figsize=(13, 2.4), dpi=80)
for slot, i in enumerate(close):
    ax_img, ax_a, ax_b = axes.flat[3 * slot:3 * slot + 3]
    first, second = logits[i].topk(2).indices.tolist()
    vmax = camlib.viz.shared_vmax([maps[i, first], maps[i, second]])
    img = images[i].permute(1, 2, 0).numpy()
    ax_img.imshow(img)
    ax_img.set_title(f"#{i}", fontsize=8)
    for ax, c in [(ax_a, first), (ax_b, second)]:
        ax.imshow(camlib.overlay(img, maps[i, c], vmax=vmax))
        ax.set_title(classes[c], fontsize=8)
for ax in axes.flat:
    ax.axis("off")
plt.show()

# %% [markdown]
# 4. **Make it fail.** Take a correctly classified test image and paste into a corner the
#    object of another test image of a different class (copy the pixels inside its box).
#    Does the prediction change? Where do the two classes' maps look now?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "A test image before and after another image's object is pasted into its corner, with the maps of the two classes after the paste"}}
host = int(right.nonzero()[0])
donor = int(next(i for i in right.nonzero().flatten().tolist()
                 if labels[i] != labels[host]))
x0, y0, x1, y1 = boxes[donor].tolist()
pasted = images[host].clone()
pasted[:, :y1 - y0, :x1 - x0] = images[donor, :, y0:y1, x0:x1]  # top-left corner
with camlib.CAM(model) as cam:
    two = cam(pasted[None].to(device), class_idx=torch.tensor([[labels[host],
                                                                   labels[donor]]]))
print(f"#{host} ({classes[labels[host]]}) with #{donor}'s {classes[labels[donor]]} "
      f"pasted: predicted {classes[two.logits[0].argmax()]}")
vmax = camlib.viz.shared_vmax(two.maps[0])
fig, axes = plt.subplots(1, 3, figsize=(6.6, 2.4))
axes[0].imshow(pasted.permute(1, 2, 0).numpy())
for ax, m, c in zip(axes[1:], two.maps[0].cpu(), two.class_idx[0].tolist()):
    ax.imshow(camlib.overlay(pasted.permute(1, 2, 0).numpy(), m, vmax=vmax))
    ax.set_title(classes[c], fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()
