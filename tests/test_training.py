"""Training (camlib.train), and the book's promise for its shipped GAPNet: accurate and localizing.

Unit tests train only tiny networks. Retraining the book's networks on this machine, and
how long it takes, is measured by benchmarks/retrain.py, not asserted here.
"""

import pytest
import torch

import cambook
import camlib
from cambook import book_split
from camlib import GAPNet


@pytest.fixture(scope="module")
def shipped():
    return cambook.book_model("gapnet", device="cpu")


def test_accuracy_on_another_seed(shipped):
    test_x, test_y, _ = book_split("test")
    assert camlib.evaluate(shipped, test_x, test_y) >= 0.95


def test_cam_boxes_hit_the_objects(shipped):
    model = shipped
    val_x, _, val_boxes = book_split("valid")
    test_x, _, test_boxes = book_split("test")
    thresholds = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    val_maps, test_maps = camlib.cam_maps(model, val_x).maps[:, 0], camlib.cam_maps(model, test_x).maps[:, 0]
    best = max(thresholds, key=lambda t: camlib.box_accuracy(camlib.cam_to_boxes(val_maps, t, size=64), val_boxes))
    test = camlib.cam_to_boxes(test_maps, best, size=64).tolist()
    assert camlib.box_accuracy(test, test_boxes.tolist()) >= 0.70
    centre = [camlib.centre_box((64, 64), 0.5)] * len(test_boxes)
    assert camlib.box_accuracy(test, test_boxes.tolist()) > camlib.box_accuracy(centre, test_boxes.tolist()) + 0.3


def tiny_run(seed: int = 0) -> dict:
    x, y, _ = camlib.synthetic(96, seed=4)
    model = GAPNet(5, widths=(4, 8))
    camlib.train(model, x, y, epochs=2, batch_size=32, seed=seed, device="cpu", progress=False)
    return model.state_dict()


def test_same_seed_same_numbers():
    a, b, c = tiny_run(0), tiny_run(0), tiny_run(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a), "the seed decides the batches and flips"


def test_train_leaves_the_global_random_state_as_it_was():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_run(0)
    assert torch.equal(torch.rand(3), expected)


def test_load_or_train_reuses_the_weights(tmp_path):
    x, y, _ = camlib.synthetic(64, seed=9)
    first = camlib.load_or_train(GAPNet(5, widths=(4, 8)), x, y, cache_dir=str(tmp_path), epochs=1, progress=False)
    assert len(list(tmp_path.glob("gapnet-*.pt"))) == 1
    second = camlib.load_or_train(GAPNet(5, widths=(4, 8)), x, y, cache_dir=str(tmp_path), epochs=1, progress=False)
    assert all(torch.equal(first.state_dict()[k], second.state_dict()[k]) for k in first.state_dict())
    camlib.load_or_train(GAPNet(5, widths=(4, 8)), x, y, cache_dir=str(tmp_path), epochs=2, progress=False)
    assert len(list(tmp_path.glob("gapnet-*.pt"))) == 2  # other settings, other weights


def test_progress_in_a_terminal_goes_to_stderr_and_off_is_silent(capsys):
    x, y = torch.rand(8, 3, 16, 16), torch.randint(0, 5, (8,))
    camlib.train(GAPNet(5, widths=(4, 8)), x, y, epochs=2, batch_size=4, device="cpu")
    out, err = capsys.readouterr()
    assert not out and "2/2" in err and "loss=" in err
    camlib.train(GAPNet(5, widths=(4, 8)), x, y, epochs=2, batch_size=4, device="cpu", progress=False)
    assert capsys.readouterr() == ("", "")


def test_a_stored_notebook_shows_where_the_progress_bar_ended():
    """Plain-text views of an executed notebook (GitHub, nbval) show the bar's final state, not 0/2."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "import torch\nimport camlib\nx, y = torch.rand(8, 3, 16, 16), torch.randint(0, 5, (8,))"
            ),
            nbformat.v4.new_code_cell(
                "losses = camlib.train(camlib.GAPNet(5, widths=(4, 8, 8)), x, y, epochs=2, batch_size=4, device='cpu')"
            ),
            nbformat.v4.new_code_cell(
                "losses = camlib.train(camlib.GAPNet(5, widths=(4, 8, 8)), x, y, epochs=2, "
                "batch_size=4, device='cpu', progress=False)"
            ),
        ]
    )
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    shown, silent = nb.cells[1].outputs, nb.cells[2].outputs
    assert [o.output_type for o in shown] == ["display_data"], shown  # the widget, and nothing on stderr
    text = shown[0].data["text/plain"]
    assert "2/2" in text and "100%" in text and "loss=" in text, text
    assert "0/2" not in text
    assert "application/vnd.jupyter.widget-view+json" in shown[0].data  # Jupyter still shows the live widget
    assert silent == []
