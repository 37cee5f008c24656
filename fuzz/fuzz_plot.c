/* Fuzz target: a CSV loss log as `recur plot LOG.csv -o curve.svg` reads it
 * (frontends/cli/plot.c): header, step/loss/val_loss columns, numbers,
 * blank and malformed lines; on success the SVG is written (to the
 * harness' directory). A failure must come with a non-empty one-line
 * message. Seeds: logs written by `recur train`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../frontends/cli/plot.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *csv = fz_write("log.csv", data, size), *svg = fz_path("curve.svg");
    char msg[512] = "";
    int rc = plot_csv_to_svg(csv, svg, "fuzz", msg, sizeof msg);
    if (rc != 0 && (!msg[0] || strchr(msg, '\n'))) {
        fprintf(stderr, "fuzz_plot: failure %d with a bad message '%s'\n", rc, msg);
        abort();
    }
    free(csv);
    free(svg);
    return 0;
}
