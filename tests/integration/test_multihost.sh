#!/usr/bin/env bash
# shellcheck disable=SC2016 # job scripts are single-quoted on purpose
# Several hosts with real network separation: deploy/multihost/netns-cluster.sh
# puts the scheduler and three workers in network namespaces of their own,
# joined by a bridge. Each worker advertises its own address; jobs pinned to
# each host run there and see that address; their logs are read from the
# scheduler's host; a host whose cable is cut goes LOST after the lease, its
# job runs again on another host, and the host comes back UP when the cable
# is mended. Root only (namespaces); the namespaces are deleted on exit,
# also on failure.
IT_DEADLINE=90
. "$(dirname "$0")/lib.sh" "$@"

export MLQ_NETNS_HEARTBEAT=1s MLQ_NETNS_LEASE=3s
netns_cluster_up

# Every worker is listed with the address it advertised, in JSON and in
# the table's ADDRESS column.
ok admin workers --json
for w in w1 w2 w3; do
    assert_eq "$(addr_of $w)" "$(json "[x['addr'] for x in d['workers'] if x['name'] == '$w'][0]" <<<"$OUT")" \
        "address of $w in mlq workers --json"
done
ok admin workers
assert_contains "$OUT" "ADDRESS" "mlq workers header"
for w in w1 w2 w3; do
    echo "$OUT" | grep -E "^$w +UP +$(addr_of $w) " >/dev/null || fail "row of $w: $OUT"
done

# One job pinned to each host: it prints the address mlq gave it and the
# addresses of the namespace it runs in.
declare -A JOB
for w in w1 w2 w3; do
    ok user submit --name "on-$w" --require "host=$w" --workdir / -- \
        sh -c 'echo "$MLQ_WORKER $MLQ_WORKER_ADDR $(hostname -I)"'
    JOB[$w]=$OUT
done
ok user wait "${JOB[w1]}" "${JOB[w2]}" "${JOB[w3]}" --timeout 30s
for w in w1 w2 w3; do
    # logs of a job on another host, fetched from the scheduler's host
    ok user logs "${JOB[$w]}"
    read -r name advertised seen <<<"$OUT"
    assert_eq "$w" "$name" "host that ran ${JOB[$w]}"
    assert_eq "$(addr_of "$w")" "$advertised" "MLQ_WORKER_ADDR on $w"
    assert_eq "$(addr_of "$w")" "$seen" "hostname -I on $w (its namespace's only address)"
done

# Cut the cable of the host running a job: LOST after the lease, the job
# runs again elsewhere (its first attempt sleeps, the second ends at once).
ok user submit --name cut --workdir / -- \
    sh -c 'echo "$MLQ_ATTEMPT $MLQ_WORKER_ADDR"; [ "$MLQ_ATTEMPT" != 1 ] || exec sleep 120'
J=$OUT
wait_until "[ \"\$(user status $J --json | json \"d['state']\")\" = RUNNING ]" 15 ||
    fail "job $J not RUNNING"
ok user status "$J" --json
CUT=$(json "d['worker']" <<<"$OUT")
log "job $J runs on $CUT; cutting its cable"
ok "$NETNS" cut "$C" "$CUT"
wait_until "[ \"\$(worker_state $CUT)\" = LOST ]" 15 || fail "$CUT not LOST after its lease"
ok user wait "$J" --timeout 30s
ok user status "$J" --json
assert_eq 2 "$(json "d['attempt']" <<<"$OUT")" "attempt of the job after its host was cut"
OTHER=$(json "d['worker']" <<<"$OUT")
[ "$OTHER" != "$CUT" ] || fail "the job ran again on the host that was cut"
ok user logs "$J"
assert_eq "2 $(addr_of "$OTHER")" "$OUT" "the second attempt's output, from $OTHER"

# Mend it: the worker reconnects and is UP again, with its address.
ok "$NETNS" mend "$C" "$CUT"
wait_until "[ \"\$(worker_state $CUT)\" = UP ]" 20 || fail "$CUT not UP after its cable was mended"
ok admin workers --json
assert_eq "$(addr_of "$CUT")" "$(json "[x['addr'] for x in d['workers'] if x['name'] == '$CUT'][0]" <<<"$OUT")" \
    "address of $CUT after it came back"

# `down` leaves no namespace of this run behind.
ok "$NETNS" down "$C"
if ip netns list | grep -q "^$PREFIX-"; then
    fail "namespaces left after down: $(ip netns list | grep "^$PREFIX-")"
fi
