/* recur — recurrent neural networks on a computation graph with
 * reverse-mode autodiff. One include for the whole public API: librecur
 * (pkg-config recur) for everything up to training, librecur-io
 * (pkg-config recur-io) for recur/model_io.h, recur/checkpoint.h and
 * recur/render.h. */
#ifndef RECUR_H
#define RECUR_H

#include "recur/base.h"
#include "recur/tensor.h"
#include "recur/graph.h"
#include "recur/ops.h"
#include "recur/autodiff.h"
#include "recur/plan.h"
#include "recur/gradcheck.h"
#include "recur/rng.h"
#include "recur/gemm.h"
#include "recur/threads.h"
#include "recur/init.h"
#include "recur/activation.h"
#include "recur/rnn.h"
#include "recur/layers.h"
#include "recur/layer.h"
#include "recur/model.h"
#include "recur/optim.h"
#include "recur/comm.h"
#include "recur/train.h"
#include "recur/data.h"
#include "recur/lm.h"
#include "recur/dot.h"
#include "recur/strbuf.h"
#include "recur/model_io.h"
#include "recur/checkpoint.h"
#include "recur/render.h"

#endif
