"""What the stubs and the instructor's guide say about each checker: time, hint, the mistakes it names."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notes:
    minutes: int  # expected time for a student, reading the exercise included
    hint: str  # the default hint of a stub: words, never the reference code
    mistakes: tuple[str, ...]  # the mistakes the checker explains by name (instructor's guide)


NOTES: dict[str, Notes] = {
    "check_topk": Notes(
        10, "turn the logits into probabilities over the classes first, then keep the five largest, most "
            "likely first (torch.topk sorts them for you).",
        ("raw logits returned instead of softmax probabilities", "indices not the top classes in decreasing order",
         "not a pair, or the wrong shape")),
    "check_head_params": Notes(
        10, "a Linear layer has in_features x out_features weights plus one bias per output; the flatten head "
            "sees every channel at every position, the GAP head one number per channel.",
        ("biases not counted", "a wrong count for a given size (the message names the sizes)")),
    "check_gap_head": Notes(
        15, "average each channel over the two spatial dimensions, then apply the linear layer "
            "(weight is [N, C]) and add the bias.",
        ("summing over positions instead of averaging", "the bias missing", "logits of the wrong shape")),
    "check_hook": Notes(
        20, "register a forward hook on `layer` that keeps its output, run the model once, and remove the hook "
            "even if the forward pass fails (try/finally).",
        ("the hook left attached after the function returns", "a tensor that is not the layer's output",
         "the wrong shape")),
    "check_cam": Notes(
        20, "take each image's class row of `weight` and form the weighted sum of that image's feature maps over "
            "the channels; keep the raw values (no ReLU, no scaling).",
        ("a ReLU applied to the raw map", "the map normalised", "the weight matrix transposed",
         "the map divided by h x w", "the wrong shape (the batch summed away, say), a batch of one included")),
    "check_normalize": Notes(
        15, "apply a ReLU, then divide each map by its own maximum over (h, w); a map whose maximum is 0 stays "
            "0 (no division by zero).",
        ("NaN on an all-zero (flat) or all-negative map", "min-max scaling instead of ReLU then max",
         "the ReLU missing (negative values remain)", "one maximum for the whole batch instead of one per map")),
    "check_box": Notes(
        40, "keep the pixels >= threshold x max, label the 8-connected components (scipy.ndimage.label), keep "
            "the largest (on a tie, the one holding the maximum), and return its bounding box with exclusive ends.",
        ("off by one: inclusive x1, y1 instead of exclusive ends", "x and y swapped",
         "a box around every pixel above the threshold instead of the largest component",
         "edge cases: a flat map, a maximum on the border, two components of equal size")),
    "check_iou": Notes(
        20, "the overlap's width is (smallest right edge - largest left edge), clamped at 0, and likewise its "
            "height; IoU is the overlap's area over the union's (area a + area b - overlap).",
        ("a +1 in the widths (boxes that only touch get an IoU above 0)",
         "a negative overlap for disjoint boxes (no clamping at 0)")),
    "check_misclassified": Notes(
        10, "compare each row's most likely class with its label, and return the indices where they differ, "
            "in ascending order.",
        ("the correctly classified images returned instead", "wrong indices (the message gives the counts)")),
    "check_gradcam_weights": Notes(
        30, "keep the layer's output with a hook, take torch.autograd.grad of the class's logit (summed over the "
            "batch) with respect to it, and average that gradient over the positions.",
        ("gradients summed over positions instead of averaged",
         "hooks left attached, or .backward() filling the parameters' .grad")),
}


def _notes(checker: str | None) -> Notes | None:
    return NOTES.get(checker or "")


def notes_for(checker: str | None) -> Notes | None:
    return NOTES.get(checker or "")
