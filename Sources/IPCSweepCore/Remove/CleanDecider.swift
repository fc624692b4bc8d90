
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Decides one object of `clean` from its fresh read: the verdict with a process table that is complete for
/// the moment of that read.
///
/// The table was read once, at the plan. A process born after it could be a holder of an object read later:
/// it recorded its pid (a thread id, or a new process), or it started within the one-second slack or the
/// inheritance window of the object's last activity. So before each verdict: when the namespace's most recent
/// pid (/proc/loadavg, last field) moved since the table was completed, the new processes are read (the
/// catch-up pass: the pids handed out since, `ProcessProbe.processesBorn`; appended to the possible holders,
/// `PossibleHolderFinder.append(born:in:)`) and the scope resolved again; recorded pids the table does not know are resolved to their
/// thread group. For a POSIX object whose fresh read has no granted lease, the descriptors and mappings of every
/// process are read again (once per `refreshEvery` such objects of a slot, counting from the plan's read, after
/// anything known to have touched them, and at once when the plan's lease on it was granted, so that the plan did
/// not read its holders): they are then the direct evidence.
/// A granted lease is the kernel's answer to the same question, at the moment of the removal: no descriptor or
/// mapping of it exists anywhere, so /proc is not read again for it.
/// Then the table covers every process alive at the fresh read, as the plan's table covered every process
/// alive at the plan's read.
///
/// The workers of the pass share one decider. Its state (the table, the classifier and its cache, the wording) is
/// kept in a few slots, each behind its own lock (`Locked`: the compiler checks it): a worker decides on the first
/// slot nobody holds, so two workers never wait for each other's verdicts. Each slot is complete on its own: it
/// brings its own table up to date (the catch-up pass, recorded pids, POSIX holders) before each verdict, exactly
/// as the one shared state did, so a slot that was idle for a while catches up on its next object.
public final class CleanDecider: Sendable {
    private struct State {
        var reading: Inspector.Reading
        /// The classifier over the current table and scope (rebuilt after a catch-up or a holder refresh).
        var classifier: Classifier
        /// The possible-holder cache of the current classifier (rebuilt with it).
        var cache: Classifier.Cache
        /// Words the evidence (its texts repeat across objects, so one instance for the pass).
        let text: EvidenceText
        var lastPid: Int64
        var checkedPids: Set<Int32> = []
        /// Recorded pids that were neither in the table nor threads of it, and are alive: born after the plan.
        var bornAfterPlan: Set<Int32> = []
        /// POSIX objects without a granted lease decided since the descriptors and mappings were last read (the plan's
        /// table counts as a read of the objects whose lease it did not grant: it was completed with their holders,
        /// `Inspector.complete`); nil: read them before the next such verdict.
        var sinceHolderRead: Int? = 0
        /// Whether the descriptors and mappings were read for every POSIX object of the plan (after the plan's read:
        /// only for those, `planHandlesRead`).
        var everyHandleRead = false
        /// Processes added to the table since its possible holders were last indexed whole (appended to them, or,
        /// known only by their status, left out: `PossibleHolderFinder.append(born:in:)`).
        var bornSinceIndexed: Set<Int32> = []
    }

    /// One state per worker that may run at once (plus one): the first free one is taken for each object.
    private let slots: [Locked<State>]
    private let probe: ProcessProbe
    private let births: BirthWatch?
    /// The last pid allocated before the plan's table was completed (`Inspector.Reading.lastPid`).
    private let planLastPid: Int64?
    /// The POSIX objects of the plan, whose holders are read again.
    private let posixIdentities: Set<DeviceInode>
    /// Those whose holders the plan's table has: their lease did not answer for them (`leaseAnswersHolders`).
    private let planHandlesRead: Set<DeviceInode>
    /// Who held each POSIX object at the plan ("pid 812 (postgres) descriptor 5"): only a holder that is new since
    /// then is a change (an object in use at the plan stays "in use", not "changed").
    private let planHolders: [DeviceInode: Set<String>]
    /// POSIX objects decided on one read of every process's descriptors and mappings (a few hundred ms with
    /// 2,000 processes): a batch's removals take milliseconds, so the window a new opener can slip into stays
    /// that short, while a clean of 10,000 orphans reads /proc ten times, not 10,000. The first batch of each
    /// slot is decided on the plan's read (taken under the lock, after any confirmation, just before the pass):
    /// each slot reading /proc again at its first object cost a clean of 2,000 files three more reads.
    public static let refreshEvery = 1024

