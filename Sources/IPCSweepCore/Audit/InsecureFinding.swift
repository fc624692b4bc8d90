/// The kinds of POSIX IPC object found under /dev/shm and /dev/mqueue.
public enum PosixIPCKind: String, Sendable, Codable, CaseIterable {
    /// A POSIX shared memory object (shm_open), a file in /dev/shm.
    case shm = "posix-shm"
    /// A POSIX named semaphore (sem_open), a file `sem.NAME` in /dev/shm.
    case sem = "posix-sem"
    /// A POSIX message queue (mq_open), a file in /dev/mqueue.
    case mq = "posix-mq"

    /// The plain name a person reads.
    public var noun: String {
        switch self {
        case .shm: return "POSIX shared memory object"
        case .sem: return "POSIX named semaphore"
        case .mq: return "POSIX message queue"
        }
    }

    /// The System V kind whose `--type` filter selects it (sem, shm, msg).
    public var sysvKind: IPCKind {
        switch self {
        case .shm: return .shm
        case .sem: return .sem
        case .mq: return .msg
        }
    }
}

/// What an insecure finding is about: a System V object or a POSIX IPC file.
public enum AuditSubject: Sendable, Equatable, Hashable, CustomStringConvertible {
    case sysv(kind: IPCKind, id: Int32, key: Int32)
    case posix(kind: PosixIPCKind, path: String)

    /// "sem 32768 (key 0x0000162e)" or "/dev/shm/sem.foo (POSIX named semaphore)".
    public var description: String {
        switch self {
        case .sysv(let kind, let id, let key): return "\(kind.rawValue) \(id) (key \(IPCTextFormat.hexKey(key)))"
        case .posix(let kind, let path): return "\(path) (\(kind.noun))"
        }
    }

    /// "sem", "shm", "msg", "posix-shm", "posix-sem" or "posix-mq".
    public var kindName: String {
        switch self {
        case .sysv(let kind, _, _): return kind.rawValue
        case .posix(let kind, _): return kind.rawValue
        }
    }
}

/// Someone other than the owner whom an object lets in, and with which permissions.
public struct Grantee: Sendable, Equatable, Hashable {
    /// Where the access comes from.
    public enum Source: String, Sendable, Codable {
        /// The group permission bits (or an ACL's owning-group entry, masked).
        case group
        /// The "others" permission bits: any local user.
        case others
        /// A named-user ACL entry (`setfacl -m u:NAME:rw`).
        case aclUser = "acl-user"
        /// A named-group ACL entry (`setfacl -m g:NAME:rw`).
        case aclGroup = "acl-group"
    }

    public var source: Source
    /// The uid (acl-user) or gid (group, acl-group); nil for others.
    public var id: UInt32?
    /// The user or group name; nil for others or when there is no passwd/group entry.
    public var name: String?
    /// Effective permissions as "rw-" (after the ACL mask).
    public var perms: String
    /// Whether reading is granted.
    public var read: Bool
    /// Whether writing is granted.
    public var write: Bool

    public init(source: Source, id: UInt32?, name: String?, read: Bool, write: Bool, execute: Bool = false) {
        self.source = source
        self.id = id
        self.name = name
        self.read = read
        self.write = write
        self.perms = (read ? "r" : "-") + (write ? "w" : "-") + (execute ? "x" : "-")
    }

    /// "any local user", "members of group adm (gid 4)", "user nobody (uid 65534)".
    public var who: String {
        switch source {
        case .others: return "any local user"
        case .group: return "members of group \(name.map { "\($0) (gid \(id ?? 0))" } ?? "gid \(id ?? 0) (no group entry)")"
        case .aclUser: return "user \(name.map { "\($0) (uid \(id ?? 0))" } ?? "uid \(id ?? 0) (no passwd entry)") through the ACL"
        case .aclGroup: return "members of group \(name.map { "\($0) (gid \(id ?? 0))" } ?? "gid \(id ?? 0) (no group entry)") through the ACL"
        }
    }
}

