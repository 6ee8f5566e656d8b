/* Unit tests for common/keys: generation, a written pair read back, file
 * modes whatever the umask, refusing to overwrite (or to follow a planted
 * symlink), secret files that others may read, a missing or mismatched
 * .pub, and a table of malformed key files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "keys.h"
#include "z85.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
    char dir[64];
    char key[128]; /* dir/key */
    char pub[128]; /* dir/key.pub */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/mlq-test-keys-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->key, sizeof f->key, "%s/key", f->dir);
    snprintf(f->pub, sizeof f->pub, "%s/key.pub", f->dir);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void put_file(const char *path, const char *data, size_t len, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void gen(struct mlq_keypair *kp)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_keys_generate(kp, &err), 0);
}

static void test_generate(void **state)
{
    (void)state;
    struct mlq_keypair a, b;
    gen(&a);
    gen(&b);
    assert_int_equal(strlen(a.public_z85), 40);
    assert_true(mlq_keys_z85_valid(a.public_z85));
    assert_true(mlq_keys_z85_valid(a.secret_z85));
    assert_string_not_equal(a.secret_z85, b.secret_z85);
    char derived[MLQ_KEY_Z85_SIZE];
    assert_int_equal(zmq_curve_public(derived, a.secret_z85), 0);
    assert_string_equal(derived, a.public_z85);
}

static void test_z85(void **state)
{
    (void)state;
    uint8_t bin[32], back[32];
    for (int i = 0; i < 32; i++)
        bin[i] = (uint8_t)(i * 37 + 1);
    char z[MLQ_KEY_Z85_SIZE];
    memset(z, 'x', sizeof z);
    mlq_keys_z85_from_bin(bin, z);
    assert_int_equal(strlen(z), 40);
    assert_true(mlq_keys_z85_valid(z));
    assert_non_null(zmq_z85_decode(back, z));
    assert_memory_equal(bin, back, 32);

    assert_false(mlq_keys_z85_valid(NULL));
    assert_false(mlq_keys_z85_valid(""));
    assert_false(mlq_keys_z85_valid("0123456789012345678901234567890123456789a"));
    assert_false(mlq_keys_z85_valid("012345678901234567890123456789012345678"));
    assert_false(mlq_keys_z85_valid("0123456789012345678901234567890123456 78"));
    assert_false(mlq_keys_z85_valid("0123456789012345678901234567890123456\"78"));
    /* "#####" is 85^5 - 1, more than 32 bits */
    assert_false(mlq_keys_z85_valid("#####56789012345678901234567890123456789"));
    assert_true(mlq_keys_z85_valid("0123456789012345678901234567890123456789"));
}

/* The check without libzmq (what the protocol decoder uses) refuses
 * exactly what libzmq's decoder refuses, around the 32-bit boundary of a
 * group too ("%nSc0" is 0xffffffff). */
static void test_z85_without_zmq(void **state)
{
    (void)state;
    const char *groups[] = {"00000", "%nSc0", "%nSc1", "%nSd0", "%oSc0",
                            "&0000", "#####", "0000 ", "abcde"};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        uint8_t bin[4];
        bool zmq_ok = zmq_z85_decode(bin, groups[i]) != NULL;
        if (mlq_z85_valid(groups[i], 5) != zmq_ok)
            fail_msg("group \"%s\": libzmq says %d", groups[i], zmq_ok);
    }
    assert_true(mlq_z85_valid("%nSc0", 5));
    assert_false(mlq_z85_valid("%nSc1", 5));
    assert_false(mlq_z85_valid("0000", 4));       /* not whole groups */
    assert_false(mlq_z85_valid("0000000000", 5)); /* longer than said */
    assert_false(mlq_z85_valid(NULL, 5));
}

static void test_roundtrip_and_modes(void **state)
{
    struct fx *f = *state;
    struct mlq_keypair kp, got;
    struct mlq_err err = {0};
    gen(&kp);
    mode_t old = umask(0); /* modes must not depend on the umask, either way */
    int rc = mlq_keys_write(f->key, &kp, false, &err);
    umask(old);
    assert_int_equal(rc, 0);
    assert_int_equal(mode_of(f->key), 0600);
    assert_int_equal(mode_of(f->pub), 0644);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), 0);
    assert_string_equal(got.secret_z85, kp.secret_z85);
    assert_string_equal(got.public_z85, kp.public_z85);
    char pub[MLQ_KEY_Z85_SIZE];
    assert_int_equal(mlq_keys_read_public(f->pub, pub, &err), 0);
    assert_string_equal(pub, kp.public_z85);

    /* one line each */
    char buf[64];
    int fd = open(f->pub, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof buf), 41);
    close(fd);
    assert_int_equal(buf[40], '\n');

    old = umask(077);
    assert_int_equal(mlq_keys_write(f->key, &kp, true, &err), 0);
    umask(old);
    assert_int_equal(mode_of(f->pub), 0644);
}

static void test_no_overwrite(void **state)
{
    struct fx *f = *state;
    struct mlq_keypair a, b, got;
    struct mlq_err err = {0};
    gen(&a);
    gen(&b);
    assert_int_equal(mlq_keys_write(f->key, &a, false, &err), 0);
    assert_int_equal(mlq_keys_write(f->key, &b, false, &err), MLQ_ESTATE);
    assert_non_null(strstr(err.msg, "exists"));
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), 0);
    assert_string_equal(got.secret_z85, a.secret_z85);

    /* only the .pub is there: refused, and no secret file left behind */
    unlink(f->key);
    assert_int_equal(mlq_keys_write(f->key, &b, false, &err), MLQ_ESTATE);
    assert_non_null(strstr(err.msg, f->pub));
    assert_int_equal(access(f->key, F_OK), -1);

    /* asked to: both replaced */
    assert_int_equal(mlq_keys_write(f->key, &b, true, &err), 0);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), 0);
    assert_string_equal(got.secret_z85, b.secret_z85);
    assert_string_equal(got.public_z85, b.public_z85);
}

