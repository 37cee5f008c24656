/* recur export: write a Keras / TF.js model as a TF.js layers-model. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <recur.h>
#include <recur/model_io.h>

#include "cli.h"

static const char export_usage[] =
    "usage: recur export MODEL OUTDIR\n"
    "\n"
    "Writes MODEL (a TF.js model.json or a Keras 3 .keras file) to OUTDIR\n"
    "(created if missing) as OUTDIR/model.json + OUTDIR/group1-shard1of1.bin,\n"
    "the form TF.js model.save() writes (tf.loadLayersModel reads it).\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

int cmd_export(int argc, char **argv) {
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(export_usage, stdout);
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-')
        return fprintf(stderr, "recur export: needs MODEL and OUTDIR\n%s", export_usage), EXIT_USAGE;
    rc_io_model *m = NULL;
    if (cli_load_model("export", argv[1], &m)) return 1;
    rc_error err;
    int rc = 0;
    if (mkdir(argv[2], 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "recur export: cannot create '%s': %s\n", argv[2], strerror(errno));
        rc = 1;
    } else if (rc_io_export_tfjs(m, argv[2], &err)) {
        cli_error("export", &err);
        rc = 1;
    }
    rc_io_free(m);
    return rc;
}
