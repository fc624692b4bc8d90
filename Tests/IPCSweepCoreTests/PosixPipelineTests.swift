import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// POSIX objects through the one clean pipeline and the restorer, against the fake kernel: the error paths the
/// real kernel does not produce on demand — EPERM after a queue was drained, ENOSPC during a save, an object
/// that vanishes or is replaced between two calls.
final class PosixPipelineTests: XCTestCase {
    typealias F = CleanFixtures

    func pipeline(_ k: FakeKernel, _ policy: CleanPolicy = CleanPolicy()) -> CleanPipeline {
        CleanPipeline(policy: policy, kernel: k)
    }

    func object(_ k: FakeKernel, _ path: String) throws -> IPCObject {
        .posix(try XCTUnwrap(k.posixObject(path), path))
    }

    func queue(_ k: FakeKernel, _ path: String, _ messages: [QueuedMessage]) throws -> IPCObject {
        var f = FakeKernel.File(kind: .queue, inode: 0)
        f.queued = messages
        k.add(path, f)
        return try object(k, path)
    }

    let two = [QueuedMessage(type: 7, bytes: Array("urgent".utf8)), QueuedMessage(type: 1, bytes: [0, 1, 2, 255])]

    func testOrphanFileIsSavedByteForByteThenUnlinked() throws {
        let k = FakeKernel()
        k.add("/dev/shm/torch_1", bytes: Array("bytes of a dead job".utf8))
        let o = try object(k, "/dev/shm/torch_1")
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([o], decision: F.deciding())
        XCTAssertEqual(run.results.map(\.status), [.removed], run.results.first?.reason ?? "")
        XCTAssertNil(k.files["/dev/shm/torch_1"])
        let file = try SaveFile.parse(try XCTUnwrap(k.files[try XCTUnwrap(run.results[0].savedTo)]?.bytes))
        XCTAssertEqual(file.data, Array("bytes of a dead job".utf8))
        XCTAssertEqual(file.value("type"), "posix-shm")
        XCTAssertEqual(file.value("name"), "torch_1")
        XCTAssertTrue(run.results[0].reason.hasPrefix("removed (orphaned"), run.results[0].reason)
        let hidden = "/dev/shm/.ipcsweep-removing.\(k.pid).\(o.posix?.identity.inode ?? 0)"
        XCTAssertLessThan(k.calls.firstIndex { $0.hasPrefix("rename /save/") } ?? .max,
                          k.calls.firstIndex(of: "rename /dev/shm/torch_1 -> \(hidden)") ?? -1, "the save is committed before the removal")
        XCTAssertEqual(k.calls.suffix(3), ["rename /dev/shm/torch_1 -> \(hidden)", "unlinkat \(hidden)", "unlease \(hidden)"],
                       "under the lease: to a hidden name, unlinked there, then the lease let go")
    }

    /// The queue was drained into its save file, then the removal was refused: the messages go back into the
    /// queue, in their order, and the save file stays; the result says both.
    func testRemovalRefusedAfterADrainPutsTheMessagesBack() throws {
        let k = FakeKernel()
        let o = try queue(k, "/dev/mqueue/jobs", two)
        k.fail["unlinkat /dev/mqueue/jobs"] = .notPermitted
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([o], decision: F.deciding())
        let r = run.results[0]
        XCTAssertEqual(r.status, .failed, r.reason)
        XCTAssertTrue(r.reason.hasPrefix("not allowed to remove POSIX message queue /dev/mqueue/jobs"), r.reason)
        XCTAssertTrue(r.reason.contains("2 messages were put back into the queue"), r.reason)
        let path = try XCTUnwrap(r.savedTo)
        XCTAssertTrue(r.reason.contains(path), r.reason)
        XCTAssertEqual(k.files["/dev/mqueue/jobs"]?.queued, two, "every message is back, in its order")
        XCTAssertEqual(try SaveFile.parse(try XCTUnwrap(k.files[path]?.bytes)).messages, two, "and the save file stays")
        XCTAssertEqual(run.exitStatus, 4)
    }

    /// ENOSPC while writing a drained queue's save file: the messages go back, the queue stays, no file is left.
    func testFullDiskDuringAQueueSavePutsTheMessagesBack() throws {
        let k = FakeKernel()
        let o = try queue(k, "/dev/mqueue/jobs", two)
        k.spaceLeft = 20
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([o], decision: F.deciding())
        let r = run.results[0]
        XCTAssertEqual(r.status, .failed, r.reason)
        XCTAssertTrue(r.reason.contains("No space left on device"), r.reason)
        XCTAssertTrue(r.reason.contains("its messages were put back and it was not removed"), r.reason)
        XCTAssertEqual(k.files["/dev/mqueue/jobs"]?.queued, two)
        XCTAssertEqual(k.files.keys.filter { $0.hasPrefix("/save/") }, [], "no partial save file")
        XCTAssertFalse(k.calls.contains("unlinkat /dev/mqueue/jobs"))
    }

