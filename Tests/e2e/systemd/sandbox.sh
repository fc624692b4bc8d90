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
#
# What is private inside: /run, /tmp, /var/tmp, /dev/shm (tmpfs), the IPC
# namespace (System V objects, POSIX mqueues), hostname, pids, and by default
# the network. /proc/sys and /sys are read-only inside, so nothing in the
# sandbox can change the host's global sysctls. The rest of the filesystem is
# the host's: pass files through any path other than /run, /tmp, /var/tmp.
#
# systemd runs with container=ipcsweep-e2e in its environment. That matters:
# a systemd that thinks it owns the machine unmounts/remounts read-only every
# file system, swaps off and detaches loop/DM devices at poweroff, writes
# kernel.core_pattern, installs a cgroup release agent, and so on. It also
# runs in a cgroup of its own (/ipcsweep-e2e.XXXXXX in the name=systemd and
# unified hierarchies), with resource accounting off, so it never takes over
# the host's root cgroup or the v1 controller hierarchies.
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
"

die() { echo "sandbox.sh: $*" >&2; exit 1; }

host_ipc_ns() { readlink /proc/self/ns/ipc; }

# A pid is "ours" when it is alive, not a zombie, runs systemd, and lives in
# an IPC namespace other than ours. Guards every kill against pid reuse.
is_sandbox_systemd() {
    local p=$1 st
    [ -r "/proc/$p/stat" ] || return 1
    st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ "$st" != Z ] && [ "$st" != X ] || return 1
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] || return 1
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

# cgroup hierarchies systemd tracks units in: name=systemd (v1) and the
# unified (v2) one in a hybrid layout, or just /sys/fs/cgroup on pure v2.
tracking_hierarchies() {
    if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
        echo /sys/fs/cgroup
    else
        [ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd
        [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && echo /sys/fs/cgroup/unified
    fi
    return 0
}

remove_cgroups() {   # remove the sandbox's (now empty) cgroup trees
    local cg=$1 h try
    case "$cg" in ipcsweep-e2e.*) ;; *) return 0 ;; esac
    for h in $(tracking_hierarchies); do
        [ -d "$h/$cg" ] || continue
        for try in 1 2 3 4 5 6 7 8 9 10; do
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
    # leftovers of a sandbox that died without "stop"
    [ -s "$cgroup_file" ] && remove_cgroups "$(cat "$cgroup_file")"
    rm -f "$pid_file" "$launcher_file" "$cgroup_file"

    local cg h hier
    cg=ipcsweep-e2e.$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')
    hier=$(tracking_hierarchies)
    [ -n "$hier" ] || die "no cgroup hierarchy for systemd found under /sys/fs/cgroup"
    for h in $hier; do mkdir "$h/$cg"; done
    echo "$cg" > "$cgroup_file"
    : > "$console_log"

    local unshare_ns=(--pid --fork --mount --ipc --uts --mount-proc --propagation private)
    [ "$netns" = 1 ] && unshare_ns+=(--net)

    # Runs as PID 1 of the new namespaces, then becomes systemd.
    local boot
    boot=$(cat <<EOF
set -eu
# systemd as PID 1 logs to /dev/console: give it a file, not the host's console
mount --bind "$console_log" /dev/console
mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
if [ -d /dev/mqueue ]; then mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue || true; fi
# nothing inside may change the host's global sysctls or sysfs knobs
mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys
mount --rbind /sys /sys && mount -o remount,bind,ro /sys
mkdir -p /run/systemd/system /run/systemd/system.conf.d /run/systemd/journald.conf.d /run/lock
for u in $(echo $masked_units); do ln -sf /dev/null /run/systemd/system/\$u; done
printf '[Unit]\nDescription=ipcsweep e2e sandbox\nDefaultDependencies=no\n' > /run/systemd/system/sandbox.target
printf '[Manager]\nDefaultCPUAccounting=no\nDefaultMemoryAccounting=no\nDefaultTasksAccounting=no\nDefaultIOAccounting=no\nDefaultBlockIOAccounting=no\nDefaultIPAccounting=no\nDefaultTimeoutStopSec=10s\nShowStatus=no\n' > /run/systemd/system.conf.d/50-sandbox.conf
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToWall=no\nForwardToConsole=no\nRuntimeMaxUse=16M\n' > /run/systemd/journald.conf.d/50-sandbox.conf
if [ "$netns" = 1 ]; then ip link set lo up; fi
hostname ipcsweep-e2e
export container=ipcsweep-e2e
exec $systemd_bin --system --unit=sandbox.target --log-target=console --show-status=no
EOF
)
    # Own cgroup first (so systemd's cgroup root is /$cg), then new session
    # and namespaces. stdout/stderr go to the log: never to a caller's pipe.
    (
        for h in $hier; do echo "$BASHPID" > "$h/$cg/cgroup.procs"; done
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
    [ -n "$child" ] && is_sandbox_systemd "$child" && kill -KILL "$child" 2>/dev/null
    for ((i = 0; i < 50; i++)); do alive "$launcher" || break; sleep 0.1; done
    remove_cgroups "$cg"
    rm -f "$launcher_file" "$cgroup_file"
    return 1
}

cmd_stop() {
    local p launcher="" cg="" i
    [ -s "$launcher_file" ] && launcher=$(cat "$launcher_file")
    [ -s "$cgroup_file" ] && cg=$(cat "$cgroup_file")
    if p=$(sandbox_pid); then
        nsenter -t "$p" -m -p systemctl poweroff --no-block >/dev/null 2>&1 || true
        for ((i = 0; i < stop_timeout * 10; i++)); do
            is_sandbox_systemd "$p" || break
            sleep 0.1
        done
        if is_sandbox_systemd "$p"; then
            echo "sandbox.sh: poweroff took over ${stop_timeout}s; SIGKILL to $p" >&2
            kill -KILL "$p" 2>/dev/null || true
        fi
    fi
    # the launcher (unshare --fork) exits once its child, our systemd, is gone
    if [ -n "$launcher" ]; then
        for ((i = 0; i < 50; i++)); do alive "$launcher" || break; sleep 0.1; done
        if alive "$launcher" && [ "$(cat /proc/$launcher/comm 2>/dev/null)" = unshare ]; then
            kill -KILL "$launcher" 2>/dev/null || true
        fi
    fi
    [ -n "$cg" ] && remove_cgroups "$cg"
    rm -f "$pid_file" "$launcher_file" "$cgroup_file"
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
