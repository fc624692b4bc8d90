# shellcheck shell=bash
# shellcheck disable=SC2016,SC2329  # eval'd single-quoted strings; helpers called indirectly
# Tests/e2e/lib.sh: shared helpers for the ipcsweep end-to-end scenarios.
#
# Source it from a scenario script (Tests/e2e/NAME-NAME.sh), then call
#     e2e_require_root
#     e2e_in_private_ns "$0" "$@"
# first thing. That re-runs the script inside a private IPC + PID + mount
# namespace (unshare), so every IPC object the scenario creates lives and
# dies with that namespace and the host's IPC namespace is never touched.
# Everything after that line runs inside the namespace, as pid 1: when the
# script exits, the kernel kills whatever it started (Apache, PostgreSQL),
# and the IPC namespace, with all its objects, is freed.
#
# Output is TAP-like: "ok - ...", "not ok - ...", "# comment", and as the
# last line "N passed, M failed" (exit status 1 when M > 0).
#
# Environment:
#   IPCSWEEP   the binary under test (default: REPO/.build/debug/ipcsweep)
#   E2E_KEEP   set to 1 to keep the scenario's temp dir (Apache/PostgreSQL
#              logs, ipcsweep's JSON in out/) for inspection
#   E2E_DEBUG  set to 1 to print every ipcsweep command and its output

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_LIB_DIR/../.." && pwd)

if [ -z "${IPCSWEEP:-}" ]; then
    IPCSWEEP=$E2E_REPO/.build/debug/ipcsweep
fi
case $IPCSWEEP in
    /*) ;;
    */*) IPCSWEEP=$PWD/$IPCSWEEP ;;   # relative path: relative to where we were started
    *) ;;                             # bare name: looked up in PATH
esac
export IPCSWEEP

APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

export LANG=C LC_ALL=C

# ---------------------------------------------------------------- results --

E2E_PASSED=0
E2E_FAILED=0

note() { printf '# %s\n' "$*"; }
pass() { E2E_PASSED=$((E2E_PASSED + 1)); printf 'ok - %s\n' "$*"; }
fail() { E2E_FAILED=$((E2E_FAILED + 1)); printf 'not ok - %s\n' "$*"; }

# check DESCRIPTION COMMAND...: pass when COMMAND succeeds, fail otherwise.
check() {
    local desc=$1; shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# die MESSAGE: a setup step failed; record it and stop the scenario.
die() {
    fail "$*"
    e2e_finish
}

# e2e_finish: print the summary (or hand the counts to the outer half of
# e2e_in_private_ns) and exit; non-zero when anything failed.
e2e_finish() {
    trap - ERR
    if [ -n "${E2E_RESULT_FILE:-}" ]; then
        printf '%s %s\n' "$E2E_PASSED" "$E2E_FAILED" >"$E2E_RESULT_FILE"
    else
        printf '%s passed, %s failed\n' "$E2E_PASSED" "$E2E_FAILED"
    fi
    [ "$E2E_FAILED" -eq 0 ] && exit 0
    exit 1
}

e2e_require_root() {
    if [ "$(id -u)" != 0 ]; then
        printf 'not ok - %s must run as root (unshare, cgroups, apache2 User/Group)\n' "$(basename "$0")"
        printf '0 passed, 1 failed\n'
        exit 1
    fi
}

# e2e_require_cmd CMD...: die unless every command exists.
e2e_require_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || die "required command not found: $c"
    done
}

# --------------------------------------------------------- cleanup stack --

E2E_CLEANUPS=()

# e2e_on_exit COMMAND-STRING: run at exit, last registered first.
e2e_on_exit() { E2E_CLEANUPS+=("$1"); }

e2e_run_cleanups() {
    local i
    for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
        eval "${E2E_CLEANUPS[$i]}" >/dev/null 2>&1 || true
    done
    E2E_CLEANUPS=()
}

# ------------------------------------------------------ private namespace --

# A snapshot of the host's (current) IPC namespace: "type key id" per object.
e2e_ipc_snapshot() {
    local t
    for t in sem shm msg; do
        awk -v t="$t" 'NR > 1 { print t, $1, $2 }' "/proc/sysvipc/$t"
    done | sort
}

