"""Pick the device in one place: the GPU when there is one, else the CPU."""
from __future__ import annotations

import torch


def default_device() -> torch.device:
    """``cuda`` if available, then Apple's ``mps``, else ``cpu``. Never required: CPU always works."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
