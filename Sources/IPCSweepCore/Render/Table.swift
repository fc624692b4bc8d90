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
    public var rows: [[Cell]]

    public init(columns: [Column], rows: [[Cell]]) {
        self.columns = columns
        self.rows = rows
    }

    /// Characters in a cell's text: its UTF-8 length when it is ASCII (most cells), else grapheme clusters.
    static func characterCount(_ s: String) -> Int {
        let ascii = s.utf8.withContiguousStorageIfAvailable { b in !b.contains { $0 >= 0x80 } } ?? !s.utf8.contains { $0 >= 0x80 }
        return ascii ? s.utf8.count : s.count
    }

    /// A cell's text as shown (escaped), its width in characters, and whether escaping changed it: one look at
    /// its bytes for the common cell (printable ASCII without a backslash: shown as it is, a character a byte).
    static func shown(_ s: String) -> (text: String, count: Int, changed: Bool) {
        if let n = plainCount(s) { return (s, n, false) }
        return escapedShown(s)
    }

    /// `shown` of a cell that is not plain printable ASCII.
    private static func escapedShown(_ s: String) -> (text: String, count: Int, changed: Bool) {
        let text = TextEscape.escaped(s)
        return (text, characterCount(text), text != s)
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

    /// The width of the widest line when nothing is truncated.
    public func naturalWidth(headings: Bool) -> Int {
        var widths = columns.map { headings ? Self.characterCount($0.header) : 0 }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], Self.shown(cell.text).count)
            }
        }
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
    /// is never whole in memory. Each cell is escaped and measured once (only the cells that escaping changes
    /// are kept aside). The rows and cells are read in place (`withUnsafeBufferPointer`): iterating them copied
    /// each row and cell, a reference count per string, for every one of the table's cells.
    public func render(width: Int?, headings: Bool, color: Bool, to write: (UnsafeRawBufferPointer) -> Void) {
        var widths = columns.map { headings ? Self.characterCount($0.header) : 0 }
        let ncol = columns.count
        var counts = [Int32](repeating: 0, count: rows.count * ncol)
        var escaped: [Int: String] = [:]
        // Counts and widths through their buffers: a subscript assignment checked the array's uniqueness per cell.
        counts.withUnsafeMutableBufferPointer { counts in
            widths.withUnsafeMutableBufferPointer { widths in
                rows.withUnsafeBufferPointer { rows in
                    for r in rows.indices {
                        rows[r].withUnsafeBufferPointer { cells in
                            for i in 0..<min(ncol, cells.count) {
                                let n: Int
                                if let plain = Self.plainCount(cells[i].text) {
                                    n = plain
                                } else {
                                    let (text, count, changed) = Self.escapedShown(cells[i].text)
                                    if changed { escaped[r * ncol + i] = text }
                                    n = count
                                }
                                counts[r * ncol + i] = Int32(clamping: n)
                                if n > widths[i] { widths[i] = n }
                            }
                        }
                    }
                }
            }
        }
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
            for i in columns.indices { out.cell(i, columns[i].header, Self.characterCount(columns[i].header), color: nil) }
            out.endLine()
        }
        rows.withUnsafeBufferPointer { rows in
            for r in rows.indices {
                rows[r].withUnsafeBufferPointer { cells in
                    for i in 0..<ncol {
                        if i < cells.count {
                            let at = r * ncol + i
                            // Most tables escape nothing: no lookup per cell then, and the cell's text is lent in
                            // place (choosing between it and an escaped text made a copy, a reference count each).
                            if !escaped.isEmpty, let e = escaped[at] {
                                out.cell(i, e, Int(counts[at]), color: color ? cells[i].color : nil)
                            } else {
                                out.cell(i, cells[i].text, Int(counts[at]), color: color ? cells[i].color : nil)
                            }
                        } else {
                            out.cell(i, "", 0, color: nil)
                        }
                    }
                }
                out.endLine()
                if out.count >= 1 << 16 { out.flush(write) }
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
        for row in rows { out += row.map { quote(TextEscape.escaped($0.text)) }.joined(separator: ",") + "\r\n" }
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
