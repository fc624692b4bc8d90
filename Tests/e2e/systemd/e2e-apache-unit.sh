#!/bin/bash
# e2e-apache-unit.sh: Apache (prefork, "Mutex sysvsem default", two Listen
# lines) as a systemd service inside a sandbox booted by sandbox.sh, with
#
#   ExecStopPost=$IPCSWEEP clean --unit %n --user www-data --yes --quiet
#
# Phases:
#   1. E2E_CYCLES (5) times: start, HTTP on both ports, record the semaphore
#      sets, "systemctl kill -s KILL", wait for the unit to stop, check that
#      ExecStopPost ran (this cycle) and exited 0, and that no set is left.
#   2. Restart=on-failure: start, then E2E_RESTART_CYCLES (3) times SIGKILL
#      and wait for systemd's automatic restart; the dead instance's sets must
#      be gone, the new instance's sets present, the count must not grow, and
#      HTTP must answer on both ports.
#   3. A clean "systemctl stop": ExecStopPost has nothing to do and exits 0.
#   4. Crash and restart 1.5 s later (no ExecStopPost clean): "ipcsweep list
#      --unit" calls the dead instance's sets orphaned (the unit's new
#      invocation, from systemd's InactiveExitTimestamp over sd-bus, began
#      after their last activity, so the new processes cannot have inherited
#      them) and the running instance's sets never; clean removes exactly the
#      former and Apache keeps answering.
#   5. The same with Restart=on-failure, RestartSec=1500ms (systemd restarts it).
#   6. Control: the same unit without the ipcsweep ExecStopPost leaks sets on
#      SIGKILL (proves the counting can see a leak). They die with the
#      sandbox's IPC namespace.
# Throughout: the host's own IPC objects are compared before and after.
#
# Environment:
#   IPCSWEEP            absolute path of the binary under test
#                       (default: <repo>/.build/debug/ipcsweep). To prove the
#                       harness without it: IPCSWEEP=$PWD/Tests/e2e/systemd/fake-ipcsweep.sh
#   E2E_CYCLES          kill cycles in phase 1 (default 5)
#   E2E_RESTART_CYCLES  kill/auto-restart cycles in phase 2 (default 3; 0 skips)
#   E2E_PORT1/2         Apache's ports on 127.0.0.1 (default 18081/18082); the
#                       sandbox has its own network namespace unless
#                       E2E_SANDBOX_NETNS=0, so they only need to be free there
#   E2E_STATE_DIR       sandbox state (default /run/ipcsweep-e2e/apache-unit.PID)
#   E2E_WORK_BASE       parent of the work dir holding Apache's config, docroot,
#                       logs and pid file; must not be under /tmp, /var/tmp or
#                       /run, which the sandbox replaces (default /var/lib/ipcsweep-e2e)
#   E2E_KEEP=1          keep the work dir (the sandbox is always stopped)
#
# Needs root, Debian's systemd, apache2 and curl. Output is TAP-like: "ok - ..."
# and "not ok - ..." lines, diagnostics prefixed "# ", and a last line
# "N passed, M failed". Exit status 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
PROBE=$here/stoppost-probe.sh

IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
CYCLES=${E2E_CYCLES:-5}
RESTART_CYCLES=${E2E_RESTART_CYCLES:-3}
PORT1=${E2E_PORT1:-18081}
PORT2=${E2E_PORT2:-18082}
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/apache-unit.$$}
UNIT=e2e-apache.service
RUN_USER=www-data

. "$here/tap.sh"
work="" booted=0
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$booted" = 1 ]; then
        local t0; t0=$(now_ms)
        if "$SANDBOX" stop; then
            echo "# sandbox stopped in $(( $(now_ms) - t0 )) ms"
        else
            not_ok "sandbox stop"
        fi
        if [ -n "$("$SANDBOX" pid 2>/dev/null)" ]; then not_ok "sandbox still running after stop"; fi
    fi
    if [ -n "${host_ipc_before+x}" ]; then
        if [ "$(host_ipc_snapshot)" = "$host_ipc_before" ]; then
            ok "host IPC namespace unchanged"
        else
            not_ok "host IPC namespace changed"
            { echo "before:"; echo "$host_ipc_before"; echo "after:"; host_ipc_snapshot; } | diag
        fi
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ "${E2E_KEEP:-0}" = 1 ]; then
            echo "# work dir kept: $work"
        else
            rm -rf -- "$work"
        fi
    fi
    rmdir -- "$E2E_STATE_DIR" 2>/dev/null || true
    rmdir -- /run/ipcsweep-e2e 2>/dev/null || true  # the parent of the default state directory, once no run uses it
    rmdir -- "$WORK_BASE" 2>/dev/null || true
    tap_end "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

