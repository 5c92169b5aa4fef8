# %% [markdown]
# # 2. Global average pooling versus flatten
#
# A convolutional trunk turns an image into a stack of feature maps: `n_ch` channels, each
# an `H x W` grid. Before a linear classifier can score the classes, that stack must
# become a vector. There are two classic ways to do it:
#
# * **flatten**: line up all `n_ch x H x W` numbers, and give the classifier one weight
#   per number, that is one weight per channel *and per position*;
# * **global average pooling (GAP)**: average each channel over all positions, and give
#   the classifier one weight per channel.
#
# The CAM paper builds on the second. This chapter trains both heads on the same trunk,
# side by side, and compares what they cost, how well they classify, and what they keep:
# GAP's one-weight-per-channel is exactly what lets us draw a class activation map.
#
# In this chapter you will:
#
# * count the parameters of a flatten head and of a GAP head, by formula and on the modules;
# * watch a network train, and load the book's shipped networks, which print the same
#   numbers on every machine;
# * compare the two heads' accuracy, and see the flatten head's template per position;
# * see why a flatten head fits one input size while a GAP head fits any;
# * derive why GAP makes the class activation map possible, and draw the maps.

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
import pandas as pd
import torch

import cambook
import camlib

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
_ = torch.manual_seed(0)

# %% [markdown]
# ## The data
#
# The book's synthetic dataset draws one object (a disk, a square, a triangle, a cross or
# a ring) per 64 x 64 image, at a random place, size, angle and colour, on a cluttered
# background of colour gradients, noise, line segments and small blobs. The task is to
# name the object. `camlib.book_split` returns the same standard splits in every chapter.

# %%
train_images, train_labels, train_boxes = cambook.book_split("train")
test_images, test_labels, test_boxes = cambook.book_split("test")
print("train:", tuple(train_images.shape), "| test:", tuple(test_images.shape))
print("classes:", camlib.CLASSES)
print("train images per class:", torch.bincount(train_labels).tolist())

# %% [markdown]
# Ten training images with their labels. The green box is the object's true box: the
# dataset knows it because it drew the object, but training never sees it. The boxes are
# only there to *measure* where a map looks, later on.

# %% tags=["hide-input"] mystnb={"image": {"alt": "Ten synthetic training images in two rows, each a coloured shape on a cluttered background, titled with its class and with a green box around the object"}}
fig, axes = plt.subplots(2, 5, figsize=(9, 4.2))
for ax, img, label, box in zip(axes.flat, train_images, train_labels, train_boxes):
    ax.imshow(img.permute(1, 2, 0), interpolation="nearest")
    camlib.draw_box(ax, box.tolist(), lw=1.5)
    ax.set_title(camlib.CLASSES[label], fontsize=10)
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## One trunk, two heads
#
# `camlib.GAPNet` and `camlib.FlattenNet` share the same trunk (`.features`: three stages
# of 3 x 3 convolutions with two 2 x 2 max-pools), built from the same seed, so they even
# start from the same trunk weights. Only the last layer, `.fc`, differs.

# %%
num_classes = len(camlib.CLASSES)
gap_net = camlib.GAPNet(num_classes)
flat_net = camlib.FlattenNet(num_classes)

trunks = zip(gap_net.features.state_dict().values(),
             flat_net.features.state_dict().values())
print("same initial trunk:", all(torch.equal(a, b) for a, b in trunks))
with torch.no_grad():
    feats = gap_net.eval().features(train_images[:1])
n_ch, H, W = feats.shape[1:]
print("feature maps of one 64 x 64 image:", tuple(feats.shape), "(batch, n_ch, H, W)")
print("GAPNet head:", gap_net.pool, gap_net.fc, sep="\n  ")
print("FlattenNet head:", flat_net.flatten, flat_net.fc, sep="\n  ")

# %% [markdown]
# ## What each head costs
#
# A `Linear` layer with `in_features` inputs and `out_features` outputs has
# `in_features x out_features` weights and `out_features` biases. The flatten head's
# input is every number of the feature stack, the GAP head's input is one average per
# channel:
#
# * flatten: `n_ch x H x W x classes + classes`
# * GAP: `n_ch x classes + classes`
#
# We count the parameters of the actual modules with `camlib.count_params` and check them
# against these formulas.

# %%
formulas = {"GAPNet": n_ch * num_classes + num_classes,
            "FlattenNet": n_ch * H * W * num_classes + num_classes}
