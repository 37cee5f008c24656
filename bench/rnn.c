/* rnn — one recurrent layer trained or run by recur, point for point the
 * same measurement as the PyTorch peer (../shared/peers/torch_rnn_bench.py).
 *
 *   train: one step = ONE plan run: forward of the whole sequence
 *          (return_sequences, (B, T, H) output, zero initial state),
 *          loss = MSE(output, fixed random (B, T, H) target), the gradients
 *          of every weight, and SGD(lr 0.01) updates (rc_apply_gradient_descent).
 *   infer: one step = one run of a forward-only plan.
 * The graph and the plan are built once per point; each step is timed with
 * CLOCK_MONOTONIC; the JSON line reports median and min over --iters steps
 * after --warmup untimed steps, tokens_per_s = batch*seq / median.
 *
 * Beyond the peer's fields: needed_bytes and leaf_bytes (see run_point),
 * plan_bytes (rc_plan_peak_bytes, the arena of
 * intermediates), max_rss_bytes (getrusage: the process high-water mark,
 * so in a --sweep it never falls), rss_bytes (resident now, after the
 * point's runs), nodes (graph size), nodes_per_step (nodes in the scope of
 * the middle time step "rnn/tK", forward and gradient) and
 * fwd_nodes_per_step (forward only) -- the per-step output reshape, its
 * gradient and the concat's gradient slice are made outside that scope,
 * so the true increment per step is 3 more in train and 1 more in infer
 * (tests/layers/test_rnn_errors.c measures it by difference),
 * plan_steps (kernels per run), params (scalars), build_ms and plan_ms
 * (graph + gradient construction, planning), the loss of the first and
 * last runs (train), and the BLAS in use.
 *
 * usage: rnn [--cell lstm|gru|rnn] [--hidden H] [--batch B] [--seq T]
 *            [--input I] [--threads N] [--mode train|infer] [--warmup W]
 *            [--iters N] [--seed S] [--sweep] [--user-cell]
 * --user-cell: the LSTM is user_lstm below, the built-in LSTM's math written
 * as a user cell from public ops only (rc_cell_new, rc_cell_add_param,
 * rc_matmul, rc_add, rc_slice, rc_sigmoid, rc_tanh, rc_mul) with the same
 * Keras weights and initialisation; the JSON line says "user_cell":true.
 * --threads N calls rc_set_num_threads(N): recur splits its matrix products
 * over N threads (elementwise kernels run on one). --sweep: cells lstm,
 * gru x hidden 32, 128, 512 x batch 1, 32 x train, infer at seq 50, input 64. "simple" is accepted for "rnn".
 * Output: one JSON object per line.
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <recur.h>
#include <recur/rnn.h>

#include "bench_util.h"

typedef struct opts {
    const char *cell;
    int64_t hidden, batch, seq, input;
    int threads;
    bool train;
    int warmup, iters;
    uint64_t seed;
    bool user_cell;
    int replicas; /* > 1: run_replicas */
} opts;

static long long rss_now_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, res = 0;
    if (!f) return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (long long)sysconf(_SC_PAGESIZE);
}

static long long rss_max_bytes(void) {
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0) return -1;
    return (long long)u.ru_maxrss * 1024; /* Linux: kilobytes */
}

/* --- user_lstm: an LSTM as a user would write it --------------------------
 * Keras LSTM, row-vector convention: z = x W + b + h U = [z_i|z_f|z_c|z_o],
 * i, f, o = sigmoid, g = tanh, c' = f c + i g, h' = o tanh(c'). The input
 * projection x W + b is offered through project() so the layer runs it as one
 * GEMM over all B·T rows, as any user cell may. */
typedef struct user_lstm {
    int64_t units;
    rc_node *kernel, *rkernel, *bias;
} user_lstm;

static rc_status user_lstm_build(rc_cell *c, rc_graph *g, int64_t nin, rc_rng *rng) {
    user_lstm *s = c->impl;
    int64_t U = s->units;
    s->kernel = rc_cell_add_param(c, g, "kernel", RC_SHAPE(nin, 4 * U));
    s->rkernel = rc_cell_add_param(c, g, "recurrent_kernel", RC_SHAPE(U, 4 * U));
    s->bias = rc_cell_add_param(c, g, "bias", RC_SHAPE(4 * U));
    if (!s->kernel || !s->rkernel || !s->bias) return rc_graph_status(g);
    rc_init_glorot_uniform(rc_node_data(s->kernel), nin, 4 * U, rng);
    rc_status st = rc_init_orthogonal(rc_node_data(s->rkernel), U, 4 * U, 1.0f, rng, NULL);
    if (st != RC_OK) return st;
    rc_init_constant(rc_node_data(s->bias), 4 * U, 0.0f);
    rc_init_constant((float *)rc_node_data(s->bias) + U, U, 1.0f); /* unit forget bias */
    return rc_graph_status(g);
}

