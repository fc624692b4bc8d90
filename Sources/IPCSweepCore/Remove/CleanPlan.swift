/// What `clean` may remove and how it treats data: the flags that shape a plan.
public struct CleanPolicy: Sendable, Equatable {
    /// Remove `suspect` objects too (`--include-suspect`).
    public var includeSuspect: Bool
    /// Remove a queue that still holds messages, dropping them (`--discard-messages`).
    public var discardMessages: Bool
    /// Save a queue's messages and an orphaned segment's bytes here before removal (`--save-to DIR`).
    public var saveTo: String?
    /// Plan only; change nothing (`--dry-run`).
    public var dryRun: Bool

    public init(includeSuspect: Bool = false, discardMessages: Bool = false, saveTo: String? = nil, dryRun: Bool = false) {
        self.includeSuspect = includeSuspect
        self.discardMessages = discardMessages
        self.saveTo = saveTo
        self.dryRun = dryRun
    }
}

/// What happened to one object (the `outcome` field of `clean --format json`).
public enum CleanOutcome: String, Sendable, Equatable, Codable, CaseIterable {
    /// IPC_RMID succeeded.
    case removed
    /// `--dry-run`: it would be removed.
    case planned
    /// Left alone: not eligible (in-use, unknown, suspect), changed since planned, already gone, data kept, interrupted.
    case skipped
    /// IPC_RMID (or the re-check, or saving) failed with an error.
    case failed
}

/// One object's place in the plan: the classification, whether it is eligible for removal, and why not.
public struct PlanEntry: Sendable, Equatable {
    public var classification: Classification
    /// True when the policy selects it for removal (orphaned, or suspect with `--include-suspect`).
    /// Only planned objects decide the exit status; in-use and unknown ones are never planned.
    public var planned: Bool
    /// Why it will not be removed, when it will not; nil when it goes ahead.
    public var skipReason: String?

    public init(classification: Classification, planned: Bool, skipReason: String?) {
        self.classification = classification
        self.planned = planned
        self.skipReason = skipReason
    }

    /// Whether the remover should try IPC_RMID on it.
    public var goesAhead: Bool { planned && skipReason == nil }
}

/// Turns classified objects into a plan. A pure function of the classifications and the policy.
public struct CleanPlanner: Sendable {
    public var policy: CleanPolicy

    /// A planner for these flags.
    public init(policy: CleanPolicy) { self.policy = policy }

    /// The `ipcrm` invocation that removes this object deliberately ("ipcrm -s 32769").
    public static func ipcrmCommand(_ ref: IPCObjectRef) -> String {
        let flag: String
        switch ref.kind {
        case .sem: flag = "-s"
        case .shm: flag = "-m"
        case .msg: flag = "-q"
        }
        return "ipcrm \(flag) \(ref.id)"
    }

    /// One plan entry per classification, in the same order.
    public func plan(_ items: [Classification]) -> [PlanEntry] {
        items.map(entry)
    }

    /// The plan entry for one classified object.
    public func entry(_ c: Classification) -> PlanEntry {
        let ref = c.object.ref
        let first = c.reasons.first.map { ": " + $0 } ?? ""
        switch c.verdict {
        case .inUse:
            return PlanEntry(classification: c, planned: false,
                             skipReason: "in use\(first); clean never removes it (to remove it deliberately: \(Self.ipcrmCommand(ref)))")
        case .unknown:
            return PlanEntry(classification: c, planned: false,
                             skipReason: "verdict unknown\(first); clean never removes it (run as root to decide, or remove it deliberately: \(Self.ipcrmCommand(ref)))")
        case .suspect where !policy.includeSuspect:
            return PlanEntry(classification: c, planned: false,
                             skipReason: "suspect\(first); give --include-suspect to remove suspects, or a scope (--unit, --pidfile, --exe) to settle it")
        case .orphaned, .suspect:
            if case .msg(let q) = c.object, q.qnum > 0, !policy.discardMessages, policy.saveTo == nil {
                return PlanEntry(classification: c, planned: true,
                                 skipReason: "holds \(q.qnum) message\(q.qnum == 1 ? "" : "s") (\(q.cbytes) bytes): kept; give --save-to DIR to save them first, or --discard-messages to drop them")
            }
            return PlanEntry(classification: c, planned: true, skipReason: nil)
        }
    }
}

/// The result of one object (a line of the report and of the JSON `results`).
public struct CleanResult: Sendable, Equatable {
    /// The object as planned, with its verdict and reasons.
    public var classification: Classification
    public var outcome: CleanOutcome
    /// In plain words; names the object and, for skips and failures, what to do.
    public var reason: String
    /// Whether the object was in the removal plan (see `PlanEntry.planned`).
    public var planned: Bool
    /// Skipped because it no longer existed (EINVAL/EIDRM): not a failure, does not affect the exit status.
    public var alreadyGone: Bool
    /// The differences found by the re-check, when skipped as changed since planned.
    public var changes: [String]
    /// The file its messages or bytes were saved to (`--save-to`).
    public var savedTo: String?

    public init(classification: Classification, outcome: CleanOutcome, reason: String, planned: Bool,
                alreadyGone: Bool = false, changes: [String] = [], savedTo: String? = nil) {
        self.classification = classification
        self.outcome = outcome
        self.reason = reason
        self.planned = planned
        self.alreadyGone = alreadyGone
        self.changes = changes
        self.savedTo = savedTo
    }

    /// The object's kind and id.
    public var ref: IPCObjectRef { classification.object.ref }

    /// A planned object that was left behind or failed: these make `clean` exit 4.
    public var isProblem: Bool {
        planned && !alreadyGone && (outcome == .skipped || outcome == .failed)
    }
}