params = pd.DataFrame({
    name: {"trunk": camlib.count_params(net.features),
           "head (fc)": camlib.count_params(net.fc), "head by formula": formulas[name]}
    for name, net in [("GAPNet", gap_net), ("FlattenNet", flat_net)]}).T
total = params["trunk"] + params["head (fc)"]
params["head share (%)"] = (100 * params["head (fc)"] / total).round(1)
params

# %%
ratio = params.loc["FlattenNet", "head (fc)"] / params.loc["GAPNet", "head (fc)"]
print(f"the flatten head has {ratio:.0f} times the GAP head's parameters "
      f"(H x W = {H * W})")

# %% [markdown]
# The same numbers as bars, on a logarithmic scale (each grid line is ten times the one
# below). The trunks are identical; the heads are not.

# %% tags=["hide-input"] mystnb={"image": {"alt": "Bar chart on a log scale of the trunk and head parameter counts of GAPNet and FlattenNet: equal trunks, and a flatten head far larger than the GAP head"}}
fig, ax = plt.subplots(figsize=(6, 3.6))
xs = torch.arange(len(params)).float()
bar_columns = [(-0.2, "trunk", "tab:gray"), (0.2, "head (fc)", "tab:orange")]
for offset, column, colour in bar_columns:
    values = params[column].astype(int).tolist()
    bars = ax.bar(xs + offset, values, width=0.4, label=column, color=colour)
    ax.bar_label(bars, labels=[f"{v:,d}" for v in values], fontsize=9)
ax.set_xticks(xs, list(params.index))
ax.set_yscale("log")
ax.set_ylim(10, 100 * params[["trunk", "head (fc)"]].to_numpy().max())
ax.set_ylabel("parameters (log scale)")
ax.legend(loc="upper center", ncol=2)
ax.set_title("Same trunk, two heads")
plt.show()

# %% [markdown]
# ## Training, watched
#
# Both networks are trained with the same loop, `camlib.train`: AdamW, a one-cycle
# learning rate, mini-batches in a seeded random order, and random flips as the only
# augmentation. Here is a fresh GAPNet training on a small budget, so that you can watch
# the loss fall: three epochs on the first 1000 training images (the book's networks had
# eight epochs on all 3000; the bar shows the loss after each epoch):

# %% tags=["nbval-ignore-output"] nbval={"ignore-output": "a fresh training run: its progress bar, its timing and the last digits of its losses differ per machine"}
fresh = camlib.GAPNet(num_classes)
losses = camlib.train(fresh, train_images[:1000], train_labels[:1000], epochs=3,
                      device=device)
print("loss per epoch:", [round(loss, 2) for loss in losses])

# %% [markdown]
# Training is seeded, so the same machine gives the same network on every run. But another
# processor (one with other vector instructions) or a GPU rounds differently, trains a
# slightly different network, and every number derived from it moves: which test images
# are wrong, box accuracies, chosen thresholds. So the networks the rest of the book builds
# on were trained once, for the full 8 epochs, by `tools/train_book_models.py`, and ship
# inside the book's companion package, cambook, with a SHA-256 that is checked when they
# load. `cambook.book_model` loads them; with `retrain=True`, or the environment variable
# `CAMLIB_RETRAIN=1`, it trains them on your machine instead, and says so.

# %%
gap_net = cambook.book_model("gapnet", device=device)
flat_net = cambook.book_model("flattennet", device=device)

# %% [markdown]
# The network you just watched, next to the shipped GAPNet, trained on eight times as many
# image presentations (its number is your machine's, so nbval does not check it):

# %% tags=["nbval-ignore-output"] nbval={"ignore-output": "the fresh network's accuracy is this machine's: another CPU or a GPU trains a slightly different one"}
for name, net in [("fresh GAPNet, 3 x 1000", fresh),
                  ("shipped GAPNet, 8 x 3000", gap_net)]:
    accuracy = camlib.evaluate(net, test_images, test_labels)
    print(f"{name:>24s} images: test accuracy {accuracy:.1%}")

# %% [markdown]
# The short run is far behind the shipped network, though well above the 20 % of
# guessing one class in five, and its loss was still falling when the budget ran out:
# three epochs on a third of the images are not enough for this task.
#
# The shipped networks' accuracy on images they have seen (the first 1000 training
# images, enough for a percentage to one decimal) and on the 1000 test images, which
# they have not:

# %%
def accuracies(net):
    test_pred = camlib.predict(net, test_images)
    return {"train (%)": 100 * camlib.evaluate(net, train_images[:1000],
                                               train_labels[:1000]),
            "test (%)": 100 * (test_pred == test_labels).float().mean().item(),
            "test images wrong": int((test_pred != test_labels).sum())}


