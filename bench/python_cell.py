#!/usr/bin/python3
"""python_cell — an LSTM cell written in Python trains at the C cell's speed.

One training step of the bench's configuration (bench/rnn.c, the PyTorch
peer's torch_rnn_bench.py): LSTM, hidden 128, batch 32, 50 steps, 64 input
features, return_sequences, loss = MSE(output, fixed random (B, T, H)
target), the gradients of every weight and an SGD (lr 0.01) update, as
ONE plan run. Variants, timed in one process, steps interleaved one by
one (`--warmup` untimed steps each, then `--iters` timed steps of each
variant in turn, per round; `--rounds` rounds), median ms/step:

  c_lstm        recur.LSTM (the C cell) through the Python API
  py_lstm       the LSTM written as a recur.Cell in Python (Keras idiom:
                z = x @ W + b + h @ U, four gate slices, ops only)
  py_lstm_proj  the same cell with a project() method (x W + b for all
                B*T rows at once: what the C cell does)
  py_lstm_rep   py_lstm as replicas (recur.ReplicaTrainer): one copy of
                the model per thread, each on B / threads rows, gradients
                summed every step; SGD 0.01 through the Trainer (the same
                update); with --threads 2 or more only
  torch_cell    the peer's idiom: a torch nn.Module LSTM cell in Python,
                looped over time (autograd, torch.optim.SGD)
  torch_lstm    torch.nn.LSTM (cuDNN-style fused layer), for reference
  c_bench       build/bench/rnn, the C program (no Python at all), when
                --rnn-bench points at it: run as a subprocess per round

Prints one JSON line per variant and round, then a summary with the
ratios py_lstm / c_lstm and torch_cell / py_lstm. Threads: --threads N
for both recur (rc_set_num_threads) and torch (set_num_threads,
OPENBLAS_NUM_THREADS); OMP_WAIT_POLICY=PASSIVE as the peer sets it.

--threads 1,2 (a list) runs the whole bench once per thread count and
round, alternating (round 0 at 1 thread, round 0 at 2, round 1 at 1, ...:
each a child process, since OpenBLAS and OpenMP read their thread counts
at start), and adds the ratios of each framework at its best thread count
(the convention of ../shared/peers and bench/README.md: "PyTorch at its
best of 1 and 2 threads"), besides the ratios at equal thread counts.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--batch", type=int, default=32)
p.add_argument("--seq", type=int, default=50)
p.add_argument("--input", type=int, default=64)
p.add_argument("--threads", default="1", help="N, or a list N1,N2,... (see above)")
p.add_argument("--warmup", type=int, default=3)
p.add_argument("--iters", type=int, default=10)
p.add_argument("--rounds", type=int, default=3)
p.add_argument("--rnn-bench", default=None, help="path of build/bench/rnn (adds c_bench)")
p.add_argument("--variants", default="c_lstm,py_lstm,py_lstm_proj,py_lstm_rep,torch_cell,torch_lstm")
args = p.parse_args()


def print_summary(summary):
    """the summary line, with the machine's load and the environment"""
    try:
        summary["load_avg"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    summary["env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "GLIBC_TUNABLES", "OMP_WAIT_POLICY")}
    print(json.dumps({"summary": summary}))


thread_list = [int(n) for n in args.threads.split(",") if n]
if len(thread_list) > 1:
    # One child per thread count and round, alternating; their JSON lines
    # are passed through, then the summaries are put side by side.
    per_n = {n: {} for n in thread_list}   # n -> variant -> [round medians]
    for rnd in range(args.rounds):
        for n in thread_list:
            argv = [sys.executable, os.path.abspath(__file__)]
            skip = False
            for a in sys.argv[1:]:
                if skip:
                    skip = False
                    continue
                if a in ("--threads", "--rounds"):
                    skip = True
                    continue
                if a.startswith("--threads=") or a.startswith("--rounds="):
                    continue
                argv.append(a)
            argv += ["--threads", str(n), "--rounds", "1"]
            env = dict(os.environ)
            env.pop("OPENBLAS_NUM_THREADS", None)
            env.pop("OMP_NUM_THREADS", None)
            r = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
            for line in r.stdout.splitlines():
                d = json.loads(line)
                if "variant" in d:
                    d["round"] = rnd
                    print(json.dumps(d), flush=True)
                    per_n[n].setdefault(d["variant"], []).append(d["median_ms"])
    med = {n: {v: statistics.median(t) for v, t in vs.items()} for n, vs in per_n.items()}
    summary = {"median_ms": {str(n): {v: round(m, 3) for v, m in vs.items()} for n, vs in med.items()}}
    for n in thread_list:
        if "torch_cell" in med[n] and "py_lstm" in med[n]:
            summary[f"torch_cell/py_lstm at {n} threads"] = round(med[n]["torch_cell"] / med[n]["py_lstm"], 3)
        if "py_lstm" in med[n] and "c_lstm" in med[n]:
            summary[f"py_lstm/c_lstm at {n} threads"] = round(med[n]["py_lstm"] / med[n]["c_lstm"], 3)

    def best(v):
        have = [(med[n][v], n) for n in thread_list if v in med[n]]
        return min(have) if have else None
    for a, b in (("torch_cell", "py_lstm"), ("torch_cell", "py_lstm_rep"), ("torch_lstm", "py_lstm"),
                 ("py_lstm", "c_lstm")):
        ba, bb = best(a), best(b)
        if ba and bb:
            summary[f"{a} best ({ba[1]} threads) / {b} best ({bb[1]} threads)"] = round(ba[0] / bb[0], 3)
    print_summary(summary)
    sys.exit(0)
args.threads = thread_list[0]

# The peer's environment (bench/README.md, ../shared/peers/README.md):
# glibc's malloc thresholds are read at process start, so re-execute once
# with them set (PyTorch's per-step temporaries otherwise page-fault).
TUNE = "glibc.malloc.mmap_threshold=268435456:glibc.malloc.trim_threshold=268435456"
if "GLIBC_TUNABLES" not in os.environ:
    os.environ["GLIBC_TUNABLES"] = TUNE
    os.execv(sys.executable, [sys.executable] + sys.argv)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.threads))
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import numpy as np  # noqa: E402

