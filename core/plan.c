/* Plan, then run.
 *
 * Planning: mark the nodes the outputs need (one sweep down the ids, which
 * are a topological order), schedule them by id (or, for nodes made under
 * rc_graph_schedule_after, right after their anchor and inputs) with
 * side-effect nodes last,
 * resolve views to (root node, element offset), compute each root's last
 * use, and give every non-leaf root a buffer that lives from the step that
 * computes it to its last consumer. Buffers are laid out in one arena
 * allocated once, in an order (largest first, those alive at the busiest
 * step first, or in order of first use; the smallest arena is kept), each
 * at the lowest offset free for its whole lifetime (pool_layout,
 * pool_layout_best).
 *
 * Placement ("write into slice"): a concat (an op flagged RC_OPF_CONCAT)
 * whose pieces are contiguous blocks of its output (outer size 1 along its
 * axis) lets the kernels that compute its pieces write straight into their
 * block, when a piece is a
 * kernel node's whole value (possibly through zero-offset views such as
 * reshape). The concat's buffer is taken when its first placed piece is
 * computed; a placed node is stored like a view of the concat, so its
 * readers keep the concat's buffer alive, and the concat skips copying a
 * piece onto itself. This makes e.g. the stack of an RNN's per-step
 * gradients (ops/shape.c pad_accumulate) cost no extra memory beyond the
 * stack itself: each step's dz is computed in place.
 *
 * In place: a kernel whose op has RC_OPF_IN_PLACE takes the buffer of its
 * input 0 when that input is a whole buffer of the same size read by
 * nothing later (e.g. the running sum of weight-gradient GEMMs, ops/matmul.c
 * matmul_acc).
 *
 * Packed operands (rc_op.pack_bytes): when one value is read by two or
 * more kernels of an op that can read it in a layout of its own (an RNN's
 * recurrent kernel, by the product of every step), the first of them
 * packs it into an arena buffer that lives until the last, and all of
 * them read the packed copy (forward_packed). The step list is unchanged.
 *
 * Running: call each step's kernel with precomputed pointers. No allocation,
 * no graph walking.
 *
 * Hooks (recur/plan.h): each is keyed by the point of the run where it
 * fires (point c: before step c; see add_hook), kept sorted by key, so the
 * run walks them with one index beside the steps.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "recur/plan.h"
#include "recur/parallel.h"

typedef struct hook_rec {
    int key; /* 2c (ready) or 2c + 1 (needed) at point c: before step c */
    rc_plan_hook fn;
    void *user;
    const rc_node *node;
} hook_rec;

typedef struct step {
    const rc_node *node;
    rc_kernel_fn fn;
    void *out;
    void **in;
    const void *pack_src; /* the first reader of a packed operand packs it: */
    void *pack_dst;       /* node->op->pack(node, pack_src, pack_dst) first */
} step;

/* Readers of one packed operand (rc_op.pack_bytes): same op, same input
 * storage (root and offset), same key and size. Groups of one root that
 * follow each other in time (an RNN's recurrent kernel, packed for the
 * forward steps and transposed for the backward ones) share one buffer:
 * the lead's, taken at its first reader and given back at `end`, the last
 * reader of the chain, with room for the largest; each group packs into
 * it again at its own first reader. One long-lived buffer, placed once,
 * keeps the arena close to its peak, where two would leave gaps. */
typedef struct pack_group {
    const rc_op *op;
    int root, k, first, last, count, buf, next; /* next: the root's next group */
    int lead, end;                              /* the buffer's owner; its last reader (lead only) */
    int64_t offset, key[4];
    size_t bytes, room;                         /* room: the shared buffer's size (lead only) */
    bool dropped;                               /* over the memory budget (lead only) */
} pack_group;

struct rc_plan {
    rc_graph *g;
    int nnodes;          /* graph size at planning time */
    step *steps;
    int nsteps;
    void **in_pool;      /* all steps' input pointer arrays */
    void **ptr;          /* [nnodes] data pointer of each needed node */
    unsigned char *is_out;
    char *arena;
    size_t arena_bytes, scratch_bytes;
    size_t packed_bytes; /* of the arena, held by packed copies */
    int64_t reserved; /* of the memory budget (rc_limits): arena + scratch */
    void *scratch;
    int *step_of;        /* [nnodes] step computing the node, -1 if none */
    hook_rec *hooks;     /* sorted by key */
    int nhooks, hooks_cap;
};

static size_t round64(size_t n) { return (n + 63) & ~(size_t)63; }

static size_t node_bytes(const rc_node *n) {
    return (size_t)rc_shape_numel(n->shape) * rc_dtype_size(n->dtype);
}

/* Buffers with known lifetimes: taken at step `first`, free after step
 * `last` (INT_MAX while still in use). */
typedef struct buf_pool {
    size_t *size, *off;
    int *first, *last;
    int n, cap;
} buf_pool;

