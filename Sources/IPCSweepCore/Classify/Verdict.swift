/// The one judgement every object gets.
public enum Verdict: String, Sendable, Codable, CaseIterable, Comparable {
    /// Direct evidence that a live process uses it.
    case inUse = "in-use"
    /// No direct evidence and no possible holder.
    case orphaned
    /// No direct evidence, but possible holders exist.
    case suspect
    /// The tool could not read enough to decide.
    case unknown

    /// Worst first: orphaned, suspect, unknown, in-use.
    var rank: Int {
        switch self {
        case .orphaned: return 0
        case .suspect: return 1
        case .unknown: return 2
        case .inUse: return 3
        }
    }

    public static func < (a: Verdict, b: Verdict) -> Bool { a.rank < b.rank }
}

/// A process that holds an object, or may: the one holder type of every kind.
public struct Holder: Sendable, Equatable, Hashable {
    /// How it holds the object (the `relation` of a JSON holder).
    public enum Relation: String, Sendable, Codable {
        /// Maps a System V segment (/proc/PID/maps `/SYSV` line).
        case attached
        /// A live recorded pid of a System V object (sempid, cpid, lpid, lspid, lrpid).
        case recorded
        /// An open descriptor of a POSIX object (/proc/PID/fd/N is it: same device and inode).
        case fd
        /// A mapping of a POSIX object (/proc/PID/maps names its device and inode).
        case mapping
        /// Registered for a POSIX queue's notification (mq_notify; the queue's NOTIFY_PID).
        case notify
        /// Could reach the object and existed at its last activity, or may have inherited it (suspect).
        case possible
    }
    public var pid: Int32
    public var command: String
    public var unit: String?
    public var uid: UInt32
    public var relation: Relation
    /// The descriptor numbers (relation fd).
    public var fds: [Int32]
    /// The mapped address ranges, "7f12a000-7f12b000" (relation mapping).
    public var mappings: [String]

    public init(_ p: ProcessRecord, relation: Relation, fds: [Int32] = [], mappings: [String] = []) {
        self.init(p, unit: p.unit, relation: relation, fds: fds, mappings: mappings)
    }

    /// With the unit already worked out from the cgroup path.
    public init(_ p: ProcessRecord, unit: String?, relation: Relation, fds: [Int32] = [], mappings: [String] = []) {
        pid = p.pid
        command = p.comm
        self.unit = unit
        uid = p.uid
        self.relation = relation
        self.fds = fds
        self.mappings = mappings
    }
}

/// An object with its verdict and the evidence behind it, most decisive first: the one classification of
/// every kind.
public struct Classification: Sendable, Equatable {
    public var object: IPCObject
    public var verdict: Verdict
    /// The typed facts behind the verdict (what the classifier found).
    public var evidence: [Evidence]
    /// The evidence in words, one per line, as `EvidenceText` renders it (filled after classification).
    public var reasons: [String]
    /// Processes that directly hold it (attached, live recorded pid, descriptor, mapping, notification).
    public var holders: [Holder]
    /// Processes that might hold it (suspect verdicts).
    public var possibleHolders: [Holder]
    /// The IPC namespace it lives in (for a POSIX object: the namespace whose mount namespace it was found in),
    /// when one was chosen (`--namespace`, `--all-namespaces`); set by the inspection, not by the classifier.
    public var namespace: IPCNamespaceInfo?

    public init(object: IPCObject, verdict: Verdict, evidence: [Evidence] = [], reasons: [String] = [],
                holders: [Holder] = [], possibleHolders: [Holder] = [], namespace: IPCNamespaceInfo? = nil) {
        self.object = object
        self.verdict = verdict
        self.evidence = evidence
        self.reasons = reasons
        self.holders = holders
        self.possibleHolders = possibleHolders
        self.namespace = namespace
    }
}
