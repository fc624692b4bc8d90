#!/bin/bash
# e2e-alerts.sh: the shipped alert rules on the real path a fleet uses, textfile -> node_exporter
# -> Prometheus -> Alertmanager, all Debian's packages run by their own units under a real systemd
# in a sandbox booted by sandbox.sh (its own IPC, mount, pid and network namespaces: loopback only,
# never the host's ports, services, /var/lib/prometheus or IPC objects).
#
#   1. The shipped ipcsweep-audit.service and .timer (drop-ins make the timer fire every 3 s and
#      add --all-processes-visible, true of the sandbox, a child pid namespace that no other joins)
#      write ipcsweep.prom into node_exporter's textfile directory; Debian's
#      prometheus-node-exporter.service exports it; prometheus.service scrapes it with a test copy
#      of the shipped rules (only for: and the staleness threshold shortened, by a checked sed);
#      prometheus-alertmanager.service receives the alerts and sends them to a webhook receiver.
#      Every rule loads and evaluates without error; no alert is active on a clean namespace.
#   2. An orphaned semaphore set in the sandbox's namespace: IPCSweepSysVOrphans reaches
#      Alertmanager (its API) with the host, kind, count and the runbook's command, and a firing
#      notification reaches the receiver.
#   3. `ipcsweep clean` removes the set: the next audit has no orphan, the alert resolves
#      (gone from the API, a resolved notification).
#   4. Stopping the timer: IPCSweepAuditStale fires. Removing ipcsweep.prom while node_exporter
#      is up: IPCSweepAuditAbsent fires and the stale alert resolves.
#
# Environment:
#   IPCSWEEP          the binary (default <repo>/.build/debug/ipcsweep)
#   E2E_AUDIT_UNITS   installed: the units and rules the package or make install put on the host
#                     (/lib/systemd/system, /usr/share/ipcsweep/prometheus), which must run
#                     IPCSWEEP; otherwise (default) dist/systemd and dist/prometheus of the checkout
#   E2E_STATE_DIR     sandbox state (default /run/ipcsweep-e2e/alerts.PID)
#   E2E_WORK_BASE     parent of the work dir (default /var/lib/ipcsweep-e2e; not /tmp, /var/tmp, /run)
#   E2E_KEEP=1        keep the work dir (configurations, notifications, API answers)
# Needs root, Debian's systemd, prometheus (and promtool), prometheus-node-exporter,
# prometheus-alertmanager, curl and /usr/bin/python3. Output: "ok - ..." / "not ok - ...", "# "
# diagnostics, last line "N passed, M failed"; exit status 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
UNITS_MODE=${E2E_AUDIT_UNITS:-checkout}
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/alerts.$$}
export E2E_SANDBOX_NETNS=1   # its own network namespace: the servers listen on its loopback only
SERVICE=ipcsweep-audit.service
TIMER=ipcsweep-audit.timer
TEXTFILE_DIR=/var/lib/prometheus/node-exporter
PROM=$TEXTFILE_DIR/ipcsweep.prom
PERIOD=3          # the test timer's period (seconds); the shipped one is hourly
STALE_AFTER=10    # the test copy's staleness threshold: two periods, and margin for a slow audit and scrape
HOST=ipcsweep-e2e # the instance label's host (the sandbox's hostname)
NODE=127.0.0.1:9100 PROMETHEUS=127.0.0.1:9090 ALERTMANAGER=127.0.0.1:9093 RECEIVER=127.0.0.1:9095

