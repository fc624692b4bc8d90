import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A save file written so that it is either complete in its place or absent, whatever happens to the process.
///
/// The file is created without a name (open(DIR, O_TMPFILE), mode 0600): a failure, an `abandon()` or a SIGKILL
/// at any moment frees it and leaves nothing in DIR. `commit()` makes it durable (fsync) and only then gives it
/// its name: linkat of /proc/self/fd/N onto the name (or, when a save of that name exists already, onto a
/// temporary name renamed over it), then fsync of DIR. A file system without O_TMPFILE gets a hidden
/// temporary name (".NAME.partial-PID-N") instead, unlinked on failure.
public final class SaveFileWriter: SaveOutput {
    /// The final path (DIR/NAME), for messages.
    public let path: String
    let name: String
    let syscalls: any SaveSyscalls
    /// A descriptor of DIR (statvfs, linkat, renameat, its fsync).
    public let directory: Int32
    private var fd: Int32 = -1
    /// The hidden name while being written, without O_TMPFILE.
    private var temporary: String?
    private var committed = false
    /// Numbers the hidden names of this process (saves run on several workers at once).
    private static let counter = Locked(0)

    private static func nextNumber() -> Int { counter.withLock { $0 &+= 1; return $0 } }

    /// Opens DIR and creates the unnamed file in it.
    public init(directory dir: String, name: String, syscalls: any SaveSyscalls = LiveSaveSyscalls()) throws(FileError) {
        self.name = name
        self.syscalls = syscalls
        path = (dir.hasSuffix("/") ? dir : dir + "/") + name
        switch syscalls.openat(AT_FDCWD, dir, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, mode: 0) {
        case .success(let d): directory = d
        case .failure(let e): throw FileError(path: dir, operation: "open the save directory", errno: e)
        }
        switch syscalls.openat(directory, ".", flags: LinuxFile.tmpFile | O_WRONLY | O_CLOEXEC, mode: 0o600) {
        case .success(let f):
            fd = f
        case .failure(let e) where e == .notSupported || e == .isDirectory || e == .invalidArgument:
            let hidden = ".\(name).partial-\(getpid())-\(Self.nextNumber())"
            switch syscalls.openat(directory, hidden, flags: O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode: 0o600) {
            case .success(let f):
                fd = f
                temporary = hidden
            case .failure(let e):
                syscalls.close(directory)
                throw FileError(path: path, operation: "create", errno: e)
            }
        case .failure(let e):
            syscalls.close(directory)
            throw FileError(path: path, operation: "create", errno: e)
        }
    }

    deinit {
        abandon()
        syscalls.close(directory)
    }

    /// write(2) until every byte is out.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        guard fd >= 0 else { throw FileError(path: path, operation: "write", errno: .badFileDescriptor) }
        var done = 0
        while done < bytes.count {
            switch syscalls.write(fd, UnsafeRawBufferPointer(rebasing: bytes[done...])) {
            case .success(let n) where n > 0: done += n
            case .success: throw FileError(path: path, operation: "write", errno: .noSpace, problem: "no progress writing it")
            case .failure(let e): throw FileError(path: path, operation: "write", errno: e)
            }
        }
    }

    /// fchmod 0600, fsync, give it its name, fsync of DIR. On failure nothing is left under the name.
    public func commit() throws(FileError) {
        guard fd >= 0, !committed else { throw FileError(path: path, operation: "commit", errno: .badFileDescriptor) }
        if case .failure(let e) = syscalls.fchmod(fd, 0o600) { throw FileError(path: path, operation: "chmod", errno: e) }
        if case .failure(let e) = syscalls.fsync(fd) { throw FileError(path: path, operation: "fsync", errno: e) }
        if let hidden = temporary {
            if case .failure(let e) = syscalls.renameat(directory, hidden, directory, name) {
                throw FileError(path: path, operation: "rename into place", errno: e)
            }
            temporary = nil
        } else {
            switch syscalls.linkat(AT_FDCWD, "/proc/self/fd/\(fd)", directory, name, flags: AT_SYMLINK_FOLLOW) {
            case .success: break
            case .failure(let e) where e == .fileExists:
                // A save of the same object generation exists (an earlier run stopped before removing it): replace it.
                let hidden = ".\(name).partial-\(getpid())-\(Self.nextNumber())"
                if case .failure(let e) = syscalls.linkat(AT_FDCWD, "/proc/self/fd/\(fd)", directory, hidden, flags: AT_SYMLINK_FOLLOW) {
                    throw FileError(path: path, operation: "link into place", errno: e)
                }
                if case .failure(let e) = syscalls.renameat(directory, hidden, directory, name) {
                    _ = syscalls.unlinkat(directory, hidden, flags: 0)
                    throw FileError(path: path, operation: "rename into place", errno: e)
                }
            case .failure(let e):
                throw FileError(path: path, operation: "link into place", errno: e)
            }
        }
        committed = true
        syscalls.close(fd)
        fd = -1
        if case .failure(let e) = syscalls.fsync(directory) {
            // The file is complete under its name; only its name's durability is in doubt: remove it, say why.
            _ = syscalls.unlinkat(directory, name, flags: 0)
            committed = false
            throw FileError(path: path, operation: "fsync the directory of", errno: e)
        }
    }

    /// Frees the unfinished file (nothing when committed).
    public func abandon() {
        if fd >= 0 {
            syscalls.close(fd)
            fd = -1
        }
        if let hidden = temporary, !committed {
            _ = syscalls.unlinkat(directory, hidden, flags: 0)
            temporary = nil
        }
    }

    /// The free space of DIR's file system (fstatvfs).
    public func freeSpace() -> Result<statvfs, Errno> { syscalls.fstatvfs(directory) }
}
