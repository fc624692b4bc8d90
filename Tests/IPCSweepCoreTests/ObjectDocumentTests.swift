import Foundation
import XCTest
@testable import IPCSweepCore

/// The list/orphans/show document: parsed and compared with the model, field by field, and a golden file.
final class ObjectDocumentTests: XCTestCase {
    let T: Int64 = 1_800_000_000

    func perm(_ uid: UInt32, cuid: UInt32? = nil, key: Int32 = 0x1234, mode: UInt32 = 0o600) -> IPCPermissions {
        IPCPermissions(key: key, uid: uid, gid: uid, cuid: cuid ?? uid, cgid: cuid ?? uid, mode: mode)
    }

    func holder(_ pid: Int32, uid: UInt32, comm: String, cgroup: String?, relation: Holder.Relation) -> Holder {
        Holder(ProcessRecord(pid: pid, ppid: 1, state: "S", uid: uid, euid: uid, comm: comm, startTime: 0,
                             cgroup: cgroup), relation: relation)
    }

    /// Every kind, nil and non-nil optionals, empty and full arrays, and strings that need escaping.
    func sampleObjects() -> [Classification] {
        let tricky = "quote \" backslash \\ slash / nl \n cr \r tab \t bs \u{8} ff \u{c} nul \u{0} esc \u{1b} us \u{1f} del \u{7f} é ✓ 🙂"
        var out: [Classification] = []
        out.append(Classification(
            object: .sem(SemaphoreSet(id: 0, perm: perm(0), nsems: 2, otime: 0, ctime: T,
                                      semaphores: [Semaphore(value: 1, pid: 812, ncnt: 0, zcnt: 2),
                                                   Semaphore(value: 0, pid: 0, ncnt: 3, zcnt: 0)])),
            verdict: .inUse,
            evidence: [.waiters(semaphore: 1, count: 3), .detailUnreadable(tricky),
                       .liveRecordedPid(role: .sempid, recordedPid: 813,
                                        holder: holder(812, uid: 33, comm: tricky, cgroup: nil, relation: .recorded))],
            reasons: ["semaphore 1 has 3 waiters", tricky],
            holders: [holder(812, uid: 33, comm: "apache2", cgroup: "/system.slice/apache2.service", relation: .recorded)]))
        out.append(Classification(
            object: .sem(SemaphoreSet(id: 32769, perm: perm(65534, cuid: 0, key: -559_038_737), nsems: 1, otime: T + 7,
                                      ctime: T - 1, semaphores: nil, detailError: "cannot read: \"EACCES\"")),
            verdict: .unknown, reasons: []))
        out.append(Classification(
            object: .sem(SemaphoreSet(id: 5, perm: perm(4_000_000_000), nsems: 0, otime: 0, ctime: 0, semaphores: [])),
            verdict: .suspect,
            evidence: [.possibleHolder(holder: holder(9, uid: 4_000_000_000, comm: "sh", cgroup: nil, relation: .possible),
                                       rule: .groupAccess, timing: .inherited(.parentIsInit), started: Double(T) + 2.5,
                                       lastActivity: T),
                       .possibleHolder(holder: holder(10, uid: 0, comm: "sh", cgroup: "/user.slice/session-3.scope", relation: .possible),
                                       rule: .root, timing: .sameSecond, started: Double(T) + 0.25, lastActivity: T),
                       .morePossibleHolders(count: 3), .blindSpot(.hidepid(mountPoint: "/proc", value: "2", gid: nil)),
                       .inheritanceNotRuledOut(unit: "a.service", why: .invocationUnknown("no bus")),
                       .inheritanceRuledOut(unit: "b.service", invocationBegan: Double(T) + 1.5, processes: 2)],
            reasons: ["possible holder"],
            possibleHolders: [holder(9, uid: 4_000_000_000, comm: tricky, cgroup: nil, relation: .possible),
                              holder(10, uid: 0, comm: "sh", cgroup: "/user.slice/session-3.scope", relation: .possible)]))
        out.append(Classification(
            object: .shm(SharedMemorySegment(id: 65536, perm: perm(1000, mode: 0o1600 | 0o2000), size: 1 << 40, cpid: 0,
                                             lpid: 17, nattch: 2, atime: T, dtime: 0, ctime: T - 9, rss: 4096, swap: 0)),
            verdict: .inUse, reasons: ["attached"],
            holders: [holder(17, uid: 1000, comm: "postgres", cgroup: nil, relation: .attached)]))
        out.append(Classification(
            object: .shm(SharedMemorySegment(id: 3, perm: perm(0, key: Int32.min), size: 0, cpid: 1, lpid: 0, nattch: 0,
                                             atime: 0, dtime: 0, ctime: 1)),
            verdict: .orphaned, reasons: ["no live process"]))
        out.append(Classification(
            object: .msg(MessageQueue(id: 7, perm: perm(33, cuid: 0, key: Int32.max, mode: 0o666), cbytes: 12, qnum: 2,
                                      qbytes: 16384, lspid: 4, lrpid: 0, stime: T, rtime: 0, ctime: T - 3)),
            verdict: .orphaned,
            evidence: [.noPossibleHolder(access: AccessControl(perm(33, cuid: 0)), lastActivity: T, scope: nil, exclusive: false,
                                         inheritWindow: 5),
                       .messages(count: 2, bytes: 12), .recordedPidExited(role: .lspid, pid: 4),
                       .recordedPidReused(role: .lrpid, pid: 5, command: "x", after: 1.25),
                       .recordedPidInOtherNamespace(role: .lrpid, pid: 6, command: "y"), .recordedPidHidden(role: .lspid),
                       .recordedPidIsThisRun(role: .lspid, pid: 7), .attachedInvisibly(nattch: 2), .markedForRemoval,
                       .blindSpot(.hostIPCInChildPidNamespace(pidNamespace: 9)), .blindSpot(.subsetPid(mountPoint: "/p")),
                       .inheritanceNotRuledOut(unit: "c.scope", why: .notAService),
                       .inheritanceNotRuledOut(unit: "d.service", why: .olderProcess(pid: 3, began: 9.5)),
                       .inheritanceNotRuledOut(unit: "e.service", why: .invocationTooEarly(began: 9.5))],
            reasons: ["holds 2 messages (12 bytes)", "last sender pid 4 exited"]))
        out.append(Classification(
            object: .msg(MessageQueue(id: 8, perm: perm(33), cbytes: 0, qnum: 0, qbytes: nil, lspid: 0, lrpid: 0,
                                      stime: 0, rtime: T + 1, ctime: T)),
            verdict: .suspect, reasons: []))
        return out
    }

