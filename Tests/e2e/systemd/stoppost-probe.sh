#!/bin/sh
# stoppost-probe.sh OUTFILE TAG: run from ExecStopPost= to record where such a
# command runs: its cgroup, what else is still in that cgroup, its namespaces
# and the time. Appends one block per run to OUTFILE, headed
# "--- stoppost TAG ...". The harness runs it as "before" ipcsweep and as
# "after" it: systemd runs the rest of ExecStopPost= only while the commands
# succeed, so an "after" block proves that ipcsweep exited 0, even when
# systemctl show can no longer tell (status reset by an automatic restart, or
# the unit garbage-collected after a clean stop).
out=${1:?usage: stoppost-probe.sh OUTFILE TAG}
tag=${2:-}
{
    echo "--- stoppost $tag $(date +%s.%N) pid=$$ unit=${E2E_UNIT:-?} service_result=${SERVICE_RESULT:-?} exit_code=${EXIT_CODE:-?} exit_status=${EXIT_STATUS:-?}"
    echo "ipc_ns=$(readlink /proc/self/ns/ipc) pid_ns=$(readlink /proc/self/ns/pid)"
    sed 's/^/cgroup: /' /proc/self/cgroup
    cg=$(sed -n 's/^0:://p' /proc/self/cgroup)
    if [ -n "$cg" ] && [ -r "/sys/fs/cgroup$cg/cgroup.procs" ]; then
        for p in $(cat "/sys/fs/cgroup$cg/cgroup.procs"); do
            # leave out this script and its own short-lived helpers
            [ "$p" = $$ ] && continue
            stat=$(sed 's/^.*) //' /proc/$p/stat 2>/dev/null) || continue
            [ "$(echo "$stat" | cut -d' ' -f2)" = $$ ] && continue
            echo "in-cgroup: $p $(cat /proc/$p/comm 2>/dev/null) state=$(echo "$stat" | cut -d' ' -f1)"
        done
    fi
    # apache processes anywhere in the sandbox, zombies included
    for d in /proc/[0-9]*; do
        [ "$(cat "$d/comm" 2>/dev/null)" = apache2 ] || continue
        echo "apache2-left: ${d#/proc/} state=$(sed 's/^.*) //' "$d/stat" 2>/dev/null | cut -d' ' -f1)"
    done
} >> "$out" 2>&1
exit 0
