/* The char-LM subcommands end to end through the real executable (path in
 * RECUR_EXE): bad arguments give a message and exit 2 (usage) or 1
 * (failure); a tiny model trains deterministically, resumes exactly,
 * generates deterministically from a seed, evaluates, and plots valid SVG. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"


static void setup(void) {
    cli_make_dir("recur-test-cli");
    /* A small corpus with structure: 6 KB of repeated sentences. */
    char path[256];
    snprintf(path, sizeof path, "%s/tiny.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 120; i++) fprintf(f, "the cat sat on the mat. %d dogs ran.\n", i % 7);
    fclose(f);
}

static const char tiny[] = "--corpus tiny.txt --units 16 --embed 8 --seq 20 --batch 4 --print-every 10";

Test(cli, train_bad_arguments, .init = setup, .fini = cli_remove_dir) {
    EXPECT_RUN(2, "missing --corpus", "train");
    EXPECT_RUN(2, "unknown option '--bogus'", "train --corpus tiny.txt --bogus");
    EXPECT_RUN(2, "--units expects a positive integer up to 4096, got 'abc'", "train --corpus tiny.txt --units abc");
    EXPECT_RUN(2, "--steps expects a positive integer up to 100000000, got '12x'", "train --corpus tiny.txt --steps 12x");
    EXPECT_RUN(2, "--units expects a positive integer up to 4096, got '0'", "train --corpus tiny.txt --units 0");
    EXPECT_RUN(2, "--layers expects a positive integer up to 8, got '99'", "train --corpus tiny.txt --layers 99");
    EXPECT_RUN(2, "--lr expects a number from 1e-12 to 10, got 'nan'", "train --corpus tiny.txt --lr nan");
    EXPECT_RUN(2, "--lr expects a number from 1e-12 to 10, got '-1'", "train --corpus tiny.txt --lr -1");
    EXPECT_RUN(2, "--threads expects a positive integer up to 64, got '0'", "train --corpus tiny.txt --threads 0");
    EXPECT_RUN(2, "--cell expects lstm, gru or simple, got 'rnn'", "train --corpus tiny.txt --cell rnn");
    EXPECT_RUN(2, "--optimizer expects adam, sgd, rmsprop or adagrad, got 'adamw'", "train --corpus tiny.txt --optimizer adamw");
    EXPECT_RUN(2, "--seed needs a value: a whole number", "train --corpus tiny.txt --seed");
    EXPECT_RUN(2, "--units is given twice", "train --corpus tiny.txt --units 4 --units 5");
    EXPECT_RUN(2, "unexpected argument 'extra'", "train --corpus tiny.txt extra");
    EXPECT_RUN(2, "--resume needs --checkpoint", "train --corpus tiny.txt --resume");
    EXPECT_RUN(1, "cannot open 'missing.txt'", "train --corpus missing.txt");
    EXPECT_RUN(1, "cannot resume: checkpoint 'none.safetensors' does not exist",
               "train --corpus tiny.txt --checkpoint none.safetensors --resume");
    EXPECT_RUN(1, "too short", "train --corpus tiny.txt --seq 1000");
    cr_expect_eq(run("train --help"), 0);
    cr_expect(strstr(out_text, "usage: recur train") != NULL);
}

