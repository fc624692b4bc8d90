import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// ObjectSaver on real files with faults injected into its file calls: every error path of a save leaves the
/// directory as it was (no partial file), a save that does not fit is refused before anything is written, and a
/// complete save is in place only after fsync.
final class ObjectSaverTests: XCTestCase {
    let header: [(String, String)] = [("type", "shm"), ("id", "7"), ("size", "1073741824")]

    func sparse() -> SparseSource {
        SparseSource(size: 1 << 30, extents: [(4096, pseudoRandomBytes(10_000, seed: 11)), (1 << 29, Array("tail".utf8))])
    }

    func save(_ saver: ObjectSaver, _ source: any SaveDataSource, dir: String, stop: Bool = false) -> SaveOutcome<String> {
        saver.saveData(source, directory: dir, name: "shm-7.ipcsweep", header: header, label: "saving shm id 7",
                       beforeCommit: { stop ? "stopped" : nil })
    }

    /// A save file read through (checked) without keeping its content.
    func summary(_ path: String) throws -> SaveSummary {
        var sink = DiscardingSink()
        return try SaveReader(MemorySaveInput(Array(try XCTUnwrap(FileManager.default.contents(atPath: path))))).read(into: &sink)
    }

    func testASparseObjectIsSavedAsItsExtentsAndReadsBackToItsLogicalContent() throws {
        let dir = try scratchDirectory()
        var saver = ObjectSaver()
        saver.namespace = 4_026_531_839
        saver.bufferSize = 4096  // several chunks per extent
        let source = sparse()
        guard case .saved(let f) = save(saver, source, dir: dir) else { return XCTFail("not saved") }
        XCTAssertEqual(f.dataBytes, 10_004)
        XCTAssertEqual(f.extents, 2)
        XCTAssertEqual(entries(dir), ["shm-7.ipcsweep"])
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: f.path))
        XCTAssertEqual(Int64(bytes.count), f.fileBytes)
        XCTAssertLessThan(bytes.count, 11_000)
        var st = stat()
        XCTAssertEqual(stat(f.path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let parsed = try summary(f.path)
        XCTAssertEqual(parsed.value("ipc-namespace"), "4026531839")
        XCTAssertEqual(parsed.value("data-bytes"), "10004")
        XCTAssertEqual(parsed.size, 1 << 30)
        XCTAssertEqual(parsed.content, try ContentChecksum.of(source).get())
    }

    func testEachWriteFailureLeavesNoPartialFileAndNamesTheErrno() throws {
        for (op, call, errno) in [("write", 1, Errno.noSpace), ("write", 3, .noSpace), ("write", 2, .diskQuotaExceeded),
                                  ("write", 4, .ioError), ("fsync", 1, .ioError), ("fchmod", 1, .notPermitted),
                                  ("linkat", 1, .noSpace), ("fstatvfs", 1, .ioError)] {
            let dir = try scratchDirectory()
            let sys = FaultySyscalls()
            sys.fail(op, at: call, errno)
            var saver = ObjectSaver(syscalls: sys)
            saver.bufferSize = 4096
            guard case .failed(let why) = save(saver, sparse(), dir: dir) else { XCTFail("\(op) #\(call): saved"); continue }
            guard case .write(let e, _, _) = why else { XCTFail("\(op) #\(call): \(why)"); continue }
            XCTAssertEqual(e.errno, errno, "\(op) #\(call)")
            XCTAssertTrue(why.description.contains("partial save file was deleted"), why.description)
            if errno == .noSpace && op == "write" { XCTAssertTrue(why.description.contains("is full"), why.description) }
            if errno == .diskQuotaExceeded { XCTAssertTrue(why.description.contains("quota"), why.description) }
            XCTAssertEqual(entries(dir), [], "\(op) #\(call): nothing left in the directory")
        }
    }

    func testWithoutOTmpfileAHiddenNameIsUsedAndRemovedOnFailure() throws {
        let dir = try scratchDirectory()
        let sys = FaultySyscalls()
        sys.fail("open-tmpfile", .notSupported)
        sys.fail("write", at: 2, .noSpace)
        guard case .failed = save(ObjectSaver(syscalls: sys), sparse(), dir: dir) else { return XCTFail("saved") }
        XCTAssertEqual(entries(dir), [])
        let ok = FaultySyscalls()
        ok.fail("open-tmpfile", .notSupported)
        guard case .saved(let f) = save(ObjectSaver(syscalls: ok), sparse(), dir: dir) else { return XCTFail("not saved") }
        XCTAssertEqual(entries(dir), ["shm-7.ipcsweep"])
        XCTAssertEqual(ok.count("renameat"), 1)
        XCTAssertNoThrow(try SaveFile.parse(Array(try XCTUnwrap(FileManager.default.contents(atPath: f.path)))))
    }

    func testAnObjectThatDoesNotFitIsRefusedBeforeAnythingIsWritten() throws {
        let dir = try scratchDirectory()
        let sys = FaultySyscalls()
        // 200 MiB file system with 8 MiB free; the object has 300 MiB of data.
        sys.freeBlocks = (available: 2048, total: 51_200, frsize: 4096)
        let dense = SparseSource(size: 300 << 20, extents: [])
        let big = ClaimingSource(size: 300 << 20)
        guard case .failed(.noSpace(let short)) = save(ObjectSaver(syscalls: sys), big, dir: dir) else { return XCTFail("not refused") }
        XCTAssertEqual(short.dataBytes, 300 << 20)
        XCTAssertEqual(short.free, 8 << 20)
        XCTAssertEqual(short.margin, 2 << 20, "1 % of 200 MiB")
        XCTAssertTrue(short.description.contains("300 MiB (314572800 bytes) of data"), short.description)
        XCTAssertTrue(short.description.contains("8 MiB (8388608 bytes) free"), short.description)
        XCTAssertEqual(sys.count("write"), 0, "nothing written")
        XCTAssertEqual(entries(dir), [])
        _ = dense
    }

    func testConcurrentSavesReserveFromTheSameFreeSpace() {
        let space = SaveSpace()
        var v = statvfs()
        v.f_frsize = 4096
        v.f_blocks = 100_000
        v.f_bavail = 25_600  // 100 MiB free, margin 3.9 MiB
        XCTAssertNil(space.reserve(60 << 20, dataBytes: 0, directory: "/d", vfs: v))
        let second = space.reserve(60 << 20, dataBytes: 60 << 20, directory: "/d", vfs: v)
        XCTAssertEqual(second?.free, 40 << 20, "the first save's 60 MiB are taken")
        space.release(60 << 20)
        XCTAssertNil(space.reserve(60 << 20, dataBytes: 0, directory: "/d", vfs: v))
        XCTAssertEqual(SaveSpace.margin(filesystemBytes: 10 << 20), 1 << 20)
        XCTAssertEqual(SaveSpace.margin(filesystemBytes: 1 << 40), 64 << 20)
    }

    func testReadFailuresAndObjectsThatChangeWhileSavedAreFailuresWithNothingLeft() throws {
        let dir = try scratchDirectory()
        let failing = sparse()
        failing.readError = (from: 1 << 29, errno: .ioError)
        guard case .failed(.read(let why)) = save(ObjectSaver(), failing, dir: dir) else { return XCTFail("saved") }
        XCTAssertTrue(why.contains("offset 536870912") && why.contains("Input/output error"), why)
        let growing = sparse()
        growing.changeAfterLookups = (count: 3, extents: [(4096, pseudoRandomBytes(10_000, seed: 11)), (1 << 29, Array("tail!".utf8))])
        guard case .failed(.changed(let c)) = save(ObjectSaver(), growing, dir: dir) else { return XCTFail("saved") }
        XCTAssertTrue(c.contains("10004 bytes in 2 extents to 10005"), c)
        let shrinking = sparse()
        shrinking.changeAfterLookups = (count: 3, extents: [(4096, pseudoRandomBytes(10_000, seed: 11)), (1 << 29, Array("t".utf8))])
        guard case .failed(.changed) = save(ObjectSaver(), shrinking, dir: dir) else { return XCTFail("saved") }
        XCTAssertEqual(entries(dir), [])
    }

    func testTheCallersLastCheckCanStopTheCommit() throws {
        let dir = try scratchDirectory()
        guard case .stopped(let s) = save(ObjectSaver(), sparse(), dir: dir, stop: true) else { return XCTFail("not stopped") }
        XCTAssertEqual(s, "stopped")
        XCTAssertEqual(entries(dir), [])
    }

    func testAnEarlierSaveOfTheSameObjectIsReplacedAtomically() throws {
        let dir = try scratchDirectory()
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/shm-7.ipcsweep"))
        guard case .saved(let f) = save(ObjectSaver(), sparse(), dir: dir) else { return XCTFail("not saved") }
        XCTAssertEqual(entries(dir), ["shm-7.ipcsweep"])
        XCTAssertNoThrow(try summary(f.path))
        // The directory's fsync failing after the link: the save is removed again (the object is kept).
        let sys = FaultySyscalls()
        sys.fail("fsync", at: 2, .ioError)
        let other = try scratchDirectory()
        guard case .failed(.write(let e, _, _)) = save(ObjectSaver(syscalls: sys), sparse(), dir: other) else { return XCTFail("saved") }
        XCTAssertEqual(e.operation, "fsync the directory of")
        XCTAssertEqual(entries(other), [])
    }

    func testFileSourceUsesSeekDataAndFallsBackToOneExtentWithoutIt() throws {
        let dir = try scratchDirectory()
        let path = dir + "/sparse"
        let fd = open(path, O_CREAT | O_RDWR, 0o600)
        defer { close(fd) }
        XCTAssertEqual(ftruncate(fd, 1 << 30), 0)
        XCTAssertEqual(pwrite(fd, "abcdefgh", 8, 700 << 20), 8)
        let live = FileDataSource(fd: fd, size: 1 << 30, description: "the file")
        let m = try DataMeasure.of(live).get()
        XCTAssertEqual(m.extents, 1)
        XCTAssertLessThan(m.dataBytes, 1 << 20, "only the written block is data")
        let sys = FaultySyscalls()
        sys.fail("seek-data", .invalidArgument)
        XCTAssertEqual(try DataMeasure.of(FileDataSource(fd: fd, size: 1 << 30, description: "the file", syscalls: sys)).get(),
                       DataMeasure(dataBytes: 1 << 30, extents: 1))
        let broken = FaultySyscalls()
        broken.fail("seek-hole", .ioError)
        guard case .failed(.read(let why)) = save(ObjectSaver(), FileDataSource(fd: fd, size: 1 << 30, description: "the file", syscalls: broken), dir: dir)
        else { return XCTFail("saved") }
        XCTAssertTrue(why.contains("lseek"), why)
        XCTAssertEqual(try ContentChecksum.of(live).get(), {
            var c = CRC32()
            c.appendZeros(700 << 20)
            c.update(Array("abcdefgh".utf8))
            c.appendZeros(UInt64((1 << 30) - (700 << 20) - 8))
            return c.value
        }())
    }

    func testMessagesAreSavedWithTheSameChecks() throws {
        let dir = try scratchDirectory()
        let msgs = [QueuedMessage(type: 1, bytes: [1, 2, 3])]
        let sys = FaultySyscalls()
        sys.fail("write", .noSpace)
        let out: SaveOutcome<String> = ObjectSaver(syscalls: sys).saveMessages(msgs, directory: dir, name: "q", header: [("type", "msg")],
                                                                               label: "q", beforeCommit: { nil })
        guard case .failed(.write(let e, _, _)) = out else { return XCTFail("saved") }
        XCTAssertEqual(e.errno, .noSpace)
        XCTAssertEqual(entries(dir), [])
        let ok: SaveOutcome<String> = ObjectSaver().saveMessages(msgs, directory: dir, name: "q", header: [("type", "msg")],
                                                                 label: "q", beforeCommit: { nil })
        guard case .saved(let f) = ok else { return XCTFail("not saved") }
        XCTAssertEqual(try SaveFile.parse(Array(try XCTUnwrap(FileManager.default.contents(atPath: f.path)))).messages, msgs)
    }

    func testASegmentWhoseShmemFileCannotBeOpenedIsReadThroughItsMappingOnlyWithoutHoles() {
        let bytes = [UInt8](repeating: 7, count: 3 << 20)
        bytes.withUnsafeBytes { raw in
            let seg = SharedMemorySegment(id: 9, perm: IPCPermissions(key: 1, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600),
                                          size: UInt64(raw.count), cpid: 1, lpid: 1, nattch: 1, atime: 0, dtime: 0, ctime: 0)
            // Not a file mapping (heap memory): /proc/self/map_files has no such entry.
            guard case .failure(let why) = SegmentData.open(segment: seg, mapping: raw, usage: { (rss: 4096, swap: 0) }) else {
                return XCTFail("a mostly-hole segment was read through its mapping")
            }
            XCTAssertTrue(why.description.contains("holes resident") && why.description.contains("run clean as root"), why.description)
            guard case .success(let d) = SegmentData.open(segment: seg, mapping: raw, usage: { (rss: UInt64(2 << 20), swap: 1 << 20) }) else {
                return XCTFail("a segment without holes was refused")
            }
            XCTAssertEqual(try? DataMeasure.of(d.source).get(), DataMeasure(dataBytes: 3 << 20, extents: 1))
        }
    }
}

/// A source that claims data it never hands out (the free-space check must stop before reading).
struct ClaimingSource: SaveDataSource {
    let size: Int64
    var description: String { "the claimed object" }
    func nextExtent(from offset: Int64) -> Result<DataExtent?, Errno> {
        offset < size ? .success(DataExtent(offset: offset, length: size - offset)) : .success(nil)
    }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Result<Int, Errno> { .failure(.ioError) }
}
