import CACL
import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads the POSIX access ACL of a file with libacl (acl_get_file, ACL_TYPE_ACCESS).
public enum AccessControlList {
    /// The entries of the file's access ACL when it has more than the three base entries (user_obj, group_obj, other);
    /// nil when it has only those, or when the filesystem keeps no ACLs (ENOTSUP, as on mqueue).
    public static func read(_ path: String) -> Result<[ACLEntry]?, Errno> {
        guard let acl = acl_get_file(path, acl_type_t(ACL_TYPE_ACCESS)) else {
            let e = Errno(rawValue: errno)
            return e == .notSupported || e == .noData ? .success(nil) : .failure(e)
        }
        defer { acl_free(UnsafeMutableRawPointer(acl)) }
        // 0: equivalent to the mode bits (no named entries, no mask).
        if acl_equiv_mode(acl, nil) == 0 { return .success(nil) }
        var out: [ACLEntry] = []
        var entry: acl_entry_t?
        var which = Int32(ACL_FIRST_ENTRY)
        while acl_get_entry(acl, which, &entry) == 1, let e = entry {
            which = Int32(ACL_NEXT_ENTRY)
            var tagType = acl_tag_t(0)
            guard acl_get_tag_type(e, &tagType) == 0 else { continue }
            var permset: acl_permset_t?
            guard acl_get_permset(e, &permset) == 0, let ps = permset else { continue }
            var perms: UInt32 = 0
            if acl_get_perm(ps, acl_perm_t(ACL_READ)) == 1 { perms |= 4 }
            if acl_get_perm(ps, acl_perm_t(ACL_WRITE)) == 1 { perms |= 2 }
            if acl_get_perm(ps, acl_perm_t(ACL_EXECUTE)) == 1 { perms |= 1 }
            let tag: ACLEntry.Tag
            var qualifier: UInt32?
            switch tagType {
            case acl_tag_t(ACL_USER_OBJ): tag = .userObj
            case acl_tag_t(ACL_GROUP_OBJ): tag = .groupObj
            case acl_tag_t(ACL_MASK): tag = .mask
            case acl_tag_t(ACL_OTHER): tag = .other
            case acl_tag_t(ACL_USER), acl_tag_t(ACL_GROUP):
                tag = tagType == acl_tag_t(ACL_USER) ? .user : .group
                if let q = acl_get_qualifier(e) {
                    qualifier = q.load(as: UInt32.self)
                    acl_free(q)
                }
            default: continue
            }
            out.append(ACLEntry(tag: tag, qualifier: qualifier, perms: perms))
        }
        return .success(out)
    }
}

/// Lists POSIX IPC objects: the regular files of the /dev/shm mount (named semaphores are `sem.NAME`) and of
/// the mqueue mount, each with fstatat(2) (AT_SYMLINK_NOFOLLOW) relative to a descriptor of its root directory,
/// its access ACL and, for a queue, its state.
///
/// The roots are parameters (paths, and the mountinfo that describes them) so that they can point into another
/// mount namespace (`/proc/PID/root/dev/shm` with `/proc/PID/mountinfo`). The mqueue mount is found in
/// mountinfo when not given; the tool never mounts anything. Only the root directory itself is read: symbolic
/// links, subdirectories, entries of other filesystems mounted below the root and anything but regular files
/// are listed as ignored and never followed.
public struct PosixIPCScanner: Sendable {
    /// Where POSIX shared memory and named semaphores live (default /dev/shm).
    public var shmRoot: String
    /// Where the mqueue filesystem is mounted; nil: the first mqueue mount in `mountInfoPath` (/dev/mqueue first).
    public var mqueueRoot: String?
    /// The mountinfo that describes both roots.
    public var mountInfoPath: String

    /// The default shm root (glibc's shm_open and sem_open use /dev/shm).
    public static let defaultShmRoot = "/dev/shm"
    /// Where the mqueue filesystem is normally mounted; preferred when several mqueue mounts exist.
    public static let defaultMqueueRoot = "/dev/mqueue"

    public init(shmRoot: String = PosixIPCScanner.defaultShmRoot, mqueueRoot: String? = nil,
                mountInfoPath: String = "/proc/self/mountinfo") {
        self.shmRoot = shmRoot
        self.mqueueRoot = mqueueRoot
        self.mountInfoPath = mountInfoPath
    }

