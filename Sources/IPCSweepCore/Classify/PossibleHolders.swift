/// The permission facts the kernel's `ipcperms` checks: owner and creator uid and gid, and the permission
/// bits. System V objects fill it from `IPCPermissions`; a POSIX object (a file) gives its owner and group twice.
public struct AccessControl: Sendable, Hashable {
    public var uid: UInt32
    public var gid: UInt32
    public var cuid: UInt32
    public var cgid: UInt32
    /// Permission bits (0o777).
    public var mode: UInt32

    public init(uid: UInt32, gid: UInt32, cuid: UInt32, cgid: UInt32, mode: UInt32) {
        self.uid = uid
        self.gid = gid
        self.cuid = cuid
        self.cgid = cgid
        self.mode = mode & 0o777
    }

    public init(_ p: IPCPermissions) {
        self.init(uid: p.uid, gid: p.gid, cuid: p.cuid, cgid: p.cgid, mode: p.mode)
    }

    /// The group bits grant some access: members of the gid or cgid can reach it.
    public var groupCanReach: Bool { mode & 0o070 != 0 }
    /// The other bits grant some access: every process can reach it.
    public var anyoneCanReach: Bool { mode & 0o007 != 0 }
    /// Root-owned or root-created: unscoped, root processes count for it.
    public var rootObject: Bool { uid == 0 || cuid == 0 }
    public var uids: [UInt32] { uid == cuid ? [uid] : [uid, cuid] }
    public var gids: [UInt32] { gid == cgid ? [gid] : [gid, cgid] }
}

/// When the last activity happened: some instant in [earliest, latest). A System V time is a second U truncated
/// from the coarse clock, so [U, U + 1 + granularity); a POSIX file time is precise up to that granularity.
public struct ActivityWindow: Sendable, Hashable {
    public var earliest: Double
    public var latest: Double
    /// The time to report (epoch seconds).
    public var reported: Int64

    public init(earliest: Double, latest: Double, reported: Int64) {
        self.earliest = earliest
        self.latest = latest
        self.reported = reported
    }

    /// A whole-second IPC time.
    /// A System V second, stamped from the coarse clock that lags the precise one by up to `granularity`.
    public init(second: Int64, granularity: Double) {
        self.init(earliest: Double(second), latest: Double(second) + 1 + granularity, reported: second)
    }
}

/// One possible holder, found by `PossibleHolderFinder`.
public struct PossibleHolder: Sendable, Hashable {
    public var holder: Holder
    public var rule: ReachRule
    public var timing: HolderTiming
    public var started: Double
    /// It counts only because its start was moved back by a measured forward step of the wall clock.
    public var widened = false
}

/// Every possible holder of one object: the first few listed (most specific rule first), the total, and what
/// the `--unit` inheritance exception did.
public struct PossibleHolderResult: Sendable, Equatable {
    public var listed: [PossibleHolder] = []
    public var total = 0
    /// Units whose processes inside the inheritance window were ruled out, with when the invocation began and how many.
    public var ruledOut: [RuledOut] = []
    /// Units whose processes inside the inheritance window stayed possible holders, and why.
    public var notRuledOut: [NotRuledOut] = []
    /// The largest clock-step widening that made a process count (nil: every one counts without it).
    public var clockStep: ClockSteps.Widening?

    public struct RuledOut: Sendable, Hashable {
        public var unit: String
        public var began: Double
        public var processes: Int
    }

    public struct NotRuledOut: Sendable, Hashable {
        public var unit: String
        public var why: UnitExceptionBlock
    }
}

