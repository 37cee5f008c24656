/* recur plot: draw a training log's loss curve as SVG. */
#include <stdio.h>

#include "args.h"
#include "cli.h"
#include "plot.h"

static const char plot_usage[] =
    "usage: recur plot LOG.csv -o CURVE.svg [--title TEXT]\n"
    "\n"
    "Draws the loss curve of a CSV log (a header with 'step' and 'loss' and/or\n"
    "'val_loss' columns, as `recur train --log` writes) as an SVG line chart.\n"
    "exit status: 0 written, 1 failed (unreadable or malformed log, unwritable\n"
    "output), 2 bad usage\n";

int cmd_plot(int argc, char **argv) {
    const char *out = NULL, *title = NULL;
    arg_opt opts[] = {OPT_STRW("-o", &out, "an output file (.svg)"), OPT_STRW("--output", &out, "an output file (.svg)"),
                      OPT_STRW("--title", &title, "a title")};
    const char *pos[1];
    int npos;
    int r = args_parse("plot", plot_usage, argc, argv, opts, 3, pos, 1, &npos);
    if (r) return r < 0 ? 0 : r;
    if (npos < 1) return args_usage_error("plot", "missing LOG.csv (a CSV loss log)");
    if (!out) return args_usage_error("plot", "missing -o CURVE.svg (the output file)");
    char msg[1024];
    if (plot_csv_to_svg(pos[0], out, title ? title : pos[0], msg, sizeof msg) != 0) return args_fail("plot", "%s", msg);
    printf("wrote %s\n", out);
    return 0;
}
