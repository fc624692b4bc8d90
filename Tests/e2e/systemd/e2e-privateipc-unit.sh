#!/bin/bash
# e2e-privateipc-unit.sh: a container-like unit (PrivateIPC=yes) under a real
# systemd booted by sandbox.sh, seen from the sandbox's own ("host") IPC
# namespace:
#
#   1. the unit makes a set held by a live process and an orphan, in its own
#      IPC namespace; the sandbox's namespace gets a pair of its own;
#   2. `ipcsweep list --all-namespaces` lists the unit's namespace with the
#      unit as its owner and the right verdicts, and the sandbox's namespace;
#   3. `ipcsweep clean --namespace MAINPID --yes` removes exactly the unit's
#      orphan: its held set and the sandbox's objects stay.
# Throughout: the host's own IPC objects are compared before and after.
#
# Environment: IPCSWEEP (default <repo>/.build/debug/ipcsweep; the testkit is
# taken from the same directory), E2E_STATE_DIR (default
# /run/ipcsweep-e2e/privateipc.PID), E2E_WORK_BASE (/var/lib/ipcsweep-e2e),
# E2E_KEEP=1 keeps the work dir. Needs root and Debian's systemd. Output:
# "ok - ..." / "not ok - ..." lines, "# " diagnostics, a last line
# "N passed, M failed"; exit status 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
TESTKIT=$(dirname "$IPCSWEEP")/ipcsweep-testkit
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/privateipc.$$}
UNIT=e2e-ipcns.service

work="" booted=0
. "$here/tap.sh"
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$booted" = 1 ]; then
        "$SANDBOX" stop >/dev/null 2>&1 || not_ok "sandbox stop"
        [ -z "$("$SANDBOX" pid 2>/dev/null)" ] || not_ok "sandbox still running after stop"
    fi
    if [ -n "${host_ipc_before+x}" ]; then
        if [ "$(host_ipc_snapshot)" = "$host_ipc_before" ]; then ok "host IPC namespace unchanged"; else
            not_ok "host IPC namespace changed"
        fi
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# work dir kept: $work"; else rm -rf -- "$work"; fi
    fi
    rmdir -- "$E2E_STATE_DIR" 2>/dev/null || true
    rmdir -- /run/ipcsweep-e2e 2>/dev/null || true  # the parent of the default state directory, once no run uses it
    rmdir -- "$WORK_BASE" 2>/dev/null || true
    tap_end "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

sb() { "$SANDBOX" exec "$@"; }

