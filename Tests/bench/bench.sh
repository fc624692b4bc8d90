#!/usr/bin/env bash
# ipcsweep benchmark (issues 6 and 20): every command against its floor (Tests/bench/floor.c: a C program that
# makes only the reads and calls the command cannot avoid) and against the tools people run today, in one run,
# ending with one summary table (SPEC "Performance targets"). Needs root.
#
#   Tests/bench/bench.sh                every part (about 6 minutes on 2 shared cores)
#   Tests/bench/bench.sh --quick        32,000 sets only (no linearity), fewer runs (about 2 minutes)
#   Tests/bench/bench.sh --smoke        tiny states, one run each: checks that every part works (under a minute)
#   Tests/bench/bench.sh SETS...        the System V part at these sizes (default 1000 8000 32000)
#   PARTS="sysv small posix" Tests/bench/bench.sh   which parts run (default: all three)
#   Tests/bench/bench.sh --hold SETS DIR            build the System V state and keep it for profiling
#
# Parts:
#   sysv   (this script) fresh private IPC + PID + mount namespaces per size, holding SETS semaphore sets
#          (1-4 semaphores), 4,096 segments, 4,000 queues and 2,000 processes of 50 uids. Interleaved rounds,
#          medians: list --format json and its floor, lsipc -s --json, ipcs -a, cat /proc/sysvipc/*,
#          orphans; then clean --yes --type sem (table, JSON, quiet) of SETS orphaned sets, its floor and one
#          ipcrm over the same ids, and clean and its floor on a busy host (processes born all through), the sets
#          recreated before every run; peak RSS of list, orphans, clean.
#   small  Tests/bench/startup.sh: --version against a static one-line Swift program, and `list` on a small
#          system (4 objects, 300 processes) against lsipc -s and its floor.
#   posix  Tests/bench/posix-bench.sh: list --type posix against lsof /dev/shm (4,000 objects, 1,000 processes);
#          list, clean --dry-run and clean --yes of POSIX objects against their floors (floor.c posix-*).
#
# The state (System V part):
#   - 2,000 live processes of 50 uids (10000..10049): OLD_PER_UID (default 1) of each uid started before the
#     objects, the others 6.2 s after them (beyond the one-second slack and the 5 s inheritance window: they are
#     pid 1's children, so they look re-parented; provably younger and not possible holders),
#   - SETS sets, 4,096 segments and 4,000 queues owned by 100 uids (10000..10099): the half whose uid has an
#     older live process is suspect, the other half orphaned; 10 sets with a live sempid and 10 attached
#     segments are in-use. The verdicts are checked object by object against that rule before anything is
#     timed (the run stops when they differ), and the last clean (every type) must remove exactly the
#     orphaned half.
#   - The owners have passwd and group entries (bind-mounted inside the mount namespace only), /dev/shm and
#     /run are private tmpfs (the lock and the clock pair stay inside).
# Every ipcsweep command gets IPCSWEEP_ARGS (default --all-processes-visible: the namespace is complete, and
# without it a child pid namespace is a blind spot and every verdict unknown).
#
# Environment: RUNS (default 7; --quick 5, --smoke 1), WARMUP (1; smoke 0), PROCS (2000), UIDS (50),
# OLD_PER_UID (1), SEGMENTS (4096), QUEUES (4000), BIN (a directory with ipcsweep and ipcsweep-testkit;
# default: `make build` and the testkit with the same flags), IPCSWEEP_ARGS, BASE_BIN (an older ipcsweep
# timed in the same rounds, for an A/B ratio; BASE_ARGS its arguments), SMALL_RUNS (101), POSIX_OBJECTS
# (4000), POSIX_PROCS (1000), KEEP (a directory to keep every part's raw results in).
# Needs util-linux (unshare, setpriv, lsipc, ipcs, ipcrm, ipcmk), jq, lsof, GNU time (/usr/bin/time), cc.
set -euo pipefail

MODE=full
case "${1:-}" in
--quick) MODE=quick; shift ;;
--smoke) MODE=smoke; shift ;;
esac
if [ "$MODE" = quick ]; then
    RUNS=${RUNS:-5}
    SMALL_RUNS=${SMALL_RUNS:-51}
    POSIX_RUNS=${POSIX_RUNS:-5}
