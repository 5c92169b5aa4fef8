"""The grader against submissions that try to fool or abuse it (issue 13's red-team list).

One grading run over a folder of small notebooks, built from a few cells each (no chapter is
executed): an honest notebook with every chapter's solution, its untouched stub, and one
notebook per attack. Every attack must fail, or be contained and reported, and the honest
notebooks graded beside them must still pass.
"""
from __future__ import annotations

import csv
import hashlib
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from classroom import grading, sandbox
from classroom.__main__ import answer_key

ROOT = Path(__file__).resolve().parents[2]
KEY = answer_key(ROOT / "book" / "chapters")
SOLUTIONS = {ex.name: nbformat.read(ROOT / "book" / "chapters" / f"{ch}.ipynb", as_version=4).cells[ex.cell].source
             for ch, exs in KEY.items() for ex in exs}
CHECKS = [[c.function, c.checker] for exs in KEY.values() for ex in exs for c in ex.checks]
IMPORTS = "import numpy as np\nimport torch\nfrom scipy import ndimage\nimport camlib"
STUBS = {f: f"def {f}(*args):\n    raise NotImplementedError('write it')" for f, _ in CHECKS}
ZEROS = {"iou_matrix": "def iou_matrix(a, b):\n    return torch.zeros(len(a), len(b))",
         "region_logit": "def region_logit(features, weight, class_idx, mask):\n"
                         "    return torch.zeros(features.shape[0])"}
ATTACKED = [["iou_matrix", "check_iou_matrix"], ["region_logit", "check_region_logit"]]  # most attacks hand these in
# One planted wrong answer per chapter exercise, and words of the message the grader must return.
WRONG = {
    "class_rank": ("def class_rank(logits, class_idx):\n"
                   "    return (logits > logits.gather(1, class_idx[:, None])).sum(dim=1)", "one too small"),
    "head_params": ("def head_params(n_ch, h, w, num_classes, hidden=()):\n"
                    "    widths = [n_ch * h * w, *hidden, num_classes]\n"
                    "    return sum(a * b for a, b in zip(widths[:-1], widths[1:])), n_ch * num_classes",
                    "count the biases"),
    "masked_gap_head": ("def masked_gap_head(features, mask, weight, bias):\n"
                        "    hw = features.shape[2] * features.shape[3]\n"
                        "    return (features * mask[:, None]).sum(dim=(2, 3)) / hw @ weight.T + bias",
                        "divided the masked sum by h*w"),
    "capture": ("def capture(model, layer, x):\n    kept = {}\n"
                "    layer.register_forward_hook(lambda m, i, o: kept.update(f=o))\n"
                "    with torch.no_grad():\n        model(x)\n    return kept['f']", "still attached"),
    "region_logit": ("def region_logit(features, weight, class_idx, mask):\n"
                     "    maps = torch.einsum('bc,bchw->bhw', weight[class_idx], features)\n"
                     "    return (maps * mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp(min=1)",
                     "mean over the region"),
    "normalize": ("def normalize(maps):\n    peak = maps.amax(dim=(-2, -1), keepdim=True)\n"
                  "    return torch.where(peak != 0, maps / peak, torch.zeros_like(maps))", "apply the ReLU"),
    "mass_box": (SOLUTIONS["mass_box"].replace("int(xs.max()) + 1, int(ys.max()) + 1",
                                               "int(xs.max()), int(ys.max())"), "Off by one"),
    "iou_matrix": ("def iou_matrix(a, b):\n    a, b = a[:, None].double(), b[None].double()\n"
                   "    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0]) + 1)\n"
                   "    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1]) + 1)\n"
                   "    inter = iw.clamp(min=0) * ih.clamp(min=0)\n"
                   "    area = lambda r: (r[..., 2] - r[..., 0] + 1) * (r[..., 3] - r[..., 1] + 1)\n"
                   "    return (inter / (area(a) + area(b) - inter)).float()", "a +1 in the widths"),
    "missed_at_k": ("def missed_at_k(logits, labels, k):\n"
                    "    rank = 1 + (logits > logits.gather(1, labels[:, None])).sum(dim=1)\n"
                    "    return (rank <= k).nonzero().flatten()", "(the hits)"),
    "gradcam_maps": (SOLUTIONS["gradcam_maps"].replace(".relu()", ""), "ReLU is missing"),
}


