/* Fuzz target: a Keras 3 `.keras` file as downloaded, raw bytes: the zip
 * archive, its config.json and its model.weights.h5 (HDF5), through
 * rc_io_load and then what `recur summary` does with it (fuzz_model.c).
 * Seeds: fuzz/corpus/keras (the golden models' model.keras).
 *
 * A zip member carries a CRC-32 of its bytes, and the reader checks it: a
 * byte flipped inside model.weights.h5 ends as "CRC error" before libhdf5
 * sees it, so plain byte mutations would fuzz the zip layer and almost
 * never the HDF5 (or JSON) bytes. The custom mutator below therefore
 * mutates, three times in four, the bytes of one member (the weights file
 * three times in four, else a member drawn at random: with Keras' three
 * members the weights five times in six) and writes the archive back with
 * libzip, sizes and CRCs right; the fourth time, or when the archive cannot
 * be opened or rewritten, it mutates the raw archive (headers, sizes,
 * CRCs). Inputs stay plain .keras files: a crash input is a file
 * that `recur summary` can be given as it is. (libpng's fuzzer fixes its
 * chunk CRCs the same way.) */
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "fuzz_model.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *path = fz_write("model.keras", data, size);
    fz_model(path);
    free(path);
    return 0;
}

#ifdef FUZZ_LIBFUZZER /* the mutator needs libFuzzer's LLVMFuzzerMutate; replay_keras has no use for it */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint64_t next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The member's bytes, mutated, written back into the archive held in
 * data[0..size); returns the new archive's size, or 0 when the archive
 * cannot be opened or rewritten within max_size (the caller then mutates
 * the raw bytes). */
static size_t mutate_member(uint8_t *data, size_t size, size_t max_size, uint64_t *rng) {
    if (size == 0) return 0; /* nothing to open (and libzip would not own an empty copy) */
    /* libzip gets a copy it owns: a buffer source written to may free its
     * first buffer (libzip 1.7), and data is libFuzzer's */
    uint8_t *copy = malloc(size);
    if (!copy) return 0;
    memcpy(copy, data, size);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(copy, size, 1, &ze); /* frees copy, even when it fails */
    zip_t *z = src ? zip_open_from_source(src, 0, &ze) : NULL; /* owns src from here */
    zip_error_fini(&ze);
    if (!z) {
        if (src) zip_source_free(src);
        return 0;
    }
    size_t out = 0;
    zip_int64_t n = zip_get_num_entries(z, 0), idx = zip_name_locate(z, "model.weights.h5", 0);
    if (n > 0 && (idx < 0 || next(rng) % 4 == 0)) idx = (zip_int64_t)(next(rng) % (uint64_t)n);
    zip_stat_t st;
    uint8_t *buf = NULL;
    zip_file_t *f = NULL;
    /* The member may grow into the room the archive has left under
     * max_size (a stored member's bytes are the archive's one for one). */
    size_t room = 0;
    if (idx < 0 || zip_stat_index(z, (zip_uint64_t)idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        st.size > max_size || max_size < size || (room = max_size - size + st.size) == 0 ||
        !(buf = malloc(room)) || !(f = zip_fopen_index(z, (zip_uint64_t)idx, 0)))
        goto done;
    size_t have = 0;
    for (zip_int64_t got; have < st.size && (got = zip_fread(f, buf + have, st.size - have)) > 0;)
        have += (size_t)got;
    zip_fclose(f);
    if (have != st.size) goto done; /* damaged (a raw mutation of an earlier round): mutate the raw bytes */
    size_t len = LLVMFuzzerMutate(buf, have, room);
    zip_source_t *s = zip_source_buffer(z, buf, len, 1);
    if (!s) goto done;
    buf = NULL; /* s frees it */
    if (zip_file_replace(z, (zip_uint64_t)idx, s, 0) != 0) {
        zip_source_free(s);
        goto done;
    }
    /* as it was: the same compression and time stamp (deterministic bytes) */
    zip_set_file_compression(z, (zip_uint64_t)idx, (st.valid & ZIP_STAT_COMP_METHOD) ? (zip_int32_t)st.comp_method
                                                                                      : ZIP_CM_STORE, 0);
    if (st.valid & ZIP_STAT_MTIME) zip_file_set_mtime(z, (zip_uint64_t)idx, st.mtime, 0);
    zip_source_keep(src);
    if (zip_close(z) != 0) {
        zip_source_free(src);
        goto done;
    }
    z = NULL;
    zip_stat_t ss;
    if (zip_source_stat(src, &ss) == 0 && (ss.valid & ZIP_STAT_SIZE) && ss.size <= max_size &&
        zip_source_open(src) == 0) {
        zip_int64_t got = zip_source_read(src, data, ss.size);
        if (got == (zip_int64_t)ss.size) out = (size_t)got;
        zip_source_close(src);
    }
    zip_source_free(src);
done:
    free(buf);
    if (z) zip_discard(z);
    return out;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed) {
    uint64_t rng = seed;
    if (next(&rng) % 4 != 0) {
        size_t n = mutate_member(data, size, max_size, &rng);
        if (n) return n;
    }
    return LLVMFuzzerMutate(data, size, max_size);
}
#endif
