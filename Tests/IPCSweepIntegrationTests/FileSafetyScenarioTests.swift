import Foundation
import XCTest

/// SPEC "Files the tool reads and writes": wrong paths, endless input and failing writes, each with real files in
/// the scenario's private mount namespace (a tmpfs on /mnt, device nodes made there with mknod, FIFOs, sockets,
/// a full tmpfs, a pty whose master is closed), never the host's own files.
final class FileSafetyScenarioTests: XCTestCase {
    static let prelude = Scenario.scratchPrelude

    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Self.prelude + script, file: file, line: line)
    }

    /// A file's text for a failure message ("" when missing).
    func text(_ s: Scenario, _ name: String) -> String { (try? s.file(name)) ?? "" }

    /// The exit status a `try_ NAME` recorded.
    func rc(_ s: Scenario, _ name: String) throws -> Int {
        try XCTUnwrap(Int(try s.file("\(name).rc").trimmingCharacters(in: .whitespacesAndNewlines)), name)
    }

    /// Asserts a one-line error on stderr that contains every part, and the exit status.
    func assertOneLineError(_ s: Scenario, _ name: String, status: Int = 1, _ parts: [String],
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let err = try s.file("\(name).err")
        XCTAssertEqual(try rc(s, name), status, "\(name): \(err)", file: file, line: line)
        let lines = err.split(separator: "\n").filter { !$0.hasPrefix("Usage:") && !$0.hasPrefix("  See '") }
        XCTAssertEqual(lines.count, 1, "\(name): one line expected: \(err)", file: file, line: line)
        for p in parts { XCTAssertTrue(err.contains(p), "\(name): \(p) missing in: \(err)", file: file, line: line) }
    }

    // MARK: files the tool replaces

    func testAuditStateRefusesEveryFileThatIsNotItsOwnAndLeavesItByteForByte() throws {
        let s = try run("""
            printf 'root:x:0:0:root:/root:/bin/bash\\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\\n' > passwd
            ipcsweep audit --format json > report.json
            : > empty
            echo '{"name": "settings", "values": [1, 2]}' > other.json
            printf '\\x00\\x01binary' > blob
            for f in passwd report.json empty other.json blob; do
                cp "$f" "$f.orig"
                try_ "$f" ipcsweep audit --state "/mnt/$f"
                cmp "$f" "$f.orig" && echo same > "$OUT/$f.same"
            done
            # The tool's own state: written, then read and replaced on the next run.
            try_ first ipcsweep audit --state /mnt/ours.json
            try_ second ipcsweep audit --state /mnt/ours.json --format json
            cp ours.json "$OUT/ours.json"
            # A state from before the format marker existed is still the tool's own.
            echo '{"limitUsage": {}, "orphans": [], "schemaVersion": 1, "writtenAt": 1700000000}' > legacy.json
            try_ legacy ipcsweep audit --state /mnt/legacy.json
            grep -c ipcsweep-audit-state legacy.json > "$OUT/legacy.marked"
            """)
        for f in ["passwd", "report.json", "empty", "other.json", "blob"] {
            try assertOneLineError(s, f, ["--state /mnt/\(f)", "not an ipcsweep audit state", "left untouched"])
            XCTAssertEqual(try s.file("\(f).same"), "same\n", "\(f) must be left byte for byte")
        }
        XCTAssertEqual(try rc(s, "first"), 0, text(s, "first.err"))
        XCTAssertEqual(try rc(s, "second"), 0, text(s, "second.err"))
        XCTAssertEqual(try s.json("ours.json")["format"] as? String, "ipcsweep-audit-state")
        XCTAssertEqual(try rc(s, "legacy"), 0, text(s, "legacy.err"))
        XCTAssertEqual(try s.file("legacy.marked"), "1\n", "a legacy state is replaced by a marked one")
    }

    func testOutputRefusesTargetsThatAreNotRegularFilesAndLeavesThemAsTheyWere() throws {
        let s = try run("""
            mkdir dir
            mknod null c 1 3
            mkfifo fifo
            /usr/bin/python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("/mnt/sock")'
            for t in dir null fifo sock; do
                try_ "$t" ipcsweep audit --format prometheus --output "/mnt/$t"
                stat -c '%F' "/mnt/$t" > "$OUT/$t.type"
            done
            ls -A dir > "$OUT/dir.list"
            echo old > regular
            try_ regular ipcsweep audit --format prometheus --output /mnt/regular
            head -c 200 regular > "$OUT/regular.head"
            ls -A /mnt > "$OUT/mnt.list"
            """)
        let types = ["dir": "directory", "null": "character special file", "fifo": "fifo", "sock": "socket"]
        for (t, type) in types {
            try assertOneLineError(s, t, ["--output /mnt/\(t)", "not a regular file", "nothing was written"])
            XCTAssertEqual(try s.file("\(t).type"), type + "\n", "\(t) is still a \(type)")
        }
        XCTAssertEqual(try s.file("dir.list"), "", "nothing was written into the directory")
        XCTAssertEqual(try rc(s, "regular"), 0)
        XCTAssertTrue(try s.file("regular.head").hasPrefix("# HELP"), "a regular file is replaced by design")
        XCTAssertFalse(try s.file("mnt.list").contains(".regular."), "no temporary file is left behind")
    }

    func testLockFileThatHoldsOtherDataIsNeverTruncated() throws {
        let s = try run("""
            printf 'root:x:0:0:root:/root:/bin/bash\\n' > passwd
            cp passwd passwd.orig
            ipcsweep-testkit sem-create --key 0x1001 --as-uid 33 > /dev/null
            try_ lock ipcsweep clean --yes --lock-file /mnt/passwd
            cmp passwd passwd.orig && echo same > "$OUT/same"
            ipcs -s | grep -c '^0x' > "$OUT/left" || true
            """)
        try assertOneLineError(s, "lock", ["/mnt/passwd", "not an ipcsweep lock file", "left untouched"])
        XCTAssertEqual(try s.file("same"), "same\n")
        XCTAssertEqual(try s.file("left"), "1\n", "nothing was removed without the lock")
    }

    // MARK: files the tool reads

    func testPidfileStateAndProcfsCopyRefuseEndlessOrHugeInputAtOnce() throws {
        let s = try run("""
            mknod zero c 1 5
            mknod random c 1 8
            mkfifo fifo
            mkdir dir
            head -c 52428800 /dev/zero | tr '\\0' 7 > big
            head -c 41943040 /dev/zero > bigstate
            for f in zero random fifo dir big; do try_ "pid-$f" ipcsweep list --pidfile "/mnt/$f"; done
            for f in zero fifo dir bigstate; do try_ "state-$f" ipcsweep audit --state "/mnt/$f"; done
            # /dev/stdin that never ends: a FIFO whose writer stays open.
            mkfifo held
            sleep 60 > held &
            WRITER=$!
            try_ pid-stdin ipcsweep list --pidfile /dev/stdin < held
            try_ state-stdin ipcsweep audit --state /dev/stdin < held
            kill $WRITER
            # A procfs copy with a FIFO where a file should be, and a set in it (with no object in view, no
            # process's file would be read at all).
            ipcsweep-testkit sem-create --key 0x1002 --as-uid 33 > /dev/null
            mkdir -p copy/sysvipc copy/1
            for f in sem shm msg; do cat /proc/sysvipc/$f > copy/sysvipc/$f; done
            cat /proc/stat > copy/stat
            echo '1 (init) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0' > copy/1/stat
            mkfifo copy/1/status
            try_ proc-pid ipcsweep list --proc /mnt/copy
            rm copy/sysvipc/sem && mkfifo copy/sysvipc/sem
            try_ proc-sysvipc ipcsweep list --proc /mnt/copy
            ls -l big bigstate | awk '{print $5}' > "$OUT/sizes"
            """)
        for f in ["zero", "random", "fifo"] {
            try assertOneLineError(s, "pid-\(f)", ["--pidfile /mnt/\(f)", "not a regular file"])
        }
        try assertOneLineError(s, "pid-dir", ["--pidfile /mnt/dir", "a directory"])
        try assertOneLineError(s, "pid-big", ["--pidfile /mnt/big", "larger than the 4 KiB"])
        try assertOneLineError(s, "pid-stdin", ["--pidfile /dev/stdin", "not a regular file (a FIFO)"])
        for f in ["zero", "fifo", "dir"] {
            try assertOneLineError(s, "state-\(f)", ["--state /mnt/\(f)", "not a regular file", "left untouched"])
        }
        try assertOneLineError(s, "state-bigstate", ["--state /mnt/bigstate", "larger than the 32 MiB"])
        try assertOneLineError(s, "state-stdin", ["--state /dev/stdin", "not a regular file (a FIFO)"])
        try assertOneLineError(s, "proc-pid", ["status", "not a regular file (a FIFO)", "--proc /mnt/copy"])
        try assertOneLineError(s, "proc-pid", ["cannot read 1/status:"])  // the process's file, by its pid
        try assertOneLineError(s, "proc-sysvipc", ["/mnt/copy/sysvipc/sem", "not a regular file (a FIFO)"])
        XCTAssertEqual(try s.file("sizes"), "52428800\n41943040\n")
    }

    func testUnreadablePidfileIsAnErrorWhileMissingOrStaleIsAWarnedEmptyScope() throws {
        let s = try run("""
            echo 1 > secret
            chmod 600 secret
            try_ eacces setpriv --reuid=65534 --regid=65534 --clear-groups ipcsweep list --pidfile /mnt/secret
            # EIO: the tool's own /proc/self/mem (a regular file) read from offset 0, which no process maps.
            try_ eio ipcsweep list --pidfile /proc/self/mem
            try_ state-eio ipcsweep audit --state /proc/self/mem
            echo hello > words
            try_ words ipcsweep list --pidfile /mnt/words
            try_ missing ipcsweep list --pidfile /mnt/missing.pid
            : > empty
            try_ empty ipcsweep list --pidfile /mnt/empty
            sh -c 'echo $$ > /mnt/stale.pid'
            try_ stale ipcsweep list --pidfile /mnt/stale.pid
            """)
        try assertOneLineError(s, "eacces", ["--pidfile /mnt/secret", "Permission denied"])
        try assertOneLineError(s, "eio", ["--pidfile /proc/self/mem", "Input/output error"])
        try assertOneLineError(s, "state-eio", ["/proc/self/mem", "Input/output error"])
        try assertOneLineError(s, "words", ["--pidfile /mnt/words", "does not hold a pid", "hello"])
        for (name, what) in [("missing", "does not exist"), ("empty", "is empty"), ("stale", "not running")] {
            XCTAssertEqual(try rc(s, name), 0, text(s, "\(name).err"))
            let err = try s.file("\(name).err")
            XCTAssertTrue(err.contains("warning") && err.contains(what) && err.contains("scope of this pidfile is empty"), err)
        }
    }

    func testEmptyOptionValuesAreUsageErrorsNamingTheOption() throws {
        let s = try run("""
            try_ unit ipcsweep list --unit ''
            try_ unit-eq ipcsweep orphans --unit=
            try_ exe ipcsweep list --exe ''
            try_ cgroup ipcsweep list --cgroup ''
            try_ pidfile ipcsweep clean --dry-run --pidfile ''
            try_ user ipcsweep list --user ''
            try_ proc ipcsweep list --proc ''
            try_ state ipcsweep audit --state ''
            try_ output ipcsweep audit --output ''
            try_ save ipcsweep clean --dry-run --save-to ''
            try_ lock ipcsweep clean --dry-run --lock-file ''
            try_ restore ipcsweep restore ''
            """)
        for (name, option) in [("unit", "--unit"), ("unit-eq", "--unit"), ("exe", "--exe"), ("cgroup", "--cgroup"),
                               ("pidfile", "--pidfile"), ("user", "--user"), ("proc", "--proc"), ("state", "--state"),
                               ("output", "--output"), ("save", "--save-to"), ("lock", "--lock-file"), ("restore", "FILE")] {
            let err = try s.file("\(name).err")
            XCTAssertEqual(try rc(s, name), 64, "\(name): \(err)")
            // ArgumentParser itself rejects `--unit=` ("Missing value for '--unit <NAME>'"); ipcsweep the rest.
            XCTAssertTrue(err.contains("\(option) needs a value") || err.contains("Missing value for '\(option) "), "\(name): \(err)")
        }
    }

    // MARK: standard output

    /// Runs CMD with standard output on a pty whose master is closed (write gives EIO) or a pipe whose read end is
    /// closed (EPIPE); writes $OUT/NAME.rc (negative: killed by that signal) and $OUT/NAME.err.
    static let brokenOutput = """
        broken_() {
            /usr/bin/python3 - "$@" <<'PY'
        import os, pty, subprocess, sys
        kind, name, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
        if kind == "eio":
            m, w = pty.openpty()
            os.close(m)
        else:
            r, w = os.pipe()
            os.close(r)
        p = subprocess.run(cmd, stdout=w, stderr=subprocess.PIPE, timeout=10)
        open(os.environ["OUT"] + "/" + name + ".rc", "w").write(str(p.returncode))
        open(os.environ["OUT"] + "/" + name + ".err", "wb").write(p.stderr)
        PY
        }

        """

    func testStandardOutputWriteErrorsAreOneLineAndExitOneWhileAClosedPipeEndsQuietly() throws {
        let s = try run(Self.brokenOutput + """
            mknod full c 1 7
            # ipcsweep ran once before the objects, as on a host after boot: its clock pair then covers them, and
            # no clock warning joins the one error line (objects made in the second before the pair drew one).
            ipcsweep list > /dev/null
            ipcsweep-testkit sem-create --key 0x1001 --as-uid 33 > /dev/null
            ipcsweep-testkit shm-create --key 0x2001 --as-uid 33 > /dev/null
            ipcsweep-testkit msg-create --key 0x3001 --as-uid 33 > /dev/null
            try_ list ipcsweep list > /mnt/full
            try_ json ipcsweep list --format json > /mnt/full
            try_ csv ipcsweep list --format csv > /mnt/full
            try_ orphans ipcsweep orphans > /mnt/full
            try_ show ipcsweep show 0 > /mnt/full
            try_ audit ipcsweep audit > /mnt/full
            try_ audit-json ipcsweep audit --format json > /mnt/full
            try_ prometheus ipcsweep audit --format prometheus > /mnt/full
            try_ help ipcsweep --help > /mnt/full
            # A real full disk: a small tmpfs filled to the last block.
            mkdir small
            mount -t tmpfs -o size=64k tmpfs /mnt/small
            dd if=/dev/zero of=/mnt/small/fill bs=4096 2> /dev/null || true
            try_ disk ipcsweep list --format json > /mnt/small/list.json
            broken_ eio eio ipcsweep list --format json
            broken_ eio eio-prom ipcsweep audit --format prometheus
            # A closed pipe, with plenty to write (`| head` after the first line).
            ipcsweep-testkit sem-create --count 2000 > /dev/null
            broken_ pipe pipe ipcsweep list
            broken_ pipe pipe-json ipcsweep list --format json
            broken_ pipe pipe-csv ipcsweep list --format csv
            set +e; ipcsweep list | head -n 1 > /dev/null; echo "${PIPESTATUS[0]}" > "$OUT/head.rc"; set -e
            """)
        for name in ["list", "json", "csv", "orphans", "show", "audit", "audit-json", "prometheus", "help", "disk"] {
            try assertOneLineError(s, name, ["cannot write to standard output", "No space left on device (ENOSPC)"])
        }
        for name in ["eio", "eio-prom"] {
            try assertOneLineError(s, name, ["cannot write to standard output", "Input/output error (EIO)"])
        }
        for name in ["pipe", "pipe-json", "pipe-csv"] {
            XCTAssertEqual(try s.file("\(name).rc"), "-13", "\(name): ended by SIGPIPE, like ls | head")
            XCTAssertEqual(try s.file("\(name).err"), "", "\(name): quietly")
        }
        XCTAssertEqual(try s.file("head.rc"), "141\n", "the shell sees 128 + SIGPIPE, as for other tools")
    }

    func testCleanThatCannotWriteItsReportSaysWhatItRemovedOnStandardErrorAndInTheJournal() throws {
        let s = try run(Self.brokenOutput + Scenario.syslogListener + """
            mknod full c 1 7
            ipcsweep-testkit sem-create --key 0x1001 --as-uid 33 > /dev/null
            ipcsweep-testkit sem-create --key 0x1002 --as-uid 33 > /dev/null
            try_ full ipcsweep clean --yes > /mnt/full
            ipcs -s | grep -c '^0x' > "$OUT/left-full" || true
            ipcsweep-testkit sem-create --key 0x1003 --as-uid 33 > /dev/null
            broken_ pipe pipe ipcsweep clean --yes --format json
            ipcs -s | grep -c '^0x' > "$OUT/left-pipe" || true
            wait $LISTENER
            """)
        try assertOneLineError(s, "full", ["clean removed 2 objects", "could not write its report", "No space left on device"])
        XCTAssertEqual(try s.file("left-full"), "0\n", "the removals happened")
        XCTAssertEqual(try s.file("pipe.rc"), "-13")
        XCTAssertEqual(try s.file("pipe.err"), "", "a closed pipe ends quietly")
        XCTAssertEqual(try s.file("left-pipe"), "0\n")
        let log = try s.file("syslog")
        let lost = log.split(separator: "\n").filter { $0.contains("could not write its report") }
        XCTAssertEqual(lost.count, 2, log)
        guard lost.count == 2 else { return }
        XCTAssertTrue(lost[0].hasPrefix("<83>") && lost[0].contains("clean removed 2 objects") && lost[0].contains("ENOSPC"), log)
        XCTAssertTrue(lost[1].contains("clean removed 1 object ") && lost[1].contains("EPIPE"), log)
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("removed semaphore set") }.count, 3, log)
    }

    // MARK: PERMS and STATUS; --source auto

    func testPermsAreThePermissionBitsAndSegmentFlagsAreAStatus() throws {
        let s = try run("""
            M=$(ipcsweep-testkit shm-create --key 0x2001 --size 4096 --mode 0640)
            ipcsweep-testkit shm-attach --id $M --hold &
            until ipcs -m -i $M | grep -q 'nattch=1'; do sleep 0.05; done
            /usr/bin/python3 -c 'import ctypes, sys; sys.exit(ctypes.CDLL(None).shmctl(int(sys.argv[1]), 11, None))' $M
            ipcrm -m $M
            echo $M > "$OUT/m"
            ipcsweep list --type shm > "$OUT/list.txt"
            ipcsweep list --type shm --format csv > "$OUT/list.csv"
            ipcsweep list --type shm --format json > "$OUT/list.json"
            ipcsweep show --type shm $M > "$OUT/show.txt"
            ipcs -m > "$OUT/ipcs.txt"
            """)
        let m = try s.file("m").trimmingCharacters(in: .whitespacesAndNewlines)
        let table = try s.file("list.txt")
        XCTAssertNotNil(try s.file("ipcs.txt").range(of: "dest +locked", options: .regularExpression), text(s, "ipcs.txt"))
        let header = try XCTUnwrap(table.split(separator: "\n").first)
        XCTAssertTrue(header.contains("PERMS") && header.contains("STATUS"), table)
        let row = try XCTUnwrap(table.split(separator: "\n").dropFirst().first).split(separator: " ").map(String.init)
        XCTAssertTrue(row.contains("0640") && row.contains("dest,locked"), table)
        XCTAssertFalse(table.contains("3640"), "no flag bits in PERMS: \(table)")
        XCTAssertTrue(try s.file("list.csv").contains(",0640,\"dest,locked\","), text(s, "list.csv"))
        let o = try XCTUnwrap(try s.objects("list.json")["shm:\(m)"])
        XCTAssertEqual(o["perms"] as? String, "0640")
        XCTAssertEqual(o["mode"] as? Int, 0o3640, "JSON's mode is the full mode word")
        XCTAssertEqual(o["markedForRemoval"] as? Bool, true)
        XCTAssertEqual(o["locked"] as? Bool, true)
        let show = try s.file("show.txt")
        XCTAssertTrue(show.contains("perms           0640 rw-r-----"), show)
        XCTAssertTrue(show.contains("status          dest,locked: marked for removal"), show)
    }

    /// Runs a command as uid 65534 with a seccomp filter that makes SEM_STAT_ANY/SHM_STAT_ANY/MSG_STAT_ANY fail
    /// with EINVAL, as a kernel before Linux 4.17 (which does not know those commands) does.
    static let withoutStatAny = """
        cat > /mnt/nostatany.py <<'PY'
        import ctypes, os, struct, sys
        libc = ctypes.CDLL(None, use_errno=True)
        def stmt(code, k): return struct.pack("HBBI", code, 0, 0, k)
        def jump(code, k, jt, jf): return struct.pack("HBBI", code, jt, jf, k)
        LD, JEQ, RET, AND = 0x20, 0x15, 0x06, 0x54
        ALLOW, DENY = 0x7fff0000, 0x00050000 | 22
        prog = [
            stmt(LD, 4), jump(JEQ, 0xc000003e, 1, 0), stmt(RET, ALLOW),
            stmt(LD, 0),
            jump(JEQ, 66, 3, 0),   # semctl: cmd is args[2]
            jump(JEQ, 31, 7, 0),   # shmctl: cmd is args[1]
            jump(JEQ, 71, 11, 0),  # msgctl: cmd is args[1]
            stmt(RET, ALLOW),
            stmt(LD, 32), stmt(AND, 0xfffffeff), jump(JEQ, 20, 0, 1), stmt(RET, DENY), stmt(RET, ALLOW),
            stmt(LD, 24), stmt(AND, 0xfffffeff), jump(JEQ, 15, 0, 1), stmt(RET, DENY), stmt(RET, ALLOW),
            stmt(LD, 24), stmt(AND, 0xfffffeff), jump(JEQ, 13, 0, 1), stmt(RET, DENY), stmt(RET, ALLOW),
        ]
        buf = ctypes.create_string_buffer(b"".join(prog))
        class fprog(ctypes.Structure): _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        p = fprog(len(prog), ctypes.cast(buf, ctypes.c_void_p))
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        assert libc.prctl(38, 1, 0, 0, 0) == 0
        assert libc.prctl(22, 2, ctypes.byref(p), 0, 0) == 0, ctypes.get_errno()
        os.execvp(sys.argv[1], sys.argv[1:])
        PY

        """

    func testSourceAutoWithoutStatAnyFallsBackToProcSysvipcWhichListsEveryObject() throws {
        #if !arch(x86_64)
        throw XCTSkip("the seccomp filter knows x86_64 syscall numbers")
        #endif
        // As on a host: root ran ipcsweep after boot (its clock pair is kept), then a user runs it.
        let s = try run(Self.withoutStatAny + """
            ipcsweep list > /dev/null
            ipcsweep-testkit sem-create --key 0x1001 --as-uid 33 > /dev/null
            ipcsweep-testkit sem-create --key 0x1002 --as-uid 33 --mode 0644 > /dev/null
            ipcsweep-testkit shm-create --key 0x2001 --as-uid 33 > /dev/null
            ipcsweep-testkit msg-create --key 0x3001 --as-uid 33 > /dev/null
            B=$(command -v ipcsweep)
            /usr/bin/python3 /mnt/nostatany.py "$B" list --format json > "$OUT/auto.json" 2> "$OUT/auto.err"
            /usr/bin/python3 /mnt/nostatany.py "$B" list --source syscall --format json > "$OUT/syscall.json" 2> "$OUT/syscall.err"
            /usr/bin/python3 /mnt/nostatany.py "$B" audit --no-posix --format json > "$OUT/audit.json" 2> /dev/null
            """)
        // The filter really hides the unreadable objects from the syscalls...
        XCTAssertEqual(Set(try s.objects("syscall.json").keys), ["sem:1"], text(s, "syscall.err"))
        XCTAssertTrue(try s.file("syscall.err").contains("not readable with SEM_STAT"))
        // ...and auto reads /proc/sysvipc instead, which lists them all, without a warning.
        XCTAssertEqual(try s.json("auto.json")["source"] as? String, "proc")
        XCTAssertEqual(Set(try s.objects("auto.json").keys), ["sem:0", "sem:1", "shm:0", "msg:0"])
        XCTAssertEqual(try s.file("auto.err"), "")
        let counts = try XCTUnwrap(try s.json("audit.json")["counts"] as? [String: Any], text(s, "audit.json"))
        XCTAssertEqual(counts["total"] as? Int, 4, "audit counts every object: \(counts)")
        XCTAssertEqual((counts["byKind"] as? [String: Any])?["sem"] as? Int, 2)
    }
}
