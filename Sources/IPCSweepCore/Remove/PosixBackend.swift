import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The POSIX part of `clean`: the fresh read opens the object's mount root again (walked with O_NOFOLLOW inside
/// another mount namespace), checks it is still the filesystem the object was found on, reads the entry with the
/// scanner's own reader (fstatat AT_SYMLINK_NOFOLLOW, a queue's state), takes a write lease on it
/// (`PosixLeases`) and reads its ACL through the leased descriptor, as the scanner does. The lease is held until
/// the removal: while it is held, any process's open(2) of the file waits and breaks
/// it. The save copies a file's bytes or receives a queue's messages through the leased descriptor; the removal
/// (`PosixCandidate.remove`) re-checks under the lease and goes by unlinkat(2) on the root's descriptor. Never
/// follows a symbolic link, never descends into a directory or another mount.
public struct PosixBackend: RemovalBackend {
    public let kernel: any KernelCalls
    /// Runs between the re-check under the lease and the removal call (debug builds' race hook); nil otherwise.
    public var beforeUnlink: (@Sendable (PosixIPCObject) -> Void)?

    public init(kernel: any KernelCalls = Kernel.live, beforeUnlink: (@Sendable (PosixIPCObject) -> Void)? = nil) {
        self.kernel = kernel
        self.beforeUnlink = beforeUnlink
    }

    public func readFresh(_ planned: IPCObject) -> FreshRead {
        guard let o = planned.posix else { return .failed(.invalidArgument, during: "fstatat") }
        let dir: Int32
        switch PosixIPCScanner.openDirectory(o.directory, kernel: kernel) {
        case .success(let fd): dir = fd
        case .failure(let e): return .failed(e, during: "open the directory of")
        }
        guard case .success(let st) = kernel.fstat(dir), UInt64(st.st_dev) == o.identity.device else {
            kernel.close(dir)
            return .changed(["another filesystem is mounted on its directory"])
        }
        let reader = PosixObjectReader(kernel: kernel, directory: o.directory, device: o.identity.device,
                                       rootKind: o.kind == .posixMq ? .posixMq : .posixShm,
                                       aclThroughDescriptor: o.directory.hasPrefix("/proc/"))
        switch reader.look(dir: dir, entry: o.entry) {
        case .object(var fresh, _):
            // The lease is the fresh read's answer to "open or mapped anywhere?", and is kept until the removal; the
            // ACL is read as the scanner reads it.
            switch reader.leaseAndACL(&fresh, dir: dir, leases: PosixLeases(kernel: kernel)) {
            case .failure(let e):
                kernel.close(dir)
                return .failed(e, during: "read the ACL of")
            case .success(let leased):
                if case .changed(let inode)? = leased.taken {  // nothing is held then
                    kernel.close(dir)
                    return .changed(["another file took its name (inode \(fresh.identity.inode) -> \(inode))"])
                }
                return .read(PosixCandidate(kernel: kernel, dir: dir, fresh: fresh, lease: leased.held, beforeUnlink: beforeUnlink))
            }
        case .ignored(let what):
            kernel.close(dir)
            return .changed(["now a \(what)"])
        case .failed(let e):
            kernel.close(dir)
            return .failed(e, during: "fstatat")
        }
    }

    public func saves(_ o: IPCObject) -> Bool { o.posix != nil }

    public func saveFileName(_ o: IPCObject) -> String { SaveFile.fileName(for: o) }

    public func meansGone(_ e: Errno) -> Bool { e == .noSuchFileOrDirectory }

    public func permissionText(_ e: Errno, during step: String, _ o: IPCObject) -> String {
        if step == "unlinkat" || step == "renameat2" {
            return "not allowed to remove \(o.displayName) (\(e)): removing it needs write permission on its directory (and, with the sticky bit, being its owner); run clean as its owner or as root"
        }
        return "cannot \(step) \(o.displayName) (\(e)): run clean as its owner or as root; left in place"
    }
}

