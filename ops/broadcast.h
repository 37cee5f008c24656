/* NumPy-style broadcasting shared by the ops in ops/ (internal).
 * Shapes are aligned at the last axis and padded to 4-D; a broadcast axis
 * gets stride 0, so one 4-deep loop walks any combination. */
#ifndef RECUR_OPS_BROADCAST_H
#define RECUR_OPS_BROADCAST_H

#include "recur/op.h"

typedef struct rc_bcast {
    int64_t dim[4];    /* output dims, padded with leading 1s */
    int64_t st[3][4];  /* element strides of up to 3 operands (0 = broadcast) */
} rc_bcast;

/* Broadcast shape of a and b into *out; false if they do not broadcast. */
bool rc_bcast_shape(rc_shape a, rc_shape b, rc_shape *out);
/* Fill the walk for operands ops[0..n) against output shape out (each
 * operand must broadcast to it). */
void rc_bcast_init(rc_bcast *w, rc_shape out, const rc_shape *ops, int n);
/* Operand k broadcasts to out (every dim equal or 1, rank <= out rank). */
bool rc_bcast_to_ok(rc_shape x, rc_shape out);

/* Shape packed in attr.i[0] (ndim) and attr.i[1..4] (dims). */
static inline void rc_attr_set_shape(rc_attr *a, rc_shape s) {
    a->i[0] = s.ndim;
    for (int k = 0; k < RC_MAX_DIMS; k++) a->i[1 + k] = k < s.ndim ? s.dim[k] : 0;
}
static inline rc_shape rc_attr_shape(const rc_attr *a) {
    rc_shape s = {.ndim = (int)a->i[0]};
    for (int k = 0; k < RC_MAX_DIMS; k++) s.dim[k] = a->i[1 + k];
    return s;
}

#endif
