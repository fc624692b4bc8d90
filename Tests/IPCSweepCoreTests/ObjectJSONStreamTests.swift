import XCTest
@testable import IPCSweepCore

/// The streaming writer of the list/orphans/show document must print exactly what JSONEncoder prints.
final class ObjectJSONStreamTests: XCTestCase {
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

    func assertSame(_ doc: ObjectListJSON, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try JSONOutput.render(doc)
        for threshold in [1, 7, 1 << 16] {
            var got: [UInt8] = []
            doc.stream(flushThreshold: threshold) { got.append(contentsOf: $0) }
            let text = String(decoding: got, as: UTF8.self)
            if text != expected {
                let a = Array(expected.utf8), b = got
                let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
                XCTFail("differs at byte \(i) (threshold \(threshold)):\nexpected …\(String(decoding: a[max(0, i - 80)..<min(a.count, i + 80)], as: UTF8.self))…\ngot …\(String(decoding: b[max(0, i - 80)..<min(b.count, i + 80)], as: UTF8.self))…",
                        file: file, line: line)
                return
            }
        }
    }

    func testEveryKindMatchesJSONEncoder() throws {
        try assertSame(ObjectListJSON(objects: sampleObjects(), users: UserDirectory(), scope: nil,
                                      warnings: ["line 3: skipped \"x\"", "é"], source: "syscall"))
    }

    /// Every evidence kind lists its members in sorted key order (JSONEncoder's order), each key once.
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

    func testScopeAndEmptyListMatchJSONEncoder() throws {
        let scope = ResolvedScope(description: "unit apache2.service, pidfile /run/a.pid (pid 812)",
                                  members: [812, 3, 90_000], exclusive: true)
        try assertSame(ObjectListJSON(objects: [], users: UserDirectory(), scope: scope, warnings: [], source: "proc"))
        let empty = ResolvedScope(description: "exe /usr/sbin/apache2", members: [], exclusive: false)
        try assertSame(ObjectListJSON(objects: sampleObjects(), users: UserDirectory(), scope: empty, warnings: [],
                                      source: "proc"))
    }
}
