/* workeropts: mlq-worker's options, from one table that drives the command
 * line, the config file (optconf.h) and --help, with every check made at
 * start and again on a SIGHUP reload. */
#ifndef MLQ_WORKEROPTS_H
#define MLQ_WORKEROPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "cglimit.h"
#include "gpu.h"
#include "log.h"
#include "optconf.h"
#include "runmanifest.h"
#include "transport.h"

#define MLQ_WORKEROPTS_FAKE_GPUS_MAX 512 /* bytes of a --gpus list */

struct mlq_workeropts {
    const char *scheduler;
    char name[MLQ_MAX_NAME + 1];
    int64_t cpus_m, mem;
    bool gpus_given;                                  /* --gpus: fake GPUs, no discovery */
    char fake_gpus[MLQ_WORKEROPTS_FAKE_GPUS_MAX + 1]; /* --gpus as given (mlq_gpu_fake_spec) */
    bool method_given;
    enum mlq_gpu_method gpu_method;
    const char *nvml_library;           /* --nvml-library; NULL: MLQ_GPU_NVML_LIBRARY */
    const char *pool;                   /* NULL: "default" */
    const char *labels[MLQ_MAX_LABELS]; /* argv strings */
    uint32_t nlabels;
    int64_t heartbeat_ms;
    char *spool;     /* owned */
    char *shim;      /* owned */
    bool shim_given; /* --shim: a bad path is a usage error */
    enum mlq_log_level level;
    int64_t log_cap;
    bool drain_and_exit;
    bool list_gpus;              /* --list-gpus: print what discovery finds and exit */
    const char *key_path;        /* --key: this worker's secret key file */
    const char *sched_key;       /* --scheduler-key: the scheduler's public key file */
    char addr[MLQ_MAX_HOST + 1]; /* --advertise-addr, else the route's; "" none */
    bool addr_given;
    int32_t rdv_lo, rdv_hi;               /* --rendezvous-ports */
    bool insecure;                        /* --insecure: plain TCP, no keys */
    enum mlq_cglimit_mode limits;         /* --limits */
    bool cgroup_favor;                    /* --cgroup-favordynmods (cgfavor.h) */
    struct mlq_curve curve;               /* filled from the key files unless insecure */
    struct mlq_runmanifest_conf manifest; /* --secret-env, --manifest-hash-* */
    const char *log_file;                 /* --log-file; NULL: stderr */
    char *runtime;                        /* --container-runtime (owned); NULL: none */
    bool runtime_given;
    bool help, version;
    struct mlq_optconf cmd, file; /* where the options came from */
    const char *config;           /* the config file read; NULL: none */
    struct mlq_optconf last;      /* the file of the last SIGHUP reload */
    bool reloaded;                /* last holds it (else file) */
};

/* Reads argv, then the config file, into o (zeroed by the caller). Returns
 * 0 to run, else the exit code (-1 for 0 after --help or --version). */
int mlq_workeropts_parse(int argc, char **argv, struct mlq_workeropts *o);
/* SIGHUP (agent.h's on_reload, arg a struct mlq_workeropts): reopens the
 * log file, reads the config file again with the checks start makes (a
 * bad one changes nothing), applies the log level and log file, and names
 * every other changed key as needing a restart. */
void mlq_workeropts_reload(void *arg);
/* Frees what parse allocated and wipes the CURVE keys. */
void mlq_workeropts_clear(struct mlq_workeropts *o);

#endif
