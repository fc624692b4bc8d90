/// How a field's column is laid out in a table (util-linux's width hint and flags).
public struct ColumnLayout: Sendable, Equatable {
    public var rightAligned: Bool
    /// May be shortened (with "…") when the table is wider than the terminal.
    public var flexible: Bool
    /// Never narrower than this when truncated.
    public var minWidth: Int

    public init(right: Bool = false, flexible: Bool = false, minWidth: Int = 8) {
        self.rightAligned = right
        self.flexible = flexible
        self.minWidth = minWidth
    }
}

/// Everything every output (table, CSV, JSON, `--columns`, the manual) knows about one field of a row.
///
/// As util-linux `lsipc.c`'s `coldescs[]`: a field is one line of a table (`ObjectFields`, `CleanFields`),
/// and a new field is one more line there. `kinds` says which of the six kinds the field applies to (a
/// column of one kind prints "-" in the rows of the others, its JSON member is absent from their objects;
/// `--columns` refuses a column that applies to none of the kinds asked for). `show` reads the same table:
/// a field's `detail` gives its lines in `show`.
///
public struct Field<Row>: Sendable {
    /// The name `--columns` takes ("id", "last-activity").
    public let name: String
    /// The table and CSV header ("ID", "LAST-ACTIVITY").
    public let header: String
    /// One line for `--columns` help and the manual.
    public let help: String
    /// The kinds it applies to.
    public let kinds: Set<IPCKind>
    public let layout: ColumnLayout
    /// The JSON members it writes, in order (a time writes "ctime" and "ctimeISO"); empty: no JSON form.
    public let jsonKeys: [StaticString]
    /// The kinds whose JSON objects carry it (a subset of `kinds`).
    public let jsonKinds: Set<IPCKind>
    /// Part of the JSON document when no `--columns` is given (every documented field is).
    public let inDefaultJSON: Bool
    /// The table or CSV cell.
    let text: @Sendable (Row, RenderContext) -> Table.Cell
    /// Writes the field's JSON members (keys and values).
    let json: (@Sendable (Row, inout JSONStreamWriter, RenderContext) -> Void)?
    /// Its lines in `show` (label, value), in the order `show` lists the field; empty for a row it says nothing of.
    let detail: (@Sendable (Row, RenderContext) -> [(String, String)])?

    public init(_ name: String, _ header: String, help: String, kinds: Set<IPCKind> = Set(IPCKind.allCases),
                layout: ColumnLayout = ColumnLayout(), jsonKeys: [StaticString] = [], jsonKinds: Set<IPCKind>? = nil,
                inDefaultJSON: Bool = true,
                text: @escaping @Sendable (Row, RenderContext) -> Table.Cell,
                json: (@Sendable (Row, inout JSONStreamWriter, RenderContext) -> Void)? = nil,
                detail: (@Sendable (Row, RenderContext) -> [(String, String)])? = nil) {
        self.name = name
        self.header = header
        self.help = help
        self.kinds = kinds
        self.layout = layout
        self.jsonKeys = json == nil ? [] : jsonKeys
        self.jsonKinds = jsonKinds ?? kinds
        self.inDefaultJSON = inDefaultJSON
        self.text = text
        self.json = json
        self.detail = detail
    }

    /// A yes/no field: "yes"/"no" in a table, true/false in JSON.
    public static func flag(_ name: String, _ header: String, help: String, kinds: Set<IPCKind> = Set(IPCKind.allCases),
                            key: StaticString, _ value: @escaping @Sendable (Row) -> Bool) -> Field {
        Field(name, header, help: help, kinds: kinds, layout: ColumnLayout(minWidth: 3), jsonKeys: [key],
              text: { r, _ in Table.Cell(value(r) ? "yes" : "no") },
              json: { r, w, _ in
                  w.key(key)
                  w.bool(value(r))
              })
    }

    /// The JSON key the document is sorted by ("" when the field has no JSON form).
    public var sortKey: String { jsonKeys.first.map { "\($0)" } ?? "" }

    /// The same field read from a larger row (a clean result's classification); `inDefaultJSON` overrides
    /// whether the larger row's document carries it. The part is lent to the field's closures in place
    /// (`RowPart.with`): a closure returning it would copy it for every cell.
    public func lifted<Part: RowPart>(inDefaultJSON: Bool? = nil, _ part: Part.Type) -> Field<Part.Outer>
    where Part.Inner == Row {
        let text = self.text
        var outerJSON: (@Sendable (Part.Outer, inout JSONStreamWriter, RenderContext) -> Void)?
        if let j = self.json { outerJSON = { row, w, ctx in Part.with(row) { j($0, &w, ctx) } } }
        var outerDetail: (@Sendable (Part.Outer, RenderContext) -> [(String, String)])?
        if let d = self.detail { outerDetail = { row, ctx in Part.with(row) { d($0, ctx) } } }
        let outerText: @Sendable (Part.Outer, RenderContext) -> Table.Cell = { row, ctx in Part.with(row) { text($0, ctx) } }
        return Field<Part.Outer>(name, header, help: help, kinds: kinds, layout: layout, jsonKeys: jsonKeys,
                                 jsonKinds: jsonKinds, inDefaultJSON: inDefaultJSON ?? self.inDefaultJSON,
                                 text: outerText, json: outerJSON, detail: outerDetail)
    }
}

