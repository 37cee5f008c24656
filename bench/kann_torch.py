#!/usr/bin/python3
"""PyTorch side of issue 18's KANN textgen configuration (bench/kann_config.sh):
Embedding(114, 114) -> LSTM(114 -> 128) -> Linear(128 -> 114), mean cross-entropy
of the next symbol, RMSprop (lr 1e-2, rho 0.9, eps 1e-7: recur's Keras defaults),
global gradient-norm clipping at 10, minibatches of 64 random windows of 70 + 1
symbols of the corpus' first 90% (each from a zero state): the model and step of
`recur train --ints --cell lstm --units 128 --embed 114 --seq 70 --batch 64
--optimizer rmsprop --lr 1e-2 --clipnorm 10`.

Runs --steps minibatches; kann_config.sh times whole runs of two lengths and
takes the difference, as for recur. Also prints its own median ms per step.

usage: kann_torch.py --corpus FILE.ints --steps N [--threads 2] [--seed 1234]
"""
import argparse
import statistics
import time

import numpy as np
import torch


class Model(torch.nn.Module):
    def __init__(self, V=114, E=114, H=128):
        super().__init__()
        self.emb = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, batch_first=True)
        self.out = torch.nn.Linear(H, V)

    def forward(self, x):
        y, _ = self.lstm(self.emb(x))
        return self.out(y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(a.corpus) as f:
        data = np.array(f.read().split(), dtype=np.int64)
    train = data[: int(len(data) * 0.9)]
    V, T, B = int(data.max()) + 1, 70, 64
    model = Model(V=V, E=V)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.9, eps=1e-7)
    rng = np.random.RandomState(a.seed)
    lossf = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        s = rng.randint(0, len(train) - T - 1, size=B)
        w = torch.from_numpy(np.stack([train[k:k + T + 1] for k in s]))
        x, y = w[:, :T], w[:, 1:]
        opt.zero_grad()
        loss = lossf(model(x).reshape(-1, V), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    print(f"torch {torch.__version__}: {a.steps} steps, last loss {loss.item():.4f}, "
          f"median {1e3 * statistics.median(times):.2f} ms/step")


if __name__ == "__main__":
    main()