# e2e_in_private_ns SCRIPT ARGS...
#   Outside the namespace: runs SCRIPT under unshare (IPC+PID+mount), checks
#   afterwards that the host IPC namespace is unchanged, prints the summary
#   and exits; it never returns.
#   Inside (the re-run): verifies it really is in a fresh namespace, mounts
#   a private tmpfs on /run, installs the exit trap, and returns.
e2e_in_private_ns() {
    local script=$1; shift
    if [ "${E2E_IN_PRIVATE_NS:-}" = 1 ]; then
        # Refuse to go on unless this is a fresh IPC and PID namespace.
        if [ -z "${E2E_HOST_IPC_NS:-}" ] || [ "$(readlink /proc/self/ns/ipc)" = "$E2E_HOST_IPC_NS" ] || [ "$$" != 1 ]; then
            printf 'not ok - not inside a private IPC+PID namespace (ipc=%s host=%s pid=%s); refusing to run\n' \
                "$(readlink /proc/self/ns/ipc)" "${E2E_HOST_IPC_NS:-?}" "$$"
            exit 1
        fi
        trap 'e2e_run_cleanups' EXIT
        trap 'fail "unexpected error (status $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND"; e2e_finish' ERR
        trap 'fail "interrupted"; e2e_finish' INT TERM HUP
        # A private /run: ipcsweep's lock file and anything else a daemon
        # wants under /run stays in this mount namespace.
        mount -t tmpfs -o mode=755,size=16m e2e-run /run || die "mount tmpfs on /run"
        # A private /dev/shm: POSIX shared memory and named semaphores of the
        # scenario (PostgreSQL's dynamic shared memory) never reach the host's,
        # and ipcsweep never sees (or cleans) the host's.
        mount -t tmpfs -o mode=1777,size=256m e2e-shm /dev/shm || die "mount tmpfs on /dev/shm"
        mkdir -p /run/lock && chmod 1777 /run/lock
        # E2E_TMP was made by the outer half, which removes it afterwards.
        [ -n "${E2E_TMP:-}" ] && [ -d "$E2E_TMP" ] || { printf 'not ok - no E2E_TMP\n'; exit 1; }
        mkdir -p "$E2E_TMP/out"
        E2E_T0=$(date +%s.%N)
        return 0
    fi

    e2e_require_cmd unshare awk python3
    local before after rc=0 tmp p=0 f=1 cg interrupted=
    before=$(e2e_ipc_snapshot)
    tmp=$(mktemp -d /tmp/ipcsweep-e2e.XXXXXX)
    chmod 755 "$tmp"
    # An interrupt reaches the namespace's pid 1 too (same process group),
    # which cleans up and exits; then finish here: backstop, host check.
    trap 'interrupted=1' INT TERM HUP
    E2E_IN_PRIVATE_NS=1 \
    E2E_HOST_IPC_NS=$(readlink /proc/self/ns/ipc) \
    E2E_RUN_ID=$$ \
    E2E_TMP=$tmp \
    E2E_RESULT_FILE=$tmp/result \
        unshare --ipc --pid --fork --mount-proc --mount --propagation private \
        -- bash "$script" "$@" || rc=$?
    if [ -s "$tmp/result" ]; then
        read -r p f <"$tmp/result"
    else
        printf 'not ok - %s ended (status %s) before reporting its results\n' "$(basename "$script")" "$rc"
        p=0 f=1
    fi
    if [ "${E2E_KEEP:-}" = 1 ]; then
        printf '# kept %s\n' "$tmp"
    else
        rm -rf "$tmp"
    fi
    # Backstop: the namespace's processes are all gone now (its pid 1 has
    # exited), so the unit-like cgroups it made can be removed.
    for cg in "$(e2e_cgroup_root)"/system.slice/e2e-*-"$$".service; do
        if [ -d "$cg" ]; then rmdir "$cg" 2>/dev/null || true; fi
    done
    after=$(e2e_ipc_snapshot)
    if [ "$before" = "$after" ]; then
        printf 'ok - host IPC namespace unchanged\n'
        p=$((p + 1))
    else
        printf 'not ok - host IPC namespace changed\n'
        diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | sed 's/^/# /' || true
        f=$((f + 1))
    fi
    [ -n "$interrupted" ] && { printf 'not ok - interrupted\n'; f=$((f + 1)); }
    printf '%s passed, %s failed\n' "$p" "$f"
    [ "$f" -eq 0 ] && [ "$rc" -eq 0 ] && exit 0
    exit 1
}

