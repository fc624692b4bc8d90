import FoundationEssentials

/// Version of every JSON document ipcsweep prints; bumped on incompatible changes.
public let jsonSchemaVersion = 1

/// Keys of the object JSON; the man page documents each.
enum ObjectKey: String, CodingKey {
    case type, id, key, keyHex, owner, creator, group, creatorGroup, mode, namespace, perms, verdict, reasons, evidence, holders,
         possibleHolders, lastActivity, lastActivityISO, ctime, ctimeISO
    case nsems, otime, otimeISO, semaphores, detailError
    case size, cpid, lpid, nattch, atime, atimeISO, dtime, dtimeISO, rss, swap, markedForRemoval, locked
    case cbytes, qnum, qbytes, lspid, lrpid, stime, stimeISO, rtime, rtimeISO
}

/// One classified object as JSON (list, orphans, show).
public struct ObjectJSON: Encodable {
    let c: Classification
    let users: UserDirectory

    public init(_ c: Classification, users: UserDirectory) {
        self.c = c
        self.users = users
    }

    struct Who: Encodable {
        let id: UInt32
        let name: String?
        let idKey: String
        let nameKey: String
        enum K: CodingKey {
            case custom(String)
            var stringValue: String { if case .custom(let s) = self { return s }; return "" }
            init?(stringValue: String) { self = .custom(stringValue) }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(id, forKey: .custom(idKey))
            try c.encode(name, forKey: .custom(nameKey))
        }
    }

    struct HolderJSON: Encodable {
        let h: Holder
        let user: String?
        enum K: String, CodingKey { case pid, command, unit, uid, user, relation }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(h.pid, forKey: .pid)
            try c.encode(h.command, forKey: .command)
            try c.encode(h.unit, forKey: .unit)
            try c.encode(h.uid, forKey: .uid)
            try c.encode(user, forKey: .user)
            try c.encode(h.relation.rawValue, forKey: .relation)
        }
    }

    struct SemaphoreJSON: Encodable {
        let num: Int
        let s: Semaphore
        enum K: String, CodingKey { case num, value, pid, ncnt, zcnt }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(num, forKey: .num)
            try c.encode(s.value, forKey: .value)
            try c.encode(s.pid, forKey: .pid)
            try c.encode(s.ncnt, forKey: .ncnt)
            try c.encode(s.zcnt, forKey: .zcnt)
        }
    }

    /// `{"inode": N, "owner": S, "pid": N|null}`: present with --namespace and --all-namespaces.
    struct NamespaceJSON: Encodable {
        let ns: IPCNamespaceInfo
        enum K: String, CodingKey { case inode, owner, pid }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(ns.inode, forKey: .inode)
            try c.encode(ns.owner, forKey: .owner)
            try c.encode(ns.pid, forKey: .pid)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: ObjectKey.self)
        let o = self.c.object
        try c.encodeIfPresent(self.c.namespace.map(NamespaceJSON.init), forKey: .namespace)
        let p = o.perm
        func time(_ v: Int64, _ k: ObjectKey, _ iso: ObjectKey) throws {
            try c.encode(v, forKey: k)
            try c.encode(TimeFormat.iso8601(v), forKey: iso)
        }
        try c.encode(o.kind.rawValue, forKey: .type)
        try c.encode(o.id, forKey: .id)
        try c.encode(p.key, forKey: .key)
        try c.encode(IPCTextFormat.hexKey(p.key), forKey: .keyHex)
        try c.encode(Who(id: p.uid, name: users.userName(p.uid), idKey: "uid", nameKey: "user"), forKey: .owner)
        try c.encode(Who(id: p.cuid, name: users.userName(p.cuid), idKey: "uid", nameKey: "user"), forKey: .creator)
        try c.encode(Who(id: p.gid, name: users.groupName(p.gid), idKey: "gid", nameKey: "group"), forKey: .group)
        try c.encode(Who(id: p.cgid, name: users.groupName(p.cgid), idKey: "gid", nameKey: "group"), forKey: .creatorGroup)
        try c.encode(p.mode, forKey: .mode)
        try c.encode(IPCTextFormat.octal(p.permissionBits), forKey: .perms)
        try c.encode(self.c.verdict.rawValue, forKey: .verdict)
        try c.encode(self.c.reasons, forKey: .reasons)
        try c.encode(self.c.evidence.map(EvidenceJSON.init), forKey: .evidence)
        try c.encode(self.c.holders.map { HolderJSON(h: $0, user: users.userName($0.uid)) }, forKey: .holders)
        try c.encode(self.c.possibleHolders.map { HolderJSON(h: $0, user: users.userName($0.uid)) }, forKey: .possibleHolders)
        try time(o.lastActivity, .lastActivity, .lastActivityISO)
        try time(o.ctime, .ctime, .ctimeISO)
        switch o {
        case .sem(let s):
            try c.encode(s.nsems, forKey: .nsems)
            try time(s.otime, .otime, .otimeISO)
            try c.encode(s.semaphores.map { $0.enumerated().map { SemaphoreJSON(num: $0.offset, s: $0.element) } },
                         forKey: .semaphores)
            try c.encode(s.detailError, forKey: .detailError)
        case .shm(let s):
            try c.encode(s.size, forKey: .size)
            try c.encode(s.cpid, forKey: .cpid)
            try c.encode(s.lpid, forKey: .lpid)
            try c.encode(s.nattch, forKey: .nattch)
            try time(s.atime, .atime, .atimeISO)
            try time(s.dtime, .dtime, .dtimeISO)
            try c.encode(s.rss, forKey: .rss)
            try c.encode(s.swap, forKey: .swap)
            try c.encode(s.markedForRemoval, forKey: .markedForRemoval)
            try c.encode(s.locked, forKey: .locked)
        case .msg(let q):
            try c.encode(q.cbytes, forKey: .cbytes)
            try c.encode(q.qnum, forKey: .qnum)
            try c.encode(q.qbytes, forKey: .qbytes)
            try c.encode(q.lspid, forKey: .lspid)
            try c.encode(q.lrpid, forKey: .lrpid)
            try time(q.stime, .stime, .stimeISO)
            try time(q.rtime, .rtime, .rtimeISO)
        }
    }
}

