/// Decides a verdict for every object: a pure function of the IPC snapshot, the process table (with what the
/// probe found hidden), the scope, the inheritance window and the wall clock's measured steps. It produces typed `Evidence`; the verdict follows
/// from it (`Evidence.verdict`), and `EvidenceText` words it. See the Verdicts section of the manual.
public struct Classifier: Sendable {
    public let processes: ProcessTable
    public let scope: ResolvedScope?
    /// How long after an object's last activity a re-parented process may still have inherited it.
    public let inheritWindow: Double
    /// Possible holders, indexed once for every object.
    public let finder: PossibleHolderFinder
    private let attachers: [Int32: [ProcessRecord]]

    /// The default inheritance window: 5 seconds.
    public static let defaultInheritWindow: Double = 5

    public init(processes: ProcessTable, scope: ResolvedScope?, inheritWindow: Double = Classifier.defaultInheritWindow,
                clock: ClockSteps = ClockSteps()) {
        self.processes = processes
        self.scope = scope
        self.inheritWindow = inheritWindow
        finder = PossibleHolderFinder(processes: processes, scope: scope, inheritWindow: inheritWindow, clock: clock)
        attachers = processes.attachers()
    }

    /// Classifies every object of a snapshot, in the snapshot's order.
    public func classify(_ snapshot: IPCSnapshot) -> [Classification] {
        let cache = finder.makeCache()
        return snapshot.objects.map { classify($0, cache: cache) }
    }

    /// The verdict for one object, with its evidence.
    public func classify(_ object: IPCObject) -> Classification {
        classify(object, cache: finder.makeCache())
    }

    func classify(_ object: IPCObject, cache: PossibleHolderFinder.Cache) -> Classification {
        var evidence: [Evidence] = []
        var holders: [Holder] = []

        switch object {
        case .shm(let s):
            if s.markedForRemoval { evidence.append(.markedForRemoval) }
            if s.nattch > 0 {
                let maps = attachers[s.id] ?? []
                for p in maps {
                    let h = Holder(p, relation: .attached)
                    evidence.append(.attached(h))
                    holders.append(h)
                }
                if maps.isEmpty { evidence.append(.attachedInvisibly(nattch: s.nattch)) }
            }
        case .sem(let s):
            if let sems = s.semaphores {
                for (n, sem) in sems.enumerated() where sem.ncnt > 0 || sem.zcnt > 0 {
                    evidence.append(.waiters(semaphore: n, count: Int(sem.ncnt) + Int(sem.zcnt)))
                }
            } else {
                evidence.append(.detailUnreadable(s.detailError ?? "per-semaphore pids and waiters of set \(s.id) could not be read"))
            }
        case .msg(let q):
            if q.qnum > 0 { evidence.append(.messages(count: q.qnum, bytes: q.cbytes)) }
        }

        var clockStep = recordedPidEvidence(object, evidence: &evidence, holders: &holders)

        var possible: [Holder] = []
        if !evidence.contains(where: { $0.weight == .direct }) {
            // Without direct evidence, a blind spot means a hidden process may hold it.
            evidence += processes.blindSpots.map(Evidence.blindSpot)
            let last = object.lastActivity
            let found = finder.find(AccessControl(object.perm), lastActivity: ActivityWindow(second: last), cache: cache)
            for h in found.listed {
                evidence.append(.possibleHolder(holder: h.holder, rule: h.rule, timing: h.timing, started: h.started,
                                                lastActivity: last, widened: h.widened))
                possible.append(h.holder)
            }
            clockStep = ClockSteps.wider(clockStep, found.clockStep)
            if found.total > found.listed.count { evidence.append(.morePossibleHolders(count: found.total - found.listed.count)) }
            if found.total == 0 {
                evidence.append(.noPossibleHolder(access: AccessControl(object.perm), lastActivity: last,
                                                  scope: scope?.description, exclusive: scope?.exclusive == true,
                                                  inheritWindow: inheritWindow))
            }
            evidence += found.ruledOut.map { .inheritanceRuledOut(unit: $0.unit, invocationBegan: $0.began, processes: $0.processes) }
            evidence += found.notRuledOut.map { .inheritanceNotRuledOut(unit: $0.unit, why: $0.why) }
        }
        if let w = clockStep { evidence.append(.clockStep(step: w.amount, reference: w.reference)) }
        let verdict = Evidence.verdict(evidence)
        return Classification(object: object, verdict: verdict, evidence: Self.decisiveFirst(evidence),
                              holders: holders, possibleHolders: possible)
    }

