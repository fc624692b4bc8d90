/// Decides which objects let in more than their owner, and which belong to deleted accounts.
/// Pure functions of the object (mode, owner ids, ACL) and a name lookup.
public enum InsecureAnalysis {
    /// Group or other read/write bits of a System V object (struct ipc_perm mode), with what they allow.
    public static func sysvAccess(_ object: IPCObject, names: NameLookup) -> InsecureFinding? {
        let p = object.perm
        var grantees: [Grantee] = []
        let group = (p.mode >> 3) & 7
        let other = p.mode & 7
        if group & 6 != 0 {
            grantees.append(Grantee(source: .group, id: p.gid, name: names.group(p.gid), read: group & 4 != 0,
                                    write: group & 2 != 0, execute: group & 1 != 0))
        }
        if other & 6 != 0 {
            grantees.append(Grantee(source: .others, id: nil, name: nil, read: other & 4 != 0, write: other & 2 != 0,
                                    execute: other & 1 != 0))
        }
        guard !grantees.isEmpty else { return nil }
        let risk = grantees.map { g in
            "\(g.who) (\(g.source == .others ? "others" : "group") \(g.perms)) can \(actions(sysv: object.kind, read: g.read, write: g.write))"
        }.joined(separator: "; ")
        let creating: String
        switch object.kind {
        case .sem: creating = "semget()"
        case .shm: creating = "shmget()"
        case .msg: creating = "msgget()"
        }
        return InsecureFinding(
            subject: .sysv(kind: object.kind, id: object.id, key: p.key), issue: .mode, uid: p.uid,
            user: names.user(p.uid), gid: p.gid, mode: p.permissionBits, grantees: grantees, risk: risk,
            advice: "create it with mode 0600 (the \(creating) flags of the program that owns it) or tighten it with IPC_SET")
    }

    /// Owner or creator uid without a passwd entry, group or creator gid without a group entry.
    public static func sysvOwners(_ object: IPCObject, names: NameLookup) -> InsecureFinding? {
        let p = object.perm
        let missing = missingIDs(uid: p.uid, cuid: p.cuid, gid: p.gid, cgid: p.cgid, names: names)
        guard !missing.isEmpty else { return nil }
        let who = names.user(p.uid) == nil ? p.uid : p.cuid
        return InsecureFinding(
            subject: .sysv(kind: object.kind, id: object.id, key: p.key), issue: .unknownOwner, uid: p.uid,
            user: names.user(p.uid), gid: p.gid, mode: p.permissionBits, missing: missing,
            risk: "an account created later with that id would own it",
            advice: "if nothing uses it, remove it with `ipcsweep clean --user \(who) --id \(object.id)`, or see `ipcsweep show \(object.id)`")
    }

    /// Access beyond the owner of a /dev/shm or /dev/mqueue file: its mode bits, or its ACL's named users and groups
    /// (masked by the ACL mask), naming who is let in.
    public static func posixAccess(_ object: PosixIPCObject, names: NameLookup) -> InsecureFinding? {
        var grantees: [Grantee] = []
        func add(_ source: Grantee.Source, _ id: UInt32?, _ bits: UInt32) {
            guard bits & 6 != 0 else { return }
            let name: String? = switch source {
            case .aclUser: id.flatMap(names.user)
            case .group, .aclGroup: id.flatMap(names.group)
            case .others: nil
            }
            grantees.append(Grantee(source: source, id: id, name: name, read: bits & 4 != 0, write: bits & 2 != 0,
                                    execute: bits & 1 != 0))
        }
        if let acl = object.acl {
            let mask = acl.first { $0.tag == .mask }?.perms ?? 7
            for e in acl {
                switch e.tag {
                case .groupObj: add(.group, object.gid, e.perms & mask)
                case .user where e.qualifier != object.uid: add(.aclUser, e.qualifier, e.perms & mask)
                case .group: add(.aclGroup, e.qualifier, e.perms & mask)
                case .other: add(.others, nil, e.perms)
                default: continue
                }
            }
        } else {
            add(.group, object.gid, (object.mode >> 3) & 7)
            add(.others, nil, object.mode & 7)
        }
        guard !grantees.isEmpty else { return nil }
        let viaACL = grantees.contains { $0.source == .aclUser || $0.source == .aclGroup }
        let risk = grantees.map { g in
            let label: String = switch g.source {
            case .others: "others"
            case .group: "group"
            case .aclUser, .aclGroup: "ACL"
            }
            return "\(g.who) (\(label) \(g.perms)) can \(actions(posix: object.kind, read: g.read, write: g.write))"
        }.joined(separator: "; ")
        var advice: [String] = []
        for g in grantees {
            switch g.source {
            case .aclUser: advice.append("setfacl -x u:\(g.name ?? String(g.id ?? 0)) \(object.path)")
            case .aclGroup: advice.append("setfacl -x g:\(g.name ?? String(g.id ?? 0)) \(object.path)")
            default: continue
            }
        }
        if grantees.contains(where: { $0.source == .group || $0.source == .others }) {
            advice.append("chmod go-rw \(object.path)")
        }
        return InsecureFinding(
            subject: .posix(kind: object.kind, path: object.path), issue: viaACL ? .acl : .mode, uid: object.uid,
            user: names.user(object.uid), gid: object.gid, mode: object.mode & 0o777, grantees: grantees, risk: risk,
            advice: "restrict it: " + advice.map { "`\($0)`" }.joined(separator: ", ")
                + " (and fix the mode the program creates it with)")
    }

