#!/usr/bin/env bash
# Big objects under clean --save-to and restore (issue 19): time, the tool's peak RSS, the segment's rss while the
# tool runs (sampled every 10 ms from /proc/sysvipc/shm), and what the save directory holds (allocated bytes), for:
#   seg8g     an 8 GiB segment with one page written, save directory a 300 MiB tmpfs; then restore
#   seg1g     a 1 GiB segment with one page written, save directory a 2 GiB tmpfs (room for a whole copy); then
#             restore of that save (the "before" tool's is a version 2 file of 1 GiB)
#   file1t    a 1 TiB sparse file with 8 bytes of data in /dev/shm, save directory a 300 MiB tmpfs; then restore
#   dense300  a 300 MiB segment with every page written, save directory a 200 MiB tmpfs
#   dense1g   a 1 GiB segment with every page written, save directory a 2 GiB tmpfs (it fits); then restore
#   v2file    (with BEFORE) a 1 GiB segment with one page saved by the BEFORE binary (a version 2 file holding all
#             1 GiB), then restored by each binary
# Each case runs in fresh private IPC, PID and mount namespaces with a private /dev/shm; nothing touches the host.
# Needs root, python3, GNU time (/usr/bin/time). Transient memory: up to about 3 GiB (seg1g, dense1g, v2file).
#
#   Tests/bench/big-objects.sh                                   # AFTER: a release build of this tree
#   BEFORE=/path/to/old/ipcsweep Tests/bench/big-objects.sh      # also the same cases with an older binary
#   AFTER=/path/to/ipcsweep CASES="seg8g file1t" Tests/bench/big-objects.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
[ "$(id -u)" = 0 ] || { echo "big-objects.sh: needs root (unshare)" >&2; exit 1; }
if [ -z "${AFTER:-}" ]; then
    swift build -c release --product ipcsweep >&2
    AFTER=$PWD/.build/release/ipcsweep
