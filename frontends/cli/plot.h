/* Loss curves as SVG for `recur train` and `recur plot` (not a public
 * header). */
#ifndef RECUR_CLI_PLOT_H
#define RECUR_CLI_PLOT_H

#include <stddef.h>

/* Read a CSV log with a header naming a "step" column and a "loss" and/or
 * "val_loss" column (empty fields are skipped) and write a line chart to
 * svg. 0 on success; 1 with a message naming the file (and line) on an
 * unreadable or malformed log, or an unwritable output. */
int plot_csv_to_svg(const char *csv, const char *svg, const char *title, char *msg, size_t msglen);

#endif
