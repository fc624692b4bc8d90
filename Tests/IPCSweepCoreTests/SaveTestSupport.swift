import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// The real file calls with faults injected: the Nth call of an operation (counted from 1) fails with an errno,
/// and statvfs can report another free space. Every other call is the real one, on real files.
final class FaultySyscalls: SaveSyscalls, @unchecked Sendable {
    private let live = LiveSaveSyscalls()
    private let lock = NSLock()
    /// operation name ("write", "pread", "fsync", ...) -> (the call that fails, its errno); later calls fail too
    /// when `sticky`.
    var faults: [String: (call: Int, errno: Errno, sticky: Bool)] = [:]
    /// f_bavail in f_frsize units, and f_blocks, to report from fstatvfs.
    var freeBlocks: (available: UInt, total: UInt, frsize: UInt)?
    private(set) var calls: [String: Int] = [:]

    func fail(_ op: String, at call: Int = 1, _ errno: Errno, sticky: Bool = true) {
        faults[op] = (call, errno, sticky)
    }

    func count(_ op: String) -> Int { lock.withLock { calls[op] ?? 0 } }

    private func check(_ op: String) -> Errno? {
        lock.withLock {
            calls[op, default: 0] += 1
            guard let f = faults[op] else { return nil }
            let n = calls[op] ?? 0
            return n == f.call || (f.sticky && n > f.call) ? f.errno : nil
        }
    }

    func openat(_ dir: Int32, _ path: String, flags: Int32, mode: mode_t) -> Result<Int32, Errno> {
        if let e = check(flags & LinuxFile.tmpFile == LinuxFile.tmpFile ? "open-tmpfile" : "openat") { return .failure(e) }
        return live.openat(dir, path, flags: flags, mode: mode)
    }
    func close(_ fd: Int32) { live.close(fd) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        if let e = check("read") { return .failure(e) }
        return live.read(fd, into: buffer)
    }
    func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        if let e = check("pread") { return .failure(e) }
        return live.pread(fd, into: buffer, at: offset)
    }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        if let e = check("write") { return .failure(e) }
        return live.write(fd, bytes)
    }
    func pwrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        if let e = check("pwrite") { return .failure(e) }
        return live.pwrite(fd, bytes, at: offset)
    }
    func seek(_ fd: Int32, _ offset: Int64, whence: Int32) -> Result<Int64, Errno> {
        if let e = check(whence == LinuxFile.seekData ? "seek-data" : whence == LinuxFile.seekHole ? "seek-hole" : "seek") { return .failure(e) }
        return live.seek(fd, offset, whence: whence)
    }
    func fstat(_ fd: Int32) -> Result<stat, Errno> {
        if let e = check("fstat") { return .failure(e) }
        return live.fstat(fd)
    }
    func fstatvfs(_ fd: Int32) -> Result<statvfs, Errno> {
        if let e = check("fstatvfs") { return .failure(e) }
        return live.fstatvfs(fd).map { v in
            var v = v
            if let f = freeBlocks {
                v.f_bavail = fsblkcnt_t(f.available)
                v.f_blocks = fsblkcnt_t(f.total)
                v.f_frsize = f.frsize
            }
            return v
        }
    }
    func fsync(_ fd: Int32) -> Result<Void, Errno> {
        if let e = check("fsync") { return .failure(e) }
        return live.fsync(fd)
    }
    func ftruncate(_ fd: Int32, _ size: Int64) -> Result<Void, Errno> {
        if let e = check("ftruncate") { return .failure(e) }
        return live.ftruncate(fd, size)
    }
    func fchmod(_ fd: Int32, _ mode: mode_t) -> Result<Void, Errno> {
        if let e = check("fchmod") { return .failure(e) }
        return live.fchmod(fd, mode)
    }
    func linkat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String, flags: Int32) -> Result<Void, Errno> {
        if let e = check("linkat") { return .failure(e) }
        return live.linkat(fromDir, from, toDir, to, flags: flags)
    }
    func renameat(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String) -> Result<Void, Errno> {
        if let e = check("renameat") { return .failure(e) }
        return live.renameat(fromDir, from, toDir, to)
    }
    func unlinkat(_ dir: Int32, _ path: String, flags: Int32) -> Result<Void, Errno> {
        if let e = check("unlinkat") { return .failure(e) }
        return live.unlinkat(dir, path, flags: flags)
    }
}

/// A sparse object in memory: its size and its data extents; reads can fail, or find less than was measured.
final class SparseSource: SaveDataSource {
    let size: Int64
    var extents: [(offset: Int64, bytes: [UInt8])]
    var description: String { "the test object" }
    /// A read at or after this offset fails with this errno.
    var readError: (from: Int64, errno: Errno)?
    /// After this many extent lookups, the extents are replaced (the object changed while being saved).
    var changeAfterLookups: (count: Int, extents: [(offset: Int64, bytes: [UInt8])])?
    private(set) var lookups = 0

    init(size: Int64, extents: [(Int64, [UInt8])]) {
        self.size = size
        self.extents = extents.map { (offset: $0.0, bytes: $0.1) }
    }

    func nextExtent(from offset: Int64) -> Result<DataExtent?, Errno> {
        lookups += 1
        if let c = changeAfterLookups, lookups > c.count { extents = c.extents }
        for e in extents where e.offset + Int64(e.bytes.count) > offset {
            let start = max(e.offset, offset)
            return .success(DataExtent(offset: start, length: e.offset + Int64(e.bytes.count) - start))
        }
        return .success(nil)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> {
        if let r = readError, offset >= r.from { return .failure(r.errno) }
        guard let e = extents.first(where: { $0.offset <= offset && offset < $0.offset + Int64($0.bytes.count) }) else { return .success(0) }
        let from = Int(offset - e.offset)
        let n = min(buffer.count, e.bytes.count - from)
        for i in 0..<n { buffer[i] = e.bytes[from + i] }
        return .success(n)
    }

    /// The logical content, holes as zeros.
    var logical: [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(size))
        for e in extents { out.replaceSubrange(Int(e.offset)..<(Int(e.offset) + e.bytes.count), with: e.bytes) }
        return out
    }
}

extension XCTestCase {
    /// A fresh directory under the temporary directory, removed after the test.
    func scratchDirectory() throws -> String {
        let d = NSTemporaryDirectory() + "ipcsweep-save-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    /// The names in a directory, hidden ones included.
    func entries(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }
}

/// Random bytes from a fixed seed.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var x = seed | 1
    return (0..<count).map { _ in
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return UInt8(truncatingIfNeeded: x)
    }
}
