#!/usr/bin/env python3
"""Makes reference_step.json: one training step of the reference model computed by PyTorch in float64.

The weights come from the same counter-based generator as FashionGpu (CounterRng + ParameterInitializer, rebuilt
here with numpy's wrapping uint64 arithmetic), biases are set to small non-zero values so every bias path is
exercised, and the dropout mask is FashionGpu's (seed, step) mask. The batch is the first 4 test images of the
official Fashion-MNIST files, raw 0..255 pixels as in the reference recipe. Stored per tensor: shape, elements at a
fixed stride (all of them for small tensors), and sum / sum of |x| / max |x| over all elements.

Run: /usr/bin/python3 tests/Fixtures/make_reference_step.py [/usr/share/datasets/fashion-mnist]
(needs python3-torch and python3-numpy; the test suite itself only reads the JSON).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from fixture_common import DROPOUT_STREAM, INIT_STREAM, key, read_idx, summary, uniform_double, uniform_float

SEED = 7
BATCH = 4
STEP = 1
DROPOUT = np.float32(0.2)
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-7
BIAS_STREAM_OFFSET = 100

# name, shape, fan_in, fan_out: ModelArchitecture.Parameters in order.
PARAMETERS = [
    ("conv1.weight", (32, 1, 3, 3), 9, 288),
    ("conv1.bias", (32,), 0, 0),
    ("dense1.weight", (128, 5408), 5408, 128),
    ("dense1.bias", (128,), 0, 0),
    ("dense2.weight", (10, 128), 128, 10),
    ("dense2.bias", (10,), 0, 0),
]


def initial_parameters():
    params = {}
    for t, (name, shape, fan_in, fan_out) in enumerate(PARAMETERS):
        n = int(np.prod(shape))
        if len(shape) == 1:
            u = uniform_double(key(SEED, INIT_STREAM + np.uint64(BIAS_STREAM_OFFSET + t)), n)
            values = ((u - 0.5) * 0.2).astype(np.float32)
        else:
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            values = ((2 * uniform_double(key(SEED, INIT_STREAM + np.uint64(t)), n) - 1) * limit).astype(np.float32)
        params[name] = torch.tensor(values.astype(np.float64).reshape(shape), requires_grad=True)
    return params


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    images = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"), 16)[: BATCH * 784]
    labels = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"), 8)[:BATCH]
    p = initial_parameters()
    x = torch.tensor(images.astype(np.float64).reshape(BATCH, 1, 28, 28))
    y = torch.tensor(labels.astype(np.int64))

    keep = uniform_float(key(SEED, DROPOUT_STREAM + np.uint64(STEP)), BATCH * 5408) >= float(DROPOUT)
    mask = torch.tensor(keep.reshape(BATCH, 5408).astype(np.float64)) * (1.0 / (1.0 - float(DROPOUT)))

    conv_pre = F.conv2d(x, p["conv1.weight"], p["conv1.bias"])
    conv_pre.retain_grad()
    conv = F.relu(conv_pre)
    pool = F.max_pool2d(conv, 2).reshape(BATCH, 5408)
    pool.retain_grad()
    dropped = pool * mask
    dropped.retain_grad()
    hidden_pre = dropped @ p["dense1.weight"].T + p["dense1.bias"]
    hidden_pre.retain_grad()
    hidden = F.relu(hidden_pre)
    logits = hidden @ p["dense2.weight"].T + p["dense2.bias"]
    logits.retain_grad()
    sample_loss = F.cross_entropy(logits, y, reduction="none")
    loss = sample_loss.mean()
    loss.backward()

    with torch.no_grad():
        eval_hidden = F.relu(pool @ p["dense1.weight"].T + p["dense1.bias"])
        eval_logits = eval_hidden @ p["dense2.weight"].T + p["dense2.bias"]

    tensors = {
        "conv": conv, "pool": pool, "dropout": dropped, "hidden": hidden, "logits": logits,
        "eval_logits": eval_logits, "sample_loss": sample_loss,
        "d_logits": logits.grad, "d_hidden": hidden_pre.grad, "d_dropout": dropped.grad, "d_pool": pool.grad,
        "d_conv": conv_pre.grad,
    }
    # One Adam step in the Keras form: lr_t = lr·sqrt(1-β2^t)/(1-β1^t), p -= lr_t·m/(sqrt(v)+ε).
    lr_t = LR * np.sqrt(1 - BETA2 ** STEP) / (1 - BETA1 ** STEP)
    for name, _, _, _ in PARAMETERS:
        g = p[name].grad
        m = (1 - BETA1) * g
        v = (1 - BETA2) * g * g
        tensors["grad." + name] = g
        tensors["update." + name] = -lr_t * m / (torch.sqrt(v) + EPS)

    fixture = {
        "made_by": "tests/Fixtures/make_reference_step.py (PyTorch %s, float64)" % torch.__version__,
        "seed": SEED, "step": STEP, "batch": BATCH, "dropout": float(DROPOUT),
        "bias_stream_offset": BIAS_STREAM_OFFSET, "bias_scale": 0.2,
        "learning_rate": LR, "beta1": BETA1, "beta2": BETA2, "epsilon": EPS,
        "images": [int(v) for v in images], "labels": [int(v) for v in labels],
        "loss": float(loss),
        "tensors": {name: summary(t) for name, t in tensors.items()},
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_step.json")
    with open(out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print("wrote", out, "loss", float(loss))


if __name__ == "__main__":
    main()