elif [ "$MODE" = smoke ]; then
    RUNS=${RUNS:-1}
    WARMUP=${WARMUP:-0}
    PROCS=${PROCS:-100}
    UIDS=${UIDS:-10}
    SEGMENTS=${SEGMENTS:-64}
    QUEUES=${QUEUES:-64}
    SMALL_RUNS=${SMALL_RUNS:-3}
    SMALL_PROCS=${SMALL_PROCS:-30}
    POSIX_RUNS=${POSIX_RUNS:-1}
    POSIX_OBJECTS=${POSIX_OBJECTS:-200}
    POSIX_PROCS=${POSIX_PROCS:-150}
fi
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
PROCS=${PROCS:-2000}
UIDS=${UIDS:-50}
OLD_PER_UID=${OLD_PER_UID:-1}
SEGMENTS=${SEGMENTS:-4096}
QUEUES=${QUEUES:-4000}
IPCSWEEP_ARGS=${IPCSWEEP_ARGS---all-processes-visible}
BASE_ARGS=${BASE_ARGS-$IPCSWEEP_ARGS}
BASE_UID=10000

median() { # median of the arguments (numbers)
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}

# ---------------------------------------------------------------- inside the namespaces
if [ "${1:-}" = "--inner" ]; then
    SETS=$2
    OUTDIR=$3
    STAGE=${4:-measure}
    export PATH="$BIN:$PATH"
    read -r -a EXTRA <<<"$IPCSWEEP_ARGS"
    read -r -a BEXTRA <<<"$BASE_ARGS"
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
    # A private /dev/shm (the host's POSIX objects are neither measured nor touched) and /run (clean's lock,
    # the clock pair).
    mount -t tmpfs -o mode=1777,size=64m bench-shm /dev/shm
    mount -t tmpfs -o mode=755,size=16m bench-run /run
    mount --bind "$OUTDIR/passwd" /etc/passwd
    mount --bind "$OUTDIR/group" /etc/group

    # ipcsweep's clock pair (kept in the private /run) from before the objects, as on a host running since boot.
    ipcsweep list "${EXTRA[@]}" >/dev/null

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

    # The verdict of every object as the state intends it: in-use for the 20 above, else orphaned when its
    # owner has no live process (uid >= BASE_UID + UIDS), else suspect. "TYPE ID VERDICT" per line.
    expected() { # expected INUSE_IDS...: from /proc/sysvipc, "sem:ID" / "shm:ID" entries are in-use
        local f
        for f in sem shm msg; do
            awk -v t="$f" -v lim=$((BASE_UID + UIDS)) -v inuse=" $* " '
                NR == 1 { for (i = 1; i <= NF; i++) { if ($i ~ /^(semid|shmid|msqid)$/) idc = i; if ($i == "uid") uc = i }; next }
                { v = index(inuse, " " t ":" $idc " ") ? "in-use" : ($uc >= lim ? "orphaned" : "suspect"); print t, $idc, v }
            ' "/proc/sysvipc/$f"
        done
    }
    inuse=()
    for id in "${semids[@]}"; do inuse+=("sem:$id"); done
    for id in "${shmids[@]}"; do inuse+=("shm:$id"); done
    expected "${inuse[@]}" | sort >"$OUTDIR/expected"
    ipcsweep list "${EXTRA[@]}" --format json | jq -r '.objects[] | select(.type == "sem" or .type == "shm" or .type == "msg") | "\(.type) \(.id) \(.verdict)"' | sort >"$OUTDIR/got"
    nproc_live=$(ls -d /proc/[0-9]* | wc -l)
    nsem=$(($(wc -l </proc/sysvipc/sem) - 1))
    nshm=$(($(wc -l </proc/sysvipc/shm) - 1))
    nmsg=$(($(wc -l </proc/sysvipc/msg) - 1))
    verdicts=$(awk '{n[$3]++} END {s = ""; for (v in n) s = s (s ? ", " : "") v " " n[v]; print s}' "$OUTDIR/got")
    echo "state: $nsem sets, $nshm segments, $nmsg queues, $nproc_live processes; verdicts: $verdicts" >"$OUTDIR/state"
    if ! cmp -s "$OUTDIR/expected" "$OUTDIR/got"; then
        {
            echo "bench: the verdicts are not the state's intended ones ($(diff "$OUTDIR/expected" "$OUTDIR/got" | grep -c '^>') differ; expected < > got):"
            diff "$OUTDIR/expected" "$OUTDIR/got" | head -10
            echo "(without --all-processes-visible in IPCSWEEP_ARGS every verdict is unknown here)"
        } >&2
        exit 1
    fi

    if [ "$STAGE" = hold ]; then
        # Keep the state for profiling: enter it with
        #   nsenter -t "$(cat DIR/pid)" -i -p -m -- COMMAND
        touch "$OUTDIR/ready"
        while [ ! -e "$OUTDIR/stop" ]; do sleep 0.5; done
        exit 0
    fi

    declare -A WALL CPU
    # timed NAME COMMAND...: one run, output to /dev/null; wall clock (µs) and CPU time (user + system, ms)
    # kept unless warming up ($i < WARMUP).
    timed() {
        local name=$1 t0 t1 u s
        shift
        TIMEFORMAT='%3U %3S'
        t0=${EPOCHREALTIME/./}
        { time "$@" >/dev/null 2>&1; } 2>"$OUTDIR/cpu"
        t1=${EPOCHREALTIME/./}
        read -r u s <"$OUTDIR/cpu"
        [ "$i" -lt "$WARMUP" ] || { WALL[$name]+=" $((t1 - t0))"; CPU[$name]+=" $(awk -v u="$u" -v s="$s" 'BEGIN {print (u + s) * 1000}')"; }
    }

    # Interleaved rounds (each command once per round), so that a change in the machine's load during the
    # run affects every command alike; the median of RUNS rounds after WARMUP rounds.
    names=(floor lsipc ipcs list floor_list orphans list_user audit_json)
    [ -z "${BASE_BIN:-}" ] || names+=(base_list base_list_user base_audit_json)
    run_named() {
        case $1 in
        floor) cat /proc/sysvipc/sem /proc/sysvipc/shm /proc/sysvipc/msg ;;
        lsipc) lsipc -s --json ;;
        ipcs) ipcs -a ;;
        list) ipcsweep list "${EXTRA[@]}" --format json ;;
        orphans) ipcsweep orphans "${EXTRA[@]}" ;;
        base_list) "$BASE_BIN/ipcsweep" list "${BEXTRA[@]}" --format json ;;
        # One owner's objects of the 2 × UIDS owners: a filtered list reads only what its filter can select.
        list_user) ipcsweep list "${EXTRA[@]}" --format json --user $((BASE_UID + 1)) ;;
        base_list_user) "$BASE_BIN/ipcsweep" list "${BEXTRA[@]}" --format json --user $((BASE_UID + 1)) ;;
        # The cron and monitoring report, as JSON (every orphan and suspect with its reason).
        audit_json) ipcsweep audit "${EXTRA[@]}" --format json ;;
        base_audit_json) "$BASE_BIN/ipcsweep" audit "${BEXTRA[@]}" --format json ;;
        floor_list) "$FLOOR_BIN" list --json --quiet ;;
        esac
    }
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        for name in "${names[@]}"; do timed "$name" run_named "$name"; done
    done
    "$FLOOR_BIN" list --json 2>"$OUTDIR/floor_list.reads" >/dev/null
    list_bytes=$(ipcsweep list "${EXTRA[@]}" --format json | wc -c)
    peak() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}'; }
    rss_list=$(peak ipcsweep list "${EXTRA[@]}" --format json)
    rss_orphans=$(peak ipcsweep orphans "${EXTRA[@]}")
    # clean of every kind in the same state (half the objects suspect: their skips are in the report), as a table;
    # --dry-run makes the same plan, fresh reads and report as a removal and leaves the state for what follows.
    rss_clean_all=$(peak ipcsweep clean "${EXTRA[@]}" --dry-run)
    rss_audit_json=$(peak ipcsweep audit "${EXTRA[@]}" --format json)

    # 4. clean vs its floor and ipcrm: SETS orphaned sets (owned by uids with no live process), recreated before
    #    every run. The holders' sets go too, so stop them first; segments, queues and processes stay.
    kill "${pids[@]: -20}" 2>/dev/null || true
    sleep 0.3
    recreate() {
        ipcrm --all=sem
        make_sets "$SETS" $((BASE_UID + UIDS)) "$UIDS"
    }
    cleans=(clean clean_json clean_quiet floor_clean ipcrm clean_busy floor_clean_busy)
    [ -z "${BASE_BIN:-}" ] || cleans+=(base_clean base_clean_json base_clean_quiet base_clean_busy)
    # A busy host (a build server, fifty containers): processes are born all through the clean, about 150 a
    # second here, each living 0.3 s. clean reads the new ones before every verdict of a recently active object
    # (the sets were just made); its floor does not look for them.
    busy_start() {
        rm -f "$OUTDIR/busy.stop"
        (while [ ! -e "$OUTDIR/busy.stop" ]; do sleep 0.3 & sleep 0.01; done; wait) &
        busy_pid=$!
        sleep 0.3
    }
    busy_stop() { touch "$OUTDIR/busy.stop"; wait "$busy_pid" 2>/dev/null || true; }
    ipcrm_ids() { awk 'NR > 1 {printf " -s %s", $2}' /proc/sysvipc/sem; }
    run_clean() {
        case $1 in
        clean) ipcsweep clean "${EXTRA[@]}" --yes --type sem ;;
        clean_json) ipcsweep clean "${EXTRA[@]}" --yes --type sem --format json ;;
        clean_quiet) ipcsweep clean "${EXTRA[@]}" --yes --type sem --quiet ;;
        floor_clean) "$FLOOR_BIN" clean --quiet ;;
        # shellcheck disable=SC2086
        ipcrm) ipcrm $IPCRM_ARGS ;;
        base_clean) "$BASE_BIN/ipcsweep" clean "${BEXTRA[@]}" --yes --type sem ;;
        base_clean_json) "$BASE_BIN/ipcsweep" clean "${BEXTRA[@]}" --yes --type sem --format json ;;
        base_clean_quiet) "$BASE_BIN/ipcsweep" clean "${BEXTRA[@]}" --yes --type sem --quiet ;;
        clean_busy) ipcsweep clean "${EXTRA[@]}" --yes --type sem ;;
        floor_clean_busy) "$FLOOR_BIN" clean --quiet ;;
        base_clean_busy) "$BASE_BIN/ipcsweep" clean "${BEXTRA[@]}" --yes --type sem ;;
        esac
    }
    clean_ok=yes
    for ((i = 0; i < WARMUP + RUNS; i++)); do
        for name in "${cleans[@]}"; do
            recreate
            IPCRM_ARGS=$(ipcrm_ids)
            case $name in *_busy) busy_start ;; esac
            timed "$name" run_clean "$name"
            case $name in *_busy) busy_stop ;; esac
            left=$(($(wc -l </proc/sysvipc/sem) - 1))
            [ "$left" = 0 ] || clean_ok="no ($name left $left sets)"
            [ "$(($(wc -l </proc/sysvipc/shm) - 1)):$(($(wc -l </proc/sysvipc/msg) - 1))" = "$nshm:$nmsg" ] ||
                clean_ok="no ($name removed a segment or a queue)"
        done
    done
    # The JSON report says so too.
    recreate
    removed=$(ipcsweep clean "${EXTRA[@]}" --yes --type sem --format json | jq '.summary.removed')
    [ "$removed" = "$SETS" ] || clean_ok="no (clean --format json reported $removed removed of $SETS)"
    recreate
    rss_clean=$(peak ipcsweep clean "${EXTRA[@]}" --yes --type sem)
    recreate
    rss_clean_json=$(peak ipcsweep clean "${EXTRA[@]}" --yes --type sem --format json)
    recreate
    "$FLOOR_BIN" clean 2>"$OUTDIR/floor_clean.reads"

    # 5. clean of every type removes exactly the orphaned half: every object of the uids without a process.
    recreate
    lim=$((BASE_UID + UIDS))
    owners() { for f in sem shm msg; do awk -v t=$f 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "uid") uc = i; next} {print t, $uc}' "/proc/sysvipc/$f"; done; }
    keep_before=$(owners | awk -v lim=$lim '$2 < lim' | wc -l)
    drop_before=$(owners | awk -v lim=$lim '$2 >= lim' | wc -l)
    # Peak RSS of the removal of every kind at once, as an administrator runs it (its JSON counts what was removed).
    /usr/bin/time -v -o "$OUTDIR/clean_all.time" ipcsweep clean "${EXTRA[@]}" --yes --format json >"$OUTDIR/clean_all.json"
    rss_clean_all_json=$(awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}' "$OUTDIR/clean_all.time")
    all_removed=$(jq '.summary.removed' "$OUTDIR/clean_all.json")
    keep_after=$(owners | awk -v lim=$lim '$2 < lim' | wc -l)
    drop_after=$(owners | awk -v lim=$lim '$2 >= lim' | wc -l)
    if [ "$all_removed:$keep_after:$drop_after" = "$drop_before:$keep_before:0" ]; then
        final_ok="yes ($all_removed orphaned removed, $keep_after suspect kept)"
    else
        final_ok="no (removed $all_removed of $drop_before orphaned; suspect kept $keep_after of $keep_before; orphaned left $drop_after)"
    fi

    {
        for k in floor lsipc ipcs list floor_list orphans list_user audit_json base_list base_list_user base_audit_json clean clean_json clean_quiet floor_clean ipcrm \
            base_clean base_clean_json base_clean_quiet clean_busy floor_clean_busy base_clean_busy; do
            # shellcheck disable=SC2086
            if [ -n "${WALL[$k]:-}" ]; then
                echo "$k $(median ${WALL[$k]} | awk '{printf "%.1f", $1 / 1000}')"
                echo "cpu_$k $(median ${CPU[$k]} | awk '{printf "%.1f", $1}')"
            else
                echo "$k -"
            fi
        done
        echo "rss_list $rss_list"
        echo "rss_orphans $rss_orphans"
        echo "rss_clean $rss_clean"
        echo "rss_clean_json $rss_clean_json"
        echo "rss_clean_all $rss_clean_all"
        echo "rss_clean_all_json $rss_clean_all_json"
        echo "rss_audit_json $rss_audit_json"
        echo "list_bytes $list_bytes"
        echo "objects $((nsem + nshm + nmsg))"
        echo "processes $nproc_live"
        echo "clean_ok $clean_ok"
        echo "final_ok $final_ok"
    } >"$OUTDIR/results"
    exit 0
