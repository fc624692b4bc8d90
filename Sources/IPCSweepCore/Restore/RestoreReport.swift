/// What `restore` prints: a table (one row per restored object) or one JSON document.
public enum RestoreReport {
    /// TYPE ID KEY OWNER PERMS CONTENT FILE.
    public static func table(_ restored: [RestoredObject], users: UserDirectory) -> Table {
        Table(
            columns: [.init("TYPE", minWidth: 3), .init("ID", right: true), .init("KEY", minWidth: 10),
                      .init("OWNER", flexible: true, minWidth: 5), .init("PERMS", minWidth: 4),
                      .init("CONTENT"), .init("FILE", flexible: true, minWidth: 8)],
            rows: restored.map { r in
                [.init(r.kind.rawValue), .init(String(r.id)), .init(IPCTextFormat.hexKey(r.key)),
                 .init(users.displayUser(r.uid)), .init(IPCTextFormat.octal(r.mode)), .init(content(r)), .init(r.path)]
            })
    }

    /// "3 messages, 120 bytes" or "8192 bytes".
    public static func content(_ r: RestoredObject) -> String {
        r.kind == .msg ? "\(r.messages) message\(r.messages == 1 ? "" : "s"), \(r.bytes) bytes" : "\(r.bytes) bytes"
    }

    /// `{"schemaVersion": 1, "restored": [...], "failed": [{"file": S, "error": S}]}`.
    public struct JSON: Encodable {
        let restored: [RestoredObject]
        let failed: [RestoreError]
        let users: UserDirectory

        public init(restored: [RestoredObject], failed: [RestoreError], users: UserDirectory) {
            self.restored = restored
            self.failed = failed
            self.users = users
        }

        enum K: String, CodingKey { case schemaVersion, restored, failed }
        struct Who: Encodable {
            let id: UInt32
            let name: String?
            let group: Bool
            enum K: String, CodingKey { case uid, user, gid, group }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: K.self)
                try c.encode(id, forKey: group ? .gid : .uid)
                try c.encode(name, forKey: group ? .group : .user)
            }
        }
        struct Object: Encodable {
            let r: RestoredObject
            let users: UserDirectory
            enum K: String, CodingKey {
                case file, type, id, key, keyHex, savedId, savedKey, savedKeyHex, owner, group, mode, perms, messages, bytes, size, notes
            }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: K.self)
                try c.encode(r.path, forKey: .file)
                try c.encode(r.kind.rawValue, forKey: .type)
                try c.encode(r.id, forKey: .id)
                try c.encode(r.key, forKey: .key)
                try c.encode(IPCTextFormat.hexKey(r.key), forKey: .keyHex)
                try c.encode(r.savedId, forKey: .savedId)
                try c.encode(r.savedKey, forKey: .savedKey)
                try c.encode(IPCTextFormat.hexKey(r.savedKey), forKey: .savedKeyHex)
                try c.encode(Who(id: r.uid, name: users.userName(r.uid), group: false), forKey: .owner)
                try c.encode(Who(id: r.gid, name: users.groupName(r.gid), group: true), forKey: .group)
                try c.encode(r.mode, forKey: .mode)
                try c.encode(IPCTextFormat.octal(r.mode), forKey: .perms)
                if r.kind == .msg {
                    try c.encode(r.messages, forKey: .messages)
                    try c.encode(r.bytes, forKey: .bytes)
                } else {
                    try c.encode(r.bytes, forKey: .size)
                }
                try c.encode(r.notes, forKey: .notes)
            }
        }
        struct Failure: Encodable {
            let e: RestoreError
            enum K: String, CodingKey { case file, error }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: K.self)
                try c.encode(e.path, forKey: .file)
                try c.encode(e.reason, forKey: .error)
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: K.self)
            try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
            try c.encode(restored.map { Object(r: $0, users: users) }, forKey: .restored)
            try c.encode(failed.map(Failure.init), forKey: .failed)
        }
    }
}
