import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The file `clean --save-to DIR` writes for one object before removing it, and `restore` reads.
///
/// Format (version 2), binary-safe, with a text header a person can read with `head`:
///
///     IPCSWEEP-SAVE 2
///     type msg                        the kind of object: msg or shm (the --type names; more kinds may follow)
///     id 32768
///     key 0x0000abcd
///     owner 33
///     group 33
///     creator 0
///     creator-group 0
///     mode 0600
///     ctime 1700000000
///     saved 1700000100
///     messages 2                      (msg)    | size 4096   (shm)
///     bytes 11                        (msg)
///     qbytes 16384                    (msg: the queue's capacity)
///                                     (an empty line ends the header)
///     message 1 5                     msg: "message TYPE LENGTH", LENGTH raw bytes, "\n"; once per message, in queue order
///     hello
///     message 7 6
///     world!
///     end
///     checksum crc32 54cf1cbf         CRC-32 (zlib's) of every byte before this line
///
/// For a segment the body is `data SIZE`, SIZE raw bytes, "\n", then `end`. Version 1 is the same without the
/// `checksum` line and `qbytes`; it is still read. A reader ignores header fields it does not know; a `type` it
/// does not know is refused by name. The file is created mode 0600 and written atomically (temporary file in DIR,
/// fsync, rename, fsync of DIR).
public struct SaveFile: Sendable, Equatable {
    /// The first line of the files this version writes.
    public static let magic = "IPCSWEEP-SAVE 2"
    /// The first line of the files earlier versions wrote (no checksum).
    public static let magicV1 = "IPCSWEEP-SAVE 1"
    static let magicPrefix = "IPCSWEEP-SAVE "
    /// The current format version.
    public static let currentVersion = 2

    /// The format version the file was read from (the current one for files built in memory).
    public var version: Int = SaveFile.currentVersion
    /// Header fields in file order.
    public var header: [(String, String)]
    /// Messages, in queue order (msg).
    public var messages: [QueuedMessage]
    /// The segment's bytes (shm).
    public var data: [UInt8]?

    public init(header: [(String, String)], messages: [QueuedMessage] = [], data: [UInt8]? = nil) {
        self.header = header
        self.messages = messages
        self.data = data
    }

    public static func == (a: SaveFile, b: SaveFile) -> Bool {
        a.version == b.version && a.header.map { [$0.0, $0.1] } == b.header.map { [$0.0, $0.1] }
            && a.messages == b.messages && a.data == b.data
    }

    /// A header field's value.
    public func value(_ name: String) -> String? { header.first { $0.0 == name }?.1 }

    /// The file name for an object: `msg-32768-0x0000abcd-1700000000.ipcsweep` (kind, id, key, ctime);
    /// `posix-shm-PostgreSQL.1234-<inode>-<mtime>.ipcsweep` (kind, name, inode, mtime; slashes, backslashes and
    /// the characters no terminal should get raw as `_`), so that a later object that reuses the id or the name never overwrites an earlier save.
    public static func fileName(for o: IPCObject) -> String {
        if let p = o.posix {
            let safe = String(p.name.unicodeScalars.map { TextEscape.isUnsafe($0.value) || $0 == "/" || $0 == "\\" ? "_" : Character($0) })
            return "\(p.kind.rawValue)-\(safe)-\(p.identity.inode)-\(p.mtimeNs.seconds).ipcsweep"
        }
        return "\(o.kind.rawValue)-\(o.id)-\(IPCTextFormat.hexKey(o.perm.key))-\(o.ctime).ipcsweep"
    }

