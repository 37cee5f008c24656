#!/bin/sh
# No op-name string is compared outside DOT labels and the format readers:
# code that depends on what an op is tests its identity (n->op ==
# &rc_op_sigmoid, inside ops/) or a flag of its table entry (RC_OPF_*).
# Fails (exit 1, listing them) on a strcmp/strncmp/memcmp whose arguments
# read an op's name (->op->name, rc_node_op_name(), rc_op_table[..]->name)
# in the C sources of core/ ops/ layers/ train/ frontends/cli.
# Allowed: core/dot.c (labels), the format readers (layers/model_io.c,
# layers/import_*.c), and ops/table.c's rc_op_find (the lookup by name that
# the readers use).
# usage: tools/check_names.sh [SOURCE_ROOT]
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
hits=$(grep -nE '(strn?cmp|memcmp)[[:space:]]*\(([^;]*)(->op->name|rc_node_op_name[[:space:]]*\(|rc_op_table\[[^]]*\]->name)' \
        core/*.c ops/*.c layers/*.c train/*.c frontends/cli/*.c 2>/dev/null |
       grep -vE '^(core/dot\.c|layers/model_io\.c|layers/import_[a-z]+\.c|ops/table\.c):')
# (a helper that hides the comparison, static bool is_op(n, "mul"), is
# caught by its body)
if [ -n "$hits" ]; then
    echo "op names compared outside DOT labels and format readers (test the op's identity or a flag):"
    echo "$hits"
    exit 1
fi
echo "check_names: no op-name comparisons"
exit 0
