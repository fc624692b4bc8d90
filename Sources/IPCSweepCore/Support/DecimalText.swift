/// Unsigned integers in decimal, written into a buffer: the one routine behind JSON numbers
/// (`JSONStreamWriter.int`) and numbers in cells (`IPCTextFormat.decimal`).
enum DecimalText {
    /// How many digits `v` has (1 to 20): a few comparisons for the sizes that occur (ids, pids, times).
    @inline(__always)
    static func digits(_ v: UInt64) -> Int {
        if v < 100_000 {
            if v < 100 { return v < 10 ? 1 : 2 }
            return v < 1_000 ? 3 : (v < 10_000 ? 4 : 5)
        }
        if v < 10_000_000_000 {
            if v < 10_000_000 { return v < 1_000_000 ? 6 : 7 }
            return v < 100_000_000 ? 8 : (v < 1_000_000_000 ? 9 : 10)
        }
        var digits = 11
        var limit: UInt64 = 100_000_000_000
        while digits < 20 && v >= limit {
            digits += 1
            limit = limit &* 10
        }
        return digits
    }

    /// Writes the `digits(v)` digits of `v` at `out`; returns how many. Two digits per division, from a table of
    /// the hundred pairs (an epoch time, ten digits, is written in five steps).
    @inline(__always)
    static func write(_ v: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let n = digits(v)
        let pairs = digitPairs.utf8Start
        var v = v
        var i = n
        while v >= 100 {
            let q = v / 100
            let r = Int(truncatingIfNeeded: v &- q &* 100) &* 2
            i &-= 2
            out[i] = pairs[r]
            out[i &+ 1] = pairs[r &+ 1]
            v = q
        }
        if v >= 10 {
            let r = Int(truncatingIfNeeded: v) &* 2
            out[i &- 2] = pairs[r]
            out[i &- 1] = pairs[r &+ 1]
        } else {
            out[i &- 1] = 48 &+ UInt8(truncatingIfNeeded: v)
        }
        return n
    }

    private static var digitPairs: StaticString {
        """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """
    }
}