. "$here/tap.sh"
work="" booted=0
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$booted" = 1 ]; then
        [ "$failed" -gt 0 ] && dump_journal
        "$SANDBOX" stop || not_ok "sandbox stop"
        [ -z "$("$SANDBOX" pid 2>/dev/null)" ] || not_ok "sandbox still running after stop"
    fi
    if [ -n "${host_ipc_before+x}" ]; then
        if [ "$(host_ipc_snapshot)" = "$host_ipc_before" ]; then ok "host IPC namespace unchanged"; else not_ok "host IPC namespace changed"; fi
    fi
    if [ -n "${host_prom_before+x}" ]; then
        if [ "$(host_prom_state)" = "$host_prom_before" ]; then
            ok "the host's /var/lib/prometheus and timer stamps are as they were"
        else
            not_ok "the host's /var/lib/prometheus and timer stamps are as they were"
        fi
    fi
    if [ -n "$work" ] && [ -d "$work" ]; then
        if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# work dir kept: $work"; else rm -rf -- "$work"; fi
    fi
    rmdir -- "$E2E_STATE_DIR" "$WORK_BASE" 2>/dev/null || true
    rmdir -- /run/ipcsweep-e2e 2>/dev/null || true  # the parent of the default state directory, once no run uses it
    tap_end "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

# everything under the host's /var/lib/prometheus (the sandbox mounts a tmpfs over it) and the timer stamp
host_prom_state() {
    find /var/lib/prometheus -printf '%p %i %s %T@\n' 2>/dev/null | sort
    stat -c '%i %s %Y' /var/lib/systemd/timers/stamp-$TIMER 2>/dev/null || echo "no stamp"
}
sb() { "$SANDBOX" exec "$@"; }
sctl() { "$SANDBOX" exec systemctl "$@"; }
prop() { sctl show -p "$2" --value "$1" 2>/dev/null; }
dump_journal() {
    local u
    for u in prometheus prometheus-node-exporter prometheus-alertmanager "$SERVICE" e2e-webhook; do
        echo "# journal of $u:"; sb journalctl -u "$u" --no-pager -n 15 2>&1 | diag
    done
}
get() { sb curl -fsS --max-time 5 "$@"; }

# JSON questions, answered by /usr/bin/python3 from standard input (stdlib only).
json() { /usr/bin/python3 -c "import json, sys
d = json.load(sys.stdin)
$1" "${@:2}"; }
# the active alerts of Alertmanager named $1, one line each: sorted labels, then the annotations as JSON
am_alerts() {
    get "http://$ALERTMANAGER/api/v2/alerts?active=true&silenced=false&inhibited=false" | json '
for a in d:
    if a["labels"].get("alertname") == sys.argv[1]:
        print(json.dumps(a["labels"], sort_keys=True), json.dumps(a["annotations"], sort_keys=True))' "$1"
}
# notifications the webhook received: "status alertname" per alert in each
notifications() {
    /usr/bin/python3 -c 'import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    for a in n["alerts"]:
        print(a["status"], a["labels"].get("alertname"), a["labels"].get("kind", ""))' "$work/notifications.jsonl" 2>/dev/null
}
# wait_for SECONDS CMD...: until CMD succeeds; prints nothing; status of the last try
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.5
    done
}
firing() { [ -n "$(am_alerts "$1")" ]; }
not_firing() { local a; a=$(am_alerts "$1") && [ -z "$a" ]; }
notified() { notifications | grep -x "$1" >/dev/null; }
elapsed() { echo "$((SECONDS - $1)) s"; }

