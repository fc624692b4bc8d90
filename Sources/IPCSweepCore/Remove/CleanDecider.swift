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
        classifier = reading.classifier(users: users)
    }

    /// Recorded pids of a fresh read that were allocated after the plan (a process born since operated on it):
    /// activity since the plan that the times, in whole seconds, may not show. Empty when none (or unknown).
    public func changesSincePlan(_ fresh: IPCObject) -> [String] {
        guard let births, let plan = planLastPid, let now = births.lastPid(), now != plan else { return [] }
        var out: [String] = []
        fresh.forEachRecordedPid { r in
            let p = Int64(r.pid)
            // Pids are allocated upwards from the last one and wrap to low numbers.
            let born = now > plan ? (p > plan && p <= now) : (p > plan || p <= now)
            if r.pid > 0 && born {
                out.append("\(r.role.rawValue)\(r.semnum.map { " of semaphore \($0)" } ?? "") \(r.pid) is a process started after the plan")
            }
        }
        return out
    }

    /// The verdict of a freshly read object.
    public func classify(_ fresh: IPCObject) -> Classification {
        current(for: fresh).classify(fresh)
    }

    /// The classifier, brought up to date for this object (under the lock; the verdict is worked out outside it).
    private func current(for fresh: IPCObject) -> Classifier {
        lock.lock()
        defer { lock.unlock() }
        var changed = false
        if let births, let now = births.lastPid(), now != lastPid {
            probe.addProcessesStarted(since: &reading.processes)
            lastPid = now
            changed = true
        }
        var unknown: [Int32] = []
        fresh.forEachRecordedPid { r in
            if r.pid > 0 && reading.processes.byPid[r.pid] == nil && reading.processes.threadGroups[r.pid] == nil
                && !checkedPids.contains(r.pid) { unknown.append(r.pid) }
        }
        if !unknown.isEmpty && reading.options.procRoot == "/proc" {
            probe.resolveThreads(in: &reading.processes, pids: unknown)
            checkedPids.formUnion(unknown)
            changed = true
        }
        if changed {
            reading.scope = reading.options.scope.resolve(in: reading.processes)
            classifier = reading.classifier(users: users)
        }
        return classifier
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
