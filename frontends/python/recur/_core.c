/* recur._core — the CPython extension under the `recur` package
 * (docs/python.md). It wraps the public C API one to one; the Keras-style
 * classes (Cell, RNN, Sequential, fit) are Python in recur/__init__.py.
 *
 * Objects and who keeps whom alive:
 *   Graph    owns the rc_graph, its cached plans, and references to the
 *            NumPy arrays that borrowed inputs read in place.
 *   Node     an rc_node plus a strong reference to its Graph, so a graph
 *            is freed only after its last node object (del g while nodes
 *            live is safe).
 *   CellHandle  an rc_cell not yet handed to a layer (the layer then owns
 *            it). A Python-defined cell is an rc_cell whose impl holds a
 *            strong reference to the Python object; its build/project/step
 *            callbacks call the object (GIL held: they only run inside
 *            Layer.apply, called from Python). Python runs while the graph
 *            is built, once per unrolled step; plans then run in C.
 *   Layer    an rc_layer; owned by the Layer object until added to a Model
 *            (or wrapped by a Bidirectional), after which it keeps a
 *            reference to its owner instead. Bound to the first Graph it
 *            is applied to (a reference kept).
 *   Model, Trainer, IOModel  rc_model, rc_trainer, rc_io_model, each with
 *            a reference to the Graph they borrow.
 * Errors: builder errors are read from the graph, raised as RecurError
 * carrying the library's message, and cleared, so a graph stays usable
 * after a failed call; rc_error results are raised the same way. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

#include <math.h>
#include <pthread.h>
#include <string.h>

#include <recur.h>
#include <recur/activation.h>
#include <recur/checkpoint.h>
#include <recur/init.h>
#include <recur/layer.h>
#include <recur/layers.h>
#include <recur/model.h>
#include <recur/model_io.h>
#include <recur/render.h>
#include <recur/rnn.h>
#include <recur/train.h>

static PyObject *RecurError;

/* Raise RecurError(message) with .status set to the status' short name. */
static PyObject *raise_status(rc_status s, const char *msg) {
    PyObject *e = PyObject_CallFunction(RecurError, "s", msg && *msg ? msg : rc_status_str(s));
    if (!e) return NULL;
    PyObject *st = PyUnicode_FromString(rc_status_str(s));
    if (st) {
        PyObject_SetAttrString(e, "status", st);
        Py_DECREF(st);
    }
    PyErr_SetObject(RecurError, e);
    Py_DECREF(e);
    return NULL;
}

static PyObject *raise_err(const rc_error *e) { return raise_status(e->code, e->message); }

/* --- Graph ---------------------------------------------------------------- */

#define PLAN_CACHE 8

typedef struct {
    rc_plan *plan;
    int n;
    rc_node **outs;
} plan_slot;

typedef struct {
    PyObject_HEAD
    rc_graph *g;
    PyObject *borrowed; /* list of arrays inputs read in place */
    plan_slot plans[PLAN_CACHE];
    int next_slot;
    PyObject *weakrefs;
    PyObject *dict;
} GraphObject;

typedef struct {
    PyObject_HEAD
    GraphObject *graph;
    rc_node *n;
} NodeObject;

static PyTypeObject GraphType, NodeType;

static void plans_clear(GraphObject *go) {
    for (int i = 0; i < PLAN_CACHE; i++) {
        rc_plan_free(go->plans[i].plan);
        PyMem_Free(go->plans[i].outs);
        go->plans[i] = (plan_slot){0};
    }
}

/* The graph's error as a RecurError, cleared from the graph. */
static PyObject *graph_raise(GraphObject *go) {
    if (PyErr_Occurred()) { /* a Python exception (a cell's) wins */
        rc_graph_clear_error(go->g);
        return NULL;
    }
    const char *m = rc_graph_error(go->g);
    rc_status s = rc_graph_status(go->g);
    if (s == RC_OK) s = RC_ERR_STATE;
    PyObject *r = raise_status(s, m ? m : "operation failed");
    rc_graph_clear_error(go->g);
    return r;
}

static PyObject *wrap(GraphObject *go, rc_node *n) {
    if (!n) return graph_raise(go);
    NodeObject *o = PyObject_GC_New(NodeObject, &NodeType);
    if (!o) return NULL;
    Py_INCREF(go);
    o->graph = go;
    o->n = n;
    PyObject_GC_Track(o);
    return (PyObject *)o;
}

static PyObject *Graph_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    GraphObject *go = (GraphObject *)type->tp_alloc(type, 0);
    if (!go) return NULL;
    go->g = rc_graph_new();
    go->borrowed = PyList_New(0);
    if (!go->g || !go->borrowed) {
        Py_DECREF(go);
        return PyErr_NoMemory();
    }
    return (PyObject *)go;
}

static int Graph_traverse(GraphObject *go, visitproc visit, void *arg) {
    Py_VISIT(go->dict);
    Py_VISIT(go->borrowed);
    return 0;
}

static int Graph_clear(GraphObject *go) {
    Py_CLEAR(go->dict);
    return 0;
}

static void Graph_dealloc(GraphObject *go) {
    PyObject_GC_UnTrack(go);
    if (go->weakrefs) PyObject_ClearWeakRefs((PyObject *)go);
    plans_clear(go);
    rc_graph_free(go->g); /* before the arrays its inputs borrow */
    Py_CLEAR(go->borrowed);
    Py_CLEAR(go->dict);
    Py_TYPE(go)->tp_free((PyObject *)go);
}

static int parse_shape(PyObject *o, rc_shape *s) {
    PyObject *seq = PySequence_Fast(o, "shape must be a sequence of ints");
    if (!seq) return 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > RC_MAX_DIMS) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "shape has %zd dimensions; recur tensors have at most %d", n, RC_MAX_DIMS);
        return 0;
    }
    s->ndim = (int)n;
    for (int i = 0; i < RC_MAX_DIMS; i++) s->dim[i] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        long long d = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (d == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return 0;
        }
        s->dim[i] = d;
    }
    Py_DECREF(seq);
    return 1;
}

static PyObject *shape_tuple(rc_shape s) {
    PyObject *t = PyTuple_New(s.ndim);
    if (!t) return NULL;
    for (int i = 0; i < s.ndim; i++) PyTuple_SET_ITEM(t, i, PyLong_FromLongLong(s.dim[i]));
    return t;
}

static int parse_dtype(PyObject *o, rc_dtype *dt) {
    if (!o || o == Py_None) {
        *dt = RC_F32;
        return 1;
    }
    PyArray_Descr *d = NULL;
    if (!PyArray_DescrConverter(o, &d)) return 0;
    int num = d->type_num;
    Py_DECREF(d);
    if (num == NPY_FLOAT32) *dt = RC_F32;
    else if (num == NPY_INT32) *dt = RC_I32;
    else {
        PyErr_SetString(PyExc_TypeError, "recur tensors are float32 or int32");
        return 0;
    }
    return 1;
}

static int npy_of(rc_dtype dt) { return dt == RC_I32 ? NPY_INT32 : NPY_FLOAT32; }

static int shape_of_array(PyArrayObject *a, rc_shape *s) {
    int nd = PyArray_NDIM(a);
    if (nd > RC_MAX_DIMS) {
        PyErr_Format(PyExc_ValueError, "array has %d dimensions; recur tensors have at most %d", nd, RC_MAX_DIMS);
        return 0;
    }
    s->ndim = nd;
    for (int i = 0; i < RC_MAX_DIMS; i++) s->dim[i] = i < nd ? PyArray_DIM(a, i) : 0;
    return 1;
}

/* A C-contiguous copy (or the array itself) of `o` as dtype; new reference. */
static PyArrayObject *as_array(PyObject *o, rc_dtype dt) {
    return (PyArrayObject *)PyArray_FROMANY(o, npy_of(dt), 0, 0, NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED | NPY_ARRAY_FORCECAST);
}

/* Graph.input(name, shape=None, dtype=None, array=None, copy=False)
 * With an array: shape and dtype from it (float arrays become float32,
 * integer arrays int32). A C-contiguous aligned float32/int32 array is
 * borrowed (no copy: the input reads it in place at every run) unless
 * copy=True; anything else is converted once into the input's storage. */
static PyObject *Graph_input(GraphObject *go, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"name", "shape", "dtype", "array", "copy", NULL};
    const char *name = "x";
    PyObject *shape = Py_None, *dtype = Py_None, *array = Py_None;
    int copy = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|sOOOp", kwl, &name, &shape, &dtype, &array, &copy)) return NULL;
    rc_dtype dt = RC_F32;
    rc_shape s = {0};
    if (array == Py_None) {
        if (!parse_dtype(dtype, &dt) || shape == Py_None || !parse_shape(shape, &s)) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "input: give an array or a shape");
            return NULL;
        }
        return wrap(go, rc_input(go->g, name, dt, s));
    }
    if (dtype != Py_None) {
        if (!parse_dtype(dtype, &dt)) return NULL;
    } else if (PyArray_Check(array) && PyArray_ISINTEGER((PyArrayObject *)array)) {
        dt = RC_I32;
    } else if (!PyArray_Check(array)) {
        PyArrayObject *probe = (PyArrayObject *)PyArray_FROMANY(array, NPY_NOTYPE, 0, 0, 0);
        if (!probe) return NULL;
        if (PyArray_ISINTEGER(probe)) dt = RC_I32;
        Py_DECREF(probe);
    }
    int flags = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED;
    bool borrow = !copy && PyArray_Check(array) && PyArray_TYPE((PyArrayObject *)array) == npy_of(dt) &&
                  PyArray_CHKFLAGS((PyArrayObject *)array, flags) &&
                  PyArray_ISWRITEABLE((PyArrayObject *)array);
    PyArrayObject *a = as_array(array, dt);
    if (!a) return NULL;
    if (!shape_of_array(a, &s)) {
        Py_DECREF(a);
        return NULL;
    }
    rc_node *n;
    if (borrow) {
        n = rc_input_borrowed(go->g, name, dt, s, PyArray_DATA(a));
        if (n && PyList_Append(go->borrowed, (PyObject *)a) < 0) {
            Py_DECREF(a);
            return NULL;
        }
    } else {
        n = rc_input(go->g, name, dt, s);
        if (n) memcpy(rc_node_data(n), PyArray_DATA(a), (size_t)PyArray_NBYTES(a));
    }
    Py_DECREF(a);
    return wrap(go, n);
}

static PyObject *Graph_param(GraphObject *go, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"name", "shape", "value", NULL};
    const char *name;
    PyObject *shape = Py_None, *value = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|OO", kwl, &name, &shape, &value)) return NULL;
    rc_shape s = {0};
    PyArrayObject *a = NULL;
    if (value != Py_None) {
        a = as_array(value, RC_F32);
        if (!a || !shape_of_array(a, &s)) {
            Py_XDECREF(a);
            return NULL;
        }
    } else if (!parse_shape(shape, &s)) {
        return NULL;
    }
    rc_node *n = rc_param(go->g, name, s);
    if (n && a) memcpy(rc_node_data(n), PyArray_DATA(a), (size_t)PyArray_NBYTES(a));
    Py_XDECREF(a);
    return wrap(go, n);
}

/* A constant node holding a copy of `o` (float32, or int32 for integer
 * arrays when int_ok). */
static rc_node *const_of(GraphObject *go, PyObject *o, bool int_ok) {
    PyArrayObject *probe = (PyArrayObject *)PyArray_FROMANY(o, NPY_NOTYPE, 0, 0, 0);
    if (!probe) return NULL;
    rc_dtype dt = int_ok && PyArray_ISINTEGER(probe) ? RC_I32 : RC_F32;
    Py_DECREF(probe);
    PyArrayObject *a = as_array(o, dt);
    if (!a) return NULL;
    rc_shape s;
    rc_node *n = NULL;
    if (shape_of_array(a, &s))
        n = dt == RC_I32 ? rc_const_i32(go->g, s, PyArray_DATA(a)) : rc_const(go->g, s, PyArray_DATA(a));
    if (!n && !PyErr_Occurred()) graph_raise(go);
    Py_DECREF(a);
    return n;
}

static PyObject *Graph_const(GraphObject *go, PyObject *args) {
    PyObject *o;
    if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
    rc_node *n = const_of(go, o, true);
    return n ? wrap(go, n) : NULL;
}

static PyObject *Graph_fill(GraphObject *go, PyObject *args) {
    PyObject *shape;
    double v;
    rc_shape s;
    if (!PyArg_ParseTuple(args, "Od", &shape, &v) || !parse_shape(shape, &s)) return NULL;
    return wrap(go, rc_fill(go->g, s, (float)v));
}

static PyObject *Graph_dropout_mask(GraphObject *go, PyObject *args) {
    PyObject *shape;
    double rate;
    unsigned long long seed = 0;
    rc_shape s;
    if (!PyArg_ParseTuple(args, "Od|K", &shape, &rate, &seed) || !parse_shape(shape, &s)) return NULL;
    return wrap(go, rc_dropout_mask(go->g, s, rate, seed));
}

static PyObject *Graph_scope_push(GraphObject *go, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    if (!rc_scope_push(go->g, name)) return graph_raise(go);
    Py_RETURN_NONE;
}

static PyObject *Graph_scope_pop(GraphObject *go, PyObject *unused) {
    rc_scope_pop(go->g);
    Py_RETURN_NONE;
}

static PyObject *Graph_node(GraphObject *go, PyObject *args) {
    int id;
    if (!PyArg_ParseTuple(args, "i", &id)) return NULL;
    rc_node *n = rc_graph_node(go->g, id);
    if (!n) {
        PyErr_Format(PyExc_IndexError, "no node %d (the graph has %d)", id, rc_graph_node_count(go->g));
        return NULL;
    }
    return wrap(go, n);
}

static PyObject *node_list(GraphObject *go, rc_node *const *ns, int n) {
    PyObject *l = PyList_New(n);
    if (!l) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *w = wrap(go, ns[i]);
        if (!w) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, i, w);
    }
    return l;
}

static PyObject *Graph_params(GraphObject *go, PyObject *unused) {
    int n = rc_graph_params(go->g, NULL, 0);
    rc_node **ps = PyMem_Calloc((size_t)n + 1, sizeof *ps);
    if (!ps) return PyErr_NoMemory();
    rc_graph_params(go->g, ps, n);
    PyObject *l = node_list(go, ps, n);
    PyMem_Free(ps);
    return l;
}

/* Nodes of a sequence, all of graph go; a new PyMem array (free it). */
static rc_node **nodes_of(GraphObject *go, PyObject *o, int *n, const char *what) {
    PyObject *seq = PySequence_Fast(o, "expected a sequence of Nodes");
    if (!seq) return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    rc_node **ns = PyMem_Calloc((size_t)k + 1, sizeof *ns);
    if (!ns) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyObject_TypeCheck(it, &NodeType) || (go && ((NodeObject *)it)->graph != go)) {
            PyErr_Format(PyExc_TypeError, "%s: item %zd is not a Node of this graph", what, i);
            PyMem_Free(ns);
            Py_DECREF(seq);
            return NULL;
        }
        ns[i] = ((NodeObject *)it)->n;
    }
    Py_DECREF(seq);
    *n = (int)k;
    return ns;
}