# ---------------------------------------------------------------- preflight
host_ipc_before=$(host_ipc_snapshot)
host_prom_before=$(host_prom_state)
[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
[ -x /lib/systemd/systemd ] || { not_ok "/lib/systemd/systemd missing (apt-get install -y systemd)"; exit 1; }
for b in prometheus promtool prometheus-node-exporter prometheus-alertmanager curl; do
    command -v "$b" >/dev/null || { not_ok "$b missing (apt-get install -y prometheus prometheus-node-exporter prometheus-alertmanager curl)"; exit 1; }
done
for u in prometheus.service prometheus-node-exporter.service prometheus-alertmanager.service; do
    [ -f "/lib/systemd/system/$u" ] || { not_ok "Debian's $u missing"; exit 1; }
done
id prometheus >/dev/null 2>&1 || { not_ok "user prometheus missing (Debian's prometheus package makes it)"; exit 1; }
[ -d /var/lib/prometheus ] || { not_ok "/var/lib/prometheus missing: the sandbox mounts a tmpfs on it"; exit 1; }
[ -x /usr/bin/python3 ] || { not_ok "/usr/bin/python3 missing"; exit 1; }
[ -x "$IPCSWEEP" ] || { not_ok "IPCSWEEP=$IPCSWEEP is not executable (swift build, or set IPCSWEEP)"; exit 1; }
echo "# IPCSWEEP=$IPCSWEEP, units and rules: $UNITS_MODE; $(prometheus --version 2>&1 | head -1); $(prometheus-node-exporter --version 2>&1 | head -1); $(prometheus-alertmanager --version 2>&1 | head -1)"
t_start=$SECONDS

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/alerts.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
chmod 755 "$work"
if [ "$UNITS_MODE" = installed ]; then
    unit_dir=""
    for d in /lib/systemd/system /usr/lib/systemd/system /usr/local/lib/systemd/system; do
        [ -f "$d/$SERVICE" ] && { unit_dir=$d; break; }
    done
    [ -n "$unit_dir" ] || { not_ok "installed $SERVICE not found"; exit 1; }
    rules=""
    for r in /usr/share/ipcsweep/prometheus/ipcsweep.rules.yml /usr/local/share/ipcsweep/prometheus/ipcsweep.rules.yml; do
        [ -f "$r" ] && { rules=$r; break; }
    done
    [ -n "$rules" ] || { not_ok "installed ipcsweep.rules.yml not found under /usr/share or /usr/local/share"; exit 1; }
    bin=$IPCSWEEP
    grep -q "^ExecStart=$IPCSWEEP " "$unit_dir/$SERVICE" || { not_ok "installed $unit_dir/$SERVICE runs $IPCSWEEP"; exit 1; }
else
    # A copy of the binary outside /tmp, /var/tmp and /run, which the sandbox replaces.
    mkdir -p "$work/bin" && cp -- "$IPCSWEEP" "$work/bin/ipcsweep"
    for u in "$SERVICE" "$TIMER"; do sed "s|@BINDIR@|$work/bin|g" "$repo/dist/systemd/$u" > "$work/$u"; done
    rules=$repo/dist/prometheus/ipcsweep.rules.yml
    bin=$work/bin/ipcsweep
fi
echo "# rules: $rules"

# The test copy of the rules: every for: becomes 2s and the staleness threshold (7200 s, two hourly
# periods) becomes $STALE_AFTER s; nothing else changes. The counts prove the sed matched.
n_for=$(grep -cE '^ +for: [0-9]+[smh]$' "$rules")
n_stale=$(grep -cE '^ +expr: time\(\) - ipcsweep_audit_timestamp_seconds > 7200$' "$rules")
sed -E -e 's/^( +for: )[0-9]+[smh]$/\12s/' \
    -e "s/^( +expr: time\\(\\) - ipcsweep_audit_timestamp_seconds > )7200\$/\\1$STALE_AFTER/" "$rules" > "$work/ipcsweep.rules.yml"
changed=$(diff "$rules" "$work/ipcsweep.rules.yml" | grep -c '^>')
if [ "$n_for" -ge 9 ] && [ "$n_stale" = 1 ] && [ "$changed" = $((n_for + 1)) ] \
    && out=$(promtool check rules "$work/ipcsweep.rules.yml" 2>&1); then
    ok "test copy of the rules: $n_for for: durations set to 2s, staleness after ${STALE_AFTER}s ($(grep -o '[0-9]* rules found' <<< "$out"))"
else
    not_ok "test copy of the rules ($n_for for:, $n_stale staleness expression, $changed lines changed)"; exit 1
fi
n_alerts=$(grep -c '^ *- alert: ' "$rules")

cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $work/ipcsweep.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['$ALERTMANAGER']
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ['$NODE']
        labels: {instance: '$HOST:9100'}
EOF
cat > "$work/alertmanager.yml" <<EOF
route:
  receiver: e2e
  group_by: [alertname, instance]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: e2e
    webhook_configs:
      - url: http://$RECEIVER/
        send_resolved: true
EOF
cat > "$work/webhook.py" <<'EOF'
# Alertmanager's webhook receiver for the e2e: appends each notification (one JSON document) as a line.
import http.server, sys
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[3], "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Receiver).serve_forever()
EOF
: > "$work/notifications.jsonl"
chmod 644 "$work"/*.yml "$work/webhook.py"
# Debian's units, their arguments from a drop-in instead of /etc/default (EnvironmentFile= would win).
dropin() { printf '[Service]\nEnvironmentFile=\nEnvironment="ARGS=%s"\n' "$2" > "$work/$1.conf"; }
dropin prometheus "--config.file=$work/prometheus.yml --web.listen-address=$PROMETHEUS --storage.tsdb.path=/var/lib/prometheus/metrics2"
dropin prometheus-node-exporter "--web.listen-address=$NODE --collector.disable-defaults --collector.textfile"
dropin prometheus-alertmanager "--config.file=$work/alertmanager.yml --storage.path=/var/lib/prometheus/alertmanager --web.listen-address=$ALERTMANAGER --cluster.listen-address="
printf '[Timer]\nOnCalendar=\nOnCalendar=*:*:0/%s\nRandomizedDelaySec=0\nAccuracySec=100ms\n' "$PERIOD" > "$work/timer.conf"
# The sandbox is a child pid namespace: the audit there states that it sees every process that can use the
# sandbox's IPC namespace (true: no other pid namespace joins it). On a host the unit runs in the initial
# pid namespace and needs no such statement, so only this drop-in adds the flag to the unit's own ExecStart=.
exec_start=$(grep '^ExecStart=' "${unit_dir:-$work}/$SERVICE")
service_exec=$(sed 's| audit | audit --all-processes-visible |' <<< "$exec_start")
if [ "$(grep -c '^ExecStart=' "${unit_dir:-$work}/$SERVICE")" = 1 ] && [ "$service_exec" != "$exec_start" ] \
    && [ "${service_exec/ --all-processes-visible/}" = "$exec_start" ]; then
    printf '[Service]\nExecStart=\n%s\n' "$service_exec" > "$work/service.conf"
else
    not_ok "the unit's ExecStart= runs ipcsweep audit ($exec_start)"; exit 1
fi

# ---------------------------------------------------------------- 1. boot, start the path
spid=$("$SANDBOX" start) || { not_ok "sandbox boots"; exit 1; }
booted=1
if [ "$(readlink "/proc/$spid/ns/net")" != "$(readlink /proc/self/ns/net)" ] \
    && [ "$(readlink "/proc/$spid/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ]; then
    ok "sandbox boots (systemd host pid $spid) with its own network and IPC namespaces"
else
    not_ok "the sandbox has its own network and IPC namespaces"; exit 1
fi
[ "$UNITS_MODE" != installed ] && "$SANDBOX" unit "$work/$SERVICE" "$work/$TIMER"
# Inside the sandbox only: tmpfs on /var/lib/prometheus (the servers' data, the textfile directory)
# and on /var/lib/systemd/timers (the timer's Persistent= stamp).
sb mount -t tmpfs -o mode=755 ipcsweep-e2e-prom /var/lib/prometheus || { not_ok "tmpfs on /var/lib/prometheus in the sandbox"; exit 1; }
# The sandbox's /var/lib/systemd is its own tmpfs copy (sandbox.sh): the directory is made there, never on the host.
sb mkdir -p /var/lib/systemd/timers || { not_ok "/var/lib/systemd/timers in the sandbox"; exit 1; }
sb mount -t tmpfs -o mode=755 ipcsweep-e2e-timers /var/lib/systemd/timers || { not_ok "tmpfs on /var/lib/systemd/timers in the sandbox"; exit 1; }
sb sh -c "mkdir -p $TEXTFILE_DIR /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager \
    && chown prometheus:prometheus /var/lib/prometheus/metrics2 /var/lib/prometheus/alertmanager" \
    || { not_ok "data directories in the sandbox"; exit 1; }
sb sh -c "for u in prometheus prometheus-node-exporter prometheus-alertmanager; do
        mkdir -p /run/systemd/system/\$u.service.d && cp $work/\$u.conf /run/systemd/system/\$u.service.d/e2e.conf; done
    mkdir -p /run/systemd/system/$TIMER.d && cp $work/timer.conf /run/systemd/system/$TIMER.d/e2e.conf
    mkdir -p /run/systemd/system/$SERVICE.d && cp $work/service.conf /run/systemd/system/$SERVICE.d/e2e.conf
    systemctl daemon-reload" || { not_ok "drop-ins in the sandbox"; exit 1; }
sb systemd-run --quiet --unit=e2e-webhook /usr/bin/python3 "$work/webhook.py" "${RECEIVER%:*}" "${RECEIVER#*:}" "$work/notifications.jsonl" \
    || not_ok "webhook receiver starts"

t0=$SECONDS
if sctl start prometheus-node-exporter.service prometheus-alertmanager.service prometheus.service "$TIMER"; then
    ok "systemctl start prometheus-node-exporter prometheus-alertmanager prometheus $TIMER (Debian's units, $(prop prometheus.service FragmentPath))"
else
    not_ok "systemctl start the servers and $TIMER"; exit 1
fi
for u in prometheus-node-exporter prometheus-alertmanager prometheus; do
    [ "$(prop $u.service User)" = prometheus ] || not_ok "$u runs as user prometheus ($(prop $u.service User))"
done
wait_for 30 get "http://$PROMETHEUS/-/ready" && wait_for 30 get "http://$ALERTMANAGER/-/ready" \
    && wait_for 30 get "http://$NODE/metrics" && wait_for 10 get "http://$RECEIVER/" -X POST -d '{"alerts": []}' \
    && ok "Prometheus, Alertmanager, node_exporter and the receiver answer on the sandbox's loopback ($(elapsed $t0))" \
    || { not_ok "the servers answer on the sandbox's loopback"; exit 1; }
listening=$(sb ss -Hltn | awk '{ print $4 }' | sort | tr '\n' ' ')
case "$listening" in *0.0.0.0:*|*'[::]:'*|*'*:'*) not_ok "every server listens on loopback only ($listening)" ;;
*) ok "every server listens on loopback only: $listening" ;; esac

if wait_for 20 sb test -s "$PROM"; then
    ok "$TIMER started $SERVICE, which wrote $PROM"
else
    not_ok "$TIMER started $SERVICE, which wrote $PROM"; sb journalctl -u "$SERVICE" --no-pager -n 20 | diag; exit 1
fi
# node_exporter reads the textfile directory Debian's default names (no --collector.textfile.directory given).
if wait_for 10 sh -c "'$SANDBOX' exec curl -fsS http://$NODE/metrics | grep '^ipcsweep_audit_timestamp_seconds ' >/dev/null"; then
    ok "node_exporter exports ipcsweep_audit_timestamp_seconds from its default textfile directory"
else
    not_ok "node_exporter exports the textfile"; get "http://$NODE/metrics" | grep textfile | diag
fi
scrape_error=$(get "http://$NODE/metrics" | awk '$1 == "node_textfile_scrape_error" { print $2 }')
[ "$scrape_error" = 0 ] && ok "node_textfile_scrape_error 0" || not_ok "node_textfile_scrape_error is 0 (it is '$scrape_error')"
query() { get "http://$PROMETHEUS/api/v1/query" --data-urlencode "query=$1" | json 'print(len(d["data"]["result"]))'; }
has_series() { [ "$(query "$1")" -ge 1 ]; }
if wait_for 15 has_series "ipcsweep_audit_timestamp_seconds{instance=\"$HOST:9100\",job=\"node\"}"; then
    ok "Prometheus scraped ipcsweep_audit_timestamp_seconds{instance=\"$HOST:9100\",job=\"node\"}"
else
    not_ok "Prometheus scraped the audit series"
fi
# Every ipcsweep_ series the rules read is written by the audit (HELP and TYPE even without samples).
sb cat "$PROM" > "$work/ipcsweep.prom"
missing=""
for name in $(grep -o 'ipcsweep_[a-z_]*' "$rules" | sort -u); do
    grep -q "^# TYPE $name gauge$" "$work/ipcsweep.prom" || missing="$missing $name"
done
[ -z "$missing" ] && ok "the audit in the unit writes every series the rules read" || not_ok "series the rules read but the audit does not write:$missing"

# Every rule loaded and evaluates without error (the templates are expanded only when alerts fire).
rules_ok() {
    get "http://$PROMETHEUS/api/v1/rules" | json '
rules = [r for g in d["data"]["groups"] for r in g["rules"]]
bad = [r["name"] + ": " + r.get("lastError", "") for r in rules if r.get("health") != "ok"]
print(len(rules), sum(r["type"] == "alerting" for r in rules), "; ".join(bad))
sys.exit(1 if bad or not rules else 0)'
}
if wait_for 10 rules_ok && r=$(rules_ok); then
    set -- $r
    [ "$2" = "$n_alerts" ] && ok "Prometheus loaded the $1 rules ($2 alerts), every one healthy" || not_ok "Prometheus loaded $2 alerts of $n_alerts"
else
    not_ok "every rule loads and evaluates without error: $(rules_ok)"
fi
active=$(get "http://$ALERTMANAGER/api/v2/alerts?active=true" | json 'print(" ".join(sorted(a["labels"]["alertname"] for a in d)))')
[ -z "$active" ] && ok "no alert is active while the sandbox's namespace is clean" || not_ok "no alert is active on a clean namespace (active: $active)"

# ---------------------------------------------------------------- 2. an orphaned set
# The tool runs inside the sandbox, a child pid namespace that no other pid namespace joins: it says so.
vis=(--all-processes-visible)
# A set of the system user daemon, mode 0600, whose creator (ipcmk) exits at once: no process of that
# uid is left. (A system user: logind's RemoveIPC= would destroy a set of nobody, uid 65534, at its last
# logout, and IPCSweepRemoveIPCAtRisk would rightly fire too.)
id=$("$SANDBOX" ipc setpriv --reuid=daemon --regid=daemon --clear-groups ipcmk -S 1 -p 0600 | awk '{ print $NF }')
verdict=$(sb "$bin" list "${vis[@]}" --type sem --id "$id" --format json | json 'print(d["objects"][0]["verdict"])')
[ "$verdict" = orphaned ] && ok "semaphore set $id of daemon in the sandbox is orphaned" || not_ok "semaphore set $id of daemon is orphaned (it is '$verdict')"
t0=$SECONDS
if wait_for 40 firing IPCSweepSysVOrphans; then
    ok "IPCSweepSysVOrphans reached Alertmanager ($(elapsed $t0) after the set was made)"
    am_alerts IPCSweepSysVOrphans > "$work/orphans.alert"
    labels=$(cut -d' ' -f1 < "$work/orphans.alert" | head -1)
    want="{\"alertname\": \"IPCSweepSysVOrphans\", \"instance\": \"$HOST:9100\", \"job\": \"node\", \"kind\": \"sem\", \"severity\": \"warning\", \"verdict\": \"orphaned\"}"
    [ "$(json 'print(json.dumps(d, sort_keys=True))' <<< "$(sed 's/} {.*/}/' "$work/orphans.alert")")" = "$want" ] \
        && ok "its labels: $want" || { not_ok "its labels are $want"; diag < "$work/orphans.alert"; }
    ann=$(sed 's/^{[^}]*} //' "$work/orphans.alert")
    summary=$(json 'print(d["summary"])' <<< "$ann")
    [ "$summary" = "1 orphaned System V semaphore set on $HOST" ] && ok "summary: $summary" || not_ok "summary names host, kind and count: '$summary'"
    json 'print(d["description"])' <<< "$ann" | grep "^$HOST holds 1 orphaned semaphore set (kind sem), found by two audits" >/dev/null \
        && ok "description names host, kind and count" || { not_ok "description names host, kind and count"; diag <<< "$ann"; }
    json 'print(d["runbook"])' <<< "$ann" | grep -x '  ipcsweep clean --type sem --dry-run' >/dev/null \
        && ok "runbook gives the command: ipcsweep clean --type sem --dry-run" || { not_ok "runbook gives the ipcsweep command"; diag <<< "$ann"; }
    grep -q 'error expanding' <<< "$ann" && not_ok "templates expand without error: $ann"
