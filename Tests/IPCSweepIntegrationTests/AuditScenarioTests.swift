import Foundation
import XCTest

/// `ipcsweep audit` against real objects in private IPC, PID and mount namespaces. /dev/shm is a private tmpfs and
/// the mqueue filesystem of the private IPC namespace is mounted under $OUT/mq, so nothing of the host is seen or
/// touched; after each test the host is checked for leftovers.
final class AuditScenarioTests: XCTestCase {
    /// Mounts a private /dev/shm and this namespace's mqueue filesystem; `$AUDIT` runs the audit on them.
    static let prelude = """
        mount -t tmpfs tmpfs /dev/shm
        mkdir -p "$OUT/mq"
        mount -t mqueue mqueue "$OUT/mq"
        AUDIT="ipcsweep audit --mqueue-root $OUT/mq"

        """

    /// Uids the scenarios create objects for; none of them may ever own an object of the host.
    static let testUIDs: Set<Int> = Set([4242] + Array(5001...5019))

    override func tearDown() {
        // The host's IPC namespace and /dev/shm stay untouched.
        for kind in ["sem", "shm", "msg"] {
            guard let text = try? String(contentsOfFile: "/proc/sysvipc/\(kind)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                // uid is column 5 in sem (key semid perms nsems uid), 7 in shm, 8 in msg.
                let column = kind == "sem" ? 4 : kind == "shm" ? 6 : 7
                if f.count > column, let uid = Int(f[column]), Self.testUIDs.contains(uid) {
                    XCTFail("the host's /proc/sysvipc/\(kind) has an object of test uid \(uid): \(line)")
                }
            }
        }
        let shm = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
        XCTAssertEqual(shm.filter { $0.contains("ipcsweep-audit") }, [], "test files leaked into the host's /dev/shm")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/mqueue/ipcsweep-audit-q"))
    }

    func testCleanNamespaceWithQuietIfCleanPrintsNothingAndExitsZero() throws {
        let s = try Scenario.run(Self.prelude + """
            set +e
            $AUDIT --quiet-if-clean > "$OUT/text" 2> "$OUT/err"; echo $? > "$OUT/rc"
            $AUDIT --quiet-if-clean --fail-on orphaned --fail-on suspect --fail-on limits --fail-on insecure \\
                > "$OUT/text2" 2>&1; echo $? > "$OUT/rc2"
            # /dev/mqueue not mounted: skipped quietly, said in JSON.
            ipcsweep audit --format json --mqueue-root "$OUT/not-mounted" > "$OUT/json" 2> "$OUT/err3"
            """)
        XCTAssertEqual(try s.file("text"), "", "--quiet-if-clean in a clean namespace prints nothing")
        XCTAssertEqual(try s.file("err"), "")
        XCTAssertEqual(try s.file("rc"), "0\n")
        XCTAssertEqual(try s.file("text2"), "")
        XCTAssertEqual(try s.file("rc2"), "0\n", "no --fail-on class is present")
        XCTAssertEqual(try s.file("err3"), "", "a missing mqueue mount is not worth a warning")
        let doc = try s.json("json")
        XCTAssertEqual(doc["clean"] as? Bool, true)
        let posix = try XCTUnwrap(doc["posix"] as? [[String: Any]])
        XCTAssertEqual(posix.last?["scanned"] as? Bool, false)
        XCTAssertTrue((posix.last?["skipReason"] as? String)?.contains("not mounted") == true)
    }

