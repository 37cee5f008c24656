"""recur — recurrent neural networks on a computation graph, from Python.

A cell written in Python (the Keras idiom: ``build`` with ``add_weight``,
``call(x, states)`` with recur ops) only *builds* the graph, once per
unrolled step; plans then run the whole graph in C, so the cell trains at
the speed of the built-in cells (an LSTM-shaped step reaches the same fused
kernel). See docs/python.md.

    import numpy as np, recur
    g = recur.Graph()
    x = g.input(np.zeros((2, 5, 3), np.float32))   # borrows the array: no copy
    y = recur.RNN(recur.LSTMCell(8))(x)
    g.run(y)                                       # -> numpy array
"""
import copy as _copy
import math as _math
import os as _os
import re as _re
import sys as _sys
import time as _time

import numpy as np

from . import _core
from ._core import Node, RecurError

__all__ = [
    "Graph", "Node", "RecurError", "GradcheckError", "Drawing", "gradcheck",
    "Cell", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
    "Layer", "RNN", "SimpleRNN", "LSTM", "GRU", "Bidirectional", "Dense", "Embedding",
    "Masking", "Dropout", "Sequential", "Trainer", "ReplicaTrainer", "History", "optimizers", "losses",
    "load_model", "save_weights", "load_weights", "OPS",
]

# --- ops ----------------------------------------------------------------------
# Every op of the table that has a public builder, as a function over Nodes
# (numbers and arrays become constants). The gradient-only ops of the
# activations (elu_grad, softsign_grad, ...) and the optimizer/schedule ops
# are made by autodiff and the Trainer.
OPS = (
    "neg", "scale", "add_scalar", "sigmoid", "tanh", "relu", "hard_sigmoid", "elu", "selu",
    "softplus", "softsign", "silu", "gelu", "exp", "log", "square", "sigmoid_grad", "tanh_grad",
    "relu_grad", "hard_sigmoid_grad", "add", "sub", "mul", "div", "where", "broadcast_to",
    "sum_to", "sum", "mean", "softmax", "log_softmax", "mean_squared_diff", "softmax_xent",
    "sparse_softmax_xent", "sigmoid_bce", "matmul", "matmul_acc", "lerp", "slice", "pad_axis",
    "concat", "reshape", "time_rows", "transpose", "reverse", "gather", "scatter_add",
    "one_hot", "apply_gradient_descent", "assign", "global_norm", "check_finite",
    "step_increment", "lstm_step_fused", "gru_step_fused", "add_n", "activate",
)
for _name in OPS:
    globals()[_name] = getattr(_core, _name)
__all__ += list(OPS)
mse_op = _core.mean_squared_diff


def _unique(prefix, _counts={}):
    """Keras-style layer names: lstm, lstm_1, lstm_2, ..."""
    n = _counts.get(prefix, 0)
    _counts[prefix] = n + 1
    return prefix if n == 0 else "%s_%d" % (prefix, n)


def _snake(name):
    return _re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# --- graphs -------------------------------------------------------------------

class Drawing:
    """A drawing of a graph: DOT text that renders in-process with Graphviz.

    In a notebook it shows inline (``_repr_svg_``); ``save`` writes .svg,
    .png, .pdf (rendered) or .dot/.gv (the text)."""

    def __init__(self, dot):
        self.dot = dot

    def svg(self):
        return _core.render(self.dot, "svg").decode("utf-8")

    def png(self):
        return _core.render(self.dot, "png")

    def _repr_svg_(self):
        return self.svg()

    def save(self, path):
        _core.dot_save_text(self.dot, str(path))
        return path

    def __str__(self):
        return self.dot