def notebook(*cells: str, checks=ATTACKED) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["camlib"] = {"chapter": "99_mini", "exercises": [{"checks": checks}]}
    return nb


def digest(folder: Path, pattern: str = "*") -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob(pattern)) if p.is_file()}


def library_digest() -> dict[str, str]:
    """The hashes of the book's packages' source files (camlib and its checkers)."""
    return {f"{name}/{k}": v for name in ("camlib", "cambook") for k, v in digest(ROOT / name, "**/*.py").items()}


class Listener:
    """A TCP server on the host's loopback that counts the connections it gets."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.2)
        self.port, self.connections, self.running = self.sock.getsockname()[1], 0, True
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue


def attacks(subs: Path, out: Path, cache: Path, port: int) -> dict[str, nbformat.NotebookNode]:
    """``{file name: notebook}``: one notebook per attack class, each with wrong or no answers."""
    zeros = "\n\n".join(ZEROS.values())
    return {
        "a01_allclose.ipynb": notebook(IMPORTS, "torch.allclose = lambda *a, **k: True\n"
                                       "torch.equal = lambda *a, **k: True\n"
                                       "import numpy\nnumpy.allclose = lambda *a, **k: True", zeros),
        "a02_getattr.ipynb": notebook(IMPORTS, "import builtins\n_real = builtins.getattr\n"
                                      "def _fake(obj, name, *default):\n"
                                      "    if str(name).startswith('check_') or name in ('judge', 'verdict'):\n"
                                      "        return lambda *a, **k: True\n"
                                      "    return _real(obj, name, *default)\n"
                                      "builtins.getattr = _fake", zeros),
        "a03_reference_importlib.ipynb": notebook(
            IMPORTS, "import importlib\niou_matrix = importlib.import_module('camlib.metrics').iou",
            "from cambook.exercises.chapters import _cam_reference\nregion_logit = _cam_reference"),
        "a04_reference_dunder.ipynb": notebook(
            IMPORTS, "iou_matrix = getattr(__import__('camlib'), 'iou')\niou_matrix.__module__ = '__main__'",
            "def region_logit(features, weight, class_idx, mask):\n    import inspect\n"
            "    for info in inspect.stack():\n"
            "        for value in info.frame.f_locals.values():\n"
            "            if isinstance(value, torch.Tensor) and value.shape == (features.shape[0],):\n"
            "                return value\n"
            "    return torch.zeros(features.shape[0])"),
        "a05_trace_jump.ipynb": notebook(
            IMPORTS, "import sys\n"
            "def _jump(frame, event, arg):\n"
            "    if event == 'call' and 'check' in frame.f_code.co_name or 'judge' in frame.f_code.co_name:\n"
            "        frame.f_trace = _jump\n"
            "    if event == 'line' and frame.f_code.co_name in ('judge', '_grade', 'answer'):\n"
            "        try:\n            frame.f_lineno = frame.f_code.co_firstlineno + 1\n        except Exception:\n"
            "            pass\n"
            "    return _jump\nsys.settrace(_jump)", STUBS["iou_matrix"], STUBS["region_logit"]),
        "a06_stdout_wrapper.ipynb": notebook(
            IMPORTS, "import sys, io\nclass _Rewrite(io.TextIOBase):\n"
            "    def __init__(self, inner):\n        self.inner = inner\n"
            "    def write(self, text):\n"
            "        text = text.replace('\"ok\": false', '\"ok\": true').replace('fail', 'pass')\n"
            "        text = text.replace('FAIL', 'PASS')\n"
            "        return self.inner.write(text)\n"
            "    def flush(self):\n        self.inner.flush()\n"
            "sys.stdout = _Rewrite(sys.stdout)\nsys.stderr = _Rewrite(sys.stderr)", zeros),
        "a07_json_dumps.ipynb": notebook(
            IMPORTS, "import json\n_dumps = json.dumps\n"
            "def _forged(obj, *a, **k):\n"
            "    if isinstance(obj, dict) and 'ok' in obj:\n        obj = dict(obj, ok=True)\n"
            "    return _dumps(obj, *a, **k)\njson.dumps = _forged", zeros),
        "a08_post_run_cell.ipynb": notebook(
            IMPORTS, "import json, re\nfrom IPython.display import publish_display_data\n"
            "ip = get_ipython()\n"
            "def _forge(result=None):\n"
            "    source = ip.user_ns['In'][-1]\n"
            "    nonce = re.search(r'nonce\\W+(\\w{16})', source)\n"
            "    if nonce:\n"
            "        print('@@camlib-grade@@{\"ok\": true, \"message\": \"6 cases passed.\"}')\n"
            "        fake = {'nonce': nonce.group(1), 'results': [{'returned': {'t': 'float', 'v': (1.0).hex()}, "
            "'observed': {}}] * 25}\n"
            "        publish_display_data({'application/vnd.classroom.answer+json': fake})\n"
            "ip.events.register('post_run_cell', _forge)", STUBS["iou_matrix"], STUBS["region_logit"]),
        "a09_other_submission.ipynb": notebook(
            IMPORTS, f"victim = {str(subs / 'z_honest.ipynb')!r}\n"
            "import os\nfound = [p for p in ('../..', '/tmp', os.path.dirname(victim)) if os.path.exists(p)]\n"
            "text = open(victim).read()\nopen(victim, 'w').write(text.replace('return', 'return 0 and'))", zeros),
        "a10_write_outside.ipynb": notebook(
            IMPORTS, "import os\nlanded = []\n"
            f"for target in ({str(subs / 'planted.ipynb')!r}, {str(cache / 'gapnet-0.pt')!r}, "
            f"{str(Path.home() / 'planted.txt')!r}, {str(out)!r}, '/etc/planted', '/usr/planted'):\n"
            "    try:\n        open(target, 'w').write('planted')\n        landed.append(target)\n"
            "    except OSError:\n        pass\n"
            "raise RuntimeError(f'wrote {len(landed)} file(s) outside its folder: {landed}')", zeros),
        "a11_grader_cmdline.ipynb": notebook(
            IMPORTS, "import os\nseen = []\n"
            "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
            "    try:\n        seen.append(open(f'/proc/{pid}/cmdline', 'rb').read().decode(errors='replace'))\n"
            "    except OSError:\n        pass\n"
            f"hits = [c for c in seen if {str(subs)!r} in c or {str(out)!r} in c]\n"
            "raise RuntimeError(f'saw {len(seen)} processes, {len(hits)} of them the grader: {hits[:1]}')", zeros),
        "a12_loopback.ipynb": notebook(
            IMPORTS, "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    outcome = 'connected'\n"
            "except OSError as err:\n    outcome = type(err).__name__\n"
            "raise RuntimeError(f'loopback: {outcome}')", zeros),
        "a13_edit_checker.ipynb": notebook(
            IMPORTS, "from cambook import exercises as ex\n"
            "open(ex.__file__, 'a').write('\\nEXERCISES.clear()\\n')", zeros),
        "a14_memory.ipynb": notebook(
            IMPORTS, "hog = np.ones(16 * 2**30, dtype=np.uint8)", zeros),
        "a15_detached_process.ipynb": notebook(
            IMPORTS, "import subprocess, sys\n"
            f"script = \"import time, pathlib; time.sleep(8); pathlib.Path({str(out)!r}).write_text('hacked')\"\n"
            "child = subprocess.Popen([sys.executable, '-c', script], start_new_session=True)", zeros),
        "a16_stub_after_edit.ipynb": notebook(IMPORTS, STUBS["iou_matrix"], STUBS["region_logit"]),
        "b1_wrong_answers.ipynb": notebook(IMPORTS, *(src for src, _ in WRONG.values()), checks=CHECKS),
        "b2_raises_midway.ipynb": notebook(IMPORTS, SOLUTIONS["iou_matrix"], "print('about to fail')\n1 / 0",
                                           SOLUTIONS["region_logit"]),
        "b3_kills_its_kernel.ipynb": notebook(IMPORTS, "import os\nos._exit(1)", SOLUTIONS["iou_matrix"]),
        "b4_no_exercises.ipynb": notebook("print('no exercises here')", checks=[]),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    subs, cache, out = tmp / "submissions", tmp / "cache", tmp / "grades" / "grades.csv"
    subs.mkdir()
    cache.mkdir()
    (cache / "gapnet-0.pt").write_text("trained")
    listener = Listener()
    honest = notebook(IMPORTS, *SOLUTIONS.values(), checks=CHECKS)
    for name, nb in {**attacks(subs, out, cache, listener.port), "z_honest.ipynb": honest,
                     "a00_honest.ipynb": honest}.items():
        nbformat.write(nb, subs / name)
    (subs / "b5_not_a_notebook.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    before, exercises_before = digest(subs), library_digest()
    settings = grading.Settings(timeout=60, check_timeout=20, cache=cache, scratch=tmp,
                                limits=sandbox.Limits(memory=8 * 2**30, cpu_seconds=300))
    start = time.monotonic()
    grading.grade(subs, out, {}, settings, quiet=True)
    seconds = time.monotonic() - start
    time.sleep(10)  # past the detached process's planned write
    listener.running = False
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {"rows": rows, "csv": out, "before": before, "subs": subs, "cache": cache, "seconds": seconds,
            "listener": listener, "exercises_before": exercises_before, "n": len(before)}


def rows_of(graded, file: str) -> dict[str, dict]:
    return {r["exercise"]: r for r in graded["rows"] if r["file"] == file}


def test_the_honest_notebooks_pass_beside_the_attacks(graded):
    for file in ("a00_honest.ipynb", "z_honest.ipynb"):
        rows = rows_of(graded, file)
        assert len(rows) == 1 + len(CHECKS)
        assert all(r["result"] == "pass" for r in rows.values()), rows
        assert "Note" not in " ".join(r["message"] for r in rows.values())


@pytest.mark.parametrize("file", ["a01_allclose.ipynb", "a02_getattr.ipynb", "a05_trace_jump.ipynb",
                                  "a06_stdout_wrapper.ipynb", "a07_json_dumps.ipynb", "a08_post_run_cell.ipynb",
                                  "a16_stub_after_edit.ipynb"])
def test_patching_the_kernel_cannot_change_a_verdict(graded, file):
    rows = rows_of(graded, file)
    assert ({k: r["result"] for k, r in rows.items() if k != grading.NOTEBOOK}
            == {"iou_matrix": "fail", "region_logit": "fail"})


def test_reaching_into_the_grader_is_noted_for_the_teacher(graded):
    assert ("installs a trace function (`sys.settrace`)"
            in rows_of(graded, "a05_trace_jump.ipynb")[grading.NOTEBOOK]["message"])
    assert "hooks IPython events" in rows_of(graded, "a08_post_run_cell.ipynb")[grading.NOTEBOOK]["message"]
    assert "replaces a torch function" in rows_of(graded, "a01_allclose.ipynb")[grading.NOTEBOOK]["message"]


def test_forged_answers_are_judged_as_data(graded):
    rows = rows_of(graded, "a08_post_run_cell.ipynb")
    message = rows["iou_matrix"]["message"]
    assert "not implemented yet" in message or "more than one answer" in message
    assert rows_of(graded, "a01_allclose.ipynb")["region_logit"]["result"] == "fail"


def test_reaching_the_reference_is_reported(graded):
    rows = rows_of(graded, "a03_reference_importlib.ipynb")
    assert "camlib imported by a name in a string ('camlib.metrics')" in rows["iou_matrix"]["message"]
    assert "`cambook.exercises` internals" in rows["region_logit"]["message"]
    dunder = rows_of(graded, "a04_reference_dunder.ipynb")
    assert "`camlib.metrics.iou` (named in a string)" in dunder["iou_matrix"]["message"], dunder["iou_matrix"]
    assert dunder["region_logit"]["result"] == "fail", "the harness's frames hold no reference to steal"


def test_other_submissions_are_out_of_reach(graded):
    assert digest(graded["subs"]) == graded["before"], "the submissions folder changed"
    head = rows_of(graded, "a09_other_submission.ipynb")[grading.NOTEBOOK]
    assert head["result"] == "fail" and ("FileNotFoundError" in head["message"] or "PermissionError" in head["message"])


def test_writes_outside_its_folder_do_not_land(graded):
    head = rows_of(graded, "a10_write_outside.ipynb")[grading.NOTEBOOK]
    assert "wrote 0 file(s) outside its folder" in head["message"], head
    assert (graded["cache"] / "gapnet-0.pt").read_text() == "trained"
    assert not (Path.home() / "planted.txt").exists()


def test_the_grader_is_invisible(graded):
    head = rows_of(graded, "a11_grader_cmdline.ipynb")[grading.NOTEBOOK]
    assert ", 0 of them the grader" in head["message"], head


def test_no_network_not_even_loopback(graded):
    head = rows_of(graded, "a12_loopback.ipynb")[grading.NOTEBOOK]
    assert "loopback: " in head["message"] and "loopback: connected" not in head["message"], head
    assert graded["listener"].connections == 0


def test_the_checker_source_is_read_only(graded):
    head = rows_of(graded, "a13_edit_checker.ipynb")[grading.NOTEBOOK]
    assert head["result"] == "fail" and ("Read-only" in head["message"] or "Permission" in head["message"]), head
    assert library_digest() == graded["exercises_before"]
    stub = rows_of(graded, "a16_stub_after_edit.ipynb")
    assert stub["iou_matrix"]["result"] == "fail" and "not implemented yet" in stub["iou_matrix"]["message"]


def test_a_memory_blow_up_is_contained(graded):
    rows = rows_of(graded, "a14_memory.ipynb")
    assert "MemoryError: Unable to allocate 16.0 GiB" in rows[grading.NOTEBOOK]["message"], rows[grading.NOTEBOOK]
    assert rows["iou_matrix"]["result"] == "fail"
    assert rows_of(graded, "a15_detached_process.ipynb")  # graded after it, in a fresh sandbox


def test_a_detached_process_is_killed_before_the_grades_are_written(graded):
    head = rows_of(graded, "a15_detached_process.ipynb")[grading.NOTEBOOK]
    assert head["result"] == "fail" and "left 1 process(es) running" in head["message"], head
    assert "hacked" not in graded["csv"].read_text(encoding="utf-8")


def test_the_summary_says_the_run_was_sandboxed(graded):
    text = grading.summary_path(graded["csv"]).read_text(encoding="utf-8")
    assert text.startswith("Sandboxed: each notebook ran in its own bubblewrap sandbox")
    assert f"{graded['n']} notebook(s)" in text


@pytest.mark.parametrize("function", sorted(WRONG))
def test_planted_wrong_answers_get_their_message(graded, function):
    row = rows_of(graded, "b1_wrong_answers.ipynb")[function]
    assert row["result"] == "fail" and WRONG[function][1] in row["message"], row


def test_a_notebook_that_raises_is_reported_and_still_graded(graded):
    rows = rows_of(graded, "b2_raises_midway.ipynb")
    head = rows[grading.NOTEBOOK]
    assert head["result"] == "fail" and "code cell 3 (`print('about to fail')`): ZeroDivisionError" in head["message"]
    assert rows["iou_matrix"]["result"] == "pass" and rows["region_logit"]["result"] == "pass"  # after the error


def test_a_notebook_that_kills_its_kernel_is_reported(graded):
    rows = rows_of(graded, "b3_kills_its_kernel.ipynb")
    assert "the kernel died in code cell 2 (`import os`)" in rows.pop(grading.NOTEBOOK)["message"]
    assert all(r["result"] == "fail" and r["message"].startswith("not graded: the kernel died") for r in rows.values())


def test_unreadable_and_unknown_notebooks_are_reported(graded):
    (broken,) = rows_of(graded, "b5_not_a_notebook.ipynb").values()
    assert broken["result"] == "fail" and "not a readable notebook" in broken["message"]
    (notes,) = rows_of(graded, "b4_no_exercises.ipynb").values()
    assert notes["result"] == "fail" and "no exercises to grade" in notes["message"]


def test_csv_columns(graded):
    assert list(graded["rows"][0]) == list(grading.Row.FIELDS)
    assert {r["result"] for r in graded["rows"]} == {"pass", "fail"}


def test_grading_time_per_notebook(graded):
    per_notebook = graded["seconds"] / graded["n"]
    print(f"\ngrading time: {per_notebook:.1f} s per notebook ({graded['n']} notebooks, {graded['seconds']:.0f} s)")
    assert per_notebook < 30
