#!/usr/bin/env bash
# POSIX IPC benchmark (issues 12 and 20): `ipcsweep list` over POSIX objects with live processes, next to
# `lsof /dev/shm` (the tool people use to ask who holds those files) and `ls -l` of the same directories
# (lsipc 2.38 on Debian 12 has no POSIX support).
#
#   Tests/bench/posix-bench.sh        (also run by Tests/bench/bench.sh with 4,000 objects and 1,000 processes)
#
# Runs in fresh private IPC + PID + mount namespaces with a private tmpfs on /dev/shm and /run and a private
# mqueue mount (/run/mqueue; the host's are never touched). Inside it creates
#   - PROCS (2000) live processes of UIDS (50) uids, 100 of which hold one object each (a descriptor, a
#     mapping, or a sem_open'ed semaphore),
#   - OBJECTS (10000) POSIX objects owned by 2 × UIDS uids (with passwd and group entries, bind-mounted inside
#     the mount namespace): 94 % shared memory files (4 KiB), 4 % named semaphores (sem.NAME), 2 % message
#     queues,
# and times, as the median of RUNS (7) interleaved runs after one warm-up (wall clock, output to /dev/null):
#   lsof /dev/shm, ls -l /dev/shm /run/mqueue, ipcsweep list --type posix (table),
#   ipcsweep list --format json --type posix, ipcsweep list --format json (System V and POSIX), and
#   ipcsweep list --type sysv (no System V objects here: the cost of reading the processes, which every list pays),
#   ipcsweep list --type posix --name 'sem.*' (the named semaphores, 4 % of the files: a filtered list reads only the
#   entries its filter can select), ipcsweep clean --dry-run --type posix (every object planned, then read
#   again and decided, as a removal would; nothing removed), and ipcsweep clean --yes --type posix --name 'gone_*'
#   (GONE (2000) more orphaned files of the uids no process has, made again before each run, untimed: removed);
#   each of list (table and JSON), clean --dry-run and clean --yes next to its floor (Tests/bench/floor.c
#   posix-list, posix-clean: the same reads and calls from C, FLOOR_BIN or built here).
# ipcsweep runs with IPCSWEEP_ARGS (default --all-processes-visible: the namespace is complete).
# Environment: RUNS, PROCS, UIDS, OBJECTS, GONE, FLOOR_BIN, BIN (directory with a release ipcsweep; default .build/release),
# RESULTS (a file for "KEY VALUE" lines), PROFILE (a perf.data path: record one list instead of timing),
# HOLD (a directory: build the state, then keep it until HOLD/stop exists instead of timing; HOLD/pid names the
# namespace's first process, for `nsenter -t PID -a CMD`).
set -euo pipefail
RUNS=${RUNS:-7}
PROCS=${PROCS:-2000}
UIDS=${UIDS:-50}
OBJECTS=${OBJECTS:-10000}
GONE=${GONE:-2000}
BASE_UID=20000
here=$(cd "$(dirname "$0")" && pwd)
BIN=${BIN:-$here/../../.build/release}
PROFILE=${PROFILE:-}
PROFILE_ARGS=${PROFILE_ARGS:-}
IPCSWEEP_ARGS=${IPCSWEEP_ARGS---all-processes-visible}
RESULTS=${RESULTS:-}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

