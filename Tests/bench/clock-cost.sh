#!/usr/bin/env bash
# Cost per run of measuring the wall clock's steps (issue 23), on a small system: a private IPC + PID +
# mount namespace with a private /run (no systemd there), 4 objects and PROCS processes.
#
#   BIN=dir-with-release-ipcsweep [BASE=release-ipcsweep-without-the-probe] Tests/bench/clock-cost.sh
#
# Prints the median wall time of RUNS runs of `ipcsweep list` (after WARMUP), interleaved (the order
# alternates every round):
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
    # CPU time (user + system, from wait4's rusage) is what the probe adds; wall time on a loaded machine
    # varies by more than that. Both are printed, as medians.
    /usr/bin/python3 - "$@" <<'PY'
import os, statistics, sys, time
ipcsweep, base = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
runs, warmup = int(os.environ["RUNS"]), int(os.environ["WARMUP"])
def one(binary):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        fd = os.open("/dev/null", os.O_WRONLY)
        os.dup2(fd, 1); os.dup2(fd, 2)
        os.execv(binary, [binary, "list", "--all-processes-visible"])
    _, _, ru = os.wait4(pid, 0)
    return (time.perf_counter() - t0) * 1000, (ru.ru_utime + ru.ru_stime) * 1000
res = {"kept": [], "first": [], "base": []}
for i in range(warmup + runs):
    order = ["base", "kept", "first"] if i % 2 else ["kept", "first", "base"]
    for v in order:
        if v == "base" and not base: continue
        if v == "first":
            try: os.unlink("/run/ipcsweep.clock")
            except FileNotFoundError: pass
        r = one(base if v == "base" else ipcsweep)
        if i >= warmup: res[v].append(r)
for v, rs in res.items():
    if rs:
        print(f"{v:5} median wall {statistics.median(w for w, _ in rs):6.2f} ms   cpu {statistics.median(c for _, c in rs):6.2f} ms")
PY
    kill $(jobs -p) 2>/dev/null || true
    exit 0
fi

[ -x "$BIN/ipcsweep" ] || make >/dev/null
echo "# $RUNS runs, $PROCS processes, $(nproc) cores"
exec unshare --ipc --pid --mount --fork --mount-proc --propagation private \
    bash "$0" --inner "$(realpath "$BIN/ipcsweep")" ${BASE:+"$(realpath "$BASE")"}
