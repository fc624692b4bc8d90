/// The classes of finding `audit --fail-on` can turn into exit status 3.
public enum AuditFindingClass: String, Sendable, Codable, CaseIterable, Comparable {
    /// At least one object is judged orphaned.
    case orphaned
    /// At least one object is judged suspect.
    case suspect
    /// A pool limit (SEMMNI, SEMMNS, SHMMNI, SHMALL, MSGMNI) is at or above the warning threshold.
    case limits
    /// An object grants access beyond its owner (mode bits or POSIX ACL), or its owner/creator has no passwd/group entry.
    case insecure
    /// RemoveIPC=yes and a non-system uid owns objects logind destroys at its last logout (`RemoveIPCReport.findings`:
    /// its System V sets, queues and unattached segments, its POSIX objects, its entries under /dev/shm).
    case removeipc

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// How close a limit is to being reached.
public enum LimitLevel: String, Sendable, Codable, CaseIterable, Comparable {
    case ok, warning, critical

    /// The Prometheus value of `ipcsweep_limit_status`: 0 ok, 1 warning, 2 critical.
    public var code: Int {
        switch self {
        case .ok: return 0
        case .warning: return 1
        case .critical: return 2
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.code < b.code }
}

/// The usage ratios at which a pool limit is reported as warning and critical (defaults 80 % and 95 %).
public struct AuditThresholds: Sendable, Equatable {
    /// Ratio (0…1) at or above which a limit is `warning`.
    public var warning: Double
    /// Ratio (0…1) at or above which a limit is `critical`.
    public var critical: Double

    public init(warning: Double = 0.80, critical: Double = 0.95) {
        self.warning = warning
        self.critical = critical
    }

    /// The level of a usage ratio.
    public func level(_ ratio: Double) -> LimitLevel {
        ratio >= critical ? .critical : ratio >= warning ? .warning : .ok
    }
}

/// One kernel limit with its current usage, read from /proc/sys/kernel and the IPC snapshot.
public struct LimitUsage: Sendable, Equatable {
    /// The kernel's name in capitals: SEMMNI, SEMMNS, SEMMSL, SEMOPM, SHMMNI, SHMALL, SHMMAX, MSGMNI, MSGMNB, MSGMAX.
    public var name: String
    /// The kind of object it bounds.
    public var kind: IPCKind
    /// What is counted, plural ("sets", "semaphores", "pages", ...).
    public var unit: String
    /// What the usage measures, in words ("semaphore sets", "semaphores in the largest set", ...).
    public var measures: String
    /// Current usage; nil when the limit has no usage measure (SEMOPM, MSGMAX).
    public var used: Int64?
    /// The limit; values at or above 2^62 mean "effectively unlimited".
    public var limit: Int64
    /// A pool that fills as objects accumulate (judged against the thresholds), or a bound on one object (informational).
    public var pool: Bool
    /// ok, warning or critical (always ok for non-pool limits).
    public var level: LimitLevel
    /// used / limit; nil without usage or with an unlimited limit.
    public var ratio: Double?
    /// limit - used for a pool limit (never negative).
    public var remaining: Int64?
    /// Units of this limit a typical leak (one group of orphans) takes, derived from the orphans; nil without orphans.
    public var perLeak: Int64?
    /// How many leak groups the orphans of this kind form.
    public var leaksSeen: Int
    /// How many more leaks of `perLeak` fit before the limit is reached.
    public var leaksRemaining: Int64?
    /// Growth of usage per day since the previous audit (--state), when known.
    public var growthPerDay: Double?
    /// At `growthPerDay`, days until the limit is reached.
    public var daysToLimit: Double?
    /// What fails at the limit ("semget() fails with ENOSPC (Apache: AH00023)").
    public var failure: String
    /// The headroom in one sentence, starting with the name.
    public var headroom: String

    /// Whether the limit is so large it cannot be reached (the kernel's "unlimited" is ULONG_MAX - 2^24).
    public var unlimited: Bool { limit >= LimitUsage.unlimitedThreshold || limit < 0 }
    /// Limits at or above this count as unlimited.
    public static let unlimitedThreshold: Int64 = 1 << 62

