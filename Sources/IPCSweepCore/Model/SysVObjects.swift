/// The permission part common to every kind (struct ipc_perm).
public struct IPCPermissions: Sendable, Equatable, Hashable {
    /// The key as the kernel stores it (a signed 32-bit value; 0 is IPC_PRIVATE).
    public var key: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var cuid: UInt32
    public var cgid: UInt32
    /// Full mode word: permission bits plus, for shm, SHM_DEST (0o1000) and SHM_LOCKED (0o2000).
    public var mode: UInt32

    public init(key: Int32, uid: UInt32, gid: UInt32, cuid: UInt32, cgid: UInt32, mode: UInt32) {
        self.key = key
        self.uid = uid
        self.gid = gid
        self.cuid = cuid
        self.cgid = cgid
        self.mode = mode
    }

    /// The nine rwx permission bits.
    public var permissionBits: UInt32 { mode & 0o777 }
    /// The key as the unsigned 32-bit number administrators write in hex (0xdeadbeef).
    public var unsignedKey: UInt32 { UInt32(bitPattern: key) }
    /// Owner and creator uid, deduplicated.
    public var uids: [UInt32] { uid == cuid ? [uid] : [uid, cuid] }
}

/// One semaphore of a set: GETVAL/GETPID/GETNCNT/GETZCNT.
public struct Semaphore: Sendable, Equatable, Hashable {
    public var value: Int32
    /// The last process that operated on it (semop, SETVAL, SEM_UNDO at exit); 0 if none or not visible.
    public var pid: Int32
    /// Processes waiting for the value to increase.
    public var ncnt: Int32
    /// Processes waiting for the value to become zero.
    public var zcnt: Int32

    public init(value: Int32, pid: Int32, ncnt: Int32, zcnt: Int32) {
        self.value = value
        self.pid = pid
        self.ncnt = ncnt
        self.zcnt = zcnt
    }
}

/// A semaphore set as /proc/sysvipc/sem or SEM_STAT_ANY report it, plus per-semaphore detail.
public struct SemaphoreSet: Sendable, Equatable {
    public var id: Int32
    public var perm: IPCPermissions
    public var nsems: Int
    /// Last semop (or SEM_UNDO at exit), epoch seconds; 0 = never.
    public var otime: Int64
    /// Creation or last IPC_SET / SETVAL / SETALL, epoch seconds.
    public var ctime: Int64
    /// Per-semaphore detail; nil when it could not be read (see `detailError`).
    public var semaphores: [Semaphore]?
    /// Why `semaphores` is nil, in plain words, naming the errno.
    public var detailError: String?

    public init(id: Int32, perm: IPCPermissions, nsems: Int, otime: Int64, ctime: Int64,
                semaphores: [Semaphore]? = nil, detailError: String? = nil) {
        self.id = id
        self.perm = perm
        self.nsems = nsems
        self.otime = otime
        self.ctime = ctime
        self.semaphores = semaphores
        self.detailError = detailError
    }
}

/// Flag bits the kernel adds to a segment's mode word.
public enum SHMModeFlag {
    /// Marked for removal (IPC_RMID while attached); the key reads 0.
    public static let dest: UInt32 = 0o1000
    /// Locked in memory (SHM_LOCK).
    public static let locked: UInt32 = 0o2000
}

/// A shared memory segment.
public struct SharedMemorySegment: Sendable, Equatable {
    public var id: Int32
    public var perm: IPCPermissions
    public var size: UInt64
    public var cpid: Int32
    public var lpid: Int32
    public var nattch: UInt64
    public var atime: Int64
    public var dtime: Int64
    public var ctime: Int64
    /// Resident and swapped bytes: only /proc/sysvipc/shm reports them (kernels since ~2.6.37).
    public var rss: UInt64?
    public var swap: UInt64?
    /// Memory really used: rss + swap (nil when not known: a procfs copy without those columns).
    public var usedBytes: UInt64? { rss.map { $0 &+ (swap ?? 0) } }

    public init(id: Int32, perm: IPCPermissions, size: UInt64, cpid: Int32, lpid: Int32, nattch: UInt64,
                atime: Int64, dtime: Int64, ctime: Int64, rss: UInt64? = nil, swap: UInt64? = nil) {
        self.id = id
        self.perm = perm
        self.size = size
        self.cpid = cpid
        self.lpid = lpid
        self.nattch = nattch
        self.atime = atime
        self.dtime = dtime
        self.ctime = ctime
        self.rss = rss
        self.swap = swap
    }

    public var markedForRemoval: Bool { perm.mode & SHMModeFlag.dest != 0 }
    public var locked: Bool { perm.mode & SHMModeFlag.locked != 0 }
}

/// A message queue.
public struct MessageQueue: Sendable, Equatable {
    public var id: Int32
    public var perm: IPCPermissions
    /// Bytes currently queued.
    public var cbytes: UInt64
    /// Messages currently queued.
    public var qnum: UInt64
    /// Queue capacity in bytes: only the syscall source reports it.
    public var qbytes: UInt64?
    public var lspid: Int32
    public var lrpid: Int32
    public var stime: Int64
    public var rtime: Int64
    public var ctime: Int64

    public init(id: Int32, perm: IPCPermissions, cbytes: UInt64, qnum: UInt64, qbytes: UInt64? = nil,
                lspid: Int32, lrpid: Int32, stime: Int64, rtime: Int64, ctime: Int64) {
        self.id = id
        self.perm = perm
        self.cbytes = cbytes
        self.qnum = qnum
        self.qbytes = qbytes
        self.lspid = lspid
        self.lrpid = lrpid
        self.stime = stime
        self.rtime = rtime
        self.ctime = ctime
    }
}

/// Which field of an object recorded a pid, and when it could have been recorded at the latest.
public enum RecordedPidRole: String, Sendable, Equatable {
    case sempid, cpid, lpid, lspid, lrpid

    /// How a reason names the role ("last operator", "creator", ...).
    public var phrase: String {
        switch self {
        case .sempid: return "last operator"
        case .cpid: return "creator"
        case .lpid: return "last attacher/detacher"
        case .lspid: return "last sender"
        case .lrpid: return "last receiver"
        }
    }
}

/// A pid an object recorded, with the latest second at which it was recorded.
public struct RecordedPid: Sendable, Equatable {
    public var pid: Int32
    public var role: RecordedPidRole
    /// The latest epoch second the kernel can have stored this pid (the matching time field).
    public var recordedAt: Int64
    /// For sempid: which semaphore.
    public var semnum: Int?
}

