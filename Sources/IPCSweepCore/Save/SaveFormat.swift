import SystemPackage

/// The save file format, version 3 (what `clean --save-to` writes and `restore` reads; versions 1 and 2 are
/// still read by `SaveReader`).
///
///     IPCSWEEP-SAVE 3
///     type shm                         the header: "name value" lines, as in version 2 (type, id, key, owner,
///     id 32768                         group, creator, creator-group, mode, ctime, saved; size for a segment
///     ...                              or file; messages, bytes, qbytes for a queue), plus:
///     ipc-namespace 4026531839         the IPC namespace it was saved from (the inode `lsns -t ipc` shows)
///     size 8589934592                  the logical size (segments and files)
///     data-bytes 4096                  bytes in data extents
///     extents 1                        the number of extent records
///                                      (an empty line ends the header)
///     hole 0 5368709120                "hole OFFSET LENGTH": LENGTH bytes of zeros never written (not stored)
///     extent 5368709120 4096           "extent OFFSET LENGTH", LENGTH raw bytes, "\n"
///     <4096 bytes>
///     hole 5368713216 3221221376
///     end
///     content crc32 4a17b156           CRC-32 of the logical content (holes as zeros)
///     checksum crc32 0d5c9a31          CRC-32 (zlib's) of every byte of the file before this line
///
/// The records of a segment or file tile its logical content in order, from 0 to `size`, holes included. A
/// queue's body is as in version 2: "message TYPE LENGTH", LENGTH raw bytes, "\n", once per message in queue
/// order; its content checksum covers those records. A reader ignores header fields it does not know.
public enum SaveFormat {
    /// The format version this ipcsweep writes.
    public static let currentVersion = 3
    /// "IPCSWEEP-SAVE "
    public static let magicPrefix = "IPCSWEEP-SAVE "
    /// The first line of the files this version writes.
    public static let magic = magicPrefix + String(currentVersion)
    /// The largest message a save file may hold (the largest msgrcv buffer clean uses).
    public static let maxMessageBytes = 1 << 26
    /// The largest header line, and the most header lines.
    public static let maxLineBytes = 4096
    public static let maxHeaderLines = 1024

    /// The header block: magic line, "name value" lines, an empty line.
    public static func encodeHeader(_ header: [(String, String)], version: Int = currentVersion) -> [UInt8] {
        Array((([magicPrefix + String(version)] + header.map { "\($0.0) \($0.1)" }).joined(separator: "\n") + "\n\n").utf8)
    }

    /// "message TYPE LENGTH\n": the line before a message's bytes.
    public static func messageLine(type: Int, length: Int) -> [UInt8] { Array("message \(type) \(length)\n".utf8) }

    /// A whole version 3 file for a queue's messages (in memory: a queue's messages are bounded by its capacity).
    public static func encodeMessages(header: [(String, String)], _ messages: [QueuedMessage]) -> [UInt8] {
        var e = SaveEncoder(output: ArraySaveOutput())
        // Writing to memory does not fail.
        try? e.begin(header)
        for m in messages { try? e.message(type: m.type, bytes: m.bytes) }
        try? e.finish()
        return e.output.bytes
    }
}

/// A malformed or damaged save file, naming what was wrong.
public struct SaveFormatError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where an encoder writes: the save file being written, or memory.
public protocol SaveOutput {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws(FileError)
}

/// Bytes collected in memory.
public struct ArraySaveOutput: SaveOutput {
    public var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(FileError) { self.bytes += bytes }
}

/// Writes a version 3 save file as a stream: header, records, trailer, keeping both checksums as it goes
/// (each data chunk is hashed once and its CRC folded into both).
public struct SaveEncoder<Output: SaveOutput> {
    public private(set) var output: Output
    private var file = CRC32()
    private var content = CRC32()
    /// Bytes written so far.
    public private(set) var written: Int64 = 0

    public init(output: Output) { self.output = output }

    private mutating func put(_ bytes: [UInt8], content alsoContent: Bool = false) throws(FileError) {
        var failure: FileError?
        var crc = CRC32()
        bytes.withUnsafeBytes { raw in
            crc.update(raw)
            do throws(FileError) { try output.write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        file.append(crc, length: UInt64(bytes.count))
        if alsoContent { content.append(crc, length: UInt64(bytes.count)) }
        written += Int64(bytes.count)
    }

    /// The magic line and the header.
    public mutating func begin(_ header: [(String, String)]) throws(FileError) {
        try put(SaveFormat.encodeHeader(header))
    }

    /// One message record (its line, its bytes, a newline); all of it is content.
    public mutating func message(type: Int, bytes: [UInt8]) throws(FileError) {
        try put(SaveFormat.messageLine(type: type, length: bytes.count) + bytes + [10], content: true)
    }

    /// A hole record: `length` zero bytes of content, none stored.
    public mutating func hole(at offset: Int64, length: Int64) throws(FileError) {
        try put(Array("hole \(offset) \(length)\n".utf8))
        content.appendZeros(UInt64(length))
    }

    /// The line that starts an extent record; `data` follows with exactly `length` bytes, then `endExtent`.
    public mutating func beginExtent(at offset: Int64, length: Int64) throws(FileError) {
        try put(Array("extent \(offset) \(length)\n".utf8))
    }

    /// Bytes of the current extent.
    public mutating func data(_ bytes: UnsafeRawBufferPointer) throws(FileError) {
        var crc = CRC32()
        crc.update(bytes)
        try output.write(bytes)
        file.append(crc, length: UInt64(bytes.count))
        content.append(crc, length: UInt64(bytes.count))
        written += Int64(bytes.count)
    }

    /// Bytes of the current extent, from an array.
    public mutating func data(_ bytes: [UInt8]) throws(FileError) {
        var failure: FileError?
        bytes.withUnsafeBytes { raw in
            do throws(FileError) { try data(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The newline after an extent's bytes.
    public mutating func endExtent() throws(FileError) { try put([10]) }

    /// "end", the content checksum and the file checksum.
    public mutating func finish() throws(FileError) {
        try put(Array("end\ncontent crc32 \(content.hex)\n".utf8))
        let line = Array("checksum crc32 \(file.hex)\n".utf8)
        var failure: FileError?
        line.withUnsafeBytes { raw in
            do throws(FileError) { try output.write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
        written += Int64(line.count)
    }

    /// The content checksum so far.
    public var contentChecksum: UInt32 { content.value }
}
