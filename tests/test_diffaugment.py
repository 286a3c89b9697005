"""Differentiable augmentation: shapes, gradients, padding modes, determinism."""

from __future__ import annotations

import pytest
import torch

from brushwork.diffaugment import diff_augment, parse_policy


def test_all_ops_keep_shape_and_pass_gradients() -> None:
    x = (torch.rand(3, 3, 32, 40) * 2 - 1).requires_grad_()
    y = diff_augment(x, parse_policy("color,translation,cutout"))
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_same_seed_same_augmentation() -> None:
    x = torch.rand(2, 3, 16, 16)
    torch.manual_seed(5)
    a = diff_augment(x, ("color", "translation", "cutout"))
    torch.manual_seed(5)
    assert torch.equal(a, diff_augment(x, ("color", "translation", "cutout")))


def test_translation_padding_modes() -> None:
    x = torch.full((64, 3, 16, 16), 0.5)  # a constant image: only the padding can change it
    torch.manual_seed(0)
    rep = diff_augment(x, ("translation",))
    torch.manual_seed(0)
    zer = diff_augment(x, ("translation",), pad="zeros")
    assert torch.equal(rep, x)  # replicate: an edge strip repeats the edge
    assert (zer == 0).any() and ((zer == 0) | (zer == 0.5)).all()  # zeros: uncovered strips are empty
    with pytest.raises(ValueError, match="pad"):
        diff_augment(x, ("translation",), pad="reflect")


def test_unknown_policy_is_named() -> None:
    with pytest.raises(ValueError, match="'blur'"):
        parse_policy("color, blur")