static rc_node *user_lstm_project(rc_cell *c, rc_graph *g, rc_node *x) {
    user_lstm *s = c->impl;
    return rc_add(g, rc_matmul(g, x, s->kernel, false, false), s->bias);
}

static rc_status user_lstm_step(rc_cell *c, rc_graph *g, rc_cell_step *st) {
    user_lstm *s = c->impl;
    int64_t U = s->units;
    rc_node *z = rc_add(g, st->x, rc_matmul(g, st->state[0], s->rkernel, false, false));
    rc_node *i = rc_sigmoid(g, rc_slice(g, z, 1, 0, U));
    rc_node *f = rc_sigmoid(g, rc_slice(g, z, 1, U, 2 * U));
    rc_node *cand = rc_tanh(g, rc_slice(g, z, 1, 2 * U, 3 * U));
    rc_node *o = rc_sigmoid(g, rc_slice(g, z, 1, 3 * U, 4 * U));
    rc_node *cn = rc_add(g, rc_mul(g, f, st->state[1]), rc_mul(g, i, cand));
    rc_node *hn = rc_mul(g, o, rc_tanh(g, cn));
    st->output = st->next_state[0] = hn;
    st->next_state[1] = cn;
    return rc_graph_status(g);
}

static const rc_cell_class user_lstm_class = {"UserLSTM", user_lstm_build, user_lstm_project, user_lstm_step,
                                              NULL};

static rc_cell *user_lstm_new(int64_t units) {
    user_lstm *s = rc_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->units = units;
    int64_t sizes[2] = {units, units};
    /* rc_cell_free releases impl with rc_free (no destroy callback) */
    rc_cell *c = rc_cell_new(&user_lstm_class, "user_lstm", 2, sizes, units, s, NULL);
    if (!c) rc_free(s);
    return c;
}

static rc_cell *make_cell(const char *name, int64_t units, bool user) {
    rc_cell_config cfg = rc_cell_defaults(units);
    if (user) return strcmp(name, "lstm") == 0 ? user_lstm_new(units) : NULL;
    if (strcmp(name, "lstm") == 0) return rc_lstm_cell_new(&cfg);
    if (strcmp(name, "gru") == 0) return rc_gru_cell_new(&cfg);
    if (strcmp(name, "rnn") == 0 || strcmp(name, "simple") == 0) return rc_simple_rnn_cell_new(&cfg);
    return NULL;
}

/* Nodes whose scope is `prefix` or lies under it. */
static void count_scope(rc_graph *g, const char *prefix, int *all, int *fwd) {
    size_t n = strlen(prefix);
    *all = *fwd = 0;
    for (int i = 0; i < rc_graph_node_count(g); i++) {
        rc_node *nd = rc_graph_node(g, i);
        const char *s = rc_node_scope(nd);
        if (strncmp(s, prefix, n) == 0 && (s[n] == '\0' || s[n] == '/')) {
            (*all)++;
            if (!rc_node_is_gradient(nd)) (*fwd)++;
        }
    }
}

static int die(rc_graph *g, const char *what) {
    fprintf(stderr, "rnn: %s: %s\n", what, g && rc_graph_error(g) ? rc_graph_error(g) : "failed");
    return 1;
}

/* The point's model on `rows` of the batch starting at row `row0`: the
 * input and target are drawn for the whole batch (same seed, same order as
 * one process) and this copy keeps its rows, so replicas see between them
 * exactly the data one process sees. Train: *loss = MSE(output, target);
 * infer: *loss = NULL. */
typedef struct point_model {
    rc_graph *g;
    rc_cell *cell;
    rc_rnn *layer;
    rc_node *output, *loss;
} point_model;

static void point_model_free(point_model *m) {
    rc_rnn_free(m->layer); /* frees the cell too */
    if (!m->layer) rc_cell_free(m->cell);
    rc_graph_free(m->g);
    *m = (point_model){0};
}

