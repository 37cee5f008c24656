/* recur — the command-line front end. The library never prints; this file
 * turns its statuses and messages into output and exit codes:
 *   0 success, 1 the command failed, 2 bad usage. */
#include <stdio.h>
#include <string.h>

#include <recur.h>

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const command commands[] = {
    {"help", "show this help", cmd_help},
    {"version", "print the version and the BLAS in use", cmd_version},
};
#define NCOMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: recur <command> [options]\n"
               "       recur --help | --version\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

static int cmd_help(int argc, char **argv) {
    (void)argc, (void)argv;
    usage(stdout);
    return 0;
}

static int cmd_version(int argc, char **argv) {
    if (argc > 1) {
        fprintf(stderr, "recur version: unexpected argument '%s'\n", argv[1]);
        return 2;
    }
    printf("recur %s\n", RC_VERSION_STRING);
    printf("blas: %s\n", rc_gemm_backend_info());
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) name = "help";
    else if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) name = "version";
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "recur: unknown %s '%s'; try 'recur --help'\n", name[0] == '-' ? "option" : "command", name);
    return 2;
}
