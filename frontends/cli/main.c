/* recur — the command-line front end.
 *
 * The library never prints; this file is where statuses and messages become
 * output and exit codes:
 *   0 success, 1 the command ran and failed, 2 bad usage.
 * Subcommands live in one table; adding one is a file cmd_<name>.c with
 * its run function declared in cli.h, plus a row here.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <recur.h>

#include "args.h"
#include "cli.h"
#include "../mpi/comm_mpi.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const command commands[] = {
    {"help", "show this help, or one command's (recur help COMMAND)", cmd_help},
    {"version", "print the version and the BLAS in use", cmd_version},
    {"predict", "run a Keras / TF.js model on a JSON input", cmd_predict},
    {"summary", "a Keras / TF.js model's layers, output shapes and parameter counts", cmd_summary},
    {"gradcheck", "check a Keras / TF.js model's gradients in double precision", cmd_gradcheck},
    {"export", "write a Keras / TF.js model as a TF.js layers-model", cmd_export},
    {"dot", "draw a recurrent layer's graph (unrolled, gradients) as DOT, SVG, PNG or PDF", cmd_dot},
    {"view", "write an HTML page to explore a model's graph (levels, gradients, values)", cmd_view},
    {"train", "train a character-level language model on a corpus (progress, CSV log, SVG curve)", cmd_train},
    {"generate", "sample text from a trained char-LM checkpoint", cmd_generate},
    {"eval", "validation loss of a char-LM checkpoint in nats and bits per character", cmd_eval},
    {"plot", "draw a CSV loss log as an SVG line chart", cmd_plot},
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static const command *find_command(const char *name) {
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static void usage(FILE *f) {
    fprintf(f, "usage: recur [--max-memory SIZE] <command> [options]\n"
               "       recur --help | --version\n"
               "\n"
               "  --max-memory SIZE   refuse models, plans, vocabularies and files that would need more\n"
               "                      memory (bytes, or with K, M, G, T: powers of 1024; 'none' for no\n"
               "                      limit); default: half of physical memory (docs/security.md)\n"
               "\n"
               "commands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

static const char help_usage[] =
    "usage: recur help [COMMAND]\n"
    "\n"
    "Without COMMAND, lists the commands (as recur --help); with one, prints\n"
    "that command's help (as recur COMMAND --help).\n";

static const char version_usage[] =
    "usage: recur version\n"
    "\n"
    "Prints recur's version, the BLAS library in use (and whether\n"
    "OPENBLAS_CORETYPE forces its kernel) and the MPI library that\n"
    "`mpirun -np N recur train` uses (or that MPI is not built in).\n";

static bool is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static int cmd_help(int argc, char **argv) {
    /* `recur help --help` asks about help itself: the general help */
    if (argc == 2 && is_help(argv[1])) argc = 1;
    if (argc > 2) return args_usage_error("help", "unexpected argument '%s' (help takes one COMMAND)", argv[2]);
    if (argc == 2) {
        if (argv[1][0] == '-') return args_usage_error("help", "unknown option '%s'", argv[1]);
        const command *c = find_command(argv[1]);
        if (!c) return args_usage_error("help", "unknown command '%s' (recur help lists them)", argv[1]);
        if (c->run == cmd_help) {
            fputs(help_usage, stdout);
            return 0;
        }
        /* every command prints its own help for --help and exits 0 */
        static char help_flag[] = "--help";
        char *av[] = {argv[1], help_flag, NULL};
        return c->run(2, av);
    }
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv) {
    if (argc > 1 && is_help(argv[1])) {
        fputs(version_usage, stdout);
        return 0;
    }
    if (argc > 1)
        return args_usage_error("version", "%s '%s' (version takes no arguments)",
                                argv[1][0] == '-' ? "unknown option" : "unexpected argument", argv[1]);
    printf("recur %s\n", RC_VERSION_STRING);
    /* OpenBLAS honours OPENBLAS_CORETYPE over CPU detection; recur leaves the
     * environment alone, so say when the kernel was forced rather than chosen. */
    const char *forced = getenv("OPENBLAS_CORETYPE");
    if (forced && *forced)
        printf("blas: %s (OPENBLAS_CORETYPE=%s in the environment)\n", rc_gemm_backend_info(),
               forced);
    else
        printf("blas: %s\n", rc_gemm_backend_info());
    /* data-parallel training (mpirun -np N recur train) */
    printf("mpi: %s\n", rc_comm_mpi_library());
    return 0;
}

/* SIZE of --max-memory: bytes with an optional K/M/G/T (powers of 1024),
 * or "none" (-1); false when malformed, not positive or overflowing. */
static bool parse_size(const char *s, int64_t *out) {
    if (strcmp(s, "none") == 0) return *out = -1, true;
    if (!isdigit((unsigned char)s[0])) return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v == 0) return false;
    int shift = 0;
    if (*end) {
        const char *u = strchr("KMGT", toupper((unsigned char)*end));
        const char *rest = end + 1; /* "", "B" or "iB" */
        bool unit_ok = !*rest || strcasecmp(rest, "B") == 0 || strcasecmp(rest, "iB") == 0;
        if (!u || !unit_ok) return false;
        shift = 10 * (int)(u - "KMGT" + 1);
    }
    if (v > ((unsigned long long)INT64_MAX >> shift)) return false;
    *out = (int64_t)(v << shift);
    return true;
}

int main(int argc, char **argv) {
    /* global options before the command */
    while (argc >= 2 && strncmp(argv[1], "--max-memory", 12) == 0 && (argv[1][12] == 0 || argv[1][12] == '=')) {
        const char *v = argv[1][12] == '=' ? argv[1] + 13 : argc >= 3 ? argv[2] : NULL;
        int used = argv[1][12] == '=' ? 1 : 2;
        int64_t bytes;
        if (!v) return args_usage_error(NULL, "--max-memory needs a SIZE (e.g. 2G, or none)");
        if (!parse_size(v, &bytes))
            return args_usage_error(NULL, "--max-memory '%s' is not a size (bytes > 0 with an optional K, M, G or T; "
                                    "or none)", v);
        rc_limits_set(&(rc_limits){.max_bytes = bytes});
        argv[used] = argv[0];
        argv += used, argc -= used;
    }
    if (argc < 2) return args_usage_error(NULL, "missing a command (recur help lists them)");
    const char *name = argv[1];
    if (is_help(name))
        name = "help";
    else if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    else if (name[0] == '-')
        return args_usage_error(NULL, "unknown option '%s'", name);

    const command *c = find_command(name);
    if (!c) return args_usage_error(NULL, "unknown command '%s' (recur help lists them)", name);
    return c->run(argc - 1, argv + 1);
}
