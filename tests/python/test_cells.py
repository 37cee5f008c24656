"""Cells defined in Python (recur.Cell): every layer option, gradients,
gradcheck, fusion, errors, drawing, and a peephole LSTM trained on the
adding problem."""
import io

import numpy as np
import pytest

import recur
from pycells import PeepholeLSTM, PyGRU, PyLSTM, PySimpleRNN


def op_count(g, op):
    return sum(1 for i in range(g.node_count) if g.node(i).op == op)


def data(rng, B=3, T=5, I=4):
    return rng.normal(size=(B, T, I)).astype(np.float32)


def mask_of(B=3, T=5):
    m = np.ones((B, T), np.float32)
    m[0, 3:] = 0      # right padded
    m[1, :2] = 0      # left padded
    m[2, 2] = 0       # a gap
    return m


PAIRS = [
    (lambda: PyLSTM(6), lambda: recur.LSTMCell(6)),
    (lambda: PyGRU(6), lambda: recur.GRUCell(6)),
    (lambda: PyGRU(6, reset_after=False), lambda: recur.GRUCell(6, reset_after=False)),
    (lambda: PySimpleRNN(6), lambda: recur.SimpleRNNCell(6)),
]
OPTIONS = [
    dict(return_sequences=True),
    dict(return_sequences=False, go_backwards=True),
    dict(return_sequences=True, return_state=True, zero_output_for_mask=True),
    dict(return_sequences=True, dropout=0.25, recurrent_dropout=0.3),
]


@pytest.mark.parametrize("pair", range(len(PAIRS)))
@pytest.mark.parametrize("opts", range(len(OPTIONS)))
def test_python_cell_equals_c_cell(pair, opts, rng):
    """Same initialisation stream, same masks, same dropout masks: the
    Python cell and the C cell give the same values and gradients."""
    make_py, make_c = PAIRS[pair]
    cfg = OPTIONS[opts]
    g = recur.Graph()
    x = g.param("x", value=data(rng))
    m = g.const(mask_of())
    a, b = recur.RNN(make_py(), **cfg), recur.RNN(make_c(), **cfg)
    ya, yb = a(x, mask=m, training=True, seed=7), b(x, mask=m, training=True, seed=7)
    ya = ya if isinstance(ya, list) else [ya]
    yb = yb if isinstance(yb, list) else [yb]
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    la = recur.add_n([recur.sum(recur.square(o)) for o in ya])
    lb = recur.add_n([recur.sum(recur.square(o)) for o in yb])
    ga = g.gradients(la, [x] + a.weights)
    gb = g.gradients(lb, [x] + b.weights)
    va, vb = g.run(ya + ga), g.run(yb + gb)
    for p, q in zip(va, vb):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)
    assert recur.gradcheck(ya[0], [x] + a.weights)


def test_python_lstm_reaches_the_fused_kernel(rng):
    g = recur.Graph()
    x = g.input(data(rng, T=7))
    y = recur.RNN(PyLSTM(5), return_sequences=True)(x)
    assert op_count(g, "lstm_cell") == 7
    g.gradients(recur.sum(y), g.params())
    # as many fused gradient nodes as the built-in LSTM gets
    ref = recur.Graph()
    yr = recur.LSTM(5, return_sequences=True)(ref.input(x.storage()))
    ref.gradients(recur.sum(yr), ref.params())
    assert op_count(g, "lstm_cell_grad") == op_count(ref, "lstm_cell_grad") > 0
    assert op_count(ref, "lstm_cell") == 7
    # with fusion off, the same cell runs as the ops written (same values)
    h = recur.Graph()
    h.fusion = False
    x2 = h.input(x.storage())
    l2 = recur.RNN(PyLSTM(5), return_sequences=True)
    y2 = l2(x2)
    assert op_count(h, "lstm_cell") == 0
    np.testing.assert_allclose(g.run(y), h.run(y2), rtol=1e-5, atol=1e-6)


