import Foundation
import XCTest

/// Real kernel objects and real processes in private PID+IPC namespaces, each getting the verdict the spec demands.
final class VerdictScenarioTests: XCTestCase {
    func verdict(_ s: Scenario, _ file: String, _ ref: String) throws -> String? {
        try s.objects(file)[ref]?["verdict"] as? String
    }

    func reasons(_ s: Scenario, _ file: String, _ ref: String) throws -> [String] {
        try s.objects(file)[ref]?["reasons"] as? [String] ?? []
    }

    func testHolderAliveThenExited() throws {
        let s = try Scenario.run("""
            S=$(ipcsweep-testkit sem-create --key 0x51 --as-uid 4001)
            ipcsweep-testkit sem-op --id $S --delta 1 --hold & H=$!
            sleep 0.2
            ipcsweep list --format json > "$OUT/alive.json"
            outside list --format json > "$OUT/alive-host.json"
            kill $H; wait $H || true
            ipcsweep list --format json > "$OUT/exited.json"
            outside list --format json > "$OUT/exited-host.json"
            """)
        XCTAssertEqual(try verdict(s, "alive.json", "sem:0"), "in-use")
        let holders = try s.objects("alive.json")["sem:0"]?["holders"] as? [[String: Any]] ?? []
        XCTAssertEqual(holders.first?["command"] as? String, "ipcsweep-testki")
        XCTAssertEqual(try verdict(s, "exited.json", "sem:0"), "orphaned")
        XCTAssertTrue(try reasons(s, "exited.json", "sem:0").contains { $0.hasSuffix("exited") })
        try s.assertHostAgrees(inside: "alive.json", host: "alive-host.json", ["sem:0"])
        try s.assertHostAgrees(inside: "exited.json", host: "exited-host.json", ["sem:0"])
    }

    func testSigkilledHolderLeftAsZombieHoldsNothing() throws {
        // The subshell forks the holder, then becomes `sleep`, which never reaps it: SIGKILL leaves a zombie.
        let s = try Scenario.run("""
            S=$(ipcsweep-testkit sem-create --key 0x52 --as-uid 4002)
            ( ipcsweep-testkit sem-op --id $S --delta 1 --undo --hold & echo $! > "$OUT/holder.pid"; exec sleep 100 ) &
            sleep 0.3
            H=$(cat "$OUT/holder.pid")
            kill -9 $H; sleep 0.2
            grep -q '^State:.Z' /proc/$H/status
            ipcsweep list --format json > "$OUT/zombie.json"
            outside list --format json > "$OUT/zombie-host.json"
            ipcsweep show $S --type sem > "$OUT/show.txt"
            """)
        XCTAssertEqual(try verdict(s, "zombie.json", "sem:0"), "orphaned")
        let r = try reasons(s, "zombie.json", "sem:0")
        XCTAssertTrue(r.contains { $0.contains("zombie") }, "\(r)")
        XCTAssertTrue(try s.file("show.txt").contains("zombie"))
        try s.assertHostAgrees(inside: "zombie.json", host: "zombie-host.json", ["sem:0"])
    }

    func testRecordedPidReusedByYoungerProcess() throws {
        let s = try Scenario.run("""
            S=$(ipcsweep-testkit sem-create --key 0x53 --as-uid 4003)
            ipcsweep-testkit sem-op --id $S --delta 1 & P=$!
            wait $P
            sleep 1.2
            echo $((P - 1)) > /proc/sys/kernel/ns_last_pid
            sleep 100 & R=$!
            echo "$P $R" > "$OUT/pids"
            ipcsweep list --format json > "$OUT/reuse.json"
            outside list --format json > "$OUT/reuse-host.json"
            """)
        let pids = try s.file("pids").split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(pids[0], pids[1], "ns_last_pid should hand the old pid to the new process")
        XCTAssertEqual(try verdict(s, "reuse.json", "sem:0"), "orphaned")
        let r = try reasons(s, "reuse.json", "sem:0")
        XCTAssertTrue(r.contains { $0.hasPrefix("pid \(pids[0] ?? -1) reused by sleep") }, "\(r)")
        try s.assertHostAgrees(inside: "reuse.json", host: "reuse-host.json", ["sem:0"])
        let hostReasons = try reasons(s, "reuse-host.json", "sem:0")
        // The host numbers pids its own way: there the recorded pid is the dead process's host pid, not reused.
        XCTAssertTrue(hostReasons.contains { $0.hasPrefix("last operator pid ") && $0.hasSuffix(" exited") }, "\(hostReasons)")
    }

