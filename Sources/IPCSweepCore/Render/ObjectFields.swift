/// The fields of a classified object of any of the six kinds: one table, read by the `list`/`orphans`/`show`
/// table, CSV and JSON, by `--columns` and by `show`. A field a kind lacks prints "-" in its rows and is absent
/// from its JSON object. The manual's COLUMNS and JSON OUTPUT sections list the same names
/// (`DocumentationDriftTests` checks that they do).
///
/// A new field is one more line here (what every kind has), in `ObjectFields+SysV` or in `ObjectFields+Posix`.
public enum ObjectFields {
    public typealias F = Field<Classification>

    /// The table of list, orphans and show.
    public static let table = FieldTable<Classification>(
        fields: common + sem + shm + msg + posix,
        defaultColumns: ["type", "id", "key", "owner", "perms", "status", "size", "last-activity", "pids", "verdict"],
        kindOf: { $0.object.kind })

    /// orphans: the defaults and the decisive reason.
    public static let orphansColumns = table.defaultColumns + ["reason"]

    /// The order of `show`'s lines, per family (each field gives its own lines for the kinds it applies to).
    public static let showOrder: [IPCFamily: [String]] = [
        .sysv: ["owner", "creator", "perms", "ctime", "nsems", "otime", "size", "nattch", "cpid", "lpid", "atime", "dtime",
                "status", "qnum", "lspid", "lrpid", "stime", "rtime", "last-activity"],
        .posix: ["path", "owner", "mode", "acl", "inode", "queue", "size", "mtime", "ctime", "atime"],
    ]

    /// The columns a table shows for these rows: the CSV's (`csvColumns`), without STATUS when no row has a
    /// flag and without ID and KEY when no row is a System V object, unless `--columns` asked for them.
    /// `fact` reads what chooses columns from a row's object (a clean result's or the row itself).
    @_specialize(exported: true, where Row == Classification)
    @_specialize(exported: true, where Row == CleanResult)
    public static func tableColumns<Row>(_ columns: [Field<Row>], of table: FieldTable<Row>, for rows: [Row],
                                         selection: ColumnSelection,
                                         _ fact: (Row) -> RowFact) -> [Field<Row>] {
        let facts = RowFacts(rows, fact)
        let cut = csvColumns(columns, of: table, facts: facts, selection: selection)
        guard selection == .defaults else { return cut }
        return cut.filter { f in
            (f.name != "status" || facts.flags) && ((f.name != "id" && f.name != "key") || facts.sysv || rows.isEmpty)
        }
    }

    /// The columns a CSV (and a table) has for these rows when `--columns` did not choose them: NAMESPACE first
    /// when some row has one (--namespace, --all-namespaces), NAME after KEY when some row is a POSIX object.
    @_specialize(exported: true, where Row == Classification)
    @_specialize(exported: true, where Row == CleanResult)
    public static func csvColumns<Row>(_ columns: [Field<Row>], of table: FieldTable<Row>, for rows: [Row],
                                       selection: ColumnSelection,
                                       _ fact: (Row) -> RowFact) -> [Field<Row>] {
        csvColumns(columns, of: table, facts: RowFacts(rows, fact), selection: selection)
    }

    static func csvColumns<Row>(_ columns: [Field<Row>], of table: FieldTable<Row>, facts: RowFacts,
                                selection: ColumnSelection) -> [Field<Row>] {
        switch selection {
        case .only, .all: return columns
        case .defaults, .adding: break
        }
        var out = columns
        if facts.posix, !out.contains(where: { $0.name == "name" }), let name = table.field("name") {
            let at = (out.firstIndex { $0.name == "key" } ?? out.firstIndex { $0.name == "type" }).map { $0 + 1 } ?? 0
            out.insert(name, at: at)
        }
        if facts.namespace, !out.contains(where: { $0.name == "namespace" }), let ns = table.field("namespace") {
            out.insert(ns, at: 0)
        }
        return out
    }

    /// What one row's object says about the columns: read from the classification in place (a classification is
    /// a large value: a closure returning it would copy it, once per row).
    public struct RowFact {
        var posix: Bool
        /// A System V object with a status flag.
        var flagged: Bool
        var namespaced: Bool

        public init(_ c: borrowing Classification) {
            posix = c.object.family == .posix
            flagged = !posix && !IPCTextFormat.status(c.object.perm.mode).isEmpty
            namespaced = c.namespace != nil
        }
    }

    /// What the rows hold that chooses columns, found in one pass over them, stopping when every answer is yes.
    struct RowFacts {
        /// Some row is a POSIX object; is a System V object; is a System V object with a status flag; has a namespace.
        var posix = false
        var sysv = false
        var flags = false
        var namespace = false

        init<Row>(_ rows: [Row], _ fact: (Row) -> RowFact) {
            for row in rows {
                let f = fact(row)
                posix = posix || f.posix
                sysv = sysv || !f.posix
                flags = flags || f.flagged
                namespace = namespace || f.namespaced
                if posix && flags && namespace { break }
            }
        }
    }

    // MARK: builders

    static let all = Set(IPCKind.allCases)

