/// Turns evidence into the words users read (`reasons` in every output): the one place where evidence is
/// worded, and where uids and gids become names. The man page's list of reasons follows these cases.
public final class EvidenceText {
    public let users: UserDirectory
    /// How many possible holders are spelled out before "and N more possible holders".
    public static let shownPossibleHolders = 5
    /// Texts that repeat across objects (the same owners and second, the same process), built once.
    private var cache = Memo<Evidence, String>()

    public init(users: UserDirectory) { self.users = users }

    /// Fills `reasons` of every classification from its evidence (many in chunks on several threads, each chunk
    /// with its own texts cache).
    public func fillReasons(_ items: inout [Classification]) {
        let users = self.users
        items.withUnsafeMutableBufferPointer { buffer in
            let items = UnsafeSendableBuffer(buffer)
            Parallel.forEach(items.buffer.count, state: { EvidenceText(users: users) }) { text, i in
                items.buffer[i].reasons = text.reasons(items.buffer[i].evidence)
            }
        }
    }

    /// One line per evidence, in order; possible holders beyond the first few are counted in one line.
    public func reasons(_ evidence: [Evidence]) -> [String] {
        var out: [String] = []
        out.reserveCapacity(evidence.count)
        var shown = 0
        var hidden = 0
        var moreAt: Int?
        for e in evidence {
            switch e {
            case .possibleHolder:
                if shown < Self.shownPossibleHolders {
                    out.append(text(e))
                    shown += 1
                } else {
                    hidden += 1
                    if moreAt == nil { moreAt = out.count }
                }
            case .morePossibleHolders(let n):
                hidden += n
                if moreAt == nil { moreAt = out.count }
            default:
                out.append(text(e))
            }
        }
        if hidden > 0, let at = moreAt {
            out.insert("and \(hidden) more possible holder\(hidden == 1 ? "" : "s")", at: at)
        }
        return out
    }

    /// The words for one piece of evidence.
    public func text(_ e: Evidence) -> String {
        switch e {
        case .possibleHolder, .noPossibleHolder, .blindSpot, .inheritanceRuledOut, .inheritanceNotRuledOut:
            return cache.value(for: e) { compose(e) }
        default:
            return compose(e)
        }
    }

    private func who(_ h: Holder) -> String { h.command + (h.unit.map { ", " + $0 } ?? "") }

    private func user(_ uid: UInt32) -> String {
        uid == UInt32.max ? "credentials unreadable" : users.displayUser(uid)
    }

    private func iso(_ t: Double) -> String { TimeFormat.iso8601(Int64(t.rounded(.down))) ?? "never" }

