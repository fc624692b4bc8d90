import Dispatch
import SystemPackage

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

/// Everything one `clean` run did.
public struct CleanRun: Sendable, Equatable {
    /// One result per planned-or-matched object, in plan order (including the ones not attempted after a signal).
    public var results: [CleanResult]
    /// The signal that stopped the run, if one did.
    public var interruption: PendingSignal?
    public var dryRun: Bool
    /// The POSIX objects' results, after the System V ones.
    public var posixResults: [PosixCleanResult]

    public init(results: [CleanResult], interruption: PendingSignal?, dryRun: Bool, posixResults: [PosixCleanResult] = []) {
        self.results = results
        self.interruption = interruption
        self.dryRun = dryRun
        self.posixResults = posixResults
    }

    /// The facts the counts need, for every result of both families.
    private var facts: [(outcome: CleanOutcome, alreadyGone: Bool, changed: Bool, planned: Bool, reason: String, problem: Bool)] {
        results.map { ($0.outcome, $0.alreadyGone, !$0.changes.isEmpty, $0.planned, $0.reason, $0.isProblem) }
            + posixResults.map { ($0.outcome, $0.alreadyGone, !$0.changes.isEmpty, $0.planned, $0.reason, $0.isProblem) }
    }

    /// Results of both families.
    public var count: Int { results.count + posixResults.count }

    /// Counts for the summary.
    public struct Counts: Sendable, Equatable {
        public var removed = 0, planned = 0, skipped = 0, failed = 0
        /// Skipped because already gone (not a problem).
        public var alreadyGone = 0
        /// Skipped because changed since planned.
        public var changed = 0
        /// Matched the filters but never eligible (in-use, unknown, suspect without --include-suspect).
        public var notEligible = 0
        /// Planned but not attempted because a signal stopped the run.
        public var notAttempted = 0
    }

    /// Outcomes counted for the summary line and the JSON `summary`.
    public var counts: Counts {
        var c = Counts()
        for r in facts {
            switch r.outcome {
            case .removed: c.removed += 1
            case .planned: c.planned += 1
            case .skipped: c.skipped += 1
            case .failed: c.failed += 1
            }
            if r.alreadyGone { c.alreadyGone += 1 }
            if r.changed { c.changed += 1 }
            if !r.planned { c.notEligible += 1 }
            if r.reason.hasPrefix(Remover.notAttemptedPrefix) { c.notAttempted += 1 }
        }
        return c
    }

    /// Whether any object was planned for removal (eligible), whatever became of it.
    public var hadWork: Bool { results.contains { $0.planned } || posixResults.contains { $0.planned } }

    /// The exit status the spec defines: 128+signo after a signal; 4 when anything planned was skipped
    /// (other than "already gone") or failed; 0 otherwise (including nothing to do).
    public var exitStatus: Int32 {
        if let s = interruption { return 128 + s.signo }
        return facts.contains { $0.problem } ? 4 : 0
    }
}

/// Carries out `clean` in one pass over the planned objects: for each, ONE fresh full read (IPC_STAT by id, and
/// for a set every semaphore: GETALL, GETPID, GETNCNT, GETZCNT) that is both the re-check and the input of the
/// verdict, then at once the save (when asked) and IPC_RMID.
///
/// The rules (see the manual's CLEAN section): the fresh read must show the same object as planned (identity,
/// operation and change times, and whatever else the plan read) or it is skipped as "changed since planned";
/// the verdict is worked out from the fresh read (so no object is removed on a read older than its own
/// re-check); EINVAL/EIDRM mean "already gone"; EPERM/EACCES are per-object failures; one failure never stops
/// the rest; a pending SIGINT/SIGTERM stops the run between objects: each worker finishes the object in hand.
/// The objects are spread over the CPUs (each object is read, decided and removed by one worker).
public final class Remover: @unchecked Sendable {
    static let notAttemptedPrefix = "not attempted: "