# ---------------------------------------------------------------- preflight
host_ipc_before=$(host_ipc_snapshot)
[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
[ -x /lib/systemd/systemd ] || { not_ok "/lib/systemd/systemd missing"; exit 1; }
for b in "$IPCSWEEP" "$TESTKIT"; do [ -x "$b" ] || { not_ok "$b is not executable (swift build)"; exit 1; }; done
command -v python3 >/dev/null || [ -x /usr/bin/python3 ] || { not_ok "python3 missing"; exit 1; }
PY=/usr/bin/python3

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/privateipc.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
chmod 755 "$work"
mkdir -p "$work/bin"
# The sandbox replaces /tmp, /var/tmp and /run: run copies from the work dir.
cp -- "$IPCSWEEP" "$work/bin/ipcsweep" && IPCSWEEP=$work/bin/ipcsweep
cp -- "$TESTKIT" "$work/bin/ipcsweep-testkit" && TESTKIT=$work/bin/ipcsweep-testkit
cat > "$work/bin/container.sh" <<EOF
#!/bin/bash
# The unit's payload: a set held by a live process (SEM_UNDO) and an orphan of a uid with no process.
set -e
H=\$("$TESTKIT" sem-create --key 0xe001 --as-uid 33)
"$TESTKIT" sem-op --id \$H --undo --hold &
"$TESTKIT" sem-create --key 0xe002 --as-uid 34 > /dev/null
readlink /proc/self/ns/ipc > "$work/unit-ns"
wait
EOF
chmod 755 "$work/bin/container.sh"
cat > "$work/$UNIT" <<EOF
[Unit]
Description=ipcsweep e2e: a container-like service with its own IPC namespace

[Service]
Type=simple
PrivateIPC=yes
ExecStart=$work/bin/container.sh
EOF

# ---------------------------------------------------------------- run
if ! "$SANDBOX" start >/dev/null; then not_ok "sandbox boots"; exit 1; fi
booted=1
ok "sandbox boots"
"$SANDBOX" unit "$work/$UNIT" >/dev/null
sb systemctl start "$UNIT" || { not_ok "$UNIT starts"; exit 1; }
for _ in $(seq 1 100); do [ -s "$work/unit-ns" ] && break; sleep 0.05; done
sleep 0.2
check "$UNIT has an IPC namespace of its own" test "$(cat "$work/unit-ns" 2>/dev/null)" != "$(sb readlink /proc/self/ns/ipc)"
# The sandbox's own namespace gets a held set and an orphan too.
H=$(sb "$TESTKIT" sem-create --key 0xd001 --as-uid 33)
sb bash -c "exec '$TESTKIT' sem-op --id $H --undo --hold" </dev/null >/dev/null 2>&1 &
holder=$!
sb "$TESTKIT" sem-create --key 0xd002 --as-uid 34 >/dev/null
sleep 0.3
main=$(sb systemctl show -p MainPID --value "$UNIT")

sb "$IPCSWEEP" list --all-processes-visible --all-namespaces --format json > "$work/all.json" 2> "$work/all.err"
sb "$IPCSWEEP" clean --all-processes-visible --namespace "$main" --yes --format json > "$work/clean.json" 2> "$work/clean.err"
sb "$IPCSWEEP" list --all-processes-visible --all-namespaces --format json > "$work/after.json" 2> "$work/after.err"
unit_ns=$(tr -dc 0-9 < "$work/unit-ns")
sandbox_ns=$(sb readlink /proc/self/ns/ipc | tr -dc 0-9)

verdicts() {  # verdicts FILE: "inode owner key verdict" per object
    "$PY" - "$1" <<'PY'
import json, sys
for o in json.load(open(sys.argv[1]))["objects"]:
    ns = o.get("namespace") or {}
    print(ns.get("inode"), ns.get("owner"), hex(o["key"]), o["verdict"])
PY
}
all=$(verdicts "$work/all.json")
echo "$all" | diag
check "the unit's namespace is owned by $UNIT" grep -qx "$unit_ns $UNIT 0xe001 in-use" <<< "$all"
check "the unit's orphan is orphaned" grep -qx "$unit_ns $UNIT 0xe002 orphaned" <<< "$all"
check "the sandbox's own namespace is listed with its objects" \
    bash -c "grep -q '^$sandbox_ns .* 0xd001 in-use$' <<< \"\$1\" && grep -q '^$sandbox_ns .* 0xd002 orphaned$' <<< \"\$1\"" _ "$all"
removed=$("$PY" -c 'import json,sys; print(" ".join(hex(r["key"]) for r in json.load(open(sys.argv[1]))["results"] if r["outcome"] == "removed"))' "$work/clean.json")
check "clean --namespace MainPID removed exactly the unit's orphan ($removed)" test "$removed" = 0xe002
after=$(verdicts "$work/after.json")
check "the unit's held set stays" grep -qx "$unit_ns $UNIT 0xe001 in-use" <<< "$after"
check "the sandbox's objects stay" test "$(grep -c "^$sandbox_ns .* 0xd00[12] " <<< "$after")" = 2
check "no warnings" test ! -s "$work/all.err" -a ! -s "$work/clean.err"
[ -s "$work/clean.err" ] && diag < "$work/clean.err"
sb systemctl stop "$UNIT"
kill "$holder" 2>/dev/null
exit 0