if [ "${1:-}" = --inner ]; then
    mount -t tmpfs -o mode=1777,size=512m bench-shm /dev/shm
    mount -t tmpfs -o mode=755 bench-run /run
    mkdir -p /run/mqueue && mount -t mqueue none /run/mqueue
    echo 1024 >/proc/sys/fs/mqueue/queues_max
    read -r -a EXTRA <<<"$IPCSWEEP_ARGS"
    # The owners exist in the passwd and group databases, as on a real host (lsof and ipcsweep name them).
    db=$(mktemp -d /tmp/ipcsweep-posix-bench.XXXXXX)
    cp /etc/passwd /etc/group "$db/"
    for ((u = BASE_UID; u < BASE_UID + 2 * UIDS; u++)); do
        echo "bench$u:x:$u:$u:ipcsweep bench:/nonexistent:/usr/sbin/nologin" >>"$db/passwd"
        echo "bench$u:x:$u:" >>"$db/group"
    done
    mount --bind "$db/passwd" /etc/passwd
    mount --bind "$db/group" /etc/group
    # ipcsweep's clock pair (kept in the private /run) from before the objects, as on a host running since boot.
    "$BIN/ipcsweep" list "${EXTRA[@]}" --type posix >/dev/null
    pids=()
    trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$db"' EXIT
    # Objects: created by root, then given to their owners (one Python process: fast).
    /usr/bin/python3 - "$OBJECTS" "$BASE_UID" "$UIDS" <<'PY'
import ctypes, os, sys
n, base, uids = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
libc = ctypes.CDLL(None, use_errno=True)
# Small queues (1 message of 64 bytes): RLIMIT_MSGQUEUE (800 KiB) binds root too.
attr = (ctypes.c_long * 8)(0, 1, 64, 0)
for i in range(n):
    uid = base + i % (2 * uids)
    if i % 50 == 0:
        q = libc.mq_open(f"/bench_q{i}".encode(), os.O_CREAT | os.O_RDWR, 0o600, attr)
        if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
        os.close(q); os.chown(f"/run/mqueue/bench_q{i}", uid, uid)
        continue
    name = f"/dev/shm/sem.bench_{i}" if i % 25 == 1 else f"/dev/shm/torch_{i}"
    fd = os.open(name, os.O_CREAT | os.O_RDWR, 0o600)
    os.ftruncate(fd, 32 if "sem." in name else 4096)
    os.write(fd, b"x")
    os.fchown(fd, uid, uid); os.close(fd)
