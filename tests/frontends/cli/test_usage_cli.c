/* How the CLI answers bad usage, through the real executable (RECUR_EXE):
 * every bad command line (unknown option, missing value, bad number,
 * out-of-range value, unknown subcommand, missing or extra positional
 * argument), for every subcommand, prints exactly two lines on stderr,
 *   recur CMD: <the argument and what it expects>
 *   try 'recur CMD --help'
 * and exits 2; --help prints the command's help on stdout and exits 0; a
 * missing or directory file is a one-line failure naming it (exit 1). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"

#define MODEL GOLDEN_MODELS "/embedding_lstm_dense/model.json"

static void setup(void) {
    cli_make_dir("recur-test-usage");
    char p[256];
    snprintf(p, sizeof p, "%s/adir", dir);
    cr_assert_eq(mkdir(p, 0755), 0);
}

typedef struct usage_case {
    const char *cmd;   /* the subcommand the answer is about; "" = recur itself */
    const char *args;  /* the whole command line after `recur` */
    const char *names; /* what the first line must contain (the argument) */
} usage_case;

static const usage_case cases[] = {
    {"", "", "missing a command"},
    {"", "--bogus", "unknown option '--bogus'"},
    {"", "frobnicate", "unknown command 'frobnicate'"},
    {"help", "help bogus", "unknown command 'bogus'"},
    {"help", "help train eval", "unexpected argument 'eval'"},
    {"help", "help --bogus", "unknown option '--bogus'"},
    {"version", "version extra", "unexpected argument 'extra'"},
    {"version", "version --bogus", "unknown option '--bogus'"},
    {"predict", "predict", "missing MODEL"},
    {"predict", "predict " MODEL, "missing INPUT.json"},
    {"predict", "predict m.json in.json extra", "unexpected argument 'extra'"},
    {"predict", "predict m.json in.json -o", "-o needs a value"},
    {"predict", "predict m.json in.json --bogus", "unknown option '--bogus'"},
    {"summary", "summary", "missing MODEL"},
    {"summary", "summary m.json --time abc", "--time expects a positive integer up to 1000000, got 'abc'"},
    {"summary", "summary m.json --time 0", "--time expects a positive integer up to 1000000, got '0'"},
    {"summary", "summary m.json --time", "--time needs a value"},
    {"summary", "summary m.json other.json", "unexpected argument 'other.json'"},
    {"summary", "summary --bogus", "unknown option '--bogus'"},
    {"gradcheck", "gradcheck", "missing MODEL"},
    {"gradcheck", "gradcheck m.json --batch 0", "--batch expects a positive integer up to 4096, got '0'"},
    {"gradcheck", "gradcheck m.json --max-per-param -1", "--max-per-param expects a whole number from 0 to"},
    {"gradcheck", "gradcheck m.json --seed x", "--seed expects a whole number from 0 to 1073741824, got 'x'"},
    {"gradcheck", "gradcheck m.json --time 100001", "--time expects a positive integer up to 100000, got '100001'"},
    {"gradcheck", "gradcheck m.json --bogus", "unknown option '--bogus'"},
    {"gradcheck", "gradcheck m.json n.json", "unexpected argument 'n.json'"},
    {"export", "export", "missing MODEL"},
    {"export", "export m.json", "missing OUTDIR"},
    {"export", "export m.json out extra", "unexpected argument 'extra'"},
    {"export", "export m.json out --bogus", "unknown option '--bogus'"},
    {"dot", "dot", "missing --cell"},
    {"dot", "dot --cell lstm --units 2 --input 2 --steps abc -o g.dot", "--steps expects a positive integer"},
    {"dot", "dot --cell mgu --units 2 --input 2 --steps 2 -o g.dot", "--cell expects simple, lstm or gru, got 'mgu'"},
    {"dot", "dot --cell lstm --units 2 --input 2 --steps 2 -o g.jpeg", "-o expects"},
    {"dot", "dot --cell lstm --units", "--units needs a value"},
    {"dot", "dot --bogus", "unknown option '--bogus'"},
    {"dot", "dot --cell lstm --units 2 --input 2 --steps 2 -o g.dot --grad-of nosuch",
     "--grad-of 'nosuch' matches no parameter"},
    {"dot", "dot m.json n.json -o g.dot", "unexpected argument 'n.json'"},
    {"view", "view", "missing MODEL"},
    {"view", "view m.keras", "missing -o PAGE.html"},
    {"view", "view m.keras -o g.svg", "-o expects an .html file, got 'g.svg'"},
    {"view", "view m.keras n.keras -o g.html", "unexpected argument 'n.keras'"},
    {"view", "view --cell mgu -o g.html", "--cell expects simple, lstm or gru, got 'mgu'"},
    {"view", "view --cell lstm --steps 0 -o g.html", "--steps expects a positive integer up to 10000, got '0'"},
    {"view", "view --cell lstm --steps-shown -1 -o g.html", "--steps-shown expects a whole number from 0 to 10000"},
    {"view", "view --cell lstm --rankdir XY -o g.html", "--rankdir expects TB, LR, BT or RL, got 'XY'"},
    {"view", "view m.keras --units 3 -o g.html", "do not go with a model"},
    {"view", "view --cell lstm -o", "-o needs a value"},
    {"view", "view --bogus", "unknown option '--bogus'"},
    {"train", "train", "missing --corpus"},
    {"train", "train --corpus c.txt --steps abc", "--steps expects a positive integer up to 100000000, got 'abc'"},
    {"train", "train --corpus c.txt --lr x", "--lr expects a number from 1e-12 to 10, got 'x'"},
    {"train", "train --corpus c.txt --clipnorm -1", "--clipnorm expects a number from 0 to 1e+09, got '-1'"},
    {"train", "train --corpus c.txt --cell rnn", "--cell expects lstm, gru or simple, got 'rnn'"},
    {"train", "train --corpus c.txt --optimizer adamw", "--optimizer expects adam, sgd, rmsprop or adagrad"},
    {"train", "train --corpus c.txt --init he", "--init expects torch or keras, got 'he'"},
    {"train", "train --corpus c.txt --seed", "--seed needs a value"},
    {"train", "train --corpus", "--corpus needs a value: fortunes or a corpus file"},
    {"train", "train --corpus c.txt extra", "unexpected argument 'extra'"},
    {"train", "train --corpus c.txt --resume", "--resume needs --checkpoint"},
    {"train", "train --corpus c.txt --resume=yes", "--resume takes no value"},
    {"train", "train --corpus c.txt --units 4 --units 5", "--units is given twice"},
    {"train", "train --corpus c.txt --model m.json --units 3", "--units"},
    {"train", "train --corpus c.txt --export out", "--export needs --model"},
    {"generate", "generate", "missing CHECKPOINT"},
    {"generate", "generate x.safetensors --temperature hot", "--temperature expects a number from 0.001 to 100"},
    {"generate", "generate x.safetensors --length -1", "--length expects a whole number from 0 to 100000000"},
    {"generate", "generate x.safetensors --prime", "--prime needs a value"},
    {"generate", "generate a.safetensors b.safetensors", "unexpected argument 'b.safetensors'"},
    {"eval", "eval", "missing CHECKPOINT"},
    {"eval", "eval x.safetensors", "missing --corpus"},
    {"eval", "eval x.safetensors --corpus c.txt --split test", "--split expects val or train, got 'test'"},
    {"eval", "eval x.safetensors --corpus c.txt --windows 0", "--windows expects a positive integer"},
    {"eval", "eval x.safetensors --corpus c.txt --batch x", "--batch expects a positive integer"},
    {"plot", "plot", "missing LOG.csv"},
    {"plot", "plot log.csv", "missing -o"},
    {"plot", "plot log.csv -o", "-o needs a value"},
    {"plot", "plot a.csv b.csv -o c.svg", "unexpected argument 'b.csv'"},
};

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