static rc_plan *plan_for(GraphObject *go, rc_node **outs, int n) {
    for (int i = 0; i < PLAN_CACHE; i++) {
        plan_slot *s = &go->plans[i];
        if (s->plan && s->n == n && memcmp(s->outs, outs, (size_t)n * sizeof *outs) == 0) return s->plan;
    }
    rc_plan *p = rc_plan_new(go->g, outs, n);
    if (!p) return NULL;
    plan_slot *s = &go->plans[go->next_slot];
    go->next_slot = (go->next_slot + 1) % PLAN_CACHE;
    rc_plan_free(s->plan);
    PyMem_Free(s->outs);
    s->outs = PyMem_Malloc((size_t)n * sizeof *outs);
    if (!s->outs) {
        rc_plan_free(p);
        s->plan = NULL;
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(s->outs, outs, (size_t)n * sizeof *outs);
    s->n = n;
    s->plan = p;
    return p;
}

static PyObject *array_copy_of(rc_shape s, rc_dtype dt, const void *data) {
    npy_intp dims[RC_MAX_DIMS];
    for (int i = 0; i < s.ndim; i++) dims[i] = (npy_intp)s.dim[i];
    PyObject *a = PyArray_SimpleNew(s.ndim, dims, npy_of(dt));
    if (a) memcpy(PyArray_DATA((PyArrayObject *)a), data, (size_t)rc_shape_numel(s) * rc_dtype_size(dt));
    return a;
}

/* Graph._run(nodes) -> list of float32/int32 arrays (copies: the plan's
 * buffers are reused by the next run). Plans are cached per output list. */
static PyObject *Graph_run(GraphObject *go, PyObject *args) {
    PyObject *o;
    if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
    int n;
    rc_node **outs = nodes_of(go, o, &n, "run");
    if (!outs) return NULL;
    if (n == 0) {
        PyMem_Free(outs);
        return PyList_New(0);
    }
    rc_plan *p = plan_for(go, outs, n);
    if (!p) {
        PyMem_Free(outs);
        return PyErr_Occurred() ? NULL : graph_raise(go);
    }
    rc_error err;
    rc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = rc_plan_run(p, &err);
    Py_END_ALLOW_THREADS
    if (st != RC_OK) {
        PyMem_Free(outs);
        return raise_err(&err);
    }
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        PyObject *a = array_copy_of(rc_node_shape(outs[i]), rc_node_dtype(outs[i]), rc_plan_data(p, outs[i]));
        if (!a) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, a);
    }
    PyMem_Free(outs);
    return l;
}

/* Graph._run_f64(nodes) -> list of float64 arrays from the reference
 * evaluator (every op's double-precision kernel). */
static PyObject *Graph_run_f64(GraphObject *go, PyObject *args) {
    PyObject *o;
    if (!PyArg_ParseTuple(args, "O", &o)) return NULL;
    int n;
    rc_node **outs = nodes_of(go, o, &n, "run");
    if (!outs) return NULL;
    rc_refeval *r = rc_refeval_new(go->g, outs, n);
    if (!r) {
        PyMem_Free(outs);
        return graph_raise(go);
    }
    rc_error err;
    if (rc_refeval_run(r, &err) != RC_OK) {
        rc_refeval_free(r);
        PyMem_Free(outs);
        return raise_err(&err);
    }
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        rc_shape s = rc_node_shape(outs[i]);
        npy_intp dims[RC_MAX_DIMS];
        for (int k = 0; k < s.ndim; k++) dims[k] = (npy_intp)s.dim[k];
        bool i32 = rc_node_dtype(outs[i]) == RC_I32;
        PyObject *a = PyArray_SimpleNew(s.ndim, dims, i32 ? NPY_INT32 : NPY_FLOAT64);
        if (!a) {
            Py_CLEAR(l);
            break;
        }
        const void *src = i32 ? (const void *)rc_refeval_i32(r, outs[i]) : (const void *)rc_refeval_f64(r, outs[i]);
        memcpy(PyArray_DATA((PyArrayObject *)a), src, (size_t)PyArray_NBYTES((PyArrayObject *)a));
        PyList_SET_ITEM(l, i, a);
    }
    rc_refeval_free(r);
    PyMem_Free(outs);
    return l;
}

static int node_arg(PyObject *o, GraphObject *go, rc_node **n, const char *what) {
    if (!PyObject_TypeCheck(o, &NodeType) || (go && ((NodeObject *)o)->graph != go)) {
        PyErr_Format(PyExc_TypeError, "%s must be a Node of this graph", what);
        return 0;
    }
    *n = ((NodeObject *)o)->n;
    return 1;
}

static PyObject *Graph_gradients(GraphObject *go, PyObject *args) {
    PyObject *lo, *wo;
    rc_node *loss;
    if (!PyArg_ParseTuple(args, "OO", &lo, &wo) || !node_arg(lo, go, &loss, "loss")) return NULL;
    int n;
    rc_node **wrt = nodes_of(go, wo, &n, "gradients");
    if (!wrt) return NULL;
    rc_node **gr = PyMem_Calloc((size_t)n + 1, sizeof *gr);
    if (!gr) {
        PyMem_Free(wrt);
        return PyErr_NoMemory();
    }
    PyObject *r = rc_gradients(go->g, loss, wrt, n, gr) == RC_OK ? node_list(go, gr, n) : graph_raise(go);
    PyMem_Free(wrt);
    PyMem_Free(gr);
    return r;
}

static PyObject *Graph_vjp(GraphObject *go, PyObject *args) {
    PyObject *yo, *so, *wo;
    rc_node *y, *seed;
    if (!PyArg_ParseTuple(args, "OOO", &yo, &so, &wo) || !node_arg(yo, go, &y, "y") ||
        !node_arg(so, go, &seed, "seed"))
        return NULL;
    int n;
    rc_node **wrt = nodes_of(go, wo, &n, "vjp");
    if (!wrt) return NULL;
    rc_node **gr = PyMem_Calloc((size_t)n + 1, sizeof *gr);
    PyObject *r = !gr ? PyErr_NoMemory()
                 : rc_vjp(go->g, y, seed, wrt, n, gr) == RC_OK ? node_list(go, gr, n) : graph_raise(go);
    PyMem_Free(wrt);
    PyMem_Free(gr);
    return r;
}

/* Graph._gradcheck(loss, wrt, eps, atol, rtol, max_per_node) -> dict with
 * ok, checked, failed, max_abs_err, max_rel_err, worst (index, element,
 * analytic, numeric). A graph error raises. */
static PyObject *Graph_gradcheck(GraphObject *go, PyObject *args) {
    PyObject *lo, *wo;
    rc_node *loss;
    rc_gradcheck_opts opts = {0};
    if (!PyArg_ParseTuple(args, "OO|dddi", &lo, &wo, &opts.eps, &opts.atol, &opts.rtol, &opts.max_per_node) ||
        !node_arg(lo, go, &loss, "loss"))
        return NULL;
    int n;
    rc_node **wrt = nodes_of(go, wo, &n, "gradcheck");
    if (!wrt) return NULL;
    rc_gradcheck_result res = {0};
    rc_status st = rc_gradcheck(go->g, loss, wrt, n, &opts, &res);
    PyMem_Free(wrt);
    if (st != RC_OK && st != RC_ERR_NUMERIC) return graph_raise(go);
    return Py_BuildValue("{s:O,s:L,s:L,s:d,s:d,s:i,s:L,s:d,s:d}", "ok", st == RC_OK ? Py_True : Py_False,
                         "checked", (long long)res.checked, "failed", (long long)res.failed, "max_abs_err",
                         res.max_abs_err, "max_rel_err", res.max_rel_err, "worst_wrt", res.worst_node,
                         "worst_elem", (long long)res.worst_elem, "worst_analytic", res.worst_analytic,
                         "worst_numeric", res.worst_numeric);
}

/* Graph._dot(level, gradients, outputs, steps_shown, title, rankdir,
 * legend, keep_unused) -> DOT text. */
static PyObject *Graph_dot(GraphObject *go, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"level", "gradients", "outputs", "steps_shown", "title", "rankdir", "legend",
                          "keep_unused", NULL};
    const char *level = "op", *title = NULL, *rankdir = NULL;
    int gradients = 1, legend = 1, keep = 0, steps = 0;
    PyObject *outputs = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|spOizzpp", kwl, &level, &gradients, &outputs, &steps, &title,
                                     &rankdir, &legend, &keep))
        return NULL;
    rc_dot_options o = rc_dot_defaults();
    if (!rc_dot_level_parse(level, &o.level)) {
        PyErr_Format(PyExc_ValueError, "draw: level '%s' is not one of op, cell, layer", level);
        return NULL;
    }
    o.gradients = gradients;
    o.steps_shown = steps;
    o.title = title;
    o.rankdir = rankdir;
    o.legend = legend;
    o.keep_unused = keep;
    rc_node **outs = NULL;
    int n = 0;
    if (outputs != Py_None) {
        outs = nodes_of(go, outputs, &n, "draw");
        if (!outs) return NULL;
        o.outputs = outs;
        o.noutputs = n;
    }
    char *text = NULL;
    size_t len = 0;
    rc_error err;
    rc_status st = rc_dot_string(go->g, &o, &text, &len, &err);
    PyMem_Free(outs);
    if (st != RC_OK) return raise_err(&err);
    PyObject *r = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
    rc_free(text);
    return r;
}

static PyObject *Graph_get_fusion(GraphObject *go, void *c) { return PyBool_FromLong(rc_graph_fusion(go->g)); }
static int Graph_set_fusion(GraphObject *go, PyObject *v, void *c) {
    int on = PyObject_IsTrue(v);
    if (on < 0) return -1;
    rc_graph_set_fusion(go->g, on);
    return 0;
}
static PyObject *Graph_get_count(GraphObject *go, void *c) { return PyLong_FromLong(rc_graph_node_count(go->g)); }
static PyObject *Graph_get_scope(GraphObject *go, void *c) { return PyUnicode_FromString(rc_scope_path(go->g)); }

static PyMethodDef Graph_methods[] = {
    {"input", (PyCFunction)(void (*)(void))Graph_input, METH_VARARGS | METH_KEYWORDS,
     "input(name='x', shape=None, dtype=None, array=None, copy=False) -> Node"},
    {"param", (PyCFunction)(void (*)(void))Graph_param, METH_VARARGS | METH_KEYWORDS,
     "param(name, shape=None, value=None) -> Node (trainable)"},
    {"const", (PyCFunction)Graph_const, METH_VARARGS, "const(array) -> Node (a copy)"},
    {"fill", (PyCFunction)Graph_fill, METH_VARARGS, "fill(shape, value) -> Node"},
    {"dropout_mask", (PyCFunction)Graph_dropout_mask, METH_VARARGS, "dropout_mask(shape, rate, seed=0) -> Node"},
    {"scope_push", (PyCFunction)Graph_scope_push, METH_VARARGS, NULL},
    {"scope_pop", (PyCFunction)Graph_scope_pop, METH_NOARGS, NULL},
    {"node", (PyCFunction)Graph_node, METH_VARARGS, "node(id) -> Node"},
    {"params", (PyCFunction)Graph_params, METH_NOARGS, "every parameter, creation order"},
    {"_run", (PyCFunction)Graph_run, METH_VARARGS, NULL},
    {"_run_f64", (PyCFunction)Graph_run_f64, METH_VARARGS, NULL},
    {"gradients", (PyCFunction)Graph_gradients, METH_VARARGS, "gradients(loss, wrt) -> [Node]"},
    {"vjp", (PyCFunction)Graph_vjp, METH_VARARGS, "vjp(y, seed, wrt) -> [Node]"},
    {"_gradcheck", (PyCFunction)Graph_gradcheck, METH_VARARGS, NULL},
    {"_dot", (PyCFunction)(void (*)(void))Graph_dot, METH_VARARGS | METH_KEYWORDS, NULL},
    {NULL}};

static PyGetSetDef Graph_getset[] = {
    {"fusion", (getter)Graph_get_fusion, (setter)Graph_set_fusion, "fused LSTM/GRU steps (default True)", NULL},
    {"node_count", (getter)Graph_get_count, NULL, NULL, NULL},
    {"scope", (getter)Graph_get_scope, NULL, NULL, NULL},
    {NULL}};

static PyTypeObject GraphType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.Graph",
    .tp_basicsize = sizeof(GraphObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = Graph_new,
    .tp_dealloc = (destructor)Graph_dealloc,
    .tp_traverse = (traverseproc)Graph_traverse,
    .tp_clear = (inquiry)Graph_clear,
    .tp_methods = Graph_methods,
    .tp_getset = Graph_getset,
    .tp_weaklistoffset = offsetof(GraphObject, weakrefs),
    .tp_dictoffset = offsetof(GraphObject, dict),
    .tp_doc = "A computation graph (owns its nodes).",
};

/* --- Node ----------------------------------------------------------------- */

/* Nodes take part in garbage collection: a graph's attribute dictionary
 * may hold nodes (cycles through Node.graph). No tp_clear: the graph's
 * clears its dictionary, which breaks such a cycle, and a node never
 * loses its graph while it lives. */
static int Node_traverse(NodeObject *o, visitproc visit, void *arg) {
    Py_VISIT(o->graph);
    return 0;
}


static void Node_dealloc(NodeObject *o) {
    PyObject_GC_UnTrack(o);
    Py_XDECREF(o->graph);
    PyObject_GC_Del(o);
}

static PyObject *Node_repr(NodeObject *o) {
    char path[512], s[RC_SHAPE_STRLEN];
    rc_node_path(o->n, path, sizeof path);
    return PyUnicode_FromFormat("<recur.Node %s: %s %s %s>", path, rc_node_op_name(o->n),
                                rc_dtype_name(rc_node_dtype(o->n)), rc_shape_str(rc_node_shape(o->n), s, sizeof s));
}

/* For a leaf: a NumPy view of its storage (no copy; it keeps the node, and
 * so the graph, alive). */
