#!/usr/bin/env python3
"""How much of this CPU's arithmetic the training and inference figures of `wbc bench` use.

Counts the multiply-adds of torchvision's ResNet-18 (5 classes, the architecture of our ResNet18)
per image at each size, measures what a large float32 matrix product reaches on this machine
with the same thread count, as torch.matmul and as a 1x1 convolution run by oneDNN (the
practical ceiling for the network's convolutions, which oneDNN runs as GEMM-like kernels), and,
given one or more `wbc bench --out FILE.md` tables, prints for ours and
for the PyTorch peer the GFLOP/s reached and the fraction of that ceiling and of a nominal peak.

    /usr/bin/python3 bench/flops.py --bench docs/bench-peer.md [--bench docs/other.md] [--threads 2]

FLOPs are 2 x multiply-adds. A training step counts 3 x the forward pass (the backward pass
computes gradients for both inputs and weights, about twice the forward's work); the optimizer
update, BatchNorm and ReLU are left out (memory-bound, under 1 % of the FLOPs).
Progress goes to stderr; the table to stdout.
"""
import argparse
import re
import sys
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def macs_per_image(size):
    import torch
    import torchvision

    model = torchvision.models.resnet18(num_classes=5).eval()
    total = [0]

    def hook(mod, inp, out):
        if isinstance(mod, torch.nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
            total[0] += out.numel() * k
        elif isinstance(mod, torch.nn.Linear):
            total[0] += out.numel() * mod.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.inference_mode():
        model(torch.zeros(1, 3, size, size))
    for h in handles:
        h.remove()
    return total[0]


def conv_gflops(threads, reps=10):
    """A 1x1 convolution, 512 -> 512 channels on 32 x 28 x 28, channels-last, no autograd: a plain
    matrix product run by oneDNN's JIT kernels, the same library the network's convolutions use."""
    import torch

    torch.set_num_threads(threads)
    x = torch.randn(32, 512, 28, 28).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(512, 512, 1, bias=False).to(memory_format=torch.channels_last).eval()
    flops = 2.0 * 32 * 28 * 28 * 512 * 512
    best = 0.0
    with torch.inference_mode():
        for _ in range(3):
            conv(x)
        for _ in range(reps):
            t0 = time.perf_counter()
            conv(x)
            best = max(best, flops / (time.perf_counter() - t0) / 1e9)
    return best


def gemm_gflops(threads, n=2048, reps=10):
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    c = torch.empty(n, n)
    for _ in range(3):
        torch.matmul(a, b, out=c)
    best = 0.0
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.matmul(a, b, out=c)
        best = max(best, 2.0 * n ** 3 / (time.perf_counter() - t0) / 1e9)
    return best


ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*\d+\s*\|\s*(train img/s|infer img/s)\s*\|\s*([\d,.]+|-)\s*\|\s*([\d,.]+|-)\s*\|")


def read_bench(path):
    """{(size, 'train'|'infer'): (ours, peer)} from a `wbc bench --out *.md` table."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = ROW.match(line)
            if m:
                num = lambda s: None if s == "-" else float(s.replace(",", ""))
                rows[(int(m.group(1)), m.group(2).split()[0])] = (num(m.group(3)), num(m.group(4)))
    if not rows:
        raise SystemExit(f"flops.py: error: {path}: no 'train img/s' or 'infer img/s' rows of a wbc bench table")
    return rows


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bench", action="append", default=[], help="a `wbc bench --out *.md` table (repeatable)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gemm-n", type=int, default=2048)
    p.add_argument("--nominal-gflops", type=float, default=None,
                   help="nominal peak (cores x GHz x FLOP/cycle); printed as a second fraction when given")
    a = p.parse_args(argv)

    import torch
    log(f"torch {torch.__version__}, {a.threads} threads: {a.gemm_n}x{a.gemm_n} float32 matmul, 1x1 convolution")
    matmul = gemm_gflops(a.threads, a.gemm_n)
    conv = conv_gflops(a.threads)
    # torch.matmul goes through the BLAS torch was built with (Debian's: a generic one, slow);
    # the convolution through oneDNN, as the network does. The faster is the ceiling.
    ceiling = max(matmul, conv)
    print(f"float32, {a.threads} threads, torch {torch.__version__}: matmul {a.gemm_n}x{a.gemm_n} {matmul:.1f} GFLOP/s,"
          f" 1x1 convolution 512->512 (oneDNN) {conv:.1f} GFLOP/s; ceiling {ceiling:.1f} GFLOP/s")
    sizes = sorted({s for path in a.bench for (s, _) in read_bench(path)}) or [64, 96, 128, 224]
    macs = {s: macs_per_image(s) for s in sizes}
    for s in sizes:
        print(f"ResNet-18 at {s} px: {macs[s] / 1e9:.3f} GMAC forward per image "
              f"({2 * macs[s] / 1e9:.3f} GFLOP; training step {6 * macs[s] / 1e9:.3f} GFLOP)")
    for path in a.bench:
        rows = read_bench(path)
        print()
        print(f"{path}:")
        head = "| size | what | who | img/s | GFLOP/s | of ceiling |"
        sep = "|---:|---|---|---:|---:|---:|"
        if a.nominal_gflops:
            head += " of nominal peak |"
            sep += "---:|"
        print(head)
        print(sep)
        for (s, what), (ours, peer) in sorted(rows.items()):
            per_image = (6 if what == "train" else 2) * macs[s] / 1e9
            for who, rate in (("ours", ours), ("PyTorch", peer)):
                if rate is None:
                    continue
                g = rate * per_image
                line = f"| {s} | {what} | {who} | {rate:,.1f} | {g:.1f} | {g / ceiling:.0%} |"
                if a.nominal_gflops:
                    line += f" {g / a.nominal_gflops:.0%} |"
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
