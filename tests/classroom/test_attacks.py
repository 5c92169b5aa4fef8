"""The grader against submissions that try to fool or abuse it (issues 13 and 18), and as a teacher runs it.

One grading run (two notebooks at a time) over a folder of small notebooks, built from a few
cells each (no chapter is executed): an honest notebook with every chapter's solution, one
notebook per attack, and a small class handing in a two-exercise chapter (``91_alpha``, of a
made-up answer key) the ways a teacher's students do. Every attack must fail, or be contained
and reported, and the honest notebooks graded beside them must keep their points.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from classroom import cgroups, grading, kernel, safe, sandbox, think
from classroom.edition import Check, Exercise, answer_key
from classroom.points import Points

ROOT = Path(__file__).resolve().parents[2]
KEY = answer_key(ROOT / "book" / "chapters")
SOLUTIONS = {
    ex.name: nbformat.read(ROOT / "book" / "chapters" / f"{ch}.ipynb", as_version=4).cells[ex.cell].source
    for ch, exs in KEY.items()
    for ex in exs
}
CHECKS = [[c.function, c.checker] for exs in KEY.values() for ex in exs for c in ex.checks]
IMPORTS = "import numpy as np\nimport torch\nfrom scipy import ndimage\nimport camlib"
STUBS = {f: f"def {f}(*args):\n    raise NotImplementedError('write it')" for f, _ in CHECKS}
ZEROS = {
    "iou_matrix": "def iou_matrix(a, b):\n    return torch.zeros(len(a), len(b))",
    "region_logit": "def region_logit(features, weight, class_idx, mask):\n    return torch.zeros(features.shape[0])",
}
ATTACKED = [["iou_matrix", "check_iou_matrix"], ["region_logit", "check_region_logit"]]  # most attacks hand these in
# One planted wrong answer per chapter exercise, and words of the message the grader must return.
WRONG = {
    "class_rank": (
        "def class_rank(logits, class_idx):\n    return (logits > logits.gather(1, class_idx[:, None])).sum(dim=1)",
        "one too small",
    ),
    "head_params": (
        "def head_params(n_ch, h, w, num_classes, hidden=()):\n"
        "    widths = [n_ch * h * w, *hidden, num_classes]\n"
        "    return sum(a * b for a, b in zip(widths[:-1], widths[1:])), n_ch * num_classes",
        "count the biases",
    ),
    "masked_gap_head": (
        "def masked_gap_head(features, mask, weight, bias):\n"
        "    hw = features.shape[2] * features.shape[3]\n"
        "    return (features * mask[:, None]).sum(dim=(2, 3)) / hw @ weight.T + bias",
        "divided the masked sum by h*w",
    ),
    "capture": (
        "def capture(model, layer, x):\n    kept = {}\n"
        "    layer.register_forward_hook(lambda m, i, o: kept.update(f=o))\n"
        "    with torch.no_grad():\n        model(x)\n    return kept['f']",
        "still attached",
    ),
    "region_logit": (
        "def region_logit(features, weight, class_idx, mask):\n"
        "    maps = torch.einsum('bc,bchw->bhw', weight[class_idx], features)\n"
        "    return (maps * mask).sum(dim=(1, 2)) / mask.sum(dim=(1, 2)).clamp(min=1)",
        "mean over the region",
    ),
    "normalize": (
        "def normalize(maps):\n    peak = maps.amax(dim=(-2, -1), keepdim=True)\n"
        "    return torch.where(peak != 0, maps / peak, torch.zeros_like(maps))",
        "apply the ReLU",
    ),
    "mass_box": (
        SOLUTIONS["mass_box"].replace("int(xs.max()) + 1, int(ys.max()) + 1", "int(xs.max()), int(ys.max())"),
        "Off by one",
    ),
    "iou_matrix": (
        "def iou_matrix(a, b):\n    a, b = a[:, None].double(), b[None].double()\n"
        "    iw = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0]) + 1)\n"
        "    ih = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1]) + 1)\n"
        "    inter = iw.clamp(min=0) * ih.clamp(min=0)\n"
        "    area = lambda r: (r[..., 2] - r[..., 0] + 1) * (r[..., 3] - r[..., 1] + 1)\n"
        "    return (inter / (area(a) + area(b) - inter)).float()",
        "a +1 in the widths",
    ),
    "missed_at_k": (
        "def missed_at_k(logits, labels, k):\n"
        "    rank = 1 + (logits > logits.gather(1, labels[:, None])).sum(dim=1)\n"
        "    return (rank <= k).nonzero().flatten()",
        "(the hits)",
    ),
    "gradcam_maps": (SOLUTIONS["gradcam_maps"].replace(".relu()", ""), "ReLU is missing"),
}


def notebook(*cells: str, checks=ATTACKED) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["camlib"] = {"chapter": "99_mini", "exercises": [{"checks": checks}]}
    return nb


def digest(folder: Path, pattern: str = "*") -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob(pattern))
        if p.is_file()
    }


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


USERNS = (
    "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
    "made = libc.unshare(0x10000000) == 0  # CLONE_NEWUSER: a user namespace of its own\n"
    "raise RuntimeError('userns: ' + ('made' if made else os.strerror(ctypes.get_errno())))"
)


def attacks(subs: Path, out: Path, cache: Path, port: int) -> dict[str, nbformat.NotebookNode]:
    """``{file name: notebook}``: one notebook per attack class, each with wrong or no answers."""
    zeros = "\n\n".join(ZEROS.values())
    nbs = {
        "a01_allclose.ipynb": notebook(
            IMPORTS,
            "torch.allclose = lambda *a, **k: True\n"
            "torch.equal = lambda *a, **k: True\n"
            "import numpy\nnumpy.allclose = lambda *a, **k: True",
            zeros,
        ),
        "a02_getattr.ipynb": notebook(
            IMPORTS,
            "import builtins\n_real = builtins.getattr\n"
            "def _fake(obj, name, *default):\n"
            "    if str(name).startswith('check_') or name in ('judge', 'verdict'):\n"
            "        return lambda *a, **k: True\n"
            "    return _real(obj, name, *default)\n"
            "builtins.getattr = _fake",
            zeros,
        ),
        "a03_reference_importlib.ipynb": notebook(
            IMPORTS,
            "import importlib\niou_matrix = importlib.import_module('camlib.metrics').iou",
            "from cambook.exercises.chapters import cam_reference\nregion_logit = cam_reference",
        ),
        "a04_reference_dunder.ipynb": notebook(
            IMPORTS,
            "iou_matrix = getattr(__import__('camlib'), 'iou')\niou_matrix.__module__ = '__main__'",
            "def region_logit(features, weight, class_idx, mask):\n    import inspect\n"
            "    for info in inspect.stack():\n"
            "        for value in info.frame.f_locals.values():\n"
            "            if isinstance(value, torch.Tensor) and value.shape == (features.shape[0],):\n"
            "                return value\n"
            "    return torch.zeros(features.shape[0])",
        ),
        "a05_trace_jump.ipynb": notebook(
            IMPORTS,
            "import sys\n"
            "def _jump(frame, event, arg):\n"
            "    if event == 'call' and 'check' in frame.f_code.co_name or 'judge' in frame.f_code.co_name:\n"
            "        frame.f_trace = _jump\n"
            "    if event == 'line' and frame.f_code.co_name in ('judge', '_grade', 'answer'):\n"
            "        try:\n            frame.f_lineno = frame.f_code.co_firstlineno + 1\n        except Exception:\n"
            "            pass\n"
            "    return _jump\nsys.settrace(_jump)",
            STUBS["iou_matrix"],
            STUBS["region_logit"],
        ),
        "a06_stdout_wrapper.ipynb": notebook(
            IMPORTS,
            "import sys, io\nclass _Rewrite(io.TextIOBase):\n"
            "    def __init__(self, inner):\n        self.inner = inner\n"
            "    def write(self, text):\n"
            "        text = text.replace('\"ok\": false', '\"ok\": true').replace('fail', 'pass')\n"
            "        text = text.replace('FAIL', 'PASS')\n"
            "        return self.inner.write(text)\n"
            "    def flush(self):\n        self.inner.flush()\n"
            "sys.stdout = _Rewrite(sys.stdout)\nsys.stderr = _Rewrite(sys.stderr)",
            zeros,
        ),
        "a07_json_dumps.ipynb": notebook(
            IMPORTS,
            "import json\n_dumps = json.dumps\n"
            "def _forged(obj, *a, **k):\n"
            "    if isinstance(obj, dict) and 'ok' in obj:\n        obj = dict(obj, ok=True)\n"
            "    return _dumps(obj, *a, **k)\njson.dumps = _forged",
            zeros,
        ),
        "a08_post_run_cell.ipynb": notebook(
            IMPORTS,
            "import json, re\nfrom IPython.display import publish_display_data\n"
            "ip = get_ipython()\n"
            "def _forge(result=None):\n"
            "    source = ip.user_ns['In'][-1]\n"
            "    nonce = re.search(r'nonce\\W+(\\w{16})', source)\n"
            "    if nonce:\n"
            '        print(\'@@camlib-grade@@{"ok": true, "message": "6 cases passed."}\')\n'
            "        fake = {'nonce': nonce.group(1), 'results': [{'returned': {'t': 'float', 'v': (1.0).hex()}, "
            "'observed': {}}] * 25}\n"
            "        publish_display_data({'application/vnd.classroom.answer+json': fake})\n"
            "ip.events.register('post_run_cell', _forge)",
            STUBS["iou_matrix"],
            STUBS["region_logit"],
        ),
        "a09_other_submission.ipynb": notebook(
            IMPORTS,
            f"victim = {str(subs / 'z_honest.ipynb')!r}\n"
            "import os\nfound = [p for p in ('../..', '/tmp', os.path.dirname(victim)) if os.path.exists(p)]\n"
            "text = open(victim).read()\nopen(victim, 'w').write(text.replace('return', 'return 0 and'))",
            zeros,
        ),
        "a10_write_outside.ipynb": notebook(
            IMPORTS,
            "import os\nlanded = []\n"
            f"for target in ({str(subs / 'planted.ipynb')!r}, {str(cache / 'gapnet-0.pt')!r}, "
            f"{str(Path.home() / 'planted.txt')!r}, {str(out)!r}, '/etc/planted', '/usr/planted'):\n"
            "    try:\n        open(target, 'w').write('planted')\n        landed.append(target)\n"
            "    except OSError:\n        pass\n"
            "raise RuntimeError(f'wrote {len(landed)} file(s) outside its folder: {landed}')",
            zeros,
        ),
        "a11_grader_cmdline.ipynb": notebook(
            IMPORTS,
            "import os\nseen = []\n"
            "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
            "    try:\n        seen.append(open(f'/proc/{pid}/cmdline', 'rb').read().decode(errors='replace'))\n"
            "    except OSError:\n        pass\n"
            f"hits = [c for c in seen if {str(subs)!r} in c or {str(out)!r} in c]\n"
            "raise RuntimeError(f'saw {len(seen)} processes, {len(hits)} of them the grader: {hits[:1]}')",
            zeros,
        ),
        "a12_loopback.ipynb": notebook(
            IMPORTS,
            "import socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n    outcome = 'connected'\n"
            "except OSError as err:\n    outcome = type(err).__name__\n"
            "raise RuntimeError(f'loopback: {outcome}')",
            zeros,
        ),
        "a13_edit_checker.ipynb": notebook(
            IMPORTS,
            "from cambook import exercises as ex\nopen(ex.__file__, 'a').write('\\nEXERCISES.clear()\\n')",
            zeros,
        ),
        "a14_memory.ipynb": notebook(IMPORTS, "hog = np.ones(16 * 2**30, dtype=np.uint8)", zeros),
        "a15_detached_process.ipynb": notebook(
            IMPORTS,
            "import subprocess, sys\n"
            f"script = \"import time, pathlib; time.sleep(8); pathlib.Path({str(out)!r}).write_text('hacked')\"\n"
            "child = subprocess.Popen([sys.executable, '-c', script], start_new_session=True)",
            zeros,
        ),
        "a16_stub_after_edit.ipynb": notebook(IMPORTS, STUBS["iou_matrix"], STUBS["region_logit"], USERNS),
        "b1_wrong_answers.ipynb": notebook(IMPORTS, *(src for src, _ in WRONG.values()), checks=CHECKS),
        "b2_raises_midway.ipynb": notebook(
            IMPORTS, SOLUTIONS["iou_matrix"], "print('about to fail')\n1 / 0", SOLUTIONS["region_logit"]
        ),
        "b3_kills_its_kernel.ipynb": notebook(IMPORTS, "import os\nos._exit(1)", SOLUTIONS["iou_matrix"]),
        "b4_no_exercises.ipynb": notebook("print('no exercises here')", checks=[]),
    }

    def join(*names: str) -> nbformat.NotebookNode:  # one kernel for several attacks: a faster run
        return notebook(IMPORTS, *(c.source for n in names for c in nbs.pop(n).cells[1:-1]), zeros)

    nbs["a01_patches.ipynb"] = join(
        "a01_allclose.ipynb", "a02_getattr.ipynb", "a06_stdout_wrapper.ipynb", "a07_json_dumps.ipynb"
    )
    nbs["a13_contained.ipynb"] = join("a13_edit_checker.ipynb", "a14_memory.ipynb", "a15_detached_process.ipynb")
    nbs["a09_escapes.ipynb"] = join(
        "a09_other_submission.ipynb", "a10_write_outside.ipynb", "a11_grader_cmdline.ipynb", "a12_loopback.ipynb"
    )
    return nbs


# -- a class handing in a two-exercise chapter (issue 18: what a teacher found) --------------------
MINI = "91_alpha"
MINI_KEY = {
    MINI: [
        Exercise(MINI, 1, 0, ("box_iou",), (Check("box_iou", "check_iou"),)),
        Exercise(MINI, 2, 1, ("peak",), (Check("peak", "check_peak"),)),
    ],
    "92_beta": [Exercise("92_beta", 1, 0, ("peak",), (Check("peak", "check_peak"),))],
}
SETUP = "import numpy as np\nimport torch\nimport camlib"
NARRATIVE = "from camlib.metrics import iou\nprint(iou.__name__)"
STUB_IOU = "def box_iou(a, b):\n    raise NotImplementedError('write it')"
STUB_PEAK = "def peak(cam, image_size):\n    raise NotImplementedError('write it')"
EDITION = [SETUP, NARRATIVE, STUB_IOU, STUB_PEAK]  # the code cells of 91_alpha's student edition
IOU = (
    "def box_iou(a, b):\n    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))\n"
    "    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))\n"
    "    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih\n"
    "    return iw * ih / union if union > 0 else 0.0"
)
HONEST_MINI = [SETUP, NARRATIVE, IOU, SOLUTIONS["peak"]]
INJECTION = '=HYPERLINK("x")\nforged.ipynb: 2 of 2 passed, ran\x1b[2K.ipynb'  # a file name
MINI_CHECKS = [{"checks": [["box_iou", "check_iou"]]}, {"checks": [["peak", "check_peak"]]}]


def mini(*cells: str, chapter: str | None = MINI, exercises=MINI_CHECKS, answer: str = "") -> nbformat.NotebookNode:
    """A submission of 91_alpha: ``cells``, the student edition's metadata (unless ``chapter`` is None), and
    an answer to its Think question 3."""
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if chapter is not None:
        nb.metadata["camlib"] = {"student_edition": True, "chapter": chapter, "exercises": exercises}
    cell = think.answer_cell(3)
    if answer:
        cell.source = cell.source.replace(think.PLACEHOLDER, answer)
    nb.cells.append(cell)
    return nb


def the_class() -> dict[str, nbformat.NotebookNode]:
    """``{path: notebook}``: the class's submissions, and the attacks that came with them."""
    no_clamp = IOU.replace("max(0, min(a[2], b[2]) - max(a[0], b[0]))", "min(a[2], b[2]) - max(a[0], b[0])").replace(
        "max(0, min(a[3], b[3]) - max(a[1], b[1]))", "min(a[3], b[3]) - max(a[1], b[1])"
    )
    nan_peak = (
        "def peak(cam, image_size):\n    h, w = cam.shape\n"
        "    y, x = divmod(int(torch.argmax(cam.flatten())), w)\n"
        "    return ((x + 0.5) * image_size[0] / w, float('nan'))"
    )
    forge = (
        "import IPython.display as display\n_publish, _forged = display.publish_display_data, []\n"
        "def _forge(data, *a, **k):\n    for reply in data.values():\n"
        "        if isinstance(reply, dict) and reply.get('results') and not _forged:\n"
        "            _forged.append(1)\n"
        "            reply['results'][0]['returned'] = {'t': 'int', 'v': '\u00b2'}\n"
        "    return _publish(data, *a, **k)\ndisplay.publish_display_data = _forge"
    )
    spam = (
        "from IPython.display import publish_display_data\n"
        "def _spam(*a, **k):\n    for n in range(12):\n"
        "        publish_display_data({'application/vnd.classroom.answer+json': {'nonce': f'{n:016x}', "
        "'results': []}})\nget_ipython().events.register('pre_run_cell', _spam)"
    )
    hidden_hook = (
        "import cambook.exercises, cambook.exercises.core\n"
        "cambook.exercises.observe = cambook.exercises.core.observe = lambda args: {'hooks': 0, 'grads': 0}"
    )
    swap_socket = (
        "import os, sys\nfolder = os.path.dirname(sys.argv[sys.argv.index('-f') + 1])\n"
        "name = os.path.join(folder, 'kernel-ipc-1')  # the shell socket (jupyter's ipc naming)\n"
        "os.unlink(name)\nos.symlink('/run/host.sock', name)"
    )
    fill = (
        "import os\nout = []\ntry:\n    open('/dev/shm/big', 'wb').write(b'0' * (300 * 2**20))\n"
        "    out.append('shm: wrote 300 MiB')\nexcept OSError as err:\n"
        "    out.append(f'shm: {type(err).__name__}')\n"
        "os.makedirs('many', exist_ok=True)\ntry:\n    for n in range(25_000):\n"
        "        open(f'many/{n}', 'w').close()\n    out.append('files: 25000')\n"
        "except OSError as err:\n    out.append(f'files: {type(err).__name__}')\n"
        "raise RuntimeError('; '.join(out))"
    )
    children = (
        "import subprocess, sys\nkids = [subprocess.Popen([sys.executable, '-c', "
        "'b = bytearray(900 * 2**20); import time; time.sleep(4)']) for _ in range(3)]\n"
        "codes = [k.wait() for k in kids]\nraise RuntimeError(f'{codes.count(0)} of 3 children held 900 MB')"
    )
    deep = "%%writefile deep.py\ntotal = " + " + ".join(["1"] * 3000)  # only the grader parses it
    formula = [["=2+5+cmd|' /C calc'!A0\nforged.ipynb  91_alpha  3/3  ok", "check_iou"]]
    return {
        "alice/91_alpha.ipynb": mini(*HONEST_MINI, answer="The map doubles: 14 x 14, since GAP takes any size."),
        "bob_91_alpha.ipynb": mini(*EDITION),  # untouched stubs
        "carol_91_alpha.ipynb": mini(SETUP, no_clamp, nan_peak),
        "dave_91_alpha.ipynb": mini(SETUP, IOU, chapter=None),  # no metadata; peak and its check cell deleted
        "erin_92_beta.ipynb": mini(*HONEST_MINI),  # named for 92_beta, the metadata of 91_alpha
        "frank_homework.ipynb": mini(*HONEST_MINI, chapter=None),  # no chapter anywhere
        "grace_91_alpha.ipynb": mini(
            *HONEST_MINI, exercises=[{"checks": [["box_iou", "check_iou"]] * 5 + [["steal", "check_topk"]]}]
        ),
        "henry_91_alpha.ipynb": mini(
            *HONEST_MINI, deep, "import sys\nref = sys.modules['cam' + 'lib'].iou", exercises=5
        ),  # odd metadata, a 3,000-term sum, the reference by a built name
        "judy_91_alpha.ipynb": mini(SETUP, forge, IOU, SOLUTIONS["peak"]),
        "kim_91_alpha.ipynb": mini(SETUP, spam, IOU, SOLUTIONS["peak"]),
        INJECTION: notebook(IMPORTS, hidden_hook, WRONG["capture"][0], checks=[["capture", "check_hook"], *formula]),
        "mia_91_alpha.ipynb": mini(*HONEST_MINI, swap_socket, fill),
        "p_children.ipynb": notebook(IMPORTS, children),
    }


