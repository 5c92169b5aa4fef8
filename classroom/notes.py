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
         "hooks left attached, or .backward() filling the parameters' .grad", "on a network without GAP, "
         "fc.weight[c] / (h x w) instead of the gradient")),
    # Exercises past the chapters (cambook/exercises/beyond.py), one per chapter:
    "check_peak": Notes(
        10, "find the map's highest cell (argmax of the flattened map, then its row and column), and scale the "
            "centre of that cell, (column + 0.5, row + 0.5), by the image's width / w and height / h.",
        ("x and y swapped", "the cell's corner instead of its centre", "rows and columns scaled by the wrong side")),
    "check_gmp_head": Notes(
        10, "take each channel's largest value over the two spatial dimensions, then apply the linear layer and "
            "add the bias.",
        ("average instead of max pooling", "the bias missing", "the maximum taken over the channels too")),
    "check_contrast_map": Notes(
        15, "the map of class a minus the map of class b is the map of the weight difference w[a] - w[b]: one "
            "weighted sum over the channels.",
        ("the difference reversed", "ReLU applied to each map before subtracting")),
    "check_topk_cams": Notes(
        20, "compute the logits with the GAP head (mean over positions, then weight and bias), take the k largest "
            "classes, and form each one's weighted sum of the feature maps.",
        ("the bias left out of the ranking", "maps in the reverse order of idx",
         "a class's map paired with another index")),
    "check_loc_correct": Notes(
        20, "for each image, look at the first k guesses only: the image counts if one of them has the true class "
            "and a box with IoU >= 0.5 with the true box.",
        ("every guess counted instead of the first k", "a good box for a wrong class counted",
         "IoU of exactly 0.5 left out")),
    "check_near_misses": Notes(
        15, "keep the correctly classified images, compute each one's gap between its two largest softmax "
            "probabilities, and return the k smallest gaps' indices, smallest first.",
        ("misclassified images included", "the wrong order", "gaps of logits instead of probabilities")),
    "check_flatten_map": Notes(
        20, "view the class's row of the flatten head's weight as [C, h, w] (the order nn.Flatten uses) and sum "
            "weight times features over the channels.",
        ("weights reshaped in the wrong order", "the map divided by h x w")),
}


def notes_for(checker: str | None) -> Notes | None:
    return NOTES.get(checker or "")