    /// ENOSPC while saving a file: nothing is removed, nothing is left behind.
    func testFullDiskDuringAFileSaveKeepsTheFile() throws {
        let k = FakeKernel()
        k.add("/dev/shm/big", bytes: [UInt8](repeating: 7, count: 10_000))
        let o = try object(k, "/dev/shm/big")
        k.spaceLeft = 4096
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([o], decision: F.deciding())
        XCTAssertEqual(run.results[0].status, .failed, run.results[0].reason)
        XCTAssertTrue(run.results[0].reason.hasPrefix("saving POSIX shared memory object /dev/shm/big failed"), run.results[0].reason)
        XCTAssertNotNil(k.files["/dev/shm/big"])
        XCTAssertEqual(k.files.keys.filter { $0.hasPrefix("/save/") }, [])
    }

    /// Gone before the fresh read, or between it and the removal (under a lease: its rename; without one: its
    /// unlink): already gone, not a failure.
    func testAnObjectThatVanishesIsAlreadyGone() throws {
        let k = FakeKernel()
        k.add("/dev/shm/a")
        k.add("/dev/shm/b")
        k.add("/dev/shm/c")
        let a = try object(k, "/dev/shm/a"), b = try object(k, "/dev/shm/b"), c = try object(k, "/dev/shm/c")
        k.files["/dev/shm/a"] = nil
        k.fail["renameat2 /dev/shm/b"] = .noSuchFileOrDirectory
        let run = pipeline(k).run([a, b], decision: F.deciding())
        XCTAssertEqual(run.results.map(\.status), [.alreadyGone, .alreadyGone])
        XCTAssertTrue(run.results[0].reason.hasPrefix("already gone: POSIX shared memory object /dev/shm/a"), run.results[0].reason)
        XCTAssertEqual(run.exitStatus, 0)
        k.leaseCaller = LeaseCaller(euid: 1, capLease: false)
        k.fail["unlinkat /dev/shm/c"] = .noSuchFileOrDirectory
        let unleased = pipeline(k).run([c], decision: F.deciding())
        XCTAssertEqual(unleased.results.map(\.status), [.alreadyGone], unleased.results.first?.reason ?? "")
    }

