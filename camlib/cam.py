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
from typing import Sequence, Union

import torch
from torch import Tensor, nn

ClassIndex = Union[None, int, str, Sequence[int], Sequence[Sequence[int]], Tensor]

_POOLS = (nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d, nn.MaxPool2d, nn.Flatten, nn.Dropout, nn.Identity)
GRADCAM_HINT = ("CAM needs a network whose last feature map is globally average-pooled into a single nn.Linear; "
                "for other networks use Grad-CAM (camlib.gradcam, or pytorch-grad-cam / torchcam).")


@dataclass
class CAMResult:
    """What one call of :class:`CAM` returns (B images, N classes, K chosen classes).

    logits:    [B, N] the model's output
    probs:     [B, K] softmax probabilities of the chosen classes
    class_idx: [B, K] the chosen classes (top-k, or the ones asked for)
    maps:      [B, K, h, w] raw class activation maps sum_k w_{c,k} f_k(x, y)
    features:  [B, C, h, w] the hooked feature maps f
    """

    logits: Tensor
    probs: Tensor
    class_idx: Tensor
    maps: Tensor
    features: Tensor


def all_finite(x: Tensor) -> bool:
    """No NaN or infinity in ``x``. A NaN or an infinity makes the sum non-finite: one cheap
    pass, and the exact element-wise test only when the sum is not finite (it can overflow)."""
    return bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())


def find_fc(model: nn.Module) -> nn.Linear:
    """The model's single nn.Linear layer; a clear error when there is none or several."""
    linears = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layer to read class weights from. " + GRADCAM_HINT)
    if len(linears) > 1:
        names = ", ".join(name for name, _ in linears)
        raise ValueError(f"{type(model).__name__} has {len(linears)} Linear layers ({names}), so its class scores are "
                         "not a weighted sum of pooled feature maps. " + GRADCAM_HINT +
                         " If one of them really is the GAP classifier, pass it as "
                         "CAM(model, target_layer=..., fc=...).")
    return linears[0][1]


def _layer(model: nn.Module, layer: nn.Module | str | None) -> nn.Module | None:
    """``layer`` itself, or the module of ``model`` named ``layer``; the error suggests close names."""
    if not isinstance(layer, str):
        return layer
    modules = dict(model.named_modules())
    if layer not in modules:
        close = [n for n in modules if layer.split(".")[-1] in n][:5]
        raise ValueError(f"no layer named {layer!r} in {type(model).__name__}"
                         + (f"; did you mean one of {close}?" if close else "; see model.named_modules()"))
    return modules[layer]


def _input_channels(model: nn.Module) -> int:
    """The channels the model's first convolution takes, or -1 when it has none."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return conv.in_channels if conv is not None else -1


def _check_images(x: Tensor, channels: int) -> None:
    """``x`` must be a float batch [B, C, H, W] with ``C == channels`` (any C when ``channels`` is -1)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a float tensor [B, C, H, W], got {type(x).__name__}; "
                        "use the weights' preprocess (or torch.as_tensor) first")
    if x.ndim != 4:
        hint = " (for one image use x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ValueError(f"expected a batch [B, C, H, W], got a tensor of shape {tuple(x.shape)}{hint}")
    if channels > 0 and x.shape[1] != channels:
        raise ValueError(f"the model's first convolution takes {channels} channels, got an input with "
                         f"{x.shape[1]} ([B, C, H, W] = {tuple(x.shape)}); convert the image to RGB")
    if not x.is_floating_point():
        raise TypeError(f"expected a float tensor, got {x.dtype}; scale uint8 images to floats first")


def _check_topk(topk: int, num_classes: int) -> None:
    if not 1 <= topk <= num_classes:
        raise ValueError(f"topk must be between 1 and the number of classes ({num_classes}), got {topk}")


