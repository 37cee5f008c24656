/* Private to the model import/export files: the model description shared by
 * the TF.js and Keras 3 readers, the builder and the TF.js writer. */
#ifndef RECUR_MODEL_IO_IMPL_H
#define RECUR_MODEL_IO_IMPL_H

#include <jansson.h>
#include <stdarg.h>

#include "recur/layer.h"
#include "recur/model_io.h"

#define IO_MAX_CELLS 8
#define IO_MAX_IN 8       /* tensors into one call (x + initial states) */
#define IO_MAX_OUT (2 + 2 * RC_MAX_STATES)
#define IO_MAX_W (2 * IO_MAX_CELLS * 3 + 2)
#define IO_MAX_NODES 8    /* calls of one shared layer */

typedef struct io_layer io_layer;
typedef struct io_class io_class;

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

#define IO_WEIGHT_NAME_MAX 640 /* bytes of a weight's name from a .keras file, NUL included */

typedef struct io_weight {
    char *name;                   /* owned (rc_free): the file's path or name of the weight */
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

struct io_layer {
    const io_class *kind;         /* its row of io_classes */
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
    rc_layer *obj;                /* made by the row's build; owned by the rc_model once called */
    int nparams;
    rc_node *params[IO_MAX_W];
};

/* One weight a layer expects, in Keras get_weights() order. */
typedef struct io_wspec {
    const char *name;             /* last path component: kernel, recurrent_kernel, bias, embeddings */
    rc_shape shape;               /* for the layer's input features F */
    char h5[96];                  /* Keras 3: the group holding it under the layer's group ("" = the
                                     layer's own): its vars/<k> */
    char tfjs[128];               /* TF.js: its variable name under "<layer>/" */
} io_wspec;

enum {
    IO_F_INPUT = 1,               /* a model input (InputLayer): never built or called */
    IO_F_STATES = 2,              /* a call may pass initial states after x */
};

/* The formats' layer table: one row per Keras class name, with everything
 * the readers, the builder and the writer need to know about the kind. The
 * code around it (topology, weights, building, export) looks rows up and
 * never switches over kinds. */
struct io_class {
    const char *cls;              /* Keras class name in configs */
    const rc_layer_class *layer;  /* the layers class it builds (NULL: InputLayer); its input_dtype says
                                     whether the input carries int32 ids */
    unsigned flags;               /* IO_F_* */
    /* config reader: the layer's config (Keras 2/TF.js or Keras 3 schema
     * per m->keras3) into L's options; L->name and L->cls are set */
    rc_status (*read)(rc_io_model *m, json_t *cfg, io_layer *L);
    /* config writer: L's Keras 2 / TF.js config; clears *ok (with the
     * error recorded) for what TF.js cannot express */
    json_t *(*write)(rc_io_model *m, const io_layer *L, bool *ok);
    /* builder: L's rc_layer (NULL after recording an error on g, or when
     * out of memory) */
    rc_layer *(*build)(const io_layer *L, rc_graph *g);
    /* the weights it expects for F input features (up to max; returns the
     * count) */
    int (*weights)(const io_layer *L, int64_t F, io_wspec *out, int max);
    /* optional: a call returns more than one tensor (a Sequential model
     * cannot chain it) */
    bool (*several)(const io_layer *L);
};

extern const io_class io_classes[];
extern const int io_classes_len;
/* The row of a Keras class name, or NULL. */
const io_class *io_class_find(const char *cls);
bool io_is_input(const io_layer *L);

/* The config writers (export_tfjs.c). */
json_t *io_write_input(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_embedding(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_masking(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_dropout(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_activation(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_dense(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_timedist(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_rnn(rc_io_model *m, const io_layer *L, bool *ok);
json_t *io_write_bidir(rc_io_model *m, const io_layer *L, bool *ok);

struct rc_io_model {
    char name[64];
    char *file;                   /* the path, for messages (owned) */
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
 * count (its row's weights). */
int io_expected_weights(const io_layer *L, const char **names, int max);
/* Its row's weights for F input features into out[IO_MAX_W]; the count. */
int io_weight_specs(const io_layer *L, int64_t F, io_wspec *out);

/* snake_case of a Keras class name, as Keras 3 names H5 groups. */
void io_snake_case(const char *cls, char *out, size_t len);

/* Readers of the two formats (model_io.c dispatches). */
rc_status io_load_tfjs(rc_io_model *m, const char *path);
rc_status io_load_keras(rc_io_model *m, const char *path);
/* The writer (export_tfjs.c); rc_io_export_tfjs wraps it. */
rc_status io_export_tfjs(const rc_io_model *m, const char *dir, char *err, size_t err_len);

#endif
