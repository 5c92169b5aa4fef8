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
# We do not have the paper's photo or its network. This chapter draws the same kind of
# figure for the book's pagoda photo, adds the map of "dome", and measures how much the
# maps differ. On the pagoda they hardly differ, and we say why. Then it builds a picture
# in which classes do split an image, two photos side by side, and measures the split. It
# ends with widgets to explore the top-5 maps of every shipped photo.
#
# In this chapter you will:
#
# - compute the maps of the five most likely classes from one forward pass and compare
#   them on one colour scale;
# - set this book's "palace" and "dome" beside the paper's Figure 4;
# - measure how alike two maps are (their correlation) and where a map points (its peak,
#   against a box);
# - build a two-object scene with `camlib.data.composite` and measure that the classes of
#   each object point at that object, while related classes of one object share their map;
# - explore the top-5 maps of every photo with widgets, with or without a kernel.

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

import cambook.widgets
import camlib
from cambook.plots import matrix_heatmap

set_matplotlib_formats("jpeg")  # photographic figures: JPEG keeps the notebook small

device = camlib.default_device()
camlib.full_precision()  # on a GPU: no TensorFloat-32, the digits a CPU prints
_ = torch.manual_seed(0)

# %%
pretrained = camlib.load_pretrained("efficientnet_lite0", device=device)
categories = pretrained.categories
photos = cambook.sample_images()
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
    dome = cam(x, class_idx=categories.index("dome"))  # the paper's label, for later
names = [categories[c] for c in result.class_idx[0]]
print("maps:", tuple(result.maps.shape), "(batch, classes, height, width)")
pd.DataFrame({"class": names, "probability (%)": (100 * result.probs[0]).tolist()},
             index=pd.RangeIndex(1, 6, name="rank")).round(1)

# %% [markdown]
# ## Beside the paper's Figure 4
#
# The top class is "palace", as in the paper's figure. The paper's photo is labelled
# "dome", and its figure shows the map of "dome" next to that of "palace". Our photo
# shows a pagoda and no dome, and our network gives "dome" little probability, well
# outside its top five:

# %%
PAPER_FIG4_PALACE = 0.459  # the CAM paper's Figure 4: its top class, "palace"
dome_rank = 1 + int((dome.logits[0] > dome.logits[0, dome.class_idx[0, 0]]).sum())
print(f"CAM paper, Figure 4 (its photo and network): palace {PAPER_FIG4_PALACE:.3f}")
print(f"this book (the pagoda, EfficientNet-Lite0):  palace {result.probs[0, 0]:.3f}")
print(f"this book, dome: probability {dome.probs[0, 0]:.4f}, rank {dome_rank} of 1000")

# %% [markdown]
# Both networks give "palace" less than half of the probability: each is unsure between
# several names for a large building. Beyond that the numbers compare nothing, since the
# photos and the networks differ.
#
# ## The maps on one colour scale
#
# Each map is upsampled to the photo's size and laid over it. To compare classes, all
# maps share **one colour scale**: zero to the largest value among them, in the raw units
# of the class score (negative values are shown as zero). A weaker class therefore looks
# fainter. `camlib.show_cams(..., shared_scale=True)` draws such a row with a colour bar;
# for other layouts, `camlib.viz.shared_vmax` finds the top of the scale,
# `camlib.overlay(..., vmax=)` draws on it and `camlib.viz.add_scale_bar` adds the bar.
# The last panel is the map of "dome".

# %% tags=["hide-input"] mystnb={"image": {"alt": "The pagoda photo, the class activation maps of its five most likely classes and the map of dome, side by side on one shared colour scale with a colour bar, each titled with the class and its probability"}}
maps = camlib.upsample(result.maps[0].cpu(), photo.shape[:2])  # [5, H, W], raw
dome_map = camlib.upsample(dome.maps[0].cpu(), photo.shape[:2])  # [1, H, W]
titles = [f"{n} {100 * p:.1f}%" for n, p in zip(names, result.probs[0])]
titles.append(f"dome {100 * dome.probs[0, 0]:.2f}%")
fig = camlib.show_cams(photo, torch.cat([maps, dome_map]), titles, shared_scale=True,
                       panel_inches=2.1)
plt.show()

