import Dispatch
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the IPC snapshot comes from.
public enum IPCSource: String, Sendable, CaseIterable {
    /// The faster source that works here (the syscalls on a live system), falling back to the other.
    case auto
    /// /proc/sysvipc/{sem,shm,msg}.
    case proc
    /// SEM_INFO + SEM_STAT_ANY (and the shm/msg equivalents) over every index.
    case syscall
}

/// A failure to read the IPC state at all, naming what was read.
public struct ProbeError: Error, CustomStringConvertible {
    public var description: String
}

/// Reads the System V IPC objects of the tool's IPC namespace (or of another one, through a thread inside it)
/// into an `IPCSnapshot`.
public struct IPCProbe: Sendable {
    /// The procfs root (`--proc DIR`); per-semaphore detail is read from the live kernel only when this is /proc.
    public var procRoot: String
    public var kinds: Set<IPCKind>
    /// Read each set's semaphores (off: sets keep `semaphores == nil` and no `detailError`).
    public var semaphoreDetail: Bool
    /// Another IPC namespace to read (`--namespace`): every syscall and /proc/sysvipc, /proc/sys/kernel read runs
    /// on this thread inside it. nil: the tool's own namespace.
    public var namespace: IPCNamespaceThread?
    /// The kernel calls (a fake in unit tests).
    public var kernel: any KernelCalls
    /// The objects wanted (`InspectionOptions.selection`); nil: every one. The objects it rules out by owner, key
    /// or id are dropped as soon as listed: their semaphores are not read.
    public var selection: ObjectFilter?

    public init(procRoot: String = Procfs.live, kinds: Set<IPCKind> = IPCKind.sysv, semaphoreDetail: Bool = true,
                namespace: IPCNamespaceThread? = nil, kernel: any KernelCalls = Kernel.live) {
        self.procRoot = procRoot
        self.kinds = kinds.intersection(IPCKind.sysv)
        self.semaphoreDetail = semaphoreDetail
        self.namespace = namespace
        self.kernel = kernel
    }

    private var sysv: SysVKernel { SysVKernel(kernel) }

    /// Whether the snapshot describes the kernel this process runs on.
    public var isLive: Bool { Procfs.isLive(procRoot) }

    /// Reads a snapshot from the chosen source; `auto` tries the syscalls first on a live system.
    public func snapshot(source: IPCSource) throws -> IPCSnapshot {
        try snapshot(source: source, alongside: nil)
    }

    /// `snapshot(source:)`, running `work` exactly once meanwhile: on another thread while the per-semaphore
    /// detail is read (the longest part), or after the snapshot when there is none. It is given the objects as
    /// listed (sets without their semaphores), or nil when they are not known to it (another namespace's objects
    /// are read on a thread inside it while the work runs; the snapshot failed). Runs it even when the snapshot
    /// fails.
    public func snapshot(source: IPCSource, alongside work: (@Sendable (IPCSnapshot?) -> Void)?) throws -> IPCSnapshot {
        let once = work.map { OnceWork<IPCSnapshot?>($0) }
        defer { once?.run(nil) }
        if let ns = namespace {
            // Inside the namespace on its thread (the per-semaphore detail one set after another there), the
            // work alongside on this thread meanwhile.
            guard isLive else {
                throw ProbeError(description: "--namespace reads the running kernel, not the procfs copy in \(procRoot)")
            }
            var inside = self
            inside.namespace = nil
            return try ns.perform({ Result { try inside.read(source: source, alongside: nil, serial: true) } },
                                  meanwhile: { once?.run(nil) }).get()
        }
        return try read(source: source, alongside: once, serial: false)
    }

    private func read(source: IPCSource, alongside once: OnceWork<IPCSnapshot?>?, serial: Bool) throws -> IPCSnapshot {
        switch source {
        case .proc: return try fromProc(alongside: once, serial: serial)
        case .syscall:
            guard isLive else {
                throw ProbeError(description: "--source syscall reads the running kernel, not the procfs copy in \(procRoot); use --source proc")
            }
            return try fromSyscalls(alongside: once, serial: serial)
        case .auto:
            // The syscalls only when they see every object: without *_STAT_ANY (before Linux 4.17) a caller
            // without read permission gets only the readable ones, while /proc/sysvipc lists them all.
            if isLive, let s = try? fromSyscalls(alongside: once, completeOnly: true, serial: serial) { return s }
            return try fromProc(alongside: once, serial: serial)
        }
    }

    // MARK: /proc/sysvipc