static int pool_take(buf_pool *p, size_t bytes, int at_step) {
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 64;
        size_t *s = rc_realloc(p->size, (size_t)cap * sizeof *s);
        if (!s) return -1;
        p->size = s;
        size_t *o = rc_realloc(p->off, (size_t)cap * sizeof *o);
        if (!o) return -1;
        p->off = o;
        int *f = rc_realloc(p->first, (size_t)cap * sizeof *f);
        if (!f) return -1;
        p->first = f;
        int *l = rc_realloc(p->last, (size_t)cap * sizeof *l);
        if (!l) return -1;
        p->last = l;
        p->cap = cap;
    }
    p->size[p->n] = bytes;
    p->first[p->n] = at_step;
    p->last[p->n] = INT_MAX;
    return p->n++;
}

static void pool_give(buf_pool *p, int b, int at_step) { p->last[b] = at_step; }

/* The comparators' context (qsort has none). Thread-local: replicas of a
 * training job (recur train --replicas, recur/comm.h) make their plans
 * at the same time, each in its own thread. */
static _Thread_local const buf_pool *sort_pool;
static _Thread_local const unsigned char *sort_hot;
static int by_size_desc(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    size_t sx = sort_pool->size[x], sy = sort_pool->size[y];
    if (sx != sy) return sx < sy ? 1 : -1;
    return sort_pool->first[x] - sort_pool->first[y];
}
/* The buffers alive at the step of most bytes alive first, those that
 * live longest at the bottom, then the others largest first. */
static int by_hot_last(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_hot[x] != sort_hot[y]) return sort_hot[x] ? -1 : 1;
    if (sort_hot[x] && sort_pool->last[x] != sort_pool->last[y]) return sort_pool->last[x] < sort_pool->last[y] ? 1 : -1;
    return by_size_desc(a, b);
}

/* Offsets in the arena, greedy by size: largest buffers first, each at the
 * lowest offset where it overlaps no placed buffer whose lifetime overlaps
 * its own. Unlike reusing freed buffers as they come, a small value never
 * pins a large block, so the arena stays close to the largest total of
 * values alive at one step. Placed buffers are kept in lists sorted by
 * offset: one per time bucket of BUCKET steps, holding the buffers alive
 * in it, and one of all; a buffer living within one bucket (most of them)
 * is checked only against that bucket's list.
 * Steps run 0 .. horizon (a buffer still in use at the end lasts to
 * horizon). Returns the arena size, or (size_t)-1 on out of memory. */
enum { BUCKET = 64 };

typedef struct bucket {
    int *v;
    int n, cap;
} bucket;

static size_t pool_layout(buf_pool *p, int horizon, int (*order_by)(const void *, const void *)) {
    if (p->n == 0) return 0;
    int nb = horizon / BUCKET + 1;
    int *ord = rc_malloc((size_t)p->n * sizeof *ord), *hit = rc_malloc((size_t)p->n * sizeof *hit);
    bucket *bk = rc_calloc((size_t)nb + 1, sizeof *bk);
    size_t total = (size_t)-1;
    if (!ord || !hit || !bk) goto done;
    for (int b = 0; b < p->n; b++) {
        ord[b] = b;
        if (p->last[b] > horizon) p->last[b] = horizon;
    }
    sort_pool = p;
    qsort(ord, (size_t)p->n, sizeof *ord, order_by);
    total = 0;
    for (int i = 0; i < p->n; i++) {
        int b = ord[i], nh = 0, b0 = p->first[b] / BUCKET, b1 = p->last[b] / BUCKET;
        /* a bucket's list is kept sorted by offset, so a buffer within one
         * bucket (most of them) needs no sorting */
        /* one bucket: its list; several: the list of all placed buffers
         * (bucket nb), also sorted by offset, so no sorting either way */
        const bucket *src = b1 > b0 ? &bk[nb] : &bk[b0];
        for (int j = 0; j < src->n; j++) {
            int c = src->v[j];
            if (p->first[c] <= p->last[b] && p->first[b] <= p->last[c]) hit[nh++] = c;
        }
        size_t at = 0;
        for (int j = 0; j < nh; j++) {
            int c = hit[j];
            if (p->off[c] >= at + p->size[b]) break; /* fits in the gap before c */
            if (p->off[c] + p->size[c] > at) at = p->off[c] + p->size[c];
        }
        p->off[b] = at;
        if (at + p->size[b] > total) total = at + p->size[b];
        for (int q = b0; q <= b1 + 1; q++) {
            int k = q > b1 ? nb : q;
            if (bk[k].n == bk[k].cap) {
                int cap = bk[k].cap ? 2 * bk[k].cap : 16;
                int *v = rc_realloc(bk[k].v, (size_t)cap * sizeof *v);
                if (!v) {
                    total = (size_t)-1;
                    goto done;
                }
                bk[k].v = v;
                bk[k].cap = cap;
            }
            int lo = 0, hi = bk[k].n; /* first entry with a larger offset */
            while (lo < hi) {
                int mid = (lo + hi) / 2;
                if (p->off[bk[k].v[mid]] <= p->off[b]) lo = mid + 1;
                else hi = mid;
            }
            memmove(bk[k].v + lo + 1, bk[k].v + lo, (size_t)(bk[k].n - lo) * sizeof *bk[k].v);
            bk[k].v[lo] = b;
            bk[k].n++;
        }
    }
done:
    for (int k = 0; bk && k <= nb; k++) rc_free(bk[k].v);
    rc_free(bk);
    rc_free(ord);
    rc_free(hit);
    return total;
}

