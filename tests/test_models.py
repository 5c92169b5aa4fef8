import pytest
import torch

from camlib import CLASSES, FlattenNet, GAPNet, count_params


def test_same_trunk_different_heads():
    gap, flat = GAPNet(5), FlattenNet(5, input_size=64)
    assert count_params(gap.features) == count_params(flat.features)
    x = torch.randn(2, 3, 64, 64)
    assert gap(x).shape == flat(x).shape == (2, 5)
    assert gap.features(x).shape == (2, 64, 16, 16)


def test_head_parameters_show_the_papers_point():
    n_ch, h, w, n = 64, 16, 16, len(CLASSES)
    gap, flat = GAPNet(n), FlattenNet(n, input_size=64)
    assert count_params(gap.fc) == n_ch * n + n  # one weight per channel per class
    assert count_params(flat.fc) == n_ch * h * w * n + n  # one weight per channel *and position* per class
    assert count_params(flat.fc) > 200 * count_params(gap.fc)


def test_gap_takes_any_size_flatten_only_one():
    gap, flat = GAPNet(3).eval(), FlattenNet(3, input_size=64).eval()
    assert gap(torch.randn(1, 3, 96, 80)).shape == (1, 3)
    with pytest.raises(ValueError, match="fits one size only"):
        flat(torch.randn(1, 3, 96, 96))
    with pytest.raises(ValueError, match="divisible"):
        FlattenNet(3, input_size=30)


def test_initial_weights_come_from_the_seed():
    _ = torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b, c = GAPNet(5), GAPNet(5), GAPNet(5, seed=1)
    assert torch.equal(torch.get_rng_state(), state)  # the global random state is untouched
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
    assert not torch.equal(a.fc.weight, c.fc.weight)
    flat = FlattenNet(5)
    assert torch.equal(flat.features[0].weight, a.features[0].weight)  # same trunk, same start