/* Fills rows [row0, row0 + rows) of a (B, n) array from the generator's
 * next B·n uniform values. */
static bool fill_rows(rc_rng *rng, float *dst, int64_t B, int64_t n, int64_t row0, int64_t rows) {
    float *all = malloc((size_t)(B * n) * sizeof *all);
    if (!all) return false;
    rc_rng_fill_uniform(rng, all, B * n, -1.0f, 1.0f);
    memcpy(dst, all + row0 * n, (size_t)(rows * n) * sizeof *all);
    free(all);
    return true;
}

static int build_point(const opts *o, int64_t row0, int64_t rows, point_model *m) {
    const int64_t B = o->batch, T = o->seq, F = o->input, H = o->hidden;
    *m = (point_model){0};
    m->g = rc_graph_new();
    if (!m->g) return die(NULL, "out of memory");
    m->cell = make_cell(o->cell, H, o->user_cell);
    rc_rnn_config cfg = {.return_sequences = true};
    m->layer = m->cell ? rc_rnn_new("rnn", m->cell, &cfg, NULL) : NULL;
    if (!m->layer) {
        fprintf(stderr, "rnn: cannot create cell '%s'%s\n", o->cell, o->user_cell ? " as a user cell (lstm only)" : "");
        return 1;
    }
    rc_graph *g = m->g;
    rc_rng rng;
    rc_rng_seed(&rng, o->seed);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(rows, T, F));
    if (!x) return die(g, "input");
    if (!fill_rows(&rng, rc_node_data(x), B, T * F, row0, rows)) return die(NULL, "out of memory");
    rc_rnn_call call = {.rng = &rng, .training = o->train};
    rc_rnn_out out;
    if (rc_rnn_apply(m->layer, g, x, &call, &out) != RC_OK) return die(g, "rnn_apply");
    m->output = out.output;
    if (o->train) {
        rc_node *target = rc_input(g, "target", RC_F32, RC_SHAPE(rows, T, H));
        if (!target) return die(g, "target");
        if (!fill_rows(&rng, rc_node_data(target), B, T * H, row0, rows)) return die(NULL, "out of memory");
        m->loss = rc_mean_squared_diff(g, out.output, target);
        if (!m->loss) return die(g, "loss");
    }
    return rc_graph_status(g) == RC_OK ? 0 : die(g, "graph");
}

static int run_replicas(const opts *o);