# %% [markdown]
# How alike are two classes' maps? One measure is the correlation of the two maps over all
# pixels: 1 for the same pattern, near 0 for unrelated ones, negative where one is high
# where the other is low.

# %%
corr = torch.corrcoef(torch.cat([maps, dome_map]).flatten(1))  # [6, 6]

# %% tags=["hide-input"] mystnb={"image": {"alt": "The 6 by 6 correlation matrix of the maps of the five top classes and dome on the pagoda photo, as a heat map with each value written in its cell"}}
fig, ax = plt.subplots(figsize=(5.6, 4.2))
matrix_heatmap(corr, names + ["dome"], ax=ax, colorbar="correlation",
               title="Correlation between two maps, over all pixels")
plt.show()

# %% [markdown]
# The groups, as ranges of the values in the matrix:

# %%
def corr_range(group_a, group_b):
    """Smallest and largest correlation between a class of group_a and of group_b."""
    labels = names + ["dome"]
    values = [corr[labels.index(a), labels.index(b)]
              for a in group_a for b in group_b if a != b]
    return f"{min(values):.2f} to {max(values):.2f}"


whole = ["palace", "bell cote", "monastery"]  # names for the whole building
print(f"{', '.join(whole)} among themselves: {corr_range(whole, whole)}")
for other in [n for n in names if n not in whole] + ["dome"]:
    print(f"{other} with them: {corr_range([other], whole)}")

# %% [markdown]
# And where does each map point? We ask whether its peak falls inside the tower box we
# drew by hand (`cambook.HAND_BOXES`, as in chapter 1), and what share of its positive
# evidence lies inside the box.

# %%
tower = cambook.HAND_BOXES["china"]
x0, y0, x1, y1 = tower
all_six = torch.cat([maps, dome_map])
raw = torch.cat([result.maps[0], dome.maps[0]]).cpu()  # [6, 7, 7]
pos = all_six.clamp(min=0)
area = (x1 - x0) * (y1 - y0) / (photo.shape[0] * photo.shape[1])
print(f"tower box {tower}: {area:.1%} of the photo")
pd.DataFrame({
    "peak cell (row, col)": [divmod(int(m.argmax()), 7) for m in raw],
    "peak in the box": camlib.peak_in_box(
        all_six, torch.tensor([tower]).expand(6, 4)).tolist(),
    "evidence in the box (%)": (100 * pos[:, y0:y1, x0:x1].sum(dim=(1, 2))
                                / pos.sum(dim=(1, 2))).tolist(),
}, index=pd.Index(names + ["dome"], name="class")).round(1)

# %% [markdown]
# On this photo the five maps do **not** look at different parts of the picture, and the
# numbers say so. The three classes that name the whole building (palace, bell cote,
# monastery) have nearly the same map (the first printed range). "boathouse" agrees a
# little less with them, and "lakeside", the one class that names the setting rather than
# a building, agrees least and keeps the smallest share of its evidence in the tower box;
# in the figure its map reaches further towards the water. "dome", a class the network
# barely considers, also draws its evidence from the tower. The five top classes peak in
# the same cell of the 7 x 7 grid, and "dome" one cell above it; all six peaks lie in the
# tower box. (On its own, a peak in this box says little: the box holds the centre of the
# photo, and so do the peaks' cells. The share of evidence, against the box's share of
# the photo, says more.)
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
        up = camlib.upsample(r.maps[0].cpu(), img.shape[:2])
        per_photo[name] = (r.class_idx[0].tolist(), r.probs[0].cpu(), up)


def off_diagonal(m):
    """The correlations between two different maps of one photo."""
    c = torch.corrcoef(m.flatten(1))
    return c[~torch.eye(len(m), dtype=torch.bool)]


pd.DataFrame({
    "top class": [categories[cls[0]] for cls, _, _ in per_photo.values()],
    "mean correlation": [off_diagonal(m).mean().item() for *_, m in per_photo.values()],
    "lowest": [off_diagonal(m).min().item() for *_, m in per_photo.values()],
}, index=pd.Index(list(per_photo), name="photo")).round(2)

# %% [markdown]
# The correlations are those between two different maps among a photo's top five.

# %% tags=["hide-input"] mystnb={"image": {"alt": "A grid with one row per sample photo and the heat maps of its top five classes on one colour scale per row, each titled with the class and its probability"}}
fig, axes = plt.subplots(len(photos), 5, figsize=(11, 2.2 * len(photos)), dpi=80,
                         layout="constrained")
