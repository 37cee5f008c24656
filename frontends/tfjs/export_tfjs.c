/* TF.js layers-model writer: model.json + group1-shard1of1.bin as TF.js'
 * model.save() writes them (Keras 2 schema, snake_case keys), always as a
 * functional "Model" with explicit InputLayers so every imported topology
 * (Sequential or functional) has one form. Weight names follow the names
 * TF.js itself gives the variables when it rebuilds the model, so its
 * strict loader matches them: <layer>/kernel, <layer>/recurrent_kernel,
 * <layer>/bias, <layer>/embeddings, <bidirectional>/forward_<inner>/...,
 * and per cell <rnn>/<cell name>/... for stacked cells. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../io.h"
#include "../model/model_io_impl.h"

/* An activation's Keras 2 / TF.js spelling (recur/activation.h's table);
 * an error when the format has none (Keras 3's hard_sigmoid, x/6 + 1/2). */
static const char *act_name(rc_io_model *m, rc_activation a, const char *layer, bool *ok) {
    const char *s = rc_activation_keras_name(a, RC_ACT_KERAS2);
    if (s) return s;
    io_fail(m, RC_ERR_ARG, "layer '%s': activation '%s' has no TF.js / Keras 2 equivalent", layer,
            rc_activation_name(a));
    *ok = false;
    return "linear";
}

static json_t *cell_config(rc_io_model *m, const rc_cell_config *c, io_cell_type t, const char *name, bool *ok) {
    json_t *o = json_pack("{s:s, s:b, s:I, s:s, s:b, s:f, s:f}", "name", name, "trainable", 1, "units",
                          (json_int_t)c->units, "activation", act_name(m, c->activation, name, ok), "use_bias", c->use_bias,
                          "dropout", 0.0, "recurrent_dropout", 0.0);
    if (t != IO_SIMPLE) json_object_set_new(o, "recurrent_activation", json_string(act_name(m, c->recurrent_activation, name, ok)));
    if (t == IO_LSTM) json_object_set_new(o, "unit_forget_bias", json_boolean(c->unit_forget_bias));
    if (t == IO_GRU) json_object_set_new(o, "reset_after", json_boolean(c->reset_after));
    if (t == IO_GRU && c->reset_after) {
        io_fail(m, RC_ERR_ARG, "layer '%s': GRU with reset_after=true has no TF.js form (TF.js GRUCell supports "
                "reset_after=false only)", name);
        *ok = false;
    }
    return o;
}

static const char *const rnn_class[] = {"SimpleRNN", "LSTM", "GRU"};
static const char *const cell_class[] = {"SimpleRNNCell", "LSTMCell", "GRUCell"};

/* An RNN layer's {"class_name", "config"}; `name` is the TF.js layer name. */
static json_t *rnn_object(rc_io_model *m, const io_rnn *r, const char *name, bool *ok) {
    json_t *cfg;
    const char *cls;
    if (!r->stacked && strcmp(r->cls, "RNN")) {
        cls = rnn_class[r->type[0]];
        cfg = cell_config(m, &r->cell[0], r->type[0], name, ok);
    } else {
        cls = "RNN";
        json_t *cells = json_array();
        for (int c = 0; c < r->ncells; c++) {
            char cn[80];
            snprintf(cn, sizeof cn, "%s_cell_%d", name, c);
            json_array_append_new(cells, json_pack("{s:s, s:o}", "class_name", cell_class[r->type[c]], "config",
                                                   cell_config(m, &r->cell[c], r->type[c], cn, ok)));
        }
        json_t *cell = r->stacked ? json_pack("{s:s, s:{s:o}}", "class_name", "StackedRNNCells", "config", "cells", cells)
                                  : json_incref(json_array_get(cells, 0));
        if (!r->stacked) json_decref(cells);
        cfg = json_pack("{s:s, s:b, s:o}", "name", name, "trainable", 1, "cell", cell);
    }
    json_object_set_new(cfg, "dtype", json_string("float32"));
    json_object_set_new(cfg, "return_sequences", json_boolean(r->cfg.return_sequences));
    json_object_set_new(cfg, "return_state", json_boolean(r->cfg.return_state));
    json_object_set_new(cfg, "go_backwards", json_boolean(r->cfg.go_backwards));
    json_object_set_new(cfg, "stateful", json_boolean(r->cfg.stateful));
    json_object_set_new(cfg, "unroll", json_false());
    if (strcmp(cls, "RNN")) {
        json_object_set_new(cfg, "dropout", json_real(r->cfg.dropout));
        json_object_set_new(cfg, "recurrent_dropout", json_real(r->cfg.recurrent_dropout));
    }
    return json_pack("{s:s, s:o}", "class_name", cls, "config", cfg);
}

