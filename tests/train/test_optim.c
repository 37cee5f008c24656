/* Optimizers, clipping and schedules inside the training plan, checked
 * against double-precision reference formulas written out here
 * independently of ops/optim.c.
 *
 * The model: two parameters a (3) and b (2, 2) with
 *   loss = 0.5 sum(a^2) + 0.5 sum(b^2) + sum(a * c)
 * so d loss / d a = a + c and d loss / d b = b exactly (c a constant); the
 * reference applies the same formulas in double to its own copy of the
 * parameters.
 *
 * Tolerance: each step does ~10 float operations per element, each with a
 * relative rounding error <= 2^-24 ~ 6e-8; over 6 steps the float and
 * double trajectories drift apart by at most a few 1e-6 relative to the
 * values (|p| <= ~2 here). We allow 2e-5 * max(1, |p|), far below the
 * per-step change (>= 1e-3), so a wrong formula or a missed step fails. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "util.h"

/* The message of the last failed trainer call, for assertion messages. */
static rc_error step_err;

enum { NA = 3, NB = 4, NSTEPS = 6 };
static const float a0[NA] = {0.8f, -1.5f, 0.3f};
static const float b0[NB] = {1.2f, -0.7f, 0.5f, -2.0f};
static const float cvals[NA] = {0.25f, 0.5f, -0.75f};

typedef struct fixture {
    rc_graph *g;
    rc_node *a, *b, *loss;
    rc_trainer *t;
} fixture;

static void fixture_init(fixture *f, const rc_optim_config *cfg) {
    f->g = rc_graph_new();
    f->a = rc_param(f->g, "a", RC_SHAPE(NA));
    f->b = rc_param(f->g, "b", RC_SHAPE(2, 2));
    rc_node_set(f->a, a0);
    rc_node_set(f->b, b0);
    rc_node *c = rc_const(f->g, RC_SHAPE(NA), cvals);
    rc_node *la = rc_scale(f->g, rc_sum(f->g, rc_square(f->g, f->a), RC_ALL_AXES, false), 0.5);
    rc_node *lb = rc_scale(f->g, rc_sum(f->g, rc_square(f->g, f->b), RC_ALL_AXES, false), 0.5);
    rc_node *lc = rc_sum(f->g, rc_mul(f->g, f->a, c), RC_ALL_AXES, false);
    f->loss = rc_add(f->g, rc_add(f->g, la, lb), lc);
    rc_trainer_spec spec = {.loss = f->loss, .optim = *cfg};
    f->t = rc_trainer_new(f->g, &spec);
    cr_assert_not_null(f->t, "%s", rc_graph_error(f->g));
}

static void fixture_free(fixture *f) {
    rc_trainer_free(f->t);
    rc_graph_free(f->g);
}

/* --- double reference ------------------------------------------------------------- */

typedef struct ref_state {
    double p[NA + NB];
    double s1[NA + NB], s2[NA + NB], s3[NA + NB]; /* slots */
} ref_state;

static void ref_init(ref_state *r, const rc_optim_config *cfg) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < NA; i++) r->p[i] = a0[i];
    for (int i = 0; i < NB; i++) r->p[NA + i] = b0[i];
    if (cfg->kind == RC_OPT_ADAGRAD)
        for (int i = 0; i < NA + NB; i++) r->s1[i] = (double)(float)cfg->initial_accumulator;
}

static double norm_of(const double *g, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += g[i] * g[i];
    return sqrt(s);
}

