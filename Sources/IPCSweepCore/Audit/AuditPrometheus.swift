/// The audit as Prometheus text exposition (format 0.0.4) for node_exporter's textfile collector:
/// every name starts with `ipcsweep_`, every family has `# HELP` and `# TYPE` (all gauges), and no sample
/// carries a timestamp. Families that alerts test are always present, with zeros.
public enum AuditPrometheus {
    /// The exposition text, ending with a newline.
    public static func render(_ r: AuditReport) -> String { render([r]) }

    /// One exposition for several IPC namespaces (`--all-namespaces`): each family once, the samples of every
    /// report that has a `namespace` labelled `namespace_inode` and `owner`.
    public static func render(_ reports: [AuditReport]) -> String {
        var out = ""
        typealias Samples = [(labels: [(String, String)], value: Double)]
        func write(_ name: String, _ help: String, _ samples: Samples) {
            out += "# HELP ipcsweep_\(name) \(escapeHelp(help))\n# TYPE ipcsweep_\(name) gauge\n"
            for s in samples {
                let labels = s.labels.isEmpty ? ""
                    : "{" + s.labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
                out += "ipcsweep_\(name)\(labels) \(AuditFormat.metric(s.value))\n"
            }
        }
        /// A family whose samples are per report; a report's namespace adds its labels (kept in name order).
        func family(_ name: String, _ help: String, _ samples: (AuditReport) -> Samples) {
            write(name, help, reports.flatMap { r in
                let extra: [(String, String)] = r.namespace.map { [("namespace_inode", String($0.inode)), ("owner", $0.owner)] } ?? []
                return samples(r).map { s in
                    (labels: (s.labels.filter { $0.0 != "owner" || extra.isEmpty }
                              + s.labels.filter { $0.0 == "owner" && !extra.isEmpty }.map { ("user", $0.1) } + extra)
                        .sorted { $0.0 < $1.0 }, value: s.value)
                }
            })
        }
        guard let first = reports.first else { return "" }
        write("audit_timestamp_seconds", "When this audit ran, as Unix time.", [([], Double(Int64(first.generatedAt)))])
        family("objects", "System V IPC objects by kind and verdict.") { r in
            r.kinds.flatMap { kind in
                Verdict.allCases.map { v in
                    ([("kind", kind.rawValue), ("verdict", v.rawValue)], Double(r.counts.byKindVerdict[kind]?[v] ?? 0))
                }
            }
        }
        family("owner_objects", "System V IPC objects by owner, kind and verdict (owners with objects only).") { r in
            r.counts.byOwner.sorted { $0.label < $1.label }.flatMap { o in
                IPCKind.allCases.flatMap { kind in
                    Verdict.allCases.compactMap { v -> (labels: [(String, String)], value: Double)? in
                        guard let n = o.byKindVerdict[kind]?[v], n > 0 else { return nil }
                        return ([("kind", kind.rawValue), ("owner", o.label), ("verdict", v.rawValue)], Double(n))
                    }
                }
            }
        }
        family("findings", "1 when a finding of this class exists (what --fail-on tests), else 0.") { r in
            AuditFindingClass.allCases.map { ([("class", $0.rawValue)], r.findingClasses.contains($0) ? 1 : 0) }
        }
        if reports.contains(where: { $0.removeIPC != nil }) {
            family("removeipc_enabled", "1 when systemd-logind's effective RemoveIPC= is yes (it destroys non-system users' IPC objects at their last logout), 0 when no (only for the namespace logind cleans).") { r in
                r.removeIPC.map { [([], $0.setting.enabled ? 1 : 0)] } ?? []
            }
            family("removeipc_objects_at_risk", "Objects of a non-system uid that RemoveIPC=yes destroys at its last logout, in use or not: System V sets, queues and unattached segments it owns, its POSIX objects, its files and directories under /dev/shm.") { r in
                (r.removeIPC?.findings ?? []).map { f in
                    ([("uid", String(f.uid)), ("user", f.user ?? String(f.uid))], Double(f.items.count))
                }
            }
            family("removeipc_objects_attached", "Attached System V segments of a non-system uid: RemoveIPC=yes destroys them at a logout of that uid once they are detached.") { r in
                (r.removeIPC?.attached ?? []).map { a in
                    ([("uid", String(a.uid)), ("user", a.user ?? String(a.uid))], Double(a.segments.count))
                }
            }
        }

        func labels(_ l: LimitUsage) -> [(String, String)] { [("kind", l.kind.rawValue), ("limit", l.name.lowercased())] }
        family("limit", "Kernel IPC limit from /proc/sys/kernel (sem, shmmni, shmall, shmmax, msgmni, msgmnb, msgmax).") { r in
            r.limits.map { (labels($0), Double($0.limit)) }
        }
        family("limit_usage", "Current usage counted against the kernel IPC limit (in the limit's own unit).") { r in
            r.limits.compactMap { l in l.used.map { (labels(l), Double($0)) } }
        }
        family("limit_usage_ratio", "Usage divided by the limit (0 to 1).") { r in
            r.limits.compactMap { l in l.ratio.map { (labels(l), $0) } }
        }
        family("limit_status", "0 ok, 1 warning, 2 critical, for limits that fill as objects accumulate.") { r in
            r.limits.filter(\.pool).map { (labels($0), Double($0.level.code)) }
        }
        family("limit_leaks_remaining", "How many more leaks of the size the current orphans show fit before the limit.") { r in
            r.limits.compactMap { l in l.leaksRemaining.map { (labels(l), Double($0)) } }
        }
        write("limit_warning_ratio", "Usage ratio at which a limit is reported as warning.", [([], first.thresholds.warning)])
        write("limit_critical_ratio", "Usage ratio at which a limit is reported as critical.", [([], first.thresholds.critical)])

        family("insecure_objects", "Objects readable or writable beyond their owner (mode, acl) or owned by a deleted account (unknown-owner).") { r in
            let insecureKinds = r.kinds.map(\.rawValue) + PosixIPCKind.allCases.filter { r.kinds.contains($0.sysvKind) }.map(\.rawValue)
            return insecureKinds.flatMap { kind in
                InsecureFinding.Issue.allCases.map { issue in
                    ([("issue", issue.rawValue), ("kind", kind)],
                     Double(r.insecure.filter { $0.issue == issue && $0.subject.kindName == kind }.count))
                }
            }
        }
        family("posix_objects", "POSIX IPC objects by kind and verdict.") { r in
            PosixIPCKind.allCases.flatMap { k in
                Verdict.allCases.map { v in ([("kind", k.rawValue), ("verdict", v.rawValue)], Double(r.posix.counts[k]?[v] ?? 0)) }
            }
        }
        if reports.contains(where: { $0.posix.shmRoot != nil && $0.posix.shmSizeBytes != nil }) {
            family("posix_shm_size_bytes", "Size of the filesystem POSIX shared memory lives on (/dev/shm).") { r in
                guard let root = r.posix.shmRoot, let size = r.posix.shmSizeBytes else { return [] }
                return [([("root", root)], Double(size))]
            }
        }
        if reports.contains(where: { $0.posix.shmRoot != nil && $0.posix.shmUsedBytes != nil }) {
            family("posix_shm_used_bytes", "Bytes in use on the /dev/shm filesystem.") { r in
                guard let root = r.posix.shmRoot, let used = r.posix.shmUsedBytes else { return [] }
                return [([("root", root)], Double(used))]
            }
        }
        if reports.contains(where: { $0.posix.shmRoot != nil }) {
            family("posix_shm_orphaned_bytes", "Bytes of /dev/shm held by orphaned POSIX objects.") { r in
                r.posix.shmRoot.map { [([("root", $0)], Double(r.posix.orphanedBytes))] } ?? []
            }
        }
        family("posix_orphan_group_objects", "Orphaned POSIX objects by name prefix.") { r in
            r.posix.orphanGroups.map { ([("kind", $0.kind.rawValue), ("pattern", $0.pattern)], Double($0.count)) }
        }
        family("posix_orphan_group_bytes", "Memory held by orphaned POSIX objects, by name prefix.") { r in
            r.posix.orphanGroups.map { ([("kind", $0.kind.rawValue), ("pattern", $0.pattern)], Double($0.usedBytes)) }
        }
        family("posix_scan_ok", "1 when this POSIX IPC directory was scanned, 0 when it was skipped (e.g. /dev/mqueue not mounted).") { r in
            r.posixScans.map { ([("kind", $0.kind.rawValue), ("root", $0.root)], $0.scanned ? 1 : 0) }
        }
        if let c = first.change {
            write("orphans_new", "Orphans that appeared since the previous audit (--state).", [([], Double(c.newOrphans.count))])
            write("orphans_gone", "Orphans of the previous audit that are gone (--state).", [([], Double(c.goneOrphans.count))])
            if let g = c.netGrowthPerDay {
                write("orphans_growth_per_day", "Net change of the orphan count per day since the previous audit (--state).", [([], g)])
            }
            write("state_age_seconds", "Seconds since the previous audit's state was written (--state).", [([], c.elapsed.rounded())])
        }
        return out
    }

    /// Escapes a label value: backslash, double quote and newline.
    static func escapeLabel(_ s: String) -> String {
        s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"").replacingAll("\n", "\\n")
    }

    /// Escapes HELP text: backslash and newline.
    static func escapeHelp(_ s: String) -> String {
        s.replacingAll("\\", "\\\\").replacingAll("\n", "\\n")
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation needed).
    fileprivate func replacingAll(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