    /// Heaviest first (the evidence that decided the verdict), each weight in the order it was found.
    static func decisiveFirst(_ evidence: [Evidence]) -> [Evidence] {
        evidence.enumerated()
            .sorted { $0.element.weight != $1.element.weight ? $0.element.weight > $1.element.weight : $0.offset < $1.offset }
            .map(\.element)
    }

    // MARK: recorded pids

    /// Live recorded pids are direct evidence; dead, zombie, reused, foreign and hidden ones are explained. A
    /// pid is reused only when its process started at or after the recorded second + 1 even with its start
    /// moved back by the clock-step widening; returns that widening when it kept a pid from being reused.
    private func recordedPidEvidence(_ object: IPCObject, evidence: inout [Evidence], holders: inout [Holder]) -> ClockSteps.Widening? {
        var kept: ClockSteps.Widening?
        // Each pid once (a set's semaphores often share their last operator). Few pids per object: a
        // linear check, and no allocation for the common objects whose recorded pids are all 0.
        var seen: [Int32] = []
        var seenSet: Set<Int32> = []
        object.forEachRecordedPid { rp in
            guard rp.pid > 0 else { return }
            if seen.count < 16 {
                if seen.contains(rp.pid) { return }
                seen.append(rp.pid)
            } else {
                if seenSet.isEmpty { seenSet = Set(seen) }
                guard seenSet.insert(rp.pid).inserted else { return }
            }
            guard let p = processes.process(forRecordedPid: rp.pid) else {
                evidence.append(.recordedPidExited(role: rp.role, pid: rp.pid))
                return
            }
            if p.pid == processes.ownPid {
                evidence.append(.recordedPidIsThisRun(role: rp.role, pid: rp.pid))
            } else if p.isDeadOrZombie {
                evidence.append(.recordedPidZombie(role: rp.role, recordedPid: rp.pid, holder: Holder(p, relation: .recorded)))
            } else if !processes.sharesIPCNamespace(p) {
                evidence.append(.recordedPidInOtherNamespace(role: rp.role, pid: rp.pid, command: p.comm))
            } else if finder.clock.effectiveStart(p.startTime) >= Double(rp.recordedAt) + 1 {
                evidence.append(.recordedPidReused(role: rp.role, pid: rp.pid, command: p.comm,
                                                   after: p.startTime - Double(rp.recordedAt)))
            } else {
                if p.startTime >= Double(rp.recordedAt) + 1 { kept = ClockSteps.wider(kept, finder.clock.widening(forStart: p.startTime)) }
                let h = Holder(p, relation: .recorded)
                evidence.append(.liveRecordedPid(role: rp.role, recordedPid: rp.pid, holder: h))
                holders.append(h)
            }
        }
        // A pid recorded but hidden by a pid namespace reads 0: "not visible", not "dead".
        for role in hiddenPidRoles(object) { evidence.append(.recordedPidHidden(role: role)) }
        return kept
    }

    /// Recorded-pid fields that read 0 although the matching event happened.
    private func hiddenPidRoles(_ object: IPCObject) -> [RecordedPidRole] {
        switch object {
        case .sem(let s):
            guard s.otime != 0, let sems = s.semaphores, !sems.isEmpty, sems.allSatisfy({ $0.pid == 0 }) else { return [] }
            return [.sempid]
        case .shm(let s):
            var out: [RecordedPidRole] = []
            if s.cpid == 0 { out.append(.cpid) }
            if s.lpid == 0 && (s.atime != 0 || s.dtime != 0) { out.append(.lpid) }
            return out
        case .msg(let q):
            var out: [RecordedPidRole] = []
            if q.lspid == 0 && q.stime != 0 { out.append(.lspid) }
            if q.lrpid == 0 && q.rtime != 0 { out.append(.lrpid) }
            return out
        }
    }
}
