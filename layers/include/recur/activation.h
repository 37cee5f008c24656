/* recur — activations: one table of every activation recur knows, used by
 * the cells, Dense, the model import (Keras 3 config, TF.js model.json)
 * and the TF.js export alike.
 *
 * A row gives an activation recur's own name, its spellings in the two
 * file formats, and the op that applies it. The formats disagree in places,
 * and the table says so instead of code:
 *
 *   - "hard_sigmoid" is clip(x/6 + 1/2, 0, 1) in Keras 3 but
 *     clip(0.2x + 1/2, 0, 1) in Keras 2 / TF.js: two rows, "hard_sigmoid"
 *     (Keras 3 spelling only) and "hard_sigmoid_k2" (Keras 2 spelling only),
 *     so reading "hard_sigmoid" finds a different row per format and a
 *     Keras 3 hard_sigmoid has no TF.js spelling to be written with.
 *   - Keras 3 writes x sigmoid(x) as "silu" (reads "swish" too); Keras 2 and
 *     TF.js write "swish".
 *   - TF.js writes "logSoftmax" / "hardSigmoid" in its own saves and the
 *     snake_case forms in converted files: both read.
 *
 * Adding an activation = its op (ops/) plus one row in layers/activation.c.
 *
 * An rc_activation is a pointer to a row (compare with ==). NULL means
 * linear, as Keras' activation=None. Rows never move or go away.
 */
#ifndef RECUR_ACTIVATION_H
#define RECUR_ACTIVATION_H

#include "recur/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Spellings per format: [0] is the one written, all are read; unused
 * entries are NULL, and a row with [0] NULL has no spelling in that
 * format (it is neither read nor writable there). */
#define RC_ACT_SPELLINGS 3

typedef enum rc_act_format {
    RC_ACT_KERAS3, /* Keras 3 config.json (.keras) */
    RC_ACT_KERAS2, /* Keras 2 and TF.js model.json */
} rc_act_format;

typedef struct rc_activation_def {
    const char *name; /* recur's own name, unique: rc_activation_find */
    const char *keras3[RC_ACT_SPELLINGS];
    const char *keras2[RC_ACT_SPELLINGS];
    /* y = f(x), same shape; elementwise except softmax / log_softmax (over
     * the last axis). Returns x itself for linear. Errors go to the graph
     * (NULL result), as for any op. */
    rc_node *(*apply)(rc_graph *g, rc_node *x);
} rc_activation_def;

typedef const rc_activation_def *rc_activation;

/* Rows the library itself refers to (defaults of cells, Dense, TF.js). */
extern const rc_activation_def rc_act_tanh, rc_act_sigmoid, rc_act_relu, rc_act_linear, rc_act_hard_sigmoid,
    rc_act_hard_sigmoid_k2;
#define RC_ACT_TANH (&rc_act_tanh)
#define RC_ACT_SIGMOID (&rc_act_sigmoid)
#define RC_ACT_RELU (&rc_act_relu)
#define RC_ACT_LINEAR (&rc_act_linear)
#define RC_ACT_HARD_SIGMOID (&rc_act_hard_sigmoid)       /* Keras 3: clip(x/6 + 0.5, 0, 1) */
#define RC_ACT_HARD_SIGMOID_K2 (&rc_act_hard_sigmoid_k2) /* Keras 2 / TF.js: clip(0.2x + 0.5, 0, 1) */

/* The table, in a fixed order: rows 0 .. rc_activation_count() - 1;
 * rc_activation_at is NULL out of range. */
int rc_activation_count(void);
rc_activation rc_activation_at(int i);

/* By recur's name ("tanh", "gelu", "hard_sigmoid_k2", ...); NULL or ""
 * is linear; NULL when unknown. */
rc_activation rc_activation_find(const char *name);
/* recur's name; "linear" for NULL. */
const char *rc_activation_name(rc_activation a);

/* By a file format's spelling (any of the row's spellings in that format);
 * NULL when the format has no such activation. */
rc_activation rc_activation_from_keras(rc_act_format f, const char *spelling);
/* The spelling to write in a format (NULL a = linear); NULL when the
 * format cannot express the activation (Keras 3's hard_sigmoid in TF.js). */
const char *rc_activation_keras_name(rc_activation a, rc_act_format f);

/* Apply an activation (NULL or linear returns x itself). */
rc_node *rc_activate(rc_graph *g, rc_activation a, rc_node *x);

#ifdef __cplusplus
}
#endif
#endif
