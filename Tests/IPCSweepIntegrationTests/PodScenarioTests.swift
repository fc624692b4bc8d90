import Foundation
import XCTest

/// A Kubernetes pod's layout: containers that share one IPC namespace and one /dev/shm (the scenario's), each in a
/// pid namespace of its own (`unshare --pid --fork --mount-proc`). Container C holds System V and POSIX objects
/// of every shape; ipcsweep runs in container A, where C's processes are invisible.
final class PodScenarioTests: XCTestCase {
    /// C, as uid 1000, in its own pid namespace: a set it created and never operated on (sempid 0), a set it
    /// operated on, a queue it created and has not used, an attached segment, a /dev/shm file it holds open and
    /// one it holds only mapped. `/run/pod/c.ready` once everything is made; C is pid $C here.
    static let podPrelude = """
        mount -t tmpfs tmpfs /run
        mkdir -m 1777 /run/pod
        unshare --pid --fork --mount-proc setpriv --reuid 1000 --regid 1000 --clear-groups /usr/bin/python3 -c '
        import ctypes, mmap, os, sys, time
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        def ok(v, what):
            if v == -1 or v == ctypes.c_void_p(-1).value: raise OSError(ctypes.get_errno(), what)
            return v
        class sembuf(ctypes.Structure): _fields_ = [("num", ctypes.c_ushort), ("op", ctypes.c_short), ("flg", ctypes.c_short)]
        ok(libc.semget(0x5001, 1, 0o1600), "semget")
        used = ok(libc.semget(0x5002, 1, 0o1600), "semget")
        ok(libc.semop(used, ctypes.byref(sembuf(0, 1, 0)), 1), "semop")
        ok(libc.msgget(0x5003, 0o1600), "msgget")
        seg = ok(libc.shmget(0x5004, 4096, 0o1600), "shmget")
        ok(libc.shmat(seg, None, 0), "shmat")
        held = open("/dev/shm/pod_held", "w+b"); held.write(b"x" * 4096); held.flush()
        fd = os.open("/dev/shm/pod_mapped", os.O_CREAT | os.O_RDWR, 0o600); os.ftruncate(fd, 4096)
        mapped = mmap.mmap(fd, 4096); os.close(fd)
        open(sys.argv[1], "w").close()
        time.sleep(3600)
        ' /run/pod/c.ready &
        C=$!
        for i in $(seq 1 200); do [ -e /run/pod/c.ready ] && break; sleep 0.05; done
        [ -e /run/pod/c.ready ]
        # Ends container C: SIGKILL to its init (the launcher's child), which takes its pid namespace with it.
        kill_c() { kill -9 $(cat /proc/$C/task/$C/children); wait $C || true; }
        # Container A: its own pid namespace and procfs, the pod's IPC namespace and /dev/shm.
        in_a() { unshare --pid --fork --mount-proc "$@"; }
        # What of C's is still there: keys of System V objects, names in /dev/shm.
        c_objects() {
            tail -q -n +2 /proc/sysvipc/sem /proc/sysvipc/msg /proc/sysvipc/shm | awk '{ printf "%x\\n", $1 }' | sort
            ls /dev/shm | sort
        }

        """

    static let everything = ["5001", "5002", "5003", "5004", "pod_held", "pod_mapped"]

    func lines(_ s: Scenario, _ name: String) throws -> [String] {
        try s.file(name).split(separator: "\n").map(String.init)
    }

    /// The verdict of each of C's objects in a list document, by key (hex) or name.
    func verdicts(_ s: Scenario, _ name: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for o in try s.json(name)["objects"] as? [[String: Any]] ?? [] {
            let id = (o["name"] as? String) ?? String(o["key"] as? Int ?? -1, radix: 16)
            out[id] = o["verdict"] as? String
        }
        return out
    }

    func reasons(_ s: Scenario, _ name: String, _ id: String) throws -> String {
        for o in try s.json(name)["objects"] as? [[String: Any]] ?? [] {
            let oid = (o["name"] as? String) ?? String(o["key"] as? Int ?? -1, radix: 16)
            if oid == id { return (o["reasons"] as? [String] ?? []).joined(separator: "; ") }
        }
        return ""
    }

