#!/usr/bin/python3
"""PyTorch peer of `wbc bench`: the same measurements with torch/torchvision, for a side-by-side.

Measures, per image size, with the same settings as our bench (Throughput.java):

* train_img_s: training steps of torchvision's resnet18(num_classes=5) on a fixed random batch:
  copy of the input (ours copies a Java array into a native tensor every step), forward in train
  mode, cross-entropy with class weights 1, backward, AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8,
  weight decay 0.05: our AdamW's defaults). `warmup` untimed steps, then `steps` timed ones.
* infer_img_s: eval mode under torch.inference_mode(), same input, logits copied out to NumPy
  (ours copies them to a Java array). Warm-up, then timed. With --fold-bn every BatchNorm is folded
  into its convolution first, as ours does by default.
* pipeline_img_s: one epoch over decoded uint8 images held in memory (the bench's decoded-image
  cache file when given, else random images), shuffled, per image: random horizontal and vertical
  flip, rot90, colour jitter (brightness 0.1, contrast 0.1, saturation 0.1, hue 0.02 with
  torchvision's functional ops), ImageNet normalization, stacked into one float NCHW batch. Runs
  on `--pipeline-threads` threads (default 1: ours augments on one background thread).
* peak_rss_mib: VmHWM of this process after the size (peak so far; the whole run at the end);
  ru_maxrss only where /proc is missing (see peak_rss_mib()).

Threads: torch.set_num_threads(--threads), torch.set_num_interop_threads(1).
Output: one JSON object on stdout; progress and warnings go to stderr.

Run with Debian's Python (/usr/bin/python3) after bench/install-peer.sh.
"""

import argparse
import copy
import json
import os
import platform
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as tnf
import torchvision
import torchvision.transforms.functional as tvf

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# Augmentation.standard(): flips, right-angle rotations, light colour jitter.
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0.1, 0.1, 0.1, 0.02
CACHE_MAGIC = 0x57424343  # "WBCC", ImageCache.java
CACHE_FORMAT = 2


def log(msg):
    print("peer: " + msg, file=sys.stderr, flush=True)