    /// Parses /proc/sysvipc/{sem,shm,msg} (one read per file), then adds per-semaphore detail.
    func fromProc(alongside once: OnceWork<IPCSnapshot?>?, serial: Bool = false) throws -> IPCSnapshot {
        var warnings: [String] = []
        var snap = IPCSnapshot(source: "proc")
        func load(_ name: String) throws -> ([UInt8], String) {
            let path = "\(procRoot)/sysvipc/\(name)"
            do { return (try FileIO.read(path, limit: FileIO.Limit.procfs, requireRegular: !isLive), path) } catch {
                let hint = isLive ? "is /proc mounted? try --source syscall"
                    : "is \(procRoot) a copy of /proc with its sysvipc directory?"
                throw ProbeError(description: "\(error) (\(hint))")
            }
        }
        do {
            if kinds.contains(.sem) {
                let (b, p) = try load("sem")
                snap.semaphoreSets = try SysVIPCProcParser.parseSemaphoreSets(b, path: p, warnings: &warnings)
            }
            if kinds.contains(.shm) {
                let (b, p) = try load("shm")
                snap.segments = try SysVIPCProcParser.parseSegments(b, path: p, warnings: &warnings)
            }
            if kinds.contains(.msg) {
                let (b, p) = try load("msg")
                snap.queues = try SysVIPCProcParser.parseQueues(b, path: p, warnings: &warnings)
            }
        } catch let e as SysVIPCProcParser.FormatError {
            throw ProbeError(description: e.description)
        }
        snap.warnings = warnings
        if let selection { snap.keep(selection) }
        if isLive {
            addSemaphoreDetail(&snap, alongside: once, serial: serial)
        } else {
            for i in snap.semaphoreSets.indices {
                snap.semaphoreSets[i].detailError = "per-semaphore pids and waiters are not in a procfs copy (\(procRoot))"
            }
            once?.run(snap)
        }
        return snap
    }

    // MARK: syscalls

    /// SEM_INFO for the highest index, then SEM_STAT_ANY over 0...max (SEM_STAT before Linux 4.17); same for shm and msg.
    /// With `completeOnly`, a scan that could not read some object (no *_STAT_ANY, no read permission) throws
    /// instead of returning the readable ones, so that `auto` falls back to /proc/sysvipc.
    func fromSyscalls(alongside once: OnceWork<IPCSnapshot?>?, completeOnly: Bool = false, serial: Bool = false) throws -> IPCSnapshot {
        var snap = IPCSnapshot(source: "syscall")
        let sysv = self.sysv
        if kinds.contains(.sem) {
            snap.semaphoreSets = try scan(.sem, completeOnly, serial: serial, warnings: &snap.warnings) { sysv.semaphoreSet(atIndex: $0, any: $1) }
        }
        if kinds.contains(.shm) {
            snap.segments = try scan(.shm, completeOnly, serial: serial, warnings: &snap.warnings) { sysv.segment(atIndex: $0, any: $1) }
            addSegmentUsage(&snap.segments)
        }
        if kinds.contains(.msg) {
            snap.queues = try scan(.msg, completeOnly, serial: serial, warnings: &snap.warnings) { sysv.queue(atIndex: $0, any: $1) }
        }
        if let selection { snap.keep(selection) }
        addSemaphoreDetail(&snap, alongside: once, serial: serial)
        return snap
    }

    /// What one chunk of indexes held: the objects read and the slots refused (read permission).
    private struct ScanChunk<T: Sendable>: Sendable {
        var found: [T] = []
        var denied = 0
    }

    /// The objects of one kind, by index. Many indexes are read in chunks on several threads (`serial`: all on
    /// the calling thread, as in `addSemaphoreDetail`).
    private func scan<T: Sendable>(_ kind: IPCKind, _ completeOnly: Bool, serial: Bool, warnings: inout [String],
                                   stat: @escaping @Sendable (CInt, Bool) -> Result<T, Errno>) throws -> [T] {
        let maxIndex: CInt
        switch sysv.maxIndex(kind) {
        case .success(let m): maxIndex = m
        case .failure(let e): throw ProbeError(description: "\(kind.rawValue)ctl(\(kind.rawValue.uppercased())_INFO) failed: \(e)")
        }
        guard maxIndex >= 0 else { return [] }
        let chunk = 1024
        let count = Int(maxIndex) / chunk + 1
        var out: [T] = []
        var denied = 0
        for any in [true, false] {
            let chunks = Parallel.map(count, serialBelow: serial ? Int.max : 2, state: { () }) { _, c -> ScanChunk<T> in
                var r = ScanChunk<T>()
                for index in CInt(c * chunk)...min(maxIndex, CInt(c * chunk + chunk - 1)) {
                    switch stat(index, any) {
                    case .success(let v): r.found.append(v)
                    case .failure(let e) where e.meansNoPermission: r.denied += 1
                    case .failure:
                        continue  // empty slot, or removed meanwhile
                    }
                }
                return r
            }
            out = chunks.flatMap(\.found)
            denied = chunks.reduce(0) { $0 + $1.denied }
            // Before Linux 4.17, *_STAT_ANY is an unknown command: EINVAL for every slot (nothing found, nothing
            // refused). Fall back to *_STAT.
            if !any || !out.isEmpty || denied > 0 { break }
        }
        if denied > 0 {
            if completeOnly {
                throw ProbeError(description: "\(denied) \(kind.noun)\(denied == 1 ? "" : "s") not readable with \(kind.rawValue.uppercased())_STAT")
            }
            warnings.append("\(denied) \(kind.noun)\(denied == 1 ? "" : "s") not readable with \(kind.rawValue.uppercased())_STAT (kernel before 4.17 and no read permission); run as root or use --source proc")
        }
        return out
    }

