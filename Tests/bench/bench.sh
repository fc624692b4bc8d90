#!/usr/bin/env bash
# ipcsweep benchmark (issue 6): ipcsweep side by side with the tools people use today.
#
#   Tests/bench/bench.sh [SETS...]        default: 1000 8000 32000
#
# For each SETS it starts fresh private IPC + PID + mount namespaces
# (unshare --ipc --pid --fork --mount-proc --mount --propagation private), so no
# object is ever created in the host's IPC namespace and every process started
# dies with the namespace. Inside, it creates
#   - 2,000 live processes of 50 uids (10000..10049): OLD_PER_UID (default 1) of each uid started
#     before the objects, the others 6.2 s after them (beyond the one-second slack and the 5 s
#     inheritance window, so provably younger and not heirs),
#   - SETS semaphore sets of 1..4 semaphores, owned by 100 uids (10000..10099:
#     the half whose uid has an older live process -> suspect, the other half -> orphaned),
#   - 4,096 shared memory segments and 4,000 message queues owned the same way,
#   - a few holders that give direct evidence (a live sempid, attached segments),
# (their uids get passwd and group entries, bind-mounted over /etc/passwd and /etc/group inside the
# mount namespace only), and times, as the median of RUNS runs after WARMUP warm-up runs (wall clock,
# bash $EPOCHREALTIME around each command, output to /dev/null):
#   cat /proc/sysvipc/{sem,shm,msg}  (the floor), lsipc -s --json, ipcs -a,
#   ipcsweep list --format json, ipcsweep orphans,
#   ipcsweep clean --yes --type sem of SETS orphaned sets vs one ipcrm -s ID ... call
#   over the same ids (the sets are recreated before each run),
# and the peak RSS (/usr/bin/time -v) of `ipcsweep list --format json`.
#
# Environment: RUNS (default 7), WARMUP (default 1), PROCS (2000), UIDS (50), OLD_PER_UID (1: processes
# of each uid started before the objects; the others start after them),
# SEGMENTS (4096), QUEUES (4000), BIN (a directory holding ipcsweep and
# ipcsweep-testkit; default: build release with `swift build -c release`),
# IPCSWEEP_ARGS (extra arguments for every ipcsweep command, e.g. "--source proc"),
# BASE_BIN (a directory holding an older ipcsweep: its list and clean are measured in the same rounds,
# for an A/B ratio on a shared, noisy machine).
# Needs root (unshare, setpriv), util-linux (lsipc, ipcs, ipcrm, setpriv) and
# GNU time (/usr/bin/time, Debian package `time`).
set -euo pipefail

RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
PROCS=${PROCS:-2000}
UIDS=${UIDS:-50}
OLD_PER_UID=${OLD_PER_UID:-1}
SEGMENTS=${SEGMENTS:-4096}
QUEUES=${QUEUES:-4000}
BASE_UID=10000

us_now() { # microseconds since the epoch, no fork
    local t=${EPOCHREALTIME/./}
    echo "$t"
}

