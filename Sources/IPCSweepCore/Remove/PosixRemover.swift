import CSysVIPC
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What happened to one POSIX object in `clean` (a line of the report and of the JSON `results`).
public struct PosixCleanResult: Sendable, Equatable {
    public var classification: PosixClassification
    public var outcome: CleanOutcome
    public var reason: String
    /// Whether it was in the removal plan (orphaned, or suspect with --include-suspect).
    public var planned: Bool
    /// Skipped because it no longer existed: not a failure.
    public var alreadyGone: Bool
    /// The differences the re-check found, when skipped as changed since planned.
    public var changes: [String]
    /// The file its bytes or messages were saved to (--save-to).
    public var savedTo: String?

    public init(classification: PosixClassification, outcome: CleanOutcome, reason: String, planned: Bool,
                alreadyGone: Bool = false, changes: [String] = [], savedTo: String? = nil) {
        self.classification = classification
        self.outcome = outcome
        self.reason = reason
        self.planned = planned
        self.alreadyGone = alreadyGone
        self.changes = changes
        self.savedTo = savedTo
    }

    /// A planned object that was left behind or failed: these make `clean` exit 4.
    public var isProblem: Bool { planned && !alreadyGone && (outcome == .skipped || outcome == .failed) }
}

/// One POSIX object's place in the plan.
public struct PosixPlanEntry: Sendable, Equatable {
    public var classification: PosixClassification
    public var planned: Bool
    public var skipReason: String?
    public var goesAhead: Bool { planned && skipReason == nil }
}

/// Who holds POSIX objects right now: one more pass over /proc (descriptors and mappings), for the re-check.
public enum PosixHolderScan {
    /// Descriptions ("pid 812 (postgres) descriptor 5") of every live process other than this one that holds one
    /// of `objects` now, or whose descriptors cannot be read; by object.
    public static func current(_ objects: [PosixIPCObject], procRoot: String = "/proc") -> [DeviceInode: [String]] {
        let ids = Set(objects.map(\.identity))
        guard !ids.isEmpty else { return [:] }
        let probe = ProcessProbe(procRoot: procRoot, details: [])
        guard var table = try? probe.read() else {
            return Dictionary(uniqueKeysWithValues: ids.map { ($0, ["the process table could not be read"]) })
        }
        probe.addHandles(to: &table, sysvPids: [], posix: ids)
        let me = getpid()
        var out: [DeviceInode: [String]] = [:]
        for p in table.byPid.values where p.pid != me && !p.isDeadOrZombie {
            for h in p.posixHandles {
                out[h.object, default: []].append("pid \(p.pid) (\(p.comm)) " + (h.fd.map { "descriptor \($0)" } ?? "mapping \(h.mapping ?? "")"))
            }
            if let why = p.handlesUnreadable {
                for o in objects where AccessControl(o).reachable(by: p) {
                    out[o.identity, default: []].append("pid \(p.pid) (\(p.comm)), whose descriptors cannot be read (\(why))")
                }
            }
        }
        return out
    }
}

/// Removes POSIX objects: plan, then per object a re-check right before unlinkat(2) on a descriptor of its
/// mount's root directory.
///
/// The re-check: fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW) must give a regular file with the same device,
/// inode, size and times as planned, and no process may hold it (descriptors and mappings are read again, once
/// per batch of objects, after the batch's test hooks). Never follows a symbolic link, never descends into a
/// directory or another mount. `--save-to` copies a file's bytes (a queue's messages, received with
/// mq_timedreceive on a non-blocking descriptor) to DIR first.
public final class PosixRemover {
    public let policy: CleanPolicy
    /// Called with each removal and each failure (the syslog audit trail).
    public var log: (PosixCleanResult) -> Void = { _ in }
    public var pendingSignal: () -> PendingSignal? = { nil }
    /// Called before each object's re-check with its 1-based position (debug builds' test hook).
    public var beforeRecheck: ((Int, PosixIPCObject) -> Void)?
    /// The holders right now, by object (injected for tests; the live one reads /proc).
    public var holdersNow: ([PosixIPCObject]) -> [DeviceInode: [String]] = { PosixHolderScan.current($0) }
    /// How many objects share one re-read of every process's descriptors and mappings (a few hundred ms with
    /// 2,000 processes): a batch's unlinks take milliseconds, so the window a new opener can slip into stays
    /// that short, while a clean of 10,000 orphans reads /proc ten times, not 10,000.
    public var batchSize = 1024
    /// Writes the --save-to files (streamed, space-checked, crash-consistent).
    public var saver = ObjectSaver()