static PyObject *Node_storage(NodeObject *o, PyObject *unused) {
    void *d = rc_node_data(o->n);
    if (!d) {
        PyErr_SetString(PyExc_ValueError, "only inputs, parameters and constants have storage; use Graph.run");
        return NULL;
    }
    rc_shape s = rc_node_shape(o->n);
    npy_intp dims[RC_MAX_DIMS];
    for (int i = 0; i < s.ndim; i++) dims[i] = (npy_intp)s.dim[i];
    PyObject *a = PyArray_SimpleNewFromData(s.ndim, dims, npy_of(rc_node_dtype(o->n)), d);
    if (!a) return NULL;
    Py_INCREF(o);
    if (PyArray_SetBaseObject((PyArrayObject *)a, (PyObject *)o) < 0) {
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* Copy an array into a leaf's storage (shape must match). */
static PyObject *Node_set(NodeObject *o, PyObject *args) {
    PyObject *v;
    if (!PyArg_ParseTuple(args, "O", &v)) return NULL;
    void *d = rc_node_data(o->n);
    if (!d) {
        PyErr_SetString(PyExc_ValueError, "set: only inputs, parameters and constants can be set");
        return NULL;
    }
    rc_dtype dt = rc_node_dtype(o->n);
    PyArrayObject *a = as_array(v, dt);
    if (!a) return NULL;
    rc_shape s = rc_node_shape(o->n);
    if (PyArray_SIZE(a) != rc_shape_numel(s)) {
        char b[RC_SHAPE_STRLEN];
        PyErr_Format(PyExc_ValueError, "set: node has shape %s (%lld elements), the array %zd elements",
                     rc_shape_str(s, b, sizeof b), (long long)rc_shape_numel(s), (Py_ssize_t)PyArray_SIZE(a));
        Py_DECREF(a);
        return NULL;
    }
    if (PyArray_NDIM(a) != 0 && PyArray_NDIM(a) != s.ndim) {
        char b[RC_SHAPE_STRLEN];
        PyErr_Format(PyExc_ValueError, "set: node has shape %s, the array %d dimensions",
                     rc_shape_str(s, b, sizeof b), PyArray_NDIM(a));
        Py_DECREF(a);
        return NULL;
    }
    if (PyArray_DATA(a) != d) memmove(d, PyArray_DATA(a), (size_t)PyArray_NBYTES(a));
    Py_DECREF(a);
    Py_RETURN_NONE;
}

static PyObject *Node_rename(NodeObject *o, PyObject *args) {
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    if (!rc_node_rename(o->n, name)) return graph_raise(o->graph);
    Py_INCREF(o);
    return (PyObject *)o;
}

static PyObject *Node_data_ptr(NodeObject *o, void *c) {
    return PyLong_FromVoidPtr(rc_node_data(o->n));
}

static PyObject *Node_get_shape(NodeObject *o, void *c) { return shape_tuple(rc_node_shape(o->n)); }
static PyObject *Node_get_ndim(NodeObject *o, void *c) { return PyLong_FromLong(rc_node_shape(o->n).ndim); }
static PyObject *Node_get_dtype(NodeObject *o, void *c) {
    return PyUnicode_FromString(rc_node_dtype(o->n) == RC_I32 ? "int32" : "float32");
}
static PyObject *Node_get_name(NodeObject *o, void *c) { return PyUnicode_FromString(rc_node_name(o->n)); }
static PyObject *Node_get_path(NodeObject *o, void *c) {
    char b[1024];
    return PyUnicode_FromString(rc_node_path(o->n, b, sizeof b));
}
static PyObject *Node_get_op(NodeObject *o, void *c) { return PyUnicode_FromString(rc_node_op_name(o->n)); }
static PyObject *Node_get_id(NodeObject *o, void *c) { return PyLong_FromLong(rc_node_id(o->n)); }
static PyObject *Node_get_graph(NodeObject *o, void *c) {
    Py_INCREF(o->graph);
    return (PyObject *)o->graph;
}
static PyObject *Node_get_is_param(NodeObject *o, void *c) { return PyBool_FromLong(rc_node_is_param(o->n)); }
static PyObject *Node_get_is_input(NodeObject *o, void *c) { return PyBool_FromLong(rc_node_is_input(o->n)); }
static PyObject *Node_get_is_gradient(NodeObject *o, void *c) {
    return PyBool_FromLong(rc_node_is_gradient(o->n));
}
static PyObject *Node_get_inputs(NodeObject *o, void *c) {
    int k = rc_node_ninputs(o->n);
    PyObject *l = PyList_New(k);
    for (int i = 0; l && i < k; i++) {
        PyObject *w = wrap(o->graph, rc_node_input(o->n, i));
        if (!w) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, w);
    }
    return l;
}

static Py_hash_t Node_hash(NodeObject *o) { return _Py_HashPointer(o->n); }

static PyObject *Node_richcompare(PyObject *a, PyObject *b, int op) {
    /* identity of the underlying node (a Node is a handle); other
     * comparisons are not defined */
    if ((op == Py_EQ || op == Py_NE) && PyObject_TypeCheck(a, &NodeType) && PyObject_TypeCheck(b, &NodeType)) {
        bool eq = ((NodeObject *)a)->n == ((NodeObject *)b)->n;
        return PyBool_FromLong(op == Py_EQ ? eq : !eq);
    }
    Py_RETURN_NOTIMPLEMENTED;
}

/* The node an operand stands for in graph go: a Node, or a constant made
 * from a number or array. New constant nodes are owned by the graph. */
static rc_node *operand(GraphObject *go, PyObject *o) {
    if (PyObject_TypeCheck(o, &NodeType)) {
        if (((NodeObject *)o)->graph != go) {
            PyErr_SetString(PyExc_ValueError, "nodes of different graphs cannot be combined");
            return NULL;
        }
        return ((NodeObject *)o)->n;
    }
    if (o == Py_None || PyUnicode_Check(o) || PyBytes_Check(o)) {
        PyErr_Format(PyExc_TypeError, "a %.100s cannot be an operand of a Node", Py_TYPE(o)->tp_name);
        return NULL;
    }
    return const_of(go, o, false);
}

typedef rc_node *(*binop_fn)(rc_graph *, rc_node *, rc_node *);

static PyObject *binary(PyObject *a, PyObject *b, binop_fn f, int kind) {
    GraphObject *go = PyObject_TypeCheck(a, &NodeType) ? ((NodeObject *)a)->graph : ((NodeObject *)b)->graph;
    /* node (+|-|*|/) python number: the scalar ops, no constant node */
    bool an = PyObject_TypeCheck(a, &NodeType), bn = PyObject_TypeCheck(b, &NodeType);
    if (an != bn && (PyFloat_Check(an ? b : a) || PyLong_Check(an ? b : a))) {
        double c = PyFloat_AsDouble(an ? b : a);
        if (c == -1.0 && PyErr_Occurred()) return NULL;
        rc_node *x = an ? ((NodeObject *)a)->n : ((NodeObject *)b)->n;
        rc_graph *g = go->g;
        switch (kind) {
        case '+': return wrap(go, rc_add_scalar(g, x, c));
        case '*': return wrap(go, rc_scale(g, x, c));
        case '-': return wrap(go, an ? rc_add_scalar(g, x, -c) : rc_add_scalar(g, rc_neg(g, x), c));
        case '/':
            if (an) return wrap(go, rc_scale(g, x, 1.0 / c));
            break; /* c / x: a filled constant below */
        default: break;
        }
        if (!an) {
            rc_node *k = rc_fill(g, rc_node_shape(x), (float)c);
            return wrap(go, f(g, k, x));
        }
    }
    rc_node *x = operand(go, a);
    if (!x) return NULL;
    rc_node *y = operand(go, b);
    if (!y) return NULL;
    return wrap(go, f(go->g, x, y));
}

static rc_node *mm(rc_graph *g, rc_node *a, rc_node *b) { return rc_matmul(g, a, b, false, false); }

static PyObject *Node_add(PyObject *a, PyObject *b) { return binary(a, b, rc_add, '+'); }
static PyObject *Node_sub(PyObject *a, PyObject *b) { return binary(a, b, rc_sub, '-'); }
static PyObject *Node_mul(PyObject *a, PyObject *b) { return binary(a, b, rc_mul, '*'); }
static PyObject *Node_div(PyObject *a, PyObject *b) { return binary(a, b, rc_div, '/'); }
static PyObject *Node_matmul(PyObject *a, PyObject *b) { return binary(a, b, mm, '@'); }
static PyObject *Node_neg(NodeObject *o) { return wrap(o->graph, rc_neg(o->graph->g, o->n)); }
static PyObject *Node_pos(NodeObject *o) {
    Py_INCREF(o);
    return (PyObject *)o;
}

/* Indexing: a tuple of slices (step 1) and integers, at most one per axis;
 * each slice is an rc_slice (a view when contiguous), each integer a
 * slice of one element whose axis is then dropped (one reshape). */
static PyObject *Node_getitem(NodeObject *o, PyObject *key) {
    rc_graph *g = o->graph->g;
    rc_node *x = o->n;
    rc_shape s = rc_node_shape(x);
    PyObject *items = PyTuple_Check(key) ? (Py_INCREF(key), key) : PyTuple_Pack(1, key);
    if (!items) return NULL;
    Py_ssize_t k = PyTuple_GET_SIZE(items);
    /* expand one Ellipsis */
    int ell = -1;
    for (Py_ssize_t i = 0; i < k; i++)
        if (PyTuple_GET_ITEM(items, i) == Py_Ellipsis) {
            if (ell >= 0) {
                Py_DECREF(items);
                PyErr_SetString(PyExc_IndexError, "only one Ellipsis is allowed");
                return NULL;
            }
            ell = (int)i;
        }
    Py_ssize_t nidx = k - (ell >= 0);
    if (nidx > s.ndim) {
        Py_DECREF(items);
        PyErr_Format(PyExc_IndexError, "%zd indices for a node of %d dimensions", nidx, s.ndim);
        return NULL;
    }
    bool drop[RC_MAX_DIMS] = {false};
    int axis = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *it = PyTuple_GET_ITEM(items, i);
        if (it == Py_Ellipsis) {
            axis += (int)(s.ndim - nidx);
            continue;
        }
        int64_t n = s.dim[axis], b, e;
        if (PySlice_Check(it)) {
            Py_ssize_t start, stop, step;
            if (PySlice_Unpack(it, &start, &stop, &step) < 0) goto fail;
            if (step != 1) {
                PyErr_SetString(PyExc_IndexError, "recur slices have step 1");
                goto fail;
            }
            PySlice_AdjustIndices((Py_ssize_t)n, &start, &stop, step);
            b = start;
            e = stop;
            if (e <= b) {
                PyErr_Format(PyExc_IndexError, "empty slice [%lld:%lld] of axis %d (size %lld)", (long long)b,
                             (long long)e, axis, (long long)n);
                goto fail;
            }
        } else if (PyIndex_Check(it)) {
            Py_ssize_t v = PyNumber_AsSsize_t(it, PyExc_IndexError);
            if (v == -1 && PyErr_Occurred()) goto fail;
            if (v < 0) v += n;
            if (v < 0 || v >= n) {
                PyErr_Format(PyExc_IndexError, "index %zd out of range for axis %d of size %lld",
                             PyNumber_AsSsize_t(it, NULL), axis, (long long)n);
                goto fail;
            }
            b = v;
            e = v + 1;
            drop[axis] = true;
        } else {
            PyErr_SetString(PyExc_TypeError, "Node indices are integers, slices or ...");
            goto fail;
        }
        if (b != 0 || e != n) {
            x = rc_slice(g, x, axis, b, e);
            if (!x) {
                Py_DECREF(items);
                return graph_raise(o->graph);
            }
        }
        axis++;
    }
    Py_DECREF(items);
    rc_shape r = rc_node_shape(x), out = {.ndim = 0};
    bool any = false;
    for (int i = 0; i < r.ndim; i++) {
        if (drop[i]) any = true;
        else out.dim[out.ndim++] = r.dim[i];
    }
    if (any) x = rc_reshape(g, x, out);
    if (x == o->n) {
        Py_INCREF(o);
        return (PyObject *)o;
    }
    return wrap(o->graph, x);
fail:
    Py_DECREF(items);
    return NULL;
}

static PyNumberMethods Node_as_number = {
    .nb_add = Node_add,
    .nb_subtract = Node_sub,
    .nb_multiply = Node_mul,
    .nb_true_divide = Node_div,
    .nb_matrix_multiply = Node_matmul,
    .nb_negative = (unaryfunc)Node_neg,
    .nb_positive = (unaryfunc)Node_pos,
};

static PyMappingMethods Node_as_mapping = {.mp_subscript = (binaryfunc)Node_getitem};

static PyMethodDef Node_methods[] = {
    {"storage", (PyCFunction)Node_storage, METH_NOARGS,
     "a NumPy view of a leaf's storage (no copy; writes change the leaf)"},
    {"set", (PyCFunction)Node_set, METH_VARARGS, "copy an array into a leaf"},
    {"rename", (PyCFunction)Node_rename, METH_VARARGS, "give the node a name of its own; returns it"},
    {NULL}};

static PyGetSetDef Node_getset[] = {
    {"shape", (getter)Node_get_shape, NULL, NULL, NULL},
    {"ndim", (getter)Node_get_ndim, NULL, NULL, NULL},
    {"dtype", (getter)Node_get_dtype, NULL, NULL, NULL},
    {"name", (getter)Node_get_name, NULL, NULL, NULL},
    {"path", (getter)Node_get_path, NULL, NULL, NULL},
    {"op", (getter)Node_get_op, NULL, NULL, NULL},
    {"id", (getter)Node_get_id, NULL, NULL, NULL},
    {"graph", (getter)Node_get_graph, NULL, NULL, NULL},
    {"inputs", (getter)Node_get_inputs, NULL, NULL, NULL},
    {"is_param", (getter)Node_get_is_param, NULL, NULL, NULL},
    {"is_input", (getter)Node_get_is_input, NULL, NULL, NULL},
    {"is_gradient", (getter)Node_get_is_gradient, NULL, NULL, NULL},
    {"data_ptr", (getter)Node_data_ptr, NULL, "address of a leaf's storage (0 for other nodes)", NULL},
    {NULL}};

static PyTypeObject NodeType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.Node",
    .tp_basicsize = sizeof(NodeObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_dealloc = (destructor)Node_dealloc,
    .tp_traverse = (traverseproc)Node_traverse,
    .tp_repr = (reprfunc)Node_repr,
    .tp_hash = (hashfunc)Node_hash,
    .tp_richcompare = Node_richcompare,
    .tp_as_number = &Node_as_number,
    .tp_as_mapping = &Node_as_mapping,
    .tp_methods = Node_methods,
    .tp_getset = Node_getset,
    .tp_doc = "A node of a Graph (keeps the graph alive).",
};

/* --- op functions ----------------------------------------------------------- */

static int first_node(PyObject *o, NodeObject **n) {
    if (!PyObject_TypeCheck(o, &NodeType)) {
        PyErr_SetString(PyExc_TypeError, "expected a Node");
        return 0;
    }
    *n = (NodeObject *)o;
    return 1;
}

#define UNARY(NAME)                                                              \
    static PyObject *op_##NAME(PyObject *m, PyObject *arg) {                     \
        NodeObject *x;                                                           \
        if (!first_node(arg, &x)) return NULL;                                   \
        return wrap(x->graph, rc_##NAME(x->graph->g, x->n));                     \
    }
UNARY(neg)
UNARY(sigmoid)
UNARY(tanh)
UNARY(relu)
UNARY(exp)
UNARY(log)
UNARY(square)
UNARY(selu)
UNARY(softplus)
UNARY(softsign)
UNARY(silu)
UNARY(softmax)
UNARY(log_softmax)
UNARY(check_finite)
UNARY(step_increment)

/* f(a, b) for two operands, the graph from whichever is a Node. */
#define BINARY(NAME)                                                             \
    static PyObject *op_##NAME(PyObject *m, PyObject *args) {                    \
        PyObject *a, *b;                                                         \
        if (!PyArg_ParseTuple(args, "OO", &a, &b)) return NULL;                  \
        NodeObject *x = PyObject_TypeCheck(a, &NodeType) ? (NodeObject *)a       \
                        : PyObject_TypeCheck(b, &NodeType) ? (NodeObject *)b : NULL; \
        if (!x) return first_node(a, &x), NULL;                                  \
        rc_node *p = operand(x->graph, a), *q = p ? operand(x->graph, b) : NULL; \
        if (!q) return NULL;                                                     \
        return wrap(x->graph, rc_##NAME(x->graph->g, p, q));                     \
    }
BINARY(add)
BINARY(sub)
BINARY(mul)
BINARY(div)
BINARY(sigmoid_grad)
BINARY(tanh_grad)
BINARY(relu_grad)
BINARY(mean_squared_diff)
BINARY(softmax_xent)
BINARY(sparse_softmax_xent)
BINARY(sigmoid_bce)
BINARY(gather)
BINARY(assign)

