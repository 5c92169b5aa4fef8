"""Figures the chapters draw more than once: a matrix as a heat map with its values written in."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def matrix_heatmap(
    matrix: torch.Tensor | np.ndarray,
    rows: Sequence[str],
    columns: Sequence[str] | None = None,
    ax=None,
    cmap: str = "RdBu_r",
    vmin: float | None = -1.0,
    vmax: float | None = 1.0,
    fmt: str = "{:.2f}",
    norm=None,
    colorbar: str | None = None,
    title: str | None = None,
):
    """Draw ``matrix`` [R, C] as a heat map with each value written in its cell; returns the axes.

    ``rows`` and ``columns`` label the two axes (``columns`` defaults to ``rows``, for a square
    matrix such as a correlation matrix). The colour scale runs from ``vmin`` to ``vmax``
    (a correlation's -1 to 1 by default) unless a matplotlib ``norm`` is given; a NaN cell is
    left white and unlabelled. Each value is written with ``fmt``, in white on dark cells and
    black on light ones. ``colorbar`` labels a colour bar when given.
    """
    import matplotlib.pyplot as plt

    values = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    values = values.astype(float)
    columns = list(rows) if columns is None else list(columns)
    if values.shape != (len(rows), len(columns)):
        raise ValueError(
            f"matrix of shape {values.shape} needs {values.shape[0]} row labels and "
            f"{values.shape[1]} column labels, got {len(rows)} and {len(columns)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(0.9 * len(columns) + 2.2, 0.55 * len(rows) + 1.2))
    image = ax.imshow(values, cmap=cmap, norm=norm, vmin=None if norm else vmin, vmax=None if norm else vmax)
    for (r, c), v in np.ndenumerate(values):
        if np.isnan(v):
            continue
        red, green, blue, _ = image.cmap(image.norm(v))
        dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
        ax.text(c, r, fmt.format(v), ha="center", va="center", fontsize=9, color="white" if dark else "black")
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, shrink=0.8, label=colorbar)
    if title:
        ax.set_title(title, fontsize=10)
    return ax
