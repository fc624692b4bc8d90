/// One thing systemd-logind's RemoveIPC= removes (or, for an attached segment, will remove once detached).
public struct RemoveIPCItem: Sendable, Equatable {
    /// System V kinds, POSIX kinds, and the files and directories under /dev/shm.
    public enum Kind: String, Sendable, CaseIterable {
        case sem, shm, msg
        case posixShm = "posix-shm", posixSem = "posix-sem", posixMq = "posix-mq"
        case file, directory
    }

    public var kind: Kind
    /// System V: the id and key.
    public var id: Int32?
    public var key: Int32?
    /// POSIX objects and entries under /dev/shm: the path; POSIX objects also the name programs use.
    public var path: String?
    public var name: String?
    /// The verdict of a classified object; nil for an entry under /dev/shm (listed, never classified).
    public var verdict: Verdict?
    /// An entry under /dev/shm: its file type (regular, symlink, fifo, ...).
    public var fileType: ShmTreeEntry.FileType?
    /// An attached segment: how many attachments it has.
    public var nattch: UInt64?

    public init(kind: Kind, id: Int32? = nil, key: Int32? = nil, path: String? = nil, name: String? = nil,
                verdict: Verdict? = nil, fileType: ShmTreeEntry.FileType? = nil, nattch: UInt64? = nil) {
        self.kind = kind
        self.id = id
        self.key = key
        self.path = path
        self.name = name
        self.verdict = verdict
        self.fileType = fileType
        self.nattch = nattch
    }

    /// "sem 3", "posix-shm /dev/shm/x", "directory /dev/shm/d" (paths escaped: other users chose them).
    public var label: String {
        if let id { return "\(kind.rawValue) \(id)" }
        return "\(kind.rawValue) \(PosixRender.escaped(path ?? "?"))"
    }

    /// Order: System V by kind and id, then POSIX objects and entries by path.
    static func < (a: RemoveIPCItem, b: RemoveIPCItem) -> Bool {
        let ka = Kind.allCases.firstIndex(of: a.kind) ?? 0, kb = Kind.allCases.firstIndex(of: b.kind) ?? 0
        if (a.id != nil) != (b.id != nil) { return a.id != nil }
        if let ia = a.id, let ib = b.id { return ka == kb ? ia < ib : ka < kb }
        return a.path ?? "" == b.path ?? "" ? ka < kb : a.path ?? "" < b.path ?? ""
    }
}

/// What logind destroys of one non-system uid at its last logout.
public struct RemoveIPCFinding: Sendable, Equatable {
    public var uid: UInt32
    /// The login name; nil without a passwd entry.
    public var user: String?
    /// Every object and entry logind removes, in the order of `RemoveIPCItem.<`.
    public var items: [RemoveIPCItem]
    /// By verdict (System V and POSIX objects), and the entries under /dev/shm (never classified).
    public var inUse: Int
    public var suspect: Int
    public var orphaned: Int
    public var unknown: Int
    public var entries: Int
    /// "RemoveIPC=yes: these 9 objects (...) of uid 1500 (pat) will be destroyed when pat's last session ends ...".
    public var message: String

    /// The System V objects among them.
    public var objects: [IPCObjectRef] {
        items.compactMap { i in i.id.flatMap { id in IPCKind(rawValue: i.kind.rawValue).map { IPCObjectRef(kind: $0, id: id) } } }
    }
}

/// Attached System V segments of one non-system uid: logind skips them while attached, destroys them at a logout
/// of that uid once they are not.
public struct RemoveIPCAttached: Sendable, Equatable {
    public var uid: UInt32
    public var user: String?
    public var segments: [RemoveIPCItem]
    public var message: String
}

/// RemoveIPC= in the audit: the setting, what logind destroys at each non-system user's last logout, and the
/// attached segments it destroys later.
public struct RemoveIPCReport: Sendable, Equatable {
    public var setting: RemoveIPCSetting
    public var findings: [RemoveIPCFinding]
    public var attached: [RemoveIPCAttached]
    /// What the lists cannot show, in words (POSIX objects not inspected, a walk cut short).
    public var notes: [String]

    public init(setting: RemoveIPCSetting, findings: [RemoveIPCFinding], attached: [RemoveIPCAttached] = [],
                notes: [String] = []) {
        self.setting = setting
        self.findings = findings
        self.attached = attached
        self.notes = notes
    }

