"""Grad-CAM (Selvaraju et al., 2017), written out to compare it with CAM.

Grad-CAM weights each feature map by the spatial mean of the gradient of the class
score with respect to it:  alpha_{c,k} = mean_{x,y} d logit_c / d f_k(x, y), and the map
is  sum_k alpha_{c,k} f_k  (the paper then applies a ReLU). For a GAP -> Linear network,
d logit_c / d f_k(x, y) = w_{c,k} / (h * w) at every position, so Grad-CAM is CAM divided
by h * w. Grad-CAM also works when there is no GAP (a flatten head, several Linear
layers), at the price of one backward pass per class.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


def gradcam(model: nn.Module, x: Tensor, target_layer: nn.Module, class_idx: Tensor | int | None = None,
            topk: int = 1, relu: bool = False) -> tuple[Tensor, Tensor]:
    """Grad-CAM maps of images ``x`` [B, C, H, W] at ``target_layer``.

    Returns ``(maps, class_idx)``: maps [B, K, h, w] (no ReLU unless ``relu=True``) and the
    classes [B, K] (top-``topk`` when ``class_idx`` is None). The model is run in eval mode,
    its training flag restored, its parameters' ``.grad`` left untouched.
    """
    kept: list[Tensor] = []
    handle = target_layer.register_forward_hook(lambda m, i, o: kept.append(o))
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)  # so the graph exists even with frozen weights
            logits = model(x)
            feats = kept[-1]
            if class_idx is None:
                idx = logits.detach().topk(topk, dim=1).indices
            else:
                idx = torch.as_tensor(class_idx, device=logits.device).long()
                idx = idx.view(1, -1).expand(len(x), -1) if idx.ndim < 2 else idx
            maps = []
            for k in range(idx.shape[1]):
                score = logits.gather(1, idx[:, k:k + 1]).sum()
                (grad,) = torch.autograd.grad(score, feats, retain_graph=k + 1 < idx.shape[1])
                alpha = grad.mean(dim=(2, 3), keepdim=True)  # [B, C, 1, 1]
                maps.append((alpha * feats).sum(dim=1).detach())
    finally:
        handle.remove()
        model.train(was_training)
    out = torch.stack(maps, dim=1)
    return (out.clamp(min=0) if relu else out), idx
