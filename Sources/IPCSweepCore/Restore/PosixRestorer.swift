import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Re-creates the POSIX objects `clean --save-to` saved (types posix-shm, posix-sem, posix-mq).
///
/// A file (posix-shm, posix-sem) is created in the target's shm mount (/dev/shm, or a process's through
/// /proc/PID/root walked without following links; it must be a tmpfs) with openat(O_CREAT|O_EXCL|O_NOFOLLOW,
/// 0600), truncated to its size, its data extents written at their offsets (holes stay holes), fsynced, read
/// back (data extents only) and its content checksum compared, then given its saved mode and (as root) owner.
/// A queue is created with mq_open(O_CREAT|O_EXCL, 0600) in the target IPC namespace and the saved
/// mq_maxmsg/mq_msgsize, each message sent with its priority on a non-blocking descriptor, the count verified
/// (mq_curmsgs), then fchmod and (as root) fchown. A name that is taken is refused (never overwritten) in the
/// check before anything is created; so is a file whose data does not fit in the tmpfs's free space. A failure
/// after the create removes the new object again.
enum PosixRestorer {
    static func load(_ path: String, file: SaveFile, summary: SaveSummary, kind: IPCKind,
                     options: RestoreOptions) throws(RestoreError) -> RestorePlan {
        func refuse(_ why: String) -> RestoreError { RestoreError(path: path, reason: why + "; nothing was created") }
        guard let saved = file.value("path"), file.value("name") != nil else { throw refuse("the save file names no POSIX path or name") }
        let entry = String(saved.split(separator: "/").last ?? "")
        if entry.isEmpty || entry == "." || entry == ".." || entry.contains("\\") || entry.utf8.count > 255 {
            throw refuse("the saved name \"\(saved)\" cannot be re-created (empty, escaped or too long)")
        }
        if kind == .posixSem, !entry.hasPrefix("sem.") { throw refuse("a named semaphore's file name must start with \"sem.\" (saved: \(saved))") }
        let mode = (file.value("mode").flatMap { UInt32($0, radix: 8) } ?? 0o600) & 0o777
        var plan = RestorePlan(path: path, file: file, summary: summary, kind: kind, key: 0, savedId: nil,
                               uid: file.value("owner").flatMap { UInt32($0) }, gid: file.value("group").flatMap { UInt32($0) },
                               mode: mode, qbytes: nil, bytes: 0, entry: entry)
        let target = options.target
        let k = options.kernel
        switch kind {
        case .posixShm, .posixSem:
            guard let size = summary.size, let n = Int(exactly: size) else { throw refuse("a POSIX file's save holds no data") }
            if summary.messages > 0 { throw refuse("a POSIX file's save holds queue messages") }
            plan.bytes = n
            guard !target.shmPath.isEmpty else {
                throw refuse("--namespace \(target.namespace?.target ?? "") is a namespace file, which names no /dev/shm: give the pid of a process in that namespace to restore POSIX files")
            }
            let dir: Int32
            switch PosixIPCScanner.openDirectory(target.shmPath, kernel: k) {
            case .success(let d): dir = d
            case .failure(let e): throw refuse("cannot open \(target.shmPath): \(e) (is the shm tmpfs mounted?)")
            }
            defer { k.close(dir) }
            let mounts = (try? FileIO.readText(target.mountInfoPath, limit: 16 << 20, requireRegular: false, kernel: k))
                .map { PosixIPCScanner.parseMountInfo($0) } ?? []
            guard let top = mounts.last(where: { $0.mountPoint == target.shmMountPoint }), top.fsType == "tmpfs" else {
                throw refuse("\(target.shmMountPoint) is not a tmpfs mount (\(target.mountInfoPath)): POSIX shared memory lives in a tmpfs mounted there; mount one first")
            }
            if case .failure(.noSuchFileOrDirectory) = k.fstatat(dir, entry, AT_SYMLINK_NOFOLLOW) {} else {
                throw refuse("\(target.shmPath)/\(entry) already exists: it is not overwritten; move it away (or remove it) and run restore again")
            }
            if case .success(let vfs) = options.syscalls.fstatvfs(dir) {
                let free = Int64(clamping: UInt64(vfs.f_bavail)) &* Int64(vfs.f_frsize > 0 ? vfs.f_frsize : vfs.f_bsize)
                if summary.dataBytes > free {
                    throw refuse("its \(SaveSpace.text(summary.dataBytes)) of data do not fit in \(target.shmPath), which has \(SaveSpace.text(free)) free; free some space there (or remount it larger) and run restore again")
                }
            }
        default:
            if summary.size != nil { throw refuse("a queue's save file holds segment data") }
            if let t = summary.lowestType, t.value < 0 { throw refuse("message \(t.index + 1) has priority \(t.value), outside what mq_send accepts") }
            if let t = summary.highestType, t.value > Int(Int32.max) { throw refuse("message \(t.index + 1) has priority \(t.value), outside what mq_send accepts") }
            plan.bytes = Int(summary.messageBytes)
            if let maxmsg = file.value("maxmsg").flatMap({ Int($0) }), let msgsize = file.value("msgsize").flatMap({ Int($0) }),
               maxmsg > 0, msgsize > 0 {
                plan.mqAttr = (maxmsg, msgsize)
                if summary.messages > maxmsg { throw refuse("it holds \(summary.messages) messages, more than its saved mq_maxmsg \(maxmsg)") }
                if let big = summary.largestMessage, big.value > msgsize {
                    throw refuse("message \(big.index + 1) is larger than its saved mq_msgsize \(msgsize)")
                }
            }
            let exists: Bool = target.perform {
                switch k.mqOpen("/" + entry, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0, nil) {
                case .success(let probe):
                    k.close(probe)
                    return true
                case .failure(let e): return e != .noSuchFileOrDirectory
                }
            }
            if exists {
                throw refuse("the message queue /\(entry) already exists in \(target.label): it is not overwritten; move its messages away (or remove it) and run restore again")
            }
        }
        return plan
    }

