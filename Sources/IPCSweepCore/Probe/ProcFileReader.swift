import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads small /proc files relative to a directory descriptor into one reused buffer, through
/// `FileIO.openForReading`/`FileIO.readAll` (non-blocking open, bounded read). Under a procfs copy (`--proc DIR`)
/// every file must be a regular file; the first one that is not (or that is too large) is kept in `problem`.
final class ProcFileReader {
    private let buffer: ReadBuffer
    private let kernel: any KernelCalls
    /// Check with fstat that each file is a regular file (a procfs copy); live procfs files need no check.
    let requireRegular: Bool
    /// The first file that was of the wrong type or too large, as a one-line message.
    private(set) var problem: String?
    /// The errno of the last read that failed (0 after one that succeeded): ENOENT or ESRCH when the process
    /// vanished.
    private(set) var lastErrno: Int32 = 0
    /// The process whose directory the next reads are relative to, for `problem` to name its file.
    var pid: Int32?

    init(capacity: Int = 16384, requireRegular: Bool = false, kernel: any KernelCalls = Kernel.live) {
        buffer = ReadBuffer(capacity: capacity)
        self.requireRegular = requireRegular
        self.kernel = kernel
    }

    private var base: UnsafeMutableRawPointer { buffer.base }

    /// openat + bounded read until EOF + close, then `parse` on the bytes; nil when the file cannot be read.
    /// `whole`: the file is made whole by one `show` call (stat, status, cgroup), so on live procfs one short read
    /// is all of it (`FileIO.readAll`'s `shortReadEnds`); a copy's files are read to their end.
    func read<T>(_ dir: Int32, _ name: String, whole: Bool = false, _ parse: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        do throws(FileError) {
            let fd = try FileIO.openForReading(name, relativeTo: dir, requireRegular: requireRegular, kernel: kernel)
            defer { kernel.close(fd) }
            let used = try FileIO.readAll(fd, into: buffer, limit: FileIO.Limit.procfs, path: name,
                                          shortReadEnds: whole && !requireRegular, kernel: kernel)
            lastErrno = 0
            return parse(buffer.bytes(used))
        } catch {
            lastErrno = error.errno.rawValue
            if problem == nil && (error.isWrongType || error.errno == .fileTooLarge || error.errno == .wouldBlock) {
                var named = error
                if let pid { named.path = "\(pid)/\(name)" }
                problem = named.description
            }
            return nil
        }
    }

    /// readlinkat, then `parse` on the target's bytes; nil when it cannot be read.
    func readLink<T>(_ dir: Int32, _ name: String, _ parse: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        guard case .success(let n) = kernel.readlinkat(dir, name, into: UnsafeMutableRawBufferPointer(start: base, count: buffer.capacity))
        else { return nil }
        return parse(UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: n))
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

/// The procfs a run reads: the live `/proc`, or a copy (`--proc DIR`: no descriptors to match, no pid counter,
/// nothing to remove, every file checked to be a regular file).
public enum Procfs {
    /// The live procfs, the default of every `procRoot`.
    public static let live = "/proc"

    /// Whether `root` is the live procfs rather than a copy.
    public static func isLive(_ root: String) -> Bool { root == live }

    /// The live procfs must be this process's own pid namespace's: its pids are the ones the kernel records in IPC
    /// objects (a semaphore's pid, a segment's creator and last attacher, a queue's sender and receiver) as this
    /// process sees them. A /proc mounted for an ancestor namespace (a child pid namespace that kept its parent's
    /// /proc: `unshare --pid --fork` without `--mount-proc`) numbers every process otherwise, so a recorded pid
    /// would name another process, or none, and a live holder could look exited. /proc/self says which pid this
    /// process is there, getpid() which it is here. (Where /proc has no entry for it at all, Swift has no
    /// arguments either: the command line stops first.) A procfs copy (`--proc DIR`) is not checked.
    public static func requireOwnNamespace(_ root: String) throws {
        guard isLive(root) else { return }
        let here = getpid()
        let there = FileIO.readLink("\(root)/self").flatMap { Int32($0) }
        guard there != here else { return }
        // Only a pid is shown: whatever else /proc/self links to is not procfs's, and not repeated.
        let seen = there.map { "/proc/self is pid \($0) there, this process is pid \(here) here" } ?? "/proc/self names no pid"
        throw ProbeError(description: "/proc is not this pid namespace's own (\(seen)): the pids IPC objects record would name other processes; mount one for this namespace (unshare --pid --fork --mount-proc, or mount -t proc proc /proc in its own mount namespace), or run ipcsweep from the host with --namespace PID")
    }
}