def test_bidirectional_and_stacked_python_cells(rng):
    g = recur.Graph()
    x = g.param("x", value=data(rng))
    m = g.const(mask_of())
    bi = recur.Bidirectional(recur.RNN(PyGRU(4), return_sequences=True), merge_mode="sum")
    st = recur.RNN(recur.StackedRNNCells([PySimpleRNN(3), PyLSTM(4), recur.GRUCell(2)]),
                   return_sequences=True, return_state=True)
    yb = bi(x, mask=m)
    ys = st(yb, mask=m)
    assert yb.shape == (3, 5, 4)
    assert [o.shape for o in ys] == [(3, 5, 2), (3, 3), (3, 4), (3, 4), (3, 2)]
    assert len(bi.weights) == 6 and len(st.weights) == 9
    # the backward copy has its own weights
    assert bi.weights[0].path != bi.weights[3].path
    assert recur.gradcheck(ys[0], [x] + g.params(), max_per_node=20)


def test_stateful_python_cell(rng):
    g = recur.Graph()
    xa = data(rng, B=2, T=3)
    x = g.input(xa)
    layer = recur.RNN(PyLSTM(4), stateful=True, return_state=True)
    out, h, c = layer(x)
    first = g.run(out)
    second = g.run(out)          # state carried from the first run
    assert not np.allclose(first, second)
    layer.reset_states()
    np.testing.assert_allclose(g.run(out), first, rtol=1e-6)
    # one run over T=6 equals two stateful runs over T=3
    h2 = recur.Graph()
    x6 = h2.input(np.concatenate([xa, xa], 1))
    full = recur.RNN(PyLSTM(4))
    y6 = full(x6)
    full.set_weights(layer.get_weights())
    layer.reset_states()
    g.run(out)
    np.testing.assert_allclose(g.run(out), h2.run(y6), rtol=1e-5, atol=1e-6)


def test_initial_state_and_project(rng):
    class Projected(PySimpleRNN):
        """The input part x W + b for all B·T rows at once (one GEMM)."""

        def project(self, x_all):
            return x_all @ self.kernel + self.bias

        def call(self, x, states):      # x is now a row block of project()
            out = recur.tanh(x + states[0] @ self.recurrent_kernel)
            return out, [out]

    g = recur.Graph()
    x = g.param("x", value=data(rng))
    h0 = g.param("h0", value=rng.normal(size=(3, 6)).astype(np.float32))
    a, b = recur.RNN(Projected(6), return_sequences=True), recur.RNN(recur.SimpleRNNCell(6), return_sequences=True)
    ya, yb = a(x, initial_state=[h0]), b(x, initial_state=[h0])
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(g.run(ya), g.run(yb), rtol=1e-5, atol=1e-6)
    assert recur.gradcheck(ya, [x, h0] + a.weights)


def test_peephole_gradcheck_with_mask_and_backwards(rng):
    g = recur.Graph()
    x = g.param("x", value=data(rng))
    cell = PeepholeLSTM(3)
    y = recur.RNN(cell, return_sequences=True, go_backwards=True)(x, mask=g.const(mask_of()))
    for w in g.params():       # random biases and peepholes: no zero hides a wiring mistake
        w.set(rng.normal(scale=0.5, size=w.shape))
    assert op_count(g, "lstm_cell") == 0
    assert recur.gradcheck(y, weights=rng.normal(size=y.shape))


def test_gradcheck_reports_a_wrong_gradient(rng):
    g = recur.Graph()
    p = g.param("p", value=np.array([0.5, -1.0], np.float32))
    y = recur.relu(p)             # the kink at 0 is far; passes
    assert recur.gradcheck(y)
    g2 = recur.Graph()
    q = g2.param("q", value=np.array([0.0, 1.0], np.float32))
    with pytest.raises(recur.GradcheckError, match=r"q\[0\]"):
        recur.gradcheck(recur.relu(q))   # at the kink the central difference is 0.5