median() { # median of the arguments (numbers)
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# ---------------------------------------------------------------- inside the namespaces
if [ "${1:-}" = "--inner" ]; then
    SETS=$2
    OUTDIR=$3
    MODE=${4:-measure}
    export PATH="$BIN:$PATH"
    read -r -a EXTRA <<<"${IPCSWEEP_ARGS:-}"
    [ "$$" = 1 ] || { echo "bench: --inner must run as pid 1 of a private pid namespace" >&2; exit 1; }


    # Limits are per IPC namespace: room for every object with margin.
    echo "32000 1024000000 500 $((SETS > 32000 ? SETS : 32000))" >/proc/sys/kernel/sem
    echo $((SEGMENTS + 1024)) >/proc/sys/kernel/shmmni
    echo $((QUEUES + 1024)) >/proc/sys/kernel/msgmni

    # The owners exist in the passwd and group databases, as on a real host (a lookup that misses costs
    # lsipc and ipcs far more than one that hits). Bind mounts: private to this mount namespace.
    cp /etc/passwd "$OUTDIR/passwd"
    cp /etc/group "$OUTDIR/group"
    for ((u = BASE_UID; u < BASE_UID + 2 * UIDS; u++)); do
        echo "bench$u:x:$u:$u:ipcsweep bench:/nonexistent:/usr/sbin/nologin" >>"$OUTDIR/passwd"
        echo "bench$u:x:$u:" >>"$OUTDIR/group"
    done
    # A private /dev/shm: the host's POSIX objects are neither measured nor touched.
    mount -t tmpfs -o mode=1777,size=64m bench-shm /dev/shm
    mount --bind "$OUTDIR/passwd" /etc/passwd
    mount --bind "$OUTDIR/group" /etc/group

    pids=()
    cleanup() {
        # pid 1 of the namespace exiting kills the rest, but say what we started and end it ourselves.
        if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
        wait 2>/dev/null || true
    }
    trap cleanup EXIT

    # 1. Live processes: OLD_PER_UID of each uid start before the objects (possible holders of the objects
    #    of their uid: those objects are "suspect"), the rest start more than a second after them (provably
    #    younger: not holders). Objects of the other UIDS uids have no live process at all ("orphaned").
    per_uid=$((PROCS / UIDS))
    start_procs() { # start_procs FROM TO: processes FROM..TO-1 of every uid
        local u n uid
        for ((u = 0; u < UIDS; u++)); do
            uid=$((BASE_UID + u))
            for ((n = $1; n < $2; n++)); do
                setpriv --reuid=$uid --regid=$uid --clear-groups sleep 100000 &
                pids+=($!)
            done
        done
    }
    start_procs 0 "$OLD_PER_UID"
    sleep 1.2

    # 2. Objects: owner uid cycles over 2*UIDS uids (the upper half has no live process: orphans).
    make_sets() { # make_sets COUNT FIRST_UID NUIDS
        local count=$1 first=$2 nuids=$3 groups g c
        groups=$((nuids * 4))
        for ((g = 0; g < groups; g++)); do
            c=$((count / groups + (g < count % groups ? 1 : 0)))
            [ "$c" -gt 0 ] || continue
            ipcsweep-testkit sem-create --count "$c" --nsems $((g % 4 + 1)) --as-uid $((first + g / 4)) >/dev/null
        done
    }
    make_kind() { # make_kind shm|msg COUNT
        local kind=$1 count=$2 g c groups=$((UIDS * 2))
        for ((g = 0; g < groups; g++)); do
            c=$((count / groups + (g < count % groups ? 1 : 0)))
            [ "$c" -gt 0 ] || continue
            ipcsweep-testkit "$kind-create" --count "$c" --as-uid $((BASE_UID + g)) >/dev/null
        done
    }
    make_sets "$SETS" "$BASE_UID" $((UIDS * 2))
    make_kind shm "$SEGMENTS"
    make_kind msg "$QUEUES"
    # Not possible holders: started after the objects' creation second + 1 s + the inheritance window
    # (5 s; they are pid 1's children here, so they look re-parented): wait 6.2 s.
    sleep 6.2
    start_procs "$OLD_PER_UID" "$per_uid"

    # 3. Direct evidence: live recorded sempids and attached segments (root holders).
    semids=($(awk 'NR > 1 && NR <= 11 {print $2}' /proc/sysvipc/sem))
    for id in "${semids[@]}"; do ipcsweep-testkit sem-op --id "$id" --undo --hold & pids+=($!); done
    shmids=($(awk 'NR > 1 && NR <= 11 {print $2}' /proc/sysvipc/shm))
    for id in "${shmids[@]}"; do ipcsweep-testkit shm-attach --id "$id" --hold & pids+=($!); done
    sleep 0.5

    nproc_live=$(ls -d /proc/[0-9]* | wc -l)
    nsem=$(($(wc -l </proc/sysvipc/sem) - 1))
    nshm=$(($(wc -l </proc/sysvipc/shm) - 1))
    nmsg=$(($(wc -l </proc/sysvipc/msg) - 1))
    verdicts=$(ipcsweep list "${EXTRA[@]}" --format json | jq -r '[.objects[].verdict] | group_by(.) | map("\(.[0]) \(length)") | join(", ")')
    echo "state: $nsem sets, $nshm segments, $nmsg queues, $nproc_live processes; verdicts: $verdicts" >"$OUTDIR/state"

    if [ "$MODE" = hold ]; then
        # Keep the state for profiling: enter it with
        #   nsenter -t "$(cat DIR/pid)" -i -p -m -- COMMAND
        touch "$OUTDIR/ready"
        while [ ! -e "$OUTDIR/stop" ]; do sleep 0.5; done
        exit 0
    fi

    # Interleaved rounds (each command once per round), so that a change in the machine's load during the
    # run affects every command alike; the median of RUNS rounds after WARMUP rounds.
    names=(floor lsipc ipcs list orphans floor_list)
    [ -z "${BASE_BIN:-}" ] || names+=(base_list)
    declare -A RESULT SAMPLES
    run_named() {
        case $1 in
        floor) cat /proc/sysvipc/sem /proc/sysvipc/shm /proc/sysvipc/msg ;;
        lsipc) lsipc -s --json ;;
        ipcs) ipcs -a ;;
        list) ipcsweep list "${EXTRA[@]}" --format json ;;
        orphans) ipcsweep orphans "${EXTRA[@]}" ;;
        base_list) "$BASE_BIN/ipcsweep" list "${EXTRA[@]}" --format json ;;
        floor_list) "$FLOOR_BIN" list ;;
        esac
    }
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        for name in "${names[@]}"; do
            t0=$(us_now)
            run_named "$name" >/dev/null 2>&1
            t1=$(us_now)
            [ "$i" -lt "$WARMUP" ] || SAMPLES[$name]+=" $((t1 - t0))"
        done
    done
    for name in "${names[@]}"; do
        # shellcheck disable=SC2086
        RESULT[$name]=$(median ${SAMPLES[$name]} | awk '{printf "%.1f", $1 / 1000}')
    done
    list_bytes=$(ipcsweep list "${EXTRA[@]}" --format json | wc -c)
    rss_list=$(/usr/bin/time -v ipcsweep list "${EXTRA[@]}" --format json 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}')
    rss_orphans=$(/usr/bin/time -v ipcsweep orphans "${EXTRA[@]}" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}')

    # 4. clean vs ipcrm: SETS orphaned sets (owned by uids with no live process), recreated before every run.
    #    The holders' sets go too, so stop them first; segments, queues and processes stay.
    kill "${pids[@]: -20}" 2>/dev/null || true
    sleep 0.3
    recreate() {
        ipcrm --all=sem
        make_sets "$SETS" $((BASE_UID + UIDS)) "$UIDS"
    }
    # clean in each output format (and the older binary's, with BASE_BIN), then ipcrm; each on freshly made sets.
    cleans=(clean clean_json clean_quiet floor_clean)
    [ -z "${BASE_BIN:-}" ] || cleans+=(base_clean base_clean_json base_clean_quiet)
    run_clean() {
        case $1 in
        clean) ipcsweep clean "${EXTRA[@]}" --yes --type sem ;;
        clean_json) ipcsweep clean "${EXTRA[@]}" --yes --type sem --format json ;;
        clean_quiet) ipcsweep clean "${EXTRA[@]}" --yes --type sem --quiet ;;
        floor_clean) "$FLOOR_BIN" clean ;;
        base_clean) "$BASE_BIN/ipcsweep" clean "${EXTRA[@]}" --yes --type sem ;;
        base_clean_json) "$BASE_BIN/ipcsweep" clean "${EXTRA[@]}" --yes --type sem --format json ;;
        base_clean_quiet) "$BASE_BIN/ipcsweep" clean "${EXTRA[@]}" --yes --type sem --quiet ;;
        esac
    }
    declare -A CLEAN_SAMPLES
    ipcrm_samples=()
    clean_ok=yes
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        for name in "${cleans[@]}"; do
            recreate
            t0=$(us_now)
            run_clean "$name" >"$OUTDIR/$name.out" 2>"$OUTDIR/$name.err" || clean_ok="no ($name exit $?)"
            t1=$(us_now)
            left=$(($(wc -l </proc/sysvipc/sem) - 1))
            [ "$left" = 0 ] || clean_ok="no ($name left $left sets)"
            [ "$i" -lt "$WARMUP" ] || CLEAN_SAMPLES[$name]+=" $((t1 - t0))"
        done

        recreate
        args=()
        while read -r id; do args+=(-s "$id"); done < <(awk 'NR > 1 {print $2}' /proc/sysvipc/sem)
        t0=$(us_now)
        ipcrm "${args[@]}"
        t1=$(us_now)
        left=$(($(wc -l </proc/sysvipc/sem) - 1))
        [ "$left" = 0 ] || { echo "bench: ipcrm left $left sets" >&2; exit 1; }
        [ "$i" -lt "$WARMUP" ] || ipcrm_samples+=($((t1 - t0)))
    done
    recreate
    rss_clean=$(/usr/bin/time -v ipcsweep clean "${EXTRA[@]}" --yes --type sem --format json 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}')
    for name in "${cleans[@]}"; do
        # shellcheck disable=SC2086
        RESULT[$name]=$(median ${CLEAN_SAMPLES[$name]} | awk '{printf "%.1f", $1 / 1000}')
    done
    RESULT[ipcrm]=$(median "${ipcrm_samples[@]}" | awk '{printf "%.1f", $1 / 1000}')

    {
        for k in floor lsipc ipcs list orphans floor_list clean clean_json clean_quiet floor_clean ipcrm base_list base_clean base_clean_json \
            base_clean_quiet; do echo "$k ${RESULT[$k]:--}"; done
        echo "rss_list $rss_list"
        echo "rss_orphans $rss_orphans"
        echo "rss_clean $rss_clean"
        echo "list_bytes $list_bytes"
        echo "clean_ok $clean_ok"
    } >"$OUTDIR/results"
    exit 0