fi

# ---------------------------------------------------------------- on the host
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "bench: needs root (unshare, setpriv)" >&2; exit 1; }
for tool in unshare setpriv lsipc ipcs ipcrm ipcmk jq lsof cc /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (util-linux, jq, lsof, gcc, time)" >&2; exit 1; }
done
if [ -z "${BIN:-}" ]; then
    # The shipped binary (`make build`: static Swift runtime, lld), and the test kit with the same flags (one
    # build directory, so nothing is compiled twice).
    export PATH=/opt/swift/usr/bin:$PATH
    make -s build >&2
    # shellcheck disable=SC2046
    swift build -c release --static-swift-stdlib --disable-local-rpath --product ipcsweep-testkit \
        $(make -s --eval 'print-ldflags: ; @echo $(SWIFT_LDFLAGS) $(SWIFT_CODEGEN)' print-ldflags) >&2
    BIN=$PWD/.build/release
fi
BIN=$(cd "$BIN" && pwd)
work=$(mktemp -d /tmp/ipcsweep-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
FLOOR_BIN=$work/floor
cc -O2 -Wall -o "$FLOOR_BIN" Tests/bench/floor.c
export BIN RUNS WARMUP PROCS UIDS OLD_PER_UID SEGMENTS QUEUES BASE_BIN IPCSWEEP_ARGS BASE_ARGS FLOOR_BIN

if [ "${1:-}" = "--hold" ]; then
    mkdir -p "$3"
    rm -f "$3/ready" "$3/stop"
    cp "$FLOOR_BIN" "$3/floor"
    unshare --ipc --pid --fork --mount-proc --mount --propagation private \
        bash "$PWD/Tests/bench/bench.sh" --inner "$2" "$3" hold &
    upid=$!
    while [ ! -e "$3/ready" ]; do
        sleep 0.5
        kill -0 "$upid" 2>/dev/null || { echo "bench: the state could not be built" >&2; exit 1; }
    done
    awk '{print $1}' "/proc/$upid/task/$upid/children" >"$3/pid"
    echo "bench: holding $2 sets ($(cat "$3/state")); nsenter -t $(cat "$3/pid") -i -p -m -- COMMAND" \
        "(the floor is $3/floor); touch $3/stop to end" >&2
    wait "$upid"
    exit 0
fi

host_objects() { (tail -n +2 /proc/sysvipc/sem; tail -n +2 /proc/sysvipc/shm; tail -n +2 /proc/sysvipc/msg) | wc -l; }
before=$(host_objects)
host_shm_before=$(ls -A /dev/shm | wc -l)

sizes=("$@")
if [ ${#sizes[@]} -eq 0 ]; then
    case $MODE in
    full) sizes=(1000 8000 32000) ;;
    quick) sizes=(32000) ;;
    smoke) sizes=(100 200 300) ;;
    esac
