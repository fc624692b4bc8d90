#!/bin/bash
# e2e-postgres-unit.sh: a throwaway PostgreSQL 15 cluster with POSIX dynamic
# shared memory (dynamic_shared_memory_type = posix) as the systemd unit
# postgresql@15-main.service inside a sandbox booted by sandbox.sh (its own
# IPC namespace, /dev/shm and mqueue), checking SPEC.md "POSIX IPC":
#   1. while it runs, every /dev/shm/PostgreSQL.* segment is in-use, held by
#      postgres processes whose unit is postgresql@15-main.service, and
#      `clean --unit` leaves them alone;
#   2. after "systemctl kill -s KILL" of the unit they are orphaned (unscoped
#      and under --unit), and clean removes exactly them;
#   3. the unit starts again and its new segments are in-use.
# The cluster lives in a work dir under E2E_WORK_BASE (default
# /var/lib/ipcsweep-e2e); the host's own IPC objects and /dev/shm are never
# touched (checked before and after).
#
# Environment: IPCSWEEP (default <repo>/.build/debug/ipcsweep), E2E_STATE_DIR,
# E2E_WORK_BASE, E2E_KEEP=1 (keep the work dir). Needs root, Debian's systemd
# and postgresql-15. Output: "ok"/"not ok" lines, "# " diagnostics, last line
# "N passed, M failed"; exit 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/postgres-unit.$$}
UNIT=postgresql@15-main.service

passed=0 failed=0 work="" booted=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
diag() { sed 's/^/# /'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
host_state() {
    for f in sem shm msg; do awk -v t="$f" 'NR > 1 { print t, $1, $2, $5 }' "/proc/sysvipc/$f"; done | sort
    ls -A /dev/shm
}

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$booted" = 1 ]; then
        "$SANDBOX" stop >/dev/null || not_ok "sandbox stop"
        if [ -n "$("$SANDBOX" pid 2>/dev/null)" ]; then not_ok "sandbox still running after stop"; fi
    fi
    if [ -n "${host_before+x}" ]; then
        if [ "$(host_state)" = "$host_before" ]; then ok "host IPC namespace and /dev/shm unchanged"; else
            not_ok "host IPC namespace and /dev/shm unchanged"; fi
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# work dir kept: $work"; else rm -rf -- "$work"; fi
    fi
    rmdir -- "$E2E_STATE_DIR" 2>/dev/null || true
    rmdir -- /run/ipcsweep-e2e 2>/dev/null || true  # the parent of the default state directory, once no run uses it
    rmdir -- "$WORK_BASE" 2>/dev/null || true
    [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && not_ok "harness aborted (status $rc)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}
trap finish EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
for b in /lib/systemd/systemd "$PG_BIN/postgres" "$PG_BIN/initdb" "$PG_BIN/psql"; do
    [ -x "$b" ] || { not_ok "$b missing (apt-get install -y postgresql-15 systemd)"; exit 1; }
done
[ -x "$IPCSWEEP" ] || { not_ok "IPCSWEEP=$IPCSWEEP is not executable"; exit 1; }
id postgres >/dev/null 2>&1 || { not_ok "user postgres missing"; exit 1; }
host_before=$(host_state)

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/postgres-unit.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
chmod 755 "$work"
mkdir -p "$work/bin" "$work/sock" "$work/out"
cp -- "$IPCSWEEP" "$work/bin/ipcsweep" && IPCSWEEP=$work/bin/ipcsweep
mkdir -p "$work/data" && chmod 700 "$work/data"
chown postgres: "$work/sock" "$work/data"
if ! runuser -u postgres -- "$PG_BIN/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 --no-sync >"$work/initdb.log" 2>&1; then
    not_ok "initdb"; tail -20 "$work/initdb.log" | diag; exit 1
fi
cat >> "$work/data/postgresql.conf" <<EOF
dynamic_shared_memory_type = posix
listen_addresses = ''
unix_socket_directories = '$work/sock'
fsync = off
EOF
cat > "$work/$UNIT" <<EOF
[Unit]
Description=ipcsweep e2e: PostgreSQL 15 cluster with POSIX dynamic shared memory
StartLimitIntervalSec=0

[Service]
Type=notify
User=postgres
ExecStart=$PG_BIN/postgres -D $work/data
KillMode=mixed
KillSignal=SIGINT
TimeoutSec=30
EOF

sb() { "$SANDBOX" exec "$@"; }
sctl() { "$SANDBOX" exec systemctl "$@"; }
psql_ok() { [ "$(sb runuser -u postgres -- "$PG_BIN/psql" -h "$work/sock" -d postgres -XAtqc 'select 1' 2>/dev/null)" = 1 ]; }
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done; return 1; }
segments() { sb sh -c 'cd /dev/shm && ls -d PostgreSQL.* 2>/dev/null' | sort; }
stopped() { case "$(sctl show -p ActiveState --value "$UNIT")" in inactive|failed) return 0 ;; esac; return 1; }
# The sandbox is a child pid namespace whose IPC namespace no other pid namespace joins: say so.
sweep() { local out=$1 sub=$2; shift 2; sb "$IPCSWEEP" "$sub" --all-processes-visible "$@" >"$out" 2>"$out.err"; }
# verdicts FILE VERDICT [UNIT]: every PostgreSQL.* object has VERDICT (and, for in-use, only holders of UNIT).
verdicts() {
    python3 - "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
objs = [o for o in doc["objects"] if o.get("type") == "posix-shm" and o["name"].startswith("PostgreSQL.")]
bad = [(o["name"], o["verdict"], o["reasons"][:2]) for o in objs if o["verdict"] != sys.argv[2]]
if len(sys.argv) > 3:
    bad += [(o["name"], h) for o in objs for h in o["holders"]
            if h["unit"] != sys.argv[3] or not h["command"].startswith("postgres") or h["relation"] not in ("fd", "mapping")]
    bad += [(o["name"], "no holders") for o in objs if not o["holders"]]
if not objs or bad: print("# objects:", len(objs), "problems:", bad[:5]); sys.exit(1)
PY
}
removed() {   # removed FILE NAME...: clean removed exactly these
    python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
got = sorted(x["name"] for x in r if x["outcome"] == "removed")
if got != sorted(sys.argv[2:]): print("# removed:", got, [(x.get("name"), x["outcome"], x["reason"]) for x in r][:5]); sys.exit(1)
PY
}