    func testProcessBlockedInSemopIsInUse() throws {
        let s = try Scenario.run("""
            S=$(ipcsweep-testkit sem-create --key 0x54 --as-uid 4004 --mode 0666)
            ipcsweep-testkit sem-wait --id $S &
            sleep 0.3
            ipcsweep list --format json > "$OUT/wait.json"
            outside list --format json > "$OUT/wait-host.json"
            """)
        XCTAssertEqual(try verdict(s, "wait.json", "sem:0"), "in-use")
        XCTAssertEqual(try reasons(s, "wait.json", "sem:0").first, "semaphore 0 has 1 waiter")
        try s.assertHostAgrees(inside: "wait.json", host: "wait-host.json", ["sem:0"])
    }

    func testAttachedSegmentNamesItsHolders() throws {
        let s = try Scenario.run("""
            M=$(ipcsweep-testkit shm-create --key 0x55 --size 8192 --as-uid 4005)
            ipcsweep-testkit shm-attach --id $M --hold & A=$!
            sleep 0.3
            echo $A > "$OUT/attacher"
            ipcsweep list --format json > "$OUT/attached.json"
            outside list --format json > "$OUT/attached-host.json"
            kill $A; wait $A || true
            ipcsweep list --format json > "$OUT/detached.json"
            outside list --format json > "$OUT/detached-host.json"
            """)
        let attacher = Int(try s.file("attacher").trimmingCharacters(in: .whitespacesAndNewlines))
        XCTAssertEqual(try verdict(s, "attached.json", "shm:0"), "in-use")
        let holders = try s.objects("attached.json")["shm:0"]?["holders"] as? [[String: Any]] ?? []
        XCTAssertTrue(holders.contains { $0["pid"] as? Int == attacher && $0["relation"] as? String == "attached" })
        XCTAssertEqual(try verdict(s, "detached.json", "shm:0"), "orphaned")
        try s.assertHostAgrees(inside: "attached.json", host: "attached-host.json", ["shm:0"])
        try s.assertHostAgrees(inside: "detached.json", host: "detached-host.json", ["shm:0"])
        let hostHolders = try s.objects("attached-host.json")["shm:0"]?["holders"] as? [[String: Any]] ?? []
        XCTAssertTrue(hostHolders.contains { $0["relation"] as? String == "attached" && $0["pid"] as? Int != attacher },
                      "the host names the attacher by its host pid: \(hostHolders)")
    }

    func testQueueWhoseSenderExitedAndSeveralUids() throws {
        let s = try Scenario.run("""
            Q=$(ipcsweep-testkit msg-create --key 0x56 --as-uid 4006)
            ipcsweep-testkit msg-send --id $Q --count 2
            Q2=$(ipcsweep-testkit msg-create --key 0x57 --as-uid 4007)
            ipcsweep-testkit msg-send --id $Q2
            setpriv --reuid=4007 --regid=4007 --clear-groups sleep 100 &
            sleep 0.3
            ipcsweep list --format json > "$OUT/q.json"
            outside list --format json > "$OUT/q-host.json"
            ipcsweep orphans --format json --user 4006 > "$OUT/orphans.json"
            """)
        XCTAssertEqual(try verdict(s, "q.json", "msg:0"), "orphaned")
        XCTAssertTrue(try reasons(s, "q.json", "msg:0").contains("holds 2 messages (10 bytes)"))
        // Another uid's queue with one of its processes alive from before the last activity: suspect.
        XCTAssertEqual(try verdict(s, "q.json", "msg:1"), "suspect")
        XCTAssertEqual(Set(try s.objects("orphans.json").keys), ["msg:0"])
        try s.assertHostAgrees(inside: "q.json", host: "q-host.json", ["msg:0", "msg:1"])
    }

    func testRootCreatedObjectWhileOlderRootProcessesLive() throws {
        let s = try Scenario.run("""
            sleep 100 & OLD=$!
            sleep 1.1
            ipcsweep-testkit sem-create --key 0x58 >/dev/null
            ipcsweep list --format json > "$OUT/root.json"
            ipcsweep list --format json --exe nonexistent-program > "$OUT/scoped.json"
            outside list --format json > "$OUT/root-host.json"
            outside list --format json --exe nonexistent-program > "$OUT/scoped-host.json"
            echo $OLD > "$OUT/old"
            """)
        XCTAssertEqual(try verdict(s, "root.json", "sem:0"), "suspect")
        let old = Int(try s.file("old").trimmingCharacters(in: .whitespacesAndNewlines))
        let possible = try s.objects("root.json")["sem:0"]?["possibleHolders"] as? [[String: Any]] ?? []
        XCTAssertTrue(possible.contains { $0["pid"] as? Int == old })
        // With a scope, root processes outside it do not count.
        XCTAssertEqual(try verdict(s, "scoped.json", "sem:0"), "orphaned")
        try s.assertHostAgrees(inside: "root.json", host: "root-host.json", ["sem:0"])
        try s.assertHostAgrees(inside: "scoped.json", host: "scoped-host.json", ["sem:0"])
    }

