#!/bin/bash
# sandbox.sh: boot Debian's systemd as PID 1 of fresh PID, mount, IPC, UTS and
# (by default) network namespaces, so that ipcsweep can be tested from a real
# unit's ExecStopPost= without touching the host's own IPC objects.
#
#   sandbox.sh start          boot it (idempotent); prints the host pid of its systemd
#   sandbox.sh exec CMD...    run CMD inside (mount, pid, ipc, uts and net namespaces)
#   sandbox.sh ipc CMD...     run CMD in the sandbox's IPC namespace only (host
#                             filesystem and /proc; e.g. to set its kernel.sem)
#   sandbox.sh unit FILE...   install unit files into its /run/systemd/system, daemon-reload
#   sandbox.sh stop           poweroff, wait (bounded), then SIGKILL by pid; clean up
#   sandbox.sh pid            the host pid of its systemd, if running
#
# Environment:
#   E2E_STATE_DIR        state directory on the host (default /run/ipcsweep-e2e);
#                        one sandbox per state directory
#   E2E_SANDBOX_NETNS    1 (default): private network namespace with only "lo";
#                        0: share the host's network namespace (ports must be free)
#   E2E_BOOT_TIMEOUT     seconds to wait for boot (default 30)
#   E2E_STOP_TIMEOUT     seconds to wait for poweroff before SIGKILL (default 15)
#   E2E_SANDBOX_LOGIN    1: run systemd-logind and D-Bus inside (unmasked, with
#                        modprobe@.service masked) on a private tmpfs copy of
#                        /var/lib/systemd, so that PAM logins (su -l) get real
#                        logind sessions; 0 (default): both stay masked
#   E2E_SANDBOX_ETC      a directory of replacement /etc files: each of passwd,
#                        group, shadow, gshadow and login.defs found there is
#                        bind-mounted over the host's file inside the sandbox
#                        only (a test user, a different login.defs); edit them
#                        in place (a rename onto a bind mount fails)
#
# What is private inside: /run, /tmp, /var/tmp, /dev/shm (tmpfs), /dev (an
# overlay whose writes stay in the private /run), the IPC
# namespace (System V objects, POSIX mqueues), hostname, pids, and by default
# the network. /proc/sys and /sys are read-only inside, so nothing in the
# sandbox can change the host's global sysctls. The rest of the filesystem is
# the host's: pass files through any path other than /run, /tmp, /var/tmp.
#
# systemd runs with container=ipcsweep-e2e in its environment. That matters:
# a systemd that thinks it owns the machine unmounts/remounts read-only every
# file system, swaps off and detaches loop/DM devices at poweroff, writes
# kernel.core_pattern, installs a cgroup release agent, and so on. It also
# runs in a cgroup of its own (/ipcsweep-e2e.XXXXXXXX of the host's cgroup v2
# hierarchy), sees only that v2 hierarchy at /sys/fs/cgroup (so it runs in
# unified mode and leaves the host's v1 hierarchies and their tmpfs alone),
# and has resource accounting off.
set -euo pipefail

state_dir=${E2E_STATE_DIR:-/run/ipcsweep-e2e}
pid_file=$state_dir/systemd.pid
launcher_file=$state_dir/launcher.pid
cgroup_file=$state_dir/cgroup
log=$state_dir/sandbox.log
console_log=$state_dir/console.log
systemd_bin=/lib/systemd/systemd
netns=${E2E_SANDBOX_NETNS:-1}
boot_timeout=${E2E_BOOT_TIMEOUT:-30}
login=${E2E_SANDBOX_LOGIN:-0}
etc_dir=${E2E_SANDBOX_ETC:-}
stop_timeout=${E2E_STOP_TIMEOUT:-15}

