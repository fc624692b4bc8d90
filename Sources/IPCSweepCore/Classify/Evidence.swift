/// Why a process could reach an object (the kernel's `ipcperms`), or why it counts although that is unknown.
public enum ReachRule: String, Sendable, Hashable, CaseIterable {
    /// Its real or effective uid is the owner uid.
    case ownerUID = "owner-uid"
    /// Its real or effective uid is the creator uid.
    case creatorUID = "creator-uid"
    /// Its gid, egid or a supplementary group is the object's gid or cgid, and the group bits grant access.
    case groupAccess = "group-access"
    /// The mode's other bits grant access: every process can reach it.
    case otherAccess = "other-access"
    /// Real or effective uid 0 (the root rule decides where it counts).
    case root
    /// CAP_IPC_OWNER in its effective capabilities (counted like root).
    case ipcOwner = "cap-ipc-owner"
    /// /proc/PID/status could not be read: treated as able to reach.
    case unreadableStatus = "unreadable-status"
}

/// Why a process started after the last activity may still have inherited the object from an ancestor.
public enum Reparenting: String, Sendable, Hashable {
    /// Its parent is pid 1 of the pid namespace (or it has no visible parent): the namespace's init adopts orphans.
    case parentIsInit = "parent-is-init"
    /// Its parent is not in the process table.
    case parentNotVisible = "parent-not-visible"
    /// Its parent started after it: it cannot be the original parent.
    case parentYounger = "parent-younger"
    /// Its parent is a likely subreaper (a pid namespace's init, a service manager).
    case parentIsSubreaper = "parent-is-subreaper"
}

/// How a possible holder relates in time to the object's last activity.
public enum HolderTiming: Sendable, Hashable {
    /// Started before the second of the last activity.
    case existed
    /// Started within that second: it cannot be ordered against the activity.
    case sameSecond
    /// Started after the last activity, within the inheritance window, and may have been re-parented.
    case inherited(Reparenting)

    public var name: String {
        switch self {
        case .existed: return "existed"
        case .sameSecond: return "same-second"
        case .inherited: return "inherited"
        }
    }
}

/// Why the `--unit` exception to inheritance could not be used for a unit's processes.
public enum UnitExceptionBlock: Sendable, Hashable {
    /// systemd could not tell when the unit's current invocation began.
    case invocationUnknown(String)
    /// The unit's current invocation began before the last activity + 1 s.
    case invocationTooEarly(began: Double)
    /// A process in the unit is older than its current invocation (left over, e.g. KillMode=process).
    case olderProcess(pid: Int32, began: Double)
    /// Not a service: a scope's processes are moved in from outside, not forked by the service manager.
    case notAService
}

/// One fact behind a verdict. The classifier produces these; `EvidenceText` turns them into words and the
/// JSON writers into `evidence` entries. The verdict follows from their `weight`.
public enum Evidence: Sendable, Hashable {
    // Direct evidence: in-use.
    /// Maps the segment (/proc/PID/maps).
    case attached(Holder)
    /// nattch > 0 but no visible process maps it.
    case attachedInvisibly(nattch: UInt64)
    /// SHM_DEST while attached.
    case markedForRemoval
    /// A semaphore with processes blocked in semop (ncnt + zcnt).
    case waiters(semaphore: Int, count: Int)
    /// A recorded pid that is a live process which existed when it was recorded (`holder.pid` is the thread
    /// group when `recordedPid` is a thread id).
    case liveRecordedPid(role: RecordedPidRole, recordedPid: Int32, holder: Holder)
    /// A POSIX object open in a live process (/proc/PID/fd/N is it: same device and inode).
    case openDescriptor(holder: Holder, fds: [Int32])
    /// A POSIX object mapped by a live process (/proc/PID/maps lines with its device and inode).
    case mapped(holder: Holder, mappings: Int)
    /// A POSIX queue's registered notification process (mq_notify; NOTIFY_PID) is alive.
    case queueNotification(holder: Holder)
    /// The kernel refused a write lease on a POSIX object (EAGAIN): a descriptor or mapping of it exists in a
    /// process the tool cannot see (none it can see holds it).
    case openElsewhere

    // Could not read enough: unknown.
    /// Per-semaphore pids and waiters unreadable; the text says why.
    case detailUnreadable(String)
    /// A recorded pid reads 0 although the matching event happened (another pid namespace).
    case recordedPidHidden(role: RecordedPidRole)
    /// Processes sharing the IPC namespace are hidden from the tool.
    case blindSpot(BlindSpot)
    /// The descriptors or mappings of a live process that could reach the POSIX object could not be read.
    case handlesUnreadable(pid: Int32, command: String, detail: String)
    /// A POSIX queue's state (its file, mq_getattr) could not be read.
    case queueStateUnreadable

    // Possible holders: suspect.
    /// A live process that could reach the object and existed at its last activity or may have inherited it;
    /// `widened`: only once its start is moved back by the measured forward step of the wall clock.
    case possibleHolder(holder: Holder, rule: ReachRule, timing: HolderTiming, started: Double, lastActivity: Int64,
                        widened: Bool = false)
    /// How many more possible holders there are than are listed.
    case morePossibleHolders(count: Int)

    // Decisive for orphaned.
    /// Nobody could reach it and existed at the last activity, or may have inherited it since.
    case noPossibleHolder(access: AccessControl, lastActivity: Int64, scope: String?, exclusive: Bool, inheritWindow: Double)