    func testHolderInAUnitCgroupAndUnitScope() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: "/sys/fs/cgroup/systemd/cgroup.procs"),
                          "needs the cgroup v1 name=systemd hierarchy")
        let unit = "ipcsweep-test-\(getpid()).service"
        let s = try Scenario.run("""
            SLICE=/sys/fs/cgroup/systemd/system.slice
            CG=$SLICE/\(unit)
            [ -d $SLICE ] && MADE_SLICE=0 || MADE_SLICE=1
            mkdir -p $CG
            trap 'for p in $(cat $CG/cgroup.procs 2>/dev/null); do kill -9 $p 2>/dev/null || true; done; sleep 0.2; rmdir $CG; [ $MADE_SLICE = 0 ] || rmdir $SLICE' EXIT
            S=$(ipcsweep-testkit sem-create --key 0x59 --as-uid 4009)
            sh -c "echo \\$\\$ > $CG/cgroup.procs; exec ipcsweep-testkit sem-op --id $S --hold" & H=$!
            sleep 0.3
            ipcsweep list --format json > "$OUT/unit.json"
            ipcsweep list --format json --unit \(unit.dropLast(8)) > "$OUT/scoped.json"
            kill $H
            """)
        let holders = try s.objects("unit.json")["sem:0"]?["holders"] as? [[String: Any]] ?? []
        XCTAssertEqual(holders.first?["unit"] as? String, unit)
        let scope = try s.json("scoped.json")["scope"] as? [String: Any]
        XCTAssertEqual((scope?["pids"] as? [Int])?.count, 1, "the holder is the only process in the unit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/sys/fs/cgroup/systemd/system.slice/\(unit)"))
    }

    func testLastReceiverThreadIdResolvesToItsProcess() throws {
        let s = try Scenario.run("""
            Q=$(ipcsweep-testkit msg-create --key 0x5a --as-uid 4010)
            ipcsweep-testkit msg-recv-thread --id $Q & R=$!
            sleep 0.3
            ipcsweep-testkit msg-send --id $Q
            sleep 0.2
            echo $R > "$OUT/receiver"
            ls /proc/$R/task > "$OUT/tasks"
            ipcsweep list --format json > "$OUT/thread.json"
            outside list --format json > "$OUT/thread-host.json"
            """)
        let receiver = Int(try s.file("receiver").trimmingCharacters(in: .whitespacesAndNewlines))
        let o = try XCTUnwrap(try s.objects("thread.json")["msg:0"])
        let lrpid = o["lrpid"] as? Int
        XCTAssertNotEqual(lrpid, receiver, "msg_lrpid should be the receiving thread's id, not the process id")
        XCTAssertTrue(try s.file("tasks").split(separator: "\n").contains { Int($0) == lrpid })
        XCTAssertEqual(o["verdict"] as? String, "in-use")
        let holders = o["holders"] as? [[String: Any]] ?? []
        XCTAssertEqual(holders.first?["pid"] as? Int, receiver)
        try s.assertHostAgrees(inside: "thread.json", host: "thread-host.json", ["msg:0"])
    }

    func testProcfsCopyIsReadWithoutTheLiveKernel() throws {
        let s = try Scenario.run("""
            ipcsweep-testkit sem-create --key 0x5b --as-uid 4011 >/dev/null
            M=$(ipcsweep-testkit shm-create --key 0x5c --size 4096 --as-uid 4011)
            C=$(mktemp -d)
            mkdir -p $C/sysvipc $C/sys/kernel
            cp /proc/sysvipc/sem /proc/sysvipc/shm /proc/sysvipc/msg $C/sysvipc/
            for f in sem shmmni shmall shmmax msgmni msgmnb msgmax; do cp /proc/sys/kernel/$f $C/sys/kernel/; done
            grep btime /proc/stat > $C/stat
            ipcrm -a
            ipcsweep list --format json --proc $C > "$OUT/copy.json"
            ipcsweep list --format json > "$OUT/live.json"
            rm -rf $C
            """)
        let copy = try s.objects("copy.json")
        XCTAssertEqual(Set(copy.keys), ["sem:0", "shm:0"], "the copy still lists what the live kernel no longer has")
        XCTAssertEqual(copy["sem:0"]?["verdict"] as? String, "unknown")
        XCTAssertEqual(copy["shm:0"]?["verdict"] as? String, "orphaned")
        XCTAssertEqual(try s.objects("live.json").count, 0)
    }
}
