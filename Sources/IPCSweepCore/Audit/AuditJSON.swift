/// The `audit --format json` document (schemaVersion 1; every field is documented in docs/audit.md).
public enum AuditJSON {
    /// The POSIX section: /dev/shm size and use, counts, orphans and suspects, orphans grouped by name prefix.
    static func posixSection(_ p: PosixAuditSection) -> JSONValue {
        @Sendable func obj(_ o: PosixAuditObject) -> JSONValue {
            .fields(["name": .string(o.name), "path": .string(o.path), "reason": .string(o.reason),
                     "type": .string(o.kind.rawValue), "uid": .int(Int64(o.uid)), "usedBytes": .int(o.usedBytes)])
        }
        return .object([
            "shm": p.shmRoot.map { root in
                .object(["root": .string(root), "sizeBytes": p.shmSizeBytes.map { .int(Int64($0)) } ?? .null,
                         "usedBytes": p.shmUsedBytes.map { .int(Int64($0)) } ?? .null,
                         "orphanedBytes": .int(p.orphanedBytes)])
            } ?? .null,
            "counts": .object(Dictionary(uniqueKeysWithValues: IPCKind.posixCases.map { k in
                (k.rawValue, JSONValue.object(Dictionary(uniqueKeysWithValues: Verdict.allCases.map {
                    ($0.rawValue, JSONValue.int(Int64(p.counts[k]?[$0] ?? 0)))
                })))
            })),
            "orphans": .lazyArray(JSONLazyArray(p.orphans, obj)),
            "suspects": .lazyArray(JSONLazyArray(p.suspects, obj)),
            "orphanGroups": .array(p.orphanGroups.map { g in
                .object(["pattern": .string(g.pattern), "type": .string(g.kind.rawValue), "count": .int(Int64(g.count)),
                         "usedBytes": .int(g.usedBytes), "sizeBytes": .int(g.sizeBytes)])
            }),
        ])
    }

    /// The document as a value tree.
    public static func document(_ r: AuditReport) -> JSONValue {
        .object([
            "schemaVersion": .int(Int64(jsonSchemaVersion)),
            "generatedAt": .int(Int64(r.generatedAt)),
            "generatedAtISO": iso(Int64(r.generatedAt)),
            "source": .string(r.source),
            "scope": r.scope.map(JSONValue.string) ?? .null,
            "kinds": .array(r.kinds.map { .string($0.rawValue) }),
            "thresholds": .object(["warning": .double(r.thresholds.warning), "critical": .double(r.thresholds.critical)]),
            "status": .string(r.worstLevel.rawValue),
            "findings": .array(r.findingClasses.sorted().map { .string($0.rawValue) }),
            "clean": .bool(!r.hasFindings),
            "counts": counts(r.counts),
            // Made object by object as they are written (tens of thousands on a host out of semaphore sets).
            "orphans": .lazyArray(JSONLazyArray(r.orphans) { object($0) }),
            "suspects": .lazyArray(JSONLazyArray(r.suspects) { object($0) }),
            "unknown": .lazyArray(JSONLazyArray(r.unknown) { object($0) }),
            "leaks": .array(r.leaks.map { l in
                .fields([
                    "creatorUid": .int(Int64(l.cuid)),
                    "ids": .lazyArray(JSONLazyArray(l.objects) { .int(Int64($0.id)) }),
                    "lastActivity": .int(l.lastActivity),
                    "lastActivityISO": iso(l.lastActivity),
                    "ownerUid": .int(Int64(l.uid)),
                    "type": .string(l.kind.rawValue),
                    "units": .int(l.units),
                ])
            }),
            "limits": .array(r.limits.map(limit)),
            "limitsError": r.limitsError.map(JSONValue.string) ?? .null,
            "pageSize": .int(r.pageSize),
            "insecure": .array(r.insecure.map(insecure)),
            "posix": .array(r.posixScans.map { s in
                .object([
                    "root": .string(s.root),
                    "type": .string(s.kind.rawValue),
                    "scanned": .bool(s.scanned),
                    "skipReason": s.skipReason.map(JSONValue.string) ?? .null,
                    "objects": .int(Int64(s.objects)),
                ])
            }),
            "posixObjects": posixSection(r.posix),
            "state": r.change.map(change) ?? .null,
            "stateNote": r.stateNote.map(JSONValue.string) ?? .null,
            "warnings": .array(r.warnings.map(JSONValue.string)),
            "namespace": r.namespace.map(namespace) ?? .null,
            "removeIPC": r.removeIPC.map(removeIPC) ?? .null,
            "clock": clock(r),
        ])
    }

    /// `{"stepMs", "source", "since", "unit", "unmeasured", "note"}`: the largest forward step measured (0 and
    /// nulls when none), why nothing could be measured, and the note on orphans where a step is not ruled out.
    static func clock(_ r: AuditReport) -> JSONValue {
        let f = r.clock.largestForward
        var unit: JSONValue = .null
        if let f, case .systemdUnit(let u) = f.source { unit = .string(u) }
        return .object([
            "stepMs": .int(Int64(((f?.step ?? 0) * 1000).rounded())),
            "source": f.map { .string($0.source.name) } ?? .null,
            "since": f.map { .int(Int64($0.taken.rounded(.down))) } ?? .null,
            "unit": unit,
            "unmeasured": r.clock.unmeasured.map(JSONValue.string) ?? .null,
            "note": r.clockNote.map(JSONValue.string) ?? .null,
        ])
    }

