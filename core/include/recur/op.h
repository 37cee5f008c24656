/* recur — the op interface: what one entry of the op table provides.
 *
 * Every op is a const rc_op with a name, an arity, a shape rule, a fast
 * float32 kernel, a plain double-precision reference kernel (the test oracle
 * and the engine of rc_gradcheck), a gradient builder that only emits ops,
 * and an optional DOT label. Adding an op touches its own file (the rc_op
 * definition and its builder) and one line of ops/ops_list.inc, from which
 * ops/table.c makes the table; nothing else switches over op kinds, and
 * behaviour that depends on an op is declared by its flags (RC_OPF_*), not
 * by its name.
 *
 * This header is for op authors. Users building graphs need only ops.h.
 */
#ifndef RECUR_OP_H
#define RECUR_OP_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Attributes of a node: twelve integers and four reals whose meaning each op
 * defines (slice axis/begin/end, transpose flags, scale factor...). */
typedef struct rc_attr {
    int64_t i[12];
    double f[4];
} rc_attr;

enum {
    RC_OPF_LEAF = 1u << 0,        /* input, param, const: no kernel */
    RC_OPF_SIDE_EFFECT = 1u << 1, /* writes a leaf (e.g. sgd_update); planned
                                     after every other node, output unusable */
    RC_OPF_ELEMENTWISE = 1u << 2, /* out[i] depends on in[k][i] only (same
                                     shapes): may run in place */
    RC_OPF_IN_PLACE = 1u << 3,    /* the forward kernel is correct when out is
                                     in[0]'s buffer (same size): the planner
                                     gives it that buffer when in[0] dies there */
    RC_OPF_CONCAT = 1u << 4,      /* the output is the inputs laid end to end
                                     along axis attr.i[0] (normalised), in
                                     input order; its kernel skips an input
                                     already in its block, so the planner may
                                     compute inputs in place into it (core/plan.c)
                                     and gradient sums may read the pieces as
                                     one stack (ops/matmul.c) */
    RC_OPF_RNG_STATE = 1u << 5,   /* the node keeps random generator state in
                                     attr.i[8..11] that each run advances: a
                                     checkpoint must carry it for a resumed run
                                     to draw what the uninterrupted one would */
    RC_OPF_PROBABILITIES = 1u << 6, /* the output is a probability distribution
                                     along its last axis (softmax), not logits */
    RC_OPF_FUSED = 1u << 7,       /* several ops in one kernel (a fused cell
                                     step or its gradient): drawings mark it */
};

/* Kernels. `in[k]` points at input k's data, `out` at the output's.
 * forward: float32 nodes as float*, int32 nodes as int32_t*.
 * reference: float32 nodes as double* (computed in double), int32 as
 *            int32_t*. A reference kernel is written for clarity, not speed.
 * `scratch` has scratch_bytes(n) bytes (64-byte aligned) or is NULL.
 * Kernels return RC_OK, or RC_ERR_ARG when input values are invalid (an id
 * out of range); they never allocate, print or abort. */
typedef rc_status (*rc_kernel_fn)(const rc_node *n, void *out, void *const *in,
                                  void *scratch);

struct rc_op {
    const char *name;
    int arity;      /* number of inputs; -1 = any number >= 1 */
    unsigned flags; /* RC_OPF_* */
    /* Set n->dtype and n->shape from n->in[] and n->attr. On bad input call
     * rc_graph_fail() naming the op and the shapes, and return false. */
    bool (*infer)(rc_graph *g, rc_node *n);
    rc_kernel_fn forward;
    rc_kernel_fn reference;
    /* Emit the gradient: given dy (same shape as n), set dx[k] to the
     * gradient node for input k, or leave it NULL where none flows (int32
     * inputs, masks). May use n itself as the op's output value. NULL for
     * ops that are not differentiable (their inputs get no gradient). */
    void (*grad)(rc_graph *g, rc_node *n, rc_node *dy, rc_node **dx);
    /* Scratch bytes for the forward kernel (reference kernels allocate
     * freely); NULL = none. */
    size_t (*scratch_bytes)(const rc_node *n);
    /* If the output is a view of input 0 for this node (reshape, contiguous
     * slice), return true and the element offset into input 0. The planner
     * then aliases buffers and never runs the kernel. */
    bool (*view)(const rc_node *n, int64_t *elem_offset);
    /* Optional: a cheaper sum of n >= 2 gradient contributions that are all
     * nodes of this op (pad_axis pieces of disjoint slices -> one concat;
     * per-step weight gradients Aᵀ_t B_t -> one GEMM over time). Return the
     * sum, or NULL to let autodiff use add_n. */
    rc_node *(*accumulate)(rc_graph *g, rc_node *const *c, int n);
    /* Short label for DOT export, e.g. "slice[1, 0:4]"; NULL = op name. */
    void (*label)(const rc_node *n, char *buf, size_t len);
    /* Optional: an operand read in a layout made once per run ("packed").
     * pack_bytes returns 0 (read as stored) or the packed size of input *k
     * for this node, and sets *k and key[0..3] (what the layout depends
     * on). When one value (the same storage) is input *k of two or more
     * nodes of this op with equal keys and sizes in a plan — an unrolled
     * RNN's recurrent kernel, read at every step — the plan calls pack(n,
     * value, packed) right before the first of them runs, into that many
     * bytes of its arena (64-byte aligned, alive until the last of them;
     * groups of one value that follow each other in time share one
     * buffer, each packing at its own first reader), and runs
     * forward_packed for each with in[k] pointing at the packed copy.
     * The value must not change in between; in a run no value does
     * (values are final when computed, and leaves are written only by
     * side-effect kernels, which run last), except through a hook
     * (recur/plan.h): a hook may rewrite the value before its first
     * reader — packing comes after it — but one that rewrote it between
     * two packed readers (say, an on_needed hook of a view of it read
     * later) would not be seen by the later readers. NULL = never
     * packed. */
    size_t (*pack_bytes)(const rc_node *n, int *k, int64_t key[4]);
    void (*pack)(const rc_node *n, const void *src, void *dst);
    rc_kernel_fn forward_packed;
};

