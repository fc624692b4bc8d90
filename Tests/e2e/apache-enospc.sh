#!/usr/bin/env bash
# shellcheck disable=SC2016  # single-quoted strings are eval'd by check
# Tests/e2e/apache-enospc.sh: the real failure this tool exists for. In a
# private IPC namespace SEMMNI is lowered so that two crashed Apache instances
# (2 sets each: accept mutex and ssl-cache) fill the table; the third start
# fails with "No space left on device" (AH00023 or mod_ssl's equivalent);
# `ipcsweep clean` removes the dead instances' sets and Apache starts again.
# Usage: [IPCSWEEP=path/to/ipcsweep] Tests/e2e/apache-enospc.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_require_root
e2e_in_private_ns "$0" "$@"
# ---- from here on: inside the private namespace, as its pid 1 ----

e2e_require_cmd "$APACHE_BIN" curl python3
OUT=$E2E_TMP/out
A=$E2E_TMP/apache
p1=$(e2e_free_port)
p2=$(e2e_free_port)
while [ "$p2" = "$p1" ]; do p2=$(e2e_free_port); done
apache_config "$A" "$p1" "$p2"
e2e_on_exit "apache_kill9 '$A'"

# SEMMNI is per IPC namespace: 4 sets fit, i.e. two instances' worth.
echo "250 32000 32 4" >/proc/sys/kernel/sem
check "SEMMNI is 4 in this namespace" [ "$(awk '{print $4}' /proc/sys/kernel/sem)" = 4 ]

for gen in 1 2; do
    apache_start "$A" || die "start Apache (generation $gen)"
    check "generation $gen answers HTTP" apache_wait_http "$p1" "$p2"
    apache_kill9 "$A" || die "SIGKILL generation $gen"
    check "generation $gen is gone after SIGKILL" [ -z "$(apache_pids "$A")" ]
done
check "two crashes left 4 semaphore sets (the table is full)" [ "$(sem_ids | wc -l)" = 4 ]

: >"$A/logs/error.log"
rc=0
apache_start "$A" >"$OUT/start3.log" 2>&1 || rc=$?
check "a third start fails (exit $rc)" [ "$rc" -ne 0 ]
check "Apache says No space left on device" grep -q "No space left on device" "$OUT/start3.log" "$A/logs/error.log"
note "$(grep -h -m1 "No space left on device" "$OUT/start3.log" "$A/logs/error.log" || true)"

sweep "$OUT/audit.txt" audit --warn-at 50 --critical-at 95 || true
check "audit reports SEMMNI as critical" grep -q "CRITICAL SEMMNI" "$OUT/audit.txt"
check "audit says the next leak does not fit" grep -qi "ENOSPC" "$OUT/audit.txt"

leaked=$(sem_ids)
sleep 1.1   # nothing of Apache runs: the sets are orphaned whatever the time
rc=0
sweep "$OUT/clean.json" clean --exe apache2 --user www-data --yes --format json || rc=$?
check "clean exits 0 (exit $rc)" [ "$rc" = 0 ]
check "clean removed exactly the 4 leaked sets ($(csv "$leaked"))" \
    json_check clean "$OUT/clean.json" --type sem --removed "$(csv "$leaked")"
check "no semaphore set is left" [ -z "$(sem_ids)" ]

: >"$A/logs/error.log"
apache_start "$A" || die "start Apache after the clean-up"
check "Apache starts again and answers HTTP" apache_wait_http "$p1" "$p2"
e2e_finish
