/// Bytes being made for output — a JSON document (`JSONStreamWriter`), a table's lines (`Table.render`) — in one
/// allocation written through a pointer: an array's append checked its capacity and uniqueness for every piece.
/// It lives in plain struct fields (statically checked exclusivity, no per-byte runtime checks); `storage` only
/// owns the allocation, so that it is freed with the last copy. Writers `reserve` room once and `put` several
/// pieces into it; `append` reserves for its own piece. `handOn` gives the bytes to a sink and empties it, so a
/// text of any size needs only this buffer.
struct OutputBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int
    private var storage: Storage

    private final class Storage {
        let pointer: UnsafeMutablePointer<UInt8>
        init(_ p: UnsafeMutablePointer<UInt8>) { pointer = p }
        deinit { pointer.deallocate() }
    }

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
        storage = Storage(base)
    }

    /// Where the next byte goes (room for it reserved first).
    var end: UnsafeMutablePointer<UInt8> { base + count }

    /// Room for `n` more bytes.
    @inline(__always)
    mutating func reserve(_ n: Int) {
        if count &+ n > capacity { grow(count &+ n) }
    }

    private mutating func grow(_ needed: Int) {
        let newCapacity = max(capacity * 2, needed)
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        p.update(from: base, count: count)
        storage = Storage(p)  // frees the old allocation
        base = p
        capacity = newCapacity
    }

    /// Counts `n` bytes written at `end` (room reserved first).
    @inline(__always)
    mutating func advance(_ n: Int) { count &+= n }

    /// One byte into reserved room.
    @inline(__always)
    mutating func put(_ b: UInt8) {
        base[count] = b
        count &+= 1
    }

    /// `n` bytes into reserved room.
    @inline(__always)
    mutating func put(_ p: UnsafePointer<UInt8>, _ n: Int) {
        (base + count).update(from: p, count: n)
        count &+= n
    }

    @inline(__always)
    mutating func append(_ b: UInt8) {
        reserve(1)
        put(b)
    }

    @inline(__always)
    mutating func append(_ s: StaticString) {
        reserve(s.utf8CodeUnitCount)
        put(s.utf8Start, s.utf8CodeUnitCount)
    }

    @inline(__always)
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let p = bytes.baseAddress else { return }
        reserve(bytes.count)
        put(p, bytes.count)
    }

    /// A string's bytes in one copy (a native or small string's bytes are contiguous; another kind is copied
    /// first).
    mutating func append(_ s: borrowing String) {
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { append($0) }
        if done == nil {
            var copy = String(copy s)
            copy.withUTF8 { append($0) }
        }
    }

    /// `n` copies of `b`.
    mutating func append(repeating b: UInt8, count n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).initialize(repeating: b, count: n)
        count &+= n
    }

    /// Everything written so far, as bytes.
    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Hands everything written so far to `sink` and empties the buffer.
    mutating func handOn(to sink: (UnsafeRawBufferPointer) -> Void) {
        guard count > 0 else { return }
        sink(UnsafeRawBufferPointer(start: base, count: count))
        count = 0
    }
}