table = {"GAPNet": accuracies(gap_net), "FlattenNet": accuracies(flat_net)}
pd.DataFrame.from_dict(table, orient="index").round(1)

# %% [markdown]
# Compare the two rows: the flatten head's extra parameters do not buy a better
# classifier here. Compare also each network's training and test accuracy: a large gap
# would mean memorised training images, a low training accuracy a task that is hard to
# learn at all with this head. The FlattenNet is behind the GAPNet on both: it fits its
# training images less well, and does worse still on the test images. A flatten head
# must learn what a disk looks like *separately at every position* of the 16 x 16 grid, from only those training images
# whose object happened to be there. The GAP head learns it once per channel, for every
# position at the same time.
#
# The paper reports the other side of the trade on ImageNet: it removed the fully connected
# layers of AlexNet, VGGnet and GoogLeNet (and, for a finer last feature map, the layers
# after conv5, after conv5-3 and after inception4e), added a 3 x 3 convolutional layer, GAP
# and one linear softmax layer, and found "in most cases ... a small
# performance drop of 1-2 %" in classification (Section 3.2 and Table 1 of the paper;
# AlexNet suffered most, so the paper added two convolutional layers to it): a price it
# pays for maps that localize.
#
# ## What the flatten head keeps: a template per position
#
# The flatten head's weight matrix is `[classes, n_ch x H x W]`. Reshaped, the row of one
# class is a stack of `n_ch` little `H x W` images: for every channel, a weight *for each
# position*. Here are the four channels that weigh most (largest sum of squared weights)
# for "disk".

# %%
cls = camlib.CLASSES.index("disk")
templates = flat_net.fc.weight.detach().cpu().reshape(num_classes, n_ch, H, W)[cls]
strongest = templates.pow(2).sum(dim=(1, 2)).topk(4).indices
print("flatten weights of one class, reshaped:", tuple(templates.shape), "(n_ch, H, W)")
for k in strongest.tolist():
    t = templates[k]
    print(f"channel {k:2d}: weights from {t.min():+.3f} to {t.max():+.3f}, "
          f"positive at {int((t > 0).sum()):3d} of {H * W} positions")

# %% [markdown]
# The printout shows that one channel's weight for "disk" is not one number: it varies
# from position to position, and can even change sign. As pictures (red positive, blue
# negative, one colour scale per panel):

# %% tags=["hide-input"] mystnb={"image": {"alt": "Four 16 by 16 weight templates of the flatten head for the class disk, one per channel, in red and blue: the weight of each channel changes from position to position"}}
fig, axes = plt.subplots(1, 4, figsize=(9.5, 2.7), layout="constrained")
for ax, k in zip(axes, strongest.tolist()):
    lim = templates[k].abs().max()
    im = ax.imshow(templates[k], cmap="RdBu_r", vmin=-lim, vmax=lim,
                   interpolation="nearest")
    ax.set_title(f"channel {k}", fontsize=10)
    ax.axis("off")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
fig.suptitle("FlattenNet: weights for 'disk', one template per channel", fontsize=11)
plt.show()

# %% [markdown]
# The GAP head has no such templates. Its weight matrix is `[classes, n_ch]`: one number
# per class and channel, the same wherever in the image the channel fires. All of it fits
# in one small picture.

# %%
gap_weights = gap_net.fc.weight.detach().cpu()
print("GAP head weights:", tuple(gap_weights.shape), "(classes, n_ch)")

# %% tags=["hide-input"] mystnb={"image": {"alt": "Heat map of the GAP head's weight matrix, 5 classes by 64 channels, one number per class and channel, in red and blue"}}
lim = gap_weights.abs().max()
fig, ax = plt.subplots(figsize=(9.5, 2.2))
im = ax.imshow(gap_weights, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto",
               interpolation="nearest")
ax.set_yticks(range(num_classes), camlib.CLASSES)
ax.set_xlabel("channel")
ax.set_title("GAPNet: one weight per class and channel")
fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01)
plt.show()

# %% [markdown]
# ## The flatten head fits one input size
#
# The flatten head's `in_features` is `n_ch x 16 x 16`, fixed when the network is built.
# A 96 x 96 image gives 24 x 24 feature maps, which flatten to a vector of the wrong
# length. `FlattenNet` refuses it; `GAPNet` averages whatever grid it gets and still has
# `n_ch` numbers to classify.

# %%
big_images, big_labels, big_boxes = camlib.synthetic(200, seed=3, size=96)
x_big = big_images[:1].to(device)
try:
    flat_net(x_big)
