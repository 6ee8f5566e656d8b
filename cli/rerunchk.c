/* rerunchk: see rerunchk.h. The comparison itself is `mlq diff`'s
 * (manifestdiff.h), on two documents that hold only what a rerun can check
 * from here: "git" and "inputs". The local side is read with the worker's
 * own code (gitinfo.h, filehash.h), so that a hash here means what it means
 * in a manifest. */
#include "rerunchk.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "filehash.h"
#include "gitinfo.h"
#include "manifestdiff.h"
#include "output.h"

#define MAX_LINE 512

/* The attempt's manifest, or NULL with why filled (no manifest yet, a
 * scheduler without manifests...). */
static json_t *fetch_manifest(struct mlq_cli *cli, const char *ref, int32_t *attempt, char *why,
                              size_t len)
{
    struct mlq_msg req = {.type = MLQ_MSG_MANIFEST}, reply;
    struct mlq_err err = {0};
    req.u.manifest.job = (char *)ref;
    req.u.manifest.attempt = 0; /* the latest */
    if (mlq_cli_request(cli, &req, MLQ_MSG_MANIFEST_DATA, &reply, &err) < 0) {
        snprintf(why, len, "%s", err.msg);
        return NULL;
    }
    *attempt = reply.u.manifest_data.attempt;
    json_t *doc = json_loads(reply.u.manifest_data.json, 0, NULL);
    mlq_proto_msg_free(&reply);
    if (!json_is_object(doc)) {
        json_decref(doc);
        snprintf(why, len, "the stored manifest is not a JSON object");
        return NULL;
    }
    return doc;
}

/* What can be checked from here, from the original's manifest. */
static json_t *original_side(const json_t *m)
{
    json_t *git = json_object_get(m, "git"), *inputs = json_object_get(m, "inputs");
    /* "o" steals the reference: a borrowed array gets one of its own. */
    return json_pack("{s:O, s:o}", "git", git ? git : json_null(), "inputs",
                     inputs ? json_incref(inputs) : json_array());
}

/* The same, read now in spec's working directory as this user. */
static json_t *local_side(const struct mlq_jobspec *spec, char *why, size_t len)
{
    int back = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (back < 0 || chdir(spec->workdir) != 0) {
        snprintf(why, len, "cannot enter the working directory %.200s: %s", spec->workdir,
                 strerror(errno));
        if (back >= 0)
            close(back);
        return NULL;
    }
    json_t *git = mlq_gitinfo_collect(".", mlq_clock_mono_ms() + MLQ_GITINFO_TIME_MS);
    json_t *inputs = json_array();
    struct mlq_filehash_limits lim = {.max_file = MLQ_FILEHASH_MAX_FILE,
                                      .deadline_ms = mlq_clock_mono_ms() + MLQ_FILEHASH_TIME_MS,
                                      .max_entries = MLQ_FILEHASH_MAX_ENTRIES};
    for (uint32_t i = 0; inputs && i < spec->ninputs; i++)
        if (mlq_filehash_add(inputs, spec->inputs[i], &lim) == 1)
            json_array_append_new(inputs,
                                  json_pack("{s:s,s:b}", "path", spec->inputs[i], "missing", 1));
    if (fchdir(back) != 0)
        snprintf(why, len, "cannot return to the current directory");
    close(back);
    return json_pack("{s:o, s:o}", "git", git ? git : json_null(), "inputs",
                     inputs ? inputs : json_array());
}

/* One warning per line of the diff's text; returns the count. */
static int warn_lines(const json_t *diff, const char *ref, int32_t attempt)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem)
        return 1;
    mlq_mdiff_print(mem, diff);
    fclose(mem);
    int n = 0;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char clean[MAX_LINE];
        fprintf(stderr, "mlq: warning: differs from %s attempt %d: %s\n", ref, (int)attempt,
                mlq_out_clean(line, clean, sizeof clean));
        n++;
    }
    free(text);
    return n;
}

/* Number of differences (or checks that could not be made, each warned). */
static int compare(struct mlq_cli *cli, const char *ref, const struct mlq_jobspec *spec)
{
    char why[MAX_LINE] = "";
    int32_t attempt = 0;
    json_t *m = fetch_manifest(cli, ref, &attempt, why, sizeof why);
    if (!m) {
        fprintf(stderr, "mlq: warning: nothing to compare with: %s\n", why);
        return 1;
    }
    json_t *orig = original_side(m), *now = local_side(spec, why, sizeof why);
    json_decref(m);
    int n = 0;
    if (!now || why[0]) {
        fprintf(stderr, "mlq: warning: cannot compare: %s\n", why);
        n = 1;
    }
    json_t *diff = orig && now ? mlq_mdiff(orig, now) : NULL;
    if (diff)
        n += warn_lines(diff, ref, attempt);
    json_decref(diff);
    json_decref(orig);
    json_decref(now);
    return n;
}

int mlq_rerunchk_run(struct mlq_cli *cli, const char *ref, const struct mlq_jobspec *spec,
                     bool strict)
{
    int n = compare(cli, ref, spec);
    if (n == 0 || !strict)
        return 0;
    fprintf(stderr, "mlq: --strict: not rerun: %d difference%s from the original run\n", n,
            n == 1 ? "" : "s");
    return MLQ_EXIT_FAILED;
}