    static func restore(_ plan: RestorePlan, options: RestoreOptions) -> Result<RestoredObject, RestoreError> {
        let kind = plan.kind
        guard kind.isPosix, let entry = plan.entry else { return .failure(RestoreError(path: plan.path, reason: "not a POSIX save")) }
        var notes: [String] = []
        if let note = options.target.namespaceNote(plan.file) { notes.append(note) }
        let (uid, gid) = Restorer.owner(plan, privileged: options.privileged, notes: &notes)
        let made: Result<(String, Int), RestoreError> = kind == .posixMq
            ? options.target.perform { restoreQueue(plan, entry: entry, uid: uid, gid: gid, options: options) }
            : restoreFile(plan, entry: entry, uid: uid, gid: gid, options: options)
        switch made {
        case .failure(let e): return .failure(e)
        case .success(let (created, messages)):
            return .success(RestoredObject(path: plan.path, kind: plan.kind, id: -1, key: 0, savedId: nil, savedKey: 0, uid: uid, gid: gid,
                                           mode: plan.mode, messages: messages, bytes: plan.bytes, notes: notes,
                                           name: plan.file.value("name") ?? entry, createdPath: created,
                                           dataBytes: kind == .posixMq ? nil : Int(plan.summary.dataBytes)))
        }
    }

    private static func failed(_ plan: RestorePlan, _ why: String) -> RestoreError {
        RestoreError(path: plan.path, reason: why)
    }

