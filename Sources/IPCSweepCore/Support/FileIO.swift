import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file operation that failed, naming the path and the errno.
public struct FileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var operation: String
    public var errno: Errno
    public var description: String { "cannot \(operation) \(path): \(errno)" }
}

/// Small, allocation-light file helpers over open/read/readlink.
public enum FileIO {
    /// Reads a whole file in one go (procfs files report size 0, so read until EOF).
    public static func read(_ path: String, sizeHint: Int = 4096) throws(FileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw FileError(path: path, operation: "open", errno: Errno(rawValue: errno)) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: max(sizeHint, 256))
        var used = 0
        while true {
            if used == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                guard let start = raw.baseAddress else { return 0 }
                return Glibc.read(fd, start + used, raw.count - used)
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, operation: "read", errno: Errno(rawValue: errno))
            }
            if n == 0 { break }
            used += n
        }
        buffer.removeSubrange(used...)
        return buffer
    }

    /// Reads a file as UTF-8 text.
    public static func readText(_ path: String) throws(FileError) -> String {
        String(decoding: try read(path), as: UTF8.self)
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
    /// (see `AtomicFileWriter`). Nothing is left behind on failure.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(FileError) {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(bytes)
        try writer.commit(mode: mode)
    }
}