/* In order of first use (longest-lived first among equals): a
 * first-fit allocator that knows every lifetime in advance. */
static int by_first(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_pool->first[x] != sort_pool->first[y]) return sort_pool->first[x] - sort_pool->first[y];
    if (sort_pool->last[x] != sort_pool->last[y]) return sort_pool->last[x] < sort_pool->last[y] ? 1 : -1;
    return by_size_desc(a, b);
}

/* Greedy layouts, the smallest kept: largest first; then (when that one
 * wastes more than 1/32 of the busiest step's total) the buffers alive at
 * the busiest step first, longest-lived lowest, then the rest largest
 * first; and in order of first use. The first packs mixed sizes well; the
 * second reaches the busiest step's total where the first leaves a gap
 * under long-lived values (an RNN's per-step activations placed above a
 * short-lived large value); the third where a long-lived buffer starts
 * early (a packed recurrent kernel, alive from the first step to the last
 * step of backward) and the others would place it above the activations.
 * Deterministic; on a tie the earlier layout's offsets are kept. */
static size_t pool_layout_best(buf_pool *p, int horizon) {
    size_t *live = rc_calloc((size_t)horizon + 2, sizeof *live);
    unsigned char *hot = rc_calloc((size_t)p->n + 1, 1);
    size_t best = (size_t)-1, *off = NULL;
    if (!live || !hot) goto done;
    size_t total = pool_layout(p, horizon, by_size_desc); /* clamps last to horizon */
    if (total == (size_t)-1) goto done;
    for (int b = 0; b < p->n; b++) {
        live[p->first[b]] += p->size[b];
        live[p->last[b] + 1] -= p->size[b];
    }
    size_t acc = 0, peak = 0;
    int at = 0;
    for (int s = 0; s <= horizon; s++) {
        acc += live[s];
        if (acc > peak) peak = acc, at = s;
    }
    best = total;
    if (total > peak + peak / 32 && (off = rc_malloc((size_t)p->n * sizeof *off))) {
        memcpy(off, p->off, (size_t)p->n * sizeof *off); /* the best so far */
        for (int b = 0; b < p->n; b++) hot[b] = p->first[b] <= at && at <= p->last[b];
        sort_hot = hot;
        int (*const others[2])(const void *, const void *) = {by_hot_last, by_first};
        for (int i = 0; i < 2; i++) {
            size_t t = pool_layout(p, horizon, others[i]); /* (size_t)-1: out of memory, not kept */
            if (t < best) {
                best = t;
                memcpy(off, p->off, (size_t)p->n * sizeof *off);
            }
        }
        memcpy(p->off, off, (size_t)p->n * sizeof *off);
    }
done:
    rc_free(live);
    rc_free(hot);
    rc_free(off);
    return best;
}

/* A packed copy trades memory for speed (one U-sized buffer saves a
 * strided walk of U at every step, ~1.3x at LSTM h512). The copies are
 * kept while they add at most PACK_BUDGET of the step's memory without
 * them: the arena plus the leaves the steps read (weights, inputs,
 * optimizer slots). Over it, the largest copy is dropped first (its
 * groups read U where it lies, at the speed of the unpacked kernels)
 * until the rest fit: a large recurrent kernel over few steps (GRU h1024
 * b32 T5 would need 1.49x what backward keeps instead of 1.04x) runs
 * unpacked while a smaller kernel of the same plan may stay packed. With
 * the budget the copy fits where it pays: LSTM h512 b16 T50 (one replica
 * of bench/rnn --replicas 2) adds 18 %, GRU h512 b32 T50 10 %.
 *
 * Called with the pool laid out with every packed buffer (*total bytes).
 * Marks the dropped leads (pack_group.dropped), leaves the pool laid out
 * without their buffers (size 0) and *total that layout's size. Returns
 * 0, or -1 (out of memory). */
enum { PACK_BUDGET_PERCENT = 20 };

/* Group gi owns a packed buffer: it has two readers or more and leads
 * the groups of its value that share the buffer. */
static bool owns_buffer(const pack_group *packs, int gi) {
    return packs[gi].count >= 2 && packs[gi].lead == gi && packs[gi].buf >= 0;
}

static _Thread_local const pack_group *sort_packs; /* by_size_of's, with sort_pool */

static int by_size_of(const void *a, const void *b) {
    size_t x = sort_pool->size[sort_packs[*(const int *)a].buf], y = sort_pool->size[sort_packs[*(const int *)b].buf];
    if (x != y) return x < y ? 1 : -1; /* largest first */
    return *(const int *)a - *(const int *)b;
}

