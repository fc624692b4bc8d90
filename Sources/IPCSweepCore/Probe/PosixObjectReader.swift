import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads one entry of a POSIX root (the /dev/shm mount or the mqueue mount) through a descriptor of the root:
/// fstatat(2) with AT_SYMLINK_NOFOLLOW, its access ACL (through a leased descriptor when there is one) and, for
/// a queue, its state. The scanner lists a root with it, and clean's POSIX backend reads each candidate again
/// with it (the re-check), so that an object is read the same way both times.
public struct PosixObjectReader: Sendable {
    public let kernel: any KernelCalls
    /// The root as the tool reaches it (`/dev/shm`, `/proc/PID/root/dev/shm`): paths are `directory/entry`.
    public let directory: String
    /// st_dev of the root: an entry of another filesystem (mounted below it) is never an object.
    public let device: UInt64
    /// posixShm for the shm root (its `sem.NAME` files are posixSem), posixMq for the mqueue root.
    public let rootKind: IPCKind
    /// In another mount namespace the ACL is read relative to the root's descriptor, not through its path.
    public let aclThroughDescriptor: Bool

    public init(kernel: any KernelCalls = Kernel.live, directory: String, device: UInt64, rootKind: IPCKind,
                aclThroughDescriptor: Bool = false) {
        self.kernel = kernel
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.device = device
        self.rootKind = rootKind
        self.aclThroughDescriptor = aclThroughDescriptor
    }

    /// What one entry is.
    public enum Outcome: Sendable, Equatable {
        /// A regular file of this mount: the object, and a warning when part of it could not be read.
        case object(PosixIPCObject, warning: String?)
        /// Not an object (a symbolic link, a directory, a special file, a file of another filesystem), in words.
        case ignored(String)
        /// fstatat failed (ENOENT: it vanished).
        case failed(Errno)
    }

    /// The entry without its ACL (`readACL` adds it): fstatat(2) with AT_SYMLINK_NOFOLLOW, and a queue's state.
    /// The scanner and clean's re-check take the write lease between the two, so that the ACL is read through the
    /// leased descriptor (no second lookup of the name).
    public func look(dir: Int32, entry name: String) -> Outcome {
        let st: stat
        switch kernel.fstatat(dir, name, AT_SYMLINK_NOFOLLOW) {
        case .success(let s): st = s
        case .failure(let e): return .failed(e)
        }
        let path = self.path(name)
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: return .ignored("symbolic link \(path)")
        case S_IFDIR: return .ignored("directory \(path)")
        default: return .ignored("special file \(path)")
        }
        guard UInt64(st.st_dev) == device else { return .ignored("\(path) (on another filesystem)") }
        let kind = PosixIPCObject.kind(ofEntry: name, rootKind: rootKind)
        var queue: MessageQueueStatus?
        var warning: String?
        if kind == .posixMq {
            switch Self.readQueue(kernel: kernel, dir: dir, name: name) {
            case .success(let q): queue = q
            case .failure(.noSuchFileOrDirectory): return .failed(.noSuchFileOrDirectory)
            case .failure(let e):
                warning = "cannot read the state of queue \(path) (\(e)): its depth and notification are unknown; run as root"
            }
        }
        func time(_ t: timespec) -> FileTime { FileTime(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec)) }
        let o = PosixIPCObject(
            path: path, kind: kind, entry: name, uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode) & 0o7777,
            size: Int64(st.st_size), blocks: Int64(st.st_blocks), directory: directory,
            identity: DeviceInode(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
            atime: time(st.st_atim), mtimeNs: time(st.st_mtim), ctime: time(st.st_ctim), queue: queue)
        return .object(o, warning: warning)
    }

    /// What `leaseAndACL` did: the lease taken (nil: none asked for), and a warning about the ACL.
    public struct Leased {
        public var taken: PosixLeases.Taken?
        public var warning: String?
        /// The descriptor holding a granted lease: the caller lets go of it (`PosixLeases.release`).
        public var held: Int32? {
            if case .held(let fd)? = taken { return fd }
            return nil
        }
    }

    /// The second step of a read, after `look`, for the scanner and clean's re-check alike: the write lease on `o`
    /// (when `leases` is given; `o.lease` says what it answered), then the ACL through the leased descriptor (by
    /// path without one). A granted lease stays held for the caller: the scanner lets go at once, clean keeps it
    /// until the removal. On a failure (ENOENT: gone meanwhile) nothing is held.
    public func leaseAndACL(_ o: inout PosixIPCObject, dir: Int32, leases: PosixLeases?) -> Result<Leased, Errno> {
        let taken = leases?.take(dir: dir, o)
        var done = Leased(taken: taken)
        o.lease = taken?.lease
        switch readACL(&o, dir: dir, through: done.held) {
        case .success(let w):
            done.warning = w
            return .success(done)
        case .failure(let e):
            if let held = done.held { leases?.release(held) }
            return .failure(e)
        }
    }

    /// Adds the access ACL of shared memory or a semaphore (a queue has none): through `fd` when it is open on the
    /// object itself (a held lease's descriptor), otherwise by its path in the root open as `dir`. A warning when
    /// it could not be read (then its mode bits alone count); ENOENT: the entry is gone.
    func readACL(_ o: inout PosixIPCObject, dir: Int32, through fd: Int32?) -> Result<String?, Errno> {
        guard o.kind != .posixMq else { return .success(nil) }
        let name = "system.posix_acl_access"
        let aclPath = aclThroughDescriptor ? "/proc/self/fd/\(dir)/\(o.entry)" : path(o.entry)
        let size = fd.map { kernel.extendedAttributeSize(fd: $0, name) } ?? kernel.extendedAttributeSize(aclPath, name)
        guard case .success(let n) = size, n > 0 else { return .success(nil) }
        switch fd.map({ AccessControlList.read(fd: $0) }) ?? AccessControlList.read(aclPath) {
        case .success(let a):
            o.acl = a
            return .success(nil)
        case .failure(.noSuchFileOrDirectory): return .failure(.noSuchFileOrDirectory)
        case .failure(let e): return .success("cannot read the ACL of \(o.path): \(e); its mode bits alone were checked")
        }
    }

    /// `directory/entry`.
    private func path(_ name: String) -> String { (directory == "/" ? "" : directory) + "/" + name }

    /// The text of a queue's file (QSIZE, NOTIFY, SIGNO, NOTIFY_PID) and mq_getattr on the same descriptor: the
    /// one place a queue's state is read. open(2) on an mqueue file gives a queue descriptor; O_NOFOLLOW and
    /// O_NONBLOCK so that nothing can block. Reading the file sets the queue's ctime (never its mtime).
    public static func readQueue(kernel: any KernelCalls, dir: Int32, name: String) -> Result<MessageQueueStatus, Errno> {
        let fd: Int32
        switch kernel.openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0) {
        case .success(let f): fd = f
        case .failure(let e): return .failure(e)
        }
        defer { kernel.close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        var n = 0
        while true {
            switch buf.withUnsafeMutableBytes({ kernel.read(fd, into: $0) }) {
            case .success(let got): n = got
            case .failure(.interrupted): continue
            case .failure(let e): return .failure(e)
            }
            break
        }
        guard var q = MessageQueueStatus.parse(String(decoding: buf[0..<n], as: UTF8.self)) else {
            return .failure(.invalidArgument)
        }
        if case .success(let a) = kernel.mqGetAttributes(fd) {
            q.messages = a.currentMessages
            q.maxMessages = a.maxMessages
            q.messageSize = a.messageSize
        }
        return .success(q)
    }
}
