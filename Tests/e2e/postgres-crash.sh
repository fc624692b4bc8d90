#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted strings are eval'd by check/wait_until
# Tests/e2e/postgres-crash.sh: a real PostgreSQL 15 cluster (throwaway,
# initdb'd in a temp dir, loopback/unix socket only). PostgreSQL 15 keeps one
# small SysV shared memory segment (key = the data directory's inode) mapped
# by every one of its processes. Per SPEC.md:
#   - while it runs, that segment is "in-use", held by postgres processes,
#     and clean leaves it alone;
#   - after SIGKILL of every postgres process it is "orphaned" (unscoped and
#     under --exe postgres), clean removes exactly it, and the cluster starts
#     again afterwards.
# Runs inside a private IPC+PID+mount namespace; needs root.
# Usage: [IPCSWEEP=path/to/ipcsweep] Tests/e2e/postgres-crash.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_require_root
e2e_in_private_ns "$0" "$@"
# ---- from here on: inside the private namespace, as its pid 1 ----

e2e_require_cmd "$PG_BIN/postgres" "$PG_BIN/initdb" "$PG_BIN/pg_ctl" "$PG_BIN/psql" runuser python3
getent passwd postgres >/dev/null || die "no postgres user"
if ! command -v "$IPCSWEEP" >/dev/null 2>&1; then
    note "ipcsweep binary not found: $IPCSWEEP (its assertions will fail)"
fi
OUT=$E2E_TMP/out

P=$E2E_TMP/pg
port=$(e2e_free_port)
e2e_on_exit "pg_kill9 '$P'"

shm_before=$(shm_ids)
sem_before=$(sem_ids)
pg_start "$P" "$port" || die "initdb and start PostgreSQL 15"
check "PostgreSQL answers psql (select 1)" pg_ok "$P"
postmaster=$(pg_pid "$P")
segs=$(new_ids "$shm_before" "$(shm_ids)")
note "postmaster $postmaster, processes: $(csv "$(pg_pids "$P")"), new shm: $(csv "$segs"), new sem: $(csv "$(new_ids "$sem_before" "$(sem_ids)")")"
check "PostgreSQL created exactly one SysV shared memory segment" [ "$(count "$segs")" = 1 ]
seg=$(printf '%s\n' "$segs" | head -n1)
[ -n "$seg" ] || die "no segment to test with"
note "segment:"; sed 's/^/#   /' /proc/sysvipc/shm
uid_pg=$(id -u postgres)

# ------------------------------------------------------- while running ----
sweep "$OUT/list-running.json" list --format json --type shm || true
check "list: the running cluster's segment $seg is in-use" \
    json_check verdict "$OUT/list-running.json" --type shm --ids "$seg" --is in-use
check "list: its holders include a process whose command is postgres" \
    json_check holder "$OUT/list-running.json" --type shm --id "$seg" --command-contains postgres
check "list: its holders include the postmaster (pid $postmaster)" \
    json_check holder "$OUT/list-running.json" --type shm --id "$seg" --pid "$postmaster"

sweep "$OUT/orphans-running.json" orphans --format json || true
check "orphans: the running cluster's segment is not orphaned" \
    json_check verdict "$OUT/orphans-running.json" --type shm --ids "$seg" --not orphaned --absent-ok

rc=0
sweep "$OUT/clean-running.json" clean --yes --type shm --format json || rc=$?
check "clean while running exits 0 (exit $rc)" [ "$rc" = 0 ]
check "clean while running removes nothing" json_check clean "$OUT/clean-running.json" --type shm --removed ""
check "the segment still exists" shm_exists "$seg"
check "PostgreSQL still answers psql" pg_ok "$P"

# ------------------------------------------------------------- crash ----
pg_kill9 "$P" || die "SIGKILL PostgreSQL"
check "no postgres process is alive after SIGKILL" [ -z "$(pg_pids "$P")" ]
check "the segment outlives the crash" shm_exists "$seg"
nattch=$(awk -v id="$seg" 'NR > 1 && $2 == id { print $7 }' /proc/sysvipc/shm)
check "its nattch is 0 after the crash (got $nattch)" [ "$nattch" = 0 ]
note "after the crash:"; sed 's/^/#   /' /proc/sysvipc/shm

sweep "$OUT/list-crashed.json" list --format json --type shm || true
check "list (unscoped): the dead cluster's segment is orphaned" \
    json_check verdict "$OUT/list-crashed.json" --type shm --ids "$seg" --is orphaned
sweep "$OUT/list-crashed-exe.json" list --format json --type shm --exe postgres || true
check "list --exe postgres: the dead cluster's segment is orphaned" \
    json_check verdict "$OUT/list-crashed-exe.json" --type shm --ids "$seg" --is orphaned
sweep "$OUT/orphans-crashed.json" orphans --format json --user postgres || true
check "orphans --user postgres: lists the segment as orphaned" \
    json_check verdict "$OUT/orphans-crashed.json" --type shm --ids "$seg" --is orphaned

rc=0
sweep "$OUT/clean-crashed.json" clean --yes --type shm --user postgres --format json || rc=$?
check "clean --yes --type shm --user postgres exits 0 (exit $rc)" [ "$rc" = 0 ]
check "clean reports exactly the segment as removed" \
    json_check clean "$OUT/clean-crashed.json" --type shm --removed "$seg" --dry-run false
check "the segment is gone" eval '! shm_exists "$seg"'

# ------------------------------------------------------------ restart ----
shm_before=$(shm_ids)
if pg_start "$P" "$port"; then
    pass "PostgreSQL starts again after the clean-up"
else
    fail "PostgreSQL starts again after the clean-up"
fi
check "the restarted cluster answers psql" pg_ok "$P"
seg2=$(new_ids "$shm_before" "$(shm_ids)")
sweep "$OUT/list-restarted.json" list --format json --type shm || true
check "list: the restarted cluster's segment ($(csv "$seg2")) is in-use" \
    json_check verdict "$OUT/list-restarted.json" --type shm --ids "$(csv "$seg2")" --is in-use
pg_stop "$P"

note "scenario took $(e2e_elapsed)s (postgres uid $uid_pg)"
e2e_finish
