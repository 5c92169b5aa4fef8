"""camlib.viz: overlays on their own and on a shared colour scale, and the shared scale's top.

And cambook.widgets: what the explorers show where widgets do not render.
"""

import ipywidgets
import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from camlib.viz import overlay, shared_vmax, show_cams  # noqa: E402

GREY = np.full((8, 8, 3), 128, dtype=np.uint8)


def heat(value: float) -> np.ndarray:
    """The overlay colour of one scaled value in [0, 1] on GREY with alpha 0.5 and jet."""
    rgb = matplotlib.colormaps["jet"](value)[:3]
    return (np.clip(0.5 * 128 / 255 + 0.5 * np.array(rgb), 0, 1) * 255).round().astype(np.uint8)


def test_overlay_scales_each_map_by_its_own_maximum():
    weak, strong = torch.zeros(8, 8), torch.zeros(8, 8)
    weak[2, 3], strong[2, 3] = 1.0, 4.0
    assert np.array_equal(overlay(GREY, weak), overlay(GREY, strong))  # alone, the two look the same
    assert np.array_equal(overlay(GREY, strong)[2, 3], heat(1.0))


def test_overlay_on_a_shared_scale_keeps_the_difference():
    weak, strong = torch.zeros(8, 8), torch.zeros(8, 8)
    weak[2, 3], strong[2, 3] = 1.0, 4.0
    vmax = shared_vmax([weak, strong])
    assert vmax == 4.0
    assert np.array_equal(overlay(GREY, strong, vmax=vmax)[2, 3], heat(1.0))
    assert np.array_equal(overlay(GREY, weak, vmax=vmax)[2, 3], heat(0.25))
    assert np.array_equal(overlay(GREY, weak, vmax=0.5)[2, 3], heat(1.0))  # above vmax: clipped to the top
    assert np.array_equal(overlay(GREY, -strong, vmax=vmax)[2, 3], heat(0.0))  # negative values: ReLU'd


def test_overlay_rejects_a_bad_vmax():
    with pytest.raises(ValueError, match="vmax"):
        overlay(GREY, torch.ones(8, 8), vmax=0.0)


def test_shared_vmax_of_a_tensor_a_list_and_of_negative_maps():
    maps = torch.tensor([[[1.0, -2.0]], [[0.5, 3.0]]])  # [2, 1, 2]
    assert shared_vmax(maps) == 3.0
    assert shared_vmax([maps[0], maps[1].numpy()]) == 3.0
    assert shared_vmax(-maps.abs()) == 1.0  # nothing positive: any positive top will do
    with pytest.raises(ValueError, match="at least one non-empty map"):
        shared_vmax([])


def test_show_cams_with_a_shared_scale_draws_a_colour_bar():
    import matplotlib.pyplot as plt

    cams = [torch.rand(4, 4), 2 * torch.rand(4, 4)]
    fig = show_cams(GREY, cams, ["a", "b"], shared_scale=True)
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(fig.axes) == 4 and len(bars) == 1
    assert bars[0].get_ylim()[1] == pytest.approx(shared_vmax(cams))
    plt.close(fig)
    fig = show_cams(GREY, cams, ["a", "b"])
    assert len(fig.axes) == 3
    plt.close(fig)


@pytest.mark.parametrize(
    ("make", "line"),
    [
        ("static_explorer", "Top-5 CAM explorer: an interactive widget; it works on the book page, Jupyter and Colab."),
        ("explorer", "Top-5 CAM explorer: an interactive widget; it needs a running kernel (Jupyter or Colab)."),
    ],
)
def test_explorers_show_one_line_where_widgets_do_not_render(pretrained, photos, make, line):
    """A plain-text view (GitHub, nbval) shows what the explorer is, not ipywidgets' repr; the widget stays."""
    from IPython.core.formatters import DisplayFormatter

    import cambook.widgets

    box = getattr(cambook.widgets, make)(pretrained, {"china": photos["china"][::4, ::4]}, topk=5)
    data, _ = DisplayFormatter().format(box)  # what a kernel sends and a notebook stores
    assert data["text/plain"] == line
    assert "\n" not in line and len(line) <= 88
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id
    assert isinstance(box, ipywidgets.VBox if make == "static_explorer" else ipywidgets.HBox)
    box.close()
