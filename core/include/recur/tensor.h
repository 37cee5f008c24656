/* recur — dense row-major tensors.
 *
 * A tensor either owns its data (owns = true; freed by rc_tensor_free) or
 * views memory owned by someone else (a plan's arena, a caller's array).
 */
#ifndef RECUR_TENSOR_H
#define RECUR_TENSOR_H

#include "recur/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rc_tensor {
    rc_dtype dtype;
    rc_shape shape;
    void *data;  /* numel * dtype size bytes, 64-byte aligned when owned */
    bool owns;
    bool mapped; /* owned data from mmap (large tensors), freed by munmap */
} rc_tensor;

/* New zero-filled tensor that owns its data. Returns NULL on an invalid
 * shape, over the memory limit (rc_limits) or on allocation failure. Free
 * with rc_tensor_free. Tensors of 1 MiB and more are anonymous mappings:
 * the kernel's zero pages, so memory is only used where it is written. */
rc_tensor *rc_tensor_new(rc_dtype dtype, rc_shape shape);
/* A tensor header viewing `data` (not copied, not freed by rc_tensor_free). */
rc_tensor *rc_tensor_view(rc_dtype dtype, rc_shape shape, void *data);
void rc_tensor_free(rc_tensor *t);
int64_t rc_tensor_numel(const rc_tensor *t);
size_t rc_tensor_bytes(const rc_tensor *t);
static inline float *rc_tensor_f32(const rc_tensor *t) { return (float *)t->data; }
static inline int32_t *rc_tensor_i32(const rc_tensor *t) { return (int32_t *)t->data; }

#ifdef __cplusplus
}
#endif
#endif