    func testOrphansOfAUidWithoutPasswdEntryAppearWithThatUid() throws {
        guard getpwuid(4242) == nil else { throw XCTSkip("uid 4242 has a passwd entry on this machine") }
        let s = try Scenario.run(Self.prelude + """
            ipcsweep-testkit sem-create --as-uid 4242 --count 2 --nsems 2 > "$OUT/ids"
            $AUDIT --format json > "$OUT/audit.json"
            $AUDIT > "$OUT/audit.txt"
            """)
        let ids = try s.file("ids").split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(ids.count, 2)
        let doc = try s.json("audit.json")
        let orphans = try XCTUnwrap(doc["orphans"] as? [[String: Any]])
        XCTAssertEqual(orphans.compactMap { $0["id"] as? Int }.sorted(), ids.sorted())
        for o in orphans {
            let owner = try XCTUnwrap(o["owner"] as? [String: Any])
            XCTAssertEqual(owner["uid"] as? Int, 4242)
            XCTAssertTrue(owner["user"] is NSNull, "no passwd entry: user is null")
        }
        let insecure = try XCTUnwrap(doc["insecure"] as? [[String: Any]])
        let ownerless = insecure.filter { $0["issue"] as? String == "unknown-owner" }
        XCTAssertEqual(ownerless.count, 2)
        XCTAssertEqual(ownerless.first?["missing"] as? [String], ["owner and creator uid 4242", "group and creator group gid 4242"])
        let owners = try XCTUnwrap((doc["counts"] as? [String: Any])?["byOwner"] as? [[String: Any]])
        XCTAssertEqual(owners.first?["uid"] as? Int, 4242)
        let text = try s.file("audit.txt")
        XCTAssertTrue(text.contains("owner 4242 (no passwd entry)"), text)
        XCTAssertTrue(text.contains("owner and creator uid 4242"), text)
        XCTAssertTrue(text.hasPrefix("ipcsweep audit: 2 orphaned"), text)
    }

    func testWorldWritableSegmentAndACLGrantedShmFileAreFlagged() throws {
        let s = try Scenario.run(Self.prelude + """
            ipcsweep-testkit shm-create --size 4096 --mode 0666 > "$OUT/shmid"
            ipcsweep-testkit shm-create --size 4096 --mode 0600 > /dev/null
            echo secret > /dev/shm/ipcsweep-audit-acl
            chmod 0600 /dev/shm/ipcsweep-audit-acl
            setfacl -m u:nobody:rw /dev/shm/ipcsweep-audit-acl
            touch /dev/shm/sem.ipcsweep-audit-private && chmod 0600 /dev/shm/sem.ipcsweep-audit-private
            touch "$OUT/mq/ipcsweep-audit-q" && chmod 0600 "$OUT/mq/ipcsweep-audit-q"
            touch "$OUT/mq/ipcsweep-audit-open" && chmod 0622 "$OUT/mq/ipcsweep-audit-open"
            $AUDIT --format json > "$OUT/audit.json"
            $AUDIT > "$OUT/audit.txt"
            """)
        let shmid = try XCTUnwrap(Int(try s.file("shmid").trimmingCharacters(in: .whitespacesAndNewlines)))
        let doc = try s.json("audit.json")
        let insecure = try XCTUnwrap(doc["insecure"] as? [[String: Any]])
        func subject(_ f: [String: Any]) -> [String: Any] { f["subject"] as? [String: Any] ?? [:] }

        let segment = insecure.filter { subject($0)["type"] as? String == "shm" }
        XCTAssertEqual(segment.count, 1, "only the 0666 segment")
        XCTAssertEqual(subject(segment[0])["id"] as? Int, shmid)
        XCTAssertEqual(segment.first?["issue"] as? String, "mode")
        let segmentWho = (segment.first?["grantees"] as? [[String: Any]])?.compactMap { $0["source"] as? String }
        XCTAssertEqual(segmentWho, ["group", "others"])
        XCTAssertTrue((segment.first?["risk"] as? String)?.contains("any local user") == true)

        let acl = insecure.filter { subject($0)["path"] as? String == "/dev/shm/ipcsweep-audit-acl" }
        XCTAssertEqual(acl.first?["issue"] as? String, "acl")
        let grantee = (acl.first?["grantees"] as? [[String: Any]])?.first
        XCTAssertEqual(grantee?["source"] as? String, "acl-user")
        XCTAssertEqual(grantee?["name"] as? String, "nobody")
        XCTAssertEqual(grantee?["perms"] as? String, "rw-")

        let queue = insecure.filter { (subject($0)["path"] as? String)?.hasSuffix("/ipcsweep-audit-open") == true }
        XCTAssertEqual(queue.first?["issue"] as? String, "mode", "a 0622 POSIX queue lets others send")
        XCTAssertEqual(insecure.count, 3, "private objects are not flagged: \(insecure.map { $0["message"] ?? "" })")

        let posix = try XCTUnwrap(doc["posix"] as? [[String: Any]])
        XCTAssertEqual(posix.map { $0["objects"] as? Int }, [2, 2])
        let text = try s.file("audit.txt")
        XCTAssertTrue(text.contains("shm \(shmid) (key 0x00000000), owner root, mode 0666: any local user"), text)
        XCTAssertTrue(text.contains("/dev/shm/ipcsweep-audit-acl (POSIX shared memory object), owner root, mode 0660: user nobody (uid 65534) through the ACL (rw-)"), text)
    }

