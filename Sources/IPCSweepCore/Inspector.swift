import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What to inspect and how.
public struct InspectionOptions: Sendable {
    public var procRoot: String
    public var source: IPCSource
    public var kinds: Set<IPCKind>
    public var scope: ScopeSpec
    /// `--inherit-window`: how long after an object's last activity a re-parented process may have inherited it.
    public var inheritWindow: Double
    /// The POSIX kinds to inspect (none: the POSIX roots are not read).
    public var posixKinds: Set<PosixIPCKind>
    /// Where the POSIX objects are read from (its roots are parameters: another mount namespace can be given).
    public var posixScanner: PosixIPCScanner

    public init(procRoot: String = "/proc", source: IPCSource = .auto, kinds: Set<IPCKind> = Set(IPCKind.allCases),
                scope: ScopeSpec = ScopeSpec(), inheritWindow: Double = Classifier.defaultInheritWindow,
                posixKinds: Set<PosixIPCKind> = [], posixScanner: PosixIPCScanner = PosixIPCScanner()) {
        self.procRoot = procRoot
        self.source = source
        self.kinds = kinds
        self.scope = scope
        self.inheritWindow = inheritWindow
        self.posixKinds = posixKinds
        self.posixScanner = posixScanner
    }
}

/// One complete look at the system: the snapshots, the scope and every verdict.
public struct Inspection: Sendable {
    public var snapshot: IPCSnapshot
    public var processes: ProcessTable
    public var scope: ResolvedScope?
    public var classifications: [Classification]
    public var now: Double
    /// Everything worth telling the user that is not a verdict (skipped lines, stale pidfiles).
    public var warnings: [String]
    /// The POSIX roots as scanned (the /dev/shm mount and the mqueue mount), unfiltered.
    public var posixScans: [PosixScanResult] = []
    /// Every POSIX object of the inspected kinds, classified, in path order.
    public var posix: [PosixClassification] = []
    /// What the POSIX side could not see, in words (an mqueue filesystem that is not mounted, a procfs copy).
    public var posixNotes: [String] = []
}

/// The current invocation of every `--unit` service that has a live process other than this run: only those
/// processes can use the exception to inheritance, so a unit with none (ExecStopPost=) costs no lookup.
private func unitInvocations(_ scope: ResolvedScope, table: ProcessTable, procRoot: String) -> [String: UnitInvocation] {
    var units: Set<String> = []
    for (pid, unit) in scope.memberUnits where pid != table.ownPid && unit.hasSuffix(".service") {
        if let p = table.byPid[pid], !p.isDeadOrZombie { units.insert(unit) }
    }
    guard !units.isEmpty else { return [:] }
    guard procRoot == "/proc" else {
        return Dictionary(uniqueKeysWithValues: units.map { ($0, UnitInvocation.unavailable("--proc \(procRoot) is not the live system")) })
    }
    return UnitInvocationProbe.invocations(of: units.sorted())
}

/// The process table, written by the worker that read it (before the snapshot call returns), and the POSIX
/// scans, written by another worker (before the group is waited for).
private final class ConcurrentReads: @unchecked Sendable {
    var table: Result<ProcessTable, any Error>?
    var scans: [PosixScanResult] = []
}