/// The document `list`, `orphans` and `show` print with `--format json`.
public struct ObjectListJSON: Encodable {
    let objects: [Classification]
    let users: UserDirectory
    let scope: ResolvedScope?
    let warnings: [String]
    let source: String
    /// POSIX objects, listed after the System V ones in `objects`.
    let posix: [PosixClassification]

    public init(objects: [Classification], users: UserDirectory, scope: ResolvedScope?, warnings: [String], source: String,
                posix: [PosixClassification] = []) {
        self.objects = objects
        self.posix = posix
        self.users = users
        self.scope = scope
        self.warnings = warnings
        self.source = source
    }

    enum K: String, CodingKey { case schemaVersion, source, scope, warnings, objects }
    struct ScopeJSON: Encodable {
        let description: String
        let exclusive: Bool
        let pids: [Int32]
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
        try c.encode(source, forKey: .source)
        try c.encode(scope.map { ScopeJSON(description: $0.description, exclusive: $0.exclusive, pids: $0.members.sorted()) },
                     forKey: .scope)
        try c.encode(warnings, forKey: .warnings)
        var list = c.nestedUnkeyedContainer(forKey: .objects)
        for o in objects { try list.encode(ObjectJSON(o, users: users)) }
        for o in posix { try list.encode(PosixRender.json(o, users: users)) }
    }
}

/// JSON encoding shared by every command: one document, keys in a stable order, a final newline.
public enum JSONOutput {
    public static func render(_ value: some Encodable, pretty: Bool = true) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(value), as: UTF8.self) + "\n"
    }
}
