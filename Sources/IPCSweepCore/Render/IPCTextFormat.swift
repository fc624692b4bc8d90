/// Text forms of IPC values shared by the renderers.
public enum IPCTextFormat {
    /// The lower-case hex digit of `v` (0...15): the one spelling of hex digits in keys and JSON escapes.
    @inline(__always)
    static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 &+ v : 87 &+ v }

    /// "0x0000162e": the key as ipcs prints it.
    public static func hexKey(_ key: Int32) -> String {
        let v = UInt32(bitPattern: key)
        return String(unsafeUninitializedCapacity: 10) { out in
            out[0] = UInt8(ascii: "0")
            out[1] = UInt8(ascii: "x")
            for i in 0..<8 {
                let d = UInt8(truncatingIfNeeded: (v >> UInt32(28 - 4 * i)) & 15)
                out[2 + i] = hexDigit(d)
            }
            return 10
        }
    }

    /// A number in decimal and then `suffix` ("3 sems"), written in place: `String(v)` and a concatenation cost
    /// several times as much in a cell of every row.
    public static func decimal(_ v: Int64, _ suffix: StaticString = "") -> String {
        let sign = v < 0 ? 1 : 0
        let n = sign + DecimalText.digits(v.magnitude) + suffix.utf8CodeUnitCount
        return String(unsafeUninitializedCapacity: n) { out in
            guard let base = out.baseAddress else { return 0 }
            if sign == 1 { base[0] = UInt8(ascii: "-") }
            let at = sign + DecimalText.write(v.magnitude, to: base + sign)
            (base + at).update(from: suffix.utf8Start, count: suffix.utf8CodeUnitCount)
            return n
        }
    }

    /// "0600"
    public static func octal(_ bits: UInt32) -> String {
        // Every mode's permission part (up to 0o7777) in four digits, written in place; wider values as they are.
        guard bits <= 0o7777 else { return String(bits, radix: 8) }
        return String(unsafeUninitializedCapacity: 4) { out in
            for i in 0..<4 { out[i] = 48 + UInt8(truncatingIfNeeded: (bits >> UInt32(9 - 3 * i)) & 7) }
            return 4
        }
    }

    /// "rw-------" plus markers for SHM_DEST ("dest") and SHM_LOCKED ("locked").
    public static func modeString(_ mode: UInt32) -> String {
        var s = ""
        for shift in stride(from: 6, through: 0, by: -3) {
            let b = (mode >> UInt32(shift)) & 7
            s += (b & 4 != 0 ? "r" : "-") + (b & 2 != 0 ? "w" : "-") + (b & 1 != 0 ? "x" : "-")
        }
        if mode & SHMModeFlag.dest != 0 { s += " dest" }
        if mode & SHMModeFlag.locked != 0 { s += " locked" }
        return s
    }

    /// The flags a segment's mode word carries beyond its permission bits, as `ipcs -m` and `lsipc` name them in
    /// their STATUS column: "dest" (SHM_DEST, marked for removal), "locked" (SHM_LOCKED); "" when none.
    public static func status(_ mode: UInt32) -> String {
        var flags: [String] = []
        if mode & SHMModeFlag.dest != 0 { flags.append("dest") }
        if mode & SHMModeFlag.locked != 0 { flags.append("locked") }
        return flags.joined(separator: ",")
    }
}
