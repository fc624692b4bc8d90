import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Re-creates the POSIX objects `clean --save-to` saved (types posix-shm, posix-sem, posix-mq).
///
/// A file (posix-shm, posix-sem) is created in the shm mount (/dev/shm, which must be a tmpfs) with
/// openat(O_CREAT|O_EXCL|O_NOFOLLOW, 0600), written, fsynced, read back and compared, then given its saved mode and
/// (as root) owner. A queue is created with mq_open(O_CREAT|O_EXCL, 0600) and the saved mq_maxmsg/mq_msgsize, each
/// message sent with its priority on a non-blocking descriptor, the count verified (mq_curmsgs), then fchmod and
/// (as root) fchown. A name that is taken is refused (never overwritten) in the check before anything is created;
/// a failure after the create removes the new object again.
enum PosixRestorer {
    /// The shm mount's root (glibc's shm_open and sem_open use /dev/shm).
    static var shmRoot: String { PosixIPCScanner.defaultShmRoot }

    static func load(_ path: String, file: SaveFile, kind: IPCKind, kernel: any KernelCalls) throws(RestoreError) -> RestorePlan {
        func refuse(_ why: String) -> RestoreError { RestoreError(path: path, reason: why + "; nothing was created") }
        guard let saved = file.value("path"), let name = file.value("name") else { throw refuse("the save file names no POSIX path or name") }
        let entry = String(saved.split(separator: "/").last ?? "")
        if entry.isEmpty || entry == "." || entry == ".." || entry.contains("\\") || entry.utf8.count > 255 {
            throw refuse("the saved name \"\(saved)\" cannot be re-created (empty, escaped or too long)")
        }
        if kind == .posixSem, !entry.hasPrefix("sem.") { throw refuse("a named semaphore's file name must start with \"sem.\" (saved: \(saved))") }
        let mode = (file.value("mode").flatMap { UInt32($0, radix: 8) } ?? 0o600) & 0o777
        var plan = RestorePlan(path: path, file: file, kind: kind, key: 0, savedId: nil,
                               uid: file.value("owner").flatMap { UInt32($0) }, gid: file.value("group").flatMap { UInt32($0) },
                               mode: mode, qbytes: nil, bytes: 0, entry: entry)
        switch kind {
        case .posixShm, .posixSem:
            guard let data = file.data else { throw refuse("a POSIX file's save holds no data") }
            if !file.messages.isEmpty { throw refuse("a POSIX file's save holds queue messages") }
            plan.bytes = data.count
            let dir: Int32
            switch PosixIPCScanner.openDirectory(shmRoot, kernel: kernel) {
            case .success(let fd): dir = fd
            case .failure(let e): throw refuse("cannot open \(shmRoot): \(e) (is the shm tmpfs mounted?)")
            }
            defer { kernel.close(dir) }
            let mounts = (try? FileIO.readText("/proc/self/mountinfo", limit: 16 << 20, requireRegular: false, kernel: kernel))
                .map { PosixIPCScanner.parseMountInfo($0) } ?? []
            guard let top = mounts.last(where: { $0.mountPoint == shmRoot }), top.fsType == "tmpfs" else {
                throw refuse("\(shmRoot) is not a tmpfs mount (/proc/self/mountinfo): POSIX shared memory lives in a tmpfs mounted there; mount one first")
            }
            if case let taken = kernel.fstatat(dir, entry, AT_SYMLINK_NOFOLLOW), taken.isSuccess || taken.errno != .noSuchFileOrDirectory {
                throw refuse("\(shmRoot)/\(entry) already exists: it is not overwritten; move it away (or remove it) and run restore again")
            }
        default:
            if file.data != nil { throw refuse("a queue's save file holds segment data") }
            for (n, m) in file.messages.enumerated() where m.type < 0 || m.type > Int(Int32.max) {
                throw refuse("message \(n + 1) has priority \(m.type), outside what mq_send accepts")
            }
            plan.bytes = file.messages.reduce(0) { $0 + $1.bytes.count }
            if let maxmsg = file.value("maxmsg").flatMap({ Int($0) }), let msgsize = file.value("msgsize").flatMap({ Int($0) }),
               maxmsg > 0, msgsize > 0 {
                plan.mqAttr = (maxmsg, msgsize)
                if file.messages.count > maxmsg { throw refuse("it holds \(file.messages.count) messages, more than its saved mq_maxmsg \(maxmsg)") }
                if let big = file.messages.firstIndex(where: { $0.bytes.count > msgsize }) {
                    throw refuse("message \(big + 1) is larger than its saved mq_msgsize \(msgsize)")
                }
            }
            let probe = kernel.mqOpen("/" + entry, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0, nil)
            if case .success(let fd) = probe { kernel.close(fd) }
            if probe.isSuccess || probe.errno != .noSuchFileOrDirectory {
                throw refuse("the message queue /\(entry) already exists: it is not overwritten; move its messages away (or remove it) and run restore again")
            }
        }
        _ = name
        return plan
    }

