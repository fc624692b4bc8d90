/// CRC-32 arithmetic over runs of bytes that are not read: a hole of a sparse file is a run of zeros, and a
/// block whose checksum is already known (a data extent) extends two checksums at once (the file's and the
/// content's) without being hashed twice.
///
/// The CRC register is a polynomial over GF(2); appending n zero bytes multiplies it by x^(8n) modulo the
/// CRC polynomial, and x^(8n) is built from the squares x^(2^k) in O(log n) multiplications (the method of
/// zlib's crc32_combine, written here from its mathematics).
extension CRC32 {
    /// The reflected CRC-32 polynomial.
    private static let polynomial: UInt32 = 0xEDB8_8320

    /// a(x) * b(x) modulo the polynomial, in the reflected bit order (bit 31 is x^0).
    static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31
        var b = b
        var product: UInt32 = 0
        while m != 0 {
            if a & m != 0 {
                product ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ polynomial : b >> 1
        }
        return product
    }

    /// x^(2^k) modulo the polynomial, for k in 0..<64.
    private static let powers: [UInt32] = {
        var p = [UInt32](repeating: 0, count: 64)
        p[0] = 1 << 30  // x^1
        for k in 1..<64 { p[k] = multiplyModP(p[k - 1], p[k - 1]) }
        return p
    }()

    /// x^(8 * n) modulo the polynomial: the operator that appends n zero bytes to the register.
    static func zerosOperator(_ n: UInt64) -> UInt32 {
        var result: UInt32 = 1 << 31  // x^0
        var n = n
        var k = 3  // 8 * n = n * 2^3
        while n != 0 {
            if n & 1 != 0 { result = multiplyModP(powers[k & 63], result) }
            n >>= 1
            k += 1
        }
        return result
    }

    /// Adds `count` zero bytes (a hole read as zeros) in O(log count).
    public mutating func appendZeros(_ count: UInt64) {
        guard count > 0 else { return }
        state = Self.multiplyModP(Self.zerosOperator(count), state)
    }

    /// Adds a block of `length` bytes whose own checksum (from a fresh `CRC32`) is `block`, as if its bytes had
    /// been added one by one.
    public mutating func append(_ block: CRC32, length: UInt64) {
        guard length > 0 else { return }
        let combined = Self.multiplyModP(Self.zerosOperator(length), value) ^ block.value
        state = combined ^ 0xFFFF_FFFF
    }
}
