/* adding — the adding problem (Hochreiter & Schmidhuber 1997, experiment 4,
 * in the form of Le et al. 2015 / Arjovsky et al. 2016), the long-memory
 * task the PyTorch peer also runs (shared/peers/torch_charlm.py --task adding).
 *
 *   input   (B, 100, 2): channel 0 ~ U(0, 1); channel 1 marks exactly two
 *           steps, one uniform in [0, 50) and one uniform in [50, 100)
 *   target  the sum of the two marked values; always answering 1.0 scores
 *           MSE 1/6 = 0.1667, so anything well below that has learned to
 *           remember across up to 99 steps
 *   model   LSTM(64) -> Dense(1) on the last step's output, MSE loss
 *   train   batch 32, Adam lr 1e-3, fresh random batches every step
 *   test    MSE on a fixed set of 1000 sequences every 250 steps
 *
 * One graph holds a training branch (B = 32) and a test branch (1000
 * sequences) applying the same layers, so they share the weights; the
 * rc_trainer runs forward, backward and Adam as one plan per step.
 *
 * usage: adding [--steps N] [--seed S] [--init keras|torch] [--log FILE.csv]
 *               [--target MSE]
 * Prints the test curve; exits 1 unless some test MSE fell below --target
 * (default 0.01). With --steps below 5000 it is a smoke run; pass
 * --target 0.1667 to require only beating the constant answer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <recur.h>

enum { T = 100, B = 32, NTEST = 1000, UNITS = 64, EVAL_EVERY = 250 };

/* One batch of n sequences into x (n, T, 2) and y (n, 1). */
static void adding_batch(rc_rng *r, int n, float *x, float *y) {
    for (int b = 0; b < n; b++) {
        float *xb = x + (size_t)b * T * 2;
        for (int t = 0; t < T; t++) xb[2 * t] = rc_rng_uniform(r), xb[2 * t + 1] = 0.0f;
        int i1 = (int)rc_rng_below(r, T / 2), i2 = T / 2 + (int)rc_rng_below(r, T / 2);
        xb[2 * i1 + 1] = xb[2 * i2 + 1] = 1.0f;
        y[b] = xb[2 * i1] + xb[2 * i2];
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* PyTorch's defaults (nn.LSTM, nn.Linear): every weight U(-k, k) with
 * k = 1/sqrt(fan) (LSTM: 1/sqrt(units)); the LSTM's single Keras bias is
 * the sum of PyTorch's two bias draws. */
static void torch_init(rc_cell *c, rc_node *const *dense, rc_rng *r) {
    float k = 1.0f / sqrtf((float)UNITS);
    for (int p = 0; p < c->nparams; p++) {
        float *d = rc_node_data(c->params[p]);
        int64_t n = rc_node_numel(c->params[p]);
        rc_init_uniform(d, n, -k, k, r);
        if (p == 2)
            for (int64_t i = 0; i < n; i++) d[i] += -k + 2.0f * k * rc_rng_uniform(r);
    }
    for (int p = 0; p < 2; p++) rc_init_uniform(rc_node_data(dense[p]), rc_node_numel(dense[p]), -k, k, r);
}

int main(int argc, char **argv) {
    long steps = 5000, seed = 1234;
    double target = 0.01;
    const char *log_path = NULL, *init = "keras";
    for (int i = 1; i < argc; i += 2) { /* --option value pairs */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--steps") == 0 && v) steps = strtol(v, &end, 10);
        else if (strcmp(a, "--seed") == 0 && v) seed = strtol(v, &end, 10);
        else if (strcmp(a, "--target") == 0 && v) target = strtod(v, &end);
        else if (strcmp(a, "--log") == 0 && v) log_path = v, end = "";
        else if (strcmp(a, "--init") == 0 && v && (!strcmp(v, "keras") || !strcmp(v, "torch"))) init = v, end = "";
        else end = NULL;
        if (!end || *end || steps < 1 || seed < 0 || !(target > 0)) {
            fprintf(stderr, "usage: adding [--steps N>=1] [--seed S>=0] [--init keras|torch] [--log FILE.csv] "
                            "[--target MSE>0]\n");
            return 2;
        }
    }

    rc_graph *g = rc_graph_new();
    rc_cell_config cc = rc_cell_defaults(UNITS);
    rc_rnn *lstm = rc_rnn_new("lstm", rc_lstm_cell_new(&cc), &(rc_rnn_config){0}, NULL);
    rc_dense *dense = rc_dense_new("dense", 1, RC_ACT_LINEAR, true);
    if (!g || !lstm || !dense) return fprintf(stderr, "adding: out of memory\n"), 1;
    rc_rng init_rng;
    rc_rng_seed(&init_rng, (uint64_t)seed);

    /* Training branch and test branch over the same layers. */
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(B, T, 2)), *y = rc_input(g, "y", RC_F32, RC_SHAPE(B, 1));
    rc_node *xt = rc_input(g, "x_test", RC_F32, RC_SHAPE(NTEST, T, 2));
    rc_node *yt = rc_input(g, "y_test", RC_F32, RC_SHAPE(NTEST, 1));
    rc_rnn_out o, ot;
    rc_rnn_call call = {.rng = &init_rng};
    rc_node *loss = NULL, *test_mse = NULL;
    if (rc_rnn_apply(lstm, g, x, &call, &o) == RC_OK) loss = rc_mean_squared_diff(g, rc_dense_apply(dense, g, o.output, &init_rng), y);
    if (rc_rnn_apply(lstm, g, xt, &call, &ot) == RC_OK)
        test_mse = rc_mean_squared_diff(g, rc_dense_apply(dense, g, ot.output, &init_rng), yt);
    if (strcmp(init, "torch") == 0 && !rc_graph_error(g)) torch_init(rc_rnn_cell(lstm), rc_dense_params(dense), &init_rng);

    rc_optim_config oc = rc_optim_defaults(RC_OPT_ADAM);
    oc.lr.initial = 1e-3;
    rc_trainer *tr = loss ? rc_trainer_new(g, &(rc_trainer_spec){.loss = loss, .optim = oc}) : NULL;
    rc_plan *test = tr && test_mse ? rc_plan_new(g, &test_mse, 1) : NULL;
    if (!test) {
        fprintf(stderr, "adding: building the model failed: %s\n", rc_graph_error(g));
        return 1;
    }
    FILE *logf = log_path ? fopen(log_path, "w") : NULL;
    if (log_path && !logf) return fprintf(stderr, "adding: cannot write '%s'\n", log_path), 1;
    if (logf) fprintf(logf, "step,loss,val_loss\n");

    rc_rng data, test_rng;
    rc_rng_seed(&data, (uint64_t)seed);
    rc_rng_seed(&test_rng, (uint64_t)seed + 1);
    adding_batch(&test_rng, NTEST, rc_node_data(xt), rc_node_data(yt));
    printf("adding problem: T=%d, LSTM(%d) -> Dense(1), batch %d, Adam 1e-3, %s init; baseline MSE %.4f\n", T, UNITS,
           B, init, 1.0 / 6.0);

    double best = INFINITY, t_train = 0.0;
    long first_below = -1;
    int status = 0;
    for (long step = 0; step <= steps; step++) {
        if (step % EVAL_EVERY == 0 || step == steps) {
            if (rc_plan_run(test, NULL) != RC_OK) {
                status = 1;
                break;
            }
            double m = rc_plan_f32(test, test_mse)[0];
            printf("step %5ld  test MSE %.5f%s\n", step, m, step ? "" : "  (untrained)");
            fflush(stdout);
            if (logf) fprintf(logf, "%ld,,%.6f\n", step, m);
            if (m < best) best = m;
            if (m < target && first_below < 0) first_below = step;
        }
        if (step == steps) break;
        adding_batch(&data, B, rc_node_data(x), rc_node_data(y));
        float l;
        double t0 = now();
        rc_error err;
        if (rc_trainer_step(tr, &l, &err) != RC_OK) {
            fprintf(stderr, "adding: step %ld failed: %s\n", step + 1, err.message);
            status = 1;
            break;
        }
        t_train += now() - t0;
        if (logf) fprintf(logf, "%ld,%.6f,\n", step + 1, l);
    }
    if (logf) fclose(logf);
    printf("%.1f ms/step; best test MSE %.5f; ", 1e3 * t_train / (double)steps, best);
    if (first_below >= 0) printf("first below %g at step %ld\n", target, first_below);
    else printf("never below %g\n", target);
    if (first_below < 0) status = 1;
    rc_plan_free(test);
    rc_trainer_free(tr);
    rc_rnn_free(lstm);
    rc_dense_free(dense);
    rc_graph_free(g);
    return status;
}
