import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failure while a restore fills the new object (a send, a write); the restore undoes the object.
struct RestoreFillError: Error, CustomStringConvertible {
    var description: String
}

/// Copies a save's data into a new segment's mapping, extent by extent (holes are left alone: a new segment's
/// pages are zero until written, and unwritten ones are never allocated), and checksums each piece as it now
/// reads in the segment, holes as zeros: the checksum of what the segment holds, compared with the file's.
struct SegmentFillSink: SaveContentSink {
    let base: UnsafeMutableRawPointer
    let size: Int64
    let task: SaveProgress.Task?
    var content = CRC32()

    mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws {
        throw RestoreFillError(description: "a segment's save holds queue messages")
    }

    mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws {
        guard let from = bytes.baseAddress, offset >= 0, offset + Int64(bytes.count) <= size else {
            throw RestoreFillError(description: "data at offset \(offset) lies outside the segment's \(size) bytes")
        }
        (base + Int(offset)).copyMemory(from: from, byteCount: bytes.count)
        content.update(UnsafeRawBufferPointer(start: base + Int(offset), count: bytes.count))
        task?.advance(Int64(bytes.count))
    }

    mutating func hole(at offset: Int64, length: Int64) throws { content.appendZeros(UInt64(length)) }
}

/// Writes a save's data into a new file with pwrite at each extent's offset; holes stay holes (the file was
/// ftruncated to its size first).
struct FileFillSink: SaveContentSink {
    let fd: Int32
    let path: String
    let syscalls: any SaveSyscalls
    let task: SaveProgress.Task?

    mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws {
        throw RestoreFillError(description: "a file's save holds queue messages")
    }

    mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            switch syscalls.pwrite(fd, UnsafeRawBufferPointer(rebasing: bytes[done...]), at: offset + Int64(done)) {
            case .success(let n) where n > 0: done += n
            case .success: throw RestoreFillError(description: "writing \(path) at offset \(offset) made no progress")
            case .failure(let e):
                let full = e == .noSpace ? " (the shm tmpfs is full: see `ipcsweep audit`)" : ""
                throw RestoreFillError(description: "writing \(path) at offset \(offset + Int64(done)) failed: \(e)\(full)")
            }
        }
        task?.advance(Int64(bytes.count))
    }

    mutating func hole(at offset: Int64, length: Int64) throws {}
}

/// Sends each saved message to a new queue as it is read: msgsnd (System V, with its type) or mq_send (POSIX,
/// with its priority) on a non-blocking descriptor.
struct QueueFillSink: SaveContentSink {
    /// msgsnd or mq_send of one message (type or priority, bytes), through the syscall seam.
    let send: (Int, UnsafeRawBufferPointer) -> Result<Void, Errno>
    let total: Int
    let what: String

    mutating func message(index: Int, type: Int, bytes: UnsafeRawBufferPointer) throws {
        if case .failure(let e) = send(type, bytes) {
            let full = e == .resourceTemporarilyUnavailable || e == .timedOut ? " (the queue is full)" : ""
            throw RestoreFillError(description: "sending message \(index + 1) of \(total) (\(what) \(type), \(bytes.count) bytes) failed: \(e)\(full)")
        }
    }

    mutating func data(at offset: Int64, _ bytes: UnsafeRawBufferPointer) throws {
        throw RestoreFillError(description: "a queue's save holds segment data")
    }

    mutating func hole(at offset: Int64, length: Int64) throws {
        throw RestoreFillError(description: "a queue's save holds segment data")
    }
}

/// The checksum of an object's logical content as a save computes it.
public enum ContentChecksum {
    /// Of a segment or file: its data extents read through a fixed buffer, its holes as zeros (never read).
    public static func of(_ source: any SaveDataSource, bufferSize: Int = 1 << 20) -> Result<UInt32, Errno> {
        var crc = CRC32()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 4096)
        defer { buffer.deallocate() }
        var pos: Int64 = 0
        while true {
            switch source.nextExtent(from: pos) {
            case .failure(let e): return .failure(e)
            case .success(nil):
                crc.appendZeros(UInt64(max(0, source.size - pos)))
                return .success(crc.value)
            case .success(let e?):
                crc.appendZeros(UInt64(e.offset - pos))
                var at = e.offset
                while at < e.end {
                    let want = Int(min(Int64(buffer.count), e.end - at))
                    switch source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: at) {
                    case .failure(let err): return .failure(err)
                    case .success(let n) where n > 0:
                        crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                        at += Int64(n)
                    case .success:
                        crc.appendZeros(UInt64(e.end - at))
                        at = e.end
                    }
                }
                pos = e.end
            }
        }
    }

    /// Of a queue: its message records ("message TYPE LENGTH", the bytes, a newline) in order.
    public static func of(messages: [QueuedMessage]) -> UInt32 {
        var crc = CRC32()
        for m in messages {
            crc.update(SaveFormat.messageLine(type: m.type, length: m.bytes.count))
            crc.update(m.bytes)
            crc.update(CollectionOfOne(UInt8(10)))
        }
        return crc.value
    }
}