fi

# ---------------------------------------------------------------- on the host
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "bench: needs root (unshare, setpriv)" >&2; exit 1; }
for tool in unshare setpriv lsipc ipcs ipcrm jq /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (util-linux, jq, time)" >&2; exit 1; }
done
if [ -z "${BIN:-}" ]; then
    export PATH=/opt/swift/usr/bin:$PATH
    swift build -c release >&2
    BIN=$(swift build -c release --show-bin-path)
fi
# The floor of list and clean: a C loop of only the syscalls they need (Tests/bench/clean-floor.c).
FLOOR_BIN=$(mktemp /tmp/ipcsweep-clean-floor.XXXXXX)
cc -O2 -o "$FLOOR_BIN" Tests/bench/clean-floor.c
export BIN RUNS WARMUP PROCS UIDS OLD_PER_UID SEGMENTS QUEUES BASE_BIN FLOOR_BIN

# Tests/bench/bench.sh --hold SETS DIR: build the state of SETS sets and keep it until DIR/stop exists
# (for profiling: DIR/pid is the namespace's init; run commands inside with
# `nsenter -t "$(cat DIR/pid)" -i -p -m -- valgrind --tool=callgrind ipcsweep list --format json`).
if [ "${1:-}" = "--hold" ]; then
    mkdir -p "$3"
    rm -f "$3/ready" "$3/stop"
    unshare --ipc --pid --fork --mount-proc --mount --propagation private \
        bash "$PWD/Tests/bench/bench.sh" --inner "$2" "$3" hold &
    upid=$!
    while [ ! -e "$3/ready" ]; do
        sleep 0.5
        kill -0 "$upid" 2>/dev/null || { echo "bench: the state could not be built" >&2; exit 1; }
    done
    cat "/proc/$upid/task/$upid/children" | awk '{print $1}' >"$3/pid"
    echo "bench: holding $2 sets; nsenter -t $(cat "$3/pid") -i -p -m -- COMMAND; touch $3/stop to end" >&2
    wait "$upid"
    exit 0