    /// `--all-namespaces`: `{"schemaVersion": 1, "findings": [...], "namespaces": [report, ...]}`, one audit
    /// document per IPC namespace, each with its `namespace`.
    public static func document(_ reports: [AuditReport]) -> JSONValue {
        let findings = Set(reports.flatMap(\.findingClasses)).sorted()
        return .object([
            "schemaVersion": .int(Int64(jsonSchemaVersion)),
            "findings": .array(findings.map { .string($0.rawValue) }),
            "namespaces": .array(reports.map(document)),
        ])
    }

    static func namespace(_ ns: IPCNamespaceInfo) -> JSONValue {
        .object(["inode": .int(Int64(clamping: ns.inode)), "owner": .string(ns.owner),
                 "pid": ns.pid.map { .int(Int64($0)) } ?? .null])
    }

    static func removeIPC(_ r: RemoveIPCReport) -> JSONValue {
        .object([
            "enabled": .bool(r.setting.enabled),
            "source": .string(r.setting.source),
            "sysUidMax": .int(Int64(r.setting.sysUidMax)),
            "sysUidMaxSource": .string(r.setting.sysUidMaxSource),
            "sysUidMaxNote": r.setting.sysUidMaxNote.map(JSONValue.string) ?? .null,
            "atRisk": .array(r.findings.map { f in
                .fields([
                    "entries": .int(Int64(f.entries)),
                    "inUse": .int(Int64(f.inUse)),
                    "message": .string(f.message),
                    "objects": .lazyArray(JSONLazyArray(f.items, removeIPCItem)),
                    "orphaned": .int(Int64(f.orphaned)),
                    "suspect": .int(Int64(f.suspect)),
                    "uid": .int(Int64(f.uid)),
                    "unknown": .int(Int64(f.unknown)),
                    "user": f.user.map(JSONValue.string) ?? .null,
                ])
            }),
            "attached": .array(r.attached.map { a in
                .fields([
                    "message": .string(a.message),
                    "objects": .lazyArray(JSONLazyArray(a.segments, removeIPCItem)),
                    "uid": .int(Int64(a.uid)),
                    "user": a.user.map(JSONValue.string) ?? .null,
                ])
            }),
            "notes": .array(r.notes.map(JSONValue.string)),
        ])
    }

    /// One object or entry of the RemoveIPC= lists: System V by id and key, POSIX objects and /dev/shm entries by path.
    @Sendable static func removeIPCItem(_ i: RemoveIPCItem) -> JSONValue {
        var o = JSONFields()  // in byte order of the keys
        if let t = i.fileType { o.append("fileType", .string(t.rawValue)) }
        if let id = i.id { o.append("id", .int(Int64(id))) }
        if let key = i.key { o.append("key", .int(Int64(key))) }
        if let name = i.name { o.append("name", .string(name)) }
        if let n = i.nattch { o.append("nattch", .int(Int64(clamping: n))) }
        if let path = i.path { o.append("path", .string(path)) }
        o.append("type", .string(i.kind.rawValue))
        o.append("verdict", i.verdict.map { .string($0.rawValue) } ?? .null)
        return .fields(o)
    }

