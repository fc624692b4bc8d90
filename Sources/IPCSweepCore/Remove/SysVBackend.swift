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

    func save(to directory: String) -> SaveStep {
        switch fresh {
        case .msg(let q): return saveQueue(q, to: directory)
        case .shm(let s): return saveSegment(s, to: directory)
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

    private func path(_ directory: String) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + SaveFile.fileName(for: fresh)
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

    /// MSG_COPY every message, write the save file, re-check that nothing moved meanwhile, commit.
    private func saveQueue(_ q: MessageQueue, to directory: String) -> SaveStep {
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
        let path = path(directory)
        do throws(FileError) {
            let w = try AtomicFileWriter(path: path, kernel: kernel)
            try w.write(SaveFile.encodeMessages(header: SaveFile.header(for: fresh, savedAt: kernel.now()), messages))
            // Nothing may have moved while copying: re-check before committing.
            if let problem = unchanged(since: fresh, stage: " (while saving)") { return problem }
            try w.commit()
        } catch {
            return .notWritten(error.description)
        }
        return .saved(path: path, detail: "\(messages.count) message\(messages.count == 1 ? "" : "s") (\(q.cbytes) bytes)")
    }

    /// Attach read-only; check that only our attach changed it; write its bytes; check again that nobody else
    /// attached or detached meanwhile; commit. The attachment is kept until `release`.
    private func saveSegment(_ s: SharedMemorySegment, to directory: String) -> SaveStep {
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
        let path = path(directory)
        do throws(FileError) {
            let w = try AtomicFileWriter(path: path, kernel: kernel)
            try SaveFile.writeSegment(header: SaveFile.header(for: fresh, savedAt: kernel.now()),
                                      bytes: UnsafeRawBufferPointer(start: base, count: Int(s.size))) {
                (piece) throws(FileError) in try w.write(piece)
            }
            // 2. Anyone else attaching or detaching while we copied changes lpid, nattch or dtime.
            if let problem = unchanged(since: afterAttach, stage: " (while saving)") { return problem }
            try w.commit()
        } catch {
            return .notWritten(error.description)
        }
        return .saved(path: path, detail: "\(s.size) bytes")
    }
}