#define TERNARY(NAME)                                                                            \
    static PyObject *op_##NAME(PyObject *m, PyObject *args) {                                    \
        PyObject *a, *b, *c;                                                                     \
        NodeObject *x;                                                                           \
        if (!PyArg_ParseTuple(args, "OOO", &a, &b, &c)) return NULL;                             \
        x = PyObject_TypeCheck(a, &NodeType) ? (NodeObject *)a                                   \
            : PyObject_TypeCheck(b, &NodeType) ? (NodeObject *)b : (NodeObject *)c;              \
        if (!first_node((PyObject *)x, &x)) return NULL;                                         \
        rc_node *p = operand(x->graph, a), *q = p ? operand(x->graph, b) : NULL;                 \
        rc_node *r = q ? operand(x->graph, c) : NULL;                                            \
        if (!r) return NULL;                                                                     \
        return wrap(x->graph, rc_##NAME(x->graph->g, p, q, r));                                  \
    }
TERNARY(where)
TERNARY(lerp)
TERNARY(lstm_step_fused)
TERNARY(gru_step_fused)
TERNARY(matmul_acc)

static PyObject *op_scale(PyObject *m, PyObject *args) {
    PyObject *a;
    double c;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "Od", &a, &c) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_scale(x->graph->g, x->n, c));
}
static PyObject *op_add_scalar(PyObject *m, PyObject *args) {
    PyObject *a;
    double c;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "Od", &a, &c) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_add_scalar(x->graph->g, x->n, c));
}
static PyObject *op_hard_sigmoid(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"x", "slope", "offset", NULL};
    PyObject *a;
    float slope = 1.0f / 6.0f, offset = 0.5f;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|ff", kwl, &a, &slope, &offset) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_hard_sigmoid(x->graph->g, x->n, slope, offset));
}
static PyObject *op_hard_sigmoid_grad(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"x", "dy", "slope", "offset", NULL};
    PyObject *a, *b;
    float slope = 1.0f / 6.0f, offset = 0.5f;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|ff", kwl, &a, &b, &slope, &offset) || !first_node(a, &x))
        return NULL;
    rc_node *dy = operand(x->graph, b);
    if (!dy) return NULL;
    return wrap(x->graph, rc_hard_sigmoid_grad(x->graph->g, x->n, dy, slope, offset));
}
static PyObject *op_elu(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"x", "alpha", NULL};
    PyObject *a;
    float alpha = 1.0f;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|f", kwl, &a, &alpha) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_elu(x->graph->g, x->n, alpha));
}
static PyObject *op_gelu(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"x", "approximate", NULL};
    PyObject *a;
    int approx = 0;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", kwl, &a, &approx) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_gelu(x->graph->g, x->n, approx));
}
static PyObject *op_matmul(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"a", "b", "trans_a", "trans_b", NULL};
    PyObject *a, *b;
    int ta = 0, tb = 0;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|pp", kwl, &a, &b, &ta, &tb)) return NULL;
    if (!first_node(PyObject_TypeCheck(a, &NodeType) ? a : b, &x)) return NULL;
    rc_node *p = operand(x->graph, a), *q = p ? operand(x->graph, b) : NULL;
    if (!q) return NULL;
    return wrap(x->graph, rc_matmul(x->graph->g, p, q, ta, tb));
}
/* sum / mean over one axis or (axis None) all axes */
static PyObject *reduce(PyObject *args, PyObject *kw, rc_node *(*f)(rc_graph *, rc_node *, int, bool)) {
    static char *kwl[] = {"x", "axis", "keepdims", NULL};
    PyObject *a, *ax = Py_None;
    int keep = 0;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|Op", kwl, &a, &ax, &keep) || !first_node(a, &x)) return NULL;
    int axis = RC_ALL_AXES;
    if (ax != Py_None) {
        axis = (int)PyLong_AsLong(ax);
        if (axis == -1 && PyErr_Occurred()) return NULL;
    }
    return wrap(x->graph, f(x->graph->g, x->n, axis, keep));
}
static PyObject *op_sum(PyObject *m, PyObject *args, PyObject *kw) { return reduce(args, kw, rc_sum); }
static PyObject *op_mean(PyObject *m, PyObject *args, PyObject *kw) { return reduce(args, kw, rc_mean); }

static PyObject *op_slice(PyObject *m, PyObject *args) {
    PyObject *a;
    int axis;
    long long b, e;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "OiLL", &a, &axis, &b, &e) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_slice(x->graph->g, x->n, axis, b, e));
}
static PyObject *op_pad_axis(PyObject *m, PyObject *args) {
    PyObject *a;
    int axis;
    long long b, size;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "OiLL", &a, &axis, &b, &size) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_pad_axis(x->graph->g, x->n, axis, b, size));
}
static PyObject *op_reshape(PyObject *m, PyObject *args) {
    PyObject *a, *sh;
    rc_shape s;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "OO", &a, &sh) || !first_node(a, &x) || !parse_shape(sh, &s)) return NULL;
    /* one -1 is inferred, as NumPy */
    int64_t known = 1;
    int neg = -1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.dim[i] == -1 && neg < 0) neg = i;
        else known *= s.dim[i];
    }
    if (neg >= 0 && known > 0) s.dim[neg] = rc_node_numel(x->n) / known;
    return wrap(x->graph, rc_reshape(x->graph->g, x->n, s));
}
static PyObject *op_broadcast_to(PyObject *m, PyObject *args) {
    PyObject *a, *sh;
    rc_shape s;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "OO", &a, &sh) || !first_node(a, &x) || !parse_shape(sh, &s)) return NULL;
    return wrap(x->graph, rc_broadcast_to(x->graph->g, x->n, s));
}
static PyObject *op_sum_to(PyObject *m, PyObject *args) {
    PyObject *a, *sh;
    rc_shape s;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "OO", &a, &sh) || !first_node(a, &x) || !parse_shape(sh, &s)) return NULL;
    return wrap(x->graph, rc_sum_to(x->graph->g, x->n, s));
}
static PyObject *op_transpose(PyObject *m, PyObject *args) {
    PyObject *a, *po = Py_None;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "O|O", &a, &po) || !first_node(a, &x)) return NULL;
    int nd = rc_node_shape(x->n).ndim, perm[RC_MAX_DIMS];
    if (po == Py_None) {
        for (int i = 0; i < nd; i++) perm[i] = nd - 1 - i;
    } else {
        rc_shape p;
        if (!parse_shape(po, &p)) return NULL;
        if (p.ndim != nd) {
            PyErr_Format(PyExc_ValueError, "transpose: perm has %d entries for a node of %d dimensions", p.ndim, nd);
            return NULL;
        }
        for (int i = 0; i < nd; i++) perm[i] = (int)p.dim[i];
    }
    return wrap(x->graph, rc_transpose(x->graph->g, x->n, perm));
}
static PyObject *op_reverse(PyObject *m, PyObject *args) {
    PyObject *a;
    int axis;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "Oi", &a, &axis) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_reverse(x->graph->g, x->n, axis));
}
static PyObject *op_concat(PyObject *m, PyObject *args) {
    PyObject *l;
    int axis = -1, n;
    if (!PyArg_ParseTuple(args, "O|i", &l, &axis)) return NULL;
    PyObject *first = PySequence_GetItem(l, 0);
    if (!first) return NULL;
    NodeObject *x;
    int ok = first_node(first, &x);
    Py_DECREF(first);
    if (!ok) return NULL;
    rc_node **xs = nodes_of(x->graph, l, &n, "concat");
    if (!xs) return NULL;
    PyObject *r = wrap(x->graph, rc_concat(x->graph->g, xs, n, axis));
    PyMem_Free(xs);
    return r;
}
static PyObject *op_add_n(PyObject *m, PyObject *args) {
    PyObject *l;
    int n;
    if (!PyArg_ParseTuple(args, "O", &l)) return NULL;
    PyObject *first = PySequence_GetItem(l, 0);
    if (!first) return NULL;
    NodeObject *x;
    int ok = first_node(first, &x);
    Py_DECREF(first);
    if (!ok) return NULL;
    rc_node **xs = nodes_of(x->graph, l, &n, "add_n");
    if (!xs) return NULL;
    PyObject *r = wrap(x->graph, rc_add_n(x->graph->g, xs, n));
    PyMem_Free(xs);
    return r;
}
static PyObject *op_global_norm(PyObject *m, PyObject *args) {
    PyObject *l;
    int n;
    if (!PyArg_ParseTuple(args, "O", &l)) return NULL;
    PyObject *first = PySequence_GetItem(l, 0);
    if (!first) return NULL;
    NodeObject *x;
    int ok = first_node(first, &x);
    Py_DECREF(first);
    if (!ok) return NULL;
    rc_node **xs = nodes_of(x->graph, l, &n, "global_norm");
    if (!xs) return NULL;
    PyObject *r = wrap(x->graph, rc_global_norm(x->graph->g, xs, n));
    PyMem_Free(xs);
    return r;
}
static PyObject *op_time_rows(PyObject *m, PyObject *args) {
    PyObject *a, *b;
    long long t0, t1;
    NodeObject *x, *y;
    if (!PyArg_ParseTuple(args, "OOLL", &a, &b, &t0, &t1) || !first_node(a, &x) || !first_node(b, &y)) return NULL;
    return wrap(x->graph, rc_time_rows(x->graph->g, x->n, y->n, t0, t1));
}
static PyObject *op_scatter_add(PyObject *m, PyObject *args) {
    PyObject *a, *b;
    long long vocab;
    NodeObject *x, *ids;
    if (!PyArg_ParseTuple(args, "OOL", &a, &b, &vocab) || !first_node(a, &x) || !first_node(b, &ids)) return NULL;
    return wrap(x->graph, rc_scatter_add(x->graph->g, x->n, ids->n, vocab));
}
static PyObject *op_one_hot(PyObject *m, PyObject *args) {
    PyObject *a;
    long long depth;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "OL", &a, &depth) || !first_node(a, &x)) return NULL;
    return wrap(x->graph, rc_one_hot(x->graph->g, x->n, depth));
}
static PyObject *op_apply_gradient_descent(PyObject *m, PyObject *args) {
    PyObject *a, *b;
    float lr;
    NodeObject *p, *gr;
    if (!PyArg_ParseTuple(args, "OOf", &a, &b, &lr) || !first_node(a, &p) || !first_node(b, &gr)) return NULL;
    return wrap(p->graph, rc_apply_gradient_descent(p->graph->g, p->n, gr->n, lr));
}
static PyObject *op_activate(PyObject *m, PyObject *args) {
    PyObject *a;
    const char *name;
    NodeObject *x;
    if (!PyArg_ParseTuple(args, "Os", &a, &name) || !first_node(a, &x)) return NULL;
    rc_activation act = rc_activation_find(name);
    if (!act && strcmp(name, "linear") != 0) {
        PyErr_Format(PyExc_ValueError, "unknown activation '%s'", name);
        return NULL;
    }
    return wrap(x->graph, rc_activate(x->graph->g, act, x->n));
}

/* losses (recur/train.h): loss(pred, target, sample_weight=None, mask=None) */
typedef rc_node *(*loss_fn)(rc_graph *, rc_node *, rc_node *, const rc_loss_weights *);
static PyObject *loss_call(PyObject *args, PyObject *kw, loss_fn f) {
    static char *kwl[] = {"pred", "target", "sample_weight", "mask", NULL};
    PyObject *a, *b, *sw = Py_None, *mk = Py_None;
    NodeObject *x;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|OO", kwl, &a, &b, &sw, &mk) || !first_node(a, &x)) return NULL;
    rc_node *t = PyObject_TypeCheck(b, &NodeType) ? ((NodeObject *)b)->n : const_of(x->graph, b, true);
    if (!t) return NULL;
    rc_loss_weights w = {0};
    if (sw != Py_None && !(w.sample_weight = operand(x->graph, sw))) return NULL;
    if (mk != Py_None && !(w.mask = operand(x->graph, mk))) return NULL;
    return wrap(x->graph, f(x->graph->g, x->n, t, &w));
}
static PyObject *op_loss_mse(PyObject *m, PyObject *a, PyObject *k) { return loss_call(a, k, rc_loss_mse); }
static PyObject *op_loss_bce(PyObject *m, PyObject *a, PyObject *k) {
    return loss_call(a, k, rc_loss_binary_xent_logits);
}
static PyObject *op_loss_cce(PyObject *m, PyObject *a, PyObject *k) {
    return loss_call(a, k, rc_loss_categorical_xent_logits);
}
static PyObject *op_loss_scce(PyObject *m, PyObject *a, PyObject *k) {
    return loss_call(a, k, rc_loss_sparse_categorical_xent_logits);
}

/* --- cells ---------------------------------------------------------------- */

/* The graph being built by Layer.apply (the GIL serialises builds). */
static GraphObject *building;

typedef struct {
    PyObject_HEAD
    rc_cell *c; /* NULL once a layer or stack owns it */
} CellHandleObject;

static PyTypeObject CellHandleType;

static void CellHandle_dealloc(CellHandleObject *o) {
    rc_cell_free(o->c);
    PyObject_Free(o);
}

static PyObject *cell_handle(rc_cell *c, rc_error *err) {
    if (!c) return err ? raise_err(err) : PyErr_NoMemory();
    CellHandleObject *o = PyObject_New(CellHandleObject, &CellHandleType);
    if (!o) {
        rc_cell_free(c);
        return NULL;
    }
    o->c = c;
    return (PyObject *)o;
}

static PyObject *CellHandle_params(CellHandleObject *o, PyObject *unused) {
    if (!o->c) {
        PyErr_SetString(PyExc_ValueError, "the cell now belongs to a layer; ask the layer");
        return NULL;
    }
    return PyLong_FromLong(o->c->nparams);
}

static PyMethodDef CellHandle_methods[] = {{"nparams", (PyCFunction)CellHandle_params, METH_NOARGS, NULL},
                                           {NULL}};

static PyTypeObject CellHandleType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.CellHandle",
    .tp_basicsize = sizeof(CellHandleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)CellHandle_dealloc,
    .tp_methods = CellHandle_methods,
    .tp_doc = "A C cell not yet owned by a layer.",
};

/* The context a Python cell's build receives: add_param is
 * rc_cell_add_param on the cell being built, initialised from the build's
 * generator. Valid only during that build call. */
typedef struct {
    PyObject_HEAD
    rc_cell *c;
    rc_rng *rng;
    GraphObject *graph;
} BuildCtxObject;

static PyTypeObject BuildCtxType;

static void BuildCtx_dealloc(BuildCtxObject *o) {
    Py_XDECREF(o->graph);
    PyObject_Free(o);
}

/* add_param(name, shape, initializer) with initializer one of
 * "glorot_uniform", "orthogonal", "zeros", "ones", "uniform" (±0.05, Keras'
 * RandomUniform), "normal" (stddev 0.05), "unit_forget_bias" (LSTM bias:
 * ones in the second quarter) */