import recur  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None

H, B, T, I = args.hidden, args.batch, args.seq, args.input
recur.set_num_threads(args.threads)
if torch is not None:
    torch.set_num_threads(args.threads)


class KerasLSTM(recur.Cell):
    """The LSTM as a Keras tutorial writes a custom cell, with recur ops."""

    def __init__(self, units):
        super().__init__(units)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_size):
        U = self.units
        self.kernel = self.add_weight("kernel", (input_size, 4 * U))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (U, 4 * U), "orthogonal")
        self.bias = self.add_weight("bias", (4 * U,), "unit_forget_bias")

    def call(self, x, states):
        h, c = states
        U = self.units
        z = self.input_part(x) + h @ self.recurrent_kernel
        i = recur.sigmoid(z[:, :U])
        f = recur.sigmoid(z[:, U:2 * U])
        g = recur.tanh(z[:, 2 * U:3 * U])
        o = recur.sigmoid(z[:, 3 * U:])
        c2 = f * c + i * g
        h2 = o * recur.tanh(c2)
        return h2, [h2, c2]

    def input_part(self, x):
        return x @ self.kernel + self.bias


class ProjectedLSTM(KerasLSTM):
    def project(self, x_all):          # all B*T rows in one GEMM
        return x_all @ self.kernel + self.bias

    def input_part(self, x):           # x is already a row block of project()
        return x


def recur_step(cell):
    rng = np.random.default_rng(1)
    g = recur.Graph()
    x = g.input(rng.normal(size=(B, T, I)).astype(np.float32))
    target = g.input(rng.normal(size=(B, T, H)).astype(np.float32))
    layer = recur.RNN(cell, return_sequences=True)
    t0 = time.perf_counter()
    out = layer(x, seed=1)
    loss = recur.mean_squared_diff(out, target)
    params = layer.weights
    grads = g.gradients(loss, params)
    updates = [recur.apply_gradient_descent(p_, d, 0.01) for p_, d in zip(params, grads)]
    build_ms = 1e3 * (time.perf_counter() - t0)
    outs = [loss] + updates
    fused = sum(1 for k in range(g.node_count) if g.node(k).op == "lstm_cell")

    def step():
        return float(g._run(outs)[0])
    return step, {"build_ms": round(build_ms, 1), "nodes": g.node_count, "fused_lstm_steps": fused}