/* One step at 0-based step s of the formulas in recur/train.h. */
static void ref_step(ref_state *r, const rc_optim_config *c, int s) {
    double g[NA + NB];
    for (int i = 0; i < NA; i++) g[i] = r->p[i] + cvals[i];
    for (int i = 0; i < NB; i++) g[NA + i] = r->p[NA + i];
    if (c->clipnorm > 0) {
        double sa = c->clipnorm / fmax(norm_of(g, NA), c->clipnorm);
        double sb = c->clipnorm / fmax(norm_of(g + NA, NB), c->clipnorm);
        for (int i = 0; i < NA; i++) g[i] *= sa;
        for (int i = 0; i < NB; i++) g[NA + i] *= sb;
    }
    if (c->global_clipnorm > 0) {
        double sc = c->global_clipnorm / fmax(norm_of(g, NA + NB), c->global_clipnorm);
        for (int i = 0; i < NA + NB; i++) g[i] *= sc;
    }
    if (c->clipvalue > 0)
        for (int i = 0; i < NA + NB; i++) g[i] = fmin(fmax(g[i], -c->clipvalue), c->clipvalue);
    double lr = rc_lr_at(&c->lr, s), t = s + 1;
    bool torch = c->eps_style == RC_EPS_TORCH;
    for (int i = 0; i < NA + NB; i++) {
        double *p = &r->p[i], *s1 = &r->s1[i], *s2 = &r->s2[i], *s3 = &r->s3[i], gi = g[i];
        switch (c->kind) {
        case RC_OPT_SGD:
            if (c->momentum == 0) {
                *p -= lr * gi;
            } else {
                *s1 = c->momentum * *s1 - lr * gi;
                *p += c->nesterov ? c->momentum * *s1 - lr * gi : *s1;
            }
            break;
        case RC_OPT_ADAM: {
            *s1 = c->beta1 * *s1 + (1 - c->beta1) * gi;
            *s2 = c->beta2 * *s2 + (1 - c->beta2) * gi * gi;
            double bc1 = 1 - pow(c->beta1, t), bc2 = 1 - pow(c->beta2, t);
            if (torch) *p -= lr * (*s1 / bc1) / (sqrt(*s2 / bc2) + c->epsilon);
            else *p -= lr * sqrt(bc2) / bc1 * *s1 / (sqrt(*s2) + c->epsilon);
            break;
        }
        case RC_OPT_RMSPROP: {
            *s1 = c->rho * *s1 + (1 - c->rho) * gi * gi;
            double den = *s1;
            if (c->centered) {
                *s3 = c->rho * *s3 + (1 - c->rho) * gi;
                den -= *s3 * *s3;
            }
            double inc = torch ? lr * gi / (sqrt(den) + c->epsilon) : lr * gi / sqrt(den + c->epsilon);
            if (c->momentum > 0) {
                *s2 = c->momentum * *s2 + inc;
                *p -= *s2;
            } else {
                *p -= inc;
            }
            break;
        }
        case RC_OPT_ADAGRAD:
            *s1 += gi * gi;
            *p -= torch ? lr * gi / (sqrt(*s1) + c->epsilon) : lr * gi / sqrt(*s1 + c->epsilon);
            break;
        }
    }
}

static double max_err(const fixture *f, const ref_state *r) {
    const float *a = rc_node_data(f->a), *b = rc_node_data(f->b);
    double worst = 0;
    for (int i = 0; i < NA + NB; i++) {
        double v = i < NA ? a[i] : b[i - NA], e = fabs(v - r->p[i]) / fmax(1.0, fabs(r->p[i]));
        worst = fmax(worst, e);
    }
    return worst;
}

/* Runs NSTEPS steps of cfg in the plan and in the reference; asserts the
 * parameters agree after every step and returns the total parameter
 * movement (to show the steps did something). */
static double check_against_reference(const rc_optim_config *cfg, const char *what) {
    fixture f;
    fixture_init(&f, cfg);
    ref_state r;
    ref_init(&r, cfg);
    double moved = 0;
    for (int s = 0; s < NSTEPS; s++) {
        double before = r.p[0];
        cr_assert_eq(rc_trainer_step(f.t, NULL, &step_err), RC_OK, "%s: %s", what, step_err.message);
        ref_step(&r, cfg, s);
        moved += fabs(r.p[0] - before);
        double e = max_err(&f, &r);
        cr_assert_leq(e, 2e-5, "%s: step %d: parameters differ from the double reference by %g (relative)", what, s, e);
        cr_assert_eq(rc_trainer_iterations(f.t), s + 1);
    }
    fixture_free(&f);
    cr_assert_gt(moved, 1e-3, "%s: the parameters barely moved (%g), the test would prove little", what, moved);
    return moved;
}

