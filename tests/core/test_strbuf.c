/* rc_strbuf (core/strbuf.c): appends of any length, formatted text longer
 * than the stack buffer (the explorer's old writer cut such text at 511
 * bytes), HTML escaping, ownership on take, sticky out-of-memory. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include <recur.h>

Test(strbuf, appends_and_takes) {
    rc_strbuf b = {0};
    rc_strbuf_puts(&b, "ab");
    rc_strbuf_put(&b, "c\0d", 3); /* bytes, NUL included */
    rc_strbuf_printf(&b, "%d-%s", 42, "x");
    cr_assert_eq(b.n, 9);
    cr_assert(memcmp(b.p, "abc\0d42-x", 10) == 0);
    char *t = rc_strbuf_take(&b);
    cr_assert_not_null(t);
    cr_assert_null(b.p);
    cr_assert_eq(b.n, 0);
    rc_free(t);
}

Test(strbuf, long_formatted_text_is_whole) {
    static char big[100001];
    memset(big, 'q', sizeof big - 1);
    rc_strbuf b = {0};
    rc_strbuf_puts(&b, "<");
    rc_strbuf_printf(&b, "[%s]%d", big, 7);
    cr_assert_eq(b.n, 1 + 1 + 100000 + 1 + 1);
    cr_assert_eq(b.p[0], '<');
    cr_assert_eq(b.p[1], '[');
    cr_assert_eq(b.p[100001], 'q');
    cr_assert_str_eq(b.p + 100002, "]7");
    cr_assert(!b.oom);
    rc_strbuf_free(&b);
    cr_assert_null(b.p);
}

Test(strbuf, html_escapes) {
    rc_strbuf b = {0};
    rc_strbuf_html(&b, "a<b>&\"c\" ok");
    rc_strbuf_html(&b, "");
    rc_strbuf_html(&b, "&");
    cr_assert_str_eq(b.p, "a&lt;b&gt;&amp;&quot;c&quot; ok&amp;");
    rc_strbuf_free(&b);
}

Test(strbuf, out_of_memory_is_sticky) {
    rc_strbuf b = {0};
    rc_strbuf_puts(&b, "kept until take");
    /* a size no allocation can satisfy: refused before anything is read */
    rc_strbuf_put(&b, "", SIZE_MAX / 2);
    cr_assert(b.oom);
    rc_strbuf_puts(&b, "ignored");
    rc_strbuf_printf(&b, "%s", "ignored");
    cr_assert_eq(b.n, strlen("kept until take"));
    cr_assert_null(rc_strbuf_take(&b)); /* incomplete text is never handed out */
    cr_assert_null(b.p);
    cr_assert(!b.oom);
}
