#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Decides a verdict for every object of the six kinds: a pure function of the objects, the process table (with
/// what the probe found hidden, the descriptors and mappings read), the scope, the inheritance window and the
/// wall clock's measured steps (`ClockSteps`). It
/// produces typed `Evidence`; the verdict follows from it (`Evidence.verdict`), and `EvidenceText` words it. See
/// the Verdicts section of the manual.
///
/// What differs per family is the direct evidence (`SysVEvidence`: attachments, waiters, recorded pids;
/// `PosixEvidence`: descriptors, mappings, a queue's notification); the rest — blind spots, possible holders,
/// the inheritance window and its `--unit` exception — is one rule for every kind.
public struct Classifier: Sendable {
    public let processes: ProcessTable
    public let scope: ResolvedScope?
    /// How long after an object's last activity a re-parented process may still have inherited it.
    public let inheritWindow: Double
    /// How far an object's time (POSIX file times, System V seconds: both from the coarse clock) may lag the
    /// instant it records.
    public let granularity: Double
    /// The POSIX filesystems (st_dev) each scanned mount namespace reaches, by its inode: a process of a mount
    /// namespace listed here is a possible holder only of objects on those devices; empty: every process can
    /// reach every POSIX object.
    public let mountDevices: [UInt64: Set<UInt64>]
    /// Possible holders of System V objects: the processes of the inspected IPC namespace, indexed once.
    public let finder: PossibleHolderFinder
    let sysv: SysVEvidence
    let posix: PosixEvidence

    /// The default inheritance window: 5 seconds.
    public static let defaultInheritWindow: Double = 5

    public init(processes: ProcessTable, scope: ResolvedScope?, inheritWindow: Double = Classifier.defaultInheritWindow,
                granularity: Double = Classifier.coarseClockGranularity(), mountDevices: [UInt64: Set<UInt64>] = [:],
                clock: ClockSteps = ClockSteps()) {
        self.init(processes: processes, scope: scope, inheritWindow: inheritWindow, granularity: granularity,
                  mountDevices: mountDevices,
                  finder: PossibleHolderFinder(processes: processes, scope: scope, inheritWindow: inheritWindow, clock: clock))
    }

    private init(processes: ProcessTable, scope: ResolvedScope?, inheritWindow: Double, granularity: Double,
                 mountDevices: [UInt64: Set<UInt64>], finder: PossibleHolderFinder) {
        self.processes = processes
        self.scope = scope
        self.inheritWindow = inheritWindow
        self.granularity = granularity
        self.mountDevices = mountDevices
        self.finder = finder
        sysv = SysVEvidence(processes: processes, clock: finder.clock, granularity: granularity)
        posix = PosixEvidence(processes: processes)
    }

    /// What makes a classifier besides its table. It holds no reference to the table, so that a table kept
    /// elsewhere changes in place while the classifier is taken apart (`CleanDecider`'s catch-up); then a classifier
    /// is made of it again over the changed table.
    public struct Parts: Sendable {
        let scope: ResolvedScope?
        let inheritWindow: Double
        let granularity: Double
        let mountDevices: [UInt64: Set<UInt64>]
        var finder: PossibleHolderFinder

        /// Appends processes born since to the possible holders (`PossibleHolderFinder.append`: time proportional
        /// to them, not to the table); false, and nothing changed, when only a classifier made anew gives the
        /// verdicts over `processes`.
        public mutating func append(born: [ProcessRecord], in processes: ProcessTable) -> Bool {
            finder.append(born: born, in: processes)
        }
    }

    public var parts: Parts {
        Parts(scope: scope, inheritWindow: inheritWindow, granularity: granularity, mountDevices: mountDevices, finder: finder)
    }

    /// The classifier of these parts over `processes` (their table, changed since only by processes appended to the
    /// parts, and perhaps by more thread groups).
    public init(_ parts: Parts, over processes: ProcessTable) {
        self.init(processes: processes, scope: parts.scope, inheritWindow: parts.inheritWindow,
                  granularity: parts.granularity, mountDevices: parts.mountDevices, finder: parts.finder)
    }

    /// A classifier of nothing: what stands in while a classifier is taken apart.
    public static let empty = Classifier(processes: ProcessTable(processes: []), scope: nil, granularity: 0)

