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
        10,
        "turn the logits into probabilities over the classes first, then keep the five largest, most "
        "likely first (torch.topk sorts them for you).",
        (
            "raw logits returned instead of softmax probabilities",
            "indices not the top classes in decreasing order",
            "not a pair, or the wrong shape",
        ),
    ),
    "check_head_params": Notes(
        10,
        "a Linear layer has in_features x out_features weights plus one bias per output; the flatten head "
        "sees every channel at every position, the GAP head one number per channel.",
        ("biases not counted", "a wrong count for a given size (the message names the sizes)"),
    ),
    "check_gap_head": Notes(
        15,
        "average each channel over the two spatial dimensions, then apply the linear layer "
        "(weight is [N, C]) and add the bias.",
        ("summing over positions instead of averaging", "the bias missing", "logits of the wrong shape"),
    ),
    "check_hook": Notes(
        20,
        "register a forward hook on `layer` that keeps its output, run the model once, and remove the hook "
        "even if the forward pass fails (try/finally).",
        (
            "the hook left attached after the function returns",
            "a tensor that is not the layer's output",
            "the wrong shape",
        ),
    ),
    "check_cam": Notes(
        20,
        "take each image's class row of `weight` and form the weighted sum of that image's feature maps over "
        "the channels; keep the raw values (no ReLU, no scaling).",
        (
            "a ReLU applied to the raw map",
            "the map normalised",
            "the weight matrix transposed",
            "the map divided by h x w",
            "the wrong shape (the batch summed away, say), a batch of one included",
        ),
    ),
    "check_normalize": Notes(
        15,
        "apply a ReLU, then divide each map by its own maximum over (h, w); a map whose maximum is 0 stays "
        "0 (no division by zero).",
        (
            "NaN on an all-zero (flat) or all-negative map",
            "min-max scaling instead of ReLU then max",
            "the ReLU missing (negative values remain)",
            "one maximum for the whole batch instead of one per map",
        ),
    ),
    "check_box": Notes(
        40,
        "keep the pixels >= threshold x max, label the 8-connected components (scipy.ndimage.label), keep "
        "the largest (on a tie, the one holding the maximum), and return its bounding box with exclusive ends.",
        (
            "off by one: inclusive x1, y1 instead of exclusive ends",
            "x and y swapped",
            "a box around every pixel above the threshold instead of the largest component",
            "edge cases: a flat map, a maximum on the border, two components of equal size",
        ),
    ),
    "check_iou": Notes(
        20,
        "the overlap's width is (smallest right edge - largest left edge), clamped at 0, and likewise its "
        "height; IoU is the overlap's area over the union's (area a + area b - overlap).",
        (
            "a +1 in the widths (boxes that only touch get an IoU above 0)",
            "a negative overlap for disjoint boxes (no clamping at 0)",
        ),
    ),
    "check_misclassified": Notes(
        10,
        "compare each row's most likely class with its label, and return the indices where they differ, "
        "in ascending order.",
        ("the correctly classified images returned instead", "wrong indices (the message gives the counts)"),
    ),
    "check_gradcam_weights": Notes(
        30,
        "keep the layer's output with a hook, take torch.autograd.grad of the class's logit (summed over the "
        "batch) with respect to it, and average that gradient over the positions.",
        (
            "gradients summed over positions instead of averaged",
            "hooks left attached, or .backward() filling the parameters' .grad",
            "on a network without GAP, fc.weight[c] / (h x w) instead of the gradient",
        ),
    ),
    # Exercises past the chapters (cambook/exercises/beyond.py), one per chapter:
    "check_peak": Notes(
        10,
        "find the map's highest cell (argmax of the flattened map, then its row and column), and scale the "
        "centre of that cell, (column + 0.5, row + 0.5), by the image's width / w and height / h.",
        ("x and y swapped", "the cell's corner instead of its centre", "rows and columns scaled by the wrong side"),
    ),
    "check_gmp_head": Notes(
        10,
        "take each channel's largest value over the two spatial dimensions, then apply the linear layer and "
        "add the bias.",
        ("average instead of max pooling", "the bias missing", "the maximum taken over the channels too"),
    ),
    "check_contrast_map": Notes(
        15,
        "the map of class a minus the map of class b is the map of the weight difference w[a] - w[b]: one "
        "weighted sum over the channels.",
        ("the difference reversed", "ReLU applied to each map before subtracting"),
    ),
    "check_topk_cams": Notes(
        20,
        "compute the logits with the GAP head (mean over positions, then weight and bias), take the k largest "
        "classes, and form each one's weighted sum of the feature maps.",
        (
            "the bias left out of the ranking",
            "maps in the reverse order of idx",
            "a class's map paired with another index",
        ),
    ),
    "check_loc_correct": Notes(
        20,
        "for each image, look at the first k guesses only: the image counts if one of them has the true class "
        "and a box with IoU >= 0.5 with the true box.",
        (
            "every guess counted instead of the first k",
            "a good box for a wrong class counted",
            "IoU of exactly 0.5 left out",
        ),
    ),
    "check_near_misses": Notes(
        15,
        "keep the correctly classified images, compute each one's gap between its two largest softmax "
        "probabilities, and return the k smallest gaps' indices, smallest first.",
        ("misclassified images included", "the wrong order", "gaps of logits instead of probabilities"),
    ),
    "check_flatten_maps": Notes(
        20,
        "view the flatten head's weight as [N, C, h, w] (nn.Flatten's order: channel first), multiply each "
        "class's template with each image's features and sum over the channels, for every class at once.",
        (
            "weights reshaped in the wrong order",
            "the map divided by h x w",
            "one map per image instead of one per class",
        ),
    ),
    # Exercises that vary what a chapter shows (cambook/exercises/variations.py):
    "check_class_rank": Notes(
        10,
        "for each image, count the classes whose logit is strictly larger than the given class's logit and "
        "add one; no softmax is needed, since it keeps the order of the logits.",
        (
            "0-based ranks (off by one)",
            "counting larger-or-equal logits (the class itself or its ties counted against it)",
            "ranking from the least likely class",
            "NaN from a softmax on large logits",
            "ranks that are not whole numbers, or the wrong shape",
        ),
    ),
    "check_head_params_hidden": Notes(
        15,
        "list the layer sizes of the flatten head, from the flattened features through each hidden width to "
        "the classes, and add up every Linear layer's weights and biases; the GAP head stays a single Linear "
        "layer from the channels to the classes.",
        (
            "the hidden layers ignored",
            "biases not counted",
            "the hidden layers also given to the GAP head",
            "not a pair of ints, or a function that takes no fifth argument",
        ),
    ),
    "check_masked_gap_head": Notes(
        20,
        "sum each channel over the cells where the image's mask is True, divide by that image's number of "
        "True cells, then apply the linear layer and add the bias.",
        (
            "averaging over all positions (the padding counted)",
            "the masked sum divided by h x w instead of the number of valid cells",
            "the bias missing",
            "one count for the whole batch instead of one per image",
            "logits of the wrong shape",
        ),
    ),
    "check_region_logit": Notes(
        20,
        "form each image's class activation map from its class's weight row, add up its values inside the "
        "mask, and divide by the number of all cells (h x w), so that a region and its complement add up to "
        "the logit minus the bias.",
        (
            "divided by the number of masked cells (the mean over the region) instead of h x w",
            "NaN for an empty mask",
            "a ReLU applied to the map",
            "the weight matrix transposed",
            "the wrong class row (another class, or the first image's class for every image)",
        ),
    ),
    "check_mass_box": Notes(
        40,
        "set negative values to zero, keep the pixels >= threshold x max, label the 8-connected components, "
        "add up the map's values in each, and return the bounding box of the heaviest one with exclusive "
        "ends; a map with no positive value gives the whole image.",
        (
            "the largest component by area (the paper's rule) instead of by mass",
            "4-connectivity",
            "off by one: inclusive x1, y1",
            "x and y swapped",
            "a box around every pixel above the threshold",
        ),
    ),
    "check_iou_matrix": Notes(
        25,
        "broadcast the boxes of a against those of b to get every pair at once: the overlap's width is the "
        "smallest right edge minus the largest left edge, clamped at 0 (likewise its height); divide the "
        "overlap by the union as floats, and give 0 where the union is empty.",
        (
            "a +1 in the widths (boxes that only touch overlap)",
            "no clamping at 0 for disjoint boxes",
            "the result transposed, [M, N]",
            "only the pairs a[i], b[i] (the diagonal)",
            "NaN for empty unions",
            "integer division",
        ),
    ),
    "check_missed_at_k": Notes(
        15,
        "rank each image's true class as in the class-rank exercise (one plus the number of strictly larger "
        "logits) and return, in ascending order, the indices of the images whose rank is larger than k.",
        (
            "the hits returned instead of the misses",
            "k ignored (always top-1)",
            "off by one in k",
            "not in ascending order",
            "not an integer tensor (a boolean mask, or a float tensor when empty)",
        ),
    ),
    "check_gradcam_maps": Notes(
        30,
        "keep the layer's output with a hook (removed afterwards), pick each image's own class logit and sum "
        "them, take torch.autograd.grad of that sum with respect to the kept output, average the gradient "
        "over the positions, weight the feature maps with it, sum over the channels and apply a ReLU.",
        (
            "the ReLU missing",
            "gradients summed over positions instead of averaged",
            "the same class (the first image's) for every image",
            "hooks left attached, or .backward() filling the parameters' .grad",
            "maps of the wrong shape",
        ),
    ),
    "check_box_mass": Notes(
        15,
        "clamp each map at 0, sum it inside its box (rows y0:y1, columns x0:x1) and divide by its sum "
        "everywhere; a map with no positive value gets 0.",
        (
            "x and y swapped (rows indexed by x)",
            "the raw map summed instead of its positive part",
            "NaN for a map with no positive value",
            "inclusive box ends",
        ),
    ),
    "check_insertion_curve": Notes(
        25,
        "upsample the maps to the image (bilinear), rank the pixels largest first, and at step i restore "
        "round(i * H * W / steps) of them onto a black image; record the class's softmax probability.",
        (
            "the least relevant pixels restored first",
            "logits instead of softmax probabilities",
            "maps not upsampled to the image",
            "floor instead of round",
            "the curve starting from the image instead of from black",
        ),
    ),
}


def notes_for(checker: str | None) -> Notes | None:
    return NOTES.get(checker or "")