# Seconds since the scenario started, for timing notes.
e2e_elapsed() { awk -v t0="$E2E_T0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.1f", t1 - t0 }'; }

# e2e_free_port: a currently free TCP port on 127.0.0.1.
e2e_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until TIMEOUT_SECONDS COMMAND...: poll every 0.1 s; 0 when COMMAND succeeded.
wait_until() {
    local timeout=$1; shift
    local deadline=$(( $(date +%s%N) / 1000000 + timeout * 1000 ))
    while :; do
        "$@" && return 0
        [ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
        sleep 0.1
    done
}

# e2e_align_second: wait (at most 1 s) until the wall clock is in the first
# 200 ms of a second. Used before starting Apache so that its launcher and
# the daemon it forks a few ms later fall into the same second; the case
# where they do not is apache-slowstart.sh's, made deterministic there.
e2e_align_second() {
    local ns
    for _ in $(seq 1 50); do
        ns=$(date +%N)
        [ "${ns#0}" -lt 200000000 ] 2>/dev/null && return 0
        sleep 0.02
    done
    return 0
}

# ----------------------------------------------------------- process bits --

# proc_state PID: the one-letter state from /proc/PID/stat (empty when gone).
proc_state() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    printf '%s\n' "${s%% *}"
}

# proc_live PID: exists and is neither zombie nor dead.
proc_live() {
    local s
    s=$(proc_state "$1")
    [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}

# pids_matching PREDICATE: every live pid for which "PREDICATE PID" succeeds.
pids_matching() {
    local d pid
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        proc_live "$pid" || continue
        "$1" "$pid" 2>/dev/null && printf '%s\n' "$pid"
    done
    return 0
}

# kill9_until_gone TIMEOUT LISTER [ARGS]: SIGKILL every pid "LISTER ARGS"
# prints, repeatedly, until it prints none (zombies do not count).
kill9_until_gone() {
    local timeout=$1; shift
    local pids deadline=$(( $(date +%s) + timeout ))
    while :; do
        pids=$("$@")
        [ -z "$pids" ] && return 0
        # shellcheck disable=SC2086
        kill -9 $pids 2>/dev/null || true
        [ "$(date +%s)" -ge "$deadline" ] && { note "still alive after SIGKILL: $pids"; return 1; }
        sleep 0.05
    done
}

# ---------------------------------------------------- unit-like cgroups --

# e2e_cgroup_root: the hierarchy used to make "systemd unit" cgroups: the
# cgroup v1 name=systemd hierarchy when mounted, else the cgroup2 mount.
e2e_cgroup_root() {
    local v1 v2
    v1=$(awk '$9 == "cgroup" && $NF ~ /(^|,)name=systemd(,|$)/ { print $5; exit }' /proc/self/mountinfo)
    if [ -n "$v1" ]; then printf '%s\n' "$v1"; return 0; fi
    v2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
    [ -n "$v2" ] && printf '%s\n' "$v2"
    return 0
}

# unit_cgroup_create UNIT: makes ROOT/system.slice/UNIT and prints its path.
unit_cgroup_create() {
    local root
    root=$(e2e_cgroup_root)
    [ -n "$root" ] || return 1
    if [ ! -d "$root/system.slice" ] && [ -n "${E2E_TMP:-}" ]; then
        mkdir "$root/system.slice" || return 1
        : >"$E2E_TMP/.made-system-slice"
    fi
    mkdir -p "$root/system.slice/$1" || return 1
    printf '%s\n' "$root/system.slice/$1"
}

# unit_cgroup_remove UNIT: waits (bounded) for the cgroup to empty, rmdirs it.
unit_cgroup_remove() {
    local root dir
    root=$(e2e_cgroup_root)
    dir=$root/system.slice/$1
    [ -d "$dir" ] || return 0
    wait_until 5 eval "[ -z \"\$(cat '$dir/cgroup.procs' 2>/dev/null)\" ]" || true
    rmdir "$dir" 2>/dev/null || { note "could not rmdir $dir"; return 1; }
    # system.slice too, when this scenario made it and nobody else uses it.
    if [ -n "${E2E_TMP:-}" ] && [ -f "$E2E_TMP/.made-system-slice" ]; then
        rmdir "$root/system.slice" 2>/dev/null || true
    fi
}

# in_cgroup CGROUP_DIR COMMAND...: runs COMMAND from a shell that first moved
# itself into CGROUP_DIR, so COMMAND and all it forks belong to that cgroup.
in_cgroup() {
    local cg=$1; shift
    bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' e2e-in-cgroup "$cg" "$@"
}

# proc_cgroup_line PID: the cgroup path of PID in the hierarchy of e2e_cgroup_root.
proc_unit_cgroup() {
    awk -F: '$2 ~ /(^|,)name=systemd(,|$)/ { print $3; found = 1 } END { if (!found) exit 1 }' "/proc/$1/cgroup" 2>/dev/null ||
        awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup"
}

# ------------------------------------------------------------------ Apache --

# apache_config DIR PORT1 PORT2: a minimal standalone prefork httpd config
# at DIR/httpd.conf (Mutex sysvsem, two Listen lines, User www-data, and
# mod_ssl's session cache, which makes it two semaphore sets per instance).
# Everything it writes (pidfile, logs, runtime dir, docroot) is inside DIR;
# it references no ${APACHE_*} variable, so /etc/apache2/envvars is not needed.
apache_config() {
    local dir=$1 p1=$2 p2=$3 m=$APACHE_MODULES
    mkdir -p "$dir/run" "$dir/logs" "$dir/htdocs"
    chmod 755 "$dir" "$dir/htdocs"
    printf 'ipcsweep e2e %s\n' "$(basename "$dir")" >"$dir/htdocs/index.html"
    chmod 644 "$dir/htdocs/index.html"
    cat >"$dir/httpd.conf" <<EOF
# ipcsweep e2e: minimal Apache, prefork MPM, SysV semaphore mutexes.
ServerRoot "$dir"
ServerName localhost
DefaultRuntimeDir "$dir/run"
PidFile "$dir/run/httpd.pid"
ErrorLog "$dir/logs/error.log"
LogLevel info

LoadModule mpm_prefork_module $m/mod_mpm_prefork.so
LoadModule authz_core_module  $m/mod_authz_core.so
LoadModule mime_module        $m/mod_mime.so
LoadModule dir_module         $m/mod_dir.so
LoadModule socache_shmcb_module $m/mod_socache_shmcb.so
LoadModule ssl_module         $m/mod_ssl.so

Mutex sysvsem default
# As in Debian's ssl.conf: mod_ssl's session cache brings a second mutex
# ("ssl-cache"), so an instance owns two sets, one never semop()ed (otime 0).
# No SSL listener is configured, so no certificate is needed.
SSLSessionCache "shmcb:$dir/run/ssl_scache(512000)"

User www-data
Group www-data

Listen 127.0.0.1:$p1
Listen 127.0.0.1:$p2

StartServers          2
MinSpareServers       1
MaxSpareServers       3
MaxRequestWorkers     8
MaxConnectionsPerChild 0

TypesConfig /etc/mime.types
DocumentRoot "$dir/htdocs"
DirectoryIndex index.html
<Directory />
    Require all denied
</Directory>
<Directory "$dir/htdocs">
    Require all granted
</Directory>
EOF
}

# apache_ctl DIR ARGS...: the apache2 binary on DIR's config.
apache_ctl() {
    local dir=$1; shift
    "$APACHE_BIN" -f "$dir/httpd.conf" "$@"
}

# apache_pid DIR: the parent's pid, from the pidfile.
apache_pid() {
    local pid
    pid=$(cat "$1/run/httpd.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && printf '%s\n' "$pid"
}

# apache_pids DIR: every live process of DIR's instance (parent and children:
# the apache2 executable with DIR's config on its command line).
apache_pids() {
    local dir=$1
    _apache_of_dir() {
        [ "$(readlink "/proc/$1/exe")" = "$APACHE_BIN" ] &&
            tr '\0' '\n' <"/proc/$1/cmdline" | grep -qxF "$_E2E_APACHE_CONF"
    }
    _E2E_APACHE_CONF=$dir/httpd.conf pids_matching _apache_of_dir
}

# apache_start DIR [CGROUP_DIR]: "apache2 -k start" (from CGROUP_DIR when
# given); waits for the pidfile and a live parent. Does not check HTTP.
apache_start() {
    local dir=$1 cg=${2:-}
    local launcher
    rm -f "$dir/run/httpd.pid"
    # Started directly (not through a shell function) so that $! is the
    # "apache2 -k start" process itself.
    if [ -n "$cg" ]; then
        bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' e2e-in-cgroup \
            "$cg" "$APACHE_BIN" -f "$dir/httpd.conf" -k start &
    else
        "$APACHE_BIN" -f "$dir/httpd.conf" -k start &
    fi
    launcher=$!
    # The "apache2 -k start" process: it creates mod_ssl's ssl-cache set,
    # then forks the daemon and exits, so that set's sempid is this dead pid.
    echo "$launcher" >"$dir/run/launcher.pid"
    wait "$launcher" || { note "apache2 -k start failed; error log:"; sed 's/^/#   /' "$dir/logs/error.log" 2>/dev/null | tail -20; return 1; }
    wait_until 10 eval 'p=$(apache_pid "'"$dir"'") && proc_live "$p"' || {
        note "apache did not write a live pid into $dir/run/httpd.pid"
        sed 's/^/#   /' "$dir/logs/error.log" 2>/dev/null | tail -20
        return 1
    }
}

# apache_ports_up DIR PORT...: wait (bounded) until every port answers.
apache_wait_http() {
    local port
    for port in "$@"; do
        wait_until 10 http_ok "$port" || return 1
    done
}

# apache_kill9 DIR: SIGKILL every process of the instance, parent first, and
# wait until none is left alive (zombies are left to be reaped by pid 1).
apache_kill9() {
    local dir=$1 parent
    parent=$(apache_pid "$dir" 2>/dev/null) || parent=
    if [ -n "$parent" ] && proc_live "$parent"; then kill -9 "$parent" 2>/dev/null || true; fi
    kill9_until_gone 10 apache_pids "$dir"
}

# apache_graceful DIR: SIGUSR1 to the parent (what "apache2 -k graceful" does).
apache_graceful() {
    local pid
    pid=$(apache_pid "$1") || return 1
    kill -USR1 "$pid"
}

# http_ok PORT [PATH]: a loopback GET that must succeed quickly.
http_ok() {
    curl -fsS --noproxy '*' --connect-timeout 2 --max-time 3 -o /dev/null "http://127.0.0.1:$1${2:-/}" 2>/dev/null
}

# -------------------------------------------------------------- PostgreSQL --

# as_postgres COMMAND...: run as the postgres user.
as_postgres() { runuser -u postgres -- "$@"; }

# pg_start DIR PORT: initdb a throwaway cluster in DIR/data (as postgres),
# start it listening on 127.0.0.1:PORT and a unix socket in DIR/sock, wait
# until it accepts connections.
pg_start() {
    local dir=$1 port=$2
    mkdir -p "$dir/sock"
    chown postgres: "$dir" "$dir/sock"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync \
            >"$dir/initdb.log" 2>&1 || { note "initdb failed:"; sed 's/^/#   /' "$dir/initdb.log" | tail -20; return 1; }
    fi
    as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off" start \
        >"$dir/pg_ctl.log" 2>&1 || { note "pg_ctl start failed:"; sed 's/^/#   /' "$dir/server.log" | tail -20; return 1; }
    echo "$port" >"$dir/port"
    wait_until 15 pg_ok "$dir" || { note "postgres does not answer"; return 1; }
}

# pg_ok DIR: psql over the unix socket answers "select 1".
pg_ok() {
    local dir=$1 out
    out=$(as_postgres "$PG_BIN/psql" -h "$dir/sock" -p "$(cat "$dir/port")" -d postgres -XAtqc 'select 1' 2>/dev/null) &&
        [ "$out" = 1 ]
}

# pg_pid DIR: the postmaster's pid (first line of postmaster.pid).
pg_pid() {
    local pid
    pid=$(head -n1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && printf '%s\n' "$pid"
}

# pg_pids DIR: every live process of the cluster (the postgres executable
# with its working directory in DIR/data: postmaster and all backends).
pg_pids() {
    local dir=$1
    _pg_of_dir() {
        [ "$(readlink "/proc/$1/exe")" = "$PG_BIN/postgres" ] &&
            [ "$(readlink "/proc/$1/cwd")" = "$_E2E_PG_DATA" ]
    }
    _E2E_PG_DATA=$dir/data pids_matching _pg_of_dir
}

# pg_kill9 DIR: SIGKILL every process of the cluster, wait until none is alive.
pg_kill9() {
    local dir=$1 parent
    parent=$(pg_pid "$dir" 2>/dev/null) || parent=
    if [ -n "$parent" ] && proc_live "$parent"; then kill -9 "$parent" 2>/dev/null || true; fi
    kill9_until_gone 10 pg_pids "$dir"
}

# pg_stop DIR: a fast clean shutdown (falls back to SIGKILL).
pg_stop() {
    as_postgres "$PG_BIN/pg_ctl" -D "$1/data" -m fast -w -t 10 stop >/dev/null 2>&1 || pg_kill9 "$1"
}

# ------------------------------------------------------------- IPC state --

# sem_ids: the ids of every semaphore set in this IPC namespace, one a line.
sem_ids() { awk 'NR > 1 { print $2 }' /proc/sysvipc/sem | sort -n; }
shm_ids() { awk 'NR > 1 { print $2 }' /proc/sysvipc/shm | sort -n; }

# new_ids BEFORE AFTER: the ids in AFTER (newline lists) that are not in BEFORE.
new_ids() { comm -13 <(printf '%s\n' "$1" | sed '/^$/d' | sort) <(printf '%s\n' "$2" | sed '/^$/d' | sort) | sort -n; }

# sem_exists ID
sem_exists() { awk -v id="$1" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/sem; }
shm_exists() { awk -v id="$1" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/shm; }

# ---------------------------------------------------------------- ipcsweep --

# sweep OUTFILE SUBCOMMAND ARGS...: run $IPCSWEEP SUBCOMMAND
# --all-processes-visible ARGS, stdout to OUTFILE, stderr to OUTFILE.err;
# returns ipcsweep's exit status. The scenario's private PID namespace is a
# child one, where ipcsweep is blind by design unless told that no other pid
# namespace shares its IPC namespace: here that is true by construction.
sweep() {
    local out=$1 sub=$2; shift 2
    local rc=0
    "$IPCSWEEP" "$sub" --all-processes-visible "$@" >"$out" 2>"$out.err" || rc=$?
    if [ "${E2E_DEBUG:-}" = 1 ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ]; }; then
        note "\$ ipcsweep $sub --all-processes-visible $* -> exit $rc"
        head -c 4000 "$out" | sed 's/^/#   out: /'
        head -c 2000 "$out.err" | sed 's/^/#   err: /'
    fi
    return "$rc"
}

# json_check SUBCOMMAND FILE ARGS...: assertions on ipcsweep's JSON output
# (Tests/e2e/jsoncheck.py; see there for the sub-commands).
json_check() { python3 "$E2E_LIB_DIR/jsoncheck.py" "$@"; }

# count LIST: how many words in a newline/space list.
count() { printf '%s\n' "$1" | wc -w; }

# csv LIST: a newline list as "a,b,c".
csv() { printf '%s\n' "$1" | sed '/^$/d' | paste -sd, -; }