    /// clock_getres(CLOCK_REALTIME_COARSE): how far a file time (taken from the coarse clock) can lag.
    public static func coarseClockGranularity() -> Double {
        var ts = timespec()
        guard clock_getres(CLOCK_REALTIME_COARSE, &ts) == 0 else { return 0.01 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// What one classification pass reuses between objects: the possible holders per (access, activity), and,
    /// for POSIX objects, one finder per filesystem (its possible holders are the processes that reach it).
    public final class Cache {
        let sysv: PossibleHolderFinder.Cache
        var posix: [UInt64: (finder: PossibleHolderFinder, cache: PossibleHolderFinder.Cache)] = [:]

        init(sysv: PossibleHolderFinder.Cache) { self.sysv = sysv }
    }

    /// A cache for one pass.
    public func makeCache() -> Cache { Cache(sysv: finder.makeCache()) }

    /// Every object of a snapshot, in the snapshot's order.
    public func classify(_ snapshot: IPCSnapshot) -> [Classification] {
        classify(snapshot.objects)
    }

    /// Every object, in order (reasons not yet filled: `EvidenceText.fillReasons`). Each verdict depends on its
    /// object alone, so many objects are classified in chunks on several threads, each chunk with its own cache.
    public func classify(_ objects: [IPCObject]) -> [Classification] {
        Parallel.map(objects.count, state: { makeCache() }) { cache, i in classify(objects[i], cache: cache) }
    }

    /// The verdict for one object, with its evidence.
    public func classify(_ object: IPCObject) -> Classification {
        classify(object, cache: makeCache())
    }

    /// The verdict for one object within a pass.
    public func classify(_ object: IPCObject, cache: Cache) -> Classification {
        var evidence: [Evidence] = []
        var holders: [Holder] = []
        var clockStep: ClockSteps.Widening?
        switch object {
        case .posix(let o): posix.direct(o, evidence: &evidence, holders: &holders)
        default: clockStep = sysv.direct(object, evidence: &evidence, holders: &holders)
        }

        var possible: [Holder] = []
        if !evidence.contains(where: { $0.weight == .direct }) {
            let access = object.access
            if let o = object.posix {
                evidence += posix.undecided(o, access: access) { reaches($0, device: o.identity.device) }
            }
            // Without direct evidence, a blind spot means a hidden process may hold it.
            evidence += processes.blindSpots.map(Evidence.blindSpot)
            let last = object.lastActivity
            let window = object.activityWindow(granularity: granularity)
            // The System V finder is used in place (a copy per object retained each of its arrays: on several
            // threads, every object then wrote to the same reference counts).
            let found: PossibleHolderResult
            if let o = object.posix {
                let (posixFinder, posixCache) = possibleHolders(of: o, cache: cache)
                found = posixFinder.find(access, lastActivity: window, cache: posixCache)
            } else {
                found = finder.find(access, lastActivity: window, cache: cache.sysv)
            }
            for h in found.listed {
                evidence.append(.possibleHolder(holder: h.holder, rule: h.rule, timing: h.timing, started: h.started,
                                                lastActivity: last, widened: h.widened))
                possible.append(h.holder)
            }
            clockStep = ClockSteps.wider(clockStep, found.clockStep)
            if found.total > found.listed.count { evidence.append(.morePossibleHolders(count: found.total - found.listed.count)) }
            if found.total == 0 {
                evidence.append(.noPossibleHolder(access: access, lastActivity: last, scope: scope?.description,
                                                  exclusive: scope?.exclusive == true, inheritWindow: inheritWindow))
            }
            evidence += found.ruledOut.map { .inheritanceRuledOut(unit: $0.unit, invocationBegan: $0.began, processes: $0.processes) }
            evidence += found.notRuledOut.map { .inheritanceNotRuledOut(unit: $0.unit, why: $0.why) }
        }
        if let w = clockStep { evidence.append(.clockStep(step: w.amount, reference: w.reference)) }
        return Classification(object: object, verdict: Evidence.verdict(evidence), evidence: Self.decisiveFirst(evidence),
                              holders: holders, possibleHolders: possible)
    }

    /// The finder of an object's possible holders: for System V the processes of the inspected IPC namespace;
    /// for a POSIX object (a file, reached through a mount, not an IPC namespace) the processes of every IPC
    /// namespace whose mount namespace reaches its filesystem (or that were not scanned: fail closed).
    private func possibleHolders(of o: PosixIPCObject, cache: Cache) -> (PossibleHolderFinder, PossibleHolderFinder.Cache) {
        let device = mountDevices.isEmpty ? 0 : o.identity.device
        if let made = cache.posix[device] { return made }
        let reaching = processes.byPid.values.filter { reaches($0, device: device) }
        // Every IPC namespace: without its own namespace the table counts every process as sharing it.
        let everyNamespace = ProcessTable(processes: reaching, threadGroups: processes.threadGroups,
                                          ownIPCNamespace: nil, ownPid: processes.ownPid, blindSpots: processes.blindSpots,
                                          bootInstant: processes.bootInstant)
        let f = PossibleHolderFinder(processes: everyNamespace, scope: scope, inheritWindow: inheritWindow, clock: finder.clock)
        let made = (f, f.makeCache())
        cache.posix[device] = made
        return made
    }

    /// Whether a process can reach a POSIX filesystem: its mount namespace was scanned and found it, or was not
    /// scanned (unknown: it may reach it).
    func reaches(_ p: ProcessRecord, device: UInt64) -> Bool {
        guard !mountDevices.isEmpty, let ns = p.mountNamespace, let devices = mountDevices[ns] else { return true }
        return devices.contains(device)
    }

    /// Heaviest first (the evidence that decided the verdict), each weight in the order it was found.
    static func decisiveFirst(_ evidence: [Evidence]) -> [Evidence] {
        // Most lists are in that order already (one entry, or the direct evidence first).
        if zip(evidence, evidence.dropFirst()).allSatisfy({ $0.weight >= $1.weight }) { return evidence }
        return evidence.enumerated()
            .sorted { $0.element.weight != $1.element.weight ? $0.element.weight > $1.element.weight : $0.offset < $1.offset }
            .map(\.element)
    }
}
