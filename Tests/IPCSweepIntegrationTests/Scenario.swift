import Foundation
import XCTest

/// Runs a bash script inside fresh private IPC, PID and mount namespaces
/// (`unshare --ipc --pid --fork --mount-proc`), so that every object and process
/// a test makes dies with the namespace and the host's own IPC objects are never
/// touched. A private tmpfs is mounted on /dev/shm first, so POSIX objects of the
/// host are never seen, let alone cleaned, and one on /run (clean's lock, the clock
/// pair the first run keeps). `ipcsweep` and `ipcsweep-testkit` are on PATH; `$OUT`
/// is a directory whose files the test reads afterwards.
///
/// The scenario's pid namespace is a child one, where ipcsweep is blind by design (another pid namespace could
/// share the IPC namespace unseen). Every scenario's namespaces are private and complete by construction, so by
/// default the `ipcsweep` on PATH states it: it runs the real binary with `--all-processes-visible` after the
/// subcommands that inspect (`allProcessesVisible: false` runs it as given, to test the blind spot itself).
/// `outside SUBCOMMAND ARGS...` runs it from the host's pid namespace with `--namespace` instead, as a host
/// administrator would (`OutsideRunner`).
struct Scenario {
    /// A private tmpfs on /run (lock, syslog socket) and one on /mnt for scratch files, cd /mnt; `try_ NAME CMD...`
    /// runs CMD with a 10 s timeout (124 would be a hang) and writes $OUT/NAME.rc and $OUT/NAME.err (standard
    /// output is the caller's: `try_ NAME CMD > /mnt/full`).
    static let scratchPrelude = """
        mount -t tmpfs tmpfs /run
        mount -t tmpfs tmpfs /mnt
        cd /mnt
        try_() { local name=$1; shift; set +e; timeout 10 "$@" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.rc"; set -e; }

        """

    /// Listens on the namespace's own /dev/log (/run/systemd/journal/dev-log, on the private /run) and writes each
    /// datagram as a line of $OUT/syslog until it has been quiet for 1.5 s; `wait $LISTENER` waits for that.
    /// A host without journald has no such /dev/log (none, or rsyslog's own socket), and /dev is the host's
    /// devtmpfs even in a private mount namespace: then an overlay on /dev (upper layer on the private /run) gets
    /// the link, so the host's /dev is never written. /dev's own submounts (the scenario's /dev/shm, devpts,
    /// mqueue) are moved across it.
    static let syslogListener = """
        if [ "$(readlink /dev/log)" != /run/systemd/journal/dev-log ]; then
            mkdir -p /run/.dev/up /run/.dev/work
            moved=""
            for m in shm pts mqueue; do
                if mountpoint -q /dev/$m; then mkdir -p /run/.dev/$m; mount --move /dev/$m /run/.dev/$m; moved="$moved $m"; fi
            done
            mount -t overlay scenario-dev -o lowerdir=/dev,upperdir=/run/.dev/up,workdir=/run/.dev/work /dev
            for m in $moved; do mkdir -p /dev/$m; mount --move /run/.dev/$m /dev/$m; done
            rm -f /dev/log
            ln -s /run/systemd/journal/dev-log /dev/log
        fi
        mkdir -p /run/systemd/journal
        /usr/bin/python3 -c '
        import os, socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind("/run/systemd/journal/dev-log")
        os.chmod("/run/systemd/journal/dev-log", 0o666)
        s.settimeout(1.5)
        open(os.environ["OUT"] + "/ready", "w").close()
        with open(os.environ["OUT"] + "/syslog", "wb") as f:
            try:
                while True:
                    f.write(s.recv(65536) + b"\\n"); f.flush()
            except socket.timeout:
                pass
        ' &
        LISTENER=$!
        while [ ! -e "$OUT/ready" ]; do sleep 0.05; done

        """