    public init(name: String, kind: IPCKind, unit: String, measures: String, used: Int64?, limit: Int64, pool: Bool,
                level: LimitLevel = .ok, ratio: Double? = nil, remaining: Int64? = nil, perLeak: Int64? = nil,
                leaksSeen: Int = 0, leaksRemaining: Int64? = nil, growthPerDay: Double? = nil,
                daysToLimit: Double? = nil, failure: String, headroom: String = "") {
        self.name = name
        self.kind = kind
        self.unit = unit
        self.measures = measures
        self.used = used
        self.limit = limit
        self.pool = pool
        self.level = level
        self.ratio = ratio
        self.remaining = remaining
        self.perLeak = perLeak
        self.leaksSeen = leaksSeen
        self.leaksRemaining = leaksRemaining
        self.growthPerDay = growthPerDay
        self.daysToLimit = daysToLimit
        self.failure = failure
        self.headroom = headroom
    }
}

/// Orphans that look like the leftovers of one event (one crash): same kind, owner and creator, and the same
/// change-time second or the same last-activity second.
public struct LeakGroup: Sendable, Equatable {
    public var kind: IPCKind
    public var uid: UInt32
    public var cuid: UInt32
    /// The objects of the group, ordered by id.
    public var objects: [IPCObjectRef]
    /// Semaphores in all its sets (sem) or pages of all its segments (shm); the object count for msg.
    public var units: Int64
    /// The latest last-activity of its objects (epoch seconds).
    public var lastActivity: Int64

    public init(kind: IPCKind, uid: UInt32, cuid: UInt32, objects: [IPCObjectRef], units: Int64, lastActivity: Int64) {
        self.kind = kind
        self.uid = uid
        self.cuid = cuid
        self.objects = objects
        self.units = units
        self.lastActivity = lastActivity
    }
}

/// An orphaned or suspect object as the audit reports it: identity, owner names resolved, decisive reason first.
public struct AuditObject: Sendable, Equatable {
    public var kind: IPCKind
    public var id: Int32
    public var key: Int32
    public var uid: UInt32
    /// The owner's login name; nil when the uid has no passwd entry.
    public var user: String?
    public var cuid: UInt32
    public var creator: String?
    public var mode: UInt32
    public var verdict: Verdict
    /// Every reason, the decisive one first.
    public var reasons: [String]
    /// Possible holders (suspect objects).
    public var possibleHolders: [Holder]
    public var ctime: Int64
    public var lastActivity: Int64
    /// "2 sems", "4096 B", "3 msgs".
    public var size: String
    /// Semaphores (sem), bytes (shm) or messages (msg).
    public var sizeValue: UInt64

    /// The reason that decided the verdict.
    public var decisiveReason: String { reasons.first ?? "" }

    /// Builds the audit view of a classified object, naming owners through `names`.
    public init(_ c: Classification, names: NameLookup) {
        let o = c.object
        kind = o.kind
        id = o.id
        key = o.perm.key
        uid = o.perm.uid
        user = names.user(o.perm.uid)
        cuid = o.perm.cuid
        creator = names.user(o.perm.cuid)
        mode = o.perm.mode
        verdict = c.verdict
        reasons = c.reasons
        possibleHolders = c.possibleHolders
        ctime = o.ctime
        lastActivity = o.lastActivity
        size = o.sizeSummary
        switch o {
        case .sem(let s): sizeValue = UInt64(max(0, s.nsems))
        case .shm(let s): sizeValue = s.size
        case .msg(let q): sizeValue = q.qnum
        }
    }
}

/// User and group names for the audit: pure lookups (cached getpwuid_r/getgrgid_r in the tool, dictionaries in tests).
public struct NameLookup: Sendable {
    /// The login name of a uid, or nil when there is no passwd entry.
    public var user: @Sendable (UInt32) -> String?
    /// The name of a gid, or nil when there is no group entry.
    public var group: @Sendable (UInt32) -> String?

    public init(user: @escaping @Sendable (UInt32) -> String?, group: @escaping @Sendable (UInt32) -> String?) {
        self.user = user
        self.group = group
    }

    /// Lookups through a `UserDirectory` (getpwuid_r/getgrgid_r).
    public init(_ directory: UserDirectory) {
        self.user = { directory.userName($0) }
        self.group = { directory.groupName($0) }
    }