class Graph(_core.Graph):
    """A computation graph. Nodes keep their graph alive."""

    def __init__(self):
        self._names = {}
        # node ids (not nodes: no reference cycles through Node.graph)
        self._masks = {}        # node id -> id of the mask flowing with it (Keras masking)
        self._update_ids = []   # stateful layers' state updates, run with every run()

    def _name(self, base):
        n = self._names.get(base, 0)
        self._names[base] = n + 1
        return base if n == 0 else "%s_%d" % (base, n)

    def input(self, array=None, name=None, shape=None, dtype=None, copy=False):
        """An input node. Given an array, its shape and dtype (float ->
        float32, integers -> int32); a C-contiguous float32/int32 array is
        read in place at every run (no copy: writing into the array changes
        the next run's input) unless copy=True. Else shape (and dtype)."""
        return super().input(self._name(name or "x"), shape, dtype, array, copy)

    def param(self, name, shape=None, value=None):
        return super().param(name, shape, value)

    def run(self, outputs, feed=None, dtype=np.float32):
        """Run the nodes (one Node or a list) and return NumPy arrays.

        feed: {input node: array} copied into the inputs first. dtype
        float64 evaluates with the double-precision reference kernels
        instead of the float32 plan."""
        for node, value in (feed or {}).items():
            node.set(value)
        single = isinstance(outputs, Node)
        outs = [outputs] if single else list(outputs)
        if np.dtype(dtype) == np.float64:
            res = self._run_f64(outs)
        else:
            res = self._run(outs + self._updates)[: len(outs)]
        return res[0] if single else res

    @property
    def _updates(self):
        return [self.node(i) for i in self._update_ids]

    def mask_of(self, node):
        m = self._masks.get(node.id)
        return None if m is None else self.node(m)

    def draw(self, level="op", gradients=True, outputs=None, steps_shown=0, title=None,
             rankdir=None, legend=True, keep_unused=False):
        """Draw the graph (levels op, cell, layer) -> Drawing."""
        if isinstance(outputs, Node):
            outputs = [outputs]
        return Drawing(self._dot(level=level, gradients=gradients, outputs=outputs,
                                 steps_shown=steps_shown, title=title, rankdir=rankdir,
                                 legend=legend, keep_unused=keep_unused))


class GradcheckError(AssertionError):
    """A gradient check failed; .result has the numbers."""

    def __init__(self, msg, result):
        super().__init__(msg)
        self.result = result


def gradcheck(y, wrt=None, eps=1e-6, atol=1e-6, rtol=1e-5, max_per_node=0, weights=None):
    """Check d L / d wrt against central differences, both in float64 (the
    reference evaluator), with L = sum(y) (or sum(y * weights)). wrt
    defaults to every parameter of y's graph. Returns True or raises
    GradcheckError naming the worst element."""
    g = y.graph
    loss = y
    if weights is not None:
        loss = _core.mul(y, g.const(np.asarray(weights, np.float32)))
    if loss.ndim:
        loss = _core.sum(loss)
    wrt = g.params() if wrt is None else list(wrt)
    r = g._gradcheck(loss, wrt, eps, atol, rtol, max_per_node)
    if not r["ok"]:
        w = wrt[r["worst_wrt"]]
        raise GradcheckError(
            "gradcheck: %d of %d elements failed; worst %s[%d]: analytic %.9g, numeric %.9g"
            % (r["failed"], r["checked"], w.path, r["worst_elem"], r["worst_analytic"],
               r["worst_numeric"]), r)
    return True


# --- cells --------------------------------------------------------------------