# -- time limits: a cell that loops is interrupted, a kernel that ignores the interrupt is killed, and a
# function that loops during its check is stopped; the grading goes on --------------------------------
TIMEOUT, CHECK_TIMEOUT = 30, 15  # seconds: the run's limits (long enough for a busy two-core machine)
LIMITS_CHECKS = [["box_iou", "check_iou"], ["spin", "check_misclassified"], ["late", "check_iou"]]


def limits() -> dict[str, nbformat.NotebookNode]:
    """Notebooks that run past the time limits."""

    def tiny(*cells: str) -> nbformat.NotebookNode:
        nb = new_notebook(cells=[new_code_cell(c) for c in cells])
        nb.metadata["camlib"] = {"chapter": "98_tiny", "exercises": [{"checks": LIMITS_CHECKS}]}
        return nb

    return {
        "t_ignores_interrupts.ipynb": tiny(
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
        ),
        "t_loops.ipynb": tiny(
            IOU,
            "def spin(logits, labels):\n    while True:\n        pass",
            "while True:\n    pass",
            "def late(a, b):\n    return 0.0",
        ),
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
    for name, nb in {**attacks(subs, out, cache, listener.port), **the_class(), "z_honest.ipynb": honest}.items():
        (subs / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, subs / name)
    (subs / "b5_not_a_notebook.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    no_source = notebook("x = 1", *HONEST_MINI)
    no_source.cells.insert(0, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None})
    (subs / "ivan_91_alpha.ipynb").write_text(json.dumps(no_source), encoding="utf-8")  # not valid nbformat
    for name, nb in limits().items():
        nbformat.write(nb, subs / name)
    before, exercises_before = digest(subs), library_digest()
    grace, kernel.INTERRUPT_GRACE = kernel.INTERRUPT_GRACE, 3
    settings = grading.Settings(
        timeout=TIMEOUT,
        check_timeout=CHECK_TIMEOUT,
        cache=cache,
        scratch=tmp,
        jobs=4,
        limits=sandbox.Limits(memory=8 * 2**30, cpu_seconds=300, ram=2 * 2**30),
        editions={MINI: frozenset(s.strip() for s in EDITION)},
        points=Points(),
    )
    start = time.monotonic()
    progress = io.StringIO()
    try:
        with contextlib.redirect_stdout(progress):
            grading.grade(subs, out, MINI_KEY, settings)
    finally:
        kernel.INTERRUPT_GRACE = grace
    seconds = time.monotonic() - start
    # past the detached process's planned write (8 s after it started): a13 is among the first notebooks of a
    # run that lasts far longer, so this waits only on a run shorter than that
    time.sleep(max(0.0, 10 - seconds))
    listener.running = False
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "rows": rows,
        "csv": out,
        "before": before,
        "progress": progress.getvalue(),
        "out": out,
        "subs": subs,
        "cache": cache,
        "seconds": seconds,
        "listener": listener,
        "exercises_before": exercises_before,
        "n": len(before),
    }