    /// A decider for a live system (`births` on) or over a fixed table (tests, procfs copies).
    public init(reading: Inspector.Reading, users: UserDirectory, watchBirths: Bool) {
        probe = Inspector.processProbe(reading.options, needs: reading.processNeeds)
        births = watchBirths ? BirthWatch(procRoot: reading.options.procRoot) : nil
        planLastPid = births == nil ? nil : reading.lastPid
        posixIdentities = Set(reading.posixObjects.map(\.identity))
        planHandlesRead = Set(reading.posixObjects.filter { !$0.leaseAnswersHolders }.map(\.identity))
        func seconds(_ d: Double) -> Int64 { Int64(min(max(0, d), 1e12).rounded(.up)) }
        recentWindow = Self.recentActivity + seconds(reading.options.inheritWindow) + seconds(reading.clock.largestForward?.step ?? 0)
        let classifier = reading.classifier
        var held: [DeviceInode: Set<String>] = [:]
        for o in reading.posixObjects {
            held[o.identity] = Set(classifier.posix.holdersNow(o) { classifier.reaches($0, device: o.identity.device) })
        }
        planHolders = held
        let start = planLastPid ?? 0
        slots = (0..<Self.slotCount).map { _ in
            Locked(State(reading: reading, classifier: classifier, cache: classifier.makeCache(),
                         text: EvidenceText(users: users), lastPid: start))
        }
    }

    /// The CPUs online plus one (at most 9): the pass's workers never outnumber the CPUs.
    static var slotCount: Int { min(8, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) + 1 }

    /// Runs `body` on the first slot no other worker holds (the last slot, waiting for it, when all are taken).
    private func withSlot<R: Sendable>(_ body: (inout State) -> R) -> R {
        for slot in slots.dropLast() {
            if let r = slot.withLockIfAvailable({ body(&$0) }) { return r }
        }
        return slots[slots.count - 1].withLock { body(&$0) }
    }

    /// Objects active this recently (seconds before the plan) can have a possible holder born after the table
    /// (the one-second slack, the default inheritance window): for them the last pid is checked before each verdict.
    static let recentActivity: Int64 = 60
    /// `recentActivity` widened by this run's inheritance window (`--inherit-window 10m`: a process born after the
    /// plan may have inherited an object active minutes before) and by the largest forward step of the wall clock
    /// measured for the run (a process's start then counts that much earlier: `ClockSteps.widening`).
    private let recentWindow: Int64

    /// The verdict of a freshly read object, with one possible-holder cache and one evidence wording per slot
    /// (they repeat across objects of one owner and second; a cache per object cost more than the
    /// classification itself).
    public func classify(_ fresh: IPCObject) -> Classification {
        withSlot { s in classify(fresh, &s) }
    }

    /// `classify` and then `changesSincePlan` of one fresh read, on one slot taken once.
    public func decide(_ fresh: IPCObject) -> (classification: Classification, changes: [String]) {
        withSlot { s in
            let c = classify(fresh, &s)
            return (c, changesSincePlan(fresh, s))
        }
    }

    private func classify(_ fresh: IPCObject, _ s: inout State) -> Classification {
        bringUpToDate(&s, for: fresh)
        var one = CollectionOfOne(s.classifier.classify(fresh, cache: s.cache))
        if probe.needs != nil { probe.fillUnits(&one, table: &s.reading.processes) }
        // Worded in place: a copy taken out first would share the classification's storage, and its first
        // change would copy every field.
        one[0].reasons = s.text.reasons(one[0].evidence)
        if let ns = s.reading.namespace { one[0].namespace = ns }
        return one[0]
    }

