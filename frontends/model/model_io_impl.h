/* Private to the model import/export files: the model description shared by
 * the TF.js and Keras 3 readers, the builder and the TF.js writer. */
#ifndef RECUR_MODEL_IO_IMPL_H
#define RECUR_MODEL_IO_IMPL_H

#include <jansson.h>
#include <stdarg.h>

#include "recur/model_io.h"

#define IO_MAX_CELLS 8
#define IO_MAX_IN 8       /* tensors into one call (x + initial states) */
#define IO_MAX_OUT (2 + 2 * RC_MAX_STATES)
#define IO_MAX_W (2 * IO_MAX_CELLS * 3 + 2)
#define IO_MAX_NODES 8    /* calls of one shared layer */

typedef enum io_kind {
    IO_INPUT, IO_EMBEDDING, IO_MASKING, IO_RNN, IO_BIDIR, IO_DENSE, IO_TIMEDIST, IO_DROPOUT, IO_ACTIVATION,
} io_kind;

typedef enum io_cell_type { IO_SIMPLE, IO_LSTM, IO_GRU } io_cell_type;

typedef struct io_rnn {
    char name[64];                /* layer name (forward_lstm inside a Bidirectional) */
    char cls[32];                 /* SimpleRNN, LSTM, GRU or RNN */
    bool stacked;                 /* RNN(StackedRNNCells) */
    int ncells;
    io_cell_type type[IO_MAX_CELLS];
    rc_cell_config cell[IO_MAX_CELLS];
    rc_rnn_config cfg;
} io_rnn;

typedef struct io_weight {
    char name[640];
    rc_shape shape;
    float *data;                  /* owned */
} io_weight;

typedef struct io_ref { int layer, node, tensor; } io_ref;

typedef struct io_node {
    int nin;
    io_ref in[IO_MAX_IN];         /* in[0] the input, then initial states */
    int nout;
    rc_node *out[IO_MAX_OUT];     /* set by the builder */
    rc_node *mask[IO_MAX_OUT];
} io_node;

typedef struct io_layer {
    io_kind kind;
    char name[64];
    char cls[32];                 /* Keras class name as read */
    /* InputLayer */
    int in_ndim;                  /* with batch */
    int64_t in_dims[RC_MAX_DIMS]; /* -1 = None */
    rc_dtype in_dtype;
    /* options */
    int64_t units, input_dim, output_dim;
    bool use_bias, mask_zero;
    double value;                 /* Masking mask_value, Dropout rate */
    rc_activation act;            /* Dense, TimeDistributed, Activation (recur/activation.h) */
    io_rnn rnn, back;             /* RNN; Bidirectional forward / backward */
    bool has_back;                /* a backward_layer was given */
    rc_merge_mode merge;
    char inner_name[64];          /* TimeDistributed's Dense */
    /* calls */
    int nnodes;
    io_node node[IO_MAX_NODES];
    /* weights as read, in Keras get_weights() order */
    int nw;
    io_weight w[IO_MAX_W];
    /* built */
    void *obj;                    /* rc_rnn / rc_bidir / rc_dense / rc_embedding, owned by the rc_model */
    int nparams;
    rc_node *params[IO_MAX_W];
} io_layer;

struct rc_io_model {
    char name[64];
    char file[1024];              /* for messages */
    const char *format;           /* "tfjs" | "keras3" */
    bool keras3;                  /* Keras 3 schema and activation spellings (else Keras 2 / TF.js) */
    bool sequential;
    int nlayers;
    io_layer *layers;
    int ninputs, noutputs;
    io_ref inputs[IO_MAX_IN], outputs[IO_MAX_OUT];
    rc_model *model;
    rc_graph *graph;
    char *err;                    /* caller's buffer */
    size_t err_len;
};

/* Record the first error (prefixed by the file name) and return st. */
rc_status io_fail(rc_io_model *m, rc_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parse a model object {"class_name", "config"} (Keras 2/TF.js or Keras 3
 * schema per m->keras3) into m's layers. */
rc_status io_parse_topology(rc_io_model *m, json_t *model);

/* The weights a layer expects, in order: names (last path component) and
 * count. */
int io_expected_weights(const io_layer *L, const char **names, int max);

/* snake_case of a Keras class name, as Keras 3 names H5 groups. */
void io_snake_case(const char *cls, char *out, size_t len);

/* Readers of the two formats (model_io.c dispatches). */
rc_status io_load_tfjs(rc_io_model *m, const char *path);
rc_status io_load_keras(rc_io_model *m, const char *path);

#endif