fi
PARTS=${PARTS:-sysv small posix}
top=${sizes[-1]}
part() { [[ " $PARTS " == *" $1 "* ]]; }

echo "ipcsweep benchmark ($MODE): $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start;" \
    "median of $RUNS runs after $WARMUP warm-up; times in ms"
echo "binary: $BIN/ipcsweep ($(git describe --always --dirty 2>/dev/null || echo '?')); ipcsweep arguments: ${IPCSWEEP_ARGS:-none}"
started=$SECONDS

if part sysv; then
    for sets in "${sizes[@]}"; do
        mkdir -p "$work/$sets"
        unshare --ipc --pid --fork --mount-proc --mount --propagation private \
            bash "$PWD/Tests/bench/bench.sh" --inner "$sets" "$work/$sets"
    done
fi
if part small; then
    echo
    RUNS=${SMALL_RUNS:-101} WARMUP=5 PROCS=${SMALL_PROCS:-300} RESULTS=$work/small FLOOR_BIN=$FLOOR_BIN \
        Tests/bench/startup.sh
fi
if part posix; then
    echo
    RUNS=${POSIX_RUNS:-7} OBJECTS=${POSIX_OBJECTS:-4000} PROCS=${POSIX_PROCS:-1000} RESULTS=$work/posix \
        FLOOR_BIN=$FLOOR_BIN Tests/bench/posix-bench.sh
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

