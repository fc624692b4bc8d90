import XCTest
@testable import IPCSweepCore

/// Many objects are classified, worded and written on several threads (`Parallel`): every result is the one a
/// pass over one object at a time gives, in the same order, byte for byte. The sizes are above
/// `Parallel.serialBelow`, so that the threads are used.
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

    func testManyObjectsGetTheVerdictsEvidenceAndReasonsOfOneAtATime() {
        let (objects, processes) = world()
        let classifier = Classifier(processes: ProcessTable(processes: processes, ownIPCNamespace: ns), scope: nil, granularity: 0.004)
        var together = classifier.classify(objects)
        let users = UserDirectory()
        EvidenceText(users: users).fillReasons(&together)
        XCTAssertEqual(together.count, objects.count)
        // Every verdict is reached, so the comparison covers each path.
        XCTAssertEqual(Set(together.map(\.verdict)), [.inUse, .orphaned, .suspect, .unknown])
        for (i, object) in objects.enumerated() {
            var alone = classifier.classify(object)
            alone.reasons = EvidenceText(users: users).reasons(alone.evidence)
            XCTAssertEqual(together[i], alone, "set \(i)")
        }
    }

    func sample() -> [Classification] {
        let (objects, processes) = world()
        let classifier = Classifier(processes: ProcessTable(processes: processes, ownIPCNamespace: ns), scope: nil, granularity: 0.004)
        var out = classifier.classify(Array(objects.prefix(50)))
        EvidenceText(users: UserDirectory()).fillReasons(&out)
        return out
    }

    /// The document of many objects is the objects' one-object documents joined, in order, compact and pretty.
    func testManyObjectsDocumentIsTheirDocumentsJoined() throws {
        let sample = sample()
        let objects = (0..<(many / sample.count + 1)).flatMap { _ in sample }
        let users = UserDirectory()
        for pretty in [false, true] {
            let head = Array((pretty ? "{\n  \"objects\": [" : "{\"objects\":[").utf8)
            let separator = Array((pretty ? "\n  ]," : "],").utf8)
            func document(_ objects: [Classification]) -> [UInt8] {
                ObjectDocument(objects: objects, users: users, scope: nil, warnings: ["w"], source: "syscall").bytes(pretty: pretty)
            }
            // One object's document: head, the object, and the tail after the array.
            func split(_ doc: [UInt8]) throws -> (element: ArraySlice<UInt8>, tail: ArraySlice<UInt8>) {
                XCTAssertEqual(Array(doc.prefix(head.count)), head)
                let end = try XCTUnwrap((head.count..<(doc.count - separator.count)).last { Array(doc[$0..<($0 + separator.count)]) == separator })
                return (doc[head.count..<end], doc[end...])
            }
            var expected = head
            var tail: ArraySlice<UInt8> = []
            for (i, c) in objects.enumerated() {
                let one = try split(document([c]))
                if i > 0 { expected.append(UInt8(ascii: ",")) }
                expected += one.element
                tail = one.tail
            }
            expected += tail
            let got = document(objects)
            XCTAssertEqual(got.count, expected.count, "pretty: \(pretty)")
            XCTAssertTrue(got == expected, "pretty: \(pretty): first difference at byte \(zip(got, expected).prefix { $0 == $1 }.count)")
        }
    }

    /// A table of many rows is the heading and the rows' lines, in order: the same rows repeated give the same
    /// widths, so the big table is the small one's lines repeated.
    func testManyRowsTableIsTheirLinesInOrder() {
        let sample = sample()
        let copies = many / sample.count + 1
        let rows = (0..<copies).flatMap { _ in sample }
        let fields = FieldTable(fields: ObjectFields.table.fields, defaultColumns: ObjectFields.orphansColumns, kindOf: { $0.object.kind })
        let columns = (try? fields.columns(.defaults, kinds: [], command: "orphans")) ?? []
        let context = RenderContext(users: UserDirectory(), now: Double(T) + 60, style: .table(absoluteTimes: true))
        for color in [false, true] {
            let small = fields.table(sample, columns: columns, context: context).render(width: nil, headings: true, color: color)
            let lines = small.split(separator: "\n", omittingEmptySubsequences: false)
            let heading = lines[0] + "\n"
            let body = lines.dropFirst().dropLast().map { $0 + "\n" }.joined()
            let big = fields.table(rows, columns: columns, context: context).render(width: nil, headings: true, color: color)
            XCTAssertTrue(big == heading + String(repeating: body, count: copies), "color: \(color)")
        }
    }
}