static int run_point(const opts *o) {
    if (o->replicas > 1) return run_replicas(o);
    const int64_t B = o->batch, T = o->seq, F = o->input, H = o->hidden;
    double t0 = now_sec();
    point_model pm;
    if (build_point(o, 0, B, &pm) != 0) {
        point_model_free(&pm);
        return 1;
    }
    rc_graph *g = pm.g;
    rc_cell *cell = pm.cell;
    rc_node *outs[1 + RC_MAX_CELL_PARAMS];
    int nout = 0;
    rc_node *loss = pm.loss;
    if (o->train) {
        rc_node *grads[RC_MAX_CELL_PARAMS];
        if (rc_gradients(g, loss, cell->params, cell->nparams, grads) != RC_OK) return die(g, "gradients");
        outs[nout++] = loss;
        for (int k = 0; k < cell->nparams; k++) outs[nout++] = rc_apply_gradient_descent(g, cell->params[k], grads[k], 0.01f);
    } else {
        outs[nout++] = pm.output;
    }
    if (rc_graph_status(g) != RC_OK) return die(g, "graph");
    char scope[32];
    snprintf(scope, sizeof scope, "rnn/t%lld", (long long)(T / 2));
    int per_step, fwd_per_step;
    count_scope(g, scope, &per_step, &fwd_per_step);

    double t1 = now_sec();
    rc_plan *p = rc_plan_new(g, outs, nout);
    if (!p) {
        fprintf(stderr, "rnn: %s %s H%lld B%lld T%lld: nodes %d, nodes_per_step %d, fwd_nodes_per_step %d\n",
                o->cell, o->train ? "train" : "infer", (long long)H, (long long)B, (long long)T,
                rc_graph_node_count(g), per_step, fwd_per_step);
        return die(g, "plan");
    }
    double t2 = now_sec();

    double loss_first = 0, loss_last = 0;
    for (int i = 0; i < o->warmup; i++) {
        rc_error err;
        if (rc_plan_run(p, &err) != RC_OK) return fprintf(stderr, "rnn: run: %s\n", err.message), 1;
        if (i == 0 && loss) loss_first = rc_plan_f32(p, loss)[0];
    }
    int iters = o->iters > 0 ? o->iters : 1;
    double *times = malloc((size_t)iters * sizeof *times);
    if (!times) return die(NULL, "out of memory");
    double tmin = 1e300;
    for (int i = 0; i < iters; i++) {
        double s = now_sec();
        rc_error err;
        rc_status st = rc_plan_run(p, &err);
        times[i] = now_sec() - s;
        if (st != RC_OK) return fprintf(stderr, "rnn: run: %s\n", err.message), 1;
        if (times[i] < tmin) tmin = times[i];
        if (loss && i == 0 && o->warmup == 0) loss_first = rc_plan_f32(p, loss)[0];
        if (loss) loss_last = rc_plan_f32(p, loss)[0];
    }
    double med = median(times, iters);
    free(times);

    /* What a training step cannot do without (bytes): the weights and their
     * gradients (SGD keeps no optimizer state), the input and target, and
     * per time step the activations backward must keep: LSTM i, f, g, o, c,
     * h (tanh c can be recomputed); GRU z, r, candidate, the recurrent
     * candidate term (U_h h + b), h; SimpleRNN h. Inference: weights, input,
     * output sequence. leaf_bytes: the graph's own storage of weights, input
     * and target (outside the plan's arena); (plan_bytes + leaf_bytes) /
     * needed_bytes is the overhead factor. */
    int64_t leaf = 4 * rc_cell_param_count(cell) + 4 * B * T * F + (o->train ? 4 * B * T * H : 0);
    int64_t kept = strcmp(o->cell, "lstm") == 0 ? 6 : strcmp(o->cell, "gru") == 0 ? 5 : 1;
    int64_t need = 4 * rc_cell_param_count(cell) + 4 * B * T * F;
    if (o->train)
        need += 4 * rc_cell_param_count(cell) + 4 * B * T * H + 4 * kept * B * T * H;
    else
        need += 4 * B * T * H;
    /* Matrix-product FLOPs per step (elementwise work not counted), G gates:
     * forward 2·B·T·(F + H)·G·H (input projection, recurrent products);
     * training adds dh = dz Uᵀ, dU = Σ hᵀ dz (2·B·T·H·G·H each) and
     * dW = xᵀ dz (2·B·T·F·G·H). */
    double G = (double)(strcmp(o->cell, "lstm") == 0 ? 4 : strcmp(o->cell, "gru") == 0 ? 3 : 1);
    double bt = (double)B * (double)T, gh = G * (double)H;
    double flop = 2 * bt * (double)(F + H) * gh;
    if (o->train) flop += 2 * bt * (2 * (double)H + (double)F) * gh;
    static const char *env_keys[] = {"OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"};
    printf("{\"peer\":\"recur\",\"version\":\"%s\",\"cell\":", RC_VERSION_STRING);
    json_str(o->cell);
    printf(",\"hidden\":%lld,\"batch\":%lld,\"seq\":%lld,\"input\":%lld,\"threads\":%d,\"mode\":\"%s\","
           "\"ms_per_step_median\":%.4f,\"ms_per_step_min\":%.4f,\"tokens_per_s\":%.1f,"
           "\"iters\":%d,\"warmup\":%d,\"env\":{",
           (long long)H, (long long)B, (long long)T, (long long)F, o->threads, o->train ? "train" : "infer",
           med * 1e3, tmin * 1e3, (double)(B * T) / med, iters, o->warmup);
    for (size_t k = 0; k < sizeof env_keys / sizeof env_keys[0]; k++) {
        printf("%s\"%s\":", k ? "," : "", env_keys[k]);
        json_str(getenv(env_keys[k]));
    }
    printf("},\"needed_bytes\":%lld,\"leaf_bytes\":%lld,\"plan_bytes\":%zu,\"max_rss_bytes\":%lld,\"rss_bytes\":%lld,\"nodes\":%d,"
           "\"nodes_per_step\":%d,\"fwd_nodes_per_step\":%d,\"plan_steps\":%d,\"params\":%lld,"
           "\"build_ms\":%.2f,\"plan_ms\":%.2f,\"gemm_gflop_per_step\":%.4f,\"gemm_gflops_median\":%.2f,"
           "\"gemm_gflops_best\":%.2f",
           (long long)need, (long long)leaf, rc_plan_peak_bytes(p), rss_max_bytes(), rss_now_bytes(), rc_graph_node_count(g), per_step,
           fwd_per_step, rc_plan_steps(p), (long long)rc_cell_param_count(cell), (t1 - t0) * 1e3,
           (t2 - t1) * 1e3, flop * 1e-9, flop / med * 1e-9, flop / tmin * 1e-9);
    if (loss) printf(",\"loss_first\":%.6g,\"loss_last\":%.6g", loss_first, loss_last);
    printf(",\"user_cell\":%s,\"blas\":", o->user_cell ? "true" : "false");
    json_str(rc_gemm_backend_info());
    printf("}\n");
    fflush(stdout);

    rc_plan_free(p);
    point_model_free(&pm);
    return 0;
}

