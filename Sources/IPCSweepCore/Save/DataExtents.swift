import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A run of bytes that holds data (allocated pages, in memory or in swap) in an object's logical content.
public struct DataExtent: Sendable, Equatable {
    public var offset: Int64
    public var length: Int64
    public init(offset: Int64, length: Int64) {
        self.offset = offset
        self.length = length
    }
    public var end: Int64 { offset + length }
}

/// Where the bytes of a segment or a POSIX file come from while it is saved: its data extents and a way to read
/// them. Holes are never read.
public protocol SaveDataSource {
    /// The logical size: a segment's shm_segsz, a file's st_size.
    var size: Int64 { get }
    /// The first data extent at or after `offset` (clipped to `size`), or nil when only holes remain.
    func nextExtent(from offset: Int64) -> Result<DataExtent?, Errno>
    /// Reads up to `buffer.count` bytes at `offset`; 0 means nothing is there any more (the object shrank).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno>
    /// What is read, for messages: "its shmem file", "the file".
    var description: String { get }
}

/// The data extents of a file descriptor, found with lseek(SEEK_DATA) and lseek(SEEK_HOLE), read with pread.
///
/// On tmpfs (POSIX shared memory) and on a System V segment's shmem file, a hole is a page never written: pread
/// returns zeros for it without allocating it, and SEEK_DATA skips it; a page in swap is data. A file system
/// without SEEK_DATA (EINVAL) has one extent, the whole file.
public struct FileDataSource: SaveDataSource {
    public let fd: Int32
    public let size: Int64
    public let description: String
    let syscalls: any SaveSyscalls

    public init(fd: Int32, size: Int64, description: String, syscalls: any SaveSyscalls = LiveSaveSyscalls()) {
        self.fd = fd
        self.size = size
        self.description = description
        self.syscalls = syscalls
    }

    public func nextExtent(from offset: Int64) -> Result<DataExtent?, Errno> {
        guard offset < size else { return .success(nil) }
        let start: Int64
        switch syscalls.seek(fd, offset, whence: LinuxFile.seekData) {
        case .success(let d): start = d
        case .failure(let e) where e.rawValue == ENXIO: return .success(nil)  // only holes from here to the end
        case .failure(let e) where e == .invalidArgument || e == .notSupported:
            return .success(DataExtent(offset: offset, length: size - offset))  // no hole support: all data
        case .failure(let e): return .failure(e)
        }
        guard start < size else { return .success(nil) }
        switch syscalls.seek(fd, start, whence: LinuxFile.seekHole) {
        case .success(let h): return .success(DataExtent(offset: start, length: min(max(h, start + 1), size) - start))
        case .failure(let e) where e.rawValue == ENXIO: return .success(nil)  // truncated meanwhile
        case .failure(let e): return .failure(e)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        syscalls.pread(fd, into: buffer, at: offset)
    }
}

/// Bytes in memory (a segment's mapping whose pages are all data, or a test's bytes): one extent, the whole size.
public struct MemoryDataSource: SaveDataSource {
    public let bytes: UnsafeRawBufferPointer
    public let description: String
    public var size: Int64 { Int64(bytes.count) }

    public init(bytes: UnsafeRawBufferPointer, description: String) {
        self.bytes = bytes
        self.description = description
    }

    public func nextExtent(from offset: Int64) -> Result<DataExtent?, Errno> {
        offset < size ? .success(DataExtent(offset: offset, length: size - offset)) : .success(nil)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        guard offset >= 0, offset < size, let from = bytes.baseAddress, let to = buffer.baseAddress else { return .success(0) }
        let n = min(buffer.count, Int(size - offset))
        to.copyMemory(from: from + Int(offset), byteCount: n)
        return .success(n)
    }
}

/// What the data extents of a source add up to.
public struct DataMeasure: Sendable, Equatable {
    /// Bytes in data extents (what a save stores and what a restore allocates).
    public var dataBytes: Int64
    /// The number of data extents.
    public var extents: Int

    public init(dataBytes: Int64, extents: Int) {
        self.dataBytes = dataBytes
        self.extents = extents
    }

    /// Walks the extents (two lseeks each; nothing is read).
    public static func of(_ source: any SaveDataSource) -> Result<DataMeasure, Errno> {
        var m = DataMeasure(dataBytes: 0, extents: 0)
        var pos: Int64 = 0
        while true {
            switch source.nextExtent(from: pos) {
            case .failure(let e): return .failure(e)
            case .success(nil): return .success(m)
            case .success(let e?):
                m.dataBytes += e.length
                m.extents += 1
                pos = e.end
            }
        }
    }
}
