/* uphttp: see uphttp.h. */
#include "uphttp.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cmd_tokens.h"

#define URL_WAIT_MS 10000

int mlq_uphttp_token(struct mlq_cli *cli, const char *dir, const char *user, char *url,
                     size_t url_len, char *token, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH + 16];
    snprintf(path, sizeof path, "%s/http.url", dir);
    int64_t deadline = mlq_clock_mono_ms() + URL_WAIT_MS;
    url[0] = '\0';
    while (!url[0]) {
        FILE *f = fopen(path, "re");
        if (f) {
            if (!fgets(url, (int)url_len, f))
                url[0] = '\0';
            fclose(f);
            url[strcspn(url, "\n")] = '\0';
        }
        if (!url[0] && mlq_clock_mono_ms() >= deadline)
            return mlq_err_set(err, MLQ_EUNREACH, "the scheduler wrote no %s", path);
        if (!url[0])
            mlq_cli_sleep_ms(100);
    }
    char name[MLQ_MAX_NAME + 1];
    snprintf(name, sizeof name, "up-%.120s", user);
    /* An earlier `up` made one: its secret is gone, so make a new one. */
    struct mlq_msg req = {.type = MLQ_MSG_TOKEN_RM}, reply;
    snprintf(req.u.token_rm.name, sizeof req.u.token_rm.name, "%s", name);
    if (mlq_cli_request(cli, &req, MLQ_MSG_OK, &reply, NULL) == 0)
        mlq_proto_msg_free(&reply);
    return mlq_cli_token_create(cli, name, user, true, 0, token, err);
}