# Units that would touch the host (or wait for hardware) if anything pulled
# them in. The sandbox boots into an empty target, so most are never
# started anyway; masking them keeps an accidental dependency harmless.
masked_units="
systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service
systemd-tmpfiles-setup-dev-early.service systemd-tmpfiles-clean.service
systemd-tmpfiles-clean.timer systemd-sysctl.service systemd-binfmt.service
proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
systemd-modules-load.service kmod-static-nodes.service systemd-remount-fs.service
systemd-sysusers.service systemd-firstboot.service systemd-machine-id-commit.service
systemd-update-utmp.service systemd-update-utmp-runlevel.service
systemd-random-seed.service systemd-journal-flush.service
systemd-journal-catalog-update.service systemd-hwdb-update.service
systemd-update-done.service ldconfig.service systemd-pstore.service
systemd-boot-update.service systemd-boot-system-token.service
systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
systemd-udev-trigger.service systemd-udev-settle.service
systemd-logind.service systemd-networkd.service systemd-resolved.service
systemd-timesyncd.service systemd-hostnamed.service systemd-timedated.service
systemd-localed.service systemd-journald-audit.socket
systemd-fsck-root.service systemd-quotacheck.service quotaon.service
systemd-rfkill.service systemd-rfkill.socket systemd-backlight@.service
systemd-hibernate-resume@.service systemd-ask-password-wall.path
systemd-ask-password-console.path
console-getty.service getty@.service serial-getty@.service container-getty@.service
getty.target getty-static.service
swap.target tmp.mount dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount
sys-kernel-tracing.mount sys-fs-fuse-connections.mount sys-kernel-config.mount
apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service
fstrim.timer logrotate.timer man-db.timer dpkg-db-backup.timer
cron.service anacron.service anacron.timer ssh.service rsyslog.service
apache2.service apache-htcacheclean.service postgresql.service
networking.service ifupdown-pre.service dbus.service dbus.socket
modprobe@.service
"
# With E2E_SANDBOX_LOGIN=1, logind and the system bus it needs run inside.
login_units="systemd-logind.service dbus.service dbus.socket"

die() { echo "sandbox.sh: $*" >&2; exit 1; }

host_ipc_ns() { readlink /proc/self/ns/ipc; }

# A pid is "ours" when it is alive, not a zombie, runs systemd (or, while
# powering off, systemd-shutdown, which PID 1 execs into), and lives in an
# IPC namespace other than ours. Guards every kill against pid reuse.
is_sandbox_systemd() {
    local p=$1
    alive "$p" || return 1
    case "$(cat "/proc/$p/comm" 2>/dev/null)" in systemd|systemd-shutdow) ;; *) return 1 ;; esac
    [ "$(readlink "/proc/$p/ns/ipc" 2>/dev/null)" != "$(host_ipc_ns)" ] || return 1
}

alive() {   # alive PID: exists and is not a zombie
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

sandbox_pid() {
    local p
    [ -s "$pid_file" ] || return 1
    p=$(cat "$pid_file")
    is_sandbox_systemd "$p" || return 1
    echo "$p"
}

# The cgroup v2 hierarchy the sandbox's systemd runs in: /sys/fs/cgroup on a
# pure v2 host, /sys/fs/cgroup/unified on a hybrid one (like this machine).
# Inside the sandbox it is the only thing at /sys/fs/cgroup, so systemd runs
# in unified mode, as on a stock Debian 12, and never mounts v1 hierarchies.
unified_hierarchy() {
    if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup
    elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup/unified
    else
        return 1
    fi
}

remove_cgroups() {   # remove the sandbox's (now empty) cgroup trees
    local cg=$1 h try
    case "$cg" in ipcsweep-e2e.*) ;; *) return 0 ;; esac
    for h in $(unified_hierarchy); do
        [ -d "$h/$cg" ] || continue
        for try in $(seq 1 25); do
            find "$h/$cg" -depth -type d -exec rmdir {} \; 2>/dev/null || true
            [ -d "$h/$cg" ] || break
            sleep 0.2
        done
        [ -d "$h/$cg" ] && echo "sandbox.sh: could not remove cgroup $h/$cg" >&2
    done
    return 0
}

enter() {   # enter PID's namespaces and run the rest
    local p=$1; shift
    local ns=(-m -p -i -u)
    [ "$(readlink "/proc/$p/ns/net")" != "$(readlink /proc/self/ns/net)" ] && ns+=(-n)
    exec nsenter -t "$p" "${ns[@]}" -- "$@"
}

