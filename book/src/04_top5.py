# %% [markdown]
# # 4. Top-5 class activation maps
#
# A classifier does not answer with one class but with a ranking, and each class in the
# ranking has its own map. Figure 4 of the CAM paper (Zhou et al., CVPR 2016) shows the
# maps of the five most likely classes of one photo, whose ground-truth label is "dome";
# the network's top class is "palace", with a score of 0.459. The figure's point, in its
# caption, is that the highlighted regions differ between classes: "dome" lights up the
# upper round part of the building, "palace" the lower flat part of the compound. Because
# CAM needs only one forward pass for *any* number of classes, the five maps cost no more
# than one.
#
# This chapter rebuilds that figure on the pagoda photo and measures how much its maps
# differ. They hardly differ, and we say why. Then it builds a picture in which classes
# do split an image, two photos side by side, and measures the split. It ends with
# widgets to explore the top-5 maps of every shipped photo.
#
# In this chapter you will:
#
# - compute the maps of the five most likely classes from one forward pass and compare
#   them on one colour scale;
# - set this book's "palace" beside the paper's Figure 4, and see where the two differ;
# - measure how alike two maps are (their correlation) and where a map points (its peak,
#   against a box);
# - build a two-object scene with `camlib.data.composite` and measure that the classes of
#   each object point at that object, while related classes of one object share their map;
# - explore the top-5 maps of every photo with widgets, with or without a kernel.

# %% tags=["colab-setup", "remove-cell"]
# Set-up: in Colab, install camlib and its dependencies; anywhere else this does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "camlib @ git+https://github.com/camlib-book/cam-book"], check=True)

# %%
import matplotlib.pyplot as plt
import torch
from matplotlib_inline.backend_inline import set_matplotlib_formats

import camlib
import cambook.widgets

set_matplotlib_formats("jpeg")  # photographic figures: JPEG keeps the notebook small

device = camlib.default_device()
camlib.full_precision()  # on a GPU: full float32, no TF32, so it prints the digits a CPU prints
_ = torch.manual_seed(0)

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
photos = camlib.sample_images()
photo = photos["china"]

# %% [markdown]
# ## Five classes, one forward pass
#
# `cam(x, topk=5)` runs the model once, keeps the last feature maps through a hook, and
# combines them with the five rows of the classifier's weight matrix that belong to the
# five highest scores.

# %%
x = pretrained.preprocess(photo).unsqueeze(0).to(device)
with camlib.CAM(pretrained.model) as cam:
    result = cam(x, topk=5)
names = [pretrained.categories[c] for c in result.class_idx[0]]
print("maps:", tuple(result.maps.shape), "(batch, classes, height, width)")
for rank, (name, p) in enumerate(zip(names, result.probs[0]), start=1):
    print(f"{rank}. {name:>10s}  {100 * p:5.1f} %")

# %% [markdown]
# The top class is "palace", as in the paper's figure. Beside the paper's number, quoted
# from its Figure 4:

# %%
PAPER_FIG4_PALACE = 0.459  # the CAM paper, Figure 4: top class "palace"; ground truth "dome"
print(f"CAM paper, Figure 4: a GAP network, a photo labelled 'dome': palace {PAPER_FIG4_PALACE:.3f}")
print(f"this book:           EfficientNet-Lite0, china.jpg (pagoda):  palace {result.probs[0, 0]:.3f}")

# %% [markdown]
# Same top class, different probabilities, and nothing more should be read into the
# match: the paper's network (one of its GAP networks) and photo (a domed building) are
# not ours.
# Our photo has no "dome" among its top 5.
#
# ## The paper's figure, rebuilt
#
# Each map is upsampled to the photo's size and laid over it. To compare classes, all
# five maps share **one colour scale**: zero to the largest value of the five, in the
# raw units of the class score (negative values are shown as zero). A weaker class
# therefore looks fainter. `camlib.show_cams(..., shared_scale=True)` draws such a row
# with a colour bar; for other layouts, `camlib.viz.shared_vmax` finds the top of the
# scale, `camlib.overlay(..., vmax=)` draws on it and `camlib.viz.add_scale_bar` adds the
# bar.

# %% mystnb={"image": {"alt": "The pagoda photo and the class activation maps of its five most likely classes, side by side on one shared colour scale with a colour bar, each titled with the class and its probability"}}
maps = camlib.upsample(result.maps[0].cpu(), photo.shape[:2])  # [5, H, W], raw
titles = [f"{n} {100 * p:.1f}%" for n, p in zip(names, result.probs[0])]
fig = camlib.show_cams(photo, maps, titles, shared_scale=True)
plt.show()