    public init(policy: CleanPolicy) { self.policy = policy }

    /// The plan: a pure function of the classifications and the policy.
    public func plan(_ items: [PosixClassification]) -> [PosixPlanEntry] {
        items.map { c in
            let first = c.reasons.first.map { ": " + $0 } ?? ""
            let path = PosixRender.escaped(c.object.path)
            switch c.verdict {
            case .inUse:
                return PosixPlanEntry(classification: c, planned: false,
                                      skipReason: "in use\(first); clean never removes it (to remove it deliberately: rm -- '\(path)')")
            case .unknown:
                return PosixPlanEntry(classification: c, planned: false,
                                      skipReason: "verdict unknown\(first); clean never removes it (run as root to decide)")
            case .suspect where !policy.includeSuspect:
                return PosixPlanEntry(classification: c, planned: false,
                                      skipReason: "suspect\(first); give --include-suspect to remove suspects, or a scope (--unit, --pidfile, --exe) to settle it")
            case .orphaned, .suspect:
                if let q = c.object.queue, q.hasMessages, !policy.discardMessages, policy.saveTo == nil {
                    let n = q.messages.map { "\($0) message\($0 == 1 ? "" : "s") (\(q.qsize) bytes)" } ?? "\(q.qsize) bytes of messages"
                    return PosixPlanEntry(classification: c, planned: true,
                                          skipReason: "holds \(n): kept; give --save-to DIR to save them first, or --discard-messages to drop them")
                }
                return PosixPlanEntry(classification: c, planned: true, skipReason: nil)
            }
        }
    }

    /// Runs the plan; `interruption` is a signal that already stopped the System V part.
    public func run(_ plan: [PosixPlanEntry], interruption already: PendingSignal? = nil) -> (results: [PosixCleanResult], interruption: PendingSignal?) {
        var results: [PosixCleanResult] = []
        var interruption = already
        let going = plan.filter(\.goesAhead)
        var position = 0
        var batchHolders: [DeviceInode: [String]] = [:]
        var batchEnd = 0
        var index = 0
        for entry in plan {
            let c = entry.classification
            guard entry.goesAhead else {
                results.append(PosixCleanResult(classification: c, outcome: .skipped, reason: entry.skipReason ?? "not planned",
                                                planned: entry.planned))
                continue
            }
            if interruption == nil, let s = pendingSignal() { interruption = s }
            if let s = interruption {
                results.append(PosixCleanResult(classification: c, outcome: .skipped,
                                                reason: "\(Remover.notAttemptedPrefix)clean was stopped by \(s.description) before this object",
                                                planned: true))
                continue
            }
            if policy.dryRun {
                var r = "would remove (\(c.verdict.rawValue)\(c.reasons.first.map { ": " + $0 } ?? ""))"
                if let dir = policy.saveTo { r += "; would first save it to \(dir)/\(Self.fileName(c.object))" }
                results.append(PosixCleanResult(classification: c, outcome: .planned, reason: r, planned: true))
                continue
            }
            // A new batch: its hooks first, then one fresh read of who holds its objects.
            if index == batchEnd {
                let batch = Array(going[index..<min(going.count, index + batchSize)])
                for o in batch {
                    position += 1
                    beforeRecheck?(position, o.classification.object)
                }
                batchHolders = holdersNow(batch.map(\.classification.object))
                batchEnd = index + batch.count
            }
            index += 1
            let r = removeOne(c, holders: batchHolders[c.object.identity] ?? [])
            if r.outcome == .removed || r.outcome == .failed { log(r) }
            results.append(r)
        }
        return (results, interruption)
    }

