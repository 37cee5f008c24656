#!/usr/bin/python3
"""optim_peer — torch.optim step timing matching bench/optim.c: P parameters
of N floats, gradients set once, median seconds per opt.step() over K steps.

usage: optim_peer.py [--kind sgd|sgdm|adam|rmsprop|adagrad] [--params P]
                     [--numel N] [--clip] [--iters K] [--warmup W] [--threads T]
With --clip, torch.nn.utils.clip_grad_norm_(max_norm=1) runs before each step
(as recur's global_clipnorm). Prints one JSON line.
"""
import argparse, json, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--kind", default="adam")
ap.add_argument("--params", type=int, default=4)
ap.add_argument("--numel", type=int, default=1 << 20)
ap.add_argument("--iters", type=int, default=50)
ap.add_argument("--warmup", type=int, default=5)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--clip", action="store_true")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)
ps = [torch.nn.Parameter(torch.rand(a.numel) * 2 - 1) for _ in range(a.params)]
for p in ps:
    p.grad = (torch.rand(a.numel) * 2 - 1) * 1e-3
make = {
    "sgd": lambda: torch.optim.SGD(ps, lr=0.01),
    "sgdm": lambda: torch.optim.SGD(ps, lr=0.01, momentum=0.9),
    "adam": lambda: torch.optim.Adam(ps, lr=0.001, eps=1e-7),
    "rmsprop": lambda: torch.optim.RMSprop(ps, lr=0.001, alpha=0.9, eps=1e-7),
    "adagrad": lambda: torch.optim.Adagrad(ps, lr=0.001, initial_accumulator_value=0.1, eps=1e-7),
}[a.kind]
opt = make()

def step():
    if a.clip:
        torch.nn.utils.clip_grad_norm_(ps, 1.0)
    opt.step()

with torch.no_grad():
    for _ in range(a.warmup):
        step()
    ts = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
ts.sort()
print(json.dumps({"side": "torch", "kind": a.kind, "params": a.params, "numel": a.numel, "clip": a.clip,
                  "threads": a.threads, "median_s": ts[len(ts) // 2], "min_s": ts[0]}))