static void test_symlink_not_followed(void **state)
{
    struct fx *f = *state;
    struct mlq_keypair kp;
    struct mlq_err err = {0};
    char target[160];
    snprintf(target, sizeof target, "%s/elsewhere", f->dir);
    assert_int_equal(symlink(target, f->key), 0);
    gen(&kp);
    assert_int_equal(mlq_keys_write(f->key, &kp, false, &err), MLQ_ESTATE);
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(access(f->pub, F_OK), -1);

    /* an overwrite replaces the link itself, not what it points at */
    assert_int_equal(mlq_keys_write(f->key, &kp, true, &err), 0);
    assert_int_equal(access(target, F_OK), -1);
    struct stat st;
    assert_int_equal(lstat(f->key, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_secret_too_open(void **state)
{
    struct fx *f = *state;
    struct mlq_keypair kp, got;
    struct mlq_err err = {0};
    gen(&kp);
    assert_int_equal(mlq_keys_write(f->key, &kp, false, &err), 0);
    static const mode_t bad[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < N(bad); i++) {
        assert_int_equal(chmod(f->key, bad[i]), 0);
        memset(&got, 'x', sizeof got);
        assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), MLQ_EPERM);
        assert_non_null(strstr(err.msg, "too open"));
        assert_non_null(strstr(err.msg, f->key));
        assert_int_equal(got.secret_z85[0], '\0'); /* nothing half filled */
    }
    assert_int_equal(chmod(f->key, 0400), 0);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), 0);
    /* a public key file may be world readable */
    char pub[MLQ_KEY_Z85_SIZE];
    assert_int_equal(chmod(f->pub, 0644), 0);
    assert_int_equal(mlq_keys_read_public(f->pub, pub, &err), 0);
}

static void test_pub_missing_or_mismatched(void **state)
{
    struct fx *f = *state;
    struct mlq_keypair kp, other, got;
    struct mlq_err err = {0};
    gen(&kp);
    gen(&other);
    assert_int_equal(mlq_keys_write(f->key, &kp, false, &err), 0);
    assert_int_equal(unlink(f->pub), 0);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), 0);
    assert_string_equal(got.public_z85, kp.public_z85);

    char line[42];
    snprintf(line, sizeof line, "%s\n", other.public_z85);
    put_file(f->pub, line, 41, 0644);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "does not hold the public key"));
    assert_non_null(strstr(err.msg, f->pub));

    put_file(f->pub, "garbage\n", 8, 0644);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, f->pub));

    unlink(f->key);
    assert_int_equal(mlq_keys_read_secret(f->key, &got, &err), MLQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, f->key));
    assert_int_equal(mlq_keys_read_public(f->key, line, &err), MLQ_ENOTFOUND);
}

static void test_bad_files(void **state)
{
    struct fx *f = *state;
    struct mlq_err err = {0};
    const char *k = "0123456789012345678901234567890123456789";
    char longer[128];
    snprintf(longer, sizeof longer, "%s%s", k, k);
    static const char nul40[] = "01234567890123456789\0"
                                "123456789012345678\n";
    const struct {
        const char *data;
        size_t len;
        const char *want;
    } t[] = {
        {"", 0, "found 0 bytes"},
        {"\n", 1, "found 0 bytes"},
        {k, 39, "found 39 bytes"},
        {"01234567890123456789012345678901234567890\n", 42, "found 41 bytes"},
        {"0123456789012345678901234567890123456789\n\n", 42, "found 41 bytes"},
        {"0123456789012345678901234567890123456789\r\n", 42, "found 41 bytes"},
        {"0123456789012345678901234567890123456789 ", 41, "found 41 bytes"},
        {" 0123456789012345678901234567890123456789", 41, "byte 1 is not"},
        {"012345678901234567890123456789012345678\"\n", 41, "byte 40 is not"},
        {nul40, sizeof nul40 - 1, "byte 21 is not"},
        {longer, 80, "longer than one z85 key"},
        {"#####56789012345678901234567890123456789\n", 41, "valid z85"},
    };
    char pub[MLQ_KEY_Z85_SIZE];
    for (size_t i = 0; i < N(t); i++) {
        put_file(f->pub, t[i].data, t[i].len, 0644);
        int rc = mlq_keys_read_public(f->pub, pub, &err);
        if (rc != MLQ_EINVAL || !strstr(err.msg, t[i].want) || !strstr(err.msg, f->pub))
            fail_msg("case %zu: rc %d \"%s\", wanted \"%s\"", i, rc, err.msg, t[i].want);
    }
    /* without a newline is fine */
    put_file(f->pub, k, 40, 0644);
    assert_int_equal(mlq_keys_read_public(f->pub, pub, &err), 0);
    assert_string_equal(pub, k);

    /* not regular files: a directory, a FIFO (which must not hang us) */
    assert_int_equal(mlq_keys_read_public(f->dir, pub, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    unlink(f->pub);
    assert_int_equal(mkfifo(f->pub, 0644), 0);
    assert_int_equal(mlq_keys_read_public(f->pub, pub, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(mlq_keys_read_public("", pub, &err), MLQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),
        cmocka_unit_test(test_z85),
        cmocka_unit_test(test_z85_without_zmq),
        cmocka_unit_test_setup_teardown(test_roundtrip_and_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secret_too_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pub_missing_or_mismatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
