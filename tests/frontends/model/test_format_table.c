/* The formats' layer table (frontends/model: io_classes): for every layer
 * of the golden models (Keras 3 .keras and TF.js model.json), its row's
 * config writer output, read back by the row's reader, describes the same
 * layer: writing it again gives the same JSON and it expects the same
 * weights (names, shapes, Keras 3 groups, TF.js names). Every row with a
 * TF.js form must be met by some golden model, so a new row comes with a
 * model that exercises it. White-box: includes the private header. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <recur.h>

#include "model_io_impl.h"

static const char *const files[] = {
    GOLDEN "/models/bidir_lstm_dense/model.keras",     GOLDEN "/models/bidir_lstm_dense/model.json",
    GOLDEN "/models/embedding_lstm_dense/model.keras", GOLDEN "/models/embedding_lstm_dense/model.json",
    GOLDEN "/models/gru_lstm_dense/model.keras",       GOLDEN "/models/gru_lstm_dense/model.json",
    GOLDEN "/tfjs_models/activations/model.json",      GOLDEN "/tfjs_models/bidir_none/model.json",
    GOLDEN "/tfjs_models/embed_bidir/model.json",      GOLDEN "/tfjs_models/enc_dec/model.json",
    GOLDEN "/tfjs_models/masking_bidir/model.json",    GOLDEN "/tfjs_models/stacked_td/model.json",
};

static void same_weights(const io_layer *a, const io_layer *b) {
    io_wspec wa[IO_MAX_W], wb[IO_MAX_W];
    int na = io_weight_specs(a, 7, wa), nb = io_weight_specs(b, 7, wb);
    cr_assert_eq(na, nb, "layer '%s': %d weights, %d after the round trip", a->name, na, nb);
    for (int k = 0; k < na; k++) {
        cr_assert_str_eq(wa[k].name, wb[k].name);
        cr_assert(rc_shape_eq(wa[k].shape, wb[k].shape), "layer '%s': weight %d's shape", a->name, k);
        cr_assert_str_eq(wa[k].h5, wb[k].h5);
        cr_assert_str_eq(wa[k].tfjs, wb[k].tfjs);
    }
}

Test(format_table, every_row_round_trips_through_its_writer_and_reader) {
    bool met[64] = {0};
    cr_assert_leq(io_classes_len, 64);
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char err[512];
        rc_error e = {0};
        rc_io_model *m = NULL;
        cr_assert_eq(rc_io_load(files[f], &m, &e), RC_OK, "%s", e.message);
        for (int l = 0; l < m->nlayers; l++) {
            const io_layer *L = &m->layers[l];
            cr_assert(L->kind && L->kind == io_class_find(L->cls), "%s: layer '%s' has no row", files[f], L->name);
            bool ok = true;
            json_t *cfg = L->kind->write(m, L, &ok);
            if (!ok) { /* no TF.js form (Keras 3's GRU reset_after, hard_sigmoid) */
                json_decref(cfg);
                continue;
            }
            cr_assert(cfg, "%s: layer '%s': no config written", files[f], L->name);
            met[L->kind - io_classes] = true;
            /* read back as TF.js (Keras 2 schema) */
            rc_io_model r = {.file = "roundtrip", .format = "tfjs", .keras3 = false, .err = err, .err_len = sizeof err};
            err[0] = 0;
            io_layer B = {.kind = L->kind};
            snprintf(B.name, sizeof B.name, "%s", L->name);
            snprintf(B.cls, sizeof B.cls, "%s", L->kind->cls);
            cr_assert_eq(L->kind->read(&r, cfg, &B), RC_OK, "%s: layer '%s' (%s): %s\n%s", files[f], L->name,
                         L->cls, err, json_dumps(cfg, JSON_COMPACT));
            bool ok2 = true;
            json_t *again = L->kind->write(m, &B, &ok2);
            cr_assert(ok2);
            char *s1 = json_dumps(cfg, JSON_SORT_KEYS | JSON_COMPACT), *s2 = json_dumps(again, JSON_SORT_KEYS | JSON_COMPACT);
            cr_assert_str_eq(s1, s2, "%s: layer '%s' (%s) differs after the round trip", files[f], L->name, L->cls);
            free(s1);
            free(s2);
            same_weights(L, &B);
            json_decref(cfg);
            json_decref(again);
        }
        rc_io_free(m);
    }
    for (int i = 0; i < io_classes_len; i++)
        cr_assert(met[i], "row '%s' of the formats' table is met by no golden model", io_classes[i].cls);
}

/* Rows are unique by class name, built rows name their layers class, and
 * every rc_layer_table class a model can hold is reachable from a row (or
 * is the summary-only note). */
Test(format_table, rows_are_consistent_with_the_layer_table) {
    for (int i = 0; i < io_classes_len; i++) {
        const io_class *c = &io_classes[i];
        cr_assert_eq(io_class_find(c->cls), c, "row '%s' is not unique", c->cls);
        cr_assert(c->read && c->write && c->weights, "row '%s' lacks a hook", c->cls);
        cr_assert_eq(!c->build, !!(c->flags & IO_F_INPUT), "row '%s': build iff not an input", c->cls);
        cr_assert_eq(!c->layer, !!(c->flags & IO_F_INPUT), "row '%s': a layers class iff not an input", c->cls);
    }
    for (int k = 0; k < rc_layer_table_len; k++) {
        bool found = rc_layer_table[k] == &rc_note_class;
        for (int i = 0; i < io_classes_len; i++) found = found || io_classes[i].layer == rc_layer_table[k];
        cr_assert(found, "layers class '%s' has no row in the formats' table", rc_layer_table[k]->type);
    }
}
