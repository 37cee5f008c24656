/* recur — basic types shared by every part of the library.
 *
 * Dimension key used throughout: B batch, T time, I input features,
 * U units, G gates, V vocabulary, N/M/K matrix sizes.
 *
 * Ownership: nothing here allocates except through rc_malloc & co., which
 * route every library allocation through one hook so tests can prove that
 * rc_plan_run() allocates nothing.
 */
#ifndef RECUR_BASE_H
#define RECUR_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0
#define RC_VERSION_STRING "0.1.0"

/* Status codes returned by loaders, runners and other fallible calls (with
 * the details in an rc_error, below). Graph builders record the first error
 * on the graph (rc_graph_error) instead and return NULL. */
typedef enum rc_status {
    RC_OK = 0,
    RC_ERR_ARG,      /* bad argument: NULL, out of range, wrong dtype */
    RC_ERR_SHAPE,    /* shapes that do not fit together */
    RC_ERR_NOMEM,    /* an allocation failed or a size overflowed */
    RC_ERR_IO,       /* file could not be read or written */
    RC_ERR_FORMAT,   /* malformed file contents */
    RC_ERR_STATE,    /* call not valid in the object's current state */
    RC_ERR_NUMERIC,  /* non-finite value where a finite one was required */
} rc_status;

/* Short English name of a status ("shape error", ...). Static string. */
const char *rc_status_str(rc_status s);

/* --- errors ----------------------------------------------------------------
 * recur has one error model (docs/errors.md):
 *   - graph builders (ops, layers' apply functions, losses, rc_gradients,
 *     rc_plan_new, rc_trainer_new) record the first error on the graph
 *     (rc_graph_error) and return NULL or a status, so a whole model is
 *     built and checked once;
 *   - everything else that can fail (loaders, savers, rc_plan_run, the
 *     trainer's step and fit, DOT and rendering, constructors that can
 *     refuse their arguments) returns an rc_status and, on failure, fills
 *     the rc_error the caller passes as its last argument.
 *
 * The struct is owned by the caller (usually on the stack); the library
 * never allocates one or keeps a pointer to it. Passing NULL is always
 * allowed: the status alone is returned. A call that succeeds leaves the
 * struct as it was, so test the returned status, not err->code. */
typedef struct rc_error {
    rc_status code;     /* RC_OK until a call fails */
    char where[128];    /* the API function that failed, e.g. "rc_io_load" */
    char message[1024]; /* one line naming the file/tensor/layer and the
                           problem, without the function name; "" if none */
} rc_error;

/* Fill e (may be NULL) with code, where and a printf-formatted message
 * (fmt NULL = rc_status_str(code)); returns code, for tail calls
 * (`return rc_error_set(err, RC_ERR_IO, "rc_io_load", "cannot open '%s'", p);`).
 * Messages longer than the buffer are cut; control characters in them
 * (newlines, escapes quoted from a file) are replaced by '?', so a message
 * is always one line. */
rc_status rc_error_set(rc_error *e, rc_status code, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reset e (may be NULL) to RC_OK with empty strings. */
void rc_error_clear(rc_error *e);

/* Resource limits, checked before allocating what a file or a corpus asks
 * for (docs/security.md): a model whose plan, a leaf tensor, a vocabulary
 * or a weights file would need more memory than max_bytes is refused with
 * the figure it would need, instead of being killed by the OOM killer or
 * overcommitting. Process-wide; set them once at start-up. */
typedef struct rc_limits {
    int64_t max_bytes; /* memory one plan arena, leaf tensor, model's weights or
                          untrusted file's contents may need; 0 = the default,
                          half of physical memory; < 0 = no limit */
} rc_limits;
/* The limits in force, defaults resolved (max_bytes > 0, or -1 for none). */
rc_limits rc_limits_get(void);
/* Set the limits (NULL: back to the defaults). */
void rc_limits_set(const rc_limits *l);
/* Whether `bytes` fits the memory limit. */
bool rc_limits_fit(int64_t bytes);
/* A byte count as "12.3 GiB" / "512 B" into buf (for messages); returns buf. */
const char *rc_bytes_str(int64_t bytes, char *buf, size_t len);

typedef enum rc_dtype {
    RC_F32 = 0, /* float; computed in double by the reference evaluator */
    RC_I32 = 1, /* token ids, labels */
} rc_dtype;

size_t rc_dtype_size(rc_dtype t);
const char *rc_dtype_name(rc_dtype t);

#define RC_MAX_DIMS 4
/* Largest number of elements a tensor may hold (2^40): sizes above this are
 * reported as errors instead of overflowing size_t arithmetic. */
#define RC_MAX_ELEMS ((int64_t)1 << 40)

/* A shape: ndim in 0..4 (0 = scalar), dims >= 1, row-major. */
typedef struct rc_shape {
    int ndim;
    int64_t dim[RC_MAX_DIMS];
} rc_shape;

/* Compound-literal helpers: RC_SHAPE(2, 3) is a 2-D shape. */
#define RC_SHAPE_N_(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))
#define RC_SHAPE(...)                                                          \
    ((rc_shape){.ndim = (int)RC_SHAPE_N_(__VA_ARGS__), .dim = {__VA_ARGS__}})
#define RC_SCALAR ((rc_shape){.ndim = 0})

/* Number of elements (1 for a scalar). Assumes a valid shape. */
int64_t rc_shape_numel(rc_shape s);
bool rc_shape_eq(rc_shape a, rc_shape b);
/* Check ndim range, dims >= 1 and the element-count limit. */
bool rc_shape_valid(rc_shape s);
/* Formats like "(2, 3)" or "()" into buf; returns buf. */
char *rc_shape_str(rc_shape s, char *buf, size_t len);
#define RC_SHAPE_STRLEN 96

/* Allocation hooks. Every allocation the library makes goes through these.
 * rc_alloc_count() counts calls to rc_malloc/rc_calloc/rc_realloc since
 * process start (thread-safe), so a test can assert a section allocates
 * nothing. */
void *rc_malloc(size_t n);
void *rc_calloc(size_t count, size_t size);
void *rc_realloc(void *p, size_t n);
void rc_free(void *p);
/* 64-byte aligned allocation, freed with rc_free_aligned. */
void *rc_malloc_aligned(size_t n);
void rc_free_aligned(void *p);
uint64_t rc_alloc_count(void);
char *rc_strdup(const char *s);

#ifdef __cplusplus
}
#endif
#endif
