#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One entry under the /dev/shm mount that is not a POSIX object of its own: a directory, a symbolic link, a
/// special file at the top, or anything below a directory. Only systemd-logind's RemoveIPC= cares about them
/// (it removes a user's entries anywhere below /dev/shm); ipcsweep lists them, never classifies or removes them.
public struct ShmTreeEntry: Sendable, Equatable {
    /// The file's type, as fstatat(2) with AT_SYMLINK_NOFOLLOW reports it.
    public enum FileType: String, Sendable, Equatable {
        case regular, directory, symlink, fifo, socket
        case charDevice = "char-device", blockDevice = "block-device"
    }

    public var path: String
    public var uid: UInt32
    public var type: FileType
    /// On another filesystem than its directory (a mount point): logind's unlink or rmdir of it fails (EBUSY).
    public var mountPoint: Bool
    /// Whether logind's clean-up of its owner removes it: not a mount point, and for a directory, every entry below
    /// it has the same owner and is removed too (else its rmdir fails: ENOTEMPTY).
    public var removedWithOwner: Bool

    public init(path: String, uid: UInt32, type: FileType, mountPoint: Bool = false, removedWithOwner: Bool = true) {
        self.path = path
        self.uid = uid
        self.type = type
        self.mountPoint = mountPoint
        self.removedWithOwner = removedWithOwner
    }
}

/// The entries under a /dev/shm root that `ShmTreeWalker` found, in path order.
public struct ShmTree: Sendable, Equatable {
    public var root: String
    public var entries: [ShmTreeEntry]
    /// Directories that could not be read, a walk cut short: each names the path.
    public var warnings: [String]
    /// The walk stopped at `ShmTreeWalker.maxEntries`.
    public var truncated = false

    public init(root: String, entries: [ShmTreeEntry] = [], warnings: [String] = []) {
        self.root = root
        self.entries = entries
        self.warnings = warnings
    }
}

/// Walks a /dev/shm root the way systemd-logind's clean-up does (src/shared/clean-ipc.c, systemd 252): every
/// directory is entered, whoever owns it and whatever filesystem it is on, symbolic links are never followed.
/// Regular files at the top are the POSIX objects `PosixIPCScanner` reads: left out here.
///
/// Bounded: at most `maxEntries` entries and `maxDepth` levels (a filesystem mounted below /dev/shm can be large);
/// a walk cut short says so in its warnings.
public struct ShmTreeWalker: Sendable {
    public var maxEntries: Int
    public var maxDepth: Int

    public init(maxEntries: Int = 100_000, maxDepth: Int = 64) {
        self.maxEntries = maxEntries
        self.maxDepth = maxDepth
    }

    /// Walks `root` (opened as `PosixIPCScanner.openDirectory` does: inside /proc/PID/root, without following links).
    public func walk(_ root: String) -> ShmTree {
        var tree = ShmTree(root: root)
        let fd = PosixIPCScanner.openDirectory(root)
        guard fd >= 0 else {
            tree.warnings.append("cannot open \(root) (\(String(cString: strerror(errno)))): its subdirectories were not searched for RemoveIPC=")
            return tree
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); return tree }
        var budget = maxEntries
        let prefix = root.hasSuffix("/") ? root : root + "/"
        _ = walkDirectory(fd, prefix: prefix, device: UInt64(st.st_dev), ownerOfDir: nil, depth: 1, top: true,
                          budget: &budget, tree: &tree)
        tree.entries.sort { $0.path < $1.path }
        if tree.truncated {
            tree.warnings.append("stopped after \(maxEntries) entries below \(root): the rest is not in the RemoveIPC= list")
        }
        return tree
    }

    /// Lists one directory (and closes `fd`), appending its entries and those below. Returns whether every entry is
    /// owned by `ownerOfDir` and removed with it (the directory empties, so logind's rmdir of it succeeds).
    private func walkDirectory(_ fd: Int32, prefix: String, device: UInt64, ownerOfDir: UInt32?, depth: Int, top: Bool,
                               budget: inout Int, tree: inout ShmTree) -> Bool {
        guard let dir = fdopendir(fd) else {
            close(fd)
            tree.warnings.append("cannot list \(prefix) (\(String(cString: strerror(errno)))): entries below it are not in the RemoveIPC= list")
            return false
        }
        defer { closedir(dir) }
        let dfd = dirfd(dir)
        var empties = true
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            // A regular file at the top is a POSIX object (shm or named semaphore): the scanner's, not ours.
            if top && e.pointee.d_type == UInt8(DT_REG) { continue }
            var st = stat()
            guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }  // vanished meanwhile
            let type = Self.fileType(st.st_mode)
            if top && type == .regular { continue }
            guard budget > 0 else { tree.truncated = true; return false }
            budget -= 1
            let path = prefix + name
            var entry = ShmTreeEntry(path: path, uid: st.st_uid, type: type, mountPoint: UInt64(st.st_dev) != device)
            if type == .directory {
                if depth >= maxDepth {
                    tree.warnings.append("\(path) is \(maxDepth) levels deep: not searched further for RemoveIPC=")
                    entry.removedWithOwner = false
                } else {
                    let child = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if child < 0 {
                        if errno != ENOENT {
                            tree.warnings.append("cannot open \(path) (\(String(cString: strerror(errno)))): entries below it are not in the RemoveIPC= list")
                        }
                        entry.removedWithOwner = false
                    } else {
                        let below = walkDirectory(child, prefix: path + "/", device: UInt64(st.st_dev), ownerOfDir: st.st_uid,
                                                  depth: depth + 1, top: false, budget: &budget, tree: &tree)
                        entry.removedWithOwner = below && !entry.mountPoint
                    }
                }
            } else {
                entry.removedWithOwner = !entry.mountPoint
            }
            if entry.uid != ownerOfDir || !entry.removedWithOwner { empties = false }
            tree.entries.append(entry)
        }
        return empties
    }

    static func fileType(_ mode: mode_t) -> ShmTreeEntry.FileType {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        case S_IFCHR: return .charDevice
        case S_IFBLK: return .blockDevice
        default: return .regular
        }
    }
}
