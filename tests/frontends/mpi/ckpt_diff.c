/* ckpt_diff A.safetensors B.safetensors [TOL [PREFIX]]: the largest
 * absolute difference between same-named float tensors of two files (those
 * whose names start with PREFIX, default all), one line per tensor; exit 0
 * when every tensor of A is in B with the same shape and within TOL
 * (default 0: bit-identical), 1 otherwise, 2 on bad usage or files. For
 * the MPI tests (test_mpi.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>

int main(int argc, char **argv) {
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: ckpt_diff A.safetensors B.safetensors [TOL [PREFIX]]\n");
        return 2;
    }
    double tol = argc > 3 ? strtod(argv[3], NULL) : 0.0;
    const char *prefix = argc > 4 ? argv[4] : "";
    rc_safetensors *a = NULL, *b = NULL;
    rc_error e;
    if (rc_safetensors_read(argv[1], &a, &e) != RC_OK || rc_safetensors_read(argv[2], &b, &e) != RC_OK) {
        fprintf(stderr, "ckpt_diff: %s\n", e.message);
        return 2;
    }
    int bad = 0, n = 0;
    double worst = 0;
    for (int i = 0; i < rc_safetensors_count(a); i++) {
        const rc_st_tensor *ta = rc_safetensors_tensor(a, i);
        if (strncmp(ta->name, prefix, strlen(prefix)) != 0) continue;
        const rc_st_tensor *tb = rc_safetensors_find(b, ta->name);
        if (!tb || tb->dtype != ta->dtype || !rc_shape_eq(ta->shape, tb->shape)) {
            printf("%s: missing or different in %s\n", ta->name, argv[2]);
            bad++;
            continue;
        }
        int64_t len = rc_shape_numel(ta->shape);
        double d = 0, mag = 0;
        for (int64_t j = 0; j < len; j++) {
            double x = ta->dtype == RC_F32 ? ((const float *)ta->data)[j] : ((const int32_t *)ta->data)[j];
            double y = tb->dtype == RC_F32 ? ((const float *)tb->data)[j] : ((const int32_t *)tb->data)[j];
            if (!(fabs(x - y) <= d)) d = isnan(x - y) ? INFINITY : fabs(x - y);
            if (fabs(x) > mag) mag = fabs(x);
        }
        printf("%-60s max |diff| %.3g (max |value| %.3g)\n", ta->name, d, mag);
        if (d > worst) worst = d;
        if (!(d <= tol)) bad++;
        n++;
    }
    printf("%d tensors, largest difference %.3g, tolerance %.3g: %s\n", n, worst, tol, bad ? "FAIL" : "ok");
    rc_safetensors_free(a);
    rc_safetensors_free(b);
    return bad || n == 0 ? 1 : 0;
}