static PyObject *BuildCtx_add_param(BuildCtxObject *o, PyObject *args) {
    const char *name, *init = "glorot_uniform";
    PyObject *sh;
    rc_shape s;
    if (!o->c) {
        PyErr_SetString(PyExc_RuntimeError, "add_weight is only valid inside build()");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "sO|s", &name, &sh, &init) || !parse_shape(sh, &s)) return NULL;
    rc_graph *g = o->graph->g;
    rc_node *p = rc_cell_add_param(o->c, g, name, s);
    if (!p) return graph_raise(o->graph);
    float *w = rc_node_data(p);
    int64_t n = rc_shape_numel(s);
    int64_t rows = s.ndim >= 2 ? n / s.dim[s.ndim - 1] : 1, cols = s.ndim >= 1 ? s.dim[s.ndim - 1] : 1;
    if (strcmp(init, "glorot_uniform") == 0) {
        if (s.ndim < 2) rows = cols; /* fan_in = fan_out for a vector */
        rc_init_glorot_uniform(w, rows, cols, o->rng);
    } else if (strcmp(init, "orthogonal") == 0) {
        rc_error err;
        if (rc_init_orthogonal(w, rows, cols, 1.0f, o->rng, &err) != RC_OK) return raise_err(&err);
    } else if (strcmp(init, "zeros") == 0) {
        rc_init_constant(w, n, 0.0f);
    } else if (strcmp(init, "ones") == 0) {
        rc_init_constant(w, n, 1.0f);
    } else if (strcmp(init, "uniform") == 0) {
        rc_init_uniform(w, n, -0.05f, 0.05f, o->rng);
    } else if (strcmp(init, "normal") == 0) {
        rc_init_normal(w, n, 0.0f, 0.05f, o->rng);
    } else if (strcmp(init, "unit_forget_bias") == 0) {
        if (n % 4 != 0) {
            PyErr_SetString(PyExc_ValueError, "unit_forget_bias: the bias size must be 4 * units");
            return NULL;
        }
        rc_init_constant(w, n, 0.0f);
        rc_init_constant(w + n / 4, n / 4, 1.0f);
    } else {
        PyErr_Format(PyExc_ValueError, "unknown initializer '%s'", init);
        return NULL;
    }
    return wrap(o->graph, p);
}

static PyMethodDef BuildCtx_methods[] = {{"add_param", (PyCFunction)BuildCtx_add_param, METH_VARARGS, NULL},
                                         {NULL}};

static PyTypeObject BuildCtxType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.BuildContext",
    .tp_basicsize = sizeof(BuildCtxObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)BuildCtx_dealloc,
    .tp_methods = BuildCtx_methods,
};

typedef struct {
    PyObject *obj; /* the Python cell (strong reference) */
} pycell;

/* A Python exception raised in a cell callback: recorded on the graph
 * (so the layer stops with a status) and left set, so the caller of
 * Layer.apply re-raises the original exception. */
static rc_status py_fail(rc_graph *g, const rc_cell *c) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    PyObject *s = v ? PyObject_Str(v) : NULL;
    const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
    if (!msg) PyErr_Clear();
    rc_graph_fail(g, RC_ERR_ARG, "cell '%s': %s: %s", c->name, t ? ((PyTypeObject *)t)->tp_name : "error",
                  msg ? msg : "?");
    Py_XDECREF(s);
    PyErr_Restore(t, v, tb);
    return rc_graph_status(g) ? rc_graph_status(g) : RC_ERR_ARG;
}

static rc_status pycell_build(rc_cell *c, rc_graph *g, int64_t input_size, rc_rng *rng) {
    pycell *p = c->impl;
    if (PyErr_Occurred()) return RC_ERR_STATE;
    if (!building || building->g != g) {
        rc_graph_fail(g, RC_ERR_STATE, "cell '%s': a Python cell can only be built through the Python API", c->name);
        return RC_ERR_STATE;
    }
    BuildCtxObject *ctx = PyObject_New(BuildCtxObject, &BuildCtxType);
    if (!ctx) return py_fail(g, c);
    ctx->c = c;
    ctx->rng = rng;
    Py_INCREF(building);
    ctx->graph = building;
    PyObject *r = PyObject_CallMethod(p->obj, "_recur_build", "On", (PyObject *)ctx, (Py_ssize_t)input_size);
    ctx->c = NULL; /* add_weight after build is an error */
    ctx->rng = NULL;
    Py_DECREF(ctx);
    if (!r) return py_fail(g, c);
    Py_DECREF(r);
    return rc_graph_status(g);
}

static rc_node *node_result(PyObject *o, rc_graph *g, const rc_cell *c, const char *what) {
    if (!PyObject_TypeCheck(o, &NodeType) || ((NodeObject *)o)->graph->g != g) {
        PyErr_Format(PyExc_TypeError, "%s must be a Node of the graph being built, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return NULL;
    }
    return ((NodeObject *)o)->n;
}

static rc_node *pycell_project(rc_cell *c, rc_graph *g, rc_node *x_all) {
    pycell *p = c->impl;
    if (PyErr_Occurred() || !building) return NULL;
    PyObject *x = wrap(building, x_all);
    if (!x) return py_fail(g, c), NULL;
    PyObject *r = PyObject_CallMethod(p->obj, "_recur_project", "O", x);
    Py_DECREF(x);
    if (!r) return py_fail(g, c), NULL;
    rc_node *n = node_result(r, g, c, "project()'s result");
    Py_DECREF(r);
    if (!n) py_fail(g, c);
    return n;
}

static rc_status pycell_step(rc_cell *c, rc_graph *g, rc_cell_step *s) {
    pycell *p = c->impl;
    if (PyErr_Occurred()) return RC_ERR_STATE;
    if (!building || building->g != g) {
        rc_graph_fail(g, RC_ERR_STATE, "cell '%s': a Python cell can only be applied through the Python API", c->name);
        return RC_ERR_STATE;
    }
    PyObject *x = wrap(building, s->x);
    PyObject *states = PyTuple_New(c->nstates);
    PyObject *mask = s->rec_mask ? wrap(building, s->rec_mask) : (Py_INCREF(Py_None), Py_None);
    for (int k = 0; states && k < c->nstates; k++) {
        PyObject *w = wrap(building, s->state[k]);
        if (!w) Py_CLEAR(states);
        else PyTuple_SET_ITEM(states, k, w);
    }
    PyObject *r = x && states && mask ? PyObject_CallMethod(p->obj, "_recur_step", "OOO", x, states, mask) : NULL;
    Py_XDECREF(x);
    Py_XDECREF(states);
    Py_XDECREF(mask);
    if (!r) return py_fail(g, c);
    /* (output, new_states) with new_states a sequence of nstates Nodes */
    PyObject *out = NULL, *ns = NULL, *seq = NULL;
    if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 2) {
        PyErr_SetString(PyExc_TypeError, "call() must return (output, new_states)");
        goto fail;
    }
    out = PyTuple_GET_ITEM(r, 0);
    ns = PyTuple_GET_ITEM(r, 1);
    if (PyObject_TypeCheck(ns, &NodeType)) seq = PyTuple_Pack(1, ns);
    else seq = PySequence_Fast(ns, "call()'s new_states must be a Node or a sequence of Nodes");
    if (!seq) goto fail;
    if (PySequence_Fast_GET_SIZE(seq) != c->nstates) {
        PyErr_Format(PyExc_ValueError, "call() returned %zd new states; the cell declares %d",
                     PySequence_Fast_GET_SIZE(seq), c->nstates);
        goto fail;
    }
    if (!(s->output = node_result(out, g, c, "call()'s output"))) goto fail;
    for (int k = 0; k < c->nstates; k++)
        if (!(s->next_state[k] = node_result(PySequence_Fast_GET_ITEM(seq, k), g, c, "a new state"))) goto fail;
    Py_DECREF(seq);
    Py_DECREF(r);
    return rc_graph_status(g);
fail:
    Py_XDECREF(seq);
    Py_DECREF(r);
    return py_fail(g, c);
}

static void pycell_destroy(rc_cell *c) {
    pycell *p = c->impl;
    if (p) Py_XDECREF(p->obj);
    rc_free(p);
}

static const rc_cell_class pycell_class = {"PythonCell", pycell_build, NULL, pycell_step, pycell_destroy};
static const rc_cell_class pycell_project_class = {"PythonCell", pycell_build, pycell_project, pycell_step,
                                                   pycell_destroy};

/* python_cell(obj, name, state_sizes, output_size, has_project) -> CellHandle */
static PyObject *mod_python_cell(PyObject *m, PyObject *args) {
    PyObject *obj, *sizes;
    const char *name;
    long long out;
    int proj;
    if (!PyArg_ParseTuple(args, "OsOLp", &obj, &name, &sizes, &out, &proj)) return NULL;
    PyObject *seq = PySequence_Fast(sizes, "state_size must be an int or a sequence of ints");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n < 1 || n > RC_MAX_STATES) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "a cell has 1 to %d states, not %zd", RC_MAX_STATES, n);
        return NULL;
    }
    int64_t ss[RC_MAX_STATES];
    for (Py_ssize_t i = 0; i < n; i++) {
        ss[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (ss[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    pycell *p = rc_calloc(1, sizeof *p);
    if (!p) return PyErr_NoMemory();
    rc_error err;
    rc_cell *c = rc_cell_new(proj ? &pycell_project_class : &pycell_class, name, (int)n, ss, out, p, &err);
    if (!c) {
        rc_free(p);
        return raise_err(&err);
    }
    Py_INCREF(obj);
    p->obj = obj;
    return cell_handle(c, NULL);
}

static int act_arg(PyObject *o, rc_activation *a, rc_activation dflt) {
    if (!o) {
        *a = dflt;
        return 1;
    }
    if (o == Py_None) {
        *a = NULL;
        return 1;
    }
    const char *n = PyUnicode_AsUTF8(o);
    if (!n) return 0;
    *a = rc_activation_find(n);
    if (!*a && strcmp(n, "linear") != 0) {
        PyErr_Format(PyExc_ValueError, "unknown activation '%s'", n);
        return 0;
    }
    return 1;
}

/* builtin_cell(kind, units, activation=, recurrent_activation=, use_bias=,
 * unit_forget_bias=, reset_after=) with kind simple_rnn | lstm | gru */
static PyObject *mod_builtin_cell(PyObject *m, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"kind", "units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
                          "reset_after", NULL};
    const char *kind;
    long long units;
    PyObject *act = NULL, *ract = NULL;
    rc_cell_config cfg;
    int ub = 1, ufb = 1, ra = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "sL|OOppp", kwl, &kind, &units, &act, &ract, &ub, &ufb, &ra))
        return NULL;
    cfg = rc_cell_defaults(units);
    if (!act_arg(act, &cfg.activation, cfg.activation) ||
        !act_arg(ract, &cfg.recurrent_activation, cfg.recurrent_activation))
        return NULL;
    cfg.use_bias = ub;
    cfg.unit_forget_bias = ufb;
    cfg.reset_after = ra;
    rc_cell *c;
    if (strcmp(kind, "lstm") == 0) c = rc_lstm_cell_new(&cfg);
    else if (strcmp(kind, "gru") == 0) c = rc_gru_cell_new(&cfg);
    else if (strcmp(kind, "simple_rnn") == 0) c = rc_simple_rnn_cell_new(&cfg);
    else {
        PyErr_Format(PyExc_ValueError, "unknown cell kind '%s'", kind);
        return NULL;
    }
    return cell_handle(c, NULL);
}

/* stacked_cells([CellHandle]) -> CellHandle (takes the cells) */
static PyObject *mod_stacked_cells(PyObject *m, PyObject *args) {
    PyObject *l;
    if (!PyArg_ParseTuple(args, "O", &l)) return NULL;
    PyObject *seq = PySequence_Fast(l, "expected a sequence of cells");
    if (!seq) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    rc_cell **cs = PyMem_Calloc((size_t)n + 1, sizeof *cs);
    for (Py_ssize_t i = 0; cs && i < n; i++) {
        PyObject *it = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyObject_TypeCheck(it, &CellHandleType) || !((CellHandleObject *)it)->c) {
            PyErr_Format(PyExc_TypeError, "cell %zd is not an unused cell", i);
            PyMem_Free(cs);
            Py_DECREF(seq);
            return NULL;
        }
        cs[i] = ((CellHandleObject *)it)->c;
    }
    if (!cs) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    rc_error err;
    rc_cell *c = rc_stacked_cells_new(cs, (int)n, &err);
    if (c)
        for (Py_ssize_t i = 0; i < n; i++) ((CellHandleObject *)PySequence_Fast_GET_ITEM(seq, i))->c = NULL;
    PyMem_Free(cs);
    Py_DECREF(seq);
    return cell_handle(c, &err);
}

/* --- layers --------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    rc_layer *l;       /* NULL once consumed by a Bidirectional */
    PyObject *owner;   /* the Model (or Bidirectional layer) that owns l, or NULL */
    GraphObject *graph; /* the graph it was first applied to */
} LayerObject;

static PyTypeObject LayerType;

static void Layer_dealloc(LayerObject *o) {
    if (!o->owner) rc_layer_free(o->l);
    Py_XDECREF(o->owner);
    Py_XDECREF(o->graph);
    PyObject_Free(o);
}

static PyObject *layer_obj(rc_layer *l, rc_error *err) {
    if (!l) return err && err->code ? raise_err(err) : PyErr_NoMemory();
    LayerObject *o = PyObject_New(LayerObject, &LayerType);
    if (!o) {
        rc_layer_free(l);
        return NULL;
    }
    o->l = l;
    o->owner = NULL;
    o->graph = NULL;
    return (PyObject *)o;
}

static int layer_live(LayerObject *o) {
    if (!o->l) {
        PyErr_SetString(PyExc_ValueError, "this layer was wrapped by a Bidirectional layer; use that one");
        return 0;
    }
    return 1;
}

/* rnn(name, cell, return_sequences, return_state, go_backwards,
 *     zero_output_for_mask, stateful, dropout, recurrent_dropout) */
static PyObject *mod_rnn(PyObject *m, PyObject *args) {
    const char *name;
    PyObject *ch;
    rc_rnn_config cfg = {0};
    int rs, rst, gb, zo, sf;
    if (!PyArg_ParseTuple(args, "sO!pppppff", &name, &CellHandleType, &ch, &rs, &rst, &gb, &zo, &sf, &cfg.dropout,
                          &cfg.recurrent_dropout))
        return NULL;
    CellHandleObject *c = (CellHandleObject *)ch;
    if (!c->c) {
        PyErr_SetString(PyExc_ValueError, "the cell already belongs to a layer (a cell is one set of weights)");
        return NULL;
    }
    cfg.return_sequences = rs;
    cfg.return_state = rst;
    cfg.go_backwards = gb;
    cfg.zero_output_for_mask = zo;
    cfg.stateful = sf;
    rc_error err = {0};
    rc_rnn *l = rc_rnn_new(name, c->c, &cfg, &err);
    if (!l) return raise_err(&err);
    c->c = NULL;
    return layer_obj(rc_rnn_layer(l), NULL);
}

static PyObject *mod_bidirectional(PyObject *m, PyObject *args) {
    const char *name, *mode;
    PyObject *fo, *bo;
    if (!PyArg_ParseTuple(args, "sO!O!s", &name, &LayerType, &fo, &LayerType, &bo, &mode)) return NULL;
    LayerObject *f = (LayerObject *)fo, *b = (LayerObject *)bo;
    if (!layer_live(f) || !layer_live(b)) return NULL;
    if (f->l->cls != &rc_rnn_class || b->l->cls != &rc_rnn_class || f->owner || b->owner || f->graph || b->graph) {
        PyErr_SetString(PyExc_ValueError, "Bidirectional wraps two fresh RNN layers");
        return NULL;
    }
    static const char *modes[] = {"concat", "sum", "mul", "ave", "none"};
    int mi = -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(mode, modes[i]) == 0) mi = i;
    if (mi < 0) {
        PyErr_Format(PyExc_ValueError, "merge_mode '%s' is not concat, sum, mul, ave or None", mode);
        return NULL;
    }
    rc_error err = {0};
    rc_bidir *bd = rc_bidir_new(name, f->l->impl, b->l->impl, (rc_merge_mode)mi, &err);
    if (!bd) return raise_err(&err);
    f->l = b->l = NULL;
    return layer_obj(rc_bidir_layer(bd), NULL);
}

