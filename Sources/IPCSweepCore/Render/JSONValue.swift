/// A JSON value as data, for small documents built as a tree (the audit report); written through
/// `JSONStreamWriter.value`, with object keys in sorted order.
public indirect enum JSONValue: Equatable, Sendable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    /// The value as one document with its final newline.
    public func document(pretty: Bool) -> [UInt8] {
        JSONStreamWriter.documentBytes { sink in JSONStreamWriter.document(pretty: pretty, to: sink) { $0.value(self) } }
    }
}

extension JSONStreamWriter {
    /// Writes a value tree; object keys in byte order, as every ipcsweep document.
    public mutating func value(_ v: JSONValue) {
        switch v {
        case .string(let s): string(s)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .bool(let b): bool(b)
        case .null: null()
        case .array(let a):
            beginArray()
            for e in a {
                element()
                value(e)
            }
            endArray()
        case .object(let o):
            beginObject()
            for k in o.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
                key(dynamic: k)
                value(o[k] ?? .null)
            }
            endObject()
        }
    }
}
