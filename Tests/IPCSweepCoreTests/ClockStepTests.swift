import XCTest
@testable import IPCSweepCore

/// SPEC "Clock steps": a measured forward step of the wall clock widens every comparison of a process start
/// with a wall-clock second (existed at the last activity, the inheritance window, pid reuse) for processes
/// that started before it; backward steps widen nothing; a true orphan stays orphaned.
extension ClassifierTests {
    /// Systemd's manager pair, taken at boot (long before T), says the clock moved forward by `step` since.
    func managerStep(_ step: Double) -> ClockSteps {
        ClockSteps(references: [ClockReference(source: .systemdManager, since: Double(T - 86_400), step: step)])
    }

    /// The case: a service (User=nobody) whose child used the set at T and exited; its main process
    /// started before T, but after a +1 h step its start reads T + 3600 − 60.
    func testForwardStepKeepsTheLiveServiceAPossibleHolder() {
        let o = sem(uid: 65534, cuid: 65534, pids: [4444])
        let service = proc(4000, uid: 65534, start: Double(T) - 60 + 3600, comm: "service", ppid: 1)
        XCTAssertEqual(classify(o, [service]).verdict, .orphaned, "the failure the issue reports, without a measurement")
        let c = classify(o, [service], clock: managerStep(3600))
        XCTAssertEqual(c.verdict, .suspect, "\(c.reasons)")
        XCTAssertEqual(possible(c).map(\.0), [4000])
        XCTAssertEqual(possible(c).first?.2, .existed)
        XCTAssertTrue(c.evidence.contains { if case .possibleHolder(_, _, _, _, _, true) = $0 { return true }; return false })
        XCTAssertTrue(c.evidence.contains(.clockStep(step: 3600, reference: managerStep(3600).references[0])))
        XCTAssertTrue(c.reasons[0].contains("started 59 min after the last activity by today's clock, before it once the clock step is allowed for (clock-step)"), c.reasons[0])
        XCTAssertTrue(c.reasons.contains { $0.hasPrefix("the wall clock was stepped forward by 60 min since ") && $0.contains("systemd's UserspaceTimestamp and UserspaceTimestampMonotonic") },
                      "\(c.reasons)")
        let json = Dictionary(c.evidence.first { $0.kind == "clock-step" }!.jsonFields.map { ($0.key, $0.value) }) { a, _ in a }
        XCTAssertEqual(json["stepMs"], .int(3_600_000))
        XCTAssertEqual(json["source"], .string("systemd-manager"))
        XCTAssertEqual(json["since"], .int(T - 86_400 - 3600), "the pair's own reading: the clock before the step")
        XCTAssertEqual(json["unit"], .null)
    }

    func testATrueOrphanStaysOrphanedWhateverTheStep() {
        // No process of its owner at all: nothing to widen.
        let o = sem(uid: 65534, cuid: 65534, pids: [4444])
        let other = proc(4000, uid: 1000, start: Double(T) - 60 + 3600, ppid: 1)
        let c = classify(o, [other], clock: managerStep(3600))
        XCTAssertEqual(c.verdict, .orphaned)
        XCTAssertFalse(c.evidence.contains { $0.kind == "clock-step" })
    }

    func testStepInsideAndBeyondTheOneSecondSlack() {
        let o = sem(uid: 33, cuid: 33, pids: [899])
        // A child of an older ordinary parent: never inherited, so only "existed" decides.
        let parent = proc(800, uid: 1000, start: Double(T - 100), comm: "bash", ppid: 1)
        func verdict(_ start: Double, _ step: Double) -> Verdict {
            classify(o, [parent, proc(900, uid: 33, start: start, ppid: 800)], clock: managerStep(step)).verdict
        }
        // Inside the slack: a 0.5 s step. Read 0.3 s after the activity's second ends: counted only through it.
        XCTAssertEqual(verdict(Double(T) + 1.3, 0), .orphaned)
        XCTAssertEqual(verdict(Double(T) + 1.3, 0.5), .suspect)
        XCTAssertEqual(verdict(Double(T) + 1.7, 0.5), .orphaned, "beyond the step")
        // Beyond the slack: a step of an hour, and just past it.
        XCTAssertEqual(verdict(Double(T) + 3600.5, 3600), .suspect)
        XCTAssertEqual(verdict(Double(T) + 3601.2, 3600), .orphaned, "started after the step: provably younger")
    }

    func testBackwardStepWidensNothing() {
        let o = sem(uid: 33, cuid: 33, pids: [899])
        let parent = proc(800, uid: 1000, start: Double(T - 100), comm: "bash", ppid: 1)
        let young = proc(900, uid: 33, start: Double(T) + 1.3, ppid: 800)
        let c = classify(o, [parent, young], clock: managerStep(-3600))
        XCTAssertEqual(c.verdict, .orphaned)
        XCTAssertFalse(c.evidence.contains { $0.kind == "clock-step" })
        XCTAssertEqual(ClockSteps(references: [ClockReference(source: .systemdManager, since: 0, step: -3600)])
            .widening(forStart: Double(T)), nil)
    }