static PyObject *mod_dense(PyObject *m, PyObject *args) {
    const char *name;
    long long units;
    PyObject *act;
    int ub;
    rc_activation a;
    if (!PyArg_ParseTuple(args, "sLOp", &name, &units, &act, &ub) || !act_arg(act, &a, NULL)) return NULL;
    return layer_obj(rc_dense_layer(rc_dense_new(name, units, a, ub)), NULL);
}

static PyObject *mod_embedding(PyObject *m, PyObject *args) {
    const char *name;
    long long v, d;
    int mz;
    if (!PyArg_ParseTuple(args, "sLLp", &name, &v, &d, &mz)) return NULL;
    return layer_obj(rc_embedding_layer(rc_embedding_new(name, v, d, mz)), NULL);
}

static PyObject *mod_masking(PyObject *m, PyObject *args) {
    const char *name;
    double v;
    if (!PyArg_ParseTuple(args, "sd", &name, &v)) return NULL;
    return layer_obj(rc_masking_layer_new(name, v), NULL);
}

static PyObject *mod_dropout_layer(PyObject *m, PyObject *args) {
    const char *name;
    double r;
    if (!PyArg_ParseTuple(args, "sd", &name, &r)) return NULL;
    return layer_obj(rc_dropout_layer_new(name, r), NULL);
}

static int bind_graph(LayerObject *o, GraphObject *go) {
    if (o->graph && o->graph != go) {
        PyErr_Format(PyExc_ValueError, "layer '%s' was built in another graph (a layer is used with one graph)",
                     rc_layer_name(o->l));
        return 0;
    }
    if (!o->graph) {
        Py_INCREF(go);
        o->graph = go;
    }
    return 1;
}

/* Layer.apply(x, mask=None, initial_state=(), training=False, seed=0)
 * -> (outputs, masks, updates): lists of Nodes (masks hold None). */
static PyObject *Layer_apply(LayerObject *o, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"x", "mask", "initial_state", "training", "seed", NULL};
    PyObject *xo, *mo = Py_None, *io = Py_None;
    int training = 0;
    unsigned long long seed = 0;
    if (!layer_live(o) ||
        !PyArg_ParseTupleAndKeywords(args, kw, "O!|OOpK", kwl, &NodeType, &xo, &mo, &io, &training, &seed))
        return NULL;
    GraphObject *go = ((NodeObject *)xo)->graph;
    if (!bind_graph(o, go)) return NULL;
    rc_layer_in in = {.x = ((NodeObject *)xo)->n, .training = training};
    if (mo != Py_None && !(in.mask = operand(go, mo))) return NULL;
    rc_node **init = NULL;
    int ninit = 0;
    if (io != Py_None) {
        if (!(init = nodes_of(go, io, &ninit, "initial_state"))) return NULL;
        in.initial_state = init;
        in.ninitial = ninit;
    }
    rc_rng rng;
    rc_rng_seed(&rng, seed);
    in.rng = &rng;
    rc_layer_out out;
    GraphObject *saved = building;
    building = go;
    rc_status st = rc_layer_apply(o->l, go->g, &in, &out);
    building = saved;
    PyMem_Free(init);
    if (st != RC_OK) return graph_raise(go);
    PyObject *outs = node_list(go, out.out, out.nout);
    PyObject *masks = PyList_New(out.nout);
    for (int i = 0; masks && i < out.nout; i++)
        PyList_SET_ITEM(masks, i, out.mask[i] ? wrap(go, out.mask[i]) : (Py_INCREF(Py_None), Py_None));
    PyObject *ups = node_list(go, out.update, out.nupdates);
    if (!outs || !masks || !ups) {
        Py_XDECREF(outs);
        Py_XDECREF(masks);
        Py_XDECREF(ups);
        return NULL;
    }
    return Py_BuildValue("(NNN)", outs, masks, ups);
}

static PyObject *Layer_params(LayerObject *o, PyObject *unused) {
    if (!layer_live(o)) return NULL;
    rc_node *ps[RC_LAYER_MAX_PARAMS];
    int n = rc_layer_params(o->l, ps, RC_LAYER_MAX_PARAMS);
    if (n == 0 || !o->graph) return PyList_New(0);
    return node_list(o->graph, ps, n < RC_LAYER_MAX_PARAMS ? n : RC_LAYER_MAX_PARAMS);
}

static PyObject *Layer_reset_states(LayerObject *o, PyObject *args) {
    PyObject *vals = Py_None;
    if (!layer_live(o) || !PyArg_ParseTuple(args, "|O", &vals)) return NULL;
    if (o->l->cls != &rc_rnn_class) {
        PyErr_SetString(PyExc_ValueError, "reset_states: only RNN layers have states");
        return NULL;
    }
    rc_rnn *r = o->l->impl;
    rc_error err;
    if (vals == Py_None) {
        if (rc_rnn_reset_states(r, NULL, &err) != RC_OK) return raise_err(&err);
        Py_RETURN_NONE;
    }
    rc_cell *c = rc_rnn_cell(r);
    PyObject *seq = PySequence_Fast(vals, "reset_states: a sequence of arrays");
    if (!seq) return NULL;
    if (PySequence_Fast_GET_SIZE(seq) != c->nstates) {
        PyErr_Format(PyExc_ValueError, "reset_states: %zd arrays for %d states", PySequence_Fast_GET_SIZE(seq),
                     c->nstates);
        Py_DECREF(seq);
        return NULL;
    }
    PyArrayObject *arrs[RC_MAX_STATES] = {0};
    const float *ptr[RC_MAX_STATES];
    PyObject *ret = NULL;
    for (int k = 0; k < c->nstates; k++) {
        arrs[k] = as_array(PySequence_Fast_GET_ITEM(seq, k), RC_F32);
        if (!arrs[k]) goto done;
        ptr[k] = PyArray_DATA(arrs[k]);
    }
    if (rc_rnn_reset_states(r, ptr, &err) != RC_OK) raise_err(&err);
    else ret = (Py_INCREF(Py_None), Py_None);
done:
    for (int k = 0; k < c->nstates; k++) Py_XDECREF(arrs[k]);
    Py_DECREF(seq);
    return ret;
}

static PyObject *Layer_get_name(LayerObject *o, void *c) {
    return layer_live(o) ? PyUnicode_FromString(rc_layer_name(o->l)) : NULL;
}
static PyObject *Layer_get_type(LayerObject *o, void *c) {
    return layer_live(o) ? PyUnicode_FromString(rc_layer_type(o->l)) : NULL;
}
static PyObject *Layer_get_count(LayerObject *o, void *c) {
    return layer_live(o) ? PyLong_FromLongLong(rc_layer_param_count(o->l)) : NULL;
}

static PyMethodDef Layer_methods[] = {
    {"apply", (PyCFunction)(void (*)(void))Layer_apply, METH_VARARGS | METH_KEYWORDS, NULL},
    {"params", (PyCFunction)Layer_params, METH_NOARGS, "weights in Keras order"},
    {"reset_states", (PyCFunction)Layer_reset_states, METH_VARARGS, NULL},
    {NULL}};

static PyGetSetDef Layer_getset[] = {{"name", (getter)Layer_get_name, NULL, NULL, NULL},
                                     {"type", (getter)Layer_get_type, NULL, NULL, NULL},
                                     {"param_count", (getter)Layer_get_count, NULL, NULL, NULL},
                                     {NULL}};

static PyTypeObject LayerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.Layer",
    .tp_basicsize = sizeof(LayerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Layer_dealloc,
    .tp_methods = Layer_methods,
    .tp_getset = Layer_getset,
    .tp_doc = "A C layer (rc_layer).",
};

/* --- Model ---------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    rc_model *m;
    GraphObject *graph;
    PyObject *io; /* an IOModel that owns m, or NULL (m is ours) */
} ModelObject;

static PyTypeObject ModelType;

static PyObject *Model_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    const char *name = "sequential";
    if (!PyArg_ParseTuple(args, "|s", &name)) return NULL;
    ModelObject *o = (ModelObject *)type->tp_alloc(type, 0);
    if (!o) return NULL;
    o->m = rc_model_new(name);
    if (!o->m) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    return (PyObject *)o;
}

static void Model_dealloc(ModelObject *o) {
    if (!o->io) rc_model_free(o->m);
    Py_XDECREF(o->io);
    Py_XDECREF(o->graph);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *Model_add(ModelObject *o, PyObject *args) {
    PyObject *lo;
    if (!PyArg_ParseTuple(args, "O!", &LayerType, &lo)) return NULL;
    LayerObject *l = (LayerObject *)lo;
    if (!layer_live(l)) return NULL;
    if (l->owner || o->io) {
        PyErr_SetString(PyExc_ValueError, "the layer already belongs to a model");
        return NULL;
    }
    rc_status st = rc_model_add(o->m, l->l);
    if (st != RC_OK) return raise_status(st, "model: cannot add the layer");
    Py_INCREF(o);
    l->owner = (PyObject *)o; /* the model frees it; the layer object keeps the model alive */
    Py_RETURN_NONE;
}

static PyObject *Model_apply(ModelObject *o, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"x", "training", "seed", NULL};
    PyObject *xo;
    int training = 0;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|pK", kwl, &NodeType, &xo, &training, &seed)) return NULL;
    GraphObject *go = ((NodeObject *)xo)->graph;
    if (o->graph && o->graph != go) {
        PyErr_SetString(PyExc_ValueError, "the model was built in another graph");
        return NULL;
    }
    if (!o->graph) {
        Py_INCREF(go);
        o->graph = go;
    }
    rc_rng rng;
    rc_rng_seed(&rng, seed);
    GraphObject *saved = building;
    building = go;
    rc_node *y = rc_model_apply(o->m, go->g, ((NodeObject *)xo)->n, training, &rng);
    building = saved;
    return wrap(go, y);
}

static PyObject *Model_summary(ModelObject *o, PyObject *unused) {
    size_t n = rc_model_summary(o->m, NULL, 0);
    char *b = PyMem_Malloc(n + 1);
    if (!b) return PyErr_NoMemory();
    rc_model_summary(o->m, b, n + 1);
    PyObject *r = PyUnicode_FromString(b);
    PyMem_Free(b);
    return r;
}

static PyObject *Model_params(ModelObject *o, PyObject *unused) {
    int n = rc_model_params(o->m, NULL, 0);
    if (n == 0 || !o->graph) return PyList_New(0);
    rc_node **ps = PyMem_Calloc((size_t)n, sizeof *ps);
    if (!ps) return PyErr_NoMemory();
    rc_model_params(o->m, ps, n);
    PyObject *l = node_list(o->graph, ps, n);
    PyMem_Free(ps);
    return l;
}

static PyObject *Model_dot(ModelObject *o, PyObject *args) {
    const char *title = NULL;
    if (!PyArg_ParseTuple(args, "|z", &title)) return NULL;
    char *text;
    size_t len;
    rc_error err;
    if (rc_model_dot_string(o->m, title, &text, &len, &err) != RC_OK) return raise_err(&err);
    PyObject *r = PyUnicode_DecodeUTF8(text, (Py_ssize_t)len, "replace");
    rc_free(text);
    return r;
}

static PyObject *Model_get_count(ModelObject *o, void *c) { return PyLong_FromLongLong(rc_model_param_count(o->m)); }
static PyObject *Model_get_name(ModelObject *o, void *c) { return PyUnicode_FromString(rc_model_name(o->m)); }
static PyObject *Model_get_graph(ModelObject *o, void *c) {
    PyObject *r = o->graph ? (PyObject *)o->graph : Py_None;
    Py_INCREF(r);
    return r;
}

static PyMethodDef Model_methods[] = {
    {"add", (PyCFunction)Model_add, METH_VARARGS, NULL},
    {"apply", (PyCFunction)(void (*)(void))Model_apply, METH_VARARGS | METH_KEYWORDS, NULL},
    {"summary_text", (PyCFunction)Model_summary, METH_NOARGS, NULL},
    {"params", (PyCFunction)Model_params, METH_NOARGS, NULL},
    {"dot", (PyCFunction)Model_dot, METH_VARARGS, "plot_model-style DOT text"},
    {NULL}};

static PyGetSetDef Model_getset[] = {{"param_count", (getter)Model_get_count, NULL, NULL, NULL},
                                     {"name", (getter)Model_get_name, NULL, NULL, NULL},
                                     {"graph", (getter)Model_get_graph, NULL, NULL, NULL},
                                     {NULL}};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = Model_new,
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
};

/* --- IOModel (.keras / TF.js) --------------------------------------------- */

typedef struct {
    PyObject_HEAD
    rc_io_model *m;
    GraphObject *graph;
} IOModelObject;

static PyTypeObject IOModelType;

static void IOModel_dealloc(IOModelObject *o) {
    rc_io_free(o->m);
    Py_XDECREF(o->graph);
    PyObject_Free(o);
}

static PyObject *mod_io_load(PyObject *m, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    rc_io_model *im;
    rc_error err;
    rc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = rc_io_load(path, &im, &err);
    Py_END_ALLOW_THREADS
    if (st != RC_OK) return raise_err(&err);
    IOModelObject *o = PyObject_New(IOModelObject, &IOModelType);
    if (!o) {
        rc_io_free(im);
        return NULL;
    }
    o->m = im;
    o->graph = NULL;
    return (PyObject *)o;
}

/* build(graph, B, T) -> (inputs, outputs) */
static PyObject *IOModel_build(IOModelObject *o, PyObject *args) {
    PyObject *gobj;
    long long B, T;
    if (!PyArg_ParseTuple(args, "O!LL", &GraphType, &gobj, &B, &T)) return NULL;
    if (o->graph) {
        PyErr_SetString(PyExc_ValueError, "an imported model is built once");
        return NULL;
    }
    GraphObject *go = (GraphObject *)gobj;
    rc_node *ins[16] = {0}, *outs[16] = {0};
    rc_error err;
    if (rc_io_build_batch(o->m, go->g, B, T, ins, 16, outs, 16, &err) != RC_OK) {
        rc_graph_clear_error(go->g);
        return raise_err(&err);
    }
    Py_INCREF(go);
    o->graph = go;
    int ni = rc_io_ninputs(o->m), no = rc_io_noutputs(o->m);
    return Py_BuildValue("(NN)", node_list(go, ins, ni < 16 ? ni : 16), node_list(go, outs, no < 16 ? no : 16));
}

static PyObject *IOModel_export_tfjs(IOModelObject *o, PyObject *args) {
    const char *dir;
    if (!PyArg_ParseTuple(args, "s", &dir)) return NULL;
    rc_error err;
    if (rc_io_export_tfjs(o->m, dir, &err) != RC_OK) return raise_err(&err);
    Py_RETURN_NONE;
}

static PyObject *IOModel_model(IOModelObject *o, PyObject *unused) {
    rc_model *rm = rc_io_rc_model(o->m);
    if (!rm) {
        PyErr_SetString(PyExc_ValueError, "build the imported model first");
        return NULL;
    }
    ModelObject *mo = (ModelObject *)ModelType.tp_alloc(&ModelType, 0);
    if (!mo) return NULL;
    mo->m = rm;
    Py_INCREF(o);
    mo->io = (PyObject *)o;
    Py_XINCREF(o->graph);
    mo->graph = o->graph;
    return (PyObject *)mo;
}

