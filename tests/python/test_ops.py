"""Ops and their gradients through the Python API, in float64 (the
reference evaluator) against NumPy and PyTorch (python3-torch)."""
import math

import numpy as np
import pytest

import recur

try:
    import torch
except ImportError:  # the NumPy comparisons still run
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="python3-torch not installed")


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name -> (recur builder, NumPy float64 reference, torch function)
UNARY = {
    "neg": (recur.neg, lambda x: -x, lambda t: -t),
    "sigmoid": (recur.sigmoid, sigmoid, lambda t: torch.sigmoid(t)),
    "tanh": (recur.tanh, np.tanh, lambda t: torch.tanh(t)),
    "relu": (recur.relu, lambda x: np.maximum(x, 0), lambda t: torch.relu(t)),
    "exp": (recur.exp, np.exp, lambda t: torch.exp(t)),
    "square": (recur.square, np.square, lambda t: t * t),
    "selu": (recur.selu, None, lambda t: torch.selu(t)),
    "softplus": (recur.softplus, lambda x: np.logaddexp(0, x), lambda t: torch.nn.functional.softplus(t)),
    "softsign": (recur.softsign, lambda x: x / (1 + np.abs(x)), lambda t: torch.nn.functional.softsign(t)),
    "silu": (recur.silu, lambda x: x * sigmoid(x), lambda t: torch.nn.functional.silu(t)),
    # alpha, slope: float32 attributes, so exactly representable ones here
    "elu": (lambda x: recur.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)),
            lambda t: torch.nn.functional.elu(t, 0.5)),
    "gelu": (recur.gelu, None, lambda t: torch.nn.functional.gelu(t)),
    "gelu_tanh": (lambda x: recur.gelu(x, True), None,
                  lambda t: torch.nn.functional.gelu(t, approximate="tanh")),
    "softmax": (recur.softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True),
                lambda t: torch.softmax(t, -1)),
    "log_softmax": (recur.log_softmax, lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True)),
                    lambda t: torch.log_softmax(t, -1)),
    "scale": (lambda x: recur.scale(x, -2.5), lambda x: -2.5 * x, lambda t: -2.5 * t),
    "add_scalar": (lambda x: recur.add_scalar(x, 0.25), lambda x: x + 0.25, lambda t: t + 0.25),
    "hard_sigmoid": (lambda x: recur.hard_sigmoid(x, 0.25, 0.5), lambda x: np.clip(x / 4 + 0.5, 0, 1),
                     lambda t: torch.clamp(t / 4 + 0.5, 0, 1)),
    "sum_axis": (lambda x: recur.sum(x, axis=1), lambda x: x.sum(1), lambda t: t.sum(1)),
    "mean_all": (lambda x: recur.mean(x), lambda x: x.mean(), lambda t: t.mean()),
    "transpose": (recur.transpose, lambda x: x.T, lambda t: t.T),
    "reverse": (lambda x: recur.reverse(x, 0), lambda x: x[::-1], lambda t: torch.flip(t, [0])),
    "reshape": (lambda x: recur.reshape(x, (-1,)), lambda x: x.reshape(-1), lambda t: t.reshape(-1)),
    "index": (lambda x: x[1:, 2], lambda x: x[1:, 2], lambda t: t[1:, 2]),
}


def _x(rng, shape=(3, 5)):
    # away from relu's and hard_sigmoid's kinks
    x = rng.uniform(-2, 2, shape)
    x[np.abs(x) < 0.05] += 0.2
    return x.astype(np.float32)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_forward_float64(name, rng):
    f, ref, _ = UNARY[name]
    if ref is None:
        pytest.skip("no closed form here; compared against torch below")
    x = _x(rng)
    g = recur.Graph()
    y = f(g.input(x))
    got = g.run(y, dtype=np.float64)
    np.testing.assert_allclose(got, ref(x.astype(np.float64)), rtol=1e-12, atol=1e-12)
    # the float32 plan agrees to float32 rounding
    np.testing.assert_allclose(g.run(y), ref(x.astype(np.float64)), rtol=2e-6, atol=2e-6)


@needs_torch
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_vs_torch(name, rng):
    f, _, tf = UNARY[name]
    x = _x(rng)
    w = rng.normal(size=np.shape(tf(torch.tensor(x, dtype=torch.float64)))).astype(np.float32)
    g = recur.Graph()
    p = g.param("x", value=x)
    y = f(p)
    loss = recur.sum(y * g.const(w)) if y.ndim else y * float(w)
    (dx,) = g.gradients(loss, [p])
    got_y, got_dx = g.run([y, dx], dtype=np.float64)
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ty = tf(t)
    (ty * torch.tensor(w, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(got_y, ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got_dx, t.grad.numpy(), rtol=1e-10, atol=1e-12)


BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("bshape", [(3, 5), (5,), (3, 1)])
def test_binary_broadcast_and_gradients(name, bshape, rng):
    f, ref = BINARY[name]
    a = _x(rng)
    b = (rng.uniform(0.5, 2, bshape) * rng.choice([-1, 1], bshape)).astype(np.float32)
    g = recur.Graph()
    pa, pb = g.param("a", value=a), g.param("b", value=b)
    y = f(pa, pb)
    da, db = g.gradients(recur.sum(y), [pa, pb])
    y64, da64, db64 = g.run([y, da, db], dtype=np.float64)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    np.testing.assert_allclose(y64, ref(a64, b64), rtol=1e-12)
    if torch is not None:
        ta = torch.tensor(a64, requires_grad=True)
        tb = torch.tensor(b64, requires_grad=True)
        ref(ta, tb).sum().backward()
        np.testing.assert_allclose(da64, ta.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(db64, tb.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert recur.gradcheck(y, [pa, pb])


def test_scalar_operands(rng):
    a = _x(rng)
    g = recur.Graph()
    x = g.input(a)
    for y, ref in [(x + 2, a + 2), (2 + x, 2 + a), (x - 2, a - 2), (2 - x, 2 - a), (x * 3, a * 3),
                   (3 * x, 3 * a), (x / 4, a / 4), (1 / x, 1 / a), (-x, -a), (+x, a)]:
        np.testing.assert_allclose(g.run(y), ref, rtol=1e-6)
    # numpy arrays become constants
    c = rng.normal(size=(5,)).astype(np.float32)
    np.testing.assert_allclose(g.run(x * c), a * c, rtol=1e-6)


@needs_torch
def test_matmul_forms_and_gradients(rng):
    a = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=(3, 5)).astype(np.float32)
    c = rng.normal(size=(2, 6, 3)).astype(np.float32)
    g = recur.Graph()
    pa, pb, pc = g.param("a", value=a), g.param("b", value=b), g.param("c", value=c)
    y1 = pa @ pb
    y2 = recur.matmul(pb, pa, trans_a=True, trans_b=True)      # (5, 4) = bᵀaᵀ
    y3 = pc @ pb                                               # (2, 6, 5)
    loss = recur.sum(recur.square(y1)) + recur.sum(y2 * 0.5) + recur.mean(recur.tanh(y3))
    grads = g.gradients(loss, [pa, pb, pc])
    vals = g.run([y1, y2, y3] + grads, dtype=np.float64)
    ta, tb, tc = (torch.tensor(v.astype(np.float64), requires_grad=True) for v in (a, b, c))
    t1, t2, t3 = ta @ tb, tb.T @ ta.T, tc @ tb
    (torch.sum(t1 ** 2) + torch.sum(t2 * 0.5) + torch.mean(torch.tanh(t3))).backward()
    for got, want in zip(vals, [t1, t2, t3, ta.grad, tb.grad, tc.grad]):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_shape_ops_and_gathers(rng):
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    table = rng.normal(size=(6, 3)).astype(np.float32)
    ids = np.array([[0, 5, 2], [1, 1, 4]], np.int32)
    g = recur.Graph()
    px, pt = g.param("x", value=x), g.param("t", value=table)
    idn = g.input(ids)
    assert idn.dtype == "int32"
    outs = [
        recur.concat([px, px * 2], 2),
        recur.transpose(px, (1, 0, 2)),
        recur.slice(px, 1, 1, 3),
        recur.pad_axis(px, 2, 1, 7),
        recur.gather(pt, idn),
        recur.one_hot(idn, 6),
        recur.broadcast_to(px[:, :1, :], (2, 3, 4)),
        recur.sum_to(px, (1, 3, 1)),
        recur.where(g.const((x > 0).astype(np.float32)), px, -px),
        recur.lerp(recur.sigmoid(px), px, px * px),
        recur.add_n([px, px, px]),
    ]
    wts = [g.const(rng.normal(size=o.shape).astype(np.float32)) for o in outs]
    loss = recur.add_n([recur.sum(o * w) for o, w in zip(outs, wts)])
    gx, gt = g.gradients(loss, [px, pt])
    vals = g.run(outs + [gx, gt], dtype=np.float64)
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    tt = torch.tensor(table.astype(np.float64), requires_grad=True)
    ti = torch.tensor(ids, dtype=torch.long)
    s = torch.sigmoid(tx)
    touts = [
        torch.cat([tx, tx * 2], 2), tx.permute(1, 0, 2), tx[:, 1:3],
        torch.nn.functional.pad(tx, (1, 2)), tt[ti],
        torch.nn.functional.one_hot(ti, 6).double(), tx[:, :1, :].expand(2, 3, 4),
        tx.sum((0, 2), keepdim=True), torch.where(tx > 0, tx, -tx), s * tx + (1 - s) * tx * tx,
        3 * tx,
    ]
    tl = sum((o * torch.tensor(g.run(w, dtype=np.float64))).sum() for o, w in zip(touts, wts))
    tl.backward()
    for got, want in zip(vals, touts + [tx.grad, tt.grad]):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_losses_match_torch(rng):
    logits = rng.normal(size=(4, 5)).astype(np.float32)
    labels = np.eye(5, dtype=np.float32)[[0, 3, 1, 4]]
    ids = np.array([0, 3, 1, 4], np.int32)
    z = rng.uniform(size=(4, 5)).astype(np.float32)
    g = recur.Graph()
    p = g.param("logits", value=logits)
    tl = torch.tensor(logits.astype(np.float64))
    cases = [
        (recur.mean(recur.softmax_xent(p, g.const(labels))),
         torch.nn.functional.cross_entropy(tl, torch.tensor(ids, dtype=torch.long))),
        (recur.mean(recur.sparse_softmax_xent(p, g.input(ids))),
         torch.nn.functional.cross_entropy(tl, torch.tensor(ids, dtype=torch.long))),
        (recur.mean(recur.sigmoid_bce(p, g.const(z))),
         torch.nn.functional.binary_cross_entropy_with_logits(tl, torch.tensor(z, dtype=torch.float64))),
        (recur.mean_squared_diff(p, g.const(z)), torch.mean((tl - torch.tensor(z, dtype=torch.float64)) ** 2)),
        (recur.losses.sparse_categorical_crossentropy(p, ids),
         torch.nn.functional.cross_entropy(tl, torch.tensor(ids, dtype=torch.long))),
    ]
    for node, want in cases:
        assert math.isclose(float(g.run(node, dtype=np.float64)), float(want), rel_tol=1e-10)


def test_every_public_op_is_exported():
    for name in recur.OPS:
        assert callable(getattr(recur, name)), name
    # the op table's builders this binding reaches: every op with a public
    # builder in recur/ops.h, graph.h and optim.h
    assert {"lstm_step_fused", "gru_step_fused", "matmul_acc", "time_rows", "scatter_add"} <= set(recur.OPS)


def test_errors_carry_the_library_message(rng):
    g = recur.Graph()
    x = g.input(_x(rng))
    with pytest.raises(recur.RecurError, match=r"inner dimensions differ") as e:
        x @ x
    assert e.value.status == "shape error"
    # the graph stays usable after an error
    np.testing.assert_allclose(g.run(recur.tanh(x)), np.tanh(g.run(x)), rtol=1e-6)
    with pytest.raises(IndexError):
        x[5]
    with pytest.raises(IndexError):
        x[:, ::2]
    with pytest.raises(ValueError):
        recur.Graph().input(shape=(1, 2, 3, 4, 5))
    with pytest.raises(recur.RecurError, match="invalid"):
        recur.Graph().input(shape=(0, 2))
    other = recur.Graph().input(_x(rng))
    with pytest.raises(ValueError, match="different graphs"):
        x + other
    with pytest.raises(recur.RecurError, match="gather at .gather.: invalid input values"):
        g2 = recur.Graph()
        t = g2.param("t", value=np.ones((3, 2), np.float32))
        g2.run(recur.gather(t, g2.input(np.array([0, 7], np.int32))))


def test_numpy_scalars_and_arrays_defer_to_nodes(rng):
    a = _x(rng)
    g = recur.Graph()
    x = g.input(a)
    for y, ref in [(np.float32(2) * x, 2 * a), (np.ones(5, np.float32) + x, a + 1),
                   (x * np.float64(0.5), a * 0.5), (np.arange(5, dtype=np.float32) - x, np.arange(5) - a)]:
        assert isinstance(y, recur.Node)
        np.testing.assert_allclose(g.run(y), ref, rtol=1e-6)
    with pytest.raises(TypeError):
        x + None
    with pytest.raises(TypeError):
        x * "2"
