import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Re-creates what `clean --save-to` saved: a queue with every message (type and bytes, in the saved order) or a
/// segment with its data, holes left as holes.
///
/// `load` reads and checks a whole file before anything is created, streaming it through a fixed buffer
/// (`SaveReader`): a regular file, the save format (version 3 or 2 with matching checksums, or version 1),
/// counts that agree with the body, sizes the target namespace accepts (msgmax, the queue capacity, shmmax).
/// `restore` then creates the object with the saved key when it is free (else IPC_PRIVATE), mode 0600 while it
/// is filled; reads the file again into it (each message sent with IPC_NOWAIT; each data extent written at its
/// offset, through the segment's shmem file when it can be opened, holes never touched), checking the file's
/// checksums again; verifies (IPC_STAT count and bytes, and
/// the content checksum of what the object now holds: every message read back with MSG_COPY, or the segment's
/// data as written); and only then sets the saved mode, and the saved owner and group when run as root. Any
/// failure after the create removes the new object again: a restore is whole or absent.
public enum Restorer {
    /// Reads a save file through `sink` (streamed). Errors are worded for the user.
    static func read<Sink: SaveContentSink>(_ path: String, options: RestoreOptions,
                                            into sink: inout Sink) throws(RestoreError) -> SaveSummary {
        let fd: Int32
        do { fd = try FileIO.openForReading(path, kernel: options.kernel) } catch {
            throw RestoreError(path: path, reason: "cannot read it: \(error.problem ?? "\(error.errno)")")
        }
        defer { options.kernel.close(fd) }
        do {
            return try SaveReader(FileSaveInput(fd: fd, path: path, syscalls: options.syscalls)).read(into: &sink)
        } catch let e as FileError {
            throw RestoreError(path: path, reason: "cannot read it: \(e.problem ?? "\(e.errno)")")
        } catch {
            throw RestoreError(path: path, reason: "\(error)")
        }
    }

    /// Reads and checks one save file; nothing is created.
    public static func load(_ path: String, options: RestoreOptions) throws(RestoreError) -> RestorePlan {
        func refuse(_ why: String) -> RestoreError { RestoreError(path: path, reason: why + "; nothing was created") }
        var discard = DiscardingSink()
        let summary: SaveSummary
        do { summary = try read(path, options: options, into: &discard) } catch { throw refuse(error.reason) }
        var file = SaveFile(header: summary.fields)
        file.version = summary.version
        guard let type = file.value("type") else { throw refuse("the save file names no type") }
        let kind: IPCKind
        switch type {
        case "msg": kind = .msg
        case "shm": kind = .shm
        default:
            guard let posix = IPCKind(rawValue: type), posix.isPosix else {
                throw refuse("a save of type \(type), which this ipcsweep cannot restore (it restores msg, shm, posix-shm, posix-sem and posix-mq)")
            }
            return try PosixRestorer.load(path, file: file, summary: summary, kind: posix, options: options)
        }
        guard let key = file.value("key").flatMap(ObjectFilter.parseKey) else { throw refuse("the save file has no valid key") }
        let mode = file.value("mode").flatMap { UInt32($0, radix: 8) } ?? 0o600
        var plan = RestorePlan(path: path, file: file, summary: summary, kind: kind, key: key, savedId: file.value("id").flatMap { Int32($0) },
                               uid: file.value("owner").flatMap { UInt32($0) }, gid: file.value("group").flatMap { UInt32($0) },
                               mode: mode & 0o777, qbytes: file.value("qbytes").flatMap { UInt64($0) }, bytes: 0)
        let limits = options.limits
        switch kind {
        case .msg:
            if summary.size != nil { throw refuse("a queue's save file holds segment data") }
            plan.bytes = Int(summary.messageBytes)
            if let t = summary.lowestType, t.value <= 0 {
                throw refuse("message \(t.index + 1) has type \(t.value); message types are positive")
            }
            if let l = limits, l.msgmax >= 0, let m = summary.largestMessage, m.value > l.msgmax {
                throw refuse("message \(m.index + 1) is \(m.value) bytes, above this kernel's msgmax (\(l.msgmax)); raise it first (sysctl kernel.msgmax=\(m.value))")
            }
            if let l = limits, l.msgmnb >= 0, plan.bytes > l.msgmnb, !options.privileged {
                throw refuse("its messages total \(plan.bytes) bytes, more than a queue holds here (kernel.msgmnb \(l.msgmnb)) and raising a queue's capacity needs root; run restore as root, or raise kernel.msgmnb")
            }
        case .shm:
            guard let size = summary.size, summary.messages == 0 else { throw refuse("a segment's save file holds no data") }
            if size == 0 { throw refuse("the saved segment has size 0") }
            if let l = limits, l.shmmax >= 0, size > l.shmmax {
                throw refuse("the segment is \(size) bytes, above this kernel's shmmax (\(l.shmmax)); raise it first (sysctl kernel.shmmax)")
            }
            guard let n = Int(exactly: size) else { throw refuse("the segment's size \(size) is too large") }
            plan.bytes = n
        default:
            throw refuse("semaphore sets are not saved")
        }
        return plan
    }

