import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The file `clean --save-to DIR` writes for one object before removing it.
///
/// Format (version 1), binary-safe, with a text header a person can read with `head`:
///
///     IPCSWEEP-SAVE 1
///     type msg                        (or shm)
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
///                                     (an empty line ends the header)
///     message 1 5                     msg: "message TYPE LENGTH", LENGTH raw bytes, "\n"; once per message, in queue order
///     hello
///     message 7 6
///     world!
///     end
///
/// For a segment the body is `data SIZE`, SIZE raw bytes, "\n", then `end`.
/// The file is created mode 0600 and written atomically (temporary file in DIR, fsync, rename, fsync of DIR).
public struct SaveFile: Sendable, Equatable {
    public static let magic = "IPCSWEEP-SAVE 1"

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
        a.header.map { [$0.0, $0.1] } == b.header.map { [$0.0, $0.1] } && a.messages == b.messages && a.data == b.data
    }

    /// A header field's value.
    public func value(_ name: String) -> String? { header.first { $0.0 == name }?.1 }

    /// The file name for an object: `msg-32768-0x0000abcd-1700000000.ipcsweep` (kind, id, key, ctime), so that a
    /// later object that reuses the id never overwrites an earlier save.
    public static func fileName(for o: IPCObject) -> String {
        "\(o.kind.rawValue)-\(o.id)-\(IPCTextFormat.hexKey(o.perm.key))-\(o.ctime).ipcsweep"
    }

    /// The header lines for an object, in file order.
    public static func header(for o: IPCObject, savedAt: Int64) -> [(String, String)] {
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
        case .shm(let s):
            h.append(("size", String(s.size)))
        case .sem:
            break
        }
        return h
    }

    /// The header block: magic line, "name value" lines, an empty line.
    public static func encodeHeader(_ header: [(String, String)]) -> [UInt8] {
        Array((([magic] + header.map { "\($0.0) \($0.1)" }).joined(separator: "\n") + "\n\n").utf8)
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
        return out
    }

    /// A malformed save file, naming what was wrong.
    public struct FormatError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Parses a save file (the inverse of the encoders).
    public static func parse(_ bytes: [UInt8]) throws(FormatError) -> SaveFile {
        var pos = 0
        func line() throws(FormatError) -> String {
            guard let nl = bytes[pos...].firstIndex(of: 10) else { throw FormatError(description: "unterminated line at byte \(pos)") }
            let s = String(decoding: bytes[pos..<nl], as: UTF8.self)
            pos = nl + 1
            return s
        }
        func raw(_ n: Int) throws(FormatError) -> [UInt8] {
            guard n >= 0, pos + n + 1 <= bytes.count, bytes[pos + n] == 10 else {
                throw FormatError(description: "payload of \(n) bytes at byte \(pos) is truncated or not followed by a newline")
            }
            let out = Array(bytes[pos..<(pos + n)])
            pos += n + 1
            return out
        }
        guard try line() == magic else { throw FormatError(description: "not an ipcsweep save file (first line is not \(magic))") }
        var file = SaveFile(header: [])
        while true {
            let l = try line()
            if l.isEmpty { break }
            let parts = l.split(separator: " ", maxSplits: 1)
            file.header.append((String(parts[0]), parts.count > 1 ? String(parts[1]) : ""))
        }
        while true {
            let l = try line()
            let f = l.split(separator: " ")
            if l == "end" { break }
            if f.count == 3, f[0] == "message", let type = Int(f[1]), let n = Int(f[2]) {
                file.messages.append(QueuedMessage(type: type, bytes: try raw(n)))
            } else if f.count == 2, f[0] == "data", let n = Int(f[1]) {
                file.data = try raw(n)
            } else {
                throw FormatError(description: "unexpected line \"\(l.prefix(40))\"")
            }
        }
        return file
    }
}
