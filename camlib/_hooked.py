"""The forward pass that Grad-CAM and CAM's other relatives share.

Private to camlib: :mod:`camlib.gradients` and :mod:`camlib.family` use it. One context
manager, :func:`hooked_forward`, checks the input, hooks the target layer (or finds the last
feature map), runs the model in eval mode (every module's own mode restored afterwards),
reads ``class_idx`` as every camlib function does, and removes its hook on every path::

    with hooked_forward(model, x, class_idx, topk, target_layer) as fw:
        for grad in fw.gradients():       # one backward pass per chosen class
            ...                           # grad, fw.features: [B, C, h, w]
    return fw.result(maps, relu)          # a CAMResult
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ._utils import ClassIndex, check_images, class_index, find_layer, input_channels, last_feature_maps, top_classes
from .cam import CAMResult
from .modes import eval_mode

__all__ = ["Hooked", "hooked_forward"]


@dataclass
class Hooked:
    """What one hooked forward pass gives: logits [B, N] and features [B, C, h, w] (both still in the
    autograd graph when it was built with gradients), and the chosen classes idx [B, K]."""

    logits: Tensor
    feats: Tensor
    idx: Tensor
    handles: list = field(default_factory=list)

    @property
    def features(self) -> Tensor:
        """The target layer's output [B, C, h, w], detached."""
        return self.feats.detach()

    def release(self) -> None:
        """Remove the hook now (before extra forward passes that should not be recorded)."""
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def gradients(self) -> Iterator[Tensor]:
        """d logit_c / d features [B, C, h, w] for each of the K chosen classes in turn: one backward
        pass each, through ``torch.autograd.grad`` (the parameters' ``.grad`` stays untouched)."""
        k_total = self.idx.shape[1]
        for k in range(k_total):
            score = self.logits.gather(1, self.idx[:, k : k + 1]).sum()  # image i's score needs only image i
            (grad,) = torch.autograd.grad(score, self.feats, retain_graph=k + 1 < k_total)
            yield grad

    def result(self, maps: list[Tensor] | Tensor, relu: bool) -> CAMResult:
        """A :class:`CAMResult` from the maps: a list of K maps [B, h, w], or one tensor [B, K, h, w]."""
        out = (torch.stack(maps, dim=1) if isinstance(maps, list) else maps).detach()
        logits = self.logits.detach()
        return CAMResult(
            logits=logits,
            probs=logits.softmax(dim=1).gather(1, self.idx),
            class_idx=self.idx,
            maps=out.clamp(min=0) if relu else out,
            features=self.features,
        )


@contextmanager
def hooked_forward(
    model: nn.Module,
    x: Tensor,
    class_idx: ClassIndex,
    topk: int,
    target_layer: nn.Module | str | None,
    with_grad: bool = True,
) -> Iterator[Hooked]:
    """One forward pass of ``x`` [B, C, H, W] in eval mode with the target layer's output kept; the
    block runs in the same eval mode (and, with ``with_grad``, with gradients enabled)."""
    check_images(x, input_channels(model))
    layer = find_layer(model, target_layer)
    kept: list[Tensor] = []
    handles = [layer.register_forward_hook(lambda m, i, o: kept.append(o))] if layer is not None else []
    grad_mode = torch.enable_grad() if with_grad else torch.no_grad()
    try:
        with grad_mode, eval_mode(model):
            if with_grad:
                x = x.detach().requires_grad_(True)  # so the graph exists even with frozen weights
            if layer is None:
                logits, found = last_feature_maps(model, x)
                if not found:
                    raise ValueError(
                        f"found no [B, C, h, w] feature map in {type(model).__name__}'s forward pass; "
                        "pass target_layer="
                    )
                feats = found[-1][2]
            else:
                logits = model(x)
                if not kept:
                    raise ValueError(
                        f"target_layer {type(layer).__name__} did not run in "
                        f"{type(model).__name__}'s forward pass; pass one of the layers model(x) uses"
                    )
                feats = kept[-1]
            if feats.ndim != 4:
                raise ValueError(
                    f"the target layer must output [B, C, h, w] feature maps, got {tuple(feats.shape)}; "
                    "pass a convolutional layer as target_layer="
                )
            idx = class_index(class_idx, len(x), logits.shape[1], device=logits.device)
            idx = top_classes(logits, topk) if idx is None else idx
            hooked = Hooked(logits=logits, feats=feats, idx=idx, handles=handles)
            kept.clear()
            yield hooked
    finally:
        for handle in handles:
            handle.remove()
