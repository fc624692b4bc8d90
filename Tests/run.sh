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

# What the host holds: its System V objects and its /dev/shm (and mqueue) entries. Every test makes
# its objects in private namespaces with a private /dev/shm; anything new here afterwards leaked.
host_ipc() {
    tail -q -n +2 /proc/sysvipc/sem /proc/sysvipc/shm /proc/sysvipc/msg | awk '{ print "sysv", $1, $2 }'
    for d in /dev/shm /dev/mqueue; do
        [ -d "$d" ] && ls -A "$d" | sed "s|^|$d/|"
    done
    # ipcsweep's clock pair: a test that ran it with the host's /run would leave it there.
    [ -e /run/ipcsweep.clock ] && echo /run/ipcsweep.clock
    # What a sandboxed systemd or journald would write on the host: /dev/log, timer stamps.
    [ -e /dev/log ] || [ -L /dev/log ] && echo /dev/log
    [ -d /var/lib/systemd/timers ] && ls -A /var/lib/systemd/timers | sed "s|^|/var/lib/systemd/timers/|"
    # The e2e scenarios' state and work directories (each run removes its own, and the parents once empty).
    for d in /run/ipcsweep-e2e /var/lib/ipcsweep-e2e; do [ -e "$d" ] && echo "$d"; done
    return 0
}
check_host() {
    local leaked
    leaked=$(host_ipc | sort | comm -13 "$before" -)
    if [ -n "$leaked" ]; then
        echo "FAIL: after $1 the host holds IPC objects it did not hold before: a test leaked outside its private namespace:" >&2
        printf '  %s\n' $leaked >&2
        exit 1
    fi
}
before=$(mktemp)
log=$(mktemp --suffix=-ipcsweep-swift-test.log)
trap 'rm -f "$before"' EXIT
host_ipc | sort >"$before"

swift build --build-tests
swift test --skip-build 2>&1 | tee "$log"
check_host "the swift tests"
if [ "${E2E:-1}" != 0 ]; then
    IPCSWEEP="$PWD/.build/debug/ipcsweep" Tests/e2e/run-all.sh
    check_host "the e2e scenarios"
fi
