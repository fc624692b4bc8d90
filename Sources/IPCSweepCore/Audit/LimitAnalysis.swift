/// Kernel limits against usage, and the headroom in leaks: pure functions of the limits
/// (/proc/sys/kernel/{sem,shmmni,shmall,shmmax,msgmni,msgmnb,msgmax}), the snapshot and the orphans.
public enum LimitAnalysis {
    /// Groups orphans into leaks: same kind, owner and creator, and the same change-time second (a server creates
    /// and initialises its sets together at start-up). The last-activity second is not used: a service restarted
    /// within the second of its crash creates its next generation in that very second, which would chain every
    /// generation into one "leak".
    public static func leakGroups(_ orphans: [IPCObject], pageSize: Int64) -> [LeakGroup] {
        struct Owners: Hashable {
            var kind: IPCKind
            var uid: UInt32
            var cuid: UInt32
        }
        var byOwners: [Owners: [IPCObject]] = [:]
        for o in orphans { byOwners[Owners(kind: o.kind, uid: o.perm.uid, cuid: o.perm.cuid), default: []].append(o) }
        var groups: [LeakGroup] = []
        for (owners, objects) in byOwners {
            // Union-find over the objects of one owner pair.
            var parent = Array(objects.indices)
            func find(_ i: Int) -> Int {
                var i = i
                while parent[i] != i {
                    parent[i] = parent[parent[i]]
                    i = parent[i]
                }
                return i
            }
            func union(_ a: Int, _ b: Int) { parent[find(a)] = find(b) }
            var byCtime: [Int64: Int] = [:]
            for (i, o) in objects.enumerated() {
                if let j = byCtime[o.ctime] { union(i, j) } else { byCtime[o.ctime] = i }
            }
            var members: [Int: [IPCObject]] = [:]
            for i in objects.indices { members[find(i), default: []].append(objects[i]) }
            for group in members.values {
                let total = group.reduce(Int64(0)) { $0 + LimitAnalysis.units(of: $1, pageSize: pageSize) }
                groups.append(LeakGroup(kind: owners.kind, uid: owners.uid, cuid: owners.cuid,
                                        objects: group.map(\.ref).sorted(), units: total,
                                        lastActivity: group.map(\.lastActivity).max() ?? 0))
            }
        }
        return groups.sorted { ($0.objects.first ?? IPCObjectRef(kind: .sem, id: 0)) < ($1.objects.first ?? IPCObjectRef(kind: .sem, id: 0)) }
    }

    /// Semaphores of a set, pages of a segment (rounded up), 1 for a queue.
    static func units(of o: IPCObject, pageSize: Int64) -> Int64 {
        switch o {
        case .sem(let s): return Int64(s.nsems)
        case .shm(let s): return pages(s.size, pageSize: pageSize)
        case .msg: return 1
        case .posix: return 0
        }
    }

    /// Pages a segment of `size` bytes takes (the kernel's shm_tot counts whole pages).
    static func pages(_ size: UInt64, pageSize: Int64) -> Int64 {
        let p = UInt64(max(1, pageSize))
        return Int64(clamping: (size + p - 1) / p)
    }

    /// The typical leak size: the most frequent size among groups, the larger on a tie; nil without groups.
    public static func typical(_ sizes: [Int64]) -> Int64? {
        var freq: [Int64: Int] = [:]
        for s in sizes where s > 0 { freq[s, default: 0] += 1 }
        return freq.max { a, b in a.value == b.value ? a.key < b.key : a.value < b.value }?.key
    }

