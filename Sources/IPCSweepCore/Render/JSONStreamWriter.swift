#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A streaming, pretty-printing JSON byte writer that produces exactly what `JSONOutput.render`
/// (Foundation's `JSONEncoder` with `.prettyPrinted, .sortedKeys, .withoutEscapingSlashes`) produces:
/// two-space indentation, `"key" : value`, empty containers as `[\n\n<indent>]`, the same string escapes.
///
/// Callers write keys in sorted order themselves. Bytes go to `sink` whenever the buffer passes
/// `flushThreshold` at a `flushIfNeeded()` call, so a document of any size needs only a small buffer.
/// Used for the large documents (`list`/`orphans`/`show --format json`), where JSONEncoder's
/// intermediate tree dominated time and memory.
public struct JSONStreamWriter {
    private var buffer: [UInt8] = []
    private var depth = 0
    private var first = true
    private let flushThreshold: Int
    private let sink: (UnsafeRawBufferPointer) -> Void

    public init(flushThreshold: Int = 1 << 16, sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.flushThreshold = flushThreshold
        self.sink = sink
        buffer.reserveCapacity(min(flushThreshold, 1 << 20) + 4096)
    }

    // MARK: structure

    public mutating func beginObject() {
        buffer.append(UInt8(ascii: "{"))
        depth += 1
        first = true
    }

    public mutating func endObject() { close(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        buffer.append(UInt8(ascii: "["))
        depth += 1
        first = true
    }

    public mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func close(_ bracket: UInt8) {
        depth -= 1
        if first { buffer.append(10) }  // an empty container prints as "[\n\n<indent>]"
        newlineAndIndent(depth)
        buffer.append(bracket)
        first = false
    }

    /// Starts the next member of an object; `key` must be plain ASCII that needs no escaping.
    public mutating func key(_ key: StaticString) {
        separator()
        buffer.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: [UInt8(ascii: "\""), 32, UInt8(ascii: ":"), 32])
    }

    /// Starts a member whose key is computed at run time (escaped like any string).
    public mutating func key(dynamic key: String) {
        separator()
        string(key)
        buffer.append(contentsOf: [32, UInt8(ascii: ":"), 32])
    }

    /// Starts the next element of an array.
    public mutating func element() { separator() }

    private mutating func separator() {
        if !first { buffer.append(UInt8(ascii: ",")) }
        newlineAndIndent(depth)
        first = false
    }

    private mutating func newlineAndIndent(_ level: Int) {
        buffer.append(10)
        if level > 0 { buffer.append(contentsOf: repeatElement(32, count: 2 * level)) }
    }

    // MARK: values

    public mutating func null() { buffer.append(contentsOf: [110, 117, 108, 108]) }

    public mutating func bool(_ v: Bool) {
        if v { buffer.append(contentsOf: [116, 114, 117, 101]) } else { buffer.append(contentsOf: [102, 97, 108, 115, 101]) }
    }

    public mutating func int<T: BinaryInteger>(_ v: T) {
        if v < 0 {
            buffer.append(UInt8(ascii: "-"))
            unsigned(UInt64(v.magnitude))
        } else {
            unsigned(UInt64(v))
        }
    }

    private mutating func unsigned(_ value: UInt64) {
        if value < 10 {
            buffer.append(48 &+ UInt8(truncatingIfNeeded: value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value
            var i = 20
            while v > 0 {
                i -= 1
                digits[i] = 48 &+ UInt8(truncatingIfNeeded: v % 10)
                v /= 10
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    /// A string value, quoted and escaped as JSONEncoder does (slashes unescaped).
    public mutating func string(_ s: String) {
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
        return w.buffer
    }

    /// Bytes that are already valid JSON (from `quoted`).
    public mutating func raw(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    private mutating func appendEscaped(_ u: UnsafeBufferPointer<UInt8>) {
        buffer.append(UInt8(ascii: "\""))
        var start = 0
        for i in 0..<u.count {
            let b = u[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") { continue }
            if i > start { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i])) }
            start = i + 1
            buffer.append(UInt8(ascii: "\\"))
            switch b {
            case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
            case 0x08: buffer.append(UInt8(ascii: "b"))
            case 0x0C: buffer.append(UInt8(ascii: "f"))
            case 0x0A: buffer.append(UInt8(ascii: "n"))
            case 0x0D: buffer.append(UInt8(ascii: "r"))
            case 0x09: buffer.append(UInt8(ascii: "t"))
            default:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: [UInt8(ascii: "u"), 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            }
        }
        if u.count > start { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count])) }
        buffer.append(UInt8(ascii: "\""))
    }

    // MARK: output

    /// Hands the buffer to the sink when it is past the threshold.
    public mutating func flushIfNeeded() {
        if buffer.count >= flushThreshold { flush() }
    }

    /// Hands everything written so far to the sink.
    public mutating func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { sink($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}