after=$(host_objects)
if [ "$after" != "$before" ] || [ "$(ls -A /dev/shm | wc -l)" != "$host_shm_before" ]; then
    echo "bench: FAIL: the host's IPC namespace held $before objects before and $after after (or /dev/shm changed)" >&2
    exit 1
fi

get() { # get FILE KEY
    [ -f "$1" ] || { echo -; return; }
    awk -v k="$2" '$1 == k {$1 = ""; sub(/^ /, ""); print; found = 1} END {if (!found) print "-"}' "$1"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b + 0 <= 0) print "-"; else printf "%.2f", a / b}'; }
mib() { awk -v k="$1" 'BEGIN {if (k == "-" || k == "") print "-"; else printf "%.1f", k / 1024}'; }

if part sysv; then
    echo
    for sets in "${sizes[@]}"; do echo "SETS=$sets $(cat "$work/$sets/state")"; done
    echo
    printf '%-36s' "command (wall ms; cpu ms)"
    for sets in "${sizes[@]}"; do printf '%20s' "$sets sets"; done
    echo
    row() { # row LABEL KEY
        printf '%-36s' "$1"
        for sets in "${sizes[@]}"; do
            printf '%20s' "$(get "$work/$sets/results" "$2") ($(get "$work/$sets/results" "cpu_$2"))"
        done
        echo
    }
    row "cat /proc/sysvipc/{sem,shm,msg}" floor
    row "lsipc -s --json" lsipc
    row "ipcs -a" ipcs
    row "ipcsweep list --format json" list
    row "floor of list --format json" floor_list
    row "ipcsweep orphans" orphans
    row "list --format json --user (1 owner)" list_user
    row "audit --format json" audit_json
    row "ipcsweep clean --yes --type sem" clean
    row "  ... --format json" clean_json
    row "  ... --quiet" clean_quiet
    row "floor of clean" floor_clean
    row "ipcrm -s ID ... (same ids)" ipcrm
    row "clean, busy host (~150 births/s)" clean_busy
    row "floor of clean, busy host" floor_clean_busy
    if [ -n "${BASE_BIN:-}" ]; then
        row "base: list --format json" base_list
        row "base: list --format json --user (1 owner)" base_list_user
        row "base: audit --format json" base_audit_json
        row "base: clean --yes --type sem" base_clean
        row "base:   ... --format json" base_clean_json
        row "base:   ... --quiet" base_clean_quiet
        row "base: clean, busy host" base_clean_busy
    fi
    kv() { # kv LABEL KEY
        printf '%-36s' "$1"
        for sets in "${sizes[@]}"; do printf '%20s' "$(get "$work/$sets/results" "$2")"; done
        echo
    }
    kv "peak RSS KiB: list --format json" rss_list
    kv "peak RSS KiB: orphans" rss_orphans
    kv "peak RSS KiB: clean" rss_clean
    kv "peak RSS KiB: clean --format json" rss_clean_json
    kv "peak RSS KiB: clean --dry-run, every kind" rss_clean_all
    kv "peak RSS KiB: clean --yes --format json, every kind" rss_clean_all_json
    kv "peak RSS KiB: audit --format json" rss_audit_json
    kv "list --format json output bytes" list_bytes
    echo
    for sets in "${sizes[@]}"; do
        echo "SETS=$sets clean removed every set, and nothing else: $(get "$work/$sets/results" clean_ok)"
        echo "SETS=$sets clean of every type removed the orphaned half: $(get "$work/$sets/results" final_ok)"
        echo "SETS=$sets floor reads, list --json: $(cut -d: -f2- "$work/$sets/floor_list.reads")"
        echo "SETS=$sets floor reads, clean:       $(cut -d: -f2- "$work/$sets/floor_clean.reads")"
    done
