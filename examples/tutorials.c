/* tutorials — what the Keras RNN tutorials teach, redone with the C API.
 *
 * Each section quotes the Keras code it mirrors, builds the same layers,
 * runs them on random data, prints the shapes Keras prints, and checks them
 * (and a few identities, e.g. the final state is the last step of the
 * sequence). The last section builds the three models of the Keras guide
 * "Working with RNNs" and prints their summaries with Keras' parameter
 * counts. docs/tutorials.md walks through it next to the Python.
 *
 * usage: tutorials        exits 1 if any shape, count or check is wrong
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <recur.h>
#include <recur/layers.h>
#include <recur/rnn.h>

static int failures;

#define CHECK(cond, ...)                                                                                       \
    do {                                                                                                       \
        if (!(cond)) {                                                                                         \
            fprintf(stderr, "tutorials: check failed (%s:%d): ", __FILE__, __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fputc('\n', stderr);                                                                               \
            failures++;                                                                                        \
        }                                                                                                      \
    } while (0)

/* --- small helpers ------------------------------------------------------------ */

/* Prints "label.shape\n(32, 4)" as the Keras docstrings do, and checks it. */
static void show_shape(const char *label, rc_node *n, rc_shape want) {
    char s[RC_SHAPE_STRLEN], w[RC_SHAPE_STRLEN];
    if (!n) {
        CHECK(false, "%s is NULL", label);
        return;
    }
    printf(">>> %s.shape\n%s\n", label, rc_shape_str(rc_node_shape(n), s, sizeof s));
    CHECK(rc_shape_eq(rc_node_shape(n), want), "%s has shape %s, expected %s", label, s,
          rc_shape_str(want, w, sizeof w));
}

/* inputs = np.random.random((B, T, I)) */
static rc_node *random_input(rc_graph *g, rc_rng *r, int64_t B, int64_t T, int64_t I) {
    rc_node *x = rc_input(g, "inputs", RC_F32, RC_SHAPE(B, T, I));
    if (x) rc_rng_fill_uniform(r, rc_node_data(x), B * T * I, 0.0f, 1.0f);
    return x;
}

static rc_rnn *gru(const char *name, int64_t units, bool return_sequences, bool return_state) {
    rc_cell_config c = rc_cell_defaults(units);
    return rc_rnn_new(name, rc_gru_cell_new(&c),
                      &(rc_rnn_config){.return_sequences = return_sequences, .return_state = return_state}, NULL);
}

static rc_rnn *lstm(const char *name, int64_t units, bool return_sequences, bool return_state, bool go_backwards) {
    rc_cell_config c = rc_cell_defaults(units);
    return rc_rnn_new(name, rc_lstm_cell_new(&c),
                      &(rc_rnn_config){.return_sequences = return_sequences, .return_state = return_state,
                                       .go_backwards = go_backwards}, NULL);
}

/* Bidirectional(LSTM(units, ...)): Keras copies the layer into forward_lstm
 * and a go_backwards backward_lstm. */
static rc_bidir *bidirectional_lstm(const char *name, int64_t units, bool return_sequences, bool return_state) {
    return rc_bidir_new(name, lstm("forward_lstm", units, return_sequences, return_state, false),
                        lstm("backward_lstm", units, return_sequences, return_state, true), RC_MERGE_CONCAT, NULL);
}

/* Plans and runs outputs once; checks every value is finite. The plan is
 * returned for reading values (caller frees). */
static rc_plan *run(rc_graph *g, rc_node *const *outs, int n) {
    if (rc_graph_error(g)) {
        CHECK(false, "graph error: %s", rc_graph_error(g));
        return NULL;
    }
    rc_plan *p = rc_plan_new(g, outs, n);
    if (!p) {
        CHECK(false, "plan: %s", rc_graph_error(g));
        return NULL;
    }
    rc_error err;
    rc_status st = rc_plan_run(p, &err);
    CHECK(st == RC_OK, "run: %s", err.message);
    for (int k = 0; k < n && st == RC_OK; k++) {
        const float *v = rc_plan_f32(p, outs[k]);
        for (int64_t i = 0; i < rc_node_numel(outs[k]); i++)
            if (!isfinite(v[i])) {
                CHECK(false, "output %d element %lld is %g", k, (long long)i, (double)v[i]);
                break;
            }
    }
    return p;
}

