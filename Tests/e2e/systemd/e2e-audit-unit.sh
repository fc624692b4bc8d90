#!/bin/bash
# e2e-audit-unit.sh: the shipped ipcsweep-audit.service and .timer under a real systemd, in a
# sandbox booted by sandbox.sh (its own IPC namespace, /dev/shm and mqueue; the host's files).
#
#   1. Without the node_exporter textfile directory the service is skipped (its condition fails),
#      nothing is written, and the unit does not fail.
#   2. With the directory (a tmpfs over /var/lib/prometheus inside the sandbox only; the host's
#      directory is never written) and a few System V and POSIX objects in the sandbox, one start
#      of the service writes ipcsweep.prom: exit 0, mode 0644 (node_exporter runs as another
#      user), valid for `promtool check metrics`, no temporary file left, and the same object
#      counts as an audit run by hand outside the hardening (the sandboxing hides nothing).
#   3. The hardening is in force (ProtectSystem=strict, ReadWritePaths=, NoNewPrivileges=, ...).
#   4. The timer starts and schedules the service; systemd-analyze verify accepts both units.
#
# Environment:
#   IPCSWEEP          the binary (default <repo>/.build/debug/ipcsweep)
#   E2E_AUDIT_UNITS   installed: use the units systemd finds on the host (/lib/systemd/system,
#                     from the Debian package or make install), which must run IPCSWEEP;
#                     otherwise (default) dist/systemd/*.{service,timer} with @BINDIR@ set to
#                     a copy of IPCSWEEP, loaded into the sandbox's /run/systemd/system
#   E2E_STATE_DIR     sandbox state (default /run/ipcsweep-e2e/audit-unit.PID)
#   E2E_WORK_BASE     parent of the work dir (default /var/lib/ipcsweep-e2e; not /tmp, /var/tmp, /run)
# Needs root, Debian's systemd and promtool (prometheus). Output: "ok - ..." / "not ok - ...",
# last line "N passed, M failed"; exit status 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
UNITS_MODE=${E2E_AUDIT_UNITS:-checkout}
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/audit-unit.$$}
SERVICE=ipcsweep-audit.service
TIMER=ipcsweep-audit.timer
TEXTFILE_DIR=/var/lib/prometheus/node-exporter
PROM=$TEXTFILE_DIR/ipcsweep.prom

. "$here/tap.sh"
work="" booted=0

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$booted" = 1 ]; then "$SANDBOX" stop || not_ok "sandbox stop"; fi
    if [ -n "${host_ipc_before+x}" ]; then
        if [ "$(host_ipc_snapshot)" = "$host_ipc_before" ]; then ok "host IPC namespace unchanged"; else not_ok "host IPC namespace changed"; fi
    fi
    if [ -n "${host_prom_before+x}" ] && [ "$(host_prom_state)" != "$host_prom_before" ]; then
        not_ok "the host's $PROM and timer stamp were left as they were"
    fi
    [ -n "$work" ] && [ -d "$work" ] && rm -rf -- "$work"
    rmdir -- "$E2E_STATE_DIR" "$WORK_BASE" 2>/dev/null || true
    rmdir -- /run/ipcsweep-e2e 2>/dev/null || true  # the parent of the default state directory, once no run uses it
    tap_end "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

host_prom_state() { stat -c '%i %s %Y' "$PROM" /var/lib/systemd/timers/stamp-$TIMER 2>/dev/null || echo absent; }
sb() { "$SANDBOX" exec "$@"; }
sctl() { "$SANDBOX" exec systemctl "$@"; }
prop() { sctl show -p "$2" --value "$1" 2>/dev/null; }
# the object counts of a Prometheus audit: kind, verdict, number; and the POSIX scan lines
counts() { grep -E '^ipcsweep_(objects|posix_objects|posix_scan_ok)\{' | sort; }

