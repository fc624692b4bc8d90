import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads a save file of any version (1, 2, 3) as a stream through a fixed buffer, checks it and hands its
/// content to a sink: the memory used does not depend on the file's size (a message is held whole; messages
/// are at most `SaveFormat.maxMessageBytes`).
///
/// Checks: the magic line and version (a newer one is named), header and record syntax, canonical numbers,
/// lengths that are followed by their newline, v3 records that tile the content from 0 to `size` in order,
/// the file checksum (v2, v3) over every byte before its line, the content checksum (v3), nothing after the
/// last line, and the header's counts (messages, bytes, size, data-bytes, extents) against the body. The sink
/// sees content before the file checksum is verified: a caller that creates something undoes it when `read`
/// throws.
public final class SaveReader<Input: SaveInput> {
    private var input: Input
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private var atEOF = false
    private var file = CRC32()
    private var content = CRC32()
    /// Bytes of the file consumed so far (for messages naming a position).
    private var position: Int64 = 0
    static var pageSize: Int { 4096 }

    public init(_ input: Input, bufferSize: Int = 1 << 20) {
        self.input = input
        buffer = .allocate(byteCount: max(bufferSize, SaveFormat.maxLineBytes * 2), alignment: 16)
    }

    deinit { buffer.deallocate() }

    private func fail(_ why: String) -> SaveFormatError { SaveFormatError(why) }

    /// Refills the buffer after what is left in it; false at end of file.
    private func fill() throws(FileError) -> Bool {
        guard !atEOF, let base = buffer.baseAddress else { return false }
        if start > 0 {
            if end > start { (base).copyMemory(from: base + start, byteCount: end - start) }
            end -= start
            start = 0
        }
        guard end < buffer.count else { return true }
        let n = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { atEOF = true }
        end += n
        return n > 0
    }

    /// The next line without its newline; not yet hashed.
    private func line(limit: Int = SaveFormat.maxLineBytes) throws -> [UInt8] {
        while true {
            if let nl = buffer[start..<end].firstIndex(of: 10) {
                let l = Array(buffer[start..<nl])
                start = nl + 1
                position += Int64(l.count + 1)
                return l
            }
            if end - start > limit { throw fail("malformed: a line longer than \(limit) bytes at byte \(position)") }
            if try !fill() {
                throw fail(end > start ? "truncated: unterminated line at byte \(position)" : "truncated: it ends at byte \(position) without its \"end\" line\(atEOF && position == 0 ? " (empty file)" : "")")
            }
        }
    }

    private func hash(_ line: [UInt8]) {
        file.update(line)
        file.update(CollectionOfOne(UInt8(10)))
    }

