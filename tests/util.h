/* Shared helpers for the Criterion tests: random leaves, and the two checks
 * every op must pass (fast float32 kernel against the double reference, and
 * the double-precision gradient check). They assert with cr_assert. */
#ifndef RECUR_TESTS_UTIL_H
#define RECUR_TESTS_UTIL_H

#include <recur.h>

/* Parameter of shape s filled uniformly in [lo, hi) from r. */
rc_node *tu_param(rc_graph *g, const char *name, rc_shape s, rc_rng *r, float lo, float hi);
/* Constant of shape s filled uniformly in [lo, hi). */
rc_node *tu_const(rc_graph *g, rc_shape s, rc_rng *r, float lo, float hi);
/* sum(y * W) with W a random constant in [-1, 1): a scalar loss whose
 * gradient w.r.t. y is W, so every element of dy differs. */
rc_node *tu_weighted_sum(rc_graph *g, rc_node *y, rc_rng *r);
/* Asserts the graph has no error (prints it on failure). */
void tu_assert_ok(rc_graph *g);
/* Runs y through a plan (float32 kernels) and the reference evaluator
 * (double) and asserts |f32 - f64| <= atol + rtol * |f64| for every element. */
void tu_check_forward(rc_graph *g, rc_node *y, double atol, double rtol);
/* rc_gradcheck of loss w.r.t. wrt[0..n) with the given tolerances (0 = the
 * defaults); asserts every element passes. */
void tu_check_gradients(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n, double atol,
                        double rtol);
/* Reads a float output of a fresh plan for y (convenience for exact-value
 * tests): copies numel values to out. */
void tu_eval(rc_graph *g, rc_node *y, float *out);
/* Asserts that y computes the same bits on 1 and on 2 of recur's threads
 * (kernels that split work must not change any element's arithmetic);
 * leaves the setting at 2 threads. */
void tu_check_same_on_1_and_2_threads(rc_graph *g, rc_node *y);
/* A fused cell op (xp, hu: (B, gates·H), state (B, H) -> S (planes, B, H))
 * at a step large enough to be split over threads (64 x 128 = 8192
 * elements a plane): S and the gradients of a loss on all of S and of one
 * on the last plane alone (the compact gradient form) have the same bits on
 * one and two threads and stay within the double reference's tolerance. */
void tu_check_cell_split_over_threads(rc_node *(*fused)(rc_graph *, rc_node *, rc_node *, rc_node *), int gates,
                                      int planes);

/* The test oracle of the activation table: activation a (any row of
 * recur/activation.h; NULL = linear) applied in double to the n values of
 * one last-axis row x, into y (softmax / log_softmax normalise over the
 * row, the rest are elementwise). Written from the Keras 3 formulas
 * independently of the ops; false for a row it does not know yet (a new
 * row of the table needs its formula here). */
bool tu_activation_ref(rc_activation a, const double *x, double *y, int n);

/* A fresh directory per test: tu_tmpdir_setup / tu_tmpdir_teardown as a
 * Criterion .init / .fini; tu_write_tmp writes a file in it and returns its
 * path (a static buffer, valid until the next call). */
extern char tu_tmpdir[];
void tu_tmpdir_setup(void);
void tu_tmpdir_teardown(void);
const char *tu_write_tmp(const char *name, const void *data, size_t n);
/* The whole file at path in a new buffer (the caller frees it), with a NUL
 * after its *len bytes; asserts it can be read. */
char *tu_read_file(const char *path, size_t *len);

#endif