    static func restore(_ plan: RestorePlan, privileged: Bool, kernel: any KernelCalls) -> Result<RestoredObject, RestoreError> {
        let kind = plan.kind
        guard kind.isPosix, let entry = plan.entry else { return .failure(RestoreError(path: plan.path, reason: "not a POSIX save")) }
        var notes: [String] = []
        let (uid, gid) = Restorer.owner(plan, privileged: privileged, notes: &notes)
        let made: Result<(String, Int), RestoreError> = kind == .posixMq
            ? restoreQueue(plan, entry: entry, uid: uid, gid: gid, privileged: privileged, kernel: kernel)
            : restoreFile(plan, entry: entry, uid: uid, gid: gid, privileged: privileged, kernel: kernel)
        switch made {
        case .failure(let e): return .failure(e)
        case .success(let (created, messages)):
            return .success(RestoredObject(path: plan.path, kind: kind, id: -1, key: 0, savedId: nil, savedKey: 0, uid: uid, gid: gid,
                                           mode: plan.mode, messages: messages, bytes: plan.bytes, notes: notes,
                                           name: plan.file.value("name") ?? entry, createdPath: created))
        }
    }

    private static func failed(_ plan: RestorePlan, _ why: String) -> RestoreError {
        RestoreError(path: plan.path, reason: why)
    }

