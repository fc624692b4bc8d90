#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted strings are eval'd by check
# Tests/e2e/postgres-posix-dsm.sh: a real PostgreSQL 15 cluster (throwaway,
# initdb'd in a temp dir, loopback/unix socket only) with POSIX dynamic shared
# memory (dynamic_shared_memory_type = posix, Debian's default): its control
# segment /dev/shm/PostgreSQL.NNNN is mapped by the postmaster and its children.
# Per SPEC.md "POSIX IPC":
#   - while it runs, the segment is "in-use", with postgres processes as holders
#     (mapping relation), and clean leaves it alone;
#   - after SIGKILL of every postgres process it is "orphaned" (unscoped and
#     under --exe postgres), clean --name 'PostgreSQL.*' removes exactly it, and
#     the cluster starts again (and its new segment is in-use).
# Runs inside a private IPC+PID+mount namespace with a private tmpfs on
# /dev/shm (lib.sh); needs root.
# Usage: [IPCSWEEP=path/to/ipcsweep] Tests/e2e/postgres-posix-dsm.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_require_root
e2e_in_private_ns "$0" "$@"
# ---- from here on: inside the private namespace, as its pid 1 ----

e2e_require_cmd "$PG_BIN/postgres" "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/psql" runuser python3
getent passwd postgres >/dev/null || die "no postgres user"
OUT=$E2E_TMP/out
P=$E2E_TMP/pg
port=$(e2e_free_port)
e2e_on_exit "pg_kill9 '$P'"

# The /dev/shm this scenario sees is its own (lib.sh mounted it).
check "/dev/shm is a private tmpfs of this scenario" sh -c '[ -z "$(ls -A /dev/shm)" ]'

# initdb, force POSIX dynamic shared memory, start.
pg_start "$P" "$port" || die "initdb and start PostgreSQL 15"
pg_stop "$P"
echo "dynamic_shared_memory_type = posix" >>"$P/data/postgresql.conf"
pg_start "$P" "$port" || die "start PostgreSQL 15 with dynamic_shared_memory_type = posix"
dsm=$(as_postgres "$PG_BIN/psql" -h "$P/sock" -p "$port" -d postgres -XAtqc 'show dynamic_shared_memory_type')
check "dynamic_shared_memory_type is posix (got $dsm)" [ "$dsm" = posix ]
postmaster=$(pg_pid "$P")
segs=$(cd /dev/shm && ls -d PostgreSQL.* 2>/dev/null || true)
note "postmaster $postmaster, processes: $(csv "$(pg_pids "$P")"), /dev/shm: $(csv "$segs")"
check "PostgreSQL made /dev/shm/PostgreSQL.* segments" [ "$(count "$segs")" -ge 1 ]
[ -n "$segs" ] || die "no PostgreSQL.* segment to test with"

# posix_verdicts FILE VERDICT NAME...: each POSIX shared memory object NAME has VERDICT.
posix_verdicts() {
    python3 - "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
got = {x["name"]: x for x in doc["objects"] if x.get("type") == "posix-shm"}
bad = [(n, got.get(n, {}).get("verdict"), got.get(n, {}).get("reasons")) for n in sys.argv[3:]
       if got.get(n, {}).get("verdict") != sys.argv[2]]
if bad: print("# got", bad); sys.exit(1)
PY
}
# posix_holders FILE PID NAME...: every holder of the NAMEs is a postgres process of uid postgres holding it by a
# mapping, and PID (the postmaster) is among the holders of one of them.
posix_holders() {
    python3 - "$(id -u postgres)" "$@" <<'PY'
import json, sys
uid, doc, pid, names = int(sys.argv[1]), json.load(open(sys.argv[2])), int(sys.argv[3]), sys.argv[4:]
objs = [x for x in doc["objects"] if x.get("type") == "posix-shm" and x["name"] in names]
hs = [h for o in objs for h in o["holders"]]
ok = len(objs) == len(names) and all(o["holders"] for o in objs) \
    and all(h["command"].startswith("postgres") and h["uid"] == uid and h["relation"] in ("mapping", "fd") for h in hs) \
    and any(h["pid"] == pid and h["relation"] == "mapping" and h["mapping"] for h in hs)
if not ok: print("# holders:", [(o["name"], o["holders"]) for o in objs]); sys.exit(1)
PY
}
# removed_exactly FILE NAME...: the clean document removed exactly these POSIX objects.
removed_exactly() {
    python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
got = sorted(x["name"] for x in r if x["outcome"] == "removed")
if got != sorted(sys.argv[2:]): print("# removed:", got, "results:", [(x.get("name"), x["outcome"], x["reason"]) for x in r]); sys.exit(1)
PY
}

