import Dispatch
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the process table in one pass over /proc.
///
/// Per process, read whole (`needs` nil): /proc/PID/stat (ppid, state, comm, start ticks), status (uids), cgroup
/// and ns/ipc, and, when asked for (`details`), exe and ns/mnt. For the verdicts only (`needs` given): status
/// first, and stat, ns/ipc (and the details) only when its credentials may reach an object (`ProcessNeeds`);
/// no cgroup (`addDetail` and `fillUnits` read the rest for the processes the evidence names); with no object in
/// view, no process at all (the directory is still listed: a procfs copy that has none is an error). Files are opened
/// relative to a /proc/PID directory descriptor (every file of one record is of one process, whatever pid reuse
/// does meanwhile) and read into one reused buffer, stat, status and cgroup with one read each; the parsers work
/// on bytes. /proc/PID/maps is read in a second pass only for the processes the caller names (those that could
/// map an attached segment).
public struct ProcessProbe: Sendable {
    /// Optional per-process fields, read only when something needs them.
    public struct Details: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// /proc/PID/exe (readlink): `--exe` scopes.
        public static let exe = Details(rawValue: 1)
        /// /proc/PID/ns/mnt (readlink): which mount namespace reaches which POSIX filesystem.
        public static let mountNamespace = Details(rawValue: 2)
        public static let all: Details = [.exe, .mountNamespace]
    }

    public var procRoot: String
    public var details: Details
    /// What the verdicts need of each process; nil: every process is read whole.
    public var needs: ProcessNeeds?
    /// The kernel calls (a fake in unit tests).
    public var kernel: any KernelCalls

    public init(procRoot: String = Procfs.live, details: Details = .all, needs: ProcessNeeds? = nil,
                kernel: any KernelCalls = Kernel.live) {
        self.procRoot = procRoot
        self.details = details
        self.needs = needs
        self.kernel = kernel
    }

    /// The boot instant in epoch seconds: CLOCK_REALTIME − CLOCK_BOOTTIME on a live system
    /// (sub-second precise); `btime` of a procfs copy's `stat` otherwise.
    public func bootInstant() -> Double {
        if Procfs.isLive(procRoot) {
            var real = timespec()
            var boot = timespec()
            clock_gettime(CLOCK_REALTIME, &real)
            clock_gettime(CLOCK_BOOTTIME, &boot)
            return (Double(real.tv_sec) + Double(real.tv_nsec) / 1e9) - (Double(boot.tv_sec) + Double(boot.tv_nsec) / 1e9)
        }
        if let text = try? FileIO.readText("\(procRoot)/stat", limit: FileIO.Limit.procfs),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
           let v = Double(line.dropFirst(6).trimmingCharacters(in: " ")) {
            return v
        }
        return 0
    }

    /// A reader for files under procRoot: a procfs copy must hold regular files.
    func newReader() -> ProcFileReader { ProcFileReader(requireRegular: !Procfs.isLive(procRoot), kernel: kernel) }

    /// Every process under procRoot. Entries that vanish while being read are skipped.
    public func read() throws -> ProcessTable {
        var problem: String?
        let boot = bootInstant()
        let records = records(of: try FileIO.numericEntries(procRoot), boot: boot, problem: &problem)
        if let problem {
            throw ProbeError(description: "\(problem) under --proc \(procRoot): a procfs copy must hold regular files; copy it again (e.g. with cp -r of the files, not of FIFOs or devices)")
        }
        let live = Procfs.isLive(procRoot)
        let own = FileIO.readLink("\(procRoot)/self/ns/ipc").flatMap(Self.namespaceInode)
        return ProcessTable(processes: records, ownIPCNamespace: live ? own : nil,
                            ownPid: live ? FileIO.readLink("\(procRoot)/self").flatMap { Int32($0) } : nil,
                            bootInstant: boot)
    }

    /// Adds the processes that appeared in /proc since `table` was read (one more directory listing;
    /// only the new pids are read), in place.
    public func addProcessesStarted(since table: inout ProcessTable) {
        guard let pids = try? FileIO.numericEntries(procRoot) else { return }
        table.insert(records(ofNew: pids, in: table))
    }

    /// The processes born since `table` while the pid namespace's last pid (/proc/loadavg) moved from `after` to
    /// `through`: pids are handed out in increasing order, so a new process's pid lies in between, and only those
    /// /proc entries are looked at (the id of a thread among them is skipped), not the whole of /proc (about 1 ms
    /// of kernel time with 2,000 processes: `clean` on a busy host catches up hundreds of times). A range that
    /// wrapped around pid_max or is wider than `bornRangeLimit` lists /proc (as `addProcessesStarted`). A process
    /// given its pid explicitly (clone3's set_tid, a write to ns_last_pid: CRIU restoring a checkpoint) moves the
    /// last pid only by chance, so neither way was ever sure to see it. Returns their records, for the caller to
    /// add (`ProcessTable.insert`).
    public func processesBorn(after: Int64, through: Int64, in table: ProcessTable) -> [ProcessRecord] {
        guard through > after, through - after <= Self.bornRangeLimit else {
            guard let pids = try? FileIO.numericEntries(procRoot) else { return [] }
            return records(ofNew: pids, in: table)
        }
        return records(ofNew: (after + 1...through).map { Int32(truncatingIfNeeded: $0) }, in: table)
    }

    /// The records of those of `pids` the table does not have.
    private func records(ofNew pids: [Int32], in table: ProcessTable) -> [ProcessRecord] {
        var problem: String?
        return records(of: pids.filter { table.byPid[$0] == nil }, boot: table.bootInstant ?? bootInstant(), problem: &problem)
    }

    /// From this many pids handed out since the last look, /proc is listed rather than looked at pid by pid.
    static let bornRangeLimit: Int64 = 512

    /// The records of these pids, with the table's boot instant; vanished ones are skipped, the rest keep the
    /// pids' order. The reads are system calls on independent /proc entries: from `parallelFrom` processes, chunks
    /// of them on several threads, each with its own read buffer (on a small host's 300 processes, half the time).
    private func records(of pids: [Int32], boot: Double, problem: inout String?) -> [ProcessRecord] {
        // Read for the verdicts with no object in view (none there, or none a filter selects: every cron run and
        // `ExecStopPost=` on a clean host): no process can hold anything, so none is read (`ProcessNeeds.readsNothing`).
        guard !pids.isEmpty, needs?.readsNothing != true else { return [] }
        let ticks = ticksPerSecond()
        let read = Parallel.map(pids.count, serialBelow: Self.parallelFrom, state: { self.newReader() }) { reader, i in
            (record: self.record(pids[i], boot: boot, ticksPerSecond: ticks, reader: reader), problem: reader.problem)
        }
        problem = read.lazy.compactMap(\.problem).first
        return read.compactMap(\.record)
    }

    /// From this many processes, their /proc reads are spread over the CPUs (`Parallel`); below it, a thread's
    /// start costs more than it saves (a read of a process's files is about 25 µs).
    static let parallelFrom = 129

    /// One process, or nil when its /proc entry vanished or is unreadable.
    public func record(_ pid: Int32, boot: Double, ticksPerSecond: Double) -> ProcessRecord? {
        record(pid, boot: boot, ticksPerSecond: ticksPerSecond, reader: newReader())
    }

    func record(_ pid: Int32, boot: Double, ticksPerSecond: Double, reader: ProcFileReader) -> ProcessRecord? {
        let dir: Int32
        switch openProcess(pid) {
        case .success(let fd): dir = fd
        // Gone (ENOENT, ESRCH) is no process; anything else (EACCES under hidepid=1) is a process we cannot read.
        case .failure(let e): return Self.vanished(e.rawValue) ? nil : Self.unreadable(pid)
        }
        defer { kernel.close(dir) }
        reader.pid = pid
        var status: StatusFields??
        if let needs {
            // Status first: it says whether anything else of this process can matter.
            let s = reader.read(dir, "status", whole: true, { Self.parseStatus($0) }) ?? nil
            if s == nil, Self.vanished(reader.lastErrno) { return nil }
            if let s, s.tgid != pid { return nil }  // a thread's id: its process is the thread group's
            if let s {
                let partial = Self.credentialsOnly(pid, s)
                if !needs.mayReach(partial) { return partial }
            }
            status = .some(s)
        }
        return detail(pid, dir: dir, status: status, boot: boot, ticksPerSecond: ticksPerSecond, reader: reader)
    }

    /// /proc/PID (a directory descriptor).
    func openProcess(_ pid: Int32) -> Result<Int32, Errno> {
        kernel.openat(AT_FDCWD, "\(procRoot)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    }

    /// stat, status (unless `status` holds it already), cgroup (when read whole), exe and the namespaces (as
    /// `details` and `needs` ask); nil when the process vanished.
    func detail(_ pid: Int32, dir: Int32, status known: StatusFields??, boot: Double, ticksPerSecond: Double,
                reader: ProcFileReader) -> ProcessRecord? {
        reader.pid = pid
        let stat = reader.read(dir, "stat", whole: true, { Self.parseStat($0) })
        if stat == nil, Self.vanished(reader.lastErrno) { return nil }
        let status = known ?? (reader.read(dir, "status", whole: true, { Self.parseStatus($0) }) ?? nil)
        if let status, status.tgid != pid { return nil }  // a thread's id: its process is the thread group's
        let files: ProcessRecord.Files = needs == nil ? .all : [.status, .stat]
        guard let parsed = stat ?? nil else {
            // Nothing more is read of a process whose stat cannot be read; its state and parent are status's.
            var r = Self.unreadable(pid)
            if let status {
                Self.apply(status, to: &r)
                r.state = status.state
                r.ppid = status.ppid
            }
            return r
        }
        let cgroup = needs == nil ? reader.read(dir, "cgroup", whole: true, { Self.parseCgroup($0) }) ?? nil : nil
        let exe = details.contains(.exe) ? reader.readLink(dir, "exe", { String(decoding: $0, as: UTF8.self) }) : nil
        let ns = reader.readLink(dir, "ns/ipc", { Self.namespaceInode($0) }) ?? nil
        var r = ProcessRecord(
            pid: pid, ppid: parsed.ppid, state: parsed.state, uid: UInt32.max, euid: UInt32.max, credentialsKnown: false,
            comm: parsed.comm, exe: exe, startTime: boot + Double(parsed.startTicks) / ticksPerSecond,
            cgroup: cgroup, ipcNamespace: ns)
        if details.contains(.mountNamespace) {
            r.mountNamespace = reader.readLink(dir, "ns/mnt", { Self.namespaceInode($0) }) ?? nil
        }
        if let status { Self.apply(status, to: &r) }
        r.files = files
        return r
    }

    /// A process known only by its status: its credentials reach no object in view. State, parent and name are
    /// status's; the start is unknown (0, the boot), its namespaces unread.
    static func credentialsOnly(_ pid: Int32, _ s: StatusFields) -> ProcessRecord {
        var r = ProcessRecord(pid: pid, ppid: s.ppid, state: s.state, uid: s.uid, euid: s.euid, statKnown: false,
                              comm: s.name, startTime: 0)
        apply(s, to: &r)
        r.files = [.status]
        return r
    }

    static func vanished(_ e: Int32) -> Bool { e == ENOENT || e == ESRCH }

    /// A process whose /proc entry exists but cannot be read: it counts as able to reach every object, and as
    /// existing since boot (state and start unknown).
    static func unreadable(_ pid: Int32) -> ProcessRecord {
        ProcessRecord(pid: pid, ppid: 0, state: "?", uid: UInt32.max, euid: UInt32.max, credentialsKnown: false,
                      statKnown: false, comm: "?", startTime: 0)
    }

    /// What a record read from /proc/PID/status holds of it (`apply` undone), so that completing the record later
    /// does not read status again; nil when its status was not read or could not be.
    static func statusFields(of r: ProcessRecord) -> StatusFields? {
        guard r.files.contains(.status), r.credentialsKnown else { return nil }
        return StatusFields(uid: r.uid, euid: r.euid, gid: r.gid, egid: r.egid, groups: r.groups, capEff: r.capEff,
                            tgid: r.pid, isNamespaceInit: r.isNamespaceInit, state: r.state, ppid: r.ppid, name: r.comm)
    }

    static func apply(_ s: StatusFields, to r: inout ProcessRecord) {
        r.uid = s.uid
        r.euid = s.euid
        r.gid = s.gid
        r.egid = s.egid
        r.groups = s.groups
        r.capEff = s.capEff
        r.isNamespaceInit = s.isNamespaceInit
        r.credentialsKnown = true
    }

    /// Adds /proc/PID/maps SysV attachments for the given pids.
    public func addAttachments(to table: inout ProcessTable, for pids: [Int32]) {
        addHandles(to: &table, sysvPids: Set(pids), posix: [])
    }

    /// One pass over the processes for everything their descriptors and mappings tell: /proc/PID/maps is read
    /// once per process and yields both the SysV segments it maps (`/SYSV` lines, for `sysvPids`) and the POSIX
    /// objects (`posix`, matched by device major:minor and inode); /proc/PID/fd is read only when `posix` is not
    /// empty, each descriptor fstat'ed through its magic link (device and inode, never the link text).
    /// Every live process is read for POSIX objects, whatever its IPC namespace: a file's device and inode name
    /// it on the whole system. A process whose fd or maps cannot be read (permission) gets `handlesUnreadable`.
    public func addHandles(to table: inout ProcessTable, sysvPids: Set<Int32>, posix: Set<DeviceInode>) {
        guard !sysvPids.isEmpty || !posix.isEmpty else { return }
        let devices = Set(posix.map(\.device))
        let wanted = table.byPid.values.filter { sysvPids.contains($0.pid) || (!posix.isEmpty && !$0.isDeadOrZombie) }
        // As the table's own reads (`records`): chunks of processes on several threads, each with its own buffer.
        let read = Parallel.map(wanted.count, serialBelow: Self.parallelFrom, state: { self.newReader() }) { reader, i in
            let pid = wanted[i].pid
            return self.handles(of: pid, reader: reader, sysv: sysvPids.contains(pid), posix: posix.isEmpty ? nil : (posix, devices))
        }
        var records = table.byPid
        for case let r? in read {
            guard var p = records[r.pid] else { continue }
            if let segments = r.segments { p.attachedSegments = segments }
            if r.posix {
                p.posixHandles = r.handles
                p.handlesUnreadable = r.problem
            }
            records[r.pid] = p
        }
        table = table.replacingProcesses(Array(records.values))
    }

    /// What one process's maps and fds say.
    struct HandleRead: Sendable {
        var pid: Int32
        /// SysV shmids it maps (nil when maps were not read for SysV or could not be read).
        var segments: [Int32]?
        /// Whether POSIX handles were looked for.
        var posix: Bool
        var handles: [PosixHandle]
        var problem: String?
    }

    /// /proc/PID/maps once (SysV `/SYSV` lines and POSIX device+inode matches), and /proc/PID/fd for POSIX.
    func handles(of pid: Int32, reader: ProcFileReader, sysv: Bool,
                 posix: (objects: Set<DeviceInode>, devices: Set<UInt64>)?) -> HandleRead? {
        guard case .success(let dir) = kernel.openat(AT_FDCWD, "\(procRoot)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        else { return nil }
        defer { kernel.close(dir) }
        var handles: [PosixHandle] = []
        let maps = reader.read(dir, "maps") { b -> [Int32] in
            if let posix { Self.parseMapsPosix(b, devices: posix.devices, objects: posix.objects, into: &handles) }
            return sysv ? Self.parseMapsSysV(b) : []
        }
        var problem: String?
        if maps == nil && !Self.vanished(reader.lastErrno) {
            problem = "/proc/\(pid)/maps: \(Errno(rawValue: reader.lastErrno))"
        }
        if let posix {
            switch openDescriptors(dir: dir, matching: posix.objects, devices: posix.devices) {
            case .success(let fds): handles += fds
            case .failure(let e) where e == .noSuchFileOrDirectory || e == .noSuchProcess: break
            case .failure(let e): problem = (problem.map { $0 + "; " } ?? "") + "/proc/\(pid)/fd: \(e)"
            }
        }
        return HandleRead(pid: pid, segments: sysv ? maps : nil, posix: posix != nil, handles: handles, problem: problem)
    }

    /// fstatat(fd-dir, N, 0) for every entry of /proc/PID/fd: the descriptors that are one of `objects`.
    func openDescriptors(dir: Int32, matching objects: Set<DeviceInode>, devices: Set<UInt64>) -> Result<[PosixHandle], Errno> {
        let fdDir: Int32
        switch kernel.openat(dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) {
        case .success(let fd): fdDir = fd
        case .failure(let e): return .failure(e)
        }
        defer { kernel.close(fdDir) }
        let names: [String]
        switch kernel.directoryEntries(fdDir) {
        case .success(let n): names = n
        case .failure(let e): return .failure(e)
        }
        var out: [PosixHandle] = []
        for name in names {
            guard let fd = Int32(name), fd >= 0 else { continue }
            // Follows the magic link to the open file itself (its device and inode), whatever its path reads.
            guard case .success(let st) = kernel.fstatat(fdDir, name, 0) else { continue }
            let dev = UInt64(st.st_dev)
            guard devices.contains(dev) else { continue }
            let id = DeviceInode(device: dev, inode: UInt64(st.st_ino))
            if objects.contains(id) { out.append(PosixHandle(object: id, fd: fd)) }
        }
        return .success(out)
    }

    /// Resolves pids that are not in the table but are threads (/proc/TID/status `Tgid:`) to their thread group.
    public func resolveThreads(in table: inout ProcessTable, pids: some Sequence<Int32>) {
        var tried: Set<Int32> = []
        let reader = newReader()
        for pid in pids where pid > 0 && table.byPid[pid] == nil && table.threadGroups[pid] == nil {
            guard tried.insert(pid).inserted else { continue }  // an exited pid is recorded by many objects
            guard case .success(let dir) = kernel.openat(AT_FDCWD, "\(procRoot)/\(pid)", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
            else { continue }
            defer { kernel.close(dir) }
            guard let ids = reader.read(dir, "status", { Self.parseStatus($0) }) ?? nil, ids.tgid != pid else { continue }
            table.threadGroups[pid] = ids.tgid
        }
    }
}