sb() { "$SANDBOX" exec "$@"; }
sctl() { "$SANDBOX" exec systemctl "$@"; }
prop() { sctl show -p "$1" --value "$UNIT" 2>/dev/null; }

# "semid:owner_uid" of every semaphore set in the sandbox's IPC namespace
sandbox_sems() { sb cat /proc/sysvipc/sem | awk 'NR > 1 { print $2 ":" $5 }' | sort -n; }
count() { if [ -z "$1" ]; then echo 0; else printf '%s\n' "$1" | wc -l; fi; }
ids() { printf '%s\n' "$1" | cut -d: -f1 | tr '\n' ' ' | sed 's/ $//'; }
# the sets of $1 that are still in $2
survivors() {
    local a
    [ -n "$1" ] || return 0
    for a in $1; do printf '%s\n' "$2" | grep -qx -- "$a" && echo "$a"; done
    return 0
}

http_ok() {   # http_ok PORT: the page answers with our token
    sb curl -fsS -m 3 "http://127.0.0.1:$1/index.html" 2>/dev/null | grep -q "ipcsweep-e2e $token"
}
wait_http() {   # wait_http SECONDS: both ports answer
    local deadline=$(( $(now_ms) + $1 * 1000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        http_ok "$PORT1" && http_ok "$PORT2" && return 0
        sleep 0.1
    done
    return 1
}
wait_stopped() {   # wait_stopped SECONDS: unit inactive or failed
    local deadline=$(( $(now_ms) + $1 * 1000 )) st
    while [ "$(now_ms)" -lt "$deadline" ]; do
        st=$(prop ActiveState)
        case "$st" in inactive|failed) return 0 ;; esac
        sleep 0.05
    done
    return 1
}
wait_sems() {   # wait_sems SECONDS: at least one set exists
    local deadline=$(( $(now_ms) + $1 * 1000 ))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        [ -n "$(sandbox_sems)" ] && return 0
        sleep 0.05
    done
    return 1
}

# The ExecStopPost= entry of the binary under test, as systemctl shows it:
# "{ path=... ; argv[]=... ; ... ; pid=N ; code=exited ; status=0 }"
stoppost_entry() {
    sctl show -p ExecStopPost "$UNIT" | grep -F "path=$IPCSWEEP ;" | tail -1
}
entry_field() { printf '%s\n' "$1" | sed -n "s/.* $2=\([^ ;]*\).*/\1/p"; }

dump_unit_diag() {
    echo "# --- systemctl status"; sctl status --no-pager -l "$UNIT" 2>&1 | diag
    echo "# --- journal"; sb journalctl -u "$UNIT" --no-pager -n 40 2>&1 | diag
    [ -f "$work/log/error.log" ] && { echo "# --- apache error.log"; tail -20 "$work/log/error.log" | diag; }
    return 0
}

write_unit() {   # write_unit MODE: kill | restart | control | autorestart
    local mode=$1 restart=no stoppost restart_sec=200ms
    [ "$mode" = restart ] && restart=on-failure
    [ "$mode" = autorestart ] && restart=on-failure && restart_sec=1500ms
    stoppost="ExecStopPost=\"$IPCSWEEP\" clean --all-processes-visible --unit %n --user $RUN_USER --yes --quiet"
    case "$mode" in control|autorestart) stoppost="# $mode: no ipcsweep" ;; esac
    cat > "$work/$UNIT" <<EOF
[Unit]
Description=ipcsweep e2e: Apache prefork with a sysvsem mutex ($mode)
StartLimitIntervalSec=0

[Service]
Type=simple
Environment=E2E_HOST_IPC_NS=$host_ipc_ns
Environment=E2E_UNIT=%n
ExecStart=/usr/sbin/apache2 -f "$work/httpd.conf" -DFOREGROUND
ExecStopPost=-"$PROBE" "$work/stoppost.log" before
$stoppost
ExecStopPost=-"$PROBE" "$work/stoppost.log" after
KillMode=mixed
TimeoutStopSec=10s
Restart=$restart
RestartSec=$restart_sec
EOF
    "$SANDBOX" unit "$work/$UNIT" && sctl reset-failed "$UNIT" 2>/dev/null
    return 0
}