/* --- config writers: one per row of the formats' table (model_io.c) --- */

json_t *io_write_input(rc_io_model *m, const io_layer *L, bool *ok) {
    json_t *shape = json_array();
    for (int d = 0; d < L->in_ndim; d++)
        json_array_append_new(shape, d == 0 || L->in_dims[d] < 0 ? json_null() : json_integer(L->in_dims[d]));
    return json_pack("{s:o, s:s, s:b, s:s}", "batch_input_shape", shape, "dtype",
                     L->in_dtype == RC_I32 ? "int32" : "float32", "sparse", 0, "name", L->name);
}

json_t *io_write_embedding(rc_io_model *m, const io_layer *L, bool *ok) {
    return json_pack("{s:s, s:b, s:I, s:I, s:b}", "name", L->name, "trainable", 1, "input_dim",
                     (json_int_t)L->input_dim, "output_dim", (json_int_t)L->output_dim, "mask_zero", L->mask_zero);
}

json_t *io_write_masking(rc_io_model *m, const io_layer *L, bool *ok) {
    return json_pack("{s:s, s:b, s:s, s:f}", "name", L->name, "trainable", 1, "dtype", "float32", "mask_value", L->value);
}

json_t *io_write_dropout(rc_io_model *m, const io_layer *L, bool *ok) {
    return json_pack("{s:s, s:b, s:s, s:f}", "name", L->name, "trainable", 1, "dtype", "float32", "rate", L->value);
}

json_t *io_write_activation(rc_io_model *m, const io_layer *L, bool *ok) {
    return json_pack("{s:s, s:b, s:s, s:s}", "name", L->name, "trainable", 1, "dtype", "float32", "activation",
                     act_name(m, L->act, L->name, ok));
}

static json_t *dense_config(rc_io_model *m, const io_layer *L, const char *name, bool *ok) {
    return json_pack("{s:s, s:b, s:s, s:I, s:s, s:b}", "name", name, "trainable", 1, "dtype", "float32", "units",
                     (json_int_t)L->units, "activation", act_name(m, L->act, L->name, ok), "use_bias", L->use_bias);
}

json_t *io_write_dense(rc_io_model *m, const io_layer *L, bool *ok) { return dense_config(m, L, L->name, ok); }

json_t *io_write_timedist(rc_io_model *m, const io_layer *L, bool *ok) {
    return json_pack("{s:s, s:b, s:{s:s, s:o}}", "name", L->name, "trainable", 1, "layer", "class_name", "Dense",
                     "config", dense_config(m, L, L->inner_name, ok));
}

json_t *io_write_rnn(rc_io_model *m, const io_layer *L, bool *ok) {
    json_t *ro = rnn_object(m, &L->rnn, L->name, ok);
    json_t *o = json_incref(json_object_get(ro, "config"));
    json_decref(ro);
    return o;
}

json_t *io_write_bidir(rc_io_model *m, const io_layer *L, bool *ok) {
    if (L->has_back) {
        io_rnn a = L->rnn, b = L->back;
        b.cfg.go_backwards = false;
        bool same = a.ncells == b.ncells && a.stacked == b.stacked && !memcmp(&a.cfg, &b.cfg, sizeof a.cfg);
        for (int c = 0; same && c < a.ncells; c++)
            same = a.type[c] == b.type[c] && !memcmp(&a.cell[c], &b.cell[c], sizeof a.cell[c]);
        if (!same) {
            io_fail(m, RC_ERR_ARG, "layer '%s': a backward_layer that differs from the forward one has no TF.js "
                    "form", L->name);
            *ok = false;
        }
    }
    const char *mm[] = {"concat", "sum", "mul", "ave"};
    return json_pack("{s:s, s:b, s:o, s:o}", "name", L->name, "trainable", 1, "layer",
                     rnn_object(m, &L->rnn, L->rnn.name + strlen("forward_"), ok), "merge_mode",
                     L->merge == RC_MERGE_NONE ? json_null() : json_string(mm[L->merge]));
}

