"""Video: decode with PyAV, stylize frame by frame with temporal stabilisation, encode,
keep the frame rate and copy the audio stream untouched.

Per-frame output flickers: a GAN generator amplifies small input changes (sensor noise,
compression) into visible changes of texture. Stabilisation blends each stylized frame
with the previous *output* where the *input* did not change (a per-pixel weight from the
blurred input difference), so static areas stop shimmering and moving areas follow the
new frame without ghosting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from .errors import BrushworkError
from .io import atomic_path
from .stylizer import Stylizer

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v")


def is_video_path(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass
class VideoReport:
    frames: int
    fps: float
    audio: bool
    flicker: float  # mean |change of output| beyond |change of input| between frames


def stabilise_weight(x: torch.Tensor, prev_x: torch.Tensor, keep: float, tau: float = 0.02) -> torch.Tensor:
    """Per-pixel weight of the previous output: ``keep`` where the input is static, -> 0 where it moved.

    The input difference is averaged over 5x5 (so sensor noise does not count as motion),
    then spread by a 9x9 maximum (so the surroundings of a moving edge count as moving too:
    blending there would leave a ghost trail). x, prev_x: [1, 3, H, W] in [-1, 1] -> [1, 1, H, W]."""
    diff = (x - prev_x).abs().mean(1, keepdim=True)
    diff = F.avg_pool2d(diff, 5, stride=1, padding=2, count_include_pad=False)
    diff = F.max_pool2d(diff, 9, stride=1, padding=4)
    return keep * torch.exp(-diff / tau)


def flicker(frames_in: list[torch.Tensor], frames_out: list[torch.Tensor]) -> float:
    """How much the output changes between frames beyond what the input changes (mean, 0..2)."""
    total, n = 0.0, 0
    for i in range(1, len(frames_in)):
        dx = (frames_in[i] - frames_in[i - 1]).abs()
        dy = (frames_out[i] - frames_out[i - 1]).abs()
        total += (dy - dx).clamp_min(0).mean().item()
        n += 1
    return total / max(1, n)


def stylize_frames(
    stylizer: Stylizer, frames: Iterator[torch.Tensor], keep: float = 0.7
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (input, output) frames ([1, 3, H, W] in [-1, 1]); ``keep`` = 0 disables stabilisation."""
    prev_x: torch.Tensor | None = None
    prev_y: torch.Tensor | None = None
    for x in frames:
        y = stylizer.stylize_tensor(x)
        if keep > 0 and prev_x is not None and prev_y is not None:
            w = stabilise_weight(x, prev_x, keep)
            y = y + w * (prev_y - y)
        prev_x, prev_y = x, y
        yield x, y


def _frame_to_tensor(frame: object) -> torch.Tensor:
    arr = frame.to_ndarray(format="rgb24")  # type: ignore[attr-defined]
    return torch.from_numpy(arr.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]


def stylize_video(
    stylizer: Stylizer, src: str | os.PathLike[str], dest: str | os.PathLike[str], keep: float = 0.7,
    crf: int = 18, quiet: bool = False,
) -> VideoReport:  # fmt: skip
    """Stylize a video file into ``dest`` (written atomically); returns what was done."""
    import av

    src, dest = Path(src), Path(dest)
    try:
        inp = av.open(str(src))
    except (av.error.FFmpegError, OSError) as exc:
        raise BrushworkError(f"{src}: not a readable video ({exc})") from exc
    with inp:
        if not inp.streams.video:
            raise BrushworkError(f"{src}: has no video stream")
        vs = inp.streams.video[0]
        audio = inp.streams.audio[0] if inp.streams.audio else None
        rate = vs.average_rate or vs.guessed_rate or 25
        total = vs.frames or None
        ins: list[torch.Tensor] = []
        outs: list[torch.Tensor] = []
        count = 0
        with atomic_path(dest) as tmp:
            with av.open(str(tmp), "w", format=_container_format(dest)) as out:
                ovs = out.add_stream("libx264", rate=rate)
                ovs.width, ovs.height = vs.width - vs.width % 2, vs.height - vs.height % 2  # yuv420p needs even sides
                ovs.pix_fmt = "yuv420p"
                ovs.options = {"crf": str(crf)}
                oas = out.add_stream_from_template(audio) if audio is not None else None

                def frames() -> Iterator[torch.Tensor]:
                    for packet in inp.demux(*(s for s in (vs, audio) if s is not None)):
                        if packet.stream == audio:
                            if packet.dts is not None:
                                packet.stream = oas
                                out.mux(packet)
                            continue
                        for frame in packet.decode():
                            yield _frame_to_tensor(frame)

                bar = tqdm(total=total, desc=f"video {src.name}", unit="frame", disable=quiet)
                for x, y in stylize_frames(stylizer, frames(), keep):
                    if len(ins) < 300:  # flicker is measured on the first 300 frames
                        ins.append(x)
                        outs.append(y)
                    arr = ((y[0, :, : ovs.height, : ovs.width].permute(1, 2, 0) + 1) * 127.5).round().clamp(0, 255)
                    vf = av.VideoFrame.from_ndarray(arr.to(torch.uint8).numpy(), format="rgb24")
                    for packet in ovs.encode(vf):
                        out.mux(packet)
                    count += 1
                    bar.update(1)
                bar.close()
                for packet in ovs.encode():
                    out.mux(packet)
    if count == 0:
        raise BrushworkError(f"{src}: no video frames could be decoded")
    return VideoReport(frames=count, fps=float(rate), audio=audio is not None, flicker=flicker(ins, outs))


def _container_format(dest: Path) -> str:
    return {".mkv": "matroska", ".webm": "webm", ".mov": "mov", ".avi": "avi"}.get(dest.suffix.lower(), "mp4")
