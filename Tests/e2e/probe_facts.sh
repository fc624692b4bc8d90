#!/usr/bin/env bash
# shellcheck disable=SC2046  # pid lists are split on purpose
# Tests/e2e/probe_facts.sh: prints the raw IPC facts FINDINGS.md is based on,
# observed on a real Apache (prefork, Mutex sysvsem, two Listen lines) and a
# real PostgreSQL 15, inside a private IPC+PID+mount namespace. Not a test
# (run-all.sh does not run it): re-run it after a kernel/Apache/PostgreSQL
# upgrade and compare with FINDINGS.md.   Usage: sudo Tests/e2e/probe_facts.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_require_root
e2e_in_private_ns "$0" "$@"

dump_sem() {
    note "---- $1 (now=$(date +%s))"
    sed 's/^/#   /' /proc/sysvipc/sem
    local id
    for id in $(sem_ids); do
        ipcs -s -i "$id" | sed '/^$/d; s/^/#   /'
    done
}
show_procs() {
    local p
    for p in "$@"; do
        printf '#   pid %s state %s uid %s start_ticks %s comm %s cgroup %s\n' "$p" "$(proc_state "$p")" \
            "$(awk '/^Uid:/ { print $2 "/" $3 }' /proc/$p/status)" "$(awk '{ sub(/.*\) /, ""); print $20 }' /proc/$p/stat)" \
            "$(cat /proc/$p/comm)" "$(proc_unit_cgroup "$p")"
    done
}

unit=e2e-probe-$E2E_RUN_ID.service
cg=$(unit_cgroup_create "$unit") || die "cgroup"
e2e_on_exit "unit_cgroup_remove '$unit'"
A=$E2E_TMP/apache
p1=$(e2e_free_port); p2=$(e2e_free_port)
apache_config "$A" "$p1" "$p2"
e2e_on_exit "apache_kill9 '$A'"

note "==== Apache start 1 at $(date +%s)"
apache_start "$A" "$cg" || die "apache start"
apache_wait_http "$p1" "$p2" || die "http"
note "launcher (apache2 -k start) pid: $(cat "$A/run/launcher.pid"), parent pid: $(apache_pid "$A")"
dump_sem "after start 1"
show_procs $(apache_pids "$A")
note "lsipc -s --json:"; lsipc -s --json | sed 's/^/#   /'
sleep 1.5
for i in 1 2 3 4 5; do http_ok "$p1"; http_ok "$p2"; done
dump_sem "after 10 requests"
sleep 1.5
note "==== SIGKILL all at $(date +%s)"
show_procs $(apache_pids "$A")
apache_kill9 "$A"
dump_sem "after kill -9"
note "zombies:"; ps -eo pid,ppid,stat,comm | awk '$3 ~ /Z/' | sed 's/^/#   /'
sleep 1.2
note "==== Apache start 2 at $(date +%s)"
apache_start "$A" "$cg" || die "apache start 2"
apache_wait_http "$p1" "$p2" || die "http 2"
note "launcher (apache2 -k start) pid: $(cat "$A/run/launcher.pid"), parent pid: $(apache_pid "$A")"
dump_sem "after start 2"
show_procs $(apache_pids "$A")
sleep 1.1
note "==== graceful (SIGUSR1) at $(date +%s)"
apache_graceful "$A"
sleep 2
apache_wait_http "$p1" "$p2" || die "http 3"
dump_sem "after graceful"
show_procs $(apache_pids "$A")
note "==== SIGHUP restart at $(date +%s)"
kill -HUP "$(apache_pid "$A")"
sleep 2
apache_wait_http "$p1" "$p2" || die "http 4"
dump_sem "after SIGHUP"
note "==== graceful-stop via -k stop at $(date +%s)"
apache_ctl "$A" -k stop
wait_until 10 eval '[ -z "$(apache_pids "$A")" ]' || true
dump_sem "after -k stop"
sed 's/^/#   log: /' "$A/logs/error.log"

P=$E2E_TMP/pg
pport=$(e2e_free_port)
e2e_on_exit "pg_kill9 '$P'"
note "==== PostgreSQL start at $(date +%s)"
pg_start "$P" "$pport" || die "pg start"
note "shm:"; sed 's/^/#   /' /proc/sysvipc/shm
note "sem:"; sed 's/^/#   /' /proc/sysvipc/sem
note "msg:"; sed 's/^/#   /' /proc/sysvipc/msg
note "data dir inode: $(stat -c %i "$P/data")"
for id in $(shm_ids); do ipcs -m -i "$id" | sed '/^$/d; s/^/#   /'; done
show_procs $(pg_pids "$P")
note "maps with SYSV:"; for p in $(pg_pids "$P"); do grep -H SYSV /proc/$p/maps 2>/dev/null | sed "s/^/#   $p /"; done
note "lsipc -m --json:"; lsipc -m --json | sed 's/^/#   /'
sleep 1.2
note "==== SIGKILL all postgres at $(date +%s)"
pg_kill9 "$P"
note "shm:"; sed 's/^/#   /' /proc/sysvipc/shm
for id in $(shm_ids); do ipcs -m -i "$id" | sed '/^$/d; s/^/#   /'; done
note "zombies:"; ps -eo pid,ppid,stat,comm | awk '$3 ~ /Z/' | sed 's/^/#   /'
pass "probe done in $(e2e_elapsed)s"
e2e_finish
