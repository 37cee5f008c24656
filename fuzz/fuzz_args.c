/* Fuzz target: the CLI's argument parser (frontends/cli/args.c), which
 * every subcommand runs on its argv before anything else. The input is
 * argv[1..] separated by NUL bytes, parsed against a table with every kind
 * of option (flag, integer and number ranges as `recur train` declares
 * them, strings) and two positionals. Checked: a success leaves every
 * value within its declared range and at most two positionals; a usage
 * error returns EXIT_USAGE. The messages go to stderr (libFuzzer runs use
 * -close_fd_mask=3). Seeds: command lines from README and the tests. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../frontends/cli/args.h"
#include "../frontends/cli/cli.h"
#include "fuzz_util.h"

static const char usage[] = "usage: recur fuzz [options] A [B]\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* argv: a NUL-terminated copy of the input, split at the NULs */
    char *copy = malloc(size + 1);
    if (!copy) abort();
    memcpy(copy, data, size);
    copy[size] = 0;
    int argc = 1;
    for (size_t i = 0; i < size; i++) argc += copy[i] == 0;
    argc += 1;
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv) abort();
    static char name[] = "fuzz";
    argv[0] = name;
    int k = 1;
    argv[k++] = copy;
    for (size_t i = 0; i < size; i++)
        if (copy[i] == 0) argv[k++] = copy + i + 1;

    bool flag = false, resume = false;
    int64_t units = 256, steps = 1000, seed = -7;
    double lr = 2e-3, temp = 0.8;
    const char *cell = NULL, *out = NULL;
    arg_opt opts[] = {
        OPT_FLAG("--ints", &flag),
        OPT_FLAG("--resume", &resume),
        OPT_INT("--units", &units, 1, 4096),
        OPT_INT("--steps", &steps, 0, 1e12),
        OPT_INT("--seed", &seed, -9007199254740992.0, 9007199254740992.0),
        OPT_DBL("--lr", &lr, 0, 10),
        OPT_DBL("--temperature", &temp, 1e-6, 100),
        OPT_STRW("--cell", &cell, "lstm, gru or simple"),
        OPT_STR("-o", &out),
    };
    int nopts = (int)(sizeof opts / sizeof opts[0]);
    const char *pos[2] = {NULL, NULL};
    int npos = -1;
    int r = args_parse("fuzz", usage, argc, argv, opts, nopts, pos, 2, &npos);
    if (r == 0) {
        if (npos < 0 || npos > 2) abort();
        for (int i = 0; i < npos; i++) if (!pos[i]) abort();
        if (units < 1 || units > 4096 || steps < 0 || steps > 1e12) abort();
        if (!(lr >= 0 && lr <= 10) || !(temp >= 1e-6 && temp <= 100)) abort();
    } else if (r != -1 && r != EXIT_USAGE) abort();
    /* what a message about each option says it expects */
    char want[128];
    for (int i = 0; i < nopts; i++) {
        const char *w = args_expects(&opts[i], want, sizeof want);
        if (!w || strlen(w) >= sizeof want) abort();
    }
    free(argv);
    free(copy);
    return 0;
}