# %% [markdown]
# How alike are two classes' maps? One measure is the correlation of the two maps over all
# pixels: 1 for the same pattern, near 0 for unrelated ones, negative where one is high
# where the other is low. And where does each map point? We ask whether its peak falls
# inside the tower box we drew by hand (`camlib.data.HAND_BOXES`, as in chapter 1).

# %%
corr = torch.corrcoef(maps.flatten(1))
print(" " * 11 + "".join(f"{n[:9]:>10s}" for n in names))
for n, row in zip(names, corr):
    print(f"{n[:10]:>10s} " + "".join(f"{v:10.2f}" for v in row))


def corr_range(group_a, group_b):
    """Smallest and largest correlation between a class of group_a and another class of group_b."""
    values = [corr[names.index(a), names.index(b)] for a in group_a for b in group_b if a != b]
    return f"{min(values):.2f} to {max(values):.2f}"


whole = [n for n in ("palace", "bell cote", "monastery") if n in names]  # names for the whole building
print(f"\n{', '.join(whole)} among themselves: {corr_range(whole, whole)}")
for other in [n for n in names if n not in whole]:
    print(f"{other} with them: {corr_range([other], whole)}")
tower = camlib.data.HAND_BOXES["china"]
x0, y0, x1, y1 = tower
peaks = camlib.peak_in_box(maps, torch.tensor([tower]).expand(len(maps), 4))
cells = result.maps[0].flatten(1).argmax(dim=1).cpu()  # the peak's cell in the 7 x 7 grid
pos = maps.clamp(min=0)
inside = pos[:, y0:y1, x0:x1].sum(dim=(1, 2)) / pos.sum(dim=(1, 2))
area = (x1 - x0) * (y1 - y0) / (photo.shape[0] * photo.shape[1])
print(f"\ntower box {tower}, {100 * area:.1f} % of the photo:")
for n, cell, h, share in zip(names, cells.tolist(), peaks.tolist(), inside):
    print(f"{n:>10s}  peak in cell (row {cell // 7}, col {cell % 7}), inside the box: {h!s:5}  "
          f"evidence inside the box: {100 * share:.1f} %")

# %% [markdown]
# On this photo the five maps do **not** look at different parts of the picture, and the
# numbers above say so. The three classes that name the whole building (palace, bell cote,
# monastery) have nearly the same map (the first printed range). "boathouse" agrees a
# little less with them, and about as much with "lakeside" (the matrix). "lakeside", the
# one class that names the setting rather than a building, agrees least with the three
# and keeps the smallest share of its evidence in the tower box; in the figure its map
# reaches further right, towards the water. Yet all
# five peak in the same cell of the 7 x 7 grid, inside the tower box. (On its own, a peak
# in this box says little: the box holds the centre of the photo, and so does the peak's
# cell. The share of evidence, against the box's share of the photo, says more.)
#
# Why do the maps overlap? Our photo is not the paper's. The paper's photo had two parts
# that two classes could pick, a round dome above a flat compound; ours has one tower, and
# its top classes are names for that tower. Every class's map is a weighted sum of the
# *same* feature maps, and in this photo those feature maps are active on the one
# building: classes that are kinds of building find their evidence there, in the same
# place, so their maps coincide. To see classes split a picture, the picture must hold two
# different things. First, the other photos.
#
# ## Every photo, top 5
#
# The same figure for every photo that ships with the book: one forward pass per photo,
# five maps each, one colour scale per row.

# %%
per_photo = {}
with camlib.CAM(pretrained.model) as cam:
    for name, img in photos.items():
        r = cam(pretrained.preprocess(img).unsqueeze(0).to(device), topk=5)
        per_photo[name] = (r.class_idx[0].tolist(), r.probs[0].cpu(), camlib.upsample(r.maps[0].cpu(), img.shape[:2]))
print(f"{'photo':>10s}  {'top class':>12s}  correlation between two of its top-5 maps")
for name, (cls, probs, m) in per_photo.items():
    c = torch.corrcoef(m.flatten(1))
    off = c[~torch.eye(5, dtype=torch.bool)]
    print(f"{name:>10s}  {pretrained.categories[cls[0]]:>12s}  mean {off.mean():.2f}, lowest {off.min():.2f}")

