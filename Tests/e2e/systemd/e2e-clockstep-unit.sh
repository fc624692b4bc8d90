#!/bin/bash
# e2e-clockstep-unit.sh: a forward step of the wall clock never turns a live holder into an orphan (issue 23),
# under a real systemd booted by sandbox.sh:
#
#   1. e2e-clockstep.service (User=nobody) creates a set; its child operates on it and exits; the service's
#      main process lives on (no direct evidence: the service is the set's possible holder); a uid with no
#      process at all (34) owns a true orphan;
#   2. without a step: the service's set is suspect, the orphan orphaned, no clock-step evidence;
#   3. with a +1 h step for ipcsweep alone (an LD_PRELOAD shim, built here with gcc, that adds 3600 s to
#      CLOCK_REALTIME in clock_gettime, gettimeofday and time): `list` keeps the service's set suspect with
#      clock-step evidence measured by systemd's manager pair (and, with --unit, by the unit's own pair),
#      the true orphan stays orphaned, and `clean --yes` removes the orphan and never the service's set;
#   4. where systemd is not there (a private /run inside the sandbox): ipcsweep's own pair, written at its
#      first run, measures the same step at the next run; its once-per-run note says how far back it reaches.
# Throughout: the host's own IPC objects are compared before and after.
#
# Environment: IPCSWEEP (default <repo>/.build/debug/ipcsweep; the testkit is taken from the same
# directory), E2E_STATE_DIR (default /run/ipcsweep-e2e/clockstep.PID), E2E_WORK_BASE
# (/var/lib/ipcsweep-e2e), E2E_KEEP=1 keeps the work dir. Needs root, Debian's systemd and gcc. Output:
# "ok - ..." / "not ok - ..." lines, "# " diagnostics (the step each source measured), a last line
# "N passed, M failed"; exit status 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
TESTKIT=$(dirname "$IPCSWEEP")/ipcsweep-testkit
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/clockstep.$$}
UNIT=e2e-clockstep.service

work="" booted=0
. "$here/tap.sh"
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$booted" = 1 ]; then
        "$SANDBOX" stop >/dev/null 2>&1 || not_ok "sandbox stop"
        [ -z "$("$SANDBOX" pid 2>/dev/null)" ] || not_ok "sandbox still running after stop"
    fi
    if [ -n "${host_ipc_before+x}" ]; then
        if [ "$(host_ipc_snapshot)" = "$host_ipc_before" ]; then ok "host IPC namespace unchanged"; else
            not_ok "host IPC namespace changed"
        fi
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# work dir kept: $work"; else rm -rf -- "$work"; fi
    fi
    rmdir -- "$E2E_STATE_DIR" 2>/dev/null || true
    rmdir -- /run/ipcsweep-e2e 2>/dev/null || true  # the parent of the default state directory, once no run uses it
    rmdir -- "$WORK_BASE" 2>/dev/null || true
    tap_end "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

sb() { "$SANDBOX" exec "$@"; }

# ---------------------------------------------------------------- preflight
host_ipc_before=$(host_ipc_snapshot)
[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
[ -x /lib/systemd/systemd ] || { not_ok "/lib/systemd/systemd missing"; exit 1; }
command -v gcc >/dev/null || { not_ok "gcc missing (apt-get install gcc)"; exit 1; }
for b in "$IPCSWEEP" "$TESTKIT"; do [ -x "$b" ] || { not_ok "$b is not executable (swift build)"; exit 1; }; done
PY=/usr/bin/python3
[ -x "$PY" ] || { not_ok "python3 missing"; exit 1; }

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/clockstep.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
chmod 755 "$work"
mkdir -p "$work/bin"
# The sandbox replaces /tmp, /var/tmp and /run: run copies from the work dir.
cp -- "$IPCSWEEP" "$work/bin/ipcsweep" && IPCSWEEP=$work/bin/ipcsweep
cp -- "$TESTKIT" "$work/bin/ipcsweep-testkit" && TESTKIT=$work/bin/ipcsweep-testkit

# The step, for ipcsweep alone: CLOCK_REALTIME (and its coarse twin) one hour ahead.
cat > "$work/step.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>
static const time_t step = 3600;
int clock_gettime(clockid_t c, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *);
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int r = real(c, ts);
    if (r == 0 && ts && (c == CLOCK_REALTIME || c == CLOCK_REALTIME_COARSE)) ts->tv_sec += step;
    return r;
}
int gettimeofday(struct timeval *tv, void *tz) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return -1;
    if (tv) { tv->tv_sec = ts.tv_sec; tv->tv_usec = ts.tv_nsec / 1000; }
    (void)tz;
    return 0;
}
time_t time(time_t *t) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t) *t = ts.tv_sec;
    return ts.tv_sec;
}
EOF
gcc -shared -fPIC -O2 -o "$work/step.so" "$work/step.c" -ldl || { not_ok "the clock-step shim builds"; exit 1; }
shifted=$(LD_PRELOAD=$work/step.so date +%s); plain=$(date +%s)
check "the shim moves CLOCK_REALTIME one hour ahead (date: $((shifted - plain)) s)" test $((shifted - plain)) -ge 3599 -a $((shifted - plain)) -le 3601