Test(optim, sgd_plain_momentum_and_nesterov_match_the_formulas) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_SGD);
    c.lr.initial = 0.1;
    check_against_reference(&c, "sgd");
    c.momentum = 0.9;
    check_against_reference(&c, "sgd momentum");
    c.nesterov = true;
    check_against_reference(&c, "sgd nesterov");
}

Test(optim, adam_matches_the_formulas_in_both_epsilon_placements) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_ADAM);
    c.lr.initial = 0.05;
    check_against_reference(&c, "adam keras eps");
    c.eps_style = RC_EPS_TORCH;
    c.epsilon = 1e-8;
    check_against_reference(&c, "adam torch eps");
    /* A large epsilon makes the placement matter. */
    c.epsilon = 0.1;
    check_against_reference(&c, "adam torch eps 0.1");
    c.eps_style = RC_EPS_KERAS;
    check_against_reference(&c, "adam keras eps 0.1");
}

Test(optim, rmsprop_plain_momentum_centered_both_epsilons) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_RMSPROP);
    c.lr.initial = 0.01;
    check_against_reference(&c, "rmsprop");
    c.momentum = 0.5;
    check_against_reference(&c, "rmsprop momentum");
    c.centered = true;
    check_against_reference(&c, "rmsprop centered momentum");
    c.momentum = 0;
    check_against_reference(&c, "rmsprop centered");
    c.eps_style = RC_EPS_TORCH;
    c.epsilon = 1e-3;
    check_against_reference(&c, "rmsprop centered torch eps");
}

Test(optim, adagrad_both_epsilons) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_ADAGRAD);
    c.lr.initial = 0.1;
    check_against_reference(&c, "adagrad");
    c.eps_style = RC_EPS_TORCH;
    c.initial_accumulator = 0;
    c.epsilon = 1e-10;
    check_against_reference(&c, "adagrad torch");
}

/* The first Adam step from zero slots, by hand: m = (1-b1) g,
 * v = (1-b2) g^2, so m_hat = g, v_hat = g^2 and
 *   torch: p -= lr g / (|g| + eps)
 *   keras: p -= lr sqrt(1-b2)/(1-b1) m / (sqrt(v) + eps) = lr g / (|g| + eps / sqrt(1-b2))
 * With b2 = 0.999 Keras' epsilon acts ~31.6x larger at step 1. */
Test(optim, adam_first_step_epsilon_placement_keras_vs_torch) {
    const double eps = 0.05, lr = 0.1, b2 = 0.999;
    double g0 = a0[0] + cvals[0]; /* 1.05 */
    rc_optim_config c = rc_optim_defaults(RC_OPT_ADAM);
    c.lr.initial = lr;
    c.epsilon = eps;
    fixture k, t;
    fixture_init(&k, &c);
    c.eps_style = RC_EPS_TORCH;
    fixture_init(&t, &c);
    cr_assert_eq(rc_trainer_step(k.t, NULL, NULL), RC_OK);
    cr_assert_eq(rc_trainer_step(t.t, NULL, NULL), RC_OK);
    double pk = ((float *)rc_node_data(k.a))[0], pt = ((float *)rc_node_data(t.a))[0];
    double want_t = a0[0] - lr * g0 / (fabs(g0) + eps);
    double want_k = a0[0] - lr * g0 / (fabs(g0) + eps / sqrt(1 - b2));
    cr_assert_float_eq(pt, want_t, 1e-6, "torch placement: %.9g, want %.9g", pt, want_t);
    cr_assert_float_eq(pk, want_k, 1e-6, "keras placement: %.9g, want %.9g", pk, want_k);
    cr_assert_gt(fabs(pk - pt), 1e-2, "the placements should differ visibly: %g vs %g", pk, pt);
    fixture_free(&k);
    fixture_free(&t);
}

/* --- clipping ------------------------------------------------------------------------ */