    /// A number (nil value: null in JSON, "-" in a table).
    static func number(_ name: String, _ header: String, _ help: String, _ kinds: Set<IPCKind>, key: StaticString,
                       detail: (@Sendable (Classification, RenderContext) -> [(String, String)])? = nil,
                       _ value: @escaping @Sendable (IPCObject) -> Int64?) -> F {
        F(name, header, help: help, kinds: kinds, layout: ColumnLayout(right: true, minWidth: 3), jsonKeys: [key],
          text: { c, _ in Table.Cell(value(c.object).map(String.init) ?? "-") },
          json: { c, w, _ in
              w.key(key)
              if let v = value(c.object) { w.int(v) } else { w.null() }
          }, detail: detail)
    }

    /// A time: epoch seconds and its ISO-8601 twin in JSON (and, for a POSIX object, its nanoseconds in
    /// `KEYNanoseconds`); relative (and absolute) in a table.
    static func time(_ name: String, _ header: String, _ help: String, _ kinds: Set<IPCKind>, key: StaticString,
                     iso: StaticString, nanoseconds: StaticString? = nil,
                     detail: (@Sendable (Classification, RenderContext) -> [(String, String)])? = nil,
                     _ value: @escaping @Sendable (IPCObject) -> FileTime) -> F {
        F(name, header, help: help, kinds: kinds, layout: ColumnLayout(flexible: true, minWidth: 10),
          jsonKeys: [key, iso] + (nanoseconds.map { [$0] } ?? []),
          text: { c, ctx in Table.Cell(ctx.when(value(c.object).seconds)) },
          json: { c, w, ctx in
              let t = value(c.object)
              w.key(key)
              w.int(t.seconds)
              w.key(iso)
              w.raw(ctx.isoJSON(t.seconds))
              if let nanoseconds, c.object.family == .posix {
                  w.key(nanoseconds)
                  w.int(t.nanoseconds)
              }
          }, detail: detail)
    }

    static func bool(_ name: String, _ header: String, _ help: String, _ kinds: Set<IPCKind>, key: StaticString,
                     _ value: @escaping @Sendable (IPCObject) -> Bool) -> F {
        F.flag(name, header, help: help, kinds: kinds, key: key) { value($0.object) }
    }

    /// "2026-11-21 01:02:03 (5 min ago)", or "never".
    static func when(_ t: Int64, _ ctx: RenderContext) -> String {
        t == 0 ? "never" : "\(TimeFormat.local(t)) (\(TimeFormat.relative(t, now: ctx.now)))"
    }

    /// "www-data (uid 33), group www-data (gid 33)".
    static func who(_ uid: UInt32, _ gid: UInt32, _ ctx: RenderContext) -> String {
        "\(ctx.users.displayUser(uid)) (uid \(uid)), group \(ctx.users.displayGroup(gid)) (gid \(gid))"
    }

    /// The pids of the table's PIDS column: a System V object's recorded pids (sempid, cpid, lpid, lspid, lrpid;
    /// 0 omitted), a POSIX object's holders; each once.
    static func pids(_ c: Classification) -> [Int32] {
        var seen: Set<Int32> = []
        var out: [Int32] = []
        if c.object.family == .posix {
            for h in c.holders where seen.insert(h.pid).inserted { out.append(h.pid) }
        } else {
            c.object.forEachRecordedPid { r in if r.pid > 0 && seen.insert(r.pid).inserted { out.append(r.pid) } }
        }
        return out
    }

    static func holders(_ name: String, _ header: String, _ help: String, key: StaticString,
                        _ list: @escaping @Sendable (Classification) -> [Holder]) -> F {
        F(name, header, help: help, layout: ColumnLayout(flexible: true, minWidth: 8), jsonKeys: [key],
          text: { c, _ in
              let l = list(c)
              return Table.Cell(l.isEmpty ? "-" : l.map { "\($0.pid) \($0.command)" }.joined(separator: ", "))
          },
          json: { c, w, ctx in
              let posix = c.object.family == .posix
              w.key(key)
              w.beginArray()
              for h in list(c) {
                  w.element()
                  w.holder(h, descriptors: posix, ctx)
              }
              w.endArray()
          })
    }
}

extension JSONStreamWriter {
    /// `{"command", "pid", "relation", "uid", "unit", "user"}`, and for a POSIX object's holder also `fd`,
    /// `fds`, `mapping`, `mappings` (the first descriptor and mapping, and all of them).
    mutating func holder(_ h: Holder, descriptors: Bool, _ ctx: RenderContext) {
        beginObject()
        key("command")
        string(h.command)
        if descriptors {
            key("fd")
            if let fd = h.fds.first { int(fd) } else { null() }
            key("fds")
            beginArray()
            for fd in h.fds {
                element()
                int(fd)
            }
            endArray()
            key("mapping")
            string(h.mappings.first)
            key("mappings")
            strings(h.mappings)
        }
        key("pid")
        int(h.pid)
        key("relation")
        string(h.relation.rawValue)
        key("uid")
        int(h.uid)
        key("unit")
        string(h.unit)
        key("user")
        raw(ctx.userJSON(h.uid))
        endObject()
    }
}
