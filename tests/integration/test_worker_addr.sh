#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# The address a worker advertises: by default the local address of its
# route to the scheduler, or what --advertise-addr says (checked); `mlq
# workers` shows it (ADDRESS, "addr" in JSON) and jobs see it as
# MLQ_WORKER_ADDR. Plain TCP is refused to a scheduler off loopback by the
# worker and by the CLI. (Across real network namespaces:
# test_multihost.sh.)
IT_DEADLINE=120
. "$(dirname "$0")/lib.sh" "$@"

start_scheduler "$T/state"
start_worker w1 "$T/spool-w1" --label host=w1
start_worker w2 "$T/spool-w2" --label host=w2 --advertise-addr gpu2.example.org

addr_of() { mlq workers --json | json "[w['addr'] for w in d['workers'] if w['name'] == '$1'][0]"; }
assert_eq 127.0.0.1 "$(addr_of w1)" "w1's default address (its route to 127.0.0.1)"
assert_eq gpu2.example.org "$(addr_of w2)" "w2's --advertise-addr"
ok mlq workers
assert_contains "$OUT" "ADDRESS" "mlq workers header"
echo "$OUT" | grep -E '^w2 +UP +gpu2\.example\.org ' >/dev/null || fail "w2's row: $OUT"

for w in w1 w2; do
    ok mlq submit --require "host=$w" -- sh -c 'echo "$MLQ_WORKER_ADDR"'
    J=$OUT
    ok mlq wait "$J" --timeout 20s
    ok mlq logs "$J"
    assert_eq "$(addr_of $w)" "$OUT" "MLQ_WORKER_ADDR of a job on $w"
done
# a job cannot pass itself off as elsewhere: mlq's value wins over --env
ok mlq submit --require host=w2 --env MLQ_WORKER_ADDR=10.9.9.9 -- sh -c 'echo "$MLQ_WORKER_ADDR"'
J=$OUT
ok mlq wait "$J" --timeout 20s
ok mlq logs "$J"
assert_eq gpu2.example.org "$OUT" "MLQ_WORKER_ADDR with a user --env of the same name"

# Bad addresses are usage errors, with the reason.
for bad in 'gpu 2' 10.0.0.300 -gpu '' "$(printf 'h%.0s' $(seq 1 254))"; do
    expect_rc 2 "$MLQ_WORKER_BIN" --scheduler "$SCHED_ADDR" --name w9 --spool "$T/spool-w9" \
        --advertise-addr "$bad" --insecure
    assert_contains "$ERR" "--advertise-addr" "message for [$bad]"
done

# Plain TCP only on loopback: the worker and the CLI refuse it elsewhere
# before sending anything (192.0.2.1 is a documentation address).
expect_rc 2 "$MLQ_WORKER_BIN" --scheduler tcp://192.0.2.1:7710 --name w9 --spool "$T/spool-w9" \
    --insecure
assert_contains "$ERR" "loopback" "worker --insecure to a remote scheduler"
expect_rc 2 "$MLQ" --insecure --scheduler tcp://192.0.2.1:7710 --timeout 2s list
assert_contains "$ERR" "loopback" "CLI --insecure to a remote scheduler"
printf 'insecure = yes\n' >"$T/plain.config"
MLQ_CONFIG=$T/plain.config expect_rc 2 "$MLQ" --scheduler tcp://192.0.2.1:7710 --timeout 2s list
assert_contains "$ERR" "loopback" "CLI with insecure = yes to a remote scheduler"