fi
CASES=${CASES:-"seg8g seg1g file1t dense300 dense1g v2file"}
export SAVER=${BEFORE:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/case.sh" <<'SH'
# case.sh NAME BINARY LABEL: one case, inside the private namespaces.
set -euo pipefail
name=$1 B=$2 label=$3
mount -t tmpfs -o size=2T,mode=1777 bench-shm /dev/shm
mount -t tmpfs tmpfs /run
sysctl -qw kernel.shmmax=17179869184 kernel.shmall=8388608
mk() {  # mk SIZE DENSE: a segment of uid 33, one page written (or every page), its creator gone
    setpriv --reuid 33 --regid 33 --clear-groups /usr/bin/python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p; libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
size, dense = int(sys.argv[1]), sys.argv[2] == "1"
sid = libc.shmget(0x1901, ctypes.c_size_t(size), 0o1600)
a = libc.shmat(sid, None, 0)
if dense:
    block = os.urandom(1 << 20)
    for off in range(0, size, 1 << 20): ctypes.memmove(a + off, block, min(1 << 20, size - off))
else:
    ctypes.memmove(a + size // 2 + 123, b"one page of data", 16)
' "$1" "$2"
}
savedir() { mkdir -p /mnt/save; mount -t tmpfs -o size=$1 save /mnt/save; }
# run ROW CMD...: time, peak RSS and the segment's highest rss while CMD runs.
run() {
    local row=$1; shift
    /usr/bin/time -f '%e %M' -o /run/time "$@" > /run/out 2> /run/err &
    local pid=$! max=0 r
    while kill -0 $pid 2> /dev/null; do
        r=$(awk 'NR > 1 { s += $15 } END { printf "%.0f\n", s }' /proc/sysvipc/shm)
        [ "$r" -gt "$max" ] && max=$r
        sleep 0.01
    done
    set +e; wait $pid; local rc=$?; set -e
    local alloc
    alloc=$(find /mnt/save -type f -printf '%b\n' 2> /dev/null | awk '{ s += $1 * 512 } END { printf "%.0f\n", s }')
    local secs kib
    read -r secs kib < <(tail -1 /run/time) || true
    printf '%-9s %-7s %-8s %4s %8s %9s %13s %13s  %s\n' "$name" "$label" "$row" "$rc" "$secs" "$((kib / 1024)) MiB" \
        "$((max / 1024)) KiB" "$((alloc / 1024)) KiB" "$(grep -aoE 'removed|failed|skipped|not enough space|No space left[^;]*|Fatal error[^\n]*|[0-9]+ bytes( \([^)]*of data\))?' /run/out /run/err | head -1 | cut -d: -f2-)"
}
case $name in
seg8g)
    savedir 300m; mk 8589934592 0; sleep 1.1
    run clean "$B" clean --all-processes-visible --yes --include-suspect --type shm --save-to /mnt/save
    f=$(ls /mnt/save/*.ipcsweep 2> /dev/null | head -1 || true)
    [ -n "$f" ] && run restore "$B" restore "$f" && echo "seg8g     $label   restored segment: rss $(awk 'NR > 1 { print $15 }' /proc/sysvipc/shm)"
    ;;
seg1g)
    savedir 2g; mk 1073741824 0; sleep 1.1
    run clean "$B" clean --all-processes-visible --yes --include-suspect --type shm --save-to /mnt/save
    f=$(ls /mnt/save/*.ipcsweep 2> /dev/null | head -1 || true)
    [ -n "$f" ] && run restore "$B" restore "$f" && echo "seg1g     $label   restored segment: rss $(awk 'NR > 1 { print $15 }' /proc/sysvipc/shm)"
    ;;
file1t)
    savedir 300m
    setpriv --reuid 65534 --regid 65534 --clear-groups sh -c 'truncate -s 1T /dev/shm/big_sparse; printf "8 bytes!" | dd of=/dev/shm/big_sparse bs=1 seek=751619276800 conv=notrunc status=none'
    sleep 1.2
    run clean "$B" clean --all-processes-visible --yes --include-suspect --type posix --save-to /mnt/save
    f=$(ls /mnt/save/*.ipcsweep 2> /dev/null | head -1 || true)
    [ -n "$f" ] && run restore "$B" restore "$f"
    [ -e /dev/shm/big_sparse ] && echo "file1t    $label   /dev/shm/big_sparse: $(stat -c '%s bytes, %b blocks allocated' /dev/shm/big_sparse)"
    ;;
v2file)
    [ -n "${SAVER:-}" ] || exit 0
    savedir 2g; mk 1073741824 0; sleep 1.1
    "$SAVER" clean --all-processes-visible --yes --include-suspect --type shm --save-to /mnt/save > /dev/null
    f=$(ls /mnt/save/*.ipcsweep)
    echo "v2file    $label   $(head -1 "$f"), $(stat -c %s "$f") bytes"
    run restore "$B" restore "$f" && echo "v2file    $label   restored segment: rss $(awk 'NR > 1 { print $15 }' /proc/sysvipc/shm)"
    ;;
dense1g)
    savedir 2g; mk 1073741824 1; sleep 1.1
    run clean "$B" clean --all-processes-visible --yes --include-suspect --type shm --save-to /mnt/save
    f=$(ls /mnt/save/*.ipcsweep 2> /dev/null | head -1 || true)
    [ -n "$f" ] && run restore "$B" restore "$f"
    ;;
dense300)
    savedir 200m; mk 314572800 1; sleep 1.1
    run clean "$B" clean --all-processes-visible --yes --include-suspect --type shm --save-to /mnt/save
    ;;
esac
SH

printf '%-9s %-7s %-8s %4s %8s %9s %13s %13s  %s\n' case binary command exit seconds "peak RSS" "segment rss" "save dir" outcome
for c in $CASES; do
    for pair in ${BEFORE:+"before=$BEFORE"} "after=$AFTER"; do
        label=${pair%%=*} bin=${pair#*=}
        unshare --ipc --pid --fork --mount-proc --mount --propagation private bash "$work/case.sh" "$c" "$bin" "$label" || true
    done
done
