#!/usr/bin/env python3
"""Makes model_step.json: one training step of a model definition (models as data) computed by PyTorch in float64.

The model is read from model_step_model.json beside this script (or the model file named second on the command line,
FashionGpu's model-definition format; the fixture goes to the file named third) and run with
torch.nn.functional, layer by layer, keeping every layer's output and the loss's gradient with respect to it. Weights
come from FashionGpu's counter-based generator (CounterRng + ParameterInitializer, rebuilt with numpy's wrapping
uint64 arithmetic); biases and batchnorm weights are set to small non-zero values from another stream so every path
is exercised; each dropout layer uses FashionGpu's mask for (seed, step, its ordinal). The batch is the first 4 test
images of the official Fashion-MNIST files. Stored per tensor: shape, elements at a fixed stride (all for small
tensors), and sum / sum of |x| / max |x|.

Names: out.K and grad_out.K for layer K (0-based), grad.P, update.P (one Adam step, Keras form) for every trained
parameter, running.P for the batchnorm running statistics after the step, eval_logits before it (inference).

Run: /usr/bin/python3 tests/Fixtures/make_model_step.py [/usr/share/datasets/fashion-mnist [MODEL.json OUT.json]]
(kinds_step.json: ... tests/Fixtures/kinds_step_model.json tests/Fixtures/kinds_step.json)
(needs python3-torch and python3-numpy; the test suite itself only reads the JSON).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from fixture_common import DROPOUT_STREAM, INIT_STREAM, key, read_idx, summary, uniform_double, uniform_float

SEED = 11
BATCH = 4
STEP = 1
LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-7
BIAS_STREAM_OFFSET = 100
BIAS_SCALE = 0.2
HERE = os.path.dirname(os.path.abspath(__file__))


def plan(model):
    """ModelPlan's parameter list: (layer index, name, shape, fan_in, fan_out, kind) in buffer order."""
    c, h, w = model["input"]
    flat = False
    counts = {}
    params = []
    for i, layer in enumerate(model["layers"]):
        t = layer["type"]

        def name(kind):
            counts[kind] = counts.get(kind, 0) + 1
            return "%s%d" % (kind, counts[kind])

        if t == "conv2d":
            k, f = layer["kernel"], layer["filters"]
            pad = k // 2 if layer.get("padding") == "same" else 0
            n = name("conv")
            params += [(i, n + ".weight", (f, c, k, k), c * k * k, f * k * k, "glorot"), (i, n + ".bias", (f,), 0, 0, "bias")]
            c, h, w = f, h + 2 * pad - k + 1, w + 2 * pad - k + 1
        elif t == "batchnorm":
            n = name("bn")
            params += [(i, n + ".weight", (c,), 0, 0, "bn_weight"), (i, n + ".bias", (c,), 0, 0, "bias"),
                       (i, n + ".running_mean", (c,), 0, 0, "zeros"), (i, n + ".running_var", (c,), 0, 0, "ones")]
        elif t in ("maxpool", "avgpool"):
            h, w = h // 2, w // 2
        elif t == "global_avg_pool":
            h = w = 1
            flat = True
        elif t == "flatten":
            c, h, w, flat = c * h * w, 1, 1, True
        elif t == "dense":
            n = name("dense")
            params += [(i, n + ".weight", (layer["units"], c), c, layer["units"], "glorot"), (i, n + ".bias", (layer["units"],), 0, 0, "bias")]
            c = layer["units"]
    return params


def initial_parameters(params):
    values = {}
    for t, (_, name, shape, fan_in, fan_out, kind) in enumerate(params):
        n = int(np.prod(shape))
        if kind == "glorot":
            limit = np.sqrt(6.0 / (fan_in + fan_out))
            v = ((2 * uniform_double(key(SEED, INIT_STREAM + np.uint64(t)), n) - 1) * limit).astype(np.float32)
        elif kind in ("bias", "bn_weight"):
            u = uniform_double(key(SEED, INIT_STREAM + np.uint64(BIAS_STREAM_OFFSET + t)), n)
            v = ((u - 0.5) * BIAS_SCALE + (1.0 if kind == "bn_weight" else 0.0)).astype(np.float32)
        else:
            v = np.full(n, 0.0 if kind == "zeros" else 1.0, dtype=np.float32)
        values[name] = torch.tensor(v.astype(np.float64).reshape(shape), requires_grad=kind in ("glorot", "bias", "bn_weight"))
    return values


