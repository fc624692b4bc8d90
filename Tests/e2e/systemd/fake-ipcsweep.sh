#!/bin/sh
# fake-ipcsweep.sh: a stand-in for ipcsweep, used only to prove the systemd
# e2e harness (ExecStopPost= wiring, exit status capture, counting) before the
# real binary exists. It is NOT a model of ipcsweep: it removes every
# semaphore set owned by the --user given, live or not.
#
#   fake-ipcsweep.sh clean --unit UNIT --user NAME [--yes] [--quiet]
#
# It refuses to run unless E2E_HOST_IPC_NS holds the host's IPC namespace
# (as readlink /proc/self/ns/ipc prints it on the host, or just its inode
# number) and this process is in a different IPC namespace: it must only ever
# run inside the sandbox.
set -u

host_ns=${E2E_HOST_IPC_NS:-}
self_ns=$(readlink /proc/self/ns/ipc) || { echo "fake-ipcsweep: cannot read my IPC namespace" >&2; exit 98; }
if [ -z "$host_ns" ]; then
    echo "fake-ipcsweep: E2E_HOST_IPC_NS not set; refusing to run" >&2; exit 99
fi
case "$self_ns" in
"$host_ns"|"ipc:[$host_ns]"|"ipc:[4026531839]")   # 4026531839: the initial IPC namespace
    echo "fake-ipcsweep: running in the host's IPC namespace ($self_ns); refusing" >&2; exit 99 ;;
esac

[ "${1:-}" = clean ] || { echo "fake-ipcsweep: only 'clean' is faked" >&2; exit 2; }
shift
user="" quiet=0 unit=""
while [ $# -gt 0 ]; do
    case "$1" in
    --user) user=$2; shift 2 ;;
    --unit) unit=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --yes) shift ;;
    *) echo "fake-ipcsweep: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$user" ] || { echo "fake-ipcsweep: --user is required" >&2; exit 2; }
uid=$(id -u "$user" 2>/dev/null) || { echo "fake-ipcsweep: no user $user" >&2; exit 1; }

rc=0 n=0
# /proc/sysvipc/sem: key semid perms nsems uid gid cuid cgid otime ctime
for id in $(awk -v uid="$uid" 'NR > 1 && $5 == uid { print $2 }' /proc/sysvipc/sem); do
    if ipcrm -s "$id"; then
        n=$((n + 1))
        [ "$quiet" = 1 ] || echo "fake-ipcsweep: removed sem $id (owner $user, unit $unit)"
    else
        rc=4
    fi
done
[ "$quiet" = 1 ] || echo "fake-ipcsweep: removed $n set(s)"
exit "$rc"
