import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a write lease said about a POSIX object: the kernel grants `fcntl(F_SETLEASE, F_WRLCK)` only when no
/// other open file description refers to the file — no descriptor and no mapping in any process of any
/// namespace — and refuses it with EAGAIN otherwise (tmpfs and the mqueue filesystem alike).
public enum PosixLease: Sendable, Equatable, Hashable {
    /// Granted: nothing but the tool's own descriptor had it open or mapped.
    case granted
    /// Refused (EAGAIN): a descriptor or mapping of it exists somewhere.
    case refused
    /// No lease could be asked for or answered; the /proc rules decide alone.
    case unavailable(LeaseUnavailable)
}

/// Why no lease answered.
public enum LeaseUnavailable: Sendable, Equatable, Hashable {
    /// Neither its owner nor CAP_LEASE: the kernel would refuse (EACCES), so it is not asked.
    case notPermitted
    /// EINVAL: leases are disabled (`fs.leases-enable = 0`) or the filesystem has none.
    case disabled
    /// A call failed ("open: Permission denied", "another file took its name").
    case failed(String)
}

/// Write leases on POSIX objects, the one place they are taken: open the entry relative to its root's
/// descriptor (`O_RDONLY|O_NONBLOCK|O_NOFOLLOW|O_NOCTTY`, never following a link, never blocking), check it is
/// the object read (same device and inode), then `fcntl(F_SETLEASE, F_WRLCK)`. The scanner lets go at once
/// (lease released, descriptor closed before the next object: the tool is never a holder itself); `clean` holds
/// it from its re-check to the removal and reads a break back with `fcntl(F_GETLEASE)`.
public struct PosixLeases: Sendable {
    public let kernel: any KernelCalls
    public let caller: LeaseCaller

    public init(kernel: any KernelCalls) {
        self.kernel = kernel
        caller = kernel.leaseCaller
    }

    static let openFlags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC

    /// The outcome of taking a lease.
    public enum Taken: Sendable, Equatable {
        /// Granted; `fd` is open and holds it (let go with `release`).
        case held(fd: Int32)
        case refused
        case unavailable(LeaseUnavailable)
        /// Another file has its name now (device or inode differ): nothing is held.
        case changed(inode: UInt64)

        /// What it says about the object.
        public var lease: PosixLease {
            switch self {
            case .held: return .granted
            case .refused: return .refused
            case .unavailable(let why): return .unavailable(why)
            case .changed: return .unavailable(.failed("another file took its name"))
            }
        }
    }

    /// Takes a write lease on `o` (its entry in the root open as `dir`). Only `.held` leaves a descriptor open.
    public func take(dir: Int32, _ o: PosixIPCObject) -> Taken {
        guard caller.mayLease(ownedBy: o.uid) else { return .unavailable(.notPermitted) }
        let fd: Int32
        switch kernel.openat(dir, o.entry, Self.openFlags, 0) {
        case .success(let f): fd = f
        case .failure(let e): return .unavailable(.failed("open: \(e)"))
        }
        switch kernel.fstat(fd) {
        case .success(let st) where UInt64(st.st_dev) == o.identity.device && UInt64(st.st_ino) == o.identity.inode: break
        case .success(let st):
            kernel.close(fd)
            return .changed(inode: UInt64(st.st_ino))
        case .failure(let e):
            kernel.close(fd)
            return .unavailable(.failed("fstat: \(e)"))
        }
        switch kernel.setLease(fd, .write) {
        case .success:
            return .held(fd: fd)
        case .failure(let e):
            kernel.close(fd)
            switch e {
            case .resourceTemporarilyUnavailable: return .refused
            case .invalidArgument: return .unavailable(.disabled)
            case .permissionDenied, .notPermitted: return .unavailable(.notPermitted)
            default: return .unavailable(.failed("F_SETLEASE: \(e)"))
            }
        }
    }

    /// Releases a held lease (F_UNLCK) and closes its descriptor.
    public func release(_ fd: Int32) {
        _ = kernel.setLease(fd, .none)
        kernel.close(fd)
    }

    /// Whether the lease on `fd` is still whole: F_GETLEASE is F_WRLCK. Once any process opened the file (its
    /// open(2) waits for the lease meanwhile; a non-blocking one fails with EWOULDBLOCK), a break is pending and
    /// F_GETLEASE says F_RDLCK or F_UNLCK; after `fs.lease-break-time` the kernel takes the lease away.
    public func intact(_ fd: Int32) -> Bool {
        if case .success(.write) = kernel.getLease(fd) { return true }
        return false
    }

    /// What a scan says once about the leases of one root: that they are disabled there, or failed for some
    /// objects (then those are judged by /proc alone, as without leases). Pure.
    public static func notes(root: String, _ objects: [PosixIPCObject]) -> [String] {
        var disabled = 0
        var failed: [String] = []
        for o in objects {
            switch o.lease {
            case .unavailable(.disabled)?: disabled += 1
            case .unavailable(.failed(let why))?: failed.append("\(o.path) (\(why))")
            default: break
            }
        }
        var out: [String] = []
        if disabled > 0 {
            out.append("write leases are not available on \(root) (fcntl F_SETLEASE: EINVAL; fs.leases-enable is 0, or the filesystem has none): \(disabled) object\(disabled == 1 ? " was" : "s were") judged by the descriptors and mappings in /proc alone; set fs.leases-enable=1 for a kernel-certain answer")
        }
        if !failed.isEmpty {
            let shown = failed.prefix(3).joined(separator: ", ") + (failed.count > 3 ? " and \(failed.count - 3) more" : "")
            out.append("no write lease could be taken on \(shown): judged by the descriptors and mappings in /proc alone")
        }
        return out
    }
}
