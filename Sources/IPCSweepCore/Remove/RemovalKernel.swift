import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One message of a queue: its type (`mtype`) and its bytes.
public struct QueuedMessage: Sendable, Equatable {
    public var type: Int
    public var bytes: [UInt8]
    public init(type: Int, bytes: [UInt8]) {
        self.type = type
        self.bytes = bytes
    }
}

/// The kernel operations the remover needs. `LiveRemovalKernel` makes the real syscalls;
/// unit tests supply a fake so that the removal rules are tested without creating IPC objects.
public protocol RemovalKernel {
    /// This process's pid (what shmat/shmdt record as `shm_lpid`).
    var pid: Int32 { get }
    /// The current epoch second (CLOCK_REALTIME).
    func now() -> Int64
    /// A fresh stat of one id with everything the re-check compares (IPC_STAT; for sets also GETALL/GETPID/GETNCNT/GETZCNT).
    func stat(_ ref: IPCObjectRef) -> Result<IPCObject, Errno>
    /// IPC_RMID on one id.
    func remove(_ ref: IPCObjectRef) -> Result<Void, Errno>
    /// Copies the first `count` messages of a queue without removing them (msgrcv with MSG_COPY | IPC_NOWAIT).
    func copyMessages(queue id: Int32, count: Int, bufferSize: Int) -> Result<[QueuedMessage], Errno>
    /// Attaches a segment read-only (shmat SHM_RDONLY), runs `body` on its bytes while attached, then detaches (shmdt).
    func withReadOnlyAttachment<R>(segment id: Int32, size: Int, _ body: (UnsafeRawBufferPointer) -> R) -> Result<R, Errno>
    /// True when the kernel may only be called from one thread at a time (test fakes).
    var serialOnly: Bool { get }
    /// The data of a segment attached at `mapping` (called while attached): its shmem file (`SegmentData.open`).
    func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure>
}

extension RemovalKernel {
    public var serialOnly: Bool { false }

    /// Its shmem file through /proc/self/map_files; the mapping only when its holes are negligible (rss and
    /// swap from /proc/sysvipc/shm, read by this thread, so in the segment's namespace).
    public func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure> {
        SegmentData.open(segment: segment, mapping: mapping, usage: { SegmentData.usage(ofSegment: segment.id) })
    }
}

/// The real kernel, through `SysVKernel` and the SysV calls Swift can make directly.
public struct LiveRemovalKernel: RemovalKernel {
    public let pid: Int32

    public init() { pid = getpid() }

    /// time(2).
    public func now() -> Int64 { Int64(time(nil)) }

    /// IPC_STAT by id (semctl/shmctl/msgctl); for sets also GETALL/GETPID/GETNCNT/GETZCNT.
    /// Without read permission (EACCES), falls back to *_STAT_ANY on the id's index and checks the full id.
    public func stat(_ ref: IPCObjectRef) -> Result<IPCObject, Errno> {
        let byId: Result<IPCObject, Errno>
        switch ref.kind {
        case .sem: byId = SysVKernel.semaphoreSet(id: ref.id).map(IPCObject.sem)
        case .shm: byId = SysVKernel.segment(id: ref.id).map(IPCObject.shm)
        case .msg: byId = SysVKernel.queue(id: ref.id).map(IPCObject.msg)
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
            switch SysVKernel.semaphores(ofSet: ref.id, count: set.nsems) {
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
        case .sem: r = SysVKernel.semaphoreSet(atIndex: index, any: true).map(IPCObject.sem)
        case .shm: r = SysVKernel.segment(atIndex: index, any: true).map(IPCObject.shm)
        case .msg: r = SysVKernel.queue(atIndex: index, any: true).map(IPCObject.msg)
        }
        guard case .success(let o) = r, o.id == ref.id else { return nil }
        return o
    }

    /// IPC_RMID through `SysVKernel.remove` (which honours the debug-build hooks).
    public func remove(_ ref: IPCObjectRef) -> Result<Void, Errno> {
        SysVKernel.remove(ref)
    }

    /// msgrcv(id, buf, size, index, MSG_COPY | IPC_NOWAIT) for index 0..<count (Linux 3.8+, CONFIG_CHECKPOINT_RESTORE).
    /// MSG_COPY leaves the queue, its rtime and its lrpid untouched.
    public func copyMessages(queue id: Int32, count: Int, bufferSize: Int) -> Result<[QueuedMessage], Errno> {
        let msgCopy: Int32 = 0o40000  // MSG_COPY, hidden behind __USE_GNU
        let header = MemoryLayout<Int>.size
        var size = max(bufferSize, 1)
        var buffer = [UInt8](repeating: 0, count: header + size)
        var out: [QueuedMessage] = []
        var index = 0
        while index < count {
            let n = buffer.withUnsafeMutableBytes { raw in
                msgrcv(id, raw.baseAddress, size, index, msgCopy | IPC_NOWAIT)
            }
            if n < 0 {
                let e = Errno(rawValue: errno)
                if e == .interrupted { continue }
                if e == Errno(rawValue: E2BIG) && size < (1 << 26) {  // E2BIG: the message is larger than the buffer
                    size *= 4
                    buffer = [UInt8](repeating: 0, count: header + size)
                    continue
                }
                return .failure(e)
            }
            let type = buffer.withUnsafeBytes { $0.loadUnaligned(as: Int.self) }
            out.append(QueuedMessage(type: type, bytes: Array(buffer[header..<(header + n)])))
            index += 1
        }
        return .success(out)
    }

    /// shmat(id, NULL, SHM_RDONLY), then `body`, then shmdt.
    public func withReadOnlyAttachment<R>(segment id: Int32, size: Int, _ body: (UnsafeRawBufferPointer) -> R) -> Result<R, Errno> {
        guard let base = shmat(id, nil, Int32(SHM_RDONLY)), base != UnsafeMutableRawPointer(bitPattern: -1) else {
            return .failure(Errno(rawValue: errno))
        }
        defer { shmdt(base) }
        return .success(body(UnsafeRawBufferPointer(start: base, count: size)))
    }
}

/// The real kernel inside another IPC namespace (`clean --namespace`): every call of `LiveRemovalKernel` — the
/// re-check's stat, IPC_RMID, MSG_COPY, the read-only attach and the work done while attached — runs on the
/// thread that entered that namespace.
public struct NamespacedRemovalKernel: RemovalKernel {
    public let namespace: IPCNamespaceThread
    private let live = LiveRemovalKernel()

    public init(namespace: IPCNamespaceThread) { self.namespace = namespace }

    public var pid: Int32 { live.pid }
    public func now() -> Int64 { live.now() }

    public func stat(_ ref: IPCObjectRef) -> Result<IPCObject, Errno> {
        namespace.perform { live.stat(ref) }
    }

    public func remove(_ ref: IPCObjectRef) -> Result<Void, Errno> {
        namespace.perform { live.remove(ref) }
    }

    public func copyMessages(queue id: Int32, count: Int, bufferSize: Int) -> Result<[QueuedMessage], Errno> {
        namespace.perform { live.copyMessages(queue: id, count: count, bufferSize: bufferSize) }
    }

    public func withReadOnlyAttachment<R>(segment id: Int32, size: Int, _ body: (UnsafeRawBufferPointer) -> R) -> Result<R, Errno> {
        namespace.perform { live.withReadOnlyAttachment(segment: id, size: size, body) }
    }
}
