/* The op table: every op recur knows, one entry each, made from the
 * X-macro list ops/ops_list.inc (which also declares each rc_op_<name> in
 * ops_list.h). Adding an op means writing its file and adding one line to
 * ops_list.inc; nothing here changes. */
#include <string.h>

#include "ops_list.h"

const rc_op *const rc_op_table[] = {
#define RC_OP(name) &rc_op_##name,
#include "ops_list.inc"
#undef RC_OP
};

enum {
#define RC_OP(name) RC_OP_ID_##name,
#include "ops_list.inc"
#undef RC_OP
    RC_OP_COUNT
};

_Static_assert(sizeof rc_op_table / sizeof rc_op_table[0] == RC_OP_COUNT,
               "op table and op list disagree");

const int rc_op_table_len = RC_OP_COUNT;

const rc_op *rc_op_find(const char *name) {
    for (int i = 0; i < RC_OP_COUNT; i++)
        if (name && strcmp(rc_op_table[i]->name, name) == 0) return rc_op_table[i];
    return NULL;
}
