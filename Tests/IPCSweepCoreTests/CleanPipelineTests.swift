import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// Built objects for the clean tests: no IPC object is ever created.
enum CleanFixtures {
    static func perm(key: Int32 = 0x1234, uid: UInt32 = 33, mode: UInt32 = 0o600) -> IPCPermissions {
        IPCPermissions(key: key, uid: uid, gid: uid, cuid: uid, cgid: uid, mode: mode)
    }

    static func sem(_ id: Int32, pid: Int32 = 900, otime: Int64 = 1_000, nsems: Int = 2) -> IPCObject {
        .sem(SemaphoreSet(id: id, perm: perm(), nsems: nsems, otime: otime, ctime: 900,
                          semaphores: (0..<nsems).map { _ in Semaphore(value: 1, pid: pid, ncnt: 0, zcnt: 0) }))
    }

    static func shm(_ id: Int32, size: UInt64 = 16) -> IPCObject {
        .shm(SharedMemorySegment(id: id, perm: perm(key: 0x55), size: size, cpid: 700, lpid: 701, nattch: 0,
                                 atime: 950, dtime: 960, ctime: 900))
    }

    static func msg(_ id: Int32, qnum: UInt64 = 0, cbytes: UInt64 = 0) -> IPCObject {
        .msg(MessageQueue(id: id, perm: perm(key: 0x77), cbytes: cbytes, qnum: qnum, qbytes: 16384, lspid: 800,
                          lrpid: 0, stime: qnum > 0 ? 990 : 0, rtime: 0, ctime: 900))
    }

    static func classified(_ o: IPCObject, _ v: Verdict = .orphaned) -> Classification {
        Classification(object: o, verdict: v, reasons: ["because of test \(v.rawValue)"])
    }

    /// A decision that judges every fresh read `verdict` (or by object, with `by`).
    static func deciding(_ verdict: Verdict = .orphaned, by: (@Sendable (IPCObject) -> Verdict)? = nil) -> CleanDecision {
        CleanDecision { classified($0, by?($0) ?? verdict) }
    }
}

/// The clean pipeline as production runs it (`CleanPipeline.run`: fresh read, compare, decide again, the plan's rule
/// on the fresh verdict, save, remove), System V objects against a fake kernel: outcomes for every errno and
/// change, saving, signals.
final class CleanPipelineTests: XCTestCase {
    typealias F = CleanFixtures

    func pipeline(_ k: FakeKernel, _ policy: CleanPolicy = CleanPolicy()) -> CleanPipeline {
        CleanPipeline(policy: policy, kernel: k)
    }

    func testRemovesUnchangedOrphansAndLogsThem() {
        let objects = [F.sem(1), F.sem(2), F.shm(3)]
        let k = FakeKernel(objects)
        var p = pipeline(k)
        let logged = LockedBox<[IPCObjectRef]>([])
        p.log = { r in logged.mutate { $0.append(r.ref) } }
        let run = p.run(objects, decision: F.deciding())
        XCTAssertEqual(run.results.map(\.outcome), [.removed, .removed, .removed])
        XCTAssertEqual(run.results.map(\.status), [.removed, .removed, .removed])
        XCTAssertEqual(k.removedOrder, objects.map(\.ref))
        XCTAssertEqual(logged.value, objects.map(\.ref))
        XCTAssertEqual(run.exitStatus, 0)
    }

    func testDryRunChangesNothing() {
        let k = FakeKernel([F.sem(1)])
        let run = pipeline(k, CleanPolicy(dryRun: true)).run([F.sem(1)], decision: F.deciding())
        XCTAssertEqual(run.results.map(\.outcome), [.planned])
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(k.statCount, [IPCObjectRef(kind: .sem, id: 1): 1], "a dry run reads each object once to decide it")
    }

