import Dispatch
import SystemPackage

/// How the pass judges a fresh read: the verdict, what changed since the plan that the read's own fields cannot
/// show, and a note that something outside may have touched the objects (a test hook ran).
public struct CleanDecision: Sendable {
    public var holdersMayHaveChanged: @Sendable () -> Void
    /// The verdict of a fresh read (nil when it no longer matches the filters: then it is left out of the report)
    /// and what changed since the plan, in one step, so that a decider behind a lock takes it once per object.
    public var decide: @Sendable (IPCObject) -> (classification: Classification?, changes: [String])

    /// A decision from a verdict and, separately, the changes since the plan.
    public init(changesSincePlan: @escaping @Sendable (IPCObject) -> [String] = { _ in [] },
                holdersMayHaveChanged: @escaping @Sendable () -> Void = {},
                classify: @escaping @Sendable (IPCObject) -> Classification?) {
        self.init(holdersMayHaveChanged: holdersMayHaveChanged) { (classify($0), changesSincePlan($0)) }
    }

    public init(holdersMayHaveChanged: @escaping @Sendable () -> Void,
                decide: @escaping @Sendable (IPCObject) -> (classification: Classification?, changes: [String])) {
        self.holdersMayHaveChanged = holdersMayHaveChanged
        self.decide = decide
    }
}

/// The one removal pipeline of every kind. For each planned object, start to end on one worker, never left
/// half-done: a pending SIGINT/SIGTERM stops the run between objects → ONE fresh read (the family backend's: IPC_STAT
/// and every semaphore; fstatat and a queue's state) that is both the re-check and the input of the verdict →
/// compare with the plan (any difference: "changed since planned") → decide again from the fresh read → the plan's
/// rule on that verdict (in-use, unknown, an unwanted suspect and a queue's unsaved messages stay) → save, when
/// asked, before anything irreversible → the removal call → one `CleanResult` with a typed status.
///
/// The objects are spread over the CPUs in chunks; results keep the plan's order. Everything the workers share is
/// `Sendable` (the backends, the decision's closures, the log), so the compiler checks it.
public struct CleanPipeline: Sendable {
    public var policy: CleanPolicy
    public var sysv: any RemovalBackend
    public var posix: any RemovalBackend
    /// Called with each removal and each failure (the syslog audit trail); from any worker.
    public var log: @Sendable (CleanResult) -> Void = { _ in }
    /// Polled before each object: a signal that should stop the run.
    public var pendingSignal: @Sendable () -> PendingSignal? = { nil }
    /// Called before each object's fresh read with its 1-based position among the objects attempted (debug
    /// builds' test hook; the run is serial when it is set).
    public var beforeRecheck: (@Sendable (Int, IPCObject) -> Void)?
    /// Objects per unit of work handed to a CPU.
    public var chunkSize = 64
    /// Writes the --save-to files (streamed, space-checked, crash-consistent), through the same seam.
    public var saver: ObjectSaver

    public init(policy: CleanPolicy, kernel: any KernelCalls = Kernel.live) {
        self.policy = policy
        sysv = SysVBackend(kernel: kernel)
        posix = PosixBackend(kernel: kernel)
        saver = ObjectSaver(syscalls: KernelSaveSyscalls(kernel: kernel))
    }

    func backend(_ o: IPCObject) -> any RemovalBackend { o.family == .posix ? posix : sysv }

