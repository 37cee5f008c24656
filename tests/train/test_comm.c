/* Communicators and the trainer's gradient reduction, without MPI: the
 * in-process engine (rc_comm_threads_new: ranks that are threads of this
 * process), so the library's part of data parallelism (rc_trainer_set_comm:
 * broadcast, agreement, buckets through the plan's hooks, 1/N scaling) is
 * tested in every build, sanitizers included. The MPI engine and the
 * command are tested by tests/frontends/mpi/test_mpi.sh, the command's
 * replicas (recur train --replicas) by the CLI tests. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* --- the model: a small char LSTM on fixed ids ------------------------------------ */

enum { V = 11, E = 5, U = 7, T = 6, BG = 8, STEPS = 5 };

typedef struct run {
    int rank, size;        /* this rank of size (size 1: one process) */
    int units;             /* model size (a rank may be given another) */
    uint64_t seed;         /* initialisation (rank 0's wins when shared) */
    rc_comm *comm;
    rc_status set_status;
    char set_msg[512];
    float loss[STEPS];
    float *params;         /* all parameters after training, concatenated */
    int64_t nparams;
} run;

static int32_t ids[BG * (T + 1) * STEPS];

static void make_ids(void) {
    rc_rng r;
    rc_rng_seed(&r, 99);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) ids[i] = (int32_t)rc_rng_below(&r, V);
}

static void *train(void *arg) {
    run *R = arg;
    int64_t B = BG / R->size;
    rc_lm_config lc = {.cell = RC_LM_LSTM, .vocab = V, .embed = E, .units = R->units, .layers = 1};
    rc_model *m = rc_lm_model_new(&lc);
    rc_graph *g = rc_graph_new();
    rc_rng rng;
    rc_rng_seed(&rng, R->seed);
    rc_lm_branch br;
    cr_assert_eq(rc_lm_branch_new(m, g, B, T, false, &rng, &br), RC_OK, "%s", rc_graph_error(g));
    rc_optim_config oc = rc_optim_defaults(RC_OPT_ADAM);
    oc.lr.initial = 0.01;
    oc.global_clipnorm = 0.5; /* small: clipping is active and must see the reduced norm */
    rc_trainer *t = rc_trainer_new(g, &(rc_trainer_spec){.loss = br.loss, .optim = oc});
    cr_assert(t, "%s", rc_graph_error(g));
    rc_error e = {0};
    R->set_status = rc_trainer_set_comm(t, R->comm, &e);
    snprintf(R->set_msg, sizeof R->set_msg, "%.500s", e.message);
    if (R->set_status == RC_OK) {
        for (int s = 0; s < STEPS; s++) {
            /* rows [rank * B, (rank + 1) * B) of the global batch of step s */
            int32_t *x = rc_node_data(br.x), *y = rc_node_data(br.y);
            for (int64_t b = 0; b < B; b++) {
                const int32_t *w = ids + ((size_t)s * BG + (size_t)(R->rank * B + b)) * (T + 1);
                memcpy(x + b * T, w, T * sizeof *x);
                memcpy(y + b * T, w + 1, T * sizeof *y);
            }
            cr_assert_eq(rc_trainer_step(t, &R->loss[s], &e), RC_OK, "%s", e.message);
        }
        int np = rc_trainer_param_count(t);
        R->nparams = 0;
        for (int i = 0; i < np; i++) R->nparams += rc_node_numel(rc_trainer_param(t, i));
        R->params = malloc((size_t)R->nparams * sizeof(float));
        for (int i = 0, at = 0; i < np; i++) {
            rc_node *p = rc_trainer_param(t, i);
            memcpy(R->params + at, rc_node_data(p), (size_t)rc_node_numel(p) * sizeof(float));
            at += (int)rc_node_numel(p);
        }
    }
    rc_trainer_free(t);
    rc_model_free(m);
    rc_graph_free(g);
    return NULL;
}

