/* Gradient check: autodiff gradients against central differences
 *   dL/dx_e ≈ (L(x + eps e) - L(x - eps e)) / (2 eps)
 * both evaluated in double precision by the reference evaluator, so the
 * comparison measures the gradient builders, not float32 rounding. With
 * eps = 1e-6 the truncation error is O(eps^2 f''') ~ 1e-12 and the rounding
 * error O(1e-16 |L| / eps) ~ 1e-10 for |L| ~ 1. */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "recur/autodiff.h"
#include "recur/gradcheck.h"

/* The k-th of count elements (count <= numel) checked out of numel:
 * floor(k numel / count), evenly spread from element 0. A stride of
 * numel / count instead would check up to 2 count - 1 elements (numel 6,
 * count 5: stride 1, all 6). */
static int64_t check_elem(int64_t k, int64_t count, int64_t numel) {
    if (count >= numel) return k;
    /* floor(k * numel / count) without forming k * numel, which may overflow:
     * numel = q count + r, so k numel / count = k q + k r / count, and k r <
     * count^2 fits since count is at most an int */
    int64_t q = numel / count, r = numel % count;
    return k * q + k * r / count;
}

rc_status rc_gradcheck(rc_graph *g, rc_node *loss, rc_node *const *wrt, int n,
                       const rc_gradcheck_opts *opts, rc_gradcheck_result *res) {
    rc_gradcheck_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    res->worst_node = -1;
    if (!g) return RC_ERR_ARG;
    if (g->status != RC_OK) return g->status;
    if (!wrt || n < 1) {
        rc_graph_fail(g, RC_ERR_ARG, "rc_gradcheck: nothing to check (wrt is NULL or n < 1)");
        return RC_ERR_ARG;
    }
    for (int i = 0; i < n; i++)
        if (!wrt[i] || !(wrt[i]->op->flags & RC_OPF_LEAF) || wrt[i]->dtype != RC_F32) {
            rc_graph_fail(g, RC_ERR_ARG, "rc_gradcheck: wrt[%d] %s%s%s is not a float input, parameter or constant",
                          i, wrt[i] ? "'" : "", wrt[i] ? wrt[i]->name : "NULL", wrt[i] ? "'" : "");
            return RC_ERR_ARG;
        }
    double eps = opts && opts->eps > 0 ? opts->eps : 1e-6;
    double atol = opts && opts->atol > 0 ? opts->atol : 1e-6;
    double rtol = opts && opts->rtol > 0 ? opts->rtol : 1e-5;
    int maxper = opts ? opts->max_per_node : 0;

    rc_node **grads = rc_calloc((size_t)n, sizeof *grads);
    if (!grads) return RC_ERR_NOMEM;
    /* The gradient nodes are scratch: they are removed at the end, on every
     * path, so repeated checks neither grow the graph nor leave gradients
     * behind for a later drawing, plan or rc_gradients to trip over. */
    int mark = g->nnodes, anchor = g->anchor;
    rc_status st = rc_gradients(g, loss, wrt, n, grads);
    rc_refeval *rg = NULL, *rl = NULL;
    if (st != RC_OK) goto done;
    rg = rc_refeval_new(g, grads, n);
    rl = rc_refeval_new(g, &loss, 1);
    if (!rg || !rl) {
        st = g->status != RC_OK ? g->status : RC_ERR_NOMEM;
        goto done;
    }
    if ((st = rc_refeval_run(rg, NULL)) != RC_OK) goto done;
    for (int i = 0; i < n && st == RC_OK; i++) {
        const double *an = rc_refeval_f64(rg, grads[i]);
        double *x = rc_refeval_leaf(rl, wrt[i]);
        int64_t numel = rc_shape_numel(wrt[i]->shape);
        int64_t count = maxper > 0 && numel > maxper ? maxper : numel;
        for (int64_t k = 0; k < count; k++) {
            int64_t e = check_elem(k, count, numel);
            double num = 0; /* exact when the loss does not depend on wrt[i] (x NULL) */
            if (x) {
                double x0 = x[e], lp, lm;
                x[e] = x0 + eps;
                if ((st = rc_refeval_run(rl, NULL)) != RC_OK) break;
                lp = rc_refeval_f64(rl, loss)[0];
                x[e] = x0 - eps;
                if ((st = rc_refeval_run(rl, NULL)) != RC_OK) break;
                lm = rc_refeval_f64(rl, loss)[0];
                x[e] = x0;
                num = (lp - lm) / (2 * eps);
            }
            double a = an[e], err = fabs(a - num);
            double rel = err / fmax(fabs(num), 1e-12);
            bool bad = !(err <= atol + rtol * fabs(num)); /* NaN fails */
            res->checked++;
            if (bad) res->failed++;
            if (err > res->max_abs_err || isnan(err)) {
                res->max_abs_err = err;
                res->worst_node = i;
                res->worst_elem = e;
                res->worst_analytic = a;
                res->worst_numeric = num;
            }
            if (rel > res->max_rel_err) res->max_rel_err = rel;
        }
    }
    if (st == RC_OK && res->failed) st = RC_ERR_NUMERIC;
done:
    rc_refeval_free(rg);
    rc_refeval_free(rl);
    rc_free(grads);
    rc_graph_truncate(g, mark);
    g->anchor = anchor;
    return st;
}
