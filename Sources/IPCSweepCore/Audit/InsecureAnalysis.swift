/// Decides which objects let in more than their owner, and which belong to deleted accounts.
/// Pure functions of the object (mode, owner ids, ACL) and a name lookup.
public enum InsecureAnalysis {
    /// Access beyond the owner, of any kind: `sysvAccess` or `posixAccess`.
    public static func access(_ object: IPCObject, names: NameLookup) -> InsecureFinding? {
        if let o = object.posix { return posixAccess(o, names: names) }
        return sysvAccess(object, names: names)
    }

    /// An owner or group without an entry, of any kind: `sysvOwners` or `posixOwner`.
    public static func owners(_ object: IPCObject, names: NameLookup) -> InsecureFinding? {
        if let o = object.posix { return posixOwner(o, names: names) }
        return sysvOwners(object, names: names)
    }

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
        let risk = riskSentence(grantees) { actions(sysv: object.kind, read: $0, write: $1) }
        let creating: String
        switch object.kind {
        case .sem: creating = "semget()"
        case .shm: creating = "shmget()"
        case .msg: creating = "msgget()"
        default: return nil
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
        let risk = riskSentence(grantees) { actions(posix: object.kind, read: $0, write: $1) }
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

    /// "any local user and members of group adm (gid 4) (rw-) can ...": grantees with the same access share a clause.
    static func riskSentence(_ grantees: [Grantee], actions: (Bool, Bool) -> String) -> String {
        var clauses: [String] = []
        var seen: Set<String> = []
        // Others first: "any local user" is the widest audience.
        let ordered = grantees.filter { $0.source == .others } + grantees.filter { $0.source != .others }
        for g in ordered where seen.insert(g.perms).inserted {
            let same = ordered.filter { $0.perms == g.perms }.map(\.who)
            let who = same.count == 1 ? same[0] : same.dropLast().joined(separator: ", ") + " and " + (same.last ?? "")
            clauses.append("\(who) (\(g.perms)) can \(actions(g.read, g.write))")
        }
        return clauses.joined(separator: "; ")
    }

    /// What someone with read and/or write permission can do to a System V object.
    static func actions(sysv kind: IPCKind, read: Bool, write: Bool) -> String {
        switch (kind.sysvKind, read, write) {
        case (.sem, true, true): return "read its values and change them with semop() or SETVAL, taking the lock forever or releasing it under its holder"
        case (.sem, false, true): return "change its values with semop() or SETVAL, taking the lock forever or releasing it under its holder"
        case (.sem, _, _): return "read its values and pids"
        case (.shm, true, true): return "attach it and read or overwrite its contents"
        case (.shm, true, false): return "attach it and read its contents"
        case (.shm, _, _): return "little (attaching needs read permission)"
        case (.msg, true, true): return "receive (drain) its messages, send forged ones, or fill it so that senders block"
        case (.msg, true, false): return "receive (drain) its messages"
        default: return "send forged messages or fill it so that senders block"
        }
    }

    /// What someone with read and/or write permission can do to a POSIX IPC object.
    static func actions(posix kind: IPCKind, read: Bool, write: Bool) -> String {
        switch (kind.sysvKind, read, write) {
        case (.shm, true, true): return "open it and read, overwrite or truncate it (processes mapping it then die of SIGBUS)"
        case (.shm, true, false): return "open it and read its contents"
        case (.shm, _, _): return "overwrite or truncate it (processes mapping it then die of SIGBUS)"
        case (.sem, true, true): return "sem_open() it and post or wait, taking the lock forever or releasing it under its holder"
        case (.sem, _, _): return "open it \(read ? "for reading" : "for writing") only, which is of little use (sem_open() needs both)"
        case (.msg, true, true): return "receive (drain) its messages, send forged ones, or fill it so that senders block"
        case (.msg, true, false): return "receive (drain) its messages"
        default: return "send forged messages or fill it so that senders block"
        }
    }
}
