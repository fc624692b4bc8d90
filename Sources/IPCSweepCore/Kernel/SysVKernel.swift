import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Typed access to the System V IPC calls, over the one syscall seam (`KernelCalls`).
///
/// Each call returns `Result<_, Errno>`; callers decide what an errno means for them (EINVAL/EIDRM: gone;
/// EACCES/EPERM: no permission).
public struct SysVKernel: Sendable {
    public let kernel: any KernelCalls

    public init(_ kernel: any KernelCalls = Kernel.live) { self.kernel = kernel }

    // MARK: stat

    /// SEM_INFO (SHM_INFO, MSG_INFO): the highest index in use, or -1 when there is none.
    public func maxIndex(_ kind: IPCKind) -> Result<CInt, Errno> { kernel.ipcMaxIndex(kind) }

    /// SEM_STAT_ANY (or SEM_STAT) on an index: the set at that slot.
    public func semaphoreSet(atIndex index: CInt, any: Bool) -> Result<SemaphoreSet, Errno> {
        kernel.semStat(index: index, any: any).map { SemaphoreSet(id: $0.id, $0.ds) }
    }

    /// SHM_STAT_ANY (or SHM_STAT) on an index.
    public func segment(atIndex index: CInt, any: Bool) -> Result<SharedMemorySegment, Errno> {
        kernel.shmStat(index: index, any: any).map { SharedMemorySegment(id: $0.id, $0.ds) }
    }

    /// MSG_STAT_ANY (or MSG_STAT) on an index.
    public func queue(atIndex index: CInt, any: Bool) -> Result<MessageQueue, Errno> {
        kernel.msgStat(index: index, any: any).map { MessageQueue(id: $0.id, $0.ds) }
    }

    /// IPC_STAT on a semaphore set id (needs read permission).
    public func semaphoreSet(id: CInt) -> Result<SemaphoreSet, Errno> {
        kernel.semStat(id: id).map { SemaphoreSet(id: id, $0) }
    }

    /// IPC_STAT on a segment id.
    public func segment(id: CInt) -> Result<SharedMemorySegment, Errno> {
        kernel.shmStat(id: id).map { SharedMemorySegment(id: id, $0) }
    }

    /// IPC_STAT on a queue id.
    public func queue(id: CInt) -> Result<MessageQueue, Errno> {
        kernel.msgStat(id: id).map { MessageQueue(id: id, $0) }
    }

    /// GETALL, then GETPID/GETNCNT/GETZCNT for each semaphore of a set (one C call: `cipc_sem_detail`).
    public func semaphores(ofSet id: CInt, count: Int) -> Result<[Semaphore], Errno> {
        guard count > 0 else { return .success([]) }
        return withUnsafeTemporaryAllocation(of: cipc_sem_t.self, capacity: count) { raw -> Result<[Semaphore], Errno> in
            raw.initialize(repeating: cipc_sem_t())
            if case .failure(let e) = kernel.semDetail(id: id, into: raw) { return .failure(e) }
            return .success([Semaphore](unsafeUninitializedCapacity: count) { out, initialized in
                for n in 0..<count {
                    let s = raw[n]
                    out.initializeElement(at: n, to: Semaphore(value: s.value, pid: s.pid, ncnt: s.ncnt, zcnt: s.zcnt))
                }
                initialized = count
            })
        }
    }

    /// One object read whole by its id: IPC_STAT (and for a set every semaphore: GETALL, GETPID, GETNCNT,
    /// GETZCNT). Without read permission (EACCES), falls back to *_STAT_ANY on the id's index and checks the
    /// full id.
    public func read(_ ref: IPCObjectRef) -> Result<IPCObject, Errno> {
        let byId: Result<IPCObject, Errno>
        switch ref.kind {
        case .sem: byId = semaphoreSet(id: ref.id).map(IPCObject.sem)
        case .shm: byId = segment(id: ref.id).map(IPCObject.shm)
        case .msg: byId = queue(id: ref.id).map(IPCObject.msg)
        default: return .failure(.invalidArgument)
        }
        var object: IPCObject
        switch byId {
        case .success(let o): object = o
        case .failure(let e) where e == .permissionDenied:
            guard let o = statAny(ref) else { return .failure(e) }
            object = o
        case .failure(let e): return .failure(e)
        }
        if case .sem(var set) = object {
            switch semaphores(ofSet: ref.id, count: set.nsems) {
            case .success(let sems): set.semaphores = sems
            case .failure(let e): return .failure(e)
            }
            object = .sem(set)
        }
        return .success(object)
    }

