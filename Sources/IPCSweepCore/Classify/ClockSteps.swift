/// Where a measurement of the wall clock's steps comes from: a (realtime, monotonic) pair taken at one instant.
public enum ClockStepSource: Sendable, Hashable {
    /// systemd's manager: `UserspaceTimestamp` and `UserspaceTimestampMonotonic` (when userspace started).
    case systemdManager
    /// A unit's `InactiveExitTimestamp` and `InactiveExitTimestampMonotonic` (when its current invocation began).
    case systemdUnit(String)
    /// ipcsweep's own pair (CLOCK_REALTIME, CLOCK_BOOTTIME), kept in this file since its first run after boot.
    case ownPair(path: String)

    /// Its name in JSON (`source` of a `clock-step` entry).
    public var name: String {
        switch self {
        case .systemdManager: return "systemd-manager"
        case .systemdUnit: return "systemd-unit"
        case .ownPair: return "ipcsweep-pair"
        }
    }
}

/// One measurement: how far the wall clock moved beyond the monotonic clock since a pair was taken.
public struct ClockReference: Sendable, Hashable {
    public var source: ClockStepSource
    /// The instant the pair was taken, on today's wall clock (now minus the monotonic time elapsed since).
    public var since: Double
    /// The net step since then (today's realtime − monotonic minus the pair's); negative when the clock went back.
    public var step: Double

    public init(source: ClockStepSource, since: Double, step: Double) {
        self.source = source
        self.since = since
        self.step = step
    }

    /// The wall clock's reading when the pair was taken (systemd's `UserspaceTimestamp`, say): the clock IPC
    /// times recorded around then were read from.
    public var taken: Double { since - step }
}

/// The wall clock's steps as measured for one run: an input of the classifier, like the process table.
///
/// An IPC time is a wall-clock second recorded at that moment; a process start is boot-relative, turned into
/// wall-clock time with today's offset. A forward step after the last activity makes every process that
/// started before the step look younger by the step. Each process's start is therefore compared as if it
/// were earlier by the largest forward step measured since the latest pair taken before it started (or
/// after that): `effectiveStart`. Backward steps only make processes look older, which errs toward holding:
/// they widen nothing.
public struct ClockSteps: Sendable, Equatable {
    /// The pairs measured, in any order.
    public var references: [ClockReference]
    /// Why nothing could be measured (nil: measured, or not asked, as for a procfs copy or a built snapshot).
    public var unmeasured: String?

    /// How much earlier than a unit's invocation stamp its first process may start (systemd stamps the
    /// invocation just after forking it; /proc starts are truncated to clock ticks).
    static let unitSlack = 0.25

    public init(references: [ClockReference] = [], unmeasured: String? = nil) {
        self.references = references
        self.unmeasured = unmeasured
    }

    /// How much a process start is moved back, and the measurement that says so.
    public struct Widening: Sendable, Hashable {
        public var amount: Double
        public var reference: ClockReference
    }

    /// From when on a reference covers the processes that started: a unit's first process starts just before its stamp.
    private static func from(_ r: ClockReference) -> Double {
        if case .systemdUnit = r.source { return r.since - unitSlack }
        return r.since
    }

    /// The widening for a process that started at `start` (today's wall clock): the largest forward step
    /// among the latest reference taken before it started and every later one; for a process older than
    /// every reference, the largest of all. Never increases with `start`, so effective starts keep the
    /// order of the starts. nil when no forward step was measured.
    public func widening(forStart start: Double) -> Widening? {
        guard !references.isEmpty else { return nil }
        var latestBefore: Double?
        for r in references where Self.from(r) <= start {
            let f = Self.from(r)
            if latestBefore.map({ f > $0 }) ?? true { latestBefore = f }
        }
        var best: ClockReference?
        for r in references where latestBefore.map({ Self.from(r) >= $0 }) ?? true {
            if best.map({ r.step > $0.step }) ?? true { best = r }
        }
        guard let best, best.step > 0 else { return nil }
        return Widening(amount: best.step, reference: best)
    }

    /// The measurement with the largest forward step (nil: none forward).
    public var largestForward: ClockReference? {
        references.filter { $0.step > 0 }.max { $0.step < $1.step }
    }

    /// The larger of two widenings.
    public static func wider(_ a: Widening?, _ b: Widening?) -> Widening? {
        guard let a else { return b }
        guard let b else { return a }
        return b.amount > a.amount ? b : a
    }

    /// A process start as compared with a last activity: earlier by the widening.
    public func effectiveStart(_ start: Double) -> Double {
        start - (widening(forStart: start)?.amount ?? 0)
    }

    /// When a `--unit` service's invocation began (`began`, systemd's wall-clock stamp), on today's wall
    /// clock: the unit's own pair says exactly; without it, moved forward by the widening a process
    /// starting then would get (a later instant only makes more of the unit's processes look older than it).
    public func invocationStart(unit: String, began: Double) -> Double {
        if let r = references.first(where: { $0.source == .systemdUnit(unit) }) { return r.since }
        return began + (widening(forStart: began)?.amount ?? 0)
    }

    /// Whether every forward step after a last activity at `second` is measured: a pair was taken before it,
    /// or within that second (where the order cannot be told). Both are wall-clock readings of their moment:
    /// a forward step between the pair and the activity only makes the activity look later, a backward one
    /// earlier (then it is called uncovered: the note errs toward saying too much).
    public func covers(activity second: Int64) -> Bool {
        guard let earliest = references.map(\.taken).min() else { return false }
        return Double(second) + 1 > earliest
    }

    /// The note said once per run when orphaned verdicts rest on a stretch of time where no step could be
    /// measured: `lastActivities` are those of the orphaned objects. nil when every one is covered, or when
    /// the run measures nothing by design (`unmeasured` nil and no reference: a procfs copy, a built snapshot).
    public func uncoveredNote(orphanedLastActivities lastActivities: [Int64]) -> String? {
        guard unmeasured != nil || !references.isEmpty else { return nil }
        let uncovered = lastActivities.filter { !covers(activity: $0) }
        guard !uncovered.isEmpty else { return nil }
        let n = uncovered.count
        let objects = "\(n) orphaned object\(n == 1 ? "" : "s")"
        let assume = n == 1 ? "assumes" : "assume"
        let risk = "a live holder started before such a step would look younger than it is"
        if let why = unmeasured, references.isEmpty {
            return "a forward step of the wall clock could not be ruled out (\(why)): \(objects) \(assume) the clock was "
                + "not stepped forward after their last activity (a VM resumed, NTP correcting a clock without RTC, "
                + "date -s); \(risk): check before cleaning them"
        }
        guard let earliest = references.min(by: { $0.taken < $1.taken }) else { return nil }
        let when = TimeFormat.iso8601(Int64(earliest.taken.rounded(.down))) ?? "\(earliest.taken)"
        return "steps of the wall clock are measured only since \(when) (\(Self.describe(earliest.source))): \(objects) "
            + "\(n == 1 ? "was" : "were") last active before then, where a forward step could not be ruled out; \(risk). Run ipcsweep as "
            + "root early after boot so that its clock pair reaches back further"
    }

    /// The source in words (reasons, notes).
    public static func describe(_ source: ClockStepSource) -> String {
        switch source {
        case .systemdManager:
            return "systemd's UserspaceTimestamp and UserspaceTimestampMonotonic"
        case .systemdUnit(let unit):
            return "systemd's InactiveExitTimestamp and InactiveExitTimestampMonotonic of \(unit)"
        case .ownPair(let path):
            return "ipcsweep's clock pair in \(path), taken at its first run after boot"
        }
    }
}