class Cell:
    """Base class of a recurrent cell written in Python (Keras idiom).

    Set ``state_size`` (an int or a list of ints) and ``output_size`` in
    ``__init__``; ``build(self, input_size)`` creates the weights with
    ``self.add_weight(name, shape, initializer=...)``; ``call(self, x,
    states)`` builds one step from recur ops and returns ``(output,
    new_states)``. Optionally ``project(self, x_all)``: the input part of a
    step for all B·T rows at once (one GEMM), which ``call`` then receives
    as x. During ``call``, ``self.recurrent_mask`` is the recurrent dropout
    mask for state 0 (or None).

    The cell's Python code runs while the graph is built (once per unrolled
    step); training and inference then run in C. A cell object is one set
    of weights, used by one layer."""

    state_size = None
    output_size = None

    def __init__(self, units=None, name=None):
        if units is not None:
            self.units = units
        self.name = name

    # Keras' spelling
    def add_weight(self, name, shape, initializer="glorot_uniform"):
        ctx = getattr(self, "_build_ctx", None)
        if ctx is None:
            raise RuntimeError("add_weight is only valid inside build()")
        shape = tuple(int(d) for d in shape)
        if isinstance(initializer, str):
            return ctx.add_param(name, shape, initializer)
        p = ctx.add_param(name, shape, "zeros")
        value = initializer(shape) if callable(initializer) else initializer
        p.set(np.asarray(value, np.float32).reshape(shape))
        return p

    def build(self, input_size):
        pass

    def call(self, x, states):
        raise NotImplementedError("a Cell subclass defines call(self, x, states)")

    # the C cell's callbacks
    def _recur_build(self, ctx, input_size):
        self._build_ctx = ctx
        try:
            self.build(input_size)
        finally:
            self._build_ctx = None
        self.built = True

    def _recur_step(self, x, states, rec_mask):
        self.recurrent_mask = rec_mask
        try:
            out = self.call(x, list(states))
        finally:
            self.recurrent_mask = None
        if not isinstance(out, tuple) or len(out) != 2:
            raise TypeError("%s.call must return (output, new_states)" % type(self).__name__)
        output, new = out
        return (output, tuple(new) if isinstance(new, (list, tuple)) else (new,))

    def _recur_project(self, x_all):
        return self.project(x_all)

    def _sizes(self):
        ss = self.state_size
        if ss is None:
            raise ValueError("%s: set self.state_size in __init__" % type(self).__name__)
        ss = [int(s) for s in ss] if isinstance(ss, (list, tuple)) else [int(ss)]
        out = self.output_size if self.output_size is not None else ss[0]
        return ss, int(out)

    def _handle(self):
        if getattr(self, "_used", False):
            raise ValueError("%s is already used by a layer (a cell is one set of weights)"
                             % type(self).__name__)
        ss, out = self._sizes()
        # getattr: a subclass may not call Cell.__init__
        name = getattr(self, "name", None) or _snake(type(self).__name__)
        h = _core.python_cell(self, name, ss, out, hasattr(self, "project"))
        self._used = True
        return h

    def _fresh(self):
        """An unbuilt copy (Bidirectional's backward direction)."""
        c = _copy.deepcopy(self)
        c._used = False
        return c


class _BuiltinCell:
    kind = None

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, reset_after=True):
        self.units = units
        self.config = dict(activation=activation, recurrent_activation=recurrent_activation,
                           use_bias=use_bias, unit_forget_bias=unit_forget_bias,
                           reset_after=reset_after)
        self._used = False

    def _handle(self):
        if self._used:
            raise ValueError("the cell is already used by a layer (a cell is one set of weights)")
        self._used = True
        return _core.builtin_cell(self.kind, self.units, **self.config)

    def _fresh(self):
        return type(self)(self.units, **self.config)


class SimpleRNNCell(_BuiltinCell):
    kind = "simple_rnn"


class LSTMCell(_BuiltinCell):
    kind = "lstm"


class GRUCell(_BuiltinCell):
    kind = "gru"


class StackedRNNCells:
    """Cells applied one after the other within each step (Keras 3)."""

    def __init__(self, cells):
        self.cells = list(cells)

    def _handle(self):
        return _core.stacked_cells([c._handle() for c in self.cells])

    def _fresh(self):
        return StackedRNNCells([c._fresh() for c in self.cells])


# --- layers -------------------------------------------------------------------

