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

/// A POSIX IPC object with its verdict and the evidence behind it, most decisive first.
public struct PosixClassification: Sendable, Equatable {
    public var object: PosixIPCObject
    public var verdict: Verdict
    /// The typed facts behind the verdict (the System V evidence type, with the POSIX cases).
    public var evidence: [Evidence]
    /// The evidence in words, as `EvidenceText` renders it (filled after classification).
    public var reasons: [String]
    /// Processes that hold it (descriptor, mapping, notification), with the descriptors and mappings.
    public var holders: [PosixHolder]
    /// Processes that might hold it (suspect verdicts).
    public var possibleHolders: [PosixHolder]
    /// The IPC namespace whose mount namespace it was found in (`--namespace`, `--all-namespaces`); nil: the tool's own.
    public var namespace: IPCNamespaceInfo? = nil

    public init(object: PosixIPCObject, verdict: Verdict, evidence: [Evidence] = [], reasons: [String] = [],
                holders: [PosixHolder] = [], possibleHolders: [PosixHolder] = []) {
        self.object = object
        self.verdict = verdict
        self.evidence = evidence
        self.reasons = reasons
        self.holders = holders
        self.possibleHolders = possibleHolders
    }
}

extension AccessControl {
    /// A file's permission facts for the possible-holder rules: its owner and group stand for both owner and
    /// creator. Named ACL entries that the mask lets through grant access to users and groups the mode bits
    /// do not name: they count as the other bits (anyone may reach it), which errs toward "held".
    public init(_ o: PosixIPCObject) {
        var mode = o.mode & 0o777
        if mode & 0o070 != 0, o.acl?.contains(where: { ($0.tag == .user || $0.tag == .group) && $0.perms != 0 }) == true {
            mode |= 0o007
        }
        self.init(uid: o.uid, gid: o.gid, cuid: o.uid, cgid: o.gid, mode: mode)
    }

    /// Whether a process could reach it by the ipcperms rules (root, CAP_IPC_OWNER and unreadable credentials
    /// count as reaching).
    func reachable(by p: ProcessRecord) -> Bool {
        !p.credentialsKnown || p.isPrivileged || p.uid == uid || p.euid == uid || p.uid == cuid || p.euid == cuid
            || (groupCanReach && (p.inGroup(gid) || p.inGroup(cgid))) || anyoneCanReach
    }
}

/// Decides a verdict for every POSIX IPC object: a pure function of the objects, the process table (with the
/// descriptors and mappings read), the scope and the inheritance window.
///
/// Direct evidence: a live process with a descriptor or a mapping of it (device and inode), or a queue's live
/// NOTIFY_PID. Without it, the System V possible-holder rules (`PossibleHolderFinder`: ipcperms reach by owner,
/// group and other bits, root and CAP_IPC_OWNER, unreadable credentials, the inheritance window and its --unit
/// exception, blind spots failing closed) with the last change as the last activity: an instant known to
/// within the coarse clock's granularity, not a truncated second. Processes of every IPC namespace count: a
/// file is reached through the mount, not the IPC namespace.
public struct PosixClassifier: Sendable {
    public let processes: ProcessTable
    public let scope: ResolvedScope?
    public let inheritWindow: Double
    /// How far a file time (taken from the coarse clock) can lag the instant it records.
    public let granularity: Double
    /// The wall clock's measured steps.
    public let clock: ClockSteps
    private let finder: PossibleHolderFinder
    /// Who holds what: by device and inode.
    private let handles: [DeviceInode: [(ProcessRecord, PosixHandle)]]
    /// Live processes whose descriptors or mappings could not be read.
    private let unreadable: [ProcessRecord]
    /// The filesystems (st_dev of its /dev/shm and mqueue roots) each scanned mount namespace reaches, by its inode.
    public let mountDevices: [UInt64: Set<UInt64>]

    /// `mountDevices`: a process in a mount namespace listed there is a possible holder only of objects on the
    /// devices listed for it; a process of a mount namespace not listed (or unknown) can reach every object.
    public init(processes: ProcessTable, scope: ResolvedScope?, inheritWindow: Double = Classifier.defaultInheritWindow,
                granularity: Double = PosixClassifier.coarseClockGranularity(), mountDevices: [UInt64: Set<UInt64>] = [:],
                clock: ClockSteps = ClockSteps()) {
        self.init(processes: processes, scope: scope, inheritWindow: inheritWindow, granularity: granularity,
                  mountDevices: mountDevices, device: nil, clock: clock)
    }

    /// With `device`, the possible holders are only the processes that can reach that filesystem; the direct
    /// holders (descriptors, mappings) are those of every process.
    private init(processes: ProcessTable, scope: ResolvedScope?, inheritWindow: Double, granularity: Double,
                 mountDevices: [UInt64: Set<UInt64>], device: UInt64?, clock: ClockSteps) {
        self.processes = processes
        self.clock = clock
        self.scope = scope
        self.inheritWindow = inheritWindow
        self.granularity = granularity
        self.mountDevices = mountDevices
        let reaching = processes.byPid.values.filter { p in
            guard let device, let ns = p.mountNamespace, let devices = mountDevices[ns] else { return true }
            return devices.contains(device)
        }
        // Every IPC namespace: without its own namespace the table counts every process as sharing it.
        let everyNamespace = ProcessTable(processes: reaching, threadGroups: processes.threadGroups,
                                          ownIPCNamespace: nil, ownPid: processes.ownPid, blindSpots: processes.blindSpots)
        finder = PossibleHolderFinder(processes: everyNamespace, scope: scope, inheritWindow: inheritWindow, clock: clock)
        let live = processes.byPid.values.filter { !$0.isDeadOrZombie && $0.pid != processes.ownPid }
            .sorted { $0.pid < $1.pid }
        var index: [DeviceInode: [(ProcessRecord, PosixHandle)]] = [:]
        for p in live { for h in p.posixHandles { index[h.object, default: []].append((p, h)) } }
        handles = index
        unreadable = everyNamespace.byPid.values.filter { !$0.isDeadOrZombie && $0.pid != processes.ownPid && $0.handlesUnreadable != nil }
            .sorted { $0.pid < $1.pid }
    }

