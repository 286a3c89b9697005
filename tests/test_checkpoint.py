"""Checkpoint state round trip (safetensors + JSON, never pickle) and the style format."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from brushwork import nets
from brushwork.checkpoint import load_state, save_state
from brushwork.errors import BrushworkError
from brushwork.stylefile import load_style, save_style


def test_nested_state_round_trip(tmp_path: Path) -> None:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.rand(4, 3)).sum().backward()
    opt.step()
    state = {
        "opt": opt.state_dict(),
        "t": (1, 2.5, "x", None, True),
        "rng": torch.get_rng_state(),
        "empty": torch.zeros(0),
    }
    save_state(state, tmp_path / "c.safetensors")
    back = load_state(tmp_path / "c.safetensors")
    assert back["t"] == (1, 2.5, "x", None, True)
    assert torch.equal(back["rng"], state["rng"])
    assert back["opt"]["param_groups"] == state["opt"]["param_groups"]
    for k, v in state["opt"]["state"][0].items():
        assert torch.equal(back["opt"]["state"][0][k], v)
    opt2 = torch.optim.Adam(net.parameters())
    opt2.load_state_dict(back["opt"])  # loads into a real optimizer


def test_unreadable_checkpoint(tmp_path: Path) -> None:
    p = tmp_path / "bad.safetensors"
    p.write_bytes(b"\x00" * 20)
    with pytest.raises(BrushworkError, match=r"bad\.safetensors"):
        load_state(p)


def test_style_round_trip_bit_identical(tmp_path: Path) -> None:
    torch.manual_seed(0)
    kw = {"ngf": 4, "n_blocks": 1, "lut_size": 5}
    g = nets.create("generator", "lite", **kw)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = save_style(tmp_path / "s", "lite", kw, g.state_dict(), {"steps": 1}, None)
    g2, meta = load_style(path)
    x = torch.rand(1, 3, 33, 41) * 2 - 1
    assert torch.equal(g.eval()(x), g2(x))
    assert meta["generator"] == {"name": "lite", "kwargs": kw, "kind": "generator"}
    with pytest.raises(BrushworkError, match="already exists"):
        save_style(path, "lite", kw, g.state_dict(), {}, None)
    (path / "style.json").write_text('{"format": "brushwork-style", "format_version": 99}')
    with pytest.raises(BrushworkError, match="newer than this brushwork"):
        load_style(path)


def test_styles_from_before_a_new_default_still_load(tmp_path: Path) -> None:
    # a lite style saved before the tone stage existed: kwargs without tone_knots, no tone weights
    old = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5, tone_knots=0)
    path = save_style(tmp_path / "old", "lite", {"ngf": 4, "n_blocks": 1, "lut_size": 5}, old.state_dict(), {}, None)
    g, _ = load_style(path)
    assert g.tone is None
    # new styles record every constructor argument, defaults included
    kw = nets.full_kwargs("generator", "lite", ngf=4)
    assert kw["ngf"] == 4 and kw["tone_knots"] == 8 and kw["lut_size"] == 17
    with pytest.raises(ValueError, match="unknown generator"):
        nets.full_kwargs("generator", "nope")