    // Explanations: they never decide a verdict.
    case recordedPidExited(role: RecordedPidRole, pid: Int32)
    case recordedPidZombie(role: RecordedPidRole, recordedPid: Int32, holder: Holder)
    case recordedPidInOtherNamespace(role: RecordedPidRole, pid: Int32, command: String)
    /// The pid now belongs to a process that started `after` seconds after the pid was recorded.
    case recordedPidReused(role: RecordedPidRole, pid: Int32, command: String, after: Double)
    /// The recorded pid is this ipcsweep run.
    case recordedPidIsThisRun(role: RecordedPidRole, pid: Int32)
    case messages(count: UInt64, bytes: UInt64)
    /// The descriptors and mappings of every visible process were read and none is this POSIX object.
    case noDescriptorOrMapping
    /// The kernel granted a write lease on a POSIX object: no descriptor or mapping of it exists in any process
    /// of any namespace.
    case leaseGranted
    /// A POSIX queue's NOTIFY_PID is no live process.
    case notificationPidGone(pid: Int32)
    /// Processes of a `--unit` service started inside the inheritance window were ruled out: the unit's current
    /// invocation began at or after the last activity + 1 s, so they descend from the service manager.
    case inheritanceRuledOut(unit: String, invocationBegan: Double, processes: Int)
    /// Processes of a `--unit` scope inside the inheritance window stay possible holders: the exception did not apply.
    case inheritanceNotRuledOut(unit: String, why: UnitExceptionBlock)
    /// The wall clock was stepped forward by `step` seconds since `reference` was taken, and a process counts
    /// (a possible holder, a recorded pid not reused) only once its start is moved back by it.
    case clockStep(step: Double, reference: ClockReference)

    /// What an evidence kind decides: the verdict is the heaviest class present.
    public enum Weight: Int, Sendable, Comparable {
        case note = 0, none, possible, unreadable, direct
        public static func < (a: Weight, b: Weight) -> Bool { a.rawValue < b.rawValue }
    }

    public var weight: Weight {
        switch self {
        case .attached, .attachedInvisibly, .markedForRemoval, .waiters, .liveRecordedPid, .openDescriptor, .mapped,
             .queueNotification, .openElsewhere: return .direct
        case .detailUnreadable, .recordedPidHidden, .blindSpot, .handlesUnreadable, .queueStateUnreadable: return .unreadable
        case .possibleHolder, .morePossibleHolders: return .possible
        case .noPossibleHolder: return .none
        case .recordedPidExited, .recordedPidZombie, .recordedPidInOtherNamespace, .recordedPidReused,
             .recordedPidIsThisRun, .messages, .inheritanceRuledOut, .inheritanceNotRuledOut, .noDescriptorOrMapping,
             .leaseGranted, .notificationPidGone, .clockStep:
            return .note
        }
    }

    /// The verdict a list of evidence decides: direct evidence → in-use; else anything unreadable (a blind spot
    /// included) → unknown; else a possible holder → suspect; else orphaned.
    public static func verdict(_ evidence: [Evidence]) -> Verdict {
        switch evidence.map(\.weight).max() ?? .note {
        case .direct: return .inUse
        case .unreadable: return .unknown
        case .possible: return .suspect
        case .none, .note: return .orphaned
        }
    }

    /// The `kind` of its JSON entry.
    public var kind: String {
        switch self {
        case .attached: return "attached"
        case .attachedInvisibly: return "attached-invisibly"
        case .markedForRemoval: return "marked-for-removal"
        case .waiters: return "waiters"
        case .liveRecordedPid: return "live-recorded-pid"
        case .detailUnreadable: return "detail-unreadable"
        case .recordedPidHidden: return "recorded-pid-hidden"
        case .blindSpot: return "blind-spot"
        case .possibleHolder: return "possible-holder"
        case .morePossibleHolders: return "more-possible-holders"
        case .noPossibleHolder: return "no-possible-holder"
        case .recordedPidExited: return "recorded-pid-exited"
        case .recordedPidZombie: return "recorded-pid-zombie"
        case .recordedPidInOtherNamespace: return "recorded-pid-other-namespace"
        case .recordedPidReused: return "recorded-pid-reused"
        case .recordedPidIsThisRun: return "recorded-pid-is-this-run"
        case .messages: return "messages"
        case .inheritanceRuledOut: return "inheritance-ruled-out"
        case .inheritanceNotRuledOut: return "inheritance-not-ruled-out"
        case .openDescriptor: return "open-descriptor"
        case .mapped: return "mapped"
        case .queueNotification: return "queue-notification"
        case .openElsewhere: return "open-elsewhere"
        case .leaseGranted: return "lease-granted"
        case .handlesUnreadable: return "handles-unreadable"
        case .queueStateUnreadable: return "queue-state-unreadable"
        case .noDescriptorOrMapping: return "no-descriptor-or-mapping"
        case .notificationPidGone: return "notification-pid-gone"
        case .clockStep: return "clock-step"
        }
    }
}

extension BlindSpot {
    /// Its name in JSON (`blindSpot` of a `blind-spot` entry).
    public var name: String {
        switch self {
        case .hidepid: return "hidepid"
        case .subsetPid: return "subset-pid"
        case .hostIPCInChildPidNamespace: return "host-ipc-child-pid-namespace"
        case .childPidNamespace: return "child-pid-namespace"
        case .namespaceWithoutVisibleProcess: return "namespace-without-visible-process"
        }
    }
}
