import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Typed access to the System V IPC syscalls (semctl/shmctl/msgctl through CSysVIPC).
///
/// Each call returns `Result<_, Errno>`; callers decide what an errno means for
/// them (EINVAL/EIDRM: gone; EACCES/EPERM: no permission). In debug builds,
/// `SysVKernel.hooks` lets tests inject an errno or a change between two calls.
public enum SysVKernel {
    /// Test hooks, compiled into debug builds only.
    public struct Hooks: Sendable {
        /// Called before IPC_RMID of an object; a returned errno is reported instead of removing.
        public var beforeRemove: (@Sendable (IPCObjectRef) -> Errno?)?
        public init(beforeRemove: (@Sendable (IPCObjectRef) -> Errno?)? = nil) {
            self.beforeRemove = beforeRemove
        }
    }

    #if DEBUG
    nonisolated(unsafe) public static var hooks = Hooks()
    #endif

    static func value(_ rc: CInt) -> Result<CInt, Errno> {
        rc < 0 ? .failure(Errno(rawValue: errno)) : .success(rc)
    }

    // MARK: stat

    /// SEM_INFO: the highest index in use, or -1 when there is none.
    public static func maxIndex(_ kind: IPCKind) -> Result<CInt, Errno> {
        switch kind {
        case .sem: return value(cipc_sem_max_index())
        case .shm: return value(cipc_shm_max_index())
        case .msg: return value(cipc_msg_max_index())
        }
    }

    /// SEM_STAT_ANY (or SEM_STAT) on an index: the set at that slot.
    public static func semaphoreSet(atIndex index: CInt, any: Bool) -> Result<SemaphoreSet, Errno> {
        var ds = cipc_sem_ds_t()
        return value(cipc_sem_stat_index(index, any ? 1 : 0, &ds)).map { SemaphoreSet(id: $0, ds) }
    }

    /// SHM_STAT_ANY (or SHM_STAT) on an index.
    public static func segment(atIndex index: CInt, any: Bool) -> Result<SharedMemorySegment, Errno> {
        var ds = cipc_shm_ds_t()
        return value(cipc_shm_stat_index(index, any ? 1 : 0, &ds)).map { SharedMemorySegment(id: $0, ds) }
    }

    /// MSG_STAT_ANY (or MSG_STAT) on an index.
    public static func queue(atIndex index: CInt, any: Bool) -> Result<MessageQueue, Errno> {
        var ds = cipc_msg_ds_t()
        return value(cipc_msg_stat_index(index, any ? 1 : 0, &ds)).map { MessageQueue(id: $0, ds) }
    }

    /// IPC_STAT on a semaphore set id (needs read permission).
    public static func semaphoreSet(id: CInt) -> Result<SemaphoreSet, Errno> {
        var ds = cipc_sem_ds_t()
        return value(cipc_sem_stat_id(id, &ds)).map { _ in SemaphoreSet(id: id, ds) }
    }

    /// IPC_STAT on a segment id.
    public static func segment(id: CInt) -> Result<SharedMemorySegment, Errno> {
        var ds = cipc_shm_ds_t()
        return value(cipc_shm_stat_id(id, &ds)).map { _ in SharedMemorySegment(id: id, ds) }
    }

    /// IPC_STAT on a queue id.
    public static func queue(id: CInt) -> Result<MessageQueue, Errno> {
        var ds = cipc_msg_ds_t()
        return value(cipc_msg_stat_id(id, &ds)).map { _ in MessageQueue(id: id, ds) }
    }

    /// GETALL, then GETPID/GETNCNT/GETZCNT for each semaphore of a set (one C call: `cipc_sem_detail`).
    public static func semaphores(ofSet id: CInt, count: Int) -> Result<[Semaphore], Errno> {
        guard count > 0 else { return .success([]) }
        return withUnsafeTemporaryAllocation(of: cipc_sem_t.self, capacity: count) { raw -> Result<[Semaphore], Errno> in
            guard let base = raw.baseAddress else { return .success([]) }
            if cipc_sem_detail(id, CInt(count), base) < 0 { return .failure(Errno(rawValue: errno)) }
            return .success([Semaphore](unsafeUninitializedCapacity: count) { out, initialized in
                for n in 0..<count {
                    let s = raw[n]
                    out.initializeElement(at: n, to: Semaphore(value: s.value, pid: s.pid, ncnt: s.ncnt, zcnt: s.zcnt))
                }
                initialized = count
            })
        }
    }

    // MARK: remove

    /// IPC_RMID by id.
    public static func remove(_ ref: IPCObjectRef) -> Result<Void, Errno> {
        #if DEBUG
        if let e = hooks.beforeRemove?(ref) { return .failure(e) }
        #endif
        let rc: CInt
        switch ref.kind {
        case .sem: rc = cipc_sem_rmid(ref.id)
        case .shm: rc = cipc_shm_rmid(ref.id)
        case .msg: rc = cipc_msg_rmid(ref.id)
        }
        return value(rc).map { _ in () }
    }

    /// IPC_INFO for all three kinds.
    public static func limits() -> Result<KernelLimits, Errno> {
        var l = cipc_limits_t()
        return value(cipc_limits(&l)).map { _ in
            KernelLimits(semmsl: l.semmsl, semmns: l.semmns, semopm: l.semopm, semmni: l.semmni,
                         shmmax: l.shmmax, shmmni: l.shmmni, shmall: l.shmall,
                         msgmax: l.msgmax, msgmnb: l.msgmnb, msgmni: l.msgmni)
        }
    }
}

extension IPCPermissions {
    init(_ p: cipc_perm_t) {
        self.init(key: p.key, uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode)
    }
}

extension SemaphoreSet {
    init(id: CInt, _ d: cipc_sem_ds_t) {
        self.init(id: id, perm: IPCPermissions(d.perm), nsems: Int(d.nsems), otime: d.otime, ctime: d.ctime)
    }
}

extension SharedMemorySegment {
    init(id: CInt, _ d: cipc_shm_ds_t) {
        self.init(id: id, perm: IPCPermissions(d.perm), size: d.size, cpid: d.cpid, lpid: d.lpid, nattch: d.nattch,
                  atime: d.atime, dtime: d.dtime, ctime: d.ctime)
    }
}

extension MessageQueue {
    init(id: CInt, _ d: cipc_msg_ds_t) {
        self.init(id: id, perm: IPCPermissions(d.perm), cbytes: d.cbytes, qnum: d.qnum, qbytes: d.qbytes,
                  lspid: d.lspid, lrpid: d.lrpid, stime: d.stime, rtime: d.rtime, ctime: d.ctime)
    }
}

extension Errno {
    /// True for the errnos that mean the object is no longer there (EINVAL, EIDRM).
    public var meansGone: Bool { self == .invalidArgument || self == .identifierRemoved }
    /// True for permission errnos (EACCES, EPERM).
    public var meansNoPermission: Bool { self == .permissionDenied || self == .notPermitted }
}
