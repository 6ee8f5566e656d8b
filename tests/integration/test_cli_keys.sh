#!/usr/bin/env bash
# The CLI side of keys, on a cluster made by `mlq up` (which makes every key):
#   - the client config names the user's key and the scheduler's public key,
#     the state dir holds every pair (secret ones 0600);
#   - `mlq admin users` lists the user as admin and each worker;
#   - a key made with `mlq keygen` is refused (exit 5, "not authorized")
#     until an admin registers it; then it submits jobs it owns, may not
#     cancel another user's job nor run admin commands (exit 5), and reads
#     only its own jobs' events;
#   - `mlq events` names who did what; `--insecure` against a CURVE scheduler,
#     a config without keys and a wrong scheduler key all fail clearly;
#   - `mlq admin user rm` locks the key out again; `mlq down --kill-jobs`
#     uses the cluster's keys.
IT_DEADLINE=150
. "$(dirname "$0")/lib.sh" "$@"

STATE=$T/state
rm -f "$MLQ_CONFIG" # mlq up writes a config with keys
mlq_up "$STATE" --workers 2 --cpus 1 --mem 512M --gpus 0
ME=$(id -un)
CFG=$(cat "$MLQ_CONFIG")
assert_contains "$CFG" "key = $STATE/keys/users/$ME.key" "client config names the user's key"
assert_contains "$CFG" "scheduler_key = $STATE/keys/server.key.pub" "client config names the scheduler key"
for f in server.key "users/$ME.key" workers/w1.key workers/w2.key; do
    [ -s "$STATE/keys/$f.pub" ] || fail "mlq up made no $f.pub"
    assert_eq 600 "$(stat -c %a "$STATE/keys/$f")" "mode of $f"
done

# --- the registry -------------------------------------------------------------
ok "$MLQ" admin users --json
assert_eq "admin" "$(json "[u['role'] for u in d['users'] if u['name'] == '$ME'][0]" <<<"$OUT")" "role of $ME"
assert_eq '["w1", "w2"]' "$(json "sorted(u['name'] for u in d['users'] if u['role'] == 'worker')" <<<"$OUT")" "workers"
assert_eq "$(cat "$STATE/keys/users/$ME.key.pub")" \
    "$(json "[u['key'] for u in d['users'] if u['name'] == '$ME'][0]" <<<"$OUT")" "registered key"

# --- an unknown key, then registered -------------------------------------------
ok "$MLQ" submit --cpus 0.1 --mem 16M -- sleep 300
MINE=$OUT
ok "$MLQ" keygen --out "$T/bob.key"
assert_eq "$T/bob.key.pub" "$OUT" "keygen prints the .pub path"
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" list --timeout 5s
assert_contains "$ERR" "not authorized by the scheduler" "unknown key"
expect_rc 6 "$MLQ" admin user add bob --key "$T/bob.key" # the secret file
assert_contains "$ERR" "looks like a secret key" "secret key given to admin"
ok "$MLQ" admin user add bob --key "$T/bob.key.pub"
expect_rc 6 "$MLQ" admin user add bob2 --key "$T/bob.key.pub"
assert_contains "$ERR" "already registered to user bob" "one key, one name"

ok env MLQ_KEY="$T/bob.key" "$MLQ" submit --cpus 0.1 --mem 16M -- true
BOBS=$OUT
ok "$MLQ" status "$BOBS" --json
assert_eq bob "$(json "d['owner']" <<<"$OUT")" "owner is the key's name"
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" cancel "$MINE"
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" admin users
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" events
ok env MLQ_KEY="$T/bob.key" "$MLQ" events --job "$BOBS" --json
assert_eq bob "$(json "[e['actor'] for e in d['events'] if e['kind'] == 'submit'][0].split(':')[1]" <<<"$OUT")" "actor of bob's submit"
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" events --job "$MINE"

# --- the audit trail ------------------------------------------------------------
ok "$MLQ" events --json --since 1h
assert_eq "admin:$ME" "$(json "[e['actor'] for e in d['events'] if e['kind'] == 'key_added' and e['detail'] == 'user bob'][0]" <<<"$OUT")" "who added bob"
ok "$MLQ" events --limit 3 --json
assert_eq 3 "$(json "len(d['events'])" <<<"$OUT")" "--limit"
expect_rc 2 "$MLQ" events --since yesterday

# --- misconfigurations ----------------------------------------------------------
expect_rc 1 "$MLQ" --insecure list --timeout 5s
[ -n "$ERR" ] || fail "--insecure against a CURVE scheduler said nothing"
cp "$T/bob.key.pub" "$T/wrong-server.pub"
printf 'scheduler = %s\nscheduler_key = %s\n' "$UP_ADDR" "$T/wrong-server.pub" >"$T/wrong.conf"
run env MLQ_CONFIG="$T/wrong.conf" MLQ_KEY="$STATE/keys/users/$ME.key" "$MLQ" list --timeout 5s
[ "$RC" != 0 ] || fail "a wrong scheduler key was accepted"
printf 'scheduler = %s\n' "$UP_ADDR" >"$T/nokey.conf"
expect_rc 2 env MLQ_CONFIG="$T/nokey.conf" XDG_CONFIG_HOME="$T/none" "$MLQ" list
assert_contains "$ERR" "no client key" "a config without keys"

# --- removal, then down with the cluster's keys -----------------------------------
ok "$MLQ" admin user rm bob
expect_rc 5 env MLQ_KEY="$T/bob.key" "$MLQ" list --timeout 5s
expect_rc 4 "$MLQ" admin user rm bob
rm -f "$MLQ_CONFIG" # down must find the keys in the state dir
ok "$MLQ" down --state-dir "$STATE" --kill-jobs
assert_contains "$ERR" "cancelled 1 job" "down --kill-jobs through CURVE"