Test(cli, generate_eval_plot_bad_arguments, .init = setup, .fini = cli_remove_dir) {
    EXPECT_RUN(2, "missing CHECKPOINT", "generate");
    EXPECT_RUN(2, "--temperature expects a number from 0.001 to 100, got 'hot'", "generate x.safetensors --temperature hot");
    EXPECT_RUN(2, "--temperature expects a number from 0.001 to 100, got '0'", "generate x.safetensors --temperature 0");
    EXPECT_RUN(2, "--length expects a whole number from 0 to 100000000, got '-5'", "generate x.safetensors --length -5");
    EXPECT_RUN(1, "x.safetensors", "generate x.safetensors");
    /* Not a safetensors file at all. */
    EXPECT_RUN(1, "tiny.txt", "generate tiny.txt");
    EXPECT_RUN(2, "missing --corpus", "eval x.safetensors");
    EXPECT_RUN(2, "--split expects val or train, got 'test'", "eval x.safetensors --corpus tiny.txt --split test");
    EXPECT_RUN(1, "x.safetensors", "eval x.safetensors --corpus tiny.txt");
    EXPECT_RUN(2, "missing -o", "plot log.csv");
    EXPECT_RUN(2, "missing LOG.csv", "plot -o c.svg");
    EXPECT_RUN(1, "cannot open the log 'log.csv': No such file or directory", "plot log.csv -o c.svg");
    EXPECT_RUN(1, "needs a 'step' column", "plot tiny.txt -o c.svg");
    char p[256];
    snprintf(p, sizeof p, "%s/bad.csv", dir);
    FILE *f = fopen(p, "w");
    fputs("step,loss\n1,2.5\n2,oops\n", f);
    fclose(f);
    EXPECT_RUN(1, "'bad.csv' line 3: loss 'oops' is not a finite number", "plot bad.csv -o c.svg");
}

Test(cli, train_checkpoint_generate_eval_plot, .init = setup, .fini = cli_remove_dir, .timeout = 120) {
    cr_assert_eq(run("train %s --steps 30 --seed 5 --checkpoint a.safetensors --save-every 10", tiny), 0, "%s",
                 err_text);
    cr_expect(strstr(out_text, "step 30/30") != NULL, "%s", out_text);
    cr_expect(strstr(out_text, "wrote a.csv") && strstr(out_text, "wrote a.svg"), "%s", out_text);
    /* The same seed trains the same weights, bit for bit. */
    cr_assert_eq(run("train %s --steps 30 --seed 5 --checkpoint b.safetensors", tiny), 0, "%s", err_text);
    cr_expect(same_files("a.safetensors", "b.safetensors"), "two runs with one seed differ");
    /* Also on one thread (the products split differently; this model's are
     * too small to be split at all, so the weights are the same). */
    cr_assert_eq(run("train %s --steps 30 --seed 5 --threads 1 --checkpoint d.safetensors", tiny), 0, "%s", err_text);
    cr_expect(same_files("a.safetensors", "d.safetensors"), "one thread trains other weights than the default");
    /* 15 steps, then resumed to 30: the same as 30 in one go. */
    cr_assert_eq(run("train %s --steps 15 --seed 5 --checkpoint c.safetensors", tiny), 0, "%s", err_text);
    cr_assert_eq(run("train %s --steps 30 --seed 5 --checkpoint c.safetensors --resume", tiny), 0, "%s", err_text);
    cr_expect(strstr(out_text, "resuming at step 15") != NULL, "%s", out_text);
    cr_expect(same_files("a.safetensors", "c.safetensors"), "resumed training differs from a straight run");
    /* Refuses to overwrite, and a contradicting resume is an error. */
    EXPECT_RUN(1, "already exists", "train %s --checkpoint a.safetensors", tiny);
    EXPECT_RUN(1, "contradict", "train %s --steps 40 --cell gru --checkpoint a.safetensors --resume", tiny);
    cr_expect_eq(run("train %s --steps 30 --checkpoint a.safetensors --resume", tiny), 0);
    cr_expect(strstr(out_text, "nothing to do") != NULL, "%s", out_text);

    /* generate: one seed, one text; the priming text comes first. */
    cr_assert_eq(run("generate a.safetensors --length 80 --seed 3 --prime 'the '"), 0, "%s", err_text);
    static char first[sizeof out_text];
    snprintf(first, sizeof first, "%s", out_text);
    cr_expect(strncmp(first, "the ", 4) == 0 && strlen(first) == 4 + 80 + 1, "[%s]", first);
    cr_assert_eq(run("generate a.safetensors --length 80 --seed 3 --prime 'the '"), 0);
    cr_expect_str_eq(out_text, first);
    cr_assert_eq(run("generate a.safetensors --length 80 --seed 4 --prime 'the '"), 0);
    cr_expect_str_neq(out_text, first);

    /* eval: nats and bits agree; a 30-step model is better than uniform (ln 256). */
    cr_assert_eq(run("eval a.safetensors --corpus tiny.txt --windows 16 --seq 20"), 0, "%s", err_text);
    double nats, bits;
    cr_assert_eq(sscanf(out_text, "val %lf nats/char %lf bits/char", &nats, &bits), 2, "%s", out_text);
    cr_expect(fabs(bits - nats / log(2.0)) < 1e-3);
    cr_expect(nats < log(256.0) - 0.5, "val %g", nats);

    /* The log: header, one row per step, then the final validation row. */
    char p[256], csv[65536];
    snprintf(p, sizeof p, "%s/a.csv", dir);
    slurp(p, csv, sizeof csv);
    cr_expect(strncmp(csv, "step,loss,val_loss,lr,elapsed_s\n1,", 34) == 0, "%s", csv);
    int lines = 0;
    for (char *c = csv; *c; c++) lines += *c == '\n';
    cr_expect_eq(lines, 1 + 30 + 1);

    /* The SVG: well-formed XML (xmllint when installed), with axes and a curve. */
    cr_assert_eq(run("plot a.csv -o curve.svg --title 'tiny <test>'"), 0, "%s", err_text);
    char svg[262144];
    snprintf(p, sizeof p, "%s/curve.svg", dir);
    slurp(p, svg, sizeof svg);
    cr_expect(strncmp(svg, "<?xml", 5) == 0);
    cr_expect(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") && strstr(svg, "</svg>\n"));
    cr_expect(strstr(svg, "<polyline") && strstr(svg, ">step</text>") && strstr(svg, "tiny &lt;test&gt;"));
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "xmllint --noout %s/curve.svg %s/a.svg", dir, dir);
        cr_expect_eq(system(cmd), 0, "xmllint rejects the SVG");
    }
}

