/* The trainer's fields, private to train/ (frontends reach the trainer
 * through recur/train.h, e.g. rc_trainer_leaves for checkpoints). */
#ifndef RECUR_TRAINER_INTERNAL_H
#define RECUR_TRAINER_INTERNAL_H

#include "recur/plan.h"
#include "recur/train.h"

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
};

#endif
