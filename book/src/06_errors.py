# %% [markdown]
# # 6. When the model is wrong
#
# An accuracy tells you *how often* a classifier fails, not *why*. The CAM paper closes
# with this point: because every class has its own map, we can look at a mistake and ask
# where the evidence for the wrong answer came from. Did the network look at the object
# and misread its shape, or did something else in the picture (a distractor, clutter)
# pull it away?
#
# This chapter takes the book's GAPNet, finds the test images it gets wrong, and puts the
# map of the wrong class next to the map of the true class for each of them. Then it
# measures, over all test images, whether the winning class's evidence sits on the object.

# %% tags=["colab-setup"]
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
# see chapter 2), and the 1000 test images with their true boxes.

# %%
model = camlib.book_model("gapnet", device=device)

# %%
images, labels, boxes = camlib.book_split("test")
classes = camlib.CLASSES
num_classes = len(classes)
print("test images:", tuple(images.shape), "| classes:", classes)

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
print(f"median box area: misclassified {100 * area[wrong].median():.1f} %, "
      f"all test images {100 * area.median():.1f} %")

# %% [markdown]
# Now the pictures. Each mistake takes three panels: the image with its true box (green),
# the CAM of the class the network chose (wrong), and the CAM of the true class, each
# titled with its probability. Every map is scaled by its own maximum, so compare *where*
# the two maps look, not how bright they are; the probabilities say how strong each case
# was. The green box is drawn on the maps too.

# %% mystnb={"image": {"alt": "For each misclassified test image, three panels: the image with its green true box, the heat map of the wrongly predicted class, and the heat map of the true class, each titled with its probability"}}
shown_idx = wrong[:12].tolist()
per_row = 2
n_rows = (len(shown_idx) + per_row - 1) // per_row
fig, axes = plt.subplots(n_rows, 3 * per_row, figsize=(12, 2.3 * n_rows), squeeze=False)
for slot, i in enumerate(shown_idx):
    row, col = divmod(slot, per_row)
    ax_img, ax_pred, ax_true = axes[row, 3 * col:3 * col + 3]
    img = images[i].permute(1, 2, 0).numpy()
    t, p = int(labels[i]), int(pred[i])
    ax_img.imshow(img, interpolation="nearest")
    ax_img.set_title(f"#{i}: a {classes[t]}", fontsize=9)
    ax_pred.imshow(camlib.overlay(img, maps[i, p]))
    ax_pred.set_title(f"chosen: {classes[p]} {100 * probs[i, p]:.0f}%", fontsize=9, color="firebrick")
    ax_true.imshow(camlib.overlay(img, maps[i, t]))
    ax_true.set_title(f"true: {classes[t]} {100 * probs[i, t]:.0f}%", fontsize=9, color="darkgreen")
    for ax in (ax_img, ax_pred, ax_true):
        camlib.draw_box(ax, boxes[i].tolist(), lw=1.2)
for ax in axes.flat:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# How to read these panels, image by image:
#
# * **Where is the chosen (wrong) class's red?** If it sits *outside* the green box, on
#   a blob or a line of the background, a distractor won: the network found something
#   that looks like the wrong class elsewhere and trusted it more than the object.
# * If it sits *on* the object, the network looked at the right place and misread the
#   shape: check whether the object is small, cut by a line of clutter, or close in colour
#   to its background, and which part of it the map lights up (a triangle's corner can
#   look like a square's).
# * **Compare with the true class's map.** If the true class's evidence is also on the
#   object, the two classes competed for the same pixels and the probabilities above tell
#   by how much the wrong one won.
#
# The maps do not say *why* a feature fired, only *where*; but "where" is often enough to
# tell a clutter problem (more varied backgrounds in training) from a shape problem (more,
# or smaller, objects of the confused classes).
#
# ## Does the winning evidence sit on the object?
#
# We can ask the first question of every test image at once. For each image we take the
# map of the predicted class, upsample it to 64 x 64, find its peak, and check whether the
# peak lies inside the true box. For the mistakes we ask the same of the true class's map.

# %%
size = tuple(images.shape[-2:])


def peak_in_box(class_maps, boxes):
    """class_maps [N, h, w] -> bool [N]: is the maximum of the upsampled map inside the box?"""
    return camlib.peak_in_box(camlib.upsample(class_maps, size), boxes)


everyone = torch.arange(len(images))
pred_peak_in = peak_in_box(maps[everyone, pred], boxes)
true_peak_in = peak_in_box(maps[everyone, labels], boxes)
right = pred == labels
print(f"chance (a peak at a random pixel): {100 * area.mean():.1f} % (mean box area)")
print(f"correct images, predicted class's peak in the box:        "
      f"{100 * pred_peak_in[right].float().mean():5.1f} % of {int(right.sum())}")
print(f"misclassified, predicted (wrong) class's peak in the box: "
      f"{100 * pred_peak_in[wrong].float().mean():5.1f} % of {len(wrong)}")
print(f"misclassified, true class's peak in the box:              "
      f"{100 * true_peak_in[wrong].float().mean():5.1f} % of {len(wrong)}")

# %% [markdown]
# The first line is the baseline: a map that looked nowhere in particular would hit the
# box about that often. Compare the second line with it, then the third: with only a few
# mistakes, each one moves the percentage a lot, so read it together with the count.
#
# Per mistake, the same test sorts the errors into the two kinds of the reading guide:

# %%
for i in wrong.tolist():
    kind = "on the object (a misread shape)" if pred_peak_in[i] else "off the object (a distractor or clutter)"
    print(f"#{i:4d} {classes[labels[i]]:>9s} -> {classes[pred[i]]:<9s} wrong class's peak {kind}; "
          f"true class's peak {'in' if true_peak_in[i] else 'outside'} the box")

# %% [markdown]
# A peak is a blunt test: a map can peak on a distractor and still cover the object, or
# peak just outside a small object's box. Use it to sort the mistakes, and the pictures
# above to understand them.

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
from camlib.exercises import check_misclassified

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
