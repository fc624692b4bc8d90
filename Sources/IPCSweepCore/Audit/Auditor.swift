/// Everything an audit is built from: read beforehand by the command, so that `Auditor.report` is pure.
public struct AuditInput: Sendable {
    /// Classified objects after the --type/--user/--key/--id/--verdict/--idle-for filters.
    public var classifications: [Classification]
    /// The whole snapshot of the namespace: limits count every object, whatever the filters.
    public var snapshot: IPCSnapshot
    /// The kinds audited (--type, or all three).
    public var kinds: Set<IPCKind>
    /// Kernel limits; nil when they could not be read (`limitsError` says why).
    public var limits: KernelLimits?
    public var limitsError: String?
    /// sysconf(_SC_PAGESIZE): SHMALL counts pages.
    public var pageSize: Int64
    /// The /dev/shm and /dev/mqueue scans, already filtered.
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
    /// Classified POSIX objects after the filters.
    public var posixClassifications: [PosixClassification] = []
    /// The entries under /dev/shm that are not POSIX objects (directories and what is in them, links, special
    /// files), after the filters: only RemoveIPC= uses them. nil: not walked.
    public var shmTree: ShmTree?
    /// The wall clock's measured steps, and the note on orphans where a step could not be ruled out.
    public var clock = ClockSteps()
    public var clockNote: String?

    public init(classifications: [Classification], snapshot: IPCSnapshot, kinds: Set<IPCKind> = Set(IPCKind.allCases),
                limits: KernelLimits?, limitsError: String? = nil, pageSize: Int64 = 4096, posix: [PosixScanResult] = [],
                previousState: AuditState? = nil, stateNote: String? = nil, thresholds: AuditThresholds = AuditThresholds(),
                now: Double, source: String, scope: String? = nil, warnings: [String] = [],
                namespace: IPCNamespaceInfo? = nil, removeIPC: RemoveIPCSetting? = nil) {
        self.namespace = namespace
        self.removeIPC = removeIPC
        self.classifications = classifications
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
        let items = input.classifications
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
        for c in items {
            if let f = InsecureAnalysis.sysvAccess(c.object, names: names) { insecure.append(f) }
        }
        for scan in input.posix {
            for o in scan.objects {
                if let f = InsecureAnalysis.posixAccess(o, names: names) { insecure.append(f) }
            }
        }
        for c in items {
            if let f = InsecureAnalysis.sysvOwners(c.object, names: names) { insecure.append(f) }
        }
        for scan in input.posix {
            for o in scan.objects {
                if let f = InsecureAnalysis.posixOwner(o, names: names) { insecure.append(f) }
            }
        }

        var report = AuditReport(
            generatedAt: input.now, source: input.source, scope: input.scope, thresholds: input.thresholds,
            kinds: IPCKind.allCases.filter(input.kinds.contains), counts: counts(items, names: names),
            orphans: orphans, suspects: suspects, unknown: unknown, limits: limits,
            limitsError: input.limits == nil ? (input.limitsError ?? "kernel limits were not read") : nil,
            pageSize: input.pageSize, leaks: leaks, insecure: insecure,
            posixScans: input.posix.map {
                PosixScanSummary(root: $0.root, kind: $0.kind, scanned: $0.scanned, skipReason: $0.skipReason,
                                 objects: $0.objects.count)
            },
            change: input.previousState.map { AuditStateDiff.change(previous: $0, orphans: orphans, now: input.now) },
            stateNote: input.stateNote,
            warnings: input.warnings + input.posix.flatMap(\.warnings))
        report.namespace = input.namespace
        // POSIX objects count only when a POSIX root was read (not with --no-posix).
        let posixRead = input.posix.contains { $0.scanned }
        report.removeIPC = input.removeIPC.map {
            RemoveIPCReport.analyse(items, posix: posixRead ? input.posixClassifications : nil,
                                    tree: input.shmTree?.entries ?? [], setting: $0, names: names,
                                    notes: input.shmTree?.warnings ?? [])
        }
        report.posix = PosixAuditSection(input.posixClassifications, shm: input.posix.first { $0.kind == .shm })
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
            var o = owners[uid] ?? OwnerCount(uid: uid, user: names.user(uid))
            o.total += 1
            o.byKind[kind, default: 0] += 1
            o.byVerdict[v, default: 0] += 1
            o.byKindVerdict[kind, default: [:]][v, default: 0] += 1
            owners[uid] = o
        }
        c.byOwner = owners.values.sorted { $0.total == $1.total ? $0.uid < $1.uid : $0.total > $1.total }
        return c
    }

    /// Keeps the POSIX objects a filter selects: --type maps posix-sem to sem, posix-shm to shm, posix-mq to msg;
    /// --user matches the file's owner; --key, --id, --verdict and --idle-for select System V objects only,
    /// so any of them drops every POSIX object.
    public static func filter(_ scans: [PosixScanResult], with filter: ObjectFilter) -> [PosixScanResult] {
        let sysvOnly = !filter.keys.isEmpty || !filter.ids.isEmpty || !filter.verdicts.isEmpty || filter.idleFor != nil
        return scans.map { scan in
            var s = scan
            s.objects = sysvOnly ? [] : scan.objects.filter { o in
                (filter.kinds.isEmpty || filter.kinds.contains(o.kind.sysvKind))
                    && (filter.uids.isEmpty || filter.uids.contains(o.uid))
            }
            return s
        }
    }
}