    func testFailOnOrphanedExitsThreeAndErrorsExitOne() throws {
        let s = try Scenario.run(Self.prelude + """
            set +e
            $AUDIT --fail-on orphaned > /dev/null; echo $? > "$OUT/rc-clean"
            ipcsweep-testkit sem-create --as-uid 33 > "$OUT/id"
            $AUDIT --fail-on orphaned > "$OUT/text"; echo $? > "$OUT/rc-orphaned"
            $AUDIT --fail-on suspect --fail-on limits > /dev/null; echo $? > "$OUT/rc-other"
            $AUDIT --fail-on orphaned --format prometheus --output "$OUT/x.prom"; echo $? > "$OUT/rc-file"
            mkdir "$OUT/target.prom"
            $AUDIT --format prometheus --output "$OUT/target.prom" 2> "$OUT/err"; echo $? > "$OUT/rc-error"
            ls -A "$OUT" | grep -c '^\\.' > "$OUT/hidden"
            ipcsweep audit --warn-at 90 --critical-at 80 2> "$OUT/usage"; echo $? > "$OUT/rc-usage"
            exit 0
            """)
        XCTAssertEqual(try s.file("rc-clean"), "0\n")
        XCTAssertEqual(try s.file("rc-orphaned"), "3\n")
        XCTAssertTrue(try s.file("text").contains("Orphaned: 1"), "the report is printed before exit 3")
        XCTAssertEqual(try s.file("rc-other"), "0\n", "no suspect, no limit at risk")
        XCTAssertEqual(try s.file("rc-file"), "3\n")
        XCTAssertTrue(try s.file("x.prom").contains("ipcsweep_findings{class=\"orphaned\"} 1\n"))
        XCTAssertEqual(try s.file("rc-error"), "1\n")
        let err = try s.file("err")
        XCTAssertTrue(err.contains("--output ") && err.contains("/target.prom") && err.contains("not a regular file (a directory)"), err)
        XCTAssertEqual(try s.file("hidden"), "0\n", "a failed --output leaves no temporary file behind")
        XCTAssertEqual(try s.file("rc-usage"), "64\n")
        XCTAssertTrue(try s.file("usage").contains("--warn-at 90 is above --critical-at 80"))
    }

    func testSecondRunWithStateReportsExactlyTheNewOrphans() throws {
        let s = try Scenario.run(Self.prelude + """
            ipcsweep-testkit sem-create --as-uid 33 --count 2 > "$OUT/first"
            $AUDIT --state "$OUT/state.json" --format json > "$OUT/run1.json"
            ipcsweep-testkit sem-create --as-uid 33 --count 3 > "$OUT/second"
            ipcsweep-testkit shm-create --as-uid 34 > "$OUT/second-shm"
            $AUDIT --state "$OUT/state.json" --format json > "$OUT/run2.json"
            ipcrm -s "$(head -n 1 "$OUT/first")"
            $AUDIT --state "$OUT/state.json" --format json > "$OUT/run3.json"
            $AUDIT --state "$OUT/state.json" > "$OUT/run4.txt"
            """)
        let first = try s.file("first").split(separator: "\n").compactMap { Int($0) }
        let second = try s.file("second").split(separator: "\n").compactMap { Int($0) }
        let secondShm = try s.file("second-shm").split(separator: "\n").compactMap { Int($0) }

        let run1 = try s.json("run1.json")
        XCTAssertTrue(run1["state"] is NSNull)
        XCTAssertTrue((run1["stateNote"] as? String)?.contains("baseline") == true)

        let state2 = try XCTUnwrap(try s.json("run2.json")["state"] as? [String: Any])
        let new2 = try XCTUnwrap(state2["newOrphans"] as? [[String: Any]])
        XCTAssertEqual(new2.map { "\($0["type"] ?? ""):\($0["id"] ?? "")" }.sorted(),
                       (second.map { "sem:\($0)" } + secondShm.map { "shm:\($0)" }).sorted(),
                       "exactly the objects created between the runs")
        XCTAssertEqual((state2["goneOrphans"] as? [Any])?.count, 0)
        XCTAssertEqual(state2["previousOrphans"] as? Int, 2)
        XCTAssertEqual(state2["currentOrphans"] as? Int, 6)

        let state3 = try XCTUnwrap(try s.json("run3.json")["state"] as? [String: Any])
        XCTAssertEqual((state3["newOrphans"] as? [Any])?.count, 0)
        XCTAssertEqual((state3["goneOrphans"] as? [[String: Any]])?.map { $0["id"] as? Int }, [first[0]])

        let text = try s.file("run4.txt")
        XCTAssertTrue(text.contains("0 new orphans, 0 gone; 5 -> 5 orphans"), text)
        let saved = try s.json("state.json")
        XCTAssertEqual(saved["schemaVersion"] as? Int, 1)
        XCTAssertEqual((saved["orphans"] as? [Any])?.count, 5)
    }