def rows_of(graded, file: str) -> dict[str, dict]:
    return {r["exercise"]: r for r in graded["rows"] if r["file"] == file}


def test_the_honest_notebooks_pass_beside_the_attacks(graded):
    for file in ("z_honest.ipynb",):
        rows = rows_of(graded, file)
        assert len(rows) == 1 + len(CHECKS)
        assert all(r["result"] == "pass" for r in rows.values()), rows
        assert all(r["teacher_notes"] == "" for r in rows.values()), rows


@pytest.mark.parametrize(
    "file", ["a01_patches.ipynb", "a05_trace_jump.ipynb", "a08_post_run_cell.ipynb", "a16_stub_after_edit.ipynb"]
)
def test_patching_the_kernel_cannot_change_a_verdict(graded, file):
    rows = rows_of(graded, file)
    assert {k: r["result"] for k, r in rows.items() if k != grading.NOTEBOOK} == {
        "iou_matrix": "fail",
        "region_logit": "fail",
    }


def test_reaching_into_the_grader_is_noted_for_the_teacher(graded):
    assert (
        "installs a trace function (`sys.settrace`)"
        in rows_of(graded, "a05_trace_jump.ipynb")[grading.NOTEBOOK]["teacher_notes"]
    )
    assert "hooks IPython events" in rows_of(graded, "a08_post_run_cell.ipynb")[grading.NOTEBOOK]["teacher_notes"]
    assert "replaces a torch function" in rows_of(graded, "a01_patches.ipynb")[grading.NOTEBOOK]["teacher_notes"]
    for file in ("a01_patches.ipynb", "a05_trace_jump.ipynb"):  # the student's feedback holds none of it
        assert "replaces" not in " ".join(r["message"] for r in rows_of(graded, file).values())