/* --- --replicas N: data-parallel training in N threads ---------------------
 * recur's own data parallelism (train/comm_threads.c, what `recur train
 * --replicas` and recur.ReplicaTrainer run): N copies of the point's model,
 * each on batch / N rows in a thread of its own with single-threaded
 * kernels, stepped by an rc_trainer (SGD, lr 0.01, as above) whose weight
 * gradients are summed over the copies during the backward pass and scaled
 * by 1/N, so every copy applies the update one process would on the whole
 * batch (the loss reported is the whole batch's). A step is timed from a
 * barrier all copies pass before it to one they pass after it: the
 * slowest copy's step. */
typedef struct replica {
    const opts *o;
    rc_comm *comm;
    int rank;
    pthread_barrier_t *bar;
    double *times; /* rank 0: per timed step */
    float loss_first, loss_last;
    double wait_s, step_s; /* rc_trainer_comm_stats over the timed steps: in the collectives, in all */
    int nodes;
    long long params;
    bool failed;
    char msg[256];
} replica;

static void replica_fail(replica *r, const char *what, const char *why) {
    if (!r->failed) snprintf(r->msg, sizeof r->msg, "%s: %.200s", what, why ? why : "failed");
    r->failed = true;
    rc_comm_threads_fail(r->comm); /* nobody waits for this copy in a collective */
}

static void *replica_main(void *arg) {
    replica *r = arg;
    const opts *o = r->o;
    int n = rc_comm_size(r->comm);
    int64_t rows = o->batch / n;
    point_model pm = {0};
    rc_trainer *t = NULL;
    rc_error err = {0};
    if (build_point(o, r->rank * rows, rows, &pm) != 0) {
        replica_fail(r, "build", pm.g ? rc_graph_error(pm.g) : NULL);
    } else {
        rc_trainer_spec spec = {.loss = pm.loss, .params = pm.cell->params, .nparams = pm.cell->nparams,
                                .optim = rc_optim_defaults(RC_OPT_SGD)};
        spec.optim.lr.initial = 0.01;
        t = rc_trainer_new(pm.g, &spec);
        if (!t) replica_fail(r, "trainer", rc_graph_error(pm.g));
        else if (rc_trainer_set_comm(t, r->comm, &err) != RC_OK) replica_fail(r, "set_comm", err.message);
    }
    r->nodes = pm.g ? rc_graph_node_count(pm.g) : 0;
    r->params = pm.cell ? (long long)rc_cell_param_count(pm.cell) : 0;
    /* every copy passes every barrier, failed or not, so none is left waiting */
    int total = o->warmup + (o->iters > 0 ? o->iters : 1);
    for (int i = 0; i < total; i++) {
        pthread_barrier_wait(r->bar);
        double s = now_sec();
        float loss = 0;
        if (!r->failed && rc_trainer_step(t, &loss, &err) != RC_OK) replica_fail(r, "step", err.message);
        pthread_barrier_wait(r->bar);
        if (r->rank == 0 && i >= o->warmup) r->times[i - o->warmup] = now_sec() - s;
        if (i == 0) r->loss_first = loss;
        if (t && i == o->warmup - 1) rc_trainer_comm_stats(t, &r->wait_s, &r->step_s, NULL); /* warm-up, subtracted */
        r->loss_last = loss;
    }
    if (t) {
        double w, st;
        rc_trainer_comm_stats(t, &w, &st, NULL);
        r->wait_s = w - r->wait_s, r->step_s = st - r->step_s; /* the timed steps' */
    }
    rc_trainer_free(t);
    point_model_free(&pm);
    return NULL;
}

