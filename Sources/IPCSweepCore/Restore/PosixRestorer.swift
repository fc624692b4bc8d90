import CSysVIPC
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

    static func load(_ path: String, file: SaveFile, kind: PosixIPCKind) throws(RestoreError) -> RestorePlan {
        func refuse(_ why: String) -> RestoreError { RestoreError(path: path, reason: why + "; nothing was created") }
        guard let saved = file.value("path"), let name = file.value("name") else { throw refuse("the save file names no POSIX path or name") }
        let entry = String(saved.split(separator: "/").last ?? "")
        if entry.isEmpty || entry == "." || entry == ".." || entry.contains("\\") || entry.utf8.count > 255 {
            throw refuse("the saved name \"\(saved)\" cannot be re-created (empty, escaped or too long)")
        }
        if kind == .sem, !entry.hasPrefix("sem.") { throw refuse("a named semaphore's file name must start with \"sem.\" (saved: \(saved))") }
        let mode = (file.value("mode").flatMap { UInt32($0, radix: 8) } ?? 0o600) & 0o777
        var plan = RestorePlan(path: path, file: file, kind: kind == .mq ? .msg : .shm, key: 0, savedId: nil,
                               uid: file.value("owner").flatMap { UInt32($0) }, gid: file.value("group").flatMap { UInt32($0) },
                               mode: mode, qbytes: nil, bytes: 0, posix: kind, entry: entry)
        switch kind {
        case .shm, .sem:
            guard let data = file.data else { throw refuse("a POSIX file's save holds no data") }
            if !file.messages.isEmpty { throw refuse("a POSIX file's save holds queue messages") }
            plan.bytes = data.count
            let dir = PosixIPCScanner.openDirectory(shmRoot)
            guard dir >= 0 else { throw refuse("cannot open \(shmRoot): \(Errno(rawValue: errno)) (is the shm tmpfs mounted?)") }
            defer { close(dir) }
            let mounts = (try? FileIO.readText("/proc/self/mountinfo", limit: 16 << 20, requireRegular: false))
                .map { PosixIPCScanner.parseMountInfo($0) } ?? []
            guard let top = mounts.last(where: { $0.mountPoint == shmRoot }), top.fsType == "tmpfs" else {
                throw refuse("\(shmRoot) is not a tmpfs mount (/proc/self/mountinfo): POSIX shared memory lives in a tmpfs mounted there; mount one first")
            }
            var st = stat()
            if fstatat(dir, entry, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT {
                throw refuse("\(shmRoot)/\(entry) already exists: it is not overwritten; move it away (or remove it) and run restore again")
            }
        case .mq:
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
            let probe = cipc_mq_open("/" + entry, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0, 0, 0)
            let e = errno
            if probe >= 0 { close(probe) }
            if probe >= 0 || e != ENOENT {
                throw refuse("the message queue /\(entry) already exists: it is not overwritten; move its messages away (or remove it) and run restore again")
            }
        }
        _ = name
        return plan
    }

    static func restore(_ plan: RestorePlan, privileged: Bool) -> Result<RestoredObject, RestoreError> {
        guard let kind = plan.posix, let entry = plan.entry else { return .failure(RestoreError(path: plan.path, reason: "not a POSIX save")) }
        var notes: [String] = []
        let (uid, gid) = Restorer.owner(plan, privileged: privileged, notes: &notes)
        let made: Result<(String, Int), RestoreError> = kind == .mq
            ? restoreQueue(plan, entry: entry, uid: uid, gid: gid, privileged: privileged)
            : restoreFile(plan, entry: entry, uid: uid, gid: gid, privileged: privileged)
        switch made {
        case .failure(let e): return .failure(e)
        case .success(let (created, messages)):
            return .success(RestoredObject(path: plan.path, kind: plan.kind, id: -1, key: 0, savedId: nil, savedKey: 0, uid: uid, gid: gid,
                                           mode: plan.mode, messages: messages, bytes: plan.bytes, notes: notes, posix: kind,
                                           name: plan.file.value("name") ?? entry, createdPath: created))
        }
    }

    private static func failed(_ plan: RestorePlan, _ why: String) -> RestoreError {
        RestoreError(path: plan.path, reason: why)
    }

    private static func restoreFile(_ plan: RestorePlan, entry: String, uid: UInt32, gid: UInt32,
                                    privileged: Bool) -> Result<(String, Int), RestoreError> {
        let data = plan.file.data ?? []
        let target = "\(shmRoot)/\(entry)"
        let dir = PosixIPCScanner.openDirectory(shmRoot)
        guard dir >= 0 else { return .failure(failed(plan, "cannot open \(shmRoot): \(Errno(rawValue: errno)); nothing was created")) }
        defer { close(dir) }
        let fd = openat(dir, entry, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            let why = e == EEXIST ? "\(target) already exists: it is not overwritten; move it away and run restore again" : "cannot create \(target): \(Errno(rawValue: e))"
            return .failure(failed(plan, why + "; nothing was created"))
        }
        defer { close(fd) }
        func undo(_ why: String) -> RestoreError {
            unlinkat(dir, entry, 0)
            return failed(plan, "\(why); the new \(target) was removed again (nothing was left behind, the save file is unchanged)")
        }
        var done = 0
        while done < data.count {
            let n = data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, data.count - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let e = errno
                return .failure(undo("writing \(target) failed after \(done) of \(data.count) bytes: \(n < 0 ? "\(Errno(rawValue: e))" : "no progress")\(e == ENOSPC ? " (the shm tmpfs is full: see `ipcsweep audit`)" : "")"))
            }
            done += n
        }
        if fsync(fd) != 0 { return .failure(undo("fsync of \(target) failed: \(Errno(rawValue: errno))")) }
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) == data.count else {
            return .failure(undo("verification failed: \(target) does not have the saved size \(data.count)"))
        }
        var back = [UInt8](repeating: 0, count: data.count)
        var got = 0
        while got < data.count {
            let n = back.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, data.count - got, off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        guard got == data.count, back == data else {
            return .failure(undo("verification failed: the bytes of \(target) differ from the save file"))
        }
        if fchmod(fd, mode_t(plan.mode)) != 0 {
            return .failure(undo("cannot set mode \(IPCTextFormat.octal(plan.mode)) on \(target): \(Errno(rawValue: errno))"))
        }
        if privileged, fchown(fd, uid, gid) != 0 {
            return .failure(undo("cannot set owner \(uid):\(gid) on \(target): \(Errno(rawValue: errno))"))
        }
        return .success((target, 0))
    }

    private static func restoreQueue(_ plan: RestorePlan, entry: String, uid: UInt32, gid: UInt32,
                                     privileged: Bool) -> Result<(String, Int), RestoreError> {
        let name = "/" + entry
        let messages = plan.file.messages
        let fd = cipc_mq_open(name, O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0o600,
                              plan.mqAttr?.maxmsg ?? 0, plan.mqAttr?.msgsize ?? 0)
        guard fd >= 0 else {
            let e = errno
            let why: String
            switch e {
            case EEXIST: why = "the message queue \(name) already exists: it is not overwritten; move its messages away and run restore again"
            case EINVAL, EMFILE, ENOSPC, ENOMEM:
                why = "cannot create the message queue \(name) with mq_maxmsg \(plan.mqAttr?.maxmsg ?? 0), mq_msgsize \(plan.mqAttr?.msgsize ?? 0): \(Errno(rawValue: e)) (see fs.mqueue.msg_max, msgsize_max, queues_max and RLIMIT_MSGQUEUE)"
            default: why = "cannot create the message queue \(name): \(Errno(rawValue: e))"
            }
            return .failure(failed(plan, why + "; nothing was created"))
        }
        defer { close(fd) }
        func undo(_ why: String) -> RestoreError {
            _ = cipc_mq_unlink(name)
            return failed(plan, "\(why); the new queue \(name) was removed again (nothing was left behind, the save file is unchanged)")
        }
        for (n, m) in messages.enumerated() {
            let rc = m.bytes.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { cipc_mq_send(fd, $0.baseAddress, UInt($0.count), UInt32(m.type)) }
            }
            if rc != 0 {
                let e = errno
                let full = e == EAGAIN || e == ETIMEDOUT ? " (the queue is full)" : ""
                return .failure(undo("sending message \(n + 1) of \(messages.count) (priority \(m.type), \(m.bytes.count) bytes) failed: \(Errno(rawValue: e))\(full)"))
            }
        }
        var maxmsg = 0, msgsize = 0, cur = 0
        guard cipc_mq_getattr(fd, &maxmsg, &msgsize, &cur) == 0, cur == messages.count else {
            return .failure(undo("verification failed: the queue holds \(cur) messages, the save file \(messages.count) (did another process use it meanwhile?)"))
        }
        if fchmod(fd, mode_t(plan.mode)) != 0 {
            return .failure(undo("cannot set mode \(IPCTextFormat.octal(plan.mode)) on the queue \(name): \(Errno(rawValue: errno))"))
        }
        if privileged, fchown(fd, uid, gid) != 0 {
            return .failure(undo("cannot set owner \(uid):\(gid) on the queue \(name): \(Errno(rawValue: errno))"))
        }
        return .success((name, messages.count))
    }
}