    static func iso(_ t: Int64) -> JSONValue { TimeFormat.iso8601(t).map(JSONValue.string) ?? .null }
    static func opt(_ v: Int64?) -> JSONValue { v.map(JSONValue.int) ?? .null }
    static func opt(_ v: Double?) -> JSONValue { v.map(JSONValue.double) ?? .null }
    static func who(_ id: UInt32, _ name: String?) -> JSONValue {
        .fields(["uid": .int(Int64(id)), "user": name.map(JSONValue.string) ?? .null])
    }
    static func verdicts(_ m: [Verdict: Int]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: Verdict.allCases.map { ($0.rawValue, .int(Int64(m[$0] ?? 0))) }))
    }
    static func kinds(_ m: [IPCKind: Int]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: IPCKind.sysvCases.map { ($0.rawValue, .int(Int64(m[$0] ?? 0))) }))
    }

    static func counts(_ c: AuditCounts) -> JSONValue {
        .object([
            "total": .int(Int64(c.total)),
            "byKind": kinds(c.byKind),
            "byVerdict": verdicts(c.byVerdict),
            "byKindVerdict": .object(Dictionary(uniqueKeysWithValues: IPCKind.sysvCases.map {
                ($0.rawValue, verdicts(c.byKindVerdict[$0] ?? [:]))
            })),
            "byOwner": .array(c.byOwner.map { o in
                .object([
                    "uid": .int(Int64(o.uid)),
                    "user": o.user.map(JSONValue.string) ?? .null,
                    "total": .int(Int64(o.total)),
                    "byKind": kinds(o.byKind),
                    "byVerdict": verdicts(o.byVerdict),
                ])
            }),
        ])
    }

    /// One object of the orphans, suspects or unknown: its members in byte order (`JSONFields`).
    static func object(_ o: AuditObject) -> JSONValue {
        .fields([
            "creator": who(o.cuid, o.creator),
            "ctime": .int(o.ctime),
            "ctimeISO": iso(o.ctime),
            "id": .int(Int64(o.id)),
            "key": .int(Int64(o.key)),
            "keyHex": .string(IPCTextFormat.hexKey(o.key)),
            "lastActivity": .int(o.lastActivity),
            "lastActivityISO": iso(o.lastActivity),
            "mode": .int(Int64(o.mode)),
            "owner": who(o.uid, o.user),
            "perms": .string(IPCTextFormat.octal(o.mode & 0o777)),
            "possibleHolders": .array(o.possibleHolders.map { h in
                .fields([
                    "command": .string(h.command),
                    "pid": .int(Int64(h.pid)),
                    "uid": .int(Int64(h.uid)),
                    "unit": h.unit.map(JSONValue.string) ?? .null,
                ])
            }),
            "reason": .string(o.decisiveReason),
            "reasons": .array(o.reasons.map(JSONValue.string)),
            "size": .string(o.size),
            "sizeValue": .int(Int64(clamping: o.sizeValue)),
            "type": .string(o.kind.rawValue),
            "verdict": .string(o.verdict.rawValue),
        ])
    }

    static func limit(_ l: LimitUsage) -> JSONValue {
        .object([
            "name": .string(l.name),
            "type": .string(l.kind.rawValue),
            "unit": .string(l.unit),
            "measures": .string(l.measures),
            "used": opt(l.used),
            "limit": .int(l.limit),
            "unlimited": .bool(l.unlimited),
            "pool": .bool(l.pool),
            "level": .string(l.level.rawValue),
            "ratio": opt(l.ratio),
            "percent": opt(l.ratio.map { ($0 * 10000).rounded() / 100 }),
            "remaining": opt(l.remaining),
            "perLeak": opt(l.perLeak),
            "leaksSeen": .int(Int64(l.leaksSeen)),
            "leaksRemaining": opt(l.leaksRemaining),
            "growthPerDay": opt(l.growthPerDay),
            "daysToLimit": opt(l.daysToLimit),
            "failure": .string(l.failure),
            "headroom": .string(l.headroom),
        ])
    }

    static func insecure(_ f: InsecureFinding) -> JSONValue {
        let subject: JSONValue
        switch f.subject {
        case .sysv(let kind, let id, let key):
            subject = .object(["type": .string(kind.rawValue), "id": .int(Int64(id)), "key": .int(Int64(key)),
                               "keyHex": .string(IPCTextFormat.hexKey(key)), "path": .null])
        case .posix(let kind, let path):
            subject = .object(["type": .string(kind.rawValue), "id": .null, "key": .null, "keyHex": .null,
                               "path": .string(path)])
        }
        return .object([
            "subject": subject,
            "issue": .string(f.issue.rawValue),
            "owner": who(f.uid, f.user),
            "gid": .int(Int64(f.gid)),
            "mode": .int(Int64(f.mode)),
            "perms": .string(IPCTextFormat.octal(f.mode)),
            "grantees": .array(f.grantees.map { g in
                .object([
                    "source": .string(g.source.rawValue),
                    "id": g.id.map { .int(Int64($0)) } ?? .null,
                    "name": g.name.map(JSONValue.string) ?? .null,
                    "perms": .string(g.perms),
                    "read": .bool(g.read),
                    "write": .bool(g.write),
                    "who": .string(g.who),
                ])
            }),
            "missing": .array(f.missing.map(JSONValue.string)),
            "risk": .string(f.risk),
            "advice": .string(f.advice),
            "message": .string(f.message),
        ])
    }

    static func change(_ c: AuditChange) -> JSONValue {
        .object([
            "previousAt": .int(c.previousAt),
            "previousAtISO": iso(c.previousAt),
            "elapsedSeconds": .double((c.elapsed * 1000).rounded() / 1000),
            "previousOrphans": .int(Int64(c.previousOrphans)),
            "currentOrphans": .int(Int64(c.currentOrphans)),
            "newOrphans": .array(c.newOrphans.map(object)),
            "goneOrphans": .array(c.goneOrphans.map { g in
                .object([
                    "type": .string(g.type),
                    "id": .int(Int64(g.id)),
                    "key": .int(Int64(g.key)),
                    "keyHex": .string(IPCTextFormat.hexKey(g.key)),
                    "ctime": .int(g.ctime),
                    "ctimeISO": iso(g.ctime),
                    "uid": .int(Int64(g.uid)),
                    "firstSeen": .int(g.firstSeen),
                    "firstSeenISO": iso(g.firstSeen),
                ])
            }),
            "rateSince": opt(c.rateSince),
            "rateSinceISO": c.rateSince.map(iso) ?? .null,
            "netGrowthPerDay": opt(c.netGrowthPerDay),
            "newPerDay": opt(c.newPerDay),
        ])
    }
}