    /// Streams `count` payload bytes to `chunk` (with each piece's CRC, already added to the file checksum),
    /// then expects the newline that follows a payload.
    private func payload(_ count: Int64, _ chunk: (UnsafeRawBufferPointer, CRC32) throws -> Void) throws {
        var left = count
        let at = position
        while left > 0 {
            if start == end, try !fill() {
                throw fail("truncated: the payload of \(count) bytes at byte \(at) is cut short")
            }
            let n = Int(min(Int64(end - start), left))
            let piece = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + n)])
            var crc = CRC32()
            crc.update(piece)
            file.append(crc, length: UInt64(n))
            try chunk(piece, crc)
            start += n
            position += Int64(n)
            left -= Int64(n)
        }
        if start == end, try !fill() { throw fail("truncated: the payload of \(count) bytes at byte \(at) is not followed by a newline") }
        guard buffer[start] == 10 else { throw fail("malformed: the payload of \(count) bytes at byte \(at) is not followed by a newline") }
        file.update(CollectionOfOne(UInt8(10)))
        start += 1
        position += 1
    }

    /// A canonical decimal (no sign unless negative is allowed, no leading zeros, no spaces).
    private static func number(_ s: Substring, negative: Bool = false) -> Int64? {
        guard let v = Int64(s), String(v) == s, negative || v >= 0 else { return nil }
        return v
    }

    /// Reads the whole file into `sink` and returns what it holds; throws `SaveFormatError` for a damaged or
    /// malformed file, `FileError` when it cannot be read, and whatever the sink throws.
    public func read<Sink: SaveContentSink>(into sink: inout Sink) throws -> SaveSummary {
        let first: [UInt8]
        do { first = try line(limit: 64) } catch is SaveFormatError {
            throw fail("not an ipcsweep save file (it does not start with a line \"\(SaveFormat.magicPrefix)N\")")
        }
        let text = String(decoding: first, as: UTF8.self)
        guard text.hasPrefix(SaveFormat.magicPrefix), let version = Int(text.dropFirst(SaveFormat.magicPrefix.count)),
              String(version) == text.dropFirst(SaveFormat.magicPrefix.count), version >= 1 else {
            throw fail("not an ipcsweep save file (it does not start with \"\(SaveFormat.magicPrefix)N\")")
        }
        if version > SaveFormat.currentVersion {
            throw fail("a save file of format version \(version), newer than this ipcsweep reads (\(SaveFormat.currentVersion)): restore it with the newer ipcsweep")
        }
        hash(first)
        var s = SaveSummary(version: version)
        while true {
            let l = try line()
            hash(l)
            if l.isEmpty { break }
            if s.header.count >= SaveFormat.maxHeaderLines { throw fail("malformed: more than \(SaveFormat.maxHeaderLines) header lines") }
            let t = String(decoding: l, as: UTF8.self)
            let parts = t.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first, !name.isEmpty else { throw fail("malformed header line \"\(t.prefix(40))\"") }
            s.header.append(String(name))
            s.values.append(parts.count > 1 ? String(parts[1]) : "")
        }
        if version >= 3 {
            s.size = try s.value("size").map { v throws -> Int64 in
                guard let n = Self.number(Substring(v)) else { throw fail("malformed: its header's size \"\(v.prefix(24))\" is not a number") }
                return n
            }
        }
        var pos: Int64 = 0
        var denseSeen = false
        var scratch: [UInt8] = []
        body: while true {
            let l = try line()
            hash(l)
            let t = String(decoding: l, as: UTF8.self)
            if t == "end" { break body }
            let f = t.split(separator: " ", omittingEmptySubsequences: false)
            let record = f.first.map(String.init) ?? ""
            switch (record, f.count) {
            case ("message", 3):
                guard let type = Self.number(f[1], negative: true), let n = Self.number(f[2]) else {
                    throw fail("malformed record \"\(t.prefix(40))\" at byte \(position - Int64(l.count) - 1)")
                }
                guard n <= SaveFormat.maxMessageBytes else {
                    throw fail("message \(s.messages + 1) claims \(n) bytes, more than a save holds (\(SaveFormat.maxMessageBytes))")
                }
                if denseSeen || s.size != nil && version >= 3 { throw fail("malformed: it holds both messages and data") }
                var canonical = CRC32()
                canonical.update(SaveFormat.messageLine(type: Int(type), length: Int(n)))
                scratch.removeAll(keepingCapacity: true)
                scratch.reserveCapacity(Int(n))
                try payload(n) { piece, _ in scratch.append(contentsOf: piece) }
                canonical.update(scratch)
                canonical.update(CollectionOfOne(UInt8(10)))
                content.append(canonical, length: UInt64(SaveFormat.messageLine(type: Int(type), length: Int(n)).count) + UInt64(n) + 1)
                let index = s.messages
                try scratch.withUnsafeBytes { try sink.message(index: index, type: Int(type), bytes: $0) }
                s.messages += 1
                s.messageBytes += n
                if s.largestMessage.map({ Int(n) > $0.value }) ?? true { s.largestMessage = .init(index: index, value: Int(n)) }
                if s.lowestType.map({ Int(type) < $0.value }) ?? true { s.lowestType = .init(index: index, value: Int(type)) }
                if s.highestType.map({ Int(type) > $0.value }) ?? true { s.highestType = .init(index: index, value: Int(type)) }
            case ("data", 2) where version <= 2:
                guard let n = Self.number(f[1]), !denseSeen, s.messages == 0 else {
                    throw fail("unexpected line \"\(t.prefix(40))\"")
                }
                denseSeen = true
                try dense(n, into: &sink, summary: &s)
                pos = n
            case ("extent", 3) where version >= 3, ("hole", 3) where version >= 3:
                guard let size = s.size else { throw fail("malformed: data records without a size in its header") }
                guard let offset = Self.number(f[1]), let n = Self.number(f[2]), n > 0 else {
                    throw fail("malformed record \"\(t.prefix(40))\"")
                }
                guard offset == pos, n <= size - pos else {
                    throw fail("malformed: the record \"\(t.prefix(40))\" does not continue the content at offset \(pos) within its size \(size)")
                }
                if s.messages > 0 { throw fail("malformed: it holds both messages and data") }
                if f[0] == "hole" {
                    content.appendZeros(UInt64(n))
                    try sink.hole(at: offset, length: n)
                } else {
                    var at = offset
                    try payload(n) { piece, crc in
                        content.append(crc, length: UInt64(piece.count))
                        try sink.data(at: at, piece)
                        at += Int64(piece.count)
                    }
                    s.dataBytes += n
                    s.extents += 1
                }
                pos += n
            default:
                throw fail("unexpected line \"\(t.prefix(40))\"")
            }
        }
        if version >= 3, let size = s.size, pos != size {
            throw fail("truncated: its records end at offset \(pos), its header says size \(size)")
        }
        try trailer(&s, version: version)
        if denseSeen { s.size = pos }
        try checkCounts(s, dense: denseSeen)
        s.content = content.value
        s.fileBytes = position
        return s
    }

    /// A version 1 or 2 "data N" record: pages that are all zeros become holes (as `cp --sparse=always`), the
    /// rest data. Pages are counted from offset 0; a page split between two reads is completed first.
    private func dense<Sink: SaveContentSink>(_ n: Int64, into sink: inout Sink, summary s: inout SaveSummary) throws {
        let page = Self.pageSize
        var at: Int64 = 0
        var carry: [UInt8] = []
        carry.reserveCapacity(page)
        var inData = false
        func emit(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
            if bytes.count == page, Self.allZero(bytes) {
                try sink.hole(at: offset, length: Int64(page))
                inData = false
            } else {
                try sink.data(at: offset, bytes)
                s.dataBytes += Int64(bytes.count)
                if !inData { s.extents += 1 }
                inData = true
            }
        }
        try payload(n) { piece, crc in
            content.append(crc, length: UInt64(piece.count))
            var i = 0
            if !carry.isEmpty {
                let k = min(page - carry.count, piece.count)
                carry.append(contentsOf: piece[0..<k])
                i = k
                at += Int64(k)
                if carry.count == page || at == n {
                    try carry.withUnsafeBytes { try emit($0, at: at - Int64($0.count)) }
                    carry.removeAll(keepingCapacity: true)
                }
            }
            while i < piece.count {
                let left = piece.count - i
                if left >= page || at + Int64(left) == n {
                    let k = min(page, left)
                    try emit(UnsafeRawBufferPointer(rebasing: piece[i..<(i + k)]), at: at)
                    i += k
                    at += Int64(k)
                } else {
                    carry.append(contentsOf: piece[i...])
                    at += Int64(left)
                    i = piece.count
                }
            }
        }
    }

    static func allZero(_ p: UnsafeRawBufferPointer) -> Bool {
        guard let base = p.baseAddress else { return true }
        var i = 0
        while i + 8 <= p.count {
            if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i += 8
        }
        while i < p.count {
            if base.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
            i += 1
        }
        return true
    }

    /// After "end": the content checksum (v3), the file checksum (v2, v3), and nothing else.
    private func trailer(_ s: inout SaveSummary, version: Int) throws {
        if version >= 3 {
            let l = try line()
            hash(l)
            let f = String(decoding: l, as: UTF8.self).split(separator: " ")
            guard f.count == 3, f[0] == "content", f[1] == "crc32", let want = UInt32(f[2], radix: 16) else {
                throw fail("truncated: its content checksum line is missing after \"end\"")
            }
            guard want == content.value else {
                throw fail("damaged: its content checksum does not match (the file says crc32 \(f[2]), its content gives \(content.hex))")
            }
        }
        if version >= 2 {
            let before = file
            let l = try line()
            let f = String(decoding: l, as: UTF8.self).split(separator: " ")
            guard f.count == 3, f[0] == "checksum", f[1] == "crc32", let want = UInt32(f[2], radix: 16) else {
                throw fail("truncated: it does not end with its checksum line")
            }
            guard want == before.value else {
                throw fail("damaged: its checksum does not match (the file says crc32 \(f[2]), its contents give \(before.hex))")
            }
        }
        let more = try end > start || fill()
        if more {
            throw fail("more bytes after its last line (\(s.version >= 2 ? "checksum" : "end"))")
        }
    }

    /// The header's counts agree with the body.
    private func checkCounts(_ s: SaveSummary, dense: Bool) throws {
        if let v = s.value("messages"), Int64(v) != Int64(s.messages) {
            throw fail("its header says \(v) messages, its body holds \(s.messages)")
        }
        if let v = s.value("bytes"), Int64(v) != s.messageBytes {
            throw fail("its header says \(v) message bytes, its body holds \(s.messageBytes)")
        }
        if s.version <= 2, let v = s.value("size") {
            guard dense, Int64(v) == s.size else {
                throw fail("its header says a segment of \(v) bytes, its body holds \(dense ? s.size ?? 0 : 0)")
            }
        }
        if s.version >= 3 {
            if let v = s.value("data-bytes"), Int64(v) != s.dataBytes {
                throw fail("its header says \(v) bytes of data, its body holds \(s.dataBytes)")
            }
            if let v = s.value("extents"), Int(v) != s.extents {
                throw fail("its header says \(v) extents, its body holds \(s.extents)")
            }
        }
    }
}
