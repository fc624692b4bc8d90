import Foundation
import XCTest

/// POSIX IPC objects with real programs (Python's multiprocessing.shared_memory, sem_open and mq_open through
/// ctypes), always inside private IPC, PID and mount namespaces with a private tmpfs on /dev/shm and a private
/// mqueue mount (never the host's). Helpers that drop privileges run /usr/bin/python3 as uid 65534.
final class PosixScenarioTests: XCTestCase {
    static let prelude = """
        mount -t tmpfs tmpfs /run
        mount -t tmpfs -o size=64m tmpfs /dev/shm
        mkdir -p /run/mqueue && mount -t mqueue none /run/mqueue
        mkdir -p /run/h && chmod 1777 /run/h
        status() { set +e; "$@"; echo $? >> "$OUT/status"; set -e; }
        nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
        # wait_for FILE: until a helper has written its ready file (at most 10 s)
        wait_for() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done; echo "timeout waiting for $1" >&2; return 1; }
        cat > /run/h/shm.py <<'PY'
        # shm.py NAME SIZE TEXT READY: creates NAME with multiprocessing.shared_memory, writes TEXT, then waits.
        import sys, time
        from multiprocessing import shared_memory
        s = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=int(sys.argv[2]))
        s.buf[:len(sys.argv[3])] = sys.argv[3].encode()
        open(sys.argv[4], "w").close()
        time.sleep(600)
        PY
        cat > /run/h/posix.py <<'PY'
        # posix.py WHAT NAME READY: holds an object a given way, then waits.
        #   fd NAME      open /dev/shm/NAME and keep only the descriptor
        #   map NAME     map /dev/shm/NAME and close the descriptor (only the mapping remains)
        #   sem NAME     sem_open (glibc maps /dev/shm/sem.NAME and closes the descriptor)
        #   mq NAME      mq_open and keep the descriptor
        #   mqsend NAME  mq_open, send two messages, close, exit
        import ctypes, mmap, os, sys, time
        what, name, ready = sys.argv[1], sys.argv[2], sys.argv[3]
        libc = ctypes.CDLL(None, use_errno=True)
        libc.sem_open.restype = ctypes.c_void_p
        keep = []
        if what == "fd":
            keep.append(os.open("/dev/shm/" + name, os.O_RDWR))
        elif what == "map":
            # libc's mmap, not Python's (which keeps a duplicate of the descriptor)
            fd = os.open("/dev/shm/" + name, os.O_RDWR)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            p = libc.mmap(None, 4096, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
            if p in (None, ctypes.c_void_p(-1).value): raise OSError(ctypes.get_errno(), "mmap")
            keep.append(p)
            os.close(fd)
        elif what == "sem":
            keep.append(libc.sem_open(("/" + name).encode(), os.O_CREAT, 0o600, 1))
        elif what in ("mq", "mqsend"):
            q = libc.mq_open(("/" + name).encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
            if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
            if what == "mqsend":
                libc.mq_send(q, b"first message", 13, 1)
                libc.mq_send(q, b"\\x00binary\\xff", 8, 7)
                os.close(q)
                os._exit(0)
            keep.append(q)
        with open(ready, "w") as f: f.write(str(os.getpid()))
        time.sleep(600)
        PY
        chmod 644 /run/h/*.py

        """

