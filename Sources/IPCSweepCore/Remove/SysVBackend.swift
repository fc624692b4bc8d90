import SystemPackage

/// The System V part of `clean`: the fresh read is IPC_STAT by id (and every semaphore of a set), the save
/// copies a queue's messages with MSG_COPY or a segment's bytes through a read-only attach, the removal is
/// IPC_RMID by id. Every call goes through the syscall seam (inside another IPC namespace: its thread).
public struct SysVBackend: RemovalBackend {
    public let kernel: any KernelCalls

    public init(kernel: any KernelCalls = Kernel.live) { self.kernel = kernel }

    public func readFresh(_ planned: IPCObject) -> FreshRead {
        switch SysVKernel(kernel).read(planned.ref) {
        case .success(let o): return .read(SysVCandidate(kernel: kernel, fresh: o))
        case .failure(let e): return .failed(e, during: "IPC_STAT")
        }
    }

    public func saves(_ o: IPCObject) -> Bool {
        switch o {
        case .msg(let q): return q.qnum > 0
        case .shm: return true
        default: return false
        }
    }

    public func saveFileName(_ o: IPCObject) -> String { SaveFile.fileName(for: o) }

    public func meansGone(_ e: Errno) -> Bool { e.meansGone }

    public func permissionText(_ e: Errno, during step: String, _ o: IPCObject) -> String {
        let p = o.perm
        let who = p.uid == p.cuid ? "uid \(p.uid)" : "uid \(p.uid) or \(p.cuid)"
        if step == "IPC_RMID" {
            return "not the owner or creator of id \(o.id), and not privileged (\(e)): removing \(o.displayName) needs \(who) or CAP_SYS_ADMIN; run clean as that user or as root"
        }
        return "cannot \(step) id \(o.id) (\(e)): re-checking \(o.displayName) needs read permission; run clean as root"
    }
}

/// One System V object in hand: its fresh read, and the read-only attachment of a segment being saved (held
/// until the object is removed: IPC_RMID while attached, the kernel frees it at our detach).
final class SysVCandidate: CandidateInHand {
    let kernel: any KernelCalls
    let fresh: IPCObject
    private var attachment: UnsafeMutableRawPointer?

    init(kernel: any KernelCalls, fresh: IPCObject) {
        self.kernel = kernel
        self.fresh = fresh
    }

    private var sysv: SysVKernel { SysVKernel(kernel) }

    func save(to directory: String, with saver: ObjectSaver) -> SaveStep {
        switch fresh {
        case .msg(let q): return saveQueue(q, to: directory, saver)
        case .shm(let s): return saveSegment(s, to: directory, saver)
        default: return .notWritten("a \(fresh.kind.noun) has no data to save")
        }
    }

    func remove() -> RemoveStep {
        switch sysv.remove(fresh.ref) {
        case .success: return .removed
        case .failure(let e): return .failed(e, during: "IPC_RMID", note: nil)
        }
    }

    func release() {
        if let a = attachment {
            _ = kernel.shmDetach(a)
            attachment = nil
        }
    }

    /// A second stat that must equal `expected` exactly (with our own attach accounted for).
    private func unchanged(since expected: IPCObject, own: OwnAttach? = nil, stage: String) -> SaveStep? {
        switch sysv.read(fresh.ref) {
        case .success(let now):
            let d = Recheck.differences(planned: expected, current: now, ownAttach: own)
            return d.isEmpty ? nil : .changed(d, stage: stage)
        case .failure(let e):
            return .failed(e, during: "IPC_STAT")
        }
    }

    /// What the saver did, as a step of the pipeline.
    private func step(_ outcome: SaveOutcome<SaveStep>, detail: (SavedFile) -> String) -> SaveStep {
        switch outcome {
        case .stopped(let step): return step
        case .failed(.changed(let why)): return .changed([why], stage: " (while saving)")
        case .failed(let why): return .notWritten(why.description)
        case .saved(let file): return .saved(path: file.path, detail: detail(file))
        }
    }

    /// MSG_COPY every message; the saver writes them and, before committing, nothing may have moved.
    private func saveQueue(_ q: MessageQueue, to directory: String, _ saver: ObjectSaver) -> SaveStep {
        let bufferSize = Int(max(q.qbytes ?? 0, q.cbytes, 8192))
        let messages: [QueuedMessage]
        switch sysv.copyMessages(queue: q.id, count: Int(q.qnum), bufferSize: bufferSize) {
        case .success(let m): messages = m
        case .failure(let e) where e == .noFunction || e == .notSupported:
            return .notWritten("this kernel cannot copy messages without receiving them (msgrcv MSG_COPY: \(e); needs CONFIG_CHECKPOINT_RESTORE)")
        case .failure(let e) where e.meansGone:
            return .failed(e, during: "msgrcv(MSG_COPY)")
        case .failure(let e) where e == .noMessage:
            return .changed(["fewer messages than planned while copying them (msgrcv MSG_COPY: \(e))"], stage: "")
        case .failure(let e):
            return .notWritten("msgrcv(MSG_COPY) of queue id \(q.id): \(e)")
        }
        let outcome = saver.saveMessages(messages, directory: directory, name: SaveFile.fileName(for: fresh),
                                         header: SaveFile.header(for: fresh, savedAt: kernel.now()),
                                         label: "saving \(fresh.displayName)",
                                         beforeCommit: { unchanged(since: fresh, stage: " (while saving)") })
        return step(outcome) { _ in "\(messages.count) message\(messages.count == 1 ? "" : "s") (\(q.cbytes) bytes)" }
    }

    /// Attach read-only; check that only our attach changed it; stream its data (its shmem file's data extents,
    /// never its holes); before committing, check again that nobody else attached or detached meanwhile. The
    /// attachment is kept until `release`.
    private func saveSegment(_ s: SharedMemorySegment, to directory: String, _ saver: ObjectSaver) -> SaveStep {
        let since = kernel.now()
        let base: UnsafeMutableRawPointer
        switch kernel.shmAttach(id: s.id, readOnly: true) {
        case .success(let b): base = b
        case .failure(let e) where e.meansGone || e.meansNoPermission: return .failed(e, during: "shmat")
        case .failure(let e): return .notWritten("shmat(SHM_RDONLY) of segment id \(s.id): \(e)")
        }
        attachment = base
        // 1. Only our own attach may have changed it: lpid is us, nattch one more, atime now, dtime unchanged.
        let afterAttach: IPCObject
        switch sysv.read(fresh.ref) {
        case .success(let o): afterAttach = o
        case .failure(let e): return .failed(e, during: "IPC_STAT")
        }
        let d = Recheck.differences(planned: fresh, current: afterAttach,
                                    ownAttach: OwnAttach(pid: kernel.pid, attached: true, since: since))
        if !d.isEmpty { return .changed(d, stage: " (after attaching it read-only to save it)") }
        // 2. Its data; anyone else attaching or detaching while we copied changes lpid, nattch or dtime.
        let data: SegmentData
        switch kernel.segmentData(s, mapping: UnsafeRawBufferPointer(start: base, count: Int(s.size))) {
        case .success(let sd): data = sd
        case .failure(let why): return .notWritten(why.description)
        }
        let outcome = saver.saveData(data.source, directory: directory, name: SaveFile.fileName(for: fresh),
                                     header: SaveFile.header(for: fresh, savedAt: kernel.now()),
                                     label: "saving \(fresh.displayName)",
                                     beforeCommit: { unchanged(since: afterAttach, stage: " (while saving)") })
        return step(outcome) { SaveSpace.dataText($0) }
    }
}
