/// The one-line summary of a `clean` run (its table, CSV and JSON are `CleanFields`; POSIX rows `PosixRender`).
public enum CleanReport {
    /// One POSIX result in `clean --format json`: type, name, path, inode, owner, verdict, outcome, reason, ...
    static func posixJSON(_ r: PosixCleanResult, users: UserDirectory) -> JSONValue {
        let o = r.classification.object
        return .object([
            "type": .string(o.kind.rawValue), "name": .string(o.name), "path": .string(o.path),
            "inode": .int(Int64(bitPattern: o.identity.inode)), "size": .int(o.size),
            "owner": .object(["uid": .int(Int64(o.uid)), "user": users.userName(o.uid).map(JSONValue.string) ?? .null]),
            "verdict": .string(r.classification.verdict.rawValue), "outcome": .string(r.outcome.rawValue),
            "reason": .string(r.reason), "planned": .bool(r.planned), "alreadyGone": .bool(r.alreadyGone),
            "changes": .array(r.changes.map(JSONValue.string)),
            "savedTo": r.savedTo.map(JSONValue.string) ?? .null,
            "reasons": .array(r.classification.reasons.map(JSONValue.string)),
        ])
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

