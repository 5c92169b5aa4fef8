# %% [markdown]
# # 6. When the model is wrong
#
# An accuracy tells you *how often* a classifier fails, not *why*. The CAM paper presents
# the class activation map of a category as the discriminative image regions the network
# uses to identify that category (its Section 2), and says in its abstract that global
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
# * test a suspected cause (the miniature shapes in the clutter) by erasing it and
#   classifying again;
# * read the maps of a pretrained network's mistakes on real photos.

# %% tags=["colab-setup", "remove-cell"]
# Set-up: in Colab, install camlib and its dependencies; anywhere else this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "camlib @ git+https://github.com/camlib-book/cam-book"], check=True)

# %% [markdown]
# The usual start: the device chosen in one place, and a seed.

# %%
import matplotlib.pyplot as plt
import torch

import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: full float32, no TF32, so it prints the digits a CPU prints
_ = torch.manual_seed(0)

# %% [markdown]
# ## The model and the test images
#
# The GAPNet every chapter shares (trained on the training split and shipped with camlib,
# see chapter 2), and the 1000 test images with their true boxes and, this time, the
# masks of their objects (the exact pixels of each object, which the generator knows).

# %%
model = camlib.book_model("gapnet", device=device)

# %%
images, labels, boxes, objects = camlib.book_split("test", with_masks=True)
classes = camlib.CLASSES
num_classes = len(classes)
print("test images:", tuple(images.shape), "| object masks:", tuple(objects.shape), "| classes:", classes)

# %% [markdown]
# ## Every class's map for every test image
#
# One forward pass gives the logits and, through `camlib.CAM`, the maps of all five
# classes at once: asking for every class costs no more than asking for one.
# `camlib.cam_maps` does this for a whole set of images, batch by batch, and keeps the
# results on the CPU.

# %%
logits, maps = camlib.cam_maps(model, images, class_idx="all", batch_size=250)
probs = logits.softmax(dim=1)
pred = logits.argmax(dim=1)
print("logits:", tuple(logits.shape), "| maps:", tuple(maps.shape), "(images, classes, h, w)")

# %% [markdown]
# ## How many mistakes, and which
#
# A mistake is an image whose highest logit is not its label.

# %%
wrong = (pred != labels).nonzero().flatten()
print(f"accuracy: {100 * (pred == labels).float().mean():.1f} %")
print(f"misclassified: {len(wrong)} of {len(labels)} test images")

# %% [markdown]
# The confusion matrix counts, for every true class (row), how often each class was
# predicted (column). The diagonal holds the correct answers; everything off it is a
# mistake, and *which* cell it lands in says which classes the network mixes up.

# %%
confusion = torch.bincount(labels * num_classes + pred, minlength=num_classes ** 2).reshape(num_classes, num_classes)
print("true \\ predicted " + "".join(f"{c:>9s}" for c in classes))
for c, row in zip(classes, confusion):
    print(f"{c:>16s} " + "".join(f"{int(v):9d}" for v in row))
print("off-diagonal total:", int(confusion.sum() - confusion.trace()))

# %% [markdown]
# As a picture, with the colour on a logarithmic scale so that a single mistake is not
# lost next to the large counts on the diagonal (an empty cell stays white).

# %% mystnb={"image": {"alt": "The 5 by 5 confusion matrix of the GAPNet on the test split, true class in rows and predicted class in columns, each cell labelled with its count"}}
from matplotlib.colors import LogNorm

fig, ax = plt.subplots(figsize=(4.8, 4.2))
shown = confusion.float().masked_fill(confusion == 0, float("nan"))
ax.imshow(shown, cmap="Blues", norm=LogNorm(vmin=0.5, vmax=float(confusion.max())))
for t in range(num_classes):
    for p in range(num_classes):
        count = int(confusion[t, p])
        ax.text(p, t, str(count), ha="center", va="center", fontsize=10,
                color="white" if count > 50 else "black")
