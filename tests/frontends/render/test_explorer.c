/* The explorer page (rc_explorer_string / rc_explorer_write): self-contained
 * (no address, no external script, style or image), byte-deterministic,
 * one view per level (and per level with gradients), metadata for every
 * node drawn with value summaries for parameters, a model's summary, small
 * for a long sequence with folded steps, written whole or not at all. The
 * page's behaviour in a browser is tests/frontends/render/test_view_chromium.sh. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <recur/model.h>
#include <recur/render.h>

#include "dot_util.h"
#include "util.h"

static char *page_of(const rc_graph *g, const rc_model *m, const rc_explorer_options *o, size_t *len) {
    char *page = NULL;
    rc_error err;
    rc_status st = rc_explorer_string(g, m, o, &page, len, &err);
    cr_assert_eq(st, RC_OK, "rc_explorer_string: %s", err.message);
    cr_assert_not_null(page);
    return page;
}

static int count(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what)) n++;
    return n;
}

Test(explorer, is_self_contained_and_deterministic) {
    du_net n = du_build(DU_LSTM, 4, false, true);
    size_t l1, l2;
    char *a = page_of(n.g, NULL, NULL, &l1), *b = page_of(n.g, NULL, NULL, &l2);
    cr_assert_eq(l1, l2);
    cr_assert(memcmp(a, b, l1) == 0, "two pages of the same graph differ");
    cr_assert_eq(strlen(a), l1);
    /* nothing to fetch: no address of any kind, no external script, style,
     * frame or image */
    const char *banned[] = {"http", "<script src", "<link", "@import", "url(", "<iframe", "<img", "src="};
    for (size_t k = 0; k < sizeof banned / sizeof banned[0]; k++)
        cr_expect_null(strstr(a, banned[k]), "the page holds '%s'", banned[k]);
    cr_expect(strncmp(a, "<!DOCTYPE html>", 15) == 0);
    cr_expect_null(strstr(a, "<?xml"), "an XML prolog inside the page");
    cr_expect_null(strstr(a, "<!DOCTYPE svg"));
    cr_expect_eq(count(a, "<script>"), 1, "one inline script");
    cr_expect_eq(count(a, "<script type=\"application/json\" id=\"meta\">"), 1);
    /* six views, each one SVG */
    const char *views[] = {"v-layer", "v-layer-g", "v-cell", "v-cell-g", "v-op", "v-op-g"};
    for (size_t k = 0; k < 6; k++) {
        char want[64];
        snprintf(want, sizeof want, "<div class=\"view\" id=\"%s\"", views[k]);
        cr_expect_eq(count(a, want), 1, "view %s", views[k]);
    }
    cr_expect_eq(count(a, "<svg"), 6);
    cr_expect_null(strstr(a, "id=\"grad-toggle\" disabled"));
    rc_free(a);
    rc_free(b);
    du_free(&n);
}

Test(explorer, describes_every_node_drawn) {
    du_net n = du_build(DU_GRU, 3, false, true);
    char *page = page_of(n.g, NULL, NULL, NULL);
    const char *meta = strstr(page, "id=\"meta\">");
    cr_assert_not_null(meta);
    /* every parameter, by its DOT id, with its op, shape and values */
    char id[512], want[600];
    for (int k = 0; k < n.nparams; k++) {
        rc_dot_node_id(n.params[k], id, sizeof id);
        snprintf(want, sizeof want, "\"%s\":{\"op\":", id);
        const char *e = strstr(meta, want);
        cr_expect_not_null(e, "no metadata for %s", id);
        if (!e) continue;
        const char *end = strchr(e, '}');
        cr_expect(strstr(e, "\"kind\":\"param\"") && strstr(e, "\"kind\":\"param\"") < end, "%s", id);
        cr_expect(strstr(e, "\"dtype\":\"float32\""), "%s", id);
        const char *st = strstr(e, "\"stats\":{");
        cr_expect(st && strstr(st, "\"hist\":[") && strstr(st, "\"mean\":"), "no value summary for %s", id);
        snprintf(want, sizeof want, "<title>%s</title>", id);
        cr_expect_not_null(strstr(page, want), "%s is not drawn at op level", id);
    }
    /* a gradient node is described too, marked as one */
    cr_expect_not_null(strstr(meta, "\"grad:"));
    cr_expect_not_null(strstr(meta, "\"grad\":true"));
    rc_free(page);
    du_free(&n);
}

Test(explorer, without_gradients_three_views_and_no_toggle) {
    du_net n = du_build(DU_SIMPLE, 3, false, false);
    char *page = page_of(n.g, NULL, NULL, NULL);
    cr_expect_eq(count(page, "<svg"), 3);
    cr_expect_not_null(strstr(page, "id=\"grad-toggle\" disabled"));
    rc_free(page);
    du_free(&n);
    /* and a graph with gradients, when they are not asked for */
    n = du_build(DU_SIMPLE, 3, false, true);
    rc_explorer_options o = rc_explorer_defaults();
    o.gradients = false;
    page = page_of(n.g, NULL, &o, NULL);
    cr_expect_eq(count(page, "<svg"), 3);
    rc_free(page);
    du_free(&n);
}

