/// Decides a verdict for every object: a pure function of the IPC snapshot, the
/// process table, the scope, the pids that never count (the tool and its
/// ancestors) and "now". See the Verdicts section of the manual for the rules.
public struct Classifier: Sendable {
    public let processes: ProcessTable
    public let scope: ResolvedScope?
    public let excluded: Set<Int32>
    public let now: Double
    /// Seconds after an object's creation during which a new process may still hold it, for objects never
    /// operated on since: a daemonising server creates its sets, forks the process that keeps running and
    /// exits, so the survivor can start just after the creation second (Apache: a few milliseconds).
    public let creationGrace: Double
    /// User names for reasons; a pure lookup (cached getpwuid_r) supplied by the caller.
    public let userName: @Sendable (UInt32) -> String

    /// Live processes in this IPC namespace, by real uid and by effective uid.
    private let byUID: [UInt32: [ProcessRecord]]
    /// Live root processes in the scope (they may reach any object).
    private let rootInScope: [ProcessRecord]
    private let attachers: [Int32: [ProcessRecord]]

    public init(processes: ProcessTable, scope: ResolvedScope?, excluded: Set<Int32>, now: Double,
                creationGrace: Double = Classifier.defaultCreationGrace,
                userName: @escaping @Sendable (UInt32) -> String = { String($0) }) {
        self.processes = processes
        self.creationGrace = creationGrace
        self.scope = scope
        self.excluded = excluded
        self.now = now
        self.userName = userName
        var index: [UInt32: [ProcessRecord]] = [:]
        var roots: [ProcessRecord] = []
        for p in processes.byPid.values
        where !p.isDeadOrZombie && processes.sharesIPCNamespace(p) && !excluded.contains(p.pid) {
            index[p.uid, default: []].append(p)
            if p.euid != p.uid { index[p.euid, default: []].append(p) }
            if p.isRoot, scope?.members.contains(p.pid) == true { roots.append(p) }
        }
        byUID = index
        rootInScope = roots
        attachers = processes.attachers()
    }

    /// The default `creationGrace`: 2 seconds.
    public static let defaultCreationGrace: Double = 2

    /// Classifies every object of a snapshot, in the snapshot's order.
    public func classify(_ snapshot: IPCSnapshot) -> [Classification] {
        snapshot.objects.map(classify)
    }

    /// The verdict for one object, with its evidence.
    public func classify(_ object: IPCObject) -> Classification {
        var direct: [String] = []      // in-use evidence
        var holders: [Holder] = []
        var notes: [String] = []       // what was ruled out, and why
        var unreadable: [String] = []  // what could not be read

        switch object {
        case .shm(let s):
            if s.markedForRemoval {
                direct.append("marked for removal while attached (SHM_DEST): the kernel frees it at the last detach")
            }
            if s.nattch > 0 {
                let maps = attachers[s.id] ?? []
                for p in maps {
                    direct.append("attached by pid \(p.pid) (\(describe(p)))")
                    holders.append(Holder(p, relation: .attached))
                }
                if maps.isEmpty {
                    direct.append("attached \(s.nattch) time\(s.nattch == 1 ? "" : "s") (nattch) by processes not visible here")
                }
            }
        case .sem(let s):
            if let sems = s.semaphores {
                for (n, sem) in sems.enumerated() where sem.ncnt > 0 || sem.zcnt > 0 {
                    let w = Int(sem.ncnt) + Int(sem.zcnt)
                    direct.append("semaphore \(n) has \(w) waiter\(w == 1 ? "" : "s")")
                }
            } else {
                unreadable.append(s.detailError ?? "per-semaphore pids and waiters of set \(s.id) could not be read")
            }
        case .msg(let q):
            if q.qnum > 0 { notes.append("holds \(q.qnum) message\(q.qnum == 1 ? "" : "s") (\(q.cbytes) bytes)") }
        }

        recordedPidEvidence(object, direct: &direct, holders: &holders, notes: &notes, unreadable: &unreadable)

        if !direct.isEmpty {
            return Classification(object: object, verdict: .inUse, reasons: direct + notes, holders: holders)
        }
        if !unreadable.isEmpty {
            return Classification(object: object, verdict: .unknown, reasons: unreadable + notes)
        }
        let possible = possibleHolders(of: object)
        if !possible.isEmpty {
            let last = object.lastActivity
            var reasons = possible.prefix(5).map { p in
                let who = "possible holder: pid \(p.pid) \(p.comm) (\(userName(p.uid))\(p.unit.map { ", " + $0 } ?? ""))"
                if p.startTime >= Double(last) + 1 {
                    return who + " started \(TimeFormat.duration(p.startTime - Double(last))) after the object was created"
                        + " and it was never used since: it may have inherited it from its creator (a daemonising parent)"
                }
                return who + " started before the last use"
                    + (p.startTime >= Double(last) ? " (within the same second: cannot be ordered)" : "")
            }
            if possible.count > 5 { reasons.append("and \(possible.count - 5) more possible holders") }
            return Classification(object: object, verdict: .suspect, reasons: reasons + notes,
                                  possibleHolders: possible.map { Holder($0, relation: .possible) })
        }
        return Classification(object: object, verdict: .orphaned, reasons: [noHolderReason(object)] + notes)
    }