def test_forged_answers_are_judged_as_data(graded):
    rows = rows_of(graded, "a08_post_run_cell.ipynb")
    message = rows["iou_matrix"]["message"]
    assert "not implemented yet" in message or "more than one answer" in message
    assert rows_of(graded, "a01_patches.ipynb")["region_logit"]["result"] == "fail"


def test_reaching_the_reference_is_reported(graded):
    rows = rows_of(graded, "a03_reference_importlib.ipynb")
    assert "camlib imported by a name in a string ('camlib.metrics')" in rows["iou_matrix"]["teacher_notes"]
    assert "`cambook.exercises` internals" in rows["region_logit"]["teacher_notes"]
    dunder = rows_of(graded, "a04_reference_dunder.ipynb")
    assert "`camlib.metrics.iou` (named in a string)" in dunder["iou_matrix"]["teacher_notes"], dunder["iou_matrix"]
    assert dunder["region_logit"]["result"] == "fail", "the harness's frames hold no reference to steal"


def test_other_submissions_are_out_of_reach(graded):
    assert digest(graded["subs"]) == graded["before"], "the submissions folder changed"
    head = rows_of(graded, "a09_escapes.ipynb")[grading.NOTEBOOK]
    assert head["result"] == "fail" and ("FileNotFoundError" in head["message"] or "PermissionError" in head["message"])