/* Names are escaped where they land: the title in HTML, names in JSON
 * inside <script> ('<' as \u003c, so no name can open or end an element). */
Test(explorer, escapes_names_and_title) {
    rc_graph *g = rc_graph_new();
    rc_node *x = rc_input(g, "x<b>", RC_F32, RC_SHAPE(2, 3));
    rc_node *w = rc_param(g, "w\"&<", RC_SHAPE(3, 2));
    rc_node *y = rc_matmul(g, x, w, false, false);
    cr_assert_not_null(y);
    rc_explorer_options o = rc_explorer_defaults();
    o.title = "a <b>bold</b> & \"quoted\" </script> title";
    char *page = page_of(g, NULL, &o, NULL);
    cr_expect_not_null(strstr(page, "<title>a &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; &lt;/script&gt; title</title>"));
    cr_expect_eq(count(page, "</script>"), 2, "a name or the title ended a script element");
    cr_expect_not_null(strstr(page, "\"name\":\"x\\u003cb>\""), "the input's name in the metadata");
    cr_expect_null(strstr(page, "<b>"));
    rc_free(page);
    rc_graph_free(g);
}

Test(explorer, carries_a_model_summary) {
    rc_graph *g = rc_graph_new();
    rc_model *m = rc_model_new("tiny");
    rc_cell_config cfg = rc_cell_defaults(4);
    rc_rnn_config rcfg = {0};
    cr_assert_eq(rc_model_add_rnn(m, rc_rnn_new("lstm", rc_lstm_cell_new(&cfg), &rcfg, NULL)), RC_OK);
    rc_node *x = rc_input(g, "x", RC_F32, RC_SHAPE(2, 5, 3));
    cr_assert_not_null(rc_model_apply(m, g, x, false, NULL));
    char *page = page_of(g, m, NULL, NULL);
    const char *s = strstr(page, "<details id=\"summary\">");
    cr_assert_not_null(s);
    cr_expect_not_null(strstr(s, "Model: &quot;tiny&quot;"));
    cr_expect_not_null(strstr(s, "LSTM"));
    rc_free(page);
    rc_model_free(m);
    rc_graph_free(g);
}

/* T = 100 stays small: every level folds its steps (3 at each end). */
Test(explorer, long_sequence_stays_small, .timeout = 120) {
    du_net n = du_build(DU_LSTM, 100, false, true);
    size_t len;
    char *page = page_of(n.g, NULL, NULL, &len);
    cr_expect_lt(len, 1500000, "a page of %zu bytes for T = 100", len);
    cr_expect_not_null(strstr(page, "steps hidden"), "no ellipsis box: the steps were not folded");
    cr_expect_null(strstr(page, "<title>step:rnn/t50#"), "step 50 drawn");
    cr_expect_not_null(strstr(page, "<title>step:rnn/t99#"));
    rc_free(page);
    du_free(&n);
}

Test(explorer, writes_whole_or_not_at_all, .init = tu_tmpdir_setup, .fini = tu_tmpdir_teardown) {
    du_net n = du_build(DU_SIMPLE, 2, false, true);
    char path[1024];
    snprintf(path, sizeof path, "%s/page.html", tu_tmpdir);
    rc_error err;
    cr_assert_eq(rc_explorer_write(n.g, NULL, NULL, path, &err), RC_OK, "%s", err.message);
    size_t len;
    char *page = page_of(n.g, NULL, NULL, &len);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    char *back = malloc(len + 1);
    cr_assert_eq(fread(back, 1, len + 1, f), len);
    fclose(f);
    cr_expect(memcmp(back, page, len) == 0, "the file is not the page");
    free(back);
    rc_free(page);
    /* an unwritable place: an error naming it, nothing left behind */
    snprintf(path, sizeof path, "%s/no/such/dir/page.html", tu_tmpdir);
    cr_expect_eq(rc_explorer_write(n.g, NULL, NULL, path, &err), RC_ERR_IO);
    cr_expect_not_null(strstr(err.message, "no/such/dir/page.html"), "%s", err.message);
    cr_expect_str_eq(err.where, "rc_explorer_write");
    cr_expect_eq(rc_explorer_write(NULL, NULL, NULL, path, &err), RC_ERR_ARG);
    cr_expect_eq(rc_explorer_write(n.g, NULL, NULL, NULL, &err), RC_ERR_ARG);
    cr_expect_eq(rc_explorer_string(n.g, NULL, NULL, NULL, NULL, &err), RC_ERR_ARG);
    cr_expect_str_eq(err.where, "rc_explorer_string");
    cr_expect_eq(rc_explorer_string(n.g, NULL, NULL, NULL, NULL, NULL), RC_ERR_ARG, "a NULL rc_error is accepted");
    du_free(&n);
}
