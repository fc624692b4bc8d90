#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A process that holds a POSIX IPC object, and how.
public struct PosixHolder: Sendable, Equatable {
    /// How it holds the object.
    public enum Relation: String, Sendable, Codable {
        /// An open descriptor (/proc/PID/fd/N is the object).
        case fd
        /// A mapping (/proc/PID/maps names the object's device and inode).
        case mapping
        /// Registered for a queue's notification (mq_notify; the queue's NOTIFY_PID).
        case notify
        /// Could reach the object and existed at its last change (suspect verdicts).
        case possible
    }
    public var pid: Int32
    public var command: String
    public var unit: String?
    public var uid: UInt32
    public var relation: Relation
    /// The descriptor numbers (fd) or the mapped address ranges (mapping).
    public var fds: [Int32]
    public var mappings: [String]

    public init(_ p: ProcessRecord, relation: Relation, fds: [Int32] = [], mappings: [String] = []) {
        pid = p.pid
        command = p.comm
        unit = p.unit
        uid = p.uid
        self.relation = relation
        self.fds = fds
        self.mappings = mappings
    }
}

/// A POSIX IPC object with its verdict and the evidence behind it, most decisive reason first.
public struct PosixClassification: Sendable, Equatable {
    public var object: PosixIPCObject
    public var verdict: Verdict
    public var reasons: [String]
    /// Processes that hold it (descriptor, mapping, notification).
    public var holders: [PosixHolder]
    /// Processes that might hold it (suspect verdicts).
    public var possibleHolders: [PosixHolder]

    public init(object: PosixIPCObject, verdict: Verdict, reasons: [String], holders: [PosixHolder] = [],
                possibleHolders: [PosixHolder] = []) {
        self.object = object
        self.verdict = verdict
        self.reasons = reasons
        self.holders = holders
        self.possibleHolders = possibleHolders
    }
}

/// The possible-holder rule of the Verdicts section applied to a file: the live processes that could reach the
/// object (owner uid, group and other bits, named ACL entries) and existed at its last change.
///
/// Kept apart from the System V classifier on purpose: when the verdict rework (reach by group/other bits,
/// inheritance window, blind spots) lands, this is the one function to replace with its rule.
public struct PosixPossibleHolders: Sendable {
    /// Live processes ordered by start time.
    let live: [ProcessRecord]
    let scope: ResolvedScope?
    /// Seconds after the last change during which a process started later may still have been handed the object
    /// by its creator (a daemonising parent): the System V creation grace.
    let creationGrace: Double
    /// The coarse clock's granularity: a file time can lag the instant it records by this much.
    let granularity: Double
    /// Indexes into `live` (each list in `live` order) by real and effective uid, by gid / egid / supplementary
    /// group, of processes whose groups could not be read, and of root processes.
    private let byUID: [UInt32: [Int]]
    private let byGroup: [UInt32: [Int]]
    private let unknownGroups: [Int]
    private let roots: [Int]

    init(live: [ProcessRecord], scope: ResolvedScope?, creationGrace: Double, granularity: Double) {
        self.live = live
        self.scope = scope
        self.creationGrace = creationGrace
        self.granularity = granularity
        var uids: [UInt32: [Int]] = [:]
        var groups: [UInt32: [Int]] = [:]
        var unknown: [Int] = []
        var roots: [Int] = []
        for (i, p) in live.enumerated() {
            uids[p.uid, default: []].append(i)
            if p.euid != p.uid { uids[p.euid, default: []].append(i) }
            if let g = p.groups {
                for gid in Set([p.gid, p.egid] + g) { groups[gid, default: []].append(i) }
            } else {
                unknown.append(i)
            }
            if p.isRoot { roots.append(i) }
        }
        byUID = uids
        byGroup = groups
        unknownGroups = unknown
        self.roots = roots
    }

    /// Whether `p` could open the object: what the kernel's permission check on the file would allow for any access.
    /// Groups that could not be read count as matching (fail closed).
    public static func couldReach(_ p: ProcessRecord, _ o: PosixIPCObject) -> Bool {
        if p.uid == o.uid || p.euid == o.uid { return true }
        if o.mode & 0o007 != 0 { return true }
        func inGroup(_ g: UInt32) -> Bool { p.groups == nil || p.gid == g || p.egid == g || p.groups?.contains(g) == true }
        // With an ACL the group bits are the mask: any named entry is bounded by them, and err toward reach.
        if o.mode & 0o070 != 0 {
            if inGroup(o.gid) { return true }
            for e in o.acl ?? [] where e.perms != 0 {
                if e.tag == .user, let q = e.qualifier, q == p.uid || q == p.euid { return true }
                if e.tag == .group, let q = e.qualifier, inGroup(q) { return true }
            }
        }
        return false
    }

