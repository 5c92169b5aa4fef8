"""What a check is made of: a case (plain data), what the function did on it, the verdict;
and the small helpers the judges share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from camlib.models import FlattenNet, GAPNet


class CheckFailed(Exception):
    """A case where the reader's function disagrees with the reference."""


# -- what a case is made of ----------------------------------------------------------------------
@dataclass(frozen=True)
class Net:
    """A small network given by data: camlib's GAPNet or FlattenNet with seeded random weights.

    A case that needs a model holds a ``Net``; the model itself is built where the reader's
    function runs (:meth:`build`), so that the case stays plain data.
    """

    kind: str  # "gapnet" or "flattennet"
    num_classes: int
    widths: tuple[int, ...]
    input_size: int
    seed: int

    def build(self) -> nn.Module:
        if self.kind == "gapnet":
            model = GAPNet(self.num_classes, widths=tuple(self.widths), seed=self.seed)
        elif self.kind == "flattennet":
            model = FlattenNet(self.num_classes, widths=tuple(self.widths), input_size=self.input_size, seed=self.seed)
        else:
            raise ValueError(f"unknown network kind {self.kind!r}; use 'gapnet' or 'flattennet'")
        return model.eval()


@dataclass(frozen=True)
class Layer:
    """The submodule ``path`` (e.g. ``"features"`` or ``"features.5"``) of the network in argument ``net``."""

    net: int
    path: str


@dataclass(frozen=True)
class Case:
    """One call of the reader's function: what it is, in words, and its arguments (plain data,
    :class:`Net` and :class:`Layer` included)."""

    label: str
    args: tuple
    raises: bool = False  # the model raises on these inputs, on purpose (a hook must still be removed)


def materialize(args: tuple) -> tuple:
    """The arguments a function is called with: tensors and arrays copied, networks built."""
    built = [a.build() if isinstance(a, Net) else a for a in args]
    out = []
    for a in built:
        if isinstance(a, Layer):
            out.append(built[a.net].get_submodule(a.path))
        elif isinstance(a, torch.Tensor):
            out.append(a.clone())
        elif isinstance(a, np.ndarray):
            out.append(a.copy())
        else:
            out.append(a)
    return tuple(out)


def observe(args: tuple) -> dict[str, int]:
    """What a call left behind on the models it was given: forward hooks, and ``.grad`` set."""
    models = [a for a in args if isinstance(a, nn.Module)]
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for model in models for m in model.modules())
    grads = sum(p.grad is not None for model in models for p in model.parameters())
    return {"hooks": int(hooks), "grads": int(grads)}


@dataclass(frozen=True)
class Returned:
    """The function returned ``value``; ``observed`` is :func:`observe` after the call."""

    value: Any
    observed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Raised:
    """The function raised ``kind`` (the exception's class name) with ``message``, at ``line`` of its own code."""

    kind: str
    message: str
    line: str = ""
    observed: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The result of a check: whether it passed, the message, and how many cases ran.

    Printed as plain text: ``PASS check_x: 5 cases passed.``, ``FAIL check_x: <what is wrong>``, or
    ``TODO check_x: not implemented yet ...`` while the function still raises NotImplementedError.
    """

    checker: str
    passed: bool
    message: str
    cases: int = 0
    done: bool = True  # False while the function still raises NotImplementedError

    def __str__(self) -> str:
        mark = "PASS" if self.passed else ("TODO" if not self.done else "FAIL")
        return f"{mark} {self.checker}: {self.message}"


# -- helpers for the judges -------------------------------------------------------------------
def type_name(value: Any) -> str:
    """The name of ``value``'s type as a student reads it (a value sent from the sandbox says its own)."""
    return getattr(value, "type_name", None) or type(value).__name__


def expect_tensor(out: Any, shape: tuple, what: str) -> torch.Tensor:
    """``out`` detached, if it is a tensor of ``shape``; else CheckFailed saying what ``what`` should be."""
    if not isinstance(out, torch.Tensor):
        raise CheckFailed(f"{what} should be a torch.Tensor of shape {tuple(shape)}, got {type_name(out)}.")
    if tuple(out.shape) != tuple(shape):
        raise CheckFailed(f"{what} should have shape {tuple(shape)}, got {tuple(out.shape)}.")
    return out.detach()


def all_close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-4, rtol: float = 1e-4) -> bool:
    """Same shape, every value finite, and equal within the tolerances (NaN and inf never pass)."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().double(), b.detach().double()
    return bool(torch.isfinite(a).all()) and bool(torch.allclose(a, b, atol=atol, rtol=rtol))


def normal_tensor(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """A float32 tensor of ``shape`` drawn from N(0, scale²) with ``rng``."""
    return torch.from_numpy((rng.standard_normal(shape) * scale).astype(np.float32))


def draw_seed(rng: np.random.Generator) -> int:
    """A seed for torch drawn from ``rng`` (so that a case's network is fixed by the case's seed)."""
    return int(rng.integers(0, 2**31 - 1))