def test_writes_outside_its_folder_do_not_land(graded):
    head = rows_of(graded, "a09_escapes.ipynb")[grading.NOTEBOOK]
    assert "wrote 0 file(s) outside its folder" in head["message"], head
    assert (graded["cache"] / "gapnet-0.pt").read_text() == "trained"
    assert not (Path.home() / "planted.txt").exists()


def test_the_grader_is_invisible(graded):
    head = rows_of(graded, "a09_escapes.ipynb")[grading.NOTEBOOK]
    assert ", 0 of them the grader" in head["message"], head


def test_no_network_not_even_loopback(graded):
    head = rows_of(graded, "a09_escapes.ipynb")[grading.NOTEBOOK]
    assert "loopback: " in head["message"] and "loopback: connected" not in head["message"], head
    assert graded["listener"].connections == 0


def test_the_checker_source_is_read_only(graded):
    head = rows_of(graded, "a13_contained.ipynb")[grading.NOTEBOOK]
    assert head["result"] == "fail" and ("Read-only" in head["message"] or "Permission" in head["message"]), head
    assert library_digest() == graded["exercises_before"]
    stub = rows_of(graded, "a16_stub_after_edit.ipynb")
    assert stub["iou_matrix"]["result"] == "fail" and "not implemented yet" in stub["iou_matrix"]["message"]


