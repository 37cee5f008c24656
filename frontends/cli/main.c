/* recur — the command-line front end.
 *
 * The library never prints; this file is where statuses and messages become
 * output and exit codes:
 *   0 success, 1 the command ran and failed, 2 bad usage.
 * Subcommands live in one table; adding one is a file cmd_<name>.c with
 * its run function declared in cli.h, plus a row here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>

#include "cli.h"

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const command commands[] = {
    {"help", "show this help, or one command's summary", cmd_help},
    {"version", "print the version and the BLAS in use", cmd_version},
    {"predict", "run a Keras / TF.js model on a JSON input", cmd_predict},
    {"summary", "a Keras / TF.js model's layers, output shapes and parameter counts", cmd_summary},
    {"gradcheck", "check a Keras / TF.js model's gradients in double precision", cmd_gradcheck},
    {"export", "write a Keras / TF.js model as a TF.js layers-model", cmd_export},
    {"dot", "draw a recurrent layer's graph (unrolled, gradients) as DOT, SVG, PNG or PDF", cmd_dot},
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
    fprintf(f, "usage: recur <command> [options]\n"
               "       recur --help | --version\n"
               "\n"
               "commands:\n");
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

/* Every usage error ends the same way, so a user always learns where help is. */
static int usage_error(const char *what, const char *arg) {
    fprintf(stderr, "recur: %s '%s'\ntry 'recur --help'\n", what, arg);
    return EXIT_USAGE;
}

static int cmd_help(int argc, char **argv) {
    if (argc > 2) return usage_error("help: unexpected argument", argv[2]);
    if (argc == 2) {
        const command *c = find_command(argv[1]);
        if (!c) return usage_error("unknown command", argv[1]);
        printf("recur %s: %s\n", c->name, c->summary);
        return 0;
    }
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv) {
    if (argc > 1) return usage_error("version: unexpected argument", argv[1]);
    printf("recur %s\n", RC_VERSION_STRING);
    /* OpenBLAS honours OPENBLAS_CORETYPE over CPU detection; recur leaves the
     * environment alone, so say when the kernel was forced rather than chosen. */
    const char *forced = getenv("OPENBLAS_CORETYPE");
    if (forced && *forced)
        printf("blas: %s (OPENBLAS_CORETYPE=%s in the environment)\n", rc_gemm_backend_info(),
               forced);
    else
        printf("blas: %s\n", rc_gemm_backend_info());
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        name = "version";
    else if (name[0] == '-')
        return usage_error("unknown option", name);

    const command *c = find_command(name);
    if (!c) return usage_error("unknown command", name);
    return c->run(argc - 1, argv + 1);
}
