"""The Keras golden conformance cases (tests/golden/cases, FORMAT.md)
through the Python API, forward and gradients, with the C runner's
tolerances (|got - want| <= 1e-5 + 1e-4 |want|): once with the built-in
C cells, once with the same cells written in Python (pycells.py)."""
import glob
import json
import os

import numpy as np
import pytest

import recur
from conftest import GOLDEN
from pycells import PyGRU, PyLSTM, PySimpleRNN

ATOL, RTOL = 1e-5, 1e-4
CASES = sorted(glob.glob(os.path.join(GOLDEN, "cases", "*.json")))


def tensor(t):
    return np.array(t["values"], np.float32).reshape(t["shape"])


def make_cell(cfg, python):
    kind = cfg["class_name"].replace("Cell", "")
    kw = dict(activation=cfg.get("activation", "tanh"), use_bias=cfg.get("use_bias", True))
    if kind != "SimpleRNN":
        kw["recurrent_activation"] = cfg.get("recurrent_activation", "sigmoid")
    if kind == "GRU":
        kw["reset_after"] = cfg.get("reset_after", True)
    if kind == "LSTM":
        return PyLSTM(cfg["units"], **kw) if python else recur.LSTMCell(cfg["units"], **kw)
    if kind == "GRU":
        return PyGRU(cfg["units"], **kw) if python else recur.GRUCell(cfg["units"], **kw)
    return PySimpleRNN(cfg["units"], **kw) if python else recur.SimpleRNNCell(cfg["units"], **kw)


def make_layer(cfg, python):
    flags = dict(return_sequences=cfg["return_sequences"], return_state=cfg["return_state"],
                 go_backwards=cfg["go_backwards"])
    if cfg["class_name"] == "RNN":
        return recur.RNN(recur.StackedRNNCells([make_cell(c, python) for c in cfg["cells"]]), **flags)
    return recur.RNN(make_cell(cfg, python), **flags)


def build(case, python):
    cfg = case["config"]
    g = recur.Graph()
    x = g.param("x", value=tensor(case["x"]))
    init = [g.param("h%d" % k, value=tensor(t)) for k, t in enumerate(case["initial_state"] or [])]
    mask = g.const(tensor(case["mask"])) if case["mask"] else None
    if cfg["class_name"] == "Bidirectional":
        inner = cfg["layer"]
        fwd = make_layer(inner, python)
        layer = recur.Bidirectional(fwd, merge_mode=cfg["merge_mode"],
                                    backward_layer=fwd._backward_copy())
    else:
        layer = make_layer(cfg, python)
    out = layer(x, mask=mask, initial_state=init or None)
    outs = out if isinstance(out, list) else [out]
    layer.set_weights([tensor(w) for w in case["weights"]])
    return g, x, init, layer, outs


@pytest.mark.parametrize("python", [False, True], ids=["c_cells", "python_cells"])
@pytest.mark.parametrize("path", CASES, ids=[os.path.basename(p)[:-5] for p in CASES])
def test_golden_case(path, python):
    with open(path) as f:
        case = json.load(f)
    g, x, init, layer, outs = build(case, python)
    assert len(outs) == len(case["outputs"])
    R = case["loss"]["R"]
    loss = recur.add_n([recur.sum(o * g.const(tensor(r))) for o, r in zip(outs, R)])
    weights = layer.weights
    grads = g.gradients(loss, [x] + init + weights)
    vals = g.run(outs + [loss] + grads)
    for got, want in zip(vals, case["outputs"]):
        np.testing.assert_allclose(got, tensor(want), atol=ATOL, rtol=RTOL, err_msg=want["name"])
    np.testing.assert_allclose(vals[len(outs)], case["loss"]["value"], atol=ATOL, rtol=RTOL)
    gw = case["gradients"]
    want_grads = [gw["x"]] + (gw["initial_state"] or []) + gw["weights"]
    assert len(grads) == len(want_grads) == 1 + len(init) + len(case["weights"])
    for got, want in zip(vals[len(outs) + 1:], want_grads):
        np.testing.assert_allclose(got, tensor(want), atol=ATOL, rtol=RTOL,
                                   err_msg="d loss / d " + want.get("name", "x"))
