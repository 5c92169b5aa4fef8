"""Pictures: heat-map overlays, boxes, and grids of maps (matplotlib)."""
from __future__ import annotations

from typing import Sequence

import matplotlib
import numpy as np
import torch
from PIL import Image

from .data import ImageLike, load_image


def overlay(image: ImageLike, cam: torch.Tensor | np.ndarray, alpha: float = 0.5, cmap: str = "jet",
            vmax: float | None = None) -> np.ndarray:
    """Blend a colour-mapped ``cam`` over ``image``: HxWx3 uint8.

    ``cam`` is one map [h, w]; it is ReLU'd, scaled by its own maximum (or, with ``vmax``,
    by that value, so that several maps share one colour scale: 0 is blue, ``vmax`` and
    above red) and resized (bilinear) to the image's H x W when needed. ``alpha`` is the
    heat map's opacity, in [0, 1].
    """
    photo = load_image(image)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha is an opacity in [0, 1], got {alpha}")
    if vmax is not None and not vmax > 0:
        raise ValueError(f"vmax is the top of the colour scale and must be positive, got {vmax}")
    m = cam.detach().float().cpu().numpy() if isinstance(cam, torch.Tensor) else np.asarray(cam, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"overlay takes one map [h, w], got shape {m.shape}")
    m = np.maximum(m, 0)
    if vmax is not None:
        m = np.minimum(m / np.float32(vmax), 1).astype(np.float32)
    elif m.max() > 0:
        m = m / m.max()
    h, w = photo.shape[:2]
    if m.shape != (h, w):
        m = np.asarray(Image.fromarray(m).resize((w, h), Image.BILINEAR))
    heat = matplotlib.colormaps[cmap](np.clip(m, 0, 1))[..., :3]
    out = (1 - alpha) * photo / 255.0 + alpha * heat
    return (np.clip(out, 0, 1) * 255).round().astype(np.uint8)


def draw_box(ax, box: Sequence[int], color: str = "lime", label: str | None = None, lw: float = 2.0) -> None:
    """Draw a box (x0, y0, x1, y1), exclusive ends, on a matplotlib axes showing the image."""
    import matplotlib.patches as patches

    x0, y0, x1, y1 = box
    ax.add_patch(patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=lw))
    if label:
        ax.text(x0, y0, label, color="black", fontsize=8, va="bottom",
                bbox=dict(facecolor=color, edgecolor="none", pad=1, alpha=0.8))


def shared_vmax(cams: Sequence | torch.Tensor) -> float:
    """The top of one colour scale for several maps: the largest positive value among them.

    ``cams`` is a tensor [..., h, w] or a sequence of maps [h, w] (tensors or arrays). Returns
    1.0 when no value is positive (every map is blue then). Pass it as ``overlay(..., vmax=)``.
    """
    if isinstance(cams, torch.Tensor):
        values = [cams.detach().float().cpu()]
    else:
        values = [c.detach().float().cpu() if isinstance(c, torch.Tensor)
                  else torch.as_tensor(np.asarray(c, dtype=np.float32)) for c in cams]
    if not values or any(v.numel() == 0 for v in values):
        raise ValueError("shared_vmax needs at least one non-empty map")
    top = max(float(v.max()) for v in values)
    return top if top > 0 else 1.0


def add_scale_bar(fig, axes, vmax: float, cmap: str = "jet", label: str = "map value (shared scale)"):
    """A colour bar from 0 to ``vmax`` next to ``axes``, for overlays drawn with ``overlay(..., vmax=vmax)``."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    bar = fig.colorbar(ScalarMappable(Normalize(0, vmax), cmap=cmap), ax=axes, shrink=0.8, pad=0.02)
    bar.set_label(label, fontsize=8)
    return bar


def show_cams(image: ImageLike, cams: Sequence, titles: Sequence[str], boxes: Sequence | None = None,
              alpha: float = 0.5, cmap: str = "jet", size: float = 2.6, shared_scale: bool = False):
    """One row: the photo, then one overlay per map (with its box, if given). Returns the figure.

    Each map is scaled by its own maximum, or, with ``shared_scale=True``, all by the largest
    value among them (:func:`shared_vmax`), with a colour bar of the raw values: use this
    to compare the maps of several classes.
    """
    import matplotlib.pyplot as plt

    photo = load_image(image)
    vmax = shared_vmax(cams) if shared_scale else None
    width = size * (len(cams) + 1) + (0.8 if shared_scale else 0)  # room for the colour bar
    fig, axes = plt.subplots(1, len(cams) + 1, figsize=(width, size * 1.15),
                             layout="constrained" if shared_scale else None)
    axes[0].imshow(photo)
    axes[0].set_title("input", fontsize=9)
    for i, (ax, cam, title) in enumerate(zip(axes[1:], cams, titles)):
        ax.imshow(overlay(photo, cam, alpha, cmap, vmax=vmax))
        if boxes is not None:
            draw_box(ax, boxes[i])
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.axis("off")
    if shared_scale:
        add_scale_bar(fig, axes, vmax, cmap)
    else:
        fig.tight_layout()
    return fig
