"""Pictures: heat-map overlays, boxes, and rows of maps (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
import torch
from PIL import Image

from .data import ImageLike, load_image

__all__ = ["add_scale_bar", "draw_box", "overlay", "shared_vmax", "show_cams"]


def overlay(
    image: ImageLike, cam: torch.Tensor | np.ndarray, alpha: float = 0.5, cmap: str = "jet", vmax: float | None = None
) -> np.ndarray:
    """Blend a colour-mapped ``cam`` over ``image``.

    Taught in chapter 1, "What CAM is, in one picture". The map is ReLU'd and scaled by its
    own maximum (:func:`camlib.normalize`) or, with ``vmax``, by that value, so that several
    maps share one colour scale (0 is blue, ``vmax`` and above red); then it is resized
    (bilinear) to the image's H x W when needed.

    ``alpha`` is the heat map's weight: 0 shows the photo alone, 1 the heat map alone. This
    is the opposite of torchcam's ``overlay_mask(alpha=)``, which weighs the photo: torchcam's
    ``alpha=a`` is camlib's ``alpha=1 - a``.

    Args:
        image: the photo: a path, a PIL image or an HxWx3 array.
        cam: one map [h, w], a tensor or an array.
        alpha: the heat map's weight in the blend, in [0, 1].
        cmap: a matplotlib colour map.
        vmax: the top of a shared colour scale, in the map's raw units; None scales the map
            by its own maximum.

    Returns:
        An HxWx3 uint8 array.

    Raises:
        ValueError: an ``alpha`` outside [0, 1], a ``vmax`` that is not positive, or not one map.
    """
    from .postprocess import normalize

    photo = load_image(image)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha is the heat map's weight, in [0, 1], got {alpha}")
    if vmax is not None and not vmax > 0:
        raise ValueError(f"vmax is the top of the colour scale and must be positive, got {vmax}")
    m = cam.detach().float().cpu() if isinstance(cam, torch.Tensor) else torch.as_tensor(np.asarray(cam, np.float32))
    if m.ndim != 2:
        raise ValueError(f"overlay takes one map [h, w], got shape {tuple(m.shape)}")
    m = normalize(m) if vmax is None else (m.clamp(min=0) / vmax).clamp(max=1)
    h, w = photo.shape[:2]
    scaled = m.numpy().astype(np.float32)
    if scaled.shape != (h, w):
        scaled = np.asarray(Image.fromarray(scaled).resize((w, h), Image.Resampling.BILINEAR))
    heat = matplotlib.colormaps[cmap](np.clip(scaled, 0, 1))[..., :3]
    out = (1 - alpha) * photo / 255.0 + alpha * heat
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def draw_box(ax: Any, box: Sequence[int], color: str = "lime", label: str | None = None, lw: float = 2.0) -> None:
    """Draw a box on a matplotlib axes that shows the image, around its pixels.

    Taught in chapter 1, "What CAM is, in one picture".

    Args:
        ax: a matplotlib ``Axes`` showing the image.
        box: ``(x0, y0, x1, y1)``, exclusive ends, in the image's pixels.
        color: the box's colour.
        label: a short text at its top-left corner, if any.
        lw: the line width.

    Returns:
        None.
    """
    import matplotlib.patches as patches

    x0, y0, x1, y1 = box
    ax.add_patch(patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=lw))
    if label:
        ax.text(
            x0,
            y0,
            label,
            color="black",
            fontsize=8,
            va="bottom",
            bbox=dict(facecolor=color, edgecolor="none", pad=1, alpha=0.8),
        )


def shared_vmax(cams: Sequence | torch.Tensor) -> float:
    """The top of one colour scale for several maps: the largest positive value among them.

    Taught in chapter 4, "Top-5 class activation maps". Pass it as ``overlay(..., vmax=)``.

    Args:
        cams: a tensor [..., h, w], or a sequence of maps [h, w] (tensors or arrays).

    Returns:
        The largest value; 1.0 when no value is positive (every map is blue then).

    Raises:
        ValueError: no map, or an empty one.
    """
    if isinstance(cams, torch.Tensor):
        values = [cams.detach().float().cpu()]
    else:
        values = [
            c.detach().float().cpu()
            if isinstance(c, torch.Tensor)
            else torch.as_tensor(np.asarray(c, dtype=np.float32))
            for c in cams
        ]
    if not values or any(v.numel() == 0 for v in values):
        raise ValueError("shared_vmax needs at least one non-empty map")
    top = max(float(v.max()) for v in values)
    return top if top > 0 else 1.0


def add_scale_bar(fig: Any, axes: Any, vmax: float, cmap: str = "jet", label: str = "map value (shared scale)") -> Any:
    """A colour bar from 0 to ``vmax`` beside ``axes``, for overlays drawn with ``overlay(..., vmax=vmax)``.

    Taught in chapter 4, "Top-5 class activation maps".

    Args:
        fig: the matplotlib figure.
        axes: the axes (one or several) the bar stands beside.
        vmax: the top of the scale, as passed to :func:`overlay`.
        cmap: the colour map of the overlays.
        label: the bar's label.

    Returns:
        The matplotlib ``Colorbar``.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = fig.colorbar(ScalarMappable(Normalize(0, vmax), cmap=cmap), ax=axes, shrink=0.8, pad=0.02)
    bar.set_label(label, fontsize=8)
    return bar


def show_cams(
    image: ImageLike,
    cams: Sequence,
    titles: Sequence[str],
    boxes: Sequence | None = None,
    alpha: float = 0.5,
    cmap: str = "jet",
    panel_inches: float = 2.6,
    shared_scale: bool = False,
) -> Any:
    """One row: the photo, then one overlay per map (with its box, if given).

    Taught in chapter 4, "Top-5 class activation maps". Each map is scaled by its own
    maximum, or, with ``shared_scale=True``, all by the largest value among them
    (:func:`shared_vmax`), with a colour bar of the raw values: use this to compare the maps
    of several classes.

    Args:
        image: the photo: a path, a PIL image or an HxWx3 array.
        cams: the maps [h, w], one per panel (a tensor [K, h, w] works too).
        titles: one title per map.
        boxes: one box ``(x0, y0, x1, y1)`` per map, in the photo's pixels, or None.
        alpha: the heat maps' weight, as for :func:`overlay`.
        cmap: a matplotlib colour map.
        panel_inches: the side of one panel, in inches (a figure size, not pixels).
        shared_scale: one colour scale for all maps, with a colour bar.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    photo = load_image(image)
    vmax = shared_vmax(cams) if shared_scale else None
    width = panel_inches * (len(cams) + 1) + (0.8 if shared_scale else 0)  # room for the colour bar
    fig, axes = plt.subplots(
        1, len(cams) + 1, figsize=(width, panel_inches * 1.15), layout="constrained" if shared_scale else None
    )
    axes[0].imshow(photo)
    axes[0].set_title("input", fontsize=9)
    for i, (ax, cam, title) in enumerate(zip(axes[1:], cams, titles)):
        ax.imshow(overlay(photo, cam, alpha, cmap, vmax=vmax))
        if boxes is not None:
            draw_box(ax, boxes[i])
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.axis("off")
    if vmax is not None:  # a shared scale
        add_scale_bar(fig, axes, vmax, cmap)
    else:
        fig.tight_layout()
    return fig