    func testACleanInOneContainerRemovesNothingASiblingContainerHolds() throws {
        let s = try Scenario.run(Self.podPrelude + """
            in_a ipcsweep clean --yes --format json > $OUT/a-clean.json || echo $? > $OUT/a-clean.rc
            in_a ipcsweep list --format json > $OUT/a-list.json
            c_objects > $OUT/after-a-clean
            # The host administrator's view: the host's pid namespace sees every container's processes.
            outside list --format json > $OUT/host-list.json
            outside clean --dry-run --format json > $OUT/host-plan.json
            kill_c
            # C is gone: A, told that no other pid namespace shares the IPC namespace any more, cleans its orphans.
            in_a ipcsweep clean --yes --all-processes-visible --format json > $OUT/a-clean-after.json || true
            c_objects > $OUT/after-c-exit
            outside list --format json > $OUT/host-list-after.json
            """, allProcessesVisible: false)

        // Nothing of C's was removed by the clean in A, and nothing was removed at all.
        XCTAssertEqual(Set(try lines(s, "after-a-clean")), Set(Self.everything))
        let results = try s.json("a-clean.json")["results"] as? [[String: Any]] ?? []
        XCTAssertFalse(results.contains { $0["outcome"] as? String == "removed" }, "\(results)")

        // In A: the attached segment is in use by the kernel's own count (nattch), the held and the mapped file by
        // the kernel's own answer too (a write lease refused: open elsewhere, no holder A can name); the System V
        // objects without such evidence are unknown, saying why.
        let inA = try verdicts(s, "a-list.json")
        XCTAssertEqual(inA["5004"], "in-use")
        for id in ["pod_held", "pod_mapped"] {
            XCTAssertEqual(inA[id], "in-use", "\(id) in A")
            let why = try reasons(s, "a-list.json", id)
            XCTAssertTrue(why.hasPrefix("held by a process this tool cannot see: the kernel refused a write lease"), "\(id): \(why)")
        }
        for id in ["5001", "5002", "5003"] {
            XCTAssertEqual(inA[id], "unknown", "\(id) in A")
            let why = try reasons(s, "a-list.json", id)
            XCTAssertTrue(why.contains("child pid namespace") && why.contains("--all-namespaces")
                          && why.contains("--all-processes-visible"), "\(id): \(why)")
        }

        // From the host: C's processes are seen, with their host pids.
        let host = try verdicts(s, "host-list.json")
        XCTAssertEqual(host["5002"], "in-use", "its recorded pid is a live process of C")
        XCTAssertEqual(host["5004"], "in-use")
        XCTAssertEqual(host["pod_held"], "in-use", "C's descriptor")
        XCTAssertEqual(host["pod_mapped"], "in-use", "C's mapping")
        XCTAssertEqual(host["5001"], "suspect", "C's process existed when it was made")
        XCTAssertEqual(host["5003"], "suspect")
        let plan = try s.json("host-plan.json")["results"] as? [[String: Any]] ?? []
        XCTAssertFalse(plan.contains { $0["outcome"] as? String == "planned" }, "nothing to remove: \(plan)")

        // After C exits, with the statement: its orphans go, except those whose recorded pids (C's, of a pid
        // namespace A cannot see, so they read as 0 there) leave A unable to tell; the host sees those pids dead.
        XCTAssertEqual(try lines(s, "after-c-exit"), ["5002", "5004"], "the orphans A can judge are removed")
        let after = try s.json("a-clean-after.json")["results"] as? [[String: Any]] ?? []
        for r in after where ["5002", "5004"].contains(String(r["key"] as? Int ?? -1, radix: 16)) {
            XCTAssertEqual(r["verdict"] as? String, "unknown", "\(r)")
        }
        let hostAfter = try verdicts(s, "host-list-after.json")
        XCTAssertEqual(hostAfter["5002"], "orphaned")
        XCTAssertEqual(hostAfter["5004"], "orphaned")
    }

    /// The same blindness in a pod whose objects are held by a root process of C: root reaches everything, and
    /// A's own root processes are no evidence that C's do not exist.
    func testRootHoldersInASiblingContainerAreNotOverlooked() throws {
        let s = try Scenario.run("""
            mount -t tmpfs tmpfs /run
            unshare --pid --fork --mount-proc /usr/bin/python3 -c '
            import sys, time
            f = open("/dev/shm/root_held", "w+b"); f.write(b"y"); f.flush()
            open(sys.argv[1], "w").close()
            time.sleep(3600)
            ' $OUT/c.ready &
            C=$!
            for i in $(seq 1 200); do [ -e $OUT/c.ready ] && break; sleep 0.05; done
            sleep 1.1
            unshare --pid --fork --mount-proc ipcsweep clean --yes --type posix --format json > $OUT/a-clean.json || true
            ls /dev/shm > $OUT/after
            kill -9 $(cat /proc/$C/task/$C/children); wait $C || true
            """, allProcessesVisible: false)
        XCTAssertEqual(try s.file("after"), "root_held\n")
    }
}
