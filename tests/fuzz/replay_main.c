/* Replays a fuzz corpus when the target is built without libFuzzer: every
 * regular file in the directory given as argv[1] is fed once to
 * LLVMFuzzerTestOneInput, in name order. A crash fails the test; so does a
 * missing or empty directory, so that a lost corpus cannot pass silently. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (64 * 1024 * 1024)

/* Reads path whole into a malloc'd buffer (at least one byte allocated, so
 * an empty file still gets a valid pointer). */
static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        return -1;
    if (fstat(fileno(f), &st) < 0 || st.st_size > REPLAY_MAX_INPUT) {
        fclose(f);
        return -1;
    }
    *len = (size_t)st.st_size;
    *out = malloc(*len ? *len : 1);
    if (!*out || fread(*out, 1, *len, f) != *len) {
        free(*out);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

static int skip_dots(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    struct dirent **names;
    int replayed = 0, failed = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    int n = scandir(argv[1], &names, skip_dots, alphasort);
    if (n < 0) {
        perror(argv[1]);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        uint8_t *data;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", argv[1], names[i]->d_name);
        free(names[i]);
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (read_file(path, &data, &len) < 0) {
            fprintf(stderr, "cannot read %s\n", path);
            failed++;
            continue;
        }
        fprintf(stderr, "Running: %s\n", path);
        LLVMFuzzerTestOneInput(data, len);
        free(data);
        replayed++;
    }
    free(names);
    printf("replayed %d inputs from %s\n", replayed, argv[1]);
    if (replayed == 0)
        fprintf(stderr, "%s holds no inputs\n", argv[1]);
    return replayed > 0 && failed == 0 ? 0 : 1;
}