fi

host_objects() { (tail -n +2 /proc/sysvipc/sem; tail -n +2 /proc/sysvipc/shm; tail -n +2 /proc/sysvipc/msg) | wc -l; }
before=$(host_objects)

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 8000 32000)
work=$(mktemp -d /tmp/ipcsweep-bench.XXXXXX)
trap 'rm -rf "$work" "$FLOOR_BIN"' EXIT

echo "ipcsweep benchmark: $(uname -r), $(nproc) CPUs, median of $RUNS runs after $WARMUP warm-up; times in ms"
for sets in "${sizes[@]}"; do
    mkdir -p "$work/$sets"
    unshare --ipc --pid --fork --mount-proc --mount --propagation private \
        bash "$PWD/Tests/bench/bench.sh" --inner "$sets" "$work/$sets"
done

after=$(host_objects)
if [ "$after" != "$before" ]; then
    echo "bench: FAIL: the host's IPC namespace held $before objects before and $after after" >&2
    exit 1
fi

get() { awk -v k="$2" '$1 == k {print $2}' "$work/$1/results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
echo
for sets in "${sizes[@]}"; do echo "SETS=$sets $(cat "$work/$sets/state")"; done
echo
printf '%-34s' "command"
for sets in "${sizes[@]}"; do printf '%12s' "$sets sets"; done
echo
row() { # row LABEL KEY
    printf '%-34s' "$1"
    for sets in "${sizes[@]}"; do printf '%12s' "$(get "$sets" "$2")"; done
    echo
}
row "cat /proc/sysvipc/{sem,shm,msg}" floor
row "lsipc -s --json" lsipc
row "ipcs -a" ipcs
row "ipcsweep list --format json" list
row "C floor of list (clean-floor.c)" floor_list
row "ipcsweep orphans" orphans
row "ipcsweep clean --yes --type sem" clean
row "  ... --format json" clean_json
row "  ... --quiet" clean_quiet
row "C floor of clean (clean-floor.c)" floor_clean
row "ipcrm -s ID ... (same ids)" ipcrm
if [ -n "${BASE_BIN:-}" ]; then
    row "base: list --format json" base_list
    row "base: clean --yes --type sem" base_clean
    row "base:   ... --format json" base_clean_json
    row "base:   ... --quiet" base_clean_quiet
fi
echo
printf '%-34s' "ratio (target)"
echo
rrow() { # rrow LABEL A B TARGET
    printf '%-34s' "$1"
    for sets in "${sizes[@]}"; do printf '%12s' "$(ratio "$(get "$sets" "$2")" "$(get "$sets" "$3")")"; done
    printf '   (target <= %s)\n' "$4"
}
rrow "list json / lsipc -s --json" list lsipc 1.0
rrow "list json / /proc floor" list floor 2.0
rrow "clean / ipcrm" clean ipcrm 2.0
rrow "clean json / ipcrm" clean_json ipcrm 2.0
rrow "clean quiet / ipcrm" clean_quiet ipcrm 2.0
rrow "C floor of clean / ipcrm" floor_clean ipcrm 2.0
rrow "list json / C floor of list" list floor_list 1.0
if [ -n "${BASE_BIN:-}" ]; then
    rrow "list json / base list json" list base_list 1.0
    rrow "clean json / base clean json" clean_json base_clean_json 1.0
fi
echo
printf '%-34s' "peak RSS KiB: list --format json"
for sets in "${sizes[@]}"; do printf '%12s' "$(get "$sets" rss_list)"; done
echo "   (target < 65536)"
printf '%-34s' "peak RSS KiB: orphans"
for sets in "${sizes[@]}"; do printf '%12s' "$(get "$sets" rss_orphans)"; done
echo
printf '%-34s' "peak RSS KiB: clean --format json"
for sets in "${sizes[@]}"; do printf '%12s' "$(get "$sets" rss_clean)"; done
echo
printf '%-34s' "list --format json output bytes"
for sets in "${sizes[@]}"; do printf '%12s' "$(get "$sets" list_bytes)"; done
echo
printf '%-34s' "clean removed every set"
for sets in "${sizes[@]}"; do printf '%12s' "$(get "$sets" clean_ok)"; done
echo
echo "host IPC namespace: $after objects before and after (unchanged)"
