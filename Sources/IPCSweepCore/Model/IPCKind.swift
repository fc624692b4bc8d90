/// The two families of IPC object: System V (found by id in the kernel's tables) and POSIX (files in the
/// /dev/shm tmpfs and the mqueue filesystem, found by name).
public enum IPCFamily: String, Sendable, CaseIterable {
    case sysv, posix
}

/// The six kinds of IPC object ipcsweep knows: System V semaphore sets, shared memory segments and message
/// queues, and POSIX shared memory objects, named semaphores and message queues. The raw values are the
/// `--type` names and the `type` of every JSON object.
public enum IPCKind: String, Sendable, Codable, CaseIterable, Comparable {
    case sem, shm, msg
    /// A POSIX shared memory object (shm_open), a file in /dev/shm.
    case posixShm = "posix-shm"
    /// A POSIX named semaphore (sem_open), a file `sem.NAME` in /dev/shm.
    case posixSem = "posix-sem"
    /// A POSIX message queue (mq_open), a file in the mqueue mount.
    case posixMq = "posix-mq"

    /// The three System V kinds.
    public static let sysv: Set<IPCKind> = [.sem, .shm, .msg]
    /// The three POSIX kinds.
    public static let posix: Set<IPCKind> = [.posixShm, .posixSem, .posixMq]
    /// The System V kinds in listing order.
    public static let sysvCases: [IPCKind] = [.sem, .shm, .msg]
    /// The POSIX kinds in listing order.
    public static let posixCases: [IPCKind] = [.posixShm, .posixSem, .posixMq]

    public var family: IPCFamily {
        switch self {
        case .sem, .shm, .msg: return .sysv
        case .posixShm, .posixSem, .posixMq: return .posix
        }
    }

    public var isPosix: Bool { family == .posix }

    /// The plain name a person reads ("semaphore set", ...).
    public var noun: String {
        switch self {
        case .sem: return "semaphore set"
        case .shm: return "shared memory segment"
        case .msg: return "message queue"
        case .posixShm: return "POSIX shared memory object"
        case .posixSem: return "POSIX named semaphore"
        case .posixMq: return "POSIX message queue"
        }
    }

    /// The System V kind a POSIX kind corresponds to (sem, shm, msg), and a System V kind itself.
    public var sysvKind: IPCKind {
        switch self {
        case .sem, .posixSem: return .sem
        case .shm, .posixShm: return .shm
        case .msg, .posixMq: return .msg
        }
    }

    /// Listing order: the System V kinds, then the POSIX ones.
    var rank: Int {
        switch self {
        case .sem: return 0
        case .shm: return 1
        case .msg: return 2
        case .posixShm: return 3
        case .posixSem: return 4
        case .posixMq: return 5
        }
    }

    public static func < (a: IPCKind, b: IPCKind) -> Bool { a.rank < b.rank }
}
