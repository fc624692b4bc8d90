/// What `clean` was asked for: the options, already parsed.
public struct CleanRequest: Sendable {
    /// The one filter, over every kind (`--type`, `--name`, `--user`, ...).
    public var filter: ObjectFilter
    public var policy: CleanPolicy
    /// Ask before removing (no `--yes`, not a dry run).
    public var confirm: Bool

    public init(filter: ObjectFilter = ObjectFilter(), policy: CleanPolicy = CleanPolicy(), confirm: Bool = false) {
        self.filter = filter
        self.policy = policy
        self.confirm = confirm
    }
}

/// The side effects of `clean`, injected so that each step and its order are unit-tested.
public struct CleanEnvironment {
    /// Reads the objects and processes. `semaphoreDetail` false: the plan's cheap read (each object's stat).
    public var read: (_ semaphoreDetail: Bool) throws -> Inspector.Reading
    /// Classifies every object of a reading (the preview before a confirmation).
    public var classify: (Inspector.Reading) -> [Classification]
    /// Makes the decision of the pass over a reading (the verdict of each fresh read).
    public var decider: (Inspector.Reading) -> CleanDecision
    /// Creates and checks the `--save-to` directory.
    public var prepareSaveDirectory: (String) throws -> Void
    /// Takes the lock that serialises cleaners; returns its path and how to release it.
    public var lock: () throws -> (path: String, release: () -> Void)
    /// Installs the SIGINT/SIGTERM recorder.
    public var installSignals: () -> Void
    /// Shows the objects that will go and asks; throws when the answer is not yes (or there is no terminal).
    public var confirm: ([PlanEntry]) throws -> Void
    /// Makes the pipeline of the pass (its backends, its log, its signal poll).
    public var pipeline: (CleanPolicy) -> CleanPipeline

    public init(read: @escaping (Bool) throws -> Inspector.Reading,
                classify: @escaping (Inspector.Reading) -> [Classification],
                decider: @escaping (Inspector.Reading) -> CleanDecision,
                prepareSaveDirectory: @escaping (String) throws -> Void,
                lock: @escaping () throws -> (path: String, release: () -> Void),
                installSignals: @escaping () -> Void, confirm: @escaping ([PlanEntry]) throws -> Void,
                pipeline: @escaping (CleanPolicy) -> CleanPipeline) {
        self.read = read
        self.classify = classify
        self.decider = decider
        self.prepareSaveDirectory = prepareSaveDirectory
        self.lock = lock
        self.installSignals = installSignals
        self.confirm = confirm
        self.pipeline = pipeline
    }
}

/// What a `clean` session did: the run, the lock it held, and what it read.
public struct CleanSessionResult {
    public var run: CleanRun
    public var lockPath: String?
    /// What the report says of the plan's reading. Not the reading itself: its snapshot and process table are
    /// freed before the report is made, whose table then reuses their memory (peak RSS of `clean` of every kind
    /// at the benchmark's size: see DECISIONS.md, round 9).
    public var reading: ReadingFacts

    init(run: CleanRun, lockPath: String?, reading: Inspector.Reading) {
        self.run = run
        self.lockPath = lockPath
        self.reading = ReadingFacts(reading)
    }
}

/// The facts of a reading that a report states: when it was read, its scope, its warnings and its IPC namespace.
public struct ReadingFacts: Sendable {
    public var now: Double
    public var scope: ResolvedScope?
    public var warnings: [String]
    public var namespace: IPCNamespaceInfo?

    public init(_ r: Inspector.Reading) {
        now = r.now
        scope = r.scope
        warnings = r.warnings
        namespace = r.namespace
    }
}

/// The `clean` sequence: lock, plan, confirm, the pipeline (the report is the caller's, from the result).
///
/// Ordering rules (each a unit test in `CleanSessionTests`):
/// - `--yes`: signals are recorded and the save directory checked before the lock; the plan is read under the
///   lock, so two cleaners never work from the same plan; each object is then read once, whole, decided and
///   removed (`CleanPipeline`); the lock is released after the last removal.
/// - without `--yes`: the preview is read and classified in full without the lock; nothing is removed unless
///   the confirmation says yes; then signals, then the lock, then only the confirmed objects are read again,
///   decided again and removed.
/// - `--dry-run`: no lock, no confirmation, nothing removed; each object is still read whole and decided.
public struct CleanSession {
    public var request: CleanRequest
    public var environment: CleanEnvironment

    public init(request: CleanRequest, environment: CleanEnvironment) {
        self.request = request
        self.environment = environment
    }

    public func run() throws -> CleanSessionResult {
        let env = environment
        let policy = request.policy
        let filter = request.filter
        if !request.confirm { env.installSignals() }
        if let dir = policy.saveTo, !policy.dryRun { try env.prepareSaveDirectory(dir) }

        if request.confirm {
            // Preview: a full read and classification, shown and confirmed before anything is locked or removed.
            let reading = try env.read(true)
            let plan = CleanPlanner(policy: policy).plan(env.classify(reading).filter { filter.matches($0, now: reading.now) })
            guard plan.contains(where: \.goesAhead) else {
                return CleanSessionResult(run: CleanRun(results: plan.compactMap(\.skippedResult), interruption: nil,
                                                        dryRun: policy.dryRun),
                                          lockPath: nil, reading: reading)
            }
            try env.confirm(plan)
            env.installSignals()
            let lock = try env.lock()
            defer { lock.release() }
            let decide = env.decider(reading)
            let going = plan.filter(\.goesAhead).map(\.classification.object)
            let confirmed = Set(going.map(\.ref))
            let confirmedOnly = CleanDecision(holdersMayHaveChanged: decide.holdersMayHaveChanged) { fresh in
                let (c, changes) = decide.decide(fresh)
                return (confirmed.contains(fresh.ref) ? c : nil, changes)
            }
            let pass = env.pipeline(policy).run(going, decision: confirmedOnly)
            return CleanSessionResult(run: CleanRun(results: Self.results(of: plan, pass: pass), interruption: pass.interruption,
                                                    dryRun: policy.dryRun),
                                      lockPath: lock.path, reading: reading)
        }

        // --yes or --dry-run: plan from the cheap read (under the lock unless a dry run), then one pass.
        let lock = policy.dryRun ? nil : try env.lock()
        defer { lock?.release() }
        let reading = try env.read(false)
        let candidates = reading.objects.filter { filter.matches($0, now: reading.now) }
        let decide = env.decider(reading)
        let verdicts = filter.verdicts
        @Sendable func matching(_ c: Classification?) -> Classification? {
            guard let c else { return nil }
            return verdicts.isEmpty || verdicts.contains(c.verdict) ? c : nil
        }
        let wanted = CleanDecision(holdersMayHaveChanged: decide.holdersMayHaveChanged) { fresh in
            let (c, changes) = decide.decide(fresh)
            return (matching(c), changes)
        }
        let run = env.pipeline(policy).run(candidates, decision: wanted)
        return CleanSessionResult(run: run, lockPath: lock?.path, reading: reading)
    }

    /// The results of a plan in its order: the pass's result for each entry that went ahead, the plan's skip
    /// for the others.
    static func results(of plan: [PlanEntry], pass: CleanRun) -> [CleanResult] {
        var byRef: [IPCObjectRef: CleanResult] = [:]
        for r in pass.results { byRef[r.ref] = r }
        return plan.compactMap { e -> CleanResult? in
            e.goesAhead ? byRef[e.classification.object.ref] : e.skippedResult
        }
    }
}