    /// Re-creates one checked save file in the options' target.
    public static func restore(_ plan: RestorePlan, options: RestoreOptions) -> Result<RestoredObject, RestoreError> {
        if plan.kind.isPosix { return PosixRestorer.restore(plan, options: options) }
        let result: Result<RestoredObject, RestoreError> = options.target.perform {
            switch plan.kind {
            case .msg: return restoreQueue(plan, options: options)
            case .shm: return restoreSegment(plan, options: options)
            default: return .failure(RestoreError(path: plan.path, reason: "semaphore sets are not saved"))
            }
        }
        return result.map { r in
            var r = r
            if let note = options.target.namespaceNote(plan.file) { r.notes.insert(note, at: 0) }
            return r
        }
    }

    /// The second read, into the new object: the file must be what was checked.
    static func fill<Sink: SaveContentSink>(_ plan: RestorePlan, options: RestoreOptions, into sink: inout Sink) -> String? {
        do {
            let again = try read(plan.path, options: options, into: &sink)
            guard again == plan.summary else { return "the save file changed since it was checked" }
            return nil
        } catch {
            return error.reason
        }
    }

    static func errnoText(_ e: Int32) -> String { "\(Errno(rawValue: e))" }

    /// Writes a save's data into a new segment attached read-write at `mapping`, and returns the checksum of
    /// what the segment then holds. Through its shmem file when it can be opened (root): pwrite at each
    /// extent's offset, then the content read back with SEEK_DATA and pread, so no page is mapped into this
    /// process; otherwise through the mapping, each piece checksummed as it now reads there. Holes are never
    /// touched either way.
    static func fillSegment(_ plan: RestorePlan, options: RestoreOptions, mapping: UnsafeMutableRawBufferPointer, label: String,
                            task: SaveProgress.Task?) -> Result<UInt32, RestoreFillError> {
        guard let base = mapping.baseAddress else { return .failure(RestoreFillError(description: "\(label) has no mapping")) }
        let (fd, _) = SegmentData.shmemFile(mapping: UnsafeRawBufferPointer(mapping), flags: O_RDWR)
        guard fd >= 0 else {
            var sink = SegmentFillSink(base: base, size: Int64(mapping.count), task: task)
            if let why = fill(plan, options: options, into: &sink) { return .failure(RestoreFillError(description: why)) }
            return .success(sink.content.value)
        }
        defer { close(fd) }
        var sink = FileFillSink(fd: fd, path: label, syscalls: options.syscalls, task: task)
        if let why = fill(plan, options: options, into: &sink) { return .failure(RestoreFillError(description: why)) }
        return ContentChecksum.of(FileDataSource(fd: fd, size: Int64(mapping.count), description: label, syscalls: options.syscalls))
            .mapError { RestoreFillError(description: "verification failed: reading \(label) back: \($0)") }
    }

