/// What `clean` was asked for: the options, already parsed.
public struct CleanRequest: Sendable {
    public var filter: ObjectFilter
    /// The POSIX objects to clean (no kinds: none).
    public var posixFilter: PosixFilter
    public var policy: CleanPolicy
    /// Ask before removing (no `--yes`, not a dry run).
    public var confirm: Bool

    public init(filter: ObjectFilter = ObjectFilter(), posixFilter: PosixFilter = PosixFilter(kinds: []),
                policy: CleanPolicy = CleanPolicy(), confirm: Bool = false) {
        self.filter = filter
        self.posixFilter = posixFilter
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
    /// Makes the decider of the pass over a reading.
    public var decider: (Inspector.Reading) -> CleanDecision
    /// Creates and checks the `--save-to` directory.
    public var prepareSaveDirectory: (String) throws -> Void
    /// Takes the lock that serialises cleaners; returns its path and how to release it.
    public var lock: () throws -> (path: String, release: () -> Void)
    /// Installs the SIGINT/SIGTERM recorder.
    public var installSignals: () -> Void
    /// Shows the objects that will go (System V, POSIX) and asks; throws when the answer is not yes (or there is
    /// no terminal).
    public var confirm: ([PlanEntry], [PosixPlanEntry]) throws -> Void
    /// Makes the remover of the pass.
    public var remover: (CleanPolicy) -> Remover
    /// Classifies the POSIX objects of a reading.
    public var classifyPosix: (Inspector.Reading) -> [PosixClassification]
    /// Makes the POSIX remover of the pass (run after the System V one: fstatat re-check, holders re-read, unlinkat).
    public var posixRemover: (CleanPolicy) -> PosixRemover

    public init(read: @escaping (Bool) throws -> Inspector.Reading,
                classify: @escaping (Inspector.Reading) -> [Classification],
                decider: @escaping (Inspector.Reading) -> CleanDecision,
                prepareSaveDirectory: @escaping (String) throws -> Void,
                lock: @escaping () throws -> (path: String, release: () -> Void),
                installSignals: @escaping () -> Void, confirm: @escaping ([PlanEntry], [PosixPlanEntry]) throws -> Void,
                remover: @escaping (CleanPolicy) -> Remover,
                classifyPosix: @escaping (Inspector.Reading) -> [PosixClassification] = { _ in [] },
                posixRemover: @escaping (CleanPolicy) -> PosixRemover = { PosixRemover(policy: $0) }) {
        self.read = read
        self.classify = classify
        self.decider = decider
        self.prepareSaveDirectory = prepareSaveDirectory
        self.lock = lock
        self.installSignals = installSignals
        self.confirm = confirm
        self.remover = remover
        self.classifyPosix = classifyPosix
        self.posixRemover = posixRemover
    }
}

/// How the pass judges a fresh read: what changed since the plan that the stat cannot show, and the verdict.
public struct CleanDecision {
    public var changesSincePlan: (IPCObject) -> [String]
    public var classify: (IPCObject) -> Classification

    public init(changesSincePlan: @escaping (IPCObject) -> [String] = { _ in [] },
                classify: @escaping (IPCObject) -> Classification) {
        self.changesSincePlan = changesSincePlan
        self.classify = classify
    }
}

/// What a `clean` session did: the run, the lock it held, and what it read.
public struct CleanSessionResult {
    public var run: CleanRun
    public var lockPath: String?
    public var reading: Inspector.Reading
}

/// The `clean` sequence: lock, plan, confirm, remove (the report is the caller's, from the result).
///
/// Ordering rules (each a unit test in `CleanSessionTests`):
/// - `--yes`: signals are recorded and the save directory checked before the lock; the plan is read under the
///   lock, so two cleaners never work from the same plan; each object is then read once, whole, decided and
///   removed (`Remover`); the lock is released after the last removal.
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
            let matched = env.classify(reading).filter { filter.matches($0, now: reading.now) }
            let plan = CleanPlanner(policy: policy).plan(matched)
            let posixRemover = env.posixRemover(policy)
            let posixPlan = posixRemover.plan(posixMatches(reading))
            guard plan.contains(where: \.goesAhead) || posixPlan.contains(where: \.goesAhead) else {
                // Nothing goes ahead: the POSIX pass only reports the entries that are not eligible.
                return CleanSessionResult(run: CleanRun(results: Remover.results(of: plan, pass: CleanRun(results: [], interruption: nil, dryRun: policy.dryRun)),
                                                        interruption: nil, dryRun: policy.dryRun,
                                                        posixResults: posixRemover.run(posixPlan).results),
                                          lockPath: nil, reading: reading)
            }
            try env.confirm(plan, posixPlan)
            env.installSignals()
            let lock = try env.lock()
            defer { lock.release() }
            let decide = env.decider(reading)
            let confirmed = Set(plan.filter(\.goesAhead).map(\.classification.object.ref))
            let pass = env.remover(policy).run(plan.filter(\.goesAhead).map(\.classification.object),
                                               changes: decide.changesSincePlan) { fresh in
                confirmed.contains(fresh.ref) ? decide.classify(fresh) : nil
            }
            let posixPass = posixRemover.run(posixPlan, interruption: pass.interruption)
            return CleanSessionResult(run: CleanRun(results: Remover.results(of: plan, pass: pass),
                                                    interruption: posixPass.interruption, dryRun: policy.dryRun,
                                                    posixResults: posixPass.results),
                                      lockPath: lock.path, reading: reading)
        }

        // --yes or --dry-run: plan from the cheap read (under the lock unless a dry run), then one pass.
        let lock = policy.dryRun ? nil : try env.lock()
        defer { lock?.release() }
        let reading = try env.read(false)
        let candidates = reading.snapshot.objects.filter { filter.matches($0, now: reading.now) }
        let decide = env.decider(reading)
        let verdicts = filter.verdicts
        let posixRemover = env.posixRemover(policy)
        let posixPlan = posixRemover.plan(posixMatches(reading))
        var run = env.remover(policy).run(candidates, changes: decide.changesSincePlan) { fresh in
            let c = decide.classify(fresh)
            return verdicts.isEmpty || verdicts.contains(c.verdict) ? c : nil
        }
        // POSIX objects after the System V ones, each re-checked by the POSIX remover before its unlinkat.
        let posixPass = posixRemover.run(posixPlan, interruption: run.interruption)
        run.posixResults = posixPass.results
        run.interruption = posixPass.interruption
        return CleanSessionResult(run: run, lockPath: lock?.path, reading: reading)
    }

    /// The POSIX objects of a reading that the request's POSIX filter selects, classified.
    private func posixMatches(_ reading: Inspector.Reading) -> [PosixClassification] {
        guard !request.posixFilter.kinds.isEmpty else { return [] }
        return environment.classifyPosix(reading).filter { request.posixFilter.matches($0, now: reading.now) }
    }
}