def test_a_memory_blow_up_is_contained(graded):
    rows = rows_of(graded, "a13_contained.ipynb")
    assert "MemoryError: Unable to allocate 16.0 GiB" in rows[grading.NOTEBOOK]["message"], rows[grading.NOTEBOOK]
    assert rows["iou_matrix"]["result"] == "fail"
    assert rows_of(graded, "a13_contained.ipynb")  # graded after it, in a fresh sandbox


def test_a_detached_process_is_killed_before_the_grades_are_written(graded):
    head = rows_of(graded, "a13_contained.ipynb")[grading.NOTEBOOK]
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
    assert {r["result"] for r in graded["rows"]} == {"pass", "fail", "manual"}


def test_grading_time_per_notebook(graded):
    per_notebook = graded["seconds"] / graded["n"]
    print(f"\ngrading time: {per_notebook:.1f} s per notebook ({graded['n']} notebooks, {graded['seconds']:.0f} s)")
    assert per_notebook < 30


# -- issue 18 ---------------------------------------------------------------------------------------
def test_an_honest_student_keeps_every_point_and_gets_no_note(graded):
    rows = rows_of(graded, "alice/91_alpha.ipynb")
    assert [(r["exercise"], r["result"], r["points"], r["max_points"]) for r in rows.values()] == [
        (grading.NOTEBOOK, "pass", "0", "0"),
        ("box_iou", "pass", "10", "10"),
        ("peak", "pass", "10", "10"),
        ("Think 3", "manual", "0", "0"),
    ]
    assert all(r["student"] == "alice" and r["teacher_notes"] == "" for r in rows.values()), rows
    assert rows["Think 3"]["message"] == "The map doubles: 14 x 14, since GAP takes any size."
    for file in (
        "judy_91_alpha.ipynb",
        "kim_91_alpha.ipynb",
        "mia_91_alpha.ipynb",
        "grace_91_alpha.ipynb",
        "henry_91_alpha.ipynb",
    ):  # attacks: their honest functions keep their points
        assert rows_of(graded, file)["peak"]["points"] == "10", (file, rows_of(graded, file))