ax.set_xticks(range(num_classes), classes, rotation=30)
ax.set_yticks(range(num_classes), classes)
ax.set_xlabel("predicted")
ax.set_ylabel("true")
ax.set_title("Confusion matrix (test split)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The mistakes one by one
#
# For each misclassified image: its probabilities for the predicted class and for the
# true class, and the size of its object (the true box's area as a share of the image),
# since a small object is a common reason to miss. The last line compares the typical
# object size of the mistakes with that of the whole test split.

# %%
area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / (images.shape[-2] * images.shape[-1])
print(f"{'image':>6s} {'true':>9s} {'predicted':>10s} {'p(pred)':>8s} {'p(true)':>8s} {'box area':>9s}")
for i in wrong.tolist():
    print(f"{i:6d} {classes[labels[i]]:>9s} {classes[pred[i]]:>10s} {100 * probs[i, pred[i]]:7.1f}% "
          f"{100 * probs[i, labels[i]]:7.1f}% {100 * area[i]:8.1f}%")
print(f"median box area: misclassified {100 * area[wrong].median():.1f} % (of {len(wrong)} images), "
      f"all test images {100 * area.median():.1f} % (of {len(images)})")

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
up_pred = camlib.upsample(maps[everyone, pred], size)     # [N, 64, 64]: the predicted class's map
up_true = camlib.upsample(maps[everyone, labels], size)   # [N, 64, 64]: the true class's map


def peak_xy(up_maps):
    """[N, H, W] -> [N, 2]: (x, y) pixel of each map's maximum."""
    flat = up_maps.flatten(1).argmax(dim=1)
    return torch.stack([flat % up_maps.shape[-1], flat // up_maps.shape[-1]], dim=1)


pred_xy, true_xy = peak_xy(up_pred), peak_xy(up_true)
pred_peak_in = camlib.peak_in_box(up_pred, boxes)
true_peak_in = camlib.peak_in_box(up_true, boxes)
print(f"{'image':>6s}  {'wrong class: peak (x, y)':<34s}  {'true class: peak (x, y)':<32s}  box (x0, y0, x1, y1)")
for i in wrong.tolist():
    wx, wy = pred_xy[i].tolist()
    tx, ty = true_xy[i].tolist()
    print(f"{i:6d}  {classes[pred[i]]:>8s} ({wx:2d}, {wy:2d}) {'in box ' if pred_peak_in[i] else 'outside'} "
          f"max {up_pred[i].max():4.1f}  {classes[labels[i]]:>8s} ({tx:2d}, {ty:2d}) "
          f"{'in box ' if true_peak_in[i] else 'outside'} max {up_true[i].max():4.1f}  {tuple(boxes[i].tolist())}")

# %% [markdown]
# Now the pictures. Each mistake takes three panels: the image with its true box (green),
# the CAM of the class the network chose (wrong), and the CAM of the true class, each
# titled with its probability, with a white cross on the map's peak. All the maps share
# **one colour scale** (`camlib.viz.shared_vmax` gives its top, the largest value among
# them; the colour bar shows it in the maps' raw units), so a map that looks fainter *is*
# weaker: compare both *where* the two maps of an image look and how strongly.

# %% mystnb={"image": {"alt": "For each misclassified test image, three panels: the image with its green true box, the heat map of the wrongly predicted class, and the heat map of the true class, each titled with its probability, a white cross on each map's peak, all maps on one colour scale shown by a colour bar"}}
from camlib.viz import add_scale_bar, shared_vmax

shown_idx = wrong.tolist()
vmax = shared_vmax(torch.cat([maps[shown_idx, pred[shown_idx]], maps[shown_idx, labels[shown_idx]]]))
per_row = 2
n_rows = (len(shown_idx) + per_row - 1) // per_row
fig, axes = plt.subplots(n_rows, 3 * per_row, figsize=(13, 2.3 * n_rows), squeeze=False, layout="constrained")
for slot, i in enumerate(shown_idx):
    row, col = divmod(slot, per_row)
    ax_img, ax_pred, ax_true = axes[row, 3 * col:3 * col + 3]
    img = images[i].permute(1, 2, 0).numpy()
    t, p = int(labels[i]), int(pred[i])
    ax_img.imshow(img, interpolation="nearest")
    ax_img.set_title(f"#{i}: a {classes[t]}", fontsize=9)
    for ax, c, xy, colour, kind in [(ax_pred, p, pred_xy[i], "firebrick", "chosen"),
                                    (ax_true, t, true_xy[i], "darkgreen", "true")]:
        ax.imshow(camlib.overlay(img, maps[i, c], vmax=vmax))
        ax.plot(*xy.tolist(), marker="x", color="white", markersize=7, mew=2)
        ax.set_title(f"{kind}: {classes[c]} {100 * probs[i, c]:.0f}%", fontsize=9, color=colour)
    for ax in (ax_img, ax_pred, ax_true):
        camlib.draw_box(ax, boxes[i].tolist(), lw=1.2)
for ax in axes.flat:
    ax.axis("off")
add_scale_bar(fig, axes, vmax, label="raw map value (one scale for all maps)")
plt.show()

# %% [markdown]
# ### Three mistakes, read from their maps
#
# * **#661, a square called a triangle.** The true class's map (right) sits on the cyan
#   square, and on the shared scale it is the brighter of the two. The triangle's map
#   peaks outside the box, at the top of the image, on a small pink triangle: one of the
#   miniature shapes of the clutter, which the next section is about. The network did
#   find a triangle; it was not the object.
# * **#11, a cross called a triangle.** The cross's map is bright on the cross. The
#   triangle's map is faint everywhere; its peak lies just outside the box's upper-left
#   corner, where line segments of the clutter pass the cross's arm. Yet the triangle's
#   map has the slightly larger mean, and its larger bias supplies most of the margin (the
#   table below splits each logit into the two).
# * **#287, a disk called a square.** Both maps sit on the disk, the right object, and
#   the disk's map is the brighter one at its peak (the table above gives both maxima).
#   It still loses, narrowly. Where the maps look does not explain this mistake.
#
# The peak is not the score. For a GAP network the logit is the *mean* of the class's
# map plus the class's bias (chapter 3), so a map can be bright in one place and lose to
# a map that is moderate everywhere, and a class with a larger bias needs less evidence
# in the map. Here are both parts for every mistake:

# %%
bias = model.fc.bias.detach().cpu()
means = maps.mean(dim=(2, 3))  # [N, 5]: mean of each class's map; mean + bias = logit
print(f"{'image':>6s}  {'wrong class: mean + bias = logit':>39s}  {'true class: mean + bias = logit':>39s}")
for i in wrong.tolist():
    parts = [f"{classes[c]:>8s} {means[i, c]:5.2f} {bias[c]:+5.2f} = {logits[i, c]:5.2f}" for c in (pred[i], labels[i])]
    print(f"{i:6d}  {parts[0]:>39s}  {parts[1]:>39s}")
true_mean_larger = means[wrong, labels[wrong]] > means[wrong, pred[wrong]]
print(f"mistakes where the true class's map has the larger mean, and the bias decides: "
      f"{int(true_mean_larger.sum())} of {len(wrong)}: {wrong[true_mean_larger].tolist()}")

# %% [markdown]
# In the images of the last line, #287 and #661 among them, the true class's map holds
# more evidence on average than the wrong class's map, and the wrong class wins only by
# its bias, a constant that no map shows (#471 is a near tie: its two logits agree to
# the printed decimals). So read a mistake's maps for *where* each class's evidence
# lies, and its means and biases for *why* the wrong class won.

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
import numpy as np
from scipy import ndimage


def clutter_pixels(images, objects):
    """Flat-colour pixels outside the objects: bool [N, H, W] for the miniature shapes and for the lines.

    images [N, 3, H, W] as the generator made them, objects [N, H, W] bool masks.
    """
    same_x = (images[..., :, 1:] == images[..., :, :-1]).all(dim=1)   # [N, H, W-1]
    same_y = (images[..., 1:, :] == images[..., :-1, :]).all(dim=1)   # [N, H-1, W]
    flat = torch.zeros(objects.shape, dtype=torch.bool)
    flat[..., :, 1:] |= same_x
    flat[..., :, :-1] |= same_x
    flat[..., 1:, :] |= same_y
    flat[..., :-1, :] |= same_y
    clutter = flat & ~objects
    shapes = torch.from_numpy(ndimage.binary_opening(clutter.numpy(), structure=np.ones((1, 3, 3))))
    return shapes, clutter & ~shapes


minis, lines = clutter_pixels(images, objects)
print(f"share of the image's pixels: miniature shapes {100 * minis.float().mean():.1f} %, "
      f"lines {100 * lines.float().mean():.1f} %, object {100 * objects.float().mean():.1f} % "
      f"(means over {len(images)} images)")

# %% [markdown]
# Is the wrong class's peak on a miniature shape? For each mistake, the distance from the
# peak to the nearest miniature-shape pixel (0 means on it; one cell of the 16 x 16 map
# is 4 pixels wide):

# %%
near_mini = torch.zeros(len(images), dtype=torch.bool)
for i in wrong.tolist():
    distance = ndimage.distance_transform_edt(~minis[i].numpy())
    wx, wy = pred_xy[i].tolist()
    near_mini[i] = bool(distance[wy, wx] <= 4)
    print(f"#{i:4d} {classes[labels[i]]:>9s} -> {classes[pred[i]]:<9s} wrong class's peak "
          f"{'in the box' if pred_peak_in[i] else 'outside the box'}, "
          f"{distance[wy, wx]:4.1f} px from the nearest miniature shape")
print(f"peaks within 4 px of a miniature shape: {int(near_mini[wrong].sum())} of {len(wrong)} mistakes; "
      f"of those outside the box: {int(near_mini[wrong][~pred_peak_in[wrong]].sum())} "
      f"of {int((~pred_peak_in[wrong]).sum())}")

# %% [markdown]
# A peak next to a miniature shape is a hint, not a proof. The test is to remove the
# suspect and ask the network again. We erase the miniature shapes, or the lines, or all
# the clutter, by filling their pixels with the background around them (a Gaussian-weighted
# mean of the untouched pixels nearby), and classify all 1000 test images once more.

# %%
def erase(images, region, sigma=3.0):
    """Fill the pixels of region [N, H, W] with a Gaussian-weighted mean of the others: [N, 3, H, W]."""
    keep = (~region).float().unsqueeze(1)
    smooth = (0, 0, sigma, sigma)
    num = torch.from_numpy(ndimage.gaussian_filter((images * keep).numpy(), sigma=smooth))
    den = torch.from_numpy(ndimage.gaussian_filter(keep.numpy(), sigma=smooth))
    return torch.where(region.unsqueeze(1), num / den.clamp(min=1e-6), images)


erased = {"miniature shapes": erase(images, minis), "lines": erase(images, lines),
          "all clutter": erase(images, minis | lines)}
before = set(wrong.tolist())
print(f"{'erased':>17s}  {'accuracy':>8s}  {'mistakes fixed':>14s}  {'still wrong':>11s}  {'new mistakes':>12s}")
print(f"{'nothing':>17s}  {100 * (pred == labels).float().mean():7.1f}%  {'':>14s}  {len(before):11d}  {'':>12s}")
after = {}
for name, x in erased.items():
    new_pred = camlib.predict(model, x)
    after[name] = set((new_pred != labels).nonzero().flatten().tolist())
    print(f"{name:>17s}  {100 * (new_pred == labels).float().mean():7.1f}%  "
          f"{len(before - after[name]):7d} of {len(before):2d}  {len(before & after[name]):11d}  "
          f"{len(after[name] - before):12d}")
for name in erased:
    print(f"fixed when erasing {name}: {sorted(before - after[name])}")

# %% [markdown]
# Read the table with its counts: a dozen mistakes among 1000 images, so each mistake is
# one twelfth of them. Erasing the miniature shapes fixes #509 and #661, the
# two mistakes whose wrong peak lay *on* a miniature shape, and #68, whose peak lay next
# to one. Erasing the lines fixes more of the mistakes than erasing the shapes, #11 among
# them. Erasing all the clutter fixes most of them; the ones it leaves include #60 and
# #354, large triangles that the network calls squares on a clean background too: misread
# shapes, not distractors.
#
# Two cautions. Erasing the miniature shapes also fixed #287 and #471, whose maps peak on
# the object, far from any miniature shape: they were so close to the boundary (see their
# probabilities) that any change to the picture can tip them. The same closeness explains
# the new mistakes in the last column: the network was trained on cluttered images only,
# and a smoothed background is new to it, so borderline images tip both ways. Erasing
# the miniature shapes alone changes about as many answers each way (compare its "fixed"
# and "new mistakes" columns), so on its own it cannot separate their effect from that
# churn; the evidence against them is the mistakes whose wrong peak lay on a shape. The
# miniature shapes cause some of the mistakes, not most of them; the lines matter at least
# as much, and the rest are misread objects.
#
# Before and after, for every mistake (the second row is titled with the new prediction,
# green when it is right):

# %% mystnb={"image": {"alt": "Each misclassified test image before and after its clutter is erased, the second row titled with the new prediction"}}
fig, axes = plt.subplots(2, len(shown_idx), figsize=(1.3 * len(shown_idx), 3.2))
x_clean = erased["all clutter"]
clean_pred = camlib.predict(model, x_clean[shown_idx])
for j, i in enumerate(shown_idx):
    axes[0, j].imshow(images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
    axes[0, j].set_title(f"#{i}: {classes[pred[i]]}", fontsize=8, color="firebrick")
    axes[1, j].imshow(x_clean[i].permute(1, 2, 0).numpy(), interpolation="nearest")
    ok = bool(clean_pred[j] == labels[i])
    axes[1, j].set_title(classes[clean_pred[j]], fontsize=8, color="darkgreen" if ok else "firebrick")
for ax in axes.flat:
    ax.axis("off")
axes[0, 0].text(-8, 32, "as drawn", rotation=90, va="center", ha="right", fontsize=9)
axes[1, 0].text(-8, 32, "clutter erased", rotation=90, va="center", ha="right", fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Does the winning evidence sit on the object?
#
# We can ask the first question of every test image at once, with the peaks computed
# above: does the predicted class's peak lie inside the true box? For the mistakes we ask
# the same of the true class's map.

# %%
right = pred == labels
n_right, n_wrong = int(right.sum()), len(wrong)


def count(flags):
    """'k of n (p %)' for a bool tensor."""
    return f"{int(flags.sum())} of {len(flags)} ({100 * flags.float().mean():.1f} %)"


print(f"chance (a peak at a random pixel): {100 * area.mean():.1f} % (mean box area of {len(images)} images)")
print(f"correct images, predicted class's peak in the box:        {count(pred_peak_in[right])}")
print(f"misclassified, predicted (wrong) class's peak in the box: {count(pred_peak_in[wrong])}")
print(f"misclassified, true class's peak in the box:              {count(true_peak_in[wrong])}")

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
photos = camlib.sample_images()
for word in ("motorcycle", "dahlia"):
    print(f"a category with {word!r} in its name among the {len(pretrained.categories)}:",
          any(word in c for c in pretrained.categories))
results = {}
with camlib.CAM(pretrained.model) as cam:
    for name in ("motorcycle", "flower"):
        x = pretrained.preprocess(photos[name]).unsqueeze(0).to(device)
        results[name] = cam(x, topk=4)
        top = ", ".join(f"{pretrained.categories[c]} {100 * p:.1f} %"
                        for c, p in zip(results[name].class_idx[0].tolist(), results[name].probs[0].tolist()))
        print(f"{name:>10s}: {top}")

# %% [markdown]
# ImageNet's 1000 categories have no motorcycle and no dahlia (the flower photo shows an
# orange ball-shaped flower, by its look a dahlia). The network answers with the nearest
# category it knows: "moped" for the motorcycle, "daisy" for the flower. So each answer is
# wrong for the photo, and no category is entirely right; the other top classes show
# what else the network considers. For each photo, the maps of its top four classes on
# **one shared colour scale** (`camlib.show_cams(..., shared_scale=True)`), and where each
# map peaks, as a share of the photo's width and height:

# %%
def peak_position(cam_map):
    """[h, w] map -> (x, y) of its maximum cell's centre, as shares of the width and height."""
    h, w = cam_map.shape
    y, x = divmod(int(cam_map.argmax()), w)
    return (x + 0.5) / w, (y + 0.5) / h


for name, res in results.items():
    for c, m in zip(res.class_idx[0].tolist(), res.maps[0].cpu()):
        px, py = peak_position(m)
        print(f"{name:>10s} {pretrained.categories[c]:>18s}: peak at x {100 * px:3.0f} %, y {100 * py:3.0f} % "
              f"of the photo, maximum {m.max():5.1f}, mean {m.mean():5.2f}")

# %% mystnb={"image": {"alt": "The motorcycle photo and the maps of its top four ImageNet classes, moped first, on one shared colour scale with a colour bar"}}
res = results["motorcycle"]
titles = [f"{pretrained.categories[c]} {100 * p:.1f}%" for c, p in zip(res.class_idx[0].tolist(), res.probs[0].tolist())]
fig = camlib.show_cams(photos["motorcycle"], list(res.maps[0].cpu()), titles, shared_scale=True)
plt.show()

# %% mystnb={"image": {"alt": "The flower photo and the maps of its top four ImageNet classes, daisy first, on one shared colour scale with a colour bar"}}
res = results["flower"]
titles = [f"{pretrained.categories[c]} {100 * p:.1f}%" for c, p in zip(res.class_idx[0].tolist(), res.probs[0].tolist())]
fig = camlib.show_cams(photos["flower"], list(res.maps[0].cpu()), titles, shared_scale=True)
plt.show()

# %% [markdown]
# On the shared scales:
#
# * **The motorcycle.** The maps of all four classes lie on the motorcycle's body, tank
#   and engine, and the map of "moped" is the strongest there; "moped", "motor scooter"
#   and "crash helmet" peak in the same cell (the printed positions). Even "disk brake",
#   a part that is in the photo (on the front wheel, at the right), peaks on the engine
#   rather than on the wheel. The network looked at the right object; its mistake is the
#   name, because the category the photo needs is not among its 1000.
# * **The flower.** All four maps peak in the same cell, on the blossom, and
#   "daisy" is the strongest. "Mushroom" and "hen-of-the-woods" (a fungus) light up the
#   same round, many-layered blossom: the network sees a round layered object and offers
#   the nearest categories it has.
#
# When the maps of the predicted class and of its rivals cover the same pixels, as here,
# CAM tells you the network looked at the right object, and the mistake lies in what it
# knows (its categories, its features), not in where it looked. Compare #661 above, where
# the wrong class's map pointed at a different object than the true class's.

# %% [markdown]
# ## Summary
#
# A classifier's mistakes are few and specific: the confusion matrix says which classes
# it mixes up, and the maps of the wrong and the true class, drawn on one shared colour
# scale, say where each class's evidence lies. For the GAPNet, some wrong classes find
# their evidence off the object, on the clutter's miniature shapes or lines; erasing all
# the clutter fixes most of the mistakes and creates fewer new ones than it fixes, while
# erasing the miniature shapes alone tips about as many borderline images each way. Other mistakes are misread objects: both maps sit on the object, and the score,
# the mean of the map plus a bias, decides narrowly, sometimes by the bias alone. The
# pretrained network's mistakes on the photos are of a third kind: every rival class
# looks at the right object, and the error lies in the names it knows. A map shows
# *where*, never *why*; an experiment such as erasing the suspect answers the why.
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
#    position of a map's peak? What does the "new mistakes" column warn about?
# 7. Why are the pretrained network's answers "moped" and "daisy" wrong, and what do the
#    maps of its rival classes show about where it looked?
# 8. When a percentage is taken over 12 mistakes, why should the count be printed with it?

# %% [markdown]
# ## Exercises
#
# 1. **Find the mistakes.** Write `misclassified(logits, labels)` that takes logits
#    `[N, C]` and labels `[N]` and returns the indices of the misclassified images, in
#    ascending order (an empty tensor when there are none).

# %% tags=["solution", "hide-input"]
def misclassified(logits, labels):
    return (logits.argmax(dim=1) != labels).nonzero().flatten()


# %%
from cambook.exercises import check_misclassified

check_misclassified(misclassified)

# %% [markdown]
# Your function on this chapter's own data:

# %%
print("same as this chapter's list:", torch.equal(misclassified(logits, labels), wrong))

# %% [markdown]
# 2. **Near misses.** Among the *correctly* classified test images, find the ten with the
#    smallest gap between the top two probabilities, and draw the maps of their top two
#    classes as above. Do the near misses look like the mistakes (same class pairs, same
#    kind of distractor)?
# 3. **Make it fail.** Take a correctly classified test image and paste into a corner the
#    object of another test image of a different class (copy the pixels inside its box).
#    Does the prediction change? Where do the two classes' maps look now? How large must
#    the pasted object be to win?

# %% [markdown]
# 4. **Near misses, found.** Write `near_misses(logits, labels, k)`: among the *correctly*
#    classified images, the indices of the k with the smallest gap between their two largest
#    softmax probabilities, smallest gap first (fewer if fewer are correct). Exercise 2 draws
#    their maps.

# %% tags=["solution", "hide-input"]
def near_misses(logits, labels, k):
    top2 = logits.softmax(dim=1).topk(2, dim=1).values
    gap = top2[:, 0] - top2[:, 1]
    right = (logits.argmax(dim=1) == labels).nonzero().flatten()
    return right[gap[right].argsort(stable=True)][:k]


# %%
from cambook.exercises import check_near_misses

check_near_misses(near_misses)