    private static func restoreFile(_ plan: RestorePlan, entry: String, uid: UInt32, gid: UInt32, privileged: Bool,
                                    kernel: any KernelCalls) -> Result<(String, Int), RestoreError> {
        let data = plan.file.data ?? []
        let target = "\(shmRoot)/\(entry)"
        let dir: Int32
        switch PosixIPCScanner.openDirectory(shmRoot, kernel: kernel) {
        case .success(let fd): dir = fd
        case .failure(let e): return .failure(failed(plan, "cannot open \(shmRoot): \(e); nothing was created"))
        }
        defer { kernel.close(dir) }
        let fd: Int32
        switch kernel.openat(dir, entry, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600) {
        case .success(let f): fd = f
        case .failure(let e):
            let why = e == .fileExists ? "\(target) already exists: it is not overwritten; move it away and run restore again" : "cannot create \(target): \(e)"
            return .failure(failed(plan, why + "; nothing was created"))
        }
        defer { kernel.close(fd) }
        func undo(_ why: String) -> RestoreError {
            _ = kernel.unlinkat(dir, entry, 0)
            return failed(plan, "\(why); the new \(target) was removed again (nothing was left behind, the save file is unchanged)")
        }
        var done = 0
        while done < data.count {
            let r = data.withUnsafeBytes { raw in
                kernel.pwrite(fd, from: UnsafeRawBufferPointer(rebasing: raw[done...]), at: Int64(done))
            }
            switch r {
            case .success(let n) where n > 0: done += n
            case .failure(.interrupted): continue
            case .success:
                return .failure(undo("writing \(target) failed after \(done) of \(data.count) bytes: no progress"))
            case .failure(let e):
                return .failure(undo("writing \(target) failed after \(done) of \(data.count) bytes: \(e)\(e == .noSpace ? " (the shm tmpfs is full: see `ipcsweep audit`)" : "")"))
            }
        }
        if case .failure(let e) = kernel.fsync(fd) { return .failure(undo("fsync of \(target) failed: \(e)")) }
        guard case .success(let st) = kernel.fstat(fd), Int(st.st_size) == data.count else {
            return .failure(undo("verification failed: \(target) does not have the saved size \(data.count)"))
        }
        var back = [UInt8](repeating: 0, count: data.count)
        var got = 0
        reading: while got < data.count {
            let r = back.withUnsafeMutableBytes { raw in
                kernel.pread(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[got...]), at: Int64(got))
            }
            switch r {
            case .success(let n) where n > 0: got += n
            case .failure(.interrupted): continue
            default: break reading
            }
        }
        guard got == data.count, back == data else {
            return .failure(undo("verification failed: the bytes of \(target) differ from the save file"))
        }
        if case .failure(let e) = kernel.fchmod(fd, mode_t(plan.mode)) {
            return .failure(undo("cannot set mode \(IPCTextFormat.octal(plan.mode)) on \(target): \(e)"))
        }
        if privileged, case .failure(let e) = kernel.fchown(fd, uid, gid) {
            return .failure(undo("cannot set owner \(uid):\(gid) on \(target): \(e)"))
        }
        return .success((target, 0))
    }

    private static func restoreQueue(_ plan: RestorePlan, entry: String, uid: UInt32, gid: UInt32, privileged: Bool,
                                     kernel: any KernelCalls) -> Result<(String, Int), RestoreError> {
        let name = "/" + entry
        let messages = plan.file.messages
        let attributes = plan.mqAttr.map { MQAttributes(maxMessages: $0.maxmsg, messageSize: $0.msgsize) }
        let fd: Int32
        switch kernel.mqOpen(name, O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0o600, attributes) {
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
        defer { kernel.close(fd) }
        func undo(_ why: String) -> RestoreError {
            _ = kernel.mqUnlink(name)
            return failed(plan, "\(why); the new queue \(name) was removed again (nothing was left behind, the save file is unchanged)")
        }
        for (n, m) in messages.enumerated() {
            if case .failure(let e) = m.bytes.withUnsafeBytes({ kernel.mqSend(fd, $0, priority: UInt32(m.type)) }) {
                let full = e == .resourceTemporarilyUnavailable || e == .timedOut ? " (the queue is full)" : ""
                return .failure(undo("sending message \(n + 1) of \(messages.count) (priority \(m.type), \(m.bytes.count) bytes) failed: \(e)\(full)"))
            }
        }
        let current = (try? kernel.mqGetAttributes(fd).get())?.currentMessages ?? -1
        guard current == messages.count else {
            return .failure(undo("verification failed: the queue holds \(max(0, current)) messages, the save file \(messages.count) (did another process use it meanwhile?)"))
        }
        if case .failure(let e) = kernel.fchmod(fd, mode_t(plan.mode)) {
            return .failure(undo("cannot set mode \(IPCTextFormat.octal(plan.mode)) on the queue \(name): \(e)"))
        }
        if privileged, case .failure(let e) = kernel.fchown(fd, uid, gid) {
            return .failure(undo("cannot set owner \(uid):\(gid) on the queue \(name): \(e)"))
        }
        return .success((name, messages.count))
    }
}

extension Result {
    /// Whether it is a success.
    var isSuccess: Bool { if case .success = self { return true } else { return false } }
}

extension Result where Failure == Errno {
    /// The errno of a failure; nil for a success.
    var errno: Errno? { if case .failure(let e) = self { return e } else { return nil } }
}
