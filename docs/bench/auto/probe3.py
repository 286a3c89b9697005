import sys, secrets, time
sys.path.insert(0, '/work/main/benchmarks')
import torch
from pathlib import Path
from quality import split_photos, score
from looks import random_look, parse_seeds
from brushwork.colortransfer import fit_idt
from brushwork.nets import create
from brushwork.nets.magenta import style_encoder
from brushwork.training.choose import split_style, _small
from brushwork.data import ImageBank, builtin_dir
torch.set_num_threads(1)
TAPS = ['MobilenetV2/Conv/Relu6', 'MobilenetV2/expanded_conv_2/expand/Relu6', 'MobilenetV2/expanded_conv_5/expand/Relu6', 'MobilenetV2/expanded_conv_9/expand/Relu6']
enc = style_encoder()
def stats(imgs):
    per = {k: [] for k in TAPS}
    with torch.no_grad():
        for t in imgs:
            env = enc.run(t[None])
            for k in TAPS:
                f = env[k][0]  # NCHW
                per[k].append(torch.cat([f.mean((1, 2)), f.std((1, 2))]))
    return {k: torch.stack(v).mean(0) for k, v in per.items()}
def fdist(a, b):
    sa, sb = stats(a), stats(b)
    return sum(float((sa[k] - sb[k]).norm() / (sb[k].norm() + 1e-6)) for k in TAPS) / len(TAPS)
def cands(content, style, evalset):
    fit, held = split_style(style)
    idt = fit_idt(content, fit, seed=0)
    g = create('generator', 'painter'); g.start_prior(fit); g.eval()
    with torch.no_grad():
        outs = {'idt': ([idt(x[None])[0] for x in content], [idt(x[None])[0] for x in evalset]),
                'painter': ([g(x[None])[0] for x in content], [g(x[None])[0] for x in evalset])}
    return outs, {k: fdist(v[0], held) for k, v in outs.items()}
if sys.argv[1] == 'vg':
    content = [_small(t) for t in ImageBank.from_folder(builtin_dir("photos"), 64, 1024, "c")[0].tensors]
    style = [_small(t) for t in ImageBank.from_folder(sys.argv[2] if len(sys.argv) > 2 else builtin_dir("styles/vangogh"), 64, 1024, "s")[0].tensors]
    outs, d = cands(content, style, content[:1]); print('art', d); sys.exit()
A, B, C, _ = split_photos(Path('/work/shared/data/photos'))
A = [_small(t) for t in A]; B = [_small(t) for t in B]; C = [_small(t) for t in C]
seeds = parse_seeds(sys.argv[1]) if sys.argv[1] != 'rand' else [secrets.randbelow(10**6) for _ in range(int(sys.argv[2]))]
print('seeds', ','.join(map(str, seeds)), flush=True)
n = ok = 0
for seed in seeds:
    try:
        look, desc = random_look(seed); S = [look(t) for t in B]; GT = [look(t) for t in C]
    except Exception as e:
        print(seed, 'look failed', e); continue
    outs, d = cands(A, S, C)
    b = {k: score(v[1], GT)['bpsnr'] for k, v in outs.items()}
    truth = max(b, key=b.get); pick = min(d, key=d.get); n += 1; ok += truth == pick
    print(f"{seed:7d} {desc.split(':')[1][:50]:50s} bpsnr " + ' '.join(f"{k} {v:.2f}" for k, v in b.items()) + ' | feat ' + ' '.join(f"{k} {v:.4f}" for k, v in d.items()) + f" {'ok' if truth == pick else 'MISS'}", flush=True)
print(ok, '/', n)
