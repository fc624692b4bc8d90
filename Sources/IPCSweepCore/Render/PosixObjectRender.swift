/// Output of POSIX IPC objects for list, orphans, show and clean: table rows next to the System V ones, the JSON
/// object (built once as a value tree, encoded or streamed from it) and the `show` text.
///
/// Contained here until the renderers become one field table per kind; then these become that table's rows.
public enum PosixRender {
    /// A name other users chose, safe for a terminal, a CSV cell or the journal: control characters and
    /// backslashes as `\xNN`.
    public static func escaped(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0x5c }) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f || u.value == 0x5c {
                let h = String(u.value, radix: 16)
                out += "\\x" + (h.count < 2 ? "0" + h : h)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// "4096 B", or for a queue "3 msgs (24 B)".
    public static func sizeSummary(_ o: PosixIPCObject) -> String {
        if let q = o.queue {
            guard let n = q.messages else { return "\(q.qsize) B queued" }
            return "\(n) msg\(n == 1 ? "" : "s") (\(q.qsize) B)"
        }
        return "\(o.size) B (\(PosixAuditSection.size(o.usedBytes)) used)"
    }

    /// The holder pids, deduplicated: "812,813", or "-".
    public static func pids(_ c: PosixClassification) -> String {
        var seen: Set<Int32> = []
        let list = c.holders.map(\.pid).filter { seen.insert($0).inserted }
        return list.isEmpty ? "-" : list.map(String.init).joined(separator: ",")
    }

    /// A POSIX object's cell in the column named `column` of the object field table (`ObjectFields`): TYPE, ID "-",
    /// the name in the KEY column, OWNER, PERMS, STATUS, SIZE, LAST-ACTIVITY, PIDS (holders), VERDICT, REASON; "-" in
    /// the columns that are System V facts.
    static func cell(_ c: PosixClassification, column: String, context ctx: RenderContext) -> Table.Cell {
        let o = c.object
        let csv: Bool
        if case .csv = ctx.style { csv = true } else { csv = false }
        switch column {
        case "namespace": return .init(c.namespace.map { "\($0.inode) \($0.owner)" } ?? "-")
        case "type": return .init(o.kind.rawValue)
        case "key": return .init(escaped(o.name))
        case "owner": return .init(ctx.users.displayUser(o.uid))
        case "perms": return .init(IPCTextFormat.octal(o.mode & 0o777) + (o.acl == nil ? "" : "+"))
        case "status": return .init(csv ? "" : "-")
        case "size": return .init(sizeSummary(o))
        case "last-activity": return .init(ctx.when(o.lastChange.seconds))
        case "pids": return .init(pids(c))
        case "verdict": return .init(c.verdict.rawValue, color: VerdictColor.code(c.verdict))
        case "reason": return .init(escaped(c.reasons.first ?? ""))
        default: return .init("-")
        }
    }

    /// A table of System V rows with the POSIX objects' rows after them, in the same columns.
    public static func table(_ sysv: Table, adding posix: [PosixClassification], columns: [Field<Classification>],
                             context: RenderContext) -> Table {
        guard !posix.isEmpty else { return sysv }
        var t = sysv
        t.rows += posix.map { c in columns.map { cell(c, column: $0.name, context: context) } }
        return t
    }

    /// The clean table with the POSIX results' rows after the System V ones, in the same columns (`CleanFields`).
    public static func table(_ sysv: Table, adding posix: [PosixCleanResult], columns: [Field<CleanResult>],
                             context: RenderContext) -> Table {
        guard !posix.isEmpty else { return sysv }
        var t = sysv
        t.rows += posix.map { r in
            columns.map { f -> Table.Cell in
                switch f.name {
                case "outcome": return .init(r.outcome.rawValue, color: CleanFields.outcomeColor(r.outcome, problem: r.isProblem))
                case "reason": return .init(escaped(r.reason))
                case "planned": return .init(r.planned ? "yes" : "no")
                case "already-gone": return .init(r.alreadyGone ? "yes" : "no")
                case "changes": return .init(r.changes.isEmpty ? "-" : r.changes.joined(separator: "; "))
                case "saved-to": return .init(r.savedTo ?? "-")
                default: return cell(r.classification, column: f.name, context: context)
                }
            }
        }
        return t
    }

    // MARK: JSON

    private static func time(_ t: FileTime, _ name: String, into o: inout [String: JSONValue]) {
        o[name] = .int(t.seconds)
        o[name + "ISO"] = TimeFormat.iso8601(t.seconds).map(JSONValue.string) ?? .null
        o[name + "Nanoseconds"] = .int(t.nanoseconds)
    }

    private static func holder(_ h: PosixHolder, users: UserDirectory) -> JSONValue {
        .object([
            "pid": .int(Int64(h.pid)), "command": .string(h.command), "unit": h.unit.map(JSONValue.string) ?? .null,
            "uid": .int(Int64(h.uid)), "user": users.userName(h.uid).map(JSONValue.string) ?? .null,
            "relation": .string(h.relation.rawValue),
            "fd": h.fds.first.map { .int(Int64($0)) } ?? .null, "fds": .array(h.fds.map { .int(Int64($0)) }),
            "mapping": h.mappings.first.map(JSONValue.string) ?? .null,
            "mappings": .array(h.mappings.map(JSONValue.string)),
        ])
    }

    /// One classified POSIX object as a JSON value (list, orphans, show; the man page documents each key).
    public static func json(_ c: PosixClassification, users: UserDirectory) -> JSONValue {
        let o = c.object
        var d: [String: JSONValue] = [
            "type": .string(o.kind.rawValue), "name": .string(o.name), "path": .string(o.path),
            "device": .string("\(o.identity.major):\(o.identity.minor)"), "inode": .int(Int64(bitPattern: o.identity.inode)),
            "size": .int(o.size), "blocks": .int(o.blocks), "usedBytes": .int(o.usedBytes),
            "owner": .object(["uid": .int(Int64(o.uid)), "user": users.userName(o.uid).map(JSONValue.string) ?? .null]),
            "group": .object(["gid": .int(Int64(o.gid)), "group": users.groupName(o.gid).map(JSONValue.string) ?? .null]),
            "mode": .int(Int64(o.mode)), "perms": .string(IPCTextFormat.octal(o.mode & 0o777)),
            "acl": o.acl.map { a in
                .array(a.map { e in
                    .object(["tag": .string(e.tag.rawValue), "qualifier": e.qualifier.map { .int(Int64($0)) } ?? .null,
                             "perms": .int(Int64(e.perms))])
                })
            } ?? .null,
            "verdict": .string(c.verdict.rawValue), "reasons": .array(c.reasons.map(JSONValue.string)),
            "evidence": .array(c.evidence.map { e in
                var fields: [String: JSONValue] = [:]
                e.forEachJSONField { k, v in
                    switch v {
                    case .int(let i): fields[k.description] = .int(i)
                    case .string(let t): fields[k.description] = .string(t)
                    case .bool(let b): fields[k.description] = .bool(b)
                    case .null: fields[k.description] = .null
                    }
                }
                return .object(fields)
            }),
            "holders": .array(c.holders.map { holder($0, users: users) }),
            "possibleHolders": .array(c.possibleHolders.map { holder($0, users: users) }),
            "queue": o.queue.map { q in
                .object([
                    "qsize": .int(Int64(q.qsize)), "notify": .int(Int64(q.notify)), "signo": .int(Int64(q.signo)),
                    "notifyPid": .int(Int64(q.notifyPid)), "messages": q.messages.map { .int(Int64($0)) } ?? .null,
                    "maxMessages": q.maxMessages.map { .int(Int64($0)) } ?? .null,
                    "messageSize": q.messageSize.map { .int(Int64($0)) } ?? .null,
                ])
            } ?? .null,
        ]
        time(o.atime, "atime", into: &d)
        time(o.mtimeNs, "mtime", into: &d)
        time(o.ctime, "ctime", into: &d)
        time(o.lastChange, "lastActivity", into: &d)
        // Another IPC namespace's object carries the same `namespace` object as a System V one.
        if let ns = c.namespace {
            d["namespace"] = .object(["inode": .int(Int64(bitPattern: ns.inode)), "owner": .string(ns.owner),
                                      "pid": ns.pid.map { .int(Int64($0)) } ?? .null])
        }
        return .object(d)
    }

    /// Streams a value through the one writer (keys in byte order).
    static func stream(_ v: JSONValue, to w: inout JSONStreamWriter) { w.value(v) }

    // MARK: show

    /// `show NAME`: one POSIX object in depth.
    public static func detail(_ c: PosixClassification, users: UserDirectory, now: Double, color: Bool) -> String {
        let o = c.object
        var lines: [String] = []
        func field(_ name: String, _ value: String) { lines.append("  " + name.padding(toLength: 16) + value) }
        func when(_ t: FileTime) -> String {
            let frac = String(t.nanoseconds)
            return "\(TimeFormat.local(t.seconds)).\(String(repeating: "0", count: max(0, 9 - frac.count)) + frac) (\(TimeFormat.relative(t.seconds, now: now)))"
        }
        lines.append("\(o.kind.noun) \(escaped(o.name))")
        field("path", escaped(o.path))
        if let ns = c.namespace {
            field("IPC namespace", "\(ns.inode) (\(ns.owner)\(ns.owner.hasPrefix("pid ") ? "" : ns.pid.map { ", pid \($0)" } ?? ""))")
        }
        field("owner", "\(users.displayUser(o.uid)) (uid \(o.uid)), group \(users.displayGroup(o.gid)) (gid \(o.gid))")
        field("mode", "\(IPCTextFormat.octal(o.mode & 0o7777)) \(IPCTextFormat.modeString(o.mode & 0o777))")
        if let acl = o.acl {
            field("acl", acl.map { e in
                "\(e.tag.rawValue)\(e.qualifier.map { ":\($0)" } ?? ""):\(e.perms & 4 != 0 ? "r" : "-")\(e.perms & 2 != 0 ? "w" : "-")\(e.perms & 1 != 0 ? "x" : "-")"
            }.joined(separator: ","))
        }
        field("inode", "\(o.identity.inode) on device \(o.identity.major):\(o.identity.minor)")
        if let q = o.queue {
            field("queue", "\(q.messages.map { "\($0) message\($0 == 1 ? "" : "s"), " } ?? "")\(q.qsize) bytes"
                  + (q.maxMessages.map { " (at most \($0) messages of \(q.messageSize ?? 0) bytes)" } ?? ""))
            field("notification", q.notifyPid > 0 ? "pid \(q.notifyPid) (NOTIFY \(q.notify), SIGNO \(q.signo))" : "none")
        } else {
            field("size", "\(o.size) bytes, \(o.usedBytes) bytes of memory used (\(o.blocks) blocks)")
        }
        field("modified", when(o.mtimeNs))
        field("changed", when(o.ctime))
        field("accessed", when(o.atime))
        let verdict = color ? "\u{1B}[\(VerdictColor.code(c.verdict))m\(c.verdict.rawValue)\u{1B}[0m" : c.verdict.rawValue
        field("verdict", verdict)
        lines.append("  evidence:")
        lines += c.reasons.map { "    - " + escaped($0) }
        let holders = c.holders + c.possibleHolders
        if !holders.isEmpty {
            let t = Table(
                columns: [.init("PID", right: true), .init("COMMAND"), .init("USER"), .init("UNIT"), .init("RELATION"),
                          .init("FD/MAPPING")],
                rows: holders.map { h in
                    [.init(String(h.pid)), .init(escaped(h.command)), .init(users.displayUser(h.uid)), .init(h.unit ?? "-"),
                     .init(h.relation.rawValue),
                     .init(h.fds.isEmpty ? (h.mappings.isEmpty ? "-" : h.mappings.joined(separator: " ")) : h.fds.map(String.init).joined(separator: ","))]
                })
            lines.append("  processes:")
            lines += t.render(width: nil, headings: true, color: false).split(separator: "\n").map { "    " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