def _class_index(class_idx: ClassIndex, batch: int, num_classes: int, device: torch.device | None = None
                 ) -> Tensor | None:
    """The classes to map, [B, K], from ``class_idx`` as every camlib function reads it; None when
    the caller should take the top-k classes.

    * ``None``: the top-``topk`` classes (the caller picks them once it has the logits);
    * an int: that class for every image;
    * a list, tuple or 1-D tensor of length B: one class per image (as in torchcam and
      pytorch-grad-cam);
    * a [B, K] tensor (or nested list): K classes per image; a [1, K] one: the same K for all;
    * ``"all"``: every class, for every image.
    """
    if class_idx is None:
        return None
    if isinstance(class_idx, str):
        if class_idx != "all":
            raise ValueError(f"the only string class_idx is 'all' (every class), got {class_idx!r}")
        return torch.arange(num_classes, device=device).expand(batch, num_classes)
    if isinstance(class_idx, bool):
        raise TypeError("class_idx must be None, an int, a list of B ints or a [B, K] tensor, got a bool")
    try:
        idx = torch.as_tensor(class_idx, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"class_idx must be None, an int, a list of B ints or a [B, K] tensor ({err})") from err
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        raise TypeError(f"class_idx must hold integers, got dtype {idx.dtype}")
    if idx.ndim == 0:
        idx = idx.view(1, 1).expand(batch, 1)
    elif idx.ndim == 1:
        if len(idx) != batch:
            raise ValueError(f"a list or 1-D tensor class_idx gives one class per image, so it needs B = {batch} "
                             f"entries, got {len(idx)}; for the same classes for every image pass a [1, K] tensor, "
                             f"e.g. torch.tensor([{idx.tolist()}])")
        idx = idx.view(batch, 1)
    elif idx.ndim == 2 and idx.shape[0] in (1, batch) and idx.shape[1] > 0:
        idx = idx.expand(batch, -1)
    else:
        raise ValueError(f"a class_idx tensor must be [B, K] = [{batch}, K] or [1, K], got {tuple(idx.shape)}")
    if idx.numel() and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(f"class_idx must be in [0, {num_classes - 1}] (the model has {num_classes} classes), "
                         f"got {class_idx!r}")
    return idx.long()


def _top_classes(logits: Tensor, topk: int) -> Tensor:
    """The indices [B, topk] of the ``topk`` largest logits of each image, most likely first."""
    _check_topk(topk, logits.shape[1])
    return logits.detach().topk(topk, dim=1).indices


def _last_feature_maps(model: nn.Module, x: Tensor, channels: int | None = None
                       ) -> tuple[Tensor, list[tuple[str, nn.Module, Tensor]]]:
    """One forward pass that records every 4-D output: the logits, and the [B, C, h, w] maps
    (h * w > 1, ``C == channels`` when given) in the order they were made; the last one is
    the map in front of the head, produced by the outermost module that made it."""
    seen: list[tuple[str, nn.Module, Tensor]] = []
    names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(lambda mod, i, o: seen.append((names[mod], mod, o)))
               for m in model.modules() if m is not model and not isinstance(m, _POOLS)]
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    maps = [(n, m, o) for n, m, o in seen if isinstance(o, Tensor) and o.ndim == 4 and o.shape[2] * o.shape[3] > 1
            and (channels is None or o.shape[1] == channels)]
    return logits, maps