# Marker blocks written by stoppost-probe.sh: "before" runs just ahead of
# ipcsweep, "after" right behind it, and systemd runs "after" only if
# ipcsweep exited 0.
markers() { awk -v t="$1" '$1 == "---" && $2 == "stoppost" && $3 == t { n++ } END { print n + 0 }' "$work/stoppost.log" 2>/dev/null || echo 0; }
last_block() {   # last_block TAG: the probe's last block of that tag
    awk -v t="$1" '$1 == "---" && $2 == "stoppost" { keep = ($3 == t); if (keep) block = "" } keep { block = block $0 "\n" } END { printf "%s", block }' "$work/stoppost.log" 2>/dev/null
}

# After a stop: did our ExecStopPost run (once more than before), and exit 0?
check_stoppost() {   # check_stoppost LABEL
    local label=$1 entry code status pid b a block cg
    b=$(markers before); a=$(markers after)
    entry=$(stoppost_entry)
    code=$(entry_field "$entry" code); status=$(entry_field "$entry" status); pid=$(entry_field "$entry" pid)
    if [ "$b" -ne $((seen_before + 1)) ]; then
        not_ok "$label: ExecStopPost ran once (probe ran $((b - seen_before)) times)"; dump_unit_diag
    elif [ "$a" -ne $((seen_after + 1)) ]; then
        not_ok "$label: ExecStopPost ipcsweep exited 0 (it failed: the rest of ExecStopPost= was skipped; systemctl show: code=$code status=$status)"
        printf '%s\n' "$entry" | diag; dump_unit_diag
    elif [ -n "$pid" ] && [ "$pid" != 0 ] && { [ "$code" != exited ] || [ "$status" != 0 ]; }; then
        not_ok "$label: ExecStopPost ipcsweep exited 0 (systemctl show: code=$code status=$status)"
        printf '%s\n' "$entry" | diag; dump_unit_diag
    elif [ -n "$pid" ] && [ "$pid" != 0 ]; then
        ok "$label: ExecStopPost ipcsweep ran and exited 0 (pid $pid, code=$code status=$status)"
    else
        ok "$label: ExecStopPost ipcsweep ran and exited 0 (the commands after it ran; systemctl show has no status after a restart or unload)"
    fi
    seen_before=$b; seen_after=$a
    block=$(last_block before)
    cg=$(printf '%s\n' "$block" | sed -n 's/^cgroup: 0:://p')
    case "$cg" in
    */"$UNIT") ok "$label: ExecStopPost ran in the unit's cgroup ($cg)" ;;
    *) not_ok "$label: ExecStopPost ran in the unit's cgroup (0:: path '$cg')" ;;
    esac
    if printf '%s\n' "$block" | grep -q '^apache2-left:'; then
        not_ok "$label: no apache2 process left (not even a zombie) when ExecStopPost ran"
        printf '%s\n' "$block" | grep '^apache2-left:' | diag
    else
        ok "$label: no apache2 process left (not even a zombie) when ExecStopPost ran"
    fi
}

wait_restarted() {   # wait_restarted OLD_PID: the unit is active with another main pid (20 s at most)
    local deadline=$(( $(now_ms) + 20000 )) p st
    while [ "$(now_ms)" -lt "$deadline" ]; do
        p=$(prop MainPID); st=$(prop ActiveState)
        if [ "$st" = active ] && [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$1" ]; then return 0; fi
        sleep 0.05
    done
    return 1
}
# ids_not_in IDS: the sandbox's set ids that are not among IDS
ids_not_in() {
    local i
    for i in $(ids "$(sandbox_sems)"); do case " $1 " in *" $i "*) ;; *) printf '%s ' "$i" ;; esac; done | sed 's/ $//'
}

