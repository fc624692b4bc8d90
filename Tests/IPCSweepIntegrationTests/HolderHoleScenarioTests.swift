import Foundation
import XCTest

/// Each shape in which a live object used to be called orphaned and removed (issue 9), with real processes of
/// other uids and groups in private namespaces: now never orphaned, never removed.
final class HolderHoleScenarioTests: XCTestCase {
    func object(_ s: Scenario, _ file: String, _ ref: String) throws -> [String: Any] {
        try XCTUnwrap(try s.objects(file)[ref], "\(ref) missing from \(file)")
    }

    func evidenceKinds(_ o: [String: Any]) -> [String] {
        (o["evidence"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
    }

    func rules(_ o: [String: Any]) -> [String] {
        (o["evidence"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "possible-holder" }
            .compactMap { $0["rule"] as? String }
    }

    /// The clean report's outcome for one object.
    func outcome(_ s: Scenario, _ file: String, _ type: String, _ id: Int) throws -> String? {
        let results = try s.json(file)["results"] as? [[String: Any]] ?? []
        return results.first { $0["type"] as? String == type && $0["id"] as? Int == id }?["outcome"] as? String
    }

    /// A 0660 set shared by group 4500: its creator (4101) exited; a live process of another uid in that group
    /// (4102 by its primary gid, 4103 by a supplementary group) uses it, and its child did the last semop and exited.
    func testGroupMemberOfAnotherUidHoldsA0660Set() throws {
        let s = try Scenario.run("""
            A=$(ipcsweep-testkit sem-create --key 0x61 --as-uid 4101 --as-gid 4500 --mode 0660)
            B=$(ipcsweep-testkit sem-create --key 0x62 --as-uid 4101 --as-gid 4500 --mode 0660)
            setpriv --reuid=4102 --regid=4500 --clear-groups bash -c "ipcsweep-testkit sem-op --id $A; exec sleep 100" &
            setpriv --reuid=4103 --regid=4103 --groups=4500 bash -c "ipcsweep-testkit sem-op --id $B; exec sleep 100" &
            sleep 0.5
            ipcsweep list --format json > "$OUT/list.json"
            outside list --format json > "$OUT/host.json"
            ipcsweep clean --yes --format json > "$OUT/clean.json" || true
            ipcs -s > "$OUT/after.txt"
            """)
        for ref in ["sem:0", "sem:1"] {
            let o = try object(s, "list.json", ref)
            XCTAssertEqual(o["verdict"] as? String, "suspect", "\(ref): \(o["reasons"] ?? "")")
            XCTAssertEqual(rules(o), ["group-access", "group-access"], "\(ref): both group members, by primary and supplementary gid")
            XCTAssertTrue(evidenceKinds(o).contains("recorded-pid-exited"), "the child that did the semop exited")
        }
        XCTAssertNotEqual(try outcome(s, "clean.json", "sem", 0), "removed")
        XCTAssertTrue(try s.file("after.txt").contains("0x00000061"))
        XCTAssertTrue(try s.file("after.txt").contains("0x00000062"))
        try s.assertHostAgrees(inside: "list.json", host: "host.json", ["sem:0", "sem:1"])
    }

    /// A 0666 segment and a 0666 queue of uid 4201, used by a live process of uid 4202 whose exited children did
    /// the last attach, send and receive.
    func testOtherUidUsesA0666SegmentAndQueue() throws {
        let s = try Scenario.run("""
            M=$(ipcsweep-testkit shm-create --key 0x63 --as-uid 4201 --mode 0666)
            Q=$(ipcsweep-testkit msg-create --key 0x64 --as-uid 4201 --mode 0666)
            setpriv --reuid=4202 --regid=4202 --clear-groups bash -c \\
                "ipcsweep-testkit shm-attach --id $M; ipcsweep-testkit msg-send --id $Q --count 2; ipcsweep-testkit msg-recv --id $Q; exec sleep 100" &
            sleep 0.5
            ipcsweep list --format json > "$OUT/list.json"
            outside list --format json > "$OUT/host.json"
            ipcsweep clean --yes --discard-messages --format json > "$OUT/clean.json" || true
            ipcs -m -q > "$OUT/after.txt"
            """)
        let shm = try object(s, "list.json", "shm:0")
        XCTAssertEqual(shm["verdict"] as? String, "suspect", "\(shm["reasons"] ?? "")")
        XCTAssertEqual(rules(shm), ["other-access"])
        let msg = try object(s, "list.json", "msg:0")
        XCTAssertEqual(msg["verdict"] as? String, "suspect", "\(msg["reasons"] ?? "")")
        XCTAssertEqual(rules(msg), ["other-access"])
        XCTAssertNotEqual(msg["lspid"] as? Int, 0)
        XCTAssertNotEqual(msg["lrpid"] as? Int, 0)
        let after = try s.file("after.txt")
        XCTAssertTrue(after.contains("0x00000063") && after.contains("0x00000064"), after)
        try s.assertHostAgrees(inside: "list.json", host: "host.json", ["shm:0", "msg:0"])
    }

    /// A root process creates a set and runs ipcsweep itself (a daemon sweeping old leftovers at start): the
    /// creator, ipcsweep's parent, is a possible holder, unscoped and under a scope that names it.
    func testRootCreatorThatRunsIpcsweepHoldsItsSet() throws {
        let s = try Scenario.run("""
            cat > "$OUT/creator.py" <<'PY'
            import ctypes, os, subprocess, sys
            out = sys.argv[1]
            libc = ctypes.CDLL(None, use_errno=True)
            sid = libc.semget(0x65, 1, 0o1600)
            assert sid >= 0, ctypes.get_errno()
            open(out + "/creator.pid", "w").write(str(os.getpid()))
            for name, args in [("list", ["list"]), ("scoped", ["list", "--pidfile", out + "/creator.pid"]),
                               ("clean", ["clean", "--yes", "--pidfile", out + "/creator.pid"])]:
                with open(out + "/" + name + ".json", "w") as f:
                    subprocess.run(["ipcsweep"] + args + ["--format", "json"], stdout=f)
            PY
            /usr/bin/python3 "$OUT/creator.py" "$OUT"
            ipcs -s > "$OUT/after.txt"
            ipcrm -a
            """)
        let creator = Int(try s.file("creator.pid"))
        for file in ["list.json", "scoped.json"] {
            let o = try object(s, file, "sem:0")
            XCTAssertEqual(o["verdict"] as? String, "suspect", "\(file): \(o["reasons"] ?? "")")
            let possible = o["possibleHolders"] as? [[String: Any]] ?? []
            XCTAssertTrue(possible.contains { $0["pid"] as? Int == creator }, "\(file): the creator \(creator ?? -1) is a possible holder")
        }
        XCTAssertTrue(try s.file("after.txt").contains("0x00000065"), "clean kept the set its live creator holds")
    }

    /// A server uses its set, then daemonises 2.5 s later (fork, parent exits): the surviving daemon, re-parented
    /// to the namespace's init and younger than the last activity, may have inherited the set.
    func testDaemonThatForkedAfterUseKeepsItsSet() throws {
        let s = try Scenario.run("""
            S=$(ipcsweep-testkit sem-create --key 0x66 --as-uid 4301)
            setpriv --reuid=4301 --regid=4301 --clear-groups bash -c "ipcsweep-testkit sem-op --id $S; sleep 2.5; sleep 100 &"
            # The forked child may not have exec'd sleep yet when its parent exits (a loaded machine).
            for i in $(seq 1 100); do D=$(pgrep -u 4301 -x sleep) && break; sleep 0.02; done
            echo "$D $(awk '{print $4}' /proc/$D/stat)" > "$OUT/daemon"
            ipcsweep list --format json > "$OUT/list.json"
            ipcsweep list --format json --inherit-window 1s > "$OUT/narrow.json"
            outside list --format json > "$OUT/host.json"
            outside list --format json --inherit-window 1s > "$OUT/narrow-host.json"
            ipcsweep clean --yes --format json > "$OUT/clean.json" || true
            ipcs -s > "$OUT/after.txt"
            """)
        let fields = try s.file("daemon").split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(fields[1], 1, "the daemon was re-parented to the namespace's init")
        let o = try object(s, "list.json", "sem:0")
        XCTAssertEqual(o["verdict"] as? String, "suspect", "\(o["reasons"] ?? "")")
        let e = (o["evidence"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "possible-holder" }
        XCTAssertEqual(e?["pid"] as? Int, fields[0])
        XCTAssertEqual(e?["timing"] as? String, "inherited")
        XCTAssertEqual(e?["reparented"] as? String, "parent-is-init")
        XCTAssertGreaterThan(e?["startOffsetMs"] as? Int ?? 0, 2000)
        // A window shorter than the daemon's delay no longer admits it: proof that the window is what keeps it.
        XCTAssertEqual(try object(s, "narrow.json", "sem:0")["verdict"] as? String, "orphaned")
        XCTAssertTrue(try s.file("after.txt").contains("0x00000066"))
        // From the host the daemon's parent is the scenario's init, a nested namespace's init: re-parented too.
        try s.assertHostAgrees(inside: "list.json", host: "host.json", ["sem:0"])
        try s.assertHostAgrees(inside: "narrow.json", host: "narrow-host.json", ["sem:0"])
    }

    /// /proc mounted hidepid=2 (a fresh proc mount in the scenario's own mount namespace): a non-root caller
    /// sees uid 4401's set in /proc/sysvipc but not 4401's live process, so nothing may be orphaned.
    func testHidepidHidesHoldersFromANonRootCaller() throws {
        let s = try Scenario.run("""
            S=$(ipcsweep-testkit sem-create --key 0x67 --as-uid 4401 --mode 0644)
            setpriv --reuid=4401 --regid=4401 --clear-groups bash -c "ipcsweep-testkit sem-op --id $S; exec sleep 100" &
            sleep 0.5
            setpriv --reuid=4402 --regid=4402 --clear-groups ipcsweep list --format json > "$OUT/visible.json"
            mount -t proc -o hidepid=2 proc /proc
            grep -q 'hidepid=' /proc/self/mountinfo
            setpriv --reuid=4402 --regid=4402 --clear-groups ipcsweep list --format json > "$OUT/hidden.json"
            setpriv --reuid=4402 --regid=4402 --clear-groups ipcsweep list > "$OUT/hidden.txt"
            setpriv --reuid=4402 --regid=4402 --clear-groups ipcsweep orphans --format json > "$OUT/orphans.json"
            ipcsweep list --format json > "$OUT/root.json"
            umount /proc
            # hidepid=1 (noaccess): the pids are listed but their files cannot be read.
            mount -t proc -o hidepid=1 proc /proc
            echo "$(pgrep -u 4401 -x sleep)" > "$OUT/holder"
            setpriv --reuid=4402 --regid=4402 --clear-groups ipcsweep list --format json > "$OUT/noaccess.json"
            umount /proc
            """)
        XCTAssertEqual(try object(s, "visible.json", "sem:0")["verdict"] as? String, "suspect", "control: the holder is visible")
        let hidden = try object(s, "hidden.json", "sem:0")
        XCTAssertEqual(hidden["verdict"] as? String, "unknown", "\(hidden["reasons"] ?? "")")
        let reasons = hidden["reasons"] as? [String] ?? []
        // The kernel shows the option as hidepid=invisible (Linux 5.8+) or hidepid=2.
        XCTAssertTrue(reasons.first?.contains("is mounted with hidepid=") == true && reasons.first?.contains("run as root") == true, "\(reasons)")
        let spot = (hidden["evidence"] as? [[String: Any]] ?? []).first
        XCTAssertEqual(spot?["kind"] as? String, "blind-spot")
        XCTAssertEqual(spot?["blindSpot"] as? String, "hidepid")
        XCTAssertEqual(try s.objects("orphans.json").count, 0)
        XCTAssertTrue(try s.file("hidden.txt").contains("unknown"))
        // Root is exempt from hidepid: the full view again.
        XCTAssertEqual(try object(s, "root.json", "sem:0")["verdict"] as? String, "suspect")
        // Under hidepid=1 the holder's /proc entry is listed but unreadable: it counts as able to reach the set.
        let noaccess = try object(s, "noaccess.json", "sem:0")
        XCTAssertEqual(noaccess["verdict"] as? String, "unknown")
        let holder = Int(try s.file("holder").trimmingCharacters(in: .whitespacesAndNewlines))
        let entries = noaccess["evidence"] as? [[String: Any]] ?? []
        XCTAssertTrue(entries.contains { $0["kind"] as? String == "possible-holder" && $0["pid"] as? Int == holder
                          && $0["rule"] as? String == "unreadable-status" }, "\(entries)")
    }
}
