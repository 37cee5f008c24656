"""Reference counting: graphs, nodes, layers and Python cells freed in any
order, without leaks or crashes. The scenarios also run in a child
interpreter under PYTHONMALLOC=debug (and, when the suite runs in the
sanitizer build, under AddressSanitizer: .ci/run)."""
import gc
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import recur
from pycells import PyLSTM, PySimpleRNN


def scenario_graph_freed_while_nodes_live():
    g = recur.Graph()
    a = np.ones((2, 3), np.float32)
    x = g.input(a)
    y = recur.tanh(x) * 2
    ref = weakref.ref(g)
    del g
    gc.collect()
    assert ref() is not None              # the nodes keep it alive
    assert np.allclose(y.graph.run(y), 2 * np.tanh(1))
    del x
    view = y.graph.param("p", value=np.ones(3, np.float32)).storage()
    del y
    gc.collect()
    assert ref() is not None              # the storage view keeps node and graph alive
    view[:] = 5
    del view
    gc.collect()
    assert ref() is None                  # and then it is freed


def scenario_borrowed_array_outlives_nothing():
    a = np.arange(6, dtype=np.float32)
    g = recur.Graph()
    x = g.input(a)
    del a                                  # the graph holds the array it reads
    gc.collect()
    assert list(g.run(x + 0)) == list(range(6))


def scenario_cell_collected_mid_build():
    class Dropping(PySimpleRNN):
        def build(self, input_size):
            holder.clear()                 # the last user reference goes away during build
            gc.collect()
            super().build(input_size)

    g = recur.Graph()
    x = g.input(np.ones((2, 3, 4), np.float32))
    holder = [Dropping(3)]
    cell_ref = weakref.ref(holder[0])
    layer = recur.RNN(holder[0])
    y = layer(x)
    assert cell_ref() is not None          # the C cell holds its Python object
    assert g.run(y).shape == (2, 3)
    del layer
    gc.collect()
    assert cell_ref() is None              # freed with its layer


def scenario_cycles_are_collected():
    g = recur.Graph()
    x = g.input(np.ones((2, 2), np.float32))
    g.keep = [x, recur.tanh(x)]            # graph -> dict -> node -> graph
    ref = weakref.ref(g)
    del g, x
    gc.collect()
    assert ref() is None


def scenario_layers_models_trainers_in_any_order():
    for order in range(3):
        g = recur.Graph()
        x = g.input(np.ones((4, 3, 2), np.float32))
        model = recur.Sequential([recur.LSTM(3), recur.Dense(1)])
        y = model(x)
        tr = recur.Trainer(recur.losses.mse(y, np.zeros((4, 1), np.float32)), "adam")
        tr.step()
        objs = [g, x, model, y, tr]
        for k in [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]][order]:
            objs[k] = None
            gc.collect()


def scenario_exception_in_cell_leaves_nothing_behind():
    class Raises(PyLSTM):
        def call(self, x, states):
            raise ValueError("stop")

    g = recur.Graph()
    x = g.input(np.ones((2, 3, 4), np.float32))
    for _ in range(50):
        with pytest.raises(ValueError):
            recur.RNN(Raises(2))(x)
    gc.collect()


SCENARIOS = [v for k, v in sorted(globals().items()) if k.startswith("scenario_")]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__[9:] for s in SCENARIOS])
def test_lifetime(scenario):
    scenario()


def test_no_growth_over_many_graphs():
    """Building and dropping graphs with Python cells does not leak Python
    objects (a leaked graph would keep its nodes, cells and arrays)."""

    def once():
        g = recur.Graph()
        y = recur.RNN(PyLSTM(4), return_sequences=True)(g.input(np.ones((2, 5, 3), np.float32)))
        g.gradients(recur.sum(y), g.params())
        g.run(y)

    for _ in range(5):
        once()
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(30):
        once()
    gc.collect()
    assert len(gc.get_objects()) - before < 50


def test_scenarios_under_pythonmalloc_debug():
    """The same scenarios in a child interpreter with PYTHONMALLOC=debug:
    reference-count and allocator misuse aborts it."""
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys; sys.path.insert(0, %r); import test_lifetime as t\n"
            "for s in t.SCENARIOS: s()\n"
            "t.test_no_growth_over_many_graphs()\nprint('ok')\n" % here)
    env = dict(os.environ, PYTHONMALLOC="debug", PYTHONDEVMODE="1")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stdout + r.stderr
