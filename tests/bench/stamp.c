/* mlq-bench-stamp FILE: the job of the submit-to-start benchmark.
 *
 * Writes CLOCK_MONOTONIC (ns) to FILE as its first action, so the benchmark
 * can subtract the moment it sent `submit`: both read the same system-wide
 * clock, and a compiled program avoids the start-up of sh and date, which
 * would count a few milliseconds against the scheduler. The file appears
 * whole (written to FILE.tmp and renamed). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (argc != 2 || strlen(argv[1]) > 4000) {
        fprintf(stderr, "usage: mlq-bench-stamp FILE\n");
        return 2;
    }
    char tmp[4096 + 8], text[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    int len = snprintf(text, sizeof text, "%lld\n",
                       (long long)ts.tv_sec * 1000000000LL + (long long)ts.tv_nsec);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, (size_t)len) != len || close(fd) < 0 ||
        rename(tmp, argv[1]) < 0) {
        perror("mlq-bench-stamp");
        return 1;
    }
    return 0;
}
