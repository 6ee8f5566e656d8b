/* Unit tests for `mlq logs --all`'s line prefixes (cli/logprefix.c): each
 * line of a node starts with "[K] ", a line split over several chunks stays
 * whole, lines of two interleaved nodes never mix, the unfinished last line
 * is written with a newline when the node's log ends, and an overlong line
 * is cut into prefixed pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logprefix.h"

struct sink {
    char *buf;
    size_t len;
    FILE *f;
};

static void sink_open(struct sink *s)
{
    memset(s, 0, sizeof *s);
    s->f = open_memstream(&s->buf, &s->len);
    assert_non_null(s->f);
}

/* Closes the stream and returns its text (owned by s). */
static const char *sink_text(struct sink *s)
{
    fflush(s->f);
    return s->buf;
}

static void sink_close(struct sink *s)
{
    fclose(s->f);
    free(s->buf);
}

static void feed(struct mlq_logpfx *p, const char *text, FILE *out)
{
    assert_int_equal(mlq_logpfx_feed(p, (const uint8_t *)text, strlen(text), out), 0);
}

static void test_prefixes_each_line(void **state)
{
    (void)state;
    struct sink s;
    struct mlq_logpfx p;
    sink_open(&s);
    assert_int_equal(mlq_logpfx_init(&p, 2), 0);
    feed(&p, "one\ntwo\n\nthree\n", s.f);
    assert_int_equal(mlq_logpfx_end(&p, s.f), 0);
    assert_string_equal(sink_text(&s), "[2] one\n[2] two\n[2] \n[2] three\n");
    mlq_logpfx_free(&p);
    sink_close(&s);
}

static void test_split_lines_stay_whole(void **state)
{
    (void)state;
    struct sink s;
    struct mlq_logpfx a, b;
    sink_open(&s);
    assert_int_equal(mlq_logpfx_init(&a, 0), 0);
    assert_int_equal(mlq_logpfx_init(&b, 1), 0);
    feed(&a, "loss=0.", s.f);
    feed(&b, "epoch ", s.f);
    feed(&a, "5\nstep", s.f);
    feed(&b, "1\n", s.f);
    feed(&a, " 2\n", s.f);
    assert_string_equal(sink_text(&s), "[0] loss=0.5\n[1] epoch 1\n[0] step 2\n");
    mlq_logpfx_free(&a);
    mlq_logpfx_free(&b);
    sink_close(&s);
}

static void test_end_flushes_unfinished_line(void **state)
{
    (void)state;
    struct sink s;
    struct mlq_logpfx p;
    sink_open(&s);
    assert_int_equal(mlq_logpfx_init(&p, 3), 0);
    feed(&p, "done\nno newline", s.f);
    assert_string_equal(sink_text(&s), "[3] done\n");
    assert_int_equal(mlq_logpfx_end(&p, s.f), 0);
    assert_string_equal(sink_text(&s), "[3] done\n[3] no newline\n");
    assert_int_equal(mlq_logpfx_end(&p, s.f), 0); /* nothing left: nothing more */
    assert_string_equal(sink_text(&s), "[3] done\n[3] no newline\n");
    mlq_logpfx_free(&p);
    sink_close(&s);
}

static void test_overlong_line_is_cut(void **state)
{
    (void)state;
    struct sink s;
    struct mlq_logpfx p;
    size_t n = MLQ_LOGPFX_MAX_LINE + 10;
    char *big = malloc(n + 2);
    memset(big, 'x', n);
    big[n] = '\n';
    big[n + 1] = '\0';
    sink_open(&s);
    assert_int_equal(mlq_logpfx_init(&p, 1), 0);
    feed(&p, big, s.f);
    const char *out = sink_text(&s);
    /* "[1] " + MAX x's + "\n" + "[1] " + 10 x's + "\n" */
    assert_int_equal(strlen(out), 4 + MLQ_LOGPFX_MAX_LINE + 1 + 4 + 10 + 1);
    assert_memory_equal(out, "[1] xxx", 7);
    assert_string_equal(out + 4 + MLQ_LOGPFX_MAX_LINE, "\n[1] xxxxxxxxxx\n");
    mlq_logpfx_free(&p);
    sink_close(&s);
    free(big);
}

/* A line exactly as long as the buffer, whose newline comes in the next
 * chunk, is one line (no empty line after it). */
static void test_full_buffer_then_newline(void **state)
{
    (void)state;
    struct sink s;
    struct mlq_logpfx p;
    char *big = malloc(MLQ_LOGPFX_MAX_LINE + 1);
    memset(big, 'y', MLQ_LOGPFX_MAX_LINE);
    big[MLQ_LOGPFX_MAX_LINE] = '\0';
    sink_open(&s);
    assert_int_equal(mlq_logpfx_init(&p, 0), 0);
    feed(&p, big, s.f);
    feed(&p, "\nz\n", s.f);
    const char *out = sink_text(&s);
    assert_int_equal(strlen(out), 4 + MLQ_LOGPFX_MAX_LINE + 1 + 6);
    assert_string_equal(out + 4 + MLQ_LOGPFX_MAX_LINE, "\n[0] z\n");
    mlq_logpfx_free(&p);
    sink_close(&s);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes_each_line),
        cmocka_unit_test(test_split_lines_stay_whole),
        cmocka_unit_test(test_end_flushes_unfinished_line),
        cmocka_unit_test(test_overlong_line_is_cut),
        cmocka_unit_test(test_full_buffer_then_newline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