/// Finds the possible holders of an object (SPEC "Verdicts"): live processes that could reach it (`ipcperms`;
/// root and CAP_IPC_OWNER by the root rule; unreadable credentials count as reaching) and that existed at its
/// last activity, or were re-parented and started within the inheritance window after it (unless a `--unit`
/// service's current invocation began after the activity). Only the running ipcsweep never counts. Every
/// start is compared as moved back by the wall clock's measured forward step (`ClockSteps`).
///
/// A pure function of (access, last activity) over a process table and scope that are indexed once: lists by
/// uid and by gid ordered by start time, and prefix counts, so that an object costs the matching uid/gid lists'
/// prefixes, and "anyone can reach it" costs a binary search plus the inheritance window's slice.
public struct PossibleHolderFinder: Sendable {
    /// At most this many possible holders are listed per object (the total is always counted).
    public static let listLimit = 16
    /// How much earlier than the invocation's start a process of that invocation may appear: systemd records
    /// InactiveExitTimestamp just after forking the first process (measured: 0.2 ms idle, more when loaded),
    /// and /proc start times are truncated to clock ticks (10 ms).
    static let tickSlack = 0.25
    /// Parents that adopt orphans besides pid 1 (PR_SET_CHILD_SUBREAPER is not visible in /proc).
    static let subreaperCommands: Set<String> = [
        "systemd", "containerd-shim", "conmon", "tini", "catatonit", "docker-init", "dumb-init", "s6-svscan",
        "runsvdir",
    ]

    public let scope: ResolvedScope?
    public let inheritWindow: Double
    /// The wall clock's measured steps.
    public let clock: ClockSteps

    // The indexes, one entry per candidate in (start, pid) order; built by `append`, one process at a time.
    private(set) var live: [ProcessRecord] = []
    /// Start times as read (today's wall clock), ascending.
    private(set) var starts: [Double] = []
    /// Start times as compared with a last activity (moved back by the clock-step widening), ascending too.
    private(set) var effective: [Double] = []
    private(set) var widenings: [ClockSteps.Widening?] = []
    private(set) var units: [String?] = []
    private(set) var inScope: [Bool] = []
    /// The `--unit` a member was selected by.
    private(set) var scopeUnit: [String?] = []
    private(set) var reparented: [Reparenting?] = []
    /// Known credentials and not root (a non-root process with CAP_IPC_OWNER is ordinary and privileged).
    private(set) var ordinary: [Bool] = []
    private(set) var byUID: [UInt32: [Int]] = [:]
    private(set) var byGID: [UInt32: [Int]] = [:]
    private(set) var privileged: [Int] = []
    private(set) var privilegedInScope: [Int] = []
    private(set) var unreadable: [Int] = []
    /// Prefix counts over `live`: ordinary processes, and ordinary processes in the scope.
    private(set) var ordinaryBefore: [Int] = [0]
    private(set) var ordinaryInScopeBefore: [Int] = [0]
    /// Per `--unit`: why its exception cannot be used at all (nil: usable when its invocation is late enough).
    private(set) var unitBlocks: [String: UnitExceptionBlock] = [:]

    public init(processes: ProcessTable, scope: ResolvedScope?, inheritWindow: Double, clock: ClockSteps = ClockSteps()) {
        self.scope = scope
        self.inheritWindow = max(0, inheritWindow)
        self.clock = clock
        // Ordered by (start, pid) through a small key array: sorting the records themselves moves and copies
        // whole records (a tenth of a small `list`'s instructions).
        let candidates = processes.byPid.values.filter { Self.isCandidate($0, in: processes) }
        let order = candidates.indices.map { (start: candidates[$0].startTime, pid: candidates[$0].pid, index: $0) }
            .sorted { $0.start != $1.start ? $0.start < $1.start : $0.pid < $1.pid }
        reserve(order.count)
        for o in order { append(candidates[o.index], in: processes) }
        unitBlocks = Self.unitBlocks(scope: scope, clock: clock, live: live, starts: starts, scopeUnit: scopeUnit)
    }

    /// A process that can be a possible holder of the table's objects: alive, in the inspected IPC namespace, and
    /// not this run.
    static func isCandidate(_ p: ProcessRecord, in processes: ProcessTable) -> Bool {
        !p.isDeadOrZombie && processes.sharesIPCNamespace(p) && p.pid != processes.ownPid
    }

