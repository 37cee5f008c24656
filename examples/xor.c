/* xor — train a 2-8-1 MLP on XOR through its gradient graph.
 *
 *   h      = tanh(x · W1 + b1)        x (4, 2), W1 (2, 8), b1 (8)
 *   logits = h · W2 + b2              W2 (8, 1), b2 (1)
 *   loss   = mean(bce(sigmoid(logits), y))   (rc_sigmoid_bce works on logits)
 *
 * The graph is built once: forward, the gradient nodes rc_gradients appends,
 * and one rc_apply_gradient_descent per parameter. One plan computes the loss and applies
 * the updates; each training step is a single rc_plan_run.
 *
 * usage: xor [steps] [learning-rate]     exits 1 if the final loss >= 0.01
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <recur.h>

enum { B = 4, I = 2, H = 8, O = 1, NPARAMS = 4 };

static const float xor_x[B * I] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float xor_y[B * O] = {0, 1, 1, 0};

/* Glorot/Xavier uniform: U(-l, l), l = sqrt(6 / (fan_in + fan_out)), keeps
 * the activation variance roughly equal from layer to layer. */
static void glorot_uniform(rc_rng *r, rc_node *w) {
    rc_shape s = rc_node_shape(w);
    float l = sqrtf(6.0f / (float)(s.dim[0] + s.dim[1]));
    rc_rng_fill_uniform(r, rc_node_data(w), rc_node_numel(w), -l, l);
}

static int fail(rc_graph *g, const char *what) {
    fprintf(stderr, "xor: %s: %s\n", what, rc_graph_error(g) ? rc_graph_error(g) : "unknown error");
    rc_graph_free(g);
    return 1;
}

int main(int argc, char **argv) {
    int steps = argc > 1 ? atoi(argv[1]) : 2000;
    float lr = argc > 2 ? (float)atof(argv[2]) : 0.5f;
    if (steps < 1 || !(lr > 0.0f)) {
        fprintf(stderr, "usage: xor [steps >= 1] [learning-rate > 0]\n");
        return 2;
    }

    rc_graph *g = rc_graph_new();
    if (!g) return fprintf(stderr, "xor: out of memory\n"), 1;

    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(B, I));
    rc_node *y = rc_input(g, "y", RC_F32, RC_SHAPE(B, O));
    rc_scope_push(g, "dense_1");
    rc_node *w1 = rc_param(g, "kernel", RC_SHAPE(I, H));
    rc_node *b1 = rc_param(g, "bias", RC_SHAPE(H));
    rc_node *h = rc_tanh(g, rc_add(g, rc_matmul(g, x, w1, false, false), b1));
    rc_scope_pop(g);
    rc_scope_push(g, "dense_2");
    rc_node *w2 = rc_param(g, "kernel", RC_SHAPE(H, O));
    rc_node *b2 = rc_param(g, "bias", RC_SHAPE(O));
    rc_node *logits = rc_add(g, rc_matmul(g, h, w2, false, false), b2);
    rc_scope_pop(g);
    rc_node *loss = rc_mean(g, rc_sigmoid_bce(g, logits, y), RC_ALL_AXES, false);
    rc_node *prob = rc_sigmoid(g, logits);

    rc_node *params[NPARAMS] = {w1, b1, w2, b2}, *grads[NPARAMS];
    rc_gradients(g, loss, params, NPARAMS, grads);
    /* outputs[0] is the loss; the rest are the updates, run after every
     * reader of the parameters, so the loss printed is the one before the step. */
    rc_node *train_out[1 + NPARAMS] = {loss};
    for (int i = 0; i < NPARAMS; i++) train_out[1 + i] = rc_apply_gradient_descent(g, params[i], grads[i], lr);
    if (rc_graph_error(g)) return fail(g, "building the graph");

    rc_rng rng;
    rc_rng_seed(&rng, 42);
    glorot_uniform(&rng, w1);
    glorot_uniform(&rng, w2); /* biases start at zero (rc_param) */
    rc_node_set(x, xor_x);
    rc_node_set(y, xor_y);

    rc_plan *train = rc_plan_new(g, train_out, 1 + NPARAMS);
    rc_plan *predict = rc_plan_new(g, (rc_node *[]){loss, prob}, 2);
    if (!train || !predict) {
        rc_plan_free(train);
        rc_plan_free(predict);
        return fail(g, "planning");
    }
    printf("graph: %d nodes; training plan: %d kernels, %zu bytes of intermediates\n",
           rc_graph_node_count(g), rc_plan_steps(train), rc_plan_peak_bytes(train));

    /* Nothing in this graph can fail at run time (no gather), but a program
     * copied from here may add one. */
    rc_status st = RC_OK;
    int every = steps >= 10 ? steps / 10 : 1;
    for (int step = 0; step < steps && st == RC_OK; step++) {
        st = rc_plan_run(train, NULL);
        if (st == RC_OK && step % every == 0)
            printf("step %5d  loss %.6f\n", step, rc_plan_f32(train, loss)[0]);
    }
    if (st == RC_OK) st = rc_plan_run(predict, NULL);

    float final_loss = NAN;
    if (st != RC_OK) {
        fprintf(stderr, "xor: run failed: %s\n", rc_status_str(st));
    } else {
        final_loss = rc_plan_f32(predict, loss)[0];
        const float *p = rc_plan_f32(predict, prob);
        printf("step %5d  loss %.6f\n", steps, final_loss);
        for (int b = 0; b < B; b++)
            printf("xor(%g, %g) = %g  predicted %.4f\n", xor_x[b * I], xor_x[b * I + 1],
                   xor_y[b], p[b]);
    }

    rc_plan_free(predict);
    rc_plan_free(train);
    rc_graph_free(g);
    if (!(final_loss < 0.01f)) {
        fprintf(stderr, "xor: final loss %.6f is not below 0.01\n", final_loss);
        return 1;
    }
    return 0;
}