/// One POSIX object in hand: its root's descriptor (every call below is relative to it), its fresh read, the
/// descriptor that holds its write lease (nil: no lease could be taken), and the messages a save received from a
/// queue (put back if the removal then fails).
final class PosixCandidate: CandidateInHand {
    let kernel: any KernelCalls
    let dir: Int32
    let fresh: IPCObject
    let object: PosixIPCObject
    let leases: PosixLeases
    /// The leased descriptor, open from the fresh read until `release`.
    private(set) var lease: Int32?
    let beforeUnlink: (@Sendable (PosixIPCObject) -> Void)?
    /// Messages received from the queue by its save, and the file that holds them.
    var drained: (messages: [QueuedMessage], path: String)?

    init(kernel: any KernelCalls, dir: Int32, fresh: PosixIPCObject, lease: Int32? = nil,
         beforeUnlink: (@Sendable (PosixIPCObject) -> Void)? = nil) {
        self.kernel = kernel
        self.dir = dir
        self.fresh = .posix(fresh)
        object = fresh
        leases = PosixLeases(kernel: kernel)
        self.lease = lease
        self.beforeUnlink = beforeUnlink
    }

    func release() {
        dropLease()
        kernel.close(dir)
    }

    /// Lets go of the lease (before the tool opens the object again itself, which would break it).
    func dropLease() {
        if let fd = lease { leases.release(fd) }
        lease = nil
    }

    func remove() -> RemoveStep {
        if let fd = lease { return removeUnderLease(fd) }
        // No lease: the name must still be the object read, nothing else is unlinked under it.
        if case .success(let st) = kernel.fstatat(dir, object.entry, AT_SYMLINK_NOFOLLOW),
           UInt64(st.st_dev) != object.identity.device || UInt64(st.st_ino) != object.identity.inode {
            return .changed(["another file took its name (inode \(object.identity.inode) -> \(st.st_ino))"])
        }
        beforeUnlink?(object)
        switch kernel.unlinkat(dir, object.entry, 0) {
        case .success: return .removed
        case .failure(let e): return .failed(e, during: "unlinkat", note: putBack())
        }
    }

    /// After a failed removal: the messages a save received go back into the queue (the save file stays).
    func putBack() -> String? {
        guard let (messages, path) = drained else { return nil }
        drained = nil
        let back = send(messages)
        if back == messages.count {
            return "its \(messages.count) message\(messages.count == 1 ? " was" : "s were") put back into the queue (a copy stays in \(path))"
        }
        return "only \(back) of its \(messages.count) messages could be put back into the queue: all of them are in \(path); restore them from there"
    }

    /// Sends messages back into the queue (a non-blocking queue descriptor); how many went. The lease goes first:
    /// the tool's own open would break it.
    private func send(_ messages: [QueuedMessage]) -> Int {
        dropLease()
        guard case .success(let fd) = kernel.openat(dir, object.entry, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0) else {
            return 0
        }
        defer { kernel.close(fd) }
        var sent = 0
        for m in messages {
            let r = m.bytes.withUnsafeBytes { kernel.mqSend(fd, $0, priority: UInt32(clamping: m.type)) }
            guard case .success = r else { break }
            sent += 1
        }
        return sent
    }

    func save(to directory: String, with saver: ObjectSaver) -> SaveStep {
        // Through the leased descriptor when there is one: opening the object again would break the lease.
        let fd: Int32
        let opened: Bool
        if let held = lease {
            (fd, opened) = (held, false)
        } else {
            switch openChecked() {
            case .opened(let f): (fd, opened) = (f, true)
            case .stopped(let step): return step
            }
        }
        defer { if opened { kernel.close(fd) } }
        return object.kind == .posixMq ? saveQueue(fd, to: directory, saver) : saveFile(fd, to: directory, saver)
    }

    /// Opens the entry read-only without following a link and without blocking, and checks it is the object read.
    private func openChecked() -> Opened {
        let fd: Int32
        switch kernel.openat(dir, object.entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0) {
        case .success(let f): fd = f
        case .failure(let e): return .stopped(.failed(e, during: "open"))
        }
        guard case .success(let st) = kernel.fstat(fd), UInt64(st.st_ino) == object.identity.inode,
              UInt64(st.st_dev) == object.identity.device else {
            kernel.close(fd)
            return .stopped(.changed(["another file took its name while saving"], stage: ""))
        }
        return .opened(fd)
    }

    private enum Opened {
        case opened(Int32)
        case stopped(SaveStep)
    }