    // MARK: evidence

    private func describe(_ p: ProcessRecord) -> String {
        p.comm + (p.unit.map { ", " + $0 } ?? "")
    }

    /// Live recorded pids are direct evidence; dead, zombie, reused, foreign and hidden ones are explained.
    private func recordedPidEvidence(_ object: IPCObject, direct: inout [String], holders: inout [Holder],
                                     notes: inout [String], unreadable: inout [String]) {
        var seen: Set<Int32> = []
        for rp in object.recordedPids where rp.pid > 0 && seen.insert(rp.pid).inserted {
            let role = rp.role.phrase
            guard let p = processes.process(forRecordedPid: rp.pid) else {
                notes.append("\(role) pid \(rp.pid) exited")
                continue
            }
            let who = rp.pid == p.pid ? "pid \(p.pid) (\(describe(p)))" : "pid \(rp.pid) (a thread of pid \(p.pid), \(describe(p)))"
            if excluded.contains(p.pid) {
                notes.append("\(role) \(who) is this ipcsweep run or its ancestor: not counted")
            } else if p.isDeadOrZombie {
                notes.append("\(role) \(who) is a zombie: it holds nothing")
            } else if !processes.sharesIPCNamespace(p) {
                notes.append("\(role) pid \(rp.pid) is now \(p.comm) in another IPC namespace: not a holder")
            } else if p.startTime >= Double(rp.recordedAt) + 1 {
                let after = p.startTime - Double(rp.recordedAt)
                notes.append("pid \(rp.pid) reused by \(p.comm) (started \(TimeFormat.duration(after)) after the last \(rp.role == .cpid ? "change" : "operation"))")
            } else {
                direct.append("\(role) \(who) is alive")
                holders.append(Holder(p, relation: .recorded))
            }
        }
        // A pid recorded but hidden by a pid namespace reads 0: "not visible", not "dead".
        for role in hiddenPidRoles(object) {
            unreadable.append("\(role.phrase) pid 0: not visible from this pid namespace (it was recorded by a process of another pid namespace)")
        }
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

    /// Live processes that could reach the object and existed at its last activity (same one-second slack).
    public func possibleHolders(of object: IPCObject) -> [ProcessRecord] {
        let last = Double(object.lastActivity)
        // Never operated on since its creation (or last IPC_SET): a process started shortly after may have
        // inherited it from a creator that exited, so the window widens by the creation grace.
        let window = object.lastActivity == object.ctime ? 1 + creationGrace : 1
        let perm = object.perm
        let rootObject = perm.uid == 0 || perm.cuid == 0
        var seen: Set<Int32> = []
        var out: [ProcessRecord] = []
        let candidates = perm.uids.flatMap { byUID[$0] ?? [] } + rootInScope
        for p in candidates where seen.insert(p.pid).inserted {
            guard p.startTime < last + window else { continue }  // provably younger than the last activity
            let inScope = scope?.members.contains(p.pid) ?? false
            if let scope, scope.exclusive, !inScope { continue }
            // Root reaches everything: it counts inside the scope, or, unscoped, for root-owned/created objects.
            if p.isRoot, scope != nil ? !inScope : !rootObject { continue }
            out.append(p)
        }
        return out.sorted { $0.startTime < $1.startTime }
    }

    private func noHolderReason(_ object: IPCObject) -> String {
        let owners = object.perm.uids.map { "\($0) (\(userName($0)))" }.joined(separator: " or ")
        let when = TimeFormat.iso8601(object.lastActivity) ?? "its creation"
        if let scope {
            let outside = scope.exclusive ? "" : " or of uid \(owners)"
            return "no live process in \(scope.description)\(outside) existed at the last activity (\(when))"
        }
        return "no live process of uid \(owners) existed at the last activity (\(when))"
    }
}
