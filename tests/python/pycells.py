"""Keras' built-in cells written again as Python cells (recur.Cell, ops
only), with Keras' weight layout, so the golden cases can run through them
and the tests can compare them with the C cells."""
import recur


def act(x, name):
    return x if name in (None, "linear") else recur.activate(x, name)


class PySimpleRNN(recur.Cell):
    def __init__(self, units, activation="tanh", use_bias=True):
        super().__init__(units)
        self.state_size = units
        self.output_size = units
        self.activation, self.use_bias = activation, use_bias

    def build(self, input_size):
        self.kernel = self.add_weight("kernel", (input_size, self.units))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units), "orthogonal")
        self.bias = self.add_weight("bias", (self.units,), "zeros") if self.use_bias else None

    def call(self, x, states):
        h = states[0]
        hm = h * self.recurrent_mask if self.recurrent_mask is not None else h
        z = x @ self.kernel
        if self.bias is not None:
            z = z + self.bias
        out = act(z + hm @ self.recurrent_kernel, self.activation)
        return out, [out]


class PyLSTM(recur.Cell):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True):
        super().__init__(units)
        self.state_size = [units, units]
        self.output_size = units
        self.activation, self.recurrent_activation, self.use_bias = activation, recurrent_activation, use_bias

    def build(self, input_size):
        U = self.units
        self.kernel = self.add_weight("kernel", (input_size, 4 * U))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (U, 4 * U), "orthogonal")
        self.bias = self.add_weight("bias", (4 * U,), "unit_forget_bias") if self.use_bias else None

    def call(self, x, states):
        h, c = states
        U = self.units
        hm = h * self.recurrent_mask if self.recurrent_mask is not None else h
        z = x @ self.kernel
        if self.bias is not None:
            z = z + self.bias
        z = z + hm @ self.recurrent_kernel
        ra = self.recurrent_activation
        i, f = act(z[:, :U], ra), act(z[:, U:2 * U], ra)
        g, o = act(z[:, 2 * U:3 * U], self.activation), act(z[:, 3 * U:], ra)
        c2 = f * c + i * g
        h2 = o * act(c2, self.activation)
        return h2, [h2, c2]


class PyGRU(recur.Cell):
    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 reset_after=True):
        super().__init__(units)
        self.state_size = units
        self.output_size = units
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.use_bias, self.reset_after = use_bias, reset_after

    def build(self, input_size):
        U = self.units
        self.kernel = self.add_weight("kernel", (input_size, 3 * U))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (U, 3 * U), "orthogonal")
        self.bias = None
        if self.use_bias:
            shape = (2, 3 * U) if self.reset_after else (3 * U,)
            self.bias = self.add_weight("bias", shape, "zeros")

    def call(self, x, states):
        h = states[0]
        U = self.units
        hm = h * self.recurrent_mask if self.recurrent_mask is not None else h
        xp = x @ self.kernel
        b_in = b_rec = None
        if self.bias is not None:
            b_in = self.bias[0] if self.reset_after else self.bias
            b_rec = self.bias[1] if self.reset_after else None
        if b_in is not None:
            xp = xp + b_in
        ra = self.recurrent_activation
        if self.reset_after:
            hu = hm @ self.recurrent_kernel
            if b_rec is not None:
                hu = hu + b_rec
            z = act(xp[:, :U] + hu[:, :U], ra)
            r = act(xp[:, U:2 * U] + hu[:, U:2 * U], ra)
            hh = act(xp[:, 2 * U:] + r * hu[:, 2 * U:], self.activation)
        else:
            rk = self.recurrent_kernel
            z = act(xp[:, :U] + hm @ rk[:, :U], ra)
            r = act(xp[:, U:2 * U] + hm @ rk[:, U:2 * U], ra)
            hh = act(xp[:, 2 * U:] + (r * hm) @ rk[:, 2 * U:], self.activation)
        h2 = z * h + (1 - z) * hh
        return h2, [h2]


class PeepholeLSTM(recur.Cell):
    """An LSTM with peephole connections (Gers & Schmidhuber 2000): the
    gates also see the cell state through diagonal weights,
        i = σ(x W_i + h U_i + p_i ⊙ c + b_i)
        f = σ(x W_f + h U_f + p_f ⊙ c + b_f)
        c' = f ⊙ c + i ⊙ tanh(x W_c + h U_c + b_c)
        o = σ(x W_o + h U_o + p_o ⊙ c' + b_o)
        h' = o ⊙ tanh(c')
    Not the LSTM pattern (the peepholes), so it runs as the ops written."""

    def __init__(self, units):
        super().__init__(units)
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_size):
        U = self.units
        self.kernel = self.add_weight("kernel", (input_size, 4 * U))
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (U, 4 * U), "orthogonal")
        self.bias = self.add_weight("bias", (4 * U,), "unit_forget_bias")
        self.peephole = self.add_weight("peephole", (3, U), "uniform")

    def call(self, x, states):
        h, c = states
        U = self.units
        z = x @ self.kernel + self.bias + h @ self.recurrent_kernel
        i = recur.sigmoid(z[:, :U] + self.peephole[0] * c)
        f = recur.sigmoid(z[:, U:2 * U] + self.peephole[1] * c)
        c2 = f * c + i * recur.tanh(z[:, 2 * U:3 * U])
        o = recur.sigmoid(z[:, 3 * U:] + self.peephole[2] * c2)
        h2 = o * recur.tanh(c2)
        return h2, [h2, c2]
