import XCTest

@testable import IPCSweepCore

/// Which classified objects a plan selects, and why the others are skipped.
final class CleanPlannerTests: XCTestCase {
    typealias F = CleanFixtures

    func testOnlyOrphansArePlannedByDefault() {
        let items = [F.classified(F.sem(1), .orphaned), F.classified(F.sem(2), .inUse),
                     F.classified(F.sem(3), .unknown), F.classified(F.sem(4), .suspect)]
        let plan = CleanPlanner(policy: CleanPolicy()).plan(items)
        XCTAssertEqual(plan.map(\.goesAhead), [true, false, false, false])
        XCTAssertEqual(plan.map(\.planned), [true, false, false, false])
        XCTAssertTrue(plan[1].skipReason?.contains("ipcrm -s 2") == true, plan[1].skipReason ?? "")
        XCTAssertTrue(plan[2].skipReason?.contains("ipcrm -s 3") == true)
        XCTAssertTrue(plan[3].skipReason?.contains("--include-suspect") == true)
    }

    func testSuspectsWithIncludeSuspectButNeverInUseOrUnknown() {
        let items = [F.classified(F.shm(1), .suspect), F.classified(F.shm(2), .inUse), F.classified(F.msg(3), .unknown)]
        let plan = CleanPlanner(policy: CleanPolicy(includeSuspect: true, discardMessages: true, saveTo: "/x")).plan(items)
        XCTAssertEqual(plan.map(\.goesAhead), [true, false, false])
        XCTAssertTrue(plan[1].skipReason?.contains("ipcrm -m 2") == true)
        XCTAssertTrue(plan[2].skipReason?.contains("ipcrm -q 3") == true)
    }

    func testQueueWithMessagesIsKeptUnlessSavedOrDiscarded() {
        let item = F.classified(F.msg(5, qnum: 3, cbytes: 30))
        let kept = CleanPlanner(policy: CleanPolicy()).entry(item)
        XCTAssertTrue(kept.planned)
        XCTAssertFalse(kept.goesAhead)
        XCTAssertTrue(kept.skipReason?.contains("3 messages") == true)
        XCTAssertTrue(CleanPlanner(policy: CleanPolicy(discardMessages: true)).entry(item).goesAhead)
        XCTAssertTrue(CleanPlanner(policy: CleanPolicy(saveTo: "/tmp/s")).entry(item).goesAhead)
        XCTAssertTrue(CleanPlanner(policy: CleanPolicy()).entry(F.classified(F.msg(6))).goesAhead, "an empty queue goes")
    }

    /// A skip's result is worded when read, with the plan's words; words given to a result (a failure, a note
    /// the pipeline adds) are kept; results compare by what they say.
    func testASkippedResultIsWordedWhenReadAsThePlanWordsIt() throws {
        let items = [F.classified(F.sem(2), .inUse), F.classified(F.sem(3), .unknown), F.classified(F.sem(4), .suspect),
                     F.classified(F.msg(5, qnum: 3, cbytes: 30))]
        for entry in CleanPlanner(policy: CleanPolicy()).plan(items) {
            let r = try XCTUnwrap(entry.skippedResult)
            XCTAssertEqual(r.status, entry.skip)
            XCTAssertEqual(r.reason, entry.skipReason)
            XCTAssertTrue(r.reason.contains(entry.classification.reasons.first ?? "") || entry.skip == .keptForData, r.reason)
            XCTAssertEqual(r, CleanResult(classification: entry.classification, status: r.status, reason: r.reason))
            var noted = r
            noted.reason += "; its save file /s/x is kept"
            XCTAssertEqual(noted.reason, r.reason + "; its save file /s/x is kept")
            XCTAssertNotEqual(noted, r)
        }
        XCTAssertTrue(CleanPlanner(policy: CleanPolicy()).plan(items)[3].skipReason?.hasPrefix("holds 3 messages (30 bytes): kept") == true)
        XCTAssertNil(CleanPlanner(policy: CleanPolicy()).entry(F.classified(F.sem(1), .orphaned)).skippedResult)
    }

    // MARK: exit status

    func result(_ status: CleanResult.Status, _ o: IPCObject = F.sem(1)) -> CleanResult {
        CleanResult(classification: F.classified(o), status: status, reason: "r")
    }

    func testExitStatusDecision() {
        func status(_ r: [CleanResult], _ s: PendingSignal? = nil) -> Int32 {
            CleanRun(results: r, interruption: s, dryRun: false).exitStatus
        }
        XCTAssertEqual(status([]), 0, "nothing to do")
        XCTAssertEqual(status([result(.removed), result(.removed)]), 0)
        XCTAssertEqual(status([result(.notEligible)]), 0, "in-use objects that only matched never fail the run")
        XCTAssertEqual(status([result(.removed), result(.alreadyGone)]), 0, "already gone is not a failure")
        XCTAssertEqual(status([result(.removed), result(.changed)]), 4, "planned but skipped")
        XCTAssertEqual(status([result(.keptForData)]), 4, "kept for its messages")
        XCTAssertEqual(status([result(.failed)]), 4)
        XCTAssertEqual(status([result(.wouldRemove)]), 0, "dry run")
        XCTAssertEqual(status([result(.removed)], PendingSignal(signo: 15, senderPid: 1, senderUid: 0)), 143)
        XCTAssertEqual(status([], PendingSignal(signo: 2, senderPid: 1, senderUid: 0)), 130)
    }

    func testSummaryWording() {
        let nothing = CleanRun(results: [result(.notEligible)], interruption: nil, dryRun: false)
        XCTAssertTrue(nothing.summary.hasPrefix("nothing to clean"), nothing.summary)
        XCTAssertFalse(nothing.hadWork)
        let mixed = CleanRun(results: [result(.removed), result(.alreadyGone), result(.failed)],
                             interruption: PendingSignal(signo: 15, senderPid: 77, senderUid: 0), dryRun: false)
        let s = mixed.summary
        XCTAssertTrue(s.contains("removed 1"), s)
        XCTAssertTrue(s.contains("1 already gone"), s)
        XCTAssertTrue(s.contains("failed 1"), s)
        XCTAssertTrue(s.contains("SIGTERM from pid 77 (uid 0)"), s)
    }

    /// Every skip is counted once, whatever its kind, by its typed reason (a POSIX skip was counted twice before).
    func testSummaryCountsEverySkipOnceForEveryKind() {
        let posix = IPCObject.posix(PosixIPCObject(path: "/dev/shm/x", kind: .posixShm, uid: 1, gid: 1, mode: 0o600))
        let queue = IPCObject.posix(PosixIPCObject(path: "/dev/mqueue/q", kind: .posixMq, uid: 1, gid: 1, mode: 0o600))
        let run = CleanRun(results: [result(.changed, posix), result(.keptForData, queue), result(.changed), result(.notAttempted),
                                     result(.removed, posix), result(.notEligible, posix)],
                           interruption: nil, dryRun: false)
        XCTAssertEqual(run.summary,
                       "removed 1; skipped 4 (2 changed since planned, 1 not attempted, 1 kept for their data); 1 not eligible (in use, unknown or suspect)")
        XCTAssertEqual(run.counts.skipped, 5)
        let one = CleanRun(results: [result(.changed, posix)], interruption: nil, dryRun: false)
        XCTAssertEqual(one.summary, "removed 0; skipped 1 (1 changed since planned)")
    }

    func testSyslogMessageNamesIdKeyOwnerVerdictAndReasons() {
        let r = CleanResult(classification: F.classified(F.sem(32769)), status: .removed, reason: "removed (orphaned)")
        let m = CleanSyslog.message(r, users: UserDirectory())
        for part in ["removed semaphore set id 32769", "key 0x00001234", "(uid 33)", "verdict orphaned", "because of test orphaned"] {
            XCTAssertTrue(m.contains(part), "\(part) missing from: \(m)")
        }
    }

    func testSyslogMessageShowsPermissionBitsAndSegmentFlagsApart() {
        let locked = IPCObject.shm(SharedMemorySegment(id: 5, perm: F.perm(key: 0x55, mode: 0o3640), size: 16, cpid: 700,
                                                       lpid: 701, nattch: 1, atime: 950, dtime: 960, ctime: 900))
        let r = CleanResult(classification: F.classified(locked), status: .failed, reason: "failed")
        let m = CleanSyslog.message(r, users: UserDirectory())
        XCTAssertTrue(m.contains("perms 0640 status dest,locked"), m)
        XCTAssertFalse(m.contains("3640"), m)
        let plain = CleanSyslog.message(CleanResult(classification: F.classified(F.sem(1)), status: .removed, reason: "r"),
                                        users: UserDirectory())
        XCTAssertTrue(plain.contains("perms 0600 verdict"), plain)
    }

    func testLockCandidatePaths() {
        XCTAssertEqual(CleanLock.candidatePaths(euid: 0, environment: [:]),
                       ["/run/ipcsweep.lock", "/var/lib/ipcsweep/clean.lock", "/tmp/ipcsweep-0.lock"])
        XCTAssertEqual(CleanLock.candidatePaths(euid: 1000, environment: ["XDG_RUNTIME_DIR": "/run/user/1000", "TMPDIR": "/var/tmp/"]),
                       ["/run/ipcsweep.lock", "/run/user/1000/ipcsweep.lock", "/var/tmp/ipcsweep-1000.lock"])
    }
}