/// An object that lets in more than its owner, or whose owner or creator no longer exists.
public struct InsecureFinding: Sendable, Equatable {
    /// Why it is reported.
    public enum Issue: String, Sendable, Codable, CaseIterable {
        /// Group or other read/write permission bits.
        case mode
        /// A POSIX ACL lets in named users or groups.
        case acl
        /// The owner or creator uid has no passwd entry, or the gid no group entry.
        case unknownOwner = "unknown-owner"
    }

    public var subject: AuditSubject
    public var issue: Issue
    public var uid: UInt32
    /// The owner's name; nil without a passwd entry.
    public var user: String?
    public var gid: UInt32
    /// Permission bits (0o777 part).
    public var mode: UInt32
    /// Who is let in, for `mode` and `acl` findings.
    public var grantees: [Grantee]
    /// For `unknownOwner`: the ids without an entry, as "owner uid 4242", "creator gid 4242".
    public var missing: [String]
    /// What a local user could do, or what the missing owner means, in one sentence.
    public var risk: String
    /// What to do about it, in one sentence.
    public var advice: String

    public init(subject: AuditSubject, issue: Issue, uid: UInt32, user: String?, gid: UInt32, mode: UInt32,
                grantees: [Grantee] = [], missing: [String] = [], risk: String, advice: String) {
        self.subject = subject
        self.issue = issue
        self.uid = uid
        self.user = user
        self.gid = gid
        self.mode = mode
        self.grantees = grantees
        self.missing = missing
        self.risk = risk
        self.advice = advice
    }

    /// The whole finding in one line, naming the object.
    public var message: String {
        let owner = user ?? "uid \(uid)"
        switch issue {
        case .unknownOwner:
            return "\(subject): \(missing.joined(separator: ", ")) \(missing.count == 1 ? "has" : "have") no entry (account deleted?); \(risk); \(advice)"
        case .mode, .acl:
            return "\(subject), owner \(owner), mode \(IPCTextFormat.octal(mode)): \(risk); \(advice)"
        }
    }
}

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

/// A file under /dev/shm or /dev/mqueue: lstat and its access ACL.
public struct PosixIPCObject: Sendable, Equatable {
    public var path: String
    public var kind: PosixIPCKind
    public var uid: UInt32
    public var gid: UInt32
    /// Permission bits (0o7777 part of st_mode).
    public var mode: UInt32
    public var size: Int64
    /// Last modification (epoch seconds).
    public var mtime: Int64
    /// The access ACL when it has more than the three base entries; nil when it has none or could not be read.
    public var acl: [ACLEntry]?

    public init(path: String, kind: PosixIPCKind, uid: UInt32, gid: UInt32, mode: UInt32, size: Int64 = 0,
                mtime: Int64 = 0, acl: [ACLEntry]? = nil) {
        self.path = path
        self.kind = kind
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.size = size
        self.mtime = mtime
        self.acl = acl
    }
}

/// The result of scanning one root (/dev/shm or /dev/mqueue).
public struct PosixScanResult: Sendable, Equatable {
    public var root: String
    /// posix-shm (including posix-sem files) for the shm root, posix-mq for the mqueue root.
    public var kind: PosixIPCKind
    /// False when the root was skipped (missing, not mounted, unreadable).
    public var scanned: Bool
    /// Why it was skipped.
    public var skipReason: String?
    public var objects: [PosixIPCObject]
    /// Entries that could not be read, each naming the path.
    public var warnings: [String]

    public init(root: String, kind: PosixIPCKind, scanned: Bool, skipReason: String? = nil,
                objects: [PosixIPCObject] = [], warnings: [String] = []) {
        self.root = root
        self.kind = kind
        self.scanned = scanned
        self.skipReason = skipReason
        self.objects = objects
        self.warnings = warnings
    }
}

/// What the report says about one POSIX root.
public struct PosixScanSummary: Sendable, Equatable {
    public var root: String
    public var kind: PosixIPCKind
    public var scanned: Bool
    public var skipReason: String?
    /// Objects found (after filters).
    public var objects: Int

    public init(root: String, kind: PosixIPCKind, scanned: Bool, skipReason: String?, objects: Int) {
        self.root = root
        self.kind = kind
        self.scanned = scanned
        self.skipReason = skipReason
        self.objects = objects
    }
}