    func run(_ script: String, allowFailure: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Self.prelude + script, allowFailure: allowFailure, file: file, line: line)
    }

    func posix(_ s: Scenario, _ name: String) throws -> [String: [String: Any]] { try s.posixObjects(name) }

    func holders(_ o: [String: Any]?) -> [[String: Any]] { Scenario.holders(o) }

    func outcomes(_ s: Scenario, _ name: String) throws -> [String: String] { try s.cleanOutcomes(name) }

    func statuses(_ s: Scenario) throws -> [Int] { try s.statusLines() }

    /// multiprocessing.shared_memory of a process of uid 65534, SIGKILLed with its resource tracker (its whole
    /// process group, as the OOM killer or systemd would): orphaned; clean --save-to saves its bytes, removes it.
    func testSharedMemoryOfKilledPythonIsOrphanedSavedAndRemoved() throws {
        let s = try run("""
            nobody setsid /usr/bin/python3 /run/h/shm.py psm_killed 8192 "bytes of a dead job" /run/h/ready &
            wait_for /run/h/ready
            ipcsweep list --format json --type posix > "$OUT/running.json"
            pgid=$(ps -o pgid= -p $(pgrep -u 65534 -f shm.py | head -n1) | tr -d ' ')
            kill -KILL -- -"$pgid"
            while pgrep -u 65534 >/dev/null; do sleep 0.1; done
            ipcsweep orphans --format json > "$OUT/killed.json"
            outside list --format json --type posix > "$OUT/killed-host.json"
            ipcsweep orphans --type posix > "$OUT/orphans.txt"
            status ipcsweep clean --dry-run --name 'psm_*' --format json > "$OUT/dry.json"
            ipcsweep clean --dry-run --name 'psm_*' > "$OUT/dry.txt" || true
            test -e /dev/shm/psm_killed && echo kept > "$OUT/kept-by-dry-run"
            mkdir -p /run/save
            status ipcsweep clean --yes --name 'psm_*' --save-to /run/save --format json > "$OUT/clean.json"
            test ! -e /dev/shm/psm_killed && echo gone > "$OUT/gone"
            cat /run/save/* > "$OUT/saved"
            """)
        let running = try posix(s, "running.json")["posix-shm:psm_killed"]
        XCTAssertEqual(running?["verdict"] as? String, "in-use")
        XCTAssertEqual(Set(holders(running).compactMap { $0["relation"] as? String }), ["fd", "mapping"])
        XCTAssertTrue(holders(running).allSatisfy { $0["uid"] as? Int == 65534 && $0["command"] as? String == "python3" })
        let killed = try posix(s, "killed.json")["posix-shm:psm_killed"]
        XCTAssertEqual(killed?["verdict"] as? String, "orphaned", "\(killed ?? [:])")
        // From the host too: this machine's pid 1 hides its descriptors and mappings even from root, but the write
        // lease the kernel granted makes "no descriptor or mapping anywhere" certain.
        let fromHost = try posix(s, "killed-host.json")["posix-shm:psm_killed"]
        XCTAssertEqual(fromHost?["verdict"] as? String, "orphaned", "from the host: \(fromHost ?? [:])")
        XCTAssertTrue((fromHost?["evidence"] as? [[String: Any]] ?? []).contains { $0["kind"] as? String == "lease-granted" },
                      "from the host: \(fromHost ?? [:])")
        XCTAssertEqual(killed?["size"] as? Int, 8192)
        XCTAssertEqual(killed?["path"] as? String, "/dev/shm/psm_killed")
        XCTAssertNotNil(killed?["inode"] as? Int)
        XCTAssertEqual(try outcomes(s, "dry.json")["posix-shm:psm_killed"], "planned")
        XCTAssertEqual(try s.file("kept-by-dry-run"), "kept\n")
        // clean's table names a POSIX object by its NAME (no ID or KEY column when every row is POSIX).
        let dryTable = try s.file("dry.txt").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(dryTable.first, ["TYPE", "NAME", "OWNER", "VERDICT", "OUTCOME", "REASON"], "\(dryTable)")
        XCTAssertEqual(dryTable.dropFirst().first?.prefix(2), ["posix-shm", "psm_killed"], "\(dryTable)")
        let table = try s.file("orphans.txt")
        XCTAssertTrue(table.contains("posix-shm") && table.contains("psm_killed") && table.contains("orphaned"), table)
        XCTAssertTrue(table.contains("1 orphaned, 0 suspect"), table)
        XCTAssertEqual(try outcomes(s, "clean.json")["posix-shm:psm_killed"], "removed")
        XCTAssertEqual(try statuses(s), [0, 0])
        XCTAssertEqual(try s.file("gone"), "gone\n")
        let saved = try s.file("saved")
        XCTAssertTrue(saved.contains("type posix-shm\nname psm_killed\n"), saved)
        // Its data extent (the page written), and the rest of its 8192 bytes a hole.
        XCTAssertTrue(saved.contains("extent 0 4096\nbytes of a dead job") && saved.contains("hole 4096 4096\nend\n"), saved)
    }

    /// Objects whose creator exited, held afterwards by a process that keeps only a descriptor, and by one that
    /// keeps only a mapping (both started after the last change, so only the descriptor or mapping tells):
    /// in-use with that process; clean leaves them; once the holders die they are orphaned.
    func testHeldByDescriptorOnlyOrMappingOnlyIsInUse() throws {
        let s = try run("""
            nobody /usr/bin/python3 -c '
            from multiprocessing import shared_memory, resource_tracker
            for n in ("fdonly", "maponly"):
                s = shared_memory.SharedMemory(name=n, create=True, size=4096)
                resource_tracker.unregister(s._name, "shared_memory")
            '
            sleep 3.2
            nobody /usr/bin/python3 /run/h/posix.py fd fdonly /run/h/r1 &
            nobody /usr/bin/python3 /run/h/posix.py map maponly /run/h/r2 &
            wait_for /run/h/r1; wait_for /run/h/r2; sleep 0.1
            cp /run/h/r1 "$OUT/fdpid"; cp /run/h/r2 "$OUT/mappid"
            ipcsweep list --format json --type posix-shm > "$OUT/held.json"
            outside list --format json --type posix-shm > "$OUT/held-host.json"
            status ipcsweep clean --yes --type posix --format json > "$OUT/clean.json"
            ls /dev/shm > "$OUT/after-clean"
            ls -l /proc/$(cat "$OUT/fdpid")/fd > "$OUT/fds"
            kill -KILL $(cat "$OUT/fdpid") $(cat "$OUT/mappid"); wait || true
            ipcsweep list --format json --type posix-shm > "$OUT/released.json"
            """)
        let held = try posix(s, "held.json")
        let fdPid = Int(try s.file("fdpid").trimmingCharacters(in: .whitespacesAndNewlines))
        let mapPid = Int(try s.file("mappid").trimmingCharacters(in: .whitespacesAndNewlines))
        let fdOnly = held["posix-shm:fdonly"]
        XCTAssertEqual(fdOnly?["verdict"] as? String, "in-use", "\(fdOnly ?? [:])")
        XCTAssertEqual(holders(fdOnly).count, 1)
        XCTAssertEqual(holders(fdOnly).first?["pid"] as? Int, fdPid)
        XCTAssertEqual(holders(fdOnly).first?["relation"] as? String, "fd")
        XCTAssertNotNil(holders(fdOnly).first?["fd"] as? Int)
        let mapOnly = held["posix-shm:maponly"]
        XCTAssertEqual(mapOnly?["verdict"] as? String, "in-use", "\(mapOnly ?? [:])")
        XCTAssertEqual(holders(mapOnly).count, 1)
        XCTAssertEqual(holders(mapOnly).first?["pid"] as? Int, mapPid)
        XCTAssertEqual(holders(mapOnly).first?["relation"] as? String, "mapping")
        XCTAssertNotNil(holders(mapOnly).first?["mapping"] as? String)
        let fromHost = try posix(s, "held-host.json")
        for name in ["posix-shm:fdonly", "posix-shm:maponly"] {
            XCTAssertEqual(fromHost[name]?["verdict"] as? String, "in-use", "from the host: \(fromHost[name] ?? [:])")
            XCTAssertEqual(holders(fromHost[name]).count, 1, "one holder, by its host pid")
        }
        XCTAssertEqual(try outcomes(s, "clean.json")["posix-shm:fdonly"], "skipped")
        XCTAssertEqual(try outcomes(s, "clean.json")["posix-shm:maponly"], "skipped")
        XCTAssertEqual(try s.file("after-clean"), "fdonly\nmaponly\n")
        let released = try posix(s, "released.json")
        XCTAssertEqual(released["posix-shm:fdonly"]?["verdict"] as? String, "orphaned")
        XCTAssertEqual(released["posix-shm:maponly"]?["verdict"] as? String, "orphaned")
    }

    /// A named semaphore held by a live process (sem_open maps it) and a queue held by a descriptor: in-use with
    /// that process. A queue with messages and no holder: orphaned, kept by clean unless --save-to (saved byte for
    /// byte, in delivery order) or --discard-messages.
    func testSemaphoreAndQueues() throws {
        let s = try run("""
            nobody /usr/bin/python3 /run/h/posix.py mqsend full_q /run/h/r3
            nobody /usr/bin/python3 /run/h/posix.py mqsend drop_q /run/h/r4
            # the holders start well after the unheld queues' last change (beyond the creation grace)
            sleep 3.2
            nobody /usr/bin/python3 /run/h/posix.py sem held_sem /run/h/r1 &
            nobody /usr/bin/python3 /run/h/posix.py mq held_q /run/h/r2 &
            wait_for /run/h/r1; wait_for /run/h/r2; sleep 0.1
            cp /run/h/r1 "$OUT/sempid"; cp /run/h/r2 "$OUT/mqpid"
            ipcsweep list --format json > "$OUT/list.json"
            status ipcsweep clean --yes --type posix-mq --format json > "$OUT/clean-kept.json"
            mkdir -p /run/save
            status ipcsweep clean --yes --name full_q --save-to /run/save --format json > "$OUT/clean-saved.json"
            status ipcsweep clean --yes --name drop_q --discard-messages --format json > "$OUT/clean-dropped.json"
            ipcsweep show held_q sem.held_sem > "$OUT/show.txt"
            status ipcsweep show no_such_object 2> "$OUT/show-missing.err"
            ls /run/mqueue > "$OUT/left"
            cp /run/save/posix-mq-full_q-* "$OUT/saved"
            """)
        let list = try posix(s, "list.json")
        let semPid = Int(try s.file("sempid").trimmingCharacters(in: .whitespacesAndNewlines))
        let mqPid = Int(try s.file("mqpid").trimmingCharacters(in: .whitespacesAndNewlines))
        let sem = list["posix-sem:held_sem"]
        XCTAssertEqual(sem?["verdict"] as? String, "in-use", "\(sem ?? [:])")
        XCTAssertEqual(sem?["path"] as? String, "/dev/shm/sem.held_sem")
        XCTAssertEqual(holders(sem).first?["pid"] as? Int, semPid)
        XCTAssertEqual(holders(sem).first?["relation"] as? String, "mapping")
        let held = list["posix-mq:held_q"]
        XCTAssertEqual(held?["verdict"] as? String, "in-use", "\(held ?? [:])")
        XCTAssertEqual(held?["path"] as? String, "/run/mqueue/held_q", "the mqueue mount is found in mountinfo")
        XCTAssertEqual(holders(held).first?["pid"] as? Int, mqPid)
        XCTAssertEqual(holders(held).first?["relation"] as? String, "fd")
        let full = list["posix-mq:full_q"]
        XCTAssertEqual(full?["verdict"] as? String, "orphaned", "\(full ?? [:])")
        XCTAssertEqual((full?["queue"] as? [String: Any])?["messages"] as? Int, 2)
        XCTAssertEqual((full?["queue"] as? [String: Any])?["qsize"] as? Int, 21)

        let kept = try outcomes(s, "clean-kept.json")
        XCTAssertEqual(kept["posix-mq:full_q"], "skipped")
        XCTAssertEqual(kept["posix-mq:drop_q"], "skipped")
        XCTAssertEqual(kept["posix-mq:held_q"], "skipped")
        XCTAssertEqual(try outcomes(s, "clean-saved.json")["posix-mq:full_q"], "removed")
        XCTAssertEqual(try outcomes(s, "clean-dropped.json")["posix-mq:drop_q"], "removed")
        XCTAssertEqual(try statuses(s), [4, 0, 0, 1], "kept queues make clean exit 4; an unknown name exits 1")
        let show = try s.file("show.txt")
        XCTAssertTrue(show.contains("POSIX message queue held_q\n"), show)
        XCTAssertTrue(show.contains("path            /run/mqueue/held_q"), show)
        XCTAssertTrue(show.contains("POSIX named semaphore held_sem\n"), show)
        XCTAssertTrue(show.contains("mapping"), show)
        let missing = try s.file("show-missing.err")
        XCTAssertTrue(missing.contains("no_such_object"), missing)
        XCTAssertEqual(try s.file("left"), "held_q\n")
        // Byte for byte, highest priority first (the order mq_receive delivers them).
        let saved = try XCTUnwrap(s.files["saved"])
        let body = Data("\nmessage 7 8\n".utf8) + Data([0]) + Data("binary".utf8) + Data([0xff])
            + Data("\nmessage 1 13\nfirst message\nend\n".utf8)
        XCTAssertTrue(saved.range(of: body) != nil, String(decoding: saved, as: UTF8.self))
    }

    /// The test hook opens an object between plan and removal: it is skipped as changed, the others go.
    func testObjectOpenedBetweenPlanAndRemovalIsSkipped() throws {
        let s = try run("""
            nobody /usr/bin/python3 -c '
            from multiprocessing import shared_memory, resource_tracker
            for n in ("race_a", "race_b", "race_c"):
                s = shared_memory.SharedMemory(name=n, create=True, size=4096)
                resource_tracker.unregister(s._name, "shared_memory")
            '
            sleep 3.2
            export IPCSWEEP_TEST_BEFORE_RMID='if [ "$IPCSWEEP_TEST_NAME" = race_b ]; then setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 /run/h/posix.py fd race_b /run/h/r & while [ ! -e /run/h/r ]; do sleep 0.05; done; fi'
            # The opener is re-parented (its shell exits) and starts within the default inheritance window of the
            # objects' creation: by the rules a possible holder of its owner's other objects (race_c would be
            # suspect). This test is about the opened object: a window of 1 s keeps the others orphaned.
            status ipcsweep clean --yes --inherit-window 1s --name 'race_*' --format json > "$OUT/clean.json"
            ls /dev/shm > "$OUT/left"
            """)
        let o = try outcomes(s, "clean.json")
        XCTAssertEqual(o["posix-shm:race_a"], "removed")
        XCTAssertEqual(o["posix-shm:race_b"], "skipped")
        XCTAssertEqual(o["posix-shm:race_c"], "removed")
        let r = try s.json("clean.json")["results"] as? [[String: Any]] ?? []
        let b = r.first { $0["name"] as? String == "race_b" }
        XCTAssertTrue((b?["reason"] as? String ?? "").hasPrefix("changed since planned: now held by pid"), "\(b ?? [:])")
        XCTAssertEqual(try statuses(s), [4])
        XCTAssertEqual(try s.file("left"), "race_b\n")
    }

    /// Another user plants a symbolic link (to a root file), a directory with a file in it, and a filesystem
    /// mounted below /dev/shm: none is listed, followed or removed; a real orphan next to them is removed.
    func testSymlinkDirectoryAndSubmountAreNeverTouched() throws {
        let s = try run("""
            echo "root's file" > /run/target; chmod 644 /run/target
            nobody ln -s /run/target /dev/shm/sem.planted
            nobody ln -s /run/target /dev/shm/planted_link
            nobody mkdir /dev/shm/planted_dir
            nobody sh -c 'echo inside > /dev/shm/planted_dir/inner'
            mkdir /dev/shm/sub && mount -t tmpfs tmpfs /dev/shm/sub && echo mounted > /dev/shm/sub/data
            nobody sh -c 'echo orphan > /dev/shm/real_orphan'
            sleep 3.2
            ipcsweep list --format json > "$OUT/list.json"
            status ipcsweep clean --yes --format json > "$OUT/clean.json"
            ls -A /dev/shm > "$OUT/left"
            cat /run/target /dev/shm/planted_dir/inner /dev/shm/sub/data > "$OUT/contents"
            readlink /dev/shm/sem.planted > "$OUT/link"
            """)
        let names = Set(try posix(s, "list.json").keys)
        XCTAssertEqual(names, ["posix-shm:real_orphan"])
        XCTAssertEqual(try outcomes(s, "clean.json"), ["posix-shm:real_orphan": "removed"])
        XCTAssertEqual(try s.file("left"), "planted_dir\nplanted_link\nsem.planted\nsub\n")
        XCTAssertEqual(try s.file("contents"), "root's file\ninside\nmounted\n")
        XCTAssertEqual(try s.file("link"), "/run/target\n")
    }
}

extension Scenario {
    /// The POSIX objects of a list/orphans document, by "type:name".
    func posixObjects(_ name: String) throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for o in try json(name)["objects"] as? [[String: Any]] ?? [] where (o["type"] as? String ?? "").hasPrefix("posix-") {
            out["\(o["type"] as? String ?? "?"):\(o["name"] as? String ?? "?")"] = o
        }
        return out
    }

    static func holders(_ o: [String: Any]?) -> [[String: Any]] { o?["holders"] as? [[String: Any]] ?? [] }

    /// The outcomes of a clean document, by "type:name".
    func cleanOutcomes(_ name: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for r in try json(name)["results"] as? [[String: Any]] ?? [] {
            out["\(r["type"] as? String ?? "?"):\(r["name"] as? String ?? "?")"] = r["outcome"] as? String
        }
        return out
    }

    /// The exit statuses the script appended to $OUT/status (its `status` function).
    func statusLines() throws -> [Int] {
        try file("status").split(separator: "\n").compactMap { Int($0) }
    }
}
