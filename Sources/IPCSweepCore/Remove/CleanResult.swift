/// The result of one object of any kind (a line of the report and of the JSON `results`).
public struct CleanResult: Sendable, Equatable {
    /// Why it ended as it did: the typed reason the outcome, the counts and the exit status follow from.
    public enum Status: String, Sendable, Equatable, CaseIterable {
        /// Removed (after its save, when asked).
        case removed
        /// `--dry-run`: it would be removed.
        case wouldRemove
        /// Never eligible: in-use, unknown, or suspect without `--include-suspect`.
        case notEligible
        /// Eligible, but kept because removing it would lose data (a queue's messages without `--save-to` or
        /// `--discard-messages`).
        case keptForData
        /// The fresh read differs from the plan (or it changed while being saved): left in place.
        case changed
        /// A process opened it while it was being removed (its write lease broke): its name was restored, or never
        /// taken; left in place.
        case openedDuringRemoval
        /// It no longer existed (removed by someone else): not a failure.
        case alreadyGone
        /// A signal stopped the run before this object.
        case notAttempted
        /// A call failed (permission, I/O, a save that could not be written): left in place.
        case failed
    }

    /// The object (as planned when it was not decided again, else as freshly read), its verdict and reasons.
    public var classification: Classification
    public var status: Status
    /// In plain words; names the object and, for skips and failures, what to do. A skip the plan decided is
    /// worded when read (`CleanPlanner.skipReason`).
    public var reason: String {
        get { words ?? CleanPlanner.skipReason(status, classification) }
        set { words = newValue }
    }
    private var words: String?
    /// The differences found by the re-check, when it changed since planned.
    public var changes: [String]
    /// The file its messages or bytes were saved to (`--save-to`).
    public var savedTo: String?

    public init(classification: Classification, status: Status, reason: String, changes: [String] = [],
                savedTo: String? = nil) {
        self.classification = classification
        self.status = status
        self.words = reason
        self.changes = changes
        self.savedTo = savedTo
    }

    /// The result of an object the plan skipped (`notEligible`, `keptForData`), worded when its reason is read.
    public init(skipped classification: Classification, status: Status) {
        self.classification = classification
        self.status = status
        self.words = nil
        self.changes = []
        self.savedTo = nil
    }

    public static func == (a: CleanResult, b: CleanResult) -> Bool {
        a.status == b.status && a.classification == b.classification && a.reason == b.reason
            && a.changes == b.changes && a.savedTo == b.savedTo
    }

    /// removed, planned, skipped or failed.
    public var outcome: CleanOutcome {
        switch status {
        case .removed: return .removed
        case .wouldRemove: return .planned
        case .failed: return .failed
        case .notEligible, .keptForData, .changed, .openedDuringRemoval, .alreadyGone, .notAttempted: return .skipped
        }
    }

    /// Whether the object was in the removal plan (eligible, whatever became of it).
    public var planned: Bool { status != .notEligible }

    /// Skipped because it no longer existed: not a failure, does not affect the exit status.
    public var alreadyGone: Bool { status == .alreadyGone }

    /// A planned object that was left behind or failed: these make `clean` exit 4.
    public var isProblem: Bool {
        switch status {
        case .keptForData, .changed, .openedDuringRemoval, .notAttempted, .failed: return true
        case .removed, .wouldRemove, .notEligible, .alreadyGone: return false
        }
    }

    /// The object's kind and id (or path).
    public var ref: IPCObjectRef { classification.object.ref }
}

/// A signal that asked `clean` to stop: its number and, from `siginfo_t`, who sent it.
public struct PendingSignal: Sendable, Equatable {
    public var signo: Int32
    public var senderPid: Int32
    public var senderUid: UInt32

    public init(signo: Int32, senderPid: Int32, senderUid: UInt32) {
        self.signo = signo
        self.senderPid = senderPid
        self.senderUid = senderUid
    }

    /// "SIGTERM", "SIGINT", ...
    public var name: String {
        switch signo {
        case 1: return "SIGHUP"
        case 2: return "SIGINT"
        case 3: return "SIGQUIT"
        case 15: return "SIGTERM"
        default: return "signal \(signo)"
        }
    }

