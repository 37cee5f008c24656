/* The demo corpus of `recur train --corpus fortunes`: the 43 plain-text
 * files of Debian 12's `fortunes` package, concatenated raw in the listed
 * (sorted) order, 2,576,674 bytes with SHA-256 FORTUNES_SHA256, train =
 * first 90% (the PyTorch peer's definition, shared/peers/fortunes_corpus.py). */
#ifndef RECUR_CLI_FORTUNES_H
#define RECUR_CLI_FORTUNES_H

#include "recur/data.h"

#define FORTUNES_DIR "/usr/share/games/fortunes"
#define FORTUNES_BYTES 2576674
#define FORTUNES_SHA256 "fbc2d796dde8ea64a51345ce4c18ff486a778a2d2259603987073bedb3fc3cd7"
#define FORTUNES_NFILES 43
extern const char *const fortunes_files[FORTUNES_NFILES];

/* dir NULL = FORTUNES_DIR. Checks size and SHA-256 (RC_ERR_FORMAT when
 * they differ, RC_ERR_IO when a file is missing: install the package);
 * message in msg. */
rc_status fortunes_load(rc_corpus *c, const char *dir, char *msg, size_t msglen);

#endif