static int packs_within_budget(const rc_graph *g, buf_pool *pool, int norder, const int *order, const int *root,
                               pack_group *packs, int npacks, size_t *total) {
    int nlead = 0;
    for (int gi = 0; gi < npacks; gi++)
        if (owns_buffer(packs, gi)) nlead++;
    if (!nlead) return 0;
    size_t leaves = 0;
    for (int s = 0; s < norder; s++) {
        const rc_node *v = g->nodes[order[s]];
        if (v->value && root[v->id] == v->id) leaves += node_bytes(v);
    }
    size_t *off = rc_malloc((size_t)pool->n * sizeof *off), *size = rc_malloc((size_t)pool->n * sizeof *size);
    int *lead = rc_malloc((size_t)nlead * sizeof *lead), rc = -1;
    if (!off || !size || !lead) goto done;
    memcpy(off, pool->off, (size_t)pool->n * sizeof *off);
    memcpy(size, pool->size, (size_t)pool->n * sizeof *size);
    nlead = 0;
    for (int gi = 0; gi < npacks; gi++)
        if (owns_buffer(packs, gi)) lead[nlead++] = gi;
    sort_pool = pool, sort_packs = packs;
    qsort(lead, (size_t)nlead, sizeof *lead, by_size_of);
    /* the budget: a fifth over the layout without any copy */
    for (int i = 0; i < nlead; i++) pool->size[packs[lead[i]].buf] = 0;
    size_t without = pool_layout_best(pool, norder);
    if (without == (size_t)-1) goto done;
    double limit = (1.0 + PACK_BUDGET_PERCENT / 100.0) * ((double)without + (double)leaves);
    memcpy(pool->size, size, (size_t)pool->n * sizeof *size);
    size_t t = *total;
    int dropped = 0;
    while ((double)t + (double)leaves > limit && dropped < nlead) {
        packs[lead[dropped]].dropped = true;
        pool->size[packs[lead[dropped++]].buf] = 0;
        if ((t = pool_layout_best(pool, norder)) == (size_t)-1) goto done;
    }
    if (dropped == 0) /* all kept: the first layout */
        memcpy(pool->off, off, (size_t)pool->n * sizeof *off);
    *total = t;
    rc = 0;
done:
    rc_free(off);
    rc_free(size);
    rc_free(lead);
    return rc;
}