except ValueError as err:
    print("FlattenNet:", err)
with torch.no_grad():
    print("GAPNet feature maps:", tuple(gap_net.features(x_big).shape),
          "-> logits", tuple(gap_net(x_big).shape))
big_accuracy = camlib.evaluate(gap_net, big_images, big_labels)
print(f"GAPNet accuracy on {len(big_labels)} new 96 x 96 images: {big_accuracy:.1%}")

# %% [markdown]
# The GAPNet was trained on 64 x 64 images only; the accuracy above measures how well what
# it learned carries over to a larger canvas (where the objects are larger in pixels too).
#
# ## Why GAP makes CAM possible
#
# With GAP, the score (logit) of class $c$ is
#
# $$
# \text{logit}_c = \sum_k w_{c,k} \, \frac{1}{HW} \sum_{x,y} f_k(x, y) + b_c
#              = \frac{1}{HW} \sum_{x,y} \underbrace{\sum_k w_{c,k} f_k(x, y)}_{M_c(x, y)} + b_c .
# $$
#
# Because the weight $w_{c,k}$ is the same at every position, it can move inside the
# average, and what is averaged, $M_c(x, y)$, is a map over the image: the class
# activation map. Each channel's map is weighted by how much that channel counts for
# class $c$, and the map's average (plus the bias) *is* the score. The flatten head has no
# single $w_{c,k}$ to move anywhere.
#
# We check the identity on a few test images, then draw the maps. `camlib.CAM` hooks the
# trunk's output and does the weighted sum.

# %%
picks = torch.arange(6)
x = test_images[picks].to(device)
with camlib.CAM(gap_net) as cam:
    result = cam(x, topk=1)
top = result.class_idx[:, 0]  # each image's predicted class
from_maps = result.maps[:, 0].mean(dim=(1, 2)) + gap_net.fc.bias[top]
logits = result.logits.gather(1, result.class_idx)[:, 0]
print("maps:", tuple(result.maps.shape), "(images, classes, H, W)")
print("logit == mean(map) + bias:", torch.allclose(logits, from_maps, atol=1e-4))

# %% [markdown]
# Top: six test images with their true boxes (green). Bottom: the CAM of the class each
# image is predicted to be, upsampled to 64 x 64 and laid over the image (red: strongest
# evidence), titled with the predicted class and its probability.

# %% tags=["hide-input"] mystnb={"image": {"alt": "Six test images with green true boxes in the top row; below each, the class activation map of its predicted class laid over it as a heat map, titled with the class and probability"}}
fig, axes = plt.subplots(2, len(picks), figsize=(10.5, 4.2))
for j, i in enumerate(picks.tolist()):
    img = test_images[i].permute(1, 2, 0).numpy()
    axes[0, j].imshow(img, interpolation="nearest")
    camlib.draw_box(axes[0, j], test_boxes[i].tolist(), lw=1.5)
    axes[0, j].set_title(f"true: {camlib.CLASSES[test_labels[i]]}", fontsize=9)
    axes[1, j].imshow(camlib.overlay(img, result.maps[j, 0].cpu()))
    c, p = int(result.class_idx[j, 0]), float(result.probs[j, 0])
    axes[1, j].set_title(f"{camlib.CLASSES[c]} {100 * p:.1f}%", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
fig.tight_layout()
plt.show()

# %% [markdown]
# The GAPNet was trained on class labels only, yet the evidence for the predicted class
# can be read off as a map: compare where the red sits with the green boxes above it.
# Chapter 3 takes the computation apart; chapter 5 turns these maps into boxes and
# measures how often they hit the true box.

# %% [markdown]
# ## Summary
#
# A flatten head gives the classifier one weight per channel *and position*,
# `n_ch x H x W` per class; a GAP head averages each channel first and keeps one weight per
# channel, `n_ch` per class, shared by every position. On the book's data the much smaller
# GAP head classifies better than the flatten head (98.8 % against 87.2 % of the test
# images), and it accepts any input size,
# while the flatten head learns a separate template for every position and fits one size.
# Because GAP's weight is the same everywhere, it can move inside the average: the class
# score is the mean of a map, $M_c = \sum_k w_{c,k} f_k$, plus the bias, and that map is
# the class activation map. The networks the book builds on are trained once and shipped,
# so that every reader sees the same numbers; `CAMLIB_RETRAIN=1` retrains them on yours.
#
# ## Questionnaire
#
# 1. How many weights per class does a flatten head have on `n_ch` feature maps of
#    `H x W`, and how many does a GAP head have?
# 2. What does a flatten head's weight for one channel look like when reshaped, and why
#    can it change sign from position to position?
# 3. Why does a flatten head accept only one input size, while a GAP head accepts any?
# 4. Why might a flatten head with far more parameters classify no better than a GAP head?
# 5. What did the paper find its GAP networks cost in classification on ImageNet?
# 6. Write the logit of a GAP network as the mean of a map. Which property of the GAP head
#    lets the weight move inside the average?
# 7. Why does the book ship its trained networks instead of training them on every
#    reader's machine, and how do you retrain them on yours?

# %% [markdown]
# ## Exercises
#
# 1. **Count the heads, with hidden layers.** AlexNet and VGG do not flatten straight
#    into the classes: their heads are several `Linear` layers (VGG-16's are 4096 and
#    4096 wide), which the CAM paper removed. Write
#    `head_params(n_ch, h, w, num_classes, hidden=())` that returns the number of
#    parameters (weights and biases) of a flatten head whose `Linear` layers go from
#    `n_ch x h x w` through the widths in `hidden` to `num_classes`, and of a GAP head (one
#    `Linear` layer), as a pair `(flatten_params, gap_params)`. The check tries VGG-16 on
#    ImageNet: 512 channels of 7 x 7, hidden layers of 4096 and 4096, 1000 classes.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def head_params(n_ch, h, w, num_classes, hidden=()):
    widths = [n_ch * h * w, *hidden, num_classes]
    flatten_params = sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))
    gap_params = n_ch * num_classes + num_classes
    return flatten_params, gap_params