# verdict_check LABEL FILE OLD NEW: in an ipcsweep list JSON document, every set
# of OLD (ids) is orphaned with the unit-invocation rule among its evidence,
# and no set of NEW is orphaned.
verdict_check() {
    local label=$1 file=$2 old=$3 new=$4 out
    if out=$(python3 - "$file" "$old" "$new" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
old = {int(x) for x in sys.argv[2].split()}
new = {int(x) for x in sys.argv[3].split()}
sems = {o["id"]: o for o in doc["objects"] if o["type"] == "sem"}
bad = []
for i in sorted(old):
    o = sems.get(i)
    if o is None or o["verdict"] != "orphaned":
        bad.append("dead instance's set %d: %s %s" % (i, o and o["verdict"], o and o["reasons"]))
    elif not any(e["kind"] == "inheritance-ruled-out" for e in o["evidence"]):
        bad.append("dead instance's set %d: no inheritance-ruled-out evidence: %s" % (i, o["reasons"]))
for i in sorted(new):
    o = sems.get(i)
    if o is None or o["verdict"] == "orphaned":
        bad.append("running instance's set %d: %s %s" % (i, o and o["verdict"], o and o["reasons"]))
print("\n".join(bad) if bad else "; ".join("%d %s" % (i, sems[i]["verdict"]) for i in sorted(old | new)))
sys.exit(1 if bad else 0)
PY
    ); then
        ok "$label: dead instance's sets ($old) orphaned by the unit-invocation rule, running instance's ($new) not ($out)"
    else
        not_ok "$label: dead instance's sets orphaned under --unit, running instance's never"; printf '%s\n' "$out" | diag
    fi
}

# clean_check LABEL FILE OLD: a clean JSON report removed exactly OLD.
clean_check() {
    local label=$1 file=$2 old=$3 out
    if out=$(python3 - "$file" "$old" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
removed = sorted(r["id"] for r in doc["results"] if r["type"] == "sem" and r["outcome"] == "removed")
want = sorted(int(x) for x in sys.argv[2].split())
print("removed %s, want %s" % (removed, want))
sys.exit(0 if removed == want else 1)
PY
    ); then ok "$label: clean --unit removed exactly the dead instance's sets ($out)"
    else not_ok "$label: clean --unit removed exactly the dead instance's sets ($out)"; fi
}

