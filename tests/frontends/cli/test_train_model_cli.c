/* recur train --model: an imported TF.js model (Embedding(256, 8) -> LSTM(16,
 * return_sequences) -> Dense(V), fixture written here with deterministic
 * weights) trained end to end through the real executable (RECUR_EXE):
 * the loss falls, one seed gives the same checkpoint bit for bit, resuming
 * equals a straight run, eval reads the checkpoint, --export writes the
 * trained weights; bad option combinations exit 2 and models that are not
 * language models (no sequence output, softmax output, too few logits)
 * exit 1 with a message naming the shapes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cli_run.h"


/* dir/name/model.json + w.bin: a Sequential TF.js layers-model. Weights
 * U(-0.1, 0.1) from a fixed LCG, so every run starts from the same model. */
static void write_model_ex(const char *name, int V, const char *activation, bool return_sequences, bool bidir) {
    enum { E = 8, U = 16, IN = 256 };
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    cr_assert_eq(mkdir(p, 0777), 0);
    snprintf(p, sizeof p, "%s/%s/model.json", dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{\"format\": \"layers-model\", \"modelTopology\": {\"class_name\": \"Sequential\", \"config\": "
            "{\"name\": \"lm\", \"layers\": ["
            "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"embedding\", \"input_dim\": %d, "
            "\"output_dim\": %d, \"batch_input_shape\": [null, null]}},"
            "%s{\"class_name\": \"LSTM\", \"config\": {\"name\": \"lstm\", \"units\": %d, \"return_sequences\": %s}}%s,"
            "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": %d, \"activation\": \"%s\"}}"
            "]}}, \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": ["
            "{\"name\": \"embedding/embeddings\", \"shape\": [%d, %d], \"dtype\": \"float32\"},"
            "{\"name\": \"%s/kernel\", \"shape\": [%d, %d], \"dtype\": \"float32\"},"
            "{\"name\": \"%s/recurrent_kernel\", \"shape\": [%d, %d], \"dtype\": \"float32\"},"
            "{\"name\": \"%s/bias\", \"shape\": [%d], \"dtype\": \"float32\"},%s"
            "{\"name\": \"dense/kernel\", \"shape\": [%d, %d], \"dtype\": \"float32\"},"
            "{\"name\": \"dense/bias\", \"shape\": [%d], \"dtype\": \"float32\"}]}]}\n",
            IN, E, bidir ? "{\"class_name\": \"Bidirectional\", \"config\": {\"name\": \"bidirectional\", "
                           "\"merge_mode\": \"concat\", \"layer\": " : "",
            U, return_sequences ? "true" : "false", bidir ? "}}" : "", V, activation, IN, E,
            bidir ? "bidirectional/forward_lstm" : "lstm", E, 4 * U, bidir ? "bidirectional/forward_lstm" : "lstm", U,
            4 * U, bidir ? "bidirectional/forward_lstm" : "lstm", 4 * U,
            bidir ? "{\"name\": \"bidirectional/backward_lstm/kernel\", \"shape\": [8, 64], \"dtype\": \"float32\"},"
                    "{\"name\": \"bidirectional/backward_lstm/recurrent_kernel\", \"shape\": [16, 64], \"dtype\": "
                    "\"float32\"},{\"name\": \"bidirectional/backward_lstm/bias\", \"shape\": [64], \"dtype\": "
                    "\"float32\"},"
                  : "",
            bidir ? 2 * U : U, V, V);
    cr_assert_eq(fclose(f), 0);
    snprintf(p, sizeof p, "%s/%s/w.bin", dir, name);
    f = fopen(p, "wb");
    cr_assert_not_null(f);
    long n = (long)IN * E + (bidir ? 2 : 1) * (E * 4 * U + U * 4 * U + 4 * U) + (long)(bidir ? 2 : 1) * U * V + V;
    uint64_t s = 42;
    for (long i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        float w = (float)((double)(s >> 40) / (double)(1ull << 24) * 0.2 - 0.1);
        cr_assert_eq(fwrite(&w, 4, 1, f), 1); /* little-endian machines only, as the importer's readers */
    }
    cr_assert_eq(fclose(f), 0);
}

static void write_model(const char *name, int V, const char *activation, bool return_sequences) {
    write_model_ex(name, V, activation, return_sequences, false);
}

static void setup(void) {
    cli_make_dir("recur-test-trainmodel");
    char path[256];
    snprintf(path, sizeof path, "%s/tiny.txt", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 120; i++) fprintf(f, "the cat sat on the mat. %d dogs ran.\n", i % 7);
    fclose(f);
    write_model("lm", 256, "linear", true);
}

/* Mean of the logged training losses of steps [from, to] in dir/csv. */
static double mean_loss(const char *csv, int from, int to) {
    char p[256], text[65536];
    snprintf(p, sizeof p, "%s/%s", dir, csv);
    slurp(p, text, sizeof text);
    double sum = 0;
    int n = 0;
    for (char *line = strchr(text, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
        int step;
        double loss;
        if (sscanf(line + 1, "%d,%lf,", &step, &loss) == 2 && step >= from && step <= to) sum += loss, n++;
    }
    cr_assert_eq(n, to - from + 1, "%s", text);
    return sum / n;
}

static const char tiny[] = "--corpus tiny.txt --seq 20 --batch 4 --print-every 10";

Test(train_model, trains_resumes_evaluates_exports, .init = setup, .fini = cli_remove_dir, .timeout = 120) {
    cr_assert_eq(run("train --model lm/model.json %s --steps 40 --seed 5 --checkpoint a.safetensors --save-every 10 "
                     "--export out",
                     tiny),
                 0, "%s", err_text);
    cr_expect(strstr(out_text, "model imported vocab=256 model=") && strstr(out_text, "8000 parameters"), "%s",
              out_text);
    cr_expect(strstr(out_text, "wrote out/model.json"), "%s", out_text);
    /* The loss falls: the last 10 steps' mean is well below the first 10's
     * (measured: 5.52 -> 5.07 nats, validation 4.68; uniform over 256 is 5.545). */
    double first = mean_loss("a.csv", 1, 10), last = mean_loss("a.csv", 31, 40);
    cr_expect(last < first - 0.15, "loss %g -> %g", first, last);
    /* One seed, one checkpoint, bit for bit. */
    cr_assert_eq(run("train --model lm/model.json %s --steps 40 --seed 5 --checkpoint b.safetensors", tiny), 0, "%s",
                 err_text);
    cr_expect(same_files("a.safetensors", "b.safetensors"), "two runs with one seed differ");
    /* 20 steps, then resumed (the checkpoint names the model) to 40. */
    cr_assert_eq(run("train --model lm/model.json %s --steps 20 --seed 5 --checkpoint c.safetensors", tiny), 0, "%s",
                 err_text);
    cr_assert_eq(run("train %s --steps 40 --seed 5 --checkpoint c.safetensors --resume", tiny), 0, "%s", err_text);
    cr_expect(strstr(out_text, "resuming at step 20") != NULL, "%s", out_text);
    cr_expect(same_files("a.safetensors", "c.safetensors"), "resumed training differs from a straight run");
    /* eval rebuilds the imported model with the checkpoint's weights: the
     * same validation loss as training's final evaluation (512 windows). */
    double val_train, val_eval, bits;
    char *at = strstr(out_text, "step 40  val ");
    cr_assert_not_null(at, "%s", out_text);
    cr_assert_eq(sscanf(at, "step 40  val %lf", &val_train), 1);
    cr_assert_eq(run("eval c.safetensors --corpus tiny.txt --seq 20"), 0, "%s", err_text);
    cr_assert_eq(sscanf(out_text, "val %lf nats/char %lf bits/char", &val_eval, &bits), 2, "%s", out_text);
    cr_expect(fabs(val_eval - val_train) < 1e-4, "eval %g, training %g", val_eval, val_train);
    /* generate reruns the imported model over the prefix: one seed, one
     * text, the priming text first; another seed, another text. */
    cr_assert_eq(run("generate a.safetensors --length 60 --seed 3 --prime 'the '"), 0, "%s", err_text);
    static char first_text[sizeof out_text];
    snprintf(first_text, sizeof first_text, "%s", out_text);
    cr_expect(strncmp(first_text, "the ", 4) == 0 && strlen(first_text) == 4 + 60 + 1, "[%s]", first_text);
    cr_assert_eq(run("generate a.safetensors --length 60 --seed 3 --prime 'the '"), 0);
    cr_expect_str_eq(out_text, first_text);
    cr_assert_eq(run("generate a.safetensors --length 60 --seed 4 --prime 'the '"), 0);
    cr_expect_str_neq(out_text, first_text);
    /* The export holds the trained weights: training it further starts where
     * the first run ended, not where the fixture did. */
    cr_assert_eq(run("train --model out/model.json %s --steps 10 --seed 5 --log d.csv", tiny), 0, "%s", err_text);
    double cont = mean_loss("d.csv", 1, 10);
    cr_expect(cont < first - 0.15, "exported model starts at %g, fixture at %g", cont, first);
    /* A finished checkpoint exports the same weights as the run that wrote it. */
    cr_assert_eq(run("train %s --steps 40 --checkpoint a.safetensors --resume --export out2", tiny), 0, "%s", err_text);
    cr_expect(strstr(out_text, "nothing to do") && strstr(out_text, "wrote out2/model.json"), "%s", out_text);
    cr_expect(same_files("out/group1-shard1of1.bin", "out2/group1-shard1of1.bin"), "exports differ");
    /* A resumed imported model with another --model or built-in options. */
    write_model("other", 256, "linear", true);
    EXPECT_RUN(1, "is not the checkpoint's model",
               "train --model other/model.json %s --steps 50 --checkpoint a.safetensors --resume", tiny);
    EXPECT_RUN(1, "contradict", "train %s --steps 50 --units 8 --checkpoint a.safetensors --resume", tiny);
}

Test(train_model, bad_combinations_and_models, .init = setup, .fini = cli_remove_dir, .timeout = 120) {
    EXPECT_RUN(2, "--units describes the built-in model: not with --model",
               "train --model lm/model.json %s --units 8", tiny);
    EXPECT_RUN(2, "--cell describes the built-in model", "train --model lm/model.json %s --cell gru", tiny);
    EXPECT_RUN(2, "--init describes the built-in model", "train --model lm/model.json %s --init keras", tiny);
    EXPECT_RUN(2, "--export needs --model", "train %s --export out", tiny);
    EXPECT_RUN(1, "cannot open the model 'missing.json'", "train --model missing.json %s", tiny);
    /* A built-in checkpoint is not an imported model. */
    cr_assert_eq(run("train %s --units 8 --embed 4 --steps 2 --checkpoint b.safetensors", tiny), 0, "%s", err_text);
    EXPECT_RUN(1, "holds the built-in model", "train --model lm/model.json %s --steps 4 --checkpoint b.safetensors --resume",
               tiny);
    write_model("noseq", 256, "linear", false);
    EXPECT_RUN(1, "the first of shape (4, 256) for input (4, 20)", "train --model noseq/model.json %s", tiny);
    write_model("smax", 256, "softmax", true);
    EXPECT_RUN(1, "output (4, 20, 256) ends in softmax", "train --model smax/model.json %s", tiny);
    /* A Bidirectional model trains (it is a valid per-step model) but cannot generate. */
    write_model_ex("bidir", 256, "linear", true, true);
    cr_assert_eq(run("train --model bidir/model.json %s --steps 2 --checkpoint bi.safetensors", tiny), 0, "%s", err_text);
    EXPECT_RUN(1, "the model is not causal", "generate bi.safetensors --length 5");
    cr_expect_str_eq(out_text, "", "printed before failing: %s", out_text);
    write_model("small", 100, "linear", true);
    EXPECT_RUN(1, "(4, 20, 100): 100 logits per step, but the corpus has 256 token values",
               "train --model small/model.json %s", tiny);
}
