/* Fuzz target: a safetensors checkpoint, through every reader a user's
 * checkpoint reaches:
 *   - rc_safetensors_read (header, offsets, dtypes, shapes, metadata), then
 *     every tensor and metadata key looked at;
 *   - rc_load_params and rc_trainer_load into a small char-LM built once
 *     (cell lstm, vocab 256, embed 4, units 4, Adam as `recur train`), as
 *     `recur train --resume` loads (optimizer JSON, step counter, RNG state,
 *     slots);
 *   - charlm_open as `recur eval` / `recur generate` open one: the model
 *     the checkpoint's "config" describes, built, then its weights loaded.
 *     Configurations above 64 units / 64 embed / 2 layers / vocab 512 are
 *     only parsed, not built: building them is correct but too slow for a
 *     fuzzer (seconds per input), not a different code path.
 * Seeds: fuzz/corpus/checkpoint (tiny `recur train` checkpoints made by
 * fuzz/make_seeds.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <recur.h>
#include <recur/checkpoint.h>

#include "../frontends/cli/charlm.h"
#include "fuzz_model.h"
#include "fuzz_util.h"

static charlm lm;
static charlm_branch br;
static rc_trainer *trainer;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    charlm_config cfg = {.cell = CHARLM_LSTM, .vocab = 256, .embed = 4, .units = 4, .layers = 1,
                         .init = CHARLM_INIT_TORCH};
    if (!charlm_new(&lm, &cfg, 1) || charlm_branch_new(&lm, 2, 4, false, &br) != RC_OK) abort();
    rc_optim_config oc = rc_optim_defaults(RC_OPT_ADAM);
    oc.epsilon = 1e-8;
    oc.eps_style = RC_EPS_TORCH;
    rc_trainer_spec spec = {.loss = br.loss, .params = lm.params, .nparams = lm.nparams, .optim = oc};
    trainer = rc_trainer_new(lm.g, &spec);
    if (!trainer) abort();
    return 0;
}

static void check(rc_status st, const rc_error *e, const char *fn) {
    if (st != RC_OK) fz_check_error(st, e, fn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_write("ckpt.safetensors", data, size);
    rc_error e = {0};
    rc_safetensors *st = NULL;
    rc_status s = rc_safetensors_read(path, &st, &e);
    check(s, &e, "rc_safetensors_read");
    if (s == RC_OK) {
        /* every tensor: name, shape and data within the file's bytes */
        volatile uint8_t sink = 0;
        for (int i = 0; i < rc_safetensors_count(st); i++) {
            const rc_st_tensor *t = rc_safetensors_tensor(st, i);
            if (!t || rc_safetensors_find(st, t->name) != t) abort();
            size_t bytes = (size_t)rc_shape_numel(t->shape) * rc_dtype_size(t->dtype);
            for (size_t k = 0; k < bytes; k += 61) sink ^= ((const uint8_t *)t->data)[k];
            if (bytes) sink ^= ((const uint8_t *)t->data)[bytes - 1];
        }
        (void)sink;
        rc_safetensors_meta(st, "config");
        rc_safetensors_meta(st, "optimizer");
        rc_safetensors_free(st);

        check(rc_load_params(path, lm.params, lm.nparams, &e), &e, "rc_load_params");
        char *cfg = NULL;
        rc_rng rng;
        s = rc_trainer_load(trainer, path, &cfg, &rng, &e);
        check(s, &e, "rc_trainer_load");
        rc_free(cfg);

        char msg[512];
        charlm_config c;
        if (charlm_config_from_file(path, &c, msg, sizeof msg) == RC_OK && c.units <= 64 && c.embed <= 64 &&
            c.layers <= 2 && c.vocab <= 512) {
            charlm m;
            charlm_branch b;
            if (charlm_open(path, 1, 1, true, &m, &b, msg, sizeof msg) == RC_OK) charlm_free(&m);
        }
    }
    free(path);
    return 0;
}
