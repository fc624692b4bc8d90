import CSystemd

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Asks systemd when each unit's current invocation began: the `InactiveExitTimestamp` property of
/// `org.freedesktop.systemd1.Unit`, over one sd-bus connection (root: systemd's private socket
/// /run/systemd/private, as systemctl does, which needs no D-Bus daemon; otherwise the system bus).
public enum UnitInvocationProbe {
    /// How long one property read may take before the lookup gives up (the exception then does not apply).
    static let timeoutMicroseconds: UInt64 = 2_000_000

    /// The invocation start of each unit, or why it is unavailable (the text names the unit).
    public static func invocations(of units: [String]) -> [String: UnitInvocation] {
        guard !units.isEmpty else { return [:] }
        var bus: OpaquePointer?
        var r: Int32 = -1
        var tried: [String] = []
        if geteuid() == 0 {
            tried.append("/run/systemd/private")
            r = sd_bus_new(&bus)
            if r >= 0 { r = sd_bus_set_address(bus, "unix:path=/run/systemd/private") }
            if r >= 0 { r = sd_bus_start(bus) }
            if r < 0 { bus = sd_bus_flush_close_unref(bus) }
        }
        if bus == nil {
            tried.append("the system bus")
            r = sd_bus_open_system(&bus)
            if r < 0 { bus = sd_bus_flush_close_unref(bus) }
        }
        guard let bus else {
            let why = "cannot reach systemd through \(tried.joined(separator: " or ")): \(String(cString: strerror(-r)))"
            return Dictionary(uniqueKeysWithValues: units.map { ($0, UnitInvocation.unavailable(why)) })
        }
        defer { _ = sd_bus_flush_close_unref(bus) }
        _ = sd_bus_set_method_call_timeout(bus, timeoutMicroseconds)
        var out: [String: UnitInvocation] = [:]
        for unit in units {
            out[unit] = invocation(of: unit, bus: bus)
        }
        return out
    }

    private static func invocation(of unit: String, bus: OpaquePointer) -> UnitInvocation {
        var path: UnsafeMutablePointer<CChar>?
        var r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path)
        guard r >= 0, let path else { return .unavailable("cannot name unit \(unit) on the bus: \(String(cString: strerror(-r)))") }
        defer { free(path) }
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var usec: UInt64 = 0
        r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                        "InactiveExitTimestamp", &error, CChar(UInt8(ascii: "t")), &usec)
        guard r >= 0 else {
            let message = error.message.map { String(cString: $0) } ?? String(cString: strerror(-r))
            return .unavailable("systemd did not say when \(unit) started: \(message)")
        }
        guard usec > 0 else { return .unavailable("systemd reports no start of \(unit) (not loaded, or never started)") }
        return .began(Double(usec) / 1e6)
    }
}