def dropout_key(ordinal):
    k = key(SEED, DROPOUT_STREAM + np.uint64(STEP))
    return k if ordinal == 0 else key(k, np.uint64(ordinal))


def forward(model, params, x, training, keep_outputs):
    by_layer = {}
    for i, name, *_ in plan(model):
        by_layer.setdefault(i, {})[name.split(".")[1]] = params[name]
    outputs = []
    dropouts = 0
    for i, layer in enumerate(model["layers"]):
        t, p = layer["type"], by_layer.get(i, {})
        if t == "conv2d":
            pad = layer["kernel"] // 2 if layer.get("padding") == "same" else 0
            x = F.conv2d(x, p["weight"], p["bias"], padding=pad)
        elif t == "batchnorm":
            x = F.batch_norm(x, p["running_mean"], p["running_var"], p["weight"], p["bias"], training=training, momentum=0.1, eps=1e-5)
        elif t == "relu":
            x = F.relu(x)
        elif t == "leaky_relu":
            x = F.leaky_relu(x, float(np.float32(layer.get("slope", 0.01))))
        elif t == "maxpool":
            x = F.max_pool2d(x, 2)
        elif t == "avgpool":
            x = F.avg_pool2d(x, 2)
        elif t == "dropout":
            if training:
                rate = np.float32(layer["rate"])
                keep = uniform_float(dropout_key(dropouts), x.numel()) >= float(rate)
                scale = float(np.float32(1.0) / (np.float32(1.0) - rate))
                x = x * torch.tensor(keep.reshape(x.shape).astype(np.float64)) * scale
            dropouts += 1
        elif t == "global_avg_pool":
            x = x.mean(dim=(2, 3))
        elif t == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif t == "dense":
            x = x @ p["weight"].T + p["bias"]
        if keep_outputs:
            x.retain_grad()
        outputs.append(x)
    return outputs


def main():
    data_dir = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    model_file = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "model_step_model.json")
    destination = sys.argv[3] if len(sys.argv) > 3 else os.path.join(HERE, "model_step.json")
    with open(model_file) as f:
        model = json.load(f)
    images = read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte.gz"), 16)[: BATCH * 784]
    labels = read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte.gz"), 8)[:BATCH]
    scale = float(np.float32(model["scale"]))
    x = torch.tensor(images.astype(np.float32).reshape(BATCH, 1, 28, 28) * np.float32(scale), dtype=torch.float64)
    y = torch.tensor(labels.astype(np.int64))
    params = initial_parameters(plan(model))

    with torch.no_grad():
        eval_logits = forward(model, params, x, training=False, keep_outputs=False)[-1]
    outputs = forward(model, params, x, training=True, keep_outputs=True)
    loss = F.cross_entropy(outputs[-1], y)
    loss.backward()

    tensors = {"eval_logits": eval_logits}
    for k, out in enumerate(outputs):
        tensors["out.%d" % k] = out
        if out.grad is not None:
            tensors["grad_out.%d" % k] = out.grad
    lr_t = LR * np.sqrt(1 - BETA2 ** STEP) / (1 - BETA1 ** STEP)
    for _, name, *_ in plan(model):
        p = params[name]
        if p.requires_grad:
            g = p.grad
            tensors["grad." + name] = g
            tensors["update." + name] = -lr_t * ((1 - BETA1) * g) / (torch.sqrt((1 - BETA2) * g * g) + EPS)
        else:
            tensors["running." + name] = p

    fixture = {
        "made_by": "tests/Fixtures/make_model_step.py (PyTorch %s, float64)" % torch.__version__,
        "model": model, "seed": SEED, "step": STEP, "batch": BATCH,
        "bias_stream_offset": BIAS_STREAM_OFFSET, "bias_scale": BIAS_SCALE,
        "learning_rate": LR, "beta1": BETA1, "beta2": BETA2, "epsilon": EPS,
        "images": [int(v) for v in images], "labels": [int(v) for v in labels],
        "loss": float(loss),
        "tensors": {name: summary(t) for name, t in tensors.items()},
    }
    with open(destination, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print("wrote", destination, "loss", float(loss))


if __name__ == "__main__":
    main()