fi

# ---------------------------------------------------------------- the summary (SPEC "Performance targets")
R=$work/$top/results
S=$work/small
P=$work/posix
echo
echo "Summary ($MODE; System V state: $top sets, $(get "$R" objects) objects, $(get "$R" processes) processes;" \
    "load average $load_end at the end; $((SECONDS - started)) s):"
echo
printf '| %-46s | %9s | %-24s | %9s | %-16s | %-7s |\n' command "now (ms)" "against" "ms" "ratio (target)" met
printf '|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "-----------" "--------------------------" "-----------" "------------------" "---------"
line() { # line COMMAND NOW AGAINST AGAINST_MS TARGET
    local r met
    r=$(ratio "$2" "$4")
    met=$(awk -v r="$r" -v t="$5" 'BEGIN {if (r == "-") print "-"; else if (r + 0 <= t + 0) print "yes"; else printf "no %.1fx\n", r / t}')
    printf '| %-46s | %9s | %-24s | %9s | %-16s | %-7s |\n' "$1" "$2" "$3" "$4" "$r (<= $5)" "$met"
}
if part sysv; then
    line "list --format json" "$(get "$R" list)" "its floor" "$(get "$R" floor_list)" 1.5
    line "list --format json" "$(get "$R" list)" "lsipc -s --json" "$(get "$R" lsipc)" 2.0
    line "orphans (table)" "$(get "$R" orphans)" "list --format json" "$(get "$R" list)" 1.0
    line "list --format json --user (1 owner)" "$(get "$R" list_user)" "list --format json" "$(get "$R" list)" 1.0
    line "clean --yes --type sem (table)" "$(get "$R" clean)" "its floor" "$(get "$R" floor_clean)" 1.5
    line "clean --yes --type sem --format json" "$(get "$R" clean_json)" "its floor" "$(get "$R" floor_clean)" 1.5
    line "clean --yes --type sem --quiet" "$(get "$R" clean_quiet)" "its floor" "$(get "$R" floor_clean)" 1.5
    line "clean --yes --type sem (table)" "$(get "$R" clean)" "ipcrm over the same ids" "$(get "$R" ipcrm)" 4.0
    line "clean --yes --type sem --format json" "$(get "$R" clean_json)" "ipcrm over the same ids" "$(get "$R" ipcrm)" 4.0
    line "clean --yes --type sem, busy host" "$(get "$R" clean_busy)" "its floor, busy host" "$(get "$R" floor_clean_busy)" 1.5
    cpu_note="CPU time (user + system, ms; the floor runs on one thread, ipcsweep on two):"
    cpu_note+=" list --format json $(get "$R" cpu_list) vs floor $(get "$R" cpu_floor_list) ($(ratio "$(get "$R" cpu_list)" "$(get "$R" cpu_floor_list)") x);"
    cpu_note+=" orphans $(get "$R" cpu_orphans) ($(ratio "$(get "$R" cpu_orphans)" "$(get "$R" cpu_list)") x list);"
    cpu_note+=" clean $(get "$R" cpu_clean) vs floor $(get "$R" cpu_floor_clean) ($(ratio "$(get "$R" cpu_clean)" "$(get "$R" cpu_floor_clean)") x)"