/* seq[:, -1, :] == state, for a (B, T, U) sequence and a (B, U) state. */
static void check_last_step(rc_plan *p, rc_node *seq, rc_node *state, const char *what) {
    if (!p) return;
    rc_shape s = rc_node_shape(seq);
    int64_t B = s.dim[0], T = s.dim[1], U = s.dim[2];
    const float *a = rc_plan_f32(p, seq), *b = rc_plan_f32(p, state);
    for (int64_t i = 0; i < B; i++)
        for (int64_t u = 0; u < U; u++)
            if (a[(i * T + T - 1) * U + u] != b[i * U + u]) {
                CHECK(false, "%s: the last step of the sequence differs from the final state", what);
                return;
            }
    printf("(%s[:, -1, :] equals the final state)\n", what);
}

/* --- 1-3. GRU: output, return_sequences, return_state --------------------------- */

static void tutorial_gru(rc_rng *r) {
    printf("\n== GRU ==\n");
    rc_graph *g = rc_graph_new();
    rc_node *inputs = random_input(g, r, 32, 10, 8);

    /* gru = keras.layers.GRU(4); output = gru(inputs) */
    printf(">>> gru = keras.layers.GRU(4)\n>>> output = gru(inputs)\n");
    rc_rnn *g1 = gru("gru", 4, false, false);
    rc_rnn_out o1;
    rc_rnn_apply(g1, g, inputs, &(rc_rnn_call){.rng = r}, &o1);
    show_shape("output", o1.output, RC_SHAPE(32, 4));

    /* gru = keras.layers.GRU(4, return_sequences=True, return_state=True)
     * whole_sequence_output, final_state = gru(inputs) */
    printf(">>> gru = keras.layers.GRU(4, return_sequences=True, return_state=True)\n"
           ">>> whole_sequence_output, final_state = gru(inputs)\n");
    rc_rnn *g2 = gru("gru_1", 4, true, true);
    rc_rnn_out o2;
    rc_rnn_apply(g2, g, inputs, &(rc_rnn_call){.rng = r}, &o2);
    show_shape("whole_sequence_output", o2.output, RC_SHAPE(32, 10, 4));
    show_shape("final_state", o2.state[0], RC_SHAPE(32, 4));

    /* return_state alone: output, final_state = GRU(4, return_state=True)(inputs);
     * for a GRU both are the last h. */
    printf(">>> output, final_state = keras.layers.GRU(4, return_state=True)(inputs)\n");
    rc_rnn *g3 = gru("gru_2", 4, false, true);
    rc_rnn_out o3;
    rc_rnn_apply(g3, g, inputs, &(rc_rnn_call){.rng = r}, &o3);
    show_shape("output", o3.output, RC_SHAPE(32, 4));
    show_shape("final_state", o3.state[0], RC_SHAPE(32, 4));

    rc_plan *p = run(g, (rc_node *[]){o1.output, o2.output, o2.state[0], o3.output, o3.state[0]}, 5);
    check_last_step(p, o2.output, o2.state[0], "whole_sequence_output");
    if (p) CHECK(memcmp(rc_plan_f32(p, o3.output), rc_plan_f32(p, o3.state[0]), 32 * 4 * sizeof(float)) == 0,
                 "GRU output and final state differ");
    int64_t n = rc_cell_param_count(rc_rnn_cell(g1));
    printf("GRU(4) on 8 features: %lld parameters = 3·U·(I + U + 2) = 3·4·(8 + 4 + 2)\n", (long long)n);
    CHECK(n == 3 * 4 * (8 + 4 + 2), "GRU(4) parameter count %lld", (long long)n);
    rc_plan_free(p);
    rc_rnn_free(g1);
    rc_rnn_free(g2);
    rc_rnn_free(g3);
    rc_graph_free(g);
}

/* --- 4. LSTM with return_sequences and return_state ---------------------------------- */