Test(cli_usage, every_bad_usage_is_one_line_then_where_help_is, .init = setup, .fini = cli_remove_dir) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const usage_case *c = &cases[i];
        int st = run("%s", c->args);
        char head[128], try_line[128];
        snprintf(head, sizeof head, "recur%s%s: ", *c->cmd ? " " : "", c->cmd);
        snprintf(try_line, sizeof try_line, "try 'recur%s%s --help'\n", *c->cmd ? " " : "", c->cmd);
        cr_expect_eq(st, 2, "recur %s: exit %d, expected 2; stderr: %s", c->args, st, err_text);
        cr_expect_eq(count_lines(err_text), 2, "recur %s: stderr is not two lines: %s", c->args, err_text);
        cr_expect_eq(strncmp(err_text, head, strlen(head)), 0, "recur %s: stderr does not start with '%s': %s",
                     c->args, head, err_text);
        const char *nl = strchr(err_text, '\n');
        cr_expect(nl && strstr(err_text, c->names) && strstr(err_text, c->names) < nl,
                  "recur %s: the first line lacks '%s': %s", c->args, c->names, err_text);
        cr_expect(nl && strcmp(nl + 1, try_line) == 0, "recur %s: second line is not %s: %s", c->args, try_line,
                  err_text);
        cr_expect_str_empty(out_text, "recur %s: printed on stdout: %s", c->args, out_text);
    }
}

static const char *const commands[] = {"help", "version", "predict", "summary", "gradcheck", "export",
                                       "dot", "view", "train", "generate", "eval", "plot"};