# %% mystnb={"image": {"alt": "A grid with one row per sample photo and the heat maps of its top five classes on one colour scale per row, each titled with the class and its probability"}}
fig, axes = plt.subplots(len(photos), 5, figsize=(11, 2.2 * len(photos)), dpi=80, layout="constrained")
for row, (name, (cls, probs, m)) in zip(axes, per_photo.items()):
    vmax = camlib.viz.shared_vmax(m)  # one scale per photo
    for ax, c, p, mc in zip(row, cls, probs, m):
        ax.imshow(camlib.overlay(photos[name], mc, vmax=vmax))
        ax.set_title(f"{pretrained.categories[c]} {100 * p:.1f}%", fontsize=9)
        ax.axis("off")
    camlib.viz.add_scale_bar(fig, row, vmax)
    row[0].text(-0.08, 0.5, name, transform=row[0].transAxes, rotation=90, va="center", ha="right", fontsize=11)
plt.show()

# %% [markdown]
# Within each photo the five maps are alike (the printed correlations): on the coffee
# photo all five maps sit on the cup, on the cat photo all three kinds of cat sit on the
# cat. Each of these photos shows one main object, and its top classes are related names
# for it. The maps differ in strength (the shared scale shows a weak class fainter) more
# than in place.
#
# ## Two objects, one picture
#
# `camlib.data.composite` puts photos side by side, each resized to 224 x 224, and returns
# the true box of each part. We put the cat next to the motorcycle.

# %%
pair = ["chelsea", "motorcycle"]
scene, boxes = camlib.data.composite([photos[n] for n in pair])
print("scene:", scene.shape, "| boxes (x0, y0, x1, y1):", boxes.tolist())

# %% [markdown]
# Which classes belong to which object? We ask the network about each photo alone and
# keep its three most likely classes.

# %%
own = {}
with torch.inference_mode():
    for n in pair:
        probs_alone = pretrained.model(pretrained.preprocess(photos[n]).unsqueeze(0).to(device)).softmax(dim=1)[0]
        top = probs_alone.topk(3)
        own[n] = top.indices.tolist()
        print(f"{n:>10s} alone: " + ", ".join(f"{pretrained.categories[c]} {100 * p:.1f} %"
                                                for c, p in zip(top.indices, top.values)))

# %% [markdown]
# The network takes the whole scene, 224 x 448, at once: it is convolutional up to the
# global average pooling, which averages over however many positions there are, so the
# map is 7 x 14. Each tile of the scene is preprocessed exactly as its photo alone would
# be. One forward pass gives the maps of all six classes.

# %%
x2 = torch.cat([pretrained.preprocess(scene[:, x0:x1]) for x0, _, x1, _ in boxes.tolist()], dim=2)
x2 = x2.unsqueeze(0).to(device)
classes = own[pair[0]] + own[pair[1]]
owner = torch.tensor([0] * 3 + [1] * 3)  # which part of the scene each class came from
with camlib.CAM(pretrained.model) as cam:
    both = cam(x2, class_idx=torch.tensor([classes]))  # [1, K]: these K classes for the one image
print("input:", tuple(x2.shape), "| maps:", tuple(both.maps.shape))
top6 = both.logits[0].topk(6).indices.tolist()
print("the scene's own top 6 are these six classes:", sorted(top6) == sorted(classes))

# %% [markdown]
# Now the measurements, per class: does the map's peak fall inside the box of the photo
# the class came from (`camlib.peak_in_box`), and what share of the map's positive
# evidence lies inside that box? Each photo's box is half the picture, so a map that
# ignored the layout would put 50 % of its evidence in each, and a peak placed at random
# would land in the right half half of the time: the peak test alone is weak, the share
# and the correlations below say more.

# %%
maps2 = camlib.upsample(both.maps[0].cpu(), scene.shape[:2])  # [6, 224, 448], raw
hit = camlib.peak_in_box(maps2, boxes[owner])
pos = maps2.clamp(min=0)
share = torch.stack([pos[i, y0:y1, x0:x1].sum() / pos[i].sum()
                     for i, (x0, y0, x1, y1) in enumerate(boxes[owner].tolist())])
labels2 = [pretrained.categories[c] for c in classes]
for name, o, p, h, s in zip(labels2, owner, both.probs[0], hit, share):
    print(f"{name:>14s} (from {pair[o]:>10s}) {100 * p:4.1f} %  peak in its box: {bool(h)!s:5}  "
          f"evidence in its box: {100 * s:5.1f} %")
print(f"{int(hit.sum())} of {len(hit)} maps peak inside the box of their own photo")

# %% [markdown]
# The probabilities are lower than for each photo alone (compare the two printouts): the
# pooling averages over the whole scene, so each object's evidence is diluted by the other
# half, and the softmax shares its mass among both objects' classes. The places are what
# we are after. Next, the correlations between the six maps:

# %%
corr2 = torch.corrcoef(maps2.flatten(1))
print(" " * 15 + "".join(f"{n[:12]:>13s}" for n in labels2))
for n, row in zip(labels2, corr2):
    print(f"{n[:14]:>14s} " + "".join(f"{v:13.2f}" for v in row))
same = owner[:, None] == owner[None, :]
off_diag = ~torch.eye(len(owner), dtype=torch.bool)
print(f"\nsame object, different classes: mean correlation {corr2[same & off_diag].mean():.2f}")
print(f"different objects:              mean correlation {corr2[~same].mean():.2f}")

# %% mystnb={"image": {"alt": "The cat and motorcycle scene six times, with the map of one class over each: the three cat classes on the top row light up the cat on the left, the three motorcycle classes on the bottom row light up the motorcycle on the right; one shared colour scale with a colour bar, and a green box around the photo each class came from"}}
fig, axes = plt.subplots(2, 3, figsize=(12, 4.6), layout="constrained")
vmax = camlib.viz.shared_vmax(maps2)  # one scale for all six maps
for ax, n, p, m, box in zip(axes.flatten(), labels2, both.probs[0], maps2, boxes[owner].tolist()):
    ax.imshow(camlib.overlay(scene, m, vmax=vmax))
    camlib.draw_box(ax, box)
    ax.set_title(f"{n} {100 * p:.1f}%", fontsize=9)
    ax.axis("off")
camlib.viz.add_scale_bar(fig, axes, vmax, label="CAM value (shared scale)")
plt.show()

# %% [markdown]
# Here the classes split the picture, and the numbers say so: each map peaks inside the
# box of its own photo and keeps most of its evidence there (well above the 50 % of a map
# that ignored the layout); the maps of the two objects' classes are negatively correlated
# (where one is high the other is low), while the three classes of one object still share
# one map, just as the pagoda's classes did. A class activation map separates *things* in
# the picture, not related *names* for one thing.
#
# One pair could be luck. The same measurement on every ordered pair of the five photos
# (each photo once on the left, once on the right), with each photo's own top 3 classes:

# %%
top3 = {}
with torch.inference_mode():
    for n, img in photos.items():
        top3[n] = pretrained.model(pretrained.preprocess(img).unsqueeze(0).to(device))[0].topk(3).indices.tolist()
n_hit = n_maps = 0
within, across = [], []
with camlib.CAM(pretrained.model) as cam:
    for a in photos:
        for b in photos:
            if a == b:
                continue
            sc, bx = camlib.data.composite([photos[a], photos[b]])
            xs = torch.cat([pretrained.preprocess(sc[:, x0:x1]) for x0, _, x1, _ in bx.tolist()], dim=2)
            r = cam(xs.unsqueeze(0).to(device), class_idx=torch.tensor([top3[a] + top3[b]]))
            m = camlib.upsample(r.maps[0].cpu(), sc.shape[:2])
            n_hit += int(camlib.peak_in_box(m, bx[owner]).sum())
            n_maps += len(m)
            c = torch.corrcoef(m.flatten(1))
            within.append(c[same & off_diag])
            across.append(c[~same])
within, across = torch.cat(within), torch.cat(across)
print(f"{n_maps // 6} scenes: {n_hit} of {n_maps} maps ({100 * n_hit / n_maps:.1f} %) peak inside their own photo's box")
print(f"same object:       correlation {within.min():.2f} to {within.max():.2f}, mean {within.mean():.2f}")
print(f"different objects: correlation {across.min():.2f} to {across.max():.2f}, mean {across.mean():.2f}, "
      f"{int((across < 0).sum())} of {len(across)} negative")

# %% [markdown]
# The pattern holds on every pair (the count and ranges above): every map peaks on its
# own photo, the maps of one object's classes stay together (the first range: all
# positive, with a high mean), and the maps of two objects' classes come apart (the
# second range, with the count of negative ones; its highest value stays far below the
# lowest of the first range). The paper's Figure 4 shows a finer split, two parts of one
# building; with this network and these photos we see the split between objects, and we
# do not see it between parts of the pagoda.
#
# ## Explore without a kernel
#
# The widget below works on the rendered page of this book, with no Python behind it:
# every overlay was computed when the chapter ran, and the buttons are linked to the
# images in the browser (`jslink`). Pick a photo, then one of its five classes; the
# green box is the paper's box at 20% of the map's maximum (chapter 5). Each overlay is
# scaled by its own maximum: use it to see *where* a class looks, and the shared-scale
# figures above to compare classes.

# %%
# NBVAL_IGNORE_OUTPUT
# a widget's output is its model id, a fresh random UUID on every run (tests/site checks the rendered explorer)
cambook.widgets.static_explorer(pretrained, photos, topk=5)

