#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one JSON writer of ipcsweep: every document (`list`, `orphans`, `show`, `clean`, `audit`) is written
/// through it, straight to bytes, in pieces.
///
/// Two layouts: compact (`{"key":value,...}`, no whitespace) and pretty (jq's layout: two-space
/// indentation, `"key": value`, empty containers as `[]` and `{}`). Strings are escaped as RFC 8259 asks
/// (`"`, `\\`, control characters; `/` and non-ASCII are written as they are).
///
/// Callers write keys in sorted order themselves (the field tables do). Bytes go to `sink` whenever the
/// buffer passes `flushThreshold` at a `flushIfNeeded()` call, so a document of any size needs only a small
/// buffer.
public struct JSONStreamWriter {
    /// The bytes not yet handed to the sink.
    private var out: OutputBuffer
    private var depth = 0
    /// No member or element written yet in the innermost container.
    var first = true
    /// Pretty layout (newlines and indentation) instead of compact.
    public let pretty: Bool
    private let flushThreshold: Int
    private let sink: (UnsafeRawBufferPointer) -> Void

    public init(pretty: Bool = false, flushThreshold: Int = 1 << 16, sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.pretty = pretty
        self.flushThreshold = flushThreshold
        self.sink = sink
        out = OutputBuffer(capacity: min(max(flushThreshold, 256), 1 << 20) + 4096)
    }

    // MARK: structure

