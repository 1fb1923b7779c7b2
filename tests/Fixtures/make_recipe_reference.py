#!/usr/bin/env python3
"""Makes recipe_reference.json: what PyTorch computes for the training recipe's pieces, in float64.

- adamw / sgd: three steps of torch.optim.AdamW and torch.optim.SGD(nesterov=True) on two parameter groups, one with
  weight decay (a conv or dense weight) and one without (biases, batchnorm), at a different learning rate each step
  (set on the groups before the step, as a scheduler would); parameters after every step.
- label_smoothing: torch.nn.CrossEntropyLoss(label_smoothing=0.1, reduction="none") per sample, and the gradient of
  their mean with respect to the logits.
- onecycle / cosine: the learning rate of every step from torch.optim.lr_scheduler.OneCycleLR (cycle_momentum off;
  default rise of 30 % and a rise of 10 steps) and CosineAnnealingLR (T_max = the run's steps).

Inputs are fixed pseudo-random numbers from numpy (seed 7), stored in the file. Run:
/usr/bin/python3 tests/Fixtures/make_recipe_reference.py (needs python3-torch and python3-numpy).
"""
import json
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(7)
RATES = [1e-3, 2.5e-3, 4e-4]
DECAYED, PLAIN = 37, 11


def floats(a):
    return [float(x) for x in np.asarray(a, dtype=np.float64).ravel()]


def optimizer_case(make, **hyper):
    p0 = [rng.uniform(-1, 1, DECAYED).astype(np.float32), rng.uniform(-1, 1, PLAIN).astype(np.float32)]
    grads = [[rng.uniform(-2, 2, DECAYED).astype(np.float32), rng.uniform(-2, 2, PLAIN).astype(np.float32)] for _ in RATES]
    params = [torch.tensor(p.astype(np.float64), requires_grad=True) for p in p0]
    opt = make([{"params": [params[0]], "weight_decay": hyper["weight_decay"]}, {"params": [params[1]], "weight_decay": 0.0}], hyper)
    after = []
    for rate, g in zip(RATES, grads):
        for group in opt.param_groups:
            group["lr"] = rate
        for p, gi in zip(params, g):
            p.grad = torch.tensor(gi.astype(np.float64))
        opt.step()
        after.append(floats(torch.cat([p.detach() for p in params])))
    return {
        **hyper, "rates": RATES, "decayed": DECAYED,
        "initial": floats(np.concatenate(p0)), "gradients": [floats(np.concatenate(g)) for g in grads], "after": after,
    }


adamw = optimizer_case(lambda groups, h: torch.optim.AdamW(groups, lr=RATES[0], betas=(h["beta1"], h["beta2"]), eps=h["epsilon"]),
                       beta1=0.9, beta2=0.999, epsilon=1e-7, weight_decay=0.05)
sgd = optimizer_case(lambda groups, h: torch.optim.SGD(groups, lr=RATES[0], momentum=h["momentum"], nesterov=True),
                     momentum=0.9, weight_decay=5e-4)

logits = rng.normal(0, 3, (6, 10)).astype(np.float32)
labels = rng.integers(0, 10, 6)
z = torch.tensor(logits.astype(np.float64), requires_grad=True)
loss = torch.nn.CrossEntropyLoss(label_smoothing=0.1, reduction="none")(z, torch.tensor(labels))
loss.mean().backward()
smoothing = {"smoothing": 0.1, "logits": floats(logits), "labels": [int(x) for x in labels], "loss": floats(loss.detach()),
             "gradient": floats(z.grad)}


def schedule_rates(make, steps):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return rates


STEPS, PEAK = 40, 3e-3
onecycle = schedule_rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=PEAK, total_steps=STEPS, cycle_momentum=False), STEPS)
onecycle_rise10 = schedule_rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=PEAK, total_steps=STEPS, pct_start=10 / STEPS,
                                                                                cycle_momentum=False), STEPS)
cosine = schedule_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS), STEPS)

fixture = {
    "torch": torch.__version__, "adamw": adamw, "sgd": sgd, "label_smoothing": smoothing,
    "schedules": {"steps": STEPS, "peak": PEAK, "onecycle": onecycle, "onecycle_rise10": onecycle_rise10,
                  "cosine": [r * PEAK for r in cosine]},
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "recipe_reference.json")
with open(path, "w") as f:
    json.dump(fixture, f, indent=1)
    f.write("\n")
print(f"wrote {path}")
