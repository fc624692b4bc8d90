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
    /// Read every semaphore of every set (GETALL, GETPID, GETNCNT, GETZCNT). `clean` plans without it and
    /// reads each candidate whole once, as its re-check.
    public var semaphoreDetail: Bool
    /// The POSIX kinds to inspect (none: the POSIX roots are not read).
    public var posixKinds: Set<PosixIPCKind>
    /// Where the POSIX objects are read from (its roots are parameters: another mount namespace can be given).
    public var posixScanner: PosixIPCScanner
    /// Another IPC namespace to inspect (`--namespace`); nil: the tool's own. Its POSIX objects are those of the mount namespace of a process in it (/proc/PID/root).
    public var namespace: IPCNamespaceThread?
    /// `--all-processes-visible`: no process of another pid namespace shares the inspected IPC namespace.
    public var allProcessesVisible: Bool

    public init(procRoot: String = "/proc", source: IPCSource = .auto, kinds: Set<IPCKind> = Set(IPCKind.allCases),
                scope: ScopeSpec = ScopeSpec(), inheritWindow: Double = Classifier.defaultInheritWindow,
                semaphoreDetail: Bool = true,
                posixKinds: Set<PosixIPCKind> = [], posixScanner: PosixIPCScanner = PosixIPCScanner(),
                namespace: IPCNamespaceThread? = nil, allProcessesVisible: Bool = false) {
        self.procRoot = procRoot
        self.source = source
        self.kinds = kinds
        self.scope = scope
        self.inheritWindow = inheritWindow
        self.semaphoreDetail = semaphoreDetail
        self.posixKinds = posixKinds
        self.posixScanner = posixScanner
        self.namespace = namespace
        self.allProcessesVisible = allProcessesVisible
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
    /// The IPC namespace inspected, when it was chosen (`--namespace`, `--all-namespaces`); nil: the tool's own.
    public var namespace: IPCNamespaceInfo?
    /// The thread inside that namespace, for more reads there (its limits); nil for the tool's own namespace.
    public var namespaceThread: IPCNamespaceThread?
    /// The wall clock's steps measured for the run, and the note said when orphaned verdicts rest on an
    /// unmeasured stretch (it is among `warnings` too).
    public var clock = ClockSteps()
    public var clockNote: String? = nil
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
    /// With `options.namespace`, the objects are those of that IPC namespace and the possible holders the
    /// processes in it (host pids).
    public static func inspect(_ options: InspectionOptions, users: UserDirectory) throws -> Inspection {
        try read(options).inspection(users: users)
    }

    /// What `inspect` reads before classifying: the snapshots, the resolved scope, and how to make the classifier.
    public struct Reading: Sendable {
        public var snapshot: IPCSnapshot
        public var processes: ProcessTable
        public var scope: ResolvedScope?
        public var now: Double
        public var warnings: [String]
        public var options: InspectionOptions
        /// The namespace's last allocated pid just before the table was completed (nil: not known).
        public var lastPid: Int64? = nil
        /// The POSIX roots as scanned, unfiltered.
        public var posixScans: [PosixScanResult] = []
        /// The POSIX objects of the inspected kinds, in path order.
        public var posixObjects: [PosixIPCObject] = []
        /// What the POSIX side could not see, in words.
        public var posixNotes: [String] = []
        /// The IPC namespace read, when it was chosen (`--namespace`, `--all-namespaces`); nil: the tool's own.
        public var namespace: IPCNamespaceInfo? = nil
        /// The thread inside that namespace; nil for the tool's own namespace.
        public var namespaceThread: IPCNamespaceThread? = nil
        /// The POSIX filesystems each scanned mount namespace reaches, by its inode (for the possible holders).
        public var mountDevices: [UInt64: Set<UInt64>] = [:]
        /// The wall clock's steps measured for this run (nothing for a procfs copy).
        public var clock = ClockSteps()

        /// The pure classifier over this process table, scope and clock.
        public var classifier: Classifier {
            Classifier(processes: processes, scope: scope, inheritWindow: options.inheritWindow, clock: clock)
        }

        /// Said once per run when orphaned verdicts rest on a time where no clock step could be measured.
        public func clockNote(_ sysv: [Classification], posix: [PosixClassification]) -> String? {
            clock.uncoveredNote(orphanedLastActivities: sysv.filter { $0.verdict == .orphaned }.map(\.object.lastActivity)
                + posix.filter { $0.verdict == .orphaned }.map(\.object.lastChange.seconds))
        }

        /// Every object of the snapshot classified, with its reasons worded (and its namespace, when chosen).
        public func classify(users: UserDirectory) -> [Classification] {
            var results = classifier.classify(snapshot)
            EvidenceText(users: users).fillReasons(&results)
            if let ns = namespace {
                for i in results.indices { results[i].namespace = ns }
            }
            return results
        }

        /// The POSIX objects classified (the same possible-holder rules, with descriptors and mappings as direct
        /// evidence), with their reasons worded.
        public func classifyPosix(users: UserDirectory) -> [PosixClassification] {
            var posix = PosixClassifier(processes: processes, scope: scope, inheritWindow: options.inheritWindow,
                                        mountDevices: mountDevices, clock: clock).classify(posixObjects)
            EvidenceText(users: users).fillReasons(&posix)
            if let ns = namespace {
                for i in posix.indices { posix[i].namespace = ns }
            }
            return posix
        }

        /// Everything classified.
        public func inspection(users: UserDirectory) -> Inspection {
            let sysv = classify(users: users)
            let posix = classifyPosix(users: users)
            let note = clockNote(sysv, posix: posix)
            return Inspection(snapshot: snapshot, processes: processes, scope: scope, classifications: sysv,
                              now: now, warnings: warnings + [note].compactMap { $0 },
                              posixScans: posixScans, posix: posix, posixNotes: posixNotes, namespace: namespace,
                              namespaceThread: namespaceThread, clock: clock, clockNote: note)
        }
    }

    /// Reads the IPC snapshot and the process table (with the catch-up pass, maps and thread ids) and resolves the scope.
    public static func read(_ options: InspectionOptions) throws -> Reading {
        let ipc = IPCProbe(procRoot: options.procRoot, kinds: options.kinds, semaphoreDetail: options.semaphoreDetail,
                           namespace: options.namespace)
        let procProbe = processProbe(options)

        // The process table is read on another thread while the IPC objects' per-semaphore detail is read,
        // and the POSIX roots on a third.
        let read = ConcurrentReads()
        let posixGroup = DispatchGroup()
        // POSIX objects belong to a mount namespace: the tool's own is read alongside; another namespace's after
        // the process table names a process of it (`foreignPosix`).
        let readPosix = !options.posixKinds.isEmpty && options.procRoot == "/proc" && options.namespace == nil
        if readPosix {
            let scanner = options.posixScanner
            DispatchQueue.global().async(group: posixGroup) { read.scans = scanner.scan() }
        }
        let snapshot = try ipc.snapshot(source: options.source, alongside: { read.table = Result { try procProbe.read() } })
        var table: ProcessTable
        do { table = try (read.table ?? Result { try procProbe.read() }).get() } catch {
            throw ProbeError(description: "\(error): cannot read the process table")
        }
        // The POSIX roots are read before the catch-up pass (in `complete`), for the same reason as the objects.
        posixGroup.wait()
        var scans = read.scans
        var posixNotes: [String] = []
        var mountDevices: [UInt64: Set<UInt64>] = [:]
        if let ns = options.namespace, !options.posixKinds.isEmpty, options.procRoot == "/proc" {
            let found = foreignPosix(ns, table: table, options: options)
            scans = found.scans
            posixNotes += found.notes
            mountDevices = found.devices
        }
        if !options.posixKinds.isEmpty && options.namespace == nil {
            if readPosix {
                for scan in scans where !scan.scanned {
                    if let why = scan.skipReason, scan.kind == .mq ? options.posixKinds.contains(.mq) : true { posixNotes.append(why) }
                }
            } else {
                posixNotes.append("POSIX IPC objects are not read with --proc \(options.procRoot): a procfs copy has no descriptors to match them with")
            }
        }
        let posixObjects = scans.flatMap(\.objects).filter { options.posixKinds.contains($0.kind) }
        var info: IPCNamespaceInfo?
        if let ns = options.namespace {
            info = IPCNamespaceInfo.all(in: table).first { $0.inode == ns.inode }
                ?? IPCNamespaceInfo(inode: ns.inode, owner: IPCNamespaceInfo.owner(inode: ns.inode, oldest: nil), pid: nil)
            table.ownIPCNamespace = ns.inode
        }
        var found = [Found(snapshot: snapshot, namespace: info, thread: options.namespace, scans: scans,
                           posixObjects: posixObjects, posixNotes: posixNotes, mountDevices: mountDevices)]
        // The last pid allocated before the catch-up listing: a process with a higher pid was born after it
        // (clean's decider).
        let lastPid = options.procRoot == "/proc" ? BirthWatch(procRoot: options.procRoot)?.lastPid() : nil
        complete(&found, table: &table, probe: procProbe, options: options)
        var r = reading(found[0], table: table, options: options, clock: measureClock(options))
        r.lastPid = lastPid
        return r
    }

    /// Every IPC namespace that a process is in (/proc/*/ns/ipc), each read from a thread inside it and
    /// classified against the processes of that namespace. The process table is read once for all of them.
    /// A namespace that cannot be entered (its processes exited meanwhile, permission) is a warning.
    public static func inspectAll(_ options: InspectionOptions, users: UserDirectory) throws -> [Inspection] {
        let procProbe = processProbe(options)
        guard options.procRoot == "/proc" else {
            throw ProbeError(description: "--all-namespaces reads the running kernel, not the procfs copy in \(options.procRoot)")
        }
        var table: ProcessTable
        do { table = try procProbe.read() } catch {
            throw ProbeError(description: "\(error): cannot read the process table")
        }
        let own = table.ownIPCNamespace
        var found: [Found] = []
        var failures: [String] = []
        // POSIX objects: each mount namespace read once, each filesystem attributed to one IPC namespace (the
        // tool's own first): namespaces that share a mount namespace, or a /dev/shm, see the same files.
        let ownMount = FileIO.readLink("/proc/self/ns/mnt").flatMap(ProcessProbe.namespaceInode)
        var mountDevices: [UInt64: Set<UInt64>] = [:]
        var attributed: Set<UInt64> = []
        var scannedMounts: Set<UInt64> = []
        func posix(_ scans: [PosixScanResult], mount: UInt64?) -> (scans: [PosixScanResult], objects: [PosixIPCObject]) {
            var kept: [PosixScanResult] = []
            for scan in scans {
                if scan.scanned, let d = scan.mount?.device {
                    if let mount { mountDevices[mount, default: []].insert(d) }
                    guard attributed.insert(d).inserted else { continue }
                }
                if !scan.scanned && scan.kind == .mq && !options.posixKinds.contains(.mq) { continue }
                kept.append(scan)
            }
            return (kept, kept.flatMap(\.objects).filter { options.posixKinds.contains($0.kind) })
        }
        var namespaces = IPCNamespaceInfo.all(in: table)
        if let i = namespaces.firstIndex(where: { $0.inode == own }) { namespaces.insert(namespaces.remove(at: i), at: 0) }
        for info in namespaces {
            var probe = IPCProbe(procRoot: options.procRoot, kinds: options.kinds)
            if info.inode != own {
                // Enter through its oldest process, else any other process of it still there.
                let others = table.byPid.values.lazy
                    .filter { $0.ipcNamespace == info.inode && $0.pid != info.pid && !$0.isDeadOrZombie }.map(\.pid)
                var thread: IPCNamespaceThread?
                var lastError = "no process of it is left"
                for pid in [info.pid].compactMap({ $0 }) + others {
                    do {
                        let t = try IPCNamespaceThread(target: String(pid), procRoot: options.procRoot)
                        if t.inode == info.inode { thread = t; break }
                        lastError = "pid \(pid) is now in another namespace"
                    } catch { lastError = error.description }
                }
                guard let thread else {
                    failures.append("IPC namespace \(info.inode) (\(info.owner)) not inspected: \(lastError)")
                    continue
                }
                probe.namespace = thread
            }
            do {
                var f = Found(snapshot: try probe.snapshot(source: options.source), namespace: info, thread: probe.namespace)
                if !options.posixKinds.isEmpty {
                    var scanner: PosixIPCScanner?
                    var mount: UInt64?
                    if info.inode == own {
                        if let m = ownMount, scannedMounts.insert(m).inserted { scanner = options.posixScanner; mount = m }
                    } else if let pid = info.pid {
                        mount = table.byPid[pid]?.mountNamespace
                        if let m = mount, m != ownMount, scannedMounts.insert(m).inserted {
                            scanner = PosixIPCScanner.ofProcess(pid, procRoot: options.procRoot)
                        }
                    }
                    if let scanner {
                        let r = posix(scanner.scan(), mount: mount)
                        f.scans = r.scans
                        f.posixObjects = r.objects
                        f.posixNotes = r.scans.filter { !$0.scanned }.compactMap(\.skipReason)
                            .map { info.inode == own ? $0 : "IPC namespace \(info.inode) (\(info.owner)): \($0)" }
                    }
                }
                found.append(f)
            } catch {
                failures.append("IPC namespace \(info.inode) (\(info.owner)) not inspected: \(error)")
            }
        }
        for i in found.indices { found[i].mountDevices = mountDevices }
        complete(&found, table: &table, probe: procProbe, options: options)
        let clock = measureClock(options)
        return found.map { f in
            var t = table
            t.ownIPCNamespace = f.namespace?.inode
            var i = reading(f, table: t, options: options, clock: clock).inspection(users: users)
            i.warnings = failures + i.warnings
            return i
        }
    }

    /// One namespace's objects, before classification.
    private struct Found {
        var snapshot: IPCSnapshot
        var namespace: IPCNamespaceInfo?
        var thread: IPCNamespaceThread?
        /// POSIX objects: only for the tool's own namespace (its mount namespace's /dev/shm and mqueue).
        var scans: [PosixScanResult] = []
        var posixObjects: [PosixIPCObject] = []
        var posixNotes: [String] = []
        /// The filesystems each scanned mount namespace reaches (for the possible holders).
        var mountDevices: [UInt64: Set<UInt64>] = [:]
    }

    /// The POSIX objects of another IPC namespace: those of the mount namespace of a process in it (the pid
    /// given, else the namespace's oldest process), read through /proc/PID/root. None when that mount namespace
    /// is the tool's own (its objects are the tool's own namespace's) or no process of the namespace is seen.
    private static func foreignPosix(_ ns: IPCNamespaceThread, table: ProcessTable, options: InspectionOptions)
        -> (scans: [PosixScanResult], notes: [String], devices: [UInt64: Set<UInt64>]) {
        let given = Int32(ns.target).flatMap { table.byPid[$0] }
        let oldest = IPCNamespaceInfo.all(in: table).first { $0.inode == ns.inode }?.pid.flatMap { table.byPid[$0] }
        guard let p = given ?? oldest else {
            return ([], ["IPC namespace \(ns.inode): no process of it is left, so its POSIX objects (in that process's mount namespace) cannot be located; System V objects only. Give --namespace a pid of a process in it to see them"], [:])
        }
        let ownMount = FileIO.readLink("/proc/self/ns/mnt").flatMap(ProcessProbe.namespaceInode)
        guard let mount = p.mountNamespace, mount != ownMount else {
            let why = p.mountNamespace == nil ? "the mount namespace of pid \(p.pid) cannot be read" : "pid \(p.pid) shares the tool's own mount namespace"
            return ([], ["IPC namespace \(ns.inode): \(why): its POSIX objects are listed without --namespace (or under the tool's own namespace with --all-namespaces)"], [:])
        }
        let scans = PosixIPCScanner.ofProcess(p.pid, procRoot: options.procRoot).scan()
        let notes = scans.filter { !$0.scanned }.compactMap(\.skipReason)
            .map { "IPC namespace \(ns.inode) (pid \(p.pid)): \($0)" }
        let devices = Set(scans.filter(\.scanned).compactMap { $0.mount?.device })
        return (scans, notes, [mount: devices])
    }

    private static func processProbe(_ options: InspectionOptions) -> ProcessProbe {
        // exe (a readlink per process) only for --exe scopes; the mount namespace only when POSIX objects are read.
        var details: ProcessProbe.Details = []
        if !options.scope.exes.isEmpty { details.insert(.exe) }
        if !options.posixKinds.isEmpty { details.insert(.mountNamespace) }
        return ProcessProbe(procRoot: options.procRoot, details: details)
    }

    /// What the table needs once every snapshot is read: the processes started meanwhile, the SysV mappings of
    /// the processes that could map an attached segment, and thread ids among the recorded pids.
    private static func complete(_ found: inout [Found], table: inout ProcessTable, probe procProbe: ProcessProbe,
                                 options: InspectionOptions) {
        // The table must hold every process that existed when the objects were read: a process started while
        // they were being read may already have created or operated on one (and be its only holder). So list
        // /proc once more, now that the objects are read, and add the processes the first pass did not see.
        procProbe.addProcessesStarted(since: &table)

        // /proc/PID/maps and /proc/PID/fd in one pass: maps for the processes (of that segment's namespace)
        // that could map an attached SysV segment, maps and fds of every live process when POSIX objects exist.
        var sysvPids: Set<Int32> = []
        for f in found {
            let attached = f.snapshot.segments.filter { $0.nattch > 0 }
            guard !attached.isEmpty else { continue }
            let open = attached.contains { $0.perm.mode & 0o066 != 0 }
            let owners = Set(attached.flatMap { $0.perm.uids })
            var t = table
            if let ns = f.namespace { t.ownIPCNamespace = ns.inode }
            for p in t.byPid.values where !p.isDeadOrZombie && t.sharesIPCNamespace(p)
                && (open || !p.credentialsKnown || p.isPrivileged || owners.contains(p.uid) || owners.contains(p.euid)) {
                sysvPids.insert(p.pid)
            }
        }
        procProbe.addHandles(to: &table, sysvPids: sysvPids, posix: Set(found.flatMap(\.posixObjects).map(\.identity)))
        // Recorded pids that are thread ids resolve to their thread group.
        if options.procRoot == "/proc" {
            var unknown: Set<Int32> = []
            func note(_ pid: Int32) { if pid > 0 && table.byPid[pid] == nil { unknown.insert(pid) } }
            for f in found {
                for s in f.snapshot.semaphoreSets { for sem in s.semaphores ?? [] { note(sem.pid) } }
                for s in f.snapshot.segments { note(s.cpid); note(s.lpid) }
                for q in f.snapshot.queues { note(q.lspid); note(q.lrpid) }
            }
            procProbe.resolveThreads(in: &table, pids: unknown.sorted())
        }
    }

    /// The wall clock's steps, measured once per run on the live system (`ClockStepProbe`); a procfs copy
    /// measures nothing.
    private static func measureClock(_ options: InspectionOptions) -> ClockSteps {
        options.procRoot == "/proc" ? ClockStepProbe.measure() : ClockSteps()
    }

    /// The scope resolved over the completed table (its `ownIPCNamespace` is the namespace inspected), with the
    /// clock's steps measured for the run and those since each `--unit` service's invocation began.
    private static func reading(_ f: Found, table: ProcessTable, options: InspectionOptions, clock: ClockSteps) -> Reading {
        let now = currentTime()
        var table = table
        // What keeps this run from seeing every process of the namespace inspected (a live system only).
        if options.procRoot == "/proc" {
            let visible = f.namespace.map { ns in
                table.byPid.values.contains { $0.ipcNamespace == ns.inode && !$0.isDeadOrZombie && $0.pid != table.ownPid }
            } ?? true
            table.blindSpots = VisibilityProbe(procRoot: options.procRoot, allProcessesVisible: options.allProcessesVisible)
                .blindSpots(inspecting: f.namespace?.inode, hasVisibleProcess: visible)
        }
        var scope = options.scope.resolve(in: table)
        var clock = clock
        if var s = scope {
            let units = UnitInvocationProbe.invocations(for: s, table: table, procRoot: options.procRoot)
            s.unitInvocations = units.invocations
            clock.references += units.clock
            scope = s
        }
        return Reading(snapshot: f.snapshot, processes: table, scope: scope, now: now,
                       warnings: f.snapshot.warnings + (scope?.warnings ?? []) + f.scans.flatMap(\.warnings), options: options,
                       posixScans: f.scans, posixObjects: f.posixObjects, posixNotes: f.posixNotes, namespace: f.namespace,
                       namespaceThread: f.thread, mountDevices: f.mountDevices, clock: clock)
    }
}
