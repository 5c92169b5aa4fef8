"""Every exercise by its checker's name: contract, cases, judge; drawing cases and judging outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from . import beyond, chapters, trust, variations
from .core import Case, CheckFailed, Raised, Returned, Verdict

_PLAIN = (type(None), bool, int, float, str, complex)


def non_answer(value: Any, depth: int = 0) -> str:
    """Why ``value`` cannot be an answer whatever the judge says, in words, or ``""``: NaN or inf anywhere
    in it (``max(0.0, nan)`` is ``0.0``, so a comparison can let NaN through), or an object of a patched
    type (a subclass of a tensor, an array, a number or a string, whose comparisons may lie)."""
    if depth > 8:
        return "nested too deep"
    kind = type(value)
    if isinstance(value, torch.Tensor):
        if kind not in (torch.Tensor, torch.nn.Parameter):
            return f"a {kind.__name__} (a subclass of torch.Tensor)"
        if (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
            return "a tensor holding NaN or inf"
        return ""
    if isinstance(value, np.ndarray):
        if kind is not np.ndarray:
            return f"a {kind.__name__} (a subclass of numpy.ndarray)"
        if value.dtype.kind in "fc" and not bool(np.isfinite(value).all()):
            return "an array holding NaN or inf"
        return ""
    if isinstance(value, np.generic):
        return "NaN or inf" if value.dtype.kind in "fc" and not bool(np.isfinite(value)) else ""
    if isinstance(value, (bool, int, float, str, complex)) or value is None:
        if kind not in _PLAIN:
            return f"a {kind.__name__} (a subclass of {kind.__mro__[1].__name__})"
        if isinstance(value, (float, complex)) and not np.isfinite(value):
            return "NaN or inf"
        return ""
    if isinstance(value, (tuple, list)):
        for item in list(value)[:10_000]:
            why = non_answer(item, depth + 1)
            if why:
                return why
    return ""


# -- the checkers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Exercise:
    """What a checker knows about one exercise: its contract, its cases, its judge, and which camlib
    callables *are* its answer (a solution that calls them is named in the message)."""

    checker: str
    contract: str
    cases: Callable[[np.random.Generator], list[Case]]
    judge: Callable[[Case, Any], None]
    after: Callable[[Case, dict], None] | None = None  # judges what the call left behind (see observe)
    references: tuple[str, ...] = ()


EXERCISES: dict[str, Exercise] = {
    e.checker: e
    for e in [
        Exercise(
            "check_topk",
            "``fn(logits [B, N]) -> (probs [B, 5], idx [B, 5])``: softmax probabilities of the five "
            "most likely classes, most likely first.",
            chapters.topk_cases,
            chapters.topk_judge,
        ),
        Exercise(
            "check_head_params",
            "``fn(n_ch, h, w, num_classes) -> (flatten_params, gap_params)``, weights plus biases.",
            chapters.head_params_cases,
            chapters.head_params_judge,
            references=("camlib.models.count_params",),
        ),
        Exercise(
            "check_gap_head",
            "``fn(features [B, C, h, w], weight [N, C], bias [N]) -> logits [B, N]``: GAP then Linear.",
            chapters.gap_head_cases,
            chapters.gap_head_judge,
        ),
        Exercise(
            "check_hook",
            "``fn(model, layer, x) -> features``: the output of ``layer`` during ``model(x)``, no "
            "hook left behind (even if the forward pass raises).",
            chapters.hook_cases,
            chapters.hook_judge,
            chapters.clean_model,
            references=("camlib.cam.CAM",),
        ),
        Exercise(
            "check_cam",
            "``fn(features [B, C, h, w], weight [N, C], class_idx [B]) -> maps [B, h, w]``: sum_k w^c_k f_k.",
            chapters.cam_cases,
            chapters.cam_judge,
            references=("camlib.cam.CAM", "camlib.pipelines.cam_maps"),
        ),
        Exercise(
            "check_normalize",
            "``fn(maps [B, K, h, w]) -> [B, K, h, w]``: ReLU, then divide each map by its max (zero maps stay zero).",
            chapters.normalize_cases,
            chapters.normalize_judge,
            references=("camlib.postprocess.normalize",),
        ),
        Exercise(
            "check_box",
            "``fn(cam [H, W] array, threshold) -> (x0, y0, x1, y1)``, exclusive ends: the paper's box rule.",
            chapters.box_cases,
            chapters.box_judge,
            references=("camlib.boxes.cam_to_box", "camlib.boxes.cam_to_boxes", "camlib.pipelines.localize"),
        ),
        Exercise(
            "check_iou",
            "``fn(a, b) -> float``: intersection over union of two (x0, y0, x1, y1) boxes, exclusive ends.",
            chapters.iou_cases,
            chapters.iou_judge,
            references=("camlib.metrics.iou", "camlib.metrics.box_accuracy"),
        ),
        Exercise(
            "check_misclassified",
            "``fn(logits [N, C], labels [N]) -> idx [M]``: indices of the wrongly classified images, ascending.",
            chapters.misclassified_cases,
            chapters.misclassified_judge,
        ),
        Exercise(
            "check_gradcam_weights",
            "``fn(model, layer, x, class_idx) -> alpha [B, C]``: mean over (h, w) of d logit / d "
            "features, on any network (with or without GAP).",
            chapters.gradcam_cases,
            chapters.gradcam_judge,
            chapters.clean_gradients,
            references=("camlib.gradients.gradcam",),
        ),
        Exercise(
            "check_peak",
            "``fn(cam [h, w], image_size (W, H)) -> (x, y)``: the image pixel at the centre of the "
            "map's highest cell (the first one in reading order on a tie).",
            beyond.peak_cases,
            beyond.peak_judge,
        ),
        Exercise(
            "check_gmp_head",
            "``fn(features [B, C, h, w], weight [N, C], bias [N]) -> logits [B, N]``: global max pooling then Linear.",
            beyond.gmp_head_cases,
            beyond.gmp_head_judge,
        ),
        Exercise(
            "check_contrast_map",
            "``fn(features [B, C, h, w], weight [N, C], class_a [B], class_b [B]) -> maps [B, h, "
            "w]``: CAM of class_a minus CAM of class_b.",
            beyond.contrast_cases,
            beyond.contrast_judge,
            references=("camlib.cam.CAM", "camlib.pipelines.cam_maps"),
        ),
        Exercise(
            "check_topk_cams",
            "``fn(features [B, C, h, w], weight [N, C], bias [N], k) -> (maps [B, k, h, w], idx [B, "
            "k])``: the raw CAMs of the k most likely classes, most likely first.",
            beyond.topk_cams_cases,
            beyond.topk_cams_judge,
            references=("camlib.cam.CAM", "camlib.pipelines.cam_maps"),
        ),
        Exercise(
            "check_loc_correct",
            "``fn(classes [B, K], boxes [B, K, 4], labels [B], truth [B, 4], k) -> [B] bools``: the "
            "paper's top-k localization: one of the first k guesses has the true class and IoU >= "
            "0.5.",
            beyond.loc_cases,
            beyond.loc_judge,
            references=("camlib.metrics.box_accuracy", "camlib.metrics.localization_accuracy"),
        ),
        Exercise(
            "check_near_misses",
            "``fn(logits [N, C], labels [N], k) -> idx [<= k]``: the correctly classified images "
            "with the smallest gap between their two largest probabilities, smallest gap first.",
            beyond.near_misses_cases,
            beyond.near_misses_judge,
        ),
        Exercise(
            "check_flatten_maps",
            "``fn(features [B, C, h, w], weight [N, C*h*w]) -> maps [B, N, h, w]``: each position's exact"
            " contribution to each class's logit, for a flatten head.",
            beyond.flatten_maps_cases,
            beyond.flatten_maps_judge,
        ),
        # Exercises that vary what a chapter shows (cambook/exercises/variations.py):
        Exercise(
            "check_class_rank",
            "``fn(logits [B, N], class_idx [B]) -> ranks [B]``: the rank of each image's given class in its "
            "ranking, 1 for the most likely: 1 + the number of classes with a strictly larger logit.",
            variations.class_rank_cases,
            variations.class_rank_judge,
        ),
        Exercise(
            "check_head_params_hidden",
            "``fn(n_ch, h, w, num_classes, hidden=()) -> (flatten_params, gap_params)``, weights plus "
            "biases: the flatten head is a chain of Linear layers through each width in ``hidden``, the GAP "
            "head one Linear(n_ch, num_classes).",
            variations.head_params_hidden_cases,
            variations.head_params_hidden_judge,
            references=("camlib.models.count_params",),
        ),
        Exercise(
            "check_masked_gap_head",
            "``fn(features [B, C, h, w], mask [B, h, w] bool, weight [N, C], bias [N]) -> logits [B, N]``: "
            "average pooling over the cells where mask is True, then Linear.",
            variations.masked_gap_cases,
            variations.masked_gap_judge,
        ),
        Exercise(
            "check_region_logit",
            "``fn(features [B, C, h, w], weight [N, C], class_idx [B], mask [B, h, w] bool) -> parts [B]``: "
            "the part of each logit (bias excluded) from the masked cells: sum over them of the CAM / (h*w).",
            variations.region_logit_cases,
            variations.region_logit_judge,
            references=("camlib.cam.CAM", "camlib.pipelines.cam_maps"),
        ),
        Exercise(
            "check_mass_box",
            "``fn(cam [H, W] array, threshold) -> (x0, y0, x1, y1)``, exclusive ends: the box of the "
            "8-connected component above threshold * max with the largest sum of map values.",
            variations.mass_box_cases,
            variations.mass_box_judge,
        ),
        Exercise(
            "check_iou_matrix",
            "``fn(a [N, 4], b [M, 4]) -> iou [N, M]``: intersection over union of every box of a with every"
            " box of b, (x0, y0, x1, y1) with exclusive ends; 0 where the union is empty.",
            variations.iou_matrix_cases,
            variations.iou_matrix_judge,
            references=("camlib.metrics.iou",),
        ),
        Exercise(
            "check_missed_at_k",
            "``fn(logits [N, C], labels [N], k) -> idx [M]``: indices of the images whose true class is not "
            "among their k most likely classes, ascending.",
            variations.missed_at_k_cases,
            variations.missed_at_k_judge,
        ),
        Exercise(
            "check_gradcam_maps",
            "``fn(model, layer, x [B, 3, H, W], class_idx [B]) -> maps [B, h, w]``: Grad-CAM with one class "
            "per image, ReLU(sum_k alpha_k f_k), alpha the spatial mean of d logit / d features; no hook or "
            ".grad left behind.",
            variations.gradcam_maps_cases,
            variations.gradcam_maps_judge,
            chapters.clean_gradients,
            references=("camlib.gradients.gradcam",),
        ),
        # Chapter 9, "Can we trust a map?" (cambook/exercises/trust.py):
        Exercise(
            "check_box_mass",
            trust.BOX_MASS,
            trust.box_mass_cases,
            trust.box_mass_judge,
            references=("camlib.metrics.relevance_mass", "camlib.metrics.region_masks"),
        ),
        Exercise(
            "check_insertion_curve",
            trust.INSERTION_CURVE,
            trust.insertion_curve_cases,
            trust.insertion_curve_judge,
            references=("camlib.metrics.deletion_insertion",),
        ),
    ]
}


def exercise(checker: str) -> Exercise:
    """The :class:`Exercise` behind ``checker`` (e.g. ``"check_box"``)."""
    try:
        return EXERCISES[checker]
    except KeyError:
        raise KeyError(f"no checker named {checker!r}; the checkers are {', '.join(EXERCISES)}") from None


def cases(checker: str, seed: int | None = None) -> list[Case]:
    """The cases of ``checker``, drawn from ``seed`` (fresh randomness from the OS when None)."""
    return exercise(checker).cases(np.random.default_rng(seed))


def judge(checker: str, cases: Sequence[Case], outcomes: Sequence[Any]) -> Verdict:
    """The verdict on a function from what it did on each case (:class:`Returned` or :class:`Raised`).

    Pure data in, verdict out: it runs the same wherever the function itself was called.
    """
    ex = exercise(checker)
    if len(outcomes) != len(cases):
        return Verdict(checker, False, f"expected {len(cases)} results, got {len(outcomes)}.")
    for case, outcome in zip(cases, outcomes):
        if isinstance(outcome, Raised) and outcome.kind == "NotImplementedError":
            return Verdict(
                checker,
                False,
                "not implemented yet (replace the `raise NotImplementedError` with your code).",
                done=False,
            )
        try:
            if isinstance(outcome, Raised) and not case.raises:
                where = f" (at line {outcome.line})" if outcome.line else ""
                raise CheckFailed(f"your function raised {outcome.kind}: {outcome.message}{where} on {case.label}.")
            if isinstance(outcome, Returned) and not case.raises:
                ex.judge(case, outcome.value)
                why = non_answer(outcome.value)
                if why:
                    raise CheckFailed(f"{case.label}: your function returned {why}, which is not an answer.")
            if ex.after is not None:
                ex.after(case, outcome.observed)
        except CheckFailed as err:
            return Verdict(checker, False, str(err))
    return Verdict(checker, True, f"{len(cases)} cases passed.", len(cases))