static void tutorial_lstm(rc_rng *r) {
    printf("\n== LSTM ==\n");
    rc_graph *g = rc_graph_new();
    rc_node *inputs = random_input(g, r, 32, 10, 8);

    printf(">>> lstm = keras.layers.LSTM(4)\n>>> output = lstm(inputs)\n");
    rc_rnn *l1 = lstm("lstm", 4, false, false, false);
    rc_rnn_out o1;
    rc_rnn_apply(l1, g, inputs, &(rc_rnn_call){.rng = r}, &o1);
    show_shape("output", o1.output, RC_SHAPE(32, 4));

    /* whole_seq_output, final_memory_state, final_carry_state = lstm(inputs) */
    printf(">>> lstm = keras.layers.LSTM(4, return_sequences=True, return_state=True)\n"
           ">>> whole_seq_output, final_memory_state, final_carry_state = lstm(inputs)\n");
    rc_rnn *l2 = lstm("lstm_1", 4, true, true, false);
    rc_rnn_out o2;
    rc_rnn_apply(l2, g, inputs, &(rc_rnn_call){.rng = r}, &o2);
    CHECK(o2.nstates == 2, "an LSTM has 2 states, got %d", o2.nstates);
    show_shape("whole_seq_output", o2.output, RC_SHAPE(32, 10, 4));
    show_shape("final_memory_state", o2.state[0], RC_SHAPE(32, 4)); /* h */
    show_shape("final_carry_state", o2.state[1], RC_SHAPE(32, 4));  /* c */

    rc_plan *p = run(g, (rc_node *[]){o1.output, o2.output, o2.state[0], o2.state[1]}, 4);
    check_last_step(p, o2.output, o2.state[0], "whole_seq_output");
    int64_t n = rc_cell_param_count(rc_rnn_cell(l1));
    printf("LSTM(4) on 8 features: %lld parameters = 4·U·(I + U + 1) = 4·4·(8 + 4 + 1)\n", (long long)n);
    CHECK(n == 4 * 4 * (8 + 4 + 1), "LSTM(4) parameter count %lld", (long long)n);
    rc_plan_free(p);
    rc_rnn_free(l1);
    rc_rnn_free(l2);
    rc_graph_free(g);
}

/* --- 5. Bidirectional ------------------------------------------------------------- */

static void tutorial_bidirectional(rc_rng *r) {
    printf("\n== Bidirectional ==\n");
    rc_graph *g = rc_graph_new();
    rc_node *inputs = random_input(g, r, 32, 10, 8);

    printf(">>> output = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))(inputs)\n");
    rc_bidir *b1 = bidirectional_lstm("bidirectional", 4, true, false);
    rc_bidir_out o1;
    rc_bidir_apply(b1, g, inputs, &(rc_rnn_call){.rng = r}, &o1);
    show_shape("output", o1.output, RC_SHAPE(32, 10, 8)); /* forward and backward concatenated */

    printf(">>> output = keras.layers.Bidirectional(keras.layers.LSTM(4))(inputs)\n");
    rc_bidir *b2 = bidirectional_lstm("bidirectional_1", 4, false, false);
    rc_bidir_out o2;
    rc_bidir_apply(b2, g, inputs, &(rc_rnn_call){.rng = r}, &o2);
    show_shape("output", o2.output, RC_SHAPE(32, 8));

    printf(">>> output, h_f, c_f, h_b, c_b = keras.layers.Bidirectional(\n"
           "...     keras.layers.LSTM(4, return_state=True))(inputs)\n");
    rc_bidir *b3 = bidirectional_lstm("bidirectional_2", 4, false, true);
    rc_bidir_out o3;
    rc_bidir_apply(b3, g, inputs, &(rc_rnn_call){.rng = r}, &o3);
    CHECK(o3.nstates == 4, "a bidirectional LSTM has 4 states, got %d", o3.nstates);
    show_shape("output", o3.output, RC_SHAPE(32, 8));
    const char *names[4] = {"h_f", "c_f", "h_b", "c_b"};
    for (int k = 0; k < 4 && k < o3.nstates; k++) show_shape(names[k], o3.state[k], RC_SHAPE(32, 4));

    rc_plan *p = run(g, (rc_node *[]){o1.output, o2.output, o3.output, o3.state[0], o3.state[2]}, 5);
    if (p) {
        /* output = concat(h_f, h_b) when not returning sequences */
        const float *y = rc_plan_f32(p, o3.output), *hf = rc_plan_f32(p, o3.state[0]), *hb = rc_plan_f32(p, o3.state[2]);
        bool same = true;
        for (int i = 0; i < 32; i++)
            for (int u = 0; u < 4; u++) same &= y[i * 8 + u] == hf[i * 4 + u] && y[i * 8 + 4 + u] == hb[i * 4 + u];
        CHECK(same, "Bidirectional output is not concat(h_f, h_b)");
        printf("(output equals concat(h_f, h_b))\n");
    }
    int64_t n = rc_cell_param_count(rc_rnn_cell(rc_bidir_forward(b1))) +
                rc_cell_param_count(rc_rnn_cell(rc_bidir_backward(b1)));
    printf("Bidirectional(LSTM(4)) on 8 features: %lld parameters = 2 · 4·4·(8 + 4 + 1)\n", (long long)n);
    CHECK(n == 2 * 4 * 4 * (8 + 4 + 1), "Bidirectional(LSTM(4)) parameter count %lld", (long long)n);
    rc_plan_free(p);
    rc_bidir_free(b1);
    rc_bidir_free(b2);
    rc_bidir_free(b3);
    rc_graph_free(g);
}

/* --- 6. model.summary() ------------------------------------------------------------------ */

