/// The tables of `list` and `orphans`, and the CSV of the same rows.
public struct ObjectTable {
    public var users: UserDirectory
    public var now: Double
    /// Add a REASON column (the most decisive reason) — `orphans` does.
    public var withReason: Bool
    /// Show absolute times next to relative ones.
    public var absoluteTimes: Bool
    /// CSV carries epoch seconds instead of words.
    public var forCSV: Bool

    public init(users: UserDirectory, now: Double, withReason: Bool, absoluteTimes: Bool = true, forCSV: Bool = false) {
        self.users = users
        self.now = now
        self.withReason = withReason
        self.absoluteTimes = absoluteTimes
        self.forCSV = forCSV
    }

    /// Recorded pids, deduplicated, as "812,813" (0 omitted).
    static func pids(_ o: IPCObject) -> String {
        var seen: Set<Int32> = []
        let list = o.recordedPids.map(\.pid).filter { $0 > 0 && seen.insert($0).inserted }
        return list.isEmpty ? "-" : list.map(String.init).joined(separator: ",")
    }

    /// The NAMESPACE cell: "INODE OWNER" (`--all-namespaces`).
    public static func namespace(_ ns: IPCNamespaceInfo?) -> String {
        ns.map { "\($0.inode) \($0.owner)" } ?? "-"
    }

    /// The rows of System V objects, then of POSIX objects (the name in the KEY column).
    public func table(_ items: [Classification], posix: [PosixClassification] = []) -> Table {
        // PERMS are the permission bits only (mode & 0777, as lsipc shows them); a segment's SHM_DEST/SHM_LOCKED
        // flags go to STATUS (as in `ipcs -m`): always in CSV, in the table only when some row has a flag.
        let withStatus = forCSV || items.contains { !IPCTextFormat.status($0.object.perm.mode).isEmpty }
        let withNamespace = items.contains { $0.namespace != nil } || posix.contains { $0.namespace != nil }
        var columns: [Table.Column] = withNamespace ? [.init("NAMESPACE", flexible: true, minWidth: 10)] : []
        columns += [
            .init("TYPE", minWidth: 3), .init("ID", right: true), .init("KEY", minWidth: 10),
            .init("OWNER", flexible: true, minWidth: 6), .init("PERMS", minWidth: 4),
        ]
        if withStatus { columns.append(.init("STATUS", minWidth: 6)) }
        columns += [
            .init("SIZE", right: true),
            .init("LAST-ACTIVITY", flexible: true, minWidth: 10), .init("PIDS", flexible: true, minWidth: 4),
            .init("VERDICT", minWidth: 7),
        ]
        if withReason { columns.append(.init("REASON", flexible: true, minWidth: 12)) }
        // Objects made or used in the same second share their time text: format each second once
        // (localtime_r per object was a tenth of `orphans` with 40,000 objects).
        var whenCache: [Int64: String] = [:]
        let rows = items.map { c -> [Table.Cell] in
            let o = c.object
            let p = o.perm
            let owner = p.uid == p.cuid ? users.displayUser(p.uid)
                : "\(users.displayUser(p.uid)) (by \(users.displayUser(p.cuid)))"
            let last = o.lastActivity
            let when: String
            if forCSV { when = String(last) }
            else if let cached = whenCache[last] { when = cached }
            else {
                if absoluteTimes && last != 0 { when = "\(TimeFormat.relative(last, now: now)) (\(TimeFormat.local(last)))" }
                else { when = TimeFormat.relative(last, now: now) }
                whenCache[last] = when
            }
            var row: [Table.Cell] = withNamespace ? [.init(Self.namespace(c.namespace))] : []
            row += [
                .init(o.kind.rawValue), .init(String(o.id)), .init(IPCTextFormat.hexKey(p.key)), .init(owner),
                .init(IPCTextFormat.octal(p.permissionBits)),
            ]
            if withStatus {
                let status = IPCTextFormat.status(p.mode)
                row.append(.init(status.isEmpty && !forCSV ? "-" : status))
            }
            row += [
                .init(o.sizeSummary), .init(when), .init(Self.pids(o)),
                .init(c.verdict.rawValue, color: VerdictColor.code(c.verdict)),
            ]
            if withReason { row.append(.init(c.reasons.first ?? "")) }
            return row
        }
        let posixRows = posix.map {
            (withNamespace ? [Table.Cell(Self.namespace($0.namespace))] : [])
                + PosixRender.row($0, users: users, now: now, withReason: withReason, withStatus: withStatus,
                                  absoluteTimes: absoluteTimes, forCSV: forCSV)
        }
        return Table(columns: columns, rows: rows + posixRows)
    }
}
