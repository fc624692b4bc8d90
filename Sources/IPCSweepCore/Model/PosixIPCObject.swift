/// One entry of a POSIX access ACL (acl_get_file ACL_TYPE_ACCESS).
public struct ACLEntry: Sendable, Equatable, Hashable {
    /// The entry's tag (ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER).
    public enum Tag: String, Sendable, Codable {
        case userObj = "user_obj", user, groupObj = "group_obj", group, mask, other
    }
    public var tag: Tag
    /// The uid (user) or gid (group); nil for the other tags.
    public var qualifier: UInt32?
    /// rwx as bits 4, 2, 1.
    public var perms: UInt32

    public init(tag: Tag, qualifier: UInt32? = nil, perms: UInt32) {
        self.tag = tag
        self.qualifier = qualifier
        self.perms = perms
    }
}

/// A file time with its nanoseconds (struct statx_timestamp / timespec).
public struct FileTime: Sendable, Equatable, Hashable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int64

    public init(seconds: Int64, nanoseconds: Int64 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// Epoch seconds as a floating-point number (nanosecond precision is kept to about 0.2 µs).
    public var value: Double { Double(seconds) + Double(nanoseconds) / 1e9 }

    public static func < (a: FileTime, b: FileTime) -> Bool {
        a.seconds != b.seconds ? a.seconds < b.seconds : a.nanoseconds < b.nanoseconds
    }
}

/// A file's identity: the device it lives on (st_dev) and its inode (st_ino).
public struct DeviceInode: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    /// From a major and minor number as /proc/PID/maps and mountinfo print them (glibc's makedev encoding).
    public init(major: UInt64, minor: UInt64, inode: UInt64) {
        let dev = ((major & 0xfffff000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffffff00) << 12) | (minor & 0xff)
        self.init(device: dev, inode: inode)
    }

    /// major(st_dev), as glibc's gnu_dev_major decodes it.
    public var major: UInt64 { ((device >> 32) & 0xfffff000) | ((device >> 8) & 0xfff) }
    /// minor(st_dev).
    public var minor: UInt64 { ((device >> 12) & 0xffffff00) | (device & 0xff) }

    /// "0:23 inode 12345"
    public var description: String { "device \(major):\(minor) inode \(inode)" }
}

/// A POSIX message queue's state: the text of its file in the mqueue mount, and mq_getattr(3).
public struct MessageQueueStatus: Sendable, Equatable {
    /// QSIZE: bytes queued in all messages.
    public var qsize: UInt64
    /// NOTIFY: the sigev_notify of the registered notification (0 SIGEV_SIGNAL, 1 SIGEV_NONE, 2 SIGEV_THREAD).
    public var notify: Int
    /// SIGNO: the notification signal.
    public var signo: Int
    /// NOTIFY_PID: the process registered for notification (mq_notify); 0 when none, or not visible.
    public var notifyPid: Int32
    /// mq_curmsgs, mq_maxmsg, mq_msgsize; nil when the queue could not be opened (permission).
    public var messages: Int?
    public var maxMessages: Int?
    public var messageSize: Int?

    public init(qsize: UInt64, notify: Int = 0, signo: Int = 0, notifyPid: Int32 = 0, messages: Int? = nil,
                maxMessages: Int? = nil, messageSize: Int? = nil) {
        self.qsize = qsize
        self.notify = notify
        self.signo = signo
        self.notifyPid = notifyPid
        self.messages = messages
        self.maxMessages = maxMessages
        self.messageSize = messageSize
    }

