import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file written atomically in pieces: mkstemp in the target's directory, write, fchmod, fsync, rename, fsync of
/// the directory. `abandon()` (or dropping it uncommitted) unlinks the temporary file.
public final class AtomicFileWriter {
    public let path: String
    private let directory: String
    private var tmp: String
    private var fd: Int32

    /// Creates the temporary file (mkstemp) next to `path`. An existing `path` that is not a regular file (a
    /// directory, device, FIFO or socket) is refused: renaming onto it would replace something that is not a file.
    public init(path: String) throws(FileError) {
        self.path = path
        if let mode = FileIO.fileMode(path), (mode & S_IFMT) != S_IFREG {
            throw FileIO.wrongType(path, mode, operation: "replace")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let dir = parts.dropLast().joined(separator: "/")
        directory = path.hasPrefix("/") && dir.isEmpty ? "/" : (dir.isEmpty ? "." : dir)
        let base = parts.last.map(String.init) ?? path
        var template = Array("\(directory)/.\(base).XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { buf in buf.baseAddress.map { mkstemp($0) } ?? -1 }
        tmp = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if fd < 0 { throw FileError(path: tmp, operation: "create", errno: Errno(rawValue: errno)) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    deinit { abandon() }

    /// write(2) until all bytes are out.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        guard fd >= 0 else { throw FileError(path: tmp, operation: "write", errno: .badFileDescriptor) }
        var done = 0
        while done < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = Glibc.write(fd, base + done, min(bytes.count - done, 1 << 20))
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: tmp, operation: "write", errno: Errno(rawValue: errno))
            }
            done += n
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
        if fchmod(fd, mode) != 0 { throw FileError(path: tmp, operation: "chmod", errno: Errno(rawValue: errno)) }
        if fsync(fd) != 0 { throw FileError(path: tmp, operation: "fsync", errno: Errno(rawValue: errno)) }
        close(fd)
        fd = -1
        if rename(tmp, path) != 0 {
            let e = Errno(rawValue: errno)
            unlink(tmp)
            throw FileError(path: path, operation: "rename onto", errno: e)
        }
        tmp = ""
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    /// Closes and unlinks the temporary file (nothing when already committed).
    public func abandon() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if !tmp.isEmpty {
            unlink(tmp)
            tmp = ""
        }
    }
}
