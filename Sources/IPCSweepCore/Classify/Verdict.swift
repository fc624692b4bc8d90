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

/// A process named as evidence.
public struct Holder: Sendable, Equatable, Hashable {
    public enum Relation: String, Sendable, Codable {
        /// Maps the segment (/proc/PID/maps).
        case attached
        /// A live recorded pid (sempid, cpid, lpid, lspid, lrpid).
        case recorded
        /// Could reach the object and existed at its last activity.
        case possible
    }
    public var pid: Int32
    public var command: String
    public var unit: String?
    public var uid: UInt32
    public var relation: Relation

    public init(_ p: ProcessRecord, relation: Relation) {
        self.init(p, unit: p.unit, relation: relation)
    }

    /// With the unit already worked out from the cgroup path.
    public init(_ p: ProcessRecord, unit: String?, relation: Relation) {
        pid = p.pid
        command = p.comm
        self.unit = unit
        uid = p.uid
        self.relation = relation
    }
}

/// An object with its verdict and the evidence behind it, most decisive first.
public struct Classification: Sendable, Equatable {
    public var object: IPCObject
    public var verdict: Verdict
    /// The typed facts behind the verdict (what the classifier found).
    public var evidence: [Evidence]
    /// The evidence in words, one per line, as `EvidenceText` renders it (filled after classification).
    public var reasons: [String]
    /// Processes that directly hold it (attached, live recorded pid).
    public var holders: [Holder]
    /// Processes that might hold it (suspect verdicts).
    public var possibleHolders: [Holder]
    /// The IPC namespace it lives in, when one was chosen (`--namespace`, `--all-namespaces`); set by the
    /// inspection, not by the classifier.
    public var namespace: IPCNamespaceInfo?

    public init(object: IPCObject, verdict: Verdict, evidence: [Evidence] = [], reasons: [String] = [],
                holders: [Holder] = [], possibleHolders: [Holder] = []) {
        self.object = object
        self.verdict = verdict
        self.evidence = evidence
        self.reasons = reasons
        self.holders = holders
        self.possibleHolders = possibleHolders
    }
}