Test(optim, clipnorm_scales_each_gradient_by_its_own_norm) {
    /* ||g_a|| = ||(1.05, -1.0, -0.45)|| = 1.5186, ||g_b|| = 2.5239 */
    rc_optim_config c = rc_optim_defaults(RC_OPT_SGD);
    c.lr.initial = 1.0;
    c.clipnorm = 2.0; /* clips b only */
    fixture f;
    fixture_init(&f, &c);
    cr_assert_eq(rc_trainer_step(f.t, NULL, &step_err), RC_OK, "%s", step_err.message);
    const float *a = rc_node_data(f.a), *b = rc_node_data(f.b);
    double nb = 0;
    for (int i = 0; i < NB; i++) nb += (double)b0[i] * b0[i];
    nb = sqrt(nb);
    for (int i = 0; i < NA; i++)
        cr_assert_float_eq(a[i], a0[i] - (a0[i] + cvals[i]), 1e-6, "a[%d] must move by its full gradient", i);
    for (int i = 0; i < NB; i++)
        cr_assert_float_eq(b[i], b0[i] - b0[i] * 2.0 / nb, 1e-6, "b[%d]: %g", i, b[i]);
    fixture_free(&f);
    c.clipnorm = 0.5;
    check_against_reference(&c, "clipnorm 0.5");
}

/* Global clipping uses one norm over every gradient, all computed before
 * any parameter moves: with g = p for b, an update that read b after a's
 * update (or a norm after b's) would give a different result. */
Test(optim, global_clipnorm_uses_the_norm_of_all_unupdated_gradients) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_SGD);
    c.lr.initial = 1.0;
    c.global_clipnorm = 1.0;
    fixture f;
    fixture_init(&f, &c);
    double g[NA + NB];
    for (int i = 0; i < NA; i++) g[i] = a0[i] + cvals[i];
    for (int i = 0; i < NB; i++) g[NA + i] = b0[i];
    double n = norm_of(g, NA + NB), sc = 1.0 / n;
    cr_assert_eq(rc_trainer_step(f.t, NULL, &step_err), RC_OK, "%s", step_err.message);
    cr_assert_float_eq(rc_trainer_grad_norm(f.t), n, 1e-5, "reported norm %g, want %g", rc_trainer_grad_norm(f.t), n);
    const float *a = rc_node_data(f.a), *b = rc_node_data(f.b);
    for (int i = 0; i < NA; i++) cr_assert_float_eq(a[i], a0[i] - g[i] * sc, 1e-6, "a[%d]", i);
    for (int i = 0; i < NB; i++) cr_assert_float_eq(b[i], b0[i] - g[NA + i] * sc, 1e-6, "b[%d]", i);
    fixture_free(&f);
    c.kind = RC_OPT_ADAM;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.lr.initial = 0.05;
    check_against_reference(&c, "adam global clipnorm");
}

Test(optim, clipvalue_clips_each_element) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_SGD);
    c.lr.initial = 1.0;
    c.clipvalue = 0.6;
    fixture f;
    fixture_init(&f, &c);
    cr_assert_eq(rc_trainer_step(f.t, NULL, NULL), RC_OK);
    const float *b = rc_node_data(f.b);
    for (int i = 0; i < NB; i++) {
        double gi = fmin(fmax(b0[i], -0.6), 0.6);
        cr_assert_float_eq(b[i], b0[i] - gi, 1e-6, "b[%d]: %g, want %g", i, b[i], b0[i] - gi);
    }
    fixture_free(&f);
    c.kind = RC_OPT_RMSPROP;
    c.rho = 0.9;
    c.lr.initial = 0.01;
    check_against_reference(&c, "rmsprop clipvalue");
}

