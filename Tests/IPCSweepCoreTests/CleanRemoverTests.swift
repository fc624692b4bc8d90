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
}

/// A kernel made of dictionaries: stat, IPC_RMID, MSG_COPY and a read-only attach behave as Linux documents them.
final class FakeRemovalKernel: RemovalKernel {
    var objects: [IPCObjectRef: IPCObject] = [:]
    var messages: [Int32: [QueuedMessage]] = [:]
    var segmentBytes: [Int32: [UInt8]] = [:]
    /// Errors IPC_RMID returns instead of removing.
    var removeErrors: [IPCObjectRef: Errno] = [:]
    var statErrors: [IPCObjectRef: Errno] = [:]
    var copyError: Errno?
    /// Runs after the first stat of an object (between re-check and the next step).
    var afterStat: ((FakeRemovalKernel, IPCObjectRef, Int) -> Void)?
    var removedOrder: [IPCObjectRef] = []
    var statCount: [IPCObjectRef: Int] = [:]
    var clock: Int64 = 2_000
    let pid: Int32 = 4242
    var serialOnly: Bool { true }

    init(_ objects: [IPCObject] = []) {
        for o in objects { self.objects[o.ref] = o }
    }

    func now() -> Int64 { clock }

    func stat(_ ref: IPCObjectRef) -> Result<IPCObject, Errno> {
        if let e = statErrors[ref] { return .failure(e) }
        guard let o = objects[ref] else { return .failure(.invalidArgument) }
        statCount[ref, default: 0] += 1
        defer { afterStat?(self, ref, statCount[ref] ?? 0) }
        return .success(o)
    }

    func remove(_ ref: IPCObjectRef) -> Result<Void, Errno> {
        if let e = removeErrors[ref] { return .failure(e) }
        guard objects.removeValue(forKey: ref) != nil else { return .failure(.invalidArgument) }
        removedOrder.append(ref)
        return .success(())
    }

    func copyMessages(queue id: Int32, count: Int, bufferSize: Int) -> Result<[QueuedMessage], Errno> {
        if let copyError { return .failure(copyError) }
        guard objects[IPCObjectRef(kind: .msg, id: id)] != nil else { return .failure(.invalidArgument) }
        let m = messages[id] ?? []
        guard m.count >= count else { return .failure(.noMessage) }
        return .success(Array(m.prefix(count)))
    }

    func withReadOnlyAttachment<R>(segment id: Int32, size: Int, _ body: (UnsafeRawBufferPointer) -> R) -> Result<R, Errno> {
        let ref = IPCObjectRef(kind: .shm, id: id)
        guard case .shm(var s)? = objects[ref] else { return .failure(.invalidArgument) }
        clock += 1
        s.nattch += 1
        s.lpid = pid
        s.atime = clock
        objects[ref] = .shm(s)
        let bytes = segmentBytes[id] ?? [UInt8](repeating: 0, count: size)
        let r = bytes.withUnsafeBytes { body($0) }
        if case .shm(var t)? = objects[ref] {
            t.nattch -= 1
            t.dtime = clock
            objects[ref] = .shm(t)
        }
        return .success(r)
    }

    /// How the segment's data is read while attached: by default its bytes (a dense mapping); a test can make it
    /// fail (the shmem file cannot be opened) or give another source (sparse, failing reads).
    var segmentSource: ((SharedMemorySegment, UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure>)?

    func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure> {
        if let segmentSource { return segmentSource(segment, mapping) }
        return .success(SegmentData(source: MemoryDataSource(bytes: mapping, description: "its mapping"), fd: -1))
    }
}

/// The fake kernel behind a lock, for the parallel pass.
final class LockedKernel: RemovalKernel, @unchecked Sendable {
    let fake: FakeRemovalKernel
    let lock = NSLock()
    init(_ fake: FakeRemovalKernel) { self.fake = fake }
    var pid: Int32 { fake.pid }
    func now() -> Int64 { lock.withLock { fake.now() } }
    func stat(_ ref: IPCObjectRef) -> Result<IPCObject, Errno> { lock.withLock { fake.stat(ref) } }
    func remove(_ ref: IPCObjectRef) -> Result<Void, Errno> { lock.withLock { fake.remove(ref) } }
    func copyMessages(queue id: Int32, count: Int, bufferSize: Int) -> Result<[QueuedMessage], Errno> {
        lock.withLock { fake.copyMessages(queue: id, count: count, bufferSize: bufferSize) }
    }
    func withReadOnlyAttachment<R>(segment id: Int32, size: Int, _ body: (UnsafeRawBufferPointer) -> R) -> Result<R, Errno> {
        lock.withLock { fake.withReadOnlyAttachment(segment: id, size: size, body) }
    }
    func segmentData(_ segment: SharedMemorySegment, mapping: UnsafeRawBufferPointer) -> Result<SegmentData, SaveFailure> {
        fake.segmentData(segment, mapping: mapping)
    }
}

/// The remover against a fake kernel: outcomes for every errno and change, saving, signals.
final class CleanRemoverTests: XCTestCase {
    typealias F = CleanFixtures

    func plan(_ items: [Classification], _ policy: CleanPolicy = CleanPolicy()) -> [PlanEntry] {
        CleanPlanner(policy: policy).plan(items)
    }

    func testRemovesUnchangedOrphansAndLogsThem() {
        let objects = [F.sem(1), F.sem(2), F.shm(3)]
        let k = FakeRemovalKernel(objects)
        let r = Remover(kernel: k, policy: CleanPolicy())
        var logged: [IPCObjectRef] = []
        r.log = { logged.append($0.ref) }
        let run = r.run(plan(objects.map { F.classified($0) }))
        XCTAssertEqual(run.results.map(\.outcome), [.removed, .removed, .removed])
        XCTAssertEqual(k.removedOrder, objects.map(\.ref))
        XCTAssertEqual(logged, objects.map(\.ref))
        XCTAssertEqual(run.exitStatus, 0)
    }

    func testDryRunChangesNothing() {
        let k = FakeRemovalKernel([F.sem(1)])
        let run = Remover(kernel: k, policy: CleanPolicy(dryRun: true)).run(plan([F.classified(F.sem(1))]))
        XCTAssertEqual(run.results.map(\.outcome), [.planned])
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(k.statCount, [IPCObjectRef(kind: .sem, id: 1): 1], "a dry run reads each object once to decide it")
    }

    func testNeverRemovesInUseOrUnknownWhateverTheFlags() {
        let items = [F.classified(F.sem(1), .inUse), F.classified(F.shm(2), .unknown), F.classified(F.msg(3, qnum: 1, cbytes: 1), .inUse)]
        let k = FakeRemovalKernel(items.map(\.object))
        let policy = CleanPolicy(includeSuspect: true, discardMessages: true, saveTo: NSTemporaryDirectory())
        let run = Remover(kernel: k, policy: policy).run(plan(items, policy))
        XCTAssertEqual(run.results.map(\.outcome), [.skipped, .skipped, .skipped])
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(run.exitStatus, 0)
    }

    func testChangedSincePlannedIsSkippedAndSaysWhat() {
        let k = FakeRemovalKernel([F.sem(1), F.sem(2)])
        // Someone operates on set 1 between plan and removal.
        k.objects[IPCObjectRef(kind: .sem, id: 1)] = F.sem(1, pid: 1234, otime: 1_001)
        let run = Remover(kernel: k, policy: CleanPolicy()).run(plan([F.classified(F.sem(1)), F.classified(F.sem(2))]))
        XCTAssertEqual(run.results.map(\.outcome), [.skipped, .removed])
        XCTAssertTrue(run.results[0].reason.hasPrefix("changed since planned"), run.results[0].reason)
        XCTAssertTrue(run.results[0].reason.contains("pid 900 -> 1234"), run.results[0].reason)
        XCTAssertTrue(run.results[0].changes.contains("otime 1000 -> 1001"))
        XCTAssertEqual(run.exitStatus, 4)
    }

    func testAnIdReusedByANewObjectIsNotRemoved() {
        let k = FakeRemovalKernel()
        var reused = F.sem(1)
        if case .sem(var s) = reused { s.ctime = 1_500; s.perm.key = 0x999; reused = .sem(s) }
        k.objects[reused.ref] = reused
        let run = Remover(kernel: k, policy: CleanPolicy()).run(plan([F.classified(F.sem(1))]))
        XCTAssertEqual(run.results[0].outcome, .skipped)
        XCTAssertEqual(k.removedOrder, [])
    }