cat > "$work/bin/service.sh" <<EOF
#!/bin/bash
# The service: creates a set, a child operates on it and exits, the main process lives on.
set -e
id=\$("$TESTKIT" sem-create --key 0xc001)
"$TESTKIT" sem-op --id "\$id" --delta 1
echo "\$id" > "$work/service.id"
exec sleep infinity
EOF
chmod 755 "$work/bin/service.sh"
: > "$work/service.id" && chmod 666 "$work/service.id"   # the service runs as nobody
cat > "$work/$UNIT" <<EOF
[Unit]
Description=ipcsweep e2e: a service whose set has no direct evidence

[Service]
Type=simple
User=nobody
ExecStart=$work/bin/service.sh
EOF

# ---------------------------------------------------------------- run
if ! "$SANDBOX" start >/dev/null; then not_ok "sandbox boots"; exit 1; fi
booted=1
ok "sandbox boots"
"$SANDBOX" unit "$work/$UNIT" >/dev/null
# The unit starts well after the manager's own pair (a unit's pair counts from 0.25 s before its stamp, so a
# unit started within that of the manager's start is measured by the manager's pair, as on a host at boot):
# the --unit check below is about the unit's own pair.
sleep 1
sb systemctl start "$UNIT" || { not_ok "$UNIT starts"; exit 1; }
for _ in $(seq 1 100); do [ -s "$work/service.id" ] && break; sleep 0.05; done
sb "$TESTKIT" sem-create --key 0xc002 --as-uid 34 >/dev/null   # a true orphan: uid 34 has no process
sleep 1.1   # the sets' last activity is a whole second behind every run below

# verdict KEY FILE; evidence KEY KIND FILE (the evidence entries of that kind as JSON lines)
verdict() { "$PY" -c 'import json,sys; print(" ".join(o["verdict"] for o in json.load(open(sys.argv[2]))["objects"] if o["key"] == int(sys.argv[1], 16)))' "$1" "$2"; }
evidence() {
    "$PY" -c '
import json, sys
for o in json.load(open(sys.argv[3]))["objects"]:
    if o["key"] == int(sys.argv[1], 16):
        for e in o["evidence"]:
            if e["kind"] == sys.argv[2]: print(json.dumps(e, sort_keys=True))' "$1" "$2" "$3"
}
not() { ! "$@"; }
step_of() { "$PY" -c 'import json,sys; e=json.loads(sys.argv[1]); print(e["source"], e["stepMs"], e["unit"] or "-")' "$1"; }
exists() { "$PY" -c 'import sys; sys.exit(0 if any(l.split()[0] == str(int(sys.argv[1], 16)) for l in open(sys.argv[2]).readlines()[1:]) else 1)' "$1" "$2"; }

run() {  # run NAME [--shift] ARGS...: ipcsweep inside the sandbox, stdout to NAME.json, stderr to NAME.err
    local name=$1; shift
    local pre=()
    if [ "${1:-}" = --shift ]; then pre=(env LD_PRELOAD="$work/step.so"); shift; fi
    sb "${pre[@]}" "$IPCSWEEP" "$@" --format json > "$work/$name.json" 2> "$work/$name.err"
}

run plain list --all-processes-visible
check "no step: the service's set is suspect" test "$(verdict 0xc001 "$work/plain.json")" = suspect
check "no step: the true orphan is orphaned" test "$(verdict 0xc002 "$work/plain.json")" = orphaned
check "no step: no clock-step evidence" test -z "$(evidence 0xc001 clock-step "$work/plain.json")"
check "no step: no warnings" test ! -s "$work/plain.err"
[ -s "$work/plain.err" ] && diag < "$work/plain.err"