/// A row held inside a larger one (a clean result's classification), lent to a body without a copy.
public protocol RowPart: Sendable {
    associatedtype Outer
    associatedtype Inner
    static func with<T>(_ outer: Outer, _ body: (Inner) throws -> T) rethrows -> T
}

/// Which columns to show: `--columns LIST`, `+LIST` (added to the defaults) or `all`.
public enum ColumnSelection: Sendable, Equatable {
    /// The table's default columns; every documented field in JSON.
    case defaults
    /// Exactly these, in this order (JSON: exactly these fields).
    case only([String])
    /// The defaults and then these.
    case adding([String])
    /// Every field that applies to the kinds shown.
    case all

    /// Parses "a,b", "+a,b" or "all" (case-insensitive names, blanks ignored); nil when a name is empty.
    public init?(parsing text: String) {
        let t = text.filter { $0 != " " && $0 != "\t" }.lowercased()
        if t == "all" {
            self = .all
            return
        }
        let adding = t.hasPrefix("+")
        let names = (adding ? String(t.dropFirst()) : t).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard !names.isEmpty, !names.contains(where: \.isEmpty) else { return nil }
        self = adding ? .adding(names) : .only(names)
    }
}

/// A `--columns` name that does not exist, or that applies to none of the kinds shown.
public struct ColumnError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// The fields of one kind of row (objects, clean results), in table order, and the outputs they drive.
///
public struct FieldTable<Row>: Sendable {
    /// Every field, in the order `all` shows them.
    public let fields: [Field<Row>]
    /// The columns a table shows by default.
    public let defaultColumns: [String]
    /// The kind of a row (which fields apply to it).
    let kindOf: @Sendable (Row) -> IPCKind
    /// For each kind, the JSON fields in key order.
    private let jsonOrder: [IPCKind: [Field<Row>]]

    public init(fields: [Field<Row>], defaultColumns: [String], kindOf: @escaping @Sendable (Row) -> IPCKind) {
        self.fields = fields
        self.defaultColumns = defaultColumns
        self.kindOf = kindOf
        var order: [IPCKind: [Field<Row>]] = [:]
        // Indices sorted by keys worded once (a stable sort, as before): sorting the fields themselves copied
        // each field and worded its key at every comparison.
        let keys = fields.map(\.sortKey)
        for kind in IPCKind.allCases {
            order[kind] = fields.indices.filter { fields[$0].json != nil && fields[$0].jsonKinds.contains(kind) }
                .sorted { keys[$0] < keys[$1] }.map { fields[$0] }
        }
        jsonOrder = order
    }

    /// The field named `name`.
    public func field(_ name: String) -> Field<Row>? { fields.first { $0.name == name } }

    /// The fields a selection names, checked against the kinds shown; a one-line error names the column.
    public func columns(_ selection: ColumnSelection, kinds: Set<IPCKind>, command: String) throws(ColumnError) -> [Field<Row>] {
        let shown = kinds.isEmpty ? Set(IPCKind.allCases) : kinds
        // The command's own default columns are never refused: a column of another kind prints "-".
        func resolve(_ names: [String], given: Bool = true) throws(ColumnError) -> [Field<Row>] {
            var out: [Field<Row>] = []
            for name in names {
                guard let f = field(name) else {
                    throw ColumnError(description: "--columns \(name): no such column for \(command); known columns: \(fields.map(\.name).joined(separator: ", "))")
                }
                guard !given || !f.kinds.isDisjoint(with: shown) else {
                    let applies = f.kinds == IPCKind.posix ? "POSIX objects" : f.kinds == IPCKind.sysv ? "System V objects"
                        : IPCKind.allCases.filter(f.kinds.contains).map(\.rawValue).joined(separator: ", ")
                    let asked = IPCKind.allCases.filter(shown.contains).map(\.rawValue).joined(separator: ", ")
                    throw ColumnError(description: "--columns \(name): the column applies to \(applies) only, not to \(asked) (--type); drop it or add --type \(IPCKind.allCases.first { f.kinds.contains($0) }?.rawValue ?? "")")
                }
                if !out.contains(where: { $0.name == f.name }) { out.append(f) }
            }
            return out
        }
        switch selection {
        case .defaults: return try resolve(defaultColumns, given: false)
        case .only(let names): return try resolve(names)
        case .adding(let names): return try resolve(defaultColumns, given: false) + resolve(names).filter { !defaultColumns.contains($0.name) }
        case .all: return fields.filter { !$0.kinds.isDisjoint(with: shown) }
        }
    }