    /// The entry must still be the object read, untouched, before the save is committed.
    private func unchanged() -> SaveStep? {
        switch kernel.fstatat(dir, object.entry, AT_SYMLINK_NOFOLLOW) {
        case .failure(let e): return .failed(e, during: "fstatat")
        case .success(let st):
            let now = PosixIPCObject(stat: st, like: object)
            let d = Recheck.posixDifferences(object, now)
            return d.isEmpty ? nil : .changed(d, stage: " (while saving)")
        }
    }

    /// Streams the file's data extents (never its holes) into the save file; re-checked before it is committed.
    private func saveFile(_ fd: Int32, to directory: String, _ saver: ObjectSaver) -> SaveStep {
        let size = max(0, object.size)
        let source = FileDataSource(fd: fd, size: size, description: "the file", syscalls: KernelSaveSyscalls(kernel: kernel))
        switch saver.saveData(source, directory: directory, name: SaveFile.fileName(for: fresh),
                              header: SaveFile.header(for: fresh, savedAt: kernel.now()),
                              label: "saving \(fresh.displayName)", beforeCommit: { unchanged() }) {
        case .stopped(let step): return step
        case .failed(.changed(let why)): return .changed([why], stage: " (while saving)")
        case .failed(let why): return .notWritten(why.description)
        case .saved(let file): return .saved(path: file.path, detail: SaveSpace.dataText(file))
        }
    }

    /// Receives every message (mq_timedreceive on a non-blocking descriptor, highest priority first, as the queue
    /// delivers them) into the save file, committed before the queue is removed; if the file cannot be written,
    /// the messages are sent back.
    private func saveQueue(_ fd: Int32, to directory: String, _ saver: ObjectSaver) -> SaveStep {
        let attributes: MQAttributes
        switch kernel.mqGetAttributes(fd) {
        case .success(let a): attributes = a
        case .failure(let e): return .notWritten("mq_getattr: \(e)")
        }
        var messages: [QueuedMessage] = []
        var buffer = [UInt8](repeating: 0, count: max(1, attributes.messageSize))
        var total = 0
        receiving: while true {
            switch buffer.withUnsafeMutableBytes({ kernel.mqReceiveNow(fd, into: $0) }) {
            case .success(let (n, priority)):
                messages.append(QueuedMessage(type: Int(priority), bytes: Array(buffer[0..<n])))
                total += n
            case .failure(.interrupted): continue
            case .failure(let e) where e == .resourceTemporarilyUnavailable || e == .timedOut: break receiving
            case .failure(let e):
                let back = send(messages)
                return .notWritten("mq_timedreceive: \(e) after \(messages.count) messages; \(back) of them were put back: not removed")
            }
        }
        let header = SaveFile.header(for: fresh, savedAt: kernel.now())
            + [("messages", String(messages.count)), ("bytes", String(total)), ("message-type", "priority"),
               ("maxmsg", String(attributes.maxMessages)), ("msgsize", String(attributes.messageSize))]
        let outcome: SaveOutcome<Never> = saver.saveMessages(messages, directory: directory, name: SaveFile.fileName(for: fresh),
                                                             header: header, label: "saving \(fresh.displayName)",
                                                             beforeCommit: { nil })
        guard case .saved(let file) = outcome else {
            let error: String
            if case .failed(let why) = outcome { error = why.description } else { error = "not saved" }
            // The messages were received already: put them back so that nothing is lost.
            let back = send(messages)
            let kept = back == messages.count ? "its messages were put back" : "only \(back) of its \(messages.count) messages could be put back"
            return .notWritten("\(error); \(kept) and it was not removed")
        }
        drained = (messages, file.path)
        return .saved(path: file.path, detail: "\(messages.count) message\(messages.count == 1 ? "" : "s") (\(total) bytes)")
    }
}

extension PosixIPCObject {
    /// `like` with the facts of a fresh fstatat (identity, size, owner, mode, times).
    init(stat st: stat, like o: PosixIPCObject) {
        func time(_ t: timespec) -> FileTime { FileTime(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec)) }
        self = o
        identity = DeviceInode(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        size = Int64(st.st_size)
        blocks = Int64(st.st_blocks)
        uid = st.st_uid
        gid = st.st_gid
        mode = UInt32(st.st_mode) & 0o7777
        atime = time(st.st_atim)
        mtimeNs = time(st.st_mtim)
        ctime = time(st.st_ctim)
    }
}