run stepped --shift list --all-processes-visible
check "+1 h: the service's set stays suspect" test "$(verdict 0xc001 "$work/stepped.json")" = suspect
e=$(evidence 0xc001 clock-step "$work/stepped.json")
echo "manager pair: $e" | diag
read -r source ms _ <<< "$(step_of "${e:-{\}}" 2>/dev/null || echo "- 0 -")"
check "+1 h: clock-step evidence from systemd's manager pair ($source, $ms ms)" \
    test "$source" = systemd-manager -a "${ms:-0}" -ge 3599000 -a "${ms:-0}" -le 3601000
check "+1 h: the holder is marked as counted through the step" \
    test -n "$(evidence 0xc001 possible-holder "$work/stepped.json" | grep '"clockStep": true')"
check "+1 h: the true orphan is still orphaned" test "$(verdict 0xc002 "$work/stepped.json")" = orphaned
check "+1 h: no note (systemd's pair was taken before every last activity)" test ! -s "$work/stepped.err"
[ -s "$work/stepped.err" ] && diag < "$work/stepped.err"

run unit --shift list --all-processes-visible --unit "$UNIT"
e=$(evidence 0xc001 clock-step "$work/unit.json")
echo "unit pair: $e" | diag
read -r source ms unit <<< "$(step_of "${e:-{\}}" 2>/dev/null || echo "- 0 -")"
check "+1 h, --unit: suspect, the step measured by the unit's own pair ($source $unit, $ms ms)" \
    test "$(verdict 0xc001 "$work/unit.json")" = suspect -a "$source" = systemd-unit -a "$unit" = "$UNIT" \
    -a "${ms:-0}" -ge 3599000 -a "${ms:-0}" -le 3601000

run clean --shift clean --all-processes-visible --yes
sb cat /proc/sysvipc/sem > "$work/after-clean"
check "+1 h: clean --yes never removes the live service's set" exists 0xc001 "$work/after-clean"
check "+1 h: clean --yes removes the true orphan" not exists 0xc002 "$work/after-clean"
[ -s "$work/clean.err" ] && diag < "$work/clean.err"

# Without systemd: a private /run (no /run/systemd/system, no kept pair) inside the sandbox.
sb "$TESTKIT" sem-create --key 0xc003 --as-uid 34 >/dev/null
sleep 1.1
sb unshare --mount --propagation private bash -c '
    mount -t tmpfs -o mode=755 tmpfs /run || exit 1
    "$1" list --all-processes-visible --format json > "$2/own-first.json" 2> "$2/own-first.err"
    LD_PRELOAD="$2/step.so" "$1" list --all-processes-visible --format json > "$2/own.json" 2> "$2/own.err"
    LD_PRELOAD="$2/step.so" "$1" clean --all-processes-visible --yes --format json > "$2/own-clean.json" 2> "$2/own-clean.err"
    cat /run/ipcsweep.clock > "$2/own-pair"' _ "$IPCSWEEP" "$work"
cat "$work/own-pair" 2>/dev/null | diag
check "no systemd: the first run keeps its own pair in /run" grep -q '^source ipcsweep$' "$work/own-pair"
check "no systemd, first run: its note says the pair reaches back only to now" \
    grep -q "steps of the wall clock are measured only since .*ipcsweep's clock pair in /run/ipcsweep.clock" "$work/own-first.err"
e=$(evidence 0xc001 clock-step "$work/own.json")
echo "own pair: $e" | diag
read -r source ms _ <<< "$(step_of "${e:-{\}}" 2>/dev/null || echo "- 0 -")"
check "no systemd, +1 h: the service's set stays suspect, the step measured by ipcsweep's own pair ($source, $ms ms)" \
    test "$(verdict 0xc001 "$work/own.json")" = suspect -a "$source" = ipcsweep-pair -a "${ms:-0}" -ge 3599000 -a "${ms:-0}" -le 3601000
check "no systemd, +1 h: the true orphan is still orphaned" test "$(verdict 0xc003 "$work/own.json")" = orphaned
check "no systemd, +1 h: the note says how far back the pair reaches (the orphan is older than it)" \
    grep -q "measured only since .*: 1 orphaned object was last active before then" "$work/own.err"
sb cat /proc/sysvipc/sem > "$work/after-own-clean"
check "no systemd, +1 h: clean keeps the service's set" exists 0xc001 "$work/after-own-clean"
check "no systemd, +1 h: clean removes the orphan" not exists 0xc003 "$work/after-own-clean"
check "the service is still running" test "$(sb systemctl is-active "$UNIT")" = active
sb systemctl stop "$UNIT"
exit 0
