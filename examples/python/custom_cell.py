#!/usr/bin/python3
"""A recurrent cell written in Python, trained at C speed, and drawn.

Notebook-style (each "# %%" is a cell: paste them into Jupyter and the
drawing shows inline); as a script:

    /usr/bin/python3 examples/python/custom_cell.py [--steps 600] [-o cell.svg]

The cell is an LSTM with peephole connections (Gers & Schmidhuber 2000),
which no library ships as a built-in layer. It is written the way Keras'
tutorials write custom cells: ``build`` creates the weights with
``add_weight``, ``call`` builds one step from ops. recur calls ``call``
once per time step while it *builds* the graph; training then runs the
whole unrolled graph, forward and backward, as one C plan per step.
"""
# %%
import argparse
import sys

import numpy as np

import recur

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--steps", type=int, default=600, help="training steps (batches of 32)")
ap.add_argument("--seq", type=int, default=50, help="sequence length T of the adding problem")
ap.add_argument("-o", "--output", default="custom-cell.svg", help="drawing: .svg, .png or .dot")
args = ap.parse_args([] if "ipykernel" in sys.modules else None)


# %% The cell
class PeepholeLSTM(recur.Cell):
    """i = σ(x W_i + h U_i + p_i ⊙ c + b_i)     f = σ(x W_f + h U_f + p_f ⊙ c + b_f)
    c' = f ⊙ c + i ⊙ tanh(x W_c + h U_c + b_c)    o = σ(x W_o + h U_o + p_o ⊙ c' + b_o)
    h' = o ⊙ tanh(c')"""

    def __init__(self, units):
        super().__init__(units)
        self.state_size = [units, units]     # h, c
        self.output_size = units

    def build(self, input_size):
        U = self.units
        self.kernel = self.add_weight("kernel", (input_size, 4 * U))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (U, 4 * U), initializer="orthogonal")
        self.bias = self.add_weight("bias", (4 * U,), initializer="unit_forget_bias")
        self.peephole = self.add_weight("peephole", (3, U), initializer="uniform")

    def call(self, x, states):
        h, c = states
        U = self.units
        z = x @ self.kernel + self.bias + h @ self.recurrent_kernel
        i = recur.sigmoid(z[:, :U] + self.peephole[0] * c).rename("input_gate")
        f = recur.sigmoid(z[:, U:2 * U] + self.peephole[1] * c).rename("forget_gate")
        c2 = (f * c + i * recur.tanh(z[:, 2 * U:3 * U])).rename("c")
        o = recur.sigmoid(z[:, 3 * U:] + self.peephole[2] * c2).rename("output_gate")
        h2 = (o * recur.tanh(c2)).rename("h")
        return h2, [h2, c2]


# %% The adding problem: remember two marked numbers over T steps, output their sum
def adding_batch(rng, n, T):
    x = np.zeros((n, T, 2), np.float32)
    x[:, :, 0] = rng.uniform(size=(n, T))
    i1, i2 = rng.integers(0, T // 2, n), rng.integers(T // 2, T, n)
    x[np.arange(n), i1, 1] = x[np.arange(n), i2, 1] = 1
    return x, (x[np.arange(n), i1, 0] + x[np.arange(n), i2, 0])[:, None].astype(np.float32)


rng = np.random.default_rng(1)
T, B = args.seq, 32
g = recur.Graph()
xb, yb = adding_batch(rng, B, T)
x, y = g.input(xb), g.input(yb)              # the inputs read xb, yb in place (no copy)
rnn, head = recur.RNN(PeepholeLSTM(24)), recur.Dense(1)
loss = recur.losses.mse(head(rnn(x)), y)
xt, yt = adding_batch(np.random.default_rng(7), 500, T)
test_mse = recur.losses.mse(head(rnn(g.input(xt))), g.input(yt))   # same layers: same weights

# %% Check the cell's gradients in float64 before training (a few elements per weight)
print("gradcheck:", recur.gradcheck(loss, max_per_node=8))


# %% Train: one C plan per step (forward, backward, clipping, Adam)
def feed(epoch, step):
    xb[...], yb[...] = adding_batch(rng, B, T)


trainer = recur.Trainer(loss, recur.optimizers.Adam(1e-2, global_clipnorm=1.0))
steps_per_epoch = 100
history = trainer.fit(feed, epochs=max(1, args.steps // steps_per_epoch), steps_per_epoch=steps_per_epoch,
                      validate=lambda epoch: g.run(test_mse))
print("test MSE per epoch:", " ".join("%.4f" % v for v in history["val_loss"]),
      "(always answering 1 scores 0.1667)")

# %% Draw one short sequence of the cell, one box per step (cell level)
small = recur.Graph()
cell_graph = recur.RNN(PeepholeLSTM(4), return_sequences=True)(small.input(np.zeros((1, 3, 2), np.float32)))
drawing = small.draw(level="cell", gradients=False, title="PeepholeLSTM, 3 steps")
drawing          # in a notebook: shown inline (drawing._repr_svg_())
drawing.save(args.output)
print("drew", args.output)