    func testErrnoOutcomes() {
        let objects = [F.sem(1), F.sem(2), F.sem(3), F.sem(4), F.sem(5)]
        let k = FakeRemovalKernel(objects)
        k.objects.removeValue(forKey: objects[0].ref)                 // gone before the re-check
        k.removeErrors[objects[1].ref] = .identifierRemoved           // gone between re-check and IPC_RMID
        k.removeErrors[objects[2].ref] = .notPermitted                // not the owner
        k.statErrors[objects[3].ref] = .permissionDenied              // cannot even stat
        let run = Remover(kernel: k, policy: CleanPolicy()).run(plan(objects.map { F.classified($0) }))
        XCTAssertEqual(run.results.map(\.outcome), [.skipped, .skipped, .failed, .failed, .removed],
                       "one failure never stops the rest")
        XCTAssertEqual(run.results.map(\.alreadyGone), [true, true, false, false, false])
        XCTAssertTrue(run.results[0].reason.hasPrefix("already gone"))
        XCTAssertTrue(run.results[2].reason.hasPrefix("not the owner or creator of id 3, and not privileged"), run.results[2].reason)
        XCTAssertEqual(run.exitStatus, 4)
        let goneOnly = Remover(kernel: FakeRemovalKernel(), policy: CleanPolicy()).run(plan([F.classified(F.sem(9))]))
        XCTAssertEqual(goneOnly.exitStatus, 0, "already gone alone is success")
    }

    func testSignalStopsBetweenObjects() {
        let objects = (1...5).map { F.sem(Int32($0)) }
        let k = FakeRemovalKernel(objects)
        let r = Remover(kernel: k, policy: CleanPolicy())
        var pending: PendingSignal?
        r.beforeRecheck = { seq, _ in if seq == 2 { pending = PendingSignal(signo: 15, senderPid: 321, senderUid: 0) } }
        r.pendingSignal = { pending }
        let run = r.run(plan(objects.map { F.classified($0) }))
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
        let k = FakeRemovalKernel([F.sem(1), waited, F.shm(3)])
        var decided: [IPCObject] = []
        let run = Remover(kernel: k, policy: CleanPolicy()).run([F.sem(1), F.sem(2), F.shm(3)].map(cheap)) { fresh in
            decided.append(fresh)
            guard case .sem(let s) = fresh, let sems = s.semaphores, sems.contains(where: { $0.ncnt > 0 }) else {
                return F.classified(fresh)
            }
            return F.classified(fresh, .inUse)
        }
        XCTAssertEqual(run.results.map(\.outcome), [.removed, .skipped, .removed])
        XCTAssertEqual(run.results[1].classification.verdict, .inUse)
        XCTAssertEqual(k.removedOrder.map(\.id), [1, 3])
        XCTAssertEqual(Set(k.statCount.values), [1], "every object is read exactly once")
        XCTAssertEqual(decided, [F.sem(1), waited, F.shm(3)], "the verdict is taken from the fresh, full read")
    }

    /// A decision that no longer matches the filters (--verdict) leaves the object out of the report.
    func testObjectsNoLongerMatchingAreLeftOut() {
        let k = FakeRemovalKernel([F.sem(1), F.sem(2)])
        let run = Remover(kernel: k, policy: CleanPolicy()).run([F.sem(1), F.sem(2)]) { fresh in
            fresh.id == 1 ? nil : F.classified(fresh)
        }
        XCTAssertEqual(run.results.map(\.ref.id), [2])
        XCTAssertEqual(k.removedOrder.map(\.id), [2])
    }

    /// Spread over the CPUs: every object removed exactly once, results in plan order.
    func testParallelPassRemovesEachObjectOnceInPlanOrder() {
        let objects = (0..<1000).map { F.sem(Int32($0)) }
        let k = LockedKernel(FakeRemovalKernel(objects))
        let r = Remover(kernel: k, policy: CleanPolicy())
        r.chunkSize = 16
        let run = r.run(objects) { F.classified($0) }
        XCTAssertEqual(run.results.map(\.ref), objects.map(\.ref))
        XCTAssertEqual(run.results.filter { $0.outcome == .removed }.count, 1000)
        XCTAssertEqual(Set(k.fake.removedOrder).count, 1000)
        XCTAssertEqual(k.fake.removedOrder.count, 1000)
    }

    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "ipcsweep-clean-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: d) }
        return d
    }