    /// Runs the pass over the objects as the plan read them (sets possibly without semaphores).
    ///
    /// The results are written straight into the storage of the array returned (each worker at its objects'
    /// indexes), then the objects left out (nil) are closed up in place: one array of results, not a second one
    /// of optionals to copy from (tens of MB at 32,000 objects).
    public func run(_ planned: [IPCObject], decision: CleanDecision) -> CleanRun {
        var present = [Bool](repeating: false, count: planned.count)
        let state = PassState()
        let serial = beforeRecheck != nil || planned.count <= chunkSize
        let results = [CleanResult](unsafeUninitializedCapacity: planned.count) { storage, count in
            guard let base = storage.baseAddress else { return }
            present.withUnsafeMutableBufferPointer { flags in
                let out = UnsafeSendableBuffer(storage)
                let flags = UnsafeSendableBuffer(flags)
                let work: @Sendable (Int) -> Void = { chunk in
                    let end = serial ? planned.count : min(planned.count, (chunk + 1) * chunkSize)
                    for i in (serial ? 0 : chunk * chunkSize)..<end {
                        guard let r = one(planned[i], state: state, decision: decision) else { continue }
                        out.buffer.initializeElement(at: i, to: r)
                        flags.buffer[i] = true
                    }
                }
                if serial {
                    work(0)
                } else {
                    DispatchQueue.concurrentPerform(iterations: (planned.count + chunkSize - 1) / chunkSize, execute: work)
                }
            }
            // Close up the gaps: every initialized element moves down to the next free index, in order.
            var next = 0
            for i in present.indices where present[i] {
                if i != next { (base + next).moveInitialize(from: base + i, count: 1) }
                next += 1
            }
            count = next
        }
        return CleanRun(results: results, interruption: state.interruption, dryRun: policy.dryRun)
    }

    /// What the workers share: the first signal seen, and the count of objects attempted.
    final class PassState: Sendable {
        private struct Shared {
            var signal: PendingSignal?
            var attempted = 0
        }
        private let shared = Locked(Shared())

        var interruption: PendingSignal? { shared.withLock { $0.signal } }

        /// The signal that stops the run (the first one seen), polling for one.
        func stop(_ poll: () -> PendingSignal?) -> PendingSignal? {
            shared.withLock { s in
                if s.signal == nil { s.signal = poll() }
                return s.signal
            }
        }

        func nextAttempt() -> Int {
            shared.withLock { s in
                s.attempted += 1
                return s.attempted
            }
        }
    }

    /// One object, start to end.
    func one(_ planned: IPCObject, state: PassState, decision: CleanDecision) -> CleanResult? {
        if let s = state.stop(pendingSignal) {
            return CleanResult(classification: undecided(planned, "clean was stopped before reading it"), status: .notAttempted,
                               reason: "not attempted: clean was stopped by \(s.description) before this object")
        }
        if let hook = beforeRecheck {
            hook(state.nextAttempt(), planned)
            decision.holdersMayHaveChanged()
        }
        let backend = backend(planned)
        let inHand: any CandidateInHand
        switch backend.readFresh(planned) {
        case .read(let c): inHand = c
        case .changed(let d): return changed(undecided(planned, "it changed since planned"), d)
        case .failed(let e, let step):
            return failure(undecided(planned, "it could not be read again: \(e)"), e, during: step, backend)
        }
        defer { inHand.release() }
        let fresh = inHand.fresh
        var diffs = Recheck.differences(planned: planned, current: fresh)
        if !diffs.isEmpty { return changed(undecided(planned, "it changed since planned"), diffs) }
        let decided: Classification?
        // The changes after the decision, which learns which pids and holders are new.
        (decided, diffs) = decision.decide(fresh)
        if !diffs.isEmpty { return changed(undecided(planned, "it changed since planned"), diffs) }
        guard let c = decided else { return nil }
        let entry = CleanPlanner(policy: policy).entry(c)
        if let skipped = entry.skippedResult { return skipped }
        if policy.dryRun {
            return CleanResult(classification: c, status: .wouldRemove, reason: plannedReason(c, backend))
        }
        let r = remove(c, inHand, backend)
        if r.status == .removed || r.status == .failed { log(r) }
        return r
    }

