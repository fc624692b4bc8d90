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
/// catch-up pass) and the scope resolved again; recorded pids the table does not know are resolved to their
/// thread group. Then the table covers every process alive at the fresh read, as the plan's table covered
/// every process alive at the plan's read.
public final class CleanDecider: @unchecked Sendable {
    /// The classifier over the current table and scope (rebuilt after a catch-up).
    private var classifier: Classifier
    private var reading: Inspector.Reading
    private let probe: ProcessProbe
    private let users: UserDirectory
    private let births: BirthWatch?
    private var lastPid: Int64
    /// The last pid allocated before the plan's table was completed (`Inspector.Reading.lastPid`).
    private let planLastPid: Int64?
    private var checkedPids: Set<Int32> = []
    private let lock = NSLockLite()

    /// A decider for a live system (`births` on) or over a fixed table (tests, procfs copies).
    public init(reading: Inspector.Reading, users: UserDirectory, watchBirths: Bool) {
        self.reading = reading
        self.users = users
        probe = ProcessProbe(procRoot: reading.options.procRoot, details: reading.options.scope.exes.isEmpty ? [] : [.exe])
        births = watchBirths ? BirthWatch(procRoot: reading.options.procRoot) : nil
        planLastPid = births == nil ? nil : reading.lastPid
        lastPid = planLastPid ?? 0
        classifier = reading.classifier
        cache = classifier.finder.makeCache()
        text = EvidenceText(users: users)
    }

    /// Recorded pids of a fresh read that belong to processes started after the plan (allocated after the
    /// plan's last pid, or alive now although the plan's table did not have them): activity since the plan that
    /// the times, in whole seconds, may not show. Call after `classify` of the same read.
    public func changesSincePlan(_ fresh: IPCObject) -> [String] {
        lock.lock()
        defer { lock.unlock() }
        var out: [String] = []
        fresh.forEachRecordedPid { r in
            guard r.pid > 0 else { return }
            let born = bornAfterPlan.contains(r.pid) || planLastPid.map { Int64(r.pid) > $0 && reading.processes.byPid[r.pid] == nil } == true
            if born {
                out.append("\(r.role.rawValue)\(r.semnum.map { " of semaphore \($0)" } ?? "") \(r.pid) is a process started after the plan")
            }
        }
        return out
    }

    /// Objects active this recently (seconds before the plan) can have a possible holder born after the table
    /// (the one-second slack, the inheritance window): for them the last pid is checked before each verdict.
    static let recentActivity: Int64 = 60

    /// The verdict of a freshly read object.
    ///
    /// Under the lock, with one possible-holder cache and one evidence wording for the pass (they repeat across
    /// objects of one owner and second; a cache per object cost more than the classification itself).
    public func classify(_ fresh: IPCObject) -> Classification {
        lock.lock()
        defer { lock.unlock() }
        bringUpToDate(for: fresh)
        var c = classifier.classify(fresh, cache: cache)
        c.reasons = text.reasons(c.evidence)
        c.namespace = reading.namespace
        return c
    }

    /// The possible-holder cache of the current classifier (rebuilt with it).
    private var cache: PossibleHolderFinder.Cache
    /// Words the evidence (its texts repeat across objects, so one instance for the pass).
    private let text: EvidenceText
    /// Recorded pids that were neither in the table nor threads of it, and are alive: born after the plan.
    private var bornAfterPlan: Set<Int32> = []

    /// Reads the processes born since the table (when the last pid moved, for recently active objects) and
    /// resolves unknown recorded pids; the classifier is rebuilt only when the table gained something (our own
    /// worker threads move the last pid too).
    private func bringUpToDate(for fresh: IPCObject) {
        var changed = false
        if let births, fresh.lastActivity >= Int64(reading.now) - Self.recentActivity,
           let now = births.lastPid(), now != lastPid {
            let before = reading.processes.byPid.count
            probe.addProcessesStarted(since: &reading.processes)
            lastPid = now
            changed = reading.processes.byPid.count != before
        }
        var unknown: [Int32] = []
        fresh.forEachRecordedPid { r in
            if r.pid > 0 && reading.processes.byPid[r.pid] == nil && reading.processes.threadGroups[r.pid] == nil
                && !checkedPids.contains(r.pid) { unknown.append(r.pid) }
        }
        if !unknown.isEmpty && reading.options.procRoot == "/proc" {
            let before = reading.processes.threadGroups.count
            probe.resolveThreads(in: &reading.processes, pids: unknown)
            checkedPids.formUnion(unknown)
            for pid in unknown where reading.processes.threadGroups[pid] == nil
                && access("\(reading.options.procRoot)/\(pid)", F_OK) == 0 {
                bornAfterPlan.insert(pid)  // a live process the plan's table did not have
            }
            changed = changed || reading.processes.threadGroups.count != before
        }
        if changed {
            // The unit invocations were looked up once, at the plan (a unit seen only now has none: not ruled out).
            let invocations = reading.scope?.unitInvocations ?? [:]
            reading.scope = reading.options.scope.resolve(in: reading.processes)
            reading.scope?.unitInvocations = invocations
            classifier = reading.classifier
            cache = classifier.finder.makeCache()
        }
    }
}

/// The most recently allocated pid of this pid namespace (the last field of /proc/loadavg): when it has not
/// moved, no process or thread was created since it was read. One pread(2) on a descriptor kept open.
final class BirthWatch: @unchecked Sendable {
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
