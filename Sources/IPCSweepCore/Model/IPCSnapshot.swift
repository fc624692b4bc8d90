/// Everything read about the IPC objects of one namespace at one moment.
public struct IPCSnapshot: Sendable, Equatable {
    public var semaphoreSets: [SemaphoreSet]
    public var segments: [SharedMemorySegment]
    public var queues: [MessageQueue]
    /// Which source produced it ("proc" or "syscall").
    public var source: String
    /// Lines skipped or details missing, each naming its file/line or id.
    public var warnings: [String]

    public init(semaphoreSets: [SemaphoreSet] = [], segments: [SharedMemorySegment] = [],
                queues: [MessageQueue] = [], source: String, warnings: [String] = []) {
        self.semaphoreSets = semaphoreSets
        self.segments = segments
        self.queues = queues
        self.source = source
        self.warnings = warnings
    }

    /// Drops the objects `filter` rules out by owner, key or id (`ObjectFilter.admits(sysV:id:)`).
    public mutating func keep(_ filter: ObjectFilter) {
        guard filter.narrowsSysV else { return }
        semaphoreSets.removeAll { !filter.admits(sysV: $0.perm, id: $0.id) }
        segments.removeAll { !filter.admits(sysV: $0.perm, id: $0.id) }
        queues.removeAll { !filter.admits(sysV: $0.perm, id: $0.id) }
    }

    /// All objects, semaphore sets first, each kind ordered by id.
    public var objects: [IPCObject] {
        semaphoreSets.sorted { $0.id < $1.id }.map(IPCObject.sem)
            + segments.sorted { $0.id < $1.id }.map(IPCObject.shm)
            + queues.sorted { $0.id < $1.id }.map(IPCObject.msg)
    }
}

/// Kernel limits (/proc/sys/kernel/{sem,shmmni,shmall,shmmax,msgmni,msgmnb,msgmax}).
public struct KernelLimits: Sendable, Equatable, Codable {
    /// Max semaphores per set.
    public var semmsl: Int64
    /// Max semaphores in all sets.
    public var semmns: Int64
    /// Max operations per semop call.
    public var semopm: Int64
    /// Max semaphore sets.
    public var semmni: Int64
    public var shmmax: Int64
    public var shmmni: Int64
    /// Max pages of shared memory in all segments.
    public var shmall: Int64
    public var msgmax: Int64
    public var msgmnb: Int64
    public var msgmni: Int64

    public init(semmsl: Int64, semmns: Int64, semopm: Int64, semmni: Int64, shmmax: Int64, shmmni: Int64,
                shmall: Int64, msgmax: Int64, msgmnb: Int64, msgmni: Int64) {
        self.semmsl = semmsl
        self.semmns = semmns
        self.semopm = semopm
        self.semmni = semmni
        self.shmmax = shmmax
        self.shmmni = shmmni
        self.shmall = shmall
        self.msgmax = msgmax
        self.msgmnb = msgmnb
        self.msgmni = msgmni
    }
}