typedef struct row {
    const char *name, *type;
    rc_node *output;
    int64_t params;
} row;

/* 1234567 -> "1,234,567" */
static const char *thousands(int64_t v, char *buf, size_t len) {
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t n = strlen(raw), k = 0;
    for (size_t i = 0; i < n && k + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = 0;
    return buf;
}

/* Keras' readable_memory_size: 1024 steps, two decimals. */
static const char *memory(double bytes, char *buf, size_t len) {
    const char *units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (u < 5 && bytes / 1024 >= 1) bytes /= 1024, u++;
    snprintf(buf, len, "%.2f %s", bytes, units[u]);
    return buf;
}

static void rule(const char *l, const char *fill, const char *mid, const char *r) {
    const int w[3] = {33, 24, 15};
    fputs(l, stdout);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < w[c]; i++) fputs(fill, stdout);
        fputs(c < 2 ? mid : r, stdout);
    }
    fputc('\n', stdout);
}

/* The Keras 3 model.summary() table; the batch axis prints as None. Returns
 * the total, and checks it against every parameter of the graph. */
static int64_t summary(rc_graph *g, const char *model, const row *rows, int n) {
    printf("Model: \"%s\"\n", model);
    rule("┏", "━", "┳", "┓");
    printf("┃ %-31s ┃ %-22s ┃ %13s ┃\n", "Layer (type)", "Output Shape", "Param #");
    rule("┡", "━", "╇", "┩");
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        char lt[96], sh[96] = "(None", num[32];
        snprintf(lt, sizeof lt, "%s (%s)", rows[i].name, rows[i].type);
        rc_shape s = rc_node_shape(rows[i].output);
        for (int k = 1; k < s.ndim; k++) snprintf(sh + strlen(sh), sizeof sh - strlen(sh), ", %lld", (long long)s.dim[k]);
        strcat(sh, ")");
        printf("│ %-31s │ %-22s │ %13s │\n", lt, sh, thousands(rows[i].params, num, sizeof num));
        if (i + 1 < n) rule("├", "─", "┼", "┤");
        total += rows[i].params;
    }
    rule("└", "─", "┴", "┘");
    char t[32], m[32];
    printf(" Total params: %s (%s)\n", thousands(total, t, sizeof t), memory(4.0 * (double)total, m, sizeof m));
    printf(" Trainable params: %s (%s)\n", t, m);
    printf(" Non-trainable params: 0 (0.00 B)\n");
    rc_node *ps[256];
    int np = rc_graph_params(g, ps, 256);
    int64_t in_graph = 0;
    for (int i = 0; i < np && i < 256; i++) in_graph += rc_node_numel(ps[i]);
    CHECK(in_graph == total, "%s: the graph holds %lld parameters, the summary %lld", model, (long long)in_graph,
          (long long)total);
    return total;
}

static int64_t rnn_params(rc_rnn *l) { return rc_cell_param_count(rc_rnn_cell(l)); }
static int64_t bidir_params(rc_bidir *b) {
    return rnn_params(rc_bidir_forward(b)) + rnn_params(rc_bidir_backward(b));
}

/* ids (B, T) uniform in [0, V) */
static rc_node *random_ids(rc_graph *g, rc_rng *r, int64_t B, int64_t T, int64_t V) {
    rc_node *ids = rc_input(g, "ids", RC_I32, RC_SHAPE(B, T));
    if (ids) {
        int32_t *v = rc_node_data(ids);
        for (int64_t i = 0; i < B * T; i++) v[i] = (int32_t)rc_rng_below(r, (uint64_t)V);
    }
    return ids;
}

