import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file written atomically in pieces: mkstemp in the target's directory, write, fchmod, fsync, rename, fsync of
/// the directory. `abandon()` (or dropping it uncommitted) unlinks the temporary file. Every call goes through the
/// syscall seam, so that a save's ENOSPC, EIO or EDQUOT is tested with a fake kernel.
public final class AtomicFileWriter {
    public let path: String
    private let directory: String
    private let kernel: any KernelCalls
    private var tmp: String
    private var fd: Int32

    /// Creates the temporary file (mkstemp) next to `path`. An existing `path` that is not a regular file (a
    /// directory, device, FIFO or socket) is refused: renaming onto it would replace something that is not a file.
    public init(path: String, kernel: any KernelCalls = Kernel.live) throws(FileError) {
        self.path = path
        self.kernel = kernel
        if case .success(let st) = kernel.fstatat(AT_FDCWD, path, 0), (st.st_mode & S_IFMT) != S_IFREG {
            throw FileIO.wrongType(path, st.st_mode, operation: "replace")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let dir = parts.dropLast().joined(separator: "/")
        directory = path.hasPrefix("/") && dir.isEmpty ? "/" : (dir.isEmpty ? "." : dir)
        let base = parts.last.map(String.init) ?? path
        switch kernel.makeTemporaryFile(in: directory == "/" ? "" : directory, base: base) {
        case .success(let made):
            fd = made.fd
            tmp = made.path
        case .failure(let e):
            fd = -1
            tmp = ""
            throw FileError(path: "\(directory)/.\(base).XXXXXX", operation: "create", errno: e)
        }
    }

    deinit { abandon() }

    /// write(2) until all bytes are out.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        guard fd >= 0 else { throw FileError(path: tmp, operation: "write", errno: .badFileDescriptor) }
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            switch kernel.write(fd, from: UnsafeRawBufferPointer(start: base + done, count: min(bytes.count - done, 1 << 20))) {
            case .success(let n) where n > 0: done += n
            case .success: throw FileError(path: tmp, operation: "write", errno: .noSpace)
            case .failure(.interrupted): continue
            case .failure(let e): throw FileError(path: tmp, operation: "write", errno: e)
            }
        }
    }

    /// Writes an array of bytes.
    public func write(_ bytes: [UInt8]) throws(FileError) {
        var failure: FileError?
        bytes.withUnsafeBytes { raw in
            do throws(FileError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// fchmod, fsync, close, rename onto the final path, fsync of the directory.
    public func commit(mode: mode_t = 0o600) throws(FileError) {
        guard fd >= 0 else { throw FileError(path: tmp, operation: "commit", errno: .badFileDescriptor) }
        if case .failure(let e) = kernel.fchmod(fd, mode) { throw FileError(path: tmp, operation: "chmod", errno: e) }
        if case .failure(let e) = kernel.fsync(fd) { throw FileError(path: tmp, operation: "fsync", errno: e) }
        kernel.close(fd)
        fd = -1
        if case .failure(let e) = kernel.renameat(AT_FDCWD, tmp, AT_FDCWD, path) {
            _ = kernel.unlinkat(AT_FDCWD, tmp, 0)
            tmp = ""
            throw FileError(path: path, operation: "rename onto", errno: e)
        }
        tmp = ""
        if case .success(let dfd) = kernel.openat(AT_FDCWD, directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0) {
            _ = kernel.fsync(dfd)
            kernel.close(dfd)
        }
    }

    /// Closes and unlinks the temporary file (nothing when already committed).
    public func abandon() {
        if fd >= 0 {
            kernel.close(fd)
            fd = -1
        }
        if !tmp.isEmpty {
            _ = kernel.unlinkat(AT_FDCWD, tmp, 0)
            tmp = ""
        }
    }
}