    public mutating func beginObject() {
        out.append(UInt8(ascii: "{"))
        depth += 1
        first = true
    }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        out.append(UInt8(ascii: "["))
        depth += 1
        first = true
    }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        out.reserve(2 * depth + 16)
        if pretty && !first { newlineAndIndent() }  // an empty container prints as "[]"
        out.put(bracket)
        first = false
    }

    /// Starts the next member of an object; `key` must be plain ASCII that needs no escaping.
    @inline(__always)
    public mutating func key(_ key: StaticString) {
        let n = key.utf8CodeUnitCount
        out.reserve(2 * depth + n + 24)
        if !first { out.put(UInt8(ascii: ",")) }
        if pretty { newlineAndIndent() }
        first = false
        out.put(UInt8(ascii: "\""))
        out.put(key.utf8Start, n)
        out.put(UInt8(ascii: "\""))
        out.put(UInt8(ascii: ":"))
        if pretty { out.put(32) }
    }

    /// Starts a member whose key is computed at run time (escaped like any string).
    public mutating func key(dynamic key: String) {
        element()
        string(key)
        if pretty { out.append(": ") } else { out.append(UInt8(ascii: ":")) }
    }

    /// Starts the next element of an array.
    @inline(__always)
    public mutating func element() {
        out.reserve(2 * depth + 16)
        if !first { out.put(UInt8(ascii: ",")) }
        if pretty { newlineAndIndent() }
        first = false
    }

    /// "\n" and 2 × depth spaces; needs 2 × depth + 9 bytes reserved (spaces go in 8-byte stores).
    @inline(__always)
    private mutating func newlineAndIndent() {
        out.put(10)
        let n = 2 * depth
        var i = 0
        while i < n {
            UnsafeMutableRawPointer(out.end + i).storeBytes(of: 0x2020_2020_2020_2020 as UInt64, as: UInt64.self)
            i &+= 8
        }
        out.advance(n)
    }

    // MARK: values

    public mutating func null() { out.append("null") }

    public mutating func bool(_ v: Bool) {
        if v { out.append("true") } else { out.append("false") }
    }

    /// A number with a fraction (shortest form that reads back the same); null when not finite.
    public mutating func double(_ v: Double) {
        guard v.isFinite else { return null() }
        if v == v.rounded(.towardZero) && abs(v) < 1e15 {
            int(Int64(v))
        } else {
            var text = "\(v)"
            text.withUTF8 { out.append($0) }
        }
    }

    @inline(__always)
    public mutating func int<T: BinaryInteger>(_ v: T) {
        out.reserve(21)
        if v < 0 {
            out.put(UInt8(ascii: "-"))
            putDecimal(UInt64(v.magnitude))
        } else {
            putDecimal(UInt64(v))
        }
    }

    /// Decimal digits (`DecimalText`); needs 20 bytes reserved.
    @inline(__always)
    private mutating func putDecimal(_ value: UInt64) {
        if value < 10 {
            out.put(48 &+ UInt8(truncatingIfNeeded: value))
            return
        }
        out.advance(DecimalText.write(value, to: out.end))
    }

    /// A quoted string of `digits` lower-case hex digits of `value` after `prefix`, zero-padded ("0x0000162e").
    public mutating func hexString(_ value: UInt32, prefix: StaticString, digits: Int) {
        out.reserve(prefix.utf8CodeUnitCount + digits + 2)
        out.put(UInt8(ascii: "\""))
        out.put(prefix.utf8Start, prefix.utf8CodeUnitCount)
        var shift = 4 * (digits - 1)
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: (value >> UInt32(shift)) & 15)
            out.put(IPCTextFormat.hexDigit(d))
            shift -= 4
        }
        out.put(UInt8(ascii: "\""))
    }

    /// A quoted octal number, zero-padded to at least `digits` digits ("0600").
    public mutating func octalString(_ value: UInt32, digits: Int) {
        var n = 1
        while n < 11 && value >> UInt32(3 * n) != 0 { n += 1 }
        n = max(n, digits)
        out.reserve(n + 2)
        out.put(UInt8(ascii: "\""))
        var shift = 3 * (n - 1)
        while shift >= 0 {
            out.put(48 + UInt8(truncatingIfNeeded: (value >> UInt32(shift)) & 7))
            shift -= 3
        }
        out.put(UInt8(ascii: "\""))
    }

    /// A string value known to need no escaping (ASCII letters, digits, '-').
    public mutating func plainString(_ s: StaticString) {
        out.reserve(s.utf8CodeUnitCount + 2)
        out.put(UInt8(ascii: "\""))
        out.put(s.utf8Start, s.utf8CodeUnitCount)
        out.put(UInt8(ascii: "\""))
    }

    /// A string value, quoted and escaped (slashes and non-ASCII as they are).
    public mutating func string(_ s: String) {
        // A native string lends its bytes in place; only another kind is copied first.
        if s.utf8.withContiguousStorageIfAvailable({ appendEscaped($0) }) != nil { return }
        var s = s
        s.withUTF8 { appendEscaped($0) }
    }

    public mutating func string(_ s: String?) {
        if let s { string(s) } else { null() }
    }

    /// A quoted, escaped string as bytes, for callers that cache repeated values.
    public static func quoted(_ s: String) -> [UInt8] {
        var w = JSONStreamWriter(flushThreshold: 0, sink: { _ in })
        w.string(s)
        return Array(w.out.bytes)
    }

    /// Bytes that are already valid JSON (from `quoted`).
    public mutating func raw(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { out.append($0) }
    }

    private mutating func appendEscaped(_ u: UnsafeBufferPointer<UInt8>) {
        out.reserve(u.count + 2)
        out.put(UInt8(ascii: "\""))
        guard let src = u.baseAddress else {
            out.put(UInt8(ascii: "\""))
            return
        }
        // Most strings need no escaping: checked sixteen bytes a step, then copied whole.
        if ByteBlock.allSafe(src, u.count, quote: true) {
            out.put(src, u.count)
            out.put(UInt8(ascii: "\""))
            return
        }
        var start = 0
        var i = 0
        let n = u.count
        while i < n {
            // Eight bytes at a time: skip words without '"', '\\', a byte below 0x20 or one from 0x7f up (DEL,
            // and the lead bytes of C1 and bidi controls, which a terminal must not get raw either).
            if i + 8 <= n {
                let w = UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self)
                if ByteWord.safe(w, quote: true) {
                    i &+= 8
                    continue
                }
            }
            let b = u[i]
            if b >= 0x80 {
                // A C1 control (U+0080-U+009F: C2 80-9F) or a Unicode format control that reorders or hides text
                // (U+200E, U+200F, U+2028-U+202E, U+2066-U+2069: E2 80 8E-AE, E2 81 A6-A9; U+061C: D8 9C) is
                // written as \uXXXX, as any other control; the rest of UTF-8 as it is.
                var scalar: UInt32?
                if b == 0xC2, i + 1 < n, u[i + 1] >= 0x80, u[i + 1] <= 0x9F { scalar = UInt32(u[i + 1]) }
                if b == 0xD8, i + 1 < n, u[i + 1] == 0x9C { scalar = 0x061C }
                if b == 0xE2, i + 2 < n, u[i + 1] == 0x80 || u[i + 1] == 0x81 {
                    let v = 0x2000 | (UInt32(u[i + 1] & 0x0F) << 6) | UInt32(u[i + 2] & 0x3F)
                    if TextEscape.isUnsafe(v) { scalar = v }
                }
                guard let v = scalar else {
                    i &+= 1
                    continue
                }
                if i > start { out.append(UnsafeBufferPointer(rebasing: u[start..<i])) }
                i &+= v < 0x100 ? 2 : (v == 0x061C ? 2 : 3)
                start = i
                out.reserve(6)
                out.put(UInt8(ascii: "\\"))
                putUnicodeEscape(v)
                continue
            }
            if b >= 0x20 && b != 0x7F && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                i &+= 1
                continue
            }
            if i > start { out.append(UnsafeBufferPointer(rebasing: u[start..<i])) }
            i &+= 1
            start = i
            out.reserve(6)
            out.put(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): out.put(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.put(UInt8(ascii: "\\"))
            case 0x08: out.put(UInt8(ascii: "b"))
            case 0x0C: out.put(UInt8(ascii: "f"))
            case 0x0A: out.put(UInt8(ascii: "n"))
            case 0x0D: out.put(UInt8(ascii: "r"))
            case 0x09: out.put(UInt8(ascii: "t"))
            default:
                putUnicodeEscape(UInt32(b))
            }
        }
        if n > start { out.append(UnsafeBufferPointer(rebasing: u[start..<n])) }
        out.append(UInt8(ascii: "\""))
    }

    /// "u" and four lower-case hex digits of `v` (after a backslash; room reserved).
    @inline(__always)
    private mutating func putUnicodeEscape(_ v: UInt32) {
        out.put(UInt8(ascii: "u"))
        for shift in stride(from: UInt32(12), through: 0, by: -4) {
            out.put(IPCTextFormat.hexDigit(UInt8(truncatingIfNeeded: (v >> shift) & 15)))
        }
    }

    // MARK: output

    /// Hands the buffer to the sink when it is past the threshold.
    public mutating func flushIfNeeded() {
        if out.count >= flushThreshold { flush() }
    }

    /// Hands everything written so far to the sink.
    public mutating func flush() {
        out.handOn(to: sink)
    }
}
