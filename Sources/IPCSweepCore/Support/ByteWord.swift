#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Tests on eight bytes of text at once (a word loaded from a buffer), for the escaping checks of the JSON
/// writer and of table cells: each gives a mask with the high bit set in the bytes that pass (exact for
/// whether any byte does; a byte after one that passes may be marked too).
enum ByteWord {
    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let high: UInt64 = 0x8080_8080_8080_8080

    /// Bytes equal to `b`.
    @inline(__always)
    static func equal(_ w: UInt64, _ b: UInt8) -> UInt64 {
        let x = w ^ (ones &* UInt64(b))
        return (x &- ones) & ~x & high
    }

    /// Bytes below `b` (`b` at most 0x80).
    @inline(__always)
    static func below(_ w: UInt64, _ b: UInt8) -> UInt64 { (w &- ones &* UInt64(b)) & ~w & high }

    /// Bytes from 0x80 up.
    @inline(__always)
    static func nonASCII(_ w: UInt64) -> UInt64 { w & high }

    /// Whether none of the eight bytes is a control (below 0x20), DEL, from 0x80 up, or a backslash (and, with
    /// `quote`, a '"'): the test of `ByteBlock.allSafe`, a word at a time.
    @inline(__always)
    static func safe(_ w: UInt64, quote: Bool) -> Bool {
        var odd = nonASCII(w) | below(w, 0x20) | equal(w, 0x7F) | equal(w, 0x5C)
        if quote { odd |= equal(w, 0x22) }
        return odd == 0
    }
}

/// The same tests on sixteen bytes at once (one SSE2 register on x86-64, one NEON register on arm64): a cell or a
/// reason of a hundred bytes and more is checked in a few steps.
enum ByteBlock {
    typealias Block = SIMD16<UInt8>

    /// Whether none of the `n` bytes at `p` is a control (below 0x20), DEL, from 0x80 up, or a backslash (and,
    /// with `quote`, a '"'): text a table cell or a JSON string shows as it is. Sixteen bytes a step, the tail in
    /// one overlapping block (or, below sixteen bytes, two overlapping words, or one padded word); never reads
    /// outside the `n` bytes.
    @inline(__always)
    static func allSafe(_ p: UnsafePointer<UInt8>, _ n: Int, quote: Bool) -> Bool {
        if n >= 16 {
            var i = 0
            while i + 16 <= n {
                if anyUnsafe(load(p + i), quote: quote) { return false }
                i &+= 16
            }
            return i == n || !anyUnsafe(load(p + (n - 16)), quote: quote)
        }
        if n >= 8 {
            return ByteWord.safe(UnsafeRawPointer(p).loadUnaligned(as: UInt64.self), quote: quote)
                && ByteWord.safe(UnsafeRawPointer(p + (n - 8)).loadUnaligned(as: UInt64.self), quote: quote)
        }
        var w: UInt64 = 0x4141_4141_4141_4141  // "A" in the bytes past the text
        withUnsafeMutableBytes(of: &w) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
        return ByteWord.safe(w, quote: quote)
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<UInt8>) -> Block { UnsafeRawPointer(p).loadUnaligned(as: Block.self) }

    @inline(__always)
    private static func anyUnsafe(_ v: Block, quote: Bool) -> Bool {
        // b - 0x20 wraps below 0x20, so one unsigned comparison catches both ends of printable ASCII.
        var m = ((v &- Block(repeating: 0x20)) .>= Block(repeating: 0x5F)) .| (v .== Block(repeating: 0x5C))
        if quote { m = m .| (v .== Block(repeating: 0x22)) }
        return any(m)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// The index of the first newline from `start` on, or `count` when the text has none (memchr: a line of
    /// /proc text found in a few vector steps, not one byte at a time).
    @inline(__always)
    func lineEnd(from start: Int) -> Int {
        guard start < count, let base = baseAddress, let hit = memchr(base + start, 10, count - start) else { return count }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// The unsigned number these bytes write in decimal: one digit or more and nothing else, at most
    /// `UInt64.max`; nil for anything else. The one reader of numbers in /proc text and mountinfo.
    @inline(__always)
    var decimalValue: UInt64? {
        guard let p = baseAddress, count > 0 else { return nil }
        var v: UInt64 = 0
        var i = 0
        while i < count {
            let d = p[i] &- 48
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = a
            i &+= 1
        }
        return v
    }
}