    /// What logind's clean-up (systemd 252 src/shared/clean-ipc.c, called for a uid above the system boundary at its
    /// last logout when RemoveIPC=yes) removes of each uid, in the current state. Pure.
    ///
    /// It matches the object's **owner** uid only, never the creator; it removes System V semaphore sets and queues
    /// whatever their use, System V segments only while no process has them attached (those go to `attached`),
    /// every POSIX shared memory object, named semaphore and queue even while open or mapped, and every entry under
    /// /dev/shm that uid owns, in any directory (a directory only when it empties). Nothing when RemoveIPC=no.
    /// - posix: the classified POSIX objects; nil when POSIX objects were not inspected (said in `notes`).
    /// - tree: the entries under /dev/shm that are not POSIX objects.
    public static func analyse(_ items: [Classification], posix: [PosixClassification]? = nil, tree: [ShmTreeEntry] = [],
                               setting: RemoveIPCSetting, names: NameLookup, notes: [String] = []) -> RemoveIPCReport {
        guard setting.enabled else { return RemoveIPCReport(setting: setting, findings: [], notes: []) }
        let boundary = setting.sysUidMax
        var destroyed: [UInt32: [RemoveIPCItem]] = [:]
        var attached: [UInt32: [RemoveIPCItem]] = [:]
        for c in items where c.object.perm.uid > boundary {
            let o = c.object
            var item = RemoveIPCItem(kind: RemoveIPCItem.Kind(rawValue: o.kind.rawValue) ?? .sem, id: o.id,
                                     key: o.perm.key, verdict: c.verdict)
            if case .shm(let s) = o, s.nattch > 0 {
                item.nattch = s.nattch
                attached[o.perm.uid, default: []].append(item)
            } else {
                destroyed[o.perm.uid, default: []].append(item)
            }
        }
        for c in posix ?? [] where c.object.uid > boundary {
            let kind: RemoveIPCItem.Kind = c.object.kind == .shm ? .posixShm : c.object.kind == .sem ? .posixSem : .posixMq
            destroyed[c.object.uid, default: []].append(
                RemoveIPCItem(kind: kind, path: c.object.path, name: c.object.name, verdict: c.verdict))
        }
        for e in tree where e.uid > boundary && e.removedWithOwner {
            destroyed[e.uid, default: []].append(
                RemoveIPCItem(kind: e.type == .directory ? .directory : .file, path: e.path, fileType: e.type))
        }
        var allNotes = notes
        if posix == nil {
            allNotes.append("POSIX objects were not inspected: systemd-logind also unlinks the /dev/shm entries and POSIX message queues of every user it cleans up after, and none of them is listed here")
        }
        let findings = destroyed.keys.sorted().map { uid in
            finding(uid: uid, items: (destroyed[uid] ?? []).sorted(by: <), setting: setting, user: names.user(uid))
        }
        let held = attached.keys.sorted().map { uid -> RemoveIPCAttached in
            let list = (attached[uid] ?? []).sorted(by: <)
            let user = names.user(uid)
            let ids = list.map(\.label).joined(separator: ", ")
            let one = list.count == 1
            let message = "RemoveIPC=yes: \(ids) of \(who(uid, user)) \(one ? "is" : "are") attached and survive\(one ? "s" : "") while attached; systemd-logind destroys \(one ? "it" : "them") at a logout of \(user.map(PosixRender.escaped) ?? "uid \(uid)") once no process has \(one ? "it" : "them") attached (a restart of the service in between is enough)"
            return RemoveIPCAttached(uid: uid, user: user, segments: list, message: message)
        }
        return RemoveIPCReport(setting: setting, findings: findings, attached: held, notes: allNotes)
    }

    static func who(_ uid: UInt32, _ user: String?) -> String {
        user.map { "uid \(uid) (\(PosixRender.escaped($0)))" } ?? "uid \(uid) (no passwd entry)"
    }

    /// One uid's finding with its message. Pure.
    static func finding(uid: UInt32, items list: [RemoveIPCItem], setting: RemoveIPCSetting, user: String?) -> RemoveIPCFinding {
        func count(_ v: Verdict) -> Int { list.filter { $0.verdict == v }.count }
        let entries = list.filter { $0.verdict == nil }.count
        let parts: [(Int, String)] = [(count(.inUse), "in-use"), (count(.suspect), "suspect"), (count(.orphaned), "orphaned"),
                                      (count(.unknown), "unknown")].filter { $0.0 > 0 }
        let these: String
        if list.count == 1, let only = list.first {
            these = only.verdict.map { "this \($0.rawValue) object" } ?? "this \(only.kind == .directory ? "directory" : "file") under /dev/shm"
        } else if entries == 0 && parts.count == 1 {
            these = "these \(list.count) \(parts[0].1) objects"
        } else if entries == list.count {
            these = "these \(entries) files and directories under /dev/shm"
        } else {
            let breakdown = parts.map { "\($0.0) \($0.1)" } + (entries > 0 ? ["\(entries) files and directories under /dev/shm"] : [])
            these = "these \(list.count) objects (\(breakdown.joined(separator: ", ")))"
        }
        let ids = list.prefix(10).map(\.label).joined(separator: ", ") + (list.count > 10 ? ", ..." : "")
        let name = user.map(PosixRender.escaped) ?? "uid \(uid)"
        let message = "RemoveIPC=yes: \(these) of \(who(uid, user)) will be destroyed when \(name)'s last session ends, in use or not (\(ids)); run the service as a system user (uid up to \(setting.sysUidMax)) or set RemoveIPC=no in a drop-in such as /etc/systemd/logind.conf.d/ipc.conf"
        return RemoveIPCFinding(uid: uid, user: user, items: list, inUse: count(.inUse), suspect: count(.suspect),
                                orphaned: count(.orphaned), unknown: count(.unknown), entries: entries, message: message)
    }
}