for row, (name, (cls, probs, m)) in zip(axes, per_photo.items()):
    vmax = camlib.viz.shared_vmax(m)  # one scale per photo
    for ax, c, p, mc in zip(row, cls, probs, m):
        ax.imshow(camlib.overlay(photos[name], mc, vmax=vmax))
        ax.set_title(f"{categories[c]} {100 * p:.1f}%", fontsize=9)
        ax.axis("off")
    camlib.viz.add_scale_bar(fig, row, vmax)
    row[0].text(-0.08, 0.5, name, transform=row[0].transAxes, rotation=90, va="center",
                ha="right", fontsize=11)
plt.show()

# %% [markdown]
# Within each photo the five maps are alike (the table's correlations): on the coffee
# photo all five maps sit on the cup, on the cat photo the four kinds of cat sit on the
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
def top3_alone(name):
    """The three most likely classes of one photo alone, and their probabilities."""
    x_alone = pretrained.preprocess(photos[name]).unsqueeze(0).to(device)
    with torch.inference_mode():
        return pretrained.model(x_alone).softmax(dim=1)[0].topk(3)


alone = {n: top3_alone(n) for n in pair}
own = {n: top.indices.tolist() for n, top in alone.items()}
for n, top in alone.items():
    print(f"{n:>10s} alone: " + ", ".join(f"{categories[c]} {p:.1%}"
                                            for c, p in zip(top.indices, top.values)))

# %% [markdown]
# The network takes the whole scene, 224 x 448, at once: it is convolutional up to the
# global average pooling, which averages over however many positions there are, so the
# map is 7 x 14. Each tile of the scene is preprocessed exactly as its photo alone would
# be. One forward pass gives the maps of all six classes.

# %%
tiles = [pretrained.preprocess(scene[:, x0:x1]) for x0, _, x1, _ in boxes.tolist()]
x2 = torch.cat(tiles, dim=2).unsqueeze(0).to(device)  # [1, 3, 224, 448]
classes = own[pair[0]] + own[pair[1]]
owner = torch.tensor([0] * 3 + [1] * 3)  # which part of the scene each class came from
with camlib.CAM(pretrained.model) as cam:
    both = cam(x2, class_idx=torch.tensor([classes]))  # [1, K]: K classes, one image
print("input:", tuple(x2.shape), "| maps:", tuple(both.maps.shape))
top6 = both.logits[0].topk(6).indices.tolist()
print("the scene's own top 6 are these six classes:", sorted(top6) == sorted(classes))
print(f"the six classes hold {both.probs[0].sum():.1%} of the scene's probability")

# %% [markdown]
# Now the measurements, per class: does the map's peak fall inside the box of the photo
# the class came from (`camlib.peak_in_box`), and what share of the map's positive
# evidence lies inside that box? Each photo's box is half the picture, so a map that
# ignored the layout would put 50 % of its evidence in each, and a peak placed at random
# would land in its own photo's half half of the time: the peak test alone is weak, the
# share and the correlations below say more.

# %%
maps2 = camlib.upsample(both.maps[0].cpu(), scene.shape[:2])  # [6, 224, 448], raw
hit = camlib.peak_in_box(maps2, boxes[owner])
pos = maps2.clamp(min=0)
share = torch.stack([pos[i, y0:y1, x0:x1].sum() / pos[i].sum()
                     for i, (x0, y0, x1, y1) in enumerate(boxes[owner].tolist())])
labels2 = [categories[c] for c in classes]
pd.DataFrame({"from photo": [pair[o] for o in owner],
              "probability in the scene (%)": (100 * both.probs[0]).tolist(),
              "peak in its box": hit.tolist(),
              "evidence in its box (%)": (100 * share).tolist()},
             index=pd.Index(labels2, name="class")).round(1)

# %% [markdown]
# Every map peaks inside the box of its own photo and keeps most of its evidence there.
# The probabilities are lower than for each photo alone (compare the two printouts), and
# the six classes together hold only the share printed above: the pooling averages over
# the whole scene, so each object's evidence is diluted by the other half, and the rest
# of the probability goes to the other 994 classes. The places are what we are after.
# Next, the correlations between the six maps:

# %%
corr2 = torch.corrcoef(maps2.flatten(1))
same = owner[:, None] == owner[None, :]
off_diag = ~torch.eye(len(owner), dtype=torch.bool)
print(f"same object, different classes: mean {corr2[same & off_diag].mean():.2f}")
print(f"different objects:              mean {corr2[~same].mean():.2f}")

# %% tags=["hide-input"] mystnb={"image": {"alt": "Two figures: the 6 by 6 correlation matrix of the six maps of the cat and motorcycle scene as a heat map with values written in, positive within each object's three classes and negative across the objects; then the scene six times with the map of one class over each, the cat classes lighting up the cat on the left and the motorcycle classes the motorcycle on the right, on one shared colour scale"}}
fig, ax = plt.subplots(figsize=(6.4, 4.6))
matrix_heatmap(corr2, labels2, ax=ax, colorbar="correlation",
               title="Correlation between the six maps of the scene")
plt.show()
fig, axes = plt.subplots(2, 3, figsize=(11, 4.3), layout="constrained")
vmax = camlib.viz.shared_vmax(maps2)  # one scale for all six maps
for ax, n, p, m, box in zip(axes.flatten(), labels2, both.probs[0], maps2,
                            boxes[owner].tolist()):
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

# %% tags=["hide-input"]
top3 = {n: top3_alone(n).indices.tolist() for n in photos}
n_hit = n_maps = 0
within, across = [], []
with camlib.CAM(pretrained.model) as cam:
    for a in photos:
        for b in photos:
            if a == b:
                continue
            sc, bx = camlib.data.composite([photos[a], photos[b]])
            tiles = [pretrained.preprocess(sc[:, x0:x1])
                     for x0, _, x1, _ in bx.tolist()]
            xs = torch.cat(tiles, dim=2).unsqueeze(0).to(device)
            r = cam(xs, class_idx=torch.tensor([top3[a] + top3[b]]))
            m = camlib.upsample(r.maps[0].cpu(), sc.shape[:2])
            n_hit += int(camlib.peak_in_box(m, bx[owner]).sum())
            n_maps += len(m)
            c = torch.corrcoef(m.flatten(1))
            within.append(c[same & off_diag])
            across.append(c[~same])
within, across = torch.cat(within), torch.cat(across)
print(f"{n_maps // 6} scenes: {n_hit} of {n_maps} maps ({n_hit / n_maps:.1%}) "
      f"peak inside their own photo's box")
print(f"same object:       correlation {within.min():.2f} to {within.max():.2f}, "
      f"mean {within.mean():.2f}")
print(f"different objects: correlation {across.min():.2f} to {across.max():.2f}, "
      f"mean {across.mean():.2f}, {int((across < 0).sum())} of {len(across)} negative")

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
cambook.widgets.explorer(pretrained, photos, topk=5)

# %% [markdown]
# ## Summary
#
# One forward pass gives the maps of any number of classes. On the pagoda photo the top
# class is "palace", as in the paper's Figure 4, whose photo and network are not ours;
# "dome", the label of the paper's photo, gets little probability here. Our five maps do
# not split the picture the way the paper's "dome" and "palace" did: they are mostly highly
# correlated ("lakeside" less so) and all peak on the tower, because the top classes are
# related names for the one building
# and draw on the same feature maps. The other shipped photos behave alike. When a
# picture holds two objects, a cat beside a motorcycle, the classes of each object point
# at that object (peak in its box), the two objects' maps are negatively correlated, and
# one object's related classes still share one map; the same holds on every pair of the
# five photos. Compare maps of several classes on one colour scale, and measure before you
# say that two maps differ.
#
# ## Questionnaire
#
# 1. Why does CAM give the maps of five classes for the cost of one forward pass?
# 2. Which figure of the CAM paper shows top-5 maps, what is its ground-truth label, and
#    what does its caption say about "dome" and "palace"?
# 3. Where does this book's network rank "dome" on the pagoda, and what does its map look
#    at? Why can the paper's 0.459 and our probability of "palace" not be compared as
#    measurements of the same thing?
# 4. Why are maps of several classes drawn on one shared colour scale, and what does a
#    per-map scale hide?
# 5. What does the correlation between two maps measure? What values did the pagoda's top
#    classes give, and why?
# 6. What does `camlib.peak_in_box` test, and why is it a weaker test than the share of
#    evidence inside the box?
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

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
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

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "The pagoda photo and the maps of its five top classes and dome, each scaled by its own maximum, so that every map reaches full red"}}
fig = camlib.show_cams(photo, torch.cat([maps, dome_map]), titles, panel_inches=2.1)
plt.show()