    /// Scans both roots: [shm, mqueue]. A root that is missing or not mounted is a result with `scanned == false`
    /// and the reason in words.
    public func scan() -> [PosixScanResult] {
        // procfs (not a regular file), bounded: a host with thousands of mounts has a mountinfo of a few MiB.
        let text = try? FileIO.readText(mountInfoPath, limit: 16 << 20, requireRegular: false)
        let mounts: [PosixMount] = text.map { Self.parseMountInfo($0) } ?? []
        var out = [scanRoot(shmRoot, kind: .shm, mounts: mounts)]
        if let mq = mqueueRoot {
            out.append(scanRoot(mq, kind: .mq, mounts: mounts))
        } else if let m = mounts.last(where: { $0.fsType == "mqueue" && $0.mountPoint == Self.defaultMqueueRoot })
                    ?? mounts.first(where: { $0.fsType == "mqueue" }) {
            out.append(scanRoot(m.mountPoint, kind: .mq, mounts: mounts))
        } else {
            out.append(PosixScanResult(
                root: Self.defaultMqueueRoot, kind: .mq, scanned: false,
                skipReason: "the mqueue filesystem is not mounted (no mqueue entry in \(mountInfoPath)): POSIX message queues were not inspected; mount it with `mount -t mqueue none \(Self.defaultMqueueRoot)` to see them"))
        }
        return out
    }

    // MARK: mountinfo

