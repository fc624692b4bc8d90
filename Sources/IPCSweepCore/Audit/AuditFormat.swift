#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Number wording shared by the audit renderers and headroom sentences.
public enum AuditFormat {
    /// "31,994": thousands separated by commas (locale-independent, for cron mail and tests).
    public static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// "99.98 %": one decimal, two when one would round up to 100.0 below the limit; "100.0 %" at the limit.
    public static func percent(_ ratio: Double) -> String {
        let p = ratio * 100
        var s = fixed(p, decimals: 1)
        if s == "100.0" && ratio < 1 {
            s = fixed(p, decimals: 2)
            if s == "100.00" { s = "99.99" }
        }
        return s + " %"
    }

    /// A rate with a sign and one decimal: "+24.0", "-2.5", "0.0".
    public static func signed(_ value: Double) -> String {
        let s = fixed(value, decimals: 1)
        return value > 0 && !s.hasPrefix("-") && s != "0.0" ? "+" + s : (s == "-0.0" ? "0.0" : s)
    }

    /// `value` with exactly `decimals` digits after the point, rounded as printf's `%.Nf` rounds
    /// (C's own formatter: FoundationEssentials has no `String(format:)`).
    public static func fixed(_ value: Double, decimals: Int) -> String {
        var buf = [CChar](repeating: 0, count: 352)
        let n = withVaList([value]) { vsnprintf(&buf, buf.count, "%.\(decimals)f", $0) }
        guard n > 0 else { return "\(value)" }
        return String(decoding: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "1 leak", "3 leaks".
    public static func plural(_ n: Int64, _ singular: String, _ plural: String? = nil) -> String {
        "\(grouped(n)) \(n == 1 ? singular : (plural ?? singular + "s"))"
    }

    /// Bytes in binary units for limits: "64 KiB", "16 GiB", "4096 B".
    public static func bytes(_ value: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var v = Double(value)
        var u = 0
        while v >= 1024 && u < units.count - 1 && (v / 1024).rounded() == v / 1024 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(grouped(value)) B" : "\(grouped(Int64(v))) \(units[u])"
    }

    /// A number for Prometheus exposition: integers without a fraction, others in shortest form.
    public static func metric(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
