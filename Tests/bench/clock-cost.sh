#!/usr/bin/env bash
# Cost per run of measuring the wall clock's steps (issue 23), on a small system: a private IPC + PID +
# mount namespace with a private /run (no systemd there), 4 objects and PROCS processes.
#
#   BIN=dir-with-release-ipcsweep [BASE=release-ipcsweep-without-the-probe] Tests/bench/clock-cost.sh
#
# Prints the median wall time of RUNS runs of `ipcsweep list` (after WARMUP), interleaved:
#   kept       the clock pair is kept in /run/ipcsweep.clock (every run after the first after boot)
#   first      /run/ipcsweep.clock removed before each run: the pair is taken and written (fsync, rename)
#   base       BASE, when given (e.g. a release build of the commit before the probe): the same list
# In the systemd sandbox the first run asks systemd once per boot instead; time that with
#   Tests/e2e/systemd/sandbox.sh exec sh -c 'rm -f /run/ipcsweep.clock; ipcsweep list'.
# Environment: RUNS (101), WARMUP (5), PROCS (300). Needs root (unshare), util-linux.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-101}
WARMUP=${WARMUP:-5}
PROCS=${PROCS:-300}
BIN=${BIN:-.build/release}
BASE=${BASE:-}
export RUNS WARMUP PROCS

if [ "${1:-}" = --inner ]; then
    shift
    mount -t tmpfs -o mode=755 bench-run /run
    ipcmk -S 2 >/dev/null; ipcmk -S 1 >/dev/null; ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null
    for ((i = 0; i < PROCS; i++)); do sleep 1000 & done
    ipcsweep=$1 base=${2:-}
    median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
    kept=() first=() based=()
    one() { local t0=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; echo $(( ${EPOCHREALTIME/./} - t0 )); }
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        k=$(one "$ipcsweep" list --all-processes-visible)
        rm -f /run/ipcsweep.clock
        f=$(one "$ipcsweep" list --all-processes-visible)
        [ -n "$base" ] && b=$(one "$base" list --all-processes-visible)
        if [ "$i" -ge "$WARMUP" ]; then
            kept+=("$k"); first+=("$f"); [ -n "$base" ] && based+=("$b")
        fi
    done
    printf 'kept  median %6.2f ms\n' "$(median "${kept[@]}" | awk '{print $1/1000}')"
    printf 'first median %6.2f ms\n' "$(median "${first[@]}" | awk '{print $1/1000}')"
    [ -n "$base" ] && printf 'base  median %6.2f ms\n' "$(median "${based[@]}" | awk '{print $1/1000}')"
    kill $(jobs -p) 2>/dev/null || true
    exit 0
fi

[ -x "$BIN/ipcsweep" ] || make >/dev/null
echo "# $RUNS runs, $PROCS processes, $(nproc) cores"
exec unshare --ipc --pid --mount --fork --mount-proc --propagation private \
    bash "$0" --inner "$(realpath "$BIN/ipcsweep")" ${BASE:+"$(realpath "$BASE")"}