    /// Parses "QSIZE:12         NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n" (field order not assumed); nil without QSIZE.
    public static func parse(_ text: String) -> MessageQueueStatus? {
        var fields: [String: String] = [:]
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
            guard let colon = token.firstIndex(of: ":") else { continue }
            fields[String(token[..<colon])] = String(token[token.index(after: colon)...])
        }
        guard let q = fields["QSIZE"].flatMap({ UInt64($0) }) else { return nil }
        return MessageQueueStatus(qsize: q, notify: fields["NOTIFY"].flatMap { Int($0) } ?? 0,
                                  signo: fields["SIGNO"].flatMap { Int($0) } ?? 0,
                                  notifyPid: fields["NOTIFY_PID"].flatMap { Int32($0) } ?? 0)
    }

    /// Whether messages are queued (by count when known, else by QSIZE).
    public var hasMessages: Bool { (messages ?? 0) > 0 || qsize > 0 }
}

/// A POSIX IPC object: a regular file of the /dev/shm mount (shared memory; `sem.NAME` is a named semaphore)
/// or of the mqueue mount (a message queue), as fstatat(2) with AT_SYMLINK_NOFOLLOW reports it.
public struct PosixIPCObject: Sendable, Equatable {
    /// The full path (mount point + name).
    public var path: String
    /// posixShm, posixSem or posixMq.
    public var kind: IPCKind
    /// The name as programs pass it to shm_open/sem_open/mq_open, without the leading slash
    /// (`PostgreSQL.1234`; for a semaphore without its `sem.` prefix).
    public var name: String
    /// The directory entry's name in its mount (`sem.NAME` for a semaphore).
    public var entry: String
    /// The directory it was found in (the mount's root, as scanned): `path` is `directory/entry`.
    public var directory: String
    public var uid: UInt32
    public var gid: UInt32
    /// Permission bits (0o7777 part of st_mode).
    public var mode: UInt32
    /// st_size in bytes (a queue: QSIZE, bytes queued).
    public var size: Int64
    /// Memory really used: st_blocks (512-byte units).
    public var blocks: Int64
    /// st_dev and st_ino.
    public var identity: DeviceInode
    public var atime: FileTime
    public var mtimeNs: FileTime
    public var ctime: FileTime
    /// Last modification (epoch seconds).
    public var mtime: Int64 { mtimeNs.seconds }
    /// The access ACL when it has more than the three base entries; nil when it has none or could not be read.
    public var acl: [ACLEntry]?
    /// A queue's state; nil for shared memory and semaphores.
    public var queue: MessageQueueStatus?
    /// What a write lease said when it was read (`PosixLeases`); nil: none was asked for (a fixture, a procfs
    /// copy).
    public var lease: PosixLease? = nil
    /// Whether its lease already answered what the descriptors and mappings in /proc would: granted, nothing but the
    /// tool had it open or mapped. Then no process is read for its holders (the listing, clean's re-check).
    public var leaseAnswersHolders: Bool { lease == .granted }

    public init(path: String, kind: IPCKind, name: String? = nil, entry: String? = nil, uid: UInt32, gid: UInt32,
                mode: UInt32, size: Int64 = 0, blocks: Int64 = 0, directory: String? = nil,
                identity: DeviceInode = DeviceInode(device: 0, inode: 0),
                atime: FileTime = FileTime(seconds: 0), mtime: Int64 = 0, mtimeNs: FileTime? = nil,
                ctime: FileTime? = nil, acl: [ACLEntry]? = nil, queue: MessageQueueStatus? = nil) {
        self.path = path
        self.kind = kind
        let base = entry ?? String(path.split(separator: "/").last ?? "")
        self.entry = base
        self.directory = directory ?? String(path.utf8.dropLast(base.utf8.count + 1)).map { $0.isEmpty ? "/" : $0 } ?? "/"
        self.name = name ?? Self.name(ofEntry: base, kind: kind)
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.size = size
        self.blocks = blocks
        self.identity = identity
        self.atime = atime
        let m = mtimeNs ?? FileTime(seconds: mtime)
        self.mtimeNs = m
        self.ctime = ctime ?? m
        self.acl = acl
        self.queue = queue
    }

