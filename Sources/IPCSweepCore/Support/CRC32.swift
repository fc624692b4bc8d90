/// CRC-32 as zlib, gzip and PNG compute it (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final
/// value 0xFFFFFFFF), so a save file's checksum can be checked with any zlib (`python3 -c 'import zlib; ...'`).
/// Detects every burst error of up to 32 bits and truncation; it is a check against damage, not against tampering.
///
/// Bytes are taken eight at a time (slicing-by-8 tables), so that checking a multi-GiB save costs about as
/// much as reading it. `appendZeros` and `append(_:length:)` (CRC32+Combine.swift) extend a checksum over a
/// run of zero bytes or over a block whose own checksum is known, in O(log n), without touching the bytes.
public struct CRC32: Sendable, Equatable {
    /// Eight tables of 256 entries: table k gives the effect of a byte followed by k zero bytes.
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 {
                let prev = t[(k - 1) * 256 + n]
                t[k * 256 + n] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, !bytes.isEmpty else { return }
        var n = bytes.count
        var c = state
        Self.tables.withUnsafeBufferPointer { t in
            while n >= 8 {
                let one = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
                let two = (p + 4).loadUnaligned(as: UInt32.self).littleEndian
                c = t[7 * 256 + Int(one & 0xFF)] ^ t[6 * 256 + Int((one >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((one >> 16) & 0xFF)] ^ t[4 * 256 + Int(one >> 24)]
                    ^ t[3 * 256 + Int(two & 0xFF)] ^ t[2 * 256 + Int((two >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((two >> 16) & 0xFF)] ^ t[Int(two >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        state = c
    }

    /// Adds bytes.
    public mutating func update<C: Collection<UInt8>>(_ bytes: C) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The checksum of everything added so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The checksum of `bytes`.
    public static func checksum<C: Collection<UInt8>>(_ bytes: C) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }

    /// "0a1b2c3d": the value as eight lowercase hex digits, as the save files write it.
    public var hex: String {
        let h = String(value, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }
}