    /// The possible holders of one object, oldest first: a live process that could reach it (root: inside the
    /// scope, or unscoped for root-owned objects; with --exclusive only processes in the scope) and started
    /// before its last change + the coarse clock's granularity + the creation grace.
    public func holders(of o: PosixIPCObject) -> [ProcessRecord] {
        let limit = o.lastChange.value + granularity + creationGrace
        // Candidates from the indexes (each in start order); everyone when other bits or named ACL entries open
        // it wider. Root processes matter only inside a scope, or unscoped for root-owned objects.
        var lists: [[Int]] = []
        if o.mode & 0o007 != 0 || (o.acl != nil && o.mode & 0o070 != 0) {
            lists = [Array(live.indices)]
        } else {
            if let l = byUID[o.uid] { lists.append(l) }
            if o.mode & 0o070 != 0 {
                if let l = byGroup[o.gid] { lists.append(l) }
                if !unknownGroups.isEmpty { lists.append(unknownGroups) }
            }
            if scope != nil || o.uid == 0 { lists.append(roots) }
        }
        let candidates: [Int]
        switch lists.count {
        case 0: return []
        case 1: candidates = lists[0]
        default: candidates = Array(Set(lists.joined())).sorted()
        }
        var out: [ProcessRecord] = []
        for i in candidates {
            let p = live[i]
            guard p.startTime < limit else { break }  // this one and all later ones are provably younger
            let inScope = scope?.members.contains(p.pid) == true
            if let scope, scope.exclusive, !inScope { continue }
            if p.isRoot {
                // Root reaches everything: it counts inside the scope, or, unscoped, for root-owned objects.
                if scope != nil ? !inScope : o.uid != 0 { continue }
                out.append(p)
                continue
            }
            if Self.couldReach(p, o) { out.append(p) }
        }
        return out
    }
}

/// Decides a verdict for every POSIX IPC object: a pure function of the objects, the process table (with the
/// descriptors and mappings read), the scope and the running ipcsweep's pid.
public struct PosixClassifier: Sendable {
    public let processes: ProcessTable
    public let scope: ResolvedScope?
    /// Processes that never count (the running ipcsweep).
    public let excluded: Set<Int32>
    public let granularity: Double
    public let userName: @Sendable (UInt32) -> String
    private let possible: PosixPossibleHolders
    /// Who holds what: by device and inode.
    private let handles: [DeviceInode: [(ProcessRecord, PosixHandle)]]
    /// Live processes whose descriptors or mappings could not be read.
    private let unreadable: [ProcessRecord]

    public init(processes: ProcessTable, scope: ResolvedScope?, excluded: Set<Int32>,
                granularity: Double = PosixClassifier.coarseClockGranularity(),
                creationGrace: Double = Classifier.defaultCreationGrace,
                userName: @escaping @Sendable (UInt32) -> String = { String($0) }) {
        self.processes = processes
        self.scope = scope
        self.excluded = excluded
        self.granularity = granularity
        self.userName = userName
        let live = processes.byPid.values.filter { !$0.isDeadOrZombie && !excluded.contains($0.pid) }
            .sorted { $0.startTime != $1.startTime ? $0.startTime < $1.startTime : $0.pid < $1.pid }
        possible = PosixPossibleHolders(live: live, scope: scope, creationGrace: creationGrace, granularity: granularity)
        var index: [DeviceInode: [(ProcessRecord, PosixHandle)]] = [:]
        for p in live { for h in p.posixHandles { index[h.object, default: []].append((p, h)) } }
        handles = index
        unreadable = live.filter { $0.handlesUnreadable != nil }
    }

