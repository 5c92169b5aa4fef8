"""Every camlib call that switches a model's mode puts each module back in its own mode.

The mixed case is the one that matters (torchcam tests it too): a model in train mode with
one BatchNorm frozen in eval mode, and the reverse. Restoring only ``model.training`` would
put that BatchNorm back in the model's mode.
"""

import pytest
import torch
from torch import nn

import camlib
from camlib import GAPNet, eval_mode, train_mode


def mixed_model(outer: bool) -> nn.Module:
    model = GAPNet(5, widths=(4, 8), seed=0).train(outer)
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    bn.train(not outer)  # one module in the other mode
    return model


def modes(model: nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in model.named_modules()}


CALLS = {
    "CAM": lambda model, x, y: camlib.CAM(model).__enter__()(x, topk=2),
    "gradcam": lambda model, x, y: camlib.gradcam(model, x, topk=2),
    "predict": lambda model, x, y: camlib.predict(model, x),
    "evaluate": lambda model, x, y: camlib.evaluate(model, x, y),
    "train": lambda model, x, y: camlib.train(model, x, y, epochs=1, batch_size=4, device="cpu", progress=False),
    "cam_maps": lambda model, x, y: camlib.cam_maps(model, x, topk=2),
}


@pytest.mark.parametrize("outer", [True, False], ids=["train mode, one BatchNorm in eval", "the reverse"])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_each_module_keeps_its_own_mode(call, outer):
    model = mixed_model(outer)
    before = modes(model)
    x, y = torch.rand(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])
    CALLS[call](model, x, y)
    assert modes(model) == before


@pytest.mark.parametrize(("manager", "inside"), [(eval_mode, False), (train_mode, True)])
def test_the_context_managers_switch_every_module_and_restore_each(manager, inside):
    model = mixed_model(True)
    before = modes(model)
    with pytest.raises(RuntimeError, match="inside"), manager(model) as same:  # noqa: PT012 - raised in the block
        assert same is model and all(flag == inside for flag in modes(model).values())
        raise RuntimeError("raised inside the block")
    assert modes(model) == before


def test_the_context_managers_say_what_to_pass():
    with pytest.raises(TypeError, match="nn.Module"), eval_mode("not a model"):
        pass
