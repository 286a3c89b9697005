"""CUDA path check: fp32 against bf16 for the lite and resnet generators.

Stands in trained weights with randomly perturbed ones (timing and precision error do not
depend on what was learned), stylizes a 1024x1536 photo through the Stylizer (tiles, as a
user's run does), and prints the time per image and the largest and mean difference of
bf16 from fp32 output.

    python benchmarks/gpu_check.py                 # on a CUDA machine
    python benchmarks/gpu_check.py --device cpu    # the same on a CPU, for comparison
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from brushwork import nets
from brushwork.io import list_images, load_image, pil_to_tensor
from brushwork.stylefile import save_style
from brushwork.stylizer import Stylizer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--photos", type=Path, default=SHARED)
    ap.add_argument("--generators", default="lite,resnet")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    torch.manual_seed(0)
    photo = pil_to_tensor(load_image(list_images(args.photos)[0]))[None]
    x = torch.nn.functional.interpolate(photo, size=(1024, 1536), mode="bilinear")
    print(f"device {torch.cuda.get_device_name() if cuda else 'cpu'}; image {tuple(x.shape)}")
    for gname in args.generators.split(","):
        g = nets.create("generator", gname)
        with torch.no_grad():
            for p in g.parameters():
                p.add_(torch.randn_like(p) * 0.02)  # stand-in for trained weights
        d = Path(tempfile.mkdtemp()) / gname
        save_style(d, gname, nets.full_kwargs("generator", gname), g.state_dict(), {"steps": 0}, None)
        outs = {}
        for prec in ("fp32", "bf16"):
            st = Stylizer.load(d, device=args.device, precision=prec)
            st.stylize_tensor(x)  # warm-up
            sync()
            t0 = time.perf_counter()
            for _ in range(5):
                outs[prec] = st.stylize_tensor(x)
            sync()
            print(f"{gname} {prec}: {(time.perf_counter() - t0) / 5 * 1000:.1f} ms per image")
        diff = (outs["fp32"] - outs["bf16"]).abs() / 2 * 255
        mse = ((outs["fp32"] - outs["bf16"]) / 2).square().mean()
        print(
            f"{gname}: bf16 vs fp32 mean |diff| {diff.mean():.3f}/255, max {diff.max():.1f}/255, PSNR {10 * torch.log10(1 / mse):.1f} dB"
        )


if __name__ == "__main__":
    main()
