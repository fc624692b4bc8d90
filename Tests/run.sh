#!/usr/bin/env bash
# The project's test command (README): builds in debug and runs every test.
# Unit tests need nothing special. Integration tests create IPC objects only
# inside private IPC/PID/mount namespaces (each scenario runs under
# `unshare --ipc --pid --fork --mount-proc`), so they need root; the host's own
# IPC objects are never touched. Then the e2e scenarios (Tests/e2e/run-all.sh:
# real Apache, PostgreSQL and a systemd sandbox) run; E2E=0 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH

before=$( (tail -n +2 /proc/sysvipc/sem; tail -n +2 /proc/sysvipc/shm; tail -n +2 /proc/sysvipc/msg) | wc -l)
swift build --build-tests
swift test --skip-build 2>&1 | tee /tmp/ipcsweep-swift-test.log
after=$( (tail -n +2 /proc/sysvipc/sem; tail -n +2 /proc/sysvipc/shm; tail -n +2 /proc/sysvipc/msg) | wc -l)
if [ "$after" -ne "$before" ]; then
    echo "FAIL: the host's IPC namespace held $before objects before the tests and $after after: a test leaked outside its private namespace" >&2
    exit 1
fi
if [ "${E2E:-1}" != 0 ]; then
    IPCSWEEP="$PWD/.build/debug/ipcsweep" Tests/e2e/run-all.sh
fi
