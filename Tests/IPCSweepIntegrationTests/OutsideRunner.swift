import Foundation

/// Runs ipcsweep from the host's pid namespace (the test process's own) on behalf of a scenario, the way a host
/// administrator inspects a container: `--namespace PID` with the host pid of the scenario's init, the host's
/// /proc, no `--all-processes-visible`. Inside, the script calls `outside SUBCOMMAND ARGS...`; the request and the
/// answer (standard output, standard error, exit status) travel through files in `$OUT`.
///
/// `outside --trace-openat=FILE SUBCOMMAND ARGS...` runs it under `strace -f -e trace=openat -o FILE` (what it opened:
/// which /proc files it read).
///
/// Only what reads: `clean` must be given `--dry-run` (a real removal from the host would log to the host's
/// journal, which tests never touch). It runs with a private /run (its own mount namespace), like every scenario.
final class OutsideRunner: @unchecked Sendable {
    /// The bash function every scenario script gets.
    static let bashFunction = """
        OUTSIDE_N=0
        outside() {
            OUTSIDE_N=$((OUTSIDE_N + 1))
            local r="$OUT/.outside.$OUTSIDE_N"
            printf '%s\\0' "$@" > "$r.tmp"
            mv "$r.tmp" "$r.req"
            while [ ! -e "$r.rc" ]; do sleep 0.05; done
            cat "$r.out"
            cat "$r.err" >&2
            return "$(cat "$r.rc")"
        }

        """

    private let out: URL
    private let launcher: Int32
    private let binary: String
    private let lock = NSLock()
    private var stopped = false
    private var thread: Thread?

    /// `launcher`: the pid of `unshare --fork`, whose child is the scenario's init.
    init(out: URL, launcher: Int32, binary: String) {
        self.out = out
        self.launcher = launcher
        self.binary = binary
    }

    func start() {
        let t = Thread { [self] in
            var next = 1
            while !isStopped {
                let req = out.appendingPathComponent(".outside.\(next).req")
                if let data = FileManager.default.contents(atPath: req.path) {
                    serve(data, prefix: out.appendingPathComponent(".outside.\(next)").path)
                    next += 1
                } else {
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
        }
        thread = t
        t.start()
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    /// The host pid of the scenario's init (the launcher's only child).
    private var scenarioInit: Int32? {
        let text = (try? String(contentsOfFile: "/proc/\(launcher)/task/\(launcher)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").first.flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func serve(_ request: Data, prefix: String) {
        var args = request.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
        var trace: [String] = []
        if let first = args.first, first.hasPrefix("--trace-openat=") {
            trace = ["/usr/bin/strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=openat", "-o",
                     String(first.dropFirst("--trace-openat=".count))]
            args.removeFirst()
        }
        // The status last, by rename: the script waits for it.
        func answer(_ rc: Int32, err: String? = nil) {
            if let err {
                FileManager.default.createFile(atPath: prefix + ".out", contents: nil)
                FileManager.default.createFile(atPath: prefix + ".err", contents: Data(err.utf8))
            }
            FileManager.default.createFile(atPath: prefix + ".rc.tmp", contents: Data("\(rc)\n".utf8))
            try? FileManager.default.moveItem(atPath: prefix + ".rc.tmp", toPath: prefix + ".rc")
        }
        guard let sub = args.first, let pid = scenarioInit else {
            return answer(99, err: "outside: no subcommand, or the scenario's init is gone\n")
        }
        if sub == "clean" && !args.contains("--dry-run") {
            return answer(99, err: "outside: clean runs from the host only with --dry-run (tests never touch the host's /run or journal)\n")
        }
        FileManager.default.createFile(atPath: prefix + ".out", contents: nil)
        FileManager.default.createFile(atPath: prefix + ".err", contents: nil)
        // In a mount namespace of its own with a private /run, so that nothing it keeps there (the clock pair
        // of its first run after boot) lands on the host; /proc and the pid namespace stay the host's.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["--mount", "--propagation", "private", "/bin/sh", "-c",
                       "mount -t tmpfs -o mode=755 outside-run /run && exec \"$0\" \"$@\""] + trace + [binary,
                       sub, "--namespace", String(pid)] + args.dropFirst()
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = "1"
        p.environment = env
        p.standardOutput = FileHandle(forWritingAtPath: prefix + ".out")
        p.standardError = FileHandle(forWritingAtPath: prefix + ".err")
        do {
            try p.run()
            p.waitUntilExit()
            answer(p.terminationStatus)
        } catch {
            answer(99, err: "outside: \(error)\n")
        }
    }
}