    /// `posix-shm-PostgreSQL.1234-<inode>-<mtime>.ipcsweep`: kind, name, inode and mtime, so that a later object of the
    /// same name never overwrites an earlier save. Slashes and control characters become `_`.
    public static func fileName(_ o: PosixIPCObject) -> String {
        let safe = String(o.name.unicodeScalars.map { $0.value < 0x20 || $0 == "/" || $0.value == 0x7f ? "_" : Character($0) })
        return "\(o.kind.rawValue)-\(safe)-\(o.identity.inode)-\(o.mtimeNs.seconds).ipcsweep"
    }

    private func result(_ c: PosixClassification, _ outcome: CleanOutcome, _ reason: String, gone: Bool = false,
                        changes: [String] = [], saved: String? = nil) -> PosixCleanResult {
        PosixCleanResult(classification: c, outcome: outcome, reason: reason, planned: true, alreadyGone: gone,
                         changes: changes, savedTo: saved)
    }

    private func name(_ o: PosixIPCObject) -> String { "\(o.kind.noun) \(PosixRender.escaped(o.path))" }

    /// The differences between the planned object and a fresh fstatat; empty when it is the same, untouched.
    static func differences(planned o: PosixIPCObject, now st: stat) -> [String] {
        var d: [String] = []
        let type = st.st_mode & S_IFMT
        if type != S_IFREG { d.append(type == S_IFLNK ? "now a symbolic link" : type == S_IFDIR ? "now a directory" : "no longer a regular file") }
        if UInt64(st.st_dev) != o.identity.device || UInt64(st.st_ino) != o.identity.inode {
            d.append("another file now has its name (inode \(o.identity.inode) -> \(st.st_ino))")
        }
        if Int64(st.st_size) != o.size, o.kind != .mq { d.append("size \(o.size) -> \(st.st_size)") }
        let mtime = FileTime(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int64(st.st_mtim.tv_nsec))
        let ctime = FileTime(seconds: Int64(st.st_ctim.tv_sec), nanoseconds: Int64(st.st_ctim.tv_nsec))
        if mtime != o.mtimeNs { d.append("modified since planned (mtime)") }
        // Reading a queue's file (its depth) sets its ctime: compared for files only.
        if o.kind != .mq, ctime != o.ctime { d.append("changed since planned (ctime)") }
        if st.st_uid != o.uid || st.st_gid != o.gid { d.append("owner \(o.uid):\(o.gid) -> \(st.st_uid):\(st.st_gid)") }
        if UInt32(st.st_mode) & 0o7777 != o.mode { d.append("mode \(IPCTextFormat.octal(o.mode)) -> \(IPCTextFormat.octal(UInt32(st.st_mode) & 0o7777))") }
        return d
    }

    /// Opens the object's mount root as a directory and checks it is still the mount the object was found on.
    private func openRoot(_ o: PosixIPCObject) -> Result<Int32, Errno> {
        // /proc/PID/root/... (another mount namespace) is walked with O_NOFOLLOW from that root.
        let fd = PosixIPCScanner.openDirectory(o.directory)
        guard fd >= 0 else { return .failure(Errno(rawValue: errno)) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_dev) == o.identity.device else {
            close(fd)
            return .failure(Errno(rawValue: EXDEV))
        }
        return .success(fd)
    }