    /// The verdict that counts is the fresh read's: in-use and unknown are never removed, whatever the flags (and
    /// whatever the plan thought).
    func testNeverRemovesInUseOrUnknownWhateverTheFlags() {
        let objects = [F.sem(1), F.shm(2), F.msg(3, qnum: 1, cbytes: 1)]
        let k = FakeKernel(objects)
        let policy = CleanPolicy(includeSuspect: true, discardMessages: true, saveTo: "/save")
        let run = pipeline(k, policy).run(objects, decision: F.deciding(by: { $0.kind == .shm ? .unknown : .inUse }))
        XCTAssertEqual(run.results.map(\.outcome), [.skipped, .skipped, .skipped])
        XCTAssertEqual(run.results.map(\.status), [.notEligible, .notEligible, .notEligible])
        XCTAssertTrue(run.results[0].reason.contains("ipcrm -s 1"), run.results[0].reason)
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(k.files.keys.filter { $0.hasPrefix("/save/") }, [], "nothing was saved either")
        XCTAssertEqual(run.exitStatus, 0)
    }

    func testChangedSincePlannedIsSkippedAndSaysWhat() {
        let k = FakeKernel([F.sem(1), F.sem(2)])
        // Someone operates on set 1 between plan and removal.
        k.objects[IPCObjectRef(kind: .sem, id: 1)] = F.sem(1, pid: 1234, otime: 1_001)
        let run = pipeline(k).run([F.sem(1), F.sem(2)], decision: F.deciding())
        XCTAssertEqual(run.results.map(\.outcome), [.skipped, .removed])
        XCTAssertEqual(run.results[0].status, .changed)
        XCTAssertTrue(run.results[0].reason.hasPrefix("changed since planned"), run.results[0].reason)
        XCTAssertTrue(run.results[0].reason.contains("pid 900 -> 1234"), run.results[0].reason)
        XCTAssertTrue(run.results[0].changes.contains("otime 1000 -> 1001"))
        XCTAssertEqual(run.exitStatus, 4)
    }

    func testAnIdReusedByANewObjectIsNotRemoved() {
        let k = FakeKernel()
        var reused = F.sem(1)
        if case .sem(var s) = reused { s.ctime = 1_500; s.perm.key = 0x999; reused = .sem(s) }
        k.objects[reused.ref] = reused
        let run = pipeline(k).run([F.sem(1)], decision: F.deciding())
        XCTAssertEqual(run.results[0].outcome, .skipped)
        XCTAssertEqual(k.removedOrder, [])
    }

    func testErrnoOutcomes() {
        let objects = [F.sem(1), F.sem(2), F.sem(3), F.sem(4), F.sem(5)]
        let k = FakeKernel(objects)
        k.objects.removeValue(forKey: objects[0].ref)                 // gone before the re-check
        k.removeErrors[objects[1].ref] = .identifierRemoved           // gone between re-check and IPC_RMID
        k.removeErrors[objects[2].ref] = .notPermitted                // not the owner
        k.statErrors[objects[3].ref] = .permissionDenied              // cannot even stat
        let run = pipeline(k).run(objects, decision: F.deciding())
        XCTAssertEqual(run.results.map(\.outcome), [.skipped, .skipped, .failed, .failed, .removed],
                       "one failure never stops the rest")
        XCTAssertEqual(run.results.map(\.alreadyGone), [true, true, false, false, false])
        XCTAssertTrue(run.results[0].reason.hasPrefix("already gone"))
        XCTAssertTrue(run.results[2].reason.hasPrefix("not the owner or creator of id 3, and not privileged"), run.results[2].reason)
        XCTAssertEqual(run.exitStatus, 4)
        let goneOnly = pipeline(FakeKernel()).run([F.sem(9)], decision: F.deciding())
        XCTAssertEqual(goneOnly.exitStatus, 0, "already gone alone is success")
    }

    func testSignalStopsBetweenObjects() {
        let objects = (1...5).map { F.sem(Int32($0)) }
        let k = FakeKernel(objects)
        var p = pipeline(k)
        let pending = LockedBox<PendingSignal?>(nil)
        p.beforeRecheck = { seq, _ in if seq == 2 { pending.mutate { $0 = PendingSignal(signo: 15, senderPid: 321, senderUid: 0) } } }
        p.pendingSignal = { pending.value }
        let run = p.run(objects, decision: F.deciding())
        XCTAssertEqual(run.results.map(\.outcome), [.removed, .removed, .skipped, .skipped, .skipped],
                       "the object in hand is finished, the rest are not attempted")
        XCTAssertEqual(k.removedOrder.count, 2)
        XCTAssertEqual(run.interruption?.description, "SIGTERM from pid 321 (uid 0)")
        XCTAssertEqual(run.counts.notAttempted, 3)
        XCTAssertEqual(run.exitStatus, 143)
    }

