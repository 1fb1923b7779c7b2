#!/usr/bin/env python3
"""Loads a FashionGpu checkpoint into a plain torch.nn model with load_state_dict(strict=True) and evaluates it.

An independent check of the checkpoint format and of `fashiongpu evaluate`: the accuracy printed here must equal
the report's. Needs python3-torch and python3-numpy (Debian); reads safetensors by hand (no extra package).

Run: /usr/bin/python3 tools/pytorch_evaluate.py RUN_DIR/best.safetensors DATA_DIR [--normalize]
"""
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn


class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.dense1 = nn.Linear(5408, 128)
        self.dense2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2).flatten(1)
        return self.dense2(torch.relu(self.dense1(x)))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[8 + n + begin : 8 + n + end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def read_idx(path, offset):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    checkpoint, data_dir = sys.argv[1], sys.argv[2]
    scale = 1 / 255 if "--normalize" in sys.argv else 1.0
    model = Reference()
    state = {k: v for k, v in read_safetensors(checkpoint).items() if not k.startswith("optimizer.")}
    model.load_state_dict(state, strict=True)
    find = lambda stem: next(os.path.join(data_dir, stem + s) for s in (".gz", "") if os.path.exists(os.path.join(data_dir, stem + s)))
    images = read_idx(find("t10k-images-idx3-ubyte"), 16).reshape(-1, 1, 28, 28).astype(np.float32) * scale
    labels = read_idx(find("t10k-labels-idx1-ubyte"), 8)
    with torch.no_grad():
        predictions = model(torch.from_numpy(images)).argmax(1).numpy()
    print(f"pytorch: {len(labels)} images, accuracy {np.mean(predictions == labels):.4f}")


if __name__ == "__main__":
    main()
