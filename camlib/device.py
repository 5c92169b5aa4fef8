"""Pick the device in one place, and say explicitly when a GPU must compute in full float32."""

from __future__ import annotations

import torch

__all__ = ["default_device", "full_precision", "resolve_device"]


def default_device() -> torch.device:
    """``cuda`` if available, then Apple's ``mps``, else ``cpu``. Never required: CPU always works.

    Taught in chapter 1, "What CAM is, in one picture". It only chooses; it changes no torch
    setting (see :func:`full_precision` for that).

    Returns:
        The device.
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def full_precision(enabled: bool = True) -> None:
    """Make CUDA convolutions and matrix products compute in full float32 (``enabled=False`` undoes it).

    Taught in chapter 1, "What CAM is, in one picture".

    PyTorch lets cuDNN's convolutions use TensorFloat-32 by default: products keep 10 bits of
    mantissa, so a GPU prints other last digits than a CPU. The chapters call this once, next
    to :func:`default_device`, so that a GPU prints the numbers a CPU prints, to the digits
    shown. It sets two process-wide torch flags, ``torch.backends.cudnn.allow_tf32`` and
    ``torch.backends.cuda.matmul.allow_tf32``, and nothing else; on a CPU they change nothing.
    Keep TF32 (do not call this) for speed on large models where the last digits do not matter.

    Args:
        enabled: True for full float32, False for PyTorch's default (TF32 allowed).

    Returns:
        None.
    """
    torch.backends.cudnn.allow_tf32 = not enabled  # the flags every torch 2.x knows
    torch.backends.cuda.matmul.allow_tf32 = not enabled


def resolve_device(device: torch.device | str | None) -> torch.device:
    """``device`` as a ``torch.device``, or :func:`default_device` when it is None.

    What every camlib function that takes ``device=`` does with it.

    Args:
        device: a device, its name (``"cpu"``, ``"cuda:0"``), or None.

    Returns:
        The ``torch.device``.
    """
    return torch.device(device) if device is not None else default_device()
