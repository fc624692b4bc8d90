/// Everything an audit is built from: read beforehand by the command, so that `Auditor.report` is pure.
public struct AuditInput: Sendable {
    /// Classified objects of every kind after the filters (`ObjectFilter`): the System V ones are counted,
    /// listed and checked against the limits, the POSIX ones make the POSIX section.
    public var objects: [Classification]
    /// The whole snapshot of the namespace: limits count every object, whatever the filters.
    public var snapshot: IPCSnapshot
    /// The kinds audited (--type, or all three).
    public var kinds: Set<IPCKind>
    /// Kernel limits; nil when they could not be read (`limitsError` says why).
    public var limits: KernelLimits?
    public var limitsError: String?
    /// sysconf(_SC_PAGESIZE): SHMALL counts pages.
    public var pageSize: Int64
    /// The /dev/shm and /dev/mqueue scans (their mounts' size and use; what was skipped and why).
    public var posix: [PosixScanResult]
    /// The previous state (--state), if one was read.
    public var previousState: AuditState?
    /// The --state situation in words when there is no previous state to compare with.
    public var stateNote: String?
    public var thresholds: AuditThresholds
    /// Epoch seconds of the audit.
    public var now: Double
    /// "proc" or "syscall".
    public var source: String
    /// The scope's description, if a scope was given.
    public var scope: String?
    public var warnings: [String]
    /// The IPC namespace audited, when one was chosen.
    public var namespace: IPCNamespaceInfo?
    /// The effective RemoveIPC= when it applies to this namespace (logind's own); nil: not judged.
    public var removeIPC: RemoveIPCSetting?
    /// The entries under /dev/shm that are not POSIX objects (directories and what is in them, links, special
    /// files), after the filters: only RemoveIPC= uses them. nil: not walked.
    public var shmTree: ShmTree?
    /// The wall clock's measured steps, and the note on orphans where a step could not be ruled out.
    public var clock = ClockSteps()
    public var clockNote: String?

    public init(objects: [Classification], snapshot: IPCSnapshot, kinds: Set<IPCKind> = IPCKind.sysv,
                limits: KernelLimits?, limitsError: String? = nil, pageSize: Int64 = 4096, posix: [PosixScanResult] = [],
                previousState: AuditState? = nil, stateNote: String? = nil, thresholds: AuditThresholds = AuditThresholds(),
                now: Double, source: String, scope: String? = nil, warnings: [String] = [],
                namespace: IPCNamespaceInfo? = nil, removeIPC: RemoveIPCSetting? = nil) {
        self.namespace = namespace
        self.removeIPC = removeIPC
        self.objects = objects
        self.snapshot = snapshot
        self.kinds = kinds
        self.limits = limits
        self.limitsError = limitsError
        self.pageSize = pageSize
        self.posix = posix
        self.previousState = previousState
        self.stateNote = stateNote
        self.thresholds = thresholds
        self.now = now
        self.source = source
        self.scope = scope
        self.warnings = warnings
    }
}