# %%
from cambook.exercises import check_head_params_hidden

check_head_params_hidden(head_params)

# %% [markdown]
# Your function on this chapter's own networks, which have no hidden layer:

# %%
print("matches this chapter's modules:", head_params(n_ch, H, W, num_classes)
      == (camlib.count_params(flat_net.fc), camlib.count_params(gap_net.fc)))

# %% [markdown]
# 2. **GAP over a padded batch.** Images of different sizes are often padded to one size
#    so that they fit in one batch; a GAP head should then average over each image's own
#    positions only. Write `masked_gap_head(features, mask, weight, bias)`: feature maps
#    `[B, C, h, w]`, a bool `mask` `[B, h, w]` that is True on the positions to average
#    (at least one per image), the classifier's weight `[N, C]` and bias `[N]`; return the
#    logits `[B, N]`.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def masked_gap_head(features, mask, weight, bias):
    m = mask[:, None].to(features.dtype)  # [B, 1, h, w]
    pooled = (features * m).sum(dim=(2, 3)) / m.sum(dim=(2, 3))  # [B, C]
    return pooled @ weight.T + bias  # [B, N]


# %%
from cambook.exercises import check_masked_gap_head

check_masked_gap_head(masked_gap_head)

# %% [markdown]
# Your function on this chapter's data: with every position valid it is the GAPNet's own
# head.

# %%
with torch.no_grad():
    x4 = test_images[:4].to(device)
    feats = gap_net.features(x4)
    everywhere = torch.ones(feats.shape[0], *feats.shape[2:], dtype=torch.bool)
    mine = masked_gap_head(feats, everywhere.to(device), gap_net.fc.weight,
                           gap_net.fc.bias)
    print("matches GAPNet's own head:", torch.allclose(mine, gap_net(x4), atol=1e-5))

# %% [markdown]
# 3. **Think.** The flatten head's logit is also a sum over positions:
#    $\text{logit}_c = \sum_{x,y} \sum_k W_{c,k,x,y} f_k(x, y) + b_c$, so
#    $\sum_k W_{c,k,x,y} f_k(x, y)$ is a map whose sum is the score. Why is that map a
#    poorer guide to *where the object is* than a CAM? Think of a position where few
#    training objects happened to lie, and of the templates above.
#
# 4. **A GMP head.** Global *max* pooling keeps each channel's largest value instead of its
#    average (the CAM paper compares the two). Write `gmp_head(features, weight, bias)` that
#    takes feature maps `[B, C, h, w]`, the classifier's weight `[N, C]` and bias `[N]`, and
#    returns the logits `[B, N]` of a GMP head. When do GAP and GMP give the same logits?

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def gmp_head(features, weight, bias):
    pooled = features.amax(dim=(2, 3))  # [B, C]: each channel's largest value
    return pooled @ weight.T + bias


# %%
from cambook.exercises import check_gmp_head

check_gmp_head(gmp_head)
