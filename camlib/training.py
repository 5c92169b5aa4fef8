"""A plain, seeded training loop and an accuracy metric (nothing hidden).

AdamW with a one-cycle learning-rate schedule, cross-entropy loss, mini-batches drawn
in a seeded random order, and random horizontal/vertical flips as the only
augmentation (flipping moves the object, so its box stays meaningful). The same seed
on the same machine gives the same weights.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .device import resolve_device
from .modes import eval_mode, train_mode

log = logging.getLogger(__name__)


@contextmanager
def _epoch_bar(epochs: int, progress: bool) -> Iterator[tqdm]:
    """A tqdm bar over the epochs; in a notebook, one whose stored text shows where it ended.

    tqdm.auto chooses: in Jupyter or Colab a widget, elsewhere (a terminal, pytest) a text
    bar on stderr. A notebook keeps a widget's text/plain as it was when it was displayed
    (``0/3``), so here the widget is displayed with a display id, and that output is updated
    (the same widget, its final text: ``3/3`` and the last loss) when the loop ends or fails.
    """
    notebook = progress and any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__)
    if not notebook:
        with tqdm(range(epochs), desc="training", disable=not progress) as bar:
            yield bar
        return
    from IPython.display import display

    bar = tqdm(range(epochs), desc="training", display=False)
    handle = display(bar.container, display_id=True)
    try:
        yield bar
    finally:
        bar.close()
        handle.update(bar.container)


def train(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    epochs: int = 8,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` in place with AdamW and a one-cycle schedule: the book's plain, seeded loop.

    Taught in chapter 2, "Global average pooling versus flatten".

    The model is trained in train mode and left on ``device`` (default:
    :func:`camlib.default_device`) with each module's mode as it was before (see
    :func:`camlib.train_mode`): a BatchNorm frozen in eval mode stays frozen.
    The global random state is left as it was: the batches and flips come from a generator
    seeded with ``seed``, and any random layer of the model runs under a seeded fork of it.

    With ``progress`` a bar counts the epochs and shows the mean loss of the last one
    (``training: 100%|...| 3/3 [...loss=0.412]``): in Jupyter or Colab a widget that moves as
    the epochs end, whose text version (what a notebook stores for plain-text views, GitHub
    and nbval) is replaced by the final state when training ends; in a terminal tqdm's bar on
    stderr. ``progress=False`` shows nothing.

    Args:
        model: the network to train, in place.
        images: [N, C, H, W] training images.
        labels: [N] int64 classes.
        epochs: passes over the images.
        batch_size: images per step.
        lr: the one-cycle schedule's peak learning rate.
        weight_decay: AdamW's weight decay.
        seed: the seed of the batches' order, the flips and the model's own random layers.
        device: where to train; :func:`camlib.default_device` when None.
        progress: show a progress bar.

    Returns:
        The mean training loss of each epoch.

    Raises:
        ValueError: images and labels of the wrong shapes or lengths.
    """
    if images.ndim != 4 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"expected images [N, C, H, W] and labels [N], got {tuple(images.shape)} and {tuple(labels.shape)}"
        )
    device = resolve_device(device)
    # the global random state is seeded for the model's own random layers (dropout, say), and restored after
    rng = torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
    with rng, train_mode(model.to(device)):  # every module's mode is restored after training
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        steps = epochs * ((len(images) + batch_size - 1) // batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
        loss_fn = nn.CrossEntropyLoss()
        history = []
        with _epoch_bar(epochs, progress) as bar:
            for _ in bar:
                order = torch.randperm(len(images), generator=gen)
                total = 0.0
                for start in range(0, len(images), batch_size):
                    idx = order[start : start + batch_size]
                    x, y = images[idx], labels[idx]
                    flip = torch.rand(2, generator=gen)
                    if flip[0] < 0.5:
                        x = x.flip(3)
                    if flip[1] < 0.5:
                        x = x.flip(2)
                    x, y = x.to(device), y.to(device)
                    loss = loss_fn(model(x), y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    sched.step()
                    total += loss.item() * len(idx)
                history.append(total / len(images))
                bar.set_postfix(loss=f"{history[-1]:.3f}")
    return history


def predict(model: nn.Module, images: Tensor, batch_size: int = 256) -> Tensor:
    """The predicted class of every image, batch by batch, in eval mode, without gradients.

    Taught in chapter 2, "Global average pooling versus flatten". Every module's own mode is
    restored afterwards (:func:`camlib.eval_mode`).

    Args:
        model: the classifier.
        images: [N, C, H, W], on any device; each batch moves to the model's device.
        batch_size: images per forward pass.

    Returns:
        int64 [N] on the CPU.
    """
    device = next(model.parameters()).device
    with eval_mode(model), torch.inference_mode():
        return torch.cat(
            [model(images[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
        )


def evaluate(model: nn.Module, images: Tensor, labels: Tensor, batch_size: int = 256) -> float:
    """The share of images whose predicted class is their label.

    Taught in chapter 2, "Global average pooling versus flatten".

    Args:
        model: the classifier.
        images: [N, C, H, W].
        labels: [N] the true classes.
        batch_size: images per forward pass.

    Returns:
        The accuracy, in [0, 1].
    """
    return (predict(model, images, batch_size) == labels.cpu()).float().mean().item()


def _cache_key(model: nn.Module, images: Tensor, labels: Tensor, settings: dict) -> str:
    """A hash of everything that decides the trained weights: code, model, data, settings."""
    from . import models

    h = hashlib.sha256()
    for part in (
        inspect.getsource(train),
        inspect.getsource(models),
        repr(model),
        repr(sorted(settings.items())),
        torch.__version__,
    ):
        h.update(part.encode())
    for value in model.state_dict().values():  # the initial weights
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    h.update(images.contiguous().numpy().tobytes())
    h.update(labels.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where trained weights are cached: ``cache_dir``, else ``$CAMLIB_CACHE``, else ``~/.cache/camlib``.

    The one rule for it (the classroom grader copies this folder into each sandbox).

    Args:
        cache_dir: a folder, or None for the default.

    Returns:
        The folder (it may not exist yet).
    """
    return Path(cache_dir or os.environ.get("CAMLIB_CACHE") or Path.home() / ".cache" / "camlib").expanduser()


def load_or_train(
    model: nn.Module,
    images: Tensor,
    labels: Tensor,
    cache_dir: str | None = None,
    device: torch.device | str | None = None,
    **settings,
) -> nn.Module:
    """Train ``model`` with :func:`train` once, and reuse the weights on later calls.

    Used by ``cambook.book_model(..., retrain=True)``, which chapter 2 explains.

    The weights are saved under ``cache_dir`` (default ``$CAMLIB_CACHE`` or
    ``~/.cache/camlib``) in a file named after a hash of the training code, the model, the
    data, the settings and the kind of device, so a change to any of them trains afresh.
    Training runs on ``device`` (default :func:`camlib.default_device`). The seeded loop gives
    the same weights on every run of one machine; another processor or a GPU rounds
    differently and trains a slightly different network, hence the device in the file name.

    Args:
        model: the network, with its initial weights.
        images: [N, C, H, W] training images.
        labels: [N] their classes.
        cache_dir: where trained weights are kept; :func:`cache_folder` when None.
        device: where to train; :func:`camlib.default_device` when None.
        **settings: :func:`train`'s settings (``epochs``, ``lr``, ...).

    Returns:
        The model, trained (or loaded), in eval mode on ``device``.
    """
    folder = cache_folder(cache_dir)
    device = resolve_device(device)
    key_settings = {k: v for k, v in settings.items() if k != "progress"}
    if device.type != "cpu":  # CPU-trained files keep the key they always had
        key_settings["trained_on"] = device.type
    path = folder / f"{type(model).__name__.lower()}-{_cache_key(model, images, labels, key_settings)}.pt"
    if path.is_file():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        log.info("loaded the trained weights from %s", path)
        return model.to(device).eval()
    train(model, images, labels, device=device, **settings)
    folder.mkdir(parents=True, exist_ok=True)
    # write to a temporary file of this process, then rename: concurrent runs never see half a file
    with tempfile.NamedTemporaryFile(dir=folder, prefix=path.stem, suffix=".tmp", delete=False) as tmp:
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, tmp)
    Path(tmp.name).replace(path)
    return model.to(device).eval()
