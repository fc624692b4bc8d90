import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The bytes of a save file, in order.
public protocol SaveInput {
    /// Reads some bytes; 0 at end of file.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int
}

/// A save file read through a descriptor.
public struct FileSaveInput: SaveInput {
    public let fd: Int32
    public let path: String
    let syscalls: any SaveSyscalls

    public init(fd: Int32, path: String, syscalls: any SaveSyscalls = LiveSaveSyscalls()) {
        self.fd = fd
        self.path = path
        self.syscalls = syscalls
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        switch syscalls.read(fd, into: buffer) {
        case .success(let n): return n
        case .failure(let e): throw FileError(path: path, operation: "read", errno: e)
        }
    }
}

/// A save file in memory.
public struct MemorySaveInput: SaveInput {
    let bytes: [UInt8]
    var position = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(FileError) -> Int {
        let n = min(buffer.count, bytes.count - position)
        guard n > 0, let to = buffer.baseAddress else { return 0 }
        bytes.withUnsafeBytes { raw in
            if let from = raw.baseAddress { to.copyMemory(from: from + position, byteCount: n) }
        }
        position += n
        return n
    }
}

/// What a save file holds, as it is read: its messages, or its data and holes in offset order.
public protocol SaveContentSink {
    /// One whole message (its 0-based position, its type or priority, its bytes).
    mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws
    /// Bytes of data at `offset` of the logical content (a piece of an extent).
    mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws
    /// `length` zero bytes at `offset` that are not stored (a hole; in a version 1 or 2 file, an all-zero page).
    mutating func hole(at offset: Int64, length: Int64) throws
}

/// A sink that keeps nothing (the checking pass of `restore`).
public struct DiscardingSink: SaveContentSink {
    public init() {}
    public mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws {}
    public mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws {}
    public mutating func hole(at offset: Int64, length: Int64) throws {}
}

/// What reading a whole save file found: its header, its counts and the checksum of its logical content.
public struct SaveSummary: Sendable, Equatable {
    /// A value and where it was seen (the 0-based message index).
    public struct Indexed: Sendable, Equatable {
        public var index: Int
        public var value: Int
    }

    public var version: Int
    /// Header fields in file order.
    public var header: [String] = []
    public var values: [String] = []
    public var messages = 0
    public var messageBytes: Int64 = 0
    public var largestMessage: Indexed?
    public var lowestType: Indexed?
    public var highestType: Indexed?
    /// The logical size of a segment's or file's content (nil: a queue's save).
    public var size: Int64?
    /// Bytes stored as data (without the holes; in a version 1 or 2 file, without all-zero pages).
    public var dataBytes: Int64 = 0
    /// Data records (extents; for version 1 or 2, runs of pages that are not all zero).
    public var extents = 0
    /// CRC-32 of the logical content (the message records, or the bytes with holes as zeros).
    public var content: UInt32 = 0
    /// The size of the save file.
    public var fileBytes: Int64 = 0

    /// A header field's value.
    public func value(_ name: String) -> String? { header.firstIndex(of: name).map { values[$0] } }
    /// The header as pairs.
    public var fields: [(String, String)] { Array(zip(header, values)) }
}
