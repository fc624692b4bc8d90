#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension Inspector {
    /// Every IPC namespace that a process is in (/proc/*/ns/ipc), each read from a thread inside it and
    /// classified against the processes of that namespace. The process table is read once for all of them.
    /// A namespace that cannot be entered (its processes exited meanwhile, permission) is a warning.
    public static func inspectAll(_ options: InspectionOptions, users: UserDirectory) throws -> [Inspection] {
        let procProbe = processProbe(options, needs: nil, allNamespaces: true)
        guard Procfs.isLive(options.procRoot) else {
            throw ProbeError(description: "--all-namespaces reads the running kernel, not the procfs copy in \(options.procRoot)")
        }
        try Procfs.requireOwnNamespace(options.procRoot)
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
                if !scan.scanned && scan.kind == .posixMq && !options.posixKinds.contains(.posixMq) { continue }
                kept.append(scan)
            }
            return (kept, kept.flatMap(\.objects).filter { options.posixKinds.contains($0.kind) })
        }
        var namespaces = IPCNamespaceInfo.all(in: table)
        if let i = namespaces.firstIndex(where: { $0.inode == own }) { namespaces.insert(namespaces.remove(at: i), at: 0) }
        for info in namespaces {
            var probe = options.probe(kinds: options.sysvKinds.isEmpty ? IPCKind.sysv : options.sysvKinds, semaphoreDetail: true,
                                      namespace: nil)
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
                        if let m = ownMount, scannedMounts.insert(m).inserted { scanner = options.scanner; mount = m }
                    } else if let pid = info.pid {
                        mount = table.byPid[pid]?.mountNamespace
                        if let m = mount, m != ownMount, scannedMounts.insert(m).inserted {
                            scanner = options.scanner.ofProcess(pid, procRoot: options.procRoot)
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
    struct Found {
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
    static func foreignPosix(_ ns: IPCNamespaceThread, table: ProcessTable, options: InspectionOptions)
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
        let scans = options.scanner.ofProcess(p.pid, procRoot: options.procRoot).scan()
        let notes = scans.filter { !$0.scanned }.compactMap(\.skipReason)
            .map { "IPC namespace \(ns.inode) (pid \(p.pid)): \($0)" }
        let devices = Set(scans.filter(\.scanned).compactMap { $0.mount?.device })
        return (scans, notes, [mount: devices])
    }

}