class Layer:
    """A layer over one of recur's C layers (Keras 3 semantics)."""

    _prefix = "layer"

    def __init__(self, name=None):
        # None: named when first used, unique within its graph (lstm,
        # lstm_1, ...) or model, so the same building code gives the same
        # parameter paths, and checkpoints line up
        self.name = name
        self._c = None

    def _make(self):
        raise NotImplementedError

    def _named(self, namer):
        if self.name is None:
            self.name = namer(self._prefix)
        return self._layer

    @property
    def _layer(self):
        if self._c is None:
            if self.name is None:
                self.name = _unique(self._prefix)
            self._c = self._make()
        return self._c

    def __call__(self, x, mask=None, initial_state=None, training=False, seed=None):
        g = x.graph
        if mask is None and isinstance(g, Graph):
            mask = g.mask_of(x)
        layer = self._named(g._name if isinstance(g, Graph) else _unique)
        outs, masks, updates = layer.apply(
            x, mask, initial_state, training, 0 if seed is None else seed)
        if isinstance(g, Graph):
            for o, m in zip(outs, masks):
                if m is not None:
                    g._masks[o.id] = m.id
            g._update_ids.extend(u.id for u in updates)
        self.updates = updates
        return outs[0] if len(outs) == 1 else outs

    @property
    def weights(self):
        """The weights (Nodes) in Keras get_weights() order."""
        return self._layer.params()

    def get_weights(self):
        return [w.storage().copy() for w in self.weights]

    def set_weights(self, values):
        ws = self.weights
        if len(values) != len(ws):
            raise ValueError("%s has %d weights, got %d" % (self.name, len(ws), len(values)))
        for w, v in zip(ws, values):
            w.set(v)

    def count_params(self):
        return self._layer.param_count


class RNN(Layer):
    """Unrolls a cell over time: return_sequences, return_state,
    go_backwards, stateful, dropout, recurrent_dropout, masks
    (``mask=`` or from Masking / Embedding(mask_zero)), initial_state."""

    _prefix = "rnn"

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, dropout=0.0, recurrent_dropout=0.0, zero_output_for_mask=False,
                 name=None):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        super().__init__(name)
        self.cell = cell
        self.config = dict(return_sequences=return_sequences, return_state=return_state,
                           go_backwards=go_backwards, stateful=stateful, dropout=dropout,
                           recurrent_dropout=recurrent_dropout,
                           zero_output_for_mask=zero_output_for_mask)

    def _make(self):
        c = self.config
        return _core.rnn(self.name, self.cell._handle(), c["return_sequences"], c["return_state"],
                         c["go_backwards"], c["zero_output_for_mask"], c["stateful"],
                         c["dropout"], c["recurrent_dropout"])

    def _backward_copy(self):
        cfg = dict(self.config)
        cfg["go_backwards"] = not cfg["go_backwards"]
        return RNN(self.cell._fresh(), **cfg)

    def reset_states(self, states=None):
        self._layer.reset_states(states)


class SimpleRNN(RNN):
    _prefix = "simple_rnn"

    def __init__(self, units, activation="tanh", use_bias=True, **kw):
        super().__init__(SimpleRNNCell(units, activation=activation, use_bias=use_bias), **kw)


class LSTM(RNN):
    _prefix = "lstm"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 unit_forget_bias=True, **kw):
        super().__init__(LSTMCell(units, activation=activation,
                                  recurrent_activation=recurrent_activation, use_bias=use_bias,
                                  unit_forget_bias=unit_forget_bias), **kw)


class GRU(RNN):
    _prefix = "gru"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 reset_after=True, **kw):
        super().__init__(GRUCell(units, activation=activation,
                                 recurrent_activation=recurrent_activation, use_bias=use_bias,
                                 reset_after=reset_after), **kw)


class Bidirectional(Layer):
    """A forward and a backward copy of an RNN layer (two sets of weights),
    merged by merge_mode (concat, sum, mul, ave or None)."""

    _prefix = "bidirectional"

    def __init__(self, layer, merge_mode="concat", backward_layer=None, name=None):
        super().__init__(name)
        self.forward_layer = layer
        self.backward_layer = backward_layer or layer._backward_copy()
        self.merge_mode = merge_mode

    def _make(self):
        # Keras' names: forward_<layer>, backward_<layer>
        fwd = self.forward_layer._named(lambda p: "forward_" + p)
        bwd = self.backward_layer._named(lambda p: "backward_" + p)
        return _core.bidirectional(self.name, fwd, bwd, self.merge_mode or "none")