rc_plan *rc_plan_new(rc_graph *g, rc_node *const *outputs, int n) {
    if (!g) return NULL;
    if (g->status != RC_OK) return NULL;
    if (n < 1 || !outputs)
        return (rc_plan *)rc_graph_fail(g, RC_ERR_ARG, "rc_plan_new: %s",
                                        !outputs ? "outputs array is NULL" : "no outputs");
    for (int i = 0; i < n; i++) {
        if (!outputs[i])
            return (rc_plan *)rc_graph_fail(g, RC_ERR_ARG, "rc_plan_new: output %d is NULL", i);
        if (outputs[i]->graph != g)
            return (rc_plan *)rc_graph_fail(g, RC_ERR_ARG, "rc_plan_new: output %d belongs to another graph", i);
    }

    /* worker threads start now, not in the first run (which must not allocate) */
    rc_threads_prepare();
    int N = g->nnodes;
    rc_plan *p = rc_calloc(1, sizeof *p);
    unsigned char *needed = rc_calloc((size_t)N, 1);
    int *root = rc_malloc((size_t)N * sizeof *root);       /* storage root of each node */
    int64_t *offset = rc_calloc((size_t)N, sizeof *offset); /* element offset into root */
    int *last_use = rc_malloc((size_t)N * sizeof *last_use);
    int *buf = rc_malloc((size_t)N * sizeof *buf);
    int *order = rc_malloc((size_t)N * sizeof *order);
    int *host = rc_malloc((size_t)N * sizeof *host);        /* concat a node is placed in, or -1 */
    int64_t *host_off = rc_calloc((size_t)N, sizeof *host_off);
    unsigned char *hosting = rc_calloc((size_t)N, 1);
    int *pack_of = rc_malloc((size_t)N * sizeof *pack_of);   /* pack group a node reads through, or -1 */
    int *pack_head = rc_malloc((size_t)N * sizeof *pack_head); /* first pack group of a root, or -1 */
    pack_group *packs = NULL;
    int npacks = 0, packs_cap = 0;
    buf_pool pool = {0};
    if (!p || !needed || !root || !offset || !last_use || !buf || !order || !host || !host_off || !hosting ||
        !pack_of || !pack_head)
        goto nomem;
    p->g = g;
    p->nnodes = N;
    p->ptr = rc_calloc((size_t)N, sizeof *p->ptr);
    p->is_out = rc_calloc((size_t)N, 1);
    p->step_of = rc_malloc((size_t)N * sizeof *p->step_of);
    if (!p->ptr || !p->is_out || !p->step_of) goto nomem;
    for (int i = 0; i < N; i++) p->step_of[i] = -1;

    for (int i = 0; i < n; i++) needed[outputs[i]->id] = p->is_out[outputs[i]->id] = 1;
    for (int id = N - 1; id >= 0; id--) {
        if (!needed[id]) continue;
        rc_node *v = g->nodes[id];
        for (int k = 0; k < v->nin; k++) {
            if (v->in[k]->op->flags & RC_OPF_SIDE_EFFECT) {
                rc_graph_fail(g, RC_ERR_ARG, "rc_plan_new: node '%s' uses the output of side-effect op %s",
                              v->name, v->in[k]->op->name);
                goto fail;
            }
            needed[v->in[k]->id] = 1;
        }
    }

    /* Schedule: kernels by key, then id; side effects after everything
     * else, by id. A node's key is its id, or for a node made under
     * rc_graph_schedule_after its anchor's id, raised to its inputs' keys:
     * ties go by id, and inputs have smaller ids, so the order is
     * topological. Counting sort on keys (< N), stable in ids. */
    int norder = 0, nsteps = 0, npool = 0;
    for (int id = 0; id < N; id++) {
        rc_node *v = g->nodes[id];
        int key = v->after >= 0 && v->after < id ? v->after : id;
        for (int k = 0; k < v->nin; k++)
            if (root[v->in[k]->id] > key) key = root[v->in[k]->id];
        root[id] = key; /* root[] holds the keys until the views are resolved below */
        last_use[id] = 0;
    }
    for (int id = 0; id < N; id++)
        if (needed[id] && !(g->nodes[id]->op->flags & RC_OPF_SIDE_EFFECT)) last_use[root[id]]++;
    for (int k = 0, at = 0; k < N; k++) {
        int c = last_use[k];
        last_use[k] = at;
        at += c;
    }
    for (int id = 0; id < N; id++)
        if (needed[id] && !(g->nodes[id]->op->flags & RC_OPF_SIDE_EFFECT)) order[last_use[root[id]]++] = id, norder++;
    for (int id = 0; id < N; id++)
        if (needed[id] && (g->nodes[id]->op->flags & RC_OPF_SIDE_EFFECT)) order[norder++] = id;

    for (int i = 0; i < N; i++) {
        root[i] = i;
        last_use[i] = -1;
        buf[i] = -1;
        host[i] = -1;
    }
    /* Placement (see the top of the file), concats in schedule order: a
     * concat that hosts pieces is not itself placed in a later one. */
    for (int s = 0; s < norder; s++) {
        rc_node *c = g->nodes[order[s]];
        if (!(c->op->flags & RC_OPF_CONCAT) || host[c->id] >= 0) continue;
        int64_t axis = c->attr.i[0], outer = 1, inner = 1, at = 0;
        for (int k = 0; k < axis; k++) outer *= c->shape.dim[k];
        for (int k = (int)axis + 1; k < c->shape.ndim; k++) inner *= c->shape.dim[k];
        if (outer != 1) continue;
        for (int k = 0; k < c->nin; k++) {
            rc_node *x = c->in[k];
            int64_t numel = rc_shape_numel(x->shape), off = 0;
            at += x->shape.dim[axis] * inner;
            while (x->op->view && x->op->view(x, &off) && off == 0 &&
                   rc_shape_numel(x->in[0]->shape) == numel)
                x = x->in[0];
            /* a node without inputs (a fill) is scheduled early: placing it
             * would hold the concat's buffer from then on */
            if (x->nin == 0 || (x->op->flags & (RC_OPF_LEAF | RC_OPF_SIDE_EFFECT)) || (x->op->view && x->op->view(x, &off)) ||
                rc_shape_numel(x->shape) != numel || x->dtype != c->dtype ||
                host[x->id] >= 0 || hosting[x->id] || x == c)
                continue;
            host[x->id] = c->id;
            host_off[x->id] = at - numel;
            hosting[c->id] = 1;
        }
    }
    /* Views resolve to their source's root; roots live until their last
     * reader, outputs until the end. */
    for (int s = 0; s < norder; s++) {
        rc_node *v = g->nodes[order[s]];
        int64_t off = 0;
        if (host[v->id] >= 0) {
            root[v->id] = host[v->id];
            offset[v->id] = host_off[v->id];
        } else if (v->op->view && v->op->view(v, &off)) {
            root[v->id] = root[v->in[0]->id];
            offset[v->id] = offset[v->in[0]->id] + off;
        }
        for (int k = 0; k < v->nin; k++) last_use[root[v->in[k]->id]] = s;
    }
    for (int i = 0; i < n; i++) last_use[root[outputs[i]->id]] = norder;

    /* Packed operands: readers grouped by (op, input storage, key); a group
     * of two or more packs once (rc_op.pack_bytes). Groups are chained per
     * root so the search is short. */
    for (int i = 0; i < N; i++) pack_of[i] = -1, pack_head[i] = -1;
    for (int s = 0; s < norder; s++) {
        rc_node *v = g->nodes[order[s]];
        if (!v->op->pack_bytes || !v->op->pack || !v->op->forward_packed || (v->op->flags & RC_OPF_LEAF) ||
            (root[v->id] != v->id && host[v->id] < 0))
            continue;
        int k = -1;
        int64_t key[4] = {0};
        size_t bytes = v->op->pack_bytes(v, &k, key);
        if (!bytes || k < 0 || k >= v->nin) continue;
        int r = root[v->in[k]->id], gi = pack_head[r];
        for (; gi >= 0; gi = packs[gi].next) {
            pack_group *q = &packs[gi];
            if (q->op == v->op && q->k == k && q->offset == offset[v->in[k]->id] && q->bytes == bytes &&
                !memcmp(q->key, key, sizeof key))
                break;
        }
        if (gi < 0) {
            if (npacks == packs_cap) {
                int cap = packs_cap ? 2 * packs_cap : 8;
                pack_group *pg = rc_realloc(packs, (size_t)cap * sizeof *pg);
                if (!pg) goto nomem;
                packs = pg;
                packs_cap = cap;
            }
            gi = npacks++;
            packs[gi] = (pack_group){.op = v->op, .root = r, .k = k, .first = s, .buf = -1, .next = pack_head[r],
                                     .offset = offset[v->in[k]->id], .bytes = bytes};
            memcpy(packs[gi].key, key, sizeof key);
            pack_head[r] = gi;
        }
        packs[gi].count++;
        packs[gi].last = s;
        pack_of[v->id] = gi;
    }
    for (int i = 0; i < N; i++)
        if (pack_of[i] >= 0 && packs[pack_of[i]].count < 2) pack_of[i] = -1;
    /* Groups are made in order of their first reader; a group starting
     * after the root's previous packed group has ended shares its buffer.
     * pack_head now holds each root's latest packed group. */
    for (int i = 0; i < N; i++) pack_head[i] = -1;
    for (int gi = 0; gi < npacks; gi++) {
        pack_group *q = &packs[gi];
        if (q->count < 2) continue;
        int prev = pack_head[q->root];
        if (prev >= 0 && packs[prev].last < q->first) {
            pack_group *lead = &packs[packs[prev].lead];
            q->lead = packs[prev].lead;
            lead->end = q->last;
            if (q->bytes > lead->room) lead->room = q->bytes;
        } else {
            q->lead = gi;
            q->end = q->last;
            q->room = q->bytes;
        }
        pack_head[q->root] = gi;
    }

    /* Buffers, then steps. */
    for (int s = 0; s < norder; s++) {
        rc_node *v = g->nodes[order[s]];
        bool placed = host[v->id] >= 0;
        bool is_view = root[v->id] != v->id && !placed;
        bool kernel = !(v->op->flags & RC_OPF_LEAF) && !is_view;
        pack_group *pk = kernel && pack_of[v->id] >= 0 ? &packs[pack_of[v->id]] : NULL;
        if (pk && pk->first == s && pk->lead == pack_of[v->id]) {
            pk->buf = pool_take(&pool, round64(pk->room), s);
            if (pk->buf < 0) goto nomem;
        }
        if (kernel) {
            if (!v->op->forward) {
                rc_graph_fail(g, RC_ERR_ARG, "rc_plan_new: op %s has no forward kernel", v->op->name);
                goto fail;
            }
            /* a placed node writes into its host's buffer, taken by the
             * first of the host's pieces to run (or by the host itself) */
            int owner = placed ? host[v->id] : v->id;
            if (!placed && last_use[v->id] < 0) last_use[v->id] = s; /* value nobody reads */
            /* in place (RC_OPF_IN_PLACE): input 0, a whole buffer of the
             * same size read by nothing later (nor by another input here),
             * hands its buffer on */
            if ((v->op->flags & RC_OPF_IN_PLACE) && !placed && !hosting[v->id]) {
                int r = v->in[0]->id;
                bool ok = root[r] == r && buf[r] >= 0 && last_use[r] == s && !hosting[r] &&
                          round64(node_bytes(v->in[0])) == round64(node_bytes(v));
                for (int k = 1; k < v->nin && ok; k++) ok = root[v->in[k]->id] != r;
                if (ok) {
                    buf[v->id] = buf[r];
                    last_use[r] = -2;
                }
            }
            if (buf[owner] < 0) buf[owner] = pool_take(&pool, round64(node_bytes(g->nodes[owner])), s);
            if (buf[owner] < 0) goto nomem;
            nsteps++;
            npool += v->nin;
            if (v->op->scratch_bytes) {
                size_t sb = round64(v->op->scratch_bytes(v));
                if (sb > p->scratch_bytes) p->scratch_bytes = sb;
            }
        }
        for (int k = 0; k < v->nin; k++) {
            int r = root[v->in[k]->id];
            if (last_use[r] == s && buf[r] >= 0) {
                pool_give(&pool, buf[r], s);
                last_use[r] = -2; /* released once even if read twice */
            }
        }
        if (kernel && !placed && last_use[v->id] == s) {
            pool_give(&pool, buf[v->id], s);
            last_use[v->id] = -2;
        }
        if (pk && packs[pk->lead].end == s) pool_give(&pool, packs[pk->lead].buf, s);
    }

    size_t total = pool_layout_best(&pool, norder);
    if (total == (size_t)-1) goto nomem;
    if (packs_within_budget(g, &pool, norder, order, root, packs, npacks, &total) < 0) goto nomem;
    for (int i = 0; i < N; i++) /* over budget: those groups read U where it lies */
        if (pack_of[i] >= 0 && packs[packs[pack_of[i]].lead].dropped) pack_of[i] = -1;
    for (int gi = 0; gi < npacks; gi++)
        if (owns_buffer(packs, gi) && !packs[gi].dropped)
            p->packed_bytes += pool.size[packs[gi].buf];
    /* refused up front, with the figure, rather than left to the allocator
     * (which under overcommit says yes and the OOM killer decides later) */
    if (total > (size_t)INT64_MAX - p->scratch_bytes || !rc_limits_reserve((int64_t)(total + p->scratch_bytes))) {
        char a[32], b[32], c[32];
        rc_graph_fail(g, RC_ERR_NOMEM, "rc_plan_new: the plan needs %s for its values (with %s held by tensors and "
                      "other plans), over the memory limit of %s (rc_limits; recur --max-memory)",
                      rc_bytes_str((int64_t)(total + p->scratch_bytes), a, sizeof a),
                      rc_bytes_str(rc_limits_in_use(), c, sizeof c), rc_bytes_str(rc_limits_get().max_bytes, b, sizeof b));
        goto fail;
    }
    p->reserved = (int64_t)(total + p->scratch_bytes);
    p->arena_bytes = total;
    p->arena = total ? rc_malloc_aligned(total) : NULL;
    p->scratch = p->scratch_bytes ? rc_malloc_aligned(p->scratch_bytes) : NULL;
    p->steps = rc_calloc((size_t)(nsteps ? nsteps : 1), sizeof *p->steps);
    p->in_pool = rc_calloc((size_t)(npool ? npool : 1), sizeof *p->in_pool);
    if ((total && !p->arena) || (p->scratch_bytes && !p->scratch) || !p->steps || !p->in_pool) goto nomem;
    if (total) memset(p->arena, 0, total);

    for (int s = 0; s < norder; s++) {
        rc_node *v = g->nodes[order[s]];
        int r = root[v->id];
        char *base = g->nodes[r]->value ? (char *)g->nodes[r]->value->data
                                        : p->arena + pool.off[buf[r]];
        p->ptr[v->id] = base + (size_t)offset[v->id] * rc_dtype_size(v->dtype);
    }
    void **pool_at = p->in_pool;
    for (int s = 0; s < norder; s++) {
        rc_node *v = g->nodes[order[s]];
        if (v->op->flags & RC_OPF_LEAF || (root[v->id] != v->id && host[v->id] < 0)) continue;
        p->step_of[v->id] = p->nsteps;
        step *st = &p->steps[p->nsteps++];
        st->node = v;
        st->fn = v->op->forward;
        st->out = p->ptr[v->id];
        st->in = pool_at;
        for (int k = 0; k < v->nin; k++) *pool_at++ = p->ptr[v->in[k]->id];
        if (pack_of[v->id] >= 0) {
            const pack_group *pk = &packs[pack_of[v->id]];
            void *packed = p->arena + pool.off[packs[pk->lead].buf];
            if (pk->first == s) {
                st->pack_src = st->in[pk->k];
                st->pack_dst = packed;
            }
            st->in[pk->k] = packed;
            st->fn = v->op->forward_packed;
        }
    }
    goto done;

nomem:
    rc_graph_fail(g, RC_ERR_NOMEM, "rc_plan_new: out of memory");
fail:
    rc_plan_free(p);
    p = NULL;
done:
    rc_free(pool.size);
    rc_free(pool.off);
    rc_free(pool.first);
    rc_free(pool.last);
    rc_free(needed);
    rc_free(root);
    rc_free(offset);
    rc_free(last_use);
    rc_free(buf);
    rc_free(order);
    rc_free(host);
    rc_free(host_off);
    rc_free(hosting);
    rc_free(pack_of);
    rc_free(pack_head);
    rc_free(packs);
    return p;
}

