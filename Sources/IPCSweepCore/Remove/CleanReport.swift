/// The document `clean --format json` prints (schemaVersion 1).
public struct CleanReportJSON: Encodable {
    let run: CleanRun
    let users: UserDirectory
    let scope: ResolvedScope?
    let warnings: [String]
    let lockPath: String?
    /// What `results` lists when not every result (`--quiet` lists only planned objects).
    var shownResults: [CleanResult]?
    /// The IPC namespace cleaned (`--namespace`); nil: the tool's own.
    let namespace: IPCNamespaceInfo?
    var shownPosix: [PosixCleanResult]?

    public init(run: CleanRun, users: UserDirectory, scope: ResolvedScope?, warnings: [String], lockPath: String?,
                namespace: IPCNamespaceInfo? = nil) {
        self.namespace = namespace
        self.run = run
        self.users = users
        self.scope = scope
        self.warnings = warnings
        self.lockPath = lockPath
    }

    enum K: String, CodingKey { case schemaVersion, dryRun, scope, lock, namespace, warnings, results, summary, interrupted, exitStatus }
    enum R: String, CodingKey { case type, id, key, keyHex, owner, creator, verdict, outcome, reason, planned, alreadyGone, changes, savedTo, reasons }
    enum S: String, CodingKey { case matched, planned, removed, wouldRemove, skipped, failed, alreadyGone, changed, notEligible, notAttempted }
    enum W: String, CodingKey { case uid, user }
    enum I: String, CodingKey { case signal, signo, pid, uid }

    struct Result: Encodable {
        let r: CleanResult
        let users: UserDirectory
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: R.self)
            let o = r.classification.object
            try c.encode(o.kind.rawValue, forKey: .type)
            try c.encode(o.id, forKey: .id)
            try c.encode(o.perm.key, forKey: .key)
            try c.encode(IPCTextFormat.hexKey(o.perm.key), forKey: .keyHex)
            var w = c.nestedContainer(keyedBy: W.self, forKey: .owner)
            try w.encode(o.perm.uid, forKey: .uid)
            try w.encode(users.userName(o.perm.uid), forKey: .user)
            var cr = c.nestedContainer(keyedBy: W.self, forKey: .creator)
            try cr.encode(o.perm.cuid, forKey: .uid)
            try cr.encode(users.userName(o.perm.cuid), forKey: .user)
            try c.encode(r.classification.verdict.rawValue, forKey: .verdict)
            try c.encode(r.outcome.rawValue, forKey: .outcome)
            try c.encode(r.reason, forKey: .reason)
            try c.encode(r.planned, forKey: .planned)
            try c.encode(r.alreadyGone, forKey: .alreadyGone)
            try c.encode(r.changes, forKey: .changes)
            try c.encode(r.savedTo, forKey: .savedTo)
            try c.encode(r.classification.reasons, forKey: .reasons)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
        try c.encode(run.dryRun, forKey: .dryRun)
        try c.encode(scope?.description, forKey: .scope)
        try c.encode(lockPath, forKey: .lock)
        try c.encodeIfPresent(namespace.map(ObjectJSON.NamespaceJSON.init), forKey: .namespace)
        try c.encode(warnings, forKey: .warnings)
        var list = c.nestedUnkeyedContainer(forKey: .results)
        for r in shownResults ?? run.results { try list.encode(Result(r: r, users: users)) }
        for r in shownPosix ?? run.posixResults { try list.encode(CleanReport.posixJSON(r, users: users)) }
        let n = run.counts
        var s = c.nestedContainer(keyedBy: S.self, forKey: .summary)
        try s.encode(run.count, forKey: .matched)
        try s.encode(run.count - n.notEligible, forKey: .planned)
        try s.encode(n.removed, forKey: .removed)
        try s.encode(n.planned, forKey: .wouldRemove)
        try s.encode(n.skipped, forKey: .skipped)
        try s.encode(n.failed, forKey: .failed)
        try s.encode(n.alreadyGone, forKey: .alreadyGone)
        try s.encode(n.changed, forKey: .changed)
        try s.encode(n.notEligible, forKey: .notEligible)
        try s.encode(n.notAttempted, forKey: .notAttempted)
        if let i = run.interruption {
            var ic = c.nestedContainer(keyedBy: I.self, forKey: .interrupted)
            try ic.encode(i.name, forKey: .signal)
            try ic.encode(i.signo, forKey: .signo)
            try ic.encode(i.senderPid, forKey: .pid)
            try ic.encode(i.senderUid, forKey: .uid)
        } else {
            try c.encodeNil(forKey: .interrupted)
        }
        try c.encode(run.exitStatus, forKey: .exitStatus)
    }
}

