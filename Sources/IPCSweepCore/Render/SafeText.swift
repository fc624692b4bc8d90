/// The escaping of text other users control — process names, cgroup paths and unit names, object names and
/// paths, user and group names from NSS, evidence details — where output leaves the program. Every text sink
/// goes through it: table and CSV cells (`Table`), free text for people (`SafeText`), warnings and errors on
/// standard error, the journal; JSON has its own escaping (`JSONStreamWriter`), Prometheus its label escaping
/// over this one. Renderers never escape on their own.
public enum TextEscape {
    /// Whether a scalar must not reach a terminal raw: the C0 controls (a value is one line: newline and tab
    /// included), DEL, the C1 controls (a terminal may take U+009B as CSI), and the Unicode format controls that
    /// reorder or hide text (bidi embeddings, overrides and isolates, LRM, RLM, ALM, line and paragraph
    /// separators). Invalid UTF-8 never reaches here: it was decoded to U+FFFD where it was read.
    @inline(__always)
    public static func isUnsafe(_ v: UInt32) -> Bool {
        switch v {
        case 0..<0x20, 0x7f...0x9f: return true
        case 0x061c, 0x200e, 0x200f, 0x2028...0x202e, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// `s` with every unsafe scalar, and the backslash that introduces an escape, written as `\xNN` (up to 0xff)
    /// or `\u{NNNN}`. Text that needs nothing is returned as it is, without copying.
    public static func escaped(_ s: String) -> String { escaped(s, backslash: true, newline: true) }

    /// The same for a format with its own escapes for the backslash and the newline (Prometheus label values):
    /// those two are left to it.
    public static func escapedForFormat(_ s: String) -> String { escaped(s, backslash: false, newline: false) }

    static func escaped(_ s: String, backslash: Bool, newline: Bool) -> String {
        var needed = false
        for b in s.utf8 where b < 0x20 || b >= 0x7f || b == 0x5c {
            // Non-ASCII is common and mostly fine: look at its scalars only when some byte is not plain ASCII.
            needed = true
            break
        }
        func escape(_ u: Unicode.Scalar) -> Bool {
            u == "\\" ? backslash : u == "\n" ? newline : isUnsafe(u.value)
        }
        guard needed, s.unicodeScalars.contains(where: escape) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for u in s.unicodeScalars {
            if escape(u) {
                let h = String(u.value, radix: 16)
                out += u.value <= 0xff ? "\\x" + (h.count < 2 ? "0" + h : h) : "\\u{" + h + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Each line escaped on its own, the line breaks kept: for messages made of the program's own lines (an
    /// argument parser's usage text) in which values may appear.
    public static func escapedLines(_ s: String) -> String {
        s.split(separator: "\n", omittingEmptySubsequences: false).map { escaped(String($0)) }.joined(separator: "\n")
    }
}

/// Text for people (show, summaries, the audit report): the program's own words — its string literals — are
/// kept as written, and every value interpolated into them is escaped (`TextEscape`). The text sinks take only
/// this type, so a value cannot reach a terminal unescaped by forgetting to escape it.
public struct SafeText: Sendable, Equatable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The text, safe to write.
    public internal(set) var text: String

    public init(stringLiteral value: String) { text = value }

    /// A value other users may control, escaped.
    public init(value: String) { text = TextEscape.escaped(value) }

    public init(stringInterpolation: Interpolation) { text = stringInterpolation.text }

    public var description: String { text }

    /// Joined with a separator of the program's own.
    public static func joined(_ parts: [SafeText], separator: StaticString) -> SafeText {
        var s = SafeText(stringLiteral: "")
        s.text = parts.map(\.text).joined(separator: "\(separator)")
        return s
    }

    public static func + (a: SafeText, b: SafeText) -> SafeText {
        var s = a
        s.text += b.text
        return s
    }

    public static func += (a: inout SafeText, b: SafeText) { a.text += b.text }

    /// Literal parts are the program's; interpolated values are escaped, except `SafeText` itself (and the colour
    /// the program adds around a value).
    public struct Interpolation: StringInterpolationProtocol {
        var text = ""

        public init(literalCapacity: Int, interpolationCount: Int) { text.reserveCapacity(literalCapacity + 16 * interpolationCount) }

        public mutating func appendLiteral(_ literal: String) { text += literal }

        public mutating func appendInterpolation(_ value: SafeText) { text += value.text }

        public mutating func appendInterpolation(_ value: some StringProtocol) { text += TextEscape.escaped(String(value)) }

        public mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            text += TextEscape.escaped(value.description)
        }

        /// A value in an ANSI colour of the program's own (`code` nil: no colour).
        public mutating func appendInterpolation(_ value: String, color code: String?) {
            if let code {
                text += "\u{1B}[\(code)m" + TextEscape.escaped(value) + "\u{1B}[0m"
            } else {
                text += TextEscape.escaped(value)
            }
        }
    }
}
