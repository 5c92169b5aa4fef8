"""Class activation maps from forward hooks (Zhou et al., CVPR 2016).

For a network that ends in  features f [B, C, h, w] -> global average pooling -> fc,
the logit of class c is

    logit_c = sum_k w_{c,k} * mean_{x,y} f_k(x, y) + b_c = mean_{x,y} M_c(x, y) + b_c

with the class activation map  M_c(x, y) = sum_k w_{c,k} f_k(x, y).  So one forward
pass, a hook that keeps f, and one small matrix product give the maps of any number
of classes. :class:`CAM` does exactly that, as a context manager that always removes
its hooks::

    with CAM(model) as cam:
        result = cam(x, topk=5)       # x: [B, 3, H, W]
    result.maps                       # [B, 5, h, w], raw: no ReLU, no bias, no scaling
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._utils import (
    GRADCAM_HINT,
    ClassIndex,
    all_finite,
    check_images,
    check_topk,
    class_index,
    find_layer,
    input_channels,
    last_feature_maps,
    top_classes,
)
from .modes import eval_mode

__all__ = ["CAM", "CAMResult", "ClassIndex", "find_fc"]


@dataclass
class CAMResult:
    """What one call of :class:`CAM` returns (B images, N classes, K chosen classes).

    Taught in chapter 3, "Combining weights and features", where ``maps.mean((-2, -1))``
    plus the bias gives back ``logits``.

    Attributes:
        logits: [B, N] the model's output.
        probs: [B, K] softmax probabilities of the chosen classes.
        class_idx: [B, K] the chosen classes (top-k, or the ones asked for).
        maps: [B, K, h, w] raw class activation maps sum_k w_{c,k} f_k(x, y).
        features: [B, C, h, w] the hooked feature maps f; None from :func:`camlib.cam_maps`,
            which keeps only the maps of a whole set of images.
    """

    logits: Tensor
    probs: Tensor
    class_idx: Tensor
    maps: Tensor
    features: Tensor | None = None


def find_fc(model: nn.Module) -> nn.Linear:
    """The model's single ``nn.Linear`` layer: the classifier whose rows CAM reads.

    Taught in chapter 3, "Combining weights and features".

    Args:
        model: the network.

    Returns:
        Its one ``nn.Linear`` module.

    Raises:
        ValueError: the model has no ``nn.Linear``, or several (pass ``CAM(model, fc=...)``).
    """
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to read class weights from. " + GRADCAM_HINT)
    if len(linears) > 1:
        names = ", ".join(name for name, _ in linears)
        raise ValueError(
            f"{type(model).__name__} has {len(linears)} Linear layers ({names}), so its class scores are "
            "not a weighted sum of pooled feature maps. "
            + GRADCAM_HINT
            + " If one of them really is the GAP classifier, pass it as "
            "CAM(model, target_layer=..., fc=...)."
        )
    return linears[0][1]


class CAM:
    """Hook-based class activation maps for a GAP -> Linear network, as a context manager.

    Taught in chapter 1, "What CAM is, in one picture" (its use) and chapter 3, "Combining
    weights and features" (how it works). The hooks live only inside the ``with`` block; the
    model's modes (every module's own) and parameters are left as they were::

        with CAM(model) as cam:
            result = cam(x, topk=5)      # x: [B, 3, H, W] -> result.maps: [B, 5, h, w]

    Args:
        model: any ``nn.Module`` ending in global average pooling and one ``nn.Linear``
            (``camlib.GAPNet``, the EfficientNet-Lite0 of ``camlib.load_pretrained``,
            torchvision's ResNets).
        target_layer: the module whose output is the last feature map [B, C, h, w], or its
            name in ``model.named_modules()``; found by itself when omitted.
        fc: the final ``nn.Linear`` (weights [N, C]), or its name, as for ``target_layer``;
            found by itself when omitted.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``, or ``fc`` names no ``nn.Linear``.
        ValueError: a layer name that ``model`` does not have, or no single ``nn.Linear`` to read.
    """

    def __init__(
        self, model: nn.Module, target_layer: nn.Module | str | None = None, fc: nn.Linear | str | None = None
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"CAM takes a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        found = find_layer(model, fc) if fc is not None else find_fc(model)
        if not isinstance(found, nn.Linear):
            raise TypeError(f"fc must be an nn.Linear (or its name), got {type(found).__name__}")
        self.fc: nn.Linear = found
        self.target_layer: nn.Module | None = find_layer(model, target_layer)
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._features: Tensor | None = None
        self._fc_input: Tensor | None = None
        self._in_channels: int | None = None
        self._active = False

    # -- hooks -------------------------------------------------------------------------
    def _keep_features(self, module: nn.Module, inputs: tuple, output: Tensor) -> None:
        self._features = output

    def _keep_fc_input(self, module: nn.Module, inputs: tuple) -> None:
        self._fc_input = inputs[0]

    def __enter__(self) -> CAM:
        self._handles.append(self.fc.register_forward_pre_hook(self._keep_fc_input))
        if self.target_layer is not None:
            self._handles.append(self.target_layer.register_forward_hook(self._keep_features))
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this object put on the model (also called on leaving ``with``).

        Returns:
            None.
        """
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._features = self._fc_input = None
        self._active = False

    # -- finding the feature map ---------------------------------------------------------
    def _forward_and_find_layer(self, x: Tensor) -> Tensor:
        """One forward pass that also records every 4-D output, to pick the map that feeds GAP."""
        c = self.fc.in_features
        logits, candidates = last_feature_maps(self.model, x, channels=c)
        if not candidates or self._fc_input is None:
            raise ValueError(f"found no [B, {c}, h, w] feature map in front of the final Linear layer. " + GRADCAM_HINT)
        name, layer, feats = candidates[-1]  # the outermost module that produced the last map
        self._check_gap(feats, name)
        self.target_layer = layer
        self._handles.append(layer.register_forward_hook(self._keep_features))
        self._features = feats
        return logits

    def _check_gap(self, feats: Tensor, name: str) -> None:
        pooled = feats.mean(dim=(2, 3))
        if self._fc_input is None:
            raise ValueError("the final Linear layer did not run in the forward pass. " + GRADCAM_HINT)
        fc_in = self._fc_input.reshape(pooled.shape[0], -1)
        if fc_in.shape != pooled.shape or not torch.allclose(pooled, fc_in, rtol=1e-3, atol=1e-4):
            raise ValueError(
                f"the input of the final Linear layer is not the global average of layer {name!r}'s "
                "feature map. " + GRADCAM_HINT
            )

    # -- the maps ------------------------------------------------------------------------
    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """One forward pass: the logits [B, N] and the hooked feature maps [B, C, h, w]."""
        if self.target_layer is None:  # the first call: check the input before looking for the layer
            self._check_finite(x)
            logits = self._forward_and_find_layer(x)
        else:
            logits = self.model(x)
        feats = self._features
        if feats is None or feats.ndim != 4 or feats.shape[1] != self.fc.in_features:
            got = None if feats is None else tuple(feats.shape)
            raise ValueError(f"the target layer must output [B, {self.fc.in_features}, h, w] feature maps, got {got}")
        return logits, feats

    @staticmethod
    def _check_finite(x: Tensor) -> None:
        if not all_finite(x):
            raise ValueError("the input holds NaN or infinite values; check the image loading and normalisation")

    @torch.no_grad()  # not inference_mode: readers add maps to fc.bias, an autograd leaf
    def __call__(self, x: Tensor, class_idx: ClassIndex = None, topk: int = 1) -> CAMResult:
        """The maps of the top-``topk`` classes (or of ``class_idx``) of the images ``x``; one forward pass.

        Args:
            x: images [B, C, H, W], float, preprocessed as the model expects.
            class_idx: as in every camlib function: None for the top-``topk`` classes; an int
                for the same class in every image; a list or 1-D tensor of B ints for one class
                per image; a [B, K] tensor for K classes per image, or [1, K] for the same K in
                all; ``"all"`` for every class.
            topk: how many of the most likely classes, when ``class_idx`` is None.

        Returns:
            A :class:`CAMResult`: logits [B, N], probs [B, K], class_idx [B, K], raw maps
            [B, K, h, w] (no ReLU, no scaling) and the features [B, C, h, w].

        Raises:
            RuntimeError: called outside the ``with`` block.
            TypeError, ValueError: an input, ``class_idx`` or ``topk`` of the wrong kind, with
                what to pass instead; a network that is not GAP -> Linear.
        """
        if not self._active:
            raise RuntimeError("use CAM inside a with-block: `with CAM(model) as cam: result = cam(x)`")
        if self._in_channels is None:  # looked up once: walking the modules every call costs time on a GPU
            self._in_channels = input_channels(self.model)
        check_images(x, self._in_channels)
        idx = class_index(class_idx, len(x), self.fc.out_features)
        if idx is None:  # checked before the forward pass, not after it
            check_topk(topk, self.fc.out_features)
        try:
            with eval_mode(self.model):
                logits, feats = self._forward(x)
        finally:
            self._features = self._fc_input = None
        idx = top_classes(logits, topk) if idx is None else idx.to(logits.device)
        weights = self.fc.weight[idx]  # [B, K, C]: row w^c of each chosen class
        maps = torch.einsum("bkc,bchw->bkhw", weights, feats)
        probs = logits.softmax(dim=1).gather(1, idx)
        # Checked last: reading a flag from a GPU waits for all the work queued before it, so
        # here it costs nothing, while a check before the forward pass would leave the GPU idle.
        self._check_finite(x)
        return CAMResult(logits=logits, probs=probs, class_idx=idx, maps=maps, features=feats)
