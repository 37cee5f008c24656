/* recur gradcheck: the whole model's gradients against finite differences,
 * in double precision, on a random input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/model_io.h>

#include "args.h"
#include "cli.h"

static const char gradcheck_usage[] =
    "usage: recur gradcheck MODEL [--batch B] [--time T] [--seed S] [--max-per-param N]\n"
    "\n"
    "Builds MODEL (a TF.js model.json or a Keras 3 .keras file) on a random\n"
    "input (floats uniform in [-1, 1]; token ids uniform in [0, vocabulary)),\n"
    "forms L = sum_k sum(R_k * output_k) with fixed random R_k, and compares\n"
    "dL/dw for every weight w with central differences, both in double\n"
    "precision (recur's reference kernels). Prints the max absolute and\n"
    "relative error per weight. B defaults to 2; T (for an undeclared time\n"
    "dimension) to 4. --max-per-param N checks at most N elements of each\n"
    "weight, evenly spread (default 0: all).\n"
    "exit status: 0 all within tolerance, 1 a mismatch or failure, 2 bad usage\n";

int cmd_gradcheck(int argc, char **argv) {
    const char *pos[1];
    int64_t B = 2, T = 4, seed = 1, maxper = 0;
    arg_opt aopts[] = {
        OPT_INT("--batch", &B, 1, 4096),
        OPT_INT("--time", &T, 1, 100000),
        OPT_INT("--seed", &seed, 0, 1L << 30),
        OPT_INT("--max-per-param", &maxper, 0, 1L << 30),
    };
    int npos;
    int pr = args_parse("gradcheck", gradcheck_usage, argc, argv, aopts, 4, pos, 1, &npos);
    if (pr) return pr < 0 ? 0 : pr;
    if (npos < 1) return args_usage_error("gradcheck", "missing MODEL (a model.json or .keras file)");
    const char *path = pos[0];
    rc_io_model *m = NULL;
    if (cli_load_model("gradcheck", path, &m)) return 1;
    rc_graph *g = rc_graph_new();
    rc_node *in[16], *out[64];
    rc_error err;
    int rc = 1;
    rc_rng rng;
    rc_rng_seed(&rng, (uint64_t)seed);
    if (!g) {
        fprintf(stderr, "recur gradcheck: out of memory\n");
        goto done;
    }
    if (rc_io_build_batch(m, g, B, T, in, 16, out, 64, &err)) {
        cli_error("gradcheck", &err);
        goto done;
    }
    for (int i = 0; i < rc_io_ninputs(m); i++) {
        int64_t n = rc_node_numel(in[i]), V = rc_io_input_vocab(m, i);
        if (rc_node_dtype(in[i]) == RC_I32)
            for (int64_t k = 0; k < n; k++) ((int32_t *)rc_node_data(in[i]))[k] = (int32_t)rc_rng_below(&rng, (uint64_t)V);
        else rc_rng_fill_uniform(&rng, rc_node_data(in[i]), n, -1, 1);
    }
    rc_node *loss = NULL;
    for (int k = 0; k < rc_io_noutputs(m); k++) {
        rc_shape s = rc_node_shape(out[k]);
        float *r = malloc((size_t)rc_shape_numel(s) * sizeof *r);
        if (!r) goto done;
        rc_rng_fill_uniform(&rng, r, rc_shape_numel(s), -1, 1);
        rc_node *t = rc_mul(g, out[k], rc_const(g, s, r));
        free(r);
        t = rc_sum(g, rc_reshape(g, t, RC_SHAPE(rc_shape_numel(s))), 0, false);
        loss = loss ? rc_add(g, loss, t) : t;
    }
    if (!loss) {
        fprintf(stderr, "recur gradcheck: %s\n", rc_graph_error(g));
        goto done;
    }
    rc_model *rm = rc_io_rc_model(m);
    int np = rc_model_params(rm, NULL, 0);
    rc_node **params = malloc((size_t)(np ? np : 1) * sizeof *params);
    if (!params) goto done;
    rc_model_params(rm, params, np);
    rc_gradcheck_opts opts = {.max_per_node = (int)maxper};
    printf("%-48s %10s %12s %12s %s\n", "weight", "checked", "max abs err", "max rel err", "");
    double wa = 0, wr = 0;
    int64_t failed = 0;
    rc = 0;
    for (int k = 0; k < np; k++) {
        rc_gradcheck_result res;
        rc_status st = rc_gradcheck(g, loss, &params[k], 1, &opts, &res);
        char name[256];
        rc_node_path(params[k], name, sizeof name);
        if (st != RC_OK && st != RC_ERR_NUMERIC) {
            fprintf(stderr, "recur gradcheck: %s\n", rc_graph_error(g));
            rc = 1;
            break;
        }
        printf("%-48s %10lld %12.3e %12.3e %s\n", name, (long long)res.checked, res.max_abs_err, res.max_rel_err,
               res.failed ? "FAIL" : "ok");
        if (res.max_abs_err > wa) wa = res.max_abs_err;
        if (res.max_rel_err > wr) wr = res.max_rel_err;
        failed += res.failed;
    }
    free(params);
    if (!rc) {
        printf("%d weights: max abs err %.3e, max rel err %.3e, %lld element%s outside atol 1e-6 + rtol 1e-5\n", np, wa,
               wr, (long long)failed, failed == 1 ? "" : "s");
        rc = failed ? 1 : 0;
    }
done:
    rc_io_free(m);
    rc_graph_free(g);
    return rc;
}
