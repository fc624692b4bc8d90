#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Progress of long saves and restores, for a person at a terminal: after `delay` seconds a line on standard
/// error names the object and says how many bytes of how many are done and at what rate, redrawn in place a few
/// times a second and erased when the object is done. Nothing is shown for a save that is quicker, when
/// standard error is not a terminal, or with --quiet (the command decides; then it makes no reporter at all).
/// Saves running at the same time share the line: the first one shown keeps it until it ends.
public final class SaveProgress: Sendable {
    /// Writes to the terminal (standard error).
    let write: @Sendable (String) -> Void
    /// Monotonic seconds.
    let clock: @Sendable () -> Double
    public let delay: Double
    public let interval: Double
    /// The task whose line is shown.
    private let shown = Locked<ObjectIdentifier?>(nil)

    public init(delay: Double = 1.0, interval: Double = 0.25, clock: @escaping @Sendable () -> Double = SaveProgress.monotonic,
                write: @escaping @Sendable (String) -> Void) {
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.write = write
    }

    /// CLOCK_MONOTONIC in seconds.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// One object's save or restore.
    public final class Task {
        let owner: SaveProgress
        /// "saving shm id 32768 (key 0x00001234)", escaped by the caller.
        let label: String
        let total: Int64
        let started: Double
        private var done: Int64 = 0
        private var lastDrawn: Double = -1

        init(owner: SaveProgress, label: String, total: Int64) {
            self.owner = owner
            self.label = label
            self.total = total
            started = owner.clock()
        }

        /// `bytes` more are done.
        public func advance(_ bytes: Int64) {
            done += bytes
            let now = owner.clock()
            guard now - started >= owner.delay, now - lastDrawn >= owner.interval else { return }
            lastDrawn = now
            owner.draw(self, line: SaveProgress.line(label: label, done: done, total: total, seconds: now - started))
        }

        /// The object is done: its line (if shown) is erased.
        public func end() { owner.erase(self) }
    }

    /// Starts reporting on one object; `total` is the bytes it will take (its data, not its holes).
    public func begin(_ label: String, total: Int64) -> Task { Task(owner: self, label: label, total: total) }

    /// "saving shm id 32768 (key 0x00001234): 1.2 GiB of 8.0 GiB (15 %), 410 MiB/s". Pure.
    public static func line(label: String, done: Int64, total: Int64, seconds: Double) -> String {
        let percent = total > 0 ? " (\(Int(Double(done) * 100 / Double(total))) %)" : ""
        let rate = seconds > 0 ? Int64(Double(done) / seconds) : 0
        return "\(label): \(PosixAuditSection.size(done)) of \(PosixAuditSection.size(total))\(percent), \(PosixAuditSection.size(rate))/s"
    }

    private func draw(_ task: Task, line: String) {
        let id = ObjectIdentifier(task)
        shown.withLock { shown in
            if shown == nil { shown = id }
            guard shown == id else { return }
            write("\r" + line + "\u{1b}[K")
        }
    }

    private func erase(_ task: Task) {
        shown.withLock { shown in
            guard shown == ObjectIdentifier(task) else { return }
            shown = nil
            write("\r\u{1b}[K")
        }
    }
}
