/* Dense tensors: owned or viewing. */
#include <string.h>

#include "recur/tensor.h"
#include "internal.h"

rc_tensor *rc_tensor_new(rc_dtype dtype, rc_shape shape) {
    if (!rc_shape_valid(shape)) return NULL;
    rc_tensor *t = rc_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->dtype = dtype;
    t->shape = shape;
    size_t bytes = (size_t)rc_shape_numel(shape) * rc_dtype_size(dtype);
    if (!rc_limits_reserve((int64_t)bytes)) { /* over the memory limit (rc_limits) */
        rc_free(t);
        return NULL;
    }
    t->data = rc_malloc_aligned(bytes);
    if (!t->data) {
        rc_limits_release((int64_t)bytes);
        rc_free(t);
        return NULL;
    }
    memset(t->data, 0, bytes);
    t->owns = true;
    return t;
}

rc_tensor *rc_tensor_view(rc_dtype dtype, rc_shape shape, void *data) {
    if (!rc_shape_valid(shape)) return NULL;
    rc_tensor *t = rc_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->dtype = dtype;
    t->shape = shape;
    t->data = data;
    t->owns = false;
    return t;
}

void rc_tensor_free(rc_tensor *t) {
    if (!t) return;
    if (t->owns) {
        rc_free_aligned(t->data);
        rc_limits_release(rc_shape_numel(t->shape) * (int64_t)rc_dtype_size(t->dtype));
    }
    rc_free(t);
}

int64_t rc_tensor_numel(const rc_tensor *t) { return rc_shape_numel(t->shape); }
size_t rc_tensor_bytes(const rc_tensor *t) {
    return (size_t)rc_tensor_numel(t) * rc_dtype_size(t->dtype);
}