/* fn(arg[k]) in a thread for each of two ranks of one threads-engine
 * group, *comm[k] set to rank k's communicator first. staged: the engine
 * presented as one whose ranks do not share memory (rc_comm_ops.in_place
 * false), so the trainer gathers the gradients into buckets as it does
 * for MPI. */
static void two_threads(void *(*fn)(void *), void *const arg[2], rc_comm **const comm[2], bool staged) {
    rc_comm *comms[2];
    cr_assert_eq(rc_comm_threads_new(2, comms, NULL), RC_OK);
    cr_assert(comms[0]->ops->in_place, "the threads engine reduces in place");
    const rc_comm_ops *own = comms[0]->ops;
    rc_comm_ops copy = *own;
    copy.in_place = false;
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        if (staged) comms[k]->ops = &copy;
        *comm[k] = comms[k];
        pthread_create(&th[k], NULL, fn, arg[k]);
    }
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 2; k++) comms[k]->ops = own, rc_comm_free(comms[k]);
}

static void two_ranks_as(run r[2], bool staged) {
    for (int k = 0; k < 2; k++) r[k].rank = k, r[k].size = 2;
    two_threads(train, (void *[]){&r[0], &r[1]}, (rc_comm **[]){&r[0].comm, &r[1].comm}, staged);
}

static void two_ranks(run r[2]) { two_ranks_as(r, false); }

Test(comm, two_ranks_train_as_one_process_on_the_global_batch) {
    rc_set_num_threads(1);
    make_ids();
    run one = {.rank = 0, .size = 1, .units = U, .seed = 7, .comm = NULL};
    train(&one);
    cr_assert_eq(one.set_status, RC_OK);
    /* rank 1 starts from other weights: the broadcast gives it rank 0's */
    run r[2] = {{.units = U, .seed = 7}, {.units = U, .seed = 8}};
    two_ranks(r);
    for (int k = 0; k < 2; k++) cr_assert_eq(r[k].set_status, RC_OK, "rank %d: %s", k, r[k].set_msg);
    cr_assert_eq(one.nparams, r[0].nparams);
    /* Tolerance: float32 gradient rows summed in another order (B*T = 48
     * terms: ~48 * 2^-24 = 3e-6 relative), Adam moving each parameter by
     * lr * that per step at most: 5 * 0.01 * 3e-6 = 1.5e-7, plus the
     * parameters' own rounding (values < 2: 1.2e-7); 1e-6 leaves a margin. */
    double worst = 0;
    for (int64_t i = 0; i < one.nparams; i++) {
        cr_assert_eq(r[0].params[i], r[1].params[i], "ranks differ at %lld", (long long)i);
        double d = fabs((double)one.params[i] - r[0].params[i]);
        if (d > worst) worst = d;
    }
    cr_assert_leq(worst, 1e-6, "largest difference from one process %g", worst);
    for (int s = 0; s < STEPS; s++) {
        cr_assert_float_eq(r[0].loss[s], one.loss[s], 1e-5f * one.loss[s], "step %d", s);
        cr_assert_eq(r[0].loss[s], r[1].loss[s]);
    }
    /* and it can fail: one process on half the batch trains elsewhere */
    run half = {.rank = 0, .size = 2, .units = U, .seed = 7, .comm = NULL};
    train(&half);
    double far = 0;
    for (int64_t i = 0; i < one.nparams; i++) far = fmax(far, fabs((double)one.params[i] - half.params[i]));
    cr_assert_gt(far, 1e-3, "half a batch differs by only %g", far);
    free(one.params), free(half.params), free(r[0].params), free(r[1].params);
}

/* The two ways of reducing (in place, gradient by gradient; staged in
 * buckets) add the same numbers in the same order (rank order, per
 * element) and scale them once: the same bits. */
