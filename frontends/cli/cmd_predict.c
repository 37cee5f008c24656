/* recur predict: run an imported Keras / TF.js model on a JSON input. */
#include <stdio.h>
#include <string.h>

#include <recur.h>
#include <recur/model_io.h>

#include "args.h"
#include "cli.h"

static const char predict_usage[] =
    "usage: recur predict MODEL INPUT.json [-o OUT.json]\n"
    "\n"
    "MODEL is a TF.js model.json (shards beside it) or a Keras 3 .keras file.\n"
    "INPUT.json is a tensor {\"shape\": [...], \"values\": [...]} (row-major), or a\n"
    "list of them for a model with several inputs; token ids for an Embedding\n"
    "input must be whole numbers. The output (tensor, or list for several\n"
    "outputs) goes to OUT.json or standard output. Non-finite outputs are null.\n"
    "exit status: 0 done, 1 failed (unreadable or bad model/input), 2 bad usage\n";

int cmd_predict(int argc, char **argv) {
    const char *pos[2] = {NULL, NULL}, *out = NULL;
    arg_opt opts[] = {OPT_STRW("-o", &out, "an output file"), OPT_STRW("--output", &out, "an output file")};
    int npos;
    int r = args_parse("predict", predict_usage, argc, argv, opts, 2, pos, 2, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("predict", "missing MODEL (a model.json or .keras file) and INPUT.json");
    if (npos < 2) return args_usage_error("predict", "missing INPUT.json after MODEL '%s'", pos[0]);

    rc_io_model *m = NULL;
    if (cli_load_model("predict", pos[0], &m)) return 1;
    int rc = 1, ni = rc_io_ninputs(m), no = rc_io_noutputs(m);
    rc_tensor *in[RC_MAX_STATES] = {0};
    rc_node *inodes[RC_MAX_STATES], *onodes[64];
    const float *vals[64];
    rc_graph *g = rc_graph_new();
    rc_plan *p = NULL;
    rc_error err;
    if (!g || ni > RC_MAX_STATES || no > 64) {
        fprintf(stderr, "recur predict: out of memory or too many inputs/outputs\n");
        goto done;
    }
    if (cli_read_inputs("predict", pos[1], m, in)) goto done;
    for (int i = 0; i < ni; i++) {
        inodes[i] = rc_input(g, rc_io_input_name(m, i), in[i]->dtype, in[i]->shape);
        if (!inodes[i]) {
            fprintf(stderr, "recur predict: %s: %s\n", pos[1], rc_graph_error(g));
            goto done;
        }
        memcpy(rc_node_data(inodes[i]), in[i]->data, rc_tensor_bytes(in[i]));
        int64_t V = rc_io_input_vocab(m, i); /* say which id is wrong before running */
        for (int64_t k = 0; V > 0 && k < rc_tensor_numel(in[i]); k++)
            if (rc_tensor_i32(in[i])[k] < 0 || rc_tensor_i32(in[i])[k] >= V) {
                fprintf(stderr, "recur predict: %s: input %d: token id %d at index %lld is outside the vocabulary "
                        "[0, %lld)\n", pos[1], i, (int)rc_tensor_i32(in[i])[k], (long long)k, (long long)V);
                goto done;
            }
    }
    if (rc_io_build(m, g, inodes, ni, false, NULL, onodes, 64, NULL, 0, NULL, &err)) {
        cli_error("predict", &err);
        goto done;
    }
    if (!(p = rc_plan_new(g, onodes, no))) {
        fprintf(stderr, "recur predict: %s\n", rc_graph_error(g));
        goto done;
    }
    rc_error rerr;
    if (rc_plan_run(p, &rerr)) {
        fprintf(stderr, "recur predict: %s: %s\n", pos[1], rerr.message);
        goto done;
    }
    for (int i = 0; i < no; i++) vals[i] = rc_plan_f32(p, onodes[i]);
    rc = cli_write_outputs("predict", out, onodes, vals, no);
done:
    rc_plan_free(p);
    for (int i = 0; i < ni && i < RC_MAX_STATES; i++) rc_tensor_free(in[i]);
    rc_io_free(m);
    rc_graph_free(g);
    return rc;
}