Test(optim, invalid_configs_are_rejected_with_the_field_named) {
    rc_error err;
    rc_optim_config c = rc_optim_defaults(RC_OPT_ADAM);
    c.clipnorm = 1;
    c.global_clipnorm = 1;
    cr_assert_eq(rc_optim_validate(&c, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "at most one"), "%s", err.message);
    c = rc_optim_defaults(RC_OPT_ADAM);
    c.beta2 = 1.0;
    cr_assert_eq(rc_optim_validate(&c, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "beta2"), "%s", err.message);
    c = rc_optim_defaults(RC_OPT_SGD);
    c.lr.initial = NAN;
    cr_assert_eq(rc_optim_validate(&c, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "learning rate"), "%s", err.message);
    c = rc_optim_defaults(RC_OPT_SGD);
    c.lr.kind = RC_LR_EXPONENTIAL;
    cr_assert_eq(rc_optim_validate(&c, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "decay_steps"), "%s", err.message);
    c = rc_optim_defaults(RC_OPT_SGD);
    c.clipvalue = -1;
    cr_assert_eq(rc_optim_validate(&c, &err), RC_ERR_ARG);
    cr_assert(strstr(err.message, "clipvalue"), "%s", err.message);
    /* and the trainer records it on the graph */
    rc_graph *g = rc_graph_new();
    rc_node *p = rc_param(g, "p", RC_SHAPE(2));
    rc_trainer_spec spec = {.loss = rc_sum(g, rc_square(g, p), RC_ALL_AXES, false), .optim = c};
    cr_assert_null(rc_trainer_new(g, &spec));
    cr_assert(strstr(rc_graph_error(g), "clipvalue"), "%s", rc_graph_error(g));
    rc_graph_free(g);
    for (int k = 0; k < 4; k++) {
        rc_optim_kind kind;
        cr_assert(rc_optim_from_name(rc_optim_name((rc_optim_kind)k), &kind));
        cr_assert_eq((int)kind, k);
        rc_optim_config d = rc_optim_defaults((rc_optim_kind)k);
        cr_assert_eq(rc_optim_validate(&d, NULL), RC_OK, "defaults of %s", rc_optim_name(kind));
    }
    cr_assert_not(rc_optim_from_name("adamw", NULL));
}

/* --- schedules ----------------------------------------------------------------------- */

Test(schedule, exponential_and_cosine_values_by_hand) {
    rc_lr_schedule e = {.kind = RC_LR_EXPONENTIAL, .initial = 0.1, .decay_steps = 10, .decay_rate = 0.5};
    cr_assert_float_eq(rc_lr_at(&e, 0), 0.1, 1e-15);
    cr_assert_float_eq(rc_lr_at(&e, 10), 0.05, 1e-15);
    cr_assert_float_eq(rc_lr_at(&e, 5), 0.1 * sqrt(0.5), 1e-15);
    cr_assert_float_eq(rc_lr_at(&e, 15), 0.1 * pow(0.5, 1.5), 1e-15);
    e.staircase = true;
    cr_assert_float_eq(rc_lr_at(&e, 15), 0.05, 1e-15);
    cr_assert_float_eq(rc_lr_at(&e, 9), 0.1, 1e-15);

    rc_lr_schedule c = {.kind = RC_LR_COSINE, .initial = 1.0, .decay_steps = 100, .alpha = 0.1};
    cr_assert_float_eq(rc_lr_at(&c, 0), 1.0, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 50), 0.1 + 0.9 * 0.5, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 25), 0.1 + 0.9 * 0.5 * (1 + cos(M_PI / 4)), 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 100), 0.1, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 1000), 0.1, 1e-15, "past decay_steps the rate stays at alpha");
    /* Linear warmup from initial to warmup_target, then decay from it. */
    c = (rc_lr_schedule){.kind = RC_LR_COSINE, .initial = 0.0, .decay_steps = 10, .warmup_steps = 4,
                         .warmup_target = 0.2};
    cr_assert_float_eq(rc_lr_at(&c, 0), 0.0, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 2), 0.1, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 4), 0.2, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 9), 0.2 * 0.5, 1e-15);
    cr_assert_float_eq(rc_lr_at(&c, 14), 0.0, 1e-15);
    rc_lr_schedule k = {.kind = RC_LR_CONSTANT, .initial = 0.3};
    cr_assert_float_eq(rc_lr_at(&k, 12345), 0.3, 1e-15);
    cr_assert(isnan(rc_lr_at(&k, -1)));
    cr_assert(isnan(rc_lr_at(NULL, 0)));
}

/* The plan reads the schedule at the step counter: with plain SGD each
 * step moves a parameter by lr(s) * g, and the counter advances by one. */
