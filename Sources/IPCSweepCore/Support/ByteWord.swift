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
}
