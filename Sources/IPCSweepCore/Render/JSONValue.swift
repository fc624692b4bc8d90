/// A JSON value as data, for documents built as a tree (the audit report, its long lists as `lazyArray`s made
/// element by element); written through `JSONStreamWriter.value`, with object keys in sorted order.
public enum JSONValue: Equatable, Sendable {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// An array whose elements are made one at a time as it is written.
    case lazyArray(JSONLazyArray)
    case object([String: JSONValue])
    /// An object whose keys are given in byte order (`JSONFields`): written as they come, with no hashing or
    /// sorting (the audit's objects, tens of thousands of them).
    case fields(JSONFields)

    /// The value as one document with its final newline.
    public func document(pretty: Bool) -> [UInt8] {
        JSONStreamWriter.documentBytes { sink in JSONStreamWriter.document(pretty: pretty, to: sink) { $0.value(self) } }
    }
}

/// An object's members in the order they are written, which must be the byte order of their keys (as every
/// ipcsweep document sorts them); `sorted` says whether they are (tests check every document's).
public struct JSONFields: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String]
    public private(set) var values: [JSONValue]

    public init(dictionaryLiteral members: (String, JSONValue)...) {
        keys = members.map(\.0)
        values = members.map(\.1)
    }

    public init() {
        keys = []
        values = []
    }

    /// Adds a member after the others (its key must follow theirs in byte order).
    public mutating func append(_ key: String, _ value: JSONValue) {
        keys.append(key)
        values.append(value)
    }

    /// Whether the keys are in strictly increasing byte order.
    public var sorted: Bool {
        zip(keys, keys.dropFirst()).allSatisfy { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// The same members as a dictionary (tests).
    public var dictionary: [String: JSONValue] { Dictionary(zip(keys, values), uniquingKeysWith: { a, _ in a }) }
}

/// An array made element by element while it is written: a list of tens of thousands of objects (the audit's
/// orphans on a host out of semaphore sets) is never held as one tree, each element's small tree is made, written
/// and freed in turn.
public struct JSONLazyArray: Sendable, Equatable {
    public let count: Int
    private let make: @Sendable (Int) -> JSONValue

    /// The elements `element(item)` of `items`, in order.
    public init<T: Sendable>(_ items: [T], _ element: @escaping @Sendable (T) -> JSONValue) {
        count = items.count
        make = { element(items[$0]) }
    }

    public subscript(i: Int) -> JSONValue { make(i) }

    /// Every element, made at once (tests).
    public var elements: [JSONValue] { (0..<count).map(make) }

    public static func == (a: JSONLazyArray, b: JSONLazyArray) -> Bool { a.elements == b.elements }
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
        case .lazyArray(let a):
            beginArray()
            for i in 0..<a.count {
                element()
                value(a[i])
                flushIfNeeded()
            }
            endArray()
        case .object(let o):
            beginObject()
            for k in o.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                key(dynamic: k)
                value(o[k] ?? .null)
            }
            endObject()
        case .fields(let f):
            beginObject()
            for i in f.keys.indices {
                key(dynamic: f.keys[i])
                value(f.values[i])
            }
            endObject()
        }
    }
}
