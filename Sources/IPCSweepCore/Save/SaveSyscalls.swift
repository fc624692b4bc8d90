import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Linux constants that glibc shows only with _GNU_SOURCE.
public enum LinuxFile {
    /// lseek whence: the next data at or after the offset (Linux 3.1).
    public static let seekData: Int32 = 3
    /// lseek whence: the next hole at or after the offset.
    public static let seekHole: Int32 = 4
    /// open flag: an unnamed file in the given directory (Linux 3.11), __O_TMPFILE | O_DIRECTORY.
    public static let tmpFile: Int32 = 0o20_200_000
}

/// The file system calls that saving and restoring make: the part of the syscall seam (`KernelCalls`) they use,
/// so that every error path (ENOSPC in the middle of a write, EDQUOT at fsync, EIO on a read, a failed rename)
/// is tested with injected faults on real files (`FaultySyscalls`) or in `FakeKernel`. Each call returns the
/// errno it failed with; EINTR is retried inside (`KernelSaveSyscalls`).
public protocol SaveSyscalls: Sendable {
    /// openat(2); the new descriptor.
    func openat(_ dir: Int32, _ path: String, flags: Int32, mode: mode_t) -> Result<Int32, Errno>
    /// close(2).
    func close(_ fd: Int32)
    /// read(2) at the file offset; 0 at end of file.
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno>
    /// pread(2); 0 at end of file.
    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno>
    /// write(2) of some of `bytes`; how many were written.
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno>
    /// pwrite(2) of some of `bytes` at `offset`; how many were written.
    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno>
    /// lseek(2), including SEEK_DATA and SEEK_HOLE.
    func seek(_ fd: Int32, _ offset: Int64, whence: Int32) -> Result<Int64, Errno>
    /// fstat(2).
    func fstat(_ fd: Int32) -> Result<stat, Errno>
    /// fstatvfs(3): the free space of the file system holding `fd`.
    func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno>
    /// fsync(2).
    func fsync(_ fd: Int32) -> Result<Void, Errno>
    /// ftruncate(2).
    func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno>
    /// fchmod(2).
    func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno>
    /// linkat(2).
    func linkat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String, flags: Int32) -> Result<Void, Errno>
    /// renameat(2).
    func renameat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) -> Result<Void, Errno>
    /// unlinkat(2).
    func unlinkat(_ dir: Int32, _ path: String, flags: Int32) -> Result<Void, Errno>
}

/// The save and restore calls made through the one syscall seam (`KernelCalls`: the live kernel, or a test's
/// fake), EINTR retried.
public struct KernelSaveSyscalls: SaveSyscalls {
    public let kernel: any KernelCalls

    public init(kernel: any KernelCalls = Kernel.live) { self.kernel = kernel }

    @inline(__always)
    private func retry<T>(_ call: () -> Result<T, Errno>) -> Result<T, Errno> {
        while true {
            let r = call()
            if case .failure(let e) = r, e == .interrupted { continue }
            return r
        }
    }

    public func openat(_ dir: Int32, _ path: String, flags: Int32, mode: mode_t) -> Result<Int32, Errno> {
        retry { kernel.openat(dir, path, flags, mode) }
    }
    public func close(_ fd: Int32) { kernel.close(fd) }
    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        retry { kernel.read(fd, into: buffer) }
    }
    public func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        retry { kernel.pread(fd, into: buffer, at: offset) }
    }
    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno> { retry { kernel.write(fd, from: bytes) } }
    public func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        retry { kernel.pwrite(fd, from: bytes, at: offset) }
    }
    public func seek(_ fd: Int32, _ offset: Int64, whence: Int32) -> Result<Int64, Errno> { retry { kernel.lseek(fd, offset, whence) } }
    public func fstat(_ fd: Int32) -> Result<stat, Errno> { retry { kernel.fstat(fd) } }
    public func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno> { retry { kernel.fstatvfs(fd) } }
    public func fsync(_ fd: Int32) -> Result<Void, Errno> { retry { kernel.fsync(fd) } }
    public func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno> { retry { kernel.ftruncate(fd, size) } }
    public func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> { retry { kernel.fchmod(fd, mode) } }
    public func linkat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String, flags: Int32) -> Result<Void, Errno> {
        retry { kernel.linkat(fromDir, from, toDir, to, flags) }
    }
    public func renameat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) -> Result<Void, Errno> {
        retry { kernel.renameat(fromDir, from, toDir, to) }
    }
    public func unlinkat(_ dir: Int32, _ path: String, flags: Int32) -> Result<Void, Errno> {
        retry { kernel.unlinkat(dir, path, flags) }
    }
}

/// The real calls: the live kernel through the seam.
public typealias LiveSaveSyscalls = KernelSaveSyscalls
