import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A save file in memory: its header, and its messages or its bytes (tests and small files; `restore` streams
/// the file through `SaveReader` instead). The format is described in `SaveFormat` (version 3, written by
/// `clean --save-to` through `ObjectSaver`) and in the manual's FILES section; versions 1 and 2 are still read.
public struct SaveFile: Sendable, Equatable {
    /// The first line of the files this version writes.
    public static let magic = SaveFormat.magic
    /// The current format version.
    public static let currentVersion = SaveFormat.currentVersion

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

    /// A malformed save file, naming what was wrong.
    public typealias FormatError = SaveFormatError

    /// A whole (version 3) file for a queue's messages.
    public static func encodeMessages(header: [(String, String)], _ messages: [QueuedMessage]) -> [UInt8] {
        SaveFormat.encodeMessages(header: header, messages)
    }

    /// The most `parse` materialises (holes included).
    public static let parseLimit = 1 << 30

    /// Parses a whole save file of any version in memory (through `SaveReader`: every check it makes), with a
    /// segment's or file's holes as zeros.
    public static func parse(_ bytes: [UInt8]) throws(SaveFormatError) -> SaveFile {
        var sink = Collector()
        let summary: SaveSummary
        do { summary = try SaveReader(MemorySaveInput(bytes)).read(into: &sink) } catch let e as SaveFormatError {
            throw e
        } catch {
            throw SaveFormatError("\(error)")
        }
        var file = SaveFile(header: summary.fields, messages: sink.messages)
        if let size = summary.size {
            sink.data += [UInt8](repeating: 0, count: max(0, Int(size) - sink.data.count))
            file.data = sink.data
        }
        file.version = summary.version
        return file
    }

    /// Keeps messages and bytes.
    private struct Collector: SaveContentSink {
        var messages: [QueuedMessage] = []
        var data: [UInt8] = []

        mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws {
            messages.append(QueuedMessage(type: type, bytes: Array(bytes)))
        }

        mutating func grow(to end: Int64) throws {
            guard end <= SaveFile.parseLimit else { throw SaveFormatError("its content is too large to read into memory here (\(end) bytes)") }
            if Int(end) > data.count { data += [UInt8](repeating: 0, count: Int(end) - data.count) }
        }

        mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws {
            try grow(to: offset + Int64(bytes.count))
            data.withUnsafeMutableBytes { d in
                if let to = d.baseAddress, let from = bytes.baseAddress { (to + Int(offset)).copyMemory(from: from, byteCount: bytes.count) }
            }
        }

        mutating func hole(at offset: Int64, length: Int64) throws { try grow(to: offset + length) }
    }
}