void rc_plan_free(rc_plan *p) {
    if (!p) return;
    rc_free_aligned(p->arena);
    rc_free_aligned(p->scratch);
    rc_limits_release(p->reserved);
    rc_free(p->steps);
    rc_free(p->in_pool);
    rc_free(p->ptr);
    rc_free(p->is_out);
    rc_free(p->step_of);
    rc_free(p->hooks);
    rc_free(p);
}

/* Fire the hooks with keys <= key from index *h on: at point c, key 2c + 1. */
static rc_status fire(rc_plan *p, int *h, int key, rc_error *err) {
    while (*h < p->nhooks && p->hooks[*h].key <= key) {
        const hook_rec *k = &p->hooks[(*h)++];
        rc_error_clear(err);
        rc_status r = k->fn(k->user, k->node, p->ptr[k->node->id], err);
        if (r != RC_OK) {
            if (err && !err->message[0]) rc_error_set(err, r, "rc_plan_run", "a hook failed (%s)", rc_status_str(r));
            return r;
        }
    }
    return RC_OK;
}

rc_status rc_plan_run(rc_plan *p, rc_error *err) {
    if (!p) return rc_error_set(err, RC_ERR_ARG, "rc_plan_run", "plan is NULL");
    int h = 0;
    rc_status r = p->nhooks ? fire(p, &h, 1, err) : RC_OK;
    for (int s = 0; s < p->nsteps && r == RC_OK; s++) {
        const step *st = &p->steps[s];
        if (st->pack_dst) st->node->op->pack(st->node, st->pack_src, st->pack_dst);
        r = st->fn(st->node, st->out, st->in, p->scratch);
        if (r != RC_OK) {
            char path[300];
            return rc_error_set(err, r, "rc_plan_run", "%s at '%s': invalid input values (%s); run stopped",
                                st->node->op->name, rc_node_path(st->node, path, sizeof path), rc_status_str(r));
        }
        if (h < p->nhooks) r = fire(p, &h, 2 * (s + 1) + 1, err);
    }
    return r;
}