    /// *_STAT_ANY on the index part of an id; nil unless the slot holds exactly that id.
    private func statAny(_ ref: IPCObjectRef) -> IPCObject? {
        let index = ref.id & 0x7fff
        let r: Result<IPCObject, Errno>
        switch ref.kind {
        case .sem: r = semaphoreSet(atIndex: index, any: true).map(IPCObject.sem)
        case .shm: r = segment(atIndex: index, any: true).map(IPCObject.shm)
        case .msg: r = queue(atIndex: index, any: true).map(IPCObject.msg)
        default: return nil
        }
        guard case .success(let o) = r, o.id == ref.id else { return nil }
        return o
    }

    // MARK: remove, copy, attach

    /// IPC_RMID by id.
    public func remove(_ ref: IPCObjectRef) -> Result<Void, Errno> { kernel.ipcRemove(ref.kind, id: ref.id) }

    /// msgrcv(id, buf, size, index, MSG_COPY | IPC_NOWAIT) for index 0..<count (Linux 3.8+,
    /// CONFIG_CHECKPOINT_RESTORE): the first `count` messages, copied; the queue, its rtime and lrpid untouched.
    public func copyMessages(queue id: Int32, count: Int, bufferSize: Int) -> Result<[QueuedMessage], Errno> {
        let header = MemoryLayout<Int>.size
        var size = max(bufferSize, 1)
        var buffer = [UInt8](repeating: 0, count: header + size)
        var out: [QueuedMessage] = []
        var index = 0
        while index < count {
            let r = buffer.withUnsafeMutableBytes { kernel.msgCopy(id: id, index: index, into: $0) }
            switch r {
            case .failure(let e) where e == .interrupted:
                continue
            case .failure(let e) where e == Errno(rawValue: E2BIG) && size < (1 << 26):
                // The message is larger than the buffer.
                size *= 4
                buffer = [UInt8](repeating: 0, count: header + size)
                continue
            case .failure(let e):
                return .failure(e)
            case .success(let n):
                let type = buffer.withUnsafeBytes { $0.loadUnaligned(as: Int.self) }
                out.append(QueuedMessage(type: type, bytes: Array(buffer[header..<(header + n)])))
                index += 1
            }
        }
        return .success(out)
    }

    /// shmat(id, NULL, SHM_RDONLY), then `body` on its bytes, then shmdt.
    public func withReadOnlyAttachment<R>(segment id: Int32, size: Int, _ body: (UnsafeRawBufferPointer) -> R) -> Result<R, Errno> {
        switch kernel.shmAttach(id: id, readOnly: true) {
        case .failure(let e): return .failure(e)
        case .success(let base):
            defer { _ = kernel.shmDetach(base) }
            return .success(body(UnsafeRawBufferPointer(start: base, count: size)))
        }
    }

    /// IPC_INFO for all three kinds.
    public func limits() -> Result<KernelLimits, Errno> {
        kernel.ipcLimits().map { l in
            KernelLimits(semmsl: l.semmsl, semmns: l.semmns, semopm: l.semopm, semmni: l.semmni,
                         shmmax: l.shmmax, shmmni: l.shmmni, shmall: l.shmall,
                         msgmax: l.msgmax, msgmnb: l.msgmnb, msgmni: l.msgmni)
        }
    }
}

/// One message of a queue: its type (`mtype`, a POSIX queue's priority) and its bytes.
public struct QueuedMessage: Sendable, Equatable {
    public var type: Int
    public var bytes: [UInt8]
    public init(type: Int, bytes: [UInt8]) {
        self.type = type
        self.bytes = bytes
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
