/// The audit for people and cron mail: short, the worst first, and empty when asked to be quiet and all is well.
public struct AuditTextRenderer: Sendable {
    /// At most this many objects per section; the rest are summarised with the command that lists them.
    public var maxListed: Int

    public init(maxListed: Int = 20) {
        self.maxListed = maxListed
    }

    /// The report as text; "" when `quietIfClean` and the report has no findings.
    public func render(_ r: AuditReport, quietIfClean: Bool) -> String {
        if quietIfClean && !r.hasFindings { return "" }
        var out: [String] = [headline(r)]

        let atRisk = r.limitsAtRisk
        if !atRisk.isEmpty {
            out.append("")
            for l in atRisk { out.append("\(l.level == .critical ? "CRITICAL" : "WARNING ") \(l.headroom)") }
        }

        if !r.orphans.isEmpty {
            out.append("")
            out.append("Orphaned: \(r.orphans.count) (no live process can be holding them; remove with `ipcsweep clean`)")
            out += list(grouped(r.orphans), more: "`ipcsweep orphans --verdict orphaned` lists them all") { groupLine($0, r) }
            // Headroom where it matters: the binding limit of each kind that leaks, unless already shown above.
            for kind in IPCKind.allCases {
                let candidates = r.limits.filter { $0.kind == kind && $0.pool && $0.perLeak != nil && $0.level == .ok }
                if let binding = candidates.min(by: { ($0.leaksRemaining ?? .max) < ($1.leaksRemaining ?? .max) }),
                   !atRisk.contains(where: { $0.kind == kind }) {
                    out.append("  headroom: \(binding.headroom)")
                }
            }
        }

        // The wall clock: a forward step the verdicts allowed for, or orphans where one could not be ruled out.
        let step = r.clock.largestForward.flatMap { $0.step >= 1 ? $0 : nil }
        if step != nil || r.clockNote != nil { out.append("") }
        if let f = step {
            out.append("Clock: the wall clock was stepped forward by \(TimeFormat.duration(f.step)) since "
                + "\(TimeFormat.iso8601(Int64(f.taken.rounded(.down))) ?? "then") (\(ClockSteps.describe(f.source))); "
                + "verdicts compare older processes' starts as that much earlier")
        }
        if let note = r.clockNote { out.append("Clock: \(note)") }

        if let rm = r.removeIPC, rm.setting.enabled,
           !rm.findings.isEmpty || !rm.attached.isEmpty || !rm.notes.isEmpty || rm.setting.sysUidMaxNote != nil {
            out.append("")
            let n = rm.findings.count
            let users = n == 0 ? "no non-system user owns objects" : "\(n) non-system user\(n == 1 ? " owns" : "s own") objects"
            out.append("RemoveIPC=yes (\(rm.setting.source)): \(users) that systemd-logind destroys at their last logout, in use or not (POSIX objects are unlinked even while open or mapped); system users are uids up to \(rm.setting.sysUidMax), from \(rm.setting.sysUidMaxSource)")
            out += list(rm.findings, more: "`ipcsweep audit --format json` lists them all") { "  " + $0.message }
            out += list(rm.attached, more: "`ipcsweep audit --format json` lists them all") { "  " + $0.message }
            for note in (rm.setting.sysUidMaxNote.map { [$0] } ?? []) + rm.notes { out.append("  note: " + note) }
        }

        let px = r.posix
        if !px.orphans.isEmpty || !px.suspects.isEmpty {
            out.append("")
            if let usage = px.usageLine { out.append(usage) }
            if !px.orphans.isEmpty {
                out.append("Orphaned POSIX objects: \(px.orphans.count) (no descriptor, no mapping, no possible holder; remove with `ipcsweep clean --type posix`)")
                out += list(px.orphanGroups, more: "`ipcsweep orphans --type posix` lists them all") { "  " + PosixAuditSection.groupLine($0) }
            }
            if !px.suspects.isEmpty {
                out.append("Suspect POSIX objects: \(px.suspects.count) (possible holders are alive)")
                out += list(px.suspects, more: "`ipcsweep orphans --type posix --verdict suspect` lists them all") {
                    "  \($0.kind.rawValue) \(PosixRender.escaped($0.path)): \(PosixRender.escaped($0.reason))"
                }
            }
        }

        let access = r.insecure.filter { $0.issue != .unknownOwner }
        if !access.isEmpty {
            out.append("")
            out.append("Insecure: \(access.count) (readable or writable beyond the owner)")
            out += list(access, more: "`ipcsweep audit --format json` lists them all") { "  " + $0.message }
        }

        let ownerless = r.insecure.filter { $0.issue == .unknownOwner }
        if !ownerless.isEmpty {
            out.append("")
            out.append("Owner or group without a passwd/group entry: \(ownerless.count)")
            var byMissing: [(missing: String, findings: [InsecureFinding])] = []
            for f in ownerless {
                let m = f.missing.joined(separator: ", ")
                if let i = byMissing.firstIndex(where: { $0.missing == m }) { byMissing[i].findings.append(f) } else {
                    byMissing.append((m, [f]))
                }
            }
            out += list(byMissing, more: "`ipcsweep audit --format json` lists them all") { g in
                let first = g.findings[0]
                let subjects = summarise(g.findings.map(\.subject.description))
                if g.findings.count == 1 { return "  " + first.message }
                let sysv = g.findings.allSatisfy { if case .sysv = $0.subject { return true } else { return false } }
                let advice = sysv
                    ? "`ipcsweep orphans --user \(first.uid)` shows which of them nothing uses, `ipcsweep clean --user \(first.uid)` removes those"
                    : first.advice
                return "  \(g.missing) \(g.findings.count == 1 ? "has" : "have") no entry (account deleted?): \(subjects); \(advice)"
            }
        }

        if !r.suspects.isEmpty {
            out.append("")
            out.append("Suspect: \(r.suspects.count) (possible holders are alive\(r.scope == nil ? "; give --unit, --pidfile or --exe to settle" : ""))")
            out += list(grouped(r.suspects), more: "`ipcsweep orphans --verdict suspect` lists them all") { groupLine($0, r) }
        }

        if let c = r.change {
            out.append("")
            var line = "Since the last audit (\(TimeFormat.iso8601(c.previousAt) ?? String(c.previousAt)), \(TimeFormat.duration(c.elapsed)) ago): "
            line += "\(AuditFormat.plural(Int64(c.newOrphans.count), "new orphan")), \(c.goneOrphans.count) gone; "
            line += "\(c.previousOrphans) -> \(c.currentOrphans) orphans"
            if let g = c.netGrowthPerDay, let since = c.rateSince {
                line += " (\(AuditFormat.signed(g)) a day since \(TimeFormat.iso8601(since) ?? String(since)))"
            }
            out.append(line)
            if !c.newOrphans.isEmpty {
                out.append("  new: " + summarise(c.newOrphans.map { "\($0.kind.rawValue) \($0.id)" }))
            }
            if !c.goneOrphans.isEmpty {
                out.append("  gone: " + summarise(c.goneOrphans.map { "\($0.type) \($0.id)" }))
            }
        } else if let note = r.stateNote {
            out.append("")
            out.append(note)
        }

        out.append("")
        out.append(countsLine(r))
        if !r.counts.byOwner.isEmpty {
            let shown = r.counts.byOwner.prefix(5).map { o -> String in
                let orphaned = o.byVerdict[.orphaned] ?? 0
                return "\(o.label) \(o.total)" + (orphaned > 0 ? " (\(orphaned) orphaned)" : "")
            }
            let rest = r.counts.byOwner.count - shown.count
            out.append("Owners: " + shown.joined(separator: ", ") + (rest > 0 ? ", and \(rest) more" : ""))
        }
        if !r.limits.isEmpty {
            let pools = r.limits.filter(\.pool).map { l -> String in
                var s = "\(l.name) \(AuditFormat.grouped(l.used ?? 0))/" + (l.unlimited ? "unlimited" : AuditFormat.grouped(l.limit))
                if let ratio = l.ratio { s += " (\(AuditFormat.percent(ratio)))" }
                if l.level != .ok { s += " \(l.level.rawValue.uppercased())" }
                return s
            }
            out.append("Limits: " + pools.joined(separator: ", "))
        } else if let e = r.limitsError {
            out.append("Limits: not read (\(e))")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// "ipcsweep audit: CRITICAL SEMMNI 95.0 %; 38 orphaned, 2 insecure".
    func headline(_ r: AuditReport) -> String {
        var parts: [String] = []
        let atRisk = r.limitsAtRisk
        if let worst = atRisk.first {
            parts.append("\(worst.level.rawValue.uppercased()) " + atRisk.filter { $0.level == worst.level }
                .map { "\($0.name) \(AuditFormat.percent($0.ratio ?? 0))" }.joined(separator: ", "))
        }
        var counts: [String] = []
        if !r.orphans.isEmpty { counts.append("\(r.orphans.count) orphaned") }
        if !r.posix.orphans.isEmpty {
            counts.append("\(r.posix.orphans.count) orphaned POSIX (\(PosixAuditSection.size(r.posix.orphanedBytes)))")
        }
        let access = r.insecure.filter { $0.issue != .unknownOwner }.count
        if access > 0 { counts.append("\(access) insecure") }
        let ownerless = r.insecure.filter { $0.issue == .unknownOwner }.count
        if ownerless > 0 { counts.append("\(ownerless) without owner entry") }
        if !r.suspects.isEmpty { counts.append("\(r.suspects.count) suspect") }
        if !r.posix.suspects.isEmpty { counts.append("\(r.posix.suspects.count) suspect POSIX") }
        if let n = r.change?.newOrphans.count, n > 0 { counts.append("\(n) new since the last audit") }
        if let n = r.removeIPC?.findings.count, n > 0 { counts.append("\(n) user\(n == 1 ? "" : "s") at risk from RemoveIPC=yes") }
        if !counts.isEmpty { parts.append(counts.joined(separator: ", ")) }
        let ns = r.namespace.map { n in
            " (IPC namespace \(n.inode), \(n.owner)\(n.owner.hasPrefix("pid ") ? "" : n.pid.map { ", pid \($0)" } ?? ""))"
        } ?? ""
        if parts.isEmpty { return "ipcsweep audit\(ns): nothing to report" }
        return "ipcsweep audit\(ns): " + parts.joined(separator: "; ")
    }

    /// "Objects: 40 (sem 38, shm 1, msg 1): 38 orphaned, 1 suspect, 1 in-use, 0 unknown".
    func countsLine(_ r: AuditReport) -> String {
        let kinds = r.kinds.map { "\($0.rawValue) \(r.counts.byKind[$0] ?? 0)" }.joined(separator: ", ")
        let verdicts = [Verdict.orphaned, .suspect, .inUse, .unknown]
            .map { "\(r.counts.byVerdict[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        var s = "Objects: \(r.counts.total) (\(kinds)): \(verdicts)"
        let posix = r.posixScans.filter(\.scanned).reduce(0) { $0 + $1.objects }
        if posix > 0 { s += "; \(posix) POSIX IPC object\(posix == 1 ? "" : "s")" }
        return s
    }

    /// "  sem 32768 key 0x0000162e owner www-data, 2 sems, last activity ... (3 h ago): REASON".
    func objectLine(_ o: AuditObject, _ r: AuditReport) -> String {
        let owner = o.user ?? "\(o.uid) (no passwd entry)"
        let when = o.lastActivity == 0 ? "never used"
            : "last activity \(TimeFormat.iso8601(o.lastActivity) ?? "") (\(TimeFormat.relative(o.lastActivity, now: r.generatedAt)))"
        return "  \(o.kind.rawValue) \(o.id) key \(IPCTextFormat.hexKey(o.key)) owner \(owner), \(o.size), \(when): \(o.decisiveReason)"
    }

    /// Objects of one kind and owner with the same decisive reason (typically one leak), in first-seen order.
    func grouped(_ objects: [AuditObject]) -> [[AuditObject]] {
        var groups: [[AuditObject]] = []
        var index: [String: Int] = [:]
        for o in objects {
            let k = "\(o.kind.rawValue)|\(o.uid)|\(o.decisiveReason)"
            if let i = index[k] { groups[i].append(o) } else {
                index[k] = groups.count
                groups.append([o])
            }
        }
        return groups
    }

    /// One object, or several that share kind, owner and decisive reason, on one line.
    func groupLine(_ g: [AuditObject], _ r: AuditReport) -> String {
        guard let first = g.first else { return "" }
        if g.count == 1 { return objectLine(first, r) }
        let ids = g.map { String($0.id) }.joined(separator: ", ")
        let keys = g.contains { $0.key != 0 } ? " keys " + g.map { IPCTextFormat.hexKey($0.key) }.joined(separator: ", ") : ""
        let owner = first.user ?? "\(first.uid) (no passwd entry)"
        let sizes = Set(g.map(\.size))
        let size = sizes.count == 1 ? "\(first.size) each" : g.map(\.size).joined(separator: ", ")
        let last = g.map(\.lastActivity).max() ?? 0
        let when = last == 0 ? "never used"
            : "last activity \(TimeFormat.iso8601(last) ?? "") (\(TimeFormat.relative(last, now: r.generatedAt)))"
        return "  \(first.kind.rawValue) \(ids)\(keys) owner \(owner), \(size), \(when): \(first.decisiveReason)"
    }

    private func list<T>(_ items: [T], more: String, _ line: (T) -> String) -> [String] {
        var out = items.prefix(maxListed).map(line)
        if items.count > maxListed { out.append("  ... and \(items.count - maxListed) more: \(more)") }
        return out
    }

    private func summarise(_ names: [String]) -> String {
        let shown = names.prefix(maxListed).joined(separator: ", ")
        return names.count > maxListed ? shown + ", and \(names.count - maxListed) more" : shown
    }
}
