#!/usr/bin/env bash
# What write leases cost (issue 17): for OBJECTS (10,000) POSIX shared memory files of 4 KiB in a private
# tmpfs on /dev/shm (private IPC, PID and mount namespaces; the host's /dev/shm is never touched), the median of
# RUNS (7) runs of
#   - the calls alone (lease-cost.c): fstatat per file, against fstatat + the lease probe (open, fstat,
#     F_SETLEASE F_WRLCK, F_SETLEASE F_UNLCK, close); unlinkat, against clean's removal under the lease;
#   - ipcsweep list --type posix-shm (release build, --all-processes-visible), which leases every file;
#   - ipcsweep clean --yes --type posix-shm of the 10,000 orphans (one run per fresh set of files).
# The files belong to uid 20000, which runs no process: every one is orphaned.
# Environment: RUNS, OBJECTS, BIN (directory with a release ipcsweep; default .build/release), CC.
set -euo pipefail
RUNS=${RUNS:-7}
OBJECTS=${OBJECTS:-10000}
here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../../.build/release}
CC=${CC:-cc}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

if [ "${1:-}" = --inner ]; then
    mount -t tmpfs -o mode=1777,size=512m bench-shm /dev/shm
    mount -t tmpfs -o mode=755 bench-run /run
    tool=$(mktemp -d /tmp/ipcsweep-lease-cost.XXXXXX)
    trap 'rm -rf "$tool"' EXIT
    "$CC" -O2 -o "$tool/lease-cost" "$here/lease-cost.c"
    make_files() {
        /usr/bin/python3 - "$OBJECTS" <<'PY'
import os, sys
for i in range(int(sys.argv[1])):
    fd = os.open("/dev/shm/bench_%05d" % i, os.O_CREAT | os.O_RDWR, 0o600)
    os.ftruncate(fd, 4096); os.fchown(fd, 20000, 20000); os.close(fd)
PY
    }
    seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
    make_files
    "$BIN/ipcsweep" list --all-processes-visible --type posix-shm >/dev/null  # warm-up, clock pair
    declare -A t
    for ((r = 0; r < RUNS; r++)); do
        for m in stat lease; do t[$m]+="$("$tool/lease-cost" /dev/shm $m | awk '{print $3}') "; done
        t[list]+="$(seconds "$BIN/ipcsweep" list --all-processes-visible --type posix-shm) "
    done
    for ((r = 0; r < RUNS; r++)); do
        for m in unlink remove; do rm -f /dev/shm/*; make_files; t[$m]+="$("$tool/lease-cost" /dev/shm $m | awk '{print $3}') "; done
        rm -f /dev/shm/*; make_files; sleep 1.1
        t[clean]+="$(seconds "$BIN/ipcsweep" clean --yes --all-processes-visible --type posix-shm) "
        [ -z "$(ls /dev/shm)" ] || { echo "clean left files" >&2; exit 1; }
    done
    ms() { median $1 | awk '{printf "%.1f ms", $1 * 1000}'; }
    echo "files: $OBJECTS, runs: $RUNS (median)"
    echo "calls: fstatat only            $(ms "${t[stat]}")"
    echo "calls: fstatat + lease probe   $(ms "${t[lease]}")"
    echo "calls: unlinkat only           $(ms "${t[unlink]}")"
    echo "calls: removal under the lease $(ms "${t[remove]}")"
    echo "ipcsweep list --type posix-shm $(ms "${t[list]}")"
    echo "ipcsweep clean --yes           $(ms "${t[clean]}")"
    exit 0
fi
exec unshare --ipc --pid --fork --mount-proc --mount --propagation private "$0" --inner
