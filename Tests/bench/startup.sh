#!/usr/bin/env bash
# Start-up benchmark (SPEC "Performance targets", start-up): the self-contained release binary
# against the language's floor and against lsipc.
#
#   Tests/bench/startup.sh
#
# Prints the stripped size of ipcsweep and of a statically linked one-line Swift program, then the
# median wall time of RUNS runs (after WARMUP), interleaved A B A B, with the ratio of the medians:
#   ipcsweep --version      vs  the one-line program      (target <= 1.5)
#   ipcsweep list           vs  lsipc                      (target <= 3), on a small system: a private
#                               IPC + PID + mount namespace with 4 objects and PROCS (300) processes
# Environment: RUNS (101), WARMUP (5), PROCS (300), BIN (a directory with a release ipcsweep built by
# `make`; default: run `make`). Needs root (unshare), util-linux, a Swift toolchain on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-101}
WARMUP=${WARMUP:-5}
PROCS=${PROCS:-300}
export RUNS WARMUP PROCS

if [ "${1:-}" = --inner ]; then
    # pid 1 of the private namespaces: a few objects, PROCS sleeping processes, then time.
    shift
    ipcmk -S 2 >/dev/null; ipcmk -S 1 >/dev/null; ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null
    for ((i = 0; i < PROCS; i++)); do sleep 1000 & done
    "$@"
    kill $(jobs -p) 2>/dev/null || true
    exit 0
fi

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# pair "LABEL" "A COMMAND" "B COMMAND": interleaved runs, medians in ms and their ratio
pair() {
    local label=$1 a=$2 b=$3 i t0 ta=() tb=()
    read -r -a A <<<"$a"; read -r -a B <<<"$b"
    for ((i = 0; i < WARMUP; i++)); do "${A[@]}" >/dev/null 2>&1; "${B[@]}" >/dev/null 2>&1; done
    for ((i = 0; i < RUNS; i++)); do
        t0=${EPOCHREALTIME/./}; "${A[@]}" >/dev/null 2>&1; ta+=($(( ${EPOCHREALTIME/./} - t0 )))
        t0=${EPOCHREALTIME/./}; "${B[@]}" >/dev/null 2>&1; tb+=($(( ${EPOCHREALTIME/./} - t0 )))
    done
    local ma mb
    ma=$(median "${ta[@]}"); mb=$(median "${tb[@]}")
    awk -v l="$label" -v a="$ma" -v b="$mb" -v an="$a" -v bn="$b" \
        'BEGIN { printf "%-28s %8.2f ms  vs %8.2f ms  ratio %.2f   (%s | %s)\n", l, a / 1000, b / 1000, a / b, an, bn }'
}
if [ "${1:-}" = --pair ]; then shift; pair "$@"; exit 0; fi

export PATH=/opt/swift/usr/bin:$PATH
if [ -z "${BIN:-}" ]; then make build >/dev/null; BIN=$PWD/.build/release; fi
work=$(mktemp -d /tmp/ipcsweep-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
strip -o "$work/ipcsweep" "$BIN/ipcsweep"
echo 'print("hello")' > "$work/hello.swift"
swiftc -O -static-stdlib "$work/hello.swift" -o "$work/hello-unstripped" 2>/dev/null
strip -o "$work/hello" "$work/hello-unstripped"
awk -v a="$(stat -c %s "$work/ipcsweep")" -v b="$(stat -c %s "$work/hello")" \
    'BEGIN { printf "stripped size: ipcsweep %d bytes (%.1f MiB), one-line static Swift program %d bytes (%.1f MiB)\n", a, a / 1048576, b, b / 1048576 }'
echo "median of $RUNS runs each, interleaved:"
pair "--version vs one-line Swift" "$work/ipcsweep --version" "$work/hello"
pair "--version vs lsipc --version" "$work/ipcsweep --version" "lsipc --version"
PROCS=$PROCS unshare --ipc --pid --fork --mount-proc "$0" --inner "$0" --pair "list (small system) vs lsipc" "$work/ipcsweep list" "lsipc"
