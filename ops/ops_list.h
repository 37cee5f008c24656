/* Declarations of every op table entry (internal to the library). */
#ifndef RECUR_OPS_LIST_H
#define RECUR_OPS_LIST_H

#include "recur/op.h"

#define RC_OP(name) extern const rc_op rc_op_##name;
#include "ops_list.inc"
#undef RC_OP

#endif