    /// What happened since the plan that the fresh read's own fields may not show: recorded pids of processes
    /// started after the plan (allocated after the plan's last pid, or alive now although the plan's table did
    /// not have them; whole-second times may not show their activity), and processes that hold a POSIX object
    /// now (the plan found none, or it would not be planned). Taken on the slot that just classified the read.
    private func changesSincePlan(_ fresh: IPCObject, _ s: State) -> [String] {
        if let o = fresh.posix {
            let before = planHolders[o.identity] ?? []
            return s.classifier.posix.holdersNow(o) { s.classifier.reaches($0, device: o.identity.device) }
                .filter { !before.contains($0) }.map { "now held by " + $0 }
        }
        var out: [String] = []
        fresh.forEachRecordedPid { r in
            guard r.pid > 0 else { return }
            let born = s.bornAfterPlan.contains(r.pid)
                || planLastPid.map { Int64(r.pid) > $0 && s.reading.processes.byPid[r.pid] == nil } == true
            if born {
                out.append("\(r.role.rawValue)\(r.semnum.map { " of semaphore \($0)" } ?? "") \(r.pid) is a process started after the plan")
            }
        }
        return out
    }

    /// Something outside may have opened or mapped the objects (a test hook ran): the next POSIX verdict reads
    /// every process's descriptors and mappings again.
    public func holdersMayHaveChanged() {
        for slot in slots { slot.withLock { $0.sinceHolderRead = nil } }
    }

