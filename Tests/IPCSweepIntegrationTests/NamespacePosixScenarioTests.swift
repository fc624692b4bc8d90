import Foundation
import XCTest

/// POSIX objects of other IPC namespaces: two "containers" (`unshare --ipc --pid --mount --fork`) nested in the
/// scenario's private namespaces (which play the host, with a /dev/shm of their own), each in a cgroup of its own
/// (`docker-ID.scope`, `libpod-ID.scope`) with its OWN tmpfs on /dev/shm and its own mqueue mount, and in each: a
/// segment held by a live process (a descriptor), an orphaned segment of another uid, a held queue. The host-like
/// namespace has an orphan of its own. The real host's /dev/shm is never touched.
final class NamespacePosixScenarioTests: XCTestCase {
    static var cgroupRoot: String { "/sys/fs/cgroup/systemd" }

    static func prelude(_ id: String) -> String {
        """
        mount -t tmpfs tmpfs /run
        mkdir -p /run/h && chmod 1777 /run/h
        \(NamespaceScenarioTests.slice("ipcsweep-nsposix-\(id)", id))
        cat > /run/h/hold.py <<'PY'
        # hold.py fd NAME READY: keep a descriptor of /dev/shm/NAME; hold.py mq NAME READY: mq_open and keep it.
        import ctypes, os, sys, time
        what, name, ready = sys.argv[1], sys.argv[2], sys.argv[3]
        libc = ctypes.CDLL(None, use_errno=True)
        if what == "fd":
            keep = os.open("/dev/shm/" + name, os.O_RDWR)
        else:
            keep = libc.mq_open(("/" + name).encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
            if keep < 0: raise OSError(ctypes.get_errno(), "mq_open")
        with open(ready, "w") as f: f.write(str(os.getpid()))
        time.sleep(600)
        PY
        cat > /run/h/container.sh <<'SH'
        # container.sh N: inside the new namespaces: a private /dev/shm and mqueue mount, a held segment, an
        # orphaned one (uid 34, mode 0600, its writer gone), a held queue.
        set -e
        N=$1
        mount -t tmpfs -o mode=1777,size=8m shm-$N /dev/shm
        mkdir -p /run/mq-$N && mount -t mqueue none /run/mq-$N
        nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
        nobody sh -c "echo held > /dev/shm/held_$N"
        nobody /usr/bin/python3 /run/h/hold.py fd held_$N /run/h/held-$N &
        nobody /usr/bin/python3 /run/h/hold.py mq q_$N /run/h/q-$N &
        setpriv --reuid 34 --regid 34 --clear-groups sh -c "umask 077; echo orphan > /dev/shm/orphan_$N"
        for i in $(seq 100); do [ -e /run/h/held-$N ] && [ -e /run/h/q-$N ] && break; sleep 0.05; done
        touch /run/h/ready-$N
        exec sleep 300
        SH
        container() {  # NAME CGROUP
            sh -c "echo \\$\\$ > $2/cgroup.procs; exec unshare --ipc --pid --mount --fork --propagation private bash /run/h/container.sh $1" &
        }
        container a $SLICE/docker-a\(id).scope
        PA=$!
        container b $SLICE/libpod-b\(id).scope
        PB=$!
        setpriv --reuid 34 --regid 34 --clear-groups sh -c "umask 077; echo orphan > /dev/shm/orphan_host"
        for i in $(seq 200); do [ -e /run/h/ready-a ] && [ -e /run/h/ready-b ] && break; sleep 0.05; done
        # Past the inheritance window of the orphans' last change.
        sleep 3.2
        # The holders' host pids (their ready files name their pids inside the containers).
        pgrep -f '^/usr/bin/python3 /run/h/hold.py fd held_a' > $OUT/ha; pgrep -f '^/usr/bin/python3 /run/h/hold.py fd held_b' > $OUT/hb
        readlink /proc/$PA/ns/ipc > $OUT/nsa; readlink /proc/$PB/ns/ipc > $OUT/nsb
        readlink /proc/self/ns/ipc > $OUT/nshost

        """
    }

    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "\(Self.cgroupRoot)/cgroup.procs"),
                          "needs the cgroup v1 name=systemd hierarchy")
        return try Scenario.run(Self.prelude(String(getpid())) + script, file: file, line: line)
    }

    func inode(_ s: Scenario, _ name: String) throws -> Int {
        let t = try s.file(name)
        return Int(t.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" }) ?? -1
    }

    /// The POSIX objects of a document as ["type:name": object].
    func posix(_ s: Scenario, _ name: String) throws -> [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for o in try s.json(name)["objects"] as? [[String: Any]] ?? [] where (o["type"] as? String ?? "").hasPrefix("posix-") {
            let key = "\(o["type"] as? String ?? "?"):\(o["name"] as? String ?? "?")"
            XCTAssertNil(out[key], "\(key) listed once")
            out[key] = o
        }
        return out
    }

    func namespace(_ o: [String: Any]?) -> [String: Any]? { o?["namespace"] as? [String: Any] }

    func testAllNamespacesListsEachContainersPosixObjectsOnceWithVerdictsOwnersAndHolders() throws {
        let id = String(getpid())
        let s = try run("""
            ipcsweep list --all-namespaces --format json > $OUT/all.json
            COLUMNS=400 ipcsweep list --all-namespaces --type posix > $OUT/all.txt
            ipcsweep list --namespace $PA --format json > $OUT/a.json
            ipcsweep show orphan_a --namespace $PA > $OUT/show.txt
            """)
        let all = try posix(s, "all.json")
        let a = try inode(s, "nsa"), b = try inode(s, "nsb"), host = try inode(s, "nshost")
        XCTAssertEqual(Set(all.keys), ["posix-shm:held_a", "posix-shm:orphan_a", "posix-mq:q_a",
                                       "posix-shm:held_b", "posix-shm:orphan_b", "posix-mq:q_b", "posix-shm:orphan_host"])
        for (n, ns, owner) in [("a", a, "docker-a\(id).scope"), ("b", b, "libpod-b\(id).scope")] {
            XCTAssertEqual(all["posix-shm:held_\(n)"]?["verdict"] as? String, "in-use", "\(all["posix-shm:held_\(n)"] ?? [:])")
            XCTAssertEqual(all["posix-mq:q_\(n)"]?["verdict"] as? String, "in-use")
            XCTAssertEqual(all["posix-shm:orphan_\(n)"]?["verdict"] as? String, "orphaned", "\(all["posix-shm:orphan_\(n)"] ?? [:])")
            for k in ["posix-shm:held_\(n)", "posix-shm:orphan_\(n)", "posix-mq:q_\(n)"] {
                XCTAssertEqual(namespace(all[k])?["inode"] as? Int, ns, k)
                XCTAssertEqual(namespace(all[k])?["owner"] as? String, owner, k)
            }
            let holder = (all["posix-shm:held_\(n)"]?["holders"] as? [[String: Any]])?.first
            XCTAssertEqual(holder?["pid"] as? Int, Int(try s.file("h\(n)").trimmingCharacters(in: .whitespacesAndNewlines)), "the holder by its host pid")
            XCTAssertEqual(holder?["relation"] as? String, "fd")
            XCTAssertEqual(all["posix-shm:held_\(n)"]?["path"] as? String, "/proc/\(namespace(all["posix-shm:held_\(n)"])?["pid"] as? Int ?? -1)/root/dev/shm/held_\(n)")
        }
        XCTAssertEqual(all["posix-shm:orphan_host"]?["verdict"] as? String, "orphaned")
        XCTAssertEqual(namespace(all["posix-shm:orphan_host"])?["inode"] as? Int, host)
        let text = try s.file("all.txt")
        XCTAssertTrue(text.hasPrefix("NAMESPACE"), text)
        XCTAssertTrue(text.split(separator: "\n").contains { $0.hasPrefix("\(a) docker-a\(id).scope") && $0.contains("orphan_a") }, text)
        XCTAssertTrue(text.split(separator: "\n").contains { $0.hasPrefix("\(b) libpod-b\(id).scope") && $0.contains("held_b") }, text)
        // --namespace PID: that container's POSIX objects only.
        let one = try posix(s, "a.json")
        XCTAssertEqual(Set(one.keys), ["posix-shm:held_a", "posix-shm:orphan_a", "posix-mq:q_a"])
        XCTAssertEqual(one["posix-shm:orphan_a"]?["verdict"] as? String, "orphaned")
        let show = try s.file("show.txt")
        XCTAssertTrue(show.contains("IPC namespace   \(a) (docker-a\(id).scope"), show)
        XCTAssertTrue(show.contains("/root/dev/shm/orphan_a"), show)
    }

    func testCleanNamespaceRemovesExactlyThatContainersPosixOrphan() throws {
        let s = try run("""
            mkdir -p /run/save
            # An orphaned queue with two messages in container A (its sender, of uid 34, gone).
            nsenter -t $PA -i -m setpriv --reuid 34 --regid 34 --clear-groups /usr/bin/python3 -c '
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            q = libc.mq_open(b"/qo_a", os.O_CREAT | os.O_WRONLY, 0o600, None)
            if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
            libc.mq_send(q, b"first", 5, 1); libc.mq_send(q, b"second", 6, 2)'
            sleep 3.2

            """ + Scenario.syslogListener + """
            ipcsweep clean --namespace $PA --yes --type posix --save-to /run/save --format json > $OUT/clean.json
            wait $LISTENER
            ls -A /proc/$PA/root/run/mq-a > $OUT/left-mq-a
            ls -A /run/save > $OUT/saved
            ls -A /proc/$PA/root/dev/shm > $OUT/left-a
            ls -A /proc/$PB/root/dev/shm > $OUT/left-b
            ls -A /dev/shm > $OUT/left-host
            ipcsweep list --all-namespaces --format json > $OUT/after.json
            """)
        let results = try s.json("clean.json")["results"] as? [[String: Any]] ?? []
        let removed = results.filter { $0["outcome"] as? String == "removed" }.map { $0["name"] as? String ?? "?" }
        XCTAssertEqual(Set(removed), ["orphan_a", "qo_a"], "only container A's orphans: \(results)")
        XCTAssertEqual(try s.file("left-mq-a"), "q_a\n", "A's held queue stays, its orphaned queue is gone")
        let journal = try s.file("syslog")
        XCTAssertTrue(journal.contains("removed POSIX shared memory object in IPC namespace \(try inode(s, "nsa")) (docker-a\(getpid()).scope) /proc/")
                      && journal.contains("/root/dev/shm/orphan_a"), journal)
        XCTAssertTrue(journal.contains("removed POSIX message queue in IPC namespace") && journal.contains("/run/mq-a/qo_a"), journal)
        XCTAssertEqual(journal.split(separator: "\n").count, 2, "one line per removal: \(journal)")
        XCTAssertEqual(try s.file("left-a"), "held_a\n")
        XCTAssertEqual(try s.file("left-b"), "held_b\norphan_b\n")
        XCTAssertEqual(try s.file("left-host"), "orphan_host\n")
        XCTAssertEqual(try s.file("saved").split(separator: "\n").count, 2, "orphan_a's bytes and qo_a's messages saved first")
        let after = try posix(s, "after.json")
        XCTAssertEqual(Set(after.keys), ["posix-shm:held_a", "posix-mq:q_a", "posix-shm:held_b", "posix-shm:orphan_b",
                                         "posix-mq:q_b", "posix-shm:orphan_host"])
    }

    /// A container whose /dev/shm is a symbolic link (to a path that, resolved against the host's root, is a
    /// decoy of the host): never followed, nothing listed or removed there. A namespace kept only by a bind
    /// mount has no process to locate its POSIX objects: a warning, System V objects only.
    func testSymlinkedContainerShmIsNotFollowedAndANamespaceWithoutProcessSaysSo() throws {
        let s = try Scenario.run("""
            mount -t tmpfs tmpfs /run
            mount -t tmpfs tmpfs /mnt
            mkdir -p /mnt/x /run/ipcns && echo decoy > /mnt/x/decoy && chmod 600 /mnt/x/decoy
            touch /run/ipcns/kept
            unshare --ipc sh -c 'mount --bind /proc/self/ns/ipc /run/ipcns/kept'
            unshare --ipc --pid --mount --fork --propagation private bash -c '
                mount -t tmpfs tmpfs /mnt && mkdir /mnt/x && echo inner > /mnt/x/inner
                mount -t tmpfs tmpfs /dev && ln -s /mnt/x /dev/shm
                touch /run/ready; exec sleep 300' &
            PC=$!
            for i in $(seq 100); do [ -e /run/ready ] && break; sleep 0.05; done
            sleep 3.2
            ipcsweep list --namespace $PC --type posix --format json > $OUT/c.json 2> $OUT/c.err
            ipcsweep clean --namespace $PC --yes --type posix --format json > $OUT/clean.json 2> /dev/null || true
            ls /mnt/x > $OUT/left
            ipcsweep list --namespace /run/ipcns/kept --type posix --format json > $OUT/kept.json 2> $OUT/kept.err
            kill $PC
            """)
        let objects = try s.json("c.json")["objects"] as? [[String: Any]] ?? []
        XCTAssertTrue(objects.isEmpty, "nothing through the link: \(objects)")
        let err = try s.file("c.err")
        XCTAssertTrue(err.contains("/dev/shm is or passes through a symbolic link") && err.contains("not followed"), err)
        XCTAssertEqual(try s.file("left"), "decoy\n", "the host's decoy is untouched")
        XCTAssertTrue((try s.json("clean.json")["results"] as? [[String: Any]] ?? []).isEmpty)
        let kept = try s.file("kept.err")
        XCTAssertTrue(kept.contains("no process of it is left") && kept.contains("System V objects only"), kept)
    }
}
