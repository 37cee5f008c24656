/* recur export: write a Keras / TF.js model as a TF.js layers-model. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <recur.h>
#include <recur/model_io.h>

#include "args.h"
#include "cli.h"

static const char export_usage[] =
    "usage: recur export MODEL OUTDIR\n"
    "\n"
    "Writes MODEL (a TF.js model.json or a Keras 3 .keras file) to OUTDIR\n"
    "(created if missing) as OUTDIR/model.json + OUTDIR/group1-shard1of1.bin,\n"
    "the form TF.js model.save() writes (tf.loadLayersModel reads it).\n"
    "exit status: 0 written, 1 failed, 2 bad usage\n";

int cmd_export(int argc, char **argv) {
    const char *pos[2];
    int npos;
    int r = args_parse("export", export_usage, argc, argv, NULL, 0, pos, 2, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("export", "missing MODEL (a model.json or .keras file) and OUTDIR");
    if (npos < 2) return args_usage_error("export", "missing OUTDIR after MODEL '%s'", pos[0]);
    rc_io_model *m = NULL;
    if (cli_load_model("export", pos[0], &m)) return 1;
    rc_error err;
    int rc = 0;
    if (mkdir(pos[1], 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "recur export: cannot create '%s': %s\n", pos[1], strerror(errno));
        rc = 1;
    } else if (rc_io_export_tfjs(m, pos[1], &err)) {
        cli_error("export", &err);
        rc = 1;
    }
    rc_io_free(m);
    return rc;
}