Test(comm, in_place_and_staged_reductions_give_the_same_bits) {
    rc_set_num_threads(1);
    make_ids();
    run a[2] = {{.units = U, .seed = 7}, {.units = U, .seed = 8}}, b[2] = {{.units = U, .seed = 7}, {.units = U, .seed = 8}};
    two_ranks_as(a, false);
    two_ranks_as(b, true);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(a[k].set_status, RC_OK, "%s", a[k].set_msg);
        cr_assert_eq(b[k].set_status, RC_OK, "%s", b[k].set_msg);
    }
    cr_assert_eq(a[0].nparams, b[0].nparams);
    cr_assert_eq(memcmp(a[0].params, b[0].params, (size_t)a[0].nparams * sizeof(float)), 0);
    cr_assert_eq(memcmp(a[1].params, b[1].params, (size_t)a[0].nparams * sizeof(float)), 0);
    for (int s = 0; s < STEPS; s++) cr_assert_eq(a[0].loss[s], b[0].loss[s], "step %d", s);
    for (int k = 0; k < 2; k++) free(a[k].params), free(b[k].params);
}

/* Parameters that share a gradient's storage: pred = x (a + b) gives a
 * and b one gradient node (autodiff hands both the same d(a + b)).
 * Reduced in place that storage would be summed twice, the second time
 * while the other replica is still scaling the first sum; the trainer
 * gives the second gradient a copy of its own (trainer.c own_buffer), and
 * the replicas train as one process on the global batch. */
enum { SN = 64, SR = 2, SSTEPS = 10 };

typedef struct shared_run {
    int rank, size;
    rc_comm *comm;
    float a[SN], b[SN];
} shared_run;

static void *train_shared(void *arg) {
    shared_run *R = arg;
    int64_t rows = SR * 2 / R->size;
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(rows, SN)), *y = rc_input(g, "y", RC_F32, RC_SHAPE(rows, SN));
    rc_node *a = rc_param(g, "a", RC_SHAPE(SN)), *b = rc_param(g, "b", RC_SHAPE(SN));
    rc_node *loss = rc_loss_mse(g, rc_mul(g, x, rc_add(g, a, b)), y, NULL);
    float *xa = rc_node_data(x), *ya = rc_node_data(y), *pa = rc_node_data(a), *pb = rc_node_data(b);
    for (int64_t r = 0; r < rows; r++)
        for (int k = 0; k < SN; k++) {
            int64_t gr = R->rank * rows + r; /* row of the global batch */
            xa[r * SN + k] = 0.5f + 0.01f * (float)((gr * 7 + k * 3) % 11);
            ya[r * SN + k] = 1.0f - 0.02f * (float)((gr * 5 + k) % 13);
        }
    for (int k = 0; k < SN; k++) pa[k] = 0.1f * (float)(k % 5), pb[k] = -0.05f * (float)(k % 3);
    rc_optim_config oc = rc_optim_defaults(RC_OPT_SGD);
    oc.lr.initial = 0.2;
    rc_trainer *t = rc_trainer_new(g, &(rc_trainer_spec){.loss = loss, .params = (rc_node *[]){a, b}, .nparams = 2,
                                                        .optim = oc});
    cr_assert(t, "%s", rc_graph_error(g));
    rc_error e = {0};
    if (R->comm) cr_assert_eq(rc_trainer_set_comm(t, R->comm, &e), RC_OK, "%s", e.message);
    for (int s = 0; s < SSTEPS; s++) cr_assert_eq(rc_trainer_step(t, NULL, &e), RC_OK, "%s", e.message);
    memcpy(R->a, pa, sizeof R->a);
    memcpy(R->b, pb, sizeof R->b);
    rc_trainer_free(t);
    rc_graph_free(g);
    return NULL;
}