class Dense(Layer):
    _prefix = "dense"

    def __init__(self, units, activation=None, use_bias=True, name=None):
        super().__init__(name)
        self.units, self.activation, self.use_bias = units, activation, use_bias

    def _make(self):
        return _core.dense(self.name, self.units, self.activation, self.use_bias)


class Embedding(Layer):
    _prefix = "embedding"

    def __init__(self, input_dim, output_dim, mask_zero=False, name=None):
        super().__init__(name)
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero

    def _make(self):
        return _core.embedding(self.name, self.input_dim, self.output_dim, self.mask_zero)


class Masking(Layer):
    _prefix = "masking"

    def __init__(self, mask_value=0.0, name=None):
        super().__init__(name)
        self.mask_value = mask_value

    def _make(self):
        return _core.masking(self.name, self.mask_value)


class Dropout(Layer):
    _prefix = "dropout"

    def __init__(self, rate, name=None):
        super().__init__(name)
        self.rate = rate

    def _make(self):
        return _core.dropout_layer(self.name, self.rate)


# --- optimizers and losses --------------------------------------------------------

class optimizers:
    """Optimizer configurations (Keras 3 defaults); clipnorm,
    global_clipnorm, clipvalue; learning_rate a number or a schedule."""

    @staticmethod
    def _cfg(kind, learning_rate, kw):
        d = dict(kind=kind, **kw)
        if learning_rate is not None:
            d["learning_rate"] = learning_rate
        return d

    @staticmethod
    def SGD(learning_rate=0.01, momentum=0.0, nesterov=False, **kw):
        return optimizers._cfg("sgd", learning_rate, dict(momentum=momentum, nesterov=nesterov, **kw))

    @staticmethod
    def Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kw):
        return optimizers._cfg("adam", learning_rate,
                               dict(beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kw))

    @staticmethod
    def RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kw):
        return optimizers._cfg("rmsprop", learning_rate, dict(rho=rho, momentum=momentum,
                                                              epsilon=epsilon, centered=centered, **kw))

    @staticmethod
    def Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kw):
        return optimizers._cfg("adagrad", learning_rate,
                               dict(initial_accumulator_value=initial_accumulator_value,
                                    epsilon=epsilon, **kw))

    @staticmethod
    def ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False):
        return dict(kind="exponential", initial=initial_learning_rate, decay_steps=decay_steps,
                    decay_rate=decay_rate, staircase=staircase)

    @staticmethod
    def CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                    warmup_steps=0):
        return dict(kind="cosine", initial=initial_learning_rate, decay_steps=decay_steps,
                    alpha=alpha, warmup_target=warmup_target, warmup_steps=warmup_steps)

    @staticmethod
    def get(opt):
        if isinstance(opt, dict):
            return opt
        name = str(opt).lower()
        table = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "rmsprop": optimizers.RMSprop,
                 "adagrad": optimizers.Adagrad}
        if name not in table:
            raise ValueError("unknown optimizer %r" % (opt,))
        return table[name]()


class losses:
    """Keras 3 losses ("sum_over_batch_size"), from logits where it applies;
    sample_weight and mask as recur/train.h describes."""
    mse = staticmethod(_core.loss_mse)
    mean_squared_error = mse
    binary_crossentropy = staticmethod(_core.loss_binary_crossentropy)
    categorical_crossentropy = staticmethod(_core.loss_categorical_crossentropy)
    sparse_categorical_crossentropy = staticmethod(_core.loss_sparse_categorical_crossentropy)

    @staticmethod
    def get(name):
        if callable(name):
            return name
        try:
            return getattr(losses, name)
        except AttributeError:
            raise ValueError("unknown loss %r" % (name,)) from None


