"""Shared fixtures: the pretrained model and photos load once per test session."""

import pytest
import torch

import cambook
import camlib


@pytest.fixture(scope="session")
def pretrained():
    return camlib.load_pretrained("efficientnet_lite0", device="cpu")


@pytest.fixture(scope="session")
def photos():
    return cambook.sample_images()


@pytest.fixture
def small_gapnet():
    _ = torch.manual_seed(0)
    return camlib.GAPNet(5).eval()
