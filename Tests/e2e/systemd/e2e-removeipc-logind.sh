#!/bin/bash
# e2e-removeipc-logind.sh: `ipcsweep audit`'s RemoveIPC= list against the real systemd-logind.
#
# Debian's systemd-logind and D-Bus run in a sandbox booted by sandbox.sh (E2E_SANDBOX_LOGIN=1),
# with private copies of /etc/passwd, group, shadow, gshadow and login.defs (E2E_SANDBOX_ETC) and
# of /var/lib/systemd, so the host is never changed. A non-system user e2euser (uid 1500) gets a
# real session (su -l, through PAM and pam_systemd); a service with User=e2euser, outside that
# session (the PostgreSQL-as-a-user case of systemd#2039/#4532), holds System V and POSIX objects
# of every kind: a held set, a queue with a blocked receiver, an attached and an unattached
# segment, a set it created and handed to uid 33, an idle set, an open-and-mapped and a
# mapped-only /dev/shm file, a named semaphore, an open queue, an idle file, a symbolic link, a
# directory with a file, and a file in a root-owned directory. Root adds a set it created and
# handed to uid 1500, a directory of uid 1500 holding a file of uid 33, objects of the system
# user www-data (33), and a set of uid 1600 (non-system, never logged in).
#
# In each phase the audit runs while the session is open; then the session ends, logind cleans
# up, and the audit's `atRisk` list for uid 1500 must be exactly what disappeared, and its
# `attached` list the attached segments that survived (removeipc_compare.py prints the table):
#   A   RemoveIPC=yes (systemd's default): text, JSON, Prometheus and --fail-on agree; the same
#       audit from the host (--namespace, --logind-conf /proc/PID/root) lists the same objects
#   A2  the service stopped (its segment detached): the segment is at risk now, and goes at the
#       next logout
#   B   RemoveIPC=no (a drop-in): nothing flagged, nothing destroyed
#   C   SYS_UID_MAX 1999 in login.defs: logind keeps its compiled boundary (system_uid_max=999 in
#       systemd.pc), so does the audit (with a note), and everything at risk is destroyed
#
# Environment: IPCSWEEP (default <repo>/.build/debug/ipcsweep; the testkit from the same
# directory), E2E_STATE_DIR (/run/ipcsweep-e2e/removeipc.PID), E2E_WORK_BASE
# (/var/lib/ipcsweep-e2e), E2E_KEEP=1 keeps the work dir. Needs root, Debian's systemd, dbus,
# libpam-systemd, util-linux (su) and python3. Output: "ok - ..." / "not ok - ...", "# " lines
# (the tables), last line "N passed, M failed"; exit status 0 only if nothing failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SANDBOX=$here/sandbox.sh
IPCSWEEP=${IPCSWEEP:-$repo/.build/debug/ipcsweep}
case "$IPCSWEEP" in /*) ;; *) IPCSWEEP=$PWD/$IPCSWEEP ;; esac
IPCSWEEP=$(realpath -m -- "$IPCSWEEP")
TESTKIT=$(dirname "$IPCSWEEP")/ipcsweep-testkit
WORK_BASE=${E2E_WORK_BASE:-/var/lib/ipcsweep-e2e}
export E2E_STATE_DIR=${E2E_STATE_DIR:-/run/ipcsweep-e2e/removeipc.$$}
export E2E_SANDBOX_LOGIN=1
PY=/usr/bin/python3
UNIT=e2e-rmipc.service
USER_UID=1500
DROPIN=/run/systemd/logind.conf.d

work="" booted=0
. "$here/tap.sh"
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

finish() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "${session:-}" ] && kill "$session" 2>/dev/null
    if [ "$booted" = 1 ]; then
        "$SANDBOX" stop >/dev/null 2>&1 || not_ok "sandbox stop"
        [ -z "$("$SANDBOX" pid 2>/dev/null)" ] || not_ok "sandbox still running after stop"
    fi
    if [ -n "${host_ipc_before+x}" ]; then
        if [ "$(host_ipc_snapshot)" = "$host_ipc_before" ]; then ok "host IPC namespace unchanged"; else
            not_ok "host IPC namespace changed"
        fi
        if [ "$(host_files)" = "$host_files_before" ]; then ok "host /etc/passwd, group, shadow, login.defs, /var/lib/systemd, /dev/log unchanged"; else
            not_ok "host files changed"
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
host_files() {
    md5sum /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/login.defs 2>/dev/null
    find /var/lib/systemd -printf '%p %s %T@\n' 2>/dev/null | sort
    stat -c %N /dev/log 2>/dev/null || echo "no /dev/log"   # journald's link stays in the sandbox's /dev
}

# ---------------------------------------------------------------- preflight
host_ipc_before=$(host_ipc_snapshot)
host_files_before=$(host_files)
[ "$(id -u)" = 0 ] || { not_ok "needs root"; exit 1; }
for f in /lib/systemd/systemd /lib/systemd/systemd-logind /usr/bin/dbus-daemon /usr/bin/su "$PY"; do
    [ -x "$f" ] || { not_ok "$f missing (apt-get install -y systemd dbus libpam-systemd util-linux python3)"; exit 1; }
done
grep -qs pam_systemd /etc/pam.d/common-session || { not_ok "pam_systemd is not in /etc/pam.d/common-session (apt-get install -y libpam-systemd)"; exit 1; }
for b in "$IPCSWEEP" "$TESTKIT"; do [ -x "$b" ] || { not_ok "$b is not executable (swift build)"; exit 1; }; done
# The sandbox's pid namespace is complete: nothing outside it shares its IPC namespace.
VISIBLE=(--all-processes-visible)

mkdir -p -- "$WORK_BASE" && chmod 755 -- "$WORK_BASE"
work=$(mktemp -d "$WORK_BASE/removeipc.XXXXXX") || { not_ok "mktemp under $WORK_BASE"; exit 1; }
chmod 755 "$work"
mkdir -p "$work/bin" "$work/etc" "$work/home" "$work/run"
chmod 1777 "$work/run"
chown "$USER_UID:$USER_UID" "$work/home"
cp -- "$IPCSWEEP" "$work/bin/ipcsweep" && IPCSWEEP=$work/bin/ipcsweep
cp -- "$TESTKIT" "$work/bin/ipcsweep-testkit" && TESTKIT=$work/bin/ipcsweep-testkit
# The sandbox's /etc/passwd, group, shadow, gshadow, login.defs: copies with the test user.
for f in passwd group shadow gshadow login.defs; do cp -- "/etc/$f" "$work/etc/$f"; done
echo "e2euser:x:$USER_UID:$USER_UID:ipcsweep e2e:$work/home:/bin/bash" >> "$work/etc/passwd"
echo "e2euser:x:$USER_UID:" >> "$work/etc/group"
echo "e2euser:*:19000:0:99999:7:::" >> "$work/etc/shadow"
echo "e2euser:!::" >> "$work/etc/gshadow"
export E2E_SANDBOX_ETC=$work/etc

# The service's payload, run as e2euser: one of each kind, then it waits.
cat > "$work/bin/posix.py" <<'PY'
# posix.py READY: POSIX objects of the calling user, held until killed.
import ctypes, mmap, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
keep = []
# open and mapped (Python's mmap keeps a descriptor too)
fd = os.open("/dev/shm/e2e_open", os.O_CREAT | os.O_RDWR, 0o600)
os.ftruncate(fd, 4096)
keep += [fd, mmap.mmap(fd, 4096)]
# mapped only (libc's mmap, then the descriptor closed)
fd = os.open("/dev/shm/e2e_mapped", os.O_CREAT | os.O_RDWR, 0o600)
os.ftruncate(fd, 4096)
p = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
if p in (None, ctypes.c_void_p(-1).value): raise OSError(ctypes.get_errno(), "mmap")
os.close(fd)
keep.append(p)
# a named semaphore (/dev/shm/sem.e2e_sem, mapped by glibc)
s = libc.sem_open(b"/e2e_sem", os.O_CREAT, 0o600, 1)
if not s: raise OSError(ctypes.get_errno(), "sem_open")
keep.append(s)
# an open message queue
q = libc.mq_open(b"/e2e_mq", os.O_CREAT | os.O_RDWR, 0o600, None)
if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
keep.append(q)
open(sys.argv[1], "w").close()
time.sleep(3600)
PY
cat > "$work/bin/holder.sh" <<EOF
#!/bin/bash
# The service as e2euser: System V and POSIX objects of every kind, held.
set -eu
T=$TESTKIT
S=\$(\$T sem-create --key 0x15000001); \$T sem-op --id \$S --undo --hold &
Q=\$(\$T msg-create --key 0x15000002); \$T msg-recv-thread --id \$Q &
A=\$(\$T shm-create --key 0x15000003); \$T shm-attach --id \$A --write attached --hold &
U=\$(\$T shm-create --key 0x15000004); \$T shm-fill --id \$U --size 64
G=\$(\$T sem-create --key 0x15000005); \$T sem-chown --id \$G --uid 33
\$T sem-create --key 0x15000006 > /dev/null
rm -f $work/run/posix
$PY $work/bin/posix.py $work/run/posix &
for _ in \$(seq 100); do [ -e $work/run/posix ] && break; sleep 0.05; done
echo idle > /dev/shm/e2e_left
ln -s e2e_left /dev/shm/e2e_link
mkdir /dev/shm/e2e_dir && echo inner > /dev/shm/e2e_dir/inner
echo f > /dev/shm/shared/e2e_f
for _ in \$(seq 100); do [ "\$(grep -c . /proc/sysvipc/shm)" -ge 3 ] && break; sleep 0.05; done
touch $work/run/ready
wait
EOF
chmod 755 "$work/bin/holder.sh" "$work/bin/posix.py"
cat > "$work/$UNIT" <<EOF
[Unit]
Description=ipcsweep e2e: a service of a regular user, outside its sessions

[Service]
Type=simple
User=e2euser
ExecStart=$work/bin/holder.sh
EOF

# ---------------------------------------------------------------- helpers
logind_conf() {  # logind_conf [RemoveIPC=VALUE]: the sandbox's drop-ins, then restart logind
    sb sh -c "mkdir -p $DROPIN && printf '[Login]\nUserStopDelaySec=0\n' > $DROPIN/50-e2e.conf && rm -f $DROPIN/60-removeipc.conf"
    [ $# -gt 0 ] && sb sh -c "printf '[Login]\n$1\n' > $DROPIN/60-removeipc.conf"
    sb systemctl restart systemd-logind
}

reset_objects() {  # the service stopped, every object of the sandbox gone, the root-made ones back
    sb systemctl stop "$UNIT" 2>/dev/null
    sb sh -c 'ipcrm -a; find /dev/shm /dev/mqueue -mindepth 1 -delete'
    sb mkdir -m 1777 /dev/shm/shared
}

start_service() {  # the service's objects, then root's
    rm -f "$work/run/ready"
    sb systemctl start "$UNIT" || return 1
    for _ in $(seq 200); do [ -e "$work/run/ready" ] && break; sleep 0.05; done
    [ -e "$work/run/ready" ] || return 1
    local r
    r=$(sb "$TESTKIT" sem-create --key 0x15000007) && sb "$TESTKIT" sem-chown --id "$r" --uid $USER_UID
    sb sh -c "mkdir /dev/shm/e2e_dir2 && echo www > /dev/shm/e2e_dir2/www_f && chown 33:33 /dev/shm/e2e_dir2/www_f && chown $USER_UID:$USER_UID /dev/shm/e2e_dir2"
    sb "$TESTKIT" sem-create --key 0x03300001 --as-uid 33 > /dev/null
    sb "$TESTKIT" shm-create --key 0x03300002 --as-uid 33 > /dev/null
    sb sh -c 'echo www > /dev/shm/www_seg && chown 33:33 /dev/shm/www_seg'
    sb "$TESTKIT" sem-create --key 0x16000001 --as-uid 1600 > /dev/null
}

login() {  # a real session of e2euser (su -l through PAM), kept open by a sleep
    sb su -l e2euser -c 'exec sleep 600' < /dev/null > /dev/null 2>&1 &
    session=$!
    for _ in $(seq 100); do
        [ "$(sb loginctl show-user $USER_UID -p State --value 2>/dev/null)" = active ] && return 0
        sleep 0.1
    done
    return 1
}

logout() {  # ends the session; waits until logind has finalized the user (its state file goes after the clean-up)
    local su
    su=$(sb pgrep -x su | head -n1)
    [ -n "$su" ] && sb pkill -TERM -P "$su" -x sleep
    wait "$session" 2>/dev/null
    session=""
    for _ in $(seq 150); do
        sb test -e /run/systemd/users/$USER_UID || return 0
        sleep 0.1
    done
    return 1
}

snapshot() {  # every System V object and /dev/shm, /dev/mqueue entry of the sandbox, without ipcsweep
    sb sh -c '
        tail -n +2 /proc/sysvipc/sem | awk "{ print \"sysv sem\", \$2, \$1, \$5, \$7, \"-\" }"
        tail -n +2 /proc/sysvipc/shm | awk "{ print \"sysv shm\", \$2, \$1, \$8, \$10, \$7 }"
        tail -n +2 /proc/sysvipc/msg | awk "{ print \"sysv msg\", \$2, \$1, \$8, \$10, \"-\" }"
        find /dev/shm /dev/mqueue -mindepth 1 -printf "fs %y %U %p\n"' | sort
}

audit_json() { sb "$IPCSWEEP" audit --format json "${VISIBLE[@]}" "$@"; }
# ipcsweep from the host, as an administrator would, with $work/host-run as its /run: nothing lands in the
# host's /run, and the clock pair its first run keeps is there for the next run, as in a host's /run.
host_sweep() {
    mkdir -p "$work/host-run"
    unshare --mount --propagation private sh -c 'mount --bind "$0" /run && exec "$@"' "$work/host-run" "$IPCSWEEP" "$@"
}

compare() {  # compare PHASE AUDIT BEFORE AFTER [--root PREFIX]: the table and the checks
    local phase=$1 out line
    out=$("$PY" "$here/removeipc_compare.py" "$phase" "$2" "$3" "$4" $USER_UID "${@:5}")
    printf '%s\n' "$out" | grep '^# '
    while IFS= read -r line; do
        case "$line" in ok\ *) ok "${line#ok }" ;; FAIL\ *) not_ok "${line#FAIL }" ;; esac
    done <<< "$out"
}

jq_py() { "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---------------------------------------------------------------- run
if ! "$SANDBOX" start >/dev/null; then not_ok "sandbox boots"; exit 1; fi
booted=1
ok "sandbox boots with systemd-logind and D-Bus"
sbpid=$("$SANDBOX" pid)
"$SANDBOX" unit "$work/$UNIT" >/dev/null
logind_conf
check "systemd-logind runs in the sandbox" test "$(sb systemctl is-active systemd-logind)" = active
check "e2euser exists in the sandbox only" test "$(sb id -u e2euser 2>/dev/null)/$(id -u e2euser 2>/dev/null)" = "$USER_UID/"
# The host's administrator ran ipcsweep after boot (it keeps its clock pair then), before the objects below.
host_sweep list --namespace "$sbpid" > /dev/null 2>&1

# ---- phase A: RemoveIPC=yes
reset_objects
check "A: the service of e2euser made its objects" start_service
check "A: su -l e2euser opened a logind session" login
check "A: logind reports RemoveIPC=yes" test "$(sb busctl get-property org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager RemoveIPC 2>/dev/null)" = "b true"
audit_json > "$work/A.json" 2> "$work/A.err"
sb "$IPCSWEEP" audit "${VISIBLE[@]}" > "$work/A.txt" 2>&1
sb "$IPCSWEEP" audit --format prometheus "${VISIBLE[@]}" > "$work/A.prom" 2>&1
sb "$IPCSWEEP" audit --fail-on removeipc --quiet-if-clean "${VISIBLE[@]}" > /dev/null 2>&1; rc_a=$?
# From the host, as an administrator would: the sandbox's namespace and its logind.conf drop-ins.
host_sweep audit --namespace "$sbpid" --logind-conf "/proc/$sbpid/root" --format json > "$work/A-host.json" 2> "$work/A-host.err"
snapshot > "$work/A.before"
check "A: the session ended and logind finalized e2euser" logout
snapshot > "$work/A.after"
check "A: the audit said RemoveIPC=yes from systemd's default" test "$(jq_py "$work/A.json" 'd["removeIPC"]["enabled"], d["removeIPC"]["source"]')" = "True systemd's built-in default"
check "A: the boundary is systemd.pc's compiled value" grep -q "system_uid_max=999 in .*systemd.pc" <<< "$(jq_py "$work/A.json" 'd["removeIPC"]["sysUidMaxSource"]')"
compare A "$work/A.json" "$work/A.before" "$work/A.after"
compare A-host "$work/A-host.json" "$work/A.before" "$work/A.after" --root "/proc/$sbpid/root"
n_a=$(jq_py "$work/A.json" 'sum(len(f["objects"]) for f in d["removeIPC"]["atRisk"] if f["uid"] == 1500)')
check "A: Prometheus counts the same $n_a objects for e2euser" grep -qx "ipcsweep_removeipc_objects_at_risk{uid=\"1500\",user=\"e2euser\"} $n_a" "$work/A.prom"
check "A: Prometheus counts the attached segment" grep -qx 'ipcsweep_removeipc_objects_attached{uid="1500",user="e2euser"} 1' "$work/A.prom"
check "A: the text names the $n_a objects of e2euser and the attached segment" \
    bash -c 'grep -q "RemoveIPC=yes: these $1 objects (.*) of uid 1500 (e2euser) will be destroyed" "$2" && grep -q "of uid 1500 (e2euser) is attached" "$2"' _ "$n_a" "$work/A.txt"
check "A: the uid 1600 that never logged in is flagged, and survived" \
    test "$(jq_py "$work/A.json" '[f["uid"] for f in d["removeIPC"]["atRisk"]]')" = "[1500, 1600]"
check "A: --fail-on removeipc exits 3" test "$rc_a" = 3
check "A: no warnings" test ! -s "$work/A.err" -a ! -s "$work/A-host.err"
cat "$work/A.err" "$work/A-host.err" | diag

# ---- phase A2: the service stopped, its segment detached: at risk now, gone at the next logout
sb systemctl stop "$UNIT"
check "A2: su -l e2euser again" login
audit_json > "$work/A2.json" 2>> "$work/A2.err"
snapshot > "$work/A2.before"
check "A2: the session ended" logout
snapshot > "$work/A2.after"
compare A2 "$work/A2.json" "$work/A2.before" "$work/A2.after"
check "A2: nothing is attached any more" test "$(jq_py "$work/A2.json" 'len(d["removeIPC"]["attached"])')" = 0

# ---- phase B: RemoveIPC=no
logind_conf RemoveIPC=no
reset_objects
check "B: the service made its objects" start_service
check "B: su -l e2euser" login
check "B: logind reports RemoveIPC=no" test "$(sb busctl get-property org.freedesktop.login1 /org/freedesktop/login1 org.freedesktop.login1.Manager RemoveIPC 2>/dev/null)" = "b false"
audit_json > "$work/B.json" 2> "$work/B.err"
sb "$IPCSWEEP" audit --fail-on removeipc --quiet-if-clean "${VISIBLE[@]}" > /dev/null 2>&1; rc_b=$?
snapshot > "$work/B.before"
check "B: the session ended" logout
snapshot > "$work/B.after"
check "B: the audit read RemoveIPC=no from the drop-in" \
    test "$(jq_py "$work/B.json" 'd["removeIPC"]["enabled"], d["removeIPC"]["source"]')" = "False $DROPIN/60-removeipc.conf line 2"
compare B "$work/B.json" "$work/B.before" "$work/B.after"
check "B: nothing flagged, nothing destroyed" bash -c 'cmp -s "$1" "$2" && test "$(grep -c . <<< "$3")" = 0' _ \
    "$work/B.before" "$work/B.after" "$(jq_py "$work/B.json" '"\n".join(str(f["uid"]) for f in d["removeIPC"]["atRisk"])')"
check "B: --fail-on removeipc exits 0" test "$rc_b" = 0

# ---- phase C: login.defs says SYS_UID_MAX 1999; logind keeps its compiled 999
logind_conf
printf '\n# ipcsweep e2e: disagrees with the compiled boundary\nSYS_UID_MAX\t1999\n' >> "$work/etc/login.defs"
sb systemctl restart systemd-logind
check "C: the sandbox's login.defs says SYS_UID_MAX 1999" sb grep -q "^SYS_UID_MAX.1999" /etc/login.defs
reset_objects
check "C: the service made its objects" start_service
check "C: su -l e2euser" login
audit_json > "$work/C.json" 2> "$work/C.err"
sb "$IPCSWEEP" audit "${VISIBLE[@]}" > "$work/C.txt" 2>&1
snapshot > "$work/C.before"
check "C: the session ended" logout
snapshot > "$work/C.after"
check "C: the audit keeps 999 and says login.defs' 1999 is not logind's" \
    bash -c 'test "$(grep -c . <<< "$1")" -ge 1 && grep -q "^999 .*SYS_UID_MAX 1999 in /etc/login.defs is not what systemd-logind uses" <<< "$1"' _ \
    "$(jq_py "$work/C.json" 'd["removeIPC"]["sysUidMax"], d["removeIPC"]["sysUidMaxNote"]')"
check "C: the text says so too" grep -q "note: SYS_UID_MAX 1999 in /etc/login.defs is not what systemd-logind uses" "$work/C.txt"
compare C "$work/C.json" "$work/C.before" "$work/C.after"
check "C: logind destroyed as much as with the default boundary" \
    test "$(comm -23 "$work/C.before" "$work/C.after" | grep -c .)" = "$(comm -23 "$work/A.before" "$work/A.after" | grep -c .)"

sb systemctl stop "$UNIT"
exit 0
