import CSystemd
import Dispatch

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

    /// How long the whole lookup may take: sd-bus's own connect/auth timeout is 90 s, too long for a tool
    /// that must never hang; a systemd that does not answer in time leaves the exception unused.
    static let deadlineSeconds = 3.0

    /// The invocation start of each unit, or why it is unavailable (the text names the unit). Never waits more
    /// than `deadlineSeconds`: the lookup runs on another thread, which is left behind if systemd is stuck.
    public static func invocations(of units: [String], privateSocket: String = "/run/systemd/private",
                                   systemBus: Bool = true) -> [String: UnitInvocation] {
        guard !units.isEmpty else { return [:] }
        // The result of a lookup that may still be running when its deadline passes.
        let pending = SharedSlot<[String: UnitInvocation]?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            pending.value = lookup(units, privateSocket: privateSocket, systemBus: systemBus)
            done.signal()
        }
        if done.wait(timeout: .now() + deadlineSeconds) == .success, let r = pending.value { return r }
        let why = "systemd did not answer within \(Int(deadlineSeconds)) s"
        return Dictionary(uniqueKeysWithValues: units.map { ($0, UnitInvocation.unavailable(why)) })
    }

    private static func lookup(_ units: [String], privateSocket: String, systemBus: Bool) -> [String: UnitInvocation] {
        var bus: OpaquePointer?
        var r: Int32 = -1
        var tried: [String] = []
        if geteuid() == 0 {
            tried.append(privateSocket)
            r = sd_bus_new(&bus)
            if r >= 0 { r = sd_bus_set_address(bus, "unix:path=" + privateSocket) }
            if r >= 0 { r = sd_bus_start(bus) }
            if r < 0 { bus = sd_bus_flush_close_unref(bus) }
        }
        if bus == nil && systemBus {
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
