import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// The clean pipeline with a save that cannot be done: each failure is that object's outcome (failed or skipped,
/// with the reason), the object is kept, no partial file is left, and the run goes on with the others. System V
/// objects live in the fake kernel, the POSIX file is a real file in a scratch directory; the save files are real
/// files whose calls have faults injected.
final class CleanSaveFailureTests: XCTestCase {
    typealias F = CleanFixtures

    /// The pipeline over `k`, its saves written through `syscalls`.
    func pipeline(_ k: any KernelCalls, _ policy: CleanPolicy, syscalls: any SaveSyscalls = LiveSaveSyscalls()) -> CleanPipeline {
        var p = CleanPipeline(policy: policy, kernel: k)
        p.saver = ObjectSaver(syscalls: syscalls)
        return p
    }

    /// A 4 MiB segment, a set and a queue with a message; the fake kernel's segment bytes are dense.
    func objects() -> (FakeKernel, [IPCObject]) {
        let objects = [F.sem(1), F.shm(3, size: 4 << 20), F.msg(7, qnum: 1, cbytes: 3)]
        let k = FakeKernel(objects)
        k.segmentBytes[3] = pseudoRandomBytes(4 << 20, seed: 3)
        k.messages[7] = [QueuedMessage(type: 1, bytes: [1, 2, 3])]
        return (k, objects)
    }

    func testASegmentThatDoesNotFitIsKeptWithOneLineAndTheOthersAreCleaned() throws {
        let dir = try scratchDirectory()
        let (k, objects) = objects()
        let sys = FaultySyscalls()
        // A 100 MiB file system with 2 MiB free: the queue's file fits, the segment's 4 MiB do not.
        sys.freeBlocks = (available: 512, total: 25_600, frsize: 4096)
        let policy = CleanPolicy(saveTo: dir)
        var p = pipeline(k, policy, syscalls: sys)
        let logged = LockedBox<[CleanResult]>([])
        p.log = { r in logged.mutate { $0.append(r) } }
        let run = p.run(objects, decision: F.deciding())
        let seg = try XCTUnwrap(run.results.first { $0.ref.kind == .shm })
        XCTAssertEqual(seg.outcome, .failed)
        XCTAssertTrue(seg.reason.hasPrefix("saving shared memory segment id 3 (key 0x00000055) failed: not enough space in \(dir): its 4 MiB (4194304 bytes) of data"), seg.reason)
        XCTAssertTrue(seg.reason.contains("2 MiB (2097152 bytes) free") && seg.reason.contains("not removed"), seg.reason)
        XCTAssertFalse(seg.reason.contains("\n"), "one line")
        XCTAssertEqual(run.results.filter { $0.outcome == .removed }.map(\.ref.kind), [.sem, .msg])
        XCTAssertEqual(k.removedOrder.map(\.kind), [.sem, .msg])
        XCTAssertEqual(run.exitStatus, 4)
        XCTAssertTrue(logged.value.contains { $0.ref.kind == .shm && $0.outcome == .failed }, "the journal carries the failure too")
        XCTAssertEqual(entries(dir).count, 1, "only the queue's save: \(entries(dir))")
    }

    func testENOSPCOrEIOInTheMiddleOfASegmentsSaveKeepsItAndLeavesNoFile() throws {
        for errno in [Errno.noSpace, .diskQuotaExceeded, .ioError] {
            let dir = try scratchDirectory()
            let (k, objects) = objects()
            let sys = FaultySyscalls()
            sys.fail("write", at: 3, errno)
            let policy = CleanPolicy(saveTo: dir)
            var p = pipeline(k, policy, syscalls: sys)
            p.saver.bufferSize = 1 << 20
            let run = p.run(objects, decision: F.deciding())
            let seg = try XCTUnwrap(run.results.first { $0.ref.kind == .shm })
            XCTAssertEqual(seg.outcome, .failed, "\(errno)")
            XCTAssertTrue(seg.reason.contains("\(errno)") && seg.reason.contains("partial save file was deleted"), seg.reason)
            XCTAssertFalse(k.removedOrder.contains(seg.ref))
            XCTAssertEqual(run.results.first { $0.ref.kind == .sem }?.outcome, .removed)
            XCTAssertFalse(entries(dir).contains { $0.hasPrefix("shm-") || $0.hasPrefix(".") }, "\(entries(dir))")
        }
    }

