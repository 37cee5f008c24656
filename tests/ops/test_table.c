/* The op table is complete and consistent. */
#include <criterion/criterion.h>
#include <string.h>

#include "util.h"
#include <recur/op.h>

Test(table, every_op_has_a_unique_name_and_a_shape_rule) {
    cr_assert_gt(rc_op_table_len, 40);
    for (int i = 0; i < rc_op_table_len; i++) {
        const rc_op *op = rc_op_table[i];
        cr_assert(op && op->name && op->infer, "entry %d", i);
        for (int j = 0; j < i; j++) cr_assert_str_neq(op->name, rc_op_table[j]->name);
        cr_assert_eq(rc_op_find(op->name), op);
    }
    cr_assert_null(rc_op_find("no_such_op"));
}

Test(table, every_computing_op_has_both_kernels) {
    for (int i = 0; i < rc_op_table_len; i++) {
        const rc_op *op = rc_op_table[i];
        if (op->flags & RC_OPF_LEAF) continue;
        cr_assert(op->forward, "%s has no float32 kernel", op->name);
        cr_assert(op->reference, "%s has no double reference kernel", op->name);
    }
}

Test(table, every_op_with_float_inputs_is_differentiable) {
    /* Exceptions: leaves, fill and dropout_mask have no inputs; sgd_update,
     * assign, the optim_* updates and step_increment are side effects;
     * one_hot and lr_schedule read only int32 values; global_norm and
     * check_finite are training guards nothing differentiates through;
     * lstm_cell_grad, gru_cell_grad: no second derivatives through the
     * fused LSTM and GRU cells. */
    const char *none[] = {"input", "param", "const", "fill", "sgd_update", "assign", "one_hot", "dropout_mask",
                          "lr_schedule", "global_norm", "check_finite", "step_increment", "optim_sgd",
                          "optim_adam", "optim_rmsprop", "optim_adagrad", "lstm_cell_grad",
                          "gru_cell_grad"};
    for (int i = 0; i < rc_op_table_len; i++) {
        const rc_op *op = rc_op_table[i];
        bool exempt = false;
        for (size_t k = 0; k < sizeof none / sizeof none[0]; k++) exempt |= strcmp(op->name, none[k]) == 0;
        if (!exempt) cr_assert(op->grad, "%s has no gradient builder", op->name);
    }
}

/* Behaviour that depends on what an op computes is declared by a flag on
 * its table entry, never recognised by its name: exactly these ops carry
 * the flags the planner, the gradient sums, checkpoints and the language-
 * model import test. */
Test(table, behaviour_flags_sit_on_exactly_their_ops) {
    struct { unsigned flag; const char *op; } want[] = {
        {RC_OPF_CONCAT, "concat"}, {RC_OPF_RNG_STATE, "dropout_mask"}, {RC_OPF_PROBABILITIES, "softmax"}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        int n = 0;
        for (int i = 0; i < rc_op_table_len; i++)
            if (rc_op_table[i]->flags & want[k].flag) {
                n++;
                cr_assert_eq(rc_op_table[i], rc_op_find(want[k].op), "%s carries flag %#x", rc_op_table[i]->name,
                             want[k].flag);
            }
        cr_assert_eq(n, 1, "flag %#x on %d ops", want[k].flag, n);
    }
}
