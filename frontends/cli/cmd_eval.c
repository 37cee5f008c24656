/* recur eval: validation loss of a char-LM checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <recur.h>

#include "args.h"
#include "charlm.h"
#include "cli.h"
#include "lm_import.h"

static const char eval_usage[] =
    "usage: recur eval CHECKPOINT --corpus fortunes|FILE [--ints] [--windows N]\n"
    "                  [--seq T] [--batch B] [--split val|train]\n"
    "\n"
    "Mean cross-entropy of the next token over N windows (512) of T+1 tokens\n"
    "(T = 100) whose starts are round(linspace(0, len - T - 1, N)) over the\n"
    "validation split (the last 10%; or the training split), each from a zero\n"
    "state: the mean over the N*T predicted tokens, in nats and bits per\n"
    "character. B windows (128) run at a time.\n"
    "exit status: 0 evaluated, 1 failed (unreadable checkpoint or corpus, ...),\n"
    "2 bad usage\n";

int cmd_eval(int argc, char **argv) {
    const char *corpus = NULL, *split = "val";
    int64_t windows = 512, seq = 100, batch = 128;
    bool ints = false;
    arg_opt opts[] = {
        OPT_STRW("--corpus", &corpus, "fortunes or a corpus file"),
        OPT_FLAG("--ints", &ints),
        OPT_INT("--windows", &windows, 1, 1000000),
        OPT_INT("--seq", &seq, 1, 100000),
        OPT_INT("--batch", &batch, 1, 4096),
        OPT_STRW("--split", &split, "val or train"),
    };
    const char *pos[1];
    int npos;
    int r = args_parse("eval", eval_usage, argc, argv, opts, 6, pos, 1, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("eval", "missing CHECKPOINT (a checkpoint file)");
    if (!corpus) return args_usage_error("eval", "missing --corpus (fortunes or a file)");
    bool val = strcmp(split, "val") == 0;
    if (!val && strcmp(split, "train") != 0) return args_usage_error("eval", "--split expects val or train, got '%s'", split);
    if (batch > windows) batch = windows;
    char msg[1024];
    rc_corpus c;
    if (charlm_load_corpus(corpus, ints, &c, msg, sizeof msg) != RC_OK) return args_fail("eval", "%s", msg);
    charlm m = {0};
    lm_import im = {0};
    charlm_branch br, *pb = &br;
    /* A checkpoint of an imported model rebuilds that model; others are the built-in char LM. */
    char *cfg = lm_checkpoint_config(pos[0], msg, sizeof msg);
    bool imported = lm_import_is_config(cfg);
    rc_status s = imported ? lm_import_open_checkpoint(pos[0], cfg, batch, seq, c.vocab, &im, msg, sizeof msg)
                           : charlm_open(pos[0], batch, seq, false, &m, &br, msg, sizeof msg);
    free(cfg);
    if (s != RC_OK) {
        rc_corpus_free(&c);
        return args_fail("eval", "%s", msg);
    }
    if (imported) pb = &im.br;
    rc_graph *g = imported ? im.g : m.g;
    int64_t vocab = imported ? im.vocab : m.cfg.vocab;
    int status = 1;
    rc_plan *p = NULL;
    if (c.vocab > vocab) {
        args_fail("eval", "the corpus has %lld token values but the model's vocabulary is %lld", (long long)c.vocab,
                  (long long)vocab);
        goto done;
    }
    p = rc_plan_new(g, &pb->xent, 1);
    if (!p) {
        args_fail("eval", "planning failed: %s", rc_graph_error(g));
        goto done;
    }
    const int32_t *data = val ? rc_corpus_val(&c) : c.tokens;
    int64_t len = val ? rc_corpus_val_len(&c) : c.n_train;
    double nats;
    rc_error ee = {0};
    if (rc_lm_eval(pb, p, data, len, windows, &nats, &ee) != RC_OK) {
        args_fail("eval", "%s", ee.message);
        goto done;
    }
    printf("%s %.4f nats/char %.4f bits/char\n", val ? "val" : "train", nats, nats / M_LN2);
    status = 0;
done:
    rc_plan_free(p);
    if (imported) lm_import_free(&im);
    else charlm_free(&m);
    rc_corpus_free(&c);
    return status;
}
