"""Plain data across the sandbox's wall (classroom.wire), and the advisory notes (classroom.static)."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from cambook.exercises import Layer, Net
from classroom import static, wire


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -(2**70),
        0.1,
        float("inf"),
        "text",
        (1, 2.5, "a"),
        [np.int64(4), np.float32(0.5)],
        np.arange(6, dtype=np.int16).reshape(2, 3),
        torch.randn(2, 3, 4),
        torch.tensor([1, 2], dtype=torch.int64),
        torch.zeros(0, 5),
        torch.tensor(True),
    ],
)
def test_round_trip(value):
    back = wire.decode(wire.encode(value))
    if isinstance(value, torch.Tensor):
        assert isinstance(back, torch.Tensor) and back.dtype == value.dtype and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert isinstance(back, np.ndarray) and back.dtype == value.dtype and np.array_equal(back, value)
    else:
        assert back == value and type(back) is type(value)


def test_named_tuples_travel_as_tuples():
    values, indices = wire.decode(wire.encode(torch.arange(6.0).view(1, 6).topk(2, dim=1)))
    assert torch.equal(values, torch.tensor([[5.0, 4.0]])) and torch.equal(indices, torch.tensor([[5, 4]]))


def test_other_objects_travel_as_their_type_name_only():
    assert wire.decode(wire.encode({"a": 1})) == wire.Opaque("dict")
    assert wire.decode(wire.encode(torch.nn.Linear(2, 2))) == wire.Opaque("Linear")
    assert wire.decode(wire.encode(np.array([object()]))) == wire.Opaque("array of object")


def test_specs_travel_in_requests_only():
    net = Net("gapnet", 3, (4, 5), 16, 7)
    encoded = wire.encode((net, Layer(0, "features")))
    assert wire.decode(encoded, specs=True, make_spec=lambda k, f: {"Net": Net, "Layer": Layer}[k](**f)) == (
        net,
        Layer(0, "features"),
    )
    with pytest.raises(wire.WireError, match="unknown value type 'spec'"):
        wire.decode(encoded)  # an answer from the kernel cannot hold one


def tensor(dtype="float32", shape=(2,), data=b"\0" * 8) -> dict:
    return {"t": "tensor", "dtype": dtype, "shape": list(shape), "b64": base64.b64encode(data).decode()}


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (tensor(dtype="object"), "dtype"),
        (tensor(shape=(3,)), "bytes"),
        (tensor(shape=(-1,)), "shape"),
        (tensor(shape=(2**20, 2**20)), "larger than"),
        ({"t": "tensor", "dtype": "float32", "shape": [1], "b64": "%%%"}, "base64"),
        ({"t": "pickle", "v": "gASV"}, "unknown value type"),
        ({"t": "int", "v": "1e9"}, "digits"),
        ([1, 2], "not an encoded"),
        ({"t": "list", "items": [{"t": "const", "v": 3}]}, "null, true"),
    ],
)
def test_decode_rejects_what_is_not_plain_data(bad, words):
    with pytest.raises(wire.WireError, match=words):
        wire.decode(bad)


def test_nesting_and_size_are_bounded():
    deep: dict = {"t": "const", "v": None}
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"t": "list", "items": [deep]}
    with pytest.raises(wire.WireError, match="deep"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="larger than"):
        wire.decode(wire.encode([np.zeros(1000)] * 3), max_bytes=16_000)


def test_reference_uses_are_named():
    trees = static.code_of(
        [
            "from camlib import iou as box_iou",
            "import camlib\nx = camlib.boxes.cam_to_box(m, 0.2)",
            "%timeit f()\nimport importlib\nm = importlib.import_module('camlib.metrics')",
            "from cambook.exercises.chapters import cam_reference",
        ]
    )
    assert static.reference_uses(trees, "check_iou") == [
        "`camlib.metrics.iou`",
        "camlib imported by a name in a string ('camlib.metrics')",
        "`cambook.exercises` internals",
    ]
    assert "`camlib.boxes.cam_to_box`" in static.reference_uses(trees, "check_box")
    assert static.reference_uses(static.code_of(["def box_iou(a, b):\n    return 0.0"]), "check_iou") == []


def test_tampering_is_noted_and_honest_code_is_not():
    trees = static.code_of(
        [
            "import sys\nsys.settrace(f)",
            "torch.allclose = lambda *a, **k: True",
            "import builtins\nbuiltins.getattr = g",
            "fn.__module__ = '__main__'",
        ]
    )
    assert static.tampering(trees) == [
        "installs a trace function (`sys.settrace`)",
        "replaces a torch function (`torch.allclose`)",
        "changes builtins (`builtins.getattr`)",
        "rewrites where a function comes from (`fn.__module__`)",
    ]
    assert static.tampering(static.code_of(["ok = torch.allclose(a, b)\nprint(ok, file=sys.stdout)"])) == []


# -- issue 18: safe output, points, student ids, static notes from the student's own code ------------
def test_safe_fields_and_cells():
    from classroom import safe

    assert safe.field("a\nb\r\x1b[2Kc\u202e\x00d") == "a b c d"
    assert [safe.cell(v) for v in ("=1+1", "+x", "-2", "@SUM(A1)", "ok", 3, 2.5)] == [
        "'=1+1",
        "'+x",
        "'-2",
        "'@SUM(A1)",
        "ok",
        "3",
        "2.5",
    ]


def test_points_partial_credit_and_all_or_nothing(tmp_path):
    from classroom import points

    table = points.Points({("05_map_to_box", "check_mass_box"): 4.0})
    assert table.earned("05_map_to_box", "check_mass_box", 3, 4, False) == 3.0
    assert table.earned("01_what_is_cam", "check_peak", 5, 5, True) == points.DEFAULT_POINTS
    assert points.Points(all_or_nothing=True).earned("x", "check_peak", 4, 5, False) == 0.0
    bad = tmp_path / "points.csv"
    bad.write_text("chapter,number,exercise,checker,points\n05_map_to_box,3,mass_box,check_mass_box,lots\n")
    with pytest.raises(points.PointsError, match="line 2: points must be a number"):
        points.read(bad)


def test_student_ids_come_from_the_folder_or_the_file_name():
    from classroom.naming import student_of

    chapters = ["05_map_to_box", "01_what_is_cam"]
    assert student_of("alice/05_map_to_box.ipynb", chapters) == "alice"
    assert student_of("bob_05_map_to_box.ipynb", chapters) == "bob"
    assert student_of("05_map_to_box-carol.ipynb", chapters) == "carol"
    assert student_of("dave_05_localization.ipynb", chapters) == "dave_localization"


def test_static_notes_read_only_the_student_code():
    from nbformat.v4 import new_code_cell, new_notebook

    from classroom import grading
    from classroom.edition import Check

    edition = frozenset({"import camlib\nfrom camlib.metrics import iou", "def box_iou(a, b):\n    raise X"})
    nb = new_notebook(cells=[new_code_cell(s) for s in sorted(edition)])
    assert grading.student_code(nb, edition) == []
    nb.cells.append(new_code_cell("import sys\nbox_iou = sys.modules['cam' + 'lib'].iou"))
    notes, per_check = grading.static_notes(grading.student_code(nb, edition), [Check("box_iou", "check_iou")])
    assert "`sys.modules`" in notes[0] and per_check == {}
    deep = "x = " + " + ".join(["1"] * 3000)
    assert grading.static_notes([deep, "import sys\nsys.settrace(f)"], [])[0] == [
        "its code installs a trace function (`sys.settrace`) (no effect on the verdicts)"
    ]
    assert "look at it by hand" in grading.static_notes(["x = 1\n" * 200_000], [])[0][0]


def test_non_answers_are_refused():
    """A NaN that a comparison lets through, and a float of a patched type, pass no judge."""
    import torch as _torch

    from cambook.exercises import Returned, cases, judge

    class Liar(float):
        """The right value, of a type whose comparisons could say anything."""

    def peak(cam, size):
        y, x = divmod(int(_torch.argmax(cam.flatten())), cam.shape[1])
        return ((x + 0.5) * size[0] / cam.shape[1], (y + 0.5) * size[1] / cam.shape[0])

    drawn = cases("check_peak", 0)
    right = [Returned(peak(*c.args)) for c in drawn]
    assert judge("check_peak", drawn, right).passed
    nan_y = [Returned((o.value[0], float("nan"))) for o in right]  # max(0.0, nan) is 0.0
    assert "NaN" in judge("check_peak", drawn, nan_y).message
    liars = [Returned((Liar(o.value[0]), o.value[1])) for o in right]
    assert "subclass of float" in judge("check_peak", drawn, liars).message
