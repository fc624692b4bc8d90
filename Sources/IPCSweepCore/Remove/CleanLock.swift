import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Why the lock could not be taken, in words that name the file and say what to do.
public struct CleanLockError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// The lock that serialises `clean` runs (cron and ExecStopPost=): flock(2) on a file, held until released or exit.
public final class CleanLock {
    /// The file that was locked.
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    /// Where to lock, in order: /run/ipcsweep.lock, then /var/lib/ipcsweep/clean.lock (root), then
    /// $XDG_RUNTIME_DIR/ipcsweep.lock (non-root), then $TMPDIR (or /tmp)/ipcsweep-EUID.lock. For another IPC
    /// namespace (`--namespace`) each name carries its inode (/run/ipcsweep-ipcns-INODE.lock, ...): cleaners
    /// of one namespace serialise, cleaners of different namespaces do not wait for each other. Pure.
    public static func candidatePaths(euid: UInt32, environment: [String: String], namespace: UInt64? = nil) -> [String] {
        let ns = namespace.map { "-ipcns-\($0)" } ?? ""
        var out = ["/run/ipcsweep\(ns).lock"]
        if euid == 0 {
            out.append("/var/lib/ipcsweep/clean\(ns).lock")
        } else if let x = environment["XDG_RUNTIME_DIR"], x.hasPrefix("/") {
            out.append(x + "/ipcsweep\(ns).lock")
        }
        var tmp = environment["TMPDIR"] ?? "/tmp"
        if !tmp.hasPrefix("/") { tmp = "/tmp" }
        out.append((tmp.hasSuffix("/") ? String(tmp.dropLast()) : tmp) + "/ipcsweep-\(euid)\(ns).lock")
        return out
    }

    /// open(O_RDWR|O_CREAT|O_NOFOLLOW, 0600) of the first usable candidate, then flock(LOCK_EX|LOCK_NB) polled
    /// every 20 ms for at most `wait` seconds. `stop` is polled while waiting (a signal). The holder's pid is
    /// written into the file so that a waiting run can name it.
    public static func acquire(paths: [String], wait: Double, stop: () -> String? = { nil }) throws(CleanLockError) -> CleanLock {
        var tried: [String] = []
        var opened: (String, Int32)?
        for path in paths {
            if path.hasPrefix("/var/lib/ipcsweep/") { mkdir("/var/lib/ipcsweep", 0o700) }
            let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd < 0 {
                tried.append("\(path): \(Errno(rawValue: errno))")
                continue
            }
            var st = stat()
            // A lock file someone else owns (e.g. planted in /tmp) is not trusted.
            if fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG || (st.st_uid != geteuid() && geteuid() != 0) {
                close(fd)
                tried.append("\(path): not a regular file owned by uid \(geteuid())")
                continue
            }
            // The holder's pid is written into the file: never into a file that holds anything else (a mistyped
            // --lock-file /etc/passwd must not be truncated).
            if st.st_size > 0 && !Self.holdsOnlyAPid(fd, size: Int(st.st_size)) {
                close(fd)
                tried.append("\(path): exists and is not an ipcsweep lock file (it holds other data; left untouched)")
                continue
            }
            opened = (path, fd)
            break
        }
        guard let (path, fd) = opened else {
            throw CleanLockError(description: "cannot create a lock file (\(tried.joined(separator: "; "))); give --lock-file PATH in a writable directory")
        }
        let deadline = Inspector.currentTime() + max(0, wait)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = Errno(rawValue: errno)
            if e == .interrupted { continue }
            guard e == .wouldBlock else {
                close(fd)
                throw CleanLockError(description: "cannot lock \(path): \(e)")
            }
            if let why = stop() {
                close(fd)
                throw CleanLockError(description: "stopped by \(why) while waiting for the lock \(path); nothing was removed")
            }
            if Inspector.currentTime() >= deadline {
                let holder = (try? FileIO.readText(path, limit: FileIO.Limit.lockFile))?.split(separator: "\n").first.map(String.init) ?? ""
                close(fd)
                let who = Int32(holder).map { " (held by pid \($0))" } ?? ""
                throw CleanLockError(description: "another ipcsweep clean holds the lock \(path)\(who) and did not finish within \(TimeFormat.duration(wait)); nothing was removed; try again, or raise --lock-wait")
            }
            usleep(20_000)
        }
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return CleanLock(path: path, fd: fd)
    }

    /// Whether a lock file's contents are what `acquire` writes: a pid and a newline.
    static func holdsOnlyAPid(_ fd: Int32, size: Int) -> Bool {
        guard size <= 16 else { return false }
        var buf = [UInt8](repeating: 0, count: 16)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 16, 0) }
        guard n == size else { return false }
        let text = buf[0..<n]
        return text.last == 10 && text.dropLast().allSatisfy { $0 >= 48 && $0 <= 57 } && n > 1
    }

    /// Releases the lock (close(2) drops the flock).
    public func release() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }
}