cmd_start() {
    local p
    if p=$(sandbox_pid); then echo "$p"; return 0; fi
    [ "$(id -u)" = 0 ] || die "needs root"
    [ -x "$systemd_bin" ] || die "$systemd_bin missing (apt-get install systemd)"
    command -v unshare >/dev/null && command -v nsenter >/dev/null || die "needs util-linux unshare and nsenter"
    mkdir -p "$state_dir"
    local masked=$masked_units u f
    if [ "$login" = 1 ]; then
        masked=$(for u in $masked_units; do case " $login_units " in *" $u "*) ;; *) echo "$u" ;; esac; done)
    fi
    # bind mounts of the replacement /etc files, made first in the new namespace
    local etc_binds=""
    if [ -n "$etc_dir" ]; then
        [ -d "$etc_dir" ] || die "E2E_SANDBOX_ETC=$etc_dir: not a directory"
        for f in passwd group shadow gshadow login.defs; do
            if [ -f "$etc_dir/$f" ]; then etc_binds+="mount --bind '$etc_dir/$f' /etc/$f
"; fi
        done
    fi
    # leftovers of a sandbox that died without "stop"
    [ -s "$cgroup_file" ] && remove_cgroups "$(cat "$cgroup_file")"
    rm -f "$pid_file" "$launcher_file" "$cgroup_file"

    local cg hier
    cg=ipcsweep-e2e.$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
    hier=$(unified_hierarchy) || die "needs a cgroup v2 hierarchy at /sys/fs/cgroup or /sys/fs/cgroup/unified"
    mkdir "$hier/$cg"
    echo "$cg" > "$cgroup_file"
    : > "$console_log"

    local unshare_ns=(--pid --fork --mount --ipc --uts --mount-proc --propagation private)
    [ "$netns" = 1 ] && unshare_ns+=(--net)

    # Runs as PID 1 of the new namespaces, then becomes systemd.
    local boot
    boot=$(cat <<EOF
set -eu
# every mount below must stay in this namespace
[ "\$(findmnt -no PROPAGATION /)" = private ] || { echo "mounts are not private" >&2; exit 1; }
# systemd as PID 1 logs to the journal, or else to /dev/console: give it a
# file, not the host's console
mount --bind "$console_log" /dev/console
${etc_binds}mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
# /dev is the host's devtmpfs, one file system for every mount namespace:
# journald's /dev/log link, anything systemd creates there would land on the
# host. An overlay keeps its writes in the private /run (the console and
# devpts mounts moved across; /dev/shm and mqueue are mounted below).
mkdir -p /run/.e2e-dev/up /run/.e2e-dev/work /run/.e2e-dev/pts
touch /run/.e2e-dev/console
mount --move /dev/console /run/.e2e-dev/console
pts=0
if mountpoint -q /dev/pts; then mount --move /dev/pts /run/.e2e-dev/pts; pts=1; fi
mount -t overlay e2e-dev -o lowerdir=/dev,upperdir=/run/.e2e-dev/up,workdir=/run/.e2e-dev/work /dev
mount --move /run/.e2e-dev/console /dev/console
if [ "\$pts" = 1 ]; then mount --move /run/.e2e-dev/pts /dev/pts; fi
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
if [ -d /dev/mqueue ]; then mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue || true; fi
# /sys/fs/cgroup: a bind of the host's v2 hierarchy alone (never a fresh
# cgroup2 mount: that would reapply mount options to the global hierarchy;
# never the host's tmpfs: systemd would mkdir in it and remount it read-only)
if [ "$hier" != /sys/fs/cgroup ]; then
    mkdir /run/.e2e-unified
    mount --bind "$hier" /run/.e2e-unified
    umount -R /sys/fs/cgroup
    mount --move /run/.e2e-unified /sys/fs/cgroup
    rmdir /run/.e2e-unified
fi
# nothing inside may change the host's global sysctls or sysfs knobs
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys
mount --rbind /sys /sys && mount -o remount,bind,ro /sys
mkdir -p /run/systemd/system /run/systemd/system.conf.d /run/systemd/journald.conf.d /run/lock
# systemd's state (timer stamps of Persistent= timers, logind's linger, ...) in a private copy of
# /var/lib/systemd: an enabled ipcsweep-audit.timer once left its stamp on the host
cp -a /var/lib/systemd /tmp/.e2e-varlib
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /var/lib/systemd
cp -a /tmp/.e2e-varlib/. /var/lib/systemd/
rm -rf /tmp/.e2e-varlib
for u in $(echo $masked); do ln -sf /dev/null /run/systemd/system/\$u; done
# journald (volatile, in the private /run) so that units' output and syslog()
# calls (ipcsweep logs removals there) can be read back with journalctl
printf '[Unit]\nDescription=ipcsweep e2e sandbox\nDefaultDependencies=no\nWants=systemd-journald.socket systemd-journald-dev-log.socket\n' > /run/systemd/system/sandbox.target
printf '[Manager]\nDefaultCPUAccounting=no\nDefaultMemoryAccounting=no\nDefaultTasksAccounting=no\nDefaultIOAccounting=no\nDefaultBlockIOAccounting=no\nDefaultIPAccounting=no\nDefaultTimeoutStopSec=10s\nShowStatus=no\n' > /run/systemd/system.conf.d/50-sandbox.conf
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToWall=no\nForwardToConsole=no\nRuntimeMaxUse=16M\n' > /run/systemd/journald.conf.d/50-sandbox.conf
if [ "$netns" = 1 ]; then ip link set lo up; fi
hostname ipcsweep-e2e
export container=ipcsweep-e2e
exec $systemd_bin --system --unit=sandbox.target --log-target=journal --show-status=no
EOF
)
    # Own cgroup first (so systemd's cgroup root is /$cg), then new session
    # and namespaces. stdout/stderr go to the log: never to a caller's pipe.
    (
        echo "$BASHPID" > "$hier/$cg/cgroup.procs"
        exec setsid unshare "${unshare_ns[@]}" sh -c "$boot"
    ) </dev/null >"$log" 2>&1 &
    local launcher=$!
    echo "$launcher" > "$launcher_file"

    local child="" st i tries=$((boot_timeout * 5))
    for ((i = 0; i < tries; i++)); do
        if [ -z "$child" ]; then
            child=$(pgrep -P "$launcher" 2>/dev/null | head -1 || true)
        fi
        if [ -n "$child" ] && is_sandbox_systemd "$child"; then
            st=$(nsenter -t "$child" -m -p systemctl is-system-running 2>/dev/null || true)
            case "$st" in
            running|degraded)
                # paranoia: it must not share the host's IPC or mount namespace
                [ "$(readlink /proc/$child/ns/ipc)" != "$(host_ipc_ns)" ] || break
                [ "$(readlink /proc/$child/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] || break
                echo "$child" > "$pid_file"
                echo "$child"
                return 0 ;;
            esac
        fi
        alive "$launcher" || break
        sleep 0.2
    done
    echo "sandbox.sh: systemd did not come up within ${boot_timeout}s; log $log:" >&2
    tail -20 "$log" >&2 || true
    # its PID 1 (the boot shell or systemd): killing it ends the namespace
    [ -z "$child" ] && child=$(pgrep -P "$launcher" 2>/dev/null | head -1 || true)
    if [ -n "$child" ] && alive "$child" \
        && [ "$(readlink "/proc/$child/ns/pid" 2>/dev/null)" != "$(readlink /proc/self/ns/pid)" ]; then
        kill -KILL "$child" 2>/dev/null || true
    fi
    for ((i = 0; i < 50; i++)); do alive "$launcher" || break; sleep 0.1; done
    if alive "$launcher" && [ "$(cat "/proc/$launcher/comm" 2>/dev/null)" = unshare ]; then
        kill -KILL "$launcher" 2>/dev/null || true
    fi
    remove_cgroups "$cg"
    rm -f "$launcher_file" "$cgroup_file"
    return 1
}