/* The step whose kernel finishes node n's value: its own, or for a view
 * the one of what it views; -1 for a leaf (and what views one). */
static int ready_step(const rc_plan *p, const rc_node *n) {
    int64_t off;
    while (p->step_of[n->id] < 0 && n->nin > 0 && n->op->view && n->op->view(n, &off)) n = n->in[0];
    return p->step_of[n->id];
}

/* Whether x is n or a view of n (through views' input 0). */
static bool reads_of(const rc_node *x, const rc_node *n) {
    int64_t off;
    for (;;) {
        if (x == n) return true;
        if (!(x->nin > 0 && x->op->view && x->op->view(x, &off))) return false;
        x = x->in[0];
    }
}

static rc_status add_hook(rc_plan *p, const rc_node *node, rc_plan_hook fn, void *user, bool ready, rc_error *err) {
    const char *w = ready ? "rc_plan_on_ready" : "rc_plan_on_needed";
    if (!p || !node || !fn) return rc_error_set(err, RC_ERR_ARG, w, "plan, node or hook is NULL");
    if (node->graph != p->g || node->id >= p->nnodes || !p->ptr[node->id])
        return rc_error_set(err, RC_ERR_ARG, w, "node '%s' is not computed or read by this plan", node->name);
    if (p->nhooks >= 65536) return rc_error_set(err, RC_ERR_ARG, w, "more than 65536 hooks");
    /* Points between kernels: point c is after step c - 1 and before step
     * c (0: before the first, nsteps: after the last). key = 2c for ready
     * hooks, 2c + 1 for needed ones, so at one point the ready hooks come
     * first. */
    int rs = ready_step(p, node), key;
    if (ready) {
        key = 2 * (rs + 1);
    } else {
        int s = rs + 1;
        for (; s < p->nsteps; s++) {
            const rc_node *v = p->steps[s].node;
            bool hit = false;
            for (int k = 0; k < v->nin && !hit; k++) hit = reads_of(v->in[k], node);
            if (hit) break;
        }
        key = 2 * s + 1;
    }
    if (p->nhooks == p->hooks_cap) {
        int cap = p->hooks_cap ? 2 * p->hooks_cap : 16;
        hook_rec *hk = rc_realloc(p->hooks, (size_t)cap * sizeof *hk);
        if (!hk) return rc_error_set(err, RC_ERR_NOMEM, w, "out of memory");
        p->hooks = hk;
        p->hooks_cap = cap;
    }
    int at = p->nhooks;
    while (at > 0 && p->hooks[at - 1].key > key) at--;
    memmove(p->hooks + at + 1, p->hooks + at, (size_t)(p->nhooks - at) * sizeof *p->hooks);
    p->hooks[at] = (hook_rec){.key = key, .fn = fn, .user = user, .node = node};
    p->nhooks++;
    return RC_OK;
}

