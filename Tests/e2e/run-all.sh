#!/usr/bin/env bash
# Tests/e2e/run-all.sh: runs every end-to-end scenario (Tests/e2e/*-*.sh,
# except this file, and Tests/e2e/systemd/e2e-apache-unit.sh, which boots a
# real systemd in a sandbox, Tests/e2e/systemd/e2e-audit-unit.sh, the shipped
# audit units in such a sandbox, Tests/e2e/systemd/e2e-privateipc-unit.sh,
# a PrivateIPC=yes unit there, Tests/e2e/systemd/e2e-alerts.sh, the alert
# rules through node_exporter, Prometheus and Alertmanager there, and
# Tests/e2e/systemd/e2e-removeipc-logind.sh, the audit's RemoveIPC= list
# against the real systemd-logind there, and
# Tests/e2e/systemd/e2e-clockstep-unit.sh, a forward step of the wall clock
# there), each in its own private namespaces, and prints their output
# indented, one "ok"/"not ok" line per scenario, and a final "N passed, M
# failed" line counting scenarios. Needs root, Debian's apache2, curl,
# PostgreSQL 15, prometheus, prometheus-node-exporter,
# prometheus-alertmanager, dbus, libpam-systemd and gcc.
# Usage: [IPCSWEEP=path/to/ipcsweep] Tests/e2e/run-all.sh [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ -z "${IPCSWEEP:-}" ]; then
    IPCSWEEP=$repo/.build/debug/ipcsweep
fi
case $IPCSWEEP in /*) ;; */*) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
export IPCSWEEP

if [ "$#" -gt 0 ]; then
    scenarios=("$@")
else
    scenarios=()
    for f in "$here"/*-*.sh; do
        [ "$(basename "$f")" = run-all.sh ] && continue
        scenarios+=("$f")
    done
    # Apache as a systemd unit with ExecStopPost=ipcsweep clean, under a real systemd in a sandbox.
    scenarios+=("$here/systemd/e2e-apache-unit.sh")
    # The shipped ipcsweep-audit.service and .timer (dist/systemd) under a real systemd in a sandbox.
    scenarios+=("$here/systemd/e2e-audit-unit.sh")
    # PostgreSQL with POSIX dynamic shared memory as postgresql@15-main.service in the same kind of sandbox.
    scenarios+=("$here/systemd/e2e-postgres-unit.sh")
    # A container-like unit (PrivateIPC=yes) seen and cleaned from the sandbox's namespace.
    scenarios+=("$here/systemd/e2e-privateipc-unit.sh")
    # The shipped alert rules on the real path: the audit timer's textfile, Debian's node_exporter,
    # Prometheus and Alertmanager, in the same kind of sandbox (loopback only).
    scenarios+=("$here/systemd/e2e-alerts.sh")
    # RemoveIPC=: the audit's list against what the real systemd-logind destroys at a user's last logout.
    scenarios+=("$here/systemd/e2e-removeipc-logind.sh")
    # A +1 h step of ipcsweep's wall clock (LD_PRELOAD shim) never orphans a live service's set.
    scenarios+=("$here/systemd/e2e-clockstep-unit.sh")
fi

if [ "$(id -u)" != 0 ]; then
    echo "not ok - the e2e scenarios need root"
    echo "0 passed, 1 failed"
    exit 1
fi
command -v "$IPCSWEEP" >/dev/null 2>&1 || echo "# warning: ipcsweep binary not found: $IPCSWEEP"
echo "# ipcsweep: $IPCSWEEP"

passed=0
failed=0
for s in "${scenarios[@]}"; do
    name=$(basename "$s")
    echo "# $name"
    t0=$(date +%s.%N)
    rc=0
    bash "$s" 2>&1 | sed 's/^/    /' || rc=$?
    # With pipefail, rc is the scenario's status (sed does not fail).
    t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    if [ "$rc" = 0 ]; then
        echo "ok - $name (${t}s)"
        passed=$((passed + 1))
    else
        echo "not ok - $name (${t}s, exit $rc)"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