    /// The plan read only the sets' stats; the one fresh read (with every semaphore) is the re-check and decides.
    func testOneFreshReadPerObjectDecides() {
        func cheap(_ o: IPCObject) -> IPCObject {
            guard case .sem(var s) = o else { return o }
            s.semaphores = nil
            return .sem(s)
        }
        var waited = F.sem(2)
        if case .sem(var s) = waited { s.semaphores?[1].ncnt = 1; waited = .sem(s) }
        let k = FakeKernel([F.sem(1), waited, F.shm(3)])
        let decided = LockedBox<[IPCObject]>([])
        let run = pipeline(k).run([F.sem(1), F.sem(2), F.shm(3)].map(cheap), decision: CleanDecision { fresh in
            decided.mutate { $0.append(fresh) }
            guard case .sem(let s) = fresh, let sems = s.semaphores, sems.contains(where: { $0.ncnt > 0 }) else {
                return F.classified(fresh)
            }
            return F.classified(fresh, .inUse)
        })
        XCTAssertEqual(run.results.map(\.outcome), [.removed, .skipped, .removed])
        XCTAssertEqual(run.results[1].classification.verdict, .inUse)
        XCTAssertEqual(k.removedOrder.map(\.id), [1, 3])
        XCTAssertEqual(Set(k.statCount.values), [1], "every object is read exactly once")
        XCTAssertEqual(decided.value, [F.sem(1), waited, F.shm(3)], "the verdict is taken from the fresh, full read")
    }

    /// A decision that no longer matches the filters (--verdict) leaves the object out of the report.
    func testObjectsNoLongerMatchingAreLeftOut() {
        let k = FakeKernel([F.sem(1), F.sem(2)])
        let run = pipeline(k).run([F.sem(1), F.sem(2)], decision: CleanDecision { $0.id == 1 ? nil : F.classified($0) })
        XCTAssertEqual(run.results.map(\.ref.id), [2])
        XCTAssertEqual(k.removedOrder.map(\.id), [2])
    }

    /// Spread over the CPUs: every object removed exactly once, results in plan order.
    func testParallelPassRemovesEachObjectOnceInPlanOrder() {
        let objects = (0..<1000).map { F.sem(Int32($0)) }
        let k = FakeKernel(objects)
        var p = pipeline(k)
        p.chunkSize = 16
        let run = p.run(objects, decision: F.deciding())
        XCTAssertEqual(run.results.map(\.ref), objects.map(\.ref))
        XCTAssertEqual(run.results.filter { $0.outcome == .removed }.count, 1000)
        XCTAssertEqual(Set(k.removedOrder).count, 1000)
        XCTAssertEqual(k.removedOrder.count, 1000)
    }

    func saved(_ k: FakeKernel, _ path: String?) throws -> SaveFile {
        let p = try XCTUnwrap(path)
        return try SaveFile.parse(try XCTUnwrap(k.files[p]?.bytes, "no save file \(p)"))
    }

    func testQueueMessagesAreSavedByteForByteThenRemoved() throws {
        let q = F.msg(7, qnum: 3, cbytes: 8)
        let k = FakeKernel([q])
        let msgs = [QueuedMessage(type: 1, bytes: Array("abc".utf8)), QueuedMessage(type: 42, bytes: [0, 10, 255, 13, 10]),
                    QueuedMessage(type: 7, bytes: [])]
        k.messages[7] = msgs
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([q], decision: F.deciding())
        XCTAssertEqual(run.results[0].outcome, .removed, run.results[0].reason)
        let file = try saved(k, run.results[0].savedTo)
        XCTAssertEqual(file.messages, msgs)
        XCTAssertEqual(file.value("type"), "msg")
        XCTAssertEqual(file.value("id"), "7")
        XCTAssertEqual(file.value("key"), "0x00000077")
        XCTAssertEqual(file.value("messages"), "3")
        XCTAssertEqual(k.files[run.results[0].savedTo ?? ""]?.mode, 0o600)
    }