def test_untouched_stubs_and_the_chapter_own_code_get_no_note(graded):
    rows = rows_of(graded, "bob_91_alpha.ipynb")
    assert [r["result"] for k, r in rows.items() if k != grading.NOTEBOOK and r["checker"] != "think"] == [
        "fail",
        "fail",
    ]
    assert all(r["teacher_notes"] == "" for r in rows.values()), rows
    assert rows["Think 3"]["message"] == "(no answer)"


def test_indirect_reference_access_is_noted(graded):
    head = rows_of(graded, "henry_91_alpha.ipynb")[grading.NOTEBOOK]
    assert "`sys.modules`" in head["teacher_notes"], head


def test_partial_credit_by_cases_and_nan_is_not_an_answer(graded):
    rows = rows_of(graded, "carol_91_alpha.ipynb")
    iou = rows["box_iou"]
    assert iou["result"] == "fail" and 0 < int(iou["cases_passed"]) < int(iou["cases"]), iou
    assert float(iou["points"]) == round(10 * int(iou["cases_passed"]) / int(iou["cases"]), 2)
    assert f"({iou['cases_passed']} of {iou['cases']} cases passed.)" in iou["message"]
    assert rows["peak"]["result"] == "fail" and "NaN" in rows["peak"]["message"], rows["peak"]
    assert rows["peak"]["points"] == "0"


def test_every_expected_exercise_has_a_row(graded):
    dave = rows_of(graded, "dave_91_alpha.ipynb")
    assert dave["box_iou"]["result"] == "pass" and dave["box_iou"]["chapter"] == MINI
    assert dave["peak"]["result"] == "fail" and "not defined" in dave["peak"]["message"]
    grace = rows_of(graded, "grace_91_alpha.ipynb")
    assert [k for k in grace if k not in (grading.NOTEBOOK, "Think 3")] == ["box_iou", "peak"]
    notes = grace[grading.NOTEBOOK]["teacher_notes"]
    assert "more than once" in notes and "`check_topk(steal)`, which 91_alpha does not have" in notes


def test_a_chapter_mismatch_or_no_chapter_scores_nothing(graded):
    for file, words in (
        ("erin_92_beta.ipynb", "named for chapter 92_beta but its metadata says 91_alpha"),
        ("frank_homework.ipynb", "no chapter found"),
    ):
        rows = rows_of(graded, file)
        assert words in rows[grading.NOTEBOOK]["message"], rows
        assert all(r["points"] == "0" for r in rows.values())


def test_broken_notebooks_get_their_error_row_and_the_run_goes_on(graded):
    henry = rows_of(graded, "henry_91_alpha.ipynb")
    assert henry["box_iou"]["result"] == "pass" and "not a list" in henry[grading.NOTEBOOK]["teacher_notes"]
    (ivan,) = rows_of(graded, "ivan_91_alpha.ipynb").values()
    assert ivan["result"] == "fail" and "not a valid notebook (nbformat)" in ivan["message"], ivan
    judy = rows_of(graded, "judy_91_alpha.ipynb")
    assert judy["box_iou"]["result"] == "fail" and "not plain data" in judy["box_iou"]["message"], judy["box_iou"]
    assert judy["peak"]["result"] == "pass", "one forged reply spoils only its own check"


def test_answers_without_the_nonce_are_dropped(graded):
    rows = rows_of(graded, "kim_91_alpha.ipynb")
    assert rows["box_iou"]["result"] == "pass", rows["box_iou"]
    assert "did not ask for" in rows[grading.NOTEBOOK]["teacher_notes"]


def test_a_hook_hidden_by_patching_observe_is_seen(graded):
    row = rows_of(graded, "'" + safe.field(INJECTION))["capture"]
    assert row["result"] == "fail" and "still attached" in row["message"], row


