import XCTest
@testable import IPCSweepCore

/// The possible-holder rules (reach, inheritance, the unit-invocation exception) and the blind spots, each with
/// its edges, on built snapshots.
extension ClassifierTests {
    func groupSem(mode: UInt32 = 0o660, uid: UInt32 = 4001, gid: UInt32 = 5000, cuid: UInt32? = nil,
                  cgid: UInt32? = nil, pids: [Int32] = [4300]) -> IPCObject {
        .sem(SemaphoreSet(
            id: 20, perm: IPCPermissions(key: 0x77, uid: uid, gid: gid, cuid: cuid ?? uid, cgid: cgid ?? gid, mode: mode),
            nsems: pids.count, otime: T, ctime: T - 100,
            semaphores: pids.map { Semaphore(value: 1, pid: $0, ncnt: 0, zcnt: 0) }))
    }

    // MARK: reach (ipcperms)

    func testGroupMemberByPrimaryGidIsPossibleHolder() {
        let member = proc(880, uid: 4002, gid: 5000, start: Double(T - 60), ppid: 870)
        let c = classify(groupSem(), [member])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).map(\.1), [.groupAccess])
        XCTAssertTrue(c.reasons[0].contains("it is in the object's group and the mode grants the group access (group-access)"), c.reasons[0])
    }

    func testGroupMemberBySupplementaryGroupIsPossibleHolder() {
        let member = proc(880, uid: 4002, gid: 4002, groups: [27, 5000], start: Double(T - 60), ppid: 870)
        XCTAssertEqual(possible(classify(groupSem(), [member])).map(\.1), [.groupAccess])
        // The creator's group counts too.
        let cgidMember = proc(881, uid: 4003, gid: 6000, start: Double(T - 60), ppid: 870)
        XCTAssertEqual(classify(groupSem(cgid: 6000), [cgidMember]).verdict, .suspect)
    }

    func testGroupMembershipWithoutGroupBitsDoesNotReach() {
        let member = proc(880, uid: 4002, gid: 5000, start: Double(T - 60), ppid: 870)
        XCTAssertEqual(classify(groupSem(mode: 0o600), [member]).verdict, .orphaned)
        XCTAssertEqual(classify(groupSem(mode: 0o604), [member]).verdict, .suspect, "other bits: anyone reaches it")
    }

    func testOtherBitsLetEveryUidReach() {
        let stranger = proc(990, uid: 7000, gid: 7000, start: Double(T - 60), ppid: 870)
        let c = classify(shm(uid: 999, mode: 0o666), [stranger])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).map(\.1), [.otherAccess])
        XCTAssertEqual(classify(shm(uid: 999, mode: 0o660), [stranger]).verdict, .orphaned)
        // Root processes keep the root rule: a 0666 object of uid 999 is not theirs, unscoped.
        XCTAssertEqual(classify(shm(uid: 999, mode: 0o666), [proc(1, uid: 0, start: 0, ppid: 0)]).verdict, .orphaned)
        // The most specific rule is named: the owner's process is "owner-uid", not "other-access".
        let owner = proc(991, uid: 999, start: Double(T - 60), ppid: 870)
        XCTAssertEqual(Set(possible(classify(shm(uid: 999, mode: 0o666), [stranger, owner])).map(\.1)), [.ownerUID, .otherAccess])
    }

    func testCapIPCOwnerCountsLikeRoot() {
        let capable = proc(700, uid: 4005, capEff: 1 << 15, start: Double(T - 60), ppid: 870)
        // Unscoped: for a root-created object, like root.
        let c = classify(sem(uid: 33, cuid: 0, pids: [4181]), [capable])
        XCTAssertEqual(possible(c).map(\.1), [.ipcOwner])
        // Not for an object of another non-root uid (the root rule), but by its own uid it still counts.
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [4181]), [capable]).verdict, .orphaned)
        XCTAssertEqual(possible(classify(sem(uid: 4005, cuid: 4005, pids: [4181]), [capable])).map(\.1), [.ownerUID])
        // Inside a scope it counts for any object; outside, not for root-created ones.
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [4181]), [capable], scope: [700]).verdict, .suspect)
        XCTAssertEqual(classify(sem(uid: 33, cuid: 0, pids: [4181]), [capable], scope: []).verdict, .orphaned)
        // Without the capability bit (14 is CAP_IPC_LOCK) it is an ordinary process.
        let locker = proc(701, uid: 4005, capEff: 1 << 14, start: Double(T - 60), ppid: 870)
        XCTAssertEqual(classify(sem(uid: 33, cuid: 0, pids: [4181]), [locker]).verdict, .orphaned)
    }

    func testUnreadableStatusCountsAsAbleToReach() {
        let hidden = proc(650, uid: UInt32.max, credentialsKnown: false, start: Double(T - 60), ppid: 870)
        let c = classify(sem(uid: 33, cuid: 33, pids: [4181]), [hidden])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).map(\.1), [.unreadableStatus])
        XCTAssertTrue(c.reasons[0].contains("credentials unreadable"), c.reasons[0])
        // Outside a non-exclusive scope it still counts (it may be the owner); with --exclusive it does not.
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [4181]), [hidden], scope: []).verdict, .suspect)
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [4181]), [hidden], scope: [], exclusive: true).verdict, .orphaned)
    }

    func testExclusiveScopeIgnoresGroupAndOtherAccessOutsideIt() {
        let member = proc(880, uid: 4002, gid: 5000, start: Double(T - 60), ppid: 870)
        XCTAssertEqual(classify(groupSem(mode: 0o666), [member], scope: [], exclusive: true).verdict, .orphaned)
        XCTAssertEqual(classify(groupSem(mode: 0o666), [member], scope: [880], exclusive: true).verdict, .suspect)
    }

    // MARK: inheritance

    func testReparentedProcessWithinTheInheritanceWindowMayHaveInherited() {
        // A server used the set at T, then daemonised 2.5 s later: fork, parent exits, the child is pid 1's.
        let daemon = proc(900, uid: 33, start: Double(T) + 2.5, comm: "daemon", ppid: 1)
        let c = classify(sem(uid: 33, cuid: 33, pids: [899]), [daemon])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).first?.2, .inherited(.parentIsInit))
        XCTAssertTrue(c.reasons[0].contains("after the last activity, within the inheritance window, and may have inherited it (its parent is pid 1"), c.reasons[0])
        // Beyond the window (it ends 1 s + the coarse clock's lag + 5 s after the truncated second) it cannot have
        // inherited it.
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [899]), [proc(900, uid: 33, start: Double(T) + 6.0 + G, ppid: 1)]).verdict, .orphaned)
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [899]), [proc(900, uid: 33, start: Double(T) + 6.0, ppid: 1)]).verdict, .suspect)
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [899]), [proc(900, uid: 33, start: Double(T) + 5.9, ppid: 1)]).verdict, .suspect)
        // --inherit-window 2s: 2.5 s is now outside; 0 turns inheritance off.
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [899]), [daemon], window: 2).verdict, .suspect, "1 s + 2 s > 2.5 s")
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [899]), [daemon], window: 1).verdict, .orphaned)
        XCTAssertEqual(classify(sem(uid: 33, cuid: 33, pids: [899]), [daemon], window: 0).verdict, .orphaned)
    }

    func testWhatCountsAsReparented() {
        let o = sem(uid: 33, cuid: 33, pids: [899])
        let late = Double(T) + 2
        let oldParent = proc(800, uid: 1000, start: Double(T - 100), comm: "bash", ppid: 1)
        // A child of an older ordinary parent still has its original parent: not inherited.
        XCTAssertEqual(classify(o, [oldParent, proc(900, start: late, ppid: 800)]).verdict, .orphaned)
        // Its parent is younger than it: re-parented for sure.
        let youngParent = proc(801, uid: 1000, start: late + 1, comm: "bash", ppid: 1)
        XCTAssertEqual(possible(classify(o, [youngParent, proc(900, start: late, ppid: 801)])).first?.2, .inherited(.parentYounger))
        // Its parent is not in the table (exited, or another pid namespace: ppid 0).
        XCTAssertEqual(possible(classify(o, [proc(900, start: late, ppid: 555)])).first?.2, .inherited(.parentNotVisible))
        XCTAssertEqual(possible(classify(o, [proc(900, start: late, ppid: 0)])).first?.2, .inherited(.parentNotVisible))
        // Its parent is a likely subreaper (a user's systemd).
        let manager = proc(802, uid: 1000, start: Double(T - 100), comm: "systemd", ppid: 1)
        XCTAssertEqual(possible(classify(o, [manager, proc(900, start: late, ppid: 802)])).first?.2, .inherited(.parentIsSubreaper))
        // A process that existed at the last activity is a possible holder whatever its parent.
        XCTAssertEqual(possible(classify(o, [oldParent, proc(900, start: Double(T - 1), ppid: 800)])).first?.2, .existed)
    }

    func testUsedAndUnusedObjectsGetTheSameWindow() {
        // The old creation grace applied only when last activity == ctime; inheritance applies to used objects too.
        let created = sem(uid: 33, cuid: 0, pids: [4180], otime: 0, ctime: T)
        let used = sem(uid: 33, cuid: 0, pids: [4180], otime: T, ctime: T - 100)
        let unit = "/system.slice/apache2.service"
        let heir = proc(4181, uid: 0, start: Double(T) + 1.003, comm: "apache2", cgroup: unit, ppid: 1)
        XCTAssertEqual(classify(created, [heir], scope: [4181]).verdict, .suspect)
        XCTAssertEqual(classify(used, [heir], scope: [4181]).verdict, .suspect)
    }

    // MARK: the --unit invocation exception

    func testUnitInvocationAfterTheLastActivityRulesOutInheritance() {
        let o = sem(uid: 33, cuid: 0, pids: [4180])
        let cg = "/system.slice/apache2.service"
        let p = proc(5000, uid: 0, start: Double(T) + 1.5, comm: "apache2", cgroup: cg, ppid: 1)
        let units: [Int32: String] = [5000: "apache2.service"]
        // Began at T + 1.45 ≥ T + 1 + G: every process of the invocation descends from systemd.
        let ok = classify(o, [p], scope: [5000], units: units, invocations: ["apache2.service": .began(Double(T) + 1.45)])
        XCTAssertEqual(ok.verdict, .orphaned, "\(ok.reasons)")
        XCTAssertTrue(ok.reasons.contains { $0.hasPrefix("1 process of apache2.service started within the inheritance window but cannot have inherited it") },
                      "\(ok.reasons)")
        // Exactly at T + 1 + G still counts as after; T + 1 does not (the coarse clock may still have read T).
        XCTAssertEqual(classify(o, [p], scope: [5000], units: units, invocations: ["apache2.service": .began(Double(T + 1) + G)]).verdict, .orphaned)
        XCTAssertEqual(classify(o, [p], scope: [5000], units: units, invocations: ["apache2.service": .began(Double(T + 1))]).verdict, .suspect)
        let early = classify(o, [p], scope: [5000], units: units, invocations: ["apache2.service": .began(Double(T) + 0.99)])
        XCTAssertEqual(early.verdict, .suspect)
        XCTAssertTrue(early.evidence.contains { if case .inheritanceNotRuledOut(_, .invocationTooEarly) = $0 { return true }; return false })
    }

    func testUnitInvocationUnavailableKeepsInheritance() {
        let o = sem(uid: 33, cuid: 0, pids: [4180])
        let p = proc(5000, uid: 0, start: Double(T) + 1.5, cgroup: "/system.slice/apache2.service", ppid: 1)
        let c = classify(o, [p], scope: [5000], units: [5000: "apache2.service"],
                         invocations: ["apache2.service": .unavailable("cannot reach systemd through the system bus: No such file or directory")])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertTrue(c.reasons.contains { $0.contains("when its current invocation began is unknown (cannot reach systemd") }, "\(c.reasons)")
    }

    func testUnitExceptionNeedsAServiceAndNoOlderProcess() {
        let o = sem(uid: 33, cuid: 0, pids: [4180])
        let p = proc(5000, uid: 0, start: Double(T) + 1.5, cgroup: "/user.slice/session-3.scope", ppid: 1)
        let scope = classify(o, [p], scope: [5000], units: [5000: "session-3.scope"],
                             invocations: ["session-3.scope": .began(Double(T) + 1.2)])
        XCTAssertEqual(scope.verdict, .suspect)
        XCTAssertTrue(scope.evidence.contains(.inheritanceNotRuledOut(unit: "session-3.scope", why: .notAService)))
        // A leftover older than the invocation (KillMode=process) may have passed the set on to a new process.
        let cg = "/system.slice/apache2.service"
        let leftover = proc(4000, uid: 33, start: Double(T - 500), cgroup: cg, ppid: 1)
        let fresh = proc(5000, uid: 0, start: Double(T) + 1.5, cgroup: cg, ppid: 1)
        let c = classify(sem(uid: 7, cuid: 0, pids: [4180]), [leftover, fresh], scope: [4000, 5000],
                         units: [4000: "apache2.service", 5000: "apache2.service"],
                         invocations: ["apache2.service": .began(Double(T) + 1.2)])
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).map(\.0), [5000])
        XCTAssertTrue(c.evidence.contains(.inheritanceNotRuledOut(unit: "apache2.service", why: .olderProcess(pid: 4000, began: Double(T) + 1.2))))
    }

    // MARK: blind spots

    func testBlindSpotsMakeObjectsWithoutDirectEvidenceUnknown() {
        for spot in [BlindSpot.hidepid(mountPoint: "/proc", value: "invisible", gid: 30),
                     .subsetPid(mountPoint: "/proc"),
                     .hostIPCInChildPidNamespace(pidNamespace: 4_026_532_999)] {
            let c = classify(sem(uid: 33, cuid: 33, pids: [4181]), [], blindSpots: [spot])
            XCTAssertEqual(c.verdict, .unknown, "\(spot)")
            XCTAssertEqual(c.evidence.first, .blindSpot(spot))
            // Direct evidence still wins.
            XCTAssertEqual(classify(sem(pids: [4181]), [proc(4181, start: Double(T - 500))], blindSpots: [spot]).verdict, .inUse)
        }
        let c = classify(sem(uid: 33, cuid: 33, pids: [4181]), [], blindSpots: [.hidepid(mountPoint: "/proc", value: "2", gid: nil)])
        XCTAssertEqual(c.reasons.first, "/proc is mounted with hidepid=2: other users' processes are hidden from this caller, so a hidden process may hold it; run as root for a full view")
    }

    // MARK: the finder on its own (for POSIX objects and other namespaces)

    func testFinderWorksOnPlainAccessAndPreciseTimes() {
        let table = ProcessTable(processes: [proc(10, uid: 1000, gid: 100, start: 100.2, ppid: 9),
                                             proc(9, uid: 1000, start: 50, ppid: 1)], ownIPCNamespace: ns)
        let f = PossibleHolderFinder(processes: table, scope: nil, inheritWindow: 5)
        let file = AccessControl(uid: 2000, gid: 100, cuid: 2000, cgid: 100, mode: 0o640)
        // Modified at 100.1 (± 10 ms): pid 10 started after it; pid 9 is uid 1000, group 1000: no reach.
        let r = f.find(file, lastActivity: ActivityWindow(earliest: 100.09, latest: 100.11, reported: 100))
        XCTAssertEqual(r.total, 0)
        let r2 = f.find(file, lastActivity: ActivityWindow(earliest: 100.29, latest: 100.31, reported: 100))
        XCTAssertEqual(r2.listed.map(\.holder.pid), [10])
        XCTAssertEqual(r2.listed.first?.rule, .groupAccess)
    }

    /// The indexed counting (prefix counts for other bits, uid/gid lists) agrees with a direct check of every
    /// process against every rule, on random tables and objects.
    func testFinderCountsAgreeWithABruteForceCheck() {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<40 {
            var procs: [ProcessRecord] = []
            for pid in Int32(2)...Int32(60) {
                let uid = UInt32([0, 33, 1000, 1001, 1002].randomElement(using: &rng)!)
                let start = Double(T) + Double(Int.random(in: -20...12, using: &rng)) + Double.random(in: 0..<1, using: &rng)
                procs.append(proc(pid, uid: uid, gid: UInt32([33, 100, 1000, 5000].randomElement(using: &rng)!),
                                  groups: Bool.random(using: &rng) ? [5000] : [],
                                  capEff: Int.random(in: 0..<10, using: &rng) == 0 ? 1 << 15 : 0,
                                  credentialsKnown: Int.random(in: 0..<15, using: &rng) != 0, start: start,
                                  ppid: Int32.random(in: 0...70, using: &rng)))
            }
            let members = Set(procs.map(\.pid).filter { _ in Bool.random(using: &rng) })
            let exclusive = round % 3 == 0
            let scoped = round % 2 == 0
            let table = ProcessTable(processes: procs, ownIPCNamespace: ns, ownPid: 7)
            let scope = scoped ? ResolvedScope(description: "s", members: members, exclusive: exclusive) : nil
            // Some rounds with a measured forward step, and a unit's pair after which nothing moved.
            let clock = round % 4 == 1 ? ClockSteps(references: [
                ClockReference(source: .systemdManager, since: Double(T - 1000), step: Double.random(in: 0...8, using: &rng)),
                ClockReference(source: .systemdUnit("u.service"), since: Double(T) + Double.random(in: -6...6, using: &rng), step: 0),
            ]) : ClockSteps()
            let f = PossibleHolderFinder(processes: table, scope: scope, inheritWindow: 5, clock: clock)
            let cache = f.makeCache()
            for _ in 0..<30 {
                let a = AccessControl(uid: UInt32([0, 33, 1000].randomElement(using: &rng)!),
                                      gid: UInt32([33, 5000].randomElement(using: &rng)!),
                                      cuid: UInt32([0, 33, 1001].randomElement(using: &rng)!),
                                      cgid: UInt32([100, 5000].randomElement(using: &rng)!),
                                      mode: [0o600, 0o640, 0o660, 0o606, 0o666, 0o644].randomElement(using: &rng)!)
                let w = ActivityWindow(second: T + Int64.random(in: -5...5, using: &rng), granularity: 0.004)
                let brute = procs.filter { p in
                    if p.pid == 7 { return false }  // this run
                    let inScope = members.contains(p.pid)
                    if scoped && exclusive && !inScope { return false }
                    let rootRule = scoped ? inScope : a.rootObject
                    let reach: Bool
                    if !p.credentialsKnown { reach = true }
                    else if p.isRoot { reach = rootRule }
                    else {
                        reach = [a.uid, a.cuid].contains(p.uid) || [a.uid, a.cuid].contains(p.euid)
                            || (a.groupCanReach && (p.inGroup(a.gid) || p.inGroup(a.cgid))) || a.anyoneCanReach
                            || (p.hasIPCOwner && rootRule)
                    }
                    guard reach else { return false }
                    let start = clock.effectiveStart(p.startTime)
                    if start < w.latest { return true }
                    return start < w.latest + 5 && PossibleHolderFinder.reparenting(of: p, in: table) != nil
                }
                let r = f.find(a, lastActivity: w, cache: cache)
                XCTAssertEqual(r.total, brute.count, "round \(round) \(a) \(w)")
                XCTAssertEqual(r.listed.count, min(brute.count, PossibleHolderFinder.listLimit))
                XCTAssertTrue(Set(r.listed.map(\.holder.pid)).isSubset(of: Set(brute.map(\.pid))))
            }
        }
    }

    /// Processes born after a finder's table (clean's catch-up) are appended to it: it then finds, for every access
    /// and activity, what a finder built whole over the grown table finds. A born process known only by its status
    /// (it reaches no object of the verdicts' needs, `ProcessNeeds`) is left out of the appended finder and changes
    /// nothing; a born process ordered before one the finder has, or whose pid is the parent pid of one it has (that
    /// one's re-parenting then reads differently), or a scope, asks for a whole build (nil).
    func testAFinderWithBornProcessesAppendedFindsWhatAWholeBuildFinds() {
        var rng = ProcessNeedsTests.Rand(state: 2026)
        var appended = 0
        var refused = 0
        var leftOut = 0
        for round in 0..<100 {
            let accesses = (0..<6).map { _ in
                AccessControl(uid: UInt32([0, 33, 1000].randomElement(using: &rng)!),
                              gid: UInt32([33, 5000].randomElement(using: &rng)!),
                              cuid: UInt32([0, 33, 1001].randomElement(using: &rng)!),
                              cgid: UInt32([100, 5000].randomElement(using: &rng)!),
                              // Half the rounds without other bits: only there are some processes read by status only.
                              mode: (round % 2 == 0 ? [0o600, 0o640, 0o660] : [0o600, 0o640, 0o660, 0o606, 0o666, 0o644])
                                .randomElement(using: &rng)!)
            }
            let needs = ProcessNeeds(accesses: accesses)
            func someProcess(_ pid: Int32, start: Double, parents: ClosedRange<Int32>) -> ProcessRecord {
                proc(pid, uid: UInt32([0, 33, 1000, 1001, 1002, 7000].randomElement(using: &rng)!),
                     gid: UInt32([33, 100, 1000, 5000, 7000].randomElement(using: &rng)!),
                     groups: Bool.random(using: &rng) ? [5000] : [],
                     capEff: Int.random(in: 0..<10, using: &rng) == 0 ? 1 << 15 : 0,
                     credentialsKnown: Int.random(in: 0..<15, using: &rng) != 0, start: start,
                     state: Int.random(in: 0..<15, using: &rng) == 0 ? "Z" : "S",
                     comm: Int.random(in: 0..<8, using: &rng) == 0 ? "containerd-shim" : "worker",
                     ns: Int.random(in: 0..<10, using: &rng) == 0 ? 4_026_532_999 : nil,
                     ppid: Int32.random(in: parents, using: &rng))
            }
            var procs = (Int32(2)...Int32(50)).map { pid in
                someProcess(pid, start: Double(T) + Double(Int.random(in: -20...8, using: &rng)) + Double.random(in: 0..<1, using: &rng),
                            parents: 0...60)
            }
            // What a table read for these accesses' verdicts holds: status only for those that reach none of them.
            func forVerdicts(_ p: ProcessRecord) -> ProcessRecord {
                guard p.credentialsKnown, !needs.mayReach(p) else { return p }
                var q = p
                q.startTime = 0
                q.statKnown = false
                q.files = [.status]
                return q
            }
            procs = procs.map(forVerdicts)
            let clock = round % 4 == 1 ? ClockSteps(references: [
                ClockReference(source: .systemdManager, since: Double(T - 1000), step: Double.random(in: 0...8, using: &rng)),
            ]) : ClockSteps()
            let before = ProcessTable(processes: procs, ownIPCNamespace: ns, ownPid: 7)
            var f = PossibleHolderFinder(processes: before, scope: nil, inheritWindow: 5, clock: clock)
            var table = before
            var nextPid: Int32 = 61
            var last = Double(T) + 9
            // Several catch-ups, one after the other, each appended to the finder of the one before.
            for _ in 0..<3 {
                var born: [ProcessRecord] = []
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    last += Double(Int.random(in: 0...2, using: &rng)) + Double.random(in: 0..<1, using: &rng)
                    var pid = nextPid
                    var start = last
                    switch Int.random(in: 0..<12, using: &rng) {
                    case 0: pid = 55  // a parent pid some processes of the table may have (none has pid 55)
                    case 1: start -= 30; nextPid += 1  // started before processes the finder has
                    default: nextPid += 1
                    }
                    guard table.byPid[pid] == nil, !born.contains(where: { $0.pid == pid }) else { continue }
                    born.append(forVerdicts(someProcess(pid, start: start, parents: 0...nextPid)))
                }
                table.insert(born)
                let whole = PossibleHolderFinder(processes: table, scope: nil, inheritWindow: 5, clock: clock)
                let orderedBefore = born.contains { b in
                    b.files != [.status] && !b.isDeadOrZombie && table.sharesIPCNamespace(b)
                        && f.live.contains { ($0.startTime, $0.pid) > (b.startTime, b.pid) }
                }
                let parentOfOne = f.live.contains { p in born.contains { $0.pid == p.ppid } }
                var next = f
                guard next.append(born: born, in: table) else {
                    XCTAssertTrue(orderedBefore || parentOfOne, "round \(round): appending refused \(born.map(\.pid))")
                    refused += 1
                    f = whole
                    continue
                }
                XCTAssertFalse(orderedBefore || parentOfOne, "round \(round): appended \(born.map(\.pid))")
                appended += 1
                leftOut += born.filter { $0.files == [.status] }.count
                let a = next.makeCache()
                let b = whole.makeCache()
                for access in accesses {
                    for second in (T - 6)...(T + 14) {
                        let w = ActivityWindow(second: second, granularity: 0.004)
                        XCTAssertEqual(next.find(access, lastActivity: w, cache: a), whole.find(access, lastActivity: w, cache: b),
                                       "round \(round): \(access) \(w)")
                    }
                }
                f = next
            }
        }
        XCTAssertGreaterThan(appended, 150)
        XCTAssertGreaterThan(refused, 40)
        XCTAssertGreaterThan(leftOut, 15)
        // A scope is resolved again with the table: never appended to.
        let scoped = PossibleHolderFinder(processes: ProcessTable(processes: [proc(10, start: Double(T))], ownIPCNamespace: ns),
                                          scope: ResolvedScope(description: "s", members: [10], exclusive: false), inheritWindow: 5)
        let grown = ProcessTable(processes: [proc(10, start: Double(T)), proc(11, start: Double(T + 1))], ownIPCNamespace: ns)
        var withBorn = scoped
        XCTAssertFalse(withBorn.append(born: [proc(11, start: Double(T + 1))], in: grown))
    }
}