PY
    # Every process starts more than the one-second slack and the 5 s inheritance window after the last object
    # (they are pid 1's children, so they look re-parented): none is a possible holder, so the objects nobody
    # holds are orphaned and the 100 held ones in-use.
    sleep 6.2
    # Processes: every uid; the first 100 hold one shared memory file each (50 by descriptor, 50 by mapping).
    per_uid=$((PROCS / UIDS))
    held=0
    torch=($(ls /dev/shm | grep '^torch_'))
    for ((u = 0; u < UIDS; u++)); do
        uid=$((BASE_UID + u))
        for ((k = 0; k < per_uid; k++)); do
            if [ $held -lt 100 ]; then
                f=${torch[$(((held * 7 + 3) % ${#torch[@]}))]}
                if [ $((held % 2)) = 0 ]; then
                    setpriv --reuid=0 sh -c "exec 5</dev/shm/$f; exec sleep 100000" & pids+=($!)
                else
                    /usr/bin/python3 -c "import mmap,os,time; fd=os.open('/dev/shm/$f', os.O_RDONLY); m=mmap.mmap(fd, 4096, prot=mmap.PROT_READ); os.close(fd); time.sleep(100000)" & pids+=($!)
                fi
                held=$((held + 1))
            else
                setpriv --reuid=$uid --regid=$uid --clear-groups sleep 100000 & pids+=($!)
            fi
        done
    done
    sleep 2
    nproc=$(ls -d /proc/[0-9]* | wc -l)
    nshm=$(ls /dev/shm | wc -l); nmq=$(ls /run/mqueue | wc -l)
    verdicts=$("$BIN/ipcsweep" list "${EXTRA[@]}" --format json --type posix | /usr/bin/python3 -c 'import json,sys,collections; c = collections.Counter(o["verdict"] for o in json.load(sys.stdin)["objects"]); print(" ".join(f"{k} {c[k]}" for k in sorted(c)))')
    echo "state: $nshm files in /dev/shm, $nmq queues, $nproc processes; POSIX verdicts: $verdicts"
    held_files=$(for ((h = 0; h < held; h++)); do echo "${torch[$(((h * 7 + 3) % ${#torch[@]}))]}"; done | sort -u | wc -l)
    if [ "$verdicts" != "in-use $held_files orphaned $((nshm + nmq - held_files))" ]; then
        echo "posix-bench: the verdicts are not the state's intended ones (in-use $held_files, orphaned $((nshm + nmq - held_files)); without --all-processes-visible every verdict is unknown here)" >&2
        exit 1
    fi
    [ -z "$RESULTS" ] || { echo "files $nshm"; echo "queues $nmq"; echo "processes $nproc"; echo "posix_verdicts $verdicts"; } >>"$RESULTS"
    if [ -n "${HOLD:-}" ]; then  # HOLD=DIR: keep this state for commands run by hand (see the header)
        touch "$HOLD/ready"
        while [ ! -e "$HOLD/stop" ]; do sleep 0.5; done
        rm -f "$HOLD/stop" "$HOLD/ready"
        exit 0
    fi
    if [ -n "${PROFILE:-}" ]; then  # PROFILE=FILE: perf record one `list` instead of measuring
        perf record -g -o "$PROFILE" "$BIN/ipcsweep" list "${EXTRA[@]}" ${PROFILE_ARGS:---type posix} >/dev/null 2>&1
        exit 0
    fi
    # The files clean --yes removes: GONE orphaned files of the uids no process has (mode 0600: no other user's
    # process reaches them), made again before each run of clean --yes and of its floor.
    make_gone() {
        /usr/bin/python3 - "$GONE" "$BASE_UID" "$UIDS" <<'PY'
import os, sys
n, base, uids = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    fd = os.open(f"/dev/shm/gone_{i}", os.O_CREAT | os.O_RDWR, 0o600)
    os.ftruncate(fd, 4096); os.fchown(fd, base + uids + i % uids, base + uids + i % uids); os.close(fd)
PY
    }
    gone_left=0
    declare -A T
    names=(lsof ls list-table floor-list list-json floor-json list-all-json sysv list-name clean-dry floor-clean-dry clean-yes floor-clean-yes)
    label() {
        case $1 in
        lsof) echo 'lsof /dev/shm' ;;
        ls) echo 'ls -l /dev/shm /run/mqueue' ;;
        list-table) echo 'ipcsweep list --type posix' ;;
        list-json) echo 'ipcsweep list --format json --type posix' ;;
        list-all-json) echo 'ipcsweep list --format json (all kinds)' ;;
        sysv) echo 'ipcsweep list --type sysv (no object in view: no process read)' ;;
        list-name) echo "ipcsweep list --type posix --name 'sem.*'" ;;
        clean-dry) echo 'ipcsweep clean --dry-run --type posix' ;;
        floor-list) echo 'floor posix-list (of list --type posix)' ;;
        floor-json) echo 'floor posix-list --json' ;;
        floor-clean-dry) echo 'floor posix-clean (of clean --dry-run)' ;;
        clean-yes) echo "ipcsweep clean --yes --type posix --name 'gone_*' ($GONE files)" ;;
        floor-clean-yes) echo 'floor posix-clean --yes --prefix gone_' ;;
        esac
    }
    for ((r = 0; r <= RUNS; r++)); do
        for n in "${names[@]}"; do
            case $n in clean-yes | floor-clean-yes) make_gone ;; esac
            t0=${EPOCHREALTIME/./}
            case $n in
            lsof) lsof /dev/shm ;;
            ls) ls -l /dev/shm /run/mqueue ;;
            list-table) "$BIN/ipcsweep" list "${EXTRA[@]}" --type posix ;;
            list-json) "$BIN/ipcsweep" list "${EXTRA[@]}" --format json --type posix ;;
            list-all-json) "$BIN/ipcsweep" list "${EXTRA[@]}" --format json ;;
            sysv) "$BIN/ipcsweep" list "${EXTRA[@]}" --type sysv ;;
            list-name) "$BIN/ipcsweep" list "${EXTRA[@]}" --type posix --name 'sem.*' ;;
            clean-dry) "$BIN/ipcsweep" clean "${EXTRA[@]}" --dry-run --type posix ;;
            floor-list) "$FLOOR_BIN" posix-list --quiet ;;
            floor-json) "$FLOOR_BIN" posix-list --json --quiet ;;
            floor-clean-dry) "$FLOOR_BIN" posix-clean --quiet ;;
            clean-yes) "$BIN/ipcsweep" clean "${EXTRA[@]}" --yes --type posix --name 'gone_*' ;;
            floor-clean-yes) "$FLOOR_BIN" posix-clean --yes --prefix gone_ --quiet ;;
            esac >/dev/null 2>&1 || true
            t1=${EPOCHREALTIME/./}
            case $n in clean-yes | floor-clean-yes) gone_left=$((gone_left + $(find /dev/shm -maxdepth 1 -name 'gone_*' | wc -l))); rm -f /dev/shm/gone_* ;; esac
            [ $r -gt 0 ] && T[$n]="${T[$n]:-} $(( (t1 - t0) ))"
        done
    done
    for n in "${names[@]}"; do
        # shellcheck disable=SC2086
        m=$(median ${T[$n]} | awk '{printf "%.1f", $1 / 1000}')
        printf '%-58s %8.1f ms\n' "$(label "$n")" "$m"
        [ -z "$RESULTS" ] || echo "$(echo "${n/list-table/list_posix}" | tr - _) $m" >>"$RESULTS"
    done
    echo "clean --yes and its floor left $gone_left of their gone_* files over $((2 * (RUNS + 1))) runs (0: each removed all $GONE)"
    "$FLOOR_BIN" posix-list
    [ -z "$RESULTS" ] || echo "posix_gone_left $gone_left" >>"$RESULTS"
    rss=$( { /usr/bin/time -v "$BIN/ipcsweep" list "${EXTRA[@]}" --format json --type posix >/dev/null; } 2>&1 | awk '/Maximum resident/ {print $6}')
    echo "peak RSS of ipcsweep list --format json --type posix: $((rss / 1024)) MiB"
    exit 0
