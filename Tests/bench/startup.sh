#!/usr/bin/env bash
# Start-up benchmark (SPEC "Performance targets", start-up and small systems): the self-contained release
# binary against the language's floor, against lsipc, and against the floor of `list` (Tests/bench/floor.c).
#
#   Tests/bench/startup.sh            (also run by Tests/bench/bench.sh, which prints every ratio together)
#
# Prints the stripped size of ipcsweep and of a statically linked one-line Swift program, then the median wall
# time of RUNS runs (after WARMUP) of commands run in interleaved rounds:
#   ipcsweep --version, the one-line program, lsipc --version                 (target: --version <= 1.5 x the program)
#   on a small system, a private IPC + PID + mount namespace with 4 objects (ipcmk: 2 sets, a segment, a queue)
#   and PROCS (300) processes, as every ExecStopPost= and cron run sees it:
#   ipcsweep list, lsipc -s, the floor of list, ipcsweep list --format json,
#   the floor of list --format json                                            (target: list <= 4 x lsipc -s)
#   ipcsweep clean --yes --type posix, with no POSIX object (an empty private /dev/shm): a cron run or
#   ExecStopPost= on a host where nothing leaked                               (target: <= 4 x lsipc -s)
# ipcsweep runs with IPCSWEEP_ARGS (default --all-processes-visible: the namespace is complete).
# Environment: RUNS (101), WARMUP (5), PROCS (300), BIN (a directory with a release ipcsweep built by
# `make`; default: run `make build`), FLOOR_BIN (the compiled floor; default: compiled here), RESULTS (a file
# for the medians as "KEY MS" lines). Needs root (unshare), util-linux, cc, a Swift toolchain on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-101}
WARMUP=${WARMUP:-5}
PROCS=${PROCS:-300}
IPCSWEEP_ARGS=${IPCSWEEP_ARGS---all-processes-visible}
RESULTS=${RESULTS:-}
export RUNS WARMUP PROCS IPCSWEEP_ARGS RESULTS

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# rounds KEY=COMMAND...: RUNS interleaved rounds after WARMUP; prints each median (ms) and the first one's
# ratio to it, and appends "KEY MS" to RESULTS.
rounds() {
    local spec keys=() cmds=() i k t0 t1 first=""
    declare -A T
    for spec in "$@"; do keys+=("${spec%%=*}"); cmds+=("${spec#*=}"); done
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        for k in "${!keys[@]}"; do
            read -r -a C <<<"${cmds[$k]}"
            t0=${EPOCHREALTIME/./}
            "${C[@]}" >/dev/null 2>&1
            t1=${EPOCHREALTIME/./}
            [ "$i" -lt "$WARMUP" ] || T[$k]+=" $((t1 - t0))"
        done
    done
    for k in "${!keys[@]}"; do
        # shellcheck disable=SC2086
        local m
        m=$(median ${T[$k]} | awk '{printf "%.2f", $1 / 1000}')
        [ -n "$first" ] || first=$m
        [ -z "$RESULTS" ] || echo "${keys[$k]} $m" >>"$RESULTS"
        awk -v k="${keys[$k]}" -v m="$m" -v f="$first" -v c="${cmds[$k]##*/}" \
            'BEGIN { printf "  %-18s %8.2f ms   first / this %5.2f   (%s)\n", k, m, f / m, c }'
    done
}

if [ "${1:-}" = --inner ]; then
    # pid 1 of the private namespaces: a few objects, PROCS sleeping processes, then the rounds.
    read -r -a EXTRA <<<"$IPCSWEEP_ARGS"
    mount -t tmpfs -o mode=755,size=16m bench-run /run   # clean's lock and the clock pair stay inside
    mount -t tmpfs -o mode=1777,size=1m bench-shm /dev/shm   # an empty /dev/shm of its own: no POSIX object
    "$2" list "${EXTRA[@]}" >/dev/null   # the clock pair from before the objects, as on a host since boot
    ipcmk -S 2 >/dev/null; ipcmk -S 1 >/dev/null; ipcmk -M 4096 >/dev/null; ipcmk -Q >/dev/null
    for ((i = 0; i < PROCS; i++)); do sleep 1000 & done
    echo "small system: 4 objects, $(ls -d /proc/[0-9]* | wc -l) processes; verdicts:" \
        "$("$2" list "${EXTRA[@]}" | awk 'NR > 1 {print $NF}' | sort | uniq -c | awk '{printf "%s %s ", $2, $1}')"
    "$3" list 2>&1 | sed 's/^/  /'
    [ -z "$RESULTS" ] || echo "small_procs $PROCS" >>"$RESULTS"
    rounds "small_list=$2 list ${EXTRA[*]}" "small_lsipc=lsipc -s" "small_floor=$3 list --quiet" \
        "small_list_json=$2 list ${EXTRA[*]} --format json" "small_floor_json=$3 list --json --quiet" \
        "small_none=$2 clean ${EXTRA[*]} --yes --type posix"
    kill $(jobs -p) 2>/dev/null || true
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "startup: needs root (unshare)" >&2; exit 1; }
export PATH=/opt/swift/usr/bin:$PATH
if [ -z "${BIN:-}" ]; then make -s build >/dev/null; BIN=$PWD/.build/release; fi
work=$(mktemp -d /tmp/ipcsweep-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
if [ -z "${FLOOR_BIN:-}" ]; then FLOOR_BIN=$work/floor; cc -O2 -o "$FLOOR_BIN" Tests/bench/floor.c; fi
strip -o "$work/ipcsweep" "$BIN/ipcsweep"
echo 'print("hello")' > "$work/hello.swift"
swiftc -O -static-stdlib "$work/hello.swift" -o "$work/hello-unstripped" 2>/dev/null
strip -o "$work/hello" "$work/hello-unstripped"
awk -v a="$(stat -c %s "$work/ipcsweep")" -v b="$(stat -c %s "$work/hello")" \
    'BEGIN { printf "stripped size: ipcsweep %d bytes (%.1f MiB), one-line static Swift program %d bytes (%.1f MiB)\n", a, a / 1048576, b, b / 1048576 }'
[ -z "$RESULTS" ] || { echo "size_ipcsweep $(stat -c %s "$work/ipcsweep")"; echo "size_hello $(stat -c %s "$work/hello")"; } >>"$RESULTS"
echo "median of $RUNS runs each, interleaved:"
rounds "version=$work/ipcsweep --version" "hello=$work/hello" "lsipc_version=lsipc --version"
unshare --ipc --pid --fork --mount-proc "$0" --inner "$work/ipcsweep" "$FLOOR_BIN"
