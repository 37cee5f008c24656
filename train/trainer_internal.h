/* The trainer's fields, private to train/ (frontends reach the trainer
 * through recur/train.h, e.g. rc_trainer_leaves for checkpoints). */
#ifndef RECUR_TRAINER_INTERNAL_H
#define RECUR_TRAINER_INTERNAL_H

#include "recur/comm.h"
#include "recur/plan.h"
#include "recur/train.h"

/* Gradient reduction over a communicator (rc_trainer_set_comm). Gradients
 * are staged, in the order they become final, into one buffer cut into
 * buckets of at least bucket_elems; a bucket's allreduce starts when it is
 * full and is waited for when one of its gradients is first read. */
typedef struct grad_hook {
    struct rc_trainer *t;
    int i;
} grad_hook;

typedef struct comm_state {
    rc_comm *comm;
    /* in_place: each gradient is reduced where the plan made it, request i
     * for gradient i (an engine whose ranks share memory, rc_comm_ops
     * .in_place, and at most RC_COMM_MAX_REQUESTS gradients); otherwise
     * gathered into stage and reduced in buckets. */
    bool in_place;
    float *stage;           /* [total]; NULL when in_place */
    int64_t total, bucket_elems;
    grad_hook *hooks;       /* [nparams] */
    int64_t *off;           /* [nparams] staging offset this run */
    int *bucket;            /* [nparams] bucket this run, -1 before ready */
    /* this run's buckets: [b_start[b], b_start[b] + b_len[b]) of stage */
    int64_t b_start[RC_COMM_MAX_REQUESTS], b_len[RC_COMM_MAX_REQUESTS];
    unsigned char b_state[RC_COMM_MAX_REQUESTS]; /* 0 filling, 1 in flight, 2 reduced */
    int nb;                 /* buckets opened this run */
    int64_t fill;           /* elements staged this run */
    double wait_s, step_s;  /* time waiting for reductions / in steps */
    int64_t steps;
} comm_state;

struct rc_trainer {
    rc_graph *g;
    rc_optim_config cfg;
    int nparams, nslots, nstate, noutputs;
    rc_node **params;  /* [nparams] */
    rc_node **grads;   /* [nparams] */
    rc_node **updates; /* [nparams] side effects */
    rc_node **slots;   /* [nparams * nslots], slot k of param i at i*nslots+k */
    rc_node **state;   /* [nstate] leaves saved in checkpoints */
    rc_node **outputs; /* [noutputs] extra plan outputs */
    char **paths;      /* [nparams + nstate] node paths = tensor names */
    rc_node *loss, *checked, *step, *lr, *norm, *inc;
    rc_plan *plan;
    double last_norm;
    comm_state *cs;    /* NULL: one process */
};

#endif