Test(comm, parameters_sharing_a_gradient_train_as_one_process) {
    rc_set_num_threads(1);
    shared_run one = {.rank = 0, .size = 1};
    train_shared(&one);
    shared_run r[2] = {{.rank = 0, .size = 2}, {.rank = 1, .size = 2}};
    two_threads(train_shared, (void *[]){&r[0], &r[1]}, (rc_comm **[]){&r[0].comm, &r[1].comm}, false);
    /* the sum over 2 ranks of 2-row means vs one 4-row mean: rounding
     * (values ~1, 10 SGD steps of lr 0.2) */
    for (int k = 0; k < SN; k++) {
        cr_assert_eq(r[0].a[k], r[1].a[k]);
        cr_assert_float_eq(r[0].a[k], one.a[k], 1e-5f, "a[%d]: %g vs %g", k, r[0].a[k], one.a[k]);
        cr_assert_float_eq(r[0].b[k], one.b[k], 1e-5f, "b[%d]: %g vs %g", k, r[0].b[k], one.b[k]);
    }
}

/* A parameter whose gradient is storage backward reads further: with one
 * row a replica, pos (1, T, E) added to table[ids] (1, T, E) gets the
 * sum's dy itself, which the gather's backward then scatters by this
 * replica's ids. Were dy replaced by its mean over the replicas at its
 * first reader (the scatter), the table's gradient would take the other
 * replica's rows at this one's ids; the trainer gives such a gradient its
 * own copy (trainer.c own_buffer), in place and staged alike. */
enum { PV = 5, PT = 3, PE = 4 };

typedef struct pos_run {
    int rank, size;
    rc_comm *comm;
    float table[PV * PE], pos[PT * PE];
} pos_run;

static void *train_pos(void *arg) {
    pos_run *R = arg;
    int64_t rows = 2 / R->size;
    rc_graph *g = rc_graph_new();
    rc_node *tok = rc_input(g, "ids", RC_I32, RC_SHAPE(rows, PT)), *y = rc_input(g, "y", RC_F32, RC_SHAPE(rows, PT, PE));
    rc_node *table = rc_param(g, "table", RC_SHAPE(PV, PE)), *pos = rc_param(g, "pos", RC_SHAPE(1, PT, PE));
    rc_node *loss = rc_loss_mse(g, rc_add(g, rc_gather(g, table, tok), pos), y, NULL);
    static const int32_t all_ids[2][PT] = {{0, 1, 2}, {2, 3, 2}};
    int32_t *ia = rc_node_data(tok);
    float *ya = rc_node_data(y), *ta = rc_node_data(table), *pa = rc_node_data(pos);
    for (int64_t r = 0; r < rows; r++)
        for (int k = 0; k < PT; k++) {
            int64_t gr = R->rank * rows + r;
            ia[r * PT + k] = all_ids[gr][k];
            for (int e = 0; e < PE; e++) ya[(r * PT + k) * PE + e] = (float)((gr * 3 + k * 2 + e) % 7) * 0.25f;
        }
    for (int i = 0; i < PV * PE; i++) ta[i] = 0.05f * (float)(i % 9);
    for (int i = 0; i < PT * PE; i++) pa[i] = -0.03f * (float)(i % 4);
    rc_optim_config oc = rc_optim_defaults(RC_OPT_SGD);
    oc.lr.initial = 0.5;
    rc_trainer *t = rc_trainer_new(g, &(rc_trainer_spec){.loss = loss, .params = (rc_node *[]){table, pos},
                                                        .nparams = 2, .optim = oc});
    cr_assert(t, "%s", rc_graph_error(g));
    rc_error e = {0};
    if (R->comm) cr_assert_eq(rc_trainer_set_comm(t, R->comm, &e), RC_OK, "%s", e.message);
    for (int s = 0; s < 8; s++) cr_assert_eq(rc_trainer_step(t, NULL, &e), RC_OK, "%s", e.message);
    memcpy(R->table, ta, sizeof R->table);
    memcpy(R->pos, pa, sizeof R->pos);
    rc_trainer_free(t);
    rc_graph_free(g);
    return NULL;
}

static void pos_two_ranks(pos_run r[2], bool staged) {
    for (int k = 0; k < 2; k++) r[k] = (pos_run){.rank = k, .size = 2};
    two_threads(train_pos, (void *[]){&r[0], &r[1]}, (rc_comm **[]){&r[0].comm, &r[1].comm}, staged);
}