fi
if part small; then
    line "list, 4 objects + $(get "$S" small_procs) processes" "$(get "$S" small_list)" "lsipc -s" "$(get "$S" small_lsipc)" 4.0
    line "list, 4 objects + $(get "$S" small_procs) processes" "$(get "$S" small_list)" "its floor" "$(get "$S" small_floor)" 1.5
    line "list --format json, small system" "$(get "$S" small_list_json)" "its floor" "$(get "$S" small_floor_json)" 1.5
    line "clean --yes --type posix, nothing there" "$(get "$S" small_none)" "lsipc -s" "$(get "$S" small_lsipc)" 4.0
    line "--version" "$(get "$S" version)" "static one-line Swift" "$(get "$S" hello)" 1.5
fi
if part posix; then
    line "list --type posix, $(get "$P" files) files, $(get "$P" processes) processes" "$(get "$P" list_posix)" "lsof /dev/shm" "$(get "$P" lsof)" 1.0
    line "list --type posix" "$(get "$P" list_posix)" "its floor" "$(get "$P" floor_list)" 1.5
    line "list --format json --type posix" "$(get "$P" list_json)" "its floor" "$(get "$P" floor_json)" 1.5
    line "clean --dry-run --type posix" "$(get "$P" clean_dry)" "its floor" "$(get "$P" floor_clean_dry)" 1.5
    line "clean --yes --type posix --name 'gone_*'" "$(get "$P" clean_yes)" "its floor" "$(get "$P" floor_clean_yes)" 1.5
    # A filtered list reads only what its filter can select.
    line "list --type posix --name 'sem.*' (4 % of files)" "$(get "$P" list_name)" "list --type posix" "$(get "$P" list_posix)" 1.0
    posix_note="clean --yes --type posix and its floor removed every gone_* file in every run: $([ "$(get "$P" posix_gone_left)" = 0 ] && echo yes || echo "no ($(get "$P" posix_gone_left) left)")"
