/// What an insecure finding is about: a System V object or a POSIX IPC file.
public enum AuditSubject: Sendable, Equatable, Hashable, CustomStringConvertible {
    case sysv(kind: IPCKind, id: Int32, key: Int32)
    case posix(kind: IPCKind, path: String)

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
