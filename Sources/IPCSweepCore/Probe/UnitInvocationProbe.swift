import CSystemd
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A (realtime, monotonic) pair systemd took at one instant (microseconds of CLOCK_REALTIME and CLOCK_MONOTONIC).
public struct SystemdClockPair: Sendable, Hashable {
    public var realtime: UInt64
    public var monotonic: UInt64
    public init(realtime: UInt64, monotonic: UInt64) {
        self.realtime = realtime
        self.monotonic = monotonic
    }
}

/// What one sd-bus lookup found: each unit's invocation and its clock pair, and the manager's pair when asked.
public struct SystemdAnswer: Sendable {
    public var invocations: [String: UnitInvocation] = [:]
    /// `InactiveExitTimestamp` with `InactiveExitTimestampMonotonic`, for the units that have both.
    public var unitPairs: [String: SystemdClockPair] = [:]
    /// `UserspaceTimestamp` with `UserspaceTimestampMonotonic` of the manager, or why not (nil: not asked).
    public var manager: Result<SystemdClockPair, SystemdUnavailable>?
}

/// Why systemd could not say something (the text names what was asked).
public struct SystemdUnavailable: Error, Sendable, Hashable {
    public var description: String
}

/// Asks systemd when each unit's current invocation began: the `InactiveExitTimestamp` property of
/// `org.freedesktop.systemd1.Unit` (with its monotonic twin), and, when asked, the manager's
/// `UserspaceTimestamp` pair (`org.freedesktop.systemd1.Manager`), over one sd-bus connection (root: systemd's
/// private socket /run/systemd/private, as systemctl does, which needs no D-Bus daemon; otherwise the system bus).
public enum UnitInvocationProbe {
    /// How long one property read may take before the lookup gives up (the exception then does not apply).
    static let timeoutMicroseconds: UInt64 = 2_000_000

    /// How long the whole lookup may take: sd-bus's own connect/auth timeout is 90 s, too long for a tool
    /// that must never hang; a systemd that does not answer in time leaves the exception unused.
    static let deadlineSeconds = 3.0

    /// The current invocation of every `--unit` service that has a live process other than this run (only those
    /// processes can use the exception to inheritance, so a unit with none, ExecStopPost=, costs no lookup), and
    /// each one's clock pair as a measurement of the wall clock's steps since it began.
    static func invocations(for scope: ResolvedScope, table: ProcessTable, procRoot: String)
        -> (invocations: [String: UnitInvocation], clock: [ClockReference]) {
        var units: Set<String> = []
        for (pid, unit) in scope.memberUnits where pid != table.ownPid && unit.hasSuffix(".service") {
            if let p = table.byPid[pid], !p.isDeadOrZombie { units.insert(unit) }
        }
        guard !units.isEmpty else { return ([:], []) }
        guard procRoot == "/proc" else {
            return (Dictionary(uniqueKeysWithValues: units.map { ($0, UnitInvocation.unavailable("--proc \(procRoot) is not the live system")) }), [])
        }
        let answer = UnitInvocationProbe.lookup(units: units.sorted(), manager: false)
        let now = ClockStepProbe.now()
        let clock = answer.unitPairs.sorted { $0.key < $1.key }
            .map { ClockStepProbe.reference($0.value, source: .systemdUnit($0.key), now: now) }
        return (answer.invocations, clock)
    }

    /// The result of a lookup that may still be running when its deadline passes.
    private final class Pending: @unchecked Sendable {
        var result: SystemdAnswer?
    }

    /// The invocation start of each unit, or why it is unavailable (the text names the unit). Never waits more
    /// than `deadlineSeconds`: the lookup runs on another thread, which is left behind if systemd is stuck.
    public static func invocations(of units: [String], privateSocket: String = "/run/systemd/private",
                                   systemBus: Bool = true) -> [String: UnitInvocation] {
        lookup(units: units, manager: false, privateSocket: privateSocket, systemBus: systemBus).invocations
    }