    /// Every limit with its usage, level and headroom sentence, for the kinds audited.
    /// `snapshot` is the whole namespace (limits count every object, whatever the filters);
    /// `growthPerDay` maps a limit name to its usage growth per day since the previous audit.
    public static func usage(limits raw: KernelLimits, snapshot: IPCSnapshot, kinds: Set<IPCKind>, pageSize: Int64,
                             leaks: [LeakGroup], thresholds: AuditThresholds,
                             growthPerDay: [String: Double] = [:]) -> [LimitUsage] {
        let l = normalized(raw)
        let sets = snapshot.semaphoreSets
        let segs = snapshot.segments
        let queues = snapshot.queues
        let semLeaks = leaks.filter { $0.kind == .sem }
        let shmLeaks = leaks.filter { $0.kind == .shm }
        let msgLeaks = leaks.filter { $0.kind == .msg }
        let enospc = "semget() fails with ENOSPC (Apache: AH00023)"
        var out: [LimitUsage] = []
        func pool(_ name: String, _ kind: IPCKind, _ unit: String, _ measures: String, used: Int64, limit: Int64,
                  leaks: [LeakGroup], perLeak: (LeakGroup) -> Int64, failure: String) {
            guard kinds.contains(kind) else { return }
            var u = LimitUsage(name: name, kind: kind, unit: unit, measures: measures, used: used, limit: limit,
                               pool: true, failure: failure)
            if !u.unlimited && limit > 0 {
                let ratio = Double(used) / Double(limit)
                u.ratio = ratio
                u.level = thresholds.level(ratio)
                u.remaining = max(0, limit - used)
            }
            u.leaksSeen = leaks.count
            u.perLeak = typical(leaks.map(perLeak))
            if let per = u.perLeak, let rem = u.remaining { u.leaksRemaining = rem / per }
            if let g = growthPerDay[name] {
                u.growthPerDay = g
                if g > 0, let rem = u.remaining { u.daysToLimit = Double(rem) / g }
            }
            u.headroom = poolSentence(u)
            out.append(u)
        }
        func bound(_ name: String, _ kind: IPCKind, _ unit: String, _ measures: String, used: Int64?, limit: Int64,
                   failure: String, sentence: (LimitUsage) -> String) {
            guard kinds.contains(kind) else { return }
            var u = LimitUsage(name: name, kind: kind, unit: unit, measures: measures, used: used, limit: limit,
                               pool: false, failure: failure)
            if let used, !u.unlimited, limit > 0 { u.ratio = Double(used) / Double(limit) }
            u.headroom = sentence(u)
            out.append(u)
        }

        pool("SEMMNI", .sem, "sets", "semaphore sets", used: Int64(sets.count), limit: l.semmni, leaks: semLeaks,
             perLeak: { Int64($0.objects.count) }, failure: enospc)
        pool("SEMMNS", .sem, "semaphores", "semaphores in all sets", used: sets.reduce(0) { $0 + Int64($1.nsems) },
             limit: l.semmns, leaks: semLeaks, perLeak: { $0.units }, failure: enospc)
        bound("SEMMSL", .sem, "semaphores", "semaphores in the largest set", used: sets.map { Int64($0.nsems) }.max(),
              limit: l.semmsl, failure: "semget() fails with EINVAL") { u in
            u.used.map { "SEMMSL: the largest set has \(AuditFormat.grouped($0)) of at most \(AuditFormat.grouped(u.limit)) semaphores per set (\(AuditFormat.percent(u.ratio ?? 0))); a larger set cannot be created (\(u.failure))" }
                ?? "SEMMSL: at most \(AuditFormat.grouped(u.limit)) semaphores per set (no sets now)"
        }
        bound("SEMOPM", .sem, "operations", "operations per semop() call", used: nil, limit: l.semopm,
              failure: "semop() fails with E2BIG") { u in
            "SEMOPM: at most \(AuditFormat.grouped(u.limit)) operations per semop() call"
        }
        pool("SHMMNI", .shm, "segments", "shared memory segments", used: Int64(segs.count), limit: l.shmmni,
             leaks: shmLeaks, perLeak: { Int64($0.objects.count) }, failure: "shmget() fails with ENOSPC")
        pool("SHMALL", .shm, "pages", "pages of shared memory in all segments (\(pageSize) B each)",
             used: segs.reduce(0) { $0 + pages($1.size, pageSize: pageSize) }, limit: l.shmall, leaks: shmLeaks,
             perLeak: { $0.units }, failure: "shmget() fails with ENOSPC")
        bound("SHMMAX", .shm, "bytes", "bytes in the largest segment",
              used: segs.map { Int64(clamping: $0.size) }.max(), limit: l.shmmax,
              failure: "shmget() fails with EINVAL") { u in
            let lim = u.unlimited ? "no practical limit per segment" : "at most \(AuditFormat.bytes(u.limit)) per segment"
            return u.used.map { "SHMMAX: the largest segment has \(AuditFormat.bytes($0)); \(lim)" }
                ?? "SHMMAX: \(lim) (no segments now)"
        }
        pool("MSGMNI", .msg, "queues", "message queues", used: Int64(queues.count), limit: l.msgmni, leaks: msgLeaks,
             perLeak: { Int64($0.objects.count) }, failure: "msgget() fails with ENOSPC")
        bound("MSGMNB", .msg, "bytes", "bytes in the fullest queue", used: queues.map { Int64(clamping: $0.cbytes) }.max(),
              limit: l.msgmnb, failure: "msgsnd() blocks, or fails with EAGAIN under IPC_NOWAIT") { u in
            u.used.map { "MSGMNB: the fullest queue holds \(AuditFormat.grouped($0)) of \(AuditFormat.grouped(u.limit)) bytes (the default capacity of a queue; when full, \(u.failure))" }
                ?? "MSGMNB: \(AuditFormat.grouped(u.limit)) bytes per queue by default (no queues now)"
        }
        bound("MSGMAX", .msg, "bytes", "bytes per message", used: nil, limit: l.msgmax,
              failure: "msgsnd() fails with EINVAL") { u in
            "MSGMAX: at most \(AuditFormat.grouped(u.limit)) bytes per message"
        }
        return out
    }