Test(schedule, plan_uses_the_scheduled_rate_at_each_step) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_SGD);
    c.lr = (rc_lr_schedule){.kind = RC_LR_EXPONENTIAL, .initial = 0.2, .decay_steps = 2, .decay_rate = 0.25};
    fixture f;
    fixture_init(&f, &c);
    for (int s = 0; s < 5; s++) {
        cr_assert_float_eq(rc_trainer_lr(f.t), rc_lr_at(&c.lr, s), 1e-15);
        float before = ((float *)rc_node_data(f.b))[0];
        cr_assert_eq(rc_trainer_step(f.t, NULL, NULL), RC_OK);
        float after = ((float *)rc_node_data(f.b))[0];
        double want = before - (double)(float)rc_lr_at(&c.lr, s) * before;
        cr_assert_float_eq(after, want, 1e-6, "step %d: %.9g, want %.9g", s, after, want);
    }
    cr_assert_eq(rc_trainer_iterations(f.t), 5);
    cr_assert_eq(rc_trainer_set_iterations(f.t, 0, NULL), RC_OK);
    cr_assert_float_eq(rc_trainer_lr(f.t), 0.2, 1e-15);
    cr_assert_eq(rc_trainer_set_iterations(f.t, -1, NULL), RC_ERR_ARG);
    fixture_free(&f);
    c.lr = (rc_lr_schedule){.kind = RC_LR_COSINE, .initial = 0.3, .decay_steps = 4, .alpha = 0.2};
    c.momentum = 0.9;
    check_against_reference(&c, "sgd momentum cosine");
    c = rc_optim_defaults(RC_OPT_ADAM);
    c.lr = (rc_lr_schedule){.kind = RC_LR_COSINE, .initial = 0.01, .decay_steps = 4, .warmup_steps = 2,
                            .warmup_target = 0.1};
    check_against_reference(&c, "adam cosine warmup");
}

/* --- guards ---------------------------------------------------------------------------- */

/* A non-finite loss or gradient norm stops the step before any update:
 * parameters, slots and the counter stay as they were. */
Test(optim, nonfinite_loss_or_norm_changes_nothing) {
    for (int variant = 0; variant < 2; variant++) {
        rc_optim_config c = rc_optim_defaults(RC_OPT_ADAM);
        if (variant) c.global_clipnorm = 1.0;
        fixture f;
        fixture_init(&f, &c);
        cr_assert_eq(rc_trainer_step(f.t, NULL, NULL), RC_OK);
        float *b = rc_node_data(f.b);
        b[1] = INFINITY;
        float a_before[NA], b_before[NB];
        memcpy(a_before, rc_node_data(f.a), sizeof a_before);
        memcpy(b_before, b, sizeof b_before);
        float loss = 123;
        rc_status st = rc_trainer_step(f.t, &loss, &step_err);
        cr_assert_eq(st, RC_ERR_NUMERIC, "variant %d: status %d", variant, st);
        cr_assert(strstr(step_err.message, variant ? "global_norm" : "check_finite"), "%s", step_err.message);
        cr_assert(strstr(step_err.message, "no parameter was updated"), "%s", step_err.message);
        cr_assert_eq(memcmp(a_before, rc_node_data(f.a), sizeof a_before), 0);
        cr_assert_eq(memcmp(b_before, b, sizeof b_before), 0);
        cr_assert_eq(rc_trainer_iterations(f.t), 1);
        cr_assert_eq(loss, 123, "loss must not be written on failure");
        fixture_free(&f);
    }
}

/* The fused update kernels agree with their double reference kernels
 * (what rc_gradcheck and the reference evaluator run). */
Test(optim, float_kernels_match_reference_kernels) {
    rc_optim_config cs[4] = {rc_optim_defaults(RC_OPT_SGD), rc_optim_defaults(RC_OPT_ADAM),
                             rc_optim_defaults(RC_OPT_RMSPROP), rc_optim_defaults(RC_OPT_ADAGRAD)};
    cs[0].momentum = 0.9;
    cs[0].nesterov = true;
    cs[2].centered = true;
    cs[2].momentum = 0.3;
    for (int k = 0; k < 4; k++) {
        fixture f;
        cs[k].global_clipnorm = 2.0;
        fixture_init(&f, &cs[k]);
        rc_node *upd = NULL;
        for (int i = 0; i < rc_graph_node_count(f.g); i++)
            if (strncmp(rc_node_op_name(rc_graph_node(f.g, i)), "optim_", 6) == 0) upd = rc_graph_node(f.g, i);
        cr_assert_not_null(upd);
        rc_refeval *r = rc_refeval_new(f.g, &upd, 1);
        cr_assert_not_null(r, "%s", rc_graph_error(f.g));
        cr_assert_eq(rc_refeval_run(r, NULL), RC_OK);
        const double *pref = rc_refeval_leaf(r, rc_node_input(upd, 0));
        cr_assert_eq(rc_trainer_step(f.t, NULL, NULL), RC_OK);
        const float *p = rc_node_data(rc_node_input(upd, 0));
        for (int64_t i = 0; i < rc_node_numel(rc_node_input(upd, 0)); i++)
            cr_assert_float_eq(p[i], pref[i], 1e-6, "%s[%lld]: %g vs %g", rc_optim_name(cs[k].kind), (long long)i, p[i],
                               pref[i]);
        rc_refeval_free(r);
        fixture_free(&f);
    }
}