Test(comm, a_gradient_that_backward_reads_further_is_reduced_after_its_readers) {
    rc_set_num_threads(1);
    pos_run one = {.rank = 0, .size = 1};
    train_pos(&one);
    for (int staged = 0; staged < 2; staged++) {
        pos_run r[2];
        pos_two_ranks(r, staged);
        for (int i = 0; i < PV * PE; i++) {
            cr_assert_eq(r[0].table[i], r[1].table[i]);
            cr_assert_float_eq(r[0].table[i], one.table[i], 1e-5f, "%s: table[%d]: %g vs %g",
                               staged ? "staged" : "in place", i, r[0].table[i], one.table[i]);
        }
        for (int i = 0; i < PT * PE; i++)
            cr_assert_float_eq(r[0].pos[i], one.pos[i], 1e-5f, "%s: pos[%d]: %g vs %g", staged ? "staged" : "in place",
                               i, r[0].pos[i], one.pos[i]);
    }
}

Test(comm, ranks_with_different_models_are_refused_on_every_rank) {
    rc_set_num_threads(1);
    make_ids();
    run r[2] = {{.units = U, .seed = 7}, {.units = U + 1, .seed = 7}};
    two_ranks(r);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(r[k].set_status, RC_ERR_ARG, "rank %d", k);
        cr_assert(strstr(r[k].set_msg, "ranks disagree on the model"), "%s", r[k].set_msg);
        cr_assert(strstr(r[k].set_msg, "(1)"), "%s", r[k].set_msg);
    }
}

Test(comm, the_single_process_communicator) {
    rc_comm *c = rc_comm_single();
    cr_assert_eq(rc_comm_rank(c), 0);
    cr_assert_eq(rc_comm_size(c), 1);
    cr_assert_str_eq(rc_comm_name(c), "single");
    float v[3] = {1, 2, 3};
    cr_assert_eq(rc_comm_allreduce_f32(c, v, 3, NULL), RC_OK);
    cr_assert_eq(v[2], 3.0f);
    rc_error e;
    cr_assert_eq(rc_comm_iallreduce_f32(c, v, 3, RC_COMM_MAX_REQUESTS, &e), RC_ERR_ARG);
    cr_assert_eq(rc_comm_broadcast(c, v, sizeof v, 1, &e), RC_ERR_ARG);
    cr_assert_eq(rc_comm_allreduce_f32(NULL, v, 3, &e), RC_ERR_ARG);
    cr_assert_eq(rc_comm_check_same(c, v, sizeof v, "x", &e), RC_OK);
    cr_assert_eq(rc_fnv1a(RC_FNV_OFFSET, "a", 1), 0xaf63dc4c8601ec8cull); /* FNV-1a 64 of "a" */
    rc_comm_free(c); /* static: nothing happens */
}

/* --- the engine itself: 3 replicas ------------------------------------------------ */

enum { NR = 3, LEN = 1001 };

typedef struct rep {
    rc_comm *c;
    float a[LEN], b[LEN];
    double d[5];
    char bytes[16];
    rc_status st[6];
} rep;

static void *replica(void *arg) {
    rep *R = arg;
    int r = rc_comm_rank(R->c);
    for (int j = 0; j < LEN; j++) R->a[j] = (float)(r + 1) * 0.1f * (float)j, R->b[j] = 1.0f / (float)(r + j + 1);
    for (int j = 0; j < 5; j++) R->d[j] = r * 1e-17 + 1.0;
    snprintf(R->bytes, sizeof R->bytes, "from %d", r);
    /* two non-blocking sums in flight, waited in the other order */
    R->st[0] = rc_comm_iallreduce_f32(R->c, R->a, LEN, 3, NULL);
    R->st[1] = rc_comm_iallreduce_f32(R->c, R->b, LEN, 0, NULL);
    R->st[2] = rc_comm_wait(R->c, 0, NULL);
    R->st[3] = rc_comm_allreduce_f64(R->c, R->d, 5, NULL);
    R->st[4] = rc_comm_wait(R->c, 3, NULL);
    R->st[5] = rc_comm_broadcast(R->c, R->bytes, sizeof R->bytes, 2, NULL);
    rc_comm_barrier(R->c, NULL);
    return NULL;
}