    func testStepWidensTheInheritanceWindow() {
        // Daemonised 2.5 s after the last use, then a +1 h step: its start reads T + 3602.5.
        let o = sem(uid: 33, cuid: 33, pids: [899])
        let daemon = proc(900, uid: 33, start: Double(T) + 2.5 + 3600, comm: "daemon", ppid: 1)
        XCTAssertEqual(classify(o, [daemon]).verdict, .orphaned)
        let c = classify(o, [daemon], clock: managerStep(3600))
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertEqual(possible(c).first?.2, .inherited(.parentIsInit))
        XCTAssertTrue(c.reasons[0].contains("within the inheritance window once the clock step is allowed for (clock-step)"), c.reasons[0])
    }

    func testStepKeepsARecordedPidFromBeingCalledReused() {
        // sempid 900 recorded at T; its process started at T − 10, read as T + 3590 after a +1 h step.
        let o = sem(uid: 33, cuid: 33, pids: [900])
        let p = proc(900, uid: 33, start: Double(T) - 10 + 3600, ppid: 1)
        let without = classify(o, [p])
        XCTAssertTrue(without.evidence.contains { $0.kind == "recorded-pid-reused" })
        let c = classify(o, [p], clock: managerStep(3600))
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertTrue(c.evidence.contains { $0.kind == "live-recorded-pid" })
        XCTAssertTrue(c.evidence.contains { $0.kind == "clock-step" })
        // A process that started after the step is still an unrelated one that reused the pid.
        let reused = classify(o, [proc(900, uid: 33, start: Double(T) + 3605, ppid: 1)], clock: managerStep(3600))
        XCTAssertTrue(reused.evidence.contains { $0.kind == "recorded-pid-reused" })
    }

    /// The widening applies to processes that started before the step: the latest pair taken before a
    /// process started bounds it. A unit's own pair (taken at its invocation) says no step happened since.
    func testUnitPairLimitsTheWideningToProcessesOlderThanIt() {
        let unitPair = ClockReference(source: .systemdUnit("apache2.service"), since: Double(T) + 1.45, step: 0)
        let both = ClockSteps(references: managerStep(3600).references + [unitPair])
        XCTAssertEqual(both.widening(forStart: Double(T) - 100)?.amount, 3600, "older than the unit pair")
        XCTAssertNil(both.widening(forStart: Double(T) + 1.5), "started after the unit pair: no step since")
        XCTAssertNil(both.widening(forStart: Double(T) + 1.3), "within the slack before the stamp: the unit's own first process")
        XCTAssertEqual(both.effectiveStart(Double(T) + 1.5), Double(T) + 1.5)
        // Effective starts keep the order of starts.
        let starts = stride(from: Double(T) - 10, to: Double(T) + 10, by: 0.05)
        let eff = starts.map(both.effectiveStart)
        XCTAssertEqual(eff, eff.sorted())
    }

    /// Apache crash and restart under --unit after a +1 h step that came before the restart: with the unit's
    /// pair the new instance's processes are not widened, so the unit-invocation rule keeps its recall; without
    /// it (only the manager's pair) they are, and the old set stays suspect (never orphaned by mistake).
    func testUnitInvocationRuleWithAndWithoutTheUnitPair() {
        let o = sem(uid: 33, cuid: 0, pids: [4180])
        let cg = "/system.slice/apache2.service"
        // The old set last used at T (before the step, old clock); systemd stamped the new invocation at
        // T + 1.45 + 3600 on the stepped clock, and its main process started then.
        let began = Double(T) + 1.45 + 3600
        let p = proc(5000, uid: 0, start: began + 0.001, comm: "apache2", cgroup: cg, ppid: 1)
        let units: [Int32: String] = [5000: "apache2.service"]
        let inv: [String: UnitInvocation] = ["apache2.service": .began(began)]
        let unitPair = ClockReference(source: .systemdUnit("apache2.service"), since: began, step: 0)
        let with = classify(o, [p], scope: [5000], units: units, invocations: inv,
                            clock: ClockSteps(references: managerStep(3600).references + [unitPair]))
        XCTAssertEqual(with.verdict, .orphaned, "\(with.reasons)")
        let without = classify(o, [p], scope: [5000], units: units, invocations: inv, clock: managerStep(3600))
        XCTAssertNotEqual(without.verdict, .orphaned, "\(without.reasons)")
        // With no step at all, the recall is what it was.
        XCTAssertEqual(classify(o, [proc(5000, uid: 0, start: Double(T) + 1.5, cgroup: cg, ppid: 1)], scope: [5000], units: units,
                                invocations: ["apache2.service": .began(Double(T) + 1.45)]).verdict, .orphaned)
    }

