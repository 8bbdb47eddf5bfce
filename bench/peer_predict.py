#!/usr/bin/env python3
"""The PyTorch peer of `wbc predict`: classify image files with torchvision's ResNet-18 and write
file,class,probability rows, as a researcher would script it (PIL decode, centre square crop,
resize, normalise, batched forward in inference mode, softmax).

Used by bench/predict-side-by-side.sh to compare a whole predict process with ours: its wall
time and peak RSS (the kernel's, read by /usr/bin/time). The network has random weights (the peer
cannot read our bundle), which costs exactly what trained ones do; the classes are placeholders.
"""
import argparse
import csv
import os
import sys


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("inputs", nargs="+", help="image files and/or folders (searched recursively)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32, help="images per forward pass (ours: predict --batch 32)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--out", required=True, help="CSV file to write")
    return p.parse_args(argv)


EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def files(inputs):
    out = []
    for i in inputs:
        if os.path.isdir(i):
            for root, _, names in os.walk(i):
                out += [os.path.join(root, n) for n in names if n.lower().endswith(EXTENSIONS)]
        else:
            out.append(i)
    return sorted(out)


def main(argv):
    a = parse_args(argv)
    import torch
    import torchvision
    from PIL import Image

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    model = torchvision.models.resnet18(num_classes=5).eval()
    mean = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    std = torch.tensor([0.25, 0.25, 0.25]).view(1, 3, 1, 1)
    classes = ["Basophil", "Eosinophil", "Lymphocyte", "Monocyte", "Neutrophil"]

    def load(path):
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = min(w, h)
            im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            im = im.resize((a.size, a.size), Image.BILINEAR)
            return torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(a.size, a.size, 3)

    paths = files(a.inputs)
    tmp = a.out + ".tmp"
    with open(tmp, "w", newline="") as f, torch.inference_mode():
        w = csv.writer(f)
        w.writerow(["file", "class", "probability"])
        for start in range(0, len(paths), a.batch):
            chunk = paths[start:start + a.batch]
            x = torch.stack([load(p) for p in chunk]).permute(0, 3, 1, 2).float().div(255)
            probs = torch.softmax(model((x - mean) / std), dim=1)
            top, idx = probs.max(dim=1)
            for p, t, i in zip(chunk, top.tolist(), idx.tolist()):
                w.writerow([p, classes[i], f"{t:.4f}"])
    os.replace(tmp, a.out)
    print(f"peer-predict: {len(paths)} images at {a.size} px, torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
