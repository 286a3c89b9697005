"""Style folders from strangers: every malformed or hostile one ends in a one-line error
naming the file (and the field), before any network or tensor is built."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from brushwork import nets
from brushwork.errors import BrushworkError
from brushwork.schema import KWARG_BOUNDS
from brushwork.stylefile import STYLE_JSON, WEIGHTS, load_style, save_style


def good_style(folder: Path) -> Path:
    g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5)
    return save_style(folder, "lite", {"ngf": 4, "n_blocks": 1, "lut_size": 5}, g.state_dict(), {"steps": 1}, None)


def edit_json(fn: Callable[[dict], object]) -> Callable[[Path], None]:
    def apply(p: Path) -> None:
        meta = json.loads((p / STYLE_JSON).read_text())
        out = fn(meta)
        (p / STYLE_JSON).write_text(json.dumps(meta if out is None else out))

    return apply


class Evil:
    def __reduce__(self) -> tuple:
        return (os.system, ("touch /tmp/brushwork-pwned",))


def pickle_weights(p: Path) -> None:
    (p / WEIGHTS).write_bytes(pickle.dumps({"w": Evil()}))


def huge_header(p: Path) -> None:
    (p / WEIGHTS).write_bytes(struct.pack("<Q", 10 * 2**30) + b"{}")


def lying_tensor(p: Path) -> None:  # a header claiming 4 GB of float32 in a tiny file
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 1 << 32]}}).encode()
    (p / WEIGHTS).write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)


def other_weights(p: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(p / WEIGHTS))


def link_out(p: Path) -> None:
    outside = p.parent / "outside.json"
    outside.write_text((p / STYLE_JSON).read_text())
    (p / STYLE_JSON).unlink()
    (p / STYLE_JSON).symlink_to(outside)


CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "bad json": (lambda p: (p / STYLE_JSON).write_text("{not json"), "style.json: not readable JSON"),
    "generator is a string": (edit_json(lambda m: m.update(generator="lite")), "generator: Input should be"),
    "unknown family": (edit_json(lambda m: m["generator"].update(name="evil")), "generator.name 'evil' is not a known"),
    "absurd LUT": (edit_json(lambda m: m["generator"]["kwargs"].update(lut_size=4000)), "lut_size = 4000 is outside"),
    "wrong type": (edit_json(lambda m: m["generator"]["kwargs"].update(ngf="4")), "generator.kwargs.ngf must be"),
    "unknown argument": (edit_json(lambda m: m["generator"]["kwargs"].update(x=1)), "kwargs.x is not an argument"),
    "nested kwargs": (edit_json(lambda m: m["generator"]["kwargs"].update(ngf={"a": 1})), "generator.kwargs.ngf"),
    "kind": (edit_json(lambda m: m["generator"].update(kind="discriminator")), "generator.kind"),
    "future format": (edit_json(lambda m: m.update(format_version=99)), "newer than this brushwork"),
    "not an object": (edit_json(lambda m: [1, 2]), "not a brushwork style file"),
    "huge json": (lambda p: (p / STYLE_JSON).write_text(" " * (2 << 20)), "more than a style file can be"),
    "pickle payload": (pickle_weights, "generator.safetensors: header claims"),
    "10 GB header claim": (huge_header, "header claims 10737418240 bytes"),
    "tensor beyond the file": (lying_tensor, "claims bytes the file does not hold"),
    "weights of another network": (other_weights, "weights do not match the generator"),
    "link out of the folder": (link_out, "a link to a file outside the style folder"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_style_folder_is_refused_with_a_clear_error(tmp_path: Path, case: str) -> None:
    folder = good_style(tmp_path / "s")
    load_style(folder)  # the untouched folder loads
    spoil, message = CASES[case]
    spoil(folder)
    with pytest.raises(BrushworkError, match="(?s)" + message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_style(folder)
    assert "\n" not in str(info.value)
    assert str(folder) in str(info.value) or str(tmp_path) in str(info.value)
    assert not Path("/tmp/brushwork-pwned").exists()


def test_a_missing_weights_file_is_not_a_style(tmp_path: Path) -> None:
    folder = good_style(tmp_path / "s")
    (folder / WEIGHTS).unlink()
    with pytest.raises(BrushworkError, match="not a style folder"):
        load_style(folder)


def test_saving_checks_the_same_schema(tmp_path: Path) -> None:
    g = nets.create("generator", "lite", ngf=4, n_blocks=1, lut_size=5)
    with pytest.raises(BrushworkError, match="lut_size = 999 is outside"):
        save_style(tmp_path / "s", "lite", {"lut_size": 999}, g.state_dict(), {}, None)
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("kind", ["generator", "noise_generator"])
def test_every_numeric_argument_of_every_family_has_a_bound(kind: str) -> None:
    for name in nets.names(kind):
        for p in inspect.signature(nets.registry._lookup(kind, name)).parameters.values():
            if isinstance(p.default, int | float) and not isinstance(p.default, bool):
                assert p.name in KWARG_BOUNDS, f"{kind} {name}: argument {p.name} has no bound in schema.KWARG_BOUNDS"
                lo, hi = KWARG_BOUNDS[p.name]
                assert lo <= p.default <= hi
