/* cmd_keys: see cmd_keys.h.
 *
 * The default path is `key` next to the client config, which creds.c reads
 * when the config names no key: a user runs `mlq keygen`, hands the printed
 * .pub file to an admin, and needs to configure nothing but scheduler_key. */
#include "cmd_keys.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bounds.h"
#include "fsutil.h"
#include "keys.h"
#include "output.h"

enum { OPT_OUT = MLQ_CLI_OPT_FIRST_FREE, OPT_FORCE };

static const char keygen_usage[] =
    "usage: mlq keygen [--out FILE] [--force]\n\n"
    "Makes a CURVE key pair to talk to a scheduler that requires keys: FILE holds\n"
    "the secret key (mode 0600, keep it private), FILE.pub the public key. Prints\n"
    "the path of FILE.pub: give that file to an admin, who registers it with\n"
    "`mlq admin user add NAME --key FILE.pub` (`mlq admin worker add` for a\n"
    "worker's key: a FILE named like worker.key gets that hint).\n"
    "  --out FILE   where to write (default: `key` next to the client config, which\n"
    "               the CLI then uses without further setup)\n"
    "  --force      replace an existing key pair (the old key stops working)\n";

static const struct option keygen_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"out", required_argument, NULL, OPT_OUT},
    {"force", no_argument, NULL, OPT_FORCE},
    {NULL, 0, NULL, 0},
};

/* mkdir -p of path's directory (0700: it will hold a secret). */
static int make_parent(const char *path, struct mlq_err *err)
{
    char *dir = strdup(path);
    if (!dir)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    int rc = 0;
    struct stat st;
    if (slash && slash != dir) {
        *slash = '\0';
        if (stat(dir, &st) != 0)
            rc = mlq_fs_mkdirs(dir, 0700, err);
    }
    free(dir);
    return rc;
}

int mlq_cli_keygen_write(const char *path, bool force, struct mlq_err *err)
{
    size_t n = strlen(path);
    if (n == 0 || n > MLQ_MAX_PATH - 5)
        return mlq_err_set(err, MLQ_EINVAL, "keygen: bad key file path");
    if (n >= 4 && strcmp(path + n - 4, ".pub") == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "keygen: --out names the secret key file; FILE.pub is written beside "
                           "it");
    struct mlq_keypair kp;
    int rc = make_parent(path, err);
    if (rc == 0)
        rc = mlq_keys_generate(&kp, err);
    if (rc == 0)
        rc = mlq_keys_write(path, &kp, force, err);
    explicit_bzero(&kp, sizeof kp);
    return rc;
}

/* Returns -1 to go on, else the exit code. */
static int keygen_parse(int argc, char **argv, const char **out, bool *force)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    *out = NULL;
    *force = false;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", keygen_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(keygen_usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == OPT_OUT) {
            *out = optarg;
        } else if (c == OPT_FORCE) {
            *force = true;
        } else {
            rc = mlq_cli_getopt_error("keygen", c, argc, argv, &err);
        }
    }
    if (rc == 0 && optind < argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "keygen: unexpected argument '%.40s'", argv[optind]);
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq keygen --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    return -1;
}

const char *mlq_cli_keygen_kind(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strstr(slash ? slash + 1 : path, "worker") ? "worker" : "user";
}

/* --out, else DIR/key next to the client config; malloc'd. */
static char *keygen_path(const struct mlq_cli *cli, const char *out)
{
    if (out)
        return mlq_fs_abspath(out);
    char *dir = mlq_creds_config_dir(cli->config_path);
    char *path = NULL;
    if (dir && asprintf(&path, "%s/key", dir) < 0)
        path = NULL;
    free(dir);
    return path;
}

int mlq_cmd_keygen(struct mlq_cli *cli, int argc, char **argv)
{
    const char *out;
    bool force;
    int rc = keygen_parse(argc, argv, &out, &force);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    char *path = keygen_path(cli, out);
    if (!path)
        return mlq_out_fail(MLQ_ENOMEM, NULL);
    rc = mlq_cli_keygen_write(path, force, &err);
    if (rc == MLQ_ESTATE)
        fprintf(stderr, "mlq: %s already exists (--force replaces it)\n", path);
    else if (rc < 0)
        mlq_out_fail(rc, &err);
    if (rc < 0) {
        free(path);
        return mlq_cli_exit_code(rc);
    }
    printf("%s.pub\n", path);
    const char *kind = mlq_cli_keygen_kind(path);
    fprintf(stderr,
            "wrote %s (secret: keep it private) and %s.pub; an admin registers the .pub with\n"
            "  mlq admin %s add NAME --key %s.pub\n",
            path, path, kind, path);
    if (strcmp(kind, "worker") == 0)
        fprintf(stderr, "and the worker uses it with mlq-worker --name NAME --key %s\n", path);
    else if (out)
        fprintf(stderr, "use it with `key = %s` in the client config, or MLQ_KEY=%s\n", path, path);
    free(path);
    return MLQ_EXIT_OK;
}