    /// The JSON fields a selection writes: every documented one by default (and `+LIST` adds to them),
    /// exactly the listed ones otherwise.
    public func jsonFields(_ selection: ColumnSelection, kinds: Set<IPCKind>, command: String) throws(ColumnError) -> JSONSelection {
        switch selection {
        case .defaults: return JSONSelection(names: nil)
        case .all: return JSONSelection(names: Set(fields.filter { $0.json != nil }.map(\.name)))
        case .only: return JSONSelection(names: Set(try columns(selection, kinds: kinds, command: command).map(\.name)))
        case .adding(let extra):
            let added = try columns(.only(extra), kinds: kinds, command: command).map(\.name)
            return JSONSelection(names: Set(fields.filter { $0.inDefaultJSON && $0.json != nil }.map(\.name) + added))
        }
    }

    /// The names of the JSON fields to write; nil: every field that is in the default document.
    public struct JSONSelection: Sendable {
        public var names: Set<String>?
        public init(names: Set<String>?) { self.names = names }
        /// Every field of the documented document.
        public static var documented: JSONSelection { JSONSelection(names: nil) }
    }

    /// The rows as a text table (or CSV) of these columns.
    ///
    /// The cells are made a column at a time within each chunk of rows (a closure taken out of the column list once
    /// per chunk, not once per cell: its context's reference count is then not shared by the CPUs), the chunks on
    /// every CPU, each with its own `RenderContext` (the caches of names and times are written as cells are made).
    // Specialized for the two row types (called from the command module, which would otherwise run the generic
    // version: it copies every row, a large value, to pass it to the cells).
    @_specialize(exported: true, where Row == Classification)
    @_specialize(exported: true, where Row == CleanResult)
    public func table(_ rows: [Row], columns: [Field<Row>], context: RenderContext) -> Table where Row: Sendable {
        let cols = columns.map { Table.Column($0.header, right: $0.layout.rightAligned, flexible: $0.layout.flexible,
                                              minWidth: $0.layout.minWidth) }
        // Which columns apply to each kind (by rank), worked out once per table, not per cell.
        var applying = [[Bool]](repeating: [], count: IPCKind.allCases.count)
        for kind in IPCKind.allCases { applying[kind.rank] = columns.map { $0.kinds.contains(kind) } }
        let applies = applying
        let texts = columns.map(\.text)
        let n = texts.count
        let chunk = Self.rowsPerChunk
        let chunks = max(1, (rows.count + chunk - 1) / chunk)
        // One context per chunk (the first chunk, and a small table, use the caller's): each is used by one worker.
        let contexts = UncheckedSendable((0..<chunks).map { $0 == 0 ? context : context.sibling() })
        let kindOf = self.kindOf
        let made = Parallel.map(chunks, serialBelow: 2, state: { () }) { _, c -> Table.Cells in
            let lower = c * chunk, upper = min(rows.count, lower + chunk)
            let m = max(0, upper - lower)
            let ctx = contexts.value[c]
            let ranks = (lower..<lower + m).map { kindOf(rows[$0]).rank }
            // A column at a time: one closure taken out of the column list per column, not per cell.
            var cells = Table.Cells(columns: n, rows: m)
            for i in 0..<n {
                let text = texts[i]
                for r in 0..<m {
                    cells.set(applies[ranks[r]][i] ? text(rows[lower + r], ctx) : Table.Cell("-"), row: r, column: i)
                }
            }
            return cells
        }
        return Table(columns: cols, chunks: made)
    }

    /// Rows per chunk of `table`'s work: below twice this, one thread makes every cell.
    static var rowsPerChunk: Int { 2048 }

    /// The writer of one row's JSON object for a selection: for each kind, the selected fields' writers in key
    /// order, worked out once per document (not per row).
    public func objectWriter(_ selection: JSONSelection) -> ObjectWriter {
        var byKind: [[Writer]] = []
        for kind in IPCKind.allCases.sorted(by: { $0.rank < $1.rank }) {
            let fields = (jsonOrder[kind] ?? []).filter { f in selection.names.map { $0.contains(f.name) } ?? f.inDefaultJSON }
            byKind.append(fields.compactMap(\.json))
        }
        return ObjectWriter(byKind: byKind, kindOf: kindOf)
    }

    public typealias Writer = @Sendable (Row, inout JSONStreamWriter, RenderContext) -> Void

    /// Writes rows as JSON objects (see `objectWriter`).
    public struct ObjectWriter {
        let byKind: [[Writer]]
        let kindOf: @Sendable (Row) -> IPCKind

        public func write(_ row: Row, to w: inout JSONStreamWriter, context: RenderContext) {
            w.beginObject()
            byKind[kindOf(row).rank].withUnsafeBufferPointer { writers in
                for write in writers { write(row, &w, context) }
            }
            w.endObject()
        }
    }

    /// One row as a JSON object: the selected fields that apply to its kind, in key order.
    public func writeObject(_ row: Row, selection: JSONSelection, to w: inout JSONStreamWriter, context: RenderContext) {
        objectWriter(selection).write(row, to: &w, context: context)
    }
}