/// The table and CSV of `clean`, and its one-line summary.
public enum CleanReport {
    /// One POSIX result in `clean --format json`: type, name, path, inode, owner, verdict, outcome, reason, ...
    static func posixJSON(_ r: PosixCleanResult, users: UserDirectory) -> AuditJSONValue {
        let o = r.classification.object
        return .object([
            "type": .string(o.kind.rawValue), "name": .string(o.name), "path": .string(o.path),
            "inode": .int(Int64(bitPattern: o.identity.inode)), "size": .int(o.size),
            "owner": .object(["uid": .int(Int64(o.uid)), "user": users.userName(o.uid).map(AuditJSONValue.string) ?? .null]),
            "verdict": .string(r.classification.verdict.rawValue), "outcome": .string(r.outcome.rawValue),
            "reason": .string(r.reason), "planned": .bool(r.planned), "alreadyGone": .bool(r.alreadyGone),
            "changes": .array(r.changes.map(AuditJSONValue.string)),
            "savedTo": r.savedTo.map(AuditJSONValue.string) ?? .null,
            "reasons": .array(r.classification.reasons.map(AuditJSONValue.string)),
        ])
    }

    /// TYPE ID KEY OWNER VERDICT OUTCOME REASON (POSIX rows: ID "-", the name as KEY).
    public static func table(_ results: [CleanResult], posix: [PosixCleanResult] = [], users: UserDirectory) -> Table {
        let columns: [Table.Column] = [
            .init("TYPE", minWidth: 3), .init("ID", right: true), .init("KEY", minWidth: 10),
            .init("OWNER", flexible: true, minWidth: 6), .init("VERDICT", minWidth: 7), .init("OUTCOME", minWidth: 7),
            .init("REASON", flexible: true, minWidth: 20),
        ]
        let rows = results.map { r -> [Table.Cell] in
            let o = r.classification.object
            let p = o.perm
            let owner = p.uid == p.cuid ? users.displayUser(p.uid) : "\(users.displayUser(p.uid)) (by \(users.displayUser(p.cuid)))"
            return [
                .init(o.kind.rawValue), .init(String(o.id)), .init(IPCTextFormat.hexKey(p.key)), .init(owner),
                .init(r.classification.verdict.rawValue, color: VerdictColor.code(r.classification.verdict)),
                .init(r.outcome.rawValue, color: outcomeColor(r)), .init(r.reason),
            ]
        }
        let posixRows = posix.map { r -> [Table.Cell] in
            let o = r.classification.object
            return [
                .init(o.kind.rawValue), .init("-"), .init(PosixRender.escaped(o.name)), .init(users.displayUser(o.uid)),
                .init(r.classification.verdict.rawValue, color: VerdictColor.code(r.classification.verdict)),
                .init(r.outcome.rawValue, color: outcomeColor(r.outcome, problem: r.isProblem)), .init(PosixRender.escaped(r.reason)),
            ]
        }
        return Table(columns: columns, rows: rows + posixRows)
    }

    static func outcomeColor(_ r: CleanResult) -> String? { outcomeColor(r.outcome, problem: r.isProblem) }

    static func outcomeColor(_ outcome: CleanOutcome, problem: Bool) -> String? {
        switch outcome {
        case .removed: return "32"
        case .planned: return "36"
        case .failed: return "31;1"
        case .skipped: return problem ? "33" : nil
        }
    }

    /// "removed 3; skipped 1 (1 changed since planned); failed 0; 2 not eligible (in-use, unknown or suspect)". Pure.
    public static func summary(_ run: CleanRun) -> String {
        let n = run.counts
        if !run.hadWork {
            return n.notEligible == 0 ? "nothing to clean: no object matched"
                : "nothing to clean: \(n.notEligible) matching object\(n.notEligible == 1 ? " is" : "s are") in use, unknown or suspect (see the reasons)"
        }
        var parts: [String] = []
        if run.dryRun {
            parts.append("dry run: would remove \(n.planned)")
        } else {
            parts.append("removed \(n.removed)")
        }
        let problemSkips = run.results.filter { $0.isProblem && $0.outcome == .skipped }.count
            + run.posixResults.filter { $0.isProblem && $0.outcome == .skipped }.count
        if problemSkips > 0 {
            var why: [String] = []
            if n.changed > 0 { why.append("\(n.changed) changed since planned") }
            if n.notAttempted > 0 { why.append("\(n.notAttempted) not attempted") }
            let kept = problemSkips - n.changed - n.notAttempted
            if kept > 0 { why.append("\(kept) kept for their data") }
            parts.append("skipped \(problemSkips) (\(why.joined(separator: ", ")))")
        }
        if n.alreadyGone > 0 { parts.append("\(n.alreadyGone) already gone") }
        if n.failed > 0 { parts.append("failed \(n.failed)") }
        if n.notEligible > 0 { parts.append("\(n.notEligible) not eligible (in use, unknown or suspect)") }
        var s = parts.joined(separator: "; ")
        if let i = run.interruption {
            s += "; stopped by \(i.description)"
        }
        return s
    }
}

extension CleanReportJSON {
    /// The same document listing only `results` (the counts still describe the whole run): `--quiet`.
    public func withResults(_ results: [CleanResult], posix: [PosixCleanResult]? = nil) -> CleanReportJSON {
        var copy = self
        copy.shownResults = results
        copy.shownPosix = posix
        return copy
    }
}