    func testQueueIsKeptWhenSavingFails() throws {
        let q = F.msg(7, qnum: 1, cbytes: 3)
        let k = FakeKernel([q])
        k.messages[7] = [QueuedMessage(type: 1, bytes: [1, 2, 3])]
        let run = pipeline(k, CleanPolicy(saveTo: "/nonexistent-ipcsweep-dir")).run([q], decision: F.deciding())
        XCTAssertEqual(run.results[0].outcome, .failed)
        XCTAssertTrue(run.results[0].reason.contains("not removed"), run.results[0].reason)
        XCTAssertEqual(k.removedOrder, [])
        // No MSG_COPY (kernel without CONFIG_CHECKPOINT_RESTORE): kept as well.
        k.copyError = .noFunction
        let run2 = pipeline(k, CleanPolicy(saveTo: "/save")).run([q], decision: F.deciding())
        XCTAssertEqual(run2.results[0].outcome, .failed)
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(k.files.keys.filter { $0.hasPrefix("/save/") }, [], "no partial file left")
    }

    func testQueueThatGainsAMessageWhileSavingIsSkipped() throws {
        let q = F.msg(7, qnum: 1, cbytes: 3)
        let k = FakeKernel([q])
        k.messages[7] = [QueuedMessage(type: 1, bytes: [1, 2, 3])]
        k.afterStat = { k, ref, n in if n == 1 { k.objects[ref] = F.msg(7, qnum: 2, cbytes: 6) } }
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([q], decision: F.deciding())
        XCTAssertEqual(run.results[0].outcome, .skipped, run.results[0].reason)
        XCTAssertTrue(run.results[0].reason.contains("changed since planned"))
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(k.files.keys.filter { $0.hasPrefix("/save/") }, [], "the uncommitted save is discarded")
    }

    func testSegmentBytesAreSavedDespiteOurOwnAttach() throws {
        let s = F.shm(3, size: 6)
        let k = FakeKernel([s])
        k.segmentBytes[3] = [0x53, 0x45, 0x47, 0, 0xff, 10]
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([s], decision: F.deciding())
        XCTAssertEqual(run.results[0].outcome, .removed, run.results[0].reason)
        let file = try saved(k, run.results[0].savedTo)
        XCTAssertEqual(file.data, [0x53, 0x45, 0x47, 0, 0xff, 10])
        XCTAssertEqual(file.value("size"), "6")
    }

    func testSegmentAttachedBySomeoneElseWhileSavingIsSkipped() throws {
        let s = F.shm(3)
        let k = FakeKernel([s])
        // The second stat happens while we are attached: another process attaches too.
        k.afterStat = { k, ref, n in
            if n == 2, case .shm(var x)? = k.objects[ref] { x.nattch += 1; x.lpid = 999; k.objects[ref] = .shm(x) }
        }
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([s], decision: F.deciding())
        XCTAssertEqual(run.results[0].outcome, .skipped, run.results[0].reason)
        XCTAssertEqual(k.removedOrder, [])
    }

    /// A save that cannot be written (ENOSPC in the middle) keeps the queue and leaves no partial file.
    func testSegmentSaveOnAFullDiskKeepsTheSegment() throws {
        let s = F.shm(3, size: 4096)
        let k = FakeKernel([s])
        k.spaceLeft = 1000
        let run = pipeline(k, CleanPolicy(saveTo: "/save")).run([s], decision: F.deciding())
        XCTAssertEqual(run.results[0].status, .failed, run.results[0].reason)
        XCTAssertTrue(run.results[0].reason.contains("No space left on device"), run.results[0].reason)
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(k.files.keys.filter { $0.hasPrefix("/save/") }, [])
    }
}

/// A value shared with the pipeline's `@Sendable` closures in tests.
final class LockedBox<T>: @unchecked Sendable {  // guarded by its lock
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func mutate(_ body: (inout T) -> Void) { lock.withLock { body(&stored) } }
}