    /// "www-data" or "uid 4242 (no passwd entry)".
    public func describeUser(_ uid: UInt32) -> String { user(uid) ?? "uid \(uid) (no passwd entry)" }
    /// "adm" or "gid 4242 (no group entry)".
    public func describeGroup(_ gid: UInt32) -> String { group(gid) ?? "gid \(gid) (no group entry)" }
}

/// Object counts of one owner.
public struct OwnerCount: Sendable, Equatable {
    public var uid: UInt32
    /// nil when the uid has no passwd entry.
    public var user: String?
    public var total: Int
    public var byKind: [IPCKind: Int]
    public var byVerdict: [Verdict: Int]
    /// Per kind and verdict, for the Prometheus `owner` label.
    public var byKindVerdict: [IPCKind: [Verdict: Int]]

    public init(uid: UInt32, user: String?, total: Int = 0, byKind: [IPCKind: Int] = [:],
                byVerdict: [Verdict: Int] = [:], byKindVerdict: [IPCKind: [Verdict: Int]] = [:]) {
        self.uid = uid
        self.user = user
        self.total = total
        self.byKind = byKind
        self.byVerdict = byVerdict
        self.byKindVerdict = byKindVerdict
    }

    /// The name, or the number when there is no passwd entry.
    public var label: String { user ?? String(uid) }
}

/// Counts of the audited objects per kind, per verdict (and both) and per owner.
public struct AuditCounts: Sendable, Equatable {
    public var total: Int
    public var byKind: [IPCKind: Int]
    public var byVerdict: [Verdict: Int]
    public var byKindVerdict: [IPCKind: [Verdict: Int]]
    /// Owners by uid, most objects first.
    public var byOwner: [OwnerCount]

    public init(total: Int = 0, byKind: [IPCKind: Int] = [:], byVerdict: [Verdict: Int] = [:],
                byKindVerdict: [IPCKind: [Verdict: Int]] = [:], byOwner: [OwnerCount] = []) {
        self.total = total
        self.byKind = byKind
        self.byVerdict = byVerdict
        self.byKindVerdict = byKindVerdict
        self.byOwner = byOwner
    }
}

/// What the previous audit (--state FILE) knew, compared with now.
public struct AuditChange: Sendable, Equatable {
    /// When the previous state was written (epoch seconds).
    public var previousAt: Int64
    /// Seconds between the previous audit and this one.
    public var elapsed: Double
    public var previousOrphans: Int
    public var currentOrphans: Int
    /// Orphans not in the previous state (a reused id with another key or change time is new).
    public var newOrphans: [AuditObject]
    /// Orphans of the previous state that are no longer orphaned (removed, or used again).
    public var goneOrphans: [OrphanRecord]
    /// Since when `netGrowthPerDay` is measured (the state's rate base, up to a day old); nil without a rate.
    public var rateSince: Int64?
    /// Change of the orphan count per day since `rateSince`; nil over less than 10 minutes.
    public var netGrowthPerDay: Double?
    /// New orphans per day since the previous audit; nil over less than 10 minutes.
    public var newPerDay: Double?