# Processes that "exec" put into the sandbox (nsenter forks them) have their
# parent outside it. At poweroff systemd-shutdown SIGSTOPs every process
# before it kills them; nsenter mirrors its child's stop, stops itself, and
# then never reaps the dead child, so the pid namespace cannot finish dying.
# So: kill those processes first, and wake any stopped parent.
kill_entered() {   # kill_entered SANDBOX_PID1 ITS_PID_NS_INODE
    local ns=$2
    [ -n "$ns" ] || return 0
    ps -eo pid=,ppid=,stat=,pidns=,comm= 2>/dev/null | awk -v ns="$ns" -v init="$1" '
        { pid[NR] = $1; ppid[NR] = $2; st[NR] = $3; pns[NR] = $4; comm[NR] = $5; nsof[$1] = $4; stof[$1] = $3; commof[$1] = $5 }
        END {
            for (i = 1; i <= NR; i++) {
                if (pns[i] != ns || pid[i] == init || nsof[ppid[i]] == ns) continue
                if (st[i] !~ /^Z/) print "KILL", pid[i]
                if (commof[ppid[i]] == "nsenter" && stof[ppid[i]] ~ /^T/) print "CONT", ppid[i]
            }
        }' | while read -r sig q; do kill -"$sig" "$q" 2>/dev/null || true; done
    return 0
}

