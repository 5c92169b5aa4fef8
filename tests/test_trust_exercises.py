"""Chapter 9's checkers (cambook/exercises/trust.py): a right answer passes, typical mistakes fail."""

import pytest
import torch
import torch.nn.functional as F

import camlib
from cambook.exercises import EXERCISES, check_box_mass, check_insertion_curve


def box_mass(maps, boxes):
    pos = maps.clamp(min=0)
    out = []
    for m, (x0, y0, x1, y1) in zip(pos, boxes.tolist()):
        total = m.sum()
        out.append(m[y0:y1, x0:x1].sum() / total if total > 0 else torch.tensor(0.0))
    return torch.stack(out)


def box_mass_swapped(maps, boxes):
    return box_mass(maps, boxes[:, [1, 0, 3, 2]])


def box_mass_raw(maps, boxes):
    out = [m[y0:y1, x0:x1].sum() / m.sum() for m, (x0, y0, x1, y1) in zip(maps, boxes.tolist())]
    return torch.stack(out)


def insertion_curve(model, x, maps, class_idx, steps):
    n, _, h, w = x.shape
    up = F.interpolate(maps[:, None], size=(h, w), mode="bilinear", align_corners=False)[:, 0]
    order = up.flatten(1).argsort(dim=1, descending=True, stable=True)
    scores = []
    for i in range(steps + 1):
        keep = torch.zeros(n, h * w, dtype=torch.bool)
        keep.scatter_(1, order[:, : round(i * h * w / steps)], True)
        with torch.no_grad():
            probs = model(x * keep.view(n, 1, h, w)).softmax(1)
        scores.append(probs.gather(1, class_idx[:, None])[:, 0])
    return torch.stack(scores, 1)


def insertion_least_first(model, x, maps, class_idx, steps):
    return insertion_curve(model, x, -maps, class_idx, steps)


def insertion_logits(model, x, maps, class_idx, steps):
    return insertion_curve(model, x, maps, class_idx, steps).logit()


def insertion_by_camlib(model, x, maps, class_idx, steps):
    zeros = torch.zeros_like(x)
    return camlib.deletion_insertion(model, x, maps, class_idx, "insertion", steps=steps, substrate=zeros).scores


# right answers and typical mistakes; tests/test_exercises.py counts them with the other checkers'
TRUST = [
    (check_box_mass, box_mass, []),
    (check_box_mass, box_mass_swapped, ["swapped"]),
    (check_box_mass, box_mass_raw, ["positive part"]),
    (check_box_mass, lambda maps, boxes: camlib.relevance_mass(maps, boxes), ["camlib.metrics.relevance_mass"]),
    (check_insertion_curve, insertion_curve, []),
    (check_insertion_curve, insertion_least_first, ["least relevant"]),
    (check_insertion_curve, insertion_logits, ["probability"]),
    (check_insertion_curve, insertion_by_camlib, ["camlib.metrics.deletion_insertion"]),
]


@pytest.mark.parametrize(("checker", "fn", "messages"), TRUST)
def test_checker(checker, fn, messages, capsys):
    checker(fn)
    out = capsys.readouterr().out
    assert out.startswith("PASS" if not messages else "FAIL"), out
    for message in messages:
        assert message in out, out


def test_registered_with_their_contracts():
    assert {"check_box_mass", "check_insertion_curve"} <= set(EXERCISES)
    for checker in (check_box_mass, check_insertion_curve):
        assert checker.__doc__.startswith(EXERCISES[checker.__name__].contract)


def test_stubs_fail_cleanly(capsys):
    def stub(*args):
        raise NotImplementedError

    check_box_mass(stub)
    check_insertion_curve(stub)
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith("TODO") for line in out) and len(out) == 2, out
