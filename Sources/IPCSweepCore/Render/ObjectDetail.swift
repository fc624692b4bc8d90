/// `show`: one object of any kind in depth, as text for a person. Its lines are the field table's (`detail` of
/// each field in `ObjectFields.showOrder`), then the verdict with every reason, each semaphore of a set, and the
/// processes that hold it or may.
public struct ObjectDetail {
    public var users: UserDirectory
    public var processes: ProcessTable
    public var now: Double
    public var color: Bool

    public init(users: UserDirectory, processes: ProcessTable, now: Double, color: Bool) {
        self.users = users
        self.processes = processes
        self.now = now
        self.color = color
    }

    public func render(_ c: Classification) -> SafeText {
        let o = c.object
        let ctx = RenderContext(users: users, now: now, processes: processes)
        var lines: [SafeText] = []
        func field(_ name: String, _ value: SafeText) {
            lines.append("  \(SafeText(stringLiteral: name.padding(toLength: 16)))\(value)")
        }
        switch o {
        case .posix(let p): lines.append("\(p.kind.noun) \(p.name)")
        default: lines.append("\(o.kind.noun) \(o.id), key \(IPCTextFormat.hexKey(o.perm.key)) (\(o.perm.key))")
        }
        if let ns = c.namespace {
            field("IPC namespace", "\(ns.inode) (\(ns.owner)\(ns.owner.hasPrefix("pid ") ? "" : ns.pid.map { ", pid \($0)" } ?? ""))")
        }
        for name in ObjectFields.showOrder[o.family] ?? [] {
            guard let f = ObjectFields.table.field(name), f.kinds.contains(o.kind), let detail = f.detail else { continue }
            for (label, value) in detail(c, ctx) { field(label, SafeText(value: value)) }
        }
        field("verdict", "\(c.verdict.rawValue, color: color ? VerdictColor.code(c.verdict) : nil)")
        lines.append("  evidence:")
        lines += c.reasons.map { "    - \($0)" }
        if case .sem(let s) = o {
            if let sems = s.semaphores {
                let t = Table(
                    columns: [.init("NUM", right: true), .init("VALUE", right: true), .init("PID", right: true),
                              .init("PROCESS"), .init("NCNT", right: true), .init("ZCNT", right: true)],
                    rows: sems.enumerated().map { n, sem in
                        [.init(String(n)), .init(String(sem.value)), .init(String(sem.pid)),
                         .init(sem.pid > 0 ? ObjectFields.pidText(sem.pid, ctx).drop { $0 != "(" }.description : "-"),
                         .init(String(sem.ncnt)), .init(String(sem.zcnt))]
                    })
                lines.append("  per semaphore:")
                lines += indented(t)
            } else if let e = s.detailError {
                lines.append("  per semaphore: \(e)")
            }
        }
        let holders = c.holders + c.possibleHolders
        if !holders.isEmpty {
            let handles = o.family == .posix
            var columns: [Table.Column] = [.init("PID", right: true), .init("COMMAND"), .init("USER"), .init("UNIT"), .init("RELATION")]
            if handles { columns.append(.init("FD/MAPPING")) }
            let t = Table(columns: columns, rows: holders.map { h in
                var row: [Table.Cell] = [.init(String(h.pid)), .init(h.command), .init(users.displayUser(h.uid)), .init(h.unit ?? "-"),
                                         .init(h.relation.rawValue)]
                if handles {
                    row.append(.init(h.fds.isEmpty ? (h.mappings.isEmpty ? "-" : h.mappings.joined(separator: " "))
                                        : h.fds.map(String.init).joined(separator: ",")))
                }
                return row
            })
            lines.append("  processes:")
            lines += indented(t)
        }
        return SafeText.joined(lines, separator: "\n") + "\n"
    }

    /// A table's lines, indented (its cells are escaped by the table itself).
    private func indented(_ t: Table) -> [SafeText] {
        var out: [SafeText] = []
        for line in t.render(width: nil, headings: true, color: false).split(separator: "\n") {
            var s: SafeText = "    "
            s += SafeText.rendered(String(line))
            out.append(s)
        }
        return out
    }
}

extension SafeText {
    /// Text another renderer of this module already made safe (a table's lines).
    static func rendered(_ text: String) -> SafeText {
        var s: SafeText = ""
        s.text = text
        return s
    }
}

extension String {
    func padding(toLength n: Int) -> String {
        count >= n ? self + " " : self + String(repeating: " ", count: n - count)
    }
}
