import Foundation
import XCTest

/// What the tool reads of /proc, with real processes in private PID+IPC+mount namespaces (strace counts the opens).
final class ProcessReadScenarioTests: XCTestCase {
    /// With no object in view (none of the kinds asked for, or none a filter selects: a cron run or an
    /// `ExecStopPost=` on a clean host), no process can hold anything and none is read: no /proc/PID opened, not
    /// one status.
    /// The same run with the set in view reads every process and finds it orphaned (no process of its owner), so
    /// the rule only spares reads; `clean --yes` of another kind removes nothing. From the host (`--namespace`, the
    /// namespace found through the table, which is then read whole) the result is the same empty list.
    func testNoObjectInViewReadsNoProcess() throws {
        let s = try Scenario.run("""
            ipcsweep-testkit sem-create --key 0x61 --as-uid 4061 > /dev/null
            for i in 1 2 3 4 5; do sleep 600 & done
            trace() { strace -f -qq --seccomp-bpf -e trace=openat -o "$1" "${@:2}"; }
            trace /run/kind.trace ipcsweep list --type shm --type msg --type posix --format json > "$OUT/kind.json"
            trace /run/user.trace ipcsweep list --user 4242 --format json > "$OUT/user.json"
            trace /run/clean.trace ipcsweep clean --yes --type msg > "$OUT/clean.txt"
            trace /run/all.trace ipcsweep list --format json > "$OUT/all.json"
            outside list --type shm --type msg --type posix --format json > "$OUT/host.json"
            for t in kind user clean all; do
                { grep -c 'openat([0-9]*, "status"' /run/$t.trace || true; } > "$OUT/$t.status"
                { grep -cE 'openat[(]AT_FDCWD, "/proc/[0-9]+"' /run/$t.trace || true; } > "$OUT/$t.dirs"
            done
            ls -d /proc/[0-9]* | wc -l > "$OUT/procs"
            ipcs -s | grep -c '^0x' > "$OUT/sets"
            kill $(jobs -p)
            """)
        func count(_ name: String) throws -> Int { Int(try s.file(name).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        for t in ["kind", "user", "clean"] {
            XCTAssertEqual(try count("\(t).status"), 0, "\(t): no object in view, yet a process's status was read")
            XCTAssertEqual(try count("\(t).dirs"), 0, "\(t): no object in view, yet a process's /proc directory was opened")
        }
        XCTAssertGreaterThanOrEqual(try count("all.status"), 6, "the set in view: the shell and the five sleeps are read")
        XCTAssertGreaterThanOrEqual(try count("all.dirs"), 6)
        XCTAssertGreaterThanOrEqual(try count("procs"), 6)
        XCTAssertEqual(try s.objects("kind.json").count, 0)
        XCTAssertEqual(try s.objects("user.json").count, 0)
        XCTAssertEqual(try s.objects("host.json").count, 0)
        XCTAssertEqual(try s.objects("all.json")["sem:0"]?["verdict"] as? String, "orphaned")
        XCTAssertEqual(try s.file("clean.txt"), "nothing to clean: no object matched\n")
        XCTAssertEqual(try count("sets"), 1, "clean of another kind left the set")
    }

    /// The tool's pids must be /proc's. Three ways they are not, each refused on one line with exit 1 and nothing
    /// removed (before, each printed the help and exited 0, or decided over another namespace's pids):
    /// - /proc of an ancestor pid namespace (`unshare --pid --fork` without `--mount-proc`): a recorded pid there
    ///   names another process, or none, so a live holder could look exited;
    /// - no /proc at all, and a nested namespace's /proc entered by mount namespace only: Swift reads a program's
    ///   arguments from /proc/self/cmdline, which has no entry for it, so the tool has no arguments either.
    /// The orphaned set each was asked to clean stays; the tool with its own /proc (inside, and from the host with
    /// `--namespace`, as the messages advise) still finds it orphaned.
    func testWithoutItsOwnProcTheToolSaysSoAndRemovesNothing() throws {
        let s = try Scenario.run("""
            ipcsweep-testkit sem-create --key 0x62 --as-uid 4062 > /dev/null
            set +e
            unshare --pid --fork sh -c 'exec ipcsweep clean --yes' > "$OUT/ancestor.out" 2> "$OUT/ancestor.err"
            echo $? > "$OUT/ancestor.rc"
            unshare --mount sh -c 'while umount -l /proc 2> /dev/null; do :; done; exec ipcsweep clean --yes' > "$OUT/unmounted.out" 2> "$OUT/unmounted.err"
            echo $? > "$OUT/unmounted.rc"
            set -e
            unshare --pid --fork --mount-proc sleep 600 &
            U=$!
            for i in $(seq 100); do C=$(cat /proc/$U/task/$U/children 2> /dev/null || true); [ -n "$C" ] && break; sleep 0.05; done
            set +e
            nsenter -t $C -m ipcsweep clean --yes > "$OUT/nested.out" 2> "$OUT/nested.err"
            echo $? > "$OUT/nested.rc"
            set -e
            kill -9 $C; wait $U || true
            ipcsweep list --format json > "$OUT/after.json"
            # What the messages advise: from the host, with --namespace.
            outside list --format json > "$OUT/host.json"
            """)
        let messages = [
            "ancestor": "Error: /proc is not this pid namespace's own (/proc/self is pid ",
            "unmounted": "Error: cannot read the command line from /proc/self/cmdline: /proc is not mounted here or belongs to another pid namespace;",
            "nested": "Error: cannot read the command line from /proc/self/cmdline: /proc is not mounted here or belongs to another pid namespace;",
        ]
        for (t, prefix) in messages {
            XCTAssertEqual(try s.file("\(t).rc"), "1\n", t)
            XCTAssertEqual(try s.file("\(t).out"), "", t)
            let err = try s.file("\(t).err")
            XCTAssertTrue(err.hasPrefix(prefix), "\(t): \(err)")
            XCTAssertEqual(err.filter { $0 == "\n" }.count, 1, "\(t): one line")
        }
        let ancestor = try s.file("ancestor.err")
        XCTAssertTrue(ancestor.contains(", this process is pid 1 here): "), ancestor)
        XCTAssertEqual(try s.objects("after.json")["sem:0"]?["verdict"] as? String, "orphaned", "the set is still there")
        try s.assertHostAgrees(inside: "after.json", host: "host.json", ["sem:0"])
    }
}