    /// Re-check, save when asked, unlinkat: one object, never left half-done.
    func removeOne(_ c: PosixClassification, holders: [String]) -> PosixCleanResult {
        let o = c.object
        let dir: Int32
        switch openRoot(o) {
        case .success(let fd): dir = fd
        case .failure(let e) where e == Errno(rawValue: EXDEV):
            return result(c, .skipped, "changed since planned: the directory of \(name(o)) is no longer the filesystem it was found on; left in place",
                          changes: ["another filesystem is mounted there"])
        case .failure(let e):
            return result(c, .failed, "cannot open the directory of \(name(o)): \(e); left in place")
        }
        defer { close(dir) }
        if !holders.isEmpty {
            return result(c, .skipped, "changed since planned: now held by \(holders.joined(separator: ", ")); left in place (run clean again to re-decide)",
                          changes: holders.map { "held by " + $0 })
        }
        switch recheck(c, dir: dir) {
        case .some(let r): return r
        case .none: break
        }
        var saved: String?
        var extra = ""
        if let q = o.queue, q.hasMessages || policy.saveTo != nil {
            if let dirOut = policy.saveTo {
                switch saveQueue(c, dir: dir, to: dirOut) {
                case .success(let (path, n, bytes)):
                    saved = path
                    extra = "; \(n) message\(n == 1 ? "" : "s") (\(bytes) bytes) saved"
                case .failure(let r): return r
                }
            } else {
                extra = "; discarded \(q.messages.map { "\($0) message\($0 == 1 ? "" : "s")" } ?? "its messages") (\(q.qsize) bytes)"
            }
        } else if let dirOut = policy.saveTo {
            switch saveFile(c, dir: dir, to: dirOut) {
            case .success(let file):
                saved = file.path
                extra = "; \(SaveSpace.dataText(file)) saved"
            case .failure(let r): return r
            }
        }
        guard unlinkat(dir, o.entry, 0) == 0 else {
            let e = Errno(rawValue: errno)
            if e == .noSuchFileOrDirectory {
                return result(c, .skipped, "already gone: \(name(o)) no longer exists", gone: true)
            }
            if e == .permissionDenied || e == .notPermitted {
                return result(c, .failed, "not allowed to remove \(name(o)) (\(e)): removing it needs write permission on its directory (and, with the sticky bit, being its owner); run clean as its owner or as root")
            }
            return result(c, .failed, "unlinkat of \(name(o)) failed: \(e); it was left in place")
        }
        return result(c, .removed, "removed (\(c.verdict.rawValue)\(c.reasons.first.map { ": " + $0 } ?? ""))" + (saved.map { "; saved to \($0)" } ?? "") + extra,
                      saved: saved)
    }

    /// nil when the entry is still the planned, untouched regular file; a result otherwise.
    private func recheck(_ c: PosixClassification, dir: Int32) -> PosixCleanResult? {
        var st = stat()
        guard fstatat(dir, c.object.entry, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            let e = Errno(rawValue: errno)
            if e == .noSuchFileOrDirectory { return result(c, .skipped, "already gone: \(name(c.object)) no longer exists", gone: true) }
            return result(c, .failed, "cannot re-check \(name(c.object)): \(e); left in place")
        }
        let d = Self.differences(planned: c.object, now: st)
        guard d.isEmpty else {
            return result(c, .skipped, "changed since planned: \(d.joined(separator: "; ")); left in place (run clean again to re-decide)", changes: d)
        }
        return nil
    }

    private func header(_ o: PosixIPCObject) -> [(String, String)] {
        [("type", o.kind.rawValue), ("name", PosixRender.escaped(o.name)), ("path", PosixRender.escaped(o.path)),
         ("owner", String(o.uid)), ("group", String(o.gid)), ("mode", IPCTextFormat.octal(o.mode)),
         ("mtime", "\(o.mtimeNs.seconds).\(o.mtimeNs.nanoseconds)"), ("saved", String(Int64(time(nil))))]
    }