    /// clock_getres(CLOCK_REALTIME_COARSE): how far a file time (taken from the coarse clock) can lag.
    public static func coarseClockGranularity() -> Double {
        var ts = timespec()
        guard clock_getres(CLOCK_REALTIME_COARSE, &ts) == 0 else { return 0.01 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func classify(_ objects: [PosixIPCObject]) -> [PosixClassification] { objects.map(classify) }

    private func describe(_ p: ProcessRecord) -> String {
        "pid \(p.pid) (\(p.comm)\(p.unit.map { ", " + $0 } ?? ""))"
    }

    /// The verdict for one object.
    public func classify(_ o: PosixIPCObject) -> PosixClassification {
        var direct: [String] = []
        var holders: [PosixHolder] = []
        var notes: [String] = []
        // Descriptors and mappings, grouped per process.
        var perProcess: [Int32: (ProcessRecord, [Int32], [String])] = [:]
        for (p, h) in handles[o.identity] ?? [] {
            var e = perProcess[p.pid] ?? (p, [], [])
            if let fd = h.fd { e.1.append(fd) }
            if let m = h.mapping { e.2.append(m) }
            perProcess[p.pid] = e
        }
        for pid in perProcess.keys.sorted() {
            guard let (p, fds, maps) = perProcess[pid] else { continue }
            if !fds.isEmpty {
                direct.append("open by \(describe(p)) as descriptor\(fds.count == 1 ? "" : "s") \(fds.sorted().map(String.init).joined(separator: ", "))")
                holders.append(PosixHolder(p, relation: .fd, fds: fds.sorted()))
            }
            if !maps.isEmpty {
                direct.append("mapped by \(describe(p)) (\(maps.count) mapping\(maps.count == 1 ? "" : "s"))")
                holders.append(PosixHolder(p, relation: .mapping, mappings: maps))
            }
        }
        if let q = o.queue {
            if q.notifyPid > 0 {
                if let p = processes.process(forRecordedPid: q.notifyPid), !p.isDeadOrZombie, !excluded.contains(p.pid) {
                    direct.append("\(describe(p)) is registered for its notification (mq_notify, NOTIFY_PID)")
                    holders.append(PosixHolder(p, relation: .notify))
                } else {
                    notes.append("the process registered for its notification (NOTIFY_PID \(q.notifyPid)) is gone")
                }
            }
            if let n = q.messages, n > 0 {
                notes.append("holds \(n) message\(n == 1 ? "" : "s") (\(q.qsize) bytes)")
            } else if q.messages == nil && q.qsize > 0 {
                notes.append("holds \(q.qsize) bytes of messages")
            }
        }
        if !direct.isEmpty {
            return PosixClassification(object: o, verdict: .inUse, reasons: direct + notes, holders: holders)
        }
        if o.kind == .mq && o.queue == nil {
            return PosixClassification(object: o, verdict: .unknown,
                                       reasons: ["its state (QSIZE, NOTIFY_PID) could not be read: run as root"] + notes)
        }
        // Fail closed: a process whose descriptors or mappings are hidden from us may hold it.
        let hidden = unreadable.filter { p in p.isRoot || PosixPossibleHolders.couldReach(p, o) }
        if !hidden.isEmpty {
            let first = hidden.prefix(3).map { "\(describe($0)): \($0.handlesUnreadable ?? "unreadable")" }
            return PosixClassification(
                object: o, verdict: .unknown,
                reasons: ["the descriptors and mappings of \(hidden.count) process\(hidden.count == 1 ? "" : "es") that could reach it could not be read (\(first.joined(separator: "; "))): run as root"] + notes)
        }
        let candidates = possible.holders(of: o)
        let last = o.lastChange
        if !candidates.isEmpty {
            var reasons = candidates.prefix(5).map { p -> String in
                let who = "possible holder: pid \(p.pid) \(p.comm) (\(userName(p.uid))\(p.unit.map { ", " + $0 } ?? ""))"
                if p.startTime >= last.value {
                    return who + " started \(TimeFormat.duration(p.startTime - last.value)) after the last change: it may have been handed the name or a descriptor by its creator"
                }
                return who + " started before the last change and could open it"
            }
            if candidates.count > 5 { reasons.append("and \(candidates.count - 5) more possible holders") }
            return PosixClassification(object: o, verdict: .suspect, reasons: reasons + notes,
                                       possibleHolders: candidates.map { PosixHolder($0, relation: .possible) })
        }
        let when = TimeFormat.iso8601(last.seconds) ?? "its creation"
        let reach = o.mode & 0o007 != 0 ? "any uid" : "uid \(o.uid) (\(userName(o.uid)))" + (o.mode & 0o070 != 0 ? " or group \(o.gid)" : "")
        let reason: String
        if let scope {
            reason = "no descriptor or mapping of it in any process, and no live process in \(scope.description)\(scope.exclusive ? "" : " or of \(reach)") existed at its last change (\(when))"
        } else {
            reason = "no descriptor or mapping of it in any process, and no live process of \(reach) existed at its last change (\(when))"
        }
        return PosixClassification(object: o, verdict: .orphaned, reasons: [reason] + notes)
    }
}
