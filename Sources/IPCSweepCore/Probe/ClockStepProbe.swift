#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Measures the wall clock's net forward steps for one run (SPEC "Clock steps"): compares today's
/// CLOCK_REALTIME − CLOCK_MONOTONIC (or − CLOCK_BOOTTIME) with a pair of the same clocks taken earlier.
///
/// The pair is systemd's `UserspaceTimestamp`/`UserspaceTimestampMonotonic` (taken when userspace started)
/// where systemd runs (`/run/systemd/system` exists), asked over sd-bus once per boot and kept in
/// `pairPath`; without systemd (or when it does not answer) ipcsweep's own (CLOCK_REALTIME, CLOCK_BOOTTIME),
/// written there at its first run after boot (root only). The file holds the boot id
/// (/proc/sys/kernel/random/boot_id) and is used only when it matches, is a regular file owned by root and
/// writable by no one else. The tool's monotonic and boot clocks are turned into the host's first
/// (/proc/self/timens_offsets) so that a time namespace does not count as a step.
public enum ClockStepProbe {
    /// Where the pair is kept: /run is empty at every boot, and the boot id is checked as well.
    public static let pairPath = "/run/ipcsweep.clock"

    /// The clocks read together, in seconds, on the host's monotonic and boot clocks.
    public struct Now: Sendable, Equatable {
        public var realtime: Double
        public var monotonic: Double
        public var boottime: Double
    }

    /// A pair as kept in the file.
    struct StoredPair: Equatable {
        enum Kind: String { case systemdManager = "systemd-manager", ownPair = "ipcsweep" }
        var bootID: String
        var kind: Kind
        /// CLOCK_REALTIME, microseconds.
        var realtime: UInt64
        /// CLOCK_MONOTONIC (systemd) or CLOCK_BOOTTIME (ipcsweep), microseconds, on the host's clock.
        var other: UInt64

        var text: String {
            "ipcsweep-clock-pair 1\nboot_id \(bootID)\nsource \(kind.rawValue)\nrealtime_us \(realtime)\n"
                + "\(kind == .systemdManager ? "monotonic_us" : "boottime_us") \(other)\n"
        }

