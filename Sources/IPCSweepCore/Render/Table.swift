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
        let plain = s.utf8.withContiguousStorageIfAvailable { b in !b.contains { $0 < 0x20 || $0 >= 0x7f || $0 == 0x5c } }
        if plain == true { return (s, s.utf8.count, false) }
        let text = TextEscape.escaped(s)
        return (text, characterCount(text), text != s)
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
    /// are kept aside).
    public func render(width: Int?, headings: Bool, color: Bool, to write: (UnsafeRawBufferPointer) -> Void) {
        var widths = columns.map { headings ? Self.characterCount($0.header) : 0 }
        let ncol = columns.count
        var counts = [Int32](repeating: 0, count: rows.count * ncol)
        var escaped: [Int: String] = [:]
        for (r, row) in rows.enumerated() {
            for (i, cell) in row.enumerated() where i < ncol {
                let (text, n, changed) = Self.shown(cell.text)
                if changed { escaped[r * ncol + i] = text }
                counts[r * ncol + i] = Int32(clamping: n)
                widths[i] = max(widths[i], n)
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
        for (r, row) in rows.enumerated() {
            for i in columns.indices {
                if i < row.count {
                    out.cell(i, escaped[r * ncol + i] ?? row[i].text, Int(counts[r * ncol + i]), color: color ? row[i].color : nil)
                } else {
                    out.cell(i, "", 0, color: nil)
                }
            }
            out.endLine()
            if out.bytes.count >= 1 << 16 { out.flush(write) }
        }
        out.flush(write)
    }

    /// The lines of a table as bytes: each cell padded to its column's width (shortened with "…" past it).
    /// A struct with its buffer, not closures sharing a captured one: each append was an exclusivity check.
    private struct Lines {
        let columns: [Column]
        let widths: [Int]
        var bytes: [UInt8] = []

        init(columns: [Column], widths: [Int]) {
            self.columns = columns
            self.widths = widths
            bytes.reserveCapacity((1 << 16) + 4096)
        }

        mutating func spaces(_ n: Int) { if n > 0 { bytes.append(contentsOf: repeatElement(32, count: n)) } }

        mutating func append(_ s: String) {
            // One copy, not a byte at a time (a native string's bytes are contiguous).
            if s.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
                bytes.append(contentsOf: s.utf8)
            }
        }

        /// Column `i`'s cell: its shown text and width.
        mutating func cell(_ i: Int, _ shown: String, _ count: Int, color: String?) {
            if i > 0 {
                bytes.append(32)
                bytes.append(32)
            }
            var (text, n) = (shown, count)
            if n > widths[i] {
                text = String(text.prefix(max(0, widths[i] - 1))) + "…"
                n = text.count
            }
            let pad = widths[i] - n
            let right = columns[i].rightAligned
            if right { spaces(pad) }
            if let c = color {
                append("\u{1B}[\(c)m")
                append(text)
                append("\u{1B}[0m")
            } else {
                append(text)
            }
            if !right && i != columns.count - 1 { spaces(pad) }
        }

        mutating func endLine() { bytes.append(10) }

        mutating func flush(_ write: (UnsafeRawBufferPointer) -> Void) {
            guard !bytes.isEmpty else { return }
            bytes.withUnsafeBytes(write)
            bytes.removeAll(keepingCapacity: true)
        }
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
