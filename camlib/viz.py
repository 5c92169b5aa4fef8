"""Pictures: heat-map overlays, boxes, and grids of maps (matplotlib)."""
from __future__ import annotations

from typing import Sequence

import matplotlib
import numpy as np
import torch
from PIL import Image

from .data import ImageLike, load_image


def overlay(image: ImageLike, cam: torch.Tensor | np.ndarray, alpha: float = 0.5, cmap: str = "jet") -> np.ndarray:
    """Blend a colour-mapped ``cam`` over ``image``: HxWx3 uint8.

    ``cam`` is one map [h, w]; it is ReLU'd, scaled by its maximum and resized (bilinear)
    to the image's H x W when needed. ``alpha`` is the heat map's opacity, in [0, 1].
    """
    photo = load_image(image)
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha is an opacity in [0, 1], got {alpha}")
    m = cam.detach().float().cpu().numpy() if isinstance(cam, torch.Tensor) else np.asarray(cam, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError(f"overlay takes one map [h, w], got shape {m.shape}")
    m = np.maximum(m, 0)
    m = m / m.max() if m.max() > 0 else m
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


def show_cams(image: ImageLike, cams: Sequence, titles: Sequence[str], boxes: Sequence | None = None,
              alpha: float = 0.5, cmap: str = "jet", size: float = 2.6):
    """One row: the photo, then one overlay per map (with its box, if given). Returns the figure."""
    import matplotlib.pyplot as plt

    photo = load_image(image)
    fig, axes = plt.subplots(1, len(cams) + 1, figsize=(size * (len(cams) + 1), size * 1.15))
    axes[0].imshow(photo)
    axes[0].set_title("input", fontsize=9)
    for i, (ax, cam, title) in enumerate(zip(axes[1:], cams, titles)):
        ax.imshow(overlay(photo, cam, alpha, cmap))
        if boxes is not None:
            draw_box(ax, boxes[i])
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig
