"""Sequential models, training (losses, optimizers, clipping, fit with a
progress bar and history), safetensors checkpoints, summary, and models
in and out (.keras, TF.js model.json)."""
import io
import json
import os

import numpy as np
import pytest

import recur
from conftest import GOLDEN

MODELS = ["bidir_lstm_dense", "embedding_lstm_dense", "gru_lstm_dense"]


def tensor(t, dtype=np.float32):
    return np.array(t["values"], dtype).reshape(t["shape"])


@pytest.mark.parametrize("fmt", ["model.json", "model.keras"])
@pytest.mark.parametrize("name", MODELS)
def test_import_matches_keras_predict(name, fmt):
    d = os.path.join(GOLDEN, "models", name)
    with open(os.path.join(d, "input.json")) as f:
        inp = json.load(f)
    with open(os.path.join(d, "expected.json")) as f:
        want = tensor(json.load(f))
    x = tensor(inp, np.int32 if inp.get("dtype") == "int32" else np.float32)
    m = recur.load_model(os.path.join(d, fmt), batch_size=x.shape[0], timesteps=x.shape[1])
    assert m.info["format"] == ("keras3" if fmt.endswith(".keras") else "tfjs")
    np.testing.assert_allclose(m(x), want, atol=1e-5, rtol=1e-4)
    text = m.summary(print_fn=None)
    assert "Total params" in text


def test_export_tfjs_roundtrip(tmp_path):
    d = os.path.join(GOLDEN, "models", "gru_lstm_dense")
    with open(os.path.join(d, "input.json")) as f:
        x = tensor(json.load(f))
    m = recur.load_model(os.path.join(d, "model.keras"), batch_size=x.shape[0], timesteps=x.shape[1])
    w = m.weights[0]
    w.set(w.storage() * 0.5)                     # change a weight; the export carries it
    before = m(x)
    m.export_tfjs(str(tmp_path))
    assert (tmp_path / "model.json").exists() and (tmp_path / "group1-shard1of1.bin").exists()
    again = recur.load_model(str(tmp_path / "model.json"), batch_size=x.shape[0], timesteps=x.shape[1])
    np.testing.assert_allclose(again(x), before, rtol=1e-6, atol=1e-7)


def test_import_errors_are_recur_errors(tmp_path):
    with pytest.raises(recur.RecurError, match="nope.json"):
        recur.load_model(str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(recur.RecurError, match="bad.keras"):
        recur.load_model(str(bad))


def toy_sequences(rng, n=256, T=8):
    """Label 1 when the sequence's masked sum is positive."""
    x = rng.normal(size=(n, T, 3)).astype(np.float32)
    lengths = rng.integers(3, T + 1, n)
    for i, L in enumerate(lengths):
        x[i, L:] = 0.0                           # padding, masked by Masking
    y = (x[:, :, 0].sum(1) > 0).astype(np.float32)[:, None]
    return x, y


def test_sequential_fit_summary_predict_checkpoint(tmp_path, rng):
    x, y = toy_sequences(rng)
    model = recur.Sequential([
        recur.Masking(0.0),
        recur.LSTM(8, return_sequences=True),
        recur.Dropout(0.1),
        recur.GRU(8),
        recur.Dense(1),
    ])
    model.compile(optimizer=recur.optimizers.Adam(0.01, clipnorm=1.0), loss="binary_crossentropy")
    out = io.StringIO()
    hist = model.fit(x, y, batch_size=32, epochs=6, validation_data=(x[:64], y[:64]), stream=out)
    assert len(hist["loss"]) == 6 and len(hist["val_loss"]) == 6
    assert hist["loss"][-1] < hist["loss"][0] * 0.8
    assert "Epoch 6/6 8/8" in out.getvalue()
    acc = ((model.predict(x) > 0) == (y > 0.5)).mean()
    assert acc > 0.8
    text = model.summary(print_fn=None)
    for word in ("Masking", "LSTM", "GRU", "Dense", "Dropout", "Total params"):
        assert word in text
    lstm_params = 4 * 8 * (3 + 8 + 1)
    gru_params = 3 * 8 * (8 + 8 + 2)
    assert model.count_params() == lstm_params + gru_params + 9
    path = str(tmp_path / "w.safetensors")
    model.save_weights(path)
    before = model.predict(x[:5])
    for w in model.weights:
        w.set(np.zeros(w.shape))
    assert not np.allclose(model.predict(x[:5]), before)
    model.load_weights(path)
    np.testing.assert_array_equal(model.predict(x[:5]), before)
    assert "digraph" in model.draw().dot


@pytest.mark.parametrize("opt", [
    recur.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    recur.optimizers.Adam(recur.optimizers.ExponentialDecay(0.05, 10, 0.9), clipvalue=0.5),
    recur.optimizers.RMSprop(0.01, centered=True, global_clipnorm=1.0),
    recur.optimizers.Adagrad(0.1),
    "adam",
])
def test_optimizers_reduce_a_regression_loss(opt, rng):
    w_true = rng.normal(size=(4, 1)).astype(np.float32)
    xs = rng.normal(size=(64, 4)).astype(np.float32)
    g = recur.Graph()
    x, y = g.input(xs), g.input(xs @ w_true)
    loss = recur.losses.mse(recur.Dense(1)(x), y)
    tr = recur.Trainer(loss, opt)
    first = tr.step()
    for _ in range(200):
        last = tr.step()
    assert last < 0.8 * first   # Adam at its default 1e-3 moves slowest
    assert tr.iterations == 201


def test_trainer_checkpoint_resumes_exactly(tmp_path, rng):
    xs = rng.normal(size=(16, 5, 2)).astype(np.float32)
    ys = rng.normal(size=(16, 3)).astype(np.float32)

    def make():
        g = recur.Graph()
        out = recur.RNN(recur.LSTMCell(3))(g.input(xs))
        return recur.Trainer(recur.losses.mse(out, g.input(ys)), recur.optimizers.Adam(0.01))

    a = make()
    for _ in range(5):
        a.step()
    path = str(tmp_path / "ck.safetensors")
    a.save(path, config='{"note": "test"}')
    b = make()
    assert b.load(path) == '{"note": "test"}'
    assert b.iterations == 5
    assert [a.step() for _ in range(3)] == [b.step() for _ in range(3)]
    with pytest.raises(recur.RecurError, match="ck.safetensors"):
        g = recur.Graph()
        other = recur.Trainer(recur.losses.mse(recur.Dense(2)(g.input(xs[:, 0])), g.input(ys[:, :2])))
        other.load(path)


def test_non_finite_loss_stops_the_step(rng):
    g = recur.Graph()
    x = g.input(np.array([[1.0]], np.float32))
    p = g.param("p", value=np.array([[1.0]], np.float32))
    loss = recur.sum(recur.log(x @ p - 1))        # log(0) = -inf
    tr = recur.Trainer(loss, "sgd")
    with pytest.raises(recur.RecurError, match="finite|non-finite|inf"):
        tr.step()
    assert tr.iterations == 0
    np.testing.assert_array_equal(p.storage(), [[1.0]])


def test_embedding_mask_flows_to_the_rnn(rng):
    ids = np.array([[3, 1, 0, 0], [2, 2, 2, 1]], np.int32)
    g = recur.Graph()
    emb = recur.Embedding(5, 4, mask_zero=True)
    lstm = recur.LSTM(3)
    x = g.input(ids)
    y = lstm(emb(x))
    # padding at the end: the output equals the output at the last valid step
    short = g.input(ids[:, :2])
    y2 = lstm(emb(short))
    np.testing.assert_allclose(g.run(y)[0], g.run(y2)[0], rtol=1e-6)


def test_replica_trainer_trains_as_one_model_on_the_whole_batch(rng):
    """Two copies of a Python-defined cell's model, each on half the batch,
    stepped together: the losses and weights follow one copy on the whole
    batch up to float32 rounding of the gradient sums; the replicas hold
    identical weights; replica 1 starts from replica 0's weights."""
    from pycells import PeepholeLSTM  # a Python cell, the Keras idiom
    xs = rng.normal(size=(8, 6, 3)).astype(np.float32)
    ys = rng.normal(size=(8, 4)).astype(np.float32)

    def loss(rows, seed):
        g = recur.Graph()
        out = recur.RNN(PeepholeLSTM(4))(g.input(xs[rows]), seed=seed)
        return recur.losses.mse(out, g.input(ys[rows]))

    one = recur.Trainer(loss(slice(0, 8), 3), recur.optimizers.Adam(0.01))
    rep = recur.ReplicaTrainer([loss(slice(0, 4), 3), loss(slice(4, 8), 99)], recur.optimizers.Adam(0.01))
    for _ in range(10):
        a, b = one.step(), rep.step()
        # Tolerance: the two halves' gradients are summed in float32 instead
        # of one GEMM over all rows (relative 1e-7 each); 10 Adam steps of
        # 0.01 keep the losses within 1e-5 relative.
        assert abs(a - b) <= 1e-5 * abs(a), (a, b)
    assert rep.iterations == one.iterations == 10
    for p1, p0, p in zip(rep.trainers[1].params, rep.params, one.params):
        np.testing.assert_array_equal(p1.storage(), p0.storage())
        np.testing.assert_allclose(p0.storage(), p.storage(), rtol=0, atol=1e-5)
    # and it can fail: replica 0 alone on half the batch goes elsewhere
    half = recur.Trainer(loss(slice(0, 4), 3), recur.optimizers.Adam(0.01))
    for _ in range(10):
        half.step()
    assert max(np.abs(h.storage() - p.storage()).max() for h, p in zip(half.params, one.params)) > 1e-3


def test_replica_trainer_errors(rng):
    xs = rng.normal(size=(4, 3, 2)).astype(np.float32)

    def loss(units=3, g=None):
        g = g or recur.Graph()
        return recur.sum(recur.RNN(recur.LSTMCell(units))(g.input(xs)))

    with pytest.raises(ValueError, match="2 or more"):
        recur.ReplicaTrainer([loss()])
    g = recur.Graph()
    with pytest.raises(ValueError, match="share a graph"):
        recur.ReplicaTrainer([loss(g=g), loss(g=g)])
    with pytest.raises(recur.RecurError, match="disagree on the model"):
        recur.ReplicaTrainer([loss(3), loss(4)])


def test_replica_failure_stops_every_replica_without_a_hang(rng):
    """A step that fails on one replica only (a token id outside the
    embedding's table in its rows) raises instead of leaving the others
    waiting for its gradients; the replicas cannot be stepped alone."""
    ids = rng.integers(0, 5, size=(4, 3)).astype(np.int32)

    def build():
        g = recur.Graph()
        x = g.input(ids)
        out = recur.RNN(recur.LSTMCell(3))(recur.Embedding(5, 2)(x))
        return recur.sum(out), x

    (l0, x0), (l1, x1) = build(), build()
    rt = recur.ReplicaTrainer([l0, l1], "sgd")
    rt.step()
    with pytest.raises(RuntimeError, match="replica"):
        rt.trainers[1].step()
    x1.set(np.full((4, 3), 7, np.int32))        # outside [0, 5): replica 1 fails
    with pytest.raises(recur.RecurError):
        rt.step()
    with pytest.raises(recur.RecurError, match="gather|another replica failed"):
        rt.step()                                 # the group stays stopped