static void tutorial_summaries(rc_rng *r) {
    enum { B = 2, T = 20 };
    printf("\n== model.summary() ==\n");
    {
        /* model = keras.Sequential()
         * model.add(layers.Embedding(input_dim=1000, output_dim=64))
         * model.add(layers.LSTM(128))
         * model.add(layers.Dense(10)) */
        rc_graph *g = rc_graph_new();
        rc_embedding *e = rc_embedding_new("embedding", 1000, 64, false);
        rc_rnn *l = lstm("lstm", 128, false, false, false);
        rc_dense *d = rc_dense_new("dense", 10, RC_ACT_LINEAR, true);
        rc_node *x = rc_embedding_apply(e, g, random_ids(g, r, B, T, 1000), r, NULL);
        rc_rnn_out o;
        rc_rnn_apply(l, g, x, &(rc_rnn_call){.rng = r}, &o);
        rc_node *y = rc_dense_apply(d, g, o.output, r);
        rc_plan_free(run(g, &y, 1));
        if (!rc_graph_error(g)) {
            row rows[] = {{"embedding", "Embedding", x, rc_embedding_param_count(e)},
                          {"lstm", "LSTM", o.output, rnn_params(l)},
                          {"dense", "Dense", y, rc_dense_param_count(d)}};
            int64_t tot = summary(g, "sequential", rows, 3);
            CHECK(tot == 164106, "Embedding-LSTM-Dense: %lld parameters, Keras has 164,106", (long long)tot);
        }
        rc_embedding_free(e);
        rc_rnn_free(l);
        rc_dense_free(d);
        rc_graph_free(g);
    }
    {
        /* model.add(layers.Embedding(input_dim=1000, output_dim=64))
         * model.add(layers.GRU(256, return_sequences=True))
         * model.add(layers.SimpleRNN(128))
         * model.add(layers.Dense(10)) */
        rc_graph *g = rc_graph_new();
        rc_embedding *e = rc_embedding_new("embedding_1", 1000, 64, false);
        rc_rnn *gr = gru("gru", 256, true, false);
        rc_cell_config sc = rc_cell_defaults(128);
        rc_rnn *s = rc_rnn_new("simple_rnn", rc_simple_rnn_cell_new(&sc), NULL, NULL);
        rc_dense *d = rc_dense_new("dense_1", 10, RC_ACT_LINEAR, true);
        rc_node *x = rc_embedding_apply(e, g, random_ids(g, r, B, T, 1000), r, NULL);
        rc_rnn_out o1, o2;
        rc_rnn_apply(gr, g, x, &(rc_rnn_call){.rng = r}, &o1);
        rc_rnn_apply(s, g, o1.output, &(rc_rnn_call){.rng = r}, &o2);
        rc_node *y = rc_dense_apply(d, g, o2.output, r);
        rc_plan_free(run(g, &y, 1));
        if (!rc_graph_error(g)) {
            row rows[] = {{"embedding_1", "Embedding", x, rc_embedding_param_count(e)},
                          {"gru", "GRU", o1.output, rnn_params(gr)},
                          {"simple_rnn", "SimpleRNN", o2.output, rnn_params(s)},
                          {"dense_1", "Dense", y, rc_dense_param_count(d)}};
            int64_t tot = summary(g, "sequential_1", rows, 4);
            CHECK(tot == 361866, "Embedding-GRU-SimpleRNN-Dense: %lld parameters, Keras has 361,866", (long long)tot);
        }
        rc_embedding_free(e);
        rc_rnn_free(gr);
        rc_rnn_free(s);
        rc_dense_free(d);
        rc_graph_free(g);
    }
    {
        /* model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10)))
         * model.add(layers.Bidirectional(layers.LSTM(32)))
         * model.add(layers.Dense(10)) */
        rc_graph *g = rc_graph_new();
        rc_bidir *b1 = bidirectional_lstm("bidirectional", 64, true, false);
        rc_bidir *b2 = bidirectional_lstm("bidirectional_1", 32, false, false);
        rc_dense *d = rc_dense_new("dense_2", 10, RC_ACT_LINEAR, true);
        rc_bidir_out o1, o2;
        rc_bidir_apply(b1, g, random_input(g, r, B, 5, 10), &(rc_rnn_call){.rng = r}, &o1);
        rc_bidir_apply(b2, g, o1.output, &(rc_rnn_call){.rng = r}, &o2);
        rc_node *y = rc_dense_apply(d, g, o2.output, r);
        rc_plan_free(run(g, &y, 1));
        if (!rc_graph_error(g)) {
            row rows[] = {{"bidirectional", "Bidirectional", o1.output, bidir_params(b1)},
                          {"bidirectional_1", "Bidirectional", o2.output, bidir_params(b2)},
                          {"dense_2", "Dense", y, rc_dense_param_count(d)}};
            int64_t tot = summary(g, "sequential_2", rows, 3);
            CHECK(tot == 80266, "Bidirectional model: %lld parameters, Keras has 80,266", (long long)tot);
        }
        rc_bidir_free(b1);
        rc_bidir_free(b2);
        rc_dense_free(d);
        rc_graph_free(g);
    }
}

int main(void) {
    rc_rng r;
    rc_rng_seed(&r, 2024);
    printf(">>> inputs = np.random.random((32, 10, 8))\n");
    tutorial_gru(&r);
    tutorial_lstm(&r);
    tutorial_bidirectional(&r);
    tutorial_summaries(&r);
    if (failures) {
        fprintf(stderr, "tutorials: %d check(s) failed\n", failures);
        return 1;
    }
    printf("\nall tutorial checks passed\n");
    return 0;
}