    /// "SIGTERM from pid 812 (uid 0)"
    public var description: String { "\(name) from pid \(senderPid) (uid \(senderUid))" }
}

/// Everything one `clean` run did, every kind in one list.
public struct CleanRun: Sendable, Equatable {
    /// One result per planned-or-matched object, in plan order (including the ones not attempted after a signal).
    public var results: [CleanResult]
    /// The signal that stopped the run, if one did.
    public var interruption: PendingSignal?
    public var dryRun: Bool

    public init(results: [CleanResult], interruption: PendingSignal?, dryRun: Bool) {
        self.results = results
        self.interruption = interruption
        self.dryRun = dryRun
    }

    /// Counts for the summary.
    public struct Counts: Sendable, Equatable {
        public var removed = 0, planned = 0, skipped = 0, failed = 0
        /// Skipped because already gone (not a problem).
        public var alreadyGone = 0
        /// Skipped because changed since planned.
        public var changed = 0
        /// Skipped because a process opened it while it was being removed.
        public var openedDuringRemoval = 0
        /// Skipped because removing them would lose their data.
        public var keptForData = 0
        /// Matched the filters but never eligible (in-use, unknown, suspect without --include-suspect).
        public var notEligible = 0
        /// Planned but not attempted because a signal stopped the run.
        public var notAttempted = 0
    }

    /// Outcomes counted for the summary line and the JSON `summary`, from each result's typed status.
    public var counts: Counts {
        var c = Counts()
        for r in results {
            switch r.outcome {
            case .removed: c.removed += 1
            case .planned: c.planned += 1
            case .skipped: c.skipped += 1
            case .failed: c.failed += 1
            }
            switch r.status {
            case .alreadyGone: c.alreadyGone += 1
            case .changed: c.changed += 1
            case .openedDuringRemoval: c.openedDuringRemoval += 1
            case .keptForData: c.keptForData += 1
            case .notEligible: c.notEligible += 1
            case .notAttempted: c.notAttempted += 1
            case .removed, .wouldRemove, .failed: break
            }
        }
        return c
    }

    /// Whether any object was planned for removal (eligible), whatever became of it.
    public var hadWork: Bool { results.contains { $0.planned } }

    /// The exit status the spec defines: 128+signo after a signal; 4 when anything planned was skipped
    /// (other than "already gone") or failed; 0 otherwise (including nothing to do).
    public var exitStatus: Int32 {
        if let s = interruption { return 128 + s.signo }
        return results.contains { $0.isProblem } ? 4 : 0
    }

    /// "removed 3; skipped 1 (1 changed since planned); 2 not eligible (in use, unknown or suspect)". Pure.
    public var summary: String {
        let n = counts
        if !hadWork {
            return n.notEligible == 0 ? "nothing to clean: no object matched"
                : "nothing to clean: \(n.notEligible) matching object\(n.notEligible == 1 ? " is" : "s are") in use, unknown or suspect (see the reasons)"
        }
        var parts: [String] = [dryRun ? "dry run: would remove \(n.planned)" : "removed \(n.removed)"]
        let problemSkips = n.changed + n.openedDuringRemoval + n.notAttempted + n.keptForData
        if problemSkips > 0 {
            var why: [String] = []
            if n.changed > 0 { why.append("\(n.changed) changed since planned") }
            if n.openedDuringRemoval > 0 { why.append("\(n.openedDuringRemoval) opened during removal") }
            if n.notAttempted > 0 { why.append("\(n.notAttempted) not attempted") }
            if n.keptForData > 0 { why.append("\(n.keptForData) kept for their data") }
            parts.append("skipped \(problemSkips) (\(why.joined(separator: ", ")))")
        }
        if n.alreadyGone > 0 { parts.append("\(n.alreadyGone) already gone") }
        if n.failed > 0 { parts.append("failed \(n.failed)") }
        if n.notEligible > 0 { parts.append("\(n.notEligible) not eligible (in use, unknown or suspect)") }
        var s = parts.joined(separator: "; ")
        if let i = interruption { s += "; stopped by \(i.description)" }
        return s
    }
}
