/// Any IPC object of the six kinds: the one type the classifier, the filter, the field table, the clean
/// pipeline and the audit take. The common part (identity, owner, group and creator, mode and ACL, size, times)
/// is read the same way for every kind; what only one family has stays in its payload.
///
/// `indirect`: each payload lives in its own box, so an object is one reference. Every field writer, filter
/// and classifier step switches on it; with the payloads inline, each switch copied the largest payload (a
/// few hundred bytes) and retained its arrays (a sixth of `list --format json`'s instructions).
public indirect enum IPCObject: Sendable, Equatable {
    case sem(SemaphoreSet)
    case shm(SharedMemorySegment)
    case msg(MessageQueue)
    /// A POSIX shared memory object, named semaphore or message queue (its `kind` says which).
    case posix(PosixIPCObject)

    public var kind: IPCKind {
        switch self {
        case .sem: return .sem
        case .shm: return .shm
        case .msg: return .msg
        case .posix(let o): return o.kind
        }
    }

    public var family: IPCFamily { kind.family }

    /// The POSIX payload, when it is a POSIX object.
    public var posix: PosixIPCObject? {
        if case .posix(let o) = self { return o }
        return nil
    }

    /// The System V id; -1 for a POSIX object (named by its path instead).
    public var id: Int32 {
        switch self {
        case .sem(let s): return s.id
        case .shm(let s): return s.id
        case .msg(let q): return q.id
        case .posix: return -1
        }
    }

    /// Owner, group, creator and mode. A POSIX object (a file) has no key (0) and its owner and group stand for
    /// the creator's; its mode is the permission part of st_mode.
    public var perm: IPCPermissions {
        switch self {
        case .sem(let s): return s.perm
        case .shm(let s): return s.perm
        case .msg(let q): return q.perm
        case .posix(let o): return o.perm
        }
    }

    /// What the kernel's permission check lets in: the ipcperms facts (a POSIX object's named ACL entries
    /// count as the other bits).
    public var access: AccessControl {
        switch self {
        case .posix(let o): return AccessControl(o)
        default: return AccessControl(perm)
        }
    }

    /// The change time in epoch seconds (System V: creation, IPC_SET, SETVAL/SETALL; POSIX: st_ctime).
    public var ctime: Int64 {
        switch self {
        case .sem(let s): return s.ctime
        case .shm(let s): return s.ctime
        case .msg(let q): return q.ctime
        case .posix(let o): return o.ctime.seconds
        }
    }

    /// The latest of the change time and the operation times (spec: "last activity"), in epoch seconds; a POSIX
    /// object's last change (`PosixIPCObject.lastChange`).
    public var lastActivity: Int64 {
        switch self {
        case .sem(let s): return max(s.ctime, s.otime)
        case .shm(let s): return max(s.ctime, s.atime, s.dtime)
        case .msg(let q): return max(q.ctime, q.stime, q.rtime)
        case .posix(let o): return o.lastChange.seconds
        }
    }

    /// The last activity as an instant with whatever precision the kind records (whole seconds for System V).
    public var lastActivityInstant: Double {
        switch self {
        case .posix(let o): return o.lastChange.value
        default: return Double(lastActivity)
        }
    }

    /// When the last activity can have happened. A POSIX file time is late by at most the coarse clock's
    /// `granularity`. A System V second U is truncated, and taken from the same coarse clock
    /// (ktime_get_real_seconds), which can still read U for up to `granularity` after the precise clock passed
    /// U + 1: [U, U + 1 + granularity).
    public func activityWindow(granularity: Double) -> ActivityWindow {
        switch self {
        case .posix(let o):
            let t = o.lastChange
            return ActivityWindow(earliest: t.value, latest: t.value + granularity, reported: t.seconds)
        default:
            return ActivityWindow(second: lastActivity, granularity: granularity)
        }
    }

    /// The POSIX access ACL beyond the mode bits (nil for System V objects, which have none).
    public var acl: [ACLEntry]? { posix?.acl }

    /// Every pid the kernel recorded for this System V object, with the latest second it can date from (none
    /// for a POSIX object). A pid 0 is included: it means "none" or "not visible from this pid namespace".
    public var recordedPids: [RecordedPid] {
        var out: [RecordedPid] = []
        forEachRecordedPid { out.append($0) }
        return out
    }

    /// Calls `body` with each recorded pid, in the order of `recordedPids`, without building the array.
    public func forEachRecordedPid(_ body: (RecordedPid) -> Void) {
        switch self {
        case .sem(let s): s.forEachRecordedPid(body)
        case .shm(let s): s.forEachRecordedPid(body)
        case .msg(let q): q.forEachRecordedPid(body)
        case .posix: return
        }
    }

    /// A POSIX queue's notification pid (mq_notify), nil for every other object.
    public var notifyPid: Int32? { posix?.queue?.notifyPid }

    /// A short size description: "2 sems", "4096 B", "3 msgs"; a POSIX queue "3 msgs (24 B)".
    public var sizeSummary: String {
        switch self {
        // Written in place, not an interpolation (a table cell of every row: interpolation cost five times as much).
        case .sem(let s): return s.nsems == 1 ? "1 sem" : IPCTextFormat.decimal(Int64(s.nsems), " sems")
        case .shm(let s):
            let size = IPCTextFormat.decimal(Int64(clamping: s.size), " B")
            guard let used = s.usedBytes else { return size }
            return String(utf8Pieces: [size, " (", PosixAuditSection.size(Int64(clamping: used)), " used)"])
        case .msg(let q): return q.qnum == 1 ? "1 msg" : IPCTextFormat.decimal(Int64(clamping: q.qnum), " msgs")
        case .posix(let o):
            if let q = o.queue {
                guard let n = q.messages else { return "\(q.qsize) B queued" }
                return "\(n) msg\(n == 1 ? "" : "s") (\(q.qsize) B)"
            }
            return "\(o.size) B (\(PosixAuditSection.size(o.usedBytes)) used)"
        }
    }

    /// Whether it holds data that a removal would lose and that `--save-to` saves: a queue's messages.
    public var queuedMessages: (count: UInt64?, bytes: UInt64)? {
        switch self {
        case .msg(let q): return q.qnum > 0 ? (q.qnum, q.cbytes) : nil
        case .posix(let o):
            guard let q = o.queue, q.hasMessages else { return nil }
            return (q.messages.map { UInt64($0) }, q.qsize)
        default: return nil
        }
    }

    /// How a message names it: "semaphore set id 32769 (key 0x0000162e)", "POSIX shared memory object /dev/shm/x".
    public var displayName: String {
        switch self {
        case .posix(let o): return "\(o.kind.noun) \(o.path)"
        default: return "\(kind.noun) id \(id) (key \(IPCTextFormat.hexKey(perm.key)))"
        }
    }

    public var ref: IPCObjectRef {
        switch self {
        case .posix(let o): return IPCObjectRef(kind: o.kind, path: o.path)
        default: return IPCObjectRef(kind: kind, id: id)
        }
    }
}