else
    not_ok "IPCSweepSysVOrphans reached Alertmanager"
fi
wait_for 10 notified "firing IPCSweepSysVOrphans sem" && ok "the receiver got the firing notification" \
    || { not_ok "the receiver got the firing notification"; notifications | diag; }
other=$(get "http://$ALERTMANAGER/api/v2/alerts?active=true" | json 'print(" ".join(sorted(a["labels"]["alertname"] for a in d if a["labels"]["alertname"] != "IPCSweepSysVOrphans")))')
[ -z "$other" ] && ok "no other alert fires (the set is private, 0600: nothing insecure)" || not_ok "no other alert fires ($other)"

# ---------------------------------------------------------------- 3. clean: the alert resolves
clean_args=(clean "${vis[@]}" --type sem --yes)
if sb "$bin" "${clean_args[@]}" > "$work/clean.out" 2>&1 && [ -z "$(sb awk -v id="$id" 'NR > 1 && $2 == id' /proc/sysvipc/sem)" ]; then
    ok "ipcsweep ${clean_args[*]} removed set $id"
else
    not_ok "ipcsweep ${clean_args[*]} removed set $id"; diag < "$work/clean.out"
fi
t0=$SECONDS
if wait_for 40 not_firing IPCSweepSysVOrphans; then
    ok "after the clean IPCSweepSysVOrphans resolved: gone from Alertmanager's active alerts ($(elapsed $t0))"
