# tap.sh: sourced by the systemd e2e scenarios. TAP-like results ("ok - ...", "not ok - ...",
# diagnostics "# ..."), counted in $passed and $failed, and the host's System V objects, to
# prove a scenario left them alone.
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
diag() { sed 's/^/# /'; }

# key, id and owner of every object in the caller's (the host's) IPC namespace
host_ipc_snapshot() {
    local f
    for f in sem shm msg; do
        awk -v t="$f" 'NR > 1 { print t, $1, $2, $5 }' "/proc/sysvipc/$f" 2>/dev/null
    done | sort
}

# tap_end STATUS: the last line "N passed, M failed"; a harness that stopped with a non-zero
# STATUS is a failure too; exits 0 only if nothing failed.
tap_end() {
    [ "$1" -ne 0 ] && [ "$failed" -eq 0 ] && not_ok "harness aborted (status $1)"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}