# ------------------------------------------------------- while running ----
sweep "$OUT/list-running.json" list --format json --type posix || true
check "list: shape of the document" json_check shape "$OUT/list-running.json"
# shellcheck disable=SC2086
check "list: the running cluster's segments ($(csv "$segs")) are in-use" posix_verdicts "$OUT/list-running.json" in-use $segs
# shellcheck disable=SC2086
check "list: their holders are postgres processes; the postmaster ($postmaster) maps one" \
    posix_holders "$OUT/list-running.json" "$postmaster" $segs
rc=0
sweep "$OUT/clean-running.json" clean --yes --type posix --format json || rc=$?
check "clean while running exits 0 (exit $rc)" [ "$rc" = 0 ]
check "clean while running removes nothing" removed_exactly "$OUT/clean-running.json"
check "the segments still exist" sh -c "cd /dev/shm && ls -d $(echo $segs) >/dev/null"
check "PostgreSQL still answers psql" pg_ok "$P"

# ------------------------------------------------------------- crash ----
pg_kill9 "$P" || die "SIGKILL PostgreSQL"
check "no postgres process is alive after SIGKILL" [ -z "$(pg_pids "$P")" ]
check "the segments outlive the crash" sh -c "cd /dev/shm && ls -d $(echo $segs) >/dev/null"
sweep "$OUT/list-crashed.json" list --format json --type posix || true
# shellcheck disable=SC2086
check "list (unscoped): the dead cluster's segments are orphaned" posix_verdicts "$OUT/list-crashed.json" orphaned $segs
sweep "$OUT/list-crashed-exe.json" list --format json --name 'PostgreSQL.*' --exe postgres || true
# shellcheck disable=SC2086
check "list --exe postgres --name 'PostgreSQL.*': orphaned" posix_verdicts "$OUT/list-crashed-exe.json" orphaned $segs
rc=0
sweep "$OUT/clean-crashed.json" clean --yes --name 'PostgreSQL.*' --user postgres --format json || rc=$?
check "clean --yes --name 'PostgreSQL.*' --user postgres exits 0 (exit $rc)" [ "$rc" = 0 ]
# shellcheck disable=SC2086
check "clean removed exactly the dead cluster's segments" removed_exactly "$OUT/clean-crashed.json" $segs
check "no PostgreSQL.* segment is left" sh -c '! ls /dev/shm/PostgreSQL.* >/dev/null 2>&1'

# ------------------------------------------------------------ restart ----
if pg_start "$P" "$port"; then pass "PostgreSQL starts again after the clean-up"; else fail "PostgreSQL starts again after the clean-up"; fi
check "the restarted cluster answers psql" pg_ok "$P"
segs2=$(cd /dev/shm && ls -d PostgreSQL.* 2>/dev/null || true)
sweep "$OUT/list-restarted.json" list --format json --type posix || true
# shellcheck disable=SC2086
check "list: the restarted cluster's segments ($(csv "$segs2")) are in-use" posix_verdicts "$OUT/list-restarted.json" in-use $segs2
pg_stop "$P"

note "scenario took $(e2e_elapsed)s"
e2e_finish