        static func parse(_ text: String) -> StoredPair? {
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1)
                if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
            }
            guard fields["ipcsweep-clock-pair"] == "1", let boot = fields["boot_id"], let kind = fields["source"].flatMap(Kind.init),
                  let real = fields["realtime_us"].flatMap({ UInt64($0) }),
                  let other = fields[kind == .systemdManager ? "monotonic_us" : "boottime_us"].flatMap({ UInt64($0) })
            else { return nil }
            return StoredPair(bootID: boot, kind: kind, realtime: real, other: other)
        }
    }

    /// Reads CLOCK_REALTIME, CLOCK_MONOTONIC and CLOCK_BOOTTIME, the latter two less this time namespace's offsets.
    public static func now(offsetsPath: String = "/proc/self/timens_offsets") -> Now {
        func read(_ clock: clockid_t) -> Double {
            var ts = timespec()
            clock_gettime(clock, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        let real = read(CLOCK_REALTIME)
        let mono = read(CLOCK_MONOTONIC)
        let boot = read(CLOCK_BOOTTIME)
        var offsets: [String: Double] = [:]
        if let text = try? FileIO.readText(offsetsPath, limit: 4096, requireRegular: false) {
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ", omittingEmptySubsequences: true)
                if f.count == 3, let s = Double(f[1]), let ns = Double(f[2]) { offsets[String(f[0])] = s + ns / 1e9 }
            }
        }
        return Now(realtime: real, monotonic: mono - (offsets["monotonic"] ?? 0), boottime: boot - (offsets["boottime"] ?? 0))
    }

    /// The measurement of a systemd pair: its instant on today's wall clock, and the step since.
    public static func reference(_ pair: SystemdClockPair, source: ClockStepSource, now: Now) -> ClockReference {
        let real = Double(pair.realtime) / 1e6
        let mono = Double(pair.monotonic) / 1e6
        return ClockReference(source: source, since: now.realtime - (now.monotonic - mono),
                              step: (now.realtime - now.monotonic) - (real - mono))
    }

    static func reference(_ pair: StoredPair, path: String, now: Now) -> ClockReference {
        if pair.kind == .systemdManager {
            return reference(SystemdClockPair(realtime: pair.realtime, monotonic: pair.other), source: .systemdManager, now: now)
        }
        let real = Double(pair.realtime) / 1e6
        let boot = Double(pair.other) / 1e6
        return ClockReference(source: .ownPair(path: path), since: now.realtime - (now.boottime - boot),
                              step: (now.realtime - now.boottime) - (real - boot))
    }

    /// The pair kept at `path` for this boot, if it can be trusted (regular, root's, writable by root alone).
    static func stored(_ path: String, bootID: String, now: Now) -> StoredPair? {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == 0, st.st_mode & 0o022 == 0,
              let text = try? FileIO.readText(path, limit: 4096), let pair = StoredPair.parse(text),
              pair.bootID == bootID else { return nil }
        // A pair from the future of this boot's clocks is not one this boot took.
        let other = Double(pair.other) / 1e6
        guard other <= (pair.kind == .systemdManager ? now.monotonic : now.boottime) + 1 else { return nil }
        return pair
    }

    static func store(_ pair: StoredPair, at path: String) -> String? {
        guard geteuid() == 0 else { return "only root keeps it" }
        do { try FileIO.writeAtomically(Array(pair.text.utf8), to: path, mode: 0o644) } catch { return error.description }
        return nil
    }

    /// The steps measured now: from the kept pair, else from systemd's (then kept), else from a pair taken
    /// now (then kept; it reaches back to this run only). `askSystemd` asks for the manager's pair (tests
    /// pass a stub).
    public static func measure(pairPath: String = pairPath, systemdRunning: Bool = access("/run/systemd/system", F_OK) == 0,
                               bootIDPath: String = "/proc/sys/kernel/random/boot_id",
                               askSystemd: () -> Result<SystemdClockPair, SystemdUnavailable>? = {
                                   UnitInvocationProbe.lookup(units: [], manager: true).manager
                               }) -> ClockSteps {
        let now = now()
        guard let id = try? FileIO.readText(bootIDPath, limit: 4096, requireRegular: false), !id.isEmpty else {
            return ClockSteps(unmeasured: "the boot id (\(bootIDPath)) cannot be read")
        }
        let bootID = id.trimmingCharacters(in: " \n")
        let kept = stored(pairPath, bootID: bootID, now: now)
        if let kept, kept.kind == .systemdManager { return ClockSteps(references: [reference(kept, path: pairPath, now: now)]) }
        var systemdProblem = "systemd is not running"
        if systemdRunning {
            switch askSystemd() {
            case .success(let p)?:
                _ = store(StoredPair(bootID: bootID, kind: .systemdManager, realtime: p.realtime, other: p.monotonic), at: pairPath)
                return ClockSteps(references: [reference(p, source: .systemdManager, now: now)])
            case .failure(let e)?: systemdProblem = e.description
            case nil: systemdProblem = "systemd was not asked"
            }
        }
        if let kept { return ClockSteps(references: [reference(kept, path: pairPath, now: now)]) }
        let pair = StoredPair(bootID: bootID, kind: .ownPair, realtime: UInt64(now.realtime * 1e6), other: UInt64(now.boottime * 1e6))
        if let problem = store(pair, at: pairPath) {
            return ClockSteps(unmeasured: "\(systemdProblem), and ipcsweep's clock pair \(pairPath) is not there and "
                + "cannot be written (\(problem)): run ipcsweep once as root after boot")
        }
        return ClockSteps(references: [reference(pair, path: pairPath, now: now)])
    }
}