def recur_replicas_step():
    n = args.threads
    rng = np.random.default_rng(1)
    X = rng.normal(size=(B, T, I)).astype(np.float32)
    Y = rng.normal(size=(B, T, H)).astype(np.float32)
    t0 = time.perf_counter()
    losses = []
    for r in range(n):
        rows = slice(r * B // n, (r + 1) * B // n)
        g = recur.Graph()
        x, target = g.input(X[rows]), g.input(Y[rows])
        out = recur.RNN(KerasLSTM(H), return_sequences=True)(x, seed=1)
        losses.append(recur.mean_squared_diff(out, target))
    rt = recur.ReplicaTrainer(losses, recur.optimizers.SGD(0.01), threads=n)
    build_ms = 1e3 * (time.perf_counter() - t0)
    recur.set_num_threads(n)

    def step():
        # the replicas' plans on one thread each, the other variants on n
        recur.set_num_threads(1)
        loss = rt.step()
        recur.set_num_threads(n)
        return loss
    return step, {"build_ms": round(build_ms, 1), "replicas": n}


def torch_cell_step():
    torch.manual_seed(1)

    class Cell(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ih = torch.nn.Linear(I, 4 * H)
            self.hh = torch.nn.Linear(H, 4 * H, bias=False)

        def forward(self, x, state):
            h, c = state
            z = self.ih(x) + self.hh(h)
            i, f, g, o = z.chunk(4, 1)
            c2 = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h2 = torch.sigmoid(o) * torch.tanh(c2)
            return h2, (h2, c2)

    cell = Cell()
    opt = torch.optim.SGD(cell.parameters(), lr=0.01)
    x = torch.randn(B, T, I)
    target = torch.randn(B, T, H)

    def step():
        opt.zero_grad(set_to_none=True)
        h = torch.zeros(B, H)
        state = (h, torch.zeros(B, H))
        outs = []
        for t in range(T):
            h, state = cell(x[:, t], state)
            outs.append(h)
        loss = torch.nn.functional.mse_loss(torch.stack(outs, 1), target)
        loss.backward()
        opt.step()
        return float(loss)
    return step, {}


def torch_lstm_step():
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(I, H, batch_first=True)
    opt = torch.optim.SGD(lstm.parameters(), lr=0.01)
    x = torch.randn(B, T, I)
    target = torch.randn(B, T, H)

    def step():
        opt.zero_grad(set_to_none=True)
        out, _ = lstm(x)
        loss = torch.nn.functional.mse_loss(out, target)
        loss.backward()
        opt.step()
        return float(loss)
    return step, {}


def c_bench_round():
    cmd = [args.rnn_bench, "--cell", "lstm", "--hidden", str(H), "--batch", str(B), "--seq", str(T),
           "--input", str(I), "--threads", str(args.threads), "--mode", "train",
           "--warmup", str(args.warmup), "--iters", str(args.iters)]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1]
    return json.loads(line)["ms_per_step_median"]


makers = {
    "c_lstm": lambda: recur_step(recur.LSTMCell(H)),
    "py_lstm": lambda: recur_step(KerasLSTM(H)),
    "py_lstm_proj": lambda: recur_step(ProjectedLSTM(H)),
    "py_lstm_rep": recur_replicas_step,
    "torch_cell": torch_cell_step,
    "torch_lstm": torch_lstm_step,
}
variants = [v for v in args.variants.split(",") if v]
if args.threads < 2:
    variants = [v for v in variants if v != "py_lstm_rep"]
if torch is None:
    variants = [v for v in variants if not v.startswith("torch")]
steps, info = {}, {}
for v in variants:
    steps[v], info[v] = makers[v]()
if args.rnn_bench:
    variants.append("c_bench")

# Steps are interleaved one by one (A B C A B C ...) so that the load of
# the shared machine, which drifts over seconds, hits every variant alike;
# each round reports every variant's median, and the ratios are taken per
# round and over all steps (the median of the step-by-step ratios).
times = {v: [] for v in variants}
step_ms = {v: [] for v in variants}
for rnd in range(args.rounds):
    for v in variants:
        if v != "c_bench":
            for _ in range(args.warmup):
                steps[v]()
    per = {v: [] for v in variants}
    for _ in range(args.iters):
        for v in variants:
            if v == "c_bench":
                continue
            t0 = time.perf_counter()
            steps[v]()
            per[v].append(1e3 * (time.perf_counter() - t0))
    if "c_bench" in variants:
        per["c_bench"] = [c_bench_round()]
    for v in variants:
        ms = statistics.median(per[v])
        times[v].append(ms)
        step_ms[v].extend(per[v])
        print(json.dumps(dict(variant=v, round=rnd, median_ms=round(ms, 3), hidden=H, batch=B, seq=T,
                              input=I, threads=args.threads, **info.get(v, {}))), flush=True)


def step_ratio(a, b):
    """median over steps of a's time / b's time at the same position"""
    return round(statistics.median(x / y for x, y in zip(step_ms[a], step_ms[b])), 3)


med = {v: statistics.median(t) for v, t in times.items()}
summary = {"median_ms": {v: round(m, 3) for v, m in med.items()}}
if "py_lstm" in med and "c_lstm" in med:
    summary["py_lstm/c_lstm"] = round(med["py_lstm"] / med["c_lstm"], 3)
    # the same ratio per round (each round times both back to back)
    summary["py_lstm/c_lstm per round"] = [round(a / b, 3) for a, b in zip(times["py_lstm"], times["c_lstm"])]
    summary["py_lstm/c_lstm stepwise"] = step_ratio("py_lstm", "c_lstm")
if "py_lstm_proj" in med and "c_lstm" in med:
    summary["py_lstm_proj/c_lstm"] = round(med["py_lstm_proj"] / med["c_lstm"], 3)
    summary["py_lstm_proj/c_lstm stepwise"] = step_ratio("py_lstm_proj", "c_lstm")
if "torch_cell" in med and "py_lstm_rep" in med:
    summary["torch_cell/py_lstm_rep"] = round(med["torch_cell"] / med["py_lstm_rep"], 3)
if "torch_cell" in med and "py_lstm" in med:
    summary["torch_cell/py_lstm"] = round(med["torch_cell"] / med["py_lstm"], 3)
    summary["torch_cell/py_lstm stepwise"] = step_ratio("torch_cell", "py_lstm")
if "c_bench" in med and "py_lstm" in med:
    summary["py_lstm/c_bench"] = round(med["py_lstm"] / med["c_bench"], 3)
if "torch_lstm" in med and "py_lstm" in med:
    summary["torch_lstm/py_lstm"] = round(med["torch_lstm"] / med["py_lstm"], 3)
print_summary(summary)
