"""Pick the device in one place: the GPU when there is one, else the CPU."""
from __future__ import annotations

import torch


def default_device(full_precision: bool = True) -> torch.device:
    """``cuda`` if available, then Apple's ``mps``, else ``cpu``. Never required: CPU always works.

    When it picks ``cuda`` and ``full_precision`` is true, it also turns TensorFloat-32 off
    for cuDNN's convolutions (PyTorch turns it on by default: products keep 10 bits of
    mantissa), so that a GPU prints the numbers a CPU prints, to the digits the chapters
    show. Pass ``full_precision=False`` to keep TF32's speed on large models.
    """
    if torch.cuda.is_available():
        if full_precision:
            torch.backends.cudnn.allow_tf32 = False  # the legacy flag: the one every torch 2.x knows
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