    public init(previousAt: Int64, elapsed: Double, previousOrphans: Int, currentOrphans: Int,
                newOrphans: [AuditObject], goneOrphans: [OrphanRecord], rateSince: Int64? = nil,
                netGrowthPerDay: Double?, newPerDay: Double?) {
        self.rateSince = rateSince
        self.previousAt = previousAt
        self.elapsed = elapsed
        self.previousOrphans = previousOrphans
        self.currentOrphans = currentOrphans
        self.newOrphans = newOrphans
        self.goneOrphans = goneOrphans
        self.netGrowthPerDay = netGrowthPerDay
        self.newPerDay = newPerDay
    }
}

/// The whole audit: a pure value built by `Auditor.report` and printed by the text, JSON and Prometheus renderers.
public struct AuditReport: Sendable, Equatable {
    /// When the audit ran (epoch seconds, CLOCK_REALTIME).
    public var generatedAt: Double
    /// "proc" or "syscall".
    public var source: String
    /// The scope given, if any (description).
    public var scope: String?
    public var thresholds: AuditThresholds
    /// The kinds audited (--type, or all).
    public var kinds: [IPCKind]
    public var counts: AuditCounts
    /// Objects judged orphaned, by kind and id.
    public var orphans: [AuditObject]
    /// Objects judged suspect, by kind and id.
    public var suspects: [AuditObject]
    /// Objects judged unknown, by kind and id.
    public var unknown: [AuditObject]
    /// Kernel limits with usage, in a fixed order (sem, shm, msg); empty when they could not be read.
    public var limits: [LimitUsage]
    /// Why `limits` is empty, when it is.
    public var limitsError: String?
    /// The page size SHMALL is counted in (sysconf(_SC_PAGESIZE)).
    public var pageSize: Int64
    /// Orphans grouped into leaks (see `LeakGroup`).
    public var leaks: [LeakGroup]
    /// Objects that grant access beyond their owner, or whose owner has no passwd/group entry.
    public var insecure: [InsecureFinding]
    /// The /dev/shm and /dev/mqueue scans: what was read, what was skipped and why.
    public var posixScans: [PosixScanSummary]
    /// The change since the previous audit (only with --state and a readable previous state).
    public var change: AuditChange?
    /// The --state situation in words when there is no `change` ("no previous state ...").
    public var stateNote: String?
    /// Problems met while reading, each naming its file or object.
    public var warnings: [String]
    /// The IPC namespace audited, when one was chosen (`--namespace`, `--all-namespaces`).
    public var namespace: IPCNamespaceInfo?
    /// RemoveIPC= and the uids at risk; nil when not judged (a namespace logind does not clean).
    public var removeIPC: RemoveIPCReport?
    /// POSIX objects: /dev/shm size and use, counts, orphans by name prefix.
    public var posix = PosixAuditSection()
    /// The wall clock's measured steps (SPEC "Clock steps").
    public var clock = ClockSteps()
    /// Said when orphans rest on a stretch of time where no clock step could be measured.
    public var clockNote: String?

    public init(generatedAt: Double, source: String, scope: String?, thresholds: AuditThresholds, kinds: [IPCKind],
                counts: AuditCounts, orphans: [AuditObject], suspects: [AuditObject], unknown: [AuditObject],
                limits: [LimitUsage], limitsError: String?, pageSize: Int64, leaks: [LeakGroup],
                insecure: [InsecureFinding], posixScans: [PosixScanSummary], change: AuditChange?,
                stateNote: String?, warnings: [String]) {
        self.generatedAt = generatedAt
        self.source = source
        self.scope = scope
        self.thresholds = thresholds
        self.kinds = kinds
        self.counts = counts
        self.orphans = orphans
        self.suspects = suspects
        self.unknown = unknown
        self.limits = limits
        self.limitsError = limitsError
        self.pageSize = pageSize
        self.leaks = leaks
        self.insecure = insecure
        self.posixScans = posixScans
        self.change = change
        self.stateNote = stateNote
        self.warnings = warnings
    }

    /// Pool limits at warning or critical, worst first.
    public var limitsAtRisk: [LimitUsage] {
        limits.filter { $0.pool && $0.level != .ok }.sorted { ($0.level, $0.ratio ?? 0) > ($1.level, $1.ratio ?? 0) }
    }

    /// The finding classes present (what `--fail-on` tests).
    public var findingClasses: Set<AuditFindingClass> {
        var out: Set<AuditFindingClass> = []
        if !orphans.isEmpty || !posix.orphans.isEmpty { out.insert(.orphaned) }
        if !suspects.isEmpty || !posix.suspects.isEmpty { out.insert(.suspect) }
        if !limitsAtRisk.isEmpty { out.insert(.limits) }
        if !insecure.isEmpty { out.insert(.insecure) }
        if !(removeIPC?.findings.isEmpty ?? true) { out.insert(.removeipc) }
        return out
    }

    /// Whether there is anything to tell a person: any finding class, or new orphans since the last audit.
    /// Unknown verdicts, warnings and orphans that went away alone are not worth a cron mail.
    public var hasFindings: Bool { !findingClasses.isEmpty || !(change?.newOrphans.isEmpty ?? true) }

    /// The worst limit level.
    public var worstLevel: LimitLevel { limits.filter(\.pool).map(\.level).max() ?? .ok }
}