    /// The kind of an entry of a POSIX root, from its name alone: in the mqueue mount a queue; in the shm mount a
    /// named semaphore when it is `sem.NAME` (glibc's sem_open), shared memory otherwise.
    public static func kind(ofEntry entry: String, rootKind: IPCKind) -> IPCKind {
        rootKind == .posixMq ? .posixMq : (entry.hasPrefix("sem.") ? .posixSem : .posixShm)
    }

    /// The name programs pass to shm_open/sem_open/mq_open for a directory entry of that kind (a semaphore's
    /// without its `sem.` prefix).
    public static func name(ofEntry entry: String, kind: IPCKind) -> String {
        kind == .posixSem && entry.hasPrefix("sem.") ? String(entry.dropFirst(4)) : entry
    }

    /// Its permissions as System V objects have them: a file's owner is also its creator, and it has no key.
    public var perm: IPCPermissions { IPCPermissions(key: 0, uid: uid, gid: gid, cuid: uid, cgid: gid, mode: mode) }

    /// The latest of mtime and ctime: the last change the file records (reads, mappings and opens leave no trace).
    /// A queue: its mtime alone (mq_send and mq_receive set it), because reading the queue's file — as this tool,
    /// lsipc and `cat` do to learn its depth — sets its ctime.
    public var lastChange: FileTime { kind == .posixMq ? mtimeNs : max(mtimeNs, ctime) }

    /// Bytes of memory it really uses (st_blocks × 512).
    public var usedBytes: Int64 { blocks * 512 }
}

/// The mount a POSIX root lives on, from /proc/self/mountinfo.
public struct PosixMount: Sendable, Equatable {
    /// The mount point (field 5).
    public var mountPoint: String
    /// The filesystem type (tmpfs, mqueue).
    public var fsType: String
    /// st_dev of its root, from the major:minor field.
    public var device: UInt64
    /// Size and use (statvfs), in bytes; nil when not read.
    public var sizeBytes: UInt64?
    public var usedBytes: UInt64?

    public init(mountPoint: String, fsType: String, device: UInt64, sizeBytes: UInt64? = nil, usedBytes: UInt64? = nil) {
        self.mountPoint = mountPoint
        self.fsType = fsType
        self.device = device
        self.sizeBytes = sizeBytes
        self.usedBytes = usedBytes
    }
}

/// The result of scanning one root (/dev/shm or the mqueue mount).
public struct PosixScanResult: Sendable, Equatable {
    public var root: String
    /// posix-shm (including posix-sem files) for the shm root, posix-mq for the mqueue root.
    /// posixShm, posixSem or posixMq.
    public var kind: IPCKind
    /// False when the root was skipped (missing, not mounted, unreadable).
    public var scanned: Bool
    /// Why it was skipped.
    public var skipReason: String?
    public var objects: [PosixIPCObject]
    /// Entries that could not be read, each naming the path.
    public var warnings: [String]
    /// The mount it lives on, when found in mountinfo.
    public var mount: PosixMount?
    /// Entries left alone because they are not regular files of this mount: "symlink sem.x", "directory d", ...
    public var ignored: [String]

    public init(root: String, kind: IPCKind, scanned: Bool, skipReason: String? = nil,
                objects: [PosixIPCObject] = [], warnings: [String] = [], mount: PosixMount? = nil, ignored: [String] = []) {
        self.root = root
        self.kind = kind
        self.scanned = scanned
        self.skipReason = skipReason
        self.objects = objects
        self.warnings = warnings
        self.mount = mount
        self.ignored = ignored
    }
}

/// What the report says about one POSIX root.
public struct PosixScanSummary: Sendable, Equatable {
    public var root: String
    /// posixShm, posixSem or posixMq.
    public var kind: IPCKind
    public var scanned: Bool
    public var skipReason: String?
    /// Objects found (after filters).
    public var objects: Int

    public init(root: String, kind: IPCKind, scanned: Bool, skipReason: String?, objects: Int) {
        self.root = root
        self.kind = kind
        self.scanned = scanned
        self.skipReason = skipReason
        self.objects = objects
    }
}
