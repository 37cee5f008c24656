"""NumPy arrays across the boundary: contiguous float32/int32 inputs are
read in place (no copy), leaves expose their storage as views."""
import numpy as np
import pytest

import recur


def test_contiguous_float32_input_is_not_copied():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    g = recur.Graph()
    x = g.input(a)
    assert x.data_ptr == a.ctypes.data          # the node's storage is the array's memory
    assert np.shares_memory(x.storage(), a)
    y = x * 2
    np.testing.assert_array_equal(g.run(y), a * 2)
    a[...] = 7                                  # written in place: the next run sees it
    np.testing.assert_array_equal(g.run(y), np.full_like(a, 14))
    x.set(np.ones_like(a))                      # set() writes into the borrowed memory
    assert a.sum() == a.size


def test_int32_input_is_not_copied():
    ids = np.array([[1, 2], [0, 3]], np.int32)
    g = recur.Graph()
    n = g.input(ids)
    assert n.dtype == "int32" and n.data_ptr == ids.ctypes.data


@pytest.mark.parametrize("make", [
    lambda: np.arange(24, dtype=np.float64).reshape(4, 6),       # other dtype: converted
    lambda: np.arange(24, dtype=np.float32).reshape(4, 6).T,     # not C-contiguous
    lambda: np.arange(48, dtype=np.float32).reshape(4, 12)[:, ::2],
    lambda: [[1.0, 2.0], [3.0, 4.0]],                            # a list
])
def test_other_arrays_are_copied_once(make):
    a = make()
    g = recur.Graph()
    x = g.input(a)
    assert x.dtype == "float32"
    want = np.asarray(a, np.float32)
    np.testing.assert_array_equal(g.run(x + 0), want)
    if isinstance(a, np.ndarray):
        assert not np.shares_memory(x.storage(), a)


def test_copy_flag_and_read_only_arrays():
    a = np.ones((2, 2), np.float32)
    g = recur.Graph()
    assert g.input(a, copy=True).data_ptr != a.ctypes.data
    ro = np.ones((2, 2), np.float32)
    ro.flags.writeable = False
    assert g.input(ro).data_ptr != ro.ctypes.data   # never write through a read-only array


def test_param_storage_is_a_view_that_keeps_the_graph_alive():
    g = recur.Graph()
    p = g.param("w", value=np.zeros((3,), np.float32))
    v = p.storage()
    del g, p
    v[:] = [1, 2, 3]   # the view keeps node and graph alive
    assert v.base is not None
    np.testing.assert_array_equal(v, [1, 2, 3])


def test_outputs_are_fresh_arrays():
    g = recur.Graph()
    x = g.input(np.ones((2, 2), np.float32))
    y = recur.tanh(x)
    r1 = g.run(y)
    x.set(np.zeros((2, 2)))
    r2 = g.run(y)
    assert r1[0, 0] == np.float32(np.tanh(1)) and r2[0, 0] == 0   # r1 was not overwritten


def test_float64_results():
    a = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    g = recur.Graph()
    y = recur.sigmoid(g.input(a))
    r = g.run(y, dtype=np.float64)
    assert r.dtype == np.float64
    np.testing.assert_allclose(r, 1 / (1 + np.exp(-a.astype(np.float64))), rtol=1e-14)