    /// Owner uid of a /dev/shm or /dev/mqueue file without a passwd entry, or gid without a group entry.
    public static func posixOwner(_ object: PosixIPCObject, names: NameLookup) -> InsecureFinding? {
        var missing: [String] = []
        if names.user(object.uid) == nil { missing.append("owner uid \(object.uid)") }
        if names.group(object.gid) == nil { missing.append("group gid \(object.gid)") }
        guard !missing.isEmpty else { return nil }
        return InsecureFinding(
            subject: .posix(kind: object.kind, path: object.path), issue: .unknownOwner, uid: object.uid,
            user: names.user(object.uid), gid: object.gid, mode: object.mode & 0o777, missing: missing,
            risk: "an account created later with that id would own it",
            advice: "if nothing uses it (`fuser -v \(object.path)`), remove it with `rm \(object.path)`")
    }

    /// "owner and creator uid 4242", "group gid 4242", ...: the ids that have no passwd or group entry.
    static func missingIDs(uid: UInt32, cuid: UInt32, gid: UInt32, cgid: UInt32, names: NameLookup) -> [String] {
        var out: [String] = []
        let uidMissing = names.user(uid) == nil
        let cuidMissing = names.user(cuid) == nil
        if uid == cuid {
            if uidMissing { out.append("owner and creator uid \(uid)") }
        } else {
            if uidMissing { out.append("owner uid \(uid)") }
            if cuidMissing { out.append("creator uid \(cuid)") }
        }
        let gidMissing = names.group(gid) == nil
        let cgidMissing = names.group(cgid) == nil
        if gid == cgid {
            if gidMissing { out.append("group and creator group gid \(gid)") }
        } else {
            if gidMissing { out.append("group gid \(gid)") }
            if cgidMissing { out.append("creator group gid \(cgid)") }
        }
        return out
    }

    /// What someone with read and/or write permission can do to a System V object.
    static func actions(sysv kind: IPCKind, read: Bool, write: Bool) -> String {
        var out: [String] = []
        switch kind {
        case .sem:
            if read { out.append("read its values") }
            if write { out.append("change them with semop() or SETVAL, taking the lock forever or releasing it under its holder") }
        case .shm:
            if read { out.append("attach it and read its contents") }
            if write { out.append("attach it and overwrite its contents") }
        case .msg:
            if read { out.append("receive (drain) its messages") }
            if write { out.append("send forged messages or fill it so that senders block") }
        }
        return out.joined(separator: " and ")
    }

    /// What someone with read and/or write permission can do to a POSIX IPC object.
    static func actions(posix kind: PosixIPCKind, read: Bool, write: Bool) -> String {
        switch kind {
        case .shm:
            var out: [String] = []
            if read { out.append("open it and read its contents") }
            if write { out.append("overwrite or truncate it (processes mapping it then die of SIGBUS)") }
            return out.joined(separator: " and ")
        case .sem:
            if read && write { return "sem_open() it and post or wait, taking the lock forever or releasing it under its holder" }
            return "open it \(read ? "for reading" : "for writing") only (sem_open() needs both, so little)"
        case .mq:
            var out: [String] = []
            if read { out.append("receive (drain) its messages") }
            if write { out.append("send forged messages or fill it so that senders block") }
            return out.joined(separator: " and ")
        }
    }
}
