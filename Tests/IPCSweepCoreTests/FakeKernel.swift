import CSysVIPC
import Foundation
import SystemPackage

@testable import IPCSweepCore

/// A kernel made of dictionaries behind the one syscall seam (`KernelCalls`): System V objects (IPC_STAT,
/// GETALL..., IPC_RMID, MSG_COPY, attach) and a small filesystem (directories, regular files, POSIX queues,
/// symbolic links) with descriptors, as Linux documents them. Any call can be made to fail with an errno
/// (`fail`), a filesystem can run out of space (`spaceLeft`), and a hook runs after a stat (`afterStat`), so that
/// the error paths of the pipeline, the save and the restore are tested without creating anything.
final class FakeKernel: KernelCalls, @unchecked Sendable {  // every member is guarded by `lock`
    let lock = NSRecursiveLock()

    // MARK: System V state
    var objects: [IPCObjectRef: IPCObject] = [:]
    var messages: [Int32: [QueuedMessage]] = [:]
    var segmentBytes: [Int32: [UInt8]] = [:]
    /// Errors IPC_RMID returns instead of removing.
    var removeErrors: [IPCObjectRef: Errno] = [:]
    var statErrors: [IPCObjectRef: Errno] = [:]
    var copyError: Errno?
    /// Runs after each IPC_STAT of an object, with how many there were.
    var afterStat: ((FakeKernel, IPCObjectRef, Int) -> Void)?
    var removedOrder: [IPCObjectRef] = []
    var statCount: [IPCObjectRef: Int] = [:]
    var clock: Int64 = 2_000
    let pid: Int32 = 4242
    var attachments: [UnsafeMutableRawPointer: (id: Int32, size: Int)] = [:]
    /// How a segment's data is read while attached: by default its bytes (a dense mapping); a test can make it
    /// fail (the shmem file cannot be opened) or give another source (sparse, failing reads).
    var segmentSource: ((SharedMemorySegment, UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure>)?

    init(_ objects: [IPCObject] = []) {
        for o in objects { self.objects[o.ref] = o }
    }

    // MARK: filesystem state

    /// A file of the fake filesystem.
    struct File {
        enum Kind { case regular, queue, symlink }
        var kind: Kind = .regular
        var bytes: [UInt8] = []
        var uid: UInt32 = 1000
        var gid: UInt32 = 1000
        var mode: UInt32 = 0o600
        var inode: UInt64
        var mtime = FileTime(seconds: 1_000)
        var ctime = FileTime(seconds: 1_000)
        /// A queue's messages, in the order mq_receive delivers them (highest priority first, then FIFO).
        var queued: [QueuedMessage] = []
        var maxMessages = 10
        var messageSize = 8192
        var notifyPid: Int32 = 0
    }

    var directories: Set<String> = ["/", "/dev/shm", "/dev/mqueue", "/save"]
    var files: [String: File] = [:]
    /// st_dev of every file and directory.
    var device: UInt64 = DeviceInode(major: 0, minor: 23, inode: 0).device
    /// Bytes that can still be written (nil: no limit); a write beyond writes what fits, then fails with ENOSPC.
    var spaceLeft: Int?
    /// What fstatvfs says is free, in bytes (of a 1 GiB filesystem); nil: all of it (a disk that fills up while
    /// a save is written is `spaceLeft`).
    var statvfsFree: Int64?
    /// The errno a call returns, by "call" or "call path" (the full path of the file it names), once each.
    var fail: [String: Errno] = [:]
    /// Every call that changed something, in order ("unlinkat /dev/shm/x", "mq_send /dev/mqueue/q", ...).
    var calls: [String] = []
    /// Every path a call named (read or write), as "call path", in order.
    var named: [String] = []
    var nextInode: UInt64 = 100
    var nextFD: Int32 = 10
    var open: [Int32: (path: String, offset: Int)] = [:]
    var temporaries = 0
    /// Leases (FakeKernel+Leases): who may take them, files other processes hold open, leases held by descriptor,
    /// the ones broken since, and a hook that runs when one is read back (an opener arriving mid-removal).
    var leaseCaller = LeaseCaller(euid: 0, capLease: true)
    var heldElsewhere: Set<String> = []
    var leased: [Int32: LeaseType] = [:]
    var brokenLeases: Set<Int32> = []
    var onGetLease: ((FakeKernel, String) -> Void)?

    /// Adds a file; its inode is returned.
    @discardableResult
    func add(_ path: String, _ file: File? = nil, kind: File.Kind = .regular, bytes: [UInt8] = [], mode: UInt32 = 0o600) -> UInt64 {
        lock.withLock {
            nextInode += 1
            var f = file ?? File(inode: nextInode)
            f.inode = nextInode
            if file == nil {
                f.kind = kind
                f.bytes = bytes
                f.mode = mode
            }
            files[path] = f
            return nextInode
        }
    }

    /// The POSIX object the scanner would read for a file of this filesystem.
    func posixObject(_ path: String) -> PosixIPCObject? {
        guard let f = files[path] else { return nil }
        let dir = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let entry = String(path.split(separator: "/").last ?? "")
        let root: IPCKind = dir.hasSuffix("mqueue") ? .posixMq : .posixShm
        let reader = PosixObjectReader(kernel: self, directory: dir, device: device, rootKind: root)
        let dfd = openDirectory(dir)
        guard case .object(var o, _) = reader.look(dir: dfd, entry: entry),
              case .success = reader.readACL(&o, dir: dfd, through: nil) else { return nil }
        _ = f
        return o
    }

    private func openDirectory(_ dir: String) -> Int32 { (try? openat(AT_FDCWD, dir, O_DIRECTORY, 0).get()) ?? -1 }

    func failing(_ call: String, _ path: String? = nil) -> Errno? {
        if let path { named.append("\(call) \(path)") }
        if let path, let e = fail.removeValue(forKey: "\(call) \(path)") { return e }
        return fail.removeValue(forKey: call)
    }

    func full(_ dir: Int32, _ path: String) -> String {
        if path.hasPrefix("/") || dir == AT_FDCWD { return path }
        let base = open[dir]?.path ?? "?"
        return (base == "/" ? "" : base) + "/" + path
    }

    func stat(of path: String) -> stat? {
        var st = Glibc.stat()
        st.st_dev = UInt(device)
        if directories.contains(path) {
            st.st_mode = S_IFDIR | 0o1777
            st.st_ino = 2
            return st
        }
        guard let f = files[path] else { return nil }
        st.st_mode = (f.kind == .symlink ? S_IFLNK : S_IFREG) | mode_t(f.mode)
        st.st_ino = UInt(f.inode)
        st.st_uid = f.uid
        st.st_gid = f.gid
        st.st_size = f.kind == .queue ? 80 : Int(f.bytes.count)
        st.st_blocks = (st.st_size + 511) / 512
        st.st_mtim = timespec(tv_sec: Int(f.mtime.seconds), tv_nsec: Int(f.mtime.nanoseconds))
        st.st_ctim = timespec(tv_sec: Int(f.ctime.seconds), tv_nsec: Int(f.ctime.nanoseconds))
        return st
    }

    // MARK: files

    func openat(_ dir: Int32, _ path: String, _ flags: Int32, _ mode: mode_t) -> Result<Int32, Errno> {
        lock.withLock {
            let p = full(dir, path)
            if let e = failing("openat", p) { return .failure(e) }
            // No O_TMPFILE here: the save writer falls back to a hidden name it renames into place.
            if flags & 0o20_000_000 != 0 { return .failure(.notSupported) }
            if !directories.contains(p) {
                if let f = files[p] {
                    if f.kind == .symlink && flags & O_NOFOLLOW != 0 { return .failure(.tooManySymbolicLinkLevels) }
                    if flags & O_CREAT != 0 && flags & O_EXCL != 0 { return .failure(.fileExists) }
                    if flags & O_DIRECTORY != 0 { return .failure(.notDirectory) }
                } else if flags & O_CREAT != 0 {
                    nextInode += 1
                    files[p] = File(mode: UInt32(mode), inode: nextInode)
                    calls.append("create \(p)")
                } else {
                    return .failure(.noSuchFileOrDirectory)
                }
            }
            // An open breaks a write lease another descriptor holds on the file; a non-blocking one fails.
            let leases = leased.keys.filter { open[$0]?.path == p }
            if !leases.isEmpty {
                brokenLeases.formUnion(leases)
                if flags & O_NONBLOCK != 0 { return .failure(.resourceTemporarilyUnavailable) }
            }
            nextFD += 1
            open[nextFD] = (p, 0)
            return .success(nextFD)
        }
    }

    func close(_ fd: Int32) {
        lock.withLock {
            open.removeValue(forKey: fd)
            leased.removeValue(forKey: fd)
            brokenLeases.remove(fd)
        }
    }

    /// The text the kernel gives for a queue's file.
    private func queueText(_ f: File) -> [UInt8] {
        let qsize = f.queued.reduce(0) { $0 + $1.bytes.count }
        return Array("QSIZE:\(qsize)          NOTIFY:0     SIGNO:0     NOTIFY_PID:\(f.notifyPid)\n".utf8)
    }

    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        lock.withLock {
            guard let o = open[fd], let f = files[o.path] else { return .failure(.badFileDescriptor) }
            if let e = failing("read", o.path) { return .failure(e) }
            let bytes = f.kind == .queue ? queueText(f) : f.bytes
            let n = max(0, min(buffer.count, bytes.count - o.offset))
            if n > 0 { buffer.copyBytes(from: bytes[o.offset..<(o.offset + n)]) }
            open[fd]?.offset += n
            return .success(n)
        }
    }

    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        lock.withLock {
            guard let o = open[fd], let f = files[o.path] else { return .failure(.badFileDescriptor) }
            if let e = failing("pread", o.path) { return .failure(e) }
            let n = max(0, min(buffer.count, f.bytes.count - Int(offset)))
            if n > 0 { buffer.copyBytes(from: f.bytes[Int(offset)..<(Int(offset) + n)]) }
            return .success(n)
        }
    }

    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        lock.withLock {
            guard let o = open[fd] else { return .failure(.badFileDescriptor) }
            let r = pwriteLocked(fd, buffer, at: o.offset)
            if case .success(let n) = r { open[fd]?.offset += n }
            return r
        }
    }

    func pwrite(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        lock.withLock { pwriteLocked(fd, buffer, at: Int(offset)) }
    }

    private func pwriteLocked(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int) -> Result<Int, Errno> {
        guard let o = open[fd], var f = files[o.path] else { return .failure(.badFileDescriptor) }
        if let e = failing("write", o.path) { return .failure(e) }
        var n = buffer.count
        if let left = spaceLeft {
            if left == 0 && n > 0 { return .failure(.noSpace) }
            n = min(n, left)
            spaceLeft = left - n
        }
        if f.bytes.count < offset + n { f.bytes += [UInt8](repeating: 0, count: offset + n - f.bytes.count) }
        for i in 0..<n { f.bytes[offset + i] = buffer[i] }
        files[o.path] = f
        return .success(n)
    }

    /// SEEK_SET, SEEK_CUR and SEEK_END; no SEEK_DATA/SEEK_HOLE (EINVAL: a filesystem without holes).
    func lseek(_ fd: Int32, _ offset: Int64, _ whence: Int32) -> Result<Int64, Errno> {
        lock.withLock {
            guard let o = open[fd] else { return .failure(.badFileDescriptor) }
            let end = Int64(files[o.path]?.bytes.count ?? 0)
            let to: Int64
            switch whence {
            case SEEK_SET: to = offset
            case SEEK_CUR: to = Int64(o.offset) + offset
            case SEEK_END: to = end + offset
            default: return .failure(.invalidArgument)
            }
            open[fd]?.offset = Int(to)
            return .success(to)
        }
    }

    func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path, var f = files[p] else { return .failure(.badFileDescriptor) }
            if let e = failing("ftruncate", p) { return .failure(e) }
            f.bytes = Array(f.bytes.prefix(Int(size))) + [UInt8](repeating: 0, count: max(0, Int(size) - f.bytes.count))
            files[p] = f
            return .success(())
        }
    }

    func fstat(_ fd: Int32) -> Result<stat, Errno> {
        lock.withLock {
            guard let o = open[fd], let st = stat(of: o.path) else { return .failure(.badFileDescriptor) }
            return .success(st)
        }
    }

    func fstatat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<stat, Errno> {
        lock.withLock {
            let p = full(dir, path)
            if let e = failing("fstatat", p) { return .failure(e) }
            guard let st = stat(of: p) else { return .failure(.noSuchFileOrDirectory) }
            return .success(st)
        }
    }

    func fstatfsType(_ fd: Int32) -> Result<Int, Errno> {
        lock.withLock { .success(open[fd]?.path.hasSuffix("mqueue") == true ? PosixIPCScanner.mqueueMagic : 0x0102_1994) }
    }

    func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno> {
        lock.withLock {
            var v = statvfs()
            v.f_bsize = 4096
            v.f_frsize = 4096
            v.f_blocks = 1 << 18
            let free = UInt((statvfsFree ?? (1 << 30)) / 4096)
            v.f_bfree = free
            v.f_bavail = free
            return .success(v)
        }
    }

    func unlinkat(_ dir: Int32, _ path: String, _ flags: Int32) -> Result<Void, Errno> {
        lock.withLock {
            let p = full(dir, path)
            if let e = failing("unlinkat", p) { return .failure(e) }
            guard files.removeValue(forKey: p) != nil else { return .failure(.noSuchFileOrDirectory) }
            calls.append("unlinkat \(p)")
            return .success(())
        }
    }

    func linkat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String, _ flags: Int32) -> Result<Void, Errno> {
        .failure(.noFunction)
    }

    func renameat(_ oldDir: Int32, _ oldPath: String, _ newDir: Int32, _ newPath: String) -> Result<Void, Errno> {
        lock.withLock {
            let from = full(oldDir, oldPath), to = full(newDir, newPath)
            if let e = failing("renameat", to) { return .failure(e) }
            guard let f = files.removeValue(forKey: from) else { return .failure(.noSuchFileOrDirectory) }
            files[to] = f
            calls.append("rename \(to)")
            return .success(())
        }
    }

    func fcntl(_ fd: Int32, _ command: Int32, _ argument: Int32) -> Result<Int32, Errno> { .success(0) }

    func fsync(_ fd: Int32) -> Result<Void, Errno> {
        lock.withLock {
            if let p = open[fd]?.path, let e = failing("fsync", p) { return .failure(e) }
            return .success(())
        }
    }

    func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path else { return .failure(.badFileDescriptor) }
            if let e = failing("fchmod", p) { return .failure(e) }
            files[p]?.mode = UInt32(mode)
            return .success(())
        }
    }

    func fchown(_ fd: Int32, _ uid: UInt32, _ gid: UInt32) -> Result<Void, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path else { return .failure(.badFileDescriptor) }
            if let e = failing("fchown", p) { return .failure(e) }
            files[p]?.uid = uid
            files[p]?.gid = gid
            return .success(())
        }
    }

    func readlinkat(_ dir: Int32, _ path: String, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        .failure(.invalidArgument)
    }

    func directoryEntries(_ fd: Int32) -> Result<[String], Errno> {
        lock.withLock {
            guard let dir = open[fd]?.path else { return .failure(.badFileDescriptor) }
            let prefix = dir == "/" ? "/" : dir + "/"
            return .success(files.keys.filter { $0.hasPrefix(prefix) && !$0.dropFirst(prefix.count).contains("/") }
                .map { String($0.dropFirst(prefix.count)) }.sorted())
        }
    }

    func makeTemporaryFile(in directory: String, base: String) -> Result<(fd: Int32, path: String), Errno> {
        lock.withLock {
            let dir = directory.isEmpty ? "/" : directory
            guard directories.contains(dir) else { return .failure(.noSuchFileOrDirectory) }
            if let e = failing("mkstemp", dir) { return .failure(e) }
            temporaries += 1
            let path = "\(directory)/.\(base).tmp\(temporaries)"
            nextInode += 1
            files[path] = File(inode: nextInode)
            nextFD += 1
            open[nextFD] = (path, 0)
            return .success((nextFD, path))
        }
    }

    func extendedAttributeSize(_ path: String, _ name: String) -> Result<Int, Errno> {
        lock.withLock { named.append("getxattr \(path)") }
        return .failure(.noData)
    }

    func extendedAttributeSize(fd: Int32, _ name: String) -> Result<Int, Errno> {
        lock.withLock {
            guard let p = open[fd]?.path else { return .failure(.badFileDescriptor) }
            named.append("fgetxattr \(p)")
            return .failure(.noData)
        }
    }

    func now() -> Int64 { lock.withLock { clock } }
}
