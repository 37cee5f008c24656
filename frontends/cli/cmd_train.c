/* recur train: train a character-level language model on a corpus. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <recur.h>

#include "args.h"
#include "charlm.h"
#include "cli.h"
#include "../mpi/comm_mpi.h"
#include "lm_import.h"
#include "plot.h"
#include "progress.h"

static const char train_usage[] =
    "usage: recur train --corpus fortunes|FILE [--model MODEL] [options]\n"
    "\n"
    "Trains Embedding(V, E) -> RNN(U) x layers -> Dense(V) on random windows of\n"
    "the corpus' first 90% (one window per batch row, each from a zero state),\n"
    "minimising the mean cross-entropy of the next token (nats/char).\n"
    "  --model MODEL            train an imported model instead (TF.js model.json\n"
    "                           or Keras .keras): int ids (B, T) in, logits\n"
    "                           (B, T, V) out, V >= the corpus vocabulary; starts\n"
    "                           from its weights; not with --cell/--units/--embed/\n"
    "                           --layers/--init; dropout stays off\n"
    "  --export DIR             with --model: write the trained model as TF.js\n"
    "                           (DIR/model.json + DIR/group1-shard1of1.bin)\n"
    "  --corpus fortunes|FILE   the built-in fortunes corpus (Debian package\n"
    "                           'fortunes') or any file, one token per byte\n"
    "  --ints                   FILE holds whitespace-separated integers instead\n"
    "  --cell lstm|gru|simple   (lstm)        --units U (256)   --embed E (64)\n"
    "  --layers N (1)           --seq T (100) --batch B (32)    --steps N (1000)\n"
    "  --optimizer adam|sgd|rmsprop|adagrad (adam)   --lr RATE (2e-3)\n"
    "  --clipnorm C             clip the global gradient norm to C (5; 0 = off)\n"
    "  --init torch|keras       weight initialisation (torch: PyTorch defaults)\n"
    "  --seed S (1234)          initialisation and window sampling\n"
    "  --checkpoint FILE.safetensors   save there every --save-every steps (500)\n"
    "                           and at the end (written atomically)\n"
    "  --resume                 continue from --checkpoint up to --steps in total\n"
    "  --log FILE.csv           loss log (default: checkpoint name with .csv)\n"
    "  --plot FILE.svg          loss curve at the end (default: log name with .svg)\n"
    "  --eval-every N           validation loss every N steps (0 = at the end only)\n"
    "  --print-every N          plain progress line every N steps (100) when the\n"
    "                           output is not a terminal\n"
    "  --threads N              threads for the matrix products (default: all CPUs;\n"
    "                           under mpirun, the CPUs / the ranks on the machine)\n"
    "  --replicas N             train N copies of the model in N threads, each on\n"
    "                           --batch / N rows, gradients summed (default: one\n"
    "                           per thread for the built-in model up to 256 units\n"
    "                           when --batch divides into rows of 4 or more,\n"
    "                           else 1: the matrix products are split instead)\n"
    "\n"
    "Under mpirun (mpirun -np N recur train ...) N processes train one model on\n"
    "the same global batch: each takes --batch / N of its rows (the windows one\n"
    "process would draw), gradients are summed over the ranks as backward\n"
    "finishes them; rank 0 prints, logs and writes the checkpoint, which any\n"
    "number of ranks can resume. MPI support: see `recur --version`.\n"
    "exit status: 0 trained, 1 failed (unreadable corpus or checkpoint, ...), 2 bad usage\n";

/* Path with its extension replaced (or added). */
static char *with_ext(const char *path, const char *ext) {
    size_t n = strlen(path);
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) n = (size_t)(dot - path);
    char *s = malloc(n + strlen(ext) + 1);
    if (s) memcpy(s, path, n), strcpy(s + n, ext);
    return s;
}

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

typedef struct train_ctx {
    charlm m;                 /* the built-in model, or */
    lm_import im;             /* an imported one */
    rc_graph *g;
    rc_node **params;
    int nparams;
    charlm_branch *tb, *eb;   /* training and evaluation branches (one for imported models) */
    charlm_branch tb_, eb_;
    char *cfgs;               /* the checkpoint's "config" */
    rc_corpus corpus;
    rc_trainer *trainer;
    rc_plan *eval_plan;
    rc_rng rng;
} train_ctx;

static void ctx_free(train_ctx *c) {
    rc_plan_free(c->eval_plan);
    rc_trainer_free(c->trainer);
    if (c->m.g) charlm_free(&c->m);
    if (c->im.g) lm_import_free(&c->im);
    free(c->cfgs);
    rc_corpus_free(&c->corpus);
}

/* --export: the imported model with its current (trained) weights as TF.js. */
static int export_model(train_ctx *c, const char *dir) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return args_fail("train", "cannot create '%s': %s", dir, strerror(errno));
    rc_error e;
    if (rc_io_export_tfjs(c->im.io, dir, &e) != RC_OK)
        return args_fail("train", "exporting the model failed: %s", e.message);
    printf("wrote %s/model.json\n", dir);
    return 0;
}

#define EVAL_WINDOWS 512
#define EVAL_BATCH 128

/* The validation loss of the protocol (rc_lm_eval), its windows split
 * evenly over the ranks and the sums added up. */
static rc_status eval_split(train_ctx *c, rc_comm *comm, double *val, rc_error *err) {
    int r = rc_comm_rank(comm), n = rc_comm_size(comm);
    int64_t first = EVAL_WINDOWS * r / n, last = EVAL_WINDOWS * (r + 1) / n;
    double sum = 0;
    rc_status s = rc_lm_eval_range(c->eb, c->eval_plan, rc_corpus_val(&c->corpus), rc_corpus_val_len(&c->corpus),
                                   EVAL_WINDOWS, first, last - first, &sum, err);
    if (s == RC_OK && n > 1) s = rc_comm_allreduce_f64(comm, &sum, 1, err);
    if (s == RC_OK) *val = sum / (double)(EVAL_WINDOWS * c->eb->T);
    return s;
}

/* The job this process is part of: the communicator (one process, or a
 * rank under mpirun), and whether a failure is one every rank meets alike
 * (bad usage, refused configuration: each rank exits by itself) or may be
 * this rank's alone (a file, memory, a step: the job is aborted, so no
 * rank waits for it forever). */
typedef struct train_job {
    rc_comm *comm;
    bool agreed;
    /* --replicas: rank 0 (the calling thread) holds the others' threads;
     * a replica thread has `replica` set, prints nothing and reports its
     * failure through msg */
    bool replica;
    FILE *out;                /* progress and results: stdout, or /dev/null */
    int argc;
    char **argv;
    int nrep;
    rc_comm *reps[RC_COMM_MAX_THREADS];
    pthread_t threads[RC_COMM_MAX_THREADS];
    struct train_job *sub;    /* the replicas' jobs, [1, nrep) */
    int status;
    char msg[1024];
} train_job;

static int train_main(int argc, char **argv, train_job *job);

/* With replicas every thread captures its error message and the first to
 * fail prints it: an error they all meet (a missing corpus) is one line,
 * not one per replica. */
static atomic_int replica_reported;

static void report_once(int rank, const char *msg) {
    if (atomic_exchange(&replica_reported, 1)) return;
    if (rank) fprintf(stderr, "recur train: replica %d: %s\n", rank, msg[0] ? msg : "failed");
    else fprintf(stderr, "recur train: %s\n", msg[0] ? msg : "failed");
}

/* A replica thread: the same program as rank 0, quiet. A failure of its
 * own (not one every replica meets alike) ends the process with its
 * message, as a failed MPI rank ends the job. */
static void *replica_main(void *arg) {
    train_job *job = arg;
    args_capture(job->msg, sizeof job->msg);
    job->status = train_main(job->argc, job->argv, job);
    args_capture(NULL, 0);
    if (job->status != 0 && !job->agreed) {
        report_once(rc_comm_rank(job->comm), job->msg);
        rc_comm_abort(job->comm, job->status);
    }
    return NULL;
}

/* Start replicas 1 .. n-1 (rank 0 is the caller). */
static int start_replicas(train_job *job, int n, int argc, char **argv) {
    rc_error e;
    if (rc_comm_threads_new(n, job->reps, &e) != RC_OK) return args_fail("train", "%s", e.message);
    job->sub = calloc((size_t)n, sizeof *job->sub);
    FILE *null = job->sub ? fopen("/dev/null", "w") : NULL;
    if (!null) {
        free(job->sub);
        job->sub = NULL;
        for (int r = 0; r < n; r++) rc_comm_free(job->reps[r]);
        return args_fail("train", "cannot start the replicas: out of memory or no /dev/null");
    }
    job->comm = job->reps[0];
    for (int r = 1; r < n; r++) {
        train_job *j = &job->sub[r];
        *j = (train_job){.comm = job->reps[r], .agreed = true, .replica = true, .out = null, .argc = argc,
                         .argv = argv};
        int pe = pthread_create(&job->threads[r], NULL, replica_main, j);
        if (pe != 0) {
            /* rank 0 would wait for it in the first collective forever */
            fprintf(stderr, "recur train: cannot start replica %d: %s\n", r, strerror(pe));
            rc_comm_abort(job->comm, 1);
        }
        job->nrep = r + 1;
    }
    return 0;
}

int cmd_train(int argc, char **argv) {
    train_job job = {.comm = rc_comm_single(), .agreed = true, .out = stdout, .argc = argc, .argv = argv};
    int status = train_main(argc, argv, &job);
    if (job.nrep) {
        args_capture(NULL, 0);
        if (status != 0) report_once(0, job.msg);
    }
    if (status != 0 && !job.agreed && rc_comm_size(job.comm) > 1) {
        if (!job.nrep) fprintf(stderr, "recur train: rank %d failed: ending the job\n", rc_comm_rank(job.comm));
        rc_comm_abort(job.comm, status);
    }
    if (job.nrep) {
        /* every replica reached the same end (a failure of its own would
         * have ended the process) */
        for (int r = 1; r < job.nrep; r++) pthread_join(job.threads[r], NULL);
        fclose(job.sub[1].out);
        free(job.sub);
        for (int r = 1; r < job.nrep; r++) rc_comm_free(job.reps[r]);
    }
    rc_comm_free(job.comm); /* MPI_Finalize; the replicas' rank 0 */
    return status;
}

static int train_main(int argc, char **argv, train_job *job) {
    const char *corpus = NULL, *cell_s = "lstm", *opt_s = "adam", *ckpt = NULL, *log_s = NULL, *plot_s = NULL,
               *init_s = "torch", *model_s = NULL, *export_s = NULL;
    int64_t units = 256, embed = 64, layers = 1, seq = 100, batch = 32, steps = 1000, seed = 1234, save_every = 500,
            eval_every = 0, print_every = 100, threads = 0, replicas = 0;
    double lr = 2e-3, clipnorm = 5.0;
    bool resume = false, ints = false;
    arg_opt opts[] = {
        OPT_STRW("--corpus", &corpus, "fortunes or a corpus file"),
        OPT_FLAG("--ints", &ints),
        OPT_STRW("--cell", &cell_s, "lstm, gru or simple"),
        OPT_INT("--units", &units, 1, 4096),
        OPT_INT("--embed", &embed, 1, 4096),
        OPT_INT("--layers", &layers, 1, CHARLM_MAX_LAYERS),
        OPT_INT("--seq", &seq, 1, 10000),
        OPT_INT("--batch", &batch, 1, 4096),
        OPT_INT("--steps", &steps, 1, 100000000),
        OPT_STRW("--optimizer", &opt_s, "adam, sgd, rmsprop or adagrad"),
        OPT_DBL("--lr", &lr, 1e-12, 10),
        OPT_DBL("--clipnorm", &clipnorm, 0, 1e9),
        OPT_STRW("--init", &init_s, "torch or keras"),
        OPT_INT("--seed", &seed, 0, 9007199254740992.0),
        OPT_STRW("--checkpoint", &ckpt, "a checkpoint file (.safetensors)"),
        OPT_FLAG("--resume", &resume),
        OPT_INT("--save-every", &save_every, 1, 100000000),
        OPT_STRW("--log", &log_s, "a log file (.csv)"),
        OPT_STRW("--plot", &plot_s, "a chart file (.svg)"),
        OPT_INT("--eval-every", &eval_every, 0, 100000000),
        OPT_INT("--print-every", &print_every, 1, 100000000),
        OPT_INT("--threads", &threads, 1, 64),
        OPT_INT("--replicas", &replicas, 1, RC_COMM_MAX_THREADS),
        OPT_STRW("--model", &model_s, "a model.json or .keras file"),
        OPT_STRW("--export", &export_s, "an output directory"),
    };
    enum { O_CELL = 2, O_UNITS, O_EMBED, O_LAYERS, O_INIT = 12 };
    const char *pos[1];
    int npos;
    int r = args_parse("train", train_usage, argc, argv, opts, (int)(sizeof opts / sizeof opts[0]), pos, 0, &npos);
    if (r) return r < 0 ? 0 : r;
    if (!corpus) return args_usage_error("train", "missing --corpus (fortunes or a file)");
    /* Under an MPI launcher: one of the job's ranks (cmd_train ends the
     * job when this rank alone fails: train_job). */
    if (!job->replica && rc_comm_mpi_launched()) {
        if (replicas > 1) return args_usage_error("train", "--replicas is for one process: under mpirun, run more ranks");
        rc_error me;
        rc_comm *mc = rc_comm_mpi_new(&argc, &argv, &me);
        if (!mc) return args_fail("train", "%s", me.message);
        job->comm = mc;
    }
    FILE *out = job->out ? job->out : stdout;
    rc_comm *comm = job->comm;
    int rank = rc_comm_rank(comm), nranks = rc_comm_size(comm);
    if (rank != 0 && !job->replica && !freopen("/dev/null", "w", stdout)) { /* rank 0 speaks for the job */
        job->agreed = false;
        return args_fail("train", "rank %d: cannot silence its output", rank);
    }
    if (nranks > 1 && batch % nranks != 0)
        return args_usage_error("train", "--batch %lld is not a multiple of the %d ranks: each rank takes "
                                "batch / ranks rows of the global batch", (long long)batch, nranks);
    if (!threads && nranks > 1 && !job->nrep && !job->replica) {
        /* the machine's CPUs shared by the ranks on it */
        const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        long local = ls ? strtol(ls, NULL, 10) : nranks, cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = local > 0 && cpus > local ? cpus / local : 1;
    }
    if (threads && !job->replica) rc_set_num_threads((int)threads);
    int64_t batch_local = batch / nranks;
    charlm_config cfg = {.vocab = 256, .embed = embed, .units = units, .layers = (int)layers};
    if (!charlm_cell_parse(cell_s, &cfg.cell))
        return args_usage_error("train", "--cell expects lstm, gru or simple, got '%s'", cell_s);
    if (!charlm_init_parse(init_s, &cfg.init))
        return args_usage_error("train", "--init expects torch or keras, got '%s'", init_s);
    rc_optim_kind kind;
    if (!rc_optim_from_name(opt_s, &kind))
        return args_usage_error("train", "--optimizer expects adam, sgd, rmsprop or adagrad, got '%s'", opt_s);
    if (resume && !ckpt) return args_usage_error("train", "--resume needs --checkpoint FILE");
    if (model_s) {
        const int builtin[] = {O_CELL, O_UNITS, O_EMBED, O_LAYERS, O_INIT};
        for (int i = 0; i < 5; i++)
            if (opts[builtin[i]].seen)
                return args_usage_error("train", "%s describes the built-in model: not with --model", opts[builtin[i]].name);
    }
    if (export_s && !model_s && !resume)
        return args_usage_error("train", "--export needs --model (an imported model)");
    if (ckpt && !resume && file_exists(ckpt))
        return args_fail("train", "checkpoint '%s' already exists: add --resume to continue it, or remove it", ckpt);
    if (resume && !file_exists(ckpt)) return args_fail("train", "cannot resume: checkpoint '%s' does not exist", ckpt);

    /* (after every usage check: those are the caller's alone) */
    if (!job->replica && rc_comm_size(job->comm) == 1) {
        /* Replicas: one copy of the model per thread, each on its share
         * of the batch, for small models (the matrix products of a
         * 256-unit step are too small to split well between threads:
         * bench/README.md, issue 18). */
        int cpus = threads ? (int)threads : rc_get_num_threads();
        int n = replicas ? (int)replicas
                : !model_s && units <= 256 && cpus > 1 && batch % cpus == 0 && batch / cpus >= 4 ? cpus : 1;
        if (n > 1 && batch % n != 0)
            return args_usage_error("train", "--batch %lld is not a multiple of the %d replicas: each replica takes "
                                    "batch / replicas rows of the global batch", (long long)batch, n);
        if (n > 1) {
            rc_set_num_threads(cpus > n ? cpus / n : 1);
            threads = 0;
            int st = start_replicas(job, n, argc, argv);
            if (st) return st;
            args_capture(job->msg, sizeof job->msg); /* cmd_train prints it, once */
            comm = job->comm;
            nranks = rc_comm_size(comm);
            batch_local = batch / nranks;
        }
    }
    job->agreed = false;
    char msg[1024];
    train_ctx c;
    memset(&c, 0, sizeof c);
    int status = 1;
    char *log_path = NULL, *plot_path = NULL;
    FILE *logf = NULL;

    char *saved_cfg = NULL, *import_path = NULL;
    if (resume) {
        saved_cfg = lm_checkpoint_config(ckpt, msg, sizeof msg);
        if (!saved_cfg) {
            args_fail("train", "%s", msg);
            goto done;
        }
    }
    if (resume && lm_import_is_config(saved_cfg)) {
        /* An imported model's checkpoint: rebuilt from the model it names. */
        import_path = lm_import_config_path(saved_cfg, msg, sizeof msg);
        if (!import_path) {
            args_fail("train", "%s", msg);
            goto done;
        }
        char *a = model_s ? realpath(model_s, NULL) : NULL;
        bool same = a && strcmp(a, import_path) == 0;
        free(a);
        if (model_s && !same) {
            args_fail("train", "--resume: --model '%s' is not the checkpoint's model '%s'", model_s, import_path);
            goto done;
        }
        if (opts[O_CELL].seen || opts[O_UNITS].seen || opts[O_EMBED].seen || opts[O_LAYERS].seen || opts[O_INIT].seen) {
            args_fail("train", "--resume: the options contradict the checkpoint's model (%s)", saved_cfg);
            goto done;
        }
        model_s = import_path;
    } else if (resume && model_s) {
        args_fail("train", "--resume: the checkpoint holds the built-in model (%s), not --model '%s'", saved_cfg, model_s);
        goto done;
    } else if (export_s && !model_s) {
        args_usage_error("train", "--export needs --model (an imported model)");
        status = EXIT_USAGE;
        goto done;
    } else if (resume) {
        /* The model is the checkpoint's; options given that contradict it are errors. */
        charlm_config saved;
        if (!charlm_config_parse(saved_cfg, &saved, msg, sizeof msg)) {
            args_fail("train", "'%s' is not a recur char-LM checkpoint: %s", ckpt, msg);
            goto done;
        }
        if ((opts[O_CELL].seen && saved.cell != cfg.cell) || (opts[O_UNITS].seen && saved.units != cfg.units) ||
            (opts[O_EMBED].seen && saved.embed != cfg.embed) || (opts[O_LAYERS].seen && saved.layers != cfg.layers) ||
            (opts[O_INIT].seen && saved.init != cfg.init)) {
            char s[256];
            charlm_config_str(&saved, s, sizeof s);
            args_fail("train", "--resume: the options contradict the checkpoint's model (%s)", s);
            goto done;
        }
        cfg = saved;
    }

    if (charlm_load_corpus(corpus, ints, &c.corpus, msg, sizeof msg) != RC_OK) {
        args_fail("train", "%s", msg);
        goto done;
    }
    if (c.corpus.vocab > 256 || ints) cfg.vocab = resume ? cfg.vocab : c.corpus.vocab;
    if (!model_s && c.corpus.vocab > cfg.vocab) {
        args_fail("train", "the corpus has %lld token values but the model's vocabulary is %lld",
                  (long long)c.corpus.vocab, (long long)cfg.vocab);
        goto done;
    }
    if (!model_s) {
        /* The vocabulary comes from the file (--ints: the largest token +
         * 1): refuse one the memory limit cannot hold before building. A
         * lower bound: the embedding and output layer's parameters and
         * gradients, and one step's logits. */
        double v = (double)cfg.vocab, need = v * (double)(cfg.embed + cfg.units + 1) * 4 * 2 +
                                             (double)batch * (double)seq * v * 4;
        int64_t lim = rc_limits_get().max_bytes;
        if (lim >= 0 && need > (double)lim) {
            char a[32], b[32];
            args_fail("train", "corpus '%s': a vocabulary of %lld tokens (the largest token + 1) needs at least %s for "
                      "the embedding, the output layer and the logits, over the memory limit of %s (--max-memory)",
                      corpus, (long long)cfg.vocab, rc_bytes_str(need > 9e18 ? INT64_MAX : (int64_t)need, a, sizeof a),
                      rc_bytes_str(lim, b, sizeof b));
            goto done;
        }
    }
    if (c.corpus.n_train < seq + 1 || rc_corpus_val_len(&c.corpus) < seq + 1) {
        args_fail("train", "corpus '%s' is too short: %lld training and %lld validation tokens, need %lld each",
                  corpus, (long long)c.corpus.n_train, (long long)rc_corpus_val_len(&c.corpus), (long long)(seq + 1));
        goto done;
    }

    if (model_s) {
        if (lm_import_open(model_s, batch_local, seq, c.corpus.vocab, &c.im, msg, sizeof msg) != RC_OK) {
            args_fail("train", "%s", msg);
            goto done;
        }
        c.g = c.im.g, c.params = c.im.params, c.nparams = c.im.nparams;
        c.tb = c.eb = &c.im.br;
        c.cfgs = lm_import_config_str(&c.im);
    } else {
        if (!charlm_new(&c.m, &cfg, (uint64_t)seed)) {
            args_fail("train", "out of memory");
            goto done;
        }
        int64_t eb = EVAL_BATCH;
        if (charlm_branch_new(&c.m, batch_local, seq, false, &c.tb_) != RC_OK ||
            charlm_branch_new(&c.m, eb, seq, false, &c.eb_) != RC_OK) {
            args_fail("train", "building the model failed: %s", rc_graph_error(c.m.g));
            goto done;
        }
        c.g = c.m.g, c.params = c.m.params, c.nparams = c.m.nparams;
        c.tb = &c.tb_, c.eb = &c.eb_;
        c.cfgs = malloc(256);
        if (c.cfgs) charlm_config_str(&cfg, c.cfgs, 256);
    }
    if (!c.cfgs) {
        args_fail("train", "out of memory");
        goto done;
    }
    rc_optim_config oc = rc_optim_defaults(kind);
    oc.lr.initial = lr;
    if (kind != RC_OPT_SGD) {
        /* PyTorch's epsilon and its placement, as the peer (torch.optim.Adam). */
        oc.epsilon = 1e-8;
        oc.eps_style = RC_EPS_TORCH;
    }
    oc.global_clipnorm = clipnorm;
    rc_error oerr;
    if (rc_optim_validate(&oc, &oerr) != RC_OK) {
        args_fail("train", "%s", oerr.message);
        goto done;
    }
    rc_trainer_spec spec = {.loss = c.tb->loss, .params = c.params, .nparams = c.nparams, .optim = oc};
    c.trainer = rc_trainer_new(c.g, &spec);
    if (!c.trainer) {
        args_fail("train", "building the training plan failed: %s", rc_graph_error(c.g));
        goto done;
    }
    c.eval_plan = rc_plan_new(c.g, &c.eb->xent, 1);
    if (!c.eval_plan) {
        args_fail("train", "planning the evaluation failed: %s", rc_graph_error(c.g));
        goto done;
    }
    rc_rng_seed(&c.rng, (uint64_t)seed ^ 0x5eed5eed5eedull);
    const char *cfgs = c.cfgs;
    if (resume) {
        char *legacy = model_s ? NULL : charlm_legacy_copy(ckpt, &c.m, msg, sizeof msg);
        rc_error le = {0};
        rc_status ls = rc_trainer_load(c.trainer, legacy ? legacy : ckpt, NULL, &c.rng, &le);
        if (legacy) remove(legacy);
        free(legacy);
        if (ls != RC_OK) {
            args_fail("train", "%s", le.message);
            goto done;
        }
    }
    int64_t start = rc_trainer_iterations(c.trainer);
    if (nranks > 1) {
        /* Every rank must run the same job: refused on every rank when
         * one differs (model, corpus, batch, schedule, seed, start). */
        char run[1024];
        uint64_t th = rc_fnv1a(RC_FNV_OFFSET, c.corpus.tokens, (size_t)c.corpus.n * sizeof *c.corpus.tokens);
        snprintf(run, sizeof run,
                 "%s | corpus %lld tokens %lld train vocab %lld hash %016llx | batch %lld seq %lld | %s lr %.17g "
                 "clipnorm %.17g | seed %lld steps %lld start %lld",
                 cfgs, (long long)c.corpus.n, (long long)c.corpus.n_train, (long long)c.corpus.vocab,
                 (unsigned long long)th, (long long)batch, (long long)seq, opt_s, lr, clipnorm, (long long)seed,
                 (long long)steps, (long long)start);
        rc_error ce;
        if (rc_comm_check_same(comm, run, strlen(run) + 1, "the run (model, corpus, batch, optimizer, seed, steps)",
                               &ce) != RC_OK ||
            rc_trainer_set_comm(c.trainer, comm, &ce) != RC_OK) {
            job->agreed = ce.code == RC_ERR_ARG; /* a refusal every rank reached */
            args_fail("train", "%s%s", ce.message, ce.code == RC_ERR_ARG ? "; start every rank with the same options "
                                                                          "and files" : "");
            goto done;
        }
    }
    if (start >= steps) {
        fprintf(out, "checkpoint '%s' is already at step %lld (--steps %lld): nothing to do\n", ckpt, (long long)start,
               (long long)steps);
        status = export_s && rank == 0 ? export_model(&c, export_s) : 0;
        goto done;
    }

    /* Output files. */
    /* (rank 0's only) */
    if (rank != 0) ;
    else if (log_s) log_path = strdup(log_s);
    else if (ckpt) log_path = with_ext(ckpt, ".csv");
    if (rank != 0) ;
    else if (plot_s) plot_path = strdup(plot_s);
    else if (log_path) plot_path = with_ext(log_path, ".svg");
    if (log_path) {
        bool append = resume && file_exists(log_path);
        logf = fopen(log_path, append ? "a" : "w");
        if (!logf) {
            args_fail("train", "cannot write the log '%s'", log_path);
            goto done;
        }
        if (!append) fprintf(logf, "step,loss,val_loss,lr,elapsed_s\n");
    }

    int64_t nscalars = 0;
    for (int i = 0; i < c.nparams; i++) nscalars += rc_node_numel(c.params[i]);
    fprintf(out, "corpus %s: %lld tokens (train %lld, validation %lld), vocabulary %lld\n", corpus,
           (long long)c.corpus.n, (long long)c.corpus.n_train, (long long)rc_corpus_val_len(&c.corpus),
           (long long)c.corpus.vocab);
    fprintf(out, "model %s: %lld parameters; %s lr %g, global clipnorm %g; batch %lld x seq %lld; %s step %lld to %lld\n",
           cfgs, (long long)nscalars,
           opt_s, lr, clipnorm, (long long)batch, (long long)seq, resume ? "resuming at" : "training from",
           (long long)start, (long long)steps);
    if (nranks > 1)
        fprintf(out, "data parallel: %d %s x %lld rows x %d thread%s (%s), gradients summed by allreduce\n", nranks,
               job->nrep ? "replicas" : "ranks", (long long)batch_local, rc_get_num_threads(),
               rc_get_num_threads() == 1 ? "" : "s", job->nrep ? "threads of this process" : rc_comm_mpi_library());
    fflush(out);
    /* The global batch's windows, drawn as one process draws them; this
     * rank trains on rows [rank * batch_local, (rank + 1) * batch_local). */
    int32_t *gx = nranks > 1 ? malloc((size_t)(batch * seq) * sizeof *gx) : NULL;
    int32_t *gy = nranks > 1 ? malloc((size_t)(batch * seq) * sizeof *gy) : NULL;
    if (nranks > 1 && (!gx || !gy)) {
        free(gx), free(gy);
        args_fail("train", "out of memory");
        goto done;
    }

    progress pr;
    progress_init(&pr, out, start, steps, batch * seq, print_every);
    int32_t *x = rc_node_data(c.tb->x), *y = rc_node_data(c.tb->y);
    double t_train = 0.0;
    for (int64_t step = start + 1; step <= steps; step++) {
        if (nranks > 1) {
            rc_corpus_windows(&c.corpus, &c.rng, batch, seq, gx, gy, NULL, NULL);
            size_t at = (size_t)(rank * batch_local * seq), len = (size_t)(batch_local * seq) * sizeof *x;
            memcpy(x, gx + at, len);
            memcpy(y, gy + at, len);
        } else {
            rc_corpus_windows(&c.corpus, &c.rng, batch, seq, x, y, NULL, NULL);
        }
        double lr_now = rc_trainer_lr(c.trainer);
        float loss;
        double t0 = progress_now();
        rc_error serr;
        rc_status s = rc_trainer_step(c.trainer, &loss, &serr);
        t_train += progress_now() - t0;
        if (s != RC_OK) {
            progress_done(&pr);
            free(gx), free(gy);
            args_fail("train", "step %lld failed: %s", (long long)step, serr.message);
            goto done;
        }
        double val = NAN;
        rc_error ee = {0};
        if (eval_every && step % eval_every == 0 && step != steps) {
            if (eval_split(&c, comm, &val, &ee) != RC_OK) {
                progress_done(&pr);
                free(gx), free(gy);
                args_fail("train", "evaluation failed: %s", ee.message);
                goto done;
            }
            progress_note(&pr, "step %lld  val %.4f nats/char %.4f bits/char", (long long)step, val, val / M_LN2);
        }
        progress_step(&pr, step, loss);
        if (logf) {
            fprintf(logf, "%lld,%.6f,", (long long)step, loss);
            if (!isnan(val)) fprintf(logf, "%.6f", val);
            fprintf(logf, ",%.6g,%.3f\n", lr_now, progress_now() - pr.t0);
        }
        if (ckpt && rank == 0 && (step % save_every == 0 || step == steps)) {
            if (logf) fflush(logf);
            rc_error e;
            if (rc_trainer_save(c.trainer, ckpt, cfgs, &c.rng, &e) != RC_OK) {
                progress_done(&pr);
                free(gx), free(gy);
                args_fail("train", "saving the checkpoint failed: %s", e.message);
                goto done;
            }
        }
    }
    progress_done(&pr);
    free(gx), free(gy);
    fprintf(out, "trained %lld steps in %.1f s: %.1f ms/step (forward, backward, clipping, update)\n",
           (long long)(steps - start), t_train, 1e3 * t_train / (double)(steps - start));
    if (nranks > 1) {
        double wait_s, step_s;
        rc_trainer_comm_stats(c.trainer, &wait_s, &step_s, NULL);
        fprintf(out, "allreduce: %.1f%% of the step time spent waiting (%.2f ms/step)\n",
               step_s > 0 ? 100.0 * wait_s / step_s : 0.0, 1e3 * wait_s / (double)(steps - start));
    }
    double val;
    rc_error fe = {0};
    if (eval_split(&c, comm, &val, &fe) != RC_OK) {
        args_fail("train", "evaluation failed: %s", fe.message);
        goto done;
    }
    fprintf(out, "step %lld  val %.4f nats/char %.4f bits/char\n", (long long)steps, val, val / M_LN2);
    if (logf) {
        /* The final validation loss as its own row (loss empty). */
        fprintf(logf, "%lld,,%.6f,,\n", (long long)steps, val);
        if (fclose(logf) != 0) {
            logf = NULL;
            args_fail("train", "writing the log '%s' failed", log_path);
            goto done;
        }
        logf = NULL;
        fprintf(out, "wrote %s\n", log_path);
    }
    if (ckpt) fprintf(out, "wrote %s\n", ckpt);
    if (export_s && rank == 0 && export_model(&c, export_s) != 0) goto done;
    if (plot_path && log_path) {
        char title[512];
        snprintf(title, sizeof title, "%s on %s", cfgs, corpus);
        if (plot_csv_to_svg(log_path, plot_path, title, msg, sizeof msg) != 0) {
            args_fail("train", "%s", msg);
            goto done;
        }
        fprintf(out, "wrote %s\n", plot_path);
    }
    status = 0;
done:
    if (logf) fclose(logf);
    free(log_path);
    free(plot_path);
    free(saved_cfg);
    free(import_path);
    ctx_free(&c);
    return status;
}
