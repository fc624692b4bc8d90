#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted strings are eval'd by check/wait_until
# Tests/e2e/apache-slowstart.sh: the running Apache's sets must never be
# "orphaned", even when its start-up straddles a second boundary.
#
# Why this can go wrong (see FINDINGS.md): "apache2 -k start" creates mod_ssl's
# ssl-cache set in its first configuration pass, re-reads the whole config,
# and only then forks the daemon (the parent that runs from then on) and
# exits. That set is never semop()ed (otime 0) and its sempid is the dead
# launcher, so its last activity is its ctime, and the daemon and all its
# children started after it. When the daemon is forked in a later second than
# the set's ctime (a config re-read that takes long enough, or bad luck:
# about gap/1s of all starts), no live process in the unit is "old enough",
# and the time rule alone calls the running server's set orphaned.
#
# Here the fork is delayed by 1.1 s deterministically (strace fault injection
# on the launcher's clone()), which is what a slow config re-read does.
# Skipped when strace is not installed. Needs root; runs in a private
# IPC+PID+mount namespace.
# Usage: [IPCSWEEP=path/to/ipcsweep] Tests/e2e/apache-slowstart.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_require_root
e2e_in_private_ns "$0" "$@"
# ---- from here on: inside the private namespace, as its pid 1 ----

e2e_require_cmd "$APACHE_BIN" curl python3
if ! command -v strace >/dev/null 2>&1; then
    pass "# SKIP strace is not installed (apt-get install strace)"
    e2e_finish
fi
OUT=$E2E_TMP/out

unit=e2e-apache-slow-$E2E_RUN_ID.service
cg=$(unit_cgroup_create "$unit") || die "create cgroup for $unit"
e2e_on_exit "unit_cgroup_remove '$unit'"
A=$E2E_TMP/apache
p1=$(e2e_free_port)
p2=$(e2e_free_port)
while [ "$p2" = "$p1" ]; do p2=$(e2e_free_port); done
apache_config "$A" "$p1" "$p2"
e2e_on_exit "apache_kill9 '$A'"

before=$(sem_ids)
t0=$(date +%s)
# The launcher, in the unit's cgroup, under strace (no -f: only the launcher
# is traced; strace exits with it). Every fork of the launcher waits 1.1 s.
bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' e2e-in-cgroup "$cg" \
    strace -o "$E2E_TMP/strace.log" -tt -e trace=clone,clone3,fork,vfork \
    -e inject=clone,clone3,fork,vfork:delay_enter=1100000 \
    "$APACHE_BIN" -f "$A/httpd.conf" -k start || die "start Apache under strace"
wait_until 10 eval 'p=$(apache_pid "$A") && proc_live "$p"' || die "Apache did not start"
check "Apache answers on :$p1" apache_wait_http "$p1"
check "Apache answers on :$p2" apache_wait_http "$p2"
sed 's/^/#   strace: /' "$E2E_TMP/strace.log"
sets=$(new_ids "$before" "$(sem_ids)")
check "the instance created 2 semaphore sets" [ "$(count "$sets")" = 2 ]
parent=$(apache_pid "$A")
note "parent $parent started $(($(date +%s) - t0))s after the launcher; sets $(csv "$sets")"
sed 's/^/#   /' /proc/sysvipc/sem

for scope in "--unit $unit" "--pidfile $A/run/httpd.pid" "--exe apache2"; do
    f=$OUT/list-$(echo "$scope" | tr -c 'a-z0-9' _).json
    # shellcheck disable=SC2086
    sweep "$f" list --format json --type sem $scope || true
    check "list $scope: none of the running instance's sets is orphaned" \
        json_check verdict "$f" --type sem --ids "$(csv "$sets")" --not orphaned
done

sweep "$OUT/clean.json" clean --unit "$unit" --user www-data --yes --format json || true
check "clean --unit $unit --user www-data --yes removes none of them" \
    json_check clean "$OUT/clean.json" --type sem --removed ""
kept=1
for id in $sets; do sem_exists "$id" || kept=0; done
check "the running instance's sets still exist" [ "$kept" = 1 ]
check "Apache still answers on :$p1" http_ok "$p1"

note "scenario took $(e2e_elapsed)s"
e2e_finish