rc_status io_export_tfjs(const rc_io_model *cm, const char *dir, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (!cm || !dir) {
        if (err && err_len) snprintf(err, err_len, "rc_io_export_tfjs: NULL argument");
        return RC_ERR_ARG;
    }
    rc_io_model *m = (rc_io_model *)cm; /* only the error buffer is written */
    char *save_err = m->err, *file_save = m->file;
    size_t save_len = m->err_len;
    char *jpath = io_path_join(dir, "model.json"), *bpath = io_path_join(dir, "group1-shard1of1.bin");
    if (!jpath || !bpath) {
        rc_free(jpath);
        rc_free(bpath);
        if (err && err_len) snprintf(err, err_len, "%s: out of memory", dir);
        return RC_ERR_NOMEM;
    }
    m->err = err, m->err_len = err_len;
    m->file = jpath;
    bool ok = true;
    rc_status st = RC_OK;
    json_t *layers = json_array(), *manifest = json_array();
    for (int l = 0; l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        json_t *nodes = json_array();
        for (int n = 0; !io_is_input(L) && n < L->nnodes; n++) {
            json_t *node = json_array();
            for (int k = 0; k < L->node[n].nin; k++) {
                io_ref r = L->node[n].in[k];
                json_array_append_new(node, json_pack("[s, i, i, {}]", m->layers[r.layer].name, r.node, r.tensor));
            }
            json_array_append_new(nodes, node);
        }
        bool ok2 = true;
        json_t *cfg = L->kind->write(m, L, &ok2);
        ok = ok && ok2;
        json_array_append_new(layers, json_pack("{s:s, s:s, s:o, s:o}", "name", L->name, "class_name", L->kind->cls,
                                                "config", cfg, "inbound_nodes", nodes));
    }
    json_t *ins = json_array(), *outs = json_array();
    for (int i = 0; i < m->ninputs; i++)
        json_array_append_new(ins, json_pack("[s, i, i]", m->layers[m->inputs[i].layer].name, 0, 0));
    for (int i = 0; i < m->noutputs; i++)
        json_array_append_new(outs, json_pack("[s, i, i]", m->layers[m->outputs[i].layer].name, m->outputs[i].node,
                                              m->outputs[i].tensor));
    FILE *bf = ok ? fopen(bpath, "wb") : NULL;
    if (ok && !bf) st = io_fail(m, RC_ERR_IO, "cannot write '%s': %s", bpath, strerror(errno));
    if (!ok) st = RC_ERR_ARG;
    for (int l = 0; !st && l < m->nlayers; l++) {
        io_layer *L = &m->layers[l];
        io_wspec ws[IO_MAX_W];
        int n = io_weight_specs(L, 0, ws);
        for (int k = 0; !st && k < n; k++) {
            /* built: the parameters' current values; else the imported ones */
            bool built = L->nparams == n && L->params[k];
            rc_shape s = built ? rc_node_shape(L->params[k]) : L->w[k].shape;
            const float *v = built ? rc_node_data(L->params[k]) : L->w[k].data;
            if (!v) {
                st = io_fail(m, RC_ERR_STATE, "layer '%s' has no weights to export", L->name);
                break;
            }
            json_t *shape = json_array();
            for (int d = 0; d < s.ndim; d++) json_array_append_new(shape, json_integer(s.dim[d]));
            char name[256];
            snprintf(name, sizeof name, "%s/%s", L->name, ws[k].tfjs);
            json_array_append_new(manifest, json_pack("{s:s, s:o, s:s}", "name", name, "shape", shape, "dtype",
                                                      "float32"));
            int64_t numel = rc_shape_numel(s);
            for (int64_t i = 0; i < numel && !st; i++) { /* little-endian float32 */
                uint32_t u;
                memcpy(&u, &v[i], 4);
                uint8_t b[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
                if (fwrite(b, 1, 4, bf) != 4) st = io_fail(m, RC_ERR_IO, "error writing '%s'", bpath);
            }
        }
    }
    if (bf && fclose(bf) != 0 && !st) st = io_fail(m, RC_ERR_IO, "error writing '%s'", bpath);
    json_t *root = json_pack(
        "{s:{s:s, s:{s:s, s:o, s:o, s:o}, s:s, s:s}, s:s, s:s, s:n, s:[{s:[s], s:o}]}", "modelTopology", "class_name",
        "Model", "config", "name", m->name, "layers", layers, "input_layers", ins, "output_layers", outs,
        "keras_version", "tfjs-layers 4.22.0", "backend", "tensor_flow.js", "format", "layers-model", "generatedBy",
        "recur " RC_VERSION_STRING, "convertedBy", "weightsManifest", "paths", "group1-shard1of1.bin", "weights",
        manifest);
    if (!root) st = st ? st : io_fail(m, RC_ERR_NOMEM, "out of memory building model.json");
    if (!st && json_dump_file(root, jpath, JSON_COMPACT) != 0)
        st = io_fail(m, RC_ERR_IO, "cannot write '%s'", jpath);
    json_decref(root);
    m->file = file_save;
    m->err = save_err, m->err_len = save_len;
    rc_free(jpath);
    rc_free(bpath);
    return st;
}