Test(cli_usage, help_goes_to_stdout_with_status_0, .init = setup, .fini = cli_remove_dir) {
    char general[65536];
    cr_assert_eq(run("--help"), 0);
    cr_assert(strstr(out_text, "commands:"), "%s", out_text);
    snprintf(general, sizeof general, "%s", out_text);
    cr_assert_eq(run("help --help"), 0, "%s", err_text);
    cr_assert_str_eq(out_text, general);
    cr_assert_eq(run("help"), 0);
    cr_assert_str_eq(out_text, general);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        const char *c = commands[i];
        char want[128], own[65536];
        snprintf(want, sizeof want, "usage: recur %s", c);
        int st = run("%s --help", c);
        cr_expect_eq(st, 0, "recur %s --help: exit %d: %s", c, st, err_text);
        cr_expect_str_empty(err_text, "recur %s --help: %s", c, err_text);
        if (strcmp(c, "help") == 0) continue; /* help --help is the general help (above) */
        cr_expect(strncmp(out_text, want, strlen(want)) == 0, "recur %s --help: %s", c, out_text);
        snprintf(own, sizeof own, "%s", out_text);
        st = run("help %s", c);
        cr_expect_eq(st, 0, "recur help %s: exit %d: %s", c, st, err_text);
        cr_expect_str_eq(out_text, own, "recur help %s differs from recur %s --help", c, c);
        st = run("%s -h", c);
        cr_expect_eq(st, 0);
        cr_expect_str_eq(out_text, own, "recur %s -h differs from recur %s --help", c, c);
    }
}

/* Runtime failures: one line "recur CMD: ..." naming the file, exit 1. */
static void expect_failure(const char *cmd, const char *args, const char *file, const char *says) {
    int st = run("%s %s", cmd, args);
    char head[64];
    snprintf(head, sizeof head, "recur %s: ", cmd);
    cr_expect_eq(st, 1, "recur %s %s: exit %d: %s", cmd, args, st, err_text);
    cr_expect_eq(count_lines(err_text), 1, "recur %s %s: not one line: %s", cmd, args, err_text);
    cr_expect_eq(strncmp(err_text, head, strlen(head)), 0, "recur %s %s: %s", cmd, args, err_text);
    cr_expect(strstr(err_text, file), "recur %s %s: does not name %s: %s", cmd, args, file, err_text);
    cr_expect(strstr(err_text, says), "recur %s %s: does not say '%s': %s", cmd, args, says, err_text);
    cr_expect(!strstr(err_text, "line -1"), "recur %s %s: %s", cmd, args, err_text);
    cr_expect(!strstr(err_text, "malformed"), "recur %s %s: %s", cmd, args, err_text);
}

Test(cli_usage, a_missing_or_directory_file_is_named, .init = setup, .fini = cli_remove_dir) {
    const char *no = "No such file or directory", *isdir = "Is a directory";
    expect_failure("predict", "adir in.json", "adir", isdir);
    expect_failure("predict", "none.json in.json", "none.json", no);
    expect_failure("predict", "none.keras in.json", "none.keras", no);
    expect_failure("predict", MODEL " adir", "adir", isdir);
    expect_failure("predict", MODEL " none.json", "none.json", no);
    expect_failure("summary", "adir", "adir", isdir);
    expect_failure("summary", "none.json", "none.json", no);
    expect_failure("gradcheck", "adir", "adir", isdir);
    expect_failure("gradcheck", "none.keras", "none.keras", no);
    expect_failure("export", "none.json out", "none.json", no);
    expect_failure("export", "adir out", "adir", isdir);
    expect_failure("dot", "adir -o g.dot", "adir", isdir);
    expect_failure("dot", "none.json -o g.dot", "none.json", no);
    expect_failure("view", "adir -o g.html", "adir", isdir);
    expect_failure("view", "none.keras -o g.html", "none.keras", no);
    expect_failure("train", "--corpus adir", "adir", isdir);
    expect_failure("train", "--corpus none.txt", "none.txt", no);
    expect_failure("plot", "adir -o c.svg", "adir", isdir);
    expect_failure("plot", "none.csv -o c.svg", "none.csv", no);
}

/* recur gradcheck --max-per-param N checks at most N elements per weight
 * (a stride of numel / N used to check 6 of 6 for N = 5). */
Test(cli_usage, gradcheck_max_per_param_is_a_maximum, .init = setup, .fini = cli_remove_dir) {
    cr_assert_eq(run("gradcheck " MODEL " --max-per-param 5"), 0, "%s", err_text);
    int rows = 0;
    for (const char *l = out_text; (l = strchr(l, '\n')) && l[1]; l++) {
        long long checked;
        char name[256];
        if (sscanf(l + 1, "%255s %lld", name, &checked) == 2 && strchr(name, '/')) {
            cr_expect(checked >= 1 && checked <= 5, "%s: checked %lld", name, checked);
            rows++;
        }
    }
    cr_assert_gt(rows, 0, "%s", out_text);
}
