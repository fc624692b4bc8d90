import XCTest
@testable import IPCSweepCore

/// Many objects are classified and worded on several threads (`Parallel`): every result is the one a pass over
/// one object at a time gives, in the same order. The sizes are above `Parallel.serialBelow`, so that the
/// threads are used.
final class ParallelPassTests: XCTestCase {
    let T: Int64 = 1_800_000_000
    let ns: UInt64 = 4_026_531_839
    var many: Int { Parallel.serialBelow + 1_000 }

    /// Sets of many owners and times, with live, dead and zombie recorded pids, waiters and unreadable detail;
    /// processes of some of those owners started before and after the objects' activity.
    func world() -> (objects: [IPCObject], processes: [ProcessRecord]) {
        var processes: [ProcessRecord] = []
        for i in 0..<60 {
            let uid = UInt32(1000 + i % 20)
            processes.append(ProcessRecord(pid: Int32(100 + i), ppid: i % 3 == 0 ? 1 : 100, state: i % 17 == 0 ? "Z" : "S",
                                           uid: uid, euid: uid, gid: uid, groups: i % 5 == 0 ? [2000] : [],
                                           capEff: i % 29 == 0 ? 1 << 21 : 0, comm: "w\(i)", exe: "/usr/bin/w",
                                           startTime: Double(T) + Double(i % 7) - 3.5, ipcNamespace: ns))
        }
        var objects: [IPCObject] = []
        for id in 0..<many {
            let uid = UInt32(1000 + id % 40)
            let pids: [Int32] = (0..<(id % 3 + 1)).map { n in id % 5 == 0 ? Int32(100 + (id + n) % 80) : 0 }
            objects.append(.sem(SemaphoreSet(
                id: Int32(id), perm: IPCPermissions(key: Int32(id % 11), uid: uid, gid: id % 4 == 0 ? 2000 : uid,
                                                    cuid: uid, cgid: uid, mode: id % 6 == 0 ? 0o660 : 0o600),
                nsems: pids.count, otime: id % 9 == 0 ? 0 : T + Int64(id % 13) - 6, ctime: T - 100,
                semaphores: id % 97 == 0 ? nil : pids.map { Semaphore(value: 1, pid: $0, ncnt: id % 31 == 0 ? 1 : 0, zcnt: 0) },
                detailError: id % 97 == 0 ? "cannot read the semaphores of set \(id): permission denied" : nil)))
        }
        return (objects, processes)
    }

    /// The world's objects, its classifier, and every object classified and worded in one parallel pass.
    func classifiedWorld() -> (objects: [IPCObject], classifier: Classifier, together: [Classification], users: UserDirectory) {
        let (objects, processes) = world()
        let classifier = Classifier(processes: ProcessTable(processes: processes, ownIPCNamespace: ns), scope: nil, granularity: 0.004)
        var together = classifier.classify(objects)
        let users = UserDirectory()
        EvidenceText(users: users).fillReasons(&together)
        return (objects, classifier, together, users)
    }

    func testManyObjectsGetTheVerdictsEvidenceAndReasonsOfOneAtATime() {
        let (objects, classifier, together, users) = classifiedWorld()
        XCTAssertEqual(together.count, objects.count)
        // Every verdict is reached, so the comparison covers each path.
        XCTAssertEqual(Set(together.map(\.verdict)), [.inUse, .orphaned, .suspect, .unknown])
        for (i, object) in objects.enumerated() {
            var alone = classifier.classify(object)
            alone.reasons = EvidenceText(users: users).reasons(alone.evidence)
            XCTAssertEqual(together[i], alone, "set \(i)")
        }
    }

    /// A table of many rows is made on several threads, each chunk of rows with its own context: every cell is
    /// the one a table of that row alone has, with every column and in both time styles.
    func testManyRowsGetTheCellsOfOneAtATime() {
        let (_, _, rows, users) = classifiedWorld()
        let fields = ObjectFields.table
        XCTAssertGreaterThan(rows.count, FieldTable<Classification>.rowsPerChunk, "more than one chunk")
        for style in [RenderContext.Style.table(absoluteTimes: true), .table(absoluteTimes: false), .csv] {
            // `rows` makes every row's cells anew: taken once (in the loop it made the test quadratic, ten minutes).
            let together = fields.table(rows, columns: fields.fields, context: RenderContext(users: users, now: Double(T), style: style)).rows
            XCTAssertEqual(together.count, rows.count)
            for (i, row) in rows.enumerated() {
                let alone = fields.table([row], columns: fields.fields, context: RenderContext(users: users, now: Double(T), style: style))
                XCTAssertEqual(together[i].map(\.text), alone.rows[0].map(\.text), "row \(i)")
                XCTAssertEqual(together[i].map(\.color), alone.rows[0].map(\.color), "row \(i)")
            }
        }
    }

    /// One wording instance for a whole pass (its caches: every text by evidence, and the last one looked up)
    /// says what a fresh instance says, whatever the order the evidence comes in.
    func testOneWordingForManyObjectsSaysWhatAFreshOneSays() {
        let (objects, processes) = world()
        let classifier = Classifier(processes: ProcessTable(processes: processes, ownIPCNamespace: ns), scope: nil, granularity: 0.004)
        let users = UserDirectory()
        let evidence = objects.prefix(300).map { classifier.classify($0).evidence }
        let shared = EvidenceText(users: users)
        for e in evidence + evidence.reversed() + evidence.filter({ !$0.isEmpty }).map({ [$0[0], $0[0]] }) {
            XCTAssertEqual(shared.reasons(e), EvidenceText(users: users).reasons(e))
        }
    }

    /// A pass's memo makes each key's value once, and answers every later ask with it, whether the key is the one
    /// asked last or an older one.
    func testMemoMakesEachValueOnceAndAnswersEveryKeyWithIt() {
        var memo = Memo<Int, String>()
        var made: [Int] = []
        for key in [1, 1, 2, 1, 2, 2, 3, 1] {
            XCTAssertEqual(memo.value(for: key) { made.append(key); return "v\(key)" }, "v\(key)", "key \(key)")
        }
        XCTAssertEqual(made, [1, 2, 3])
    }
}