# %% [markdown]
# ## Explore with a kernel (Jupyter, Colab)
#
# When this notebook runs in Jupyter or Colab, the explorer below recomputes everything
# on demand: choose a photo or **upload your own**, a class among the top 5, the
# overlay's opacity and colour map, and the threshold of the box. On the static book
# page it shows only the state it had when the chapter was built; the sliders need a
# running kernel.

# %%
# NBVAL_IGNORE_OUTPUT
# a widget's output is its model id, a fresh random UUID on every run
cambook.widgets.explorer(pretrained, photos, topk=5)

# %% [markdown]
# ## Summary
#
# One forward pass gives the maps of any number of classes. On the pagoda photo, as in
# the paper's Figure 4, the top class is "palace" (our probability printed beside the
# paper's 0.459, from a different network and photo). But our five maps do not split the
# picture the way the paper's "dome" and "palace" did: they are highly correlated and all
# peak on the tower, because the top classes are related names for the one building and
# draw on the same feature maps. The other shipped photos behave alike. When a picture
# holds two objects, a cat beside a motorcycle, the classes of each object point at that
# object (peak in its box), the two objects' maps are negatively correlated, and one
# object's related classes still share one map; the same holds on every pair of the five
# photos. Compare maps of several classes on one colour scale, and measure before you say
# that two maps differ.
#
# ## Questionnaire
#
# 1. Why does CAM give the maps of five classes for the cost of one forward pass?
# 2. Which figure of the CAM paper shows top-5 maps, what is its ground-truth label, and
#    what does its caption say about "dome" and "palace"?
# 3. What probability does this book's network give "palace" on the pagoda, beside the
#    paper's 0.459, and why are the two not the same measurement?
# 4. Why are maps of several classes drawn on one shared colour scale, and what does a
#    per-map scale hide?
# 5. What does the correlation between two maps measure? What values did the pagoda's top
#    classes give, and why?
# 6. What does `camlib.peak_in_box` test, and why is it a weaker test than IoU?
# 7. How does `camlib.data.composite` build a two-object scene, and why can the network
#    read a 224 x 448 input? What size is the map?
# 8. In the cat and motorcycle scene, how many of the six maps peak inside their own
#    photo's box, and how do the correlations within one object compare with those across
#    the two objects?
# 9. Why are the probabilities in the two-object scene lower than for each photo alone?
# 10. What does this chapter show that CAM separates, and what does it not separate?

# %% [markdown]
# ## Exercises
#
# 1. **Normalise for display.** Write `normalize(maps)` for maps `[B, K, h, w]`: a ReLU,
#    then divide each map by its own maximum, leaving all-zero maps at zero (no NaN).
#    The check tries a flat map and an all-negative one.

# %% tags=["solution", "hide-input"]
def normalize(maps):
    pos = maps.clamp(min=0)
    peak = pos.amax(dim=(-2, -1), keepdim=True)
    return torch.where(peak > 0, pos / peak.clamp(min=1e-12), torch.zeros_like(pos))


# %%
from cambook.exercises import check_normalize

check_normalize(normalize)

# %% [markdown]
# 2. **Per-map scale.** The figures above put all maps of a photo on one colour scale.
#    Redraw the pagoda's with each map divided by its own maximum (`camlib.normalize`, what
#    `camlib.overlay` and the explorers do). What does the shared scale show that the
#    per-map scaling hides?
# 3. **Beyond five.** Call `cam(x, topk=20)` on the pagoda photo. Check with a forward
#    hook that the model still runs only once, and find the first class in the ranking
#    whose map looks at the water rather than the tower.
# 4. **Your photo.** In Colab, upload a photo of your own in the kernel-backed explorer.
#    Find a photo where the top two classes look at different objects.

# %% [markdown]
# 5. **Top-k maps by hand.** `camlib.CAM` did this for us. Write `topk_cams(features, weight,
#    bias, k)` for a GAP network: from feature maps `[B, C, h, w]` and the head's weight
#    `[N, C]` and bias `[N]`, return the raw maps `[B, k, h, w]` of the k most likely classes
#    and their indices `[B, k]`, most likely first, with no second pass over the trunk.

# %% tags=["solution", "hide-input"]
def topk_cams(features, weight, bias, k):
    logits = features.mean(dim=(2, 3)) @ weight.T + bias  # the GAP head
    idx = logits.topk(k, dim=1).indices  # [B, k], most likely first
    return torch.einsum("bkc,bchw->bkhw", weight[idx], features), idx


# %%
from cambook.exercises import check_topk_cams

check_topk_cams(topk_cams)
