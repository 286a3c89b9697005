import sys, secrets
sys.path.insert(0, '/work/main/benchmarks')
import torch
from pathlib import Path
from quality import split_photos, score
from looks import random_look, parse_seeds
from brushwork.colortransfer import fit_idt
from brushwork.nets import create
from brushwork.losses.swd import set_patch_swd
from brushwork.training.choose import split_style, _small
torch.set_num_threads(1)
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
    fit, held = split_style(S)
    idt = fit_idt(A, fit, seed=0)
    g = create('generator', 'painter'); g.start_prior(fit); g.eval()
    with torch.no_grad():
        outs = {'photo': (A, C), 'idt': ([idt(x[None])[0] for x in A], [idt(x[None])[0] for x in C]),
                'painter': ([g(x[None])[0] for x in A], [g(x[None])[0] for x in C])}
    d = {k: set_patch_swd(v[0], held) for k, v in outs.items()}
    b = {k: score(v[1], GT)['bpsnr'] for k, v in outs.items()}
    truth = max(b, key=b.get); pick = min(d, key=d.get); n += 1; ok += truth == pick
    print(f"{seed:7d} {desc.split(':')[1][:50]:50s} bpsnr " + ' '.join(f"{k} {v:.2f}" for k, v in b.items()) + ' | swd ' + ' '.join(f"{k} {v:.4f}" for k, v in d.items()) + f" {'ok' if truth == pick else 'MISS ' + pick}", flush=True)
print(ok, '/', n)
