/* recur CLI: the subcommands' shared declarations (not a public header). */
#ifndef RECUR_CLI_H
#define RECUR_CLI_H

/* Exit codes: 0 success, 1 the command ran and failed, 2 bad usage. */
enum { EXIT_USAGE = 2 };

typedef struct command {
    const char *name;
    const char *summary;
    /* argv[0] is the subcommand's name; argv[argc] is NULL. */
    int (*run)(int argc, char **argv);
} command;

int cmd_dot(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