# ---------------------------------------------------------------- preflight
host_ipc_before=$(host_ipc_snapshot)
host_prom_before=$(host_prom_state)
[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
[ -x /lib/systemd/systemd ] || { not_ok "/lib/systemd/systemd missing (apt-get install -y systemd)"; exit 1; }
command -v promtool >/dev/null || { not_ok "promtool missing (apt-get install -y prometheus)"; exit 1; }
[ -d /var/lib/prometheus ] || { not_ok "/var/lib/prometheus missing (apt-get install -y prometheus): the sandbox mounts a tmpfs on it"; exit 1; }
[ -x "$IPCSWEEP" ] || { not_ok "IPCSWEEP=$IPCSWEEP is not executable (swift build, or set IPCSWEEP)"; exit 1; }
echo "# IPCSWEEP=$IPCSWEEP, units: $UNITS_MODE"

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/audit-unit.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
chmod 755 "$work"
if [ "$UNITS_MODE" = installed ]; then
    service_file=$(systemctl cat "$SERVICE" 2>/dev/null | sed -n '1s/^# //p')
    [ -n "$service_file" ] || service_file=$(ls /lib/systemd/system/$SERVICE /usr/lib/systemd/system/$SERVICE /usr/local/lib/systemd/system/$SERVICE 2>/dev/null | head -1)
    [ -f "$service_file" ] || { not_ok "installed $SERVICE not found"; exit 1; }
    timer_file=$(dirname "$service_file")/$TIMER
    if grep -q "^ExecStart=$IPCSWEEP " "$service_file"; then
        ok "installed $service_file runs $IPCSWEEP"
    else
        not_ok "installed $service_file runs $IPCSWEEP: $(grep '^ExecStart=' "$service_file")"
    fi
else
    # A copy of the binary outside /tmp, /var/tmp and /run, which the sandbox replaces.
    mkdir -p "$work/bin" && cp -- "$IPCSWEEP" "$work/bin/ipcsweep"
    for u in "$SERVICE" "$TIMER"; do sed "s|@BINDIR@|$work/bin|g" "$repo/dist/systemd/$u" > "$work/$u"; done
    service_file=$work/$SERVICE timer_file=$work/$TIMER
fi

# Installed units name an installed man page (Documentation=man:ipcsweep(1)); the checkout's need not.
man=yes; [ "$UNITS_MODE" = installed ] || man=no
if out=$(systemd-analyze verify --man="$man" "$service_file" "$timer_file" 2>&1); then
    ok "systemd-analyze verify --man=$man $service_file $timer_file"
else
    not_ok "systemd-analyze verify $service_file $timer_file"; printf '%s\n' "$out" | diag
fi

# ---------------------------------------------------------------- boot
spid=$("$SANDBOX" start) || { not_ok "sandbox boots"; exit 1; }
booted=1
ok "sandbox boots (systemd host pid $spid)"
[ "$(readlink "/proc/$spid/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ] || { not_ok "sandbox has its own IPC namespace"; exit 1; }
if [ "$UNITS_MODE" != installed ]; then "$SANDBOX" unit "$service_file" "$timer_file" || not_ok "load units into the sandbox"; fi
frag=$(prop "$SERVICE" FragmentPath)
case "$UNITS_MODE:$frag" in
installed:/run/*|installed:|checkout:) not_ok "the sandbox's systemd loads the $UNITS_MODE $SERVICE (FragmentPath '$frag')" ;;
checkout:/run/systemd/system/$SERVICE|installed:*) ok "the sandbox's systemd loads $SERVICE from $frag" ;;
*) not_ok "the sandbox's systemd loads the $UNITS_MODE $SERVICE (FragmentPath '$frag')" ;;
esac

# Inside the sandbox only: an empty tmpfs on /var/lib/prometheus hides the host's directory, and
# one on /var/lib/systemd/timers keeps the timer's Persistent= stamp out of the host's.
sb mount -t tmpfs -o mode=755 ipcsweep-e2e-prom /var/lib/prometheus || { not_ok "tmpfs on /var/lib/prometheus in the sandbox"; exit 1; }
# The sandbox's /var/lib/systemd is its own tmpfs copy (sandbox.sh): the directory is made there, never on the host.
sb mkdir -p /var/lib/systemd/timers || { not_ok "/var/lib/systemd/timers in the sandbox"; exit 1; }
sb mount -t tmpfs -o mode=755 ipcsweep-e2e-timers /var/lib/systemd/timers || { not_ok "tmpfs on /var/lib/systemd/timers in the sandbox"; exit 1; }

# ---------------------------------------------------------------- 1. no textfile directory
sctl start "$SERVICE"
if [ "$(prop "$SERVICE" ConditionResult)" = no ] && [ "$(prop "$SERVICE" Result)" = success ] \
    && [ "$(prop "$SERVICE" ActiveState)" != failed ] && ! sb test -e "$PROM"; then
    ok "without $TEXTFILE_DIR the service is skipped (condition not met), not failed, nothing written"
else
    not_ok "without $TEXTFILE_DIR the service is skipped (ConditionResult=$(prop "$SERVICE" ConditionResult) Result=$(prop "$SERVICE" Result) ActiveState=$(prop "$SERVICE" ActiveState))"
fi

# ---------------------------------------------------------------- 2. one run
sb mkdir -p "$TEXTFILE_DIR"
# Objects in the sandbox's own IPC namespace and /dev/shm (both die with the sandbox).
"$SANDBOX" ipc ipcmk -S 2 >/dev/null && "$SANDBOX" ipc ipcmk -M 4096 >/dev/null && "$SANDBOX" ipc ipcmk -Q >/dev/null \
    || not_ok "create System V objects in the sandbox"
# A set of another user with mode 0600: its semaphores are readable only with CAP_IPC_OWNER.
"$SANDBOX" ipc setpriv --reuid=www-data --regid=www-data --clear-groups ipcmk -S 1 -p 0600 >/dev/null \
    || not_ok "create a www-data 0600 semaphore set in the sandbox"
sb sh -c 'head -c 8192 /dev/zero > /dev/shm/ipcsweep-e2e-audit && chmod 0666 /dev/shm/ipcsweep-e2e-audit' || not_ok "create a POSIX segment in the sandbox"
sctl reset-failed "$SERVICE" 2>/dev/null
if sctl start "$SERVICE"; then
    ok "systemctl start $SERVICE"
else
    not_ok "systemctl start $SERVICE"; sb journalctl -u "$SERVICE" --no-pager -n 30 | diag
fi
st=$(prop "$SERVICE" ExecMainStatus) res=$(prop "$SERVICE" Result)
if [ "$st" = 0 ] && [ "$res" = success ]; then ok "$SERVICE exited 0 (Result=$res)"; else not_ok "$SERVICE exited 0 (status $st, Result=$res)"; sb journalctl -u "$SERVICE" --no-pager -n 30 | diag; fi
# The run writes nothing to the journal but systemd's own start/finish lines (a positive Nice= once
# made libdispatch log "Failed to set thread priority" for every worker thread, every hour).
noise=$(sb journalctl -u "$SERVICE" --no-pager -q -o cat _COMM=ipcsweep 2>/dev/null || true)
if [ -z "$noise" ]; then ok "$SERVICE logs nothing of its own to the journal"; else not_ok "$SERVICE logs nothing of its own to the journal"; printf '%s\n' "$noise" | head -5 | diag; fi
if sb test -f "$PROM"; then
    ok "$PROM written"
    sb cat "$PROM" > "$work/ipcsweep.prom"
    mode=$(sb stat -c %a "$PROM")
    [ "$mode" = 644 ] && ok "$PROM has mode 0644 (readable by node_exporter)" || not_ok "$PROM has mode 0644 (it is $mode)"
    if out=$(promtool check metrics < "$work/ipcsweep.prom" 2>&1); then
        ok "promtool check metrics accepts it ($(grep -vc '^#' "$work/ipcsweep.prom") samples)"
    else
        not_ok "promtool check metrics accepts it"; printf '%s\n' "$out" | diag
    fi
    left=$(sb find "$TEXTFILE_DIR" -mindepth 1 ! -name ipcsweep.prom)
    [ -z "$left" ] && ok "no temporary file left in $TEXTFILE_DIR" || { not_ok "no temporary file left in $TEXTFILE_DIR"; printf '%s\n' "$left" | diag; }
    # The same audit by hand, without the unit's sandboxing: the hardening must hide nothing.
    bin=$(prop "$SERVICE" ExecStart | sed -n 's/^{ path=\([^ ;]*\) ;.*/\1/p')
    sb "$bin" audit --format prometheus > "$work/by-hand.prom" 2>"$work/by-hand.err"
    unit_counts=$(counts < "$work/ipcsweep.prom") hand_counts=$(counts < "$work/by-hand.prom")
    if [ -n "$unit_counts" ] && [ "$unit_counts" = "$hand_counts" ]; then
        ok "the unit's audit counts the same objects as one by hand outside the hardening"
    else
        not_ok "the unit's audit counts the same objects as one by hand outside the hardening"
        diff <(echo "$unit_counts") <(echo "$hand_counts") | diag
    fi
    sems=$(sb cat /proc/sysvipc/sem | tail -n +2 | wc -l)
    in_prom=$(awk -F' ' '/^ipcsweep_objects\{kind="sem"/ { n += $2 } END { print n + 0 }' "$work/ipcsweep.prom")
    [ "$in_prom" = "$sems" ] && [ "$sems" -ge 1 ] && ok "it counts the sandbox's $sems semaphore set(s)" || not_ok "it counts the sandbox's semaphore sets ($in_prom in the file, $sems in the sandbox)"
    if grep -q 'ipcsweep-e2e-audit\|posix' "$work/ipcsweep.prom"; then ok "it reports POSIX IPC ($(grep -c posix "$work/ipcsweep.prom") lines)"; else not_ok "it reports POSIX IPC"; fi
else
    not_ok "$PROM written"; sb journalctl -u "$SERVICE" --no-pager -n 30 | diag
fi

# ---------------------------------------------------------------- 3. hardening
want="ProtectSystem=strict NoNewPrivileges=yes ProtectHome=yes PrivateTmp=yes PrivateNetwork=yes ProtectKernelTunables=yes ProtectControlGroups=yes RestrictNamespaces=yes PrivateIPC=no PrivateDevices=no ProtectProc=default"
for kv in $want; do
    k=${kv%%=*} v=${kv#*=}
    got=$(prop "$SERVICE" "$k")
    [ "$got" = "$v" ] || not_ok "$SERVICE $k=$v (systemctl show: '$got')"
done
rw=$(prop "$SERVICE" ReadWritePaths)
[ "$rw" = "$TEXTFILE_DIR" ] && ok "$SERVICE hardening in force; ReadWritePaths=$rw only" || not_ok "$SERVICE ReadWritePaths= only $TEXTFILE_DIR (it is '$rw')"
sb systemd-analyze security --no-pager "$SERVICE" 2>/dev/null | tail -1 | diag

# ---------------------------------------------------------------- 4. timer
if sctl start "$TIMER" && [ "$(prop "$TIMER" ActiveState)" = active ]; then
    ok "$TIMER active, next run at $(prop "$TIMER" NextElapseUSecRealtime)"
    [ "$(prop "$TIMER" Unit)" = "$SERVICE" ] && ok "$TIMER triggers $SERVICE" || not_ok "$TIMER triggers $SERVICE ($(prop "$TIMER" Unit))"
    sctl stop "$TIMER"
    sb test -e "/var/lib/systemd/timers/stamp-$TIMER" && ok "$TIMER keeps its Persistent= stamp (in the sandbox's /var/lib/systemd/timers)"
else
    not_ok "$TIMER starts"
fi
exit 0