/// A stable identity for an object across two reads: kind and id for System V, kind and path for POSIX.
public struct IPCObjectRef: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var kind: IPCKind
    /// The System V id; -1 for a POSIX object.
    public var id: Int32
    /// A POSIX object's path; nil for System V.
    public var path: String?

    public init(kind: IPCKind, id: Int32) {
        self.kind = kind
        self.id = id
        path = nil
    }

    public init(kind: IPCKind, path: String) {
        self.kind = kind
        id = -1
        self.path = path
    }

    public static func < (a: IPCObjectRef, b: IPCObjectRef) -> Bool {
        a.kind != b.kind ? a.kind < b.kind : (a.id != b.id ? a.id < b.id : (a.path ?? "") < (b.path ?? ""))
    }

    /// "sem id 32769", "posix-shm /dev/shm/x".
    public var description: String { path.map { "\(kind.rawValue) \($0)" } ?? "\(kind.rawValue) id \(id)" }
}

/// An object whose recorded pids can be walked as it is: a payload of the snapshot is not wrapped in an
/// `IPCObject` (a box per object, since the enum is indirect) only to be asked for its pids.
public protocol RecordedPidSource {
    /// Calls `body` with each pid the kernel recorded, with the latest second it can date from.
    func forEachRecordedPid(_ body: (RecordedPid) -> Void)
    /// A POSIX queue's notification pid.
    var notifyPid: Int32? { get }
}

extension RecordedPidSource {
    /// Only a POSIX queue has one (`IPCObject` answers for it).
    public var notifyPid: Int32? { nil }
}

extension IPCObject: RecordedPidSource {}

extension SemaphoreSet: RecordedPidSource {
    public func forEachRecordedPid(_ body: (RecordedPid) -> Void) {
        guard let sems = semaphores else { return }
        // sempid moves on semop (otime), SETVAL/SETALL (ctime) and SEM_UNDO at exit (otime).
        let at = max(otime, ctime)
        for (n, sem) in sems.enumerated() {
            body(RecordedPid(pid: sem.pid, role: .sempid, recordedAt: at, semnum: n))
        }
    }
}

extension SharedMemorySegment: RecordedPidSource {
    public func forEachRecordedPid(_ body: (RecordedPid) -> Void) {
        body(RecordedPid(pid: cpid, role: .cpid, recordedAt: ctime, semnum: nil))
        body(RecordedPid(pid: lpid, role: .lpid, recordedAt: max(atime, dtime, ctime), semnum: nil))
    }
}

extension MessageQueue: RecordedPidSource {
    public func forEachRecordedPid(_ body: (RecordedPid) -> Void) {
        body(RecordedPid(pid: lspid, role: .lspid, recordedAt: max(stime, ctime), semnum: nil))
        body(RecordedPid(pid: lrpid, role: .lrpid, recordedAt: max(rtime, ctime), semnum: nil))
    }
}