/// Produces an `Inspection`: reads the kernel and /proc, then runs the pure classifier.
public enum Inspector {
    /// The current time as epoch seconds (CLOCK_REALTIME).
    public static func currentTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Reads both snapshots and classifies. Only the tool's own process never counts as a holder.
    public static func inspect(_ options: InspectionOptions, users: UserDirectory) throws -> Inspection {
        let ipc = IPCProbe(procRoot: options.procRoot, kinds: options.kinds)
        // exe (a readlink per process) only for --exe scopes.
        let procProbe = ProcessProbe(procRoot: options.procRoot, details: options.scope.exes.isEmpty ? [] : [.exe])

        // The process table is read on another thread while the IPC objects' per-semaphore detail is read,
        // and the POSIX roots on a third.
        let read = ConcurrentReads()
        let posixGroup = DispatchGroup()
        let readPosix = !options.posixKinds.isEmpty && options.procRoot == "/proc"
        if readPosix {
            let scanner = options.posixScanner
            DispatchQueue.global().async(group: posixGroup) { read.scans = scanner.scan() }
        }
        let snapshot = try ipc.snapshot(source: options.source, alongside: { read.table = Result { try procProbe.read() } })
        var table: ProcessTable
        do { table = try (read.table ?? Result { try procProbe.read() }).get() } catch {
            throw ProbeError(description: "\(error): cannot read the process table")
        }
        // The table must hold every process that existed when the objects were read: a process started while
        // they were being read may already have created or operated on one (and be its only holder). So list
        // /proc once more, now that the objects are read, and add the processes the first pass did not see.
        // The POSIX roots are read before the catch-up pass too, for the same reason.
        posixGroup.wait()
        let scans = read.scans
        var posixNotes: [String] = []
        if !options.posixKinds.isEmpty {
            if readPosix {
                for scan in scans where !scan.scanned {
                    if let why = scan.skipReason, scan.kind == .mq ? options.posixKinds.contains(.mq) : true { posixNotes.append(why) }
                }
            } else {
                posixNotes.append("POSIX IPC objects are not read with --proc \(options.procRoot): a procfs copy has no descriptors to match them with")
            }
        }
        let posixObjects = scans.flatMap(\.objects).filter { options.posixKinds.contains($0.kind) }
        procProbe.addProcessesStarted(since: &table)
        let now = currentTime()

        // /proc/PID/maps and /proc/PID/fd in one pass: maps for the processes that could map an attached SysV
        // segment, maps and fds of every live process when POSIX objects exist.
        var sysvPids: Set<Int32> = []
        let attached = snapshot.segments.filter { $0.nattch > 0 }
        if !attached.isEmpty {
            let open = attached.contains { $0.perm.mode & 0o066 != 0 }
            let owners = Set(attached.flatMap { $0.perm.uids })
            sysvPids = Set(table.byPid.values.filter { p in
                !p.isDeadOrZombie && table.sharesIPCNamespace(p)
                    && (open || !p.credentialsKnown || p.isPrivileged || owners.contains(p.uid) || owners.contains(p.euid))
            }.map(\.pid))
        }
        procProbe.addHandles(to: &table, sysvPids: sysvPids, posix: Set(posixObjects.map(\.identity)))
        // Recorded pids that are thread ids resolve to their thread group.
        if options.procRoot == "/proc" {
            var unknown: Set<Int32> = []
            func note(_ pid: Int32) { if pid > 0 && table.byPid[pid] == nil { unknown.insert(pid) } }
            for s in snapshot.semaphoreSets { for sem in s.semaphores ?? [] { note(sem.pid) } }
            for s in snapshot.segments { note(s.cpid); note(s.lpid) }
            for q in snapshot.queues { note(q.lspid); note(q.lrpid) }
            procProbe.resolveThreads(in: &table, pids: unknown.sorted())
        }

        var scope = options.scope.resolve(in: table)
        if var s = scope {
            s.unitInvocations = unitInvocations(s, table: table, procRoot: options.procRoot)
            scope = s
        }
        let classifier = Classifier(processes: table, scope: scope, inheritWindow: options.inheritWindow)
        var results = classifier.classify(snapshot)
        let text = EvidenceText(users: users)
        text.fillReasons(&results)
        // POSIX objects: the same possible-holder rules, with descriptors and mappings as direct evidence.
        var posix = PosixClassifier(processes: table, scope: scope, inheritWindow: options.inheritWindow)
            .classify(posixObjects)
        text.fillReasons(&posix)
        return Inspection(snapshot: snapshot, processes: table, scope: scope, classifications: results, now: now,
                          warnings: snapshot.warnings + (scope?.warnings ?? []) + scans.flatMap(\.warnings),
                          posixScans: scans, posix: posix, posixNotes: posixNotes)
    }
}