/* Extreme but finite values plot in bounded time with readable, distinct
 * ticks (a flat series at 1e20 once hung the tick loop: a step of 0.5 does
 * not move 1e20); magnitudes beyond 1e100 are refused by name. */
Test(cli, plot_extreme_values, .init = setup, .fini = cli_remove_dir, .timeout = 30) {
    static const struct { const char *csv, *want; } ok[] = {
        {"step,loss\n1,1e20\n2,1e20\n", "1e+20<"},
        {"step,loss,val_loss\n1,1e100,-1e100\n1e100,-1e100,\n", "-1e+100<"},
        {"step,loss\n1,1e-320\n2,4e-320\n", ">0<"},
        {"step,loss\n1,1e30\n2,1\n3,1\n4,1\n", "1e+30<"},
    };
    char p[256];
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        snprintf(p, sizeof p, "%s/x.csv", dir);
        FILE *f = fopen(p, "w");
        cr_assert_not_null(f);
        fputs(ok[i].csv, f);
        fclose(f);
        cr_assert_eq(run("plot x.csv -o x.svg"), 0, "%s: %s", ok[i].csv, err_text);
        snprintf(p, sizeof p, "%s/x.svg", dir);
        f = fopen(p, "r");
        cr_assert_not_null(f);
        static char svg[1 << 16];
        size_t n = fread(svg, 1, sizeof svg - 1, f);
        svg[n] = 0;
        fclose(f);
        cr_expect(strstr(svg, ok[i].want) != NULL, "%s: no tick '%s'", ok[i].csv, ok[i].want);
        cr_expect(strstr(svg, "nan") == NULL && strstr(svg, "inf") == NULL, "%s: non-finite coordinates", ok[i].csv);
    }
    snprintf(p, sizeof p, "%s/big.csv", dir);
    FILE *f = fopen(p, "w");
    fputs("step,loss\n1,2e100\n", f);
    fclose(f);
    EXPECT_RUN(1, "'big.csv' line 2: loss '2e100' is not a finite number (|x| <= 1e100)", "plot big.csv -o c.svg");
}

