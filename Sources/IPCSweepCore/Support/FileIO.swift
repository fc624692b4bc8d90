import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file operation that failed, naming the path and the errno (or, for a file of the wrong type or size, what
/// was wrong with it).
public struct FileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var errno: Errno
    /// Set when the failure is not a plain errno: "not a regular file (a FIFO)", "larger than 4 KiB".
    public var problem: String?

    public init(path: String, operation: String, errno: Errno, problem: String? = nil) {
        self.path = path
        self.operation = operation
        self.errno = errno
        self.problem = problem
    }

    public var description: String { "cannot \(operation) \(path): \(problem ?? "\(errno)")" }

    /// True when the file is of a type the tool does not read or write (directory, device, FIFO, socket).
    public var isWrongType: Bool { problem?.hasPrefix("not a regular file") == true }
}

/// Growable memory that `FileIO.readAll` fills; reused across reads (the process probe reads thousands of files).
public final class ReadBuffer {
    public private(set) var base: UnsafeMutableRawPointer
    public private(set) var capacity: Int

    public init(capacity: Int = 16384) {
        self.capacity = max(capacity, 256)
        base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit { base.deallocate() }

    /// Grows to at least `needed` bytes, keeping the first `used`.
    func grow(to needed: Int, keeping used: Int) {
        guard needed > capacity else { return }
        var count = capacity
        while count < needed { count = count > Int.max / 2 ? needed : count * 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        bigger.copyMemory(from: base, byteCount: used)
        base.deallocate()
        base = bigger
        capacity = count
    }

    /// The first `count` bytes.
    public func bytes(_ count: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: count)
    }
}

/// Small, allocation-light file helpers over open/read/readlink.
///
/// Every file the tool reads goes through `openForReading` and `readAll`: opened with O_NONBLOCK (a FIFO or a
/// device never blocks the open), checked with fstat to be a regular file (unless the caller reads live procfs,
/// whose files are regular anyway), and read with EINTR retried and a bound, so that `/dev/zero`, a FIFO,
/// `/dev/stdin` or a huge file give a one-line error at once instead of a hang or an out-of-memory abort.
public enum FileIO {
    /// Upper bounds on what the tool reads from one file.
    public enum Limit {
        /// A pidfile holds a pid and a newline.
        public static let pidfile = 4 << 10
        /// An audit state (the orphans of all three System V kinds at their maximum count fit well within it).
        public static let state = 32 << 20
        /// A lock file holds a pid.
        public static let lockFile = 4 << 10
        /// One procfs file (`/proc/sysvipc/*`, `/proc/PID/maps` of a process with a million mappings).
        public static let procfs = 256 << 20
    }