    /// Opens the entry without following a link and without blocking, and checks it is the planned inode.
    private func openChecked(_ c: PosixClassification, dir: Int32, flags: Int32) -> Result<Int32, PosixCleanResult> {
        let fd = openat(dir, c.object.entry, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            return .failure(result(c, .failed, "saving \(name(c.object)) failed: open: \(Errno(rawValue: errno)); not removed"))
        }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_ino) == c.object.identity.inode, UInt64(st.st_dev) == c.object.identity.device else {
            close(fd)
            return .failure(result(c, .skipped, "changed since planned: another file took its name while saving; left in place",
                                   changes: ["inode changed"]))
        }
        return .success(fd)
    }

    /// Streams the file's data extents (never its holes) into the save file; re-checked before it is committed.
    private func saveFile(_ c: PosixClassification, dir: Int32, to out: String) -> Result<SavedFile, PosixCleanResult> {
        let fd: Int32
        switch openChecked(c, dir: dir, flags: O_RDONLY) {
        case .success(let f): fd = f
        case .failure(let r): return .failure(r)
        }
        defer { close(fd) }
        let size = max(0, c.object.size)
        switch saver.saveData(FileDataSource(fd: fd, size: size, description: "the file"), directory: out,
                              name: Self.fileName(c.object), header: header(c.object) + [("size", String(size))],
                              label: "saving \(name(c.object))", beforeCommit: { recheck(c, dir: dir) }) {
        case .saved(let file): return .success(file)
        case .stopped(let problem): return .failure(problem)
        case .failed(.changed(let why)):
            return .failure(result(c, .skipped, "changed since planned (while saving): \(why); left in place (run clean again to re-decide)",
                                   changes: [why]))
        case .failed(let why):
            return .failure(result(c, .failed, "saving \(name(c.object)) failed: \(why); not removed (fix --save-to)"))
        }
    }

    /// Receives every message (mq_timedreceive on a non-blocking descriptor, highest priority first, as the queue
    /// delivers them) into the save file; the file is committed before the queue is removed.
    private func saveQueue(_ c: PosixClassification, dir: Int32, to out: String) -> Result<(String, Int, Int), PosixCleanResult> {
        let fd: Int32
        switch openChecked(c, dir: dir, flags: O_RDONLY) {
        case .success(let f): fd = f
        case .failure(let r): return .failure(r)
        }
        defer { close(fd) }
        var maxmsg = 0, msgsize = 0, cur = 0
        guard cipc_mq_getattr(fd, &maxmsg, &msgsize, &cur) == 0 else {
            return .failure(result(c, .failed, "saving \(name(c.object)) failed: mq_getattr: \(Errno(rawValue: errno)); not removed"))
        }
        var messages: [QueuedMessage] = []
        var buffer = [CChar](repeating: 0, count: max(1, msgsize))
        var total = 0
        while true {
            var prio: UInt32 = 0
            let n = buffer.withUnsafeMutableBufferPointer { cipc_mq_receive_now(fd, $0.baseAddress, UInt($0.count), &prio) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == ETIMEDOUT { break }
                return .failure(result(c, .failed, "saving \(name(c.object)) failed: mq_timedreceive: \(Errno(rawValue: errno)) after \(messages.count) messages; those are lost unless saved: not removed"))
            }
            messages.append(QueuedMessage(type: Int(prio), bytes: buffer[0..<n].map { UInt8(bitPattern: $0) }))
            total += n
        }
        let fields = header(c.object) + [("messages", String(messages.count)), ("bytes", String(total)),
                                         ("message-type", "priority"), ("maxmsg", String(maxmsg)), ("msgsize", String(msgsize))]
        let outcome: SaveOutcome<Never> = saver.saveMessages(messages, directory: out, name: Self.fileName(c.object), header: fields,
                                                             label: "saving \(name(c.object))", beforeCommit: { nil })
        guard case .saved(let file) = outcome else {
            let error: String
            if case .failed(let why) = outcome { error = why.description } else { error = "not saved" }
            // The messages were received already: put them back so that nothing is lost.
            for m in messages {
                let back = openat(dir, c.object.entry, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                if back >= 0 {
                    _ = m.bytes.withUnsafeBufferPointer { b in
                        b.withMemoryRebound(to: CChar.self) { cipc_mq_send(back, $0.baseAddress, UInt($0.count), UInt32(m.type)) }
                    }
                    close(back)
                }
            }
            return .failure(result(c, .failed, "saving \(name(c.object)) failed: \(error); its messages were put back and it was not removed (fix --save-to)"))
        }
        return .success((file.path, messages.count, total))
    }
}

/// A result carried through `Result` by the save steps (the object's outcome when a step stops it).
extension PosixCleanResult: Error {}
