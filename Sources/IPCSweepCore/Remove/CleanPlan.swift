/// What `clean` may remove and how it treats data: the flags that shape a plan.
public struct CleanPolicy: Sendable, Equatable {
    /// Remove `suspect` objects too (`--include-suspect`).
    public var includeSuspect: Bool
    /// Remove a queue that still holds messages, dropping them (`--discard-messages`).
    public var discardMessages: Bool
    /// Save a queue's messages and a segment's or file's bytes here before removal (`--save-to DIR`).
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
    /// IPC_RMID (unlinkat) succeeded.
    case removed
    /// `--dry-run`: it would be removed.
    case planned
    /// Left alone: not eligible (in-use, unknown, suspect), changed since planned, already gone, data kept, interrupted.
    case skipped
    /// The removal (or the re-check, or saving) failed with an error.
    case failed
}

/// One object's place in the plan: the classification, and whether it is eligible for removal.
public struct PlanEntry: Sendable, Equatable {
    public var classification: Classification
    /// Why it will not be removed, when it will not (`notEligible`, `keptForData`); nil when it goes ahead.
    public var skip: CleanResult.Status?

    public init(classification: Classification, skip: CleanResult.Status?) {
        self.classification = classification
        self.skip = skip
    }

    /// Why it will not be removed, in words (`CleanPlanner.skipReason`); nil when it goes ahead.
    public var skipReason: String? { skip.map { CleanPlanner.skipReason($0, classification) } }

    /// True when the policy selects it for removal (orphaned, or suspect with `--include-suspect`).
    /// Only planned objects decide the exit status; in-use and unknown ones are never planned.
    public var planned: Bool { skip != .notEligible }

    /// Whether the pipeline should try to remove it.
    public var goesAhead: Bool { skip == nil }

    /// The result of an entry that does not go ahead (worded when its reason is read).
    public var skippedResult: CleanResult? {
        skip.map { CleanResult(skipped: classification, status: $0) }
    }
}

/// Turns classified objects into a plan. A pure function of the classifications and the policy, the same for
/// every kind.
public struct CleanPlanner: Sendable {
    public var policy: CleanPolicy

    /// A planner for these flags.
    public init(policy: CleanPolicy) { self.policy = policy }

    /// How to remove an object deliberately: `ipcrm -s 32769`, `rm -- '/dev/shm/x'`.
    public static func deliberateRemoval(_ o: IPCObject) -> String {
        switch o {
        case .sem(let s): return "ipcrm -s \(s.id)"
        case .shm(let s): return "ipcrm -m \(s.id)"
        case .msg(let q): return "ipcrm -q \(q.id)"
        case .posix(let p): return "rm -- '\(p.path)'"
        }
    }

    /// One plan entry per classification, in the same order.
    public func plan(_ items: [Classification]) -> [PlanEntry] {
        items.map(entry)
    }

    /// The plan entry for one classified object.
    public func entry(_ c: Classification) -> PlanEntry {
        switch c.verdict {
        case .inUse, .unknown:
            return PlanEntry(classification: c, skip: .notEligible)
        case .suspect where !policy.includeSuspect:
            return PlanEntry(classification: c, skip: .notEligible)
        case .orphaned, .suspect:
            if c.object.queuedMessages != nil, !policy.discardMessages, policy.saveTo == nil {
                return PlanEntry(classification: c, skip: .keptForData)
            }
            return PlanEntry(classification: c, skip: nil)
        }
    }

    /// Why the plan skips an object, in words, from its skip and its classification. Worded where it is read (the
    /// report, the journal), not kept with each result: a clean of the benchmark's state skips 20,000 suspects,
    /// whose words took 5.8 MB.
    public static func skipReason(_ skip: CleanResult.Status, _ c: Classification) -> String {
        var first: String { c.reasons.first.map { ": " + $0 } ?? "" }
        var deliberately: String { deliberateRemoval(c.object) }
        switch (skip, c.verdict) {
        case (.notEligible, .inUse):
            return "in use\(first); clean never removes it (to remove it deliberately: \(deliberately))"
        case (.notEligible, .unknown):
            return "verdict unknown\(first); clean never removes it (run as root to decide, or remove it deliberately: \(deliberately))"
        case (.notEligible, .suspect):
            return "suspect\(first); give --include-suspect to remove suspects, or a scope (--unit, --pidfile, --exe) to settle it"
        case (.keptForData, _):
            guard let q = c.object.queuedMessages else { return "not planned" }
            let held = q.count.map { "\($0) message\($0 == 1 ? "" : "s") (\(q.bytes) bytes)" } ?? "\(q.bytes) bytes of messages"
            return "holds \(held): kept; give --save-to DIR to save them first, or --discard-messages to drop them"
        default:
            return "not planned"
        }
    }
}