rc_status rc_plan_on_ready(rc_plan *p, const rc_node *node, rc_plan_hook fn, void *user, rc_error *err) {
    return add_hook(p, node, fn, user, true, err);
}

rc_status rc_plan_on_needed(rc_plan *p, const rc_node *node, rc_plan_hook fn, void *user, rc_error *err) {
    return add_hook(p, node, fn, user, false, err);
}

void rc_plan_clear_hooks(rc_plan *p) {
    if (p) p->nhooks = 0;
}

const void *rc_plan_data(const rc_plan *p, const rc_node *out) {
    if (!p || !out || out->graph != p->g || out->id >= p->nnodes || !p->is_out[out->id]) return NULL;
    return p->ptr[out->id];
}

const float *rc_plan_f32(const rc_plan *p, const rc_node *out) {
    if (!out || out->dtype != RC_F32) return NULL;
    return rc_plan_data(p, out);
}

size_t rc_plan_peak_bytes(const rc_plan *p) { return p ? p->arena_bytes + p->scratch_bytes : 0; }
size_t rc_plan_packed_bytes(const rc_plan *p) { return p ? p->packed_bytes : 0; }
int rc_plan_steps(const rc_plan *p) { return p ? p->nsteps : 0; }
const rc_node *rc_plan_step_node(const rc_plan *p, int k) {
    return p && k >= 0 && k < p->nsteps ? p->steps[k].node : NULL;
}
