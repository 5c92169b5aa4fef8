"""Train and eval modes, switched for a ``with`` block and restored module by module afterwards.

``model.train(flag)`` sets every submodule's flag, so saving only ``model.training`` and
restoring it after a call loses any module that was in the other mode: a BatchNorm frozen
in eval mode inside a model that trains, say. These context managers record each module's
own flag and put every one back, whatever happens inside the block (as torchcam does)::

    with eval_mode(model):          # every module in eval mode here
        logits = model(x)
    # each module is back in the mode it had before
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

__all__ = ["eval_mode", "train_mode"]


@contextmanager
def _mode(model: nn.Module, training: bool) -> Iterator[nn.Module]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    flags = [(module, module.training) for module in model.modules()]
    if any(flag != training for _, flag in flags):  # switching walks every module: only when needed
        model.train(training)
    try:
        yield model
    finally:
        for module, flag in flags:
            module.training = flag


def eval_mode(model: nn.Module):
    """Context manager: every module of ``model`` in eval mode inside the block.

    Each module's own mode is restored on leaving the block, also when it raises. Used by
    :class:`camlib.CAM`, :func:`camlib.gradcam` and :func:`camlib.predict`.

    Args:
        model: any ``nn.Module``.

    Returns:
        A context manager that yields ``model``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    return _mode(model, False)


def train_mode(model: nn.Module):
    """Context manager: every module of ``model`` in train mode inside the block.

    Each module's own mode is restored on leaving the block, also when it raises. Used by
    :func:`camlib.train`.

    Args:
        model: any ``nn.Module``.

    Returns:
        A context manager that yields ``model``.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    return _mode(model, True)
