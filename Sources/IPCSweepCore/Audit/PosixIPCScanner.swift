import CACL
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

/// Lists POSIX IPC objects: the files under /dev/shm (named semaphores are `sem.NAME`) and /dev/mqueue,
/// with lstat(2) and their access ACLs. The roots are configurable for tests and forensic copies.
public struct PosixIPCScanner: Sendable {
    /// Where POSIX shared memory and named semaphores live (default /dev/shm).
    public var shmRoot: String
    /// Where the mqueue filesystem is mounted (default /dev/mqueue).
    public var mqueueRoot: String

    /// The mqueue filesystem's magic number (statfs f_type).
    static let mqueueMagic = 0x1980_0202
    /// The default roots.
    public static let defaultShmRoot = "/dev/shm"
    public static let defaultMqueueRoot = "/dev/mqueue"

    public init(shmRoot: String = PosixIPCScanner.defaultShmRoot, mqueueRoot: String = PosixIPCScanner.defaultMqueueRoot) {
        self.shmRoot = shmRoot
        self.mqueueRoot = mqueueRoot
    }

    /// Scans both roots. A missing or unmounted /dev/mqueue is skipped quietly (the summary says so).
    public func scan() -> [PosixScanResult] {
        [scanRoot(shmRoot, kind: .shm, requireMagic: nil),
         scanRoot(mqueueRoot, kind: .mq, requireMagic: mqueueRoot == Self.defaultMqueueRoot ? Self.mqueueMagic : nil)]
    }

    /// Lists the regular files under one root (subdirectories too, without following symbolic links).
    func scanRoot(_ root: String, kind: PosixIPCKind, requireMagic: Int?) -> PosixScanResult {
        var st = stat()
        guard stat(root, &st) == 0 else {
            let e = Errno(rawValue: errno)
            let what = kind == .mq
                ? "\(root) is not there (\(e)): the mqueue filesystem is not mounted, so POSIX message queues were not audited; mount it with `mount -t mqueue mqueue \(root)`"
                : "\(root) cannot be read (\(e)): POSIX shared memory was not audited"
            return PosixScanResult(root: root, kind: kind, scanned: false, skipReason: what)
        }
        if let magic = requireMagic {
            var fs = statfs()
            if statfs(root, &fs) == 0, Int(fs.f_type) != magic {
                return PosixScanResult(root: root, kind: kind, scanned: false,
                                       skipReason: "\(root) is not an mqueue filesystem: POSIX message queues were not audited; mount it with `mount -t mqueue mqueue \(root)`")
            }
        }
        var objects: [PosixIPCObject] = []
        var warnings: [String] = []
        walk(root, depth: 0, kind: kind, into: &objects, warnings: &warnings)
        return PosixScanResult(root: root, kind: kind, scanned: true, objects: objects.sorted { $0.path < $1.path },
                               warnings: warnings)
    }

    private func walk(_ dir: String, depth: Int, kind: PosixIPCKind, into objects: inout [PosixIPCObject],
                      warnings: inout [String]) {
        guard let d = opendir(dir) else {
            warnings.append("cannot list \(dir): \(Errno(rawValue: errno)); run as root to audit it")
            return
        }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(d)
        for name in names {
            let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }  // vanished meanwhile
            let type = st.st_mode & S_IFMT
            if type == S_IFDIR {
                if depth < 8 { walk(path, depth: depth + 1, kind: kind, into: &objects, warnings: &warnings) }
                continue
            }
            guard type == S_IFREG else { continue }
            let objectKind: PosixIPCKind = kind == .mq ? .mq : (depth == 0 && name.hasPrefix("sem.") ? .sem : .shm)
            var acl: [ACLEntry]?
            switch AccessControlList.read(path) {
            case .success(let a): acl = a
            case .failure(let e) where e == .noSuchFileOrDirectory: continue
            case .failure(let e):
                warnings.append("cannot read the ACL of \(path): \(e); its mode bits alone were checked")
            }
            objects.append(PosixIPCObject(path: path, kind: objectKind, uid: st.st_uid, gid: st.st_gid,
                                          mode: UInt32(st.st_mode) & 0o7777, size: Int64(st.st_size),
                                          mtime: Int64(st.st_mtim.tv_sec), acl: acl))
        }
    }
}
