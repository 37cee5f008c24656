/* The activation table (recur/activation.h): every activation recur knows,
 * one line each, with its spellings in Keras 3 and in Keras 2 / TF.js and
 * the op that applies it. Cells, Dense, the model import and the TF.js
 * export all go through it, so an activation is its op (ops/, where the
 * formula and its gradient are documented) plus one line here.
 *
 * Spellings follow keras/src/activations/__init__.py (Keras 3 writes a
 * built-in's function name: "silu", and reads the alias "swish") and
 * tfjs-layers/src/activations.ts (TF.js: "swish", "gelu" exact, "gelu_new"
 * the tanh form; its own saves write camelCase "hardSigmoid" /
 * "logSoftmax", converted files snake_case). "hard_sigmoid" is two
 * functions, so two rows: Keras 3's clip(x/6 + 1/2, 0, 1) and Keras 2 /
 * TF.js's clip(0.2x + 1/2, 0, 1), each spelled only in its own format.
 */
#include <string.h>

#include "recur/activation.h"
#include "recur/ops.h"

/* The table: one line per activation.
 *   id     recur's name (rc_activation_find), and the row object rc_act_<id>
 *   link   empty for the rows activation.h declares (RC_ACT_*), else static
 *   K3     Keras 3 spellings, K2 Keras 2 / TF.js spellings: the first is
 *          written, all are read; S(NULL) = none in that format
 *   y      the op applied to x (in graph g), at the Keras defaults the name
 *          stands for (elu alpha 1, gelu exact)
 * Order is rc_activation_at's. */
#define S(...) {__VA_ARGS__}
#define ACTIVATIONS(X)                                                                          \
    /* id             link    K3                      K2                             y */       \
    X(tanh,            ,      S("tanh"),              S("tanh"),                     rc_tanh(g, x))        \
    X(sigmoid,         ,      S("sigmoid"),           S("sigmoid"),                  rc_sigmoid(g, x))     \
    X(relu,            ,      S("relu"),              S("relu"),                     rc_relu(g, x))        \
    X(linear,          ,      S("linear"),            S("linear"),                   x)                    \
    X(hard_sigmoid,    ,      S("hard_sigmoid"),      S(NULL),                       rc_hard_sigmoid(g, x, 1.0f / 6.0f, 0.5f)) \
    X(hard_sigmoid_k2, ,      S(NULL),                S("hard_sigmoid", "hardSigmoid"), rc_hard_sigmoid(g, x, 0.2f, 0.5f)) \
    X(softmax,         static, S("softmax"),          S("softmax"),                  rc_softmax(g, x))     \
    X(log_softmax,     static, S("log_softmax"),      S("log_softmax", "logSoftmax"), rc_log_softmax(g, x)) \
    X(exponential,     static, S("exponential"),      S("exponential"),              rc_exp(g, x))         \
    X(silu,            static, S("silu", "swish"),    S("swish", "silu"),            rc_silu(g, x))        \
    X(elu,             static, S("elu"),              S("elu"),                      rc_elu(g, x, 1.0f))   \
    X(selu,            static, S("selu"),             S("selu"),                     rc_selu(g, x))        \
    X(softplus,        static, S("softplus"),         S("softplus"),                 rc_softplus(g, x))    \
    X(softsign,        static, S("softsign"),         S("softsign"),                 rc_softsign(g, x))    \
    X(gelu,            static, S("gelu"),             S("gelu"),                     rc_gelu(g, x, false)) \
    X(gelu_tanh,       static, S(NULL),               S("gelu_new"),                 rc_gelu(g, x, true))

/* Each row's apply: y of the row above as a function. */
#define APPLY(id, link, k3, k2, y)                                  \
    static rc_node *apply_##id(rc_graph *g, rc_node *x) {           \
        (void)g;                                                    \
        return y;                                                   \
    }
ACTIVATIONS(APPLY)
#define ROW(id, link, k3, k2, y) link const rc_activation_def rc_act_##id = {#id, k3, k2, apply_##id};
ACTIVATIONS(ROW)
#define ADDRESS(id, link, k3, k2, y) &rc_act_##id,
static const rc_activation_def *const table[] = {ACTIVATIONS(ADDRESS)};
#undef S
#undef APPLY
#undef ROW
#undef ADDRESS

enum { NROWS = (int)(sizeof table / sizeof table[0]) };

int rc_activation_count(void) { return NROWS; }

rc_activation rc_activation_at(int i) { return i >= 0 && i < NROWS ? table[i] : NULL; }

rc_activation rc_activation_find(const char *name) {
    if (!name || !*name) return RC_ACT_LINEAR;
    for (int i = 0; i < NROWS; i++)
        if (!strcmp(name, table[i]->name)) return table[i];
    return NULL;
}

const char *rc_activation_name(rc_activation a) { return a ? a->name : rc_act_linear.name; }

static const char *const *spellings(rc_activation a, rc_act_format f) {
    return f == RC_ACT_KERAS3 ? a->keras3 : a->keras2;
}

rc_activation rc_activation_from_keras(rc_act_format f, const char *spelling) {
    if (!spelling) return NULL;
    for (int i = 0; i < NROWS; i++) {
        const char *const *s = spellings(table[i], f);
        for (int k = 0; k < RC_ACT_SPELLINGS && s[k]; k++)
            if (!strcmp(spelling, s[k])) return table[i];
    }
    return NULL;
}

const char *rc_activation_keras_name(rc_activation a, rc_act_format f) {
    return spellings(a ? a : RC_ACT_LINEAR, f)[0];
}

rc_node *rc_activate(rc_graph *g, rc_activation a, rc_node *x) {
    if (!a) return x;
    return a->apply(g, x);
}