Test(comm, threads_engine_sums_in_one_order_and_every_replica_gets_the_same_bits) {
    rc_comm *comms[NR];
    cr_assert_eq(rc_comm_threads_new(NR, comms, NULL), RC_OK);
    cr_assert_str_eq(rc_comm_name(comms[1]), "threads");
    static rep R[NR];
    pthread_t th[NR];
    for (int r = 0; r < NR; r++) {
        R[r].c = comms[r];
        cr_assert_eq(rc_comm_rank(comms[r]), r);
        cr_assert_eq(rc_comm_size(comms[r]), NR);
        pthread_create(&th[r], NULL, replica, &R[r]);
    }
    for (int r = 0; r < NR; r++) pthread_join(th[r], NULL);
    for (int r = 0; r < NR; r++) {
        for (int k = 0; k < 6; k++) cr_assert_eq(R[r].st[k], RC_OK, "replica %d call %d", r, k);
        cr_assert_eq(memcmp(R[r].a, R[0].a, sizeof R[0].a), 0);
        cr_assert_eq(memcmp(R[r].b, R[0].b, sizeof R[0].b), 0);
        cr_assert_str_eq(R[r].bytes, "from 2");
        /* 1 + 1e-17 + 1 + 2e-17 + 1 in double, in rank order */
        cr_assert_eq(R[r].d[4], (1.0 + (1.0 + 1e-17)) + (1.0 + 2e-17));
    }
    for (int j = 0; j < LEN; j++) {
        /* rank order: ((x0 + x1) + x2), in float */
        float a = (0.1f * (float)j + 0.2f * (float)j) + 0.3f * (float)j;
        float b = (1.0f / (float)(j + 1) + 1.0f / (float)(j + 2)) + 1.0f / (float)(j + 3);
        cr_assert_eq(R[0].a[j], a, "a[%d]", j);
        cr_assert_eq(R[0].b[j], b, "b[%d]", j);
    }
    for (int r = 0; r < NR; r++) rc_comm_free(comms[r]);
    rc_error e;
    cr_assert_eq(rc_comm_threads_new(0, comms, &e), RC_ERR_ARG);
    cr_assert_eq(rc_comm_threads_new(RC_COMM_MAX_THREADS + 1, comms, &e), RC_ERR_ARG);
}

static void *mismatched(void *arg) {
    rep *R = arg;
    int r = rc_comm_rank(R->c);
    rc_error e;
    R->st[0] = rc_comm_allreduce_f32(R->c, R->a, r == 1 ? LEN - 1 : LEN, &e);
    R->st[1] = rc_comm_allreduce_f32(R->c, R->a, LEN, &e); /* and the next call works */
    return NULL;
}

Test(comm, threads_engine_refuses_replicas_that_disagree_on_a_size) {
    rc_comm *comms[NR];
    cr_assert_eq(rc_comm_threads_new(NR, comms, NULL), RC_OK);
    static rep R[NR];
    pthread_t th[NR];
    for (int r = 0; r < NR; r++) R[r].c = comms[r], pthread_create(&th[r], NULL, mismatched, &R[r]);
    for (int r = 0; r < NR; r++) pthread_join(th[r], NULL);
    for (int r = 0; r < NR; r++) {
        cr_assert_eq(R[r].st[0], RC_ERR_STATE, "replica %d", r);
        cr_assert_eq(R[r].st[1], RC_OK, "replica %d", r);
    }
    for (int r = 0; r < NR; r++) rc_comm_free(comms[r]);
}