    /// /proc/PID/mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
    /// Mount points have spaces, tabs, newlines and backslashes escaped as octal (\040). Pure.
    public static func parseMountInfo(_ text: String) -> [PosixMount] {
        var out: [PosixMount] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 7, let dash = f.firstIndex(of: "-"), dash + 1 < f.count, dash >= 6 else { continue }
            let mm = f[2].split(separator: ":")
            guard mm.count == 2, let major = UInt64(mm[0]), let minor = UInt64(mm[1]) else { continue }
            out.append(PosixMount(mountPoint: unescape(f[4]), fsType: String(f[dash + 1]),
                                  device: DeviceInode(major: major, minor: minor, inode: 0).device))
        }
        return out
    }

    /// "\040" -> " ".
    static func unescape(_ s: Substring) -> String {
        guard s.contains("\\") else { return String(s) }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\"), i + 3 < u.count,
               let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(v)
                i += 4
            } else {
                bytes.append(u[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: one root

    /// Reads one root directory through a descriptor.
    func scanRoot(_ root: String, kind: PosixIPCKind, mounts: [PosixMount]) -> PosixScanResult {
        let dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else {
            let e = Errno(rawValue: errno)
            let what = kind == .mq
                ? (e == .noSuchFileOrDirectory
                    ? "\(root) does not exist: the mqueue filesystem is not mounted there, so POSIX message queues were not inspected; mount it with `mount -t mqueue none \(root)` or give the --mqueue-root it is mounted on"
                    : "\(root) cannot be opened (\(e)): POSIX message queues were not inspected")
                : "\(root) cannot be opened (\(e)): POSIX shared memory and named semaphores were not inspected"
            return PosixScanResult(root: root, kind: kind, scanned: false, skipReason: what)
        }
        defer { close(dir) }
        var st = stat()
        guard fstat(dir, &st) == 0 else {
            return PosixScanResult(root: root, kind: kind, scanned: false, skipReason: "\(root): fstat failed (\(Errno(rawValue: errno)))")
        }
        let device = UInt64(st.st_dev)
        var mount = mounts.last { $0.device == device && $0.mountPoint == root } ?? mounts.last { $0.device == device }
        var warnings: [String] = []
        if kind == .mq {
            var fs = statfs()
            if fstatfs(dir, &fs) == 0, Int(fs.f_type) != Self.mqueueMagic {
                return PosixScanResult(root: root, kind: kind, scanned: false,
                                       skipReason: "\(root) is not an mqueue filesystem: POSIX message queues were not inspected; mount it with `mount -t mqueue none \(root)`")
            }
        } else if mount == nil {
            warnings.append("\(root) is not a mount of its own in \(mountInfoPath): its objects were read, but its size and use are unknown")
        }
        var vfs = statvfs()
        if mount != nil, fstatvfs(dir, &vfs) == 0 {
            let unit = UInt64(vfs.f_frsize)
            mount?.sizeBytes = UInt64(vfs.f_blocks) * unit
            mount?.usedBytes = (UInt64(vfs.f_blocks) - UInt64(vfs.f_bfree)) * unit
        }

        let listing = dup(dir)
        guard listing >= 0, let d = fdopendir(listing) else {
            if listing >= 0 { close(listing) }
            return PosixScanResult(root: root, kind: kind, scanned: false,
                                   skipReason: "cannot list \(root): \(Errno(rawValue: errno)); run as root to inspect it")
        }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)

        let prefix = root.hasSuffix("/") ? root : root + "/"
        var objects: [PosixIPCObject] = []
        objects.reserveCapacity(names.count)
        var ignored: [String] = []
        for name in names {
            guard let o = Self.object(dir: dir, name: name, prefix: prefix, device: device, kind: kind,
                                      ignored: &ignored, warnings: &warnings) else { continue }
            objects.append(o)
        }
        objects.sort { $0.path < $1.path }
        return PosixScanResult(root: root, kind: kind, scanned: true, objects: objects, warnings: warnings,
                               mount: mount ?? PosixMount(mountPoint: root, fsType: kind == .mq ? "mqueue" : "?", device: device),
                               ignored: ignored.sorted())
    }

    /// One entry, or nil when it is not a regular file of this mount (then `ignored` says what it was) or vanished.
    static func object(dir: Int32, name: String, prefix: String, device: UInt64, kind: PosixIPCKind,
                       ignored: inout [String], warnings: inout [String]) -> PosixIPCObject? {
        var st = stat()
        guard fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }  // vanished meanwhile
        let path = prefix + name
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: ignored.append("symbolic link \(path)"); return nil
        case S_IFDIR: ignored.append("directory \(path)"); return nil
        default: ignored.append("special file \(path)"); return nil
        }
        guard UInt64(st.st_dev) == device else {
            ignored.append("\(path) (on another filesystem)")
            return nil
        }
        let objectKind: PosixIPCKind = kind == .mq ? .mq : (name.hasPrefix("sem.") ? .sem : .shm)
        var acl: [ACLEntry]?
        var queue: MessageQueueStatus?
        if kind == .mq {
            switch readQueue(dir: dir, name: name) {
            case .success(let q): queue = q
            case .failure(let e) where e == .noSuchFileOrDirectory: return nil
            case .failure(let e):
                warnings.append("cannot read the state of queue \(path) (\(e)): its depth and notification are unknown; run as root")
            }
        } else if lgetxattr(path, "system.posix_acl_access", nil, 0) > 0 {
            switch AccessControlList.read(path) {
            case .success(let a): acl = a
            case .failure(let e) where e == .noSuchFileOrDirectory: return nil
            case .failure(let e):
                warnings.append("cannot read the ACL of \(path): \(e); its mode bits alone were checked")
            }
        }
        func time(_ t: timespec) -> FileTime { FileTime(seconds: Int64(t.tv_sec), nanoseconds: Int64(t.tv_nsec)) }
        return PosixIPCObject(
            path: path, kind: objectKind, entry: name, uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode) & 0o7777,
            size: Int64(st.st_size), blocks: Int64(st.st_blocks), directory: String(prefix.dropLast()).isEmpty ? "/" : String(prefix.dropLast()),
            identity: DeviceInode(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
            atime: time(st.st_atim), mtimeNs: time(st.st_mtim), ctime: time(st.st_ctim), acl: acl, queue: queue)
    }

    /// The text of a queue's file (QSIZE, NOTIFY, SIGNO, NOTIFY_PID) and mq_getattr on the same descriptor.
    /// open(2) on an mqueue file gives a queue descriptor; O_NOFOLLOW and O_NONBLOCK so that nothing can block.
    static func readQueue(dir: Int32, name: String) -> Result<MessageQueueStatus, Errno> {
        let fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 256)
        var n = 0
        while true {
            n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            break
        }
        guard n >= 0 else { return .failure(Errno(rawValue: errno)) }
        guard var q = MessageQueueStatus.parse(String(decoding: buf[0..<n], as: UTF8.self)) else {
            return .failure(.invalidArgument)
        }
        var maxmsg = 0, msgsize = 0, cur = 0
        if cipc_mq_getattr(fd, &maxmsg, &msgsize, &cur) == 0 {
            q.messages = cur
            q.maxMessages = maxmsg
            q.messageSize = msgsize
        }
        return .success(q)
    }

    /// The mqueue filesystem's magic number (statfs f_type).
    static let mqueueMagic = 0x1980_0202
}
