/// The direct evidence of a System V object: a segment's attachments (and `nattch` nobody visible explains), a
/// set's waiters, the pids the kernel recorded (live, exited, zombie, reused, of another namespace, hidden).
struct SysVEvidence: Sendable {
    let processes: ProcessTable
    /// Processes that map each segment (from /proc/PID/maps), by shmid.
    let attachers: [Int32: [ProcessRecord]]
    /// The wall clock's measured steps (a recorded pid is reused only if its process started after the event
    /// even with its start moved back by them).
    let clock: ClockSteps
    /// How long the coarse clock, whose whole seconds the kernel records, may lag the precise one.
    let granularity: Double

    init(processes: ProcessTable, clock: ClockSteps, granularity: Double) {
        self.processes = processes
        self.clock = clock
        self.granularity = granularity
        attachers = processes.attachers()
    }

    /// Appends the object's direct evidence and the processes that hold it; returns the clock-step widening that
    /// kept a recorded pid from being called reused (nil: none did).
    func direct(_ object: IPCObject, evidence: inout [Evidence], holders: inout [Holder]) -> ClockSteps.Widening? {
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
        case .posix:
            return nil
        }
        return recordedPids(object, evidence: &evidence, holders: &holders)
    }

    /// Live recorded pids are direct evidence; dead, zombie, reused, foreign and hidden ones are explained. A
    /// pid is reused only when its process started at or after the recorded second + 1 (+ the coarse clock's lag)
    /// even with its start
    /// moved back by the clock-step widening; returns that widening when it kept a pid from being reused.
    private func recordedPids(_ object: IPCObject, evidence: inout [Evidence], holders: inout [Holder]) -> ClockSteps.Widening? {
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
            } else if clock.effectiveStart(p.startTime) >= Double(rp.recordedAt) + 1 + granularity {
                evidence.append(.recordedPidReused(role: rp.role, pid: rp.pid, command: p.comm,
                                                   after: p.startTime - Double(rp.recordedAt)))
            } else {
                if p.startTime >= Double(rp.recordedAt) + 1 + granularity { kept = ClockSteps.wider(kept, clock.widening(forStart: p.startTime)) }
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
        case .posix:
            return []
        }
    }
}
