import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The process table and what the verdicts need of it, written by the worker that read it (before the snapshot
/// call returns), and the POSIX scans, written by another worker (before the group is waited for).
private final class ConcurrentReads: Sendable {
    let table = SharedSlot<Result<ProcessTable, ProbeError>?>(nil)
    let needs = SharedSlot<ProcessNeeds?>(nil)
    let scans = SharedSlot<[PosixScanResult]>([])
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

    /// Reads the IPC snapshot and the process table (with the catch-up pass, maps and thread ids) and resolves the scope.
    ///
    /// The objects are listed first; what the verdicts need of each process follows from their permissions
    /// (`ProcessNeeds`, unless the table is read whole), and the process table is read on another thread while
    /// the IPC objects' per-semaphore detail is read. The POSIX roots are scanned on a third thread from the start
    /// (the table waits for them when it is read for the verdicts: their permissions count too).
    public static func read(_ options: InspectionOptions) throws -> Reading {
        try Procfs.requireOwnNamespace(options.procRoot)
        let ipc = options.probe(kinds: options.sysvKinds, semaphoreDetail: options.semaphoreDetail, namespace: options.namespace)
        let read = ConcurrentReads()
        let posixGroup = DispatchGroup()
        // POSIX objects belong to a mount namespace: the tool's own is read alongside; another namespace's after
        // the process table names a process of it (`foreignPosix`).
        let readPosix = !options.posixKinds.isEmpty && options.isLive && options.namespace == nil
        if readPosix {
            let scanner = options.scanner
            DispatchQueue.global().async(group: posixGroup) { read.scans.value = scanner.scan() }
        }
        let posixKinds = options.posixKinds
        let readTable: @Sendable (IPCSnapshot?) -> Result<ProcessTable, ProbeError> = { listed in
            var needs: ProcessNeeds?
            if options.readsForVerdictsOnly, let listed {
                posixGroup.wait()
                needs = ProcessNeeds(listed, posix: read.scans.value.flatMap(\.objects).filter { posixKinds.contains($0.kind) })
            }
            read.needs.value = needs
            do { return .success(try processProbe(options, needs: needs).read()) } catch let e as ProbeError {
                return .failure(e)
            } catch {
                return .failure(ProbeError(description: "\(error)"))
            }
        }
        let snapshot = try ipc.snapshot(source: options.source, alongside: { read.table.value = readTable($0) })
        var table: ProcessTable
        do { table = try (read.table.value ?? readTable(snapshot)).get() } catch {
            throw ProbeError(description: "\(error): cannot read the process table")
        }
        let procProbe = processProbe(options, needs: read.needs.value)
        // The POSIX roots are read before the catch-up pass (in `complete`), for the same reason as the objects.
        posixGroup.wait()
        var scans = read.scans.value
        var posixNotes: [String] = []
        var mountDevices: [UInt64: Set<UInt64>] = [:]
        if let ns = options.namespace, !options.posixKinds.isEmpty, Procfs.isLive(options.procRoot) {
            let found = foreignPosix(ns, table: table, options: options)
            scans = found.scans
            posixNotes += found.notes
            mountDevices = found.devices
        }
        if !options.posixKinds.isEmpty && options.namespace == nil {
            if readPosix {
                for scan in scans where !scan.scanned {
                    if let why = scan.skipReason, scan.kind == .posixMq ? options.posixKinds.contains(.posixMq) : true { posixNotes.append(why) }
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
        let lastPid = Procfs.isLive(options.procRoot) ? BirthWatch(procRoot: options.procRoot)?.lastPid() : nil
        complete(&found, table: &table, probe: procProbe, options: options)
        var r = reading(found[0], table: table, options: options, clock: measureClock(options))
        r.lastPid = lastPid
        r.processNeeds = procProbe.needs
        return r
    }

    /// The probe of the process table: read whole (`needs` nil) or for the verdicts only.
    static func processProbe(_ options: InspectionOptions, needs: ProcessNeeds?, allNamespaces: Bool = false) -> ProcessProbe {
        // exe (a readlink per process) only for --exe scopes; the mount namespace only where it tells which POSIX
        // filesystems a process reaches: another namespace's objects (--namespace, --all-namespaces).
        var details: ProcessProbe.Details = []
        if !options.scope.exes.isEmpty { details.insert(.exe) }
        if !options.posixKinds.isEmpty && (options.namespace != nil || allNamespaces) { details.insert(.mountNamespace) }
        return ProcessProbe(procRoot: options.procRoot, details: details, needs: needs)
    }

    /// What the table needs once every snapshot is read: the processes started meanwhile, the SysV mappings of
    /// the processes that could map an attached segment, and thread ids among the recorded pids.
    static func complete(_ found: inout [Found], table: inout ProcessTable, probe procProbe: ProcessProbe,
                                 options: InspectionOptions) {
        // The table must hold every process that existed when the objects were read: a process started while
        // they were being read may already have created or operated on one (and be its only holder). So list
        // /proc once more, now that the objects are read, and add the processes the first pass did not see.
        procProbe.addProcessesStarted(since: &table)

        // /proc/PID/maps and /proc/PID/fd in one pass: maps for the processes (of that segment's namespace)
        // that could map an attached SysV segment, maps and fds of every live process when POSIX objects exist
        // whose holders the kernel did not answer for (`leaseAnswersHolders`): none at all when every POSIX object
        // in view was leased (a host where nothing holds its /dev/shm files, or one user's own orphans).
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
        procProbe.addHandles(to: &table, sysvPids: sysvPids, posix: Set(found.flatMap(\.posixObjects).filter { !$0.leaseAnswersHolders }.map(\.identity)))
        // Recorded pids that are thread ids resolve to their thread group.
        if Procfs.isLive(options.procRoot) {
            var unknown: Set<Int32> = []
            func note(_ pid: Int32) { if pid > 0 && table.byPid[pid] == nil { unknown.insert(pid) } }
            for f in found {
                for s in f.snapshot.semaphoreSets { for sem in s.semaphores ?? [] { note(sem.pid) } }
                for s in f.snapshot.segments { note(s.cpid); note(s.lpid) }
                for q in f.snapshot.queues { note(q.lspid); note(q.lrpid) }
            }
            procProbe.resolveThreads(in: &table, pids: unknown.sorted())
        }
        // Read for the verdicts: the processes the evidence names, and their parents, are read whole too.
        if procProbe.needs != nil {
            var pids: Set<Int32> = []
            for f in found { pids.formUnion(ProcessNeeds.evidencePids(of: f.snapshot, posix: f.posixObjects, in: table)) }
            procProbe.addDetail(to: &table, pids: pids)
        }
    }

    /// The wall clock's steps, measured once per run on the live system (`ClockStepProbe`); a procfs copy
    /// measures nothing.
    static func measureClock(_ options: InspectionOptions) -> ClockSteps {
        Procfs.isLive(options.procRoot) ? ClockStepProbe.measure() : ClockSteps()
    }

    /// The scope resolved over the completed table (its `ownIPCNamespace` is the namespace inspected), with the
    /// clock's steps measured for the run and those since each `--unit` service's invocation began.
    static func reading(_ f: Found, table: ProcessTable, options: InspectionOptions, clock: ClockSteps) -> Reading {
        let now = currentTime()
        var table = table
        // What keeps this run from seeing every process of the namespace inspected (a live system only).
        if Procfs.isLive(options.procRoot) {
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
        var r = Reading(snapshot: f.snapshot, processes: table, scope: scope, now: now,
                        warnings: f.snapshot.warnings + (scope?.warnings ?? []) + f.scans.flatMap(\.warnings), options: options,
                        posixObjects: f.posixObjects)
        r.posixScans = f.scans
        r.posixNotes = f.posixNotes
        r.namespace = f.namespace
        r.namespaceThread = f.thread
        r.mountDevices = f.mountDevices
        r.clock = clock
        return r
    }
}
