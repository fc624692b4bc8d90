#!/usr/bin/env bash
# Tests/tsan-clean.sh BINARY [SETS] [OWNERS] [PROCS]: a parallel `clean --yes` of thousands of orphans of many owners
# (System V sets, segments and queues; POSIX shared memory, semaphores and queues), run by a ThreadSanitizer build of ipcsweep, in private IPC, pid and
# mount namespaces with their own /dev/shm and /run (the host's objects are never seen), among PROCS (200)
# sleeping processes of a user who reaches none of the objects (enough for the process table to be read on
# every CPU); the plan is first shown as a table (--dry-run: its cells are made on every CPU too), and processes
# are born all through the clean (its workers catch up with them). Fails when
# ThreadSanitizer reports anything, when the plan does not hold every orphan, or when the clean does not remove
# every one.
#   swift build -c debug --sanitize=thread --build-path .build-tsan --product ipcsweep
#   Tests/tsan-clean.sh .build-tsan/debug/ipcsweep
# Needs root, and the debug build's ipcsweep-testkit (swift build).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(readlink -f "${1:?give the ThreadSanitizer build of ipcsweep}")
sets=${2:-3000}
owners=${3:-300}
procs=${4:-200}
testkit=$(readlink -f "${TESTKIT:-.build/debug/ipcsweep-testkit}")
[ -x "$testkit" ] || { echo "not ok - $testkit is not executable (swift build)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export BIN=$bin TESTKIT=$testkit SETS=$sets OWNERS=$owners PROCS=$procs OUT=$out
unshare --ipc --pid --fork --mount-proc --mount --propagation private bash -euo pipefail -c '
    mount -t tmpfs -o mode=1777 tsan-shm /dev/shm
    mount -t tmpfs tsan-run /run
    # The mqueue filesystem where hosts have it; a machine without /dev/mqueue (no systemd) gets it in the
    # scratch directory (the first mqueue mount is the one clean reads then); the /dev of the host is not touched.
    mq=/dev/mqueue
    [ -d "$mq" ] || { mq=$OUT/mq; mkdir "$mq"; }
    mount -t mqueue tsan-mq "$mq"
    per=$(( SETS / OWNERS ))
    for i in $(seq 0 $(( OWNERS - 1 ))); do
        uid=$(( 20000 + i ))
        "$TESTKIT" sem-create --count "$per" --nsems 2 --as-uid $uid > /dev/null
        if [ $(( i % 3 )) = 0 ]; then "$TESTKIT" shm-create --size 4096 --as-uid $uid > /dev/null; fi
        if [ $(( i % 3 )) = 1 ]; then "$TESTKIT" msg-create --as-uid $uid > /dev/null; fi
        files="/dev/shm/tsan_${uid}_1 /dev/shm/tsan_${uid}_2 /dev/shm/sem.tsan_$uid"
        # RLIMIT_MSGQUEUE (800 KiB, counted against the creator) allows about ten default-sized queues.
        if [ $(( i % (OWNERS / 8 + 1) )) = 0 ]; then files="$files $mq/tsan_$uid"; fi
        for f in $files; do
            if [ "${f#"$mq"}" = "$f" ]; then head -c 32 /dev/zero > "$f"; else touch "$f"; fi
            chown $uid:$uid "$f"; chmod 600 "$f"
        done
    done
    for i in $(seq "$PROCS"); do setpriv --reuid 29999 --regid 29999 --clear-groups sleep 1000 & done
    mkdir /run/save
    count() { cat /proc/sysvipc/sem /proc/sysvipc/shm /proc/sysvipc/msg <(ls /dev/shm "$mq") | grep -c "^ *[0-9]\|tsan" || true; }
    before=$(count)
    # The plan as a table first: its cells are made in chunks on every CPU too (the clean below reports as JSON).
    TSAN_OPTIONS="log_path=$OUT/tsan halt_on_error=0" "$BIN" clean --dry-run --all-processes-visible > "$OUT/plan.txt" \
        2> "$OUT/plan.err" || echo "exit status $?" > "$OUT/plan.rc"
    # Processes are born all through the clean (a busy host): every slot of the workers catches up with them, appending
    # those of an owner (they start seconds after the objects: no possible holders) and leaving out the others.
    (while [ ! -e "$OUT/stop" ]; do setpriv --reuid 20001 --regid 20001 --clear-groups sleep 0.3 & sleep 0.02; done; wait) &
    churn=$!
    TSAN_OPTIONS="log_path=$OUT/tsan halt_on_error=0" "$BIN" clean --yes --all-processes-visible --save-to /run/save \
        --format json > "$OUT/clean.json" 2> "$OUT/clean.err" || echo $? > "$OUT/rc"
    touch "$OUT/stop"
    wait "$churn"
    after=$(count)
    echo "$before $after $(ls -d /proc/[0-9]* | wc -l)" > "$OUT/counts"
'
read -r before after processes < "$out/counts"
reports=$(cat "$out"/tsan* 2>/dev/null || true)
[ -z "${TSAN_KEEP:-}" ] || cp -r "$out" "$TSAN_KEEP"
if [ -n "$reports" ]; then
    echo "$reports" | head -60
    echo "not ok - ThreadSanitizer reported $(grep -c '^WARNING: ThreadSanitizer' <<< "$reports") problem(s) in a clean of $before objects"
    exit 1
fi
if [ -e "$out/plan.rc" ] || ! grep -q "dry run: would remove $before" "$out/plan.txt"; then
    cat "$out/plan.err" "$out/plan.rc" 2>/dev/null; tail -2 "$out/plan.txt"
    echo "not ok - the dry run as a table did not plan all $before objects"
    exit 1
fi
if [ -e "$out/rc" ] || [ "$after" != 0 ]; then
    cat "$out/clean.err"
    echo "not ok - the clean left $after of $before objects (exit status $(cat "$out/rc" 2>/dev/null || echo 0))"
    exit 1
fi
echo "ok - no ThreadSanitizer report in a dry run as a table and a parallel clean of $before objects of $owners owners (six kinds, saved first) among $processes processes, with processes born all through it"
