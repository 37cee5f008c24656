/* Fuzz target: a TF.js layers-model directory, model.json and its weight
 * shards, the manifest fuzzed with them.
 *
 * Input layout: model.json's bytes, then for each shard the separator
 * FZ_SHARD_SEP and the shard's bytes. The k-th shard part is written under
 * the k-th shard path the manifest lists (weightsManifest[*].paths[*] in
 * order) when that path is a plain file name; so a mutated manifest still
 * finds its shards, and a path the reader must refuse ("../x", "/etc/x",
 * "a/b") is never created by the harness. Then rc_io_load(model.json) and
 * what `recur summary` does (fuzz_model.c). Seeds: fuzz/corpus/tfjs, made by
 * fuzz/make_seeds.sh from the golden TF.js models. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_model.h"
#include "fuzz_util.h"

#define FZ_SHARD_SEP "\n--recur-fuzz-shard--\n"

/* A name the harness may create: [A-Za-z0-9._-], 1..100 chars, not a dot
 * name, not model.json itself. */
static bool plain_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 100 || s[0] == '.' || !strcmp(s, "model.json")) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i])) return false;
    return true;
}

static const uint8_t *find_sep(const uint8_t *p, const uint8_t *end) {
    size_t sl = sizeof FZ_SHARD_SEP - 1;
    if ((size_t)(end - p) < sl) return NULL;
    return memmem(p, (size_t)(end - p), FZ_SHARD_SEP, sl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_clear();
    const uint8_t *end = data + size, *sep = find_sep(data, end);
    size_t json_len = sep ? (size_t)(sep - data) : size;
    char *path = fz_write("model.json", data, json_len);
    /* the shard names, in manifest order */
    json_t *root = json_loadb((const char *)data, json_len, 0, NULL);
    json_t *manifest = json_object_get(root, "weightsManifest");
    const char *names[64];
    int nnames = 0;
    size_t gi, pi;
    json_t *g, *p;
    json_array_foreach(manifest, gi, g) json_array_foreach(json_object_get(g, "paths"), pi, p) {
        if (nnames < 64) names[nnames++] = json_string_value(p);
    }
    for (int k = 0; sep && k < 64; k++) {
        const uint8_t *part = sep + sizeof FZ_SHARD_SEP - 1;
        sep = find_sep(part, end);
        const uint8_t *part_end = sep ? sep : end;
        if (k < nnames && names[k] && plain_name(names[k]))
            free(fz_write(names[k], part, (size_t)(part_end - part)));
    }
    json_decref(root);
    fz_model(path);
    free(path);
    return 0;
}