    private func plural(_ n: some BinaryInteger, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    private func compose(_ e: Evidence) -> String {
        switch e {
        case .attached(let h):
            return "attached by pid \(h.pid) (\(who(h)))"
        case .attachedInvisibly(let n):
            return "attached \(plural(n, "time")) (nattch) by processes not visible here"
        case .openDescriptor(let h, let fds):
            return "open by pid \(h.pid) (\(who(h))) as descriptor\(fds.count == 1 ? "" : "s") \(fds.map(String.init).joined(separator: ", "))"
        case .mapped(let h, let n):
            return "mapped by pid \(h.pid) (\(who(h))) (\(plural(n, "mapping")))"
        case .queueNotification(let h):
            return "pid \(h.pid) (\(who(h))) is registered for its notification (mq_notify, NOTIFY_PID)"
        case .handlesUnreadable(let pid, let command, let detail):
            return "the descriptors and mappings of pid \(pid) (\(command)), which could reach it, could not be read (\(detail)): run as root"
        case .queueStateUnreadable:
            return "its state (QSIZE, NOTIFY_PID, depth) could not be read: run as root"
        case .noDescriptorOrMapping:
            return "no process has it open or mapped (/proc/PID/fd and /proc/PID/maps, by device and inode)"
        case .openElsewhere:
            return "held by a process this tool cannot see: the kernel refused a write lease on it (F_SETLEASE: EAGAIN), so a descriptor or mapping of it is open somewhere"
        case .leaseGranted:
            return "no descriptor or mapping of it exists in any process (the kernel granted a write lease on it)"
        case .notificationPidGone(let pid):
            return "the process registered for its notification (NOTIFY_PID \(pid)) is gone"
        case .markedForRemoval:
            return "marked for removal while attached (SHM_DEST): the kernel frees it at the last detach"
        case .waiters(let n, let w):
            return "semaphore \(n) has \(plural(w, "waiter"))"
        case .liveRecordedPid(let role, let rp, let h):
            let who = rp == h.pid ? "pid \(h.pid) (\(who(h)))" : "pid \(rp) (a thread of pid \(h.pid), \(who(h)))"
            return "\(role.phrase) \(who) is alive"
        case .detailUnreadable(let why):
            return why
        case .recordedPidHidden(let role):
            return "\(role.phrase) pid 0: not visible from this pid namespace (it was recorded by a process of another pid namespace)"
        case .blindSpot(let b):
            return blindSpot(b)
        case .possibleHolder(let h, let rule, let timing, let started, let last, let widened):
            return "possible holder: pid \(h.pid) \(h.command) (\(user(h.uid))\(h.unit.map { ", " + $0 } ?? "")) "
                + timingText(timing, started: started, last: last, widened: widened) + "; " + ruleText(rule)
        case .morePossibleHolders(let n):
            return "and \(plural(n, "more possible holder"))"
        case .noPossibleHolder(let access, let last, let scope, let exclusive, let window):
            return noHolder(access, last: last, scope: scope, exclusive: exclusive, window: window)
        case .recordedPidExited(let role, let pid):
            return "\(role.phrase) pid \(pid) exited"
        case .recordedPidZombie(let role, let rp, let h):
            let who = rp == h.pid ? "pid \(h.pid) (\(who(h)))" : "pid \(rp) (a thread of pid \(h.pid), \(who(h)))"
            return "\(role.phrase) \(who) is a zombie: it holds nothing"
        case .recordedPidInOtherNamespace(let role, let pid, let command):
            return "\(role.phrase) pid \(pid) is now \(command) in another IPC namespace: not a holder"
        case .recordedPidReused(let role, let pid, let command, let after):
            return "pid \(pid) reused by \(command) (started \(TimeFormat.duration(after)) after the last \(role == .cpid ? "change" : "operation"))"
        case .recordedPidIsThisRun(let role, let pid):
            return "\(role.phrase) pid \(pid) is this ipcsweep run: not counted"
        case .messages(let n, let bytes):
            return "holds \(plural(n, "message")) (\(bytes) bytes)"
        case .inheritanceRuledOut(let unit, let began, let n):
            return "\(plural(n, "process")) of \(unit) started within the inheritance window but cannot have inherited it: "
                + "the unit's current invocation began at \(iso(began)), after the last activity (unit-invocation rule)"
        case .inheritanceNotRuledOut(let unit, let why):
            let lead = "processes of \(unit) started within the inheritance window stay possible holders: "
            switch why {
            case .invocationUnknown(let text):
                return lead + "when its current invocation began is unknown (\(text))"
            case .invocationTooEarly(let t):
                return lead + "its current invocation began at \(iso(t)), not after the last activity"
            case .olderProcess(let pid, let t):
                return lead + "its pid \(pid) is older than its current invocation (\(iso(t))) and may have passed it on"
            case .notAService:
                return lead + "it is not a service (the processes of a scope are moved in, not forked by systemd)"
            }
        case .clockStep(let step, let r):
            let since: String
            if case .systemdUnit(let unit) = r.source { since = "the current invocation of \(unit) began (\(iso(r.taken)))" } else {
                since = iso(r.taken)
            }
            return "the wall clock was stepped forward by \(TimeFormat.duration(step)) since \(since), measured by "
                + ClockSteps.describe(r.source) + ": process starts are compared as up to that much earlier, so a "
                + "process that only looks younger than the last activity still counts (clock-step)"
        }
    }

    private func timingText(_ t: HolderTiming, started: Double, last: Int64, widened: Bool) -> String {
        let byToday = "started \(TimeFormat.duration(started - Double(last))) after the last activity by today's clock"
        switch t {
        case .existed where widened, .sameSecond where widened:
            return byToday + ", before it once the clock step is allowed for (clock-step)"
        case .existed:
            return "started before the last use"
        case .sameSecond:
            return "started before the last use (within the same second: cannot be ordered)"
        case .inherited(let why):
            let parent: String
            switch why {
            case .parentIsInit: parent = "its parent is pid 1"
            case .parentNotVisible: parent = "its parent is not visible"
            case .parentYounger: parent = "its parent is younger than it"
            case .parentIsSubreaper: parent = "its parent is a subreaper"
            }
            if widened {
                return byToday + ", within the inheritance window once the clock step is allowed for (clock-step), "
                    + "and may have inherited it (\(parent): it may have been re-parented)"
            }
            return "started \(TimeFormat.duration(started - Double(last))) after the last activity, within the "
                + "inheritance window, and may have inherited it (\(parent): it may have been re-parented)"
        }
    }

    private func ruleText(_ r: ReachRule) -> String {
        switch r {
        case .ownerUID: return "it runs as the owner (owner-uid)"
        case .creatorUID: return "it runs as the creator (creator-uid)"
        case .groupAccess: return "it is in the object's group and the mode grants the group access (group-access)"
        case .otherAccess: return "the mode grants everyone access (other-access)"
        case .root: return "it runs as root (root)"
        case .ipcOwner: return "it has CAP_IPC_OWNER (cap-ipc-owner)"
        case .unreadableStatus: return "its credentials could not be read, so it may reach it (unreadable-status)"
        }
    }

    private func noHolder(_ a: AccessControl, last: Int64, scope: String?, exclusive: Bool, window: Double) -> String {
        var reach = a.uids.map { "\($0) (\(users.displayUser($0)))" }.joined(separator: " or ")
        reach = "of uid " + reach
        if a.groupCanReach {
            reach += " or group " + a.gids.map { "\($0) (\(users.displayGroup($0)))" }.joined(separator: " or ")
        }
        if a.anyoneCanReach { reach = "of any uid (mode \(IPCTextFormat.octal(a.mode)))" }
        let when = TimeFormat.iso8601(last) ?? "its creation"
        let inherit = window > 0 ? " or may have inherited it since (re-parented within \(TimeFormat.duration(window)))" : ""
        if let scope {
            let outside = exclusive ? "" : " or \(reach)"
            return "no live process in \(scope)\(outside) existed at the last activity (\(when))\(inherit)"
        }
        return "no live process \(reach) existed at the last activity (\(when))\(inherit)"
    }

    private func blindSpot(_ b: BlindSpot) -> String {
        switch b {
        case .hidepid(let mount, let value, let gid):
            let group = gid.map { " or as a member of its gid= group \($0) (\(users.displayGroup($0)))" } ?? ""
            return "\(mount) is mounted with hidepid=\(value): other users' processes are hidden from this caller, "
                + "so a hidden process may hold it; run as root\(group) for a full view"
        case .subsetPid(let mount):
            return "\(mount) is mounted with subset=pid: this view of /proc is restricted, so a hidden process may hold it; "
                + "run as root on a procfs mounted without subset= or hidepid= for a full view"
        case .hostIPCInChildPidNamespace(let ns):
            return "this ipcsweep runs in a child pid namespace (pid:[\(ns)]) but shares the host's IPC namespace: "
                + "processes outside its pid namespace may hold it unseen; run it in the host's pid namespace "
                + "(docker run --pid=host, nsenter -t 1 -p) for a full view"
        case .childPidNamespace(let pid, let ipc):
            let which = ipc.map { "IPC namespace \($0)" } ?? "its IPC namespace"
            return "this ipcsweep runs in a child pid namespace (pid:[\(pid)]): processes of other pid namespaces can "
                + "share \(which) and /dev/shm (a Kubernetes pod's other containers, docker run --ipc=container:) and "
                + "may hold it unseen; run ipcsweep on the host with --namespace PID or --all-namespaces for a full view, "
                + "or pass --all-processes-visible if no other pid namespace shares this IPC namespace"
        case .namespaceWithoutVisibleProcess(let ipc, let pid):
            return "no process of IPC namespace \(ipc) is visible from this ipcsweep's pid namespace (pid:[\(pid)]): "
                + "its processes may live where this pid namespace cannot see them and hold it unseen; run ipcsweep in "
                + "the host's pid namespace for a full view"
        }
    }
}