def test_the_kernel_sockets_cannot_be_swapped(graded):
    rows = rows_of(graded, "mia_91_alpha.ipynb")
    assert "PermissionError: [Errno 1] Operation not permitted: '" in rows[grading.NOTEBOOK]["message"]
    assert "kernel-ipc-1'" in rows[grading.NOTEBOOK]["message"], rows[grading.NOTEBOOK]
    assert rows["box_iou"]["result"] == "pass"


def test_shared_memory_and_files_are_limited_per_notebook(graded):
    head = rows_of(graded, "mia_91_alpha.ipynb")[grading.NOTEBOOK]
    assert "shm: OSError" in head["message"] and "files: OSError" in head["message"], head


def test_no_formula_and_no_forged_line_reaches_the_outputs(graded):
    with graded["csv"].open(encoding="utf-8", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")], "a CSV cell would run as a formula"
    assert any(c.startswith("'=HYPERLINK") for c in cells) and any(c.startswith("'=2+5+cmd") for c in cells)
    assert not any("\n" in c or "\x1b" in c for c in cells)
    out = graded["out"].parent
    for text in (
        graded["progress"],
        grading.summary_path(graded["csv"]).read_text(encoding="utf-8"),
        *(p.read_text(encoding="utf-8") for p in out.glob("*.csv")),
        *(p.read_text(encoding="utf-8") for p in (out / "feedback").glob("*.md")),
    ):
        assert "\x1b" not in text
        assert not [ln for ln in text.splitlines() if ln.lstrip().startswith("forged")], text


def test_per_student_results_feedback_and_lms_export(graded):
    out = graded["out"].parent
    with (out / "grades-students.csv").open(encoding="utf-8", newline="") as f:
        students = {r["student"]: r for r in csv.DictReader(f)}
    assert (students["alice"]["total"], students["alice"]["max"]) == ("20", "20")
    assert students["bob"]["total"] == "0" and students["erin"]["total"] == "0"
    with (out / "grades-lms.csv").open(encoding="utf-8", newline="") as f:
        lms = list(csv.DictReader(f))
    assert list(lms[0])[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    alice = next(r for r in lms if r["SIS Login ID"] == "alice")
    assert alice["91_alpha (20 pts)"] == "20"
    feedback = (out / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "**Points: 20 / 20**" in feedback and "The map doubles" in feedback and "Points: ____" in feedback
    henry = (out / "feedback" / "henry.md").read_text(encoding="utf-8")
    assert "sys.modules" not in henry, "the teacher's notes stay out of the student's feedback"


def test_boundary_settings():
    """The message cap is on the client's own sockets; concurrent gradings run as different users."""
    import zmq

    from classroom import kernel

    km = kernel.SandboxedKernelManager()
    assert km.client().context.getsockopt(zmq.MAXMSGSIZE) == kernel.MAX_MESSAGE
    boxes = [sandbox.Sandbox(Path("/nonexistent"), sandbox.Limits(), (), slot=k) for k in range(3)]
    assert len({b.uid for b in boxes}) == 3


def test_time_limits(graded):
    stuck = rows_of(graded, "t_ignores_interrupts.ipynb")
    assert f"time limit of {TIMEOUT} s" in stuck[grading.NOTEBOOK]["message"]
    assert "did not answer an interrupt" in stuck[grading.NOTEBOOK]["message"]
    assert all(
        r["result"] == "fail" and "not graded" in r["message"] for k, r in stuck.items() if k != grading.NOTEBOOK
    )
    loops = rows_of(graded, "t_loops.ipynb")
    assert (
        loops[grading.NOTEBOOK]["result"] == "fail"
        and f"time limit of {TIMEOUT} s" in loops[grading.NOTEBOOK]["message"]
    )
    assert "code cell 3" in loops[grading.NOTEBOOK]["message"] and "interrupted" in loops[grading.NOTEBOOK]["message"]
    assert loops["box_iou"]["result"] == "pass", loops["box_iou"]
    assert loops["spin"]["result"] == "fail" and "loop forever" in loops["spin"]["message"]
    assert loops["late"]["result"] == "fail" and "not defined" in loops["late"]["message"]


def test_memory_is_limited_per_notebook_not_per_process(graded):
    """Three children of 900 MB each against the run's 2 GiB per notebook: a cgroup stops them; a machine
    that cannot make one says so in the summary."""
    head = rows_of(graded, "p_children.ipynb")[grading.NOTEBOOK]
    if cgroups.available():
        assert "3 of 3 children held 900 MB" not in head["message"], head  # the cgroup's OOM killer stopped
        assert "children held 900 MB" in head["message"] or "the kernel died" in head["message"], head  # some
    else:
        assert "one cgroup per notebook" in grading.summary_path(graded["csv"]).read_text(encoding="utf-8")


def test_no_user_namespace_inside_the_sandbox(graded):
    head = rows_of(graded, "a16_stub_after_edit.ipynb")[grading.NOTEBOOK]
    assert "userns: Operation not permitted" in head["message"], head