# %% [markdown]
# 3. **Beyond five.** Ask for the 20 most likely classes inside a `with` block
#    (`with camlib.CAM(pretrained.model) as cam: r20 = cam(x, topk=20)`). Check with a
#    forward hook on the model that it still runs only once. Which of the 20 classes
#    keeps the smallest share of its evidence inside the tower box?

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer"}
calls = []
hook = pretrained.model.register_forward_hook(lambda *args: calls.append(1))
try:
    with camlib.CAM(pretrained.model) as cam:
        r20 = cam(x, topk=20)
finally:
    hook.remove()
up20 = camlib.upsample(r20.maps[0].cpu(), photo.shape[:2]).clamp(min=0)
inside20 = up20[:, y0:y1, x0:x1].sum(dim=(1, 2)) / up20.sum(dim=(1, 2))
print(f"forward passes for 20 classes: {len(calls)}")
low = int(inside20.argmin())
print(f"smallest share in the tower box: {categories[r20.class_idx[0, low]]} "
      f"(rank {low + 1}), {inside20[low]:.1%}; the largest: {inside20.max():.1%}")

# %% [markdown]
# 4. **Your photo.** `camlib.data.load_image(path)` reads a JPEG or PNG file into an
#    array that `preprocess` takes (in Colab, upload the file first, or use the upload
#    button of the kernel-backed explorer). Find a photo where the top two classes look at
#    different objects.

# %% tags=["answer", "hide-cell"] mystnb={"code_prompt_show": "Show a possible answer", "image": {"alt": "A photo of two things loaded from a file, with the maps of its top two classes on one shared colour scale: each map lights up a different half of the photo"}}
import tempfile
from pathlib import Path

from PIL import Image


def top2_halves(image):
    """A photo's top two classes with their maps, and each peak's half (True: right)."""
    with camlib.CAM(pretrained.model) as cam:
        r = cam(pretrained.preprocess(image).unsqueeze(0).to(device), topk=2)
    width = r.maps.shape[-1]
    halves = [int(m.flatten().argmax()) % width >= width / 2 for m in r.maps[0]]
    return r, halves


# No photo of our own here: we make candidates from two shipped photos side by side,
# save each to a file as a reader's photo would be, and keep the first whose top two
# classes peak in different halves.
names = list(photos)
for a, b in [(a, b) for a in names for b in names if a != b]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{a}_{b}.jpg"
        Image.fromarray(camlib.data.composite([photos[a], photos[b]])[0]).save(path)
        mine = camlib.data.load_image(path)
    r_mine, halves = top2_halves(mine)
    if halves[0] != halves[1]:
        break
print(f"{a} beside {b}:",
      ", ".join(f"{categories[c]} peaks on the {'right' if h else 'left'}"
                for c, h in zip(r_mine.class_idx[0].tolist(), halves)))
fig = camlib.show_cams(mine, list(r_mine.maps[0].cpu()),
                       [categories[c] for c in r_mine.class_idx[0]], shared_scale=True)
plt.show()

# %% [markdown]
# 5. **Top-k maps by hand.** `camlib.CAM` did this for us. Write
#    `topk_cams(features, weight, bias, k)` for a GAP network: from feature maps
#    `[B, C, h, w]` and the head's weight `[N, C]` and bias `[N]`, return the raw maps
#    `[B, k, h, w]` of the k most likely classes and their indices `[B, k]`, most likely
#    first, with no second pass over the trunk.

# %% tags=["solution", "hide-input"] mystnb={"code_prompt_show": "Show the reference solution"}
def topk_cams(features, weight, bias, k):
    logits = features.mean(dim=(2, 3)) @ weight.T + bias  # the GAP head
    idx = logits.topk(k, dim=1).indices  # [B, k], most likely first
    return torch.einsum("bkc,bchw->bkhw", weight[idx], features), idx


# %%
from cambook.exercises import check_topk_cams

check_topk_cams(topk_cams)