    /// Creates with the saved key when it is free, else IPC_PRIVATE; `get(key, flags)` is msgget or shmget.
    private static func create(_ plan: RestorePlan, noun: String, notes: inout [String],
                               _ get: (key_t, Int32) -> Result<Int32, Errno>) -> Result<(id: Int32, key: Int32), RestoreError> {
        let creat: Int32 = 0o1000, excl: Int32 = 0o2000
        if plan.key != 0 {
            switch get(plan.key, creat | excl | 0o600) {
            case .success(let id): return .success((id, plan.key))
            case .failure(let e) where e == .fileExists:
                let holder = try? get(plan.key, 0).get()
                notes.append("key \(IPCTextFormat.hexKey(plan.key)) is taken\(holder.map { " by \(noun) id \($0)" } ?? ""): restored with key 0 (IPC_PRIVATE); programs that look it up by key will not find it")
            case .failure(let e): return .failure(createFailed(plan, noun, e.rawValue))
            }
        }
        switch get(0, creat | 0o600) {
        case .success(let id): return .success((id, 0))
        case .failure(let e): return .failure(createFailed(plan, noun, e.rawValue))
        }
    }

    private static func createFailed(_ plan: RestorePlan, _ noun: String, _ e: Int32) -> RestoreError {
        let hint = e == ENOSPC ? " (the kernel's limit on \(noun)s is reached: see `ipcsweep audit`)" : e == ENOMEM ? " (not enough memory)" : ""
        return RestoreError(path: plan.path, reason: "cannot create the \(noun): \(errnoText(e))\(hint); nothing was created")
    }

