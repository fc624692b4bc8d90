/// A length of time given on the command line ("90s", "15m", "2h", "7d", "1w", or plain seconds):
/// `--idle-for`, `--lock-wait`. Parsed once, where the option is read.
public struct TimeSpan: Sendable, Equatable, CustomStringConvertible {
    public var seconds: Double
    /// The text as given.
    public var description: String

    public init?(parsing text: String) {
        guard let s = TimeFormat.parseDuration(text) else { return nil }
        seconds = s
        description = text
    }

    /// A default value, written as seconds ("10s").
    public init(seconds: Double) {
        self.seconds = seconds
        description = seconds == seconds.rounded() ? "\(Int(seconds))s" : "\(seconds)s"
    }
}

/// A threshold in percent ("80", "80%", "80.5 %"), above 0 and at most 100: `--warn-at`, `--critical-at`.
public struct Percentage: Sendable, Equatable, CustomStringConvertible {
    /// The fraction (0.8 for 80 %).
    public var fraction: Double
    public var description: String

    public init?(parsing text: String) {
        var t = text.filter { $0 != " " }
        if t.hasSuffix("%") { t = String(t.dropLast()) }
        guard let v = Double(t), v > 0, v <= 100 else { return nil }
        fraction = v / 100
        description = text
    }

    /// A default value ("80" for 0.8).
    public init(fraction: Double) {
        self.fraction = fraction
        let p = fraction * 100
        description = p == p.rounded() ? String(Int(p)) : String(p)
    }
}

/// An IPC key as administrators write it: hex `0x...` or decimal (signed or unsigned 32-bit): `--key`.
public struct IPCKey: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The key as the kernel stores it (signed).
    public var value: Int32
    public var description: String { IPCTextFormat.hexKey(value) }

    public init?(parsing text: String) {
        guard let v = ObjectFilter.parseKey(text) else { return nil }
        value = v
    }
}