static int run_replicas(const opts *o) {
    const int n = o->replicas;
    const int64_t B = o->batch, T = o->seq, F = o->input, H = o->hidden;
    if (!o->train) return fprintf(stderr, "rnn: --replicas is for --mode train\n"), 2;
    if (B % n != 0)
        return fprintf(stderr, "rnn: --batch %lld is not a multiple of --replicas %d\n", (long long)B, n), 2;
    rc_comm *comms[RC_COMM_MAX_THREADS];
    rc_error err = {0};
    if (rc_comm_threads_new(n, comms, &err) != RC_OK) return fprintf(stderr, "rnn: replicas: %s\n", err.message), 1;
    int iters = o->iters > 0 ? o->iters : 1;
    double *times = calloc((size_t)iters, sizeof *times);
    replica *reps = calloc((size_t)n, sizeof *reps);
    pthread_t *th = calloc((size_t)n, sizeof *th);
    pthread_barrier_t bar;
    if (!times || !reps || !th || pthread_barrier_init(&bar, NULL, (unsigned)n) != 0) {
        fprintf(stderr, "rnn: out of memory\n");
        exit(1);
    }
    double t0 = now_sec();
    for (int r = 0; r < n; r++) {
        reps[r] = (replica){.o = o, .comm = comms[r], .rank = r, .bar = &bar, .times = times};
        if (pthread_create(&th[r], NULL, replica_main, &reps[r]) != 0) {
            fprintf(stderr, "rnn: cannot start replica %d\n", r);
            exit(1); /* the others would wait at the barrier for ever */
        }
    }
    for (int r = 0; r < n; r++) pthread_join(th[r], NULL);
    double wall = now_sec() - t0;
    int rc = 0;
    for (int r = 0; r < n; r++)
        if (reps[r].failed) {
            fprintf(stderr, "rnn: replica %d: %s\n", r, reps[r].msg);
            rc = 1;
        }
    if (rc == 0) {
        double tmin = 1e300;
        for (int i = 0; i < iters; i++) tmin = times[i] < tmin ? times[i] : tmin;
        double med = median(times, iters);
        double G = (double)(strcmp(o->cell, "lstm") == 0 ? 4 : strcmp(o->cell, "gru") == 0 ? 3 : 1);
        double flop = 2 * (double)(B * T) * (double)(F + H) * G * (double)H +
                      2 * (double)(B * T) * (2 * (double)H + (double)F) * G * (double)H;
        int64_t leaf = n * 4 * reps[0].params + 4 * B * T * F + 4 * B * T * H;
        printf("{\"peer\":\"recur\",\"version\":\"%s\",\"cell\":", RC_VERSION_STRING);
        json_str(o->cell);
        printf(",\"hidden\":%lld,\"batch\":%lld,\"seq\":%lld,\"input\":%lld,\"threads\":%d,\"replicas\":%d,"
               "\"mode\":\"train\",\"ms_per_step_median\":%.4f,\"ms_per_step_min\":%.4f,\"tokens_per_s\":%.1f,"
               "\"iters\":%d,\"warmup\":%d,\"leaf_bytes\":%lld,\"max_rss_bytes\":%lld,"
               "\"nodes\":%d,\"params\":%lld,\"wall_s\":%.2f,\"gemm_gflop_per_step\":%.4f,"
               "\"gemm_gflops_median\":%.2f,\"gemm_gflops_best\":%.2f,\"loss_first\":%.6g,\"loss_last\":%.6g,"
               "\"user_cell\":%s,\"blas\":",
               (long long)H, (long long)B, (long long)T, (long long)F, n, n, med * 1e3, tmin * 1e3,
               (double)(B * T) / med, iters, o->warmup, (long long)leaf, rss_max_bytes(), reps[0].nodes,
               reps[0].params, wall, flop * 1e-9, flop / med * 1e-9, flop / tmin * 1e-9,
               reps[0].loss_first, reps[0].loss_last, o->user_cell ? "true" : "false");
        json_str(rc_gemm_backend_info());
        /* per copy: the share of its step time spent in the collectives
         * (waiting for the other copies, and summing) */
        printf(",\"comm_wait_pct\":[");
        for (int r = 0; r < n; r++)
            printf("%s%.2f", r ? "," : "", reps[r].step_s > 0 ? 100 * reps[r].wait_s / reps[r].step_s : 0.0);
        printf("]}\n");
        fflush(stdout);
    }
    pthread_barrier_destroy(&bar);
    for (int r = 0; r < n; r++) rc_comm_free(comms[r]);
    free(th);
    free(reps);
    free(times);
    return rc;
}