def peak_rss_mib():
    """Peak resident set size of this process in MiB: VmHWM, as ours reads it. ru_maxrss is only
    the fallback: Linux carries it over from the parent across fork and exec, so a peer started
    by the JVM would report the JVM's peak when that is higher."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="64,96,128,224", help="image sizes, comma-separated")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first; default max(2, steps/5) as ours")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads")
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw",
                   help="adamw mirrors ours; sgd (momentum 0.9) for reference only")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels_last memory format")
    p.add_argument("--bf16-infer", action="store_true",
                   help="inference with model and input cast to bfloat16 (as our --bf16-infer)")
    p.add_argument("--autocast-bf16", action="store_true",
                   help="torch.autocast(cpu, bfloat16) around training forward and inference (peer only)")
    p.add_argument("--fold-bn", action="store_true",
                   help="inference with each BatchNorm folded into its convolution (as ours by default)")
    p.add_argument("--pipeline-images", type=int, default=4096, help="images per pipeline epoch")
    p.add_argument("--pipeline-threads", type=int, default=1, help="threads while timing the pipeline")
    p.add_argument("--cache-file", action="append", default=[], metavar="SIZE=PATH",
                   help="decoded-image cache of our bench (ImageCache format) for that size; repeatable")
    p.add_argument("--no-model", action="store_true", help="skip training and inference")
    p.add_argument("--no-pipeline", action="store_true", help="skip the data pipeline")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    a.sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    if a.warmup is None:
        a.warmup = max(2, a.steps // 5)
    caches = {}
    for spec in a.cache_file:
        size, _, path = spec.partition("=")
        if not path:
            p.error("--cache-file wants SIZE=PATH, got " + spec)
        caches[int(size)] = path
    a.cache_file = caches
    if a.batch < 2 or a.steps < 1 or a.threads < 1:
        p.error("need --batch >= 2, --steps >= 1, --threads >= 1")
    return a


# ---------------------------------------------------------------- model


def random_batch(batch, size, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, size, size, generator=g)
    y = torch.arange(batch) % 5
    return x, y


def make_optimizer(kind, params):
    if kind == "sgd":
        return torch.optim.SGD(params, lr=1e-2, momentum=0.9, weight_decay=0.05)
    return torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)


def timed(fn, warmup, steps):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return time.perf_counter() - t0


def fold_bn(model):
    """A copy of an eval-mode torchvision ResNet-18 with every BatchNorm folded into its conv.

    Only conv+bn pairs: a BasicBlock uses one ReLU module twice, so fusing it would drop the one
    after the addition.
    """
    from torch.ao.quantization import fuse_modules
    pairs = [["conv1", "bn1"]]
    for name in ("layer1", "layer2", "layer3", "layer4"):
        for i, block in enumerate(getattr(model, name)):
            p = f"{name}.{i}."
            pairs += [[p + "conv1", p + "bn1"], [p + "conv2", p + "bn2"]]
            if block.downsample is not None:
                pairs.append([p + "downsample.0", p + "downsample.1"])
    return fuse_modules(copy.deepcopy(model).eval(), pairs)


def measure_model(a, size):
    torch.manual_seed(a.seed)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = torchvision.models.resnet18(num_classes=5).to(memory_format=fmt)
    x0, y = random_batch(a.batch, size, a.seed)
    x0 = x0.contiguous(memory_format=fmt)
    weights = torch.ones(5)
    opt = make_optimizer(a.optimizer, model.parameters())

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast_bf16)

    model.train()

    def train_step():
        x = x0.clone()  # ours copies the batch into a native tensor every step
        opt.zero_grad(set_to_none=True)
        with autocast():
            logits = model(x)
        loss = tnf.cross_entropy(logits.float(), y, weight=weights)
        loss.backward()
        opt.step()

    train = a.steps * a.batch / timed(train_step, a.warmup, a.steps)

    model.eval()
    net, xin = model, x0
    if a.fold_bn:
        net = fold_bn(model)
    if a.bf16_infer:
        net = copy.deepcopy(net).to(torch.bfloat16)
        xin = x0.to(torch.bfloat16)

    def infer_step():
        with torch.inference_mode(), autocast():
            net(xin.clone()).float().numpy()

    infer = a.steps * a.batch / timed(infer_step, a.warmup, a.steps)
    del model, net, opt
    return train, infer


# ---------------------------------------------------------------- data pipeline


def read_cache(path, size):
    """All decoded RGB images (n, 3, size, size) uint8 of our ImageCache file: header (magic,
    format, size, count as big-endian int32), then per image a Java writeUTF path, a boolean, and
    either size*size*3 HWC bytes or a writeUTF problem. Like ours, the whole cache is held in
    memory (it counts in the peak RSS); the pipeline then uses the first --pipeline-images."""
    import numpy as np

    per = size * size * 3
    with open(path, "rb") as f:
        magic, fmt, s, n = struct.unpack(">iiii", f.read(16))
        if magic != CACHE_MAGIC or fmt != CACHE_FORMAT or s != size:
            raise ValueError(f"{path}: not an image cache of format {CACHE_FORMAT} at {size} px")
        out = np.empty((n, size, size, 3), dtype=np.uint8)
        k = 0
        for _ in range(n):
            (ln,) = struct.unpack(">H", f.read(2))
            f.seek(ln, os.SEEK_CUR)
            if f.read(1) != b"\x00":
                if f.readinto(memoryview(out[k]).cast("B")) != per:
                    raise ValueError(f"{path}: truncated")
                k += 1
            else:
                (ln,) = struct.unpack(">H", f.read(2))
                f.seek(ln, os.SEEK_CUR)
    # CHW views of the HWC bytes; each image is made contiguous when it is augmented.
    return torch.from_numpy(out[:k]).permute(0, 3, 1, 2)


def uniform(g, lo, hi):
    return lo + (hi - lo) * torch.rand((), generator=g).item()


def augment(img, g):
    """One uint8 CHW image -> augmented, normalized float CHW."""
    if torch.rand((), generator=g).item() < 0.5:
        img = img.flip(-1)
    if torch.rand((), generator=g).item() < 0.5:
        img = img.flip(-2)
    k = int(torch.randint(4, (), generator=g))
    if k:
        img = torch.rot90(img, k, (1, 2))
    img = img.contiguous().float().div_(255)
    img = tvf.adjust_brightness(img, uniform(g, 1 - BRIGHTNESS, 1 + BRIGHTNESS))
    img = tvf.adjust_contrast(img, uniform(g, 1 - CONTRAST, 1 + CONTRAST))
    img = tvf.adjust_saturation(img, uniform(g, 1 - SATURATION, 1 + SATURATION))
    img = tvf.adjust_hue(img, uniform(g, -HUE, HUE))
    return tvf.normalize(img, MEAN, STD, inplace=True)


def epoch(images, batch, g, max_batches=None):
    n = len(images)
    order = torch.randperm(n, generator=g)
    done = 0
    for b, start in enumerate(range(0, n, batch)):
        if max_batches is not None and b >= max_batches:
            break
        idx = order[start:start + batch]
        if len(idx) < 2:  # ours drops a last batch of one (BatchNorm needs two)
            break
        out = torch.stack([augment(images[i], g) for i in idx.tolist()])
        done += out.shape[0]
    return done


def measure_pipeline(a, size):
    path = a.cache_file.get(size)
    if path:
        images = read_cache(path, size)[: a.pipeline_images]
        source = "cache"
    else:
        g = torch.Generator().manual_seed(a.seed)
        images = torch.randint(0, 256, (a.pipeline_images, 3, size, size), dtype=torch.uint8, generator=g)
        source = "random"
    if len(images) < 2:
        raise ValueError(f"{size} px: fewer than two images for the pipeline")
    threads = torch.get_num_threads()
    torch.set_num_threads(a.pipeline_threads)
    try:
        g = torch.Generator().manual_seed(a.seed)
        epoch(images, a.batch, g, max_batches=4)  # warm-up (ours: a whole epoch, for the JIT)
        t0 = time.perf_counter()
        n = epoch(images, a.batch, g)
        rate = n / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    return rate, source, len(images)


# ---------------------------------------------------------------- main


def main(argv):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only settable before the first parallel work
        pass
    result = {
        "peer": "pytorch",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "batch": a.batch,
        "steps": a.steps,
        "warmup": a.warmup,
        "optimizer": a.optimizer,
        "channels_last": a.channels_last,
        "bf16_infer": a.bf16_infer,
        "fold_bn": a.fold_bn,
        "autocast_bf16": a.autocast_bf16,
        "pipeline_threads": a.pipeline_threads,
        "sizes": [],
    }
    for size in a.sizes:
        row = {"size": size, "batch": a.batch}
        if not a.no_pipeline:
            log(f"{size} px: data pipeline")
            rate, source, count = measure_pipeline(a, size)
            row.update(pipeline_img_s=rate, pipeline_source=source, pipeline_images=count)
        if not a.no_model:
            log(f"{size} px: training and inference")
            row["train_img_s"], row["infer_img_s"] = measure_model(a, size)
        row["peak_rss_mib"] = peak_rss_mib()
        result["sizes"].append(row)
    result["peak_rss_mib"] = peak_rss_mib()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