    /// GETALL/GETPID/GETNCNT/GETZCNT for every set; vanished sets are dropped quietly,
    /// unreadable ones keep `semaphores == nil` with the reason.
    ///
    /// These are most of the syscalls of a run (three per semaphore), each on its own set, so the sets are
    /// read in chunks by several threads at once (DispatchQueue.concurrentPerform); results keep the sets' order.
    /// The work alongside (`once`: the process table) runs on the calling thread meanwhile.
    /// `serial`: all on the calling thread (the thread inside another IPC namespace: Dispatch's workers are not).
    private func addSemaphoreDetail(_ snap: inout IPCSnapshot, alongside once: OnceWork<IPCSnapshot?>?, serial: Bool) {
        guard semaphoreDetail else {
            once?.run(snap)
            return
        }
        let listed = snap
        let sets = snap.semaphoreSets
        var results = [Result<[Semaphore], Errno>](repeating: .success([]), count: sets.count)
        let chunk = 256
        let chunks = (sets.count + chunk - 1) / chunk
        let sysv = self.sysv
        results.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendableBuffer(out)
            let readChunk: @Sendable (Int) -> Void = { c in
                for i in (c * chunk)..<min(sets.count, (c + 1) * chunk) {
                    out.buffer[i] = sysv.semaphores(ofSet: sets[i].id, count: sets[i].nsems)
                }
            }
            if serial {
                once?.run(listed)
                for c in 0..<chunks { readChunk(c) }
            } else if let once {
                // The chunks of sets on the workers, and the work alongside (the process table) on this thread
                // meanwhile, where its own reads can spread over the CPUs as well: inside a concurrentPerform they
                // would run on one (Dispatch runs a nested one serially).
                let group = DispatchGroup()
                if chunks > 0 {
                    DispatchQueue.global().async(group: group) {
                        DispatchQueue.concurrentPerform(iterations: chunks, execute: readChunk)
                    }
                }
                once.run(listed)
                group.wait()
            } else {
                DispatchQueue.concurrentPerform(iterations: chunks, execute: readChunk)
            }
        }
        var kept: [SemaphoreSet] = []
        kept.reserveCapacity(sets.count)
        for (i, r) in results.enumerated() {
            var set = sets[i]
            switch r {
            case .success(let sems):
                set.semaphores = sems
            case .failure(let e) where e.meansGone:
                continue
            case .failure(let e):
                set.detailError = e.meansNoPermission
                    ? "cannot read the semaphores of set \(set.id): permission denied (needs read permission on the set; run as root)"
                    : "cannot read the semaphores of set \(set.id): \(e)"
            }
            kept.append(set)
        }
        snap.semaphoreSets = kept
    }

    /// Kernel limits from /proc/sys/kernel/{sem,shmmni,shmall,shmmax,msgmni,msgmnb,msgmax}, IPC_INFO as fallback.
    /// Inside `namespace` when one is set: each IPC namespace has its own limits.
    public func limits() throws -> KernelLimits {
        if let ns = namespace {
            var inside = self
            inside.namespace = nil
            return try ns.performThrowing { try inside.limits() }
        }
        func number(_ name: String) -> [Int64]? {
            guard let t = try? FileIO.readText("\(procRoot)/sys/kernel/\(name)", limit: 4096, requireRegular: !isLive)
            else { return nil }
            // shmall/shmmax default to values above Int64.max ("unlimited"): clamp rather than fail.
            let values = t.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
                .compactMap { UInt64($0).map { Int64(clamping: $0) } ?? Int64($0) }
            return values.isEmpty ? nil : values
        }
        if let sem = number("sem"), sem.count == 4, let shmmni = number("shmmni")?.first,
           let shmall = number("shmall")?.first, let shmmax = number("shmmax")?.first,
           let msgmni = number("msgmni")?.first, let msgmnb = number("msgmnb")?.first,
           let msgmax = number("msgmax")?.first {
            return KernelLimits(semmsl: sem[0], semmns: sem[1], semopm: sem[2], semmni: sem[3],
                                shmmax: shmmax, shmmni: shmmni, shmall: shmall,
                                msgmax: msgmax, msgmnb: msgmnb, msgmni: msgmni)
        }
        guard isLive else {
            throw ProbeError(description: "cannot read kernel limits from \(procRoot)/sys/kernel/{sem,shmmni,shmall,shmmax,msgmni,msgmnb,msgmax}: copy them with the procfs copy")
        }
        switch sysv.limits() {
        case .success(let l): return l
        case .failure(let e):
            throw ProbeError(description: "cannot read kernel limits from \(procRoot)/sys/kernel or IPC_INFO: \(e)")
        }
    }
}
