/// Version of every JSON document ipcsweep prints; bumped on incompatible changes.
public let jsonSchemaVersion = 1

/// The document `list`, `orphans` and `show` print with `--format json`, streamed through the one writer:
/// `{"objects": [OBJECT...], "schemaVersion": 1, "scope": ..., "source": ..., "warnings": [...]}`, each
/// OBJECT written by `ObjectFields.table` (every kind, System V and POSIX, in one list).
public struct ObjectDocument {
    public var objects: [Classification]
    public var users: UserDirectory
    public var scope: ResolvedScope?
    public var warnings: [String]
    public var source: String
    /// The fields of each object (every documented one by default).
    public var fields: FieldTable<Classification>.JSONSelection

    public init(objects: [Classification], users: UserDirectory, scope: ResolvedScope?, warnings: [String], source: String,
                fields: FieldTable<Classification>.JSONSelection = .documented) {
        self.objects = objects
        self.users = users
        self.scope = scope
        self.warnings = warnings
        self.source = source
        self.fields = fields
    }

    /// Writes the document (with its final newline) to `sink`, in pieces of about `flushThreshold` bytes.
    public func write(pretty: Bool, flushThreshold: Int = 1 << 16, to sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        JSONStreamWriter.document(pretty: pretty, flushThreshold: flushThreshold, to: sink) { write(to: &$0) }
    }

    private func write(to w: inout JSONStreamWriter) {
        let ctx = RenderContext(users: users, now: 0)
        let objectWriter = ObjectFields.table.objectWriter(fields)
        w.beginObject()
        w.key("objects")
        w.beginArray()
        for c in objects {
            w.element()
            objectWriter.write(c, to: &w, context: ctx)
            w.flushIfNeeded()
        }
        w.endArray()
        w.key("schemaVersion")
        w.int(jsonSchemaVersion)
        w.key("scope")
        w.scope(scope)
        w.key("source")
        w.string(source)
        w.key("warnings")
        w.strings(warnings)
        w.endObject()
    }

    /// The whole document as bytes (tests, small documents).
    public func bytes(pretty: Bool = false) -> [UInt8] {
        JSONStreamWriter.documentBytes { write(pretty: pretty, to: $0) }
    }
}

extension JSONStreamWriter {
    /// Writes one document through `sink`: `body` writes the top-level value, then a final newline, all flushed.
    public static func document(pretty: Bool, flushThreshold: Int = 1 << 16, to sink: @escaping (UnsafeRawBufferPointer) -> Void,
                                _ body: (inout JSONStreamWriter) -> Void) {
        var w = JSONStreamWriter(pretty: pretty, flushThreshold: flushThreshold, sink: sink)
        body(&w)
        w.raw([10])
        w.flush()
    }

    /// A document written by `write` (given the sink), collected into bytes.
    public static func documentBytes(_ write: (@escaping (UnsafeRawBufferPointer) -> Void) -> Void) -> [UInt8] {
        let out = ByteCollector()
        write { out.bytes.append(contentsOf: $0) }
        return out.bytes
    }

    /// `null` or `{"description": S, "exclusive": B, "pids": [N...]}`.
    mutating func scope(_ scope: ResolvedScope?) {
        guard let scope else { return null() }
        beginObject()
        key("description")
        string(scope.description)
        key("exclusive")
        bool(scope.exclusive)
        key("pids")
        beginArray()
        for pid in scope.members.sorted() {
            element()
            int(pid)
        }
        endArray()
        endObject()
    }
}

/// Bytes gathered from a sink (an escaping closure cannot capture a local `var`).
final class ByteCollector {
    var bytes: [UInt8] = []
}
