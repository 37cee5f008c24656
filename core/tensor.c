/* Dense tensors: owned or viewing. */
#include <string.h>
#include <sys/mman.h>

#include "recur/tensor.h"
#include "internal.h"

#define MAP_BYTES ((size_t)1 << 20)

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
    if (bytes >= MAP_BYTES) {
        /* Page aligned and zero until written: an input sized from a file
         * (a declared time dimension of 2^31) costs address space, not
         * minutes of zeroing and gigabytes of resident memory, when the
         * model is only described (recur summary) or refused later. */
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        t->data = p == MAP_FAILED ? NULL : p;
        t->mapped = t->data != NULL;
    } else if ((t->data = rc_malloc_aligned(bytes)) != NULL)
        memset(t->data, 0, bytes);
    if (!t->data) {
        rc_limits_release((int64_t)bytes);
        rc_free(t);
        return NULL;
    }
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
        size_t bytes = rc_tensor_bytes(t);
        if (t->mapped) munmap(t->data, bytes);
        else rc_free_aligned(t->data);
        rc_limits_release((int64_t)bytes);
    }
    rc_free(t);
}

int64_t rc_tensor_numel(const rc_tensor *t) { return rc_shape_numel(t->shape); }
size_t rc_tensor_bytes(const rc_tensor *t) {
    return (size_t)rc_tensor_numel(t) * rc_dtype_size(t->dtype);
}