/* A node. Fields are read by kernels, planners and exporters; only
 * rc_node_make writes them. */
struct rc_node {
    rc_graph *graph;
    int id;             /* creation index == topological order */
    const rc_op *op;
    int nin;
    rc_node **in;       /* nin inputs, owned by the graph */
    rc_attr attr;
    rc_dtype dtype;
    rc_shape shape;
    char *name;         /* own name; never NULL */
    bool named;         /* name given (rc_node_make, rc_node_rename), not
                           the op's name by default */
    char *scope;        /* scope path at creation; never NULL, "" at top */
    bool is_grad;       /* appended by rc_gradients */
    bool is_param;
    rc_tensor *value;   /* storage of input/param/const leaves, else NULL */
    int after;          /* -1, or the id of a node this one may be planned
                           to run right after (rc_graph_schedule_after) */
    int64_t held;       /* bytes of this node's own structures counted in
                           the memory limit (rc_limits), returned when freed */
};

/* Nodes made from now on are planned as if made right after `anchor` (as
 * early as their inputs allow, but not before anchor), instead of at their
 * creation point; NULL ends it. Used by gradient accumulation hooks, which
 * run when every contribution is known (late) but whose pieces each need
 * only a few early values: run early, they let big values die early (see
 * core/plan.c). Values are unchanged; only the order of kernels is. */
void rc_graph_schedule_after(rc_graph *g, const rc_node *anchor);

/* For accumulate hooks: c[0] + ... + c[n-1] (n >= 1 nodes of g, equal
 * shapes and dtypes) as a running sum in the order the contributions are
 * made (by id), each add planned right after its contribution
 * (rc_graph_schedule_after; the caller's setting is kept), so each
 * contribution dies as soon as it is added instead of all of them waiting
 * for one add_n at the end. c is only read; the nodes made belong to g.
 * NULL if the shapes or dtypes differ or an entry is NULL (autodiff then
 * uses add_n), or on error (g failed). The sum's rounding differs from
 * add_n's order. Hooks use it from RC_RUNNING_MIN contributions on: below
 * that one add_n holds little and draws as one node. */
rc_node *rc_running_sum(rc_graph *g, rc_node *const *c, int n);
enum { RC_RUNNING_MIN = 5 };

/* Create a node of `op` with the given inputs and attributes (attr may be
 * NULL = zeros), named `name` (NULL = op name), in the current scope. Runs
 * the op's shape rule. On error records it on g and returns NULL; NULL
 * inputs propagate a prior error. */
rc_node *rc_node_make(rc_graph *g, const rc_op *op, rc_node *const *in,
                      int nin, const rc_attr *attr, const char *name);

/* Record an error about node n being made by its op, prefixed with
 * "<op> at '<scope/name>': ". Returns false for tail calls in shape rules. */
bool rc_node_fail(rc_graph *g, const rc_node *n, rc_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Helpers for shape rules and messages. */
bool rc_require_dtype(rc_graph *g, const rc_node *n, int k, rc_dtype want);
/* Inputs 0 and 1 both float32 and of the same shape (e.g. (x, dy) pairs). */
bool rc_require_float_pair(rc_graph *g, const rc_node *n);
/* Shape error "<what> has shape <s>" on n; returns false. */
bool rc_fail_shape(rc_graph *g, const rc_node *n, const char *what, rc_shape s);
/* Normalise a possibly negative axis against ndim; false if out of range. */
bool rc_axis_norm(int64_t *axis, int ndim);

/* For plain elementwise loops (add, mul, the fused gradients, ...): GCC
 * compiles the function three times, for AVX-512, AVX2 and the baseline
 * (SSE2), and the loader picks one for the CPU (an ifunc), so the loops are
 * vectorised 16 or 8 wide instead of 4 (measured on B·H = 4096-element
 * operands of a GRU step: see the commit). Without -ffast-math and with
 * ISO C's -ffp-contract=off every version rounds each operation the same
 * way, so the results do not depend on the CPU. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RC_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RC_VECTOR_CLONES
#endif
/* For a time_rows node (rc_time_rows, recur/ops.h): the same rows made
 * again from its leaf (a new time-major copy of the steps, made where the
 * caller uses it). NULL for any other node. */
rc_node *rc_time_rows_again(rc_graph *g, const rc_node *rows);

/* Index of the op in the table, and the table itself (ops/table.c). */
extern const rc_op *const rc_op_table[];
extern const int rc_op_table_len;
const rc_op *rc_op_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif
