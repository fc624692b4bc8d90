import XCTest
@testable import IPCSweepCore

/// The Verdicts rules, one by one, on built snapshots.
final class ClassifierTests: XCTestCase {
    let T: Int64 = 1_800_000_000  // the last activity of most objects below
    /// The coarse clock's lag the classifier is given in these tests (a 250 Hz tick).
    static let G = 0.004
    var G: Double { Self.G }
    let ns: UInt64 = 4_026_531_839

    func proc(_ pid: Int32, uid: UInt32 = 33, euid: UInt32? = nil, gid: UInt32? = nil, groups: [UInt32] = [],
              capEff: UInt64 = 0, credentialsKnown: Bool = true, start: Double, state: Character = "S",
              comm: String = "worker", cgroup: String? = nil, ns: UInt64? = nil, maps: [Int32] = [],
              ppid: Int32 = 1) -> ProcessRecord {
        ProcessRecord(pid: pid, ppid: ppid, state: state, uid: uid, euid: euid ?? uid, gid: gid, groups: groups,
                      capEff: capEff, credentialsKnown: credentialsKnown, comm: comm, exe: "/usr/bin/\(comm)",
                      startTime: start, cgroup: cgroup, ipcNamespace: ns ?? self.ns, attachedSegments: maps)
    }

    func sem(id: Int32 = 1, uid: UInt32 = 33, cuid: UInt32 = 0, pids: [Int32] = [0], otime: Int64? = nil,
             ctime: Int64? = nil, ncnt: Int32 = 0, zcnt: Int32 = 0, readable: Bool = true) -> IPCObject {
        .sem(SemaphoreSet(
            id: id, perm: IPCPermissions(key: 0x1234, uid: uid, gid: uid, cuid: cuid, cgid: cuid, mode: 0o600),
            nsems: pids.count, otime: otime ?? T, ctime: ctime ?? (T - 100),
            semaphores: readable ? pids.map { Semaphore(value: 1, pid: $0, ncnt: ncnt, zcnt: zcnt) } : nil,
            detailError: readable ? nil : "cannot read the semaphores of set \(id): permission denied"))
    }

    func shm(id: Int32 = 2, uid: UInt32 = 999, cpid: Int32 = 500, lpid: Int32 = 501, nattch: UInt64 = 0,
             mode: UInt32 = 0o600) -> IPCObject {
        .shm(SharedMemorySegment(id: id, perm: IPCPermissions(key: 7, uid: uid, gid: uid, cuid: uid, cgid: uid, mode: mode),
                                 size: 4096, cpid: cpid, lpid: lpid, nattch: nattch, atime: T, dtime: T - 5,
                                 ctime: T - 50))
    }

    func msg(id: Int32 = 3, uid: UInt32 = 1000, lspid: Int32 = 0, lrpid: Int32 = 0, stime: Int64 = 0,
             rtime: Int64 = 0) -> IPCObject {
        .msg(MessageQueue(id: id, perm: IPCPermissions(key: 9, uid: uid, gid: uid, cuid: uid, cgid: uid, mode: 0o600),
                          cbytes: 0, qnum: 0, lspid: lspid, lrpid: lrpid, stime: stime, rtime: rtime, ctime: T - 10))
    }

    func classify(_ o: IPCObject, _ procs: [ProcessRecord], threads: [Int32: Int32] = [:], scope: Set<Int32>? = nil,
                  exclusive: Bool = false, ownPid: Int32? = nil, units: [Int32: String] = [:],
                  invocations: [String: UnitInvocation] = [:], blindSpots: [BlindSpot] = [],
                  window: Double = Classifier.defaultInheritWindow, clock: ClockSteps = ClockSteps(),
                  granularity: Double = ClassifierTests.G) -> Classification {
        let table = ProcessTable(processes: procs, threadGroups: threads, ownIPCNamespace: ns, ownPid: ownPid,
                                 blindSpots: blindSpots)
        let resolved = scope.map {
            ResolvedScope(description: "unit x.service", members: $0, exclusive: exclusive, memberUnits: units,
                          unitInvocations: invocations)
        }
        var c = [Classifier(processes: table, scope: resolved, inheritWindow: window, granularity: granularity,
                            clock: clock).classify(o)]
        EvidenceText(users: UserDirectory()).fillReasons(&c)
        return c[0]
    }

    /// The possible-holder evidence of a classification: (pid, rule, timing).
    func possible(_ c: Classification) -> [(Int32, ReachRule, HolderTiming)] {
        c.evidence.compactMap {
            if case .possibleHolder(let h, let rule, let timing, _, _, _) = $0 { return (h.pid, rule, timing) }
            return nil
        }
    }

    // MARK: direct evidence

    func testAttachedSegmentIsInUseWithTheMappingProcesses() {
        let c = classify(shm(nattch: 2), [proc(212, uid: 999, start: 10, comm: "postgres",
                                               cgroup: "/system.slice/postgresql@15-main.service", maps: [2])])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertEqual(c.holders.map(\.pid), [212])
        XCTAssertEqual(c.holders.first?.unit, "postgresql@15-main.service")
        XCTAssertEqual(c.reasons.first, "attached by pid 212 (postgres, postgresql@15-main.service)")
    }

    func testAttachedSegmentWithoutVisibleMappersIsStillInUse() {
        let c = classify(shm(nattch: 1), [])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertTrue(c.reasons[0].contains("nattch"), c.reasons[0])
    }

    func testSegmentMarkedForRemovalIsInUse() {
        let c = classify(shm(nattch: 1, mode: 0o1600), [])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertTrue(c.reasons[0].contains("SHM_DEST"))
    }

    func testSemaphoreWaitersAreInUse() {
        let c = classify(sem(pids: [0, 0], otime: 0, ncnt: 1, zcnt: 1), [])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertEqual(c.reasons.first, "semaphore 0 has 2 waiters")
    }

    func testLiveRecordedPidIsInUse() {
        let c = classify(sem(pids: [4181]), [proc(4181, start: Double(T - 500), comm: "apache2")])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertEqual(c.holders.map(\.pid), [4181])
        XCTAssertEqual(c.reasons.first, "last operator pid 4181 (apache2) is alive")
    }

    // MARK: dead, zombie, reused, foreign, hidden pids

    func testExitedOperatorAndNoPossibleHolderIsOrphaned() {
        let c = classify(sem(uid: 33, cuid: 33, pids: [4181]), [proc(1, uid: 0, start: 0, comm: "init")])
        XCTAssertEqual(c.verdict, .orphaned)
        XCTAssertTrue(c.reasons.contains("last operator pid 4181 exited"), "\(c.reasons)")
    }

    func testZombieHoldsNothing() {
        let c = classify(sem(pids: [4181]), [proc(4181, start: Double(T - 500), state: "Z", comm: "apache2")])
        XCTAssertEqual(c.verdict, .orphaned)
        XCTAssertTrue(c.reasons.contains { $0.contains("zombie") }, "\(c.reasons)")
    }

    func testPidReusedByProcessStartedOneSecondAfterIsNotAHolder() {
        // Started at U + 1 + the coarse clock's lag: provably younger than the operation recorded as second U.
        let c = classify(sem(pids: [4181]), [proc(4181, uid: 0, start: Double(T + 1) + G, comm: "sleep")], window: 0)
        XCTAssertEqual(c.verdict, .orphaned)
        XCTAssertTrue(c.reasons.contains("pid 4181 reused by sleep (started 1 s after the last operation)"), "\(c.reasons)")
    }

    func testPidInsideTheOneSecondWindowCountsAsInUse() {
        // Started at U + 0.99: the operation (truncated to U) may have come after; err toward in-use.
        let c = classify(sem(pids: [4181]), [proc(4181, uid: 0, start: Double(T) + 0.99, comm: "sleep")])
        XCTAssertEqual(c.verdict, .inUse)
    }

    func testCoarseClockLagKeepsAProcessJustPastTheSecondAHolder() {
        // The kernel records System V seconds from the coarse clock, which can still read U for up to one tick
        // after the precise clock (a process's start time) passed U + 1: a process started at U + 1.002 may have
        // operated on the set at "second U" itself, so its pid is not reused and it is a possible holder.
        let start = Double(T + 1) + 0.002
        let live = classify(sem(pids: [4181]), [proc(4181, uid: 0, start: start, comm: "sleep")], window: 0, granularity: 0.004)
        XCTAssertEqual(live.verdict, .inUse, "\(live.reasons)")
        let owner = classify(sem(pids: [4181]), [proc(880, start: start, ppid: 0)], window: 0, granularity: 0.004)
        XCTAssertEqual(owner.verdict, .suspect, "\(owner.reasons)")
        // Past the lag it is provably younger.
        let later = Double(T + 1) + 0.004
        XCTAssertEqual(classify(sem(pids: [4181]), [proc(4181, uid: 0, start: later, comm: "sleep")], window: 0, granularity: 0.004).verdict, .orphaned)
        XCTAssertEqual(classify(sem(pids: [4181]), [proc(880, start: later, ppid: 0)], window: 0, granularity: 0.004).verdict, .orphaned)
    }

    func testSetvalTimeCountsForSempidWhenOtimeIsZero() {
        // sempid set by SETVAL at ctime, never semop'd: a process started after ctime+1 is a reuse.
        let o = sem(pids: [77], otime: 0, ctime: T)
        let reused = classify(o, [proc(77, start: Double(T + 4))], window: 0)
        XCTAssertEqual(reused.verdict, .orphaned)
        XCTAssertTrue(reused.reasons.contains { $0.hasPrefix("pid 77 reused by worker (started 4 s after") }, "\(reused.reasons)")
        XCTAssertEqual(classify(o, [proc(77, start: Double(T - 2))]).verdict, .inUse)
    }

    func testProcessInAnotherIPCNamespaceIsNotAHolder() {
        let c = classify(sem(pids: [4181]), [proc(4181, start: Double(T - 500), ns: 1234)])
        XCTAssertEqual(c.verdict, .orphaned)
        XCTAssertTrue(c.reasons.contains { $0.contains("another IPC namespace") }, "\(c.reasons)")
    }

    func testThreadIdResolvesToItsThreadGroup() {
        let o = msg(lspid: 5, lrpid: 902, stime: T - 1, rtime: T)
        let d = classify(o, [proc(900, uid: 1000, start: Double(T - 100), comm: "consumer")], threads: [902: 900])
        XCTAssertEqual(d.verdict, .inUse)
        XCTAssertEqual(d.holders.map(\.pid), [900])
        XCTAssertTrue(d.reasons[0].contains("a thread of pid 900"), d.reasons[0])
        // Without the thread mapping, 902 is simply gone.
        XCTAssertEqual(classify(o, [proc(900, uid: 2000, start: 1)]).verdict, .orphaned)
        // A hidden sender (lspid 0 with a send time) does not hide live direct evidence.
        let hidden = msg(lspid: 0, lrpid: 902, stime: T - 1, rtime: T)
        XCTAssertEqual(classify(hidden, [proc(900, uid: 1000, start: Double(T - 100))], threads: [902: 900]).verdict, .inUse)
    }

    func testPidZeroWithAnEventIsNotVisibleSoUnknown() {
        let c = classify(msg(lspid: 0, stime: T), [])
        XCTAssertEqual(c.verdict, .unknown)
        XCTAssertTrue(c.reasons[0].contains("not visible from this pid namespace"), c.reasons[0])
        let s = classify(sem(pids: [0, 0], otime: T), [])
        XCTAssertEqual(s.verdict, .unknown)
        XCTAssertEqual(classify(shm(cpid: 0, lpid: 0), []).verdict, .unknown)
    }

    func testPidZeroWithoutAnEventMeansNone() {
        XCTAssertEqual(classify(msg(), []).verdict, .orphaned)
        XCTAssertEqual(classify(sem(pids: [0], otime: 0), []).verdict, .orphaned)
    }

    func testUnreadableDetailIsUnknown() {
        let c = classify(sem(readable: false), [])
        XCTAssertEqual(c.verdict, .unknown)
        XCTAssertTrue(c.reasons[0].contains("permission denied"))
    }

    func testDirectEvidenceWinsOverUnreadableParts() {
        // Hidden cpid, but attached: in use.
        XCTAssertEqual(classify(shm(cpid: 0, nattch: 1), []).verdict, .inUse)
    }

    // MARK: possible holders

    func testOwnerProcessStartedBeforeLastActivityIsPossibleHolder() {
        let c = classify(sem(pids: [4181]), [proc(880, uid: 33, start: Double(T - 3600), comm: "php-fpm")])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(c.possibleHolders.map(\.pid), [880])
        XCTAssertTrue(c.reasons[0].hasPrefix("possible holder: pid 880 php-fpm (www-data) started before the last use; it runs as the owner (owner-uid)"), c.reasons[0])
        XCTAssertEqual(possible(c).first?.1, .ownerUID)
    }

    func testEffectiveUidMatchCounts() {
        let c = classify(sem(pids: [4181]), [proc(880, uid: 1000, euid: 33, start: Double(T - 3600))])
        XCTAssertEqual(c.verdict, .suspect)
    }

    func testOwnerProcessStartedAfterLastActivityIsNotAHolder() {
        // Its parent (older, ordinary, alive) is its original parent: it cannot have inherited the set.
        let parent = proc(870, uid: 1000, start: Double(T - 50), comm: "bash")
        XCTAssertEqual(classify(sem(pids: [4181]), [parent, proc(880, start: Double(T + 1) + G, ppid: 870)]).verdict, .orphaned)
        // Within the one-second window it cannot be ordered: suspect.
        XCTAssertEqual(classify(sem(pids: [4181]), [proc(880, start: Double(T) + 0.5)]).verdict, .suspect)
    }

    func testZombieAndForeignNamespaceAreNeverPossibleHolders() {
        XCTAssertEqual(classify(sem(pids: [4181]), [proc(880, start: 1, state: "Z")]).verdict, .orphaned)
        XCTAssertEqual(classify(sem(pids: [4181]), [proc(880, start: 1, ns: 42)]).verdict, .orphaned)
    }

    func testOtherUsersProcessesAreNotPossibleHolders() {
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [4181]), [proc(880, uid: 1000, start: 1)]).verdict, .orphaned)
    }

    func testRootCreatedObjectWithOldRootProcessAndNoScopeIsSuspect() {
        let c = classify(sem(uid: 33, cuid: 0, pids: [4181]), [proc(1, uid: 0, start: 0, comm: "systemd")])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(c.possibleHolders.map(\.pid), [1])
    }

    func testRootProcessesDoNotCountForNonRootObjectsUnscoped() {
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [4181]), [proc(1, uid: 0, start: 0)]).verdict, .orphaned)
    }

    func testRootProcessOutsideTheScopeDoesNotCount() {
        let c = classify(sem(uid: 33, cuid: 0, pids: [4181]), [proc(1, uid: 0, start: 0)], scope: [])
        XCTAssertEqual(c.verdict, .orphaned, "an empty scope: root outside it never counts")
        XCTAssertTrue(c.reasons[0].hasPrefix("no live process in unit x.service or of uid 33 (www-data) or 0 (root) existed at the last activity"), c.reasons[0])
    }

    func testRootProcessInsideTheScopeCountsEvenForNonRootObjects() {
        let c = classify(sem(uid: 33, cuid: 33, pids: [4181]),
                         [proc(812, uid: 0, start: Double(T - 10), comm: "apache2")], scope: [812])
        XCTAssertEqual(c.verdict, .suspect)
    }

    func testNonRootOwnerOutsideTheScopeCountsUnlessExclusive() {
        let procs = [proc(880, uid: 33, start: Double(T - 3600), comm: "php-fpm")]
        XCTAssertEqual(classify(sem(pids: [4181]), procs, scope: []).verdict, .suspect)
        XCTAssertEqual(classify(sem(pids: [4181]), procs, scope: [], exclusive: true).verdict, .orphaned)
        XCTAssertEqual(classify(sem(pids: [4181]), procs, scope: [880], exclusive: true).verdict, .suspect)
    }

    func testOnlyThisRunIsExcludedAndItsAncestorsCount() {
        // A root daemon (4180) made the set and ran ipcsweep (4181) to sweep: the daemon is a possible holder.
        let daemon = proc(4180, uid: 0, start: Double(T - 10), comm: "daemon")
        let me = proc(4181, uid: 0, start: Double(T + 30), comm: "ipcsweep", ppid: 4180)
        let c = classify(sem(uid: 0, cuid: 0, pids: [4181]), [daemon, me], ownPid: 4181)
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).map(\.0), [4180])
        XCTAssertTrue(c.evidence.contains(.recordedPidIsThisRun(role: .sempid, pid: 4181)), "\(c.evidence)")
        XCTAssertTrue(c.reasons.contains("last operator pid 4181 is this ipcsweep run: not counted"), "\(c.reasons)")
        // The run itself, alone, never counts.
        XCTAssertEqual(classify(sem(uid: 0, cuid: 0, pids: [4181]), [me], ownPid: 4181).verdict, .orphaned)
    }

    /// The Apache shape: root creates, www-data owns, the old instance is dead and the new one is younger.
    func testApacheRestartedAfterCrashUnderUnitScope() {
        let crash = T
        let old = sem(id: 10, uid: 33, cuid: 0, pids: [4181], otime: crash, ctime: crash - 3600)
        let running = sem(id: 11, uid: 33, cuid: 0, pids: [0], otime: 0, ctime: crash + 5)
        let unit = "/system.slice/apache2.service"
        let procs = [
            proc(1, uid: 0, start: 0, comm: "systemd"),
            proc(5000, uid: 0, start: Double(crash + 5) - 0.2, comm: "apache2", cgroup: unit),
            proc(5001, uid: 33, start: Double(crash + 5) + 0.1, comm: "apache2", cgroup: unit, ppid: 5000),
        ]
        let scope: Set<Int32> = [5000, 5001]
        let units: [Int32: String] = [5000: "apache2.service", 5001: "apache2.service"]
        // systemd began the new invocation just before forking apache2 (5 s after the crash).
        let inv: [String: UnitInvocation] = ["apache2.service": .began(Double(crash + 5) - 0.25)]
        let c = classify(old, procs, scope: scope, units: units, invocations: inv)
        XCTAssertEqual(c.verdict, .orphaned, "\(c.reasons)")
        XCTAssertTrue(c.evidence.contains { if case .inheritanceRuledOut("apache2.service", _, 1) = $0 { return true }; return false },
                      "\(c.evidence)")
        XCTAssertEqual(classify(running, procs, scope: scope, units: units, invocations: inv).verdict, .suspect)
        // Without the invocation start, 5000 (re-parented-looking, 4.8 s after the crash) may have inherited it.
        XCTAssertEqual(classify(old, procs, scope: scope, units: units).verdict, .suspect)
        // Unscoped, pid 1 (root, older) keeps the old set suspect: never orphaned by accident.
        XCTAssertEqual(classify(old, procs).verdict, .suspect)
        XCTAssertNotEqual(classify(running, procs).verdict, .orphaned)
    }

    func testVerdictFilterAndIdleFilter() {
        let c = classify(sem(pids: [4181]), [])
        XCTAssertTrue(ObjectFilter(verdicts: [.orphaned]).matches(c, now: Double(T + 60)))
        XCTAssertFalse(ObjectFilter(verdicts: [.inUse]).matches(c, now: Double(T + 60)))
        XCTAssertTrue(ObjectFilter(idleFor: 60).matches(c, now: Double(T + 60)))
        XCTAssertFalse(ObjectFilter(idleFor: 61).matches(c, now: Double(T + 60)))
        XCTAssertTrue(ObjectFilter(uids: [0]).matches(c, now: 0), "creator uid matches --user")
        XCTAssertFalse(ObjectFilter(kinds: [.shm]).matches(c, now: 0))
    }
}
