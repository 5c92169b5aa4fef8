# %% [markdown]
# # 4. Top-5 class activation maps
#
# A classifier does not answer with one class but with a ranking, and each class in the
# ranking has its own evidence. Figure 3 of the CAM paper shows one photo (a palace) and
# the maps of its five most likely classes side by side: each class looks at a different
# part of the same picture. Because CAM needs only one forward pass for *any* number of
# classes, the five maps cost no more than one.
#
# This chapter rebuilds that figure on the pagoda photo, then lets you explore the top-5
# maps of every shipped photo with widgets.

# %% tags=["colab-setup"]
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
import camlib.widgets

set_matplotlib_formats("jpeg")  # photographic figures: JPEG keeps the notebook small

device = camlib.default_device()
camlib.full_precision()  # on a GPU: full float32, no TF32, so it prints the digits a CPU prints
_ = torch.manual_seed(0)

# %%
weights = camlib.load_pretrained("efficientnet_lite0", device=device)
photos = camlib.sample_images()
photo = photos["china"]

# %% [markdown]
# ## Five classes, one forward pass
#
# `cam(x, topk=5)` runs the model once, keeps the last feature maps through a hook, and
# combines them with the five rows of the classifier's weight matrix that belong to the
# five highest scores.

# %%
x = weights.preprocess(photo).unsqueeze(0).to(device)
with camlib.CAM(weights.model) as cam:
    result = cam(x, topk=5)
print("maps:", tuple(result.maps.shape), "(batch, classes, height, width)")
for rank, (c, p) in enumerate(zip(result.class_idx[0], result.probs[0]), start=1):
    print(f"{rank}. {weights.categories[c]:>10s}  {100 * p:5.1f} %")

# %% [markdown]
# ## The paper's figure, rebuilt
#
# Each map is upsampled to the photo's size, passed through a ReLU and divided by its own
# maximum for display (`camlib.normalize`), and laid over the photo. Each panel is scaled
# on its own: compare *where* the maps look, not how bright they are.

# %% mystnb={"image": {"alt": "The pagoda photo and the class activation maps of its five most likely classes, side by side, each titled with the class and its probability"}}
maps = camlib.normalize(camlib.upsample(result.maps[0], photo.shape[:2])).cpu()
titles = [f"{weights.categories[c]} {100 * p:.1f}%" for c, p in zip(result.class_idx[0], result.probs[0])]
fig = camlib.show_cams(photo, maps, titles)
plt.show()

# %% [markdown]
# Look at where each panel's red sits: on the tower for the classes that name a
# building, further out for a class that names the scene ("lakeside"). A single
# classification hides this; the top-5 maps show how the network splits the picture.
#
# How similar are two classes' maps? A simple measure is the correlation of their
# normalised maps over all pixels: 1 for the same map, near 0 for unrelated ones.

# %%
flat = maps.flatten(1)
corr = torch.corrcoef(flat)
names = [weights.categories[c] for c in result.class_idx[0]]
print(" " * 11 + "".join(f"{n[:9]:>10s}" for n in names))
for n, row in zip(names, corr):
    print(f"{n[:10]:>10s} " + "".join(f"{v:10.2f}" for v in row))

# %% [markdown]
# ## Every photo, top 5
#
# The same figure for every photo that ships with the book: one forward pass and one
# `localize` call per photo, five maps each.

# %% mystnb={"image": {"alt": "A grid with one row per sample photo and the heat maps of its top five classes, each titled with the class and its probability"}}
fig, axes = plt.subplots(len(photos), 5, figsize=(10, 2.2 * len(photos)), dpi=80)
for row, (name, img) in zip(axes, photos.items()):
    for ax, r in zip(row, camlib.localize(weights, img, topk=5)):
        ax.imshow(camlib.overlay(img, r.cam))
        ax.set_title(f"{r.label} {100 * r.prob:.1f}%", fontsize=9)
        ax.axis("off")
    row[0].text(-0.08, 0.5, name, transform=row[0].transAxes, rotation=90, va="center", ha="right", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Explore without a kernel
#
# The widget below works on the rendered page of this book, with no Python behind it:
# every overlay was computed when the chapter ran, and the buttons are linked to the
# images in the browser (`jslink`). Pick a photo, then one of its five classes; the
# green box is the paper's box at 20% of the map's maximum (chapter 5).

# %%
# NBVAL_IGNORE_OUTPUT
# a widget's output is its model id, a fresh random UUID on every run (tests/site checks the rendered explorer)
camlib.widgets.static_explorer(weights, photos, topk=5)

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
camlib.widgets.explorer(weights, photos, topk=5)

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
from camlib.exercises import check_normalize

check_normalize(normalize)

# %% [markdown]
# 2. **Shared scale.** The figure above scales each map by its own maximum. Redraw it
#    with one scale for all five maps (divide by the largest value of the five). What
#    does it show that the per-map scaling hides?
# 3. **Beyond five.** Call `cam(x, topk=20)` on the pagoda photo. Check with a forward
#    hook that the model still runs only once, and find the first class in the ranking
#    whose map looks at the water rather than the tower.
# 4. **Your photo.** In Colab, upload a photo of your own in the kernel-backed explorer.
#    Find a photo where the top two classes look at different objects.