static PyObject *IOModel_info(IOModelObject *o, PyObject *unused) {
    int ni = rc_io_ninputs(o->m);
    PyObject *ins = PyList_New(ni);
    for (int i = 0; ins && i < ni; i++) {
        int64_t d[RC_MAX_DIMS];
        int nd = rc_io_input_shape(o->m, i, d);
        PyObject *sh = PyTuple_New(nd < 0 ? 0 : nd);
        for (int k = 0; k < nd; k++)
            PyTuple_SET_ITEM(sh, k, d[k] < 0 ? (Py_INCREF(Py_None), Py_None) : PyLong_FromLongLong(d[k]));
        PyList_SET_ITEM(ins, i,
                        Py_BuildValue("{s:s,s:s,s:N,s:L}", "name", rc_io_input_name(o->m, i), "dtype",
                                      rc_io_input_dtype(o->m, i) == RC_I32 ? "int32" : "float32", "shape", sh,
                                      "vocab", (long long)rc_io_input_vocab(o->m, i)));
    }
    return Py_BuildValue("{s:s,s:s,s:N,s:i}", "name", rc_io_name(o->m), "format", rc_io_format(o->m), "inputs",
                         ins, "noutputs", rc_io_noutputs(o->m));
}

static PyMethodDef IOModel_methods[] = {{"build", (PyCFunction)IOModel_build, METH_VARARGS, NULL},
                                        {"export_tfjs", (PyCFunction)IOModel_export_tfjs, METH_VARARGS, NULL},
                                        {"model", (PyCFunction)IOModel_model, METH_NOARGS, NULL},
                                        {"info", (PyCFunction)IOModel_info, METH_NOARGS, NULL},
                                        {NULL}};

static PyTypeObject IOModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.IOModel",
    .tp_basicsize = sizeof(IOModelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)IOModel_dealloc,
    .tp_methods = IOModel_methods,
};

/* --- Trainer -------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    rc_trainer *t;
    GraphObject *graph;
    rc_comm *comm; /* replicas (_core.replicate): this trainer's rank, owned */
    bool busy;     /* a step of its replicas is running (GIL released) */
} TrainerObject;

static PyTypeObject TrainerType;


static double dict_num(PyObject *d, const char *k, double dflt, int *bad) {
    PyObject *v = d ? PyDict_GetItemString(d, k) : NULL;
    if (!v || v == Py_None) return dflt;
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred()) *bad = 1;
    return x;
}

/* The optimizer from a dict: kind (sgd|adam|rmsprop|adagrad), learning_rate
 * (a number, or a dict kind constant|exponential|cosine, initial,
 * decay_steps, decay_rate, staircase, alpha, warmup_steps, warmup_target),
 * and the fields of rc_optim_config by name. */
static int optim_of(PyObject *d, rc_optim_config *cfg) {
    PyObject *k = PyDict_GetItemString(d, "kind");
    const char *kind = k ? PyUnicode_AsUTF8(k) : "adam";
    if (!kind) return 0;
    rc_optim_kind ok;
    if (!rc_optim_from_name(kind, &ok)) {
        PyErr_Format(PyExc_ValueError, "unknown optimizer '%s' (sgd, adam, rmsprop, adagrad)", kind);
        return 0;
    }
    *cfg = rc_optim_defaults(ok);
    int bad = 0;
    PyObject *lr = PyDict_GetItemString(d, "learning_rate");
    if (lr && PyDict_Check(lr)) {
        PyObject *lk = PyDict_GetItemString(lr, "kind");
        const char *lks = lk ? PyUnicode_AsUTF8(lk) : "constant";
        if (!lks) return 0;
        if (strcmp(lks, "constant") == 0) cfg->lr.kind = RC_LR_CONSTANT;
        else if (strcmp(lks, "exponential") == 0) cfg->lr.kind = RC_LR_EXPONENTIAL;
        else if (strcmp(lks, "cosine") == 0) cfg->lr.kind = RC_LR_COSINE;
        else {
            PyErr_Format(PyExc_ValueError, "unknown learning-rate schedule '%s'", lks);
            return 0;
        }
        cfg->lr.initial = dict_num(lr, "initial", cfg->lr.initial, &bad);
        cfg->lr.decay_steps = (int64_t)dict_num(lr, "decay_steps", 0, &bad);
        cfg->lr.decay_rate = dict_num(lr, "decay_rate", 0, &bad);
        cfg->lr.staircase = dict_num(lr, "staircase", 0, &bad) != 0;
        cfg->lr.alpha = dict_num(lr, "alpha", 0, &bad);
        cfg->lr.warmup_steps = (int64_t)dict_num(lr, "warmup_steps", 0, &bad);
        cfg->lr.warmup_target = dict_num(lr, "warmup_target", 0, &bad);
    } else {
        cfg->lr.initial = dict_num(d, "learning_rate", cfg->lr.initial, &bad);
    }
    cfg->momentum = dict_num(d, "momentum", cfg->momentum, &bad);
    cfg->nesterov = dict_num(d, "nesterov", cfg->nesterov, &bad) != 0;
    cfg->beta1 = dict_num(d, "beta_1", cfg->beta1, &bad);
    cfg->beta2 = dict_num(d, "beta_2", cfg->beta2, &bad);
    cfg->rho = dict_num(d, "rho", cfg->rho, &bad);
    cfg->centered = dict_num(d, "centered", cfg->centered, &bad) != 0;
    cfg->initial_accumulator = dict_num(d, "initial_accumulator_value", cfg->initial_accumulator, &bad);
    cfg->epsilon = dict_num(d, "epsilon", cfg->epsilon, &bad);
    cfg->clipnorm = dict_num(d, "clipnorm", 0, &bad);
    cfg->global_clipnorm = dict_num(d, "global_clipnorm", 0, &bad);
    cfg->clipvalue = dict_num(d, "clipvalue", 0, &bad);
    PyObject *es = PyDict_GetItemString(d, "epsilon_style");
    if (es && es != Py_None) {
        const char *s = PyUnicode_AsUTF8(es);
        if (!s) return 0;
        if (strcmp(s, "torch") == 0) cfg->eps_style = RC_EPS_TORCH;
        else if (strcmp(s, "keras") == 0) cfg->eps_style = RC_EPS_KERAS;
        else {
            PyErr_Format(PyExc_ValueError, "epsilon_style '%s' is not keras or torch", s);
            return 0;
        }
    }
    if (bad) return 0;
    rc_error err;
    if (rc_optim_validate(cfg, &err) != RC_OK) return raise_err(&err), 0;
    return 1;
}

/* Trainer(loss, optimizer dict, params=None, outputs=(), state=()) */
static PyObject *Trainer_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwl[] = {"loss", "optimizer", "params", "outputs", "state", NULL};
    PyObject *lo, *od, *po = Py_None, *oo = Py_None, *so = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!O!|OOO", kwl, &NodeType, &lo, &PyDict_Type, &od, &po, &oo, &so))
        return NULL;
    GraphObject *go = ((NodeObject *)lo)->graph;
    rc_trainer_spec spec = {.loss = ((NodeObject *)lo)->n};
    if (!optim_of(od, &spec.optim)) return NULL;
    rc_node **ps = NULL, **os = NULL, **ss = NULL;
    PyObject *r = NULL;
    if (po != Py_None && !(ps = nodes_of(go, po, &spec.nparams, "params"))) goto done;
    if (oo != Py_None && !(os = nodes_of(go, oo, &spec.noutputs, "outputs"))) goto done;
    if (so != Py_None && !(ss = nodes_of(go, so, &spec.nstate, "state"))) goto done;
    spec.params = ps;
    spec.outputs = os;
    spec.state = ss;
    rc_trainer *t = rc_trainer_new(go->g, &spec);
    if (!t) {
        r = graph_raise(go);
        goto done;
    }
    TrainerObject *o = (TrainerObject *)type->tp_alloc(type, 0);
    if (!o) {
        rc_trainer_free(t);
        goto done;
    }
    o->t = t;
    Py_INCREF(go);
    o->graph = go;
    r = (PyObject *)o;
done:
    PyMem_Free(ps);
    PyMem_Free(os);
    PyMem_Free(ss);
    return r;
}

static void TrainerT_dealloc(TrainerObject *o) {
    rc_trainer_free(o->t);
    rc_comm_free(o->comm); /* after its trainer; the group goes with the last */
    Py_XDECREF(o->graph);
    Py_TYPE(o)->tp_free((PyObject *)o);
}

static PyObject *Trainer_step(TrainerObject *o, PyObject *unused) {
    if (o->comm) /* alone, its collectives would wait for the others for ever */
        return PyErr_Format(PyExc_RuntimeError, "this trainer is a replica: step it through its ReplicaTrainer");
    float loss = NAN;
    rc_error err;
    rc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = rc_trainer_step(o->t, &loss, &err);
    Py_END_ALLOW_THREADS
    if (st != RC_OK) return raise_err(&err);
    return PyFloat_FromDouble(loss);
}

static PyObject *Trainer_value(TrainerObject *o, PyObject *args) {
    PyObject *no;
    rc_node *n;
    if (!PyArg_ParseTuple(args, "O", &no) || !node_arg(no, o->graph, &n, "node")) return NULL;
    const float *v = rc_trainer_value(o->t, n);
    if (!v) {
        PyErr_SetString(PyExc_ValueError, "not an extra output of the trainer");
        return NULL;
    }
    return array_copy_of(rc_node_shape(n), rc_node_dtype(n), v);
}

static PyObject *Trainer_save(TrainerObject *o, PyObject *args) {
    const char *path, *cfg = NULL;
    if (!PyArg_ParseTuple(args, "s|z", &path, &cfg)) return NULL;
    rc_error err;
    if (rc_trainer_save(o->t, path, cfg, NULL, &err) != RC_OK) return raise_err(&err);
    Py_RETURN_NONE;
}

static PyObject *Trainer_load(TrainerObject *o, PyObject *args) {
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path)) return NULL;
    if (o->comm) /* one copy alone would drift from the others */
        return PyErr_Format(PyExc_RuntimeError, "this trainer is a replica: its weights come from replica 0");
    rc_error err;
    char *cfg = NULL;
    if (rc_trainer_load(o->t, path, &cfg, NULL, &err) != RC_OK) return raise_err(&err);
    if (!cfg) Py_RETURN_NONE;
    PyObject *r = PyUnicode_FromString(cfg);
    rc_free(cfg);
    return r;
}

static PyObject *Trainer_reset(TrainerObject *o, PyObject *unused) {
    rc_trainer_reset_optimizer(o->t);
    Py_RETURN_NONE;
}

static PyObject *Trainer_get_it(TrainerObject *o, void *c) {
    return PyLong_FromLongLong(rc_trainer_iterations(o->t));
}
static int Trainer_set_it(TrainerObject *o, PyObject *v, void *c) {
    long long it = PyLong_AsLongLong(v);
    if (it == -1 && PyErr_Occurred()) return -1;
    rc_error err;
    if (rc_trainer_set_iterations(o->t, it, &err) != RC_OK) return raise_err(&err), -1;
    return 0;
}
static PyObject *Trainer_get_lr(TrainerObject *o, void *c) { return PyFloat_FromDouble(rc_trainer_lr(o->t)); }
static PyObject *Trainer_get_norm(TrainerObject *o, void *c) {
    return PyFloat_FromDouble(rc_trainer_grad_norm(o->t));
}
static PyObject *Trainer_get_params(TrainerObject *o, void *c) {
    int n = rc_trainer_param_count(o->t);
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        PyObject *w = wrap(o->graph, rc_trainer_param(o->t, i));
        if (!w) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, w);
    }
    return l;
}

static PyMethodDef Trainer_methods[] = {{"step", (PyCFunction)Trainer_step, METH_NOARGS, "one step -> loss"},
                                        {"value", (PyCFunction)Trainer_value, METH_VARARGS, NULL},
                                        {"save", (PyCFunction)Trainer_save, METH_VARARGS, NULL},
                                        {"load", (PyCFunction)Trainer_load, METH_VARARGS, NULL},
                                        {"reset_optimizer", (PyCFunction)Trainer_reset, METH_NOARGS, NULL},
                                        {NULL}};

static PyGetSetDef Trainer_getset[] = {
    {"iterations", (getter)Trainer_get_it, (setter)Trainer_set_it, NULL, NULL},
    {"learning_rate", (getter)Trainer_get_lr, NULL, NULL, NULL},
    {"grad_norm", (getter)Trainer_get_norm, NULL, NULL, NULL},
    {"params", (getter)Trainer_get_params, NULL, NULL, NULL},
    {NULL}};

static PyTypeObject TrainerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "recur._core.Trainer",
    .tp_basicsize = sizeof(TrainerObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = Trainer_new,
    .tp_dealloc = (destructor)TrainerT_dealloc,
    .tp_methods = Trainer_methods,
    .tp_getset = Trainer_getset,
};

/* --- replicas: trainers of N model copies stepped together in N threads -------- */

typedef struct replica_job {
    rc_trainer *t;
    rc_comm *comm;
    bool set; /* rc_trainer_set_comm, else rc_trainer_step */
    rc_status st;
    float loss;
    rc_error err;
    struct replica_gate *gate;
} replica_job;

/* Threads wait here until all of them exist: a thread that could not be
 * created must not leave the others inside a collective. */
typedef struct replica_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 wait, 1 go, -1 give up */
} replica_gate;

static void *replica_run(void *arg) {
    replica_job *j = arg;
    replica_gate *gt = j->gate;
    pthread_mutex_lock(&gt->mu);
    while (gt->state == 0) pthread_cond_wait(&gt->cv, &gt->mu);
    int go = gt->state;
    pthread_mutex_unlock(&gt->mu);
    if (go < 0) {
        j->st = RC_ERR_STATE;
        return NULL;
    }
    j->st = j->set ? rc_trainer_set_comm(j->t, j->comm, &j->err) : rc_trainer_step(j->t, &j->loss, &j->err);
    /* a replica that stopped may not have posted what the others wait for */
    if (j->st != RC_OK) rc_comm_threads_fail(j->comm);
    return NULL;
}

/* Run every job, job 0 on the calling thread (the GIL released): the
 * replicas' collectives need all of them running at once. False when a
 * thread could not be started (then no job ran). */
static bool replicas_run(replica_job *jobs, int n) {
    pthread_t th[RC_COMM_MAX_THREADS];
    replica_gate gate = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    for (int r = 0; r < n; r++) jobs[r].gate = &gate;
    int started = 1;
    Py_BEGIN_ALLOW_THREADS
    for (; started < n; started++)
        if (pthread_create(&th[started], NULL, replica_run, &jobs[started]) != 0) break;
    pthread_mutex_lock(&gate.mu);
    gate.state = started == n ? 1 : -1;
    pthread_cond_broadcast(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
    if (started == n) replica_run(&jobs[0]);
    for (int r = 1; r < started; r++) pthread_join(th[r], NULL);
    Py_END_ALLOW_THREADS
    return started == n;
}

/* The replica whose own failure stopped the others (theirs then read
 * "another replica failed"), or -1. */
static int first_failure(const replica_job *jobs, int n) {
    for (int r = 0; r < n; r++)
        if (jobs[r].st != RC_OK && !strstr(jobs[r].err.message, "another replica failed")) return r;
    for (int r = 0; r < n; r++)
        if (jobs[r].st != RC_OK) return r;
    return -1;
}

/* The trainers of a list, checked: 2..64 of them, distinct. */
static int trainers_of(PyObject *lo, TrainerObject **ts) {
    PyObject *seq = PySequence_Fast(lo, "replicas: expected a list of trainers");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n < 2 || n > RC_COMM_MAX_THREADS) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "replicas: %zd trainers, need 2 to %d", n, RC_COMM_MAX_THREADS);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *o = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyObject_TypeCheck(o, &TrainerType)) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_TypeError, "replicas: item %zd is not a Trainer", i);
            return -1;
        }
        ts[i] = (TrainerObject *)o;
        for (Py_ssize_t k = 0; k < i; k++)
            if (ts[k] == ts[i] || ts[k]->graph == ts[i]->graph) {
                Py_DECREF(seq);
                PyErr_Format(PyExc_ValueError, "replicas: items %zd and %zd share a graph: each replica needs its "
                             "own model copy", k, i);
                return -1;
            }
    }
    Py_DECREF(seq);
    return (int)n;
}

