#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Time and duration wording shared by reasons and renderers.
public enum TimeFormat {
    /// ISO-8601 in UTC ("2026-11-21T01:02:03Z"); nil for 0 ("never").
    public static func iso8601(_ epoch: Int64) -> String? {
        guard epoch != 0 else { return nil }
        var t = time_t(epoch)
        var tmv = tm()
        guard gmtime_r(&t, &tmv) != nil else { return nil }
        let year = Int(tmv.tm_year) + 1900
        guard (0...9999).contains(year) else {
            return String(format4: year) + "-" + pad2(tmv.tm_mon + 1) + "-" + pad2(tmv.tm_mday)
                + "T" + pad2(tmv.tm_hour) + ":" + pad2(tmv.tm_min) + ":" + pad2(tmv.tm_sec) + "Z"
        }
        // The 20 bytes written in place (the audit's JSON formats two per object: concatenating 13 strings was a
        // tenth of `audit --format json`).
        return String(unsafeUninitializedCapacity: 20) { b in
            func two(_ v: Int32, at i: Int) {
                b[i] = UInt8(48 + v / 10)
                b[i + 1] = UInt8(48 + v % 10)
            }
            two(Int32(year / 100), at: 0)
            two(Int32(year % 100), at: 2)
            b[4] = UInt8(ascii: "-")
            two(tmv.tm_mon + 1, at: 5)
            b[7] = UInt8(ascii: "-")
            two(tmv.tm_mday, at: 8)
            b[10] = UInt8(ascii: "T")
            two(tmv.tm_hour, at: 11)
            b[13] = UInt8(ascii: ":")
            two(tmv.tm_min, at: 14)
            b[16] = UInt8(ascii: ":")
            two(tmv.tm_sec, at: 17)
            b[19] = UInt8(ascii: "Z")
            return 20
        }
    }

    /// Local wall-clock time for tables ("2026-11-21 01:02:03"); "never" for 0.
    public static func local(_ epoch: Int64) -> String {
        guard epoch != 0 else { return "never" }
        var t = time_t(epoch)
        var tmv = tm()
        guard localtime_r(&t, &tmv) != nil else { return String(epoch) }
        return String(format4: Int(tmv.tm_year) + 1900) + "-" + pad2(tmv.tm_mon + 1) + "-" + pad2(tmv.tm_mday)
            + " " + pad2(tmv.tm_hour) + ":" + pad2(tmv.tm_min) + ":" + pad2(tmv.tm_sec)
    }

    /// A short duration: "0 s", "42 s", "15 min", "3 h", "2 d".
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, seconds)
        if s < 1 { return String(format1: s) + " s" }
        if s < 120 { return "\(Int(s)) s" }
        if s < 7200 { return "\(Int(s / 60)) min" }
        if s < 172_800 { return "\(Int(s / 3600)) h" }
        return "\(Int(s / 86400)) d"
    }

    /// "5 min ago" / "never".
    public static func relative(_ epoch: Int64, now: Double) -> String {
        epoch == 0 ? "never" : duration(now - Double(epoch)) + " ago"
    }

    /// Parses "90s", "15m", "2h", "7d", "1w" or plain seconds.
    public static func parseDuration(_ text: String) -> Double? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        guard let last = text.last else { return nil }
        if let u = units[last], let n = Double(text.dropLast()), n >= 0 { return n * u }
        if let n = Double(text), n >= 0 { return n }
        return nil
    }

    private static func pad2(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
}

extension String {
    init(format4 v: Int) {
        let s = String(v)
        self = String(repeating: "0", count: Swift.max(0, 4 - s.count)) + s
    }
    init(format1 v: Double) {
        let tenths = Int((v * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