class CAM:
    """Hook-based class activation maps for a GAP -> Linear network.

    Args:
        model: any nn.Module ending in global average pooling and one nn.Linear
            (camlib.GAPNet, the EfficientNet-Lite0 of camlib.load_pretrained, torchvision ResNets).
        target_layer: the module whose output is the last feature map [B, C, h, w], or its
            name in ``model.named_modules()``; found by itself when omitted.
        fc: the final nn.Linear (weights [N, C]); found by itself when omitted.

    Use it as a context manager; the hooks live only inside the ``with`` block, and the
    model's training flag and parameters are left as they were.
    """

    def __init__(self, model: nn.Module, target_layer: nn.Module | str | None = None, fc: nn.Linear | None = None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"CAM takes a torch.nn.Module, got {type(model).__name__}")
        self.model = model
        self.fc = fc if fc is not None else find_fc(model)
        if not isinstance(self.fc, nn.Linear):
            raise TypeError(f"fc must be an nn.Linear, got {type(self.fc).__name__}")
        self.target_layer: nn.Module | None = _layer(model, target_layer)
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

    def __enter__(self) -> "CAM":
        self._handles.append(self.fc.register_forward_pre_hook(self._keep_fc_input))
        if self.target_layer is not None:
            self._handles.append(self.target_layer.register_forward_hook(self._keep_features))
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this object put on the model (also called on leaving ``with``)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._features = self._fc_input = None
        self._active = False

    # -- finding the feature map ---------------------------------------------------------
    def _forward_and_find_layer(self, x: Tensor) -> Tensor:
        """One forward pass that also records every 4-D output, to pick the map that feeds GAP."""
        c = self.fc.in_features
        logits, candidates = _last_feature_maps(self.model, x, channels=c)
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
        fc_in = self._fc_input.reshape(pooled.shape[0], -1)
        if fc_in.shape != pooled.shape or not torch.allclose(pooled, fc_in, rtol=1e-3, atol=1e-4):
            raise ValueError(f"the input of the final Linear layer is not the global average of layer {name!r}'s "
                             "feature map. " + GRADCAM_HINT)

    # -- the maps ------------------------------------------------------------------------
    @staticmethod
    def _check_finite(x: Tensor) -> None:
        if not all_finite(x):
            raise ValueError("the input holds NaN or infinite values; check the image loading and normalisation")

    @torch.no_grad()  # not inference_mode: readers add maps to fc.bias, an autograd leaf
    def __call__(self, x: Tensor, class_idx: ClassIndex = None, topk: int = 1) -> CAMResult:
        """Maps for the top-``topk`` classes (or ``class_idx``) of the images ``x`` [B, C, H, W].

        ``class_idx``, as in every camlib function: None for the top-``topk`` classes; an int
        for the same class in every image; a list or 1-D tensor of B ints for one class per
        image; a [B, K] tensor for K classes per image, or [1, K] for the same K in all;
        ``"all"`` for every class. One forward pass.
        """
        if not self._active:
            raise RuntimeError("use CAM inside a with-block: `with CAM(model) as cam: result = cam(x)`")
        if self._in_channels is None:  # looked up once: walking the modules every call costs time on a GPU
            self._in_channels = _input_channels(self.model)
        _check_images(x, self._in_channels)
        idx = _class_index(class_idx, len(x), self.fc.out_features)
        if idx is None:  # checked before the forward pass, not after it
            _check_topk(topk, self.fc.out_features)
        was_training = self.model.training
        if was_training:  # (each switch walks every module)
            self.model.eval()
        try:
            if self.target_layer is None:  # the first call: check the input before looking for the layer
                self._check_finite(x)
                logits = self._forward_and_find_layer(x)
            else:
                logits = self.model(x)
            feats = self._features
            if feats is None or feats.ndim != 4 or feats.shape[1] != self.fc.in_features:
                got = None if feats is None else tuple(feats.shape)
                raise ValueError(f"the target layer must output [B, {self.fc.in_features}, h, w] feature maps, "
                                 f"got {got}")
        finally:
            if was_training:
                self.model.train()
            self._features = self._fc_input = None
        idx = _top_classes(logits, topk) if idx is None else idx.to(logits.device)
        weights = self.fc.weight[idx]  # [B, K, C]: row w^c of each chosen class
        maps = torch.einsum("bkc,bchw->bkhw", weights, feats)
        probs = logits.softmax(dim=1).gather(1, idx)
        # Checked last: reading a flag from a GPU waits for all the work queued before it, so
        # here it costs nothing, while a check before the forward pass would leave the GPU idle.
        self._check_finite(x)
        return CAMResult(logits=logits, probs=probs, class_idx=idx, maps=maps, features=feats)