fi

[ "$(id -u)" = 0 ] || { echo "posix-bench: needs root" >&2; exit 1; }
[ -x "$BIN/ipcsweep" ] || { echo "posix-bench: no $BIN/ipcsweep; build with swift build -c release" >&2; exit 1; }
BIN=$(cd "$BIN" && pwd)
if [ -z "${FLOOR_BIN:-}" ]; then
    floor_dir=$(mktemp -d /tmp/ipcsweep-posix-floor.XXXXXX)
    trap 'rm -rf "$floor_dir"' EXIT
    FLOOR_BIN=$floor_dir/floor
    cc -O2 -Wall -o "$FLOOR_BIN" "$here/floor.c"
fi
export RUNS PROCS UIDS OBJECTS GONE FLOOR_BIN BIN PROFILE PROFILE_ARGS IPCSWEEP_ARGS RESULTS HOLD
if [ -n "${HOLD:-}" ]; then
    mkdir -p "$HOLD" && HOLD=$(cd "$HOLD" && pwd) && rm -f "$HOLD/stop" "$HOLD/ready" "$HOLD/pid"
    unshare --ipc --pid --fork --mount-proc --mount --propagation private bash "$0" --inner &
    outer=$!
    while [ ! -e "$HOLD/ready" ]; do kill -0 "$outer" 2>/dev/null || exit 1; sleep 0.5; done
    pgrep -P "$outer" >"$HOLD/pid"
    echo "posix-bench: holding the state; run commands in it with nsenter -t $(cat "$HOLD/pid") -a CMD; touch $HOLD/stop to end" >&2
    wait "$outer"
    exit
fi
unshare --ipc --pid --fork --mount-proc --mount --propagation private bash "$0" --inner