    func testQueueMessagesAreSavedByteForByteThenRemoved() throws {
        let dir = try tempDir()
        let q = F.msg(7, qnum: 3, cbytes: 8)
        let k = FakeRemovalKernel([q])
        let msgs = [QueuedMessage(type: 1, bytes: Array("abc".utf8)), QueuedMessage(type: 42, bytes: [0, 10, 255, 13, 10]),
                    QueuedMessage(type: 7, bytes: [])]
        k.messages[7] = msgs
        let run = Remover(kernel: k, policy: CleanPolicy(saveTo: dir)).run(plan([F.classified(q)], CleanPolicy(saveTo: dir)))
        XCTAssertEqual(run.results[0].outcome, .removed, run.results[0].reason)
        let path = try XCTUnwrap(run.results[0].savedTo)
        let file = try SaveFile.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(file.messages, msgs)
        XCTAssertEqual(file.value("type"), "msg")
        XCTAssertEqual(file.value("id"), "7")
        XCTAssertEqual(file.value("key"), "0x00000077")
        XCTAssertEqual(file.value("messages"), "3")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int, 0o600)
    }

    func testQueueIsKeptWhenSavingFails() throws {
        let q = F.msg(7, qnum: 1, cbytes: 3)
        let k = FakeRemovalKernel([q])
        k.messages[7] = [QueuedMessage(type: 1, bytes: [1, 2, 3])]
        let policy = CleanPolicy(saveTo: "/nonexistent-ipcsweep-dir")
        let run = Remover(kernel: k, policy: policy).run(plan([F.classified(q)], policy))
        XCTAssertEqual(run.results[0].outcome, .failed)
        XCTAssertTrue(run.results[0].reason.contains("not removed"), run.results[0].reason)
        XCTAssertEqual(k.removedOrder, [])
        // No MSG_COPY (kernel without CONFIG_CHECKPOINT_RESTORE): kept as well.
        k.copyError = .noFunction
        let dir = try tempDir()
        let run2 = Remover(kernel: k, policy: CleanPolicy(saveTo: dir)).run(plan([F.classified(q)], CleanPolicy(saveTo: dir)))
        XCTAssertEqual(run2.results[0].outcome, .failed)
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no partial file left")
    }

    func testQueueThatGainsAMessageWhileSavingIsSkipped() throws {
        let dir = try tempDir()
        let q = F.msg(7, qnum: 1, cbytes: 3)
        let k = FakeRemovalKernel([q])
        k.messages[7] = [QueuedMessage(type: 1, bytes: [1, 2, 3])]
        k.afterStat = { k, ref, n in if n == 1 { k.objects[ref] = F.msg(7, qnum: 2, cbytes: 6) } }
        let run = Remover(kernel: k, policy: CleanPolicy(saveTo: dir)).run(plan([F.classified(q)], CleanPolicy(saveTo: dir)))
        XCTAssertEqual(run.results[0].outcome, .skipped, run.results[0].reason)
        XCTAssertTrue(run.results[0].reason.contains("changed since planned"))
        XCTAssertEqual(k.removedOrder, [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "the uncommitted save is discarded")
    }

    func testSegmentBytesAreSavedDespiteOurOwnAttach() throws {
        let dir = try tempDir()
        let s = F.shm(3, size: 6)
        let k = FakeRemovalKernel([s])
        k.segmentBytes[3] = [0x53, 0x45, 0x47, 0, 0xff, 10]
        let run = Remover(kernel: k, policy: CleanPolicy(saveTo: dir)).run(plan([F.classified(s)], CleanPolicy(saveTo: dir)))
        XCTAssertEqual(run.results[0].outcome, .removed, run.results[0].reason)
        let file = try SaveFile.parse(Array(try Data(contentsOf: URL(fileURLWithPath: try XCTUnwrap(run.results[0].savedTo)))))
        XCTAssertEqual(file.data, [0x53, 0x45, 0x47, 0, 0xff, 10])
        XCTAssertEqual(file.value("size"), "6")
    }

    func testSegmentAttachedBySomeoneElseWhileSavingIsSkipped() throws {
        let dir = try tempDir()
        let s = F.shm(3)
        let k = FakeRemovalKernel([s])
        // Second stat happens while we are attached: another process attaches too.
        k.afterStat = { k, ref, n in
            if n == 2, case .shm(var x)? = k.objects[ref] { x.nattch += 1; x.lpid = 999; k.objects[ref] = .shm(x) }
        }
        let run = Remover(kernel: k, policy: CleanPolicy(saveTo: dir)).run(plan([F.classified(s)], CleanPolicy(saveTo: dir)))
        XCTAssertEqual(run.results[0].outcome, .skipped, run.results[0].reason)
        XCTAssertEqual(k.removedOrder, [])
    }
}
