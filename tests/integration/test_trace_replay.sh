#!/usr/bin/env bash
# mlq-replay on a small synthetic trace against real schedulers: the
# generator is deterministic, bad trace files are refused with their line,
# fill and replay modes run both policies and print well-formed, consistent
# figures (allocation never above 100 %, every task accounted for). The
# figures themselves are not asserted (README.md, "Placement and
# fragmentation" has the measured ones).
IT_DEADLINE=180
. "$(dirname "$0")/lib.sh" "$@"

REPLAY=$MLQ_BIN_DIR/mlq-replay
GEN=$MLQ_SRC_DIR/tests/bench/gen_trace.py
[ -x "$REPLAY" ] || fail "missing $REPLAY (build first)"

gen() { python3 "$GEN" --nodes 20 --tasks 200 --seed 7 --mean-duration 30 "$@"; }
ok gen --nodes-out "$T/n.csv" --tasks-out "$T/t.csv"
ok gen --nodes-out "$T/n2.csv" --tasks-out "$T/t2.csv"
cmp -s "$T/t.csv" "$T/t2.csv" && cmp -s "$T/n.csv" "$T/n2.csv" || fail "the generator is not deterministic"
grep -q ',0\.25,' "$T/t.csv" || fail "no fractional task in the mix"
grep -q ',a100|h100$' "$T/t.csv" || fail "no task with GPU type alternatives"

# ---- strict CSV checks, with the line and column
printf 'name,cpus,mem,gpu,gpu_type\nn1,8,64G,1,a100\n' >"$T/bad_header.csv"
expect_rc 2 "$REPLAY" --trace "$T/t.csv" --nodes "$T/bad_header.csv" --mode fill
assert_contains "$ERR" "bad_header.csv:1: expected the header" "bad header"
{ head -3 "$T/t.csv"; echo 'task-x,99999,10,1,4G,1.5,'; } >"$T/bad_gpus.csv"
expect_rc 2 "$REPLAY" --trace "$T/bad_gpus.csv" --nodes "$T/n.csv" --mode fill
assert_contains "$ERR" "bad_gpus.csv:4: column gpus" "bad gpus column"
{ head -3 "$T/t.csv"; echo 'task-y,0,10,1,4G,1,'; } >"$T/bad_order.csv"
expect_rc 2 "$REPLAY" --trace "$T/bad_order.csv" --nodes "$T/n.csv" --mode fill
assert_contains "$ERR" "bad_order.csv:4: column arrival_s" "arrivals out of order"
{ cat "$T/n.csv"; sed -n 2p "$T/n.csv"; } >"$T/dup_nodes.csv"
expect_rc 2 "$REPLAY" --trace "$T/t.csv" --nodes "$T/dup_nodes.csv" --mode fill
assert_contains "$ERR" "dup_nodes.csv:22: column name: \"node-00000\": also on line 2" "duplicate node"
expect_rc 2 "$REPLAY" --trace "$T/t.csv" --nodes "$T/n.csv" --mode fill --placement tight
expect_rc 2 "$REPLAY" --trace "$T/t.csv" --nodes "$T/n.csv" --mode later

# ---- fill: both policies from one command, consistent lines, one table
ok "$REPLAY" --trace "$T/t.csv" --nodes "$T/n.csv" --mode fill --step 10 --tmpdir "$T" \
    --placement best-fit,pack --seed 3
printf '%s\n' "$OUT" >"$T/fill.out"
[ "$(grep -c '^policy ' "$T/fill.out")" = 1 ] || fail "not one comparison table: $OUT"
# the same trace and seed fill alike: the workers register in node order,
# so placement's ties fall the same way on every run
ok "$REPLAY" --trace "$T/t.csv" --nodes "$T/n.csv" --mode fill --step 10 --tmpdir "$T" \
    --placement best-fit,pack --seed 3
printf '%s\n' "$OUT" >"$T/fill2.out"
diff <(grep '^fill' "$T/fill.out") <(grep '^fill' "$T/fill2.out") >"$T/fill.diff" ||
    fail "two fills of one trace and seed differ: $(cat "$T/fill.diff")"
for p in best-fit pack; do
    grep -q "^fill_end policy=$p " "$T/fill.out" || fail "no fill_end for $p: $OUT"
done
awk '
/^fill(_end|_first_failure)? / {
    n++
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    if (v["allocated_pct"] + 0 > 100 || v["allocated_pct"] + 0 < 0) bad = bad " alloc:" $0
    if (v["demand_pct"] + 0 > 100) bad = bad " demand:" $0
    if ($1 == "fill_end" && v["placed"] + v["failed"] == 0) bad = bad " none:" $0
}
END { if (n < 4 || bad != "") { print "bad fill output" bad; exit 1 } }' "$T/fill.out" ||
    fail "fill output: $OUT"
grep -Eq '^best-fit +([0-9.]+%|\(none\)) +[0-9.]+% ' "$T/fill.out" || fail "no table row: $OUT"
grep -Eq '^pack +([0-9.]+%|\(none\)) +[0-9.]+% ' "$T/fill.out" || fail "no table row: $OUT"

# ---- replay: every task finished or counted as never placed
ok "$REPLAY" --trace "$T/t.csv" --nodes "$T/n.csv" --mode replay --time-scale 100 \
    --timeout 120 --tmpdir "$T"
printf '%s\n' "$OUT" >"$T/replay.out"
awk '
/^replay / { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "allocated_pct" && (kv[2] > 100 || kv[2] < 0)) bad = 1 } lines++ }
/^replay_end / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    ends++
    if (v["tasks"] != 200 || v["finished"] + v["never_placed"] != v["tasks"]) bad = 1
    if (v["mean_allocated_pct"] > 100 || v["wait_p99_s"] < v["wait_p50_s"]) bad = 1
}
END { exit (bad || ends != 2 || lines < 2) }' "$T/replay.out" || fail "replay output: $OUT"
log "trace replay: ok"