/// Builds the audit report: a pure function of an `AuditInput` and a name lookup.
public enum Auditor {
    /// Counts, orphans and suspects, limits with headroom, insecure objects and the change since the last state.
    public static func report(_ input: AuditInput, names: NameLookup) -> AuditReport {
        let items = input.objects.filter { $0.object.family == .sysv }
        let posixItems = input.objects.filter { $0.object.family == .posix }
        let byRef: (AuditObject, AuditObject) -> Bool = { ($0.kind, $0.id) < ($1.kind, $1.id) }
        let orphans = items.filter { $0.verdict == .orphaned }.map { AuditObject($0, names: names) }.sorted(by: byRef)
        let suspects = items.filter { $0.verdict == .suspect }.map { AuditObject($0, names: names) }.sorted(by: byRef)
        let unknown = items.filter { $0.verdict == .unknown }.map { AuditObject($0, names: names) }.sorted(by: byRef)

        let leaks = LimitAnalysis.leakGroups(items.filter { $0.verdict == .orphaned }.map(\.object),
                                             pageSize: input.pageSize)
        var limits: [LimitUsage] = []
        if let l = input.limits {
            // Growth needs this run's usage: compute once without, then with the rates.
            let plain = LimitAnalysis.usage(limits: l, snapshot: input.snapshot, kinds: input.kinds,
                                            pageSize: input.pageSize, leaks: leaks, thresholds: input.thresholds)
            let growth = input.previousState.map { AuditStateDiff.growth(previous: $0, limits: plain, now: input.now) } ?? [:]
            limits = growth.isEmpty ? plain
                : LimitAnalysis.usage(limits: l, snapshot: input.snapshot, kinds: input.kinds, pageSize: input.pageSize,
                                      leaks: leaks, thresholds: input.thresholds, growthPerDay: growth)
        }

        var insecure: [InsecureFinding] = []
        for c in input.objects {
            if let f = InsecureAnalysis.access(c.object, names: names) { insecure.append(f) }
        }
        for c in input.objects {
            if let f = InsecureAnalysis.owners(c.object, names: names) { insecure.append(f) }
        }

        var report = AuditReport(
            generatedAt: input.now, source: input.source, scope: input.scope, thresholds: input.thresholds,
            kinds: IPCKind.sysvCases.filter(input.kinds.contains), counts: counts(items, names: names),
            orphans: orphans, suspects: suspects, unknown: unknown, limits: limits,
            limitsError: input.limits == nil ? (input.limitsError ?? "kernel limits were not read") : nil,
            pageSize: input.pageSize, leaks: leaks, insecure: insecure,
            posixScans: input.posix.map { scan in
                // The audited objects (after the filters) that this root holds.
                let found = Set(scan.objects.map(\.identity))
                return PosixScanSummary(root: scan.root, kind: scan.kind, scanned: scan.scanned, skipReason: scan.skipReason,
                                        objects: posixItems.filter { $0.object.posix.map { found.contains($0.identity) } ?? false }.count)
            },
            change: input.previousState.map { AuditStateDiff.change(previous: $0, orphans: orphans, now: input.now) },
            stateNote: input.stateNote,
            warnings: input.warnings + input.posix.flatMap(\.warnings))
        report.namespace = input.namespace
        // RemoveIPC= takes the one object list; POSIX objects count only when a POSIX root was read (not with
        // --no-posix).
        let posixRead = input.posix.contains { $0.scanned }
        report.removeIPC = input.removeIPC.map {
            RemoveIPCReport.analyse(input.objects, posixInspected: posixRead, tree: input.shmTree?.entries ?? [],
                                    setting: $0, names: names, notes: input.shmTree?.warnings ?? [])
        }
        report.posix = PosixAuditSection(posixItems, shm: input.posix.first { $0.kind == .posixShm })
        report.clock = input.clock
        report.clockNote = input.clockNote
        return report
    }

    /// Counts per kind, per verdict, per kind and verdict, and per owner uid (most objects first, then by uid).
    public static func counts(_ items: [Classification], names: NameLookup) -> AuditCounts {
        var c = AuditCounts(total: items.count)
        var owners: [UInt32: OwnerCount] = [:]
        for item in items {
            let kind = item.object.kind
            let v = item.verdict
            c.byKind[kind, default: 0] += 1
            c.byVerdict[v, default: 0] += 1
            c.byKindVerdict[kind, default: [:]][v, default: 0] += 1
            let uid = item.object.perm.uid
            // Counted in place: a copy taken out and put back copied the owner's three dictionaries per object.
            func count(_ o: inout OwnerCount) {
                o.total += 1
                o.byKind[kind, default: 0] += 1
                o.byVerdict[v, default: 0] += 1
                o.byKindVerdict[kind, default: [:]][v, default: 0] += 1
            }
            count(&owners[uid, default: OwnerCount(uid: uid, user: names.user(uid))])
        }
        c.byOwner = owners.values.sorted { $0.total == $1.total ? $0.uid < $1.uid : $0.total > $1.total }
        return c
    }
}