    private mutating func reserve(_ n: Int) {
        live.reserveCapacity(n)
        starts.reserveCapacity(n)
        effective.reserveCapacity(n)
        widenings.reserveCapacity(n)
        units.reserveCapacity(n)
        inScope.reserveCapacity(n)
        scopeUnit.reserveCapacity(n)
        reparented.reserveCapacity(n)
        ordinary.reserveCapacity(n)
        ordinaryBefore.reserveCapacity(n + 1)
        ordinaryInScopeBefore.reserveCapacity(n + 1)
    }

    /// Adds one candidate after every one the indexes hold (it starts no earlier than the last of them).
    private mutating func append(_ p: ProcessRecord, in processes: ProcessTable) {
        let i = live.count
        let widening = clock.widening(forStart: p.startTime)
        let member = scope?.members.contains(p.pid) ?? false
        let isOrdinary = p.credentialsKnown && !p.isRoot
        live.append(p)
        starts.append(p.startTime)
        widenings.append(widening)
        effective.append(p.startTime - (widening?.amount ?? 0))
        units.append(p.unit)
        inScope.append(member)
        scopeUnit.append(scope?.memberUnits[p.pid])
        reparented.append(Self.reparenting(of: p, in: processes))
        ordinary.append(isOrdinary)
        if !p.credentialsKnown {
            unreadable.append(i)
        } else if p.isRoot {
            privileged.append(i)
            if member { privilegedInScope.append(i) }
        } else {
            if p.isPrivileged {
                privileged.append(i)
                if member { privilegedInScope.append(i) }
            }
            byUID[p.uid, default: []].append(i)
            if p.euid != p.uid { byUID[p.euid, default: []].append(i) }
            var gids: [UInt32] = [p.gid]
            if !gids.contains(p.egid) { gids.append(p.egid) }
            for g in p.groups where !gids.contains(g) { gids.append(g) }
            for g in gids { byGID[g, default: []].append(i) }
        }
        ordinaryBefore.append(ordinaryBefore[i] + (isOrdinary ? 1 : 0))
        ordinaryInScopeBefore.append(ordinaryInScopeBefore[i] + (isOrdinary && member ? 1 : 0))
    }

    /// Makes this the finder of `processes`, a table that gained processes since this finder's (`born`: those
    /// records, as the table has them now), in time proportional to them: the finder a whole build over `processes`
    /// makes, less the born processes known only by their status. Such a process reaches no object of the verdicts'
    /// needs (`ProcessNeeds`), and one an object's new access may let reach it is read whole first
    /// (`CleanDecider`), then passed here again. False, and nothing changed, when only a whole build gives that
    /// finder: a scope (its members are resolved again), a born process ordered before one the finder holds (same
    /// start, lower pid), or a born pid that is the parent pid of a process the finder holds (whether that one was
    /// re-parented may read differently now).
    mutating func append(born: [ProcessRecord], in processes: ProcessTable) -> Bool {
        guard !born.isEmpty else { return true }
        guard scope == nil else { return false }
        let bornPids = Set(born.map(\.pid))
        if live.contains(where: { bornPids.contains($0.ppid) }) { return false }
        let added = born.filter { $0.files != [.status] && Self.isCandidate($0, in: processes) }
            .sorted { $0.startTime != $1.startTime ? $0.startTime < $1.startTime : $0.pid < $1.pid }
        if let last = live.last, let first = added.first,
           first.startTime < last.startTime || (first.startTime == last.startTime && first.pid < last.pid) { return false }
        for p in added { append(p, in: processes) }
        return true
    }

    /// A unit's exception is unusable when it is not a service, systemd could not say when its invocation began,
    /// or one of its processes is older than that invocation (a leftover that may have passed it on).
    private static func unitBlocks(scope: ResolvedScope?, clock: ClockSteps, live: [ProcessRecord], starts: [Double],
                                   scopeUnit: [String?]) -> [String: UnitExceptionBlock] {
        var blocks: [String: UnitExceptionBlock] = [:]
        let scopeUnits = Set(scope?.memberUnits.values.map { $0 } ?? []).union(scope?.unitInvocations.keys.map { $0 } ?? [])
        for unit in scopeUnits {
            if !unit.hasSuffix(".service") {
                blocks[unit] = .notAService
                continue
            }
            switch scope?.unitInvocations[unit] {
            case .none: blocks[unit] = .invocationUnknown("its invocation was not looked up")
            case .unavailable(let why): blocks[unit] = .invocationUnknown(why)
            case .began(let t):
                let today = clock.invocationStart(unit: unit, began: t)
                if let old = live.indices.first(where: { scopeUnit[$0] == unit && starts[$0] + Self.tickSlack < today }) {
                    blocks[unit] = .olderProcess(pid: live[old].pid, began: t)
                }
            }
        }
        return blocks
    }

    /// Whether a process may have been re-parented since it was born (its original parent is not recorded):
    /// yes when its parent is pid 1 or invisible, younger than it, or a likely subreaper; no for a
    /// namespace's init itself and for a child of an ordinary older parent.
    static func reparenting(of p: ProcessRecord, in table: ProcessTable) -> Reparenting? {
        if p.isNamespaceInit || p.pid == 1 { return nil }
        if p.ppid == 1 { return .parentIsInit }
        guard p.ppid > 0, let parent = table.byPid[p.ppid] else { return .parentNotVisible }
        if parent.startTime > p.startTime { return .parentYounger }
        if parent.isNamespaceInit || Self.subreaperCommands.contains(parent.comm) { return .parentIsSubreaper }
        return nil
    }

    /// Reused between objects of one classification pass: results per (access, activity), and visit marks.
    public final class Cache {
        var results = Memo<Key, PossibleHolderResult>()
        var stamp: [Int]
        var generation = 0
        struct Key: Hashable {
            var access: AccessControl
            var window: ActivityWindow
        }
        public init(count: Int) { stamp = Array(repeating: 0, count: count) }
    }

    public func makeCache() -> Cache { Cache(count: live.count) }

    /// The possible holders of an object with these permissions and this last activity.
    public func find(_ access: AccessControl, lastActivity window: ActivityWindow, cache: Cache? = nil) -> PossibleHolderResult {
        let cache = cache ?? makeCache()
        let key = Cache.Key(access: access, window: window)
        return cache.results.value(for: key) { compute(access, window, cache) }
    }