def test_cell_errors_become_python_exceptions(rng):
    g = recur.Graph()
    x = g.input(data(rng))

    class Raises(recur.Cell):
        def __init__(self):
            super().__init__(3)
            self.state_size = 3

        def call(self, x, states):
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        recur.RNN(Raises())(x)

    class WrongShape(PySimpleRNN):
        def call(self, x, states):
            return x @ self.kernel, [x]          # state of the input's width

    with pytest.raises(recur.RecurError, match="state"):
        recur.RNN(WrongShape(3))(x)

    class NotANode(PySimpleRNN):
        def call(self, x, states):
            return 1.0, [states[0]]

    with pytest.raises(TypeError, match="output must be a Node"):
        recur.RNN(NotANode(3))(x)

    class NoState(recur.Cell):
        pass

    with pytest.raises(ValueError, match="state_size"):
        recur.RNN(NoState())(x)

    class WeightInCall(PySimpleRNN):
        def call(self, x, states):
            self.add_weight("late", (3,))

    with pytest.raises(RuntimeError, match="only valid inside build"):
        recur.RNN(WeightInCall(3))(x)
    cell = PySimpleRNN(3)
    recur.RNN(cell)(x)
    with pytest.raises(ValueError, match="one set of weights"):
        recur.RNN(cell)(x)
    # the graph still works after all of these
    assert g.run(recur.RNN(PySimpleRNN(2))(x)).shape == (3, 2)


def test_draw_python_cell(rng, tmp_path):
    g = recur.Graph()
    x = g.input(data(rng, T=3))
    y = recur.RNN(PeepholeLSTM(2), return_sequences=True)(x)
    d = g.draw(level="cell", gradients=False)
    svg = d._repr_svg_()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:400]
    assert "t2" in d.dot and "peephole" in d.dot
    g.gradients(recur.sum(y), g.params())
    dg = g.draw(level="op", gradients=True)
    assert "∂L/∂rnn/peephole_l_s_t_m/peephole" in dg.dot or "peephole" in dg.dot
    for ext in ("svg", "png", "dot"):
        p = tmp_path / ("g." + ext)
        d.save(str(p))
        assert p.stat().st_size > 100
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "digraph" in (tmp_path / "g.dot").read_text()
    with pytest.raises(ValueError, match="level"):
        g.draw(level="nope")


def adding_batch(rng, n, T):
    x = np.zeros((n, T, 2), np.float32)
    x[:, :, 0] = rng.uniform(size=(n, T))
    i1 = rng.integers(0, T // 2, n)
    i2 = rng.integers(T // 2, T, n)
    x[np.arange(n), i1, 1] = 1
    x[np.arange(n), i2, 1] = 1
    y = (x[np.arange(n), i1, 0] + x[np.arange(n), i2, 0])[:, None]
    return x, y.astype(np.float32)


def test_peephole_lstm_learns_the_adding_problem():
    """T = 50: always answering 1 scores MSE 1/6 ≈ 0.167; the peephole LSTM
    (a Python cell, ops only) must get below 0.02 within 1000 steps."""
    T, B = 50, 32
    rng = np.random.default_rng(1)
    g = recur.Graph()
    xb, yb = adding_batch(rng, B, T)
    x, y = g.input(xb), g.input(yb)
    rnn, dense = recur.RNN(PeepholeLSTM(24)), recur.Dense(1)
    loss = recur.losses.mse(dense(rnn(x)), y)
    xt, yt = adding_batch(np.random.default_rng(99), 500, T)
    test = recur.losses.mse(dense(rnn(g.input(xt))), g.input(yt))   # same weights
    tr = recur.Trainer(loss, recur.optimizers.Adam(1e-2, global_clipnorm=1.0))

    def feed(epoch, step):
        xb[...], yb[...] = adding_batch(rng, B, T)    # in place: the inputs borrow xb, yb

    out = io.StringIO()
    hist = tr.fit(feed, epochs=10, steps_per_epoch=100, validate=lambda e: g.run(test), stream=out)
    assert len(hist["loss"]) == 10 and "Epoch 10/10" in out.getvalue()
    assert hist["val_loss"][0] > 0.1
    assert min(hist["val_loss"]) < 0.02, hist.history
    assert tr.iterations == 1000


def test_cell_without_base_init_and_single_state(rng):
    class Minimal(recur.Cell):           # no super().__init__, one int state, no output_size
        def __init__(self):
            self.state_size = 2

        def build(self, input_size):
            self.w = self.add_weight("w", (input_size, 2))

        def call(self, x, states):
            h = recur.tanh(x @ self.w + states[0])
            return h, h                   # a single Node as the new state

    g = recur.Graph()
    x = g.input(data(rng))
    layer = recur.RNN(Minimal(), return_sequences=True)
    y = layer(x)
    assert y.shape == (3, 5, 2) and layer.weights[0].path == "rnn/minimal/w"
    assert recur.gradcheck(y)