if ! spid=$("$SANDBOX" start); then not_ok "sandbox boots"; exit 1; fi
booted=1
ok "sandbox boots (systemd host pid $spid)"
"$SANDBOX" unit "$work/$UNIT" || { not_ok "install $UNIT"; exit 1; }

# ------------------------------------------------------------ running ----
if sctl start "$UNIT" && wait_for 150 psql_ok; then ok "$UNIT starts and answers psql"; else
    not_ok "$UNIT starts and answers psql"; sb journalctl -u "$UNIT" --no-pager -n 30 | diag; exit 1; fi
segs=$(segments)
check "the cluster made /dev/shm/PostgreSQL.* segments in the sandbox ($(echo $segs))" [ -n "$segs" ]
sweep "$work/out/running.json" list --format json --type posix
check "list: every PostgreSQL.* segment is in-use, held only by postgres processes of $UNIT" \
    verdicts "$work/out/running.json" in-use "$UNIT"
sweep "$work/out/clean-running.json" clean --yes --unit "$UNIT" --name 'PostgreSQL.*' --format json
check "clean --unit $UNIT while running removes nothing" removed "$work/out/clean-running.json"
check "the segments are still there" [ "$(segments)" = "$segs" ]

# -------------------------------------------------------------- crash ----
sctl kill -s KILL "$UNIT"
check "the unit stops after SIGKILL" wait_for 200 stopped
check "the segments outlive the crash" [ "$(segments)" = "$segs" ]
sweep "$work/out/crashed.json" list --format json --type posix
check "list (unscoped): the dead cluster's segments are orphaned" verdicts "$work/out/crashed.json" orphaned
sweep "$work/out/crashed-unit.json" list --format json --type posix --unit "$UNIT"
check "list --unit $UNIT: orphaned" verdicts "$work/out/crashed-unit.json" orphaned
sweep "$work/out/clean.json" clean --yes --unit "$UNIT" --name 'PostgreSQL.*' --format json
# shellcheck disable=SC2086
check "clean --unit $UNIT --name 'PostgreSQL.*' removes exactly them" removed "$work/out/clean.json" $segs
check "no PostgreSQL.* segment is left" [ -z "$(segments)" ]

# ------------------------------------------------------------ restart ----
sctl reset-failed "$UNIT" 2>/dev/null
if sctl start "$UNIT" && wait_for 150 psql_ok; then ok "$UNIT starts again"; else not_ok "$UNIT starts again"; fi
sweep "$work/out/restarted.json" list --format json --type posix
check "list: the restarted cluster's segments ($(echo $(segments))) are in-use, held by $UNIT" \
    verdicts "$work/out/restarted.json" in-use "$UNIT"
sctl stop "$UNIT"
exit 0
