/// Who may be holding the objects: `--unit`, `--cgroup`, `--pidfile`, `--exe`, `--exclusive`.
///
/// Several scope options combine as a union: a process is in scope when any of
/// them selects it. Matching is a pure function of the process table; reading
/// the pidfiles happens before (see `ScopeSpec.PidFile`).
public struct ScopeSpec: Sendable, Equatable {
    /// A pidfile as read: its path and the pid in it (nil when missing, empty or unreadable).
    public struct PidFile: Sendable, Equatable {
        public var path: String
        public var pid: Int32?
        public var problem: String?
        public init(path: String, pid: Int32?, problem: String? = nil) {
            self.path = path
            self.pid = pid
            self.problem = problem
        }
    }

    public var units: [String]
    public var cgroups: [String]
    public var pidfiles: [PidFile]
    public var exes: [String]
    public var exclusive: Bool

    public init(units: [String] = [], cgroups: [String] = [], pidfiles: [PidFile] = [], exes: [String] = [],
                exclusive: Bool = false) {
        self.units = units.map(SystemdUnit.normalize)
        self.cgroups = cgroups
        self.pidfiles = pidfiles
        self.exes = exes
        self.exclusive = exclusive
    }

    /// Whether any scope option was given.
    public var isEmpty: Bool { units.isEmpty && cgroups.isEmpty && pidfiles.isEmpty && exes.isEmpty }

    /// "unit apache2.service", "pidfile /run/apache2/apache2.pid (pid 812)", ...
    public var description: String {
        var parts: [String] = []
        parts += units.map { "unit \($0)" }
        parts += cgroups.map { "cgroup \($0)" }
        parts += pidfiles.map { f in "pidfile \(f.path)" + (f.pid.map { " (pid \($0))" } ?? " (no pid)") }
        parts += exes.map { "exe \($0)" }
        return parts.joined(separator: ", ")
    }

    /// A pidfile that cannot be used: unreadable, not a regular file, too large, or not holding a pid.
    public struct PidFileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The largest pid Linux hands out (PID_MAX_LIMIT).
    static let pidMaxLimit: Int32 = 4_194_304

    /// Reads a pidfile (a regular file of at most `FileIO.Limit.pidfile` bytes). Missing (ENOENT) or empty: an
    /// empty scope plus a warning, as for a stale pid. Anything else that keeps it from naming a pid — EACCES,
    /// EISDIR, EIO, a FIFO or device, more than a few KiB, text that is not a pid — is an error: a scope the tool
    /// cannot read is not an empty scope.
    public static func readPidFile(_ path: String) throws(PidFileError) -> PidFile {
        let text: String
        do { text = try FileIO.readText(path, limit: FileIO.Limit.pidfile) } catch {
            if error.errno == .noSuchFileOrDirectory {
                return PidFile(path: path, pid: nil, problem: "pidfile \(path) does not exist (the service is not running?): the scope of this pidfile is empty")
            }
            let what = error.problem ?? "\(error.errno)"
            throw PidFileError(description: "--pidfile \(path): cannot read it: \(what); give the pidfile of a running service (a regular file holding its pid)")
        }
        let first = text.split(separator: "\n", omittingEmptySubsequences: true).first.map { $0.trimmingCharacters(in: " \t\r") } ?? ""
        if first.isEmpty {
            return PidFile(path: path, pid: nil, problem: "pidfile \(path) is empty: the scope of this pidfile is empty")
        }
        guard let pid = Int32(first), pid > 0, pid <= pidMaxLimit else {
            let shown = String(first.prefix(20).map { $0.isASCII && !$0.isNewline && $0 >= " " ? $0 : "?" })
            throw PidFileError(description: "--pidfile \(path) does not hold a pid (its first line is \"\(shown)\"): give the pidfile of a running service")
        }
        return PidFile(path: path, pid: pid)
    }

    /// Whether one process matches an `--exe` value: a path matches /proc/PID/exe, a name matches its basename or comm.
    static func exeMatches(_ p: ProcessRecord, _ want: String) -> Bool {
        let exe = p.exe.map { $0.hasSuffix(" (deleted)") ? String($0.dropLast(10)) : $0 }
        if want.contains("/") { return exe == want }
        let base = exe.flatMap { $0.split(separator: "/").last.map(String.init) }
        return base == want || p.comm == want
    }

    /// The pids in scope, and warnings (stale pidfiles).
    public func resolve(in table: ProcessTable) -> ResolvedScope? {
        guard !isEmpty else { return nil }
        var members: Set<Int32> = []
        var memberUnits: [Int32: String] = [:]
        var warnings: [String] = []
        for f in pidfiles {
            if let problem = f.problem { warnings.append(problem); continue }
            guard let pid = f.pid, let p = table.byPid[pid], !p.isDeadOrZombie else {
                warnings.append("pidfile \(f.path) names pid \(f.pid ?? 0), which is not running: the scope of this pidfile is empty")
                continue
            }
            members.formUnion(table.descendants(of: pid))
        }
        if !units.isEmpty || !cgroups.isEmpty || !exes.isEmpty {
            for p in table.byPid.values {
                if let cg = p.cgroup {
                    if let unit = units.first(where: { SystemdUnit.cgroup(cg, isIn: $0) }) {
                        members.insert(p.pid)
                        memberUnits[p.pid] = unit
                        continue
                    }
                    if cgroups.contains(where: { cg == $0 || cg.hasPrefix($0.hasSuffix("/") ? $0 : $0 + "/") }) {
                        members.insert(p.pid)
                        continue
                    }
                }
                if exes.contains(where: { Self.exeMatches(p, $0) }) { members.insert(p.pid) }
            }
        }
        return ResolvedScope(description: description, members: members, exclusive: exclusive, warnings: warnings,
                             memberUnits: memberUnits)
    }
}

/// When a systemd unit's current invocation began, as systemd reports it (`InactiveExitTimestamp`), or why
/// that could not be read.
public enum UnitInvocation: Sendable, Hashable {
    /// Epoch seconds (CLOCK_REALTIME) at which the unit last left the inactive state.
    case began(Double)
    /// The lookup failed or the unit never started; the text says why (it names the unit).
    case unavailable(String)
}

/// A scope turned into pids.
public struct ResolvedScope: Sendable, Equatable {
    public var description: String
    public var members: Set<Int32>
    public var exclusive: Bool
    public var warnings: [String]
    /// For members selected by `--unit`: which unit (as normalized, e.g. `apache2.service`).
    public var memberUnits: [Int32: String]
    /// The current invocation of each `--unit` service, read from systemd by the probe (empty when none asked).
    public var unitInvocations: [String: UnitInvocation]

    public init(description: String, members: Set<Int32>, exclusive: Bool, warnings: [String] = [],
                memberUnits: [Int32: String] = [:], unitInvocations: [String: UnitInvocation] = [:]) {
        self.description = description
        self.members = members
        self.exclusive = exclusive
        self.warnings = warnings
        self.memberUnits = memberUnits
        self.unitInvocations = unitInvocations
    }
}