    private static func restoreFile(_ plan: RestorePlan, entry: String, uid: UInt32, gid: UInt32,
                                    options: RestoreOptions) -> Result<(String, Int), RestoreError> {
        let root = options.target.shmPath
        let target = "\(root)/\(entry)"
        let sys = options.syscalls, k = options.kernel
        let dir: Int32
        switch PosixIPCScanner.openDirectory(root, kernel: k) {
        case .success(let d): dir = d
        case .failure(let e): return .failure(failed(plan, "cannot open \(root): \(e); nothing was created"))
        }
        defer { k.close(dir) }
        let fd: Int32
        switch sys.openat(dir, entry, flags: O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, mode: 0o600) {
        case .success(let f): fd = f
        case .failure(let e):
            let why = e == .fileExists ? "\(target) already exists: it is not overwritten; move it away and run restore again" : "cannot create \(target): \(e)"
            return .failure(failed(plan, why + "; nothing was created"))
        }
        defer { sys.close(fd) }
        func undo(_ why: String) -> RestoreError {
            _ = sys.unlinkat(dir, entry, flags: 0)
            return failed(plan, "\(why); the new \(target) was removed again (nothing was left behind, the save file is unchanged)")
        }
        if case .failure(let e) = sys.ftruncate(fd, Int64(plan.bytes)) {
            return .failure(undo("cannot size \(target) to \(plan.bytes) bytes: \(e)\(e == .noSpace || e == .fileTooLarge ? " (the shm tmpfs is too small)" : "")"))
        }
        let task = options.progress?.begin("restoring \(TextEscape.escaped(target)) from \(TextEscape.escaped(plan.path))",
                                           total: plan.summary.dataBytes)
        var sink = FileFillSink(fd: fd, path: target, syscalls: sys, task: task)
        let failure = Restorer.fill(plan, options: options, into: &sink)
        task?.end()
        if let why = failure { return .failure(undo(why)) }
        if case .failure(let e) = sys.fsync(fd) { return .failure(undo("fsync of \(target) failed: \(e)")) }
        guard case .success(let st) = sys.fstat(fd), Int(st.st_size) == plan.bytes else {
            return .failure(undo("verification failed: \(target) does not have the saved size \(plan.bytes)"))
        }
        switch ContentChecksum.of(FileDataSource(fd: fd, size: Int64(plan.bytes), description: target, syscalls: sys)) {
        case .success(let crc) where crc == plan.summary.content: break
        case .success: return .failure(undo("verification failed: the content of \(target) differs from the save file"))
        case .failure(let e): return .failure(undo("verification failed: reading \(target) back: \(e)"))
        }
        if case .failure(let e) = sys.fchmod(fd, mode_t(plan.mode)) {
            return .failure(undo("cannot set mode \(IPCTextFormat.octal(plan.mode)) on \(target): \(e)"))
        }
        if options.privileged, case .failure(let e) = k.fchown(fd, uid, gid) {
            return .failure(undo("cannot set owner \(uid):\(gid) on \(target): \(e)"))
        }
        return .success((target, 0))
    }

    private static func restoreQueue(_ plan: RestorePlan, entry: String, uid: UInt32, gid: UInt32,
                                     options: RestoreOptions) -> Result<(String, Int), RestoreError> {
        let name = "/" + entry
        let count = plan.summary.messages
        let k = options.kernel
        let attributes = plan.mqAttr.map { MQAttributes(maxMessages: $0.maxmsg, messageSize: $0.msgsize, currentMessages: 0) }
        let fd: Int32
        switch k.mqOpen(name, O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0o600, attributes) {
        case .success(let f): fd = f
        case .failure(let e):
            let why: String
            switch e {
            case .fileExists: why = "the message queue \(name) already exists: it is not overwritten; move its messages away and run restore again"
            case .invalidArgument, .tooManyOpenFiles, .noSpace, .noMemory:
                why = "cannot create the message queue \(name) with mq_maxmsg \(plan.mqAttr?.maxmsg ?? 0), mq_msgsize \(plan.mqAttr?.msgsize ?? 0): \(e) (see fs.mqueue.msg_max, msgsize_max, queues_max and RLIMIT_MSGQUEUE)"
            default: why = "cannot create the message queue \(name): \(e)"
            }
            return .failure(failed(plan, why + "; nothing was created"))
        }
        defer { k.close(fd) }
        func undo(_ why: String) -> RestoreError {
            _ = k.mqUnlink(name)
            return failed(plan, "\(why); the new queue \(name) was removed again (nothing was left behind, the save file is unchanged)")
        }
        var sink = QueueFillSink(send: { prio, bytes in k.mqSend(fd, bytes, priority: UInt32(prio)) }, total: count, what: "priority")
        if let why = Restorer.fill(plan, options: options, into: &sink) { return .failure(undo(why)) }
        let current = (try? k.mqGetAttributes(fd).get())?.currentMessages ?? -1
        guard current == count else {
            return .failure(undo("verification failed: the queue holds \(max(current, 0)) messages, the save file \(count) (did another process use it meanwhile?)"))
        }
        if case .failure(let e) = k.fchmod(fd, mode_t(plan.mode)) {
            return .failure(undo("cannot set mode \(IPCTextFormat.octal(plan.mode)) on the queue \(name): \(e)"))
        }
        if options.privileged, case .failure(let e) = k.fchown(fd, uid, gid) {
            return .failure(undo("cannot set owner \(uid):\(gid) on the queue \(name): \(e)"))
        }
        return .success((name, count))
    }
}
