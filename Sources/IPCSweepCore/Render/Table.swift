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
        var ascii = true
        for b in s.utf8 where b >= 0x80 {
            ascii = false
            break
        }
        return ascii ? s.utf8.count : s.count
    }

    /// The width of the widest line when nothing is truncated.
    public func naturalWidth(headings: Bool) -> Int {
        var widths = columns.map { headings ? Self.characterCount($0.header) : 0 }
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], Self.characterCount(TextEscape.escaped(cell.text)))
            }
        }
        return widths.reduce(0, +) + 2 * max(0, widths.count - 1)
    }

    /// Renders the table. `width` nil means no limit; `color` adds ANSI escapes.
    public func render(width: Int?, headings: Bool, color: Bool) -> String {
        String(decoding: renderBytes(width: width, headings: headings, color: color), as: UTF8.self)
    }

    /// `render` as UTF-8 bytes, for standard output (no String of the whole table).
    public func renderBytes(width: Int?, headings: Bool, color: Bool) -> [UInt8] {
        var widths = columns.map { headings ? Self.characterCount($0.header) : 0 }
        let texts = rows.map { row in row.map { TextEscape.escaped($0.text) } }
        // Counted once per cell (grapheme counting is what dominated rendering large tables).
        let counts = texts.map { row in row.map { Self.characterCount($0) } }
        for row in counts {
            for (i, n) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], n) }
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
        var out: [UInt8] = []
        out.reserveCapacity((rows.count + 1) * (widths.reduce(0, +) + 2 * widths.count + 1))
        func spaces(_ n: Int) { if n > 0 { out.append(contentsOf: repeatElement(32, count: n)) } }
        func append(_ s: String) {
            var s = s
            s.withUTF8 { out.append(contentsOf: $0) }  // one copy, not a byte at a time
        }
        func line(_ cells: [Cell], _ texts: [String], _ counts: [Int]?) {
            for (i, col) in columns.enumerated() {
                if i > 0 { out.append(contentsOf: [32, 32]) }
                let cell = i < cells.count ? cells[i] : Cell("")
                var text = i < texts.count ? texts[i] : ""
                var n = counts.map { i < $0.count ? $0[i] : 0 } ?? Self.characterCount(text)
                if n > widths[i] {
                    text = String(text.prefix(max(0, widths[i] - 1))) + "…"
                    n = text.count
                }
                let pad = widths[i] - n
                let isLast = i == columns.count - 1
                if col.rightAligned { spaces(pad) }
                if color, let c = cell.color {
                    append("\u{1B}[\(c)m")
                    append(text)
                    append("\u{1B}[0m")
                } else {
                    append(text)
                }
                if !col.rightAligned && !isLast { spaces(pad) }
            }
            out.append(10)
        }
        if headings { line(columns.map { Cell($0.header) }, columns.map(\.header), nil) }
        for (i, row) in rows.enumerated() { line(row, texts[i], counts[i]) }
        return out
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
