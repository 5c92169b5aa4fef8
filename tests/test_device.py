"""Choosing a device changes nothing else; full float32 on a GPU is an explicit call."""

import torch

import camlib


def flags():
    return (
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
        torch.get_default_dtype(),
        torch.are_deterministic_algorithms_enabled(),
        torch.get_num_threads(),
    )


def test_default_device_changes_no_torch_setting(monkeypatch):
    before = flags()
    assert camlib.default_device().type in ("cpu", "cuda", "mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU branch, on any machine
    assert camlib.default_device() == torch.device("cuda")
    assert flags() == before


def test_full_precision_turns_tf32_off_and_back_on():
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    try:
        camlib.full_precision()
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        camlib.full_precision(False)
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before