    /// Reads the processes born since the table (when the last pid moved, for recently active objects) and
    /// resolves unknown recorded pids; for a POSIX object reads the descriptors and mappings again when due. The
    /// classifier is rebuilt only when the table gained something (our own worker threads move the last pid too).
    private func bringUpToDate(_ s: inout State, for fresh: IPCObject) {
        var changed = false
        // Whether a process the classifier has changed (then its possible holders are indexed again), and the
        // processes born since the classifier was made, or completed since (otherwise they are appended to it).
        var indexAgain = false
        var born: [Int32] = []
        // The classifier taken apart while the table gains the born processes: then the table is the only
        // reference to its records and gains them in place, and the possible holders are appended to in place.
        var parts: Classifier.Parts?
        if let births, fresh.lastActivity >= Int64(s.reading.now) - recentWindow,
           let now = births.lastPid(), now != s.lastPid {
            let new = probe.processesBorn(after: s.lastPid, through: now, in: s.reading.processes)
            s.lastPid = now
            if !new.isEmpty {
                parts = s.classifier.parts
                s.classifier = .empty
                born = s.reading.processes.insert(new).map(\.pid)
                changed = true
            }
        }
        var unknown: [Int32] = []
        fresh.forEachRecordedPid { r in
            if r.pid > 0 && s.reading.processes.byPid[r.pid] == nil && s.reading.processes.threadGroups[r.pid] == nil
                && !s.checkedPids.contains(r.pid) { unknown.append(r.pid) }
        }
        if !unknown.isEmpty && s.reading.options.isLive {
            let before = s.reading.processes.threadGroups.count
            probe.resolveThreads(in: &s.reading.processes, pids: unknown)
            s.checkedPids.formUnion(unknown)
            for pid in unknown where s.reading.processes.threadGroups[pid] == nil
                && access("\(s.reading.options.procRoot)/\(pid)", F_OK) == 0 {
                s.bornAfterPlan.insert(pid)  // a live process the plan's table did not have
            }
            changed = changed || s.reading.processes.threadGroups.count != before
        }
        var detail: Set<Int32> = []
        if let o = fresh.posix, s.reading.options.isLive, !(o.leaseAnswersHolders && births != nil) {
            // A granted lease already answered what the descriptors and mappings would. The births are still caught
            // up above; without the birth watch, the read below (which lists /proc again) is the only catch-up.
            if let n = s.sinceHolderRead, n < Self.refreshEvery, s.everyHandleRead || planHandlesRead.contains(o.identity) {
                s.sinceHolderRead = n + 1
            } else {
                probe.addProcessesStarted(since: &s.reading.processes)
                probe.addHandles(to: &s.reading.processes, sysvPids: [], posix: posixIdentities)
                s.sinceHolderRead = 1
                s.everyHandleRead = true
                changed = true
                indexAgain = true
                if probe.needs != nil { detail = ProcessNeeds.holderPids(in: s.reading.processes) }
            }
        }
        // A table read for the verdicts: the processes this object's evidence names are read whole, and when its
        // owner, group or mode changed since the plan, every process its new access lets reach it.
        if let needs = probe.needs {
            detail.formUnion(ProcessNeeds.recordedPids(of: CollectionOfOne(fresh), in: s.reading.processes))
            if !needs.covers(fresh.access) {
                let one = ProcessNeeds(accesses: CollectionOfOne(fresh.access))
                for p in s.reading.processes.byPid.values where !p.files.contains(.stat) && one.mayReach(p) { detail.insert(p.pid) }
            }
            if detail.contains(where: { s.reading.processes.byPid[$0]?.files.contains(.stat) == false }) || changed {
                let completed = probe.addDetail(to: &s.reading.processes, pids: detail)
                changed = changed || !completed.isEmpty
                // Completed: born since the classifier's table and known by its status only until now (not among its
                // possible holders yet), or a process the classifier has.
                let bornNow = Set(born)
                for p in completed where !bornNow.contains(p.pid) {
                    if s.bornSinceIndexed.contains(p.pid) { born.append(p.pid) } else { indexAgain = true }
                }
            }
        }
        if changed {
            // The unit invocations were looked up once, at the plan (a unit seen only now has none: not ruled out).
            let invocations = s.reading.scope?.unitInvocations ?? [:]
            s.reading.scope = s.reading.options.scope.resolve(in: s.reading.processes)
            s.reading.scope?.unitInvocations = invocations
            // Processes born during a long clean (a busy host starts hundreds a second) are appended to the
            // possible holders: a catch-up then costs the new processes, not the whole table again.
            var kept = parts ?? s.classifier.parts
            if !indexAgain, s.reading.scope == nil,
               kept.append(born: born.compactMap { s.reading.processes.byPid[$0] }, in: s.reading.processes) {
                s.classifier = Classifier(kept, over: s.reading.processes)
                s.bornSinceIndexed.formUnion(born)
            } else {
                s.classifier = s.reading.classifier
                s.bornSinceIndexed = []
            }
            s.cache = s.classifier.makeCache()
        }
    }
}

/// The most recently allocated pid of this pid namespace (the last field of /proc/loadavg): when it has not
/// moved, no process or thread was created since it was read. One pread(2) on a descriptor kept open.
final class BirthWatch: Sendable {
    private let fd: Int32

    init?(procRoot: String) {
        fd = open("\(procRoot)/loadavg", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
    }

    deinit { close(fd) }

    /// The last pid, or nil when it cannot be read.
    func lastPid() -> Int64? {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buf -> Int64? in
            guard let base = buf.baseAddress else { return nil }
            var n = 0
            repeat { n = pread(fd, base, 128, 0) } while n < 0 && errno == EINTR
            guard n > 0 else { return nil }
            // "0.00 0.01 0.05 1/123 4567\n": the number after the last space.
            var end = n
            while end > 0 && (base[end - 1] == 10 || base[end - 1] == 32) { end -= 1 }
            var start = end
            while start > 0 && base[start - 1] >= 48 && base[start - 1] <= 57 { start -= 1 }
            guard start < end else { return nil }
            var v: Int64 = 0
            for i in start..<end { v = v * 10 + Int64(base[i] - 48) }
            return v
        }
    }
}