else
    not_ok "after the clean IPCSweepSysVOrphans resolved"; am_alerts IPCSweepSysVOrphans | diag
fi
wait_for 10 notified "resolved IPCSweepSysVOrphans sem" && ok "the receiver got the resolved notification" \
    || { not_ok "the receiver got the resolved notification"; notifications | diag; }

# ---------------------------------------------------------------- 4. the audit stops: stale, then absent
not_firing IPCSweepAuditStale && ok "IPCSweepAuditStale quiet while the timer runs" || not_ok "IPCSweepAuditStale quiet while the timer runs"
sctl stop "$TIMER"
t0=$SECONDS
if wait_for 40 firing IPCSweepAuditStale; then
    ok "systemctl stop $TIMER: IPCSweepAuditStale reached Alertmanager ($(elapsed $t0))"
    am_alerts IPCSweepAuditStale | grep "\"summary\": \"ipcsweep audit on $HOST last ran [0-9.]*s ago\"" >/dev/null \
        && ok "its summary names the host and the age" || { not_ok "its summary names the host and the age"; am_alerts IPCSweepAuditStale | diag; }
else
    not_ok "systemctl stop $TIMER: IPCSweepAuditStale reached Alertmanager"
fi
not_firing IPCSweepAuditAbsent && ok "IPCSweepAuditAbsent quiet while the series are there" || not_ok "IPCSweepAuditAbsent quiet while the series are there"
sb rm -f "$PROM"
t0=$SECONDS
if wait_for 40 firing IPCSweepAuditAbsent; then
    ok "ipcsweep.prom removed, node_exporter up: IPCSweepAuditAbsent reached Alertmanager ($(elapsed $t0))"
else
    not_ok "ipcsweep.prom removed, node_exporter up: IPCSweepAuditAbsent reached Alertmanager"
fi
wait_for 20 not_firing IPCSweepAuditStale && ok "IPCSweepAuditStale resolved with the series gone" || not_ok "IPCSweepAuditStale resolved with the series gone"
echo "# notifications received: $(notifications | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
echo "# e2e-alerts took $((SECONDS - t_start)) s"
exit 0
