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
///
/// Its fields live behind one reference, copied on write: a classification is handed to every field writer of
/// every output, and a copy of the fields themselves (a few hundred bytes, a reference count per array) for
/// each cell was a third of the instructions of `list --format json`.
public struct Classification: Sendable, Equatable {
    /// `@unchecked Sendable`: written only through `unique()`, when this classification holds the only reference.
    private final class Storage: @unchecked Sendable {
        /// Never changed after the classification is made: a `let`, so a field writer borrows it in place
        /// (a `var` of a class must be copied to be lent to a closure, the whole payload with its arrays).
        let object: IPCObject
        @exclusivity(unchecked) var verdict: Verdict
        @exclusivity(unchecked) var evidence: [Evidence]
        @exclusivity(unchecked) var reasons: [String]
        @exclusivity(unchecked) var holders: [Holder]
        @exclusivity(unchecked) var possibleHolders: [Holder]
        @exclusivity(unchecked) var namespace: IPCNamespaceInfo?

        init(object: IPCObject, verdict: Verdict, evidence: [Evidence], reasons: [String], holders: [Holder],
             possibleHolders: [Holder], namespace: IPCNamespaceInfo?) {
            self.object = object
            self.verdict = verdict
            self.evidence = evidence
            self.reasons = reasons
            self.holders = holders
            self.possibleHolders = possibleHolders
            self.namespace = namespace
        }

        func copy() -> Storage {
            Storage(object: object, verdict: verdict, evidence: evidence, reasons: reasons, holders: holders,
                    possibleHolders: possibleHolders, namespace: namespace)
        }
    }

    private var storage: Storage

    private mutating func unique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    public var object: IPCObject {
        _read { yield storage.object }
    }
    public var verdict: Verdict {
        _read { yield storage.verdict }
        _modify { unique(); yield &storage.verdict }
    }
    /// The typed facts behind the verdict (what the classifier found).
    public var evidence: [Evidence] {
        _read { yield storage.evidence }
        _modify { unique(); yield &storage.evidence }
    }
    /// The evidence in words, one per line, as `EvidenceText` renders it (filled after classification).
    public var reasons: [String] {
        _read { yield storage.reasons }
        _modify { unique(); yield &storage.reasons }
    }
    /// Processes that directly hold it (attached, live recorded pid, descriptor, mapping, notification).
    public var holders: [Holder] {
        _read { yield storage.holders }
        _modify { unique(); yield &storage.holders }
    }
    /// Processes that might hold it (suspect verdicts).
    public var possibleHolders: [Holder] {
        _read { yield storage.possibleHolders }
        _modify { unique(); yield &storage.possibleHolders }
    }
    /// The IPC namespace it lives in (for a POSIX object: the namespace whose mount namespace it was found in),
    /// when one was chosen (`--namespace`, `--all-namespaces`); set by the inspection, not by the classifier.
    public var namespace: IPCNamespaceInfo? {
        _read { yield storage.namespace }
        _modify { unique(); yield &storage.namespace }
    }

    public init(object: IPCObject, verdict: Verdict, evidence: [Evidence] = [], reasons: [String] = [],
                holders: [Holder] = [], possibleHolders: [Holder] = [], namespace: IPCNamespaceInfo? = nil) {
        storage = Storage(object: object, verdict: verdict, evidence: evidence, reasons: reasons, holders: holders,
                          possibleHolders: possibleHolders, namespace: namespace)
    }

    public static func == (a: Classification, b: Classification) -> Bool {
        a.storage === b.storage
            || (a.object == b.object && a.verdict == b.verdict && a.evidence == b.evidence && a.reasons == b.reasons
                && a.holders == b.holders && a.possibleHolders == b.possibleHolders && a.namespace == b.namespace)
    }
}
