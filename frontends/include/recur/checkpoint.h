/* recur — checkpoints and parameter files in safetensors, and the
 * optimizer configuration as JSON (librecur-io).
 *
 * Errors: every function that can fail returns an rc_status and fills the
 * caller's rc_error (may be NULL; docs/errors.md): err->where names the
 * function called, err->message the file, the tensor and the problem.
 * Nothing here prints.
 */
#ifndef RECUR_CHECKPOINT_H
#define RECUR_CHECKPOINT_H

#include "recur/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The config as compact JSON (the "optimizer" metadata of checkpoints):
 * {"kind": "adam", "learning_rate": {"kind": "cosine", "initial": ...},
 *  "beta1": ..., "epsilon_style": "keras"|"torch", "clipnorm": ..., ...}.
 * Free with rc_free; NULL on out of memory. */
char *rc_optim_to_json(const rc_optim_config *cfg);
/* Parse such JSON: "kind" is required, absent fields take that kind's
 * rc_optim_defaults, unknown fields and wrong types are errors; the result
 * is validated. RC_ERR_FORMAT / RC_ERR_ARG, with the message in err. */
rc_status rc_optim_from_json(const char *json, rc_optim_config *out, rc_error *err);

/* --- checkpoints (safetensors) --------------------------------------------
 * File layout (https://huggingface.co/docs/safetensors): 8-byte
 * little-endian header length N, N bytes of JSON header, then the tensor
 * bytes (little-endian, row-major). Header entries: "<name>": {"dtype":
 * "F32"|"I32", "shape": [...], "data_offsets": [begin, end]} relative to
 * the data section, plus "__metadata__" (string -> string).
 *
 * A trainer checkpoint holds every trained parameter under its node path,
 * every optimizer slot ("optimizer/<param path>/<slot>"), the step counter
 * ("optimizer/iterations", I32 scalar) and the spec's state leaves, with
 * metadata: "format" = "recur-checkpoint", "format_version" = "1",
 * "optimizer" (JSON of the optimizer config), "rng" (64 hex digits of the
 * caller's rc_rng, if given), "config" (the caller's model config string,
 * if given), "iterations" (decimal, informative).
 *
 * Writing is atomic: a temporary file in the same directory, written,
 * fsync'd, renamed over the target, then the directory fsync'd. On any
 * failure the temporary file is removed and an existing file at `path` is
 * left untouched. */
rc_status rc_trainer_save(const rc_trainer *t, const char *path, const char *model_config,
                          const rc_rng *rng, rc_error *err);
/* Restores everything saved by rc_trainer_save into a trainer built the
 * same way (same parameter paths and shapes, same optimizer kind). Every
 * tensor must be present with the right dtype and shape, finite
 * (rc_safetensors_check_finite), and no tensor may be left over; on any
 * error nothing in the trainer is changed. rng (may be
 * NULL) receives the saved RNG state (RC_ERR_FORMAT if asked for and
 * absent); *model_config (may be NULL) receives a copy of the "config"
 * string, or NULL if absent (free with rc_free). */
rc_status rc_trainer_load(rc_trainer *t, const char *path, char **model_config, rc_rng *rng,
                          rc_error *err);

/* Lower level: a safetensors file in memory. */
typedef struct rc_safetensors rc_safetensors;

typedef struct rc_st_tensor {
    const char *name;
    rc_dtype dtype;
    rc_shape shape;
    const void *data; /* numel * dtype size bytes */
} rc_st_tensor;

/* Write n tensors and nmeta metadata pairs (meta[2k] key, meta[2k+1]
 * value) atomically as above. Names must be unique and non-empty. */
rc_status rc_safetensors_write(const char *path, const rc_st_tensor *tensors, int n,
                               const char *const *meta, int nmeta, rc_error *err);
/* Read and validate a whole file: header length within the file and at
 * most 100 MB, valid JSON object, known dtypes (F32, I32), shapes of rank
 * <= 4 with element counts that do not overflow, data_offsets in bounds,
 * matching the shape's byte size, not overlapping and covering the data
 * section exactly, metadata values strings. Errors name the file, the
 * tensor and the problem. Free with rc_safetensors_free. */
rc_status rc_safetensors_read(const char *path, rc_safetensors **out, rc_error *err);
void rc_safetensors_free(rc_safetensors *st);
int rc_safetensors_count(const rc_safetensors *st);
/* Tensor i (in file order of data offsets); data owned by st. */
const rc_st_tensor *rc_safetensors_tensor(const rc_safetensors *st, int i);
/* Tensor by name, or NULL. */
const rc_st_tensor *rc_safetensors_find(const rc_safetensors *st, const char *name);
/* Metadata value or NULL; owned by st. */
const char *rc_safetensors_meta(const rc_safetensors *st, const char *key);
/* RC_OK when every F32 tensor of st holds finite values only; else
 * RC_ERR_FORMAT naming the first offending tensor and element ("path:
 * tensor 'lstm/kernel' holds NaN at element 3"). path is only for the
 * message. rc_load_params and rc_trainer_load apply it to everything they
 * load: a model trained into NaN (or a tampered file) is refused instead of
 * evaluating to "nan" or sampling garbage. */
rc_status rc_safetensors_check_finite(const rc_safetensors *st, const char *path, rc_error *err);

/* Load only the parameters (by node path) from a checkpoint or any
 * safetensors file into params[0..n): for inference (recur generate).
 * Extra tensors in the file are ignored; a missing parameter, a
 * dtype/shape mismatch or a non-finite value (rc_safetensors_check_finite)
 * is an error and leaves every parameter unchanged. */
rc_status rc_load_params(const char *path, rc_node *const *params, int n, rc_error *err);
/* Save parameters (by node path) plus metadata pairs, atomically. */
rc_status rc_save_params(const char *path, rc_node *const *params, int n, const char *const *meta,
                         int nmeta, rc_error *err);


#ifdef __cplusplus
}
#endif
#endif