# ---------------------------------------------------------------- preflight
host_ipc_before=$(host_ipc_snapshot)
host_ipc_ns=$(readlink /proc/self/ns/ipc | tr -dc 0-9)
[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
for b in /lib/systemd/systemd /usr/sbin/apache2 /usr/lib/apache2/modules/mod_mpm_prefork.so; do
    [ -x "$b" ] || [ -f "$b" ] || { not_ok "$b missing (apt-get install -y apache2 curl systemd)"; exit 1; }
done
command -v curl >/dev/null || { not_ok "curl missing (apt-get install -y curl)"; exit 1; }
id "$RUN_USER" >/dev/null 2>&1 || { not_ok "user $RUN_USER missing"; exit 1; }
if [ ! -x "$IPCSWEEP" ]; then
    not_ok "IPCSWEEP=$IPCSWEEP is not executable (swift build, or set IPCSWEEP)"
    exit 1
fi
echo "# IPCSWEEP=$IPCSWEEP"
if [ "${E2E_SANDBOX_NETNS:-1}" = 0 ]; then
    for port in "$PORT1" "$PORT2"; do
        if ss -Htln "sport = :$port" 2>/dev/null | grep -q .; then
            not_ok "port $port is free on the host (the sandbox shares its network: E2E_SANDBOX_NETNS=0)"; exit 1
        fi
    done
fi

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/apache-unit.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
case "$(realpath "$work")" in
/tmp/*|/var/tmp/*|/run/*|/dev/shm/*) not_ok "work dir $work is on a path the sandbox replaces"; exit 1 ;;
esac
chmod 755 "$work"
mkdir -p "$work/htdocs" "$work/log" "$work/run" "$work/bin"
# The sandbox replaces /tmp, /var/tmp and /run: a binary or probe under them (a
# clone in /tmp, as CI may make) would be invisible to the units. Run copies of
# those; an installed binary (/usr/bin/ipcsweep) runs from where it is, as the
# README's ExecStopPost= recipe has it.
case "$IPCSWEEP" in
/tmp/*|/var/tmp/*|/run/*|/dev/shm/*|"$repo"/*)
    cp -- "$IPCSWEEP" "$work/bin/$(basename "$IPCSWEEP")" && IPCSWEEP=$work/bin/$(basename "$IPCSWEEP")
    echo "# running a copy of the binary: $IPCSWEEP" ;;
*) echo "# running the binary in place: $IPCSWEEP" ;;
esac
cp -- "$PROBE" "$work/bin/stoppost-probe.sh" && PROBE=$work/bin/stoppost-probe.sh
token=$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
echo "ipcsweep-e2e $token" > "$work/htdocs/index.html"
chmod 755 "$work/htdocs"; chmod 644 "$work/htdocs/index.html"
cat > "$work/httpd.conf" <<EOF
# Apache for the ipcsweep systemd e2e test: prefork, System V semaphore
# mutexes, two listeners (so prefork needs its accept mutex)
ServerRoot "/etc/apache2"
ServerName 127.0.0.1
DefaultRuntimeDir "$work/run"
PidFile "$work/run/apache2.pid"
ErrorLog "$work/log/error.log"
LogLevel info
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
User $RUN_USER
Group $RUN_USER
Listen 127.0.0.1:$PORT1
Listen 127.0.0.1:$PORT2
Mutex sysvsem default
StartServers 2
MinSpareServers 1
MaxSpareServers 3
MaxRequestWorkers 8
DocumentRoot "$work/htdocs"
<Directory "$work/htdocs">
    Require all granted
</Directory>
EOF
if ! out=$(/usr/sbin/apache2 -t -f "$work/httpd.conf" 2>&1); then
    not_ok "apache2 -t accepts the config"; printf '%s\n' "$out" | diag; exit 1
fi

# ---------------------------------------------------------------- boot
t0=$(now_ms)
if ! spid=$("$SANDBOX" start); then not_ok "sandbox boots"; exit 1; fi
booted=1
boot_ms=$(( $(now_ms) - t0 ))
ok "sandbox boots (systemd host pid $spid, ${boot_ms} ms)"
sb_ipc_ns=$(readlink "/proc/$spid/ns/ipc" | tr -dc 0-9)
if [ -n "$sb_ipc_ns" ] && [ "$sb_ipc_ns" != "$host_ipc_ns" ]; then
    ok "sandbox has its own IPC namespace ($sb_ipc_ns, host $host_ipc_ns)"
else
    not_ok "sandbox has its own IPC namespace"; exit 1
fi
if [ -n "$(sandbox_sems)" ]; then not_ok "sandbox starts with no semaphore sets"; sandbox_sems | diag; fi

seen_before=0 seen_after=0
first_count=""
www_uid=$(id -u "$RUN_USER")

# ---------------------------------------------------------------- phase 1
write_unit kill
for ((i = 1; i <= CYCLES; i++)); do
    c0=$(now_ms)
    if ! sctl start "$UNIT"; then not_ok "cycle $i: systemctl start"; dump_unit_diag; continue; fi
    if wait_http 15; then
        ok "cycle $i: HTTP answers on $PORT1 and $PORT2 ($(( $(now_ms) - c0 )) ms after start)"
    else
        not_ok "cycle $i: HTTP answers on $PORT1 and $PORT2"; dump_unit_diag
    fi
    wait_sems 5
    sems=$(sandbox_sems)
    n=$(count "$sems")
    owners=$(printf '%s\n' "$sems" | cut -d: -f2 | sort -u | tr '\n' ' ')
    if [ "$n" -ge 1 ] && [ "$owners" = "$www_uid " ]; then
        ok "cycle $i: Apache holds $n sem set(s) owned by $RUN_USER (ids $(ids "$sems"))"
    else
        not_ok "cycle $i: Apache holds sem sets owned by $RUN_USER (found: $(ids "$sems"), owners: $owners)"
    fi
    [ -z "$first_count" ] && first_count=$n
    main_pid=$(prop MainPID)

    k0=$(now_ms)
    if ! sctl kill -s KILL "$UNIT"; then not_ok "cycle $i: systemctl kill -s KILL"; fi
    if wait_stopped 20; then
        ok "cycle $i: unit stopped after SIGKILL ($(prop ActiveState)/$(prop Result), $(( $(now_ms) - k0 )) ms)"
    else
        not_ok "cycle $i: unit stopped after SIGKILL (state $(prop ActiveState))"; dump_unit_diag
    fi
    check_stoppost "cycle $i"
    left=$(sandbox_sems)
    if [ -z "$left" ]; then
        ok "cycle $i: no sem set left after the stop (had $n)"
    else
        not_ok "cycle $i: no sem set left after the stop: $(count "$left") left (ids $(ids "$left"); of the dead instance: $(ids "$(survivors "$sems" "$left")"))"
    fi
    echo "# cycle $i: main pid $main_pid, $(( $(now_ms) - c0 )) ms in all"
    [ "$i" = 1 ] && last_block before | diag
done

# ---------------------------------------------------------------- phase 2
if [ "$RESTART_CYCLES" -gt 0 ]; then
    write_unit restart
    if sctl start "$UNIT" && wait_http 15; then
        ok "restart: Apache up under Restart=on-failure"
    else
        not_ok "restart: Apache up under Restart=on-failure"; dump_unit_diag
    fi
    wait_sems 5
    sems=$(sandbox_sems)
    base_count=$(count "$sems")
    for ((j = 1; j <= RESTART_CYCLES; j++)); do
        old_pid=$(prop MainPID); old_restarts=$(prop NRestarts)
        k0=$(now_ms)
        sctl kill -s KILL "$UNIT"
        restarted=0; wait_restarted "$old_pid" && restarted=1
        if [ "$restarted" = 1 ] && wait_http 15; then
            ok "restart $j: systemd restarted Apache (NRestarts $old_restarts -> $(prop NRestarts)) and it answers ($(( $(now_ms) - k0 )) ms)"
        else
            not_ok "restart $j: systemd restarted Apache and it answers"; dump_unit_diag
        fi
        check_stoppost "restart $j"
        wait_sems 5
        new=$(sandbox_sems)
        gone=$(survivors "$sems" "$new")
        if [ -z "$gone" ]; then
            ok "restart $j: none of the dead instance's sets remain ($(ids "$sems"))"
        else
            not_ok "restart $j: the dead instance's sets remain: $(ids "$gone")"
        fi
        if [ "$(count "$new")" -ge 1 ] && [ "$(count "$new")" -le "$base_count" ]; then
            ok "restart $j: the running instance has its $(count "$new") set(s), no growth (ids $(ids "$new"))"
        else
            not_ok "restart $j: set count $(count "$new") (first instance had $base_count)"
        fi
        sems=$new
    done

    # ------------------------------------------------------------ phase 3
    s0=$(now_ms)
    if sctl stop "$UNIT" && wait_stopped 20 && [ "$(prop ActiveState)" = inactive ]; then
        ok "clean stop: unit inactive, not failed ($(( $(now_ms) - s0 )) ms)"
    else
        not_ok "clean stop: unit inactive, not failed (it is $(prop ActiveState), result $(prop Result))"; dump_unit_diag
    fi
    check_stoppost "clean stop"
    left=$(sandbox_sems)
    if [ -z "$left" ]; then ok "clean stop: no sem set left"; else not_ok "clean stop: $(count "$left") set(s) left ($(ids "$left"))"; fi
fi

# ---------------------------------------------------------------- phase 4
# Crash, then start again 1.5 s after the SIGKILL (no ipcsweep ExecStopPost):
# the new main process is pid 1's child and inside the inheritance window, so
# only the unit's invocation start (from systemd) tells that it cannot have
# inherited the old sets.
write_unit control
if sctl start "$UNIT" && wait_http 15 && wait_sems 5; then
    old=$(ids "$(sandbox_sems)")
    k0=$(now_ms)
    sctl kill -s KILL "$UNIT"
    wait_stopped 20
    rest=$(( 1500 - ($(now_ms) - k0) )); [ "$rest" -gt 0 ] && sleep "$(awk -v m="$rest" 'BEGIN { printf "%.3f", m / 1000 }')"
    sctl start "$UNIT" && wait_http 15 && wait_sems 5
    echo "# restarted $(( $(now_ms) - k0 )) ms after the SIGKILL; InactiveExitTimestamp $(prop InactiveExitTimestamp)"
    new=$(ids_not_in "$old")
    sb "$IPCSWEEP" list --all-processes-visible --unit "$UNIT" --type sem --format json > "$work/restart-list.json" 2> "$work/restart-list.err"
    verdict_check "restart 1.5 s later" "$work/restart-list.json" "$old" "$new"
    sb "$IPCSWEEP" clean --all-processes-visible --unit "$UNIT" --user "$RUN_USER" --yes --format json > "$work/restart-clean.json" 2>/dev/null
    clean_check "restart 1.5 s later" "$work/restart-clean.json" "$old"
    if wait_http 5; then ok "restart 1.5 s later: Apache still answers after clean"; else not_ok "restart 1.5 s later: Apache still answers after clean"; fi
    sctl stop "$UNIT"; wait_stopped 20
    sb ipcrm -a
else
    not_ok "restart 1.5 s later: Apache up"; dump_unit_diag
fi

# ---------------------------------------------------------------- phase 5
# The same with systemd's own restart (Restart=on-failure, RestartSec=1500ms).
write_unit autorestart
if sctl start "$UNIT" && wait_http 15 && wait_sems 5; then
    old=$(ids "$(sandbox_sems)")
    old_pid=$(prop MainPID)
    k0=$(now_ms)
    sctl kill -s KILL "$UNIT"
    restarted=0; wait_restarted "$old_pid" && restarted=1
    if [ "$restarted" = 1 ] && wait_http 15 && wait_sems 5; then
        echo "# systemd restarted it $(( $(now_ms) - k0 )) ms after the SIGKILL; InactiveExitTimestamp $(prop InactiveExitTimestamp)"
        new=$(ids_not_in "$old")
        sb "$IPCSWEEP" list --all-processes-visible --unit "$UNIT" --type sem --format json > "$work/autorestart-list.json" 2>/dev/null
        verdict_check "Restart=on-failure after 1.5 s" "$work/autorestart-list.json" "$old" "$new"
    else
        not_ok "Restart=on-failure after 1.5 s: systemd restarted Apache"; dump_unit_diag
    fi
    sctl stop "$UNIT"; wait_stopped 20
    sb ipcrm -a
else
    not_ok "Restart=on-failure after 1.5 s: Apache up"; dump_unit_diag
fi

# ---------------------------------------------------------------- phase 6
write_unit control
if sctl start "$UNIT" && wait_http 15 && wait_sems 5; then
    sems=$(sandbox_sems)
    sctl kill -s KILL "$UNIT"
    wait_stopped 20
    left=$(sandbox_sems)
    if [ -n "$left" ] && [ -z "$(printf '%s\n' "$sems" | grep -vxF -f <(printf '%s\n' "$left"))" ]; then
        ok "control: without the ExecStopPost, SIGKILL leaks all $(count "$left") set(s) ($(ids "$left"))"
    else
        not_ok "control: without the ExecStopPost, SIGKILL leaks the sets (before: $(ids "$sems"); after: $(ids "$left"))"
    fi
else
    not_ok "control: Apache up"; dump_unit_diag
fi

echo "# journal of $UNIT: $(sb journalctl -u "$UNIT" --no-pager -q 2>/dev/null | grep -c 'status=9/KILL') SIGKILLed main processes logged; ipcsweep's own lines:"
sb journalctl --no-pager -q -o short-monotonic -t "$(basename "$IPCSWEEP")" 2>/dev/null | tail -20 | diag
exit 0