    /// The units' invocations and clock pairs, and the manager's pair when `manager`; never waits more than
    /// `deadlineSeconds`.
    public static func lookup(units: [String], manager: Bool, privateSocket: String = "/run/systemd/private",
                              systemBus: Bool = true) -> SystemdAnswer {
        guard !units.isEmpty || manager else { return SystemdAnswer() }
        let pending = Pending()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            pending.result = lookup(units, manager: manager, privateSocket: privateSocket, systemBus: systemBus)
            done.signal()
        }
        if done.wait(timeout: .now() + deadlineSeconds) == .success, let r = pending.result { return r }
        let why = "systemd did not answer within \(Int(deadlineSeconds)) s"
        return SystemdAnswer(invocations: Dictionary(uniqueKeysWithValues: units.map { ($0, UnitInvocation.unavailable(why)) }),
                             manager: manager ? .failure(SystemdUnavailable(description: why)) : nil)
    }

    private static func lookup(_ units: [String], manager: Bool, privateSocket: String, systemBus: Bool) -> SystemdAnswer {
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
            return SystemdAnswer(invocations: Dictionary(uniqueKeysWithValues: units.map { ($0, UnitInvocation.unavailable(why)) }),
                                 manager: manager ? .failure(SystemdUnavailable(description: why)) : nil)
        }
        defer { _ = sd_bus_flush_close_unref(bus) }
        _ = sd_bus_set_method_call_timeout(bus, timeoutMicroseconds)
        var out = SystemdAnswer()
        for unit in units {
            var path: UnsafeMutablePointer<CChar>?
            let r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path)
            guard r >= 0, let path else {
                out.invocations[unit] = .unavailable("cannot name unit \(unit) on the bus: \(String(cString: strerror(-r)))")
                continue
            }
            defer { free(path) }
            switch timestamp(bus, path, "org.freedesktop.systemd1.Unit", "InactiveExitTimestamp") {
            case .failure(let message):
                out.invocations[unit] = .unavailable("systemd did not say when \(unit) started: \(message.description)")
            case .success(0):
                out.invocations[unit] = .unavailable("systemd reports no start of \(unit) (not loaded, or never started)")
            case .success(let usec):
                out.invocations[unit] = .began(Double(usec) / 1e6)
                if case .success(let mono) = timestamp(bus, path, "org.freedesktop.systemd1.Unit", "InactiveExitTimestampMonotonic"),
                   mono > 0 {
                    out.unitPairs[unit] = SystemdClockPair(realtime: usec, monotonic: mono)
                }
            }
        }
        if manager {
            let object = "/org/freedesktop/systemd1"
            let interface = "org.freedesktop.systemd1.Manager"
            switch (timestamp(bus, object, interface, "UserspaceTimestamp"), timestamp(bus, object, interface, "UserspaceTimestampMonotonic")) {
            case (.success(let real), .success(let mono)) where real > 0 && mono > 0:
                out.manager = .success(SystemdClockPair(realtime: real, monotonic: mono))
            case (.failure(let e), _), (_, .failure(let e)):
                out.manager = .failure(SystemdUnavailable(description: "systemd did not give its UserspaceTimestamp: \(e.description)"))
            default:
                out.manager = .failure(SystemdUnavailable(description: "systemd reports no UserspaceTimestamp"))
            }
        }
        return out
    }

    /// One `t` (uint64, microseconds) property.
    private static func timestamp(_ bus: OpaquePointer, _ path: UnsafePointer<CChar>, _ interface: String,
                                  _ member: String) -> Result<UInt64, SystemdUnavailable> {
        var error = sd_bus_error()
        defer { sd_bus_error_free(&error) }
        var usec: UInt64 = 0
        let r = sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, interface, member, &error,
                                            CChar(UInt8(ascii: "t")), &usec)
        guard r >= 0 else {
            return .failure(SystemdUnavailable(description: error.message.map { String(cString: $0) } ?? String(cString: strerror(-r))))
        }
        return .success(usec)
    }
}
