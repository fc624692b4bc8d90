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

    /// Live, visible, not excluded processes in this IPC namespace, ordered by start time (then pid):
    /// the only processes that can be possible holders.
    private let live: [ProcessRecord]
    /// The systemd unit of each process of `live` (computed once, not per reason).
    private let liveUnits: [String?]
    /// Indexes into `live` by real uid and by effective uid; each list in `live` order (by start time).
    private let byUID: [UInt32: [Int]]
    /// Indexes into `live` of root processes in the scope (they may reach any object).
    private let rootInScope: [Int]
    /// Per process of `live`: whether it is in the scope (the scope is a set of pids; looked up once).
    private let liveInScope: [Bool]
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
        let live = processes.byPid.values
            .filter { !$0.isDeadOrZombie && processes.sharesIPCNamespace($0) && !excluded.contains($0.pid) }
            .sorted { $0.startTime != $1.startTime ? $0.startTime < $1.startTime : $0.pid < $1.pid }
        var index: [UInt32: [Int]] = [:]
        var roots: [Int] = []
        var inScope: [Bool] = []
        inScope.reserveCapacity(live.count)
        for (i, p) in live.enumerated() {
            index[p.uid, default: []].append(i)
            if p.euid != p.uid { index[p.euid, default: []].append(i) }
            let member = scope?.members.contains(p.pid) == true
            inScope.append(member)
            if p.isRoot, member { roots.append(i) }
        }
        self.live = live
        liveUnits = live.map(\.unit)
        liveInScope = inScope
        byUID = index
        rootInScope = roots
        attachers = processes.attachers()
    }

    /// The default `creationGrace`: 2 seconds.
    public static let defaultCreationGrace: Double = 2

    /// Reasons that repeat across objects (the same owners and last-activity second), built once per run.
    final class ReasonCache {
        var noHolder: [NoHolderKey: String] = [:]
        var possibleHolder: [Int: String] = [:]
        struct NoHolderKey: Hashable {
            var uid: UInt32
            var cuid: UInt32
            var last: Int64
        }
    }

    /// Classifies every object of a snapshot, in the snapshot's order.
    public func classify(_ snapshot: IPCSnapshot) -> [Classification] {
        let cache = ReasonCache()
        return snapshot.objects.map { classify($0, cache: cache) }
    }

    /// The verdict for one object, with its evidence.
    public func classify(_ object: IPCObject) -> Classification {
        classify(object, cache: ReasonCache())
    }

    func classify(_ object: IPCObject, cache: ReasonCache) -> Classification {
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
        let possible = possibleHolderIndexes(of: object)
        if !possible.isEmpty {
            let last = object.lastActivity
            var reasons = possible.prefix(5).map { i in
                let who = possibleHolderReason(i, cache: cache)
                let start = live[i].startTime
                if start >= Double(last) + 1 {
                    return who + " started \(TimeFormat.duration(start - Double(last))) after the object was created"
                        + " and it was never used since: it may have inherited it from its creator (a daemonising parent)"
                }
                return who + " started before the last use"
                    + (start >= Double(last) ? " (within the same second: cannot be ordered)" : "")
            }
            if possible.count > 5 { reasons.append("and \(possible.count - 5) more possible holders") }
            return Classification(object: object, verdict: .suspect, reasons: reasons + notes,
                                  possibleHolders: possible.map { Holder(live[$0], unit: liveUnits[$0], relation: .possible) })
        }
        return Classification(object: object, verdict: .orphaned, reasons: [noHolderReason(object, cache: cache)] + notes)
    }

    // MARK: evidence

    private func describe(_ p: ProcessRecord) -> String {
        p.comm + (p.unit.map { ", " + $0 } ?? "")
    }

    /// Live recorded pids are direct evidence; dead, zombie, reused, foreign and hidden ones are explained.
    private func recordedPidEvidence(_ object: IPCObject, direct: inout [String], holders: inout [Holder],
                                     notes: inout [String], unreadable: inout [String]) {
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
            let role = rp.role.phrase
            guard let p = processes.process(forRecordedPid: rp.pid) else {
                notes.append("\(role) pid \(rp.pid) exited")
                return
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

    /// Live processes that could reach the object and existed at its last activity (same one-second slack;
    /// wider by `creationGrace` for objects never used since their creation), as indexes into `live`,
    /// ascending (= by start time, then pid). Each candidate list
    /// is ordered by start time, so only its prefix that started before the last activity is visited.
    private func possibleHolderIndexes(of object: IPCObject) -> [Int] {
        // Never operated on since its creation (or last IPC_SET): a process started shortly after may have
        // inherited it from a creator that exited, so the window widens by the creation grace.
        let window = object.lastActivity == object.ctime ? 1 + creationGrace : 1
        let limit = Double(object.lastActivity) + window
        let perm = object.perm
        let rootObject = perm.uid == 0 || perm.cuid == 0
        var out: [Int] = []
        func visit(_ list: [Int]) {
            for i in list {
                guard live[i].startTime < limit else { break }  // this one and all later ones are provably younger
                let inScope = liveInScope[i]
                if let scope, scope.exclusive, !inScope { continue }
                // Root reaches everything: it counts inside the scope, or, unscoped, for root-owned/created objects.
                if live[i].isRoot, scope != nil ? !inScope : !rootObject { continue }
                out.append(i)
            }
        }
        if let l = byUID[perm.uid] { visit(l) }
        // One list is already in order without repeats; more can name a process twice (uid and euid, or a root in
        // the scope): merge them, once each, in `live` order.
        guard perm.cuid != perm.uid || !rootInScope.isEmpty else { return out }
        if perm.cuid != perm.uid, let l = byUID[perm.cuid] { visit(l) }
        visit(rootInScope)
        return Array(Set(out)).sorted()
    }

    /// "possible holder: pid 812 apache2 (www-data, apache2.service)", once per process.
    private func possibleHolderReason(_ i: Int, cache: ReasonCache) -> String {
        if let r = cache.possibleHolder[i] { return r }
        let p = live[i]
        let r = "possible holder: pid \(p.pid) \(p.comm) (\(userName(p.uid))\(liveUnits[i].map { ", " + $0 } ?? ""))"
        cache.possibleHolder[i] = r
        return r
    }

    private func noHolderReason(_ object: IPCObject, cache: ReasonCache) -> String {
        let key = ReasonCache.NoHolderKey(uid: object.perm.uid, cuid: object.perm.cuid, last: object.lastActivity)
        if let r = cache.noHolder[key] { return r }
        let r = noHolderReason(object)
        cache.noHolder[key] = r
        return r
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