    /// The directory holding the built products (ipcsweep, ipcsweep-testkit).
    static let products: URL = {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // On Linux the test runner is .build/<triple>/debug/ipcsweepPackageTests.xctest
        for _ in 0..<3 where !FileManager.default.fileExists(atPath: dir.appendingPathComponent("ipcsweep").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()

    static var ipcsweep: String { products.appendingPathComponent("ipcsweep").path }

    /// A directory holding an `ipcsweep` that runs the real one with `--all-processes-visible` after the
    /// inspecting subcommands (list, show, orphans, clean, audit), and everything else unchanged.
    static let visibleWrapper: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipcsweep-visible-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
            #!/bin/sh
            # The scenario's private namespaces are complete: say so (see Scenario.swift).
            case "${1:-}" in
            list|show|orphans|clean|audit) cmd=$1; shift; exec '\(ipcsweep)' "$cmd" --all-processes-visible "$@" ;;
            esac
            exec '\(ipcsweep)' "$@"

            """
        let path = dir.appendingPathComponent("ipcsweep")
        FileManager.default.createFile(atPath: path.path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755])
        return dir
    }()

    /// The files the script wrote under $OUT, read before the directory was removed.
    let files: [String: Data]
    let status: Int32
    let stdout: String
    let stderr: String

    /// The contents of a file the script wrote under $OUT.
    func file(_ name: String) throws -> String {
        guard let d = files[name] else { throw NSError(domain: "Scenario", code: 2, userInfo: [NSLocalizedDescriptionKey: "the scenario wrote no \(name)\nstdout:\n\(stdout)\nstderr:\n\(stderr)"]) }
        return String(decoding: d, as: UTF8.self)
    }

    /// A JSON file the script wrote under $OUT, parsed.
    func json(_ name: String) throws -> [String: Any] {
        let data = Data(try file(name).utf8)
        guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NSError(domain: "Scenario", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) is not a JSON object"])
        }
        return obj
    }

    /// The objects array of a list/orphans/show document, keyed by "type:id".
    func objects(_ name: String) throws -> [String: [String: Any]] {
        let doc = try json(name)
        var out: [String: [String: Any]] = [:]
        for o in doc["objects"] as? [[String: Any]] ?? [] {
            out["\(o["type"] as? String ?? "?"):\(o["id"] as? Int ?? -1)"] = o
        }
        return out
    }

    /// The verdicts of `refs` ("type:id") in a document written inside and in one written by `outside` (the host's
    /// pid namespace, `--namespace`): the same rules give the same verdicts from where a host administrator runs.
    func assertHostAgrees(inside: String, host: String, _ refs: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try objects(inside), b = try objects(host)
        for ref in refs {
            XCTAssertNotNil(a[ref], "\(ref) missing from \(inside)", file: file, line: line)
            XCTAssertEqual(b[ref]?["verdict"] as? String, a[ref]?["verdict"] as? String,
                           "\(ref): \(host) (from the host) vs \(inside); host reasons: \(b[ref]?["reasons"] ?? "none")", file: file, line: line)
        }
    }

    /// Runs `script` with bash -euo pipefail in private namespaces; fails the test on a non-zero exit
    /// unless `allowFailure`.
    @discardableResult
    static func run(_ script: String, extraUnshare: [String] = [], allowFailure: Bool = false,
                    allProcessesVisible: Bool = true,
                    file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        guard getuid() == 0 else { throw XCTSkip("integration scenarios need root (unshare, setuid)") }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ipcsweep-scenario-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        p.arguments = ["--ipc", "--pid", "--fork", "--mount-proc", "--mount", "--propagation", "private"] + extraUnshare
            + ["/bin/bash", "-euo", "pipefail", "-c",
               "mount -t tmpfs -o mode=1777,size=64m scenario-shm /dev/shm\n"
                + "mount -t tmpfs -o mode=755,size=16m scenario-run /run\n" + OutsideRunner.bashFunction + script]
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = (allProcessesVisible ? visibleWrapper.path + ":" : "") + products.path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["OUT"] = out.path
        env["NO_COLOR"] = "1"
        p.environment = env
        let so = Pipe()
        let se = Pipe()
        p.standardOutput = so
        p.standardError = se
        try p.run()
        let outside = OutsideRunner(out: out, launcher: p.processIdentifier, binary: ipcsweep)
        outside.start()
        defer { outside.stop() }
        // Read both pipes concurrently so a chatty script cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = se.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = so.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        var files: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? [] {
            files[name] = FileManager.default.contents(atPath: out.appendingPathComponent(name).path)
        }
        try? FileManager.default.removeItem(at: out)
        let s = Scenario(files: files, status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
        if !allowFailure && s.status != 0 {
            XCTFail("scenario exited \(s.status)\nstdout:\n\(s.stdout)\nstderr:\n\(s.stderr)", file: file, line: line)
        }
        return s
    }
}
