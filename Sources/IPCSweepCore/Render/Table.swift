/// A text table: columns as data, aligned, fitted to a width by truncating the flexible columns. Its cells are
/// values (other users' text among them): they are escaped here (`TextEscape`), where the table leaves as text or
/// CSV; headers and colours are the program's.
public struct Table {
    /// One column: its header, alignment and whether it may be truncated to fit.
    public struct Column: Sendable {
        public var header: String
        public var rightAligned: Bool
        /// May be shortened (with "…") when the table is wider than the terminal.
        public var flexible: Bool
        /// Never narrower than this when truncated.
        public var minWidth: Int
        public init(_ header: String, right: Bool = false, flexible: Bool = false, minWidth: Int = 8) {
            self.header = header
            self.rightAligned = right
            self.flexible = flexible
            self.minWidth = minWidth
        }
    }

    /// A cell: its text, and an optional ANSI colour code applied only when colour is on.
    public struct Cell: Sendable {
        public var text: String
        public var color: String?
        public init(_ text: String, color: String? = nil) {
            self.text = text
            self.color = color
        }
    }

    public var columns: [Column]
    /// The cells as shown, in chunks of whole rows (`FieldTable.table` makes one per worker).
    var chunks: [Cells]

    public init(columns: [Column], rows: [[Cell]]) {
        var cells = Cells(columns: columns.count, rows: rows.count)
        for (r, row) in rows.enumerated() {
            for i in columns.indices { cells.set(i < row.count ? row[i] : Cell(""), row: r, column: i) }
        }
        self.init(columns: columns, chunks: [cells])
    }

    init(columns: [Column], chunks: [Cells]) {
        self.columns = columns
        self.chunks = chunks
    }

    /// The rows as shown (escaped), for a caller that wants cells back.
    public var rows: [[Cell]] {
        chunks.flatMap { c in (0..<c.rowCount).map { r in (0..<c.columns).map { c.cell(r * c.columns + $0) } } }
    }

    /// Cells of whole rows as shown, in three flat arrays: each cell's text as shown (escaped; most cells share the
    /// text they were made from), its width in characters and its colour. A cell is escaped and measured once,
    /// where it is made (on the worker that made it), and costs 21 bytes here: as rows of `Cell`s with a width
    /// array beside them it cost 41 (`clean`'s table of 40,000 rows: 11.4 MB → 5.9 MB).
    struct Cells {
        let columns: Int
        let rowCount: Int
        private(set) var texts: [String]
        /// Per cell, its width in characters.
        private(set) var widths: [Int32]
        /// Per cell, its colour: 0 none, else `palette[k - 1]`.
        private var colorIndex: [UInt8]
        private var palette: [String] = []
        /// Per column, its widest cell.
        private(set) var widest: [Int]

        /// `rows` rows of empty cells, each to be set once.
        init(columns: Int, rows: Int) {
            self.columns = columns
            rowCount = rows
            texts = Array(repeating: "", count: columns * rows)
            widths = Array(repeating: 0, count: columns * rows)
            colorIndex = Array(repeating: 0, count: columns * rows)
            widest = Array(repeating: 0, count: columns)
        }

        /// Row `r`'s cell in column `i`, in any order (`FieldTable.table` makes a column at a time).
        mutating func set(_ cell: Cell, row r: Int, column i: Int) {
            let k = r * columns + i
            let n: Int
            if let plain = Table.plainCount(cell.text) {
                texts[k] = cell.text
                n = plain
            } else {
                let shown = TextEscape.escaped(cell.text)
                texts[k] = shown
                n = Table.characterCount(shown)
            }
            widths[k] = Int32(clamping: n)
            colorIndex[k] = colorNumber(cell.color)
            if n > widest[i] { widest[i] = n }
        }

        private mutating func colorNumber(_ color: String?) -> UInt8 {
            guard let color else { return 0 }
            if let i = palette.firstIndex(of: color) { return UInt8(i + 1) }
            guard palette.count < Int(UInt8.max) else { return 0 }  // more colours than any table has: plain
            palette.append(color)
            return UInt8(palette.count)
        }

        func color(_ k: Int) -> String? {
            let c = Int(colorIndex[k])
            return c == 0 ? nil : palette[c - 1]
        }

        /// Cell `k` as shown.
        func cell(_ k: Int) -> Cell { Cell(texts[k], color: color(k)) }
    }

    /// Characters in a cell's text: its UTF-8 length when it is ASCII (most cells), else grapheme clusters.
    static func characterCount(_ s: String) -> Int {
        let ascii = s.utf8.withContiguousStorageIfAvailable { b in !b.contains { $0 >= 0x80 } } ?? !s.utf8.contains { $0 >= 0x80 }
        return ascii ? s.utf8.count : s.count
    }

    /// The length of a cell shown as it is (printable ASCII without a backslash), nil for any other: one pass
    /// over its bytes, sixteen at a time (a reason is a hundred bytes or more), without a branch per byte.
    @inline(__always)
    static func plainCount(_ s: borrowing String) -> Int? {
        s.utf8.withContiguousStorageIfAvailable { b -> Int? in
            guard let base = b.baseAddress else { return 0 }
            return ByteBlock.allSafe(base, b.count, quote: false) ? b.count : nil
        } ?? nil
    }

