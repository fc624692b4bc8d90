/// What `restore` prints: a table (one row per restored object) or one JSON document.
public enum RestoreReport {
    /// TYPE ID KEY OWNER PERMS CONTENT FILE (System V objects).
    public static func table(_ restored: [RestoredObject], users: UserDirectory) -> Table {
        let restored = restored.filter { !$0.kind.isPosix }
        return Table(
            columns: [.init("TYPE", minWidth: 3), .init("ID", right: true), .init("KEY", minWidth: 10),
                      .init("OWNER", flexible: true, minWidth: 5), .init("PERMS", minWidth: 4),
                      .init("CONTENT"), .init("FILE", flexible: true, minWidth: 8)],
            rows: restored.map { r in
                [.init(r.kind.rawValue), .init(String(r.id)), .init(IPCTextFormat.hexKey(r.key)),
                 .init(users.displayUser(r.uid)), .init(IPCTextFormat.octal(r.mode)), .init(content(r)), .init(r.path)]
            })
    }

    /// TYPE NAME PATH OWNER PERMS CONTENT FILE (POSIX objects).
    public static func posixTable(_ restored: [RestoredObject], users: UserDirectory) -> Table {
        Table(
            columns: [.init("TYPE", minWidth: 4), .init("NAME", flexible: true, minWidth: 4), .init("PATH", flexible: true, minWidth: 4),
                      .init("OWNER", flexible: true, minWidth: 5), .init("PERMS", minWidth: 4),
                      .init("CONTENT"), .init("FILE", flexible: true, minWidth: 8)],
            rows: restored.compactMap { r in
                guard r.kind.isPosix else { return nil }
                return [.init(r.kind.rawValue), .init(r.name ?? ""), .init(r.createdPath ?? ""),
                        .init(users.displayUser(r.uid)), .init(IPCTextFormat.octal(r.mode)), .init(content(r)), .init(r.path)]
            })
    }

    /// "3 messages, 120 bytes", "8192 bytes", or "8589934592 bytes (4 KiB of data)" when holes were left.
    public static func content(_ r: RestoredObject) -> String {
        if r.kind == .msg || r.kind == .posixMq { return "\(r.messages) message\(r.messages == 1 ? "" : "s"), \(r.bytes) bytes" }
        guard let data = r.dataBytes, data < r.bytes else { return "\(r.bytes) bytes" }
        return "\(r.bytes) bytes (\(PosixAuditSection.size(Int64(data))) of data)"
    }

    /// `{"schemaVersion": 1, "restored": [...], "failed": [{"file": S, "error": S}]}`.
    public static func document(restored: [RestoredObject], failed: [RestoreError], users: UserDirectory) -> JSONValue {
        func who(_ id: UInt32, _ name: String?, group: Bool) -> JSONValue {
            .object([group ? "gid" : "uid": .int(Int64(id)), group ? "group" : "user": name.map(JSONValue.string) ?? .null])
        }
        return .object([
            "schemaVersion": .int(Int64(jsonSchemaVersion)),
            "restored": .array(restored.map { r in
                // What every kind has, then how the object is named (a POSIX name and path, or ids and keys),
                // then its content (messages, or size and data).
                var o: [String: JSONValue] = [
                    "file": .string(r.path), "type": .string(r.kind.rawValue),
                    "owner": who(r.uid, users.userName(r.uid), group: false),
                    "group": who(r.gid, users.groupName(r.gid), group: true),
                    "mode": .int(Int64(r.mode)), "perms": .string(IPCTextFormat.octal(r.mode)),
                    "notes": .array(r.notes.map(JSONValue.string)),
                ]
                if r.kind.isPosix {
                    o["name"] = .string(r.name ?? "")
                    o["path"] = .string(r.createdPath ?? "")
                } else {
                    o["id"] = .int(Int64(r.id))
                    o["key"] = .int(Int64(r.key))
                    o["keyHex"] = .string(IPCTextFormat.hexKey(r.key))
                    o["savedId"] = r.savedId.map { .int(Int64($0)) } ?? .null
                    o["savedKey"] = .int(Int64(r.savedKey))
                    o["savedKeyHex"] = .string(IPCTextFormat.hexKey(r.savedKey))
                }
                if r.kind == .msg || r.kind == .posixMq {
                    o["messages"] = .int(Int64(r.messages))
                    o["bytes"] = .int(Int64(r.bytes))
                } else {
                    o["size"] = .int(Int64(r.bytes))
                    o["dataBytes"] = r.dataBytes.map { .int(Int64($0)) } ?? .null
                }
                return .object(o)
            }),
            "failed": .array(failed.map { .object(["file": .string($0.path), "error": .string($0.reason)]) }),
        ])
    }
}
