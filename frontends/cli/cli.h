/* recur CLI: the subcommands' shared declarations (not a public header). */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

#include <stdio.h>

#include <recur.h>

/* Exit codes: 0 success, 1 the command ran and failed, 2 bad usage. */
enum { EXIT_USAGE = 2 };

typedef struct command {
    const char *name;
    const char *summary;
    /* argv[0] is the subcommand's name; argv[argc] is NULL. */
    int (*run)(int argc, char **argv);
} command;

int cmd_dot(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);

/* The library reports through an rc_error (docs/errors.md); the CLI prints
 * its message as one line "recur CMD: <message>" and exits 1. */
static inline int cli_error(const char *cmd, const rc_error *e) {
    fprintf(stderr, "recur %s: %s\n", cmd, e->message[0] ? e->message : rc_status_str(e->code));
    return 1;
}
/* For the CLI's internals that pass a char buffer (msg, msglen) up to the
 * command: e's message into it when st failed. Returns st. */
static inline rc_status cli_msg(rc_status st, const rc_error *e, char *msg, size_t msglen) {
    if (st != RC_OK && msg && msglen) snprintf(msg, msglen, "%s", e->message[0] ? e->message : rc_status_str(st));
    return st;
}

/* Shared by the commands that read Keras / TF.js models (cli_model.c);
 * each prints its own error and returns an exit code (0 ok, 1 failed). */
typedef struct rc_io_model rc_io_model;
int cli_load_model(const char *cmd, const char *path, rc_io_model **out);
/* One tensor per model input (a tensor, or a list of tensors), in the
 * inputs' dtypes; the caller frees them with rc_tensor_free. */
int cli_read_inputs(const char *cmd, const char *file, const rc_io_model *m, rc_tensor **out);
/* Tensors as JSON to file (NULL = stdout): one object, or a list. */
int cli_write_outputs(const char *cmd, const char *file, rc_node *const *outs, const float *const *vals, int n);

#endif
