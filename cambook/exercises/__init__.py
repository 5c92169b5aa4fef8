"""Checkers for the book's exercises.

Each ``check_*`` function takes the reader's function, calls it on fresh random inputs and
edge cases, compares what it returns with camlib's reference, and prints either a pass or a
specific explanation of the first case that fails (never the reference code). If the
function calls camlib's own implementation of the answer, the message says so.

    >>> from cambook.exercises import check_cam
    >>> check_cam(my_cam)            # doctest: +SKIP
    PASS check_cam: 5 cases passed.

The checkers are written so that judging needs only *data*: a checker draws its cases
(:func:`cases`), the reader's function is called on them, and :func:`judge` compares the
returned values with the reference. In the book all three happen here, in the reader's
kernel. A grader can draw the cases in its own process with a secret seed, have the
function called somewhere else, and judge the values it gets back with the same messages.
:func:`verdict` is the programmatic form of a check: it returns a :class:`Verdict` instead
of printing.
"""

from __future__ import annotations

from typing import Callable

from .core import Case, CheckFailed, Layer, Net, Raised, Returned, Verdict, materialize, observe
from .registry import EXERCISES, Exercise, cases, exercise, judge
from .running import call, reference_calls, verdict, where_raised

__all__ = [
    "Case",
    "CheckFailed",
    "Layer",
    "Net",
    "Raised",
    "Returned",
    "Verdict",
    "materialize",
    "observe",
    "EXERCISES",
    "Exercise",
    "cases",
    "exercise",
    "judge",
    "call",
    "reference_calls",
    "verdict",
    "where_raised",
    *(name for name in EXERCISES),
]  # and a check_* function per exercise, below


def _checker(name: str) -> Callable[[Callable], None]:
    def check(fn: Callable) -> None:
        print(verdict(name, fn))

    check.__name__ = check.__qualname__ = name
    check.__doc__ = exercise(name).contract + "\n\nPrints whether ``fn`` passes, or what is wrong; returns None."
    return check


check_topk = _checker("check_topk")
check_head_params = _checker("check_head_params")
check_gap_head = _checker("check_gap_head")
check_hook = _checker("check_hook")
check_cam = _checker("check_cam")
check_normalize = _checker("check_normalize")
check_box = _checker("check_box")
check_iou = _checker("check_iou")
check_misclassified = _checker("check_misclassified")
check_gradcam_weights = _checker("check_gradcam_weights")
check_peak = _checker("check_peak")
check_gmp_head = _checker("check_gmp_head")
check_contrast_map = _checker("check_contrast_map")
check_topk_cams = _checker("check_topk_cams")
check_loc_correct = _checker("check_loc_correct")
check_near_misses = _checker("check_near_misses")
check_flatten_maps = _checker("check_flatten_maps")
check_class_rank = _checker("check_class_rank")
check_head_params_hidden = _checker("check_head_params_hidden")
check_masked_gap_head = _checker("check_masked_gap_head")
check_region_logit = _checker("check_region_logit")
check_mass_box = _checker("check_mass_box")
check_iou_matrix = _checker("check_iou_matrix")
check_missed_at_k = _checker("check_missed_at_k")
check_gradcam_maps = _checker("check_gradcam_maps")
check_box_mass = _checker("check_box_mass")
check_insertion_curve = _checker("check_insertion_curve")