# The launcher (unshare --fork) exits as soon as its child, the sandbox's
# PID 1, has exited: that is the moment the whole pid namespace is gone.
cmd_stop() {
    local p="" launcher="" cg="" i pidns=""
    [ -s "$launcher_file" ] && launcher=$(cat "$launcher_file")
    [ -s "$cgroup_file" ] && cg=$(cat "$cgroup_file")
    [ -s "$pid_file" ] && p=$(cat "$pid_file")
    [ -n "$p" ] && ! is_sandbox_systemd "$p" && p=""
    [ -n "$p" ] && pidns=$(readlink "/proc/$p/ns/pid" 2>/dev/null | tr -dc 0-9)
    [ -n "$launcher" ] && { alive "$launcher" && [ "$(cat "/proc/$launcher/comm" 2>/dev/null)" = unshare ] || launcher=""; }
    _stopped() { if [ -n "$launcher" ]; then ! alive "$launcher"; else [ -z "$p" ] || ! is_sandbox_systemd "$p"; fi; }
    if [ -n "$p" ]; then
        kill_entered "$p" "$pidns"
        nsenter -t "$p" -m -p systemctl poweroff --no-block >/dev/null 2>&1 || true
        for ((i = 0; i < stop_timeout * 10; i++)); do
            _stopped && break
            [ $((i % 10)) = 9 ] && kill_entered "$p" "$pidns"
            sleep 0.1
        done
        if ! _stopped && is_sandbox_systemd "$p"; then
            echo "sandbox.sh: poweroff took over ${stop_timeout}s; SIGKILL to $p (its PID 1)" >&2
            kill -KILL "$p" 2>/dev/null || true   # kills every process of its pid namespace
        fi
    fi
    if [ -n "$launcher" ]; then
        for ((i = 0; i < 50; i++)); do
            alive "$launcher" || break
            [ -n "$p" ] && [ $((i % 10)) = 9 ] && kill_entered "$p" "$pidns"
            sleep 0.1
        done
        if alive "$launcher" && [ "$(cat "/proc/$launcher/comm" 2>/dev/null)" = unshare ]; then
            echo "sandbox.sh: launcher $launcher still there; SIGKILL" >&2
            kill -KILL "$launcher" 2>/dev/null || true
        fi
    fi
    [ -n "$cg" ] && remove_cgroups "$cg"
    rm -f "$pid_file" "$launcher_file" "$cgroup_file" "$log" "$console_log"
    rmdir "$state_dir" 2>/dev/null || true
    return 0
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
pid) sandbox_pid ;;
exec)
    shift; [ $# -gt 0 ] || die "exec: no command"
    p=$(sandbox_pid) || die "not running (state $state_dir)"
    enter "$p" "$@" ;;
ipc)
    shift; [ $# -gt 0 ] || die "ipc: no command"
    p=$(sandbox_pid) || die "not running (state $state_dir)"
    exec nsenter -t "$p" -i -- "$@" ;;
unit)
    shift; [ $# -gt 0 ] || die "unit: no file"
    p=$(sandbox_pid) || die "not running (state $state_dir)"
    for f in "$@"; do
        [ -f "$f" ] || die "unit: $f: no such file"
        nsenter -t "$p" -m -p -- sh -c 'cat > "/run/systemd/system/$1"' sh "$(basename "$f")" < "$f"
    done
    nsenter -t "$p" -m -p -- systemctl daemon-reload ;;
*) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