# --- training -------------------------------------------------------------------

class History:
    """What fit returns: history["loss"] (mean per epoch), and
    history["val_loss"] with validation."""

    def __init__(self):
        self.history = {"loss": []}
        self.epoch = []

    def __getitem__(self, k):
        return self.history[k]


class _Progress:
    """The progress bar: step, loss, steps/s and ETA on one line (plain
    lines when not a terminal)."""

    def __init__(self, total, epoch, epochs, stream, verbose):
        self.total, self.epoch, self.epochs = total, epoch, epochs
        self.stream, self.verbose = stream, verbose
        self.t0 = _time.perf_counter()
        self.tty = hasattr(stream, "isatty") and stream.isatty()

    def update(self, k, loss):
        if not self.verbose:
            return
        dt = _time.perf_counter() - self.t0
        rate = k / dt if dt > 0 else 0.0
        eta = (self.total - k) / rate if rate > 0 else 0.0
        width = 24
        done = int(width * k / self.total)
        bar = "=" * done + (">" if done < width else "") + "." * (width - done - 1)
        line = "Epoch %d/%d %d/%d [%s] loss %.4f  %.1f steps/s  ETA %.0fs" % (
            self.epoch + 1, self.epochs, k, self.total, bar[:width], loss, rate, eta)
        if self.tty:
            self.stream.write("\r" + line)
            if k == self.total:
                self.stream.write("\n")
        elif k == self.total:
            self.stream.write(line + "\n")
        self.stream.flush()


class Trainer:
    """Trains a graph's loss: one C plan per step (forward, gradients,
    clipping, the fused optimizer updates). Checkpoints are safetensors
    (parameters, optimizer slots, step counter)."""

    def __init__(self, loss, optimizer="adam", params=None, outputs=(), state=()):
        g = loss.graph
        outputs = list(outputs) + (list(g._updates) if isinstance(g, Graph) else [])
        self.graph = g
        self._t = _core.Trainer(loss, optimizers.get(optimizer), params, outputs or None,
                                list(state) or None)

    def step(self):
        return self._t.step()

    @property
    def iterations(self):
        return self._t.iterations

    @property
    def learning_rate(self):
        return self._t.learning_rate

    @property
    def params(self):
        return self._t.params

    def save(self, path, config=None):
        self._t.save(str(path), config)

    def load(self, path):
        return self._t.load(str(path))

    def fit(self, feed, epochs=1, steps_per_epoch=1, validate=None, verbose=1, stream=None,
            callback=None):
        """Run epochs x steps_per_epoch steps. feed(epoch, step) writes the
        batch into the inputs (Node.set or in place into borrowed arrays);
        validate(epoch) -> validation loss; callback(epoch, step, loss) may
        return False to stop. Returns a History."""
        stream = stream or _sys.stdout
        hist = History()
        for ep in range(epochs):
            bar = _Progress(steps_per_epoch, ep, epochs, stream, verbose)
            total = 0.0
            stop = False
            for k in range(steps_per_epoch):
                if feed is not None:
                    feed(ep, k)
                loss = self.step()
                total += loss
                bar.update(k + 1, total / (k + 1))
                if callback is not None and callback(ep, k, loss) is False:
                    stop = True
                    break
            hist.epoch.append(ep)
            hist.history["loss"].append(total / (k + 1))
            if validate is not None:
                v = float(validate(ep))
                hist.history.setdefault("val_loss", []).append(v)
                if verbose:
                    stream.write("  val_loss %.4f\n" % v)
            if stop:
                break
        return hist


