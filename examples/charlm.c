/* charlm — the model of the README's demo (`recur train --corpus
 * fortunes`) built and trained from C with librecur alone:
 *
 *   Embedding(256, 64) -> LSTM(256) -> Dense(256), PyTorch's initialisation,
 *   Adam (lr 2e-3, PyTorch's epsilon), global clipnorm 5, batches of 32
 *   random windows of 100 bytes, mean next-byte cross-entropy (nats/char).
 *
 * usage: charlm [FILE] [--steps N]   (a small built-in text without FILE)
 * Prints the loss every 10 steps, the validation loss (rc_lm_eval) and a
 * sample; exits 1 unless the loss fell below 3 nats (ln 256 = 5.5 at the
 * start). The same seed and options as the CLI give the CLI's numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>

static const char text[] = "The quick brown fox jumps over the lazy dog. A stitch in time saves nine.\n"
                           "All that glitters is not gold. Fortune favours the bold.\n";

int main(int argc, char **argv) {
    const char *file = NULL;
    int steps = 100;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else file = argv[i];
    char buf[16 * sizeof text];
    rc_error err = {0};
    for (size_t k = 0; k < 16; k++) memcpy(buf + k * (sizeof text - 1), text, sizeof text - 1);
    rc_corpus corpus;
    rc_status s = file ? rc_corpus_load_bytes(&corpus, file, 0.9, &err)
                       : rc_corpus_from_bytes(&corpus, buf, 16 * (sizeof text - 1), 0.9, "text", &err);
    if (s != RC_OK) return fprintf(stderr, "charlm: %s\n", err.message), 1;

    /* The model, its training branch (which creates the weights), then
     * PyTorch's initialisation from the same generator. */
    rc_lm_config cfg = {.cell = RC_LM_LSTM, .vocab = 256, .embed = 64, .units = 256, .layers = 1};
    rc_model *m = rc_lm_model_new(&cfg);
    rc_graph *g = rc_graph_new();
    rc_rng rng;
    rc_rng_seed(&rng, 1234);
    rc_lm_branch tb, eb;
    if (!m || !g || rc_lm_branch_new(m, g, 32, 100, false, &rng, &tb) != RC_OK || rc_lm_init_torch(m, &rng) != RC_OK ||
        rc_lm_branch_new(m, g, 1, 1, true, NULL, &eb) != RC_OK)
        return fprintf(stderr, "charlm: %s\n", g ? rc_graph_error(g) : "out of memory"), 1;

    rc_node *params[16];
    int np = rc_model_params(m, params, 16);
    rc_optim_config oc = rc_optim_defaults(RC_OPT_ADAM);
    oc.lr.initial = 2e-3, oc.epsilon = 1e-8, oc.eps_style = RC_EPS_TORCH, oc.global_clipnorm = 5;
    rc_trainer_spec spec = {.loss = tb.loss, .params = params, .nparams = np, .optim = oc};
    rc_trainer *t = rc_trainer_new(g, &spec);
    if (!t) return fprintf(stderr, "charlm: %s\n", rc_graph_error(g)), 1;

    rc_rng windows;
    rc_rng_seed(&windows, 1234 ^ 0x5eed5eed5eedull);
    float loss = 0;
    for (int step = 1; step <= steps && s == RC_OK; step++) {
        rc_corpus_windows(&corpus, &windows, 32, 100, rc_node_data(tb.x), rc_node_data(tb.y), NULL, &err);
        if ((s = rc_trainer_step(t, &loss, &err)) == RC_OK && step % 10 == 0) printf("step %d  loss %.4f\n", step, loss);
    }
    /* Validation: 64 windows of 101 bytes; the (1, 1) branch samples. */
    rc_lm_branch vb;
    rc_plan *vp = NULL, *sp = NULL;
    double val = 0;
    if (s == RC_OK && rc_lm_branch_new(m, g, 16, 100, false, NULL, &vb) == RC_OK && (vp = rc_plan_new(g, &vb.xent, 1)))
        s = rc_lm_eval(&vb, vp, rc_corpus_val(&corpus), rc_corpus_val_len(&corpus), 64, &val, &err);
    if (s == RC_OK && (sp = rc_lm_step_plan(g, &eb))) {
        printf("val %.4f nats/char\nThe ", val);
        const float *logits = NULL;
        for (const char *c = "The "; *c && s == RC_OK; c++) s = rc_lm_feed(&eb, sp, (unsigned char)*c, &logits, &err);
        for (int i = 0; i < 60 && s == RC_OK; i++) {
            int tok = rc_lm_sample(logits, 256, 0.8, &rng);
            putchar(tok);
            s = rc_lm_feed(&eb, sp, tok, &logits, &err);
        }
        putchar('\n');
    }
    if (s != RC_OK) fprintf(stderr, "charlm: %s: %s\n", err.where, err.message);
    else if (!vp || !sp) fprintf(stderr, "charlm: %s\n", rc_graph_error(g));
    int ok = s == RC_OK && vp && sp && loss < 3.0f;
    rc_plan_free(vp), rc_plan_free(sp), rc_trainer_free(t), rc_model_free(m), rc_graph_free(g), rc_corpus_free(&corpus);
    return ok ? 0 : 1;
}