    /// "a directory", "a FIFO", ... for a st_mode's file type.
    public static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        case S_IFREG: return "a regular file"
        default: return "not a regular file"
        }
    }

    static func wrongType(_ path: String, _ mode: mode_t, operation: String = "read") -> FileError {
        FileError(path: path, operation: operation, errno: (mode & S_IFMT) == S_IFDIR ? .isDirectory : .invalidArgument,
                  problem: "not a regular file (\(typeName(mode)))")
    }

    /// "4 KiB", "32 MiB".
    static func sizeText(_ n: Int) -> String {
        n >= 1 << 20 && n % (1 << 20) == 0 ? "\(n >> 20) MiB" : n >= 1 << 10 && n % (1 << 10) == 0 ? "\(n >> 10) KiB" : "\(n) bytes"
    }

    /// open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) relative to `dir`; with `requireRegular`, fstat must show a
    /// regular file (else the descriptor is closed and the error names the file's type).
    public static func openForReading(_ path: String, relativeTo dir: Int32 = AT_FDCWD, requireRegular: Bool = true,
                                      kernel: any KernelCalls = Kernel.live) throws(FileError) -> Int32 {
        let fd: Int32
        switch kernel.openat(dir, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0) {
        case .success(let f): fd = f
        case .failure(let e): throw FileError(path: path, operation: "open", errno: e)
        }
        if requireRegular {
            switch kernel.fstat(fd) {
            case .failure(let e):
                kernel.close(fd)
                throw FileError(path: path, operation: "stat", errno: e)
            case .success(let st) where (st.st_mode & S_IFMT) != S_IFREG:
                kernel.close(fd)
                throw wrongType(path, st.st_mode)
            case .success:
                break
            }
        }
        return fd
    }

    /// read(2) until end of file into `buffer` (EINTR retried), at most `limit` bytes: a file that has more is an
    /// error (EFBIG), so endless input stops at once. Returns the number of bytes read.
    ///
    /// `shortReadEnds`: a read that returns less than was asked for is the end, without the read that returns 0.
    /// True of a procfs file that one `show` call makes whole (`single_open`: /proc/PID/stat, status, cgroup), not
    /// of a multi-record seq_file (/proc/PID/maps, /proc/sysvipc/*), which returns one page of records at a time.
    public static func readAll(_ fd: Int32, into buffer: ReadBuffer, limit: Int, path: String, shortReadEnds: Bool = false,
                               kernel: any KernelCalls = Kernel.live) throws(FileError) -> Int {
        var used = 0
        while true {
            if used == buffer.capacity {
                if used > limit { break }
                buffer.grow(to: min(buffer.capacity, Int.max / 2) * 2 > limit ? limit + 1 : buffer.capacity * 2, keeping: used)
            }
            let room = min(buffer.capacity, limit + 1) - used
            let n: Int
            switch kernel.read(fd, into: UnsafeMutableRawBufferPointer(start: buffer.base + used, count: room)) {
            case .success(let got): n = got
            case .failure(.interrupted): continue
            case .failure(let e):
                throw FileError(path: path, operation: "read", errno: e,
                                problem: e == .wouldBlock ? "no data to read without waiting (not a regular file)" : nil)
            }
            if n == 0 { break }
            used += n
            if used > limit || (shortReadEnds && n < room) { break }
        }
        if used > limit {
            throw FileError(path: path, operation: "read", errno: .fileTooLarge,
                            problem: "larger than the \(sizeText(limit)) such a file may be")
        }
        return used
    }

    /// Reads a whole file, at most `limit` bytes; with `requireRegular` (the default) only a regular file.
    /// procfs files report size 0, so reading goes on until end of file.
    public static func read(_ path: String, limit: Int, requireRegular: Bool = true,
                            kernel: any KernelCalls = Kernel.live) throws(FileError) -> [UInt8] {
        let fd = try openForReading(path, requireRegular: requireRegular, kernel: kernel)
        defer { kernel.close(fd) }
        var hint = 4096
        if case .success(let st) = kernel.fstat(fd), st.st_size > 0 { hint = min(Int(st.st_size) + 1, limit + 1) }
        let buffer = ReadBuffer(capacity: hint)
        let n = try readAll(fd, into: buffer, limit: limit, path: path, kernel: kernel)
        return Array(buffer.bytes(n))
    }

    /// Reads a file as UTF-8 text (see `read`).
    public static func readText(_ path: String, limit: Int, requireRegular: Bool = true,
                                kernel: any KernelCalls = Kernel.live) throws(FileError) -> String {
        String(decoding: try read(path, limit: limit, requireRegular: requireRegular, kernel: kernel), as: UTF8.self)
    }

    /// The type of what `path` names (following symbolic links), or nil when nothing is there.
    public static func fileMode(_ path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode : nil
    }

    /// The target of a symbolic link, or nil.
    public static func readLink(_ path: String) -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buf, buf.count - 1)
        guard n >= 0 else { return nil }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Numeric names in a directory (the pids under /proc).
    public static func numericEntries(_ path: String) throws(FileError) -> [Int32] {
        guard let dir = opendir(path) else {
            throw FileError(path: path, operation: "list", errno: Errno(rawValue: errno))
        }
        defer { closedir(dir) }
        var out: [Int32] = []
        while let entry = readdir(dir) {
            let value: Int32? = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                var v: Int32 = 0
                var any = false
                for b in raw {
                    if b == 0 { break }
                    guard b >= 48 && b <= 57 else { return nil }
                    v = v &* 10 &+ Int32(b - 48)
                    any = true
                }
                return any ? v : nil
            }
            if let v = value { out.append(v) }
        }
        return out
    }

    /// Writes a file atomically: a temporary file in the same directory, fsync, rename, fsync of the directory
    /// (see `AtomicFileWriter`). Nothing is left behind on failure. An existing target that is not a regular
    /// file (directory, device, FIFO, socket) is refused before anything is written.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644,
                                       kernel: any KernelCalls = Kernel.live) throws(FileError) {
        let writer = try AtomicFileWriter(path: path, kernel: kernel)
        try writer.write(bytes)
        try writer.commit(mode: mode)
    }
}