    /// "SEMMNI: 31,994 of 32,000 sets used (99.98 %); the orphans here grow by 2 sets per leak (3 leaks seen):
    /// room for 3 more leaks of this size, then semget() fails with ENOSPC (Apache: AH00023)".
    static func poolSentence(_ u: LimitUsage) -> String {
        let used = u.used ?? 0
        if u.unlimited {
            return "\(u.name): \(AuditFormat.grouped(used)) \(u.unit) used; the limit is effectively unlimited"
        }
        var s = "\(u.name): \(AuditFormat.grouped(used)) of \(AuditFormat.grouped(u.limit)) \(u.unit) used (\(AuditFormat.percent(u.ratio ?? 0)))"
        let remaining = u.remaining ?? 0
        if remaining == 0 {
            s += "; the limit is reached: \(u.failure) now"
        } else if let per = u.perLeak, let left = u.leaksRemaining {
            s += "; the orphans here grow by \(AuditFormat.plural(per, singularUnit(u.unit), u.unit)) per leak (\(AuditFormat.plural(Int64(u.leaksSeen), "leak")) seen): "
            s += left == 0
                ? "the next leak of this size does not fit: \(u.failure)"
                : "room for \(AuditFormat.plural(left, "more leak", "more leaks")) of this size, then \(u.failure)"
        } else {
            s += "; \(AuditFormat.grouped(remaining)) more \(remaining == 1 ? singularUnit(u.unit) : u.unit) before \(u.failure)"
        }
        if let g = u.growthPerDay, g > 0, let days = u.daysToLimit {
            s += "; at the rate since the last audit (\(AuditFormat.signed(g)) \(u.unit) a day) the limit is reached in "
                + (days < 1 ? "less than a day" : AuditFormat.plural(Int64(days), "day"))
        }
        return s
    }

    /// The kernel's "unlimited" shmall/shmmax (ULONG_MAX - 2^24) does not fit in Int64: read through IPC_INFO it
    /// wraps to a negative number. Any negative limit means "beyond Int64", so it becomes Int64.max.
    static func normalized(_ l: KernelLimits) -> KernelLimits {
        func fix(_ v: Int64) -> Int64 { v < 0 ? Int64.max : v }
        return KernelLimits(semmsl: fix(l.semmsl), semmns: fix(l.semmns), semopm: fix(l.semopm), semmni: fix(l.semmni),
                            shmmax: fix(l.shmmax), shmmni: fix(l.shmmni), shmall: fix(l.shmall),
                            msgmax: fix(l.msgmax), msgmnb: fix(l.msgmnb), msgmni: fix(l.msgmni))
    }

    /// "sets" -> "set".
    static func singularUnit(_ unit: String) -> String { unit.hasSuffix("s") ? String(unit.dropLast()) : unit }
}