    /// The first index whose start (effective, or as read) is not before `t`.
    private func firstStart(notBefore t: Double, in list: [Double]) -> Int {
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if list[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func compute(_ access: AccessControl, _ window: ActivityWindow, _ cache: Cache) -> PossibleHolderResult {
        cache.generation += 1
        let gen = cache.generation
        let exclusive = scope?.exclusive == true
        let existedEnd = firstStart(notBefore: window.latest, in: effective)
        let windowEnd = inheritWindow > 0 ? firstStart(notBefore: window.latest + inheritWindow, in: effective) : existedEnd
        var result = PossibleHolderResult()
        var ruledOut: [String: (began: Double, count: Int)] = [:]
        var notRuledOut: [String: UnitExceptionBlock] = [:]
        var ordinaryExistedCounted = 0

        func scopeAllows(_ i: Int) -> Bool { !exclusive || inScope[i] }

        /// Root counts only by the root rule; a non-root process by ipcperms, and with CAP_IPC_OWNER also by the
        /// root rule.
        func rule(_ i: Int) -> ReachRule? {
            Self.reachRule(live[i], access, rootRule: scope == nil ? access.rootObject : inScope[i])
        }

        func timing(_ i: Int) -> HolderTiming? {
            let s = effective[i]
            if s < window.latest { return s >= window.earliest ? .sameSecond : .existed }
            guard s < window.latest + inheritWindow, let why = reparented[i] else { return nil }
            if let unit = scopeUnit[i] {
                if let block = unitBlocks[unit] {
                    notRuledOut[unit] = block
                } else if case .began(let t) = scope?.unitInvocations[unit] {
                    if t >= window.latest && starts[i] + Self.tickSlack >= clock.invocationStart(unit: unit, began: t) {
                        ruledOut[unit, default: (t, 0)].count += 1
                        return nil
                    }
                    notRuledOut[unit] = t >= window.latest ? .olderProcess(pid: live[i].pid, began: t)
                        : .invocationTooEarly(began: t)
                }
            }
            return .inherited(why)
        }

        /// Counted only through the widening: by its start as read it neither existed nor falls in the window.
        func widened(_ i: Int, _ t: HolderTiming) -> Bool {
            guard widenings[i] != nil else { return false }
            if case .inherited = t { return starts[i] >= window.latest + inheritWindow }
            return starts[i] >= window.latest
        }

        func note(_ i: Int) {
            if let w = widenings[i], w.amount > result.clockStep?.amount ?? 0 { result.clockStep = w }
        }

        func holder(_ i: Int, _ rule: ReachRule, _ t: HolderTiming) -> PossibleHolder {
            let w = widened(i, t)
            if w { note(i) }
            return PossibleHolder(holder: Holder(live[i], unit: units[i], relation: .possible), rule: rule, timing: t,
                                  started: starts[i], widened: w)
        }

        /// Counts (and lists, while there is room) one candidate, once.
        func consider(_ i: Int) {
            guard cache.stamp[i] != gen else { return }
            cache.stamp[i] = gen
            guard scopeAllows(i), let r = rule(i), let t = timing(i) else { return }
            result.total += 1
            if ordinary[i] && i < existedEnd { ordinaryExistedCounted += 1 }
            if result.listed.count < Self.listLimit { result.listed.append(holder(i, r, t)) } else if widened(i, t) { note(i) }
        }

        func visit(_ list: [Int]?) {
            guard let list else { return }
            for i in list {
                guard i < windowEnd else { break }  // ordered by start: this one and the rest started too late
                consider(i)
            }
        }

        visit(byUID[access.uid])
        if access.cuid != access.uid { visit(byUID[access.cuid]) }
        if access.groupCanReach {
            visit(byGID[access.gid])
            if access.cgid != access.gid { visit(byGID[access.cgid]) }
        }
        if scope != nil {
            visit(privilegedInScope)
        } else if access.rootObject {
            visit(privileged)
        }
        visit(unreadable)

        if access.anyoneCanReach {
            // Every ordinary process that existed counts (prefix counts); the inheritance slice is checked one by one.
            var sliceListed: [PossibleHolder] = []
            var sliceCount = 0
            if existedEnd < windowEnd {
                for i in existedEnd..<windowEnd where ordinary[i] && cache.stamp[i] != gen {
                    cache.stamp[i] = gen
                    guard scopeAllows(i), let r = rule(i), let t = timing(i) else { continue }
                    sliceCount += 1
                    if sliceListed.count < Self.listLimit { sliceListed.append(holder(i, r, t)) } else if widened(i, t) { note(i) }
                }
            }
            let existed = exclusive ? ordinaryInScopeBefore[existedEnd] : ordinaryBefore[existedEnd]
            // Counted by prefix: those that existed only by their effective start (the widest first).
            var j = firstStart(notBefore: window.latest, in: starts)
            while j < existedEnd && (result.clockStep?.amount ?? 0) < (widenings[j]?.amount ?? 0) {
                if ordinary[j] && scopeAllows(j) { note(j); break }
                j += 1
            }
            result.total += existed - ordinaryExistedCounted + sliceCount
            var i = 0
            while result.listed.count < Self.listLimit && i < existedEnd {
                if ordinary[i] && cache.stamp[i] != gen && scopeAllows(i), let r = rule(i), let t = timing(i) {
                    result.listed.append(holder(i, r, t))
                }
                i += 1
            }
            result.listed += sliceListed.prefix(Self.listLimit - result.listed.count)
        }
        result.ruledOut = ruledOut.map { PossibleHolderResult.RuledOut(unit: $0.key, began: $0.value.began, processes: $0.value.count) }
            .sorted { $0.unit < $1.unit }
        result.notRuledOut = notRuledOut.map { PossibleHolderResult.NotRuledOut(unit: $0.key, why: $0.value) }
            .sorted { $0.unit < $1.unit }
        return result
    }
}