/* --- JSON ------------------------------------------------------------------------------ */

Test(optim, json_round_trip_and_errors) {
    rc_optim_config c = rc_optim_defaults(RC_OPT_RMSPROP);
    c.momentum = 0.25;
    c.centered = true;
    c.eps_style = RC_EPS_TORCH;
    c.global_clipnorm = 1.5;
    c.lr = (rc_lr_schedule){.kind = RC_LR_COSINE, .initial = 0.003, .decay_steps = 1000, .alpha = 0.05,
                            .warmup_steps = 10, .warmup_target = 0.01};
    char *j = rc_optim_to_json(&c);
    cr_assert_not_null(j);
    rc_optim_config d;
    rc_error err;
    cr_assert_eq(rc_optim_from_json(j, &d, &err), RC_OK, "%s: %s", j, err.message);
    rc_free(j);
    /* field by field: the struct has padding */
    cr_assert(d.kind == c.kind && d.momentum == c.momentum && d.nesterov == c.nesterov && d.beta1 == c.beta1 &&
              d.beta2 == c.beta2 && d.rho == c.rho && d.centered == c.centered &&
              d.initial_accumulator == c.initial_accumulator && d.epsilon == c.epsilon && d.eps_style == c.eps_style &&
              d.clipnorm == c.clipnorm && d.global_clipnorm == c.global_clipnorm && d.clipvalue == c.clipvalue,
              "round trip changed the optimizer fields");
    cr_assert(d.lr.kind == c.lr.kind && d.lr.initial == c.lr.initial && d.lr.decay_steps == c.lr.decay_steps &&
              d.lr.decay_rate == c.lr.decay_rate && d.lr.staircase == c.lr.staircase && d.lr.alpha == c.lr.alpha &&
              d.lr.warmup_steps == c.lr.warmup_steps && d.lr.warmup_target == c.lr.warmup_target,
              "round trip changed the schedule");

    cr_assert_eq(rc_optim_from_json("{\"kind\": \"adam\", \"learning_rate\": 0.01}", &d, &err), RC_OK, "%s",
                 err.message);
    cr_assert_eq(d.kind, RC_OPT_ADAM);
    cr_assert_eq(d.lr.initial, 0.01);
    cr_assert_eq(d.beta2, 0.999, "absent fields take the Keras defaults");
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"[1]", "not a JSON object"},
        {"{\"kind\": \"adamw\"}", "\"kind\" must be"},
        {"{\"kind\": \"adam\", \"beta3\": 1}", "unknown field \"beta3\""},
        {"{\"kind\": \"adam\", \"nesterov\": 1}", "true or false"},
        {"{\"kind\": \"adam\", \"learning_rate\": {\"kind\": \"linear\"}}", "learning_rate"},
        {"{\"kind\": \"adam\", \"learning_rate\": {\"kind\": \"cosine\", \"decay_steps\": 1.5}}", "an integer"},
        {"{\"kind\": \"adam\", \"epsilon_style\": \"numpy\"}", "epsilon_style"},
        {"{\"kind\": \"adam\", \"beta1\": 1.5}", "beta1"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_assert_neq(rc_optim_from_json(bad[k].json, &d, &err), RC_OK, "%s parsed", bad[k].json);
        cr_assert(strstr(err.message, bad[k].needle), "%s: error '%s' lacks '%s'", bad[k].json, err.message, bad[k].needle);
    }
}