    /// A symbolic link (or another file) in its place is never followed or removed.
    func testAnotherFileInItsPlaceIsLeftAlone() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x")
        k.add("/dev/shm/y")
        let x = try object(k, "/dev/shm/x"), y = try object(k, "/dev/shm/y")
        k.add("/dev/shm/x", kind: .symlink)
        k.add("/dev/shm/y")
        let run = pipeline(k).run([x, y], decision: F.deciding())
        XCTAssertEqual(run.results.map(\.status), [.changed, .changed])
        XCTAssertEqual(run.results[0].changes, ["now a symbolic link /dev/shm/x"])
        XCTAssertTrue(run.results[1].changes.contains { $0.hasPrefix("another file now has its name") }, "\(run.results[1].changes)")
        XCTAssertEqual(k.calls.filter { $0.hasPrefix("unlinkat") }, [])
    }

    /// The POSIX path decides from the fresh read, as the System V one: a fresh verdict of in-use is never removed,
    /// and a holder that appeared since the plan is a change since planned.
    func testDecidedAgainFromTheFreshRead() throws {
        let k = FakeKernel()
        k.add("/dev/shm/held")
        k.add("/dev/shm/opened")
        let held = try object(k, "/dev/shm/held"), opened = try object(k, "/dev/shm/opened")
        let decision = CleanDecision(changesSincePlan: { $0.posix?.name == "opened" ? ["now held by pid 9 (python3) descriptor 3"] : [] },
                                     classify: { F.classified($0, $0.posix?.name == "held" ? .inUse : .orphaned) })
        let run = pipeline(k).run([held, opened], decision: decision)
        XCTAssertEqual(run.results.map(\.status), [.notEligible, .changed])
        XCTAssertTrue(run.results[0].reason.contains("rm -- '/dev/shm/held'"), run.results[0].reason)
        XCTAssertTrue(run.results[1].reason.hasPrefix("changed since planned: now held by pid 9"), run.results[1].reason)
        XCTAssertEqual(k.calls.filter { $0.hasPrefix("unlinkat") }, [])
        XCTAssertEqual(run.summary, "removed 0; skipped 1 (1 changed since planned); 1 not eligible (in use, unknown or suspect)")
    }

    func testModifiedSincePlannedIsSkipped() throws {
        let k = FakeKernel()
        k.add("/dev/shm/m")
        let o = try object(k, "/dev/shm/m")
        k.files["/dev/shm/m"]?.mtime = FileTime(seconds: 1_001, nanoseconds: 5)
        let run = pipeline(k).run([o], decision: F.deciding())
        XCTAssertEqual(run.results[0].changes, ["modified since planned (mtime)"])
    }

    /// A queue with messages and neither --save-to nor --discard-messages is kept for its data.
    func testQueueWithMessagesIsKeptUnlessSavedOrDiscarded() throws {
        let k = FakeKernel()
        let o = try queue(k, "/dev/mqueue/q", two)
        let kept = pipeline(k).run([o], decision: F.deciding())
        XCTAssertEqual(kept.results[0].status, .keptForData)
        XCTAssertTrue(kept.results[0].reason.hasPrefix("holds 2 messages (10 bytes): kept"), kept.results[0].reason)
        let dropped = pipeline(k, CleanPolicy(discardMessages: true)).run([o], decision: F.deciding())
        XCTAssertEqual(dropped.results[0].status, .removed)
        XCTAssertTrue(dropped.results[0].reason.hasSuffix("; discarded 2 messages (10 bytes)"), dropped.results[0].reason)
    }

    // MARK: restore

    func restorable(_ k: FakeKernel, _ o: IPCObject, policy: CleanPolicy = CleanPolicy(saveTo: "/save")) throws -> String {
        let run = pipeline(k, policy).run([o], decision: F.deciding())
        XCTAssertEqual(run.results[0].status, .removed, run.results[0].reason)
        k.add("/proc/self/mountinfo", bytes: Array("25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw\n".utf8))
        return try XCTUnwrap(run.results[0].savedTo)
    }

    func testRestoreOfAFileOnAFullTmpfsLeavesNothingBehind() throws {
        let k = FakeKernel()
        k.add("/dev/shm/data", bytes: [UInt8](repeating: 1, count: 5000))
        let path = try restorable(k, try object(k, "/dev/shm/data"))
        let plan = try Restorer.load(path, options: RestoreOptions(privileged: false, kernel: k))
        k.spaceLeft = 100
        guard case .failure(let e) = Restorer.restore(plan, options: RestoreOptions(privileged: false, kernel: k)) else { return XCTFail("restored") }
        XCTAssertTrue(e.reason.contains("writing /dev/shm/data at offset 100 failed: No space left on device"), e.reason)
        XCTAssertTrue(e.reason.contains("was removed again"), e.reason)
        XCTAssertNil(k.files["/dev/shm/data"])
        k.spaceLeft = nil
        guard case .success(let r) = Restorer.restore(plan, options: RestoreOptions(privileged: false, kernel: k)) else { return XCTFail("not restored") }
        XCTAssertEqual(r.createdPath, "/dev/shm/data")
        XCTAssertEqual(k.files["/dev/shm/data"]?.bytes, [UInt8](repeating: 1, count: 5000))
    }

    func testRestoreOfAQueueThatFillsUpIsUndone() throws {
        let k = FakeKernel()
        let path = try restorable(k, try queue(k, "/dev/mqueue/jobs", two))
        let plan = try Restorer.load(path, options: RestoreOptions(privileged: false, kernel: k))
        k.fail["mq_send /dev/mqueue/jobs"] = .resourceTemporarilyUnavailable
        guard case .failure(let e) = Restorer.restore(plan, options: RestoreOptions(privileged: false, kernel: k)) else { return XCTFail("restored") }
        XCTAssertTrue(e.reason.contains("sending message 1 of 2"), e.reason)
        XCTAssertTrue(e.reason.contains("(the queue is full)"), e.reason)
        XCTAssertNil(k.files["/dev/mqueue/jobs"], "the half-made queue was unlinked")
        guard case .success = Restorer.restore(plan, options: RestoreOptions(privileged: false, kernel: k)) else { return XCTFail("not restored") }
        XCTAssertEqual(k.files["/dev/mqueue/jobs"]?.queued, two)
    }

    func testRestoreRefusesANameThatIsTaken() throws {
        let k = FakeKernel()
        let path = try restorable(k, try queue(k, "/dev/mqueue/jobs", two))
        _ = try queue(k, "/dev/mqueue/jobs", [])
        XCTAssertThrowsError(try Restorer.load(path, options: RestoreOptions(privileged: false, kernel: k))) { e in
            XCTAssertTrue("\(e)".contains("the message queue /jobs already exists"), "\(e)")
        }
    }
}