    /// Save when asked, then the removal call, on the object just read and decided (`c.object` is the fresh read).
    private func remove(_ c: Classification, _ inHand: any CandidateInHand, _ backend: any RemovalBackend) -> CleanResult {
        var saved: (path: String, detail: String)?
        var extra = ""
        if let dir = policy.saveTo, backend.saves(c.object) {
            switch inHand.save(to: dir, with: saver) {
            case .saved(let path, let detail): saved = (path, detail)
            case .changed(let d, let stage): return changed(c, d, stage: stage)
            case .failed(let e, let step): return failure(c, e, during: step, backend)
            case .notWritten(let why):
                let hint = c.object.kind == .msg ? " (fix --save-to, or use --discard-messages to drop its messages)"
                    : c.object.family == .posix ? " (fix --save-to)" : ""
                return CleanResult(classification: c, status: .failed,
                                   reason: "saving \(c.object.displayName) failed: \(why); not removed\(hint)")
            }
        } else if let q = c.object.queuedMessages {
            let n = q.count.map { "\($0) message\($0 == 1 ? "" : "s")" } ?? "its messages"
            extra = "; discarded \(n) (\(q.bytes) bytes)"
        }
        let step = inHand.remove()
        switch step {
        case .removed, .removedWithNote:
            var reason = verdictPhrase(c, after: "removed (", then: ")", room: extra.utf8.count)
            if let saved { reason += "; saved to \(saved.path); \(saved.detail) saved" }
            if case .removedWithNote(let note) = step { reason += "; \(note)" }
            if !extra.isEmpty { reason += extra }
            return CleanResult(classification: c, status: .removed, reason: reason, savedTo: saved?.path)
        case .changed(let d):
            return changed(c, d)
        case .openedDuringRemoval(let what):
            let kept = saved.map { "; its save file \($0.path) is kept" } ?? ""
            return CleanResult(classification: c, status: .openedDuringRemoval,
                               reason: "opened during removal, restored: \(what)\(kept); run clean again to re-decide",
                               changes: ["opened during removal"], savedTo: saved?.path)
        case .failed(let e, let step, let note):
            var r = failure(c, e, during: step, backend)
            if let note { r.reason += "; \(note)" } else if let saved { r.reason += "; its save file \(saved.path) is kept" }
            r.savedTo = saved?.path
            return r
        }
    }

    /// The classification reported for an object that was not (or could not be) decided.
    private func undecided(_ o: IPCObject, _ why: String) -> Classification {
        Classification(object: o, verdict: .unknown, reasons: ["not decided: \(why)"])
    }

    /// `before`, the verdict and its first reason, `then`, in one string sized once (`room` bytes more to come),
    /// copied byte by byte (`String(utf8Pieces:)`): every removal's result says it, and appending piece by piece
    /// cost more than the removal's own work.
    private func verdictPhrase(_ c: Classification, after before: String, then: String, room: Int = 0) -> String {
        let first = c.reasons.first
        return String(utf8Pieces: [before, c.verdict.rawValue, first == nil ? "" : ": ", first ?? "", then], room: room)
    }

    private func plannedReason(_ c: Classification, _ backend: any RemovalBackend) -> String {
        var s = verdictPhrase(c, after: "would remove (", then: ")")
        let n = c.object.queuedMessages.map { q in q.count.map { "\($0) message\($0 == 1 ? "" : "s")" } ?? "its messages" }
        if let dir = policy.saveTo, backend.saves(c.object) {
            let what = n.map { "save \($0)" } ?? (c.object.kind == .shm ? "save its bytes" : "save it")
            s += "; would first \(what) to \(dir)/\(backend.saveFileName(c.object))"
        } else if let n {
            s += "; \(n == "its messages" ? n : "its \(n)") would be discarded (--discard-messages)"
        }
        return s
    }

    /// The result for an errno of a step: already gone, no permission (the family's words), or another failure.
    private func failure(_ c: Classification, _ e: Errno, during step: String, _ backend: any RemovalBackend) -> CleanResult {
        let o = c.object
        if backend.meansGone(e) {
            return CleanResult(classification: c, status: .alreadyGone,
                               reason: "already gone: \(o.displayName) no longer exists (removed by someone else, e.g. another clean)")
        }
        if e.meansNoPermission {
            return CleanResult(classification: c, status: .failed, reason: backend.permissionText(e, during: step, o))
        }
        return CleanResult(classification: c, status: .failed, reason: "\(step) of \(o.displayName) failed: \(e); it was left in place")
    }

    private func changed(_ c: Classification, _ diffs: [String], stage: String = "") -> CleanResult {
        CleanResult(classification: c, status: .changed,
                    reason: "changed since planned\(stage): \(diffs.joined(separator: "; ")); left in place (run clean again to re-decide)",
                    changes: diffs)
    }
}