static void usage(FILE *f) {
    fprintf(f, "usage: rnn [--cell lstm|gru|rnn] [--hidden H] [--batch B] [--seq T] [--input I]\n"
               "           [--threads N] [--mode train|infer] [--warmup W] [--iters N] [--seed S]\n"
               "           [--sweep] [--user-cell] [--replicas N]\n");
}

static bool parse_i64(const char *s, int64_t min, int64_t *out) {
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < min) return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    opts o = {.cell = "lstm", .hidden = 128, .batch = 32, .seq = 50, .input = 64, .threads = 1,
              .train = true, .warmup = 5, .iters = 20, .seed = 0};
    bool sweep = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n = 0;
        if (strcmp(a, "--sweep") == 0) {
            sweep = true;
            continue;
        }
        if (strcmp(a, "--user-cell") == 0) {
            o.user_cell = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return usage(stdout), 0;
        if (!v) {
            fprintf(stderr, "rnn: '%s' needs a value or is unknown\n", a);
            return usage(stderr), 2;
        }
        i++;
        bool ok = true;
        if (strcmp(a, "--cell") == 0) {
            o.cell = v;
            rc_cell *c = make_cell(v, 1, false);
            ok = c != NULL;
            rc_cell_free(c);
        } else if (strcmp(a, "--mode") == 0) {
            ok = strcmp(v, "train") == 0 || strcmp(v, "infer") == 0;
            o.train = strcmp(v, "train") == 0;
        } else if (strcmp(a, "--hidden") == 0) {
            ok = parse_i64(v, 1, &o.hidden);
        } else if (strcmp(a, "--batch") == 0) {
            ok = parse_i64(v, 1, &o.batch);
        } else if (strcmp(a, "--seq") == 0) {
            ok = parse_i64(v, 1, &o.seq);
        } else if (strcmp(a, "--input") == 0) {
            ok = parse_i64(v, 1, &o.input);
        } else if (strcmp(a, "--threads") == 0) {
            ok = parse_i64(v, 1, &n) && n <= 1024;
            o.threads = (int)n;
        } else if (strcmp(a, "--replicas") == 0) {
            ok = parse_i64(v, 1, &n) && n <= RC_COMM_MAX_THREADS;
            o.replicas = (int)n;
        } else if (strcmp(a, "--warmup") == 0) {
            ok = parse_i64(v, 0, &n) && n <= 1000000;
            o.warmup = (int)n;
        } else if (strcmp(a, "--iters") == 0) {
            ok = parse_i64(v, 1, &n) && n <= 1000000;
            o.iters = (int)n;
        } else if (strcmp(a, "--seed") == 0) {
            ok = parse_i64(v, 0, &n);
            o.seed = (uint64_t)n;
        } else {
            fprintf(stderr, "rnn: unknown argument '%s'\n", a);
            return usage(stderr), 2;
        }
        if (!ok) {
            fprintf(stderr, "rnn: bad value '%s' for %s\n", v, a);
            return usage(stderr), 2;
        }
    }
    rc_set_num_threads(o.threads);
    rc_gemm_set_backend(RC_GEMM_BLAS);
    if (!sweep) return run_point(&o);
    if (o.user_cell && strcmp(o.cell, "lstm") != 0) {
        fprintf(stderr, "rnn: --user-cell is an LSTM; use --cell lstm\n");
        return 2;
    }
    static const char *cells[] = {"lstm", "gru"};
    static const int64_t hiddens[] = {32, 128, 512}, batches[] = {1, 32};
    for (int c = 0; c < (o.user_cell ? 1 : 2); c++)
        for (int h = 0; h < 3; h++)
            for (int b = 0; b < 2; b++)
                for (int m = 0; m < 2; m++) {
                    opts p = o;
                    p.cell = cells[c];
                    p.hidden = hiddens[h];
                    p.batch = batches[b];
                    p.seq = 50;
                    p.input = 64;
                    p.train = m == 0;
                    if (run_point(&p) != 0) return 1;
                }
    return 0;
}
