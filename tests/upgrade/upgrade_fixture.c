/* mlq-upgrade-fixture: writes the database an older mlq-scheduler would
 * have left (fixture.h), for tests/integration/test_upgrade_schema.sh.
 *
 *   mlq-upgrade-fixture DB VERSION   write the fixture of VERSION to DB (absent)
 *   mlq-upgrade-fixture --current    print this build's schema version
 *   mlq-upgrade-fixture --from SRC DB VERSION
 *                                    write SRC's rows to DB as VERSION holds them */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "store.h"

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--current") == 0) {
        printf("%d\n", MLQ_STORE_SCHEMA_VERSION);
        return 0;
    }
    if (argc == 5 && strcmp(argv[1], "--from") == 0) {
        struct mlq_err err = {0};
        long v = strtol(argv[4], NULL, 10);
        if (v < 1 || v > MLQ_STORE_SCHEMA_VERSION ||
            mlq_fixture_downgrade(argv[2], argv[3], (int)v, &err) < 0) {
            fprintf(stderr, "mlq-upgrade-fixture: %s\n", err.msg[0] ? err.msg : "bad VERSION");
            return 1;
        }
        return 0;
    }
    char *end = NULL;
    long v = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc != 3 || !end || *end || v < 1 || v > MLQ_STORE_SCHEMA_VERSION) {
        fprintf(stderr,
                "usage: mlq-upgrade-fixture DB VERSION (1..%d) | --current | --from SRC DB "
                "VERSION\n",
                MLQ_STORE_SCHEMA_VERSION);
        return 2;
    }
    struct mlq_err err = {0};
    if (mlq_fixture_write(argv[1], (int)v, &err) < 0) {
        fprintf(stderr, "mlq-upgrade-fixture: %s\n", err.msg);
        return 1;
    }
    return 0;
}