    /// Each column's width when nothing is truncated.
    private func naturalWidths(headings: Bool) -> [Int] {
        var widths = columns.map { headings ? Self.characterCount($0.header) : 0 }
        for c in chunks {
            for i in widths.indices where c.widest[i] > widths[i] { widths[i] = c.widest[i] }
        }
        return widths
    }

    /// The width of the widest line when nothing is truncated.
    public func naturalWidth(headings: Bool) -> Int {
        let widths = naturalWidths(headings: headings)
        return widths.reduce(0, +) + 2 * max(0, widths.count - 1)
    }

    /// Renders the table. `width` nil means no limit; `color` adds ANSI escapes.
    public func render(width: Int?, headings: Bool, color: Bool) -> String {
        String(decoding: renderBytes(width: width, headings: headings, color: color), as: UTF8.self)
    }

    /// `render` as UTF-8 bytes (no String of the whole table).
    public func renderBytes(width: Int?, headings: Bool, color: Bool) -> [UInt8] {
        var all: [UInt8] = []
        render(width: width, headings: headings, color: color) { all.append(contentsOf: $0) }
        return all
    }

    /// `render` as UTF-8 bytes handed to `write` in pieces of about 64 KiB, for standard output: the table's text
    /// is never whole in memory. The cells were escaped and measured when they were stored (`Cells`).
    public func render(width: Int?, headings: Bool, color: Bool, to write: (UnsafeRawBufferPointer) -> Void) {
        var widths = naturalWidths(headings: headings)
        if let width {
            var excess = widths.reduce(0, +) + 2 * (widths.count - 1) - width
            // Shrink the widest flexible column first, down to its minimum.
            while excess > 0 {
                let candidates = columns.indices.filter { columns[$0].flexible && widths[$0] > columns[$0].minWidth }
                guard let i = candidates.max(by: { widths[$0] < widths[$1] }) else { break }
                let cut = min(excess, widths[i] - columns[i].minWidth)
                widths[i] -= cut
                excess -= cut
            }
        }
        var out = Lines(columns: columns, widths: widths)
        if headings {
            for i in columns.indices {
                out.cell(i, columns[i].header, Self.characterCount(columns[i].header), color: nil)
            }
            out.endLine()
        }
        let ncol = columns.count
        for chunk in chunks {
            // Read in place: iterating the arrays would copy each text, a reference count per cell.
            chunk.texts.withUnsafeBufferPointer { texts in
                chunk.widths.withUnsafeBufferPointer { counts in
                    var k = 0
                    for _ in 0..<chunk.rowCount {
                        for i in 0..<ncol {
                            out.cell(i, texts[k], Int(counts[k]), color: color ? chunk.color(k) : nil)
                            k += 1
                        }
                        out.endLine()
                        if out.count >= 1 << 16 { out.flush(write) }
                    }
                }
            }
        }
        out.flush(write)
    }

    /// The lines of a table as bytes (`OutputBuffer`): each cell padded to its column's width (shortened with
    /// "…" past it). A struct with its buffer, not closures sharing a captured one: each append was an
    /// exclusivity check.
    private struct Lines {
        let widths: [Int]
        /// Per column: right-aligned; the last column (no padding after it).
        let right: [Bool]
        let last: Int
        private var out = OutputBuffer(capacity: (1 << 16) + 4096)

        init(columns: [Column], widths: [Int]) {
            self.widths = widths
            right = columns.map(\.rightAligned)
            last = columns.count - 1
        }

        /// Bytes written and not yet handed on.
        var count: Int { out.count }

        /// Column `i`'s cell: its shown text and width.
        mutating func cell(_ i: Int, _ shown: borrowing String, _ count: Int, color: String?) {
            if i > 0 {
                out.reserve(2)
                out.put(32)
                out.put(32)
            }
            let w = widths[i]
            if count > w {
                let cut = String(String(copy shown).prefix(max(0, w - 1))) + "…"
                return pad(i, cut, cut.count, color: color)
            }
            pad(i, shown, count, color: color)
        }

        private mutating func pad(_ i: Int, _ text: borrowing String, _ n: Int, color: String?) {
            let pad = widths[i] - n
            let right = right[i]
            if right { out.append(repeating: 32, count: pad) }
            if let c = color {
                out.append("\u{1B}[\(c)m")
                out.append(text)
                out.append("\u{1B}[0m")
            } else {
                out.append(text)
            }
            if !right && i != last { out.append(repeating: 32, count: pad) }
        }

        mutating func endLine() { out.append(10) }

        mutating func flush(_ write: (UnsafeRawBufferPointer) -> Void) { out.handOn(to: write) }
    }

    /// RFC 4180 CSV of the same columns, with full (untruncated) values.
    public func csv(headings: Bool) -> String {
        func quote(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingAll("\"", with: "\"\"") + "\"" : s
        }
        var out = ""
        if headings { out += columns.map { quote($0.header) }.joined(separator: ",") + "\r\n" }
        // The stored cells are already escaped.
        for c in chunks {
            for r in 0..<c.rowCount {
                out += (0..<c.columns).map { quote(c.texts[r * c.columns + $0]) }
                    .joined(separator: ",") + "\r\n"
            }
        }
        return out
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for ch in self { if ch == target { out += replacement } else { out.append(ch) } }
        return out
    }
}

/// ANSI colours for verdicts.
public enum VerdictColor {
    public static func code(_ v: Verdict) -> String {
        switch v {
        case .inUse: return "32"
        case .orphaned: return "31;1"
        case .suspect: return "33"
        case .unknown: return "35"
        }
    }
}
