#!/usr/bin/env python3
"""grid_table.py — the Markdown results table of bench/README.md from the raw
JSON lines of `bench/compare.sh --out FILE.jsonl`.

usage: bench/grid_table.py FILE.jsonl [--coretype unset]

Same statistics as compare.sh's summary: a side's time at a thread count is
the median over repetitions of each run's median ms/step, and each side is
credited with its better thread count. lstm_user rows give the user-cell
LSTM's time over the built-in LSTM's. Memory columns come from recur's run
(deterministic), GFLOP/s counts matrix products only (bench/rnn.c).
"""
import json
import statistics
import sys
from collections import defaultdict


def load(path):
    """Raw lines -> (cores, t, extra, order): cores[setting] = the line
    naming each side's OpenBLAS core; t[key][side][threads] = per-run median
    ms/step; extra[key] = recur's last run (memory, FLOPs); order = keys in
    first-seen order; key = (coretype setting, cell, hidden, batch, mode)."""
    rows = [json.loads(l) for l in open(path) if l.strip()]
    cores = {r["coretype_setting"]: r for r in rows if r["side"] == "cores"}
    t = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    extra, order = {}, []
    for r in rows:
        if r["side"] == "cores":
            continue
        run = r["run"]
        cell = "rnn" if run["cell"] == "simple" else run["cell"]  # torch's name for it
        key = (r["coretype_setting"], cell, run["hidden"], run["batch"], run["mode"])
        if key not in order:
            order.append(key)
        if run.get("failed"):
            continue
        # a run with replicas is its own "thread count", rN
        thr = f"r{run['replicas']}" if run.get("replicas", 1) > 1 else run["threads"]
        t[key][r["side"]][thr].append(run["ms_per_step_median"])
        if r["side"] == "recur" and "plan_bytes" in run:  # (replica runs report no plan)
            extra[key] = run
    return cores, t, extra, order


def best(side):
    """(median ms at the best thread count, that count, {threads: median})."""
    meds = {thr: statistics.median(v) for thr, v in side.items() if v}
    if not meds:
        return None, None, {}
    thr = min(meds, key=meds.get)
    return meds[thr], thr, meds


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    setting = argv[argv.index("--coretype") + 1] if "--coretype" in argv else "unset"
    _, t, extra, order = load(argv[1])

    mib = lambda b: f"{b / 2**20:.1f}"
    per = lambda m, ks=(1, 2): " / ".join(f"{m[k]:.3g}" if k in m else "-" for k in ks)
    print("| cell | H | B | mode | recur ms (thr) | torch ms (thr) | torch/recur | recur tok/s | torch tok/s"
          " | recur 1t / 2t / 2 replicas | torch 1t / 2t | recur GFLOP/s | plan MiB | leaves MiB | RSS MiB | need MiB"
          " | (plan+leaves)/need |")
    print("|---|--:|--:|---|--:|--:|--:|--:|--:|---|---|--:|--:|--:|--:|--:|--:|")
    for key in order:
        if key[0] != setting:
            continue
        _, cell, h, b, mode = key
        rm, rt, rmeds = best(t[key]["recur"])
        if rm is None:
            continue
        e = extra[key]
        tokens = b * e["seq"]
        gflops = e["gemm_gflop_per_step"] / (rm * 1e-3) if "gemm_gflop_per_step" in e else None
        if cell == "lstm_user":
            bm, _, _ = best(t[(setting, "lstm", h, b, mode)]["recur"])
            torch_cols = f"{bm:.3f} (built-in) | user/built-in {rm / bm:.2f} | {tokens / (rm * 1e-3):,.0f} |  "
            tper = ""
        else:
            tm, tt, tmeds = best(t[key]["torch"])
            torch_cols = (f"{tm:.3f} ({tt}) | **{tm / rm:.2f}** | {tokens / (rm * 1e-3):,.0f} | "
                          f"{tokens / (tm * 1e-3):,.0f}")
            tper = per(tmeds)
        ratio = (e["plan_bytes"] + e["leaf_bytes"]) / e["needed_bytes"]
        print(f"| {cell} | {h} | {b} | {mode} | {rm:.3f} ({rt}) | {torch_cols} | {per(rmeds, (1, 2, 'r2'))} | {tper} | "
              f"{'-' if gflops is None else f'{gflops:.0f}'} | {mib(e['plan_bytes'])} | {mib(e['leaf_bytes'])} | {mib(e['max_rss_bytes'])} | "
              f"{mib(e['needed_bytes'])} | {ratio:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