    func document(_ objects: [Classification], scope: ResolvedScope? = nil) -> ObjectDocument {
        ObjectDocument(objects: objects, users: UserDirectory(), scope: scope, warnings: ["line 3: skipped \"x\"", "é"],
                       source: "syscall")
    }

    func parse(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], file: file, line: line)
    }

    static func int(_ v: Any?) -> Int64? { (v as? NSNumber)?.int64Value }

    /// The document parses, and every value is the model's: field by field for every kind.
    func testValuesMatchTheModel() throws {
        let objects = sampleObjects()
        let doc = try parse(document(objects).bytes())
        XCTAssertEqual(Self.int(doc["schemaVersion"]), 1)
        XCTAssertEqual(doc["source"] as? String, "syscall")
        XCTAssertTrue(doc["scope"] is NSNull)
        XCTAssertEqual(doc["warnings"] as? [String], ["line 3: skipped \"x\"", "é"])
        let got = try XCTUnwrap(doc["objects"] as? [[String: Any]])
        XCTAssertEqual(got.count, objects.count)
        for (c, j) in zip(objects, got) {
            let o = c.object, p = o.perm
            XCTAssertEqual(j["type"] as? String, o.kind.rawValue)
            XCTAssertEqual(Self.int(j["id"]), Int64(o.id))
            XCTAssertEqual(Self.int(j["key"]), Int64(p.key))
            XCTAssertEqual(j["keyHex"] as? String, IPCTextFormat.hexKey(p.key))
            XCTAssertEqual(Self.int((j["owner"] as? [String: Any])?["uid"]), Int64(p.uid))
            XCTAssertEqual(Self.int((j["creator"] as? [String: Any])?["uid"]), Int64(p.cuid))
            XCTAssertEqual(Self.int((j["group"] as? [String: Any])?["gid"]), Int64(p.gid))
            XCTAssertEqual(Self.int((j["creatorGroup"] as? [String: Any])?["gid"]), Int64(p.cgid))
            XCTAssertEqual(Self.int(j["mode"]), Int64(p.mode))
            XCTAssertEqual(j["perms"] as? String, IPCTextFormat.octal(p.permissionBits))
            XCTAssertEqual(j["verdict"] as? String, c.verdict.rawValue)
            XCTAssertEqual(j["reasons"] as? [String], c.reasons)
            let evidence = try XCTUnwrap(j["evidence"] as? [[String: Any]])
            XCTAssertEqual(evidence.map { $0["kind"] as? String }, c.evidence.map(\.kind))
            for (e, je) in zip(c.evidence, evidence) {
                XCTAssertEqual(Set(je.keys), Set(e.jsonFields.map(\.key)))
                for (k, v) in e.jsonFields {
                    switch v {
                    case .int(let n): XCTAssertEqual(Self.int(je[k]), n, k)
                    case .string(let s): XCTAssertEqual(je[k] as? String, s, k)
                    case .bool(let b): XCTAssertEqual(je[k] as? Bool, b, k)
                    case .null: XCTAssertTrue(je[k] is NSNull, k)
                    }
                }
            }
            XCTAssertEqual((j["holders"] as? [[String: Any]])?.map { $0["command"] as? String }, c.holders.map(\.command))
            XCTAssertEqual((j["possibleHolders"] as? [[String: Any]])?.map { Self.int($0["pid"]) },
                           c.possibleHolders.map { Int64($0.pid) })
            XCTAssertEqual(Self.int(j["lastActivity"]), o.lastActivity)
            XCTAssertEqual(j["lastActivityISO"] as? String, TimeFormat.iso8601(o.lastActivity))
            XCTAssertEqual(Self.int(j["ctime"]), o.ctime)
            switch o {
            case .sem(let s):
                XCTAssertEqual(Self.int(j["nsems"]), Int64(s.nsems))
                XCTAssertEqual(Self.int(j["otime"]), s.otime)
                if let sems = s.semaphores {
                    let js = try XCTUnwrap(j["semaphores"] as? [[String: Any]])
                    XCTAssertEqual(js.map { Self.int($0["pid"]) }, sems.map { Int64($0.pid) })
                    XCTAssertEqual(js.map { Self.int($0["ncnt"]) }, sems.map { Int64($0.ncnt) })
                    XCTAssertEqual(js.map { Self.int($0["num"]) }, sems.indices.map(Int64.init))
                } else {
                    XCTAssertTrue(j["semaphores"] is NSNull)
                }
                XCTAssertEqual(j["detailError"] as? String, s.detailError)
                XCTAssertNil(j["size"])
            case .shm(let s):
                XCTAssertEqual((j["size"] as? NSNumber)?.uint64Value, s.size)
                XCTAssertEqual(Self.int(j["nattch"]), Int64(s.nattch))
                XCTAssertEqual(j["markedForRemoval"] as? Bool, s.markedForRemoval)
                XCTAssertEqual(j["locked"] as? Bool, s.locked)
                XCTAssertEqual(Self.int(j["rss"]), s.rss.map(Int64.init))
                XCTAssertNil(j["nsems"])
            case .msg(let q):
                XCTAssertEqual(Self.int(j["qnum"]), Int64(q.qnum))
                XCTAssertEqual(Self.int(j["qbytes"]), q.qbytes.map(Int64.init))
                XCTAssertEqual(Self.int(j["lspid"]), Int64(q.lspid))
                XCTAssertEqual(Self.int(j["rtime"]), q.rtime)
            case .posix:
                XCTFail("the sample has System V objects only")
            }
        }
        // Every documented key and nothing else.
        let sem = Set(got[0].keys)
        XCTAssertEqual(sem, ["creator", "creatorGroup", "ctime", "ctimeISO", "detailError", "evidence", "group", "holders", "id", "key",
                             "keyHex", "lastActivity", "lastActivityISO", "mode", "nsems", "otime", "otimeISO", "owner",
                             "perms", "possibleHolders", "reasons", "semaphores", "type", "verdict"])
    }

    /// Pretty and compact are the same document; the pieces the sink gets do not change the bytes.
    func testPrettyCompactAndFlushSizesAgree() throws {
        let doc = document(sampleObjects(), scope: ResolvedScope(description: "unit a", members: [3, 1], exclusive: true))
        let compact = doc.bytes(pretty: false)
        XCTAssertFalse(compact.dropLast().contains(10), "compact JSON is one line")
        XCTAssertEqual(compact.last, 10)
        XCTAssertEqual(try parse(compact) as NSDictionary, try parse(doc.bytes(pretty: true)) as NSDictionary)
        for threshold in [1, 7, 1 << 16] {
            var got: [UInt8] = []
            doc.write(pretty: true, flushThreshold: threshold) { got.append(contentsOf: $0) }
            XCTAssertEqual(got, doc.bytes(pretty: true), "threshold \(threshold)")
        }
        let scope = try XCTUnwrap(try parse(compact)["scope"] as? [String: Any])
        XCTAssertEqual((scope["pids"] as? [NSNumber])?.map(\.intValue), [1, 3])
    }

    /// Integers are written as Swift words them, at every boundary of the digit count (the writer counts digits
    /// with comparisons and writes two at a time), signed and unsigned.
    func testIntegersAtEveryDigitBoundary() {
        var values: [Int64] = [0, 1, 9, Int64.max, Int64.min, Int64.min + 1]
        var p: Int64 = 10
        while true {
            values += [p - 1, p, p + 1, -(p - 1), -p, -p - 1, p / 2 * 3]
            guard p <= Int64.max / 10 else { break }
            p *= 10
        }
        for v in values {
            XCTAssertEqual(String(decoding: JSONValue.int(v).document(pretty: false).dropLast(), as: UTF8.self), String(v))
        }
        var text: [UInt8] = []
        var w = JSONStreamWriter(flushThreshold: 0) { text.append(contentsOf: $0) }
        for v: UInt64 in [UInt64.max, UInt64.max - 1, 10_000_000_000_000_000_000, 9_999_999_999_999_999_999, 1_796_394_764] {
            text = []
            w.int(v)
            w.flush()
            XCTAssertEqual(String(decoding: text, as: UTF8.self), String(v))
        }
    }

    /// The pretty document, byte for byte (jq's layout): Fixtures/golden/list-pretty.json.
    /// IPCSWEEP_UPDATE_GOLDEN=1 rewrites it (review the diff).
    func testGoldenPrettyDocument() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/golden/list-pretty.json")
        let got = document(sampleObjects()).bytes(pretty: true)
        if ProcessInfo.processInfo.environment["IPCSWEEP_UPDATE_GOLDEN"] == "1" {
            try Data(got).write(to: url)
        }
        let expected = try [UInt8](Data(contentsOf: url))
        XCTAssertEqual(String(decoding: got, as: UTF8.self), String(decoding: expected, as: UTF8.self))
    }

    /// --columns narrows each object to the selected fields; +LIST adds a field that is not in the document.
    func testSelectedFieldsOnly() throws {
        let t = ObjectFields.table
        var doc = document(sampleObjects())
        doc.fields = try t.jsonFields(.only(["id", "verdict", "nattch"]), kinds: [], command: "list")
        let objects = try XCTUnwrap(try parse(doc.bytes())["objects"] as? [[String: Any]])
        XCTAssertEqual(Set(objects[0].keys), ["id", "verdict"])
        XCTAssertEqual(Set(objects[3].keys), ["id", "verdict", "nattch"])
        doc.fields = try t.jsonFields(.adding(["pids"]), kinds: [], command: "list")
        let more = try XCTUnwrap(try parse(doc.bytes())["objects"] as? [[String: Any]])
        XCTAssertEqual((more[0]["pids"] as? [NSNumber])?.map(\.intValue), [812])
        XCTAssertNotNil(more[0]["semaphores"])
    }

    /// Every evidence kind lists its members in sorted key order (the document's order), each key once.
    func testEveryEvidenceKindHasSortedMembers() {
        let h = holder(5, uid: 1, comm: "c", cgroup: nil, relation: .possible)
        let all: [Evidence] = [
            .attached(h), .attachedInvisibly(nattch: 1), .markedForRemoval, .waiters(semaphore: 0, count: 1),
            .liveRecordedPid(role: .sempid, recordedPid: 5, holder: h), .detailUnreadable("x"), .recordedPidHidden(role: .cpid),
            .blindSpot(.hidepid(mountPoint: "/proc", value: "2", gid: 3)), .blindSpot(.subsetPid(mountPoint: "/proc")),
            .blindSpot(.hostIPCInChildPidNamespace(pidNamespace: 1)),
            .possibleHolder(holder: h, rule: .otherAccess, timing: .existed, started: 1, lastActivity: 2),
            .possibleHolder(holder: h, rule: .root, timing: .inherited(.parentYounger), started: 3, lastActivity: 2),
            .morePossibleHolders(count: 2),
            .noPossibleHolder(access: AccessControl(perm(1)), lastActivity: 2, scope: "s", exclusive: true, inheritWindow: 5),
            .recordedPidExited(role: .lpid, pid: 4), .recordedPidZombie(role: .sempid, recordedPid: 6, holder: h),
            .recordedPidInOtherNamespace(role: .lspid, pid: 7, command: "q"),
            .recordedPidReused(role: .lrpid, pid: 8, command: "r", after: 2), .recordedPidIsThisRun(role: .sempid, pid: 9),
            .messages(count: 1, bytes: 2), .inheritanceRuledOut(unit: "u.service", invocationBegan: 1, processes: 1),
            .inheritanceNotRuledOut(unit: "u.service", why: .invocationUnknown("x")),
            .inheritanceNotRuledOut(unit: "u.service", why: .invocationTooEarly(began: 1)),
            .inheritanceNotRuledOut(unit: "u.service", why: .olderProcess(pid: 1, began: 1)),
            .inheritanceNotRuledOut(unit: "u.scope", why: .notAService),
        ]
        for e in all {
            let keys = e.jsonFields.map(\.key)
            XCTAssertEqual(keys, keys.sorted(), "\(e)")
            XCTAssertEqual(Set(keys).count, keys.count, "\(e)")
            XCTAssertTrue(keys.contains("kind"))
        }
    }

}