    func testPrometheusPassesPromtoolAndIsReplacedAtomically() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            XCTFail("promtool is missing: apt-get install prometheus (the CI script does)")
            return
        }
        let s = try Scenario.run(Self.prelude + """
            ipcsweep-testkit sem-create --as-uid 33 --count 2 > /dev/null
            ipcsweep-testkit shm-create --size 8192 --mode 0666 --as-uid 34 > /dev/null
            echo x > /dev/shm/ipcsweep-audit-acl && chmod 600 /dev/shm/ipcsweep-audit-acl
            setfacl -m u:nobody:r /dev/shm/ipcsweep-audit-acl
            # Every process started from now on is provably younger than the objects (whole-second IPC times),
            # so the verdicts, and with them the file's lines, stay the same across the rewrites. The children
            # of this script (pid 1 of the namespace) look re-parented, so without --inherit-window 0 the
            # root-owned ACL file would be suspect for the first 5 s (the readers below may have inherited it)
            # and orphaned after, changing the POSIX orphan-group lines mid-test.
            sleep 1.1
            AUDIT="$AUDIT --inherit-window 0"
            F="$OUT/ipcsweep.prom"
            $AUDIT --format prometheus --output "$F" --state "$OUT/state.json"
            $AUDIT --format prometheus --output "$F" --state "$OUT/state.json"
            promtool check metrics < "$F" > "$OUT/promtool.txt" 2>&1; echo $? > "$OUT/promtool.rc"
            cp "$F" "$OUT/with-state.prom"
            $AUDIT --format prometheus --output "$F"
            lines=$(wc -l < "$F")
            : > "$OUT/bad"
            (
                for i in $(seq 200); do
                    $AUDIT --format prometheus --output "$F" || echo "rewrite $i failed" >> "$OUT/bad"
                done
                touch "$OUT/done"
            ) &
            reads=0
            while [ ! -e "$OUT/done" ]; do
                # cat, not cp: GNU cp stats, then opens, and refuses a file "replaced while being copied" when a
                # rename falls in between, which is exactly the atomic replacement under test.
                if ! cat "$F" > "$OUT/snap" 2>/dev/null; then echo "read $reads: file missing" >> "$OUT/bad"; continue; fi
                n=$(wc -l < "$OUT/snap")
                if [ "$n" != "$lines" ] || [ -n "$(tail -c 1 "$OUT/snap")" ] \\
                    || ! tail -n 1 "$OUT/snap" | grep -q '^ipcsweep_posix_scan_ok'; then
                    echo "read $reads: partial file ($n of $lines lines)" >> "$OUT/bad"
                fi
                reads=$((reads + 1))
            done
            wait
            echo "$reads" > "$OUT/reads"
            rm -f "$OUT/snap" "$OUT/done"
            ls -A "$OUT" | grep '^\\.' > "$OUT/leftovers" || true
            """)
        let promtool = try s.file("promtool.txt")
        XCTAssertEqual(try s.file("promtool.rc"), "0\n", promtool)
        XCTAssertEqual(promtool, "", "promtool lint findings")
        let withState = try s.file("with-state.prom")
        XCTAssertTrue(withState.contains("ipcsweep_orphans_new 0\n"), withState)
        XCTAssertTrue(withState.contains("ipcsweep_limit_usage{kind=\"sem\",limit=\"semmni\"} 2\n"), withState)
        XCTAssertTrue(withState.contains("ipcsweep_insecure_objects{issue=\"acl\",kind=\"posix-shm\"} 1\n"), withState)
        XCTAssertFalse(withState.split(separator: "\n").contains { !$0.hasPrefix("#") && $0.split(separator: " ").count != 2 },
                       "no sample has a timestamp")
        XCTAssertEqual(try s.file("bad"), "", "a reader saw a partial or missing file")
        let reads = Int(try s.file("reads").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(reads, 50, "the reader should overlap the rewrites many times")
        XCTAssertEqual(try s.file("leftovers"), "", "temporary files left behind")
    }

    func testLoweredSEMMNISaysHowManyMoreLeaksFitAndTripsCritical() throws {
        let hostSem = try String(contentsOfFile: "/proc/sys/kernel/sem", encoding: .utf8)
        let s = try Scenario.run(Self.prelude + """
            echo "250 32000 32 40" > /proc/sys/kernel/sem
            # 19 leaks of 2 sets each (one dead owner per leak): 38 of 40 sets. A leak is the sets of one owner made
            # in one second (the kernel's ctime); a pair that a preempted testkit made across a second boundary is
            # two leaks to the kernel too, so it is made again (the rule is right, the setup must be what it says;
            # five tries at most, so that a testkit that made nothing fails the assertions rather than hangs).
            for i in $(seq 1 19); do
                for try in 1 2 3 4 5; do
                    ids=$(ipcsweep-testkit sem-create --count 2 --as-uid $((5000 + i)))
                    [ "$(awk -v u=$((5000 + i)) '$5 == u { print $10 }' /proc/sysvipc/sem | sort -u | wc -l)" = 1 ] && break
                    for id in $ids; do ipcrm -s "$id"; done
                done
            done
            set +e
            $AUDIT > "$OUT/text"
            $AUDIT --fail-on limits > /dev/null; echo $? > "$OUT/rc"
            $AUDIT --format json > "$OUT/json"
            $AUDIT --critical-at 99 > "$OUT/text99"
            $AUDIT --format prometheus > "$OUT/prom"
            # As a host administrator audits it: from the host's pid namespace, this IPC namespace by its init's pid
            # (its own kernel.sem, not the host's, and the same leaks).
            outside audit --type sem --format json > "$OUT/json-host"
            """)
        XCTAssertEqual(try String(contentsOfFile: "/proc/sys/kernel/sem", encoding: .utf8), hostSem,
                       "kernel.sem is per IPC namespace: the host's stays as it was")
        let text = try s.file("text")
        XCTAssertTrue(text.hasPrefix("ipcsweep audit: CRITICAL SEMMNI 95.0 %; 38 orphaned"), text)
        XCTAssertTrue(text.contains("CRITICAL SEMMNI: 38 of 40 sets used (95.0 %); the orphans here grow by 2 sets per leak (19 leaks seen): room for 1 more leak of this size, then semget() fails with ENOSPC (Apache: AH00023)"), text)
        XCTAssertEqual(try s.file("rc"), "3\n")
        let limits = try XCTUnwrap(try s.json("json")["limits"] as? [[String: Any]])
        let semmni = try XCTUnwrap(limits.first { $0["name"] as? String == "SEMMNI" })
        XCTAssertEqual(semmni["level"] as? String, "critical")
        XCTAssertEqual(semmni["leaksRemaining"] as? Int, 1)
        XCTAssertEqual(semmni["perLeak"] as? Int, 2)
        let host = try XCTUnwrap(try s.json("json-host")["limits"] as? [[String: Any]])
        let hostSemmni = try XCTUnwrap(host.first { $0["name"] as? String == "SEMMNI" }, "\(host)")
        XCTAssertEqual(hostSemmni["level"] as? String, "critical", "\(hostSemmni)")
        XCTAssertEqual(hostSemmni["limit"] as? Int, 40, "the namespace's kernel.sem, not the host's")
        XCTAssertEqual(hostSemmni["leaksRemaining"] as? Int, 1)
        XCTAssertEqual(hostSemmni["perLeak"] as? Int, 2)
        XCTAssertTrue(try s.file("text99").contains("WARNING  SEMMNI: 38 of 40 sets used"))
        XCTAssertTrue(try s.file("prom").contains("ipcsweep_limit_status{kind=\"sem\",limit=\"semmni\"} 2\n"))
        XCTAssertTrue(try s.file("prom").contains("ipcsweep_limit_leaks_remaining{kind=\"sem\",limit=\"semmni\"} 1\n"))
    }
}
