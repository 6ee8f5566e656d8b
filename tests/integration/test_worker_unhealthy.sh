#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# A worker whose spool cannot take assignments (a tiny tmpfs, filled up)
# refuses them. Its refusals are its own fault, not the jobs': after a few
# in a row it is marked unhealthy (`mlq workers`, `mlq why`), nothing more is
# placed on it, and the refused jobs run on the healthy worker without a
# node failure counted against them. Needs root (mount); skipped otherwise.
IT_DEADLINE=200
. "$(dirname "$0")/lib.sh" "$@"

skip_test() {
    log "SKIP: $*"
    exit 0
}
[ "$(id -u)" = 0 ] || skip_test "needs root (mounts a tmpfs)"

start_scheduler "$T/state" --heartbeat 1s --lease 5s --kill-grace 1s
SPOOL=$T/spool-broken
mkdir -p "$SPOOL"
mount -t tmpfs -o size=1m mlq-it-spool "$SPOOL" || skip_test "cannot mount a tmpfs"
# At exit: the usual cleanup, with the tmpfs unmounted (lazily: the broken
# worker may still hold it) before the test folder is removed.
umount_then_cleanup() {
    local rc=$?
    set +e # under set -e the failed test's `(exit "$rc")` would skip it_cleanup
    umount -l "$SPOOL" 2>/dev/null
    (exit "$rc")
    it_cleanup
}
trap umount_then_cleanup EXIT
# The broken worker registers first: placement prefers it on a tie.
start_worker broken "$SPOOL" --cpus 4 --mem 2G --heartbeat 1s
dd if=/dev/zero of="$SPOOL/filler" bs=64k 2>/dev/null || true
start_worker good "$T/spool-good" --cpus 4 --mem 2G --heartbeat 1s

JOBS=()
for _ in 1 2 3 4 5; do
    ok mlq submit --cpus 1 --mem 16M -- sh -c 'echo "$MLQ_JOB_ID" >> "$0"' "$T/ran"
    JOBS+=("$OUT")
done
ok mlq wait "${JOBS[@]}" --timeout 90s
for j in "${JOBS[@]}"; do
    ok mlq status "$j" --json
    assert_eq SUCCEEDED "$(json "d['state']" <<<"$OUT")" "job $j"
    assert_eq good "$(json "d['worker']" <<<"$OUT")" "worker of job $j"
    assert_eq 0 "$(json "d.get('node_failures') or 0" <<<"$OUT")" "node failures of job $j"
done
assert_eq 5 "$(wc -l <"$T/ran")" "each job ran once"

ok mlq workers --json
assert_eq true "$(json "[w['unhealthy'] for w in d['workers'] if w['name']=='broken'][0]" <<<"$OUT")" \
    "broken worker unhealthy"
assert_eq false "$(json "[w['unhealthy'] for w in d['workers'] if w['name']=='good'][0]" <<<"$OUT")" \
    "good worker healthy"
assert_contains "$(json "[w['health'] for w in d['workers'] if w['name']=='broken'][0]" <<<"$OUT")" \
    "refused" "why the worker is unhealthy"
ok mlq workers
assert_contains "$OUT" "UP (unhealthy)" "human listing"
assert_contains "$OUT" "broken unhealthy:" "human listing gives the reason"

# A job only the broken worker could run says why it waits.
ok mlq drain good --reason maintenance
ok mlq submit --cpus 1 --mem 16M -- true
W=$OUT
ok mlq why "$W"
assert_contains "$OUT" "unhealthy" "mlq why names the unhealthy worker"
assert_contains "$OUT" "broken" "mlq why names the closest worker"

# An admin's resume clears the mark (once the spool is fixed).
rm -f "$SPOOL/filler"
ok mlq resume broken
ok mlq workers --json
assert_eq false "$(json "[w['unhealthy'] for w in d['workers'] if w['name']=='broken'][0]" <<<"$OUT")" \
    "broken worker after mlq resume"
expect_rc 0 mlq wait "$W" --timeout 30s
ok mlq status "$W" --json
assert_eq broken "$(json "d['worker']" <<<"$OUT")" "the waiting job ran on the resumed worker"
