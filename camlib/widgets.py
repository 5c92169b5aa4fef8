"""Interactive explorers of top-k CAMs (ipywidgets).

* :func:`static_explorer` precomputes every overlay and links buttons to a Stack of
  images with ``jslink``: it works on the rendered book page, with no kernel behind it.
* :func:`explorer` is the kernel-backed version (Jupyter, Colab): pick or upload a photo,
  a class among the top-k, the overlay's opacity and colour map, and the box threshold.
"""
from __future__ import annotations

import io
from typing import Mapping

import ipywidgets as widgets
import numpy as np
from PIL import Image

from .data import load_image
from .localize import localize
from .viz import overlay

COLOUR_MAPS = ("jet", "inferno", "viridis", "magma", "gray")


def _jpeg(arr: np.ndarray, side: int = 256) -> bytes:
    """HxWx3 uint8 -> JPEG bytes, resized so the longer side is ``side`` pixels."""
    im = Image.fromarray(arr)
    im.thumbnail((side, side))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _draw_box(arr: np.ndarray, box: tuple[int, int, int, int], width: int = 3) -> np.ndarray:
    out = arr.copy()
    x0, y0, x1, y1 = box
    colour = np.array([0, 255, 0], np.uint8)
    out[y0:y0 + width, x0:x1] = colour
    out[max(y1 - width, 0):y1, x0:x1] = colour
    out[y0:y1, x0:x0 + width] = colour
    out[y0:y1, max(x1 - width, 0):x1] = colour
    return out


def static_explorer(pretrained, photos: Mapping[str, np.ndarray], topk: int = 5, alpha: float = 0.5,
                    threshold: float = 0.2) -> widgets.VBox:
    """Photo buttons -> class buttons -> CAM overlay with box, all precomputed and jslinked.

    Everything the reader can click is computed here, so the widget works on a static
    page (the book's HTML) as well as in a notebook.
    """
    photo_buttons = widgets.ToggleButtons(options=list(photos), description="photo",
                                          style={"button_width": "110px"})
    per_photo = []
    for name, photo in photos.items():
        results = localize(pretrained, photo, topk=topk, threshold=threshold)
        labels = [f"{r.label} ({100 * r.prob:.1f}%)" for r in results]
        buttons = widgets.ToggleButtons(options=list(range(topk)), description="class",
                                        style={"button_width": "190px"})
        buttons.options = [(label, i) for i, label in enumerate(labels)]
        images = [widgets.Image(value=_jpeg(_draw_box(overlay(photo, r.cam, alpha), r.box)), format="jpeg",
                                layout=widgets.Layout(width="320px"),
                                description=f"CAM of {r.label} on {name}")
                  for r in results]
        stack = widgets.Stack(images, selected_index=0)
        widgets.jslink((buttons, "index"), (stack, "selected_index"))
        per_photo.append(widgets.VBox([buttons, stack]))
    photo_stack = widgets.Stack(per_photo, selected_index=0)
    widgets.jslink((photo_buttons, "index"), (photo_stack, "selected_index"))
    return widgets.VBox([photo_buttons, photo_stack])


def explorer(pretrained, photos: Mapping[str, np.ndarray], topk: int = 5) -> widgets.VBox:
    """A kernel-backed explorer: photo (or upload), class, opacity, colour map, box threshold."""
    import matplotlib.pyplot as plt

    from .viz import draw_box

    photos = dict(photos)
    photo_dd = widgets.Dropdown(options=list(photos), description="photo")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="upload a photo")
    class_dd = widgets.Dropdown(description="class")
    alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="opacity")
    cmap = widgets.Dropdown(options=COLOUR_MAPS, value="jet", description="colours")
    threshold = widgets.FloatSlider(value=0.2, min=0.05, max=0.95, step=0.05, description="box at")
    out = widgets.Output()
    state: dict = {}

    def compute(*_):
        state["photo"] = photos[photo_dd.value]
        state["results"] = localize(pretrained, state["photo"], topk=topk)
        class_dd.options = [(f"{r.label} ({100 * r.prob:.1f}%)", i) for i, r in enumerate(state["results"])]
        class_dd.value = 0
        draw()

    def draw(*_):
        if "results" not in state or class_dd.value is None:
            return
        r = state["results"][class_dd.value]
        from .localize import cam_to_box

        box = cam_to_box(r.cam, threshold.value)
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(4.5, 4.5))
            ax.imshow(overlay(state["photo"], r.cam, alpha.value, cmap.value))
            draw_box(ax, box, label=f"{r.label}: box at {threshold.value:.0%} of max")
            ax.axis("off")
            plt.show()

    def uploaded(change):
        files = upload.value
        if not files:
            return
        item = files[0]
        name = item["name"]
        try:
            photos[name] = load_image(Image.open(io.BytesIO(bytes(item["content"]))))
        except Exception as err:  # an unreadable upload: say so in the output area
            with out:
                out.clear_output()
                print(f"could not read {name!r} as an image: {err}")
            return
        photo_dd.options = list(photos)
        photo_dd.value = name

    photo_dd.observe(compute, names="value")
    upload.observe(uploaded, names="value")
    for w in (class_dd, alpha, cmap, threshold):
        w.observe(draw, names="value")
    compute()
    controls = widgets.VBox([widgets.HBox([photo_dd, upload]), class_dd, alpha, cmap, threshold])
    return widgets.HBox([controls, out])
