#!/usr/bin/env python3
"""Loads a FashionGpu checkpoint into a torch.nn model built from its own metadata and evaluates it.

An independent check of the checkpoint format and of `fashiongpu evaluate`: the torch.nn modules stored under the
safetensors metadata key `torch_modules` (each layer kind says its own) become a torch.nn.Sequential whose layers
carry FashionGpu's names (conv1, bn1, dense1, ...), the tensors load with load_state_dict(strict=True), and the
accuracy printed here must equal the report's. Older checkpoints without `torch_modules` are built from the model
definition under `model`; those written before models were data hold the seed model (their pixel scale comes from the
training config).
Needs python3-torch and python3-numpy (Debian); reads safetensors by hand (no extra package).

Run: /usr/bin/python3 tools/pytorch_evaluate.py CHECKPOINT.safetensors DATA_DIR
"""
import collections
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

SEED = {"input": [1, 28, 28], "scale": 1.0, "layers": [
    {"type": "conv2d", "filters": 32, "kernel": 3, "padding": "valid"}, {"type": "relu"}, {"type": "maxpool", "size": 2},
    {"type": "dropout", "rate": 0.2}, {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"},
    {"type": "dense", "units": 10}]}


def module(spec):
    """A torch.nn module from the checkpoint's own description of it (class, args, kwargs, children): torch.nn only."""
    cls = getattr(nn, spec["class"])
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise SystemExit("not a torch.nn module: %r" % spec["class"])
    children = [module(c) for c in spec.get("children", [])]
    return cls(*children) if children else cls(*spec["args"], **spec["kwargs"])


def build_from_modules(modules):
    """The model as the checkpoint's `torch_modules` metadata lists it: any layer kind, without a table here."""
    return nn.Sequential(collections.OrderedDict((m["name"], module(m["module"])) for m in modules))


def build(model):
    """Checkpoints written before `torch_modules`: the definition as nn.Sequential, for the layer kinds of that time;
    layers with parameters are named by kind and 1-based index among their kind."""
    channels, height, width = model["input"]
    features = None
    counts = collections.Counter()
    layers = []
    for i, layer in enumerate(model["layers"]):
        kind = layer["type"]
        if kind == "conv2d":
            counts["conv"] += 1
            padding = layer["kernel"] // 2 if layer.get("padding") == "same" else 0
            layers.append(("conv%d" % counts["conv"], nn.Conv2d(channels, layer["filters"], layer["kernel"], padding=padding)))
            channels = layer["filters"]
            height, width = height + 2 * padding - layer["kernel"] + 1, width + 2 * padding - layer["kernel"] + 1
        elif kind == "batchnorm":
            counts["bn"] += 1
            norm = nn.BatchNorm1d(features) if features is not None else nn.BatchNorm2d(channels)
            layers.append(("bn%d" % counts["bn"], norm))
        elif kind == "relu":
            layers.append(("relu%d" % (i + 1), nn.ReLU()))
        elif kind == "maxpool":
            layers.append(("pool%d" % (i + 1), nn.MaxPool2d(2)))
            height, width = height // 2, width // 2
        elif kind == "dropout":
            layers.append(("dropout%d" % (i + 1), nn.Dropout(layer["rate"])))
        elif kind == "flatten":
            layers.append(("flatten%d" % (i + 1), nn.Flatten()))
            features = channels * height * width
        elif kind == "global_avg_pool":
            layers.append(("gap%d" % (i + 1), nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())))
            features = channels
        elif kind == "dense":
            counts["dense"] += 1
            layers.append(("dense%d" % counts["dense"], nn.Linear(features, layer["units"])))
            features = layer["units"]
        else:
            raise SystemExit("unknown layer type %r" % kind)
    return nn.Sequential(collections.OrderedDict(layers))


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[8 + n + begin : 8 + n + end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors, metadata


def read_idx(path, offset):
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    checkpoint, data_dir = sys.argv[1], sys.argv[2]
    tensors, metadata = read_safetensors(checkpoint)
    if "model" in metadata:
        model_definition = json.loads(metadata["model"])
    else:
        settings = json.loads(metadata.get("fashiongpu", "{}")).get("config", {}).get("settings", {})
        model_definition = dict(SEED, scale=1 / 255 if settings.get("normalize") else 1.0)
    model = build_from_modules(json.loads(metadata["torch_modules"])) if "torch_modules" in metadata else build(model_definition)
    state = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
    # PyTorch's BatchNorm counts the batches it has seen; FashionGpu does not store that count (momentum is fixed).
    for name, module in model.named_children():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            state[name + ".num_batches_tracked"] = torch.tensor(0)
    model.load_state_dict(state, strict=True)
    model.eval()
    find = lambda stem: next(os.path.join(data_dir, stem + s) for s in (".gz", "") if os.path.exists(os.path.join(data_dir, stem + s)))
    scale = np.float32(model_definition["scale"])
    images = read_idx(find("t10k-images-idx3-ubyte"), 16).reshape(-1, 1, 28, 28).astype(np.float32) * scale
    labels = read_idx(find("t10k-labels-idx1-ubyte"), 8)
    with torch.no_grad():
        predictions = model(torch.from_numpy(images)).argmax(1).numpy()
    print(f"pytorch: {len(labels)} images, accuracy {np.mean(predictions == labels):.4f}")


if __name__ == "__main__":
    main()