    /// A header value other users chose (a POSIX object's name and path), on one line: control characters and
    /// backslashes as `\xNN` (restore refuses a name written this way rather than guess it back).
    public static func headerText(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == 0x5c }) else { return s }
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f || u.value == 0x5c {
                let h = String(u.value, radix: 16)
                out += "\\x" + (h.count < 2 ? "0" + h : h)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// The header lines for an object, in file order.
    public static func header(for o: IPCObject, savedAt: Int64) -> [(String, String)] {
        if let x = o.posix {
            return [("type", x.kind.rawValue), ("name", headerText(x.name)), ("path", headerText(x.path)),
                    ("owner", String(x.uid)), ("group", String(x.gid)), ("mode", IPCTextFormat.octal(x.mode)),
                    ("mtime", "\(x.mtimeNs.seconds).\(x.mtimeNs.nanoseconds)"), ("saved", String(savedAt))]
                + (x.kind == .posixMq ? [] : [("size", String(x.size))])
        }
        let p = o.perm
        var h: [(String, String)] = [
            ("type", o.kind.rawValue), ("id", String(o.id)), ("key", IPCTextFormat.hexKey(p.key)),
            ("owner", String(p.uid)), ("group", String(p.gid)), ("creator", String(p.cuid)),
            ("creator-group", String(p.cgid)), ("mode", IPCTextFormat.octal(p.mode)), ("ctime", String(o.ctime)),
            ("saved", String(savedAt)),
        ]
        switch o {
        case .msg(let q):
            h.append(("messages", String(q.qnum)))
            h.append(("bytes", String(q.cbytes)))
            if let qbytes = q.qbytes { h.append(("qbytes", String(qbytes))) }
        case .shm(let s):
            h.append(("size", String(s.size)))
        case .sem, .posix:
            break
        }
        return h
    }

    /// The header block: magic line, "name value" lines, an empty line.
    public static func encodeHeader(_ header: [(String, String)]) -> [UInt8] {
        Array((([magic] + header.map { "\($0.0) \($0.1)" }).joined(separator: "\n") + "\n\n").utf8)
    }

    /// The last line: the CRC-32 of everything before it.
    public static func trailer(_ checksum: CRC32) -> [UInt8] {
        let h = String(checksum.value, radix: 16)
        return Array("checksum crc32 \(String(repeating: "0", count: 8 - h.count))\(h)\n".utf8)
    }

    /// The whole file for a queue's messages.
    public static func encodeMessages(header: [(String, String)], _ messages: [QueuedMessage]) -> [UInt8] {
        var out = encodeHeader(header)
        for m in messages {
            out += Array("message \(m.type) \(m.bytes.count)\n".utf8)
            out += m.bytes
            out.append(10)
        }
        out += Array("end\n".utf8)
        var sum = CRC32()
        sum.update(out)
        out += trailer(sum)
        return out
    }

    /// Writes the file for a segment's bytes in pieces through `write` (the bytes are not copied).
    public static func writeSegment(header: [(String, String)], bytes: UnsafeRawBufferPointer,
                                    to write: (UnsafeRawBufferPointer) throws(FileError) -> Void) throws(FileError) {
        var sum = CRC32()
        func piece(_ b: [UInt8]) throws(FileError) {
            var failure: FileError?
            b.withUnsafeBytes { raw in
                sum.update(raw)
                do throws(FileError) { try write(raw) } catch { failure = error }
            }
            if let failure { throw failure }
        }
        try piece(encodeHeader(header) + Array("data \(bytes.count)\n".utf8))
        sum.update(bytes)
        try write(bytes)
        try piece(Array("\nend\n".utf8))
        let tail = trailer(sum)
        var failure: FileError?
        tail.withUnsafeBytes { raw in
            do throws(FileError) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// A malformed save file, naming what was wrong.
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Parses a save file (the inverse of the encoders): version 2 only when its checksum matches, version 1 as
    /// it is; then checks that the body agrees with the header's counts (messages, bytes, size).
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> SaveFile {
        guard let firstNewline = bytes.prefix(64).firstIndex(of: 10) else {
            throw FormatError(description: "not an ipcsweep save file (it does not start with \"\(magicPrefix)N\")")
        }
        let first = String(decoding: bytes[..<firstNewline], as: UTF8.self)
        let version: Int
        switch first {
        case magic: version = 2
        case magicV1: version = 1
        default:
            if first.hasPrefix(magicPrefix), let v = Int(first.dropFirst(magicPrefix.count)), v > currentVersion {
                throw FormatError(description: "a save file of format version \(v), newer than this ipcsweep reads (\(currentVersion)): restore it with the newer ipcsweep")
            }
            throw FormatError(description: "not an ipcsweep save file (it does not start with \"\(magicPrefix)N\")")
        }
        var end = bytes.count
        if version >= 2 {
            // The last line is "checksum crc32 XXXXXXXX" over everything before it.
            guard bytes.last == 10 else { throw FormatError(description: "truncated: it does not end with its checksum line") }
            let lineStart = (bytes[..<(bytes.count - 1)].lastIndex(of: 10) ?? -1) + 1
            let line = String(decoding: bytes[lineStart..<(bytes.count - 1)], as: UTF8.self)
            let f = line.split(separator: " ")
            guard f.count == 3, f[0] == "checksum", f[1] == "crc32", let want = UInt32(f[2], radix: 16) else {
                throw FormatError(description: "truncated: it does not end with its checksum line")
            }
            let have = CRC32.checksum(bytes[..<lineStart])
            guard have == want else {
                throw FormatError(description: "damaged: its checksum does not match (the file says crc32 \(f[2]), its contents give \(String(have, radix: 16)))")
            }
            end = lineStart
        }
        var file = try parseBody(bytes[..<end], from: firstNewline + 1)
        file.version = version
        try file.checkCounts()
        return file
    }

    /// Header and body, from just after the magic line to the end of `bytes` (which must be "end\n").
    private static func parseBody(_ bytes: ArraySlice<UInt8>, from start: Int) throws(FormatError) -> SaveFile {
        var pos = start
        func line() throws(FormatError) -> String {
            guard let nl = bytes[pos...].firstIndex(of: 10) else { throw FormatError(description: "truncated: unterminated line at byte \(pos)") }
            let s = String(decoding: bytes[pos..<nl], as: UTF8.self)
            pos = nl + 1
            return s
        }
        func raw(_ n: Int) throws(FormatError) -> [UInt8] {
            guard n >= 0, n <= bytes.endIndex - pos - 1, bytes[pos + n] == 10 else {
                throw FormatError(description: "truncated: the payload of \(n) bytes at byte \(pos) is cut short or not followed by a newline")
            }
            let out = Array(bytes[pos..<(pos + n)])
            pos += n + 1
            return out
        }
        var file = SaveFile(header: [])
        while true {
            let l = try line()
            if l.isEmpty { break }
            let parts = l.split(separator: " ", maxSplits: 1)
            guard let name = parts.first else { throw FormatError(description: "malformed header line \"\(l.prefix(40))\"") }
            file.header.append((String(name), parts.count > 1 ? String(parts[1]) : ""))
        }
        while true {
            let l = try line()
            let f = l.split(separator: " ")
            if l == "end" { break }
            if f.count == 3, f[0] == "message", let type = Int(f[1]), let n = Int(f[2]) {
                file.messages.append(QueuedMessage(type: type, bytes: try raw(n)))
            } else if f.count == 2, f[0] == "data", let n = Int(f[1]), file.data == nil {
                file.data = try raw(n)
            } else {
                throw FormatError(description: "unexpected line \"\(l.prefix(40))\"")
            }
        }
        if pos != bytes.endIndex {
            throw FormatError(description: "\(bytes.endIndex - pos) bytes after its \"end\" line")
        }
        return file
    }

    /// The header's `messages`, `bytes` and `size` (where present) agree with the body.
    private func checkCounts() throws(FormatError) {
        if let v = value("messages"), Int(v) != messages.count {
            throw FormatError(description: "its header says \(v) messages, its body holds \(messages.count)")
        }
        if let v = value("bytes"), Int(v) != messages.reduce(0, { $0 + $1.bytes.count }) {
            throw FormatError(description: "its header says \(v) message bytes, its body holds \(messages.reduce(0) { $0 + $1.bytes.count })")
        }
        if let v = value("size") {
            guard let d = data, Int(v) == d.count else {
                throw FormatError(description: "its header says a segment of \(v) bytes, its body holds \(data?.count ?? 0)")
            }
        }
    }
}
