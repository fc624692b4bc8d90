import Foundation
import XCTest

/// Write leases with real processes and the real kernel (issue 17), inside private IPC, PID and mount
/// namespaces with a private /dev/shm and mqueue mount: a holder the tool cannot see is in use by the kernel's
/// own answer, a non-root user cleans their own orphans, and clean puts a name back when a process opens the
/// object while it is being removed. (fs.leases-enable is one sysctl for the whole machine, not per namespace:
/// the "leases unavailable" path is tested against the fake kernel, `PosixLeaseTests`.)
final class LeaseScenarioTests: XCTestCase {
    static let prelude = PosixScenarioTests.prelude + """
        user() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }

        """

    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Self.prelude + script, file: file, line: line)
    }

    func evidenceKinds(_ o: [String: Any]?) -> [String] {
        (o?["evidence"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
    }

    func reasons(_ o: [String: Any]?) -> String { (o?["reasons"] as? [String] ?? []).joined(separator: "; ") }

    /// /proc mounted hidepid=2: uid 1000 sees only its own processes. Its file was passed by SCM_RIGHTS to a
    /// process of uid 65534 (which could never open it: mode 0600) and the sender exited. Run as uid 1000 the
    /// tool sees no holder, but the kernel refuses the lease: in use, and clean keeps it. Its other file, which
    /// nobody holds, stays unknown for uid 1000: hidden processes remain a blind spot for the possible-holder rule.
    func testAHolderHiddenByHidepidWithAPassedDescriptorIsInUse() throws {
        let s = try run("""
            mount -o remount,hidepid=2 /proc
            cat > /run/h/recv.py <<'PY'
            import os, socket, sys, time
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(1)
            open(sys.argv[2], "w").close()
            c, _ = s.accept()
            msg, fds, flags, addr = socket.recv_fds(c, 16, 1)
            with open(sys.argv[3], "w") as f: f.write(str(os.getpid()))
            time.sleep(600)
            PY
            cat > /run/h/send.py <<'PY'
            import os, socket, sys
            fd = os.open("/dev/shm/" + sys.argv[2], os.O_CREAT | os.O_RDWR, 0o600)
            os.ftruncate(fd, 4096)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])
            socket.send_fds(s, [b"x"], [fd])
            PY
            chmod 644 /run/h/*.py
            nobody /usr/bin/python3 /run/h/recv.py /run/h/sock /run/h/listening /run/h/received &
            wait_for /run/h/listening
            user /usr/bin/python3 /run/h/send.py /run/h/sock passed
            user sh -c 'umask 077; echo data > /dev/shm/unpassed'
            wait_for /run/h/received
            cp /run/h/received "$OUT/holder"
            user ipcsweep list --type posix --format json > "$OUT/user.json"
            status user ipcsweep clean --yes --type posix --format json > "$OUT/clean.json"
            ls /dev/shm > "$OUT/left"
            ipcsweep list --type posix --format json > "$OUT/root.json"
            kill $(cat /run/h/received)
            """)
        let user = try s.posixObjects("user.json")
        let passed = user["posix-shm:passed"]
        XCTAssertEqual(passed?["verdict"] as? String, "in-use", "\(passed ?? [:])")
        XCTAssertEqual(evidenceKinds(passed).first, "open-elsewhere")
        XCTAssertTrue(reasons(passed).hasPrefix("held by a process this tool cannot see"), reasons(passed))
        XCTAssertTrue(Scenario.holders(passed).isEmpty, "no holder uid 1000 can name")
        let unpassed = user["posix-shm:unpassed"]
        XCTAssertEqual(unpassed?["verdict"] as? String, "unknown", "\(unpassed ?? [:])")
        XCTAssertTrue(evidenceKinds(unpassed).contains("lease-granted") && reasons(unpassed).contains("hidepid="), reasons(unpassed))
        XCTAssertEqual(try s.file("left"), "passed\nunpassed\n", "clean as uid 1000 removed neither")
        XCTAssertEqual(try s.statusLines(), [0])
        // Root is exempt from hidepid: it names the process that received the descriptor.
        let root = try s.posixObjects("root.json")["posix-shm:passed"]
        XCTAssertEqual(root?["verdict"] as? String, "in-use")
        let holder = Int(try s.file("holder").trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(Scenario.holders(root).first?["pid"] as? Int, holder)
        XCTAssertEqual(Scenario.holders(root).first?["uid"] as? Int, 65534)
    }

    /// A researcher (uid 1000, not root) whose killed job left 50 files, while another job of theirs holds 5 and
    /// root processes run in the namespace (one holding a root file; their descriptors are unreadable to uid
    /// 1000), plus a file of another user: `orphans` and `clean --name 'torch_*'` as uid 1000 decide their own
    /// files by lease and remove exactly the 50.
    func testANonRootUserCleansExactlyTheirOwnOrphans() throws {
        let s = try run("""
            /usr/bin/python3 -c '
            import sys, time
            f = open("/dev/shm/root_state", "w+b"); f.write(b"r"); f.flush()
            open(sys.argv[1], "w").close(); time.sleep(600)' /run/h/root.ready &
            ROOT_HOLDER=$!
            wait_for /run/h/root.ready
            # The killed job's files: their creator is gone.
            user /usr/bin/python3 -c '
            import os
            for i in range(50):
                fd = os.open("/dev/shm/torch_%d" % i, os.O_CREAT | os.O_RDWR, 0o600); os.ftruncate(fd, 4096); os.close(fd)
            '
            nobody sh -c 'umask 077; echo theirs > /dev/shm/torch_of_another_user'
            sleep 1.2
            # The job still running, started from a shell (not from the namespace's init, which would make it look
            # re-parented: a possible heir of the files above): it holds five files of its own.
            ( user /usr/bin/python3 -c '
            import sys, time
            keep = [open("/dev/shm/torch_live_%d" % i, "w+b") for i in range(5)]
            for f in keep: f.write(b"x"); f.flush()
            open(sys.argv[1], "w").close(); time.sleep(600)' /run/h/live.ready & wait ) &
            wait_for /run/h/live.ready
            user ipcsweep orphans --type posix --format json > "$OUT/orphans.json"
            user ipcsweep list --type posix --format json > "$OUT/list.json"
            status user ipcsweep clean --yes --name 'torch_*' --format json > "$OUT/clean.json"
            ls /dev/shm | sort > "$OUT/left"
            pkill -u 1000 python3 || true
            kill $ROOT_HOLDER
            """)
        let list = try s.posixObjects("list.json")
        for i in 0..<50 {
            let o = list["posix-shm:torch_\(i)"]
            XCTAssertEqual(o?["verdict"] as? String, "orphaned", "torch_\(i): \(reasons(o))")
        }
        XCTAssertTrue(evidenceKinds(list["posix-shm:torch_0"]).contains("lease-granted"))
        for i in 0..<5 {
            let o = list["posix-shm:torch_live_\(i)"]
            XCTAssertEqual(o?["verdict"] as? String, "in-use", "torch_live_\(i): \(reasons(o))")
            XCTAssertEqual(Scenario.holders(o).first?["uid"] as? Int, 1000, "the user's own process, named")
        }
        let other = list["posix-shm:torch_of_another_user"]
        XCTAssertEqual(other?["verdict"] as? String, "unknown", "not theirs to lease: \(reasons(other))")
        XCTAssertEqual(list["posix-shm:root_state"]?["verdict"] as? String, "unknown")
        let orphans = try s.posixObjects("orphans.json")
        XCTAssertEqual(Set(orphans.keys), Set((0..<50).map { "posix-shm:torch_\($0)" }))
        let outcomes = try s.cleanOutcomes("clean.json")
        XCTAssertEqual(outcomes.filter { $0.value == "removed" }.count, 50, "\(outcomes)")
        XCTAssertEqual(Set(outcomes.filter { $0.value == "removed" }.keys), Set((0..<50).map { "posix-shm:torch_\($0)" }))
        XCTAssertEqual(try s.statusLines(), [0])
        XCTAssertEqual(try s.file("left"), (["root_state", "torch_of_another_user"] + (0..<5).map { "torch_live_\($0)" })
            .sorted().joined(separator: "\n") + "\n")
    }

    /// The race hook opens a file (as another process would: shm_open by name) after clean's re-check and before
    /// its removal, and a queue the same way: clean reads its broken lease back, puts the file's name back (the
    /// opener's descriptor then names it, not "(deleted)"), leaves the queue, and reports both; the rest go.
    func testAnOpenBetweenTheRecheckAndTheUnlinkRestoresTheName() throws {
        let s = try run("""
            cat > /run/h/opener.py <<'PY'
            import os, sys, time
            fd = os.open(sys.argv[1], os.O_RDONLY)
            with open(sys.argv[2], "w") as f: f.write(os.readlink("/proc/self/fd/%d" % fd))
            time.sleep(600)
            PY
            chmod 644 /run/h/opener.py
            nobody /usr/bin/python3 -c '
            import ctypes, os
            from multiprocessing import shared_memory, resource_tracker
            for n in ("race_a", "race_b", "race_c"):
                s = shared_memory.SharedMemory(name=n, create=True, size=4096)
                resource_tracker.unregister(s._name, "shared_memory")
            libc = ctypes.CDLL(None, use_errno=True)
            for n in (b"/race_q", b"/race_r"):
                q = libc.mq_open(n, os.O_CREAT | os.O_RDWR, 0o600, None)
                if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
                os.close(q)
            '
            sleep 1.2
            # Between the re-check and the removal of race_b and race_q: a process opens it, and waits for the lease.
            export IPCSWEEP_TEST_BEFORE_UNLINK='case "$IPCSWEEP_TEST_NAME" in race_b|race_q)
                setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 /run/h/opener.py "$IPCSWEEP_TEST_PATH" /run/h/opened.$IPCSWEEP_TEST_NAME &
                for i in $(seq 500); do grep -q BREAKING /proc/locks && break; sleep 0.01; done
                grep -q BREAKING /proc/locks && touch /run/h/broke.$IPCSWEEP_TEST_NAME;;
            esac'
            # The openers are re-parented and start within the default inheritance window of the objects' creation:
            # a window of 1 s keeps the others orphaned (this test is about the opened ones).
            status ipcsweep clean --yes --inherit-window 1s --name 'race_*' --format json > "$OUT/clean.json"
            unset IPCSWEEP_TEST_BEFORE_UNLINK
            wait_for /run/h/opened.race_b; wait_for /run/h/opened.race_q
            cat /run/h/opened.race_b > "$OUT/opener-b"; cat /run/h/opened.race_q > "$OUT/opener-q"
            ls /run/h | grep broke > "$OUT/broke"
            ls -A /dev/shm /run/mqueue > "$OUT/left"
            ipcsweep list --type posix --format json > "$OUT/after.json"
            pkill -u 65534 python3 || true
            """)
        let o = try s.cleanOutcomes("clean.json")
        XCTAssertEqual(o["posix-shm:race_a"], "removed")
        XCTAssertEqual(o["posix-shm:race_c"], "removed")
        XCTAssertEqual(o["posix-mq:race_r"], "removed")
        XCTAssertEqual(o["posix-shm:race_b"], "skipped")
        XCTAssertEqual(o["posix-mq:race_q"], "skipped")
        XCTAssertEqual(try s.file("broke"), "broke.race_b\nbroke.race_q\n", "each opener was waiting for the lease")
        let results = try s.json("clean.json")["results"] as? [[String: Any]] ?? []
        let b = results.first { $0["name"] as? String == "race_b" }
        XCTAssertTrue((b?["reason"] as? String ?? "").hasPrefix("opened during removal, restored: a process opened it while it was being removed: its name was restored"), "\(b ?? [:])")
        let q = results.first { $0["name"] as? String == "race_q" }
        XCTAssertTrue((q?["reason"] as? String ?? "").hasPrefix("opened during removal, restored: a process opened it while it was being removed: it was left in place"), "\(q ?? [:])")
        XCTAssertEqual((try s.json("clean.json")["summary"] as? [String: Any])?["openedDuringRemoval"] as? Int, 2)
        XCTAssertEqual(try s.statusLines(), [4])
        XCTAssertEqual(try s.file("opener-b"), "/dev/shm/race_b", "the opener has the file under its name, not an unlinked one")
        XCTAssertEqual(try s.file("opener-q"), "/run/mqueue/race_q")
        XCTAssertEqual(try s.file("left"), "/dev/shm:\nrace_b\n\n/run/mqueue:\nrace_q\n")
        let after = try s.posixObjects("after.json")
        XCTAssertEqual(after["posix-shm:race_b"]?["verdict"] as? String, "in-use")
        XCTAssertEqual(after["posix-mq:race_q"]?["verdict"] as? String, "in-use")
    }

    /// Queues answer by lease as files do: a process of a sibling pid namespace (invisible) holds a queue and a
    /// file; even where the administrator wrongly states that every process is visible, both are in use by the
    /// kernel's answer and clean keeps them; the unheld queue and file are orphaned with a granted lease and go.
    func testQueuesAndFilesHeldInASiblingPidNamespaceAreInUseByLease() throws {
        let s = try run("""
            unshare --pid --fork --mount-proc setpriv --reuid 1000 --regid 1000 --clear-groups /usr/bin/python3 -c '
            import ctypes, os, sys, time
            libc = ctypes.CDLL(None, use_errno=True)
            held = libc.mq_open(b"/held_q", os.O_CREAT | os.O_RDWR, 0o600, None)
            if held < 0: raise OSError(ctypes.get_errno(), "mq_open")
            os.close(libc.mq_open(b"/free_q", os.O_CREAT | os.O_RDWR, 0o600, None))
            f = open("/dev/shm/held_f", "w+b"); f.write(b"x"); f.flush()
            open("/dev/shm/free_f", "w").close()
            open(sys.argv[1], "w").close()
            time.sleep(600)
            ' /run/h/c.ready &
            C=$!
            wait_for /run/h/c.ready
            sleep 1.2
            unshare --pid --fork --mount-proc ipcsweep list --type posix --format json > "$OUT/a.json"
            status unshare --pid --fork --mount-proc ipcsweep clean --yes --type posix --format json > "$OUT/a-clean.json"
            ls -A /dev/shm /run/mqueue > "$OUT/left"
            kill -9 $(cat /proc/$C/task/$C/children); wait $C || true
            """)
        let a = try s.posixObjects("a.json")
        for name in ["posix-mq:held_q", "posix-shm:held_f"] {
            XCTAssertEqual(a[name]?["verdict"] as? String, "in-use", "\(name): \(reasons(a[name]))")
            XCTAssertEqual(evidenceKinds(a[name]).first, "open-elsewhere", name)
        }
        for name in ["posix-mq:free_q", "posix-shm:free_f"] {
            XCTAssertEqual(a[name]?["verdict"] as? String, "orphaned", "\(name): \(reasons(a[name]))")
            XCTAssertTrue(evidenceKinds(a[name]).contains("lease-granted"), name)
        }
        XCTAssertEqual(try s.file("left"), "/dev/shm:\nheld_f\n\n/run/mqueue:\nheld_q\n")
        XCTAssertEqual(try s.statusLines(), [0])
    }

    /// A granted write lease is the kernel's answer to "open or mapped anywhere?", so no process's descriptors are
    /// read for that object: not by `list` (thirty orphaned files, every lease granted: no `fd` directory opened),
    /// not at clean's plan, and not again at its re-checks, even after the race hook ran before each one (the hook
    /// may have touched the objects). Once the hook opens one of the files, as another program would: that one's
    /// lease is refused, so clean reads every process's descriptors then, names the opener and keeps the file; the
    /// other 29 go. Counted with strace: one read of the namespace's processes in all, where clean read them
    /// again after each hook before (31 times). From the host (`--namespace`, every process of the machine in view),
    /// `list` and `clean --dry-run` of the leased files read no process's descriptors either.
    func testAGrantedLeaseSparesTheReadOfEveryProcesssDescriptors() throws {
        let s = try run("""
            nobody /usr/bin/python3 -c '
            import os
            for i in range(30): os.close(os.open("/dev/shm/lease_%02d" % i, os.O_CREAT | os.O_RDWR, 0o600))
            '
            # Processes of another user, which cannot reach the files: not possible holders.
            for i in 1 2 3; do user sleep 600 & done
            sleep 3.2
            trace() { strace -f -qq --seccomp-bpf -e trace=openat -o "$1" "${@:2}"; }
            trace /run/h/list.trace ipcsweep list --type posix --format json > "$OUT/list.json"
            outside --trace-openat="$OUT/host-list.trace" list --type posix --format json > "$OUT/host-list.json"
            outside --trace-openat="$OUT/host-clean.trace" clean --dry-run --type posix --format json > "$OUT/host-clean.json" || true
            # The opener waits for the hook's word (it is not the tool's child, which strace -f would wait for).
            nobody /usr/bin/python3 -c '
            import os, sys, time
            while not os.path.exists("/run/h/go"): time.sleep(0.02)
            fd = os.open("/dev/shm/lease_15", os.O_RDWR)
            open("/run/h/r", "w").close(); time.sleep(600)' &
            OPENER=$!
            ls -d /proc/[0-9]* | wc -l > "$OUT/procs"
            export IPCSWEEP_TEST_BEFORE_RMID='if [ "$IPCSWEEP_TEST_NAME" = lease_15 ]; then touch /run/h/go; while [ ! -e /run/h/r ]; do sleep 0.02; done; fi'
            status trace /run/h/clean.trace ipcsweep clean --yes --inherit-window 1s --name 'lease_*' --format json > "$OUT/clean.json"
            unset IPCSWEEP_TEST_BEFORE_RMID
            grep -c 'openat([0-9]*, "fd"' /run/h/list.trace > "$OUT/list.fd" || true
            grep -c 'openat([0-9]*, "fd"' /run/h/clean.trace > "$OUT/clean.fd" || true
            ls /dev/shm > "$OUT/left"
            kill $OPENER $(jobs -p) 2>/dev/null || true
            """)
        let listed = try s.posixObjects("list.json")
        XCTAssertEqual(listed.count, 30)
        for (name, o) in listed {
            XCTAssertEqual(o["verdict"] as? String, "orphaned", "\(name): \(reasons(o))")
            XCTAssertEqual(evidenceKinds(o), ["no-possible-holder", "lease-granted"], name)
        }
        let o = try s.cleanOutcomes("clean.json")
        XCTAssertEqual(o.count, 30)
        for i in 0..<30 where i != 15 {
            XCTAssertEqual(o[String(format: "posix-shm:lease_%02d", i)], "removed", "lease_\(i)")
        }
        let r = try s.json("clean.json")["results"] as? [[String: Any]] ?? []
        let held = r.first { $0["name"] as? String == "lease_15" }
        XCTAssertEqual(held?["outcome"] as? String, "skipped")
        XCTAssertTrue((held?["reason"] as? String ?? "").hasPrefix("changed since planned: now held by pid"), "\(held ?? [:])")
        XCTAssertEqual(try s.file("left"), "lease_15\n")
        XCTAssertEqual(try s.statusLines(), [4])
        func count(_ name: String) throws -> Int { Int(try s.file(name).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        XCTAssertEqual(try count("list.fd"), 0, "every lease granted: list reads no process's descriptors")
        // From the host: the same files, leased through the namespace's root, and no descriptor read of any process.
        let host = try s.posixObjects("host-list.json")
        XCTAssertEqual(host.count, 30)
        for (name, o) in host { XCTAssertTrue(evidenceKinds(o).contains("lease-granted"), "\(name): \(reasons(o))") }
        let hostDry = try s.cleanOutcomes("host-clean.json")
        XCTAssertEqual(hostDry.count, 30, "planned and read again from the host")
        for file in ["host-list.trace", "host-clean.trace"] {
            let trace = try s.file(file)
            XCTAssertTrue(trace.contains(#""lease_15", O_RDONLY"#), "\(file): the trace shows the leases taken")
            XCTAssertFalse(trace.contains(#""fd", O_RDONLY"#), "\(file): a process's descriptors were read")
        }
        let procs = try count("procs"), clean = try count("clean.fd")
        XCTAssertGreaterThanOrEqual(procs, 5, "the shell, three sleeps and the opener")
        // One read of the processes alive then: these, strace, the tool and the hook's shell.
        XCTAssertTrue((1...procs + 3).contains(clean), "clean read \(clean) descriptor directories; \(procs) processes")
    }
}