fi
[ -z "${cpu_note:-}" ] || { echo; echo "$cpu_note"; }
[ -z "${posix_note:-}" ] || { echo; echo "$posix_note"; }
if part sysv; then
    echo
    printf '| %-46s | %9s | %-16s | %-7s |\n' "peak RSS at $top sets" "MiB" "target" met
    printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" "-----------" "------------------" "---------"
    for k in "list --format json:rss_list" "orphans:rss_orphans" "clean --yes --type sem:rss_clean" "clean --yes --type sem --format json:rss_clean_json" \
        "clean --dry-run, every kind (table):rss_clean_all" "clean --yes --format json, every kind:rss_clean_all_json"; do
        m=$(mib "$(get "$R" "${k#*:}")")
        printf '| %-46s | %9s | %-16s | %-7s |\n' "${k%%:*}" "$m" "< 64" "$(awk -v m="$m" 'BEGIN {print (m == "-" ? "-" : (m + 0 < 64 ? "yes" : "no"))}')"
    done
    if [ ${#sizes[@]} -ge 3 ]; then
        # Linear in objects plus processes: the cost of each added object is the same from the first size to
        # the second as from the second to the third (a fixed part, the processes, cancels out).
        echo
        a=${sizes[0]} b=${sizes[1]} c=${sizes[2]}
        printf '| %-30s | %10s | %10s | %10s | %-22s | %-22s | %-6s |\n' "linearity (wall ms)" "$a sets" "$b sets" "$c sets" \
            "us per object $a-$b" "us per object $b-$c" "ratio"
        printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" "------------" "------------" "------------" \
            "------------------------" "------------------------" "--------"
        for k in "list --format json:list" "floor of list --format json:floor_list" "orphans:orphans" "clean --yes --type sem:clean" "clean --format json:clean_json"; do
            key=${k#*:}
            ta=$(get "$work/$a/results" "$key") tb=$(get "$work/$b/results" "$key") tc=$(get "$work/$c/results" "$key")
            oa=$(get "$work/$a/results" objects) ob=$(get "$work/$b/results" objects) oc=$(get "$work/$c/results" objects)
            case $key in clean*) oa=$a ob=$b oc=$c ;; esac  # clean handles SETS sets
            awk -v l="${k%%:*}" -v ta="$ta" -v tb="$tb" -v tc="$tc" -v oa="$oa" -v ob="$ob" -v oc="$oc" 'BEGIN {
                m1 = (tb - ta) * 1000 / (ob - oa); m2 = (tc - tb) * 1000 / (oc - ob)
                printf "| %-30s | %10s | %10s | %10s | %-22.2f | %-22.2f | %-6.2f |\n", l, ta, tb, tc, m1, m2, (m1 > 0 ? m2 / m1 : 0) }'
        done
    fi
    echo
    echo "clean removed every set and nothing else: $(get "$R" clean_ok); clean of every type removed the orphaned half: $(get "$R" final_ok)"
fi
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp -r "$work"/. "$KEEP"/; fi
echo "host IPC namespace: $after objects before and after (unchanged)"