    /// Removes a half-restored object and describes the failure.
    private static func undo(_ plan: RestorePlan, _ ref: IPCObjectRef, _ options: RestoreOptions, _ why: String) -> RestoreError {
        _ = SysVKernel(options.kernel).remove(ref)
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

    private static func restoreQueue(_ plan: RestorePlan, options: RestoreOptions) -> Result<RestoredObject, RestoreError> {
        var notes: [String] = []
        let created: (id: Int32, key: Int32)
        let k = options.kernel, sysv = SysVKernel(options.kernel)
        switch create(plan, noun: "message queue", notes: &notes, { k.msgGet(key: $0, flags: $1) }) {
        case .success(let c): created = c
        case .failure(let e): return .failure(e)
        }
        let ref = IPCObjectRef(kind: .msg, id: created.id)
        let count = plan.summary.messages
        // Capacity: the saved one (or at least what the messages need) where this user may set it.
        guard case .success(let fresh) = sysv.queue(id: created.id) else {
            return .failure(undo(plan, ref, options, "cannot stat the new queue"))
        }
        var capacity = fresh.qbytes ?? 0
        let wanted = max(plan.qbytes ?? capacity, UInt64(plan.bytes))
        if wanted != capacity {
            let raised = k.msgSet(id: created.id, uid: geteuid(), gid: getegid(), mode: 0o600, qbytes: wanted)
            if case .success = raised {
                capacity = wanted
            } else if case .failure(let e) = raised, UInt64(plan.bytes) > capacity {
                return .failure(undo(plan, ref, options, "cannot raise the queue's capacity to \(wanted) bytes for its \(plan.bytes) bytes of messages: \(e) (needs root)"))
            } else {
                notes.append("capacity is \(capacity) bytes (saved: \(wanted); raising it above kernel.msgmnb needs root)")
            }
        }
        var sink = QueueFillSink(send: { type, bytes in k.msgSend(id: created.id, type: type, bytes) }, total: count, what: "type")
        if let why = fill(plan, options: options, into: &sink) { return .failure(undo(plan, ref, options, why)) }
        // Verify: count and bytes, then every message's type and bytes (their content checksum).
        guard case .success(let q) = sysv.queue(id: created.id) else {
            return .failure(undo(plan, ref, options, "cannot stat the new queue to verify it"))
        }
        if q.qnum != UInt64(count) || q.cbytes != UInt64(plan.bytes) {
            return .failure(undo(plan, ref, options, "verification failed: the queue holds \(q.qnum) messages of \(q.cbytes) bytes, the save file \(count) of \(plan.bytes) (did another process use it meanwhile?)"))
        }
        switch sysv.copyMessages(queue: created.id, count: count, bufferSize: 8192) {
        case .success(let copied):
            if ContentChecksum.of(messages: copied) != plan.summary.content {
                return .failure(undo(plan, ref, options, "verification failed: the messages in the queue differ from the save file"))
            }
        case .failure(let e) where e == .noFunction || e == .notSupported:
            notes.append("messages verified by count and size only (this kernel has no msgrcv MSG_COPY)")
        case .failure(let e):
            return .failure(undo(plan, ref, options, "verification failed: msgrcv(MSG_COPY): \(e)"))
        }
        let (uid, gid) = owner(plan, privileged: options.privileged, notes: &notes)
        if case .failure(let e) = k.msgSet(id: created.id, uid: uid, gid: gid, mode: plan.mode, qbytes: capacity) {
            return .failure(undo(plan, ref, options, "cannot set owner \(uid):\(gid) and mode \(IPCTextFormat.octal(plan.mode)): \(e)"))
        }
        return .success(RestoredObject(path: plan.path, kind: .msg, id: created.id, key: created.key, savedId: plan.savedId,
                                       savedKey: plan.key, uid: uid, gid: gid, mode: plan.mode, messages: count,
                                       bytes: plan.bytes, notes: notes))
    }

    /// Creates the segment, attaches it read-write, copies each data extent to its offset (holes are never
    /// touched, so never allocated) and checksums what the segment now holds.
    private static func restoreSegment(_ plan: RestorePlan, options: RestoreOptions) -> Result<RestoredObject, RestoreError> {
        var notes: [String] = []
        let size = plan.bytes
        let created: (id: Int32, key: Int32)
        // A lookup of the key's holder (flags 0) asks for size 0, which matches a segment of any size.
        let k = options.kernel
        switch create(plan, noun: "shared memory segment", notes: &notes, { k.shmGet(key: $0, size: $1 == 0 ? 0 : size, flags: $1) }) {
        case .success(let c): created = c
        case .failure(let e): return .failure(e)
        }
        let ref = IPCObjectRef(kind: .shm, id: created.id)
        let base: UnsafeMutableRawPointer
        switch k.shmAttach(id: created.id, readOnly: false) {
        case .success(let b): base = b
        case .failure(let e): return .failure(undo(plan, ref, options, "cannot attach the new segment: \(e)"))
        }
        let task = options.progress?.begin("restoring shm id \(created.id) from \(TextEscape.escaped(plan.path))",
                                           total: plan.summary.dataBytes)
        let content = fillSegment(plan, options: options, mapping: UnsafeMutableRawBufferPointer(start: base, count: size),
                                  label: "the new segment id \(created.id)", task: task)
        task?.end()
        _ = k.shmDetach(base)
        switch content {
        case .failure(let why): return .failure(undo(plan, ref, options, why.description))
        case .success(let crc) where crc != plan.summary.content:
            return .failure(undo(plan, ref, options, "verification failed: the new segment's content differs from the save file"))
        case .success: break
        }
        guard case .success(let s) = SysVKernel(k).segment(id: created.id), s.size == UInt64(size) else {
            return .failure(undo(plan, ref, options, "verification failed: the new segment does not have the saved size \(size)"))
        }
        if plan.file.value("mode").flatMap({ UInt32($0, radix: 8) }).map({ $0 & SHMModeFlag.locked != 0 }) == true {
            notes.append("the saved segment was locked in memory (SHM_LOCK); the restored one is not")
        }
        let (uid, gid) = owner(plan, privileged: options.privileged, notes: &notes)
        if case .failure(let e) = k.shmSet(id: created.id, uid: uid, gid: gid, mode: plan.mode) {
            return .failure(undo(plan, ref, options, "cannot set owner \(uid):\(gid) and mode \(IPCTextFormat.octal(plan.mode)): \(e)"))
        }
        return .success(RestoredObject(path: plan.path, kind: .shm, id: created.id, key: created.key, savedId: plan.savedId,
                                       savedKey: plan.key, uid: uid, gid: gid, mode: plan.mode, messages: 0,
                                       bytes: size, notes: notes, dataBytes: Int(plan.summary.dataBytes)))
    }
}