    public let kernel: any RemovalKernel
    public let policy: CleanPolicy
    /// Called with each removal and each failure (the syslog audit trail); from any worker.
    public var log: (CleanResult) -> Void = { _ in }
    /// Polled before each object: a signal that should stop the run.
    public var pendingSignal: () -> PendingSignal? = { nil }
    /// Called before each object's fresh read with its 1-based position among the objects attempted (test
    /// hook; the run is serial when it is set).
    public var beforeRecheck: ((Int, IPCObjectRef) -> Void)?
    /// Objects per unit of work handed to a CPU.
    public var chunkSize = 64
    /// Writes the --save-to files (streamed, space-checked, crash-consistent).
    public var saver = ObjectSaver()

    public init(kernel: any RemovalKernel, policy: CleanPolicy) {
        self.kernel = kernel
        self.policy = policy
    }

    /// Runs the pass. `planned` are the objects as the plan read them (sets possibly without semaphores);
    /// `decide` classifies a fresh read, or returns nil when the object no longer matches the filters (it is
    /// then left out of the report). Results keep the plan's order.
    public func run(_ planned: [IPCObject], changes: @escaping (IPCObject) -> [String] = { _ in [] },
                    decide: @escaping (IPCObject) -> Classification?) -> CleanRun {
        var slots = [CleanResult?](repeating: nil, count: planned.count)
        let state = PassState()
        let planner = CleanPlanner(policy: policy)
        let serial = beforeRecheck != nil || planned.count <= chunkSize || kernel.serialOnly
        let decide = UncheckedSendable(decide)
        let changes = UncheckedSendable(changes)
        slots.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendableBuffer(out)
            let work: @Sendable (Int) -> Void = { [self] chunk in
                let end = serial ? planned.count : min(planned.count, (chunk + 1) * chunkSize)
                for i in (serial ? 0 : chunk * chunkSize)..<end {
                    out.buffer[i] = one(planned[i], planner: planner, state: state, changes: changes.value, decide: decide.value)
                }
            }
            if serial {
                work(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: (planned.count + chunkSize - 1) / chunkSize, execute: work)
            }
        }
        return CleanRun(results: slots.compactMap { $0 }, interruption: state.interruption, dryRun: policy.dryRun)
    }

    /// The old-style entry point over a finished plan (tests, and `clean` after a confirmation): every entry that
    /// goes ahead is read fresh and must keep its planned verdict's eligibility; the others are reported as planned.
    public func run(_ plan: [PlanEntry]) -> CleanRun {
        var verdicts: [IPCObjectRef: Classification] = [:]
        for e in plan where e.goesAhead { verdicts[e.classification.object.ref] = e.classification }
        let ahead = plan.filter(\.goesAhead).map(\.classification.object)
        let pass = run(ahead) { fresh in
            verdicts[fresh.ref].map { Classification(object: fresh, verdict: $0.verdict, reasons: $0.reasons,
                                                     holders: $0.holders, possibleHolders: $0.possibleHolders) }
        }
        return CleanRun(results: Self.results(of: plan, pass: pass), interruption: pass.interruption, dryRun: policy.dryRun)
    }

    /// The results of a plan in its order: the pass's result for each entry that went ahead, the plan's skip
    /// reason for the others.
    static func results(of plan: [PlanEntry], pass: CleanRun) -> [CleanResult] {
        var byRef: [IPCObjectRef: CleanResult] = [:]
        for r in pass.results { byRef[r.ref] = r }
        return plan.compactMap { e -> CleanResult? in
            if e.goesAhead { return byRef[e.classification.object.ref] }
            return CleanResult(classification: e.classification, outcome: .skipped, reason: e.skipReason ?? "not planned",
                               planned: e.planned)
        }
    }

    /// What the workers share: the first signal seen, and the count of objects attempted.
    private final class PassState: @unchecked Sendable {
        private let lock = NSLockLite()
        private var signal: PendingSignal?
        private var attempted = 0

        var interruption: PendingSignal? {
            lock.lock()
            defer { lock.unlock() }
            return signal
        }

        /// The signal that stops the run (the first one seen), polling for one.
        func stop(_ poll: () -> PendingSignal?) -> PendingSignal? {
            lock.lock()
            defer { lock.unlock() }
            if signal == nil { signal = poll() }
            return signal
        }

        func nextAttempt() -> Int {
            lock.lock()
            defer { lock.unlock() }
            attempted += 1
            return attempted
        }
    }

    /// One object, start to end: never left half-done.
    private func one(_ planned: IPCObject, planner: CleanPlanner, state: PassState, changes: (IPCObject) -> [String],
                     decide: (IPCObject) -> Classification?) -> CleanResult? {
        let ref = planned.ref
        if let s = state.stop(pendingSignal) {
            return CleanResult(classification: unread(planned, "clean was stopped before reading it"), outcome: .skipped,
                               reason: "\(Self.notAttemptedPrefix)clean was stopped by \(s.description) before this object",
                               planned: true)
        }
        if let hook = beforeRecheck { hook(state.nextAttempt(), ref) }
        let fresh: IPCObject
        switch kernel.stat(ref) {
        case .success(let o): fresh = o
        case .failure(let e): return errnoResult(unread(planned, "it could not be read again: \(e)"), e, during: "IPC_STAT")
        }
        var diffs = Recheck.differences(planned: planned, current: fresh)
        if !diffs.isEmpty { return changed(unread(planned, "it changed since planned"), diffs) }
        let decision = decide(fresh)
        diffs = changes(fresh)  // after the decision, which learns which recorded pids are new
        if !diffs.isEmpty { return changed(unread(planned, "it changed since planned"), diffs) }
        guard let c = decision else { return nil }
        let entry = planner.entry(c)
        guard entry.goesAhead else {
            return CleanResult(classification: c, outcome: .skipped, reason: entry.skipReason ?? "not planned",
                               planned: entry.planned)
        }
        if policy.dryRun {
            return CleanResult(classification: c, outcome: .planned, reason: plannedReason(c), planned: true)
        }
        let r = remove(c)
        if r.outcome == .removed || r.outcome == .failed { log(r) }
        return r
    }

    /// The classification reported for an object that was not (or could not be) decided.
    private func unread(_ o: IPCObject, _ why: String) -> Classification {
        Classification(object: o, verdict: .unknown, reasons: ["not decided: \(why)"])
    }

    private func verdictPhrase(_ c: Classification) -> String {
        c.verdict.rawValue + (c.reasons.first.map { ": " + $0 } ?? "")
    }

    private func plannedReason(_ c: Classification) -> String {
        var s = "would remove (\(verdictPhrase(c)))"
        if let dir = policy.saveTo {
            switch c.object {
            case .msg(let q) where q.qnum > 0:
                s += "; would first save \(q.qnum) message\(q.qnum == 1 ? "" : "s") to \(dir)/\(SaveFile.fileName(for: c.object))"
            case .shm:
                s += "; would first save its bytes to \(dir)/\(SaveFile.fileName(for: c.object))"
            default: break
            }
        } else if case .msg(let q) = c.object, q.qnum > 0 {
            s += "; its \(q.qnum) message\(q.qnum == 1 ? "" : "s") would be discarded (--discard-messages)"
        }
        return s
    }

    private func name(_ ref: IPCObjectRef, _ key: Int32) -> String {
        "\(ref.kind.noun) id \(ref.id) (key \(IPCTextFormat.hexKey(key)))"
    }

    /// The outcome for an errno from a stat or IPC_RMID.
    private func errnoResult(_ c: Classification, _ e: Errno, during what: String) -> CleanResult {
        let ref = c.object.ref
        let p = c.object.perm
        if e.meansGone {
            return CleanResult(classification: c, outcome: .skipped,
                               reason: "already gone: \(name(ref, p.key)) no longer exists (removed by someone else, e.g. another clean)",
                               planned: true, alreadyGone: true)
        }
        if e.meansNoPermission {
            let who = p.uid == p.cuid ? "uid \(p.uid)" : "uid \(p.uid) or \(p.cuid)"
            let text = what == "IPC_RMID"
                ? "not the owner or creator of id \(ref.id), and not privileged (\(e)): removing \(name(ref, p.key)) needs \(who) or CAP_SYS_ADMIN; run clean as that user or as root"
                : "cannot \(what) id \(ref.id) (\(e)): re-checking \(name(ref, p.key)) needs read permission; run clean as root"
            return CleanResult(classification: c, outcome: .failed, reason: text, planned: true)
        }
        return CleanResult(classification: c, outcome: .failed,
                           reason: "\(what) of \(name(ref, p.key)) failed: \(e); it was left in place", planned: true)
    }

    private func changed(_ c: Classification, _ diffs: [String], stage: String = "") -> CleanResult {
        CleanResult(classification: c, outcome: .skipped,
                    reason: "changed since planned\(stage): \(diffs.joined(separator: "; ")); left in place (run clean again to re-decide)",
                    planned: true, changes: diffs)
    }

    private func removed(_ c: Classification, saved: String? = nil, extra: String = "") -> CleanResult {
        var reason = "removed (\(verdictPhrase(c)))"
        if let saved { reason += "; saved to \(saved)" }
        reason += extra
        return CleanResult(classification: c, outcome: .removed, reason: reason, planned: true, savedTo: saved)
    }

    /// Save when asked, then IPC_RMID, on the object just read and decided (`c.object` is the fresh read).
    func remove(_ c: Classification) -> CleanResult {
        switch c.object {
        case .msg(let q) where q.qnum > 0:
            if policy.saveTo != nil { return saveQueueAndRemove(c, current: c.object, queue: q) }
            return rmid(c, extra: "; discarded \(q.qnum) message\(q.qnum == 1 ? "" : "s") (\(q.cbytes) bytes)")
        case .shm(let s) where policy.saveTo != nil:
            return saveSegmentAndRemove(c, segment: s)
        default:
            return rmid(c)
        }
    }

    private func rmid(_ c: Classification, saved: String? = nil, extra: String = "") -> CleanResult {
        switch kernel.remove(c.object.ref) {
        case .success: return removed(c, saved: saved, extra: extra)
        case .failure(let e): return errnoResult(c, e, during: "IPC_RMID")
        }
    }

    private func saveFailed(_ c: Classification, _ why: String) -> CleanResult {
        CleanResult(classification: c, outcome: .failed,
                    reason: "saving \(name(c.object.ref, c.object.perm.key)) failed: \(why); not removed"
                        + (c.object.kind == .msg ? " (fix --save-to, or use --discard-messages to drop its messages)" : ""),
                    planned: true)
    }

    /// MSG_COPY every message, write the save file, re-check that nothing moved meanwhile, IPC_RMID.
    private func saveQueueAndRemove(_ c: Classification, current: IPCObject, queue q: MessageQueue) -> CleanResult {
        let bufferSize = Int(max(q.qbytes ?? 0, q.cbytes, 8192))
        let messages: [QueuedMessage]
        switch kernel.copyMessages(queue: q.id, count: Int(q.qnum), bufferSize: bufferSize) {
        case .success(let m): messages = m
        case .failure(let e) where e == .noFunction || e == .notSupported:
            return saveFailed(c, "this kernel cannot copy messages without receiving them (msgrcv MSG_COPY: \(e); needs CONFIG_CHECKPOINT_RESTORE)")
        case .failure(let e) where e.meansGone:
            return errnoResult(c, e, during: "msgrcv(MSG_COPY)")
        case .failure(let e) where e == .noMessage:
            return changed(c, ["fewer messages than planned while copying them (msgrcv MSG_COPY: \(e))"])
        case .failure(let e):
            return saveFailed(c, "msgrcv(MSG_COPY) of queue id \(q.id): \(e)")
        }
        // Nothing may have moved while copying: re-checked before the save is committed and the queue removed.
        switch saver.saveMessages(messages, directory: policy.saveTo ?? ".", name: SaveFile.fileName(for: current),
                                  header: SaveFile.header(for: current, savedAt: kernel.now()),
                                  label: "saving \(name(current.ref, q.perm.key))", beforeCommit: { recheckAgain(c, against: current) }) {
        case .stopped(let problem): return problem
        case .failed(let why): return saveFailed(c, why.description)
        case .saved(let file):
            return rmid(c, saved: file.path, extra: "; \(messages.count) message\(messages.count == 1 ? "" : "s") (\(q.cbytes) bytes) saved")
        }
    }

    /// A second stat that must equal `expected` exactly; a result when it does not (or when the id is gone).
    private func recheckAgain(_ c: Classification, against expected: IPCObject, own: OwnAttach? = nil,
                              stage: String = " (while saving)") -> CleanResult? {
        switch kernel.stat(c.object.ref) {
        case .success(let now):
            let d = Recheck.differences(planned: expected, current: now, ownAttach: own)
            return d.isEmpty ? nil : changed(c, d, stage: stage)
        case .failure(let e):
            return errnoResult(c, e, during: "IPC_STAT")
        }
    }

    /// Attach read-only; check that only our attach changed it; write its bytes; check again that nobody else
    /// attached or detached meanwhile; IPC_RMID while still attached (the kernel frees it at our shmdt).
    private func saveSegmentAndRemove(_ c: Classification, segment s: SharedMemorySegment) -> CleanResult {
        let since = kernel.now()
        let outcome = kernel.withReadOnlyAttachment(segment: s.id, size: Int(s.size)) { bytes -> CleanResult in
            // 1. Only our own attach may have changed it: lpid is us, nattch one more, atime now, dtime unchanged.
            let afterAttach: IPCObject
            switch kernel.stat(c.object.ref) {
            case .success(let o): afterAttach = o
            case .failure(let e): return errnoResult(c, e, during: "IPC_STAT")
            }
            let d = Recheck.differences(planned: c.object, current: afterAttach,
                                        ownAttach: OwnAttach(pid: kernel.pid, attached: true, since: since))
            if !d.isEmpty { return changed(c, d, stage: " (after attaching it read-only to save it)") }
            // 2. Its data through its shmem file (never its holes), streamed; anyone else attaching or detaching
            // while we copied changes lpid, nattch or dtime: re-checked before the save is committed.
            let data: SegmentData
            switch kernel.segmentData(s, mapping: bytes) {
            case .success(let d): data = d
            case .failure(let why): return saveFailed(c, why.description)
            }
            switch saver.saveData(data.source, directory: policy.saveTo ?? ".", name: SaveFile.fileName(for: c.object),
                                  header: SaveFile.header(for: c.object, savedAt: kernel.now()), label: "saving \(name(c.object.ref, s.perm.key))",
                                  beforeCommit: { recheckAgain(c, against: afterAttach) }) {
            case .stopped(let problem): return problem
            case .failed(.changed(let why)): return changed(c, [why], stage: " (while saving)")
            case .failed(let why): return saveFailed(c, why.description)
            case .saved(let file): return rmid(c, saved: file.path, extra: "; \(SaveSpace.dataText(file)) saved")
            }
        }
        switch outcome {
        case .success(let r): return r
        case .failure(let e) where e.meansGone || e.meansNoPermission: return errnoResult(c, e, during: "shmat")
        case .failure(let e): return saveFailed(c, "shmat(SHM_RDONLY) of segment id \(s.id): \(e)")
        }
    }
}

/// A value handed to concurrent workers that the caller guarantees is safe to share (the decider locks itself).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