class ReplicaTrainer:
    """Data-parallel training in one process: N copies of a model (one loss
    per copy, each built on its own Graph over its share of the batch),
    stepped together in N threads; their gradients are summed at every step
    (the in-process communicator, recur/comm.h rc_comm_threads_new), so the
    N copies train as one model on the whole batch, up to float rounding.
    Replica 0's weights are copied to the others at the start. For small
    RNNs on several cores this is faster than splitting each small matrix
    product between threads (docs/distributed.md, "Replicas"); the
    library's own threads are set to cores / N here (set_num_threads).

    losses: [loss_0, ..., loss_{N-1}], the same model built N times; feed
    each replica's inputs its rows before step()."""

    def __init__(self, losses, optimizer="adam", threads=None):
        losses = list(losses)
        if len(losses) < 2:
            raise ValueError("ReplicaTrainer: give 2 or more losses, one per model copy")
        n = len(losses)
        cores = threads or _os.cpu_count() or 1
        set_num_threads(max(1, cores // n))
        self.trainers = [Trainer(loss, optimizer) for loss in losses]
        self._ts = [t._t for t in self.trainers]
        _core.replicate(self._ts)

    def step(self):
        """one step of every replica -> the loss (mean over all rows)"""
        return _core.step_replicas(self._ts)

    @property
    def iterations(self):
        return self.trainers[0].iterations

    @property
    def params(self):
        """replica 0's parameters (every replica holds the same values)"""
        return self.trainers[0].params


class Sequential:
    """Layers applied in order (Keras Sequential), over a C rc_model: masks
    flow as Keras passes them; summary() is Keras' table. compile / fit /
    predict / evaluate build their graphs on first use."""

    def __init__(self, layers=(), name=None):
        self.name = name or _unique("sequential")
        self._m = _core.Model(self.name)
        self._names = {}
        self.layers = []
        for l in layers:
            self.add(l)
        self._graph = None
        self._train = None
        self._infer = {}

    def add(self, layer):
        self._m.add(layer._named(self._name))
        self.layers.append(layer)

    def _name(self, prefix):
        n = self._names.get(prefix, 0)
        self._names[prefix] = n + 1
        return prefix if n == 0 else "%s_%d" % (prefix, n)

    def __call__(self, x, training=False, seed=0):
        return self._m.apply(x, training, seed)

    @property
    def graph(self):
        return self._m.graph

    @property
    def weights(self):
        return self._m.params()

    def count_params(self):
        return self._m.param_count

    def summary(self, print_fn=print):
        text = self._m.summary_text()
        if print_fn:
            print_fn(text.rstrip("\n"))
        return text

    def draw(self, title=None):
        """plot_model-style drawing: one box per layer."""
        return Drawing(self._m.dot(title))

    def compile(self, optimizer="adam", loss="mse"):
        self._optimizer = optimizers.get(optimizer)
        self._loss = losses.get(loss)

    def _graph_for(self):
        if self._graph is None:
            self._graph = self._m.graph if self._m.graph is not None else Graph()
        return self._graph

    @staticmethod
    def _dtype_of(x):
        return np.int32 if np.issubdtype(np.asarray(x).dtype, np.integer) else np.float32

    def fit(self, x, y, batch_size=32, epochs=1, validation_data=None, shuffle=True, seed=0,
            verbose=1, stream=None):
        """Mini-batch training (the last partial batch is dropped, so every
        step runs one plan of fixed shape). Returns a History."""
        x = np.ascontiguousarray(x, self._dtype_of(x))
        y = np.ascontiguousarray(y, self._dtype_of(y))
        n = len(x)
        B = min(batch_size, n)
        g = self._graph_for()
        if self._train is None:
            xb = np.zeros((B,) + x.shape[1:], x.dtype)
            yb = np.zeros((B,) + y.shape[1:], y.dtype)
            xin, yin = g.input(xb, name="x"), g.input(yb, name="y")
            out = self(xin, training=True, seed=seed)
            loss = self._loss(out, yin, None, g.mask_of(out))
            self._train = (xb, yb, Trainer(loss, self._optimizer))
        xb, yb, tr = self._train
        if xb.shape[0] != B:
            raise ValueError("fit: batch size %d differs from the first fit's %d" % (B, xb.shape[0]))
        rng = np.random.default_rng(seed)
        order = np.arange(n)

        def feed(ep, k):
            if k == 0 and shuffle:
                rng.shuffle(order)
            idx = order[k * B:(k + 1) * B]
            xb[...] = x[idx]   # the inputs borrow xb, yb: written in place
            yb[...] = y[idx]

        val = None
        if validation_data is not None:
            val = lambda ep: self.evaluate(*validation_data, batch_size=B)
        return tr.fit(feed, epochs=epochs, steps_per_epoch=max(1, n // B), validate=val,
                      verbose=verbose, stream=stream)

    def _inference(self, shape, dtype):
        key = (shape, np.dtype(dtype).str)
        if key not in self._infer:
            g = self._graph_for()
            buf = np.zeros(shape, dtype)
            xin = g.input(buf, name="x_infer")
            self._infer[key] = (buf, xin, self(xin, training=False))
        return self._infer[key]

    def predict(self, x, batch_size=32):
        x = np.ascontiguousarray(x, self._dtype_of(x))
        outs = []
        for s in range(0, len(x), batch_size):
            chunk = x[s:s + batch_size]
            buf, _, out = self._inference(chunk.shape, chunk.dtype)
            buf[...] = chunk
            outs.append(self._graph._run([out])[0])
        return np.concatenate(outs)

    def evaluate(self, x, y, batch_size=32):
        """Mean loss over full batches (as fit's loss), in inference mode."""
        x = np.ascontiguousarray(x, self._dtype_of(x))
        y = np.ascontiguousarray(y, self._dtype_of(y))
        B = min(batch_size, len(x))
        buf, xin, out = self._inference((B,) + x.shape[1:], x.dtype)
        g = self._graph
        key = ("eval", B, y.shape[1:])
        if key not in self._infer:
            yb = np.zeros((B,) + y.shape[1:], y.dtype)
            yin = g.input(yb, name="y_eval")
            self._infer[key] = (yb, self._loss(out, yin, None, g.mask_of(out)))
        yb, loss = self._infer[key]
        tot, k = 0.0, 0
        for s in range(0, len(x) - B + 1, B):
            buf[...] = x[s:s + B]
            yb[...] = y[s:s + B]
            tot += float(g._run([loss])[0])
            k += 1
        return tot / max(k, 1)

    def save_weights(self, path):
        save_weights(path, self.weights)

    def load_weights(self, path):
        load_weights(path, self.weights)


def save_weights(path, nodes, metadata=None):
    """Parameters (by node path) to a safetensors file, atomically."""
    _core.save_params(str(path), list(nodes), metadata)


def load_weights(path, nodes):
    """Parameters (by node path) from a safetensors file (a checkpoint or
    save_weights' file); all or nothing."""
    _core.load_params(str(path), list(nodes))


class ImportedModel:
    """A Keras 3 .keras archive or a TF.js model.json, built on a graph for
    a batch size B (and T for a None time dimension)."""

    def __init__(self, path, batch_size=1, timesteps=None, graph=None):
        self._io = _core.io_load(str(path))
        self.info = self._io.info()
        self.graph = graph or Graph()
        T = timesteps or 1
        self.inputs, self.outputs = self._io.build(self.graph, batch_size, T)
        self._model = self._io.model()

    def __call__(self, *arrays):
        for node, a in zip(self.inputs, arrays):
            node.set(a)
        res = self.graph.run(self.outputs)
        return res[0] if len(res) == 1 else res

    @property
    def weights(self):
        return self._model.params()

    def summary(self, print_fn=print):
        text = self._model.summary_text()
        if print_fn:
            print_fn(text.rstrip("\n"))
        return text

    def export_tfjs(self, directory):
        """model.json + group1-shard1of1.bin with the current weights."""
        self._io.export_tfjs(str(directory))


def load_model(path, batch_size=1, timesteps=None, graph=None):
    return ImportedModel(path, batch_size, timesteps, graph)


activations = tuple(_core.activations())
set_num_threads = _core.set_num_threads
get_num_threads = _core.get_num_threads