    /// clock_getres(CLOCK_REALTIME_COARSE): how far a file time (taken from the coarse clock) can lag.
    public static func coarseClockGranularity() -> Double {
        var ts = timespec()
        guard clock_getres(CLOCK_REALTIME_COARSE, &ts) == 0 else { return 0.01 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Every object, in order (reasons not yet filled: `EvidenceText.fillReasons`).
    public func classify(_ objects: [PosixIPCObject]) -> [PosixClassification] {
        guard !mountDevices.isEmpty else {
            let cache = finder.makeCache()
            return objects.map { classify($0, cache: cache) }
        }
        // One classifier per filesystem: its possible holders are the processes whose mount namespace reaches it.
        var byDevice: [UInt64: PosixClassifier] = [:]
        var caches: [UInt64: PossibleHolderFinder.Cache] = [:]
        return objects.map { o in
            let d = o.identity.device
            let c = byDevice[d] ?? PosixClassifier(processes: processes, scope: scope, inheritWindow: inheritWindow,
                                                   granularity: granularity, mountDevices: mountDevices, device: d,
                                                   clock: clock)
            byDevice[d] = c
            let cache = caches[d] ?? c.finder.makeCache()
            caches[d] = cache
            return c.classify(o, cache: cache)
        }
    }

    /// The verdict for one object.
    public func classify(_ o: PosixIPCObject) -> PosixClassification { classify(o, cache: finder.makeCache()) }

    func classify(_ o: PosixIPCObject, cache: PossibleHolderFinder.Cache) -> PosixClassification {
        var evidence: [Evidence] = []
        var holders: [PosixHolder] = []
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
                evidence.append(.openDescriptor(holder: Holder(p, relation: .attached), fds: fds.sorted()))
                holders.append(PosixHolder(p, relation: .fd, fds: fds.sorted()))
            }
            if !maps.isEmpty {
                evidence.append(.mapped(holder: Holder(p, relation: .attached), mappings: maps.count))
                holders.append(PosixHolder(p, relation: .mapping, mappings: maps))
            }
        }
        if let q = o.queue {
            if q.notifyPid > 0 {
                if let p = processes.process(forRecordedPid: q.notifyPid), !p.isDeadOrZombie, p.pid != processes.ownPid {
                    evidence.append(.queueNotification(holder: Holder(p, relation: .recorded)))
                    holders.append(PosixHolder(p, relation: .notify))
                } else {
                    evidence.append(.notificationPidGone(pid: q.notifyPid))
                }
            }
            if q.hasMessages { evidence.append(.messages(count: UInt64(q.messages ?? 0), bytes: q.qsize)) }
        } else if o.kind == .mq {
            evidence.append(.queueStateUnreadable)
        }

        var possible: [PosixHolder] = []
        if !evidence.contains(where: { $0.weight == .direct }) {
            evidence.append(.noDescriptorOrMapping)
            let access = AccessControl(o)
            // Fail closed: a process whose descriptors or mappings are hidden from us may hold it.
            for p in unreadable where access.reachable(by: p) {
                evidence.append(.handlesUnreadable(pid: p.pid, command: p.comm, detail: p.handlesUnreadable ?? "unreadable"))
            }
            evidence += processes.blindSpots.map(Evidence.blindSpot)
            let last = o.lastChange
            let window = ActivityWindow(earliest: last.value, latest: last.value + granularity, reported: last.seconds)
            let found = finder.find(access, lastActivity: window, cache: cache)
            for h in found.listed {
                evidence.append(.possibleHolder(holder: h.holder, rule: h.rule, timing: h.timing, started: h.started,
                                                lastActivity: last.seconds, widened: h.widened))
                if let p = processes.byPid[h.holder.pid] { possible.append(PosixHolder(p, relation: .possible)) }
            }
            if found.total > found.listed.count { evidence.append(.morePossibleHolders(count: found.total - found.listed.count)) }
            if found.total == 0 {
                evidence.append(.noPossibleHolder(access: access, lastActivity: last.seconds, scope: scope?.description,
                                                  exclusive: scope?.exclusive == true, inheritWindow: inheritWindow))
            }
            evidence += found.ruledOut.map { .inheritanceRuledOut(unit: $0.unit, invocationBegan: $0.began, processes: $0.processes) }
            evidence += found.notRuledOut.map { .inheritanceNotRuledOut(unit: $0.unit, why: $0.why) }
            if let w = found.clockStep { evidence.append(.clockStep(step: w.amount, reference: w.reference)) }
        }
        return PosixClassification(object: o, verdict: Evidence.verdict(evidence), evidence: Classifier.decisiveFirst(evidence),
                                   holders: holders, possibleHolders: possible)
    }
}

extension EvidenceText {
    /// Fills `reasons` of POSIX classifications from their evidence.
    public func fillReasons(_ items: inout [PosixClassification]) {
        for i in items.indices { items[i].reasons = reasons(items[i].evidence) }
    }
}