/* The final validation loss printed by `recur train` ("step N  val X ..."). */
static double final_val(void) {
    const char *v = strstr(out_text, "  val ");
    cr_assert_not_null(v, "%s", out_text);
    return strtod(v + 6, NULL);
}

/* --replicas N: N copies of the model in N threads, each on batch / N rows,
 * gradients summed. The same training as one copy on the whole batch, up
 * to float rounding of the gradient sums; bit for bit the same from run to
 * run and through a resume; a batch the replicas cannot share, and
 * --replicas under mpirun, are usage errors; an error every replica meets
 * (a missing corpus) is reported once. */
Test(cli, train_replicas, .init = setup, .fini = cli_remove_dir, .timeout = 120) {
    static const char m[] = "--corpus tiny.txt --units 16 --embed 8 --seq 20 --batch 8 --print-every 10 --seed 5";
    cr_assert_eq(run("train %s --steps 30 --replicas 1 --checkpoint one.safetensors", m), 0, "%s", err_text);
    cr_expect(strstr(out_text, "data parallel") == NULL, "%s", out_text);
    double v1 = final_val();
    cr_assert_eq(run("train %s --steps 30 --replicas 2 --checkpoint two.safetensors", m), 0, "%s", err_text);
    cr_expect(strstr(out_text, "data parallel: 2 replicas x 4 rows x 1 thread (threads of this process)"), "%s",
              out_text);
    cr_expect_eq(err_text[0], 0, "%s", err_text);
    double v2 = final_val();
    /* Tolerance: 30 Adam steps of lr 2e-3 on gradients that differ by
     * float32 rounding of a sum of 2 halves (~1e-7 relative) move the
     * weights by ~1e-7 each and the loss (~3 nats) by far less than 1e-3;
     * a different batch (one replica alone on 4 rows) moves it by ~1e-2. */
    cr_expect(fabs(v1 - v2) < 1e-3, "val %.6f with one replica, %.6f with two", v1, v2);
    cr_expect(v1 != 0 && v2 != 0);
    /* reproducible, and resumable: 15 + 15 steps == 30 */
    cr_assert_eq(run("train %s --steps 30 --replicas 2 --checkpoint two_b.safetensors", m), 0, "%s", err_text);
    cr_expect(same_files("two.safetensors", "two_b.safetensors"), "two runs with two replicas differ");
    cr_assert_eq(run("train %s --steps 15 --replicas 2 --checkpoint half.safetensors", m), 0, "%s", err_text);
    cr_assert_eq(run("train %s --steps 30 --replicas 2 --checkpoint half.safetensors --resume", m), 0, "%s",
                 err_text);
    cr_expect(same_files("two.safetensors", "half.safetensors"), "resumed replicas differ from a straight run");
    /* one replica alone on its 4 rows trains other weights: the test can fail */
    cr_assert_eq(run("train --corpus tiny.txt --units 16 --embed 8 --seq 20 --batch 4 --seed 5 --steps 30 --replicas 1"),
                 0, "%s", err_text);
    cr_expect(fabs(final_val() - v2) > 1e-4, "half the batch gives the same loss %.6f", v2);
    EXPECT_RUN(2, "--batch 8 is not a multiple of the 3 replicas", "train %s --replicas 3", m);
    EXPECT_RUN(2, "--replicas expects a positive integer up to 64, got '0'", "train %s --replicas 0", m);
    EXPECT_RUN(1, "nope.txt", "train --corpus nope.txt --batch 8 --replicas 2");
    cr_expect(strchr(err_text, '\n') == strrchr(err_text, '\n'), "one line: %s", err_text);
}
