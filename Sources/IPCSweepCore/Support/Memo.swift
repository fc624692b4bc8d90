/// Values worked out once per key, for a pass over many objects. The last key asked is kept beside the
/// dictionary: objects listed next to each other (one program's, made one after the other) mostly ask the same,
/// and comparing a key with the last one costs a fraction of hashing it. Any other key is answered from the
/// dictionary, or made and kept: a repeat only skips work, it never changes an answer.
struct Memo<Key: Hashable, Value> {
    private var values: [Key: Value] = [:]
    private var last: (key: Key, value: Value)?

    /// The value for `key`, made by `make` the first time.
    mutating func value(for key: Key, _ make: () -> Value) -> Value {
        if let last, last.key == key { return last.value }
        let v: Value
        if let known = values[key] {
            v = known
        } else {
            v = make()
            values[key] = v
        }
        last = (key, v)
        return v
    }
}
