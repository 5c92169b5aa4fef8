"""Interactive explorers of top-k CAMs (ipywidgets).

* :func:`static_explorer` precomputes every overlay and links buttons to a Stack of
  images with ``jslink``: it works on the rendered book page, with no kernel behind it.
* :func:`explorer` is the kernel-backed version (Jupyter, Colab): pick or upload a photo,
  a class among the top-k, the overlay's opacity and colour map, and the box threshold.

Where widgets do not render (a plain-text view of a notebook, GitHub, nbval's comparison of
text outputs) each explorer shows one line that says what it is and where it runs, instead
of ipywidgets' ``VBox(children=(ToggleButtons(...`` repr; like every text output of the book,
the line is at most 88 columns.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np
from PIL import Image

from camlib.boxes import cam_to_box
from camlib.data import load_image
from camlib.pipelines import localize
from camlib.pretrained import Pretrained
from camlib.viz import overlay

COLOUR_MAPS = ("jet", "inferno", "viridis", "magma", "gray")


class _TextFallback:
    """A widget whose text/plain, what shows where widgets do not render, is one given line.

    Only the text/plain of the display bundle changes: the widget view, its model and its
    state are the container's own, so the rendered book and Jupyter show the same widget.
    """

    def __init__(self, *args, text: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._text_plain = text

    def _repr_mimebundle_(self, **kwargs) -> dict:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = self._text_plain
        return bundle


class StaticExplorer(_TextFallback, widgets.VBox):
    """The box :func:`static_explorer` returns: a VBox with a one-line text/plain."""


class KernelExplorer(_TextFallback, widgets.HBox):
    """The box :func:`explorer` returns: an HBox with a one-line text/plain."""


def _jpeg(arr: np.ndarray, side: int = 256) -> bytes:
    """HxWx3 uint8 -> JPEG bytes, resized so the longer side is ``side`` pixels."""
    im = Image.fromarray(arr)
    im.thumbnail((side, side))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def _img_html(jpeg: bytes, alt: str, width: int = 320) -> widgets.HTML:
    """An <img> with alt text, its JPEG inlined as a data URL (no request on a static page)."""
    data = base64.b64encode(jpeg).decode("ascii")
    return widgets.HTML(f'<img src="data:image/jpeg;base64,{data}" alt="{html.escape(alt)}" width="{width}">')


def _draw_box(arr: np.ndarray, box: tuple[int, int, int, int], width: int = 3) -> np.ndarray:
    out = arr.copy()
    x0, y0, x1, y1 = box
    colour = np.array([0, 255, 0], np.uint8)
    out[y0 : y0 + width, x0:x1] = colour
    out[max(y1 - width, 0) : y1, x0:x1] = colour
    out[y0:y1, x0 : x0 + width] = colour
    out[y0:y1, max(x1 - width, 0) : x1] = colour
    return out


def static_explorer(
    pretrained: Pretrained, photos: Mapping[str, np.ndarray], topk: int = 5, alpha: float = 0.5, threshold: float = 0.2
) -> StaticExplorer:
    """Photo buttons -> class buttons -> CAM overlay with box, all precomputed and jslinked.

    Everything the reader can click is computed here, so the widget works on a static
    page (the book's HTML) as well as in a notebook. Its text/plain is one line:
    "Top-5 CAM explorer: an interactive widget; it works on the book page, Jupyter and Colab."
    """
    photo_buttons = widgets.ToggleButtons(options=list(photos), description="photo", style={"button_width": "110px"})
    per_photo = []
    for name, photo in photos.items():
        results = localize(pretrained, photo, topk=topk, threshold=threshold)
        labels = [f"{r.label} ({100 * r.prob:.1f}%)" for r in results]
        buttons = widgets.ToggleButtons(options=list(range(topk)), description="class", style={"button_width": "190px"})
        buttons.options = [(label, i) for i, label in enumerate(labels)]
        images = [
            _img_html(
                _jpeg(_draw_box(overlay(photo, r.cam, alpha), r.box)),
                alt=f"Class activation map of '{r.label}' over the {name} photo, with its box "
                f"at {threshold:.0%} of the maximum",
            )
            for r in results
        ]
        stack = widgets.Stack(images, selected_index=0)
        widgets.jslink((buttons, "index"), (stack, "selected_index"))
        per_photo.append(widgets.VBox([buttons, stack]))
    photo_stack = widgets.Stack(per_photo, selected_index=0)
    widgets.jslink((photo_buttons, "index"), (photo_stack, "selected_index"))
    box = StaticExplorer(
        [photo_buttons, photo_stack],
        text=f"Top-{topk} CAM explorer: an interactive widget; it works on the book page, Jupyter and Colab.",
    )
    box.add_class("cam-static-explorer")  # a handle for pages and tests
    return box


def explorer(pretrained: Pretrained, photos: Mapping[str, np.ndarray], topk: int = 5) -> KernelExplorer:
    """A kernel-backed explorer: photo (or upload), class, opacity, colour map, box threshold.

    Its text/plain is one line: "Top-5 CAM explorer: an interactive widget; it needs a running
    kernel (Jupyter or Colab)."
    """
    photos = dict(photos)
    photo_dd = widgets.Dropdown(options=list(photos), description="photo")
    upload = widgets.FileUpload(accept="image/*", multiple=False, description="upload a photo")
    class_dd = widgets.Dropdown(description="class")
    alpha = widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="opacity")
    cmap = widgets.Dropdown(options=COLOUR_MAPS, value="jet", description="colours")
    threshold = widgets.FloatSlider(value=0.2, min=0.05, max=0.95, step=0.05, description="box at")
    view = widgets.HTML()
    message = widgets.HTML()
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
        box = cam_to_box(r.cam, threshold.value)
        picture = _draw_box(overlay(state["photo"], r.cam, alpha.value, cmap.value), box)
        alt = (
            f"Class activation map of '{r.label}' over the {photo_dd.value} photo, "
            f"box at {threshold.value:.0%} of the maximum"
        )
        view.value = _img_html(_jpeg(picture, side=448), alt=alt, width=448).value

    def uploaded(change):
        files = upload.value
        if not files:
            return
        item = files[0]
        try:
            photos[item["name"]] = load_image(Image.open(io.BytesIO(bytes(item["content"]))))
        except Exception as err:  # an unreadable upload: say so next to the controls
            message.value = html.escape(f"could not read {item['name']!r} as an image: {err}")
            return
        message.value = ""
        photo_dd.options = list(photos)
        photo_dd.value = item["name"]

    photo_dd.observe(compute, names="value")
    upload.observe(uploaded, names="value")
    for w in (class_dd, alpha, cmap, threshold):
        w.observe(draw, names="value")
    compute()
    controls = widgets.VBox([widgets.HBox([photo_dd, upload]), class_dd, alpha, cmap, threshold, message])
    box = KernelExplorer(
        [controls, view],
        text=f"Top-{topk} CAM explorer: an interactive widget; it needs a running kernel (Jupyter or Colab).",
    )
    box.add_class("cam-kernel-explorer")
    return box
