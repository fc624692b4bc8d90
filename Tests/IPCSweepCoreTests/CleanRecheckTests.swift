import XCTest

@testable import IPCSweepCore

/// The re-check comparison: every identity and idleness field, and the changes our own attach may make.
final class CleanRecheckTests: XCTestCase {
    typealias F = CleanFixtures

    func testUnchangedObjectsHaveNoDifferences() {
        for o in [F.sem(1), F.shm(2), F.msg(3, qnum: 2, cbytes: 10)] {
            XCTAssertEqual(Recheck.differences(planned: o, current: o), [], "\(o.ref)")
        }
    }

    func testEverySemaphoreFieldIsCompared() {
        guard case .sem(let base) = F.sem(1) else { return XCTFail() }
        let mutations: [(String, (inout SemaphoreSet) -> Void)] = [
            ("key", { $0.perm.key = 99 }), ("owner uid", { $0.perm.uid = 0 }), ("group gid", { $0.perm.gid = 0 }),
            ("creator uid", { $0.perm.cuid = 0 }), ("creator gid", { $0.perm.cgid = 0 }), ("mode", { $0.perm.mode = 0o666 }),
            ("ctime", { $0.ctime += 1 }), ("otime", { $0.otime += 1 }), ("nsems", { $0.nsems = 3 }),
            ("semaphore 1: pid", { $0.semaphores?[1].pid = 77 }), ("semaphore 0: value", { $0.semaphores?[0].value = 0 }),
            ("semaphore 1: waiters for increase", { $0.semaphores?[1].ncnt = 1 }),
            ("semaphore 0: waiters for zero", { $0.semaphores?[0].zcnt = 2 }),
        ]
        for (name, mutate) in mutations {
            var now = base
            mutate(&now)
            let d = Recheck.differences(planned: .sem(base), current: .sem(now))
            XCTAssertFalse(d.isEmpty, "\(name) change not detected")
            XCTAssertTrue(d.contains { $0.hasPrefix(name) }, "\(name): \(d)")
        }
        var unreadable = base
        unreadable.semaphores = nil
        XCTAssertFalse(Recheck.differences(planned: .sem(base), current: .sem(unreadable)).isEmpty)
    }

    func testEverySegmentAndQueueFieldIsCompared() {
        guard case .shm(let s) = F.shm(1), case .msg(let q) = F.msg(2, qnum: 1, cbytes: 5) else { return XCTFail() }
        let shmMutations: [(inout SharedMemorySegment) -> Void] = [
            { $0.size = 32 }, { $0.cpid = 1 }, { $0.lpid = 1 }, { $0.nattch = 1 }, { $0.atime += 1 }, { $0.dtime += 1 },
            { $0.perm.mode |= SHMModeFlag.dest },
        ]
        for (i, m) in shmMutations.enumerated() {
            var now = s
            m(&now)
            XCTAssertFalse(Recheck.differences(planned: .shm(s), current: .shm(now)).isEmpty, "shm mutation \(i)")
        }
        let msgMutations: [(inout MessageQueue) -> Void] = [
            { $0.qnum = 2 }, { $0.cbytes = 9 }, { $0.lspid = 1 }, { $0.lrpid = 1 }, { $0.stime += 1 }, { $0.rtime += 1 },
            { $0.qbytes = 1 },
        ]
        for (i, m) in msgMutations.enumerated() {
            var now = q
            m(&now)
            XCTAssertFalse(Recheck.differences(planned: .msg(q), current: .msg(now)).isEmpty, "msg mutation \(i)")
        }
        // The proc source has no qbytes: not a difference.
        var noCapacity = q
        noCapacity.qbytes = nil
        XCTAssertEqual(Recheck.differences(planned: .msg(noCapacity), current: .msg(q)), [])
    }

    func testOwnAttachChangesAreExpectedAndOthersAreNot() {
        guard case .shm(let s) = F.shm(1) else { return XCTFail() }
        let own = OwnAttach(pid: 4242, attached: true, since: 2_000)
        var attached = s
        attached.lpid = 4242
        attached.nattch = 1
        attached.atime = 2_001
        XCTAssertEqual(Recheck.differences(planned: .shm(s), current: .shm(attached), ownAttach: own), [])

        var otherDetached = attached
        otherDetached.dtime = 2_001  // someone attached and detached before our attach
        XCTAssertFalse(Recheck.differences(planned: .shm(s), current: .shm(otherDetached), ownAttach: own).isEmpty)
        var otherAttached = attached
        otherAttached.nattch = 2
        XCTAssertFalse(Recheck.differences(planned: .shm(s), current: .shm(otherAttached), ownAttach: own).isEmpty)
        var otherLast = attached
        otherLast.lpid = 5
        XCTAssertFalse(Recheck.differences(planned: .shm(s), current: .shm(otherLast), ownAttach: own).isEmpty)
        var staleAtime = attached
        staleAtime.atime = 1_999
        XCTAssertFalse(Recheck.differences(planned: .shm(s), current: .shm(staleAtime), ownAttach: own).isEmpty)
        // After our detach: nattch back, dtime moved.
        var detached = attached
        detached.nattch = 0
        detached.dtime = 2_002
        XCTAssertEqual(Recheck.differences(planned: .shm(s), current: .shm(detached),
                                           ownAttach: OwnAttach(pid: 4242, attached: false, since: 2_000)), [])
    }

    func testADifferentIdOrKindIsADifference() {
        XCTAssertFalse(Recheck.differences(planned: F.sem(1), current: F.sem(2)).isEmpty)
        XCTAssertFalse(Recheck.differences(planned: F.shm(1), current: F.msg(1)).isEmpty)
    }
}
