import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Re-creates what `clean --save-to` saved: a queue with every message (type and bytes, in the saved order) or a
/// segment with its bytes.
///
/// `load` reads and checks a file before anything is created: a regular file, the save format (version 2 with a
/// matching CRC-32, or version 1), counts that agree with the body, sizes this kernel accepts (msgmax, the
/// queue capacity, shmmax). `restore` then creates the object with the saved key when it is free (else
/// IPC_PRIVATE), mode 0600 while it is filled; sends each message with IPC_NOWAIT / copies the bytes; verifies
/// (IPC_STAT count and bytes, MSG_COPY of every message or a read-only attach compared byte for byte); and only
/// then sets the saved mode, and the saved owner and group when run as root. Any failure after the create
/// removes the new object again: a restore is whole or absent.
///
/// Every call reaches the kernel through the syscall seam (`kernel`), so that the error paths are unit-tested.
public enum Restorer {
    /// The most a save file may be: physical memory (a segment must fit in memory to be restored).
    static var fileLimit: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES))
        let size = sysconf(Int32(_SC_PAGESIZE))
        return pages > 0 && size > 0 ? Int(pages) * Int(size) : 1 << 34
    }

    /// Reads and checks one save file; nothing is created.
    public static func load(_ path: String, limits: KernelLimits?, privileged: Bool,
                            kernel: any KernelCalls = Kernel.live) throws(RestoreError) -> RestorePlan {
        func refuse(_ why: String) -> RestoreError { RestoreError(path: path, reason: why + "; nothing was created") }
        let bytes: [UInt8]
        do { bytes = try FileIO.read(path, limit: fileLimit, kernel: kernel) } catch {
            throw refuse("cannot read it: \(error.problem ?? "\(error.errno)")")
        }
        let file: SaveFile
        do { file = try SaveFile.parse(bytes) } catch { throw refuse(error.description) }
        guard let type = file.value("type") else { throw refuse("the save file names no type") }
        let kind: IPCKind
        switch type {
        case "msg": kind = .msg
        case "shm": kind = .shm
        default:
            guard let posix = IPCKind(rawValue: type), posix.isPosix else {
                throw refuse("a save of type \(type), which this ipcsweep cannot restore (it restores msg, shm, posix-shm, posix-sem and posix-mq)")
            }
            return try PosixRestorer.load(path, file: file, kind: posix, kernel: kernel)
        }
        guard let key = file.value("key").flatMap(ObjectFilter.parseKey) else { throw refuse("the save file has no valid key") }
        let mode = file.value("mode").flatMap { UInt32($0, radix: 8) } ?? 0o600
        var plan = RestorePlan(path: path, file: file, kind: kind, key: key, savedId: file.value("id").flatMap { Int32($0) },
                               uid: file.value("owner").flatMap { UInt32($0) }, gid: file.value("group").flatMap { UInt32($0) },
                               mode: mode & 0o777, qbytes: file.value("qbytes").flatMap { UInt64($0) }, bytes: 0)
        switch kind {
        case .msg:
            if file.data != nil { throw refuse("a queue's save file holds segment data") }
            plan.bytes = file.messages.reduce(0) { $0 + $1.bytes.count }
            for (n, m) in file.messages.enumerated() {
                if m.type <= 0 { throw refuse("message \(n + 1) has type \(m.type); message types are positive") }
                if let l = limits, l.msgmax >= 0, m.bytes.count > l.msgmax {
                    throw refuse("message \(n + 1) is \(m.bytes.count) bytes, above this kernel's msgmax (\(l.msgmax)); raise it first (sysctl kernel.msgmax=\(m.bytes.count))")
                }
            }
            if let l = limits, l.msgmnb >= 0, plan.bytes > l.msgmnb, !privileged {
                throw refuse("its messages total \(plan.bytes) bytes, more than a queue holds here (kernel.msgmnb \(l.msgmnb)) and raising a queue's capacity needs root; run restore as root, or raise kernel.msgmnb")
            }
        case .shm:
            guard let data = file.data else { throw refuse("a segment's save file holds no data") }
            if data.isEmpty { throw refuse("the saved segment has size 0") }
            if let l = limits, l.shmmax >= 0, Int64(data.count) > l.shmmax {
                throw refuse("the segment is \(data.count) bytes, above this kernel's shmmax (\(l.shmmax)); raise it first (sysctl kernel.shmmax)")
            }
            plan.bytes = data.count
        default:
            throw refuse("semaphore sets are not saved")
        }
        return plan
    }

    /// Re-creates one checked save file.
    public static func restore(_ plan: RestorePlan, privileged: Bool,
                               kernel: any KernelCalls = Kernel.live) -> Result<RestoredObject, RestoreError> {
        switch plan.kind {
        case .msg: return restoreQueue(plan, privileged: privileged, kernel: kernel)
        case .shm: return restoreSegment(plan, privileged: privileged, kernel: kernel)
        case .posixShm, .posixSem, .posixMq: return PosixRestorer.restore(plan, privileged: privileged, kernel: kernel)
        case .sem: return .failure(RestoreError(path: plan.path, reason: "semaphore sets are not saved"))
        }
    }

    /// Creates with the saved key when it is free, else IPC_PRIVATE; `get(key, flags)` is msgget or shmget.
    private static func create(_ plan: RestorePlan, noun: String, notes: inout [String],
                               _ get: (Int32, Int32) -> Result<Int32, Errno>) -> Result<(id: Int32, key: Int32), RestoreError> {
        let creat: Int32 = 0o1000, excl: Int32 = 0o2000
        if plan.key != 0 {
            switch get(plan.key, creat | excl | 0o600) {
            case .success(let id): return .success((id, plan.key))
            case .failure(let e) where e != .fileExists: return .failure(createFailed(plan, noun, e))
            case .failure: break
            }
            let holder = try? get(plan.key, 0).get()
            notes.append("key \(IPCTextFormat.hexKey(plan.key)) is taken\(holder.map { " by \(noun) id \($0)" } ?? ""): restored with key 0 (IPC_PRIVATE); programs that look it up by key will not find it")
        }
        switch get(0, creat | 0o600) {
        case .success(let id): return .success((id, 0))
        case .failure(let e): return .failure(createFailed(plan, noun, e))
        }
    }

    private static func createFailed(_ plan: RestorePlan, _ noun: String, _ e: Errno) -> RestoreError {
        let hint = e == .noSpace ? " (the kernel's limit on \(noun)s is reached: see `ipcsweep audit`)" : ""
        return RestoreError(path: plan.path, reason: "cannot create the \(noun): \(e)\(hint); nothing was created")
    }

    /// Removes a half-restored object and describes the failure.
    private static func undo(_ plan: RestorePlan, _ ref: IPCObjectRef, _ why: String, _ kernel: any KernelCalls) -> RestoreError {
        _ = SysVKernel(kernel).remove(ref)
        return RestoreError(path: plan.path, reason: "\(why); the new \(ref.kind.noun) id \(ref.id) was removed again (nothing was left behind, the save file is unchanged)")
    }

    /// Notes about the owner, and the uid/gid to set: the saved ones as root, else the caller's.
    static func owner(_ plan: RestorePlan, privileged: Bool, notes: inout [String]) -> (UInt32, UInt32) {
        let me = (geteuid(), getegid())
        guard let uid = plan.uid else { return me }
        if privileged { return (uid, plan.gid ?? me.1) }
        if uid != me.0 || (plan.gid.map { $0 != me.1 } ?? false) {
            notes.append("owner is uid \(me.0), gid \(me.1) (this user); the saved owner uid \(uid)\(plan.gid.map { ", gid \($0)" } ?? "") is restored only when run as root")
        }
        return me
    }

    private static func restoreQueue(_ plan: RestorePlan, privileged: Bool,
                                     kernel: any KernelCalls) -> Result<RestoredObject, RestoreError> {
        var notes: [String] = []
        let sysv = SysVKernel(kernel)
        func undo(_ plan: RestorePlan, _ ref: IPCObjectRef, _ why: String) -> RestoreError { Self.undo(plan, ref, why, kernel) }
        let created: (id: Int32, key: Int32)
        switch create(plan, noun: "message queue", notes: &notes, { kernel.msgGet(key: $0, flags: $1) }) {
        case .success(let c): created = c
        case .failure(let e): return .failure(e)
        }
        let ref = IPCObjectRef(kind: .msg, id: created.id)
        let messages = plan.file.messages
        // Capacity: the saved one (or at least what the messages need) where this user may set it.
        guard case .success(let fresh) = sysv.queue(id: created.id) else {
            return .failure(undo(plan, ref, "cannot stat the new queue"))
        }
        var capacity = fresh.qbytes ?? 0
        let wanted = max(plan.qbytes ?? capacity, UInt64(plan.bytes))
        if wanted != capacity {
            let raised = kernel.msgSet(id: created.id, uid: geteuid(), gid: getegid(), mode: 0o600, qbytes: wanted)
            if case .success = raised {
                capacity = wanted
            } else if case .failure(let e) = raised, UInt64(plan.bytes) > capacity {
                return .failure(undo(plan, ref, "cannot raise the queue's capacity to \(wanted) bytes for its \(plan.bytes) bytes of messages: \(e) (needs root)"))
            } else {
                notes.append("capacity is \(capacity) bytes (saved: \(wanted); raising it above kernel.msgmnb needs root)")
            }
        }
        for (n, m) in messages.enumerated() {
            if case .failure(let e) = m.bytes.withUnsafeBytes({ kernel.msgSend(id: created.id, type: m.type, $0) }) {
                return .failure(undo(plan, ref, "sending message \(n + 1) of \(messages.count) (type \(m.type), \(m.bytes.count) bytes) failed: \(e)"))
            }
        }
        // Verify: count and bytes, then every message's type and bytes.
        guard case .success(let q) = sysv.queue(id: created.id) else {
            return .failure(undo(plan, ref, "cannot stat the new queue to verify it"))
        }
        if q.qnum != UInt64(messages.count) || q.cbytes != UInt64(plan.bytes) {
            return .failure(undo(plan, ref, "verification failed: the queue holds \(q.qnum) messages of \(q.cbytes) bytes, the save file \(messages.count) of \(plan.bytes) (did another process use it meanwhile?)"))
        }
        switch sysv.copyMessages(queue: created.id, count: messages.count, bufferSize: 8192) {
        case .success(let copied):
            if copied != messages {
                let n = zip(copied, messages).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(copied.count, messages.count)
                return .failure(undo(plan, ref, "verification failed: message \(n + 1) in the queue differs from the save file"))
            }
        case .failure(let e) where e == .noFunction || e == .notSupported:
            notes.append("messages verified by count and size only (this kernel has no msgrcv MSG_COPY)")
        case .failure(let e):
            return .failure(undo(plan, ref, "verification failed: msgrcv(MSG_COPY): \(e)"))
        }
        let (uid, gid) = owner(plan, privileged: privileged, notes: &notes)
        if case .failure(let e) = kernel.msgSet(id: created.id, uid: uid, gid: gid, mode: plan.mode, qbytes: capacity) {
            return .failure(undo(plan, ref, "cannot set owner \(uid):\(gid) and mode \(IPCTextFormat.octal(plan.mode)): \(e)"))
        }
        return .success(RestoredObject(path: plan.path, kind: .msg, id: created.id, key: created.key, savedId: plan.savedId,
                                       savedKey: plan.key, uid: uid, gid: gid, mode: plan.mode, messages: messages.count,
                                       bytes: plan.bytes, notes: notes))
    }

    private static func restoreSegment(_ plan: RestorePlan, privileged: Bool,
                                       kernel: any KernelCalls) -> Result<RestoredObject, RestoreError> {
        var notes: [String] = []
        let sysv = SysVKernel(kernel)
        func undo(_ plan: RestorePlan, _ ref: IPCObjectRef, _ why: String) -> RestoreError { Self.undo(plan, ref, why, kernel) }
        guard let data = plan.file.data else { return .failure(RestoreError(path: plan.path, reason: "no data")) }
        let created: (id: Int32, key: Int32)
        // A lookup of the key's holder (flags 0) asks for size 0, which matches a segment of any size.
        switch create(plan, noun: "shared memory segment", notes: &notes, { kernel.shmGet(key: $0, size: $1 == 0 ? 0 : data.count, flags: $1) }) {
        case .success(let c): created = c
        case .failure(let e): return .failure(e)
        }
        let ref = IPCObjectRef(kind: .shm, id: created.id)
        let base: UnsafeMutableRawPointer
        switch kernel.shmAttach(id: created.id, readOnly: false) {
        case .success(let b): base = b
        case .failure(let e): return .failure(undo(plan, ref, "cannot attach the new segment: \(e)"))
        }
        data.withUnsafeBytes { raw in
            if let from = raw.baseAddress { base.copyMemory(from: from, byteCount: raw.count) }
        }
        _ = kernel.shmDetach(base)
        // Verify: size, then the bytes through a fresh read-only attach.
        guard case .success(let s) = sysv.segment(id: created.id), s.size == UInt64(data.count) else {
            return .failure(undo(plan, ref, "verification failed: the new segment does not have the saved size \(data.count)"))
        }
        let same = sysv.withReadOnlyAttachment(segment: created.id, size: data.count) { mapped in
            data.withUnsafeBytes { raw in
                guard let a = mapped.baseAddress, let b = raw.baseAddress else { return false }
                return memcmp(a, b, data.count) == 0
            }
        }
        guard case .success(true) = same else {
            return .failure(undo(plan, ref, "verification failed: the new segment's bytes differ from the save file"))
        }
        if plan.file.value("mode").flatMap({ UInt32($0, radix: 8) }).map({ $0 & SHMModeFlag.locked != 0 }) == true {
            notes.append("the saved segment was locked in memory (SHM_LOCK); the restored one is not")
        }
        let (uid, gid) = owner(plan, privileged: privileged, notes: &notes)
        if case .failure(let e) = kernel.shmSet(id: created.id, uid: uid, gid: gid, mode: plan.mode) {
            return .failure(undo(plan, ref, "cannot set owner \(uid):\(gid) and mode \(IPCTextFormat.octal(plan.mode)): \(e)"))
        }
        return .success(RestoredObject(path: plan.path, kind: .shm, id: created.id, key: created.key, savedId: plan.savedId,
                                       savedKey: plan.key, uid: uid, gid: gid, mode: plan.mode, messages: 0,
                                       bytes: data.count, notes: notes))
    }
}