    func testUnreadableVanishingOrChangingSegmentDataIsThatObjectsOutcome() throws {
        let dir = try scratchDirectory()
        let policy = CleanPolicy(saveTo: dir)
        let cases: [(String, (SharedMemorySegment, UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure>, CleanOutcome, String)] = [
            ("no shmem file", { _, _ in .failure(.read("cannot open its shmem file (EPERM); run clean as root to save it")) },
             .failed, "run clean as root to save it"),
            ("EIO", { s, _ in
                let src = SparseSource(size: Int64(s.size), extents: [(4096, [1, 2, 3])])
                src.readError = (from: 0, errno: .ioError)
                return .success(SegmentData(source: src, fd: -1))
            }, .failed, "Input/output error"),
            ("grew", { s, _ in
                let src = SparseSource(size: Int64(s.size), extents: [(4096, [1, 2, 3])])
                src.changeAfterLookups = (count: 2, extents: [(4096, [1, 2, 3]), (8192, [4])])
                return .success(SegmentData(source: src, fd: -1))
            }, .skipped, "changed since planned (while saving)"),
        ]
        for (name, source, outcome, text) in cases {
            let (k, objects) = objects()
            k.segmentSource = source
            let run = pipeline(k, policy).run(objects, decision: F.deciding())
            let seg = try XCTUnwrap(run.results.first { $0.ref.kind == .shm })
            XCTAssertEqual(seg.outcome, outcome, name)
            XCTAssertTrue(seg.reason.contains(text), "\(name): \(seg.reason)")
            XCTAssertFalse(k.removedOrder.contains(seg.ref), name)
            XCTAssertEqual(run.results.filter { $0.outcome == .removed }.count, 2, name)
        }
        XCTAssertFalse(entries(dir).contains { $0.hasPrefix("shm-") })
    }

    /// A real file standing for a POSIX object (its directory plays the shm mount).
    func posixObject(_ dir: String, _ name: String) throws -> IPCObject {
        var st = stat()
        XCTAssertEqual(stat(dir + "/" + name, &st), 0)
        let o = PosixIPCObject(path: dir + "/" + name, kind: .posixShm, uid: st.st_uid, gid: st.st_gid, mode: UInt32(st.st_mode) & 0o7777,
                               size: Int64(st.st_size), blocks: Int64(st.st_blocks), directory: dir,
                               identity: DeviceInode(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
                               mtimeNs: FileTime(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec)),
                               ctime: FileTime(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int64(st.st_ctim.tv_nsec)))
        return .posix(o)
    }

    func testAPosixFileIsSavedAsItsExtentsOrKeptWhenTheSaveFails() throws {
        let shm = try scratchDirectory(), dir = try scratchDirectory()
        let fd = open(shm + "/sparse_file", O_CREAT | O_RDWR, 0o600)
        XCTAssertEqual(ftruncate(fd, 1 << 32), 0)
        XCTAssertEqual(pwrite(fd, "eight by", 8, 3 << 30), 8)
        close(fd)
        let c = try posixObject(shm, "sparse_file")
        let sys = FaultySyscalls()
        sys.fail("fsync", .ioError)
        let kept = pipeline(Kernel.live, CleanPolicy(saveTo: dir), syscalls: sys).run([c], decision: F.deciding()).results[0]
        XCTAssertEqual(kept.outcome, .failed)
        XCTAssertTrue(kept.reason.contains("fsync") && kept.reason.contains("Input/output error") && kept.reason.contains("not removed"), kept.reason)
        XCTAssertTrue(FileManager.default.fileExists(atPath: shm + "/sparse_file"))
        XCTAssertEqual(entries(dir), [])
        let r = pipeline(Kernel.live, CleanPolicy(saveTo: dir)).run([c], decision: F.deciding()).results[0]
        XCTAssertEqual(r.outcome, .removed, r.reason)
        XCTAssertTrue(r.reason.contains("4294967296 bytes ("), r.reason)
        XCTAssertFalse(FileManager.default.fileExists(atPath: shm + "/sparse_file"))
        let saved = try XCTUnwrap(r.savedTo)
        var sink = DiscardingSink()
        let summary = try SaveReader(MemorySaveInput(Array(try XCTUnwrap(FileManager.default.contents(atPath: saved))))).read(into: &sink)
        XCTAssertEqual(summary.size, 1 << 32)
        XCTAssertEqual(summary.extents, 1)
        XCTAssertLessThanOrEqual(summary.dataBytes, 64 << 10, "the block written, not 4 GiB")
    }
}