    /// A step after the invocation began (both the unit's and the manager's pairs see it): its stamp is turned
    /// into today's clock, so a leftover older than the invocation is still found.
    func testInvocationStartIsComparedOnTodaysClock() {
        let o = sem(uid: 7, cuid: 0, pids: [4180])
        let cg = "/system.slice/apache2.service"
        let began = Double(T) + 1.2
        let leftover = proc(4000, uid: 33, start: Double(T - 500) + 3600, cgroup: cg, ppid: 1)
        let fresh = proc(5000, uid: 0, start: began + 3600.01, cgroup: cg, ppid: 1)
        let unitPair = ClockReference(source: .systemdUnit("apache2.service"), since: began + 3600, step: 3600)
        let clock = ClockSteps(references: managerStep(3600).references + [unitPair])
        XCTAssertEqual(clock.invocationStart(unit: "apache2.service", began: began), began + 3600)
        let c = classify(o, [leftover, fresh], scope: [4000, 5000], units: [4000: "apache2.service", 5000: "apache2.service"],
                         invocations: ["apache2.service": .began(began)], clock: clock)
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertTrue(c.evidence.contains(.inheritanceNotRuledOut(unit: "apache2.service", why: .olderProcess(pid: 4000, began: began))),
                      "\(c.reasons)")
    }

    func testPosixObjectsAreWidenedAlike() {
        let o = PosixIPCObject(path: "/dev/shm/app.seg", kind: .shm, uid: 65534, gid: 65534, mode: 0o600, size: 4096,
                               identity: DeviceInode(device: 1, inode: 2), mtimeNs: FileTime(seconds: T, nanoseconds: 500_000_000),
                               ctime: FileTime(seconds: T, nanoseconds: 500_000_000))
        let service = proc(4000, uid: 65534, start: Double(T) - 60 + 3600, comm: "service", ppid: 1)
        let table = ProcessTable(processes: [service], ownIPCNamespace: ns)
        let plain = PosixClassifier(processes: table, scope: nil, granularity: 0.01).classify(o)
        XCTAssertEqual(plain.verdict, .orphaned)
        let c = PosixClassifier(processes: table, scope: nil, granularity: 0.01, clock: managerStep(3600)).classify(o)
        XCTAssertEqual(c.verdict, .suspect)
        XCTAssertTrue(c.evidence.contains { $0.kind == "clock-step" })
    }

    func testOncePerRunNoteWhenNothingOrNotEnoughIsMeasured() {
        // Nothing asked (a built snapshot, a procfs copy): nothing said.
        XCTAssertNil(ClockSteps().uncoveredNote(orphanedLastActivities: [T]))
        // Nothing measurable: said once, for every orphan.
        let none = ClockSteps(unmeasured: "systemd is not running, and ipcsweep's clock pair /run/ipcsweep.clock is not there")
        let note = none.uncoveredNote(orphanedLastActivities: [T, T - 5])
        XCTAssertTrue(note?.hasPrefix("a forward step of the wall clock could not be ruled out (systemd is not running") == true, note ?? "")
        XCTAssertTrue(note?.contains("2 orphaned objects") == true, note ?? "")
        XCTAssertNil(none.uncoveredNote(orphanedLastActivities: []))
        // ipcsweep's own pair, taken at T: orphans last active after it are covered, before it are not.
        let own = ClockSteps(references: [ClockReference(source: .ownPair(path: "/run/ipcsweep.clock"), since: Double(T) + 0.5, step: 0)])
        XCTAssertNil(own.uncoveredNote(orphanedLastActivities: [T, T + 10]))
        // After a +1 h step since the pair, activities are still compared with the pair's own reading.
        let stepped = ClockSteps(references: [ClockReference(source: .ownPair(path: "/run/ipcsweep.clock"), since: Double(T) + 3600.5, step: 3600)])
        XCTAssertNil(stepped.uncoveredNote(orphanedLastActivities: [T, T + 10]))
        XCTAssertNotNil(stepped.uncoveredNote(orphanedLastActivities: [T - 1]))
        let partial = own.uncoveredNote(orphanedLastActivities: [T - 1, T + 10])
        XCTAssertTrue(partial?.hasPrefix("steps of the wall clock are measured only since ") == true, partial ?? "")
        XCTAssertTrue(partial?.contains("1 orphaned object was last active before then") == true, partial ?? "")
        XCTAssertTrue(partial?.contains("ipcsweep's clock pair in /run/ipcsweep.clock") == true, partial ?? "")
    }
}