/* replicate([trainers]): join them as the ranks of one data-parallel job
 * (rc_comm_threads_new + rc_trainer_set_comm on each, at once): rank 0's
 * weights are copied to the others, and from then on their gradients are
 * summed at every step_replicas. */
static PyObject *mod_replicate(PyObject *m, PyObject *lo) {
    TrainerObject *ts[RC_COMM_MAX_THREADS];
    int n = trainers_of(lo, ts);
    if (n < 0) return NULL;
    for (int r = 0; r < n; r++)
        if (ts[r]->comm) {
            PyErr_Format(PyExc_ValueError, "replicas: trainer %d is already a replica", r);
            return NULL;
        }
    rc_comm *comms[RC_COMM_MAX_THREADS];
    rc_error err;
    if (rc_comm_threads_new(n, comms, &err) != RC_OK) return raise_err(&err);
    replica_job jobs[RC_COMM_MAX_THREADS];
    for (int r = 0; r < n; r++) jobs[r] = (replica_job){.t = ts[r]->t, .comm = comms[r], .set = true};
    bool ok = replicas_run(jobs, n);
    int failed = ok ? first_failure(jobs, n) : -1;
    if (failed >= 0) {
        for (int k = 0; k < n; k++) rc_trainer_set_comm(ts[k]->t, NULL, NULL), rc_comm_free(comms[k]);
        return raise_err(&jobs[failed].err);
    }
    if (!ok) {
        /* no collective ran (job 0 never started): nobody is waiting */
        for (int k = 0; k < n; k++) rc_comm_free(comms[k]);
        return PyErr_Format(PyExc_RuntimeError, "replicas: cannot start a thread");
    }
    for (int r = 0; r < n; r++) ts[r]->comm = comms[r];
    Py_RETURN_NONE;
}

/* step_replicas([trainers]) -> the loss (the mean over the replicas, the
 * same on each): one step of every replica, each in its own thread. */
static PyObject *mod_step_replicas(PyObject *m, PyObject *lo) {
    TrainerObject *ts[RC_COMM_MAX_THREADS];
    int n = trainers_of(lo, ts);
    if (n < 0) return NULL;
    for (int r = 0; r < n; r++) {
        if (!ts[r]->comm || rc_comm_size(ts[r]->comm) != n || rc_comm_rank(ts[r]->comm) != r ||
            !rc_comm_threads_same_group(ts[r]->comm, ts[0]->comm)) {
            PyErr_Format(PyExc_ValueError, "replicas: trainer %d is not rank %d of these %d replicas "
                         "(replicate them first, together, in this order)", r, r, n);
            return NULL;
        }
        if (ts[r]->busy) {
            PyErr_SetString(PyExc_RuntimeError, "replicas: a step of these replicas is already running");
            return NULL;
        }
    }
    replica_job jobs[RC_COMM_MAX_THREADS];
    for (int r = 0; r < n; r++) {
        jobs[r] = (replica_job){.t = ts[r]->t, .comm = ts[r]->comm};
        ts[r]->busy = true; /* other Python threads may run while the GIL is released */
        Py_INCREF(ts[r]);
    }
    bool ran = replicas_run(jobs, n);
    PyObject *res = NULL;
    int failed = ran ? first_failure(jobs, n) : -1;
    if (!ran) PyErr_SetString(PyExc_RuntimeError, "replicas: cannot start a thread");
    else if (failed >= 0) raise_err(&jobs[failed].err);
    else res = PyFloat_FromDouble(jobs[0].loss);
    for (int r = 0; r < n; r++) {
        ts[r]->busy = false;
        Py_DECREF(ts[r]);
    }
    return res;
}

/* --- files and rendering ---------------------------------------------------- */

static PyObject *mod_render(PyObject *m, PyObject *args) {
    const char *dot, *fmt;
    if (!PyArg_ParseTuple(args, "ss", &dot, &fmt)) return NULL;
    char *out = NULL;
    size_t len = 0;
    rc_error err;
    if (rc_dot_render(dot, fmt, &out, &len, &err) != RC_OK) return raise_err(&err);
    PyObject *r = PyBytes_FromStringAndSize(out, (Py_ssize_t)len);
    rc_free(out);
    return r;
}

static PyObject *mod_dot_save_text(PyObject *m, PyObject *args) {
    const char *dot, *path;
    if (!PyArg_ParseTuple(args, "ss", &dot, &path)) return NULL;
    rc_error err;
    if (rc_dot_save_text(dot, path, &err) != RC_OK) return raise_err(&err);
    Py_RETURN_NONE;
}

static PyObject *mod_save_params(PyObject *m, PyObject *args) {
    const char *path;
    PyObject *l, *meta = Py_None;
    int n;
    if (!PyArg_ParseTuple(args, "sO|O", &path, &l, &meta)) return NULL;
    rc_node **ps = nodes_of(NULL, l, &n, "save_params");
    if (!ps) return NULL;
    const char *kv[64];
    int nm = 0;
    if (meta != Py_None) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(meta, &pos, &k, &v) && nm < 32) {
            kv[2 * nm] = PyUnicode_AsUTF8(k);
            kv[2 * nm + 1] = PyUnicode_AsUTF8(v);
            if (!kv[2 * nm] || !kv[2 * nm + 1]) {
                PyMem_Free(ps);
                return NULL;
            }
            nm++;
        }
    }
    rc_error err;
    rc_status st = rc_save_params(path, ps, n, kv, nm, &err);
    PyMem_Free(ps);
    if (st != RC_OK) return raise_err(&err);
    Py_RETURN_NONE;
}

static PyObject *mod_load_params(PyObject *m, PyObject *args) {
    const char *path;
    PyObject *l;
    int n;
    if (!PyArg_ParseTuple(args, "sO", &path, &l)) return NULL;
    rc_node **ps = nodes_of(NULL, l, &n, "load_params");
    if (!ps) return NULL;
    rc_error err;
    rc_status st = rc_load_params(path, ps, n, &err);
    PyMem_Free(ps);
    if (st != RC_OK) return raise_err(&err);
    Py_RETURN_NONE;
}

static PyObject *mod_activations(PyObject *m, PyObject *unused) {
    PyObject *l = PyList_New(0);
    for (int i = 0; l; i++) {
        rc_activation a = rc_activation_at(i);
        if (!a) break;
        PyObject *s = PyUnicode_FromString(rc_activation_name(a));
        if (!s || PyList_Append(l, s) < 0) Py_CLEAR(l);
        Py_XDECREF(s);
    }
    return l;
}

static PyObject *mod_set_num_threads(PyObject *m, PyObject *arg) {
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "set_num_threads: n must be >= 1");
        return NULL;
    }
    rc_set_num_threads((int)n);
    Py_RETURN_NONE;
}

static PyObject *mod_get_num_threads(PyObject *m, PyObject *unused) { return PyLong_FromLong(rc_get_num_threads()); }

#define F(name, fn, flags, doc) {name, (PyCFunction)(void (*)(void))fn, flags, doc}
static PyMethodDef module_methods[] = {
    F("neg", op_neg, METH_O, "-x"),
    F("replicate", mod_replicate, METH_O, "join trainers as replicas of one data-parallel job"),
    F("step_replicas", mod_step_replicas, METH_O, "one step of every replica, at once -> loss"),
    F("sigmoid", op_sigmoid, METH_O, "1 / (1 + e^-x)"),
    F("tanh", op_tanh, METH_O, NULL),
    F("relu", op_relu, METH_O, NULL),
    F("exp", op_exp, METH_O, NULL),
    F("log", op_log, METH_O, NULL),
    F("square", op_square, METH_O, NULL),
    F("selu", op_selu, METH_O, NULL),
    F("softplus", op_softplus, METH_O, NULL),
    F("softsign", op_softsign, METH_O, NULL),
    F("silu", op_silu, METH_O, NULL),
    F("softmax", op_softmax, METH_O, "over the last axis"),
    F("log_softmax", op_log_softmax, METH_O, "over the last axis"),
    F("check_finite", op_check_finite, METH_O, NULL),
    F("step_increment", op_step_increment, METH_O, NULL),
    F("add", op_add, METH_VARARGS, NULL),
    F("sub", op_sub, METH_VARARGS, NULL),
    F("mul", op_mul, METH_VARARGS, NULL),
    F("div", op_div, METH_VARARGS, NULL),
    F("sigmoid_grad", op_sigmoid_grad, METH_VARARGS, NULL),
    F("tanh_grad", op_tanh_grad, METH_VARARGS, NULL),
    F("relu_grad", op_relu_grad, METH_VARARGS, NULL),
    F("mean_squared_diff", op_mean_squared_diff, METH_VARARGS, NULL),
    F("softmax_xent", op_softmax_xent, METH_VARARGS, NULL),
    F("sparse_softmax_xent", op_sparse_softmax_xent, METH_VARARGS, NULL),
    F("sigmoid_bce", op_sigmoid_bce, METH_VARARGS, NULL),
    F("gather", op_gather, METH_VARARGS, NULL),
    F("assign", op_assign, METH_VARARGS, NULL),
    F("where", op_where, METH_VARARGS, NULL),
    F("lerp", op_lerp, METH_VARARGS, NULL),
    F("lstm_step_fused", op_lstm_step_fused, METH_VARARGS, NULL),
    F("gru_step_fused", op_gru_step_fused, METH_VARARGS, NULL),
    F("matmul_acc", op_matmul_acc, METH_VARARGS, NULL),
    F("scale", op_scale, METH_VARARGS, NULL),
    F("add_scalar", op_add_scalar, METH_VARARGS, NULL),
    F("hard_sigmoid", op_hard_sigmoid, METH_VARARGS | METH_KEYWORDS, NULL),
    F("hard_sigmoid_grad", op_hard_sigmoid_grad, METH_VARARGS | METH_KEYWORDS, NULL),
    F("elu", op_elu, METH_VARARGS | METH_KEYWORDS, NULL),
    F("gelu", op_gelu, METH_VARARGS | METH_KEYWORDS, NULL),
    F("matmul", op_matmul, METH_VARARGS | METH_KEYWORDS, NULL),
    F("sum", op_sum, METH_VARARGS | METH_KEYWORDS, NULL),
    F("mean", op_mean, METH_VARARGS | METH_KEYWORDS, NULL),
    F("slice", op_slice, METH_VARARGS, "slice(x, axis, begin, end)"),
    F("pad_axis", op_pad_axis, METH_VARARGS, NULL),
    F("reshape", op_reshape, METH_VARARGS, NULL),
    F("broadcast_to", op_broadcast_to, METH_VARARGS, NULL),
    F("sum_to", op_sum_to, METH_VARARGS, NULL),
    F("transpose", op_transpose, METH_VARARGS, NULL),
    F("reverse", op_reverse, METH_VARARGS, NULL),
    F("concat", op_concat, METH_VARARGS, NULL),
    F("add_n", op_add_n, METH_VARARGS, NULL),
    F("global_norm", op_global_norm, METH_VARARGS, NULL),
    F("time_rows", op_time_rows, METH_VARARGS, NULL),
    F("scatter_add", op_scatter_add, METH_VARARGS, NULL),
    F("one_hot", op_one_hot, METH_VARARGS, NULL),
    F("apply_gradient_descent", op_apply_gradient_descent, METH_VARARGS, NULL),
    F("activate", op_activate, METH_VARARGS, "activate(x, name): a row of the activation table"),
    F("loss_mse", op_loss_mse, METH_VARARGS | METH_KEYWORDS, NULL),
    F("loss_binary_crossentropy", op_loss_bce, METH_VARARGS | METH_KEYWORDS, "from logits"),
    F("loss_categorical_crossentropy", op_loss_cce, METH_VARARGS | METH_KEYWORDS, "from logits"),
    F("loss_sparse_categorical_crossentropy", op_loss_scce, METH_VARARGS | METH_KEYWORDS, "from logits"),
    F("python_cell", mod_python_cell, METH_VARARGS, NULL),
    F("builtin_cell", mod_builtin_cell, METH_VARARGS | METH_KEYWORDS, NULL),
    F("stacked_cells", mod_stacked_cells, METH_VARARGS, NULL),
    F("rnn", mod_rnn, METH_VARARGS, NULL),
    F("bidirectional", mod_bidirectional, METH_VARARGS, NULL),
    F("dense", mod_dense, METH_VARARGS, NULL),
    F("embedding", mod_embedding, METH_VARARGS, NULL),
    F("masking", mod_masking, METH_VARARGS, NULL),
    F("dropout_layer", mod_dropout_layer, METH_VARARGS, NULL),
    F("io_load", mod_io_load, METH_VARARGS, NULL),
    F("render", mod_render, METH_VARARGS, "render(dot, format) -> bytes"),
    F("dot_save_text", mod_dot_save_text, METH_VARARGS, NULL),
    F("save_params", mod_save_params, METH_VARARGS, NULL),
    F("load_params", mod_load_params, METH_VARARGS, NULL),
    F("activations", mod_activations, METH_NOARGS, NULL),
    F("set_num_threads", mod_set_num_threads, METH_O, "threads recur splits matrix products over"),
    F("get_num_threads", mod_get_num_threads, METH_NOARGS, NULL),
    {NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "recur._core",
                                    "recur's C API (the recur package wraps it)", -1, module_methods};

PyMODINIT_FUNC PyInit__core(void); /* the one exported symbol */
PyMODINIT_FUNC PyInit__core(void) {
    import_array();
    PyTypeObject *types[] = {&GraphType, &NodeType, &CellHandleType, &BuildCtxType,
                             &LayerType, &ModelType, &IOModelType, &TrainerType};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (PyType_Ready(types[i]) < 0) return NULL;
    /* NumPy defers to Node's operators (np.float32(2) * node is a Node,
     * not an object array of Nodes) */
    if (PyDict_SetItemString(NodeType.tp_dict, "__array_ufunc__", Py_None) < 0) return NULL;
    PyType_Modified(&NodeType);
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    RecurError = PyErr_NewException("recur.RecurError", PyExc_RuntimeError, NULL);
    if (!RecurError || PyModule_AddObject(m, "RecurError", (Py_INCREF(RecurError), RecurError)) < 0) return NULL;
    const char *names[] = {"Graph", "Node", "CellHandle", "BuildContext", "Layer", "Model", "IOModel", "Trainer"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        Py_INCREF(types[i]);
        if (PyModule_AddObject(m, names[i], (PyObject *)types[i]) < 0) return NULL;
    }
    PyModule_AddIntConstant(m, "MAX_DIMS", RC_MAX_DIMS);
    return m;
}
