import Foundation
import IPCSweepCore
import XCTest

/// `ipcsweep clean` against real objects, always inside private IPC, PID and mount namespaces (see Scenario).
/// Every script first mounts a private tmpfs on /run, so the lock file and the syslog socket are the
/// namespace's own and the host's journal never sees test removals.
final class CleanScenarioTests: XCTestCase {
    static let prelude = """
        mount -t tmpfs tmpfs /run
        status() { set +e; "$@"; echo $? >> "$OUT/status"; set -e; }

        """

    func run(_ script: String, allowFailure: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Self.prelude + script, allowFailure: allowFailure, file: file, line: line)
    }

    /// The `results` of a clean JSON document.
    func results(_ s: Scenario, _ name: String) throws -> [[String: Any]] {
        try s.json(name)["results"] as? [[String: Any]] ?? []
    }

    func outcomes(_ r: [[String: Any]]) -> [String: String] {
        var out: [String: String] = [:]
        for x in r { out["\(x["type"] as? String ?? "?"):\(x["id"] as? Int ?? -1)"] = x["outcome"] as? String }
        return out
    }

    func statuses(_ s: Scenario) throws -> [Int] {
        try s.file("status").split(separator: "\n").compactMap { Int($0) }
    }

    /// Orphans of every kind (owned by www-data, whose processes are all gone), one of them holding data.
    static let orphans = """
        S1=$(ipcsweep-testkit sem-create --key 0x1001 --nsems 2 --as-uid 33)
        S2=$(ipcsweep-testkit sem-create --key 0x1002 --as-uid 33)
        ipcsweep-testkit sem-op --id $S2 --delta 3
        M=$(ipcsweep-testkit shm-create --key 0x2001 --size 64 --as-uid 33)
        ipcsweep-testkit shm-attach --id $M --write "segment contents"
        Q=$(ipcsweep-testkit msg-create --key 0x3001 --as-uid 33)

        """

    func testDryRunChangesNothing() throws {
        let s = try run(Self.orphans + """
            Q2=$(ipcsweep-testkit msg-create --key 0x3002 --as-uid 33)
            ipcsweep-testkit msg-send --id $Q2 --text queued
            ipcsweep list --format json > "$OUT/before.json"
            ipcs -a > "$OUT/ipcs-before"
            status ipcsweep clean --dry-run --discard-messages --format json > "$OUT/clean.json"
            status ipcsweep clean --dry-run --yes --save-to "$OUT/never" > "$OUT/clean.txt"
            ipcsweep list --format json > "$OUT/after.json"
            ipcs -a > "$OUT/ipcs-after"
            test ! -e "$OUT/never" || ls "$OUT/never" > "$OUT/saved"
            """)
        XCTAssertEqual(try s.file("ipcs-before"), try s.file("ipcs-after"))
        XCTAssertEqual(try s.objects("before.json").count, 5)
        XCTAssertEqual(Set(try s.objects("before.json").keys), Set(try s.objects("after.json").keys))
        XCTAssertEqual(try statuses(s), [0, 0])
        XCTAssertNil(s.files["saved"], "a dry run saves nothing")
        let r = try results(s, "clean.json")
        XCTAssertEqual(Set(outcomes(r).values), ["planned"])
        XCTAssertEqual(r.count, 5)
        XCTAssertEqual(try s.json("clean.json")["dryRun"] as? Bool, true)
        let text_clean_txt = try s.file("clean.txt")
        XCTAssertTrue(text_clean_txt.contains("dry run: would remove 5"), text_clean_txt)
    }

    func testLiveObjectsAreNeverRemovedWhateverTheFlags() throws {
        let s = try run(Self.orphans + """
            L=$(ipcsweep-testkit sem-create --key 0x4001 --as-uid 33)
            ipcsweep-testkit sem-op --id $L --undo --hold &
            W=$(ipcsweep-testkit sem-create --key 0x4002 --as-uid 33)
            ipcsweep-testkit sem-wait --id $W &
            A=$(ipcsweep-testkit shm-create --key 0x4003 --as-uid 33)
            ipcsweep-testkit shm-attach --id $A --hold &
            R=$(ipcsweep-testkit msg-create --key 0x4004 --as-uid 33)
            ipcsweep-testkit msg-recv-thread --id $R &
            sleep 0.3
            ipcsweep-testkit msg-send --id $R --text handed-over
            echo "$L $W $A $R" > "$OUT/live"
            status ipcsweep clean --yes --include-suspect --discard-messages --save-to "$OUT" --format json > "$OUT/all.json"
            status ipcsweep clean --yes --include-suspect --discard-messages --verdict in-use --format json > "$OUT/inuse.json"
            ipcsweep list --format json > "$OUT/after.json"
            """)
        let live = try s.file("live").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let liveRefs = ["sem:\(live[0])", "sem:\(live[1])", "shm:\(live[2])", "msg:\(live[3])"]
        let after = try s.objects("after.json")
        XCTAssertEqual(Set(after.keys), Set(liveRefs), "exactly the live objects remain")
        for name in ["all.json", "inuse.json"] {
            let r = try results(s, name)
            for x in r where liveRefs.contains("\(x["type"] as? String ?? ""):\(x["id"] as? Int ?? -1)") {
                XCTAssertEqual(x["outcome"] as? String, "skipped", "\(name): \(x)")
                XCTAssertEqual(x["verdict"] as? String, "in-use")
                XCTAssertTrue((x["reason"] as? String)?.contains("ipcrm") == true, "\(x)")
            }
        }
        XCTAssertEqual(outcomes(try results(s, "all.json")).values.filter { $0 == "removed" }.count, 4)
        XCTAssertEqual(try statuses(s), [0, 0], "in-use objects that matched are not a failure")
    }

    func testObjectChangedBetweenPlanAndRemovalIsSkipped() throws {
        let s = try run(Self.orphans + """
            export IPCSWEEP_TEST_BEFORE_RMID='case $IPCSWEEP_TEST_TYPE in
              sem) ipcsweep-testkit sem-op --id $IPCSWEEP_TEST_ID --delta 1 ;;
              shm) ipcsweep-testkit shm-attach --id $IPCSWEEP_TEST_ID ;;
              msg) ipcsweep-testkit msg-send --id $IPCSWEEP_TEST_ID --text late ;;
            esac'
            status ipcsweep clean --yes --format json > "$OUT/clean.json"
            unset IPCSWEEP_TEST_BEFORE_RMID
            ipcsweep list --format json > "$OUT/after.json"
            """)
        let r = try results(s, "clean.json")
        XCTAssertEqual(r.count, 4)
        for x in r {
            XCTAssertEqual(x["outcome"] as? String, "skipped", "\(x)")
            XCTAssertTrue((x["reason"] as? String)?.hasPrefix("changed since planned") == true, "\(x)")
            XCTAssertFalse((x["changes"] as? [String] ?? []).isEmpty)
        }
        XCTAssertEqual(try s.objects("after.json").count, 4, "nothing was removed")
        XCTAssertEqual(try statuses(s), [4])
    }

    /// A process born between the plan and the re-check (the service restarted, its worker daemonised: re-parented,
    /// of the set's owner, started within the inheritance window of the set's last activity) is found by the
    /// re-check among the pids handed out since the plan, and the set it may hold is kept.
    func testAProcessBornAfterThePlanThatMayHoldTheSetKeepsIt() throws {
        let s = try run("""
            export OUT
            S=$(ipcsweep-testkit sem-create --key 0x1009 --as-uid 33)
            export IPCSWEEP_TEST_BEFORE_RMID='setpriv --reuid 33 --regid 33 --clear-groups sleep 600 </dev/null >/dev/null 2>&1 &
              echo $! > "$OUT/born.pid"
              until grep -q "^Name:.sleep" /proc/$!/status; do sleep 0.01; done'
            status ipcsweep clean --yes --type sem --format json > "$OUT/clean.json"
            unset IPCSWEEP_TEST_BEFORE_RMID
            ipcsweep list --type sem --format json > "$OUT/after.json"
            kill $(cat "$OUT/born.pid")
            """)
        let born = try XCTUnwrap(Int(s.file("born.pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        let r = try results(s, "clean.json")
        XCTAssertEqual(r.count, 1)
        XCTAssertEqual(r.first?["outcome"] as? String, "skipped", "\(r)")
        let reason = r.first?["reason"] as? String ?? ""
        XCTAssertTrue(reason.hasPrefix("suspect: possible holder: pid \(born) sleep (www-data)"), "the born process is named: \(reason)")
        XCTAssertEqual(try s.objects("after.json").count, 1, "the set was kept")
    }

    func testQueueMessagesSurviveWithoutFlagsAndAreSavedByteForByte() throws {
        let s = try run(Self.orphans + """
            ipcsweep-testkit msg-send --id $Q --type 5 --text "first message"
            ipcsweep-testkit msg-send --id $Q --type 9 --text $'line one\\nline two\\n\\x01\\x7f end'
            ipcsweep-testkit msg-send --id $Q --type 5 --text ""
            ipcsweep-testkit msg-send --id $Q --type 2147483647 --text "last"
            echo $Q > "$OUT/q"
            status ipcsweep clean --yes --type msg --format json > "$OUT/kept.json"
            ipcs -q > "$OUT/ipcs-kept"
            status ipcsweep clean --yes --type msg --save-to "$OUT" --format json > "$OUT/saved.json"
            ipcs -q > "$OUT/ipcs-saved"
            """)
        let q = try s.file("q").trimmingCharacters(in: .whitespacesAndNewlines)
        let kept = try results(s, "kept.json")
        XCTAssertEqual(kept.first?["outcome"] as? String, "skipped")
        XCTAssertTrue((kept.first?["reason"] as? String)?.contains("4 messages") == true, "\(kept)")
        XCTAssertTrue(try s.file("ipcs-kept").contains("0x00003001"), "the queue survived")
        XCTAssertFalse(try s.file("ipcs-saved").contains("0x00003001"), "removed after saving")
        XCTAssertEqual(try statuses(s), [4, 0])
        let saved = try results(s, "saved.json")
        XCTAssertEqual(saved.first?["outcome"] as? String, "removed")
        let path = try XCTUnwrap(saved.first?["savedTo"] as? String)
        let name = (path as NSString).lastPathComponent
        XCTAssertTrue(name.hasPrefix("msg-\(q)-0x00003001-"), name)
        let file = try SaveFile.parse(Array(try XCTUnwrap(s.files[name])))
        XCTAssertEqual(file.messages.map(\.type), [5, 9, 5, 2147483647])
        XCTAssertEqual(file.messages.map { Data($0.bytes) }, [
            Data("first message".utf8), Data("line one\nline two\n\u{01}\u{7f} end".utf8), Data(), Data("last".utf8),
        ])
        XCTAssertEqual(file.value("key"), "0x00003001")
        XCTAssertEqual(file.value("owner"), "33")
    }

    func testSegmentBytesAreSavedBeforeRemoval() throws {
        let s = try run(Self.orphans + """
            echo $M > "$OUT/m"
            status ipcsweep clean --yes --type shm --save-to "$OUT" --format json > "$OUT/clean.json"
            ipcs -m > "$OUT/ipcs"
            """)
        let m = try s.file("m").trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try results(s, "clean.json")
        XCTAssertEqual(r.first?["outcome"] as? String, "removed", "\(r)")
        XCTAssertEqual(try statuses(s), [0])
        XCTAssertFalse(try s.file("ipcs").contains("0x00002001"))
        let name = ((try XCTUnwrap(r.first?["savedTo"] as? String)) as NSString).lastPathComponent
        XCTAssertTrue(name.hasPrefix("shm-\(m)-0x00002001-"), name)
        let file = try SaveFile.parse(Array(try XCTUnwrap(s.files[name])))
        var expected = Array("segment contents".utf8)
        expected += [UInt8](repeating: 0, count: 64 - expected.count)
        XCTAssertEqual(file.data, expected)
        XCTAssertEqual(file.value("size"), "64")
    }

    func testTwoConcurrentCleansRemoveEachOrphanExactlyOnce() throws {
        let s = try run("""
            ipcsweep-testkit sem-create --count 3000 --as-uid 33 | sort -n > "$OUT/ids"
            ( set +e; ipcsweep clean --yes --format json > "$OUT/a.json"; echo $? > "$OUT/a.status" ) &
            ( set +e; ipcsweep clean --yes --format json > "$OUT/b.json"; echo $? > "$OUT/b.status" ) &
            wait
            ipcs -s | grep -c '^0x' > "$OUT/left" || true
            """)
        XCTAssertEqual(try s.file("a.status"), "0\n")
        XCTAssertEqual(try s.file("b.status"), "0\n")
        XCTAssertEqual(try s.file("left"), "0\n")
        var removed: [Int] = []
        for name in ["a.json", "b.json"] {
            for x in try results(s, name) {
                XCTAssertNotEqual(x["outcome"] as? String, "failed", "\(x)")
                if x["outcome"] as? String == "removed" { removed.append(x["id"] as? Int ?? -1) }
            }
        }
        let ids = try s.file("ids").split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(ids.count, 3000)
        XCTAssertEqual(removed.count, 3000, "each removed exactly once")
        XCTAssertEqual(removed.sorted(), ids)
    }

    func testSIGTERMDuringALargeCleanStopsBetweenObjectsAndNamesTheSender() throws {
        let s = try run("""
            ipcsweep-testkit sem-create --count 20000 --as-uid 33 > /dev/null
            export IPCSWEEP_TEST_BEFORE_RMID_AT=5000
            export IPCSWEEP_TEST_BEFORE_RMID='echo $$ > "$OUT/killer"; exec kill -TERM $PPID'
            status ipcsweep clean --yes --format json > "$OUT/clean.json" 2> "$OUT/stderr"
            unset IPCSWEEP_TEST_BEFORE_RMID
            ipcs -s | grep -c '^0x' > "$OUT/left" || true
            """)
        let killer = try s.file("killer").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try statuses(s), [143])
        let stderr = try s.file("stderr")
        XCTAssertTrue(stderr.contains("SIGTERM from pid \(killer) (uid 0)"), stderr)
        let doc = try s.json("clean.json")
        let interrupted = try XCTUnwrap(doc["interrupted"] as? [String: Any])
        XCTAssertEqual(interrupted["signal"] as? String, "SIGTERM")
        XCTAssertEqual(interrupted["pid"] as? Int, Int(killer))
        let r = try results(s, "clean.json")
        XCTAssertEqual(r.count, 20000, "every object is accounted for")
        let removed = r.filter { $0["outcome"] as? String == "removed" }.count
        XCTAssertEqual(removed, 5000, "the object in hand was finished, nothing after it was started")
        XCTAssertEqual(Int(try s.file("left").trimmingCharacters(in: .whitespacesAndNewlines)), 20000 - removed)
        XCTAssertTrue(r.dropFirst(5000).allSatisfy { ($0["reason"] as? String)?.hasPrefix("not attempted") == true })
    }

    func testNonRootCallerGetsPerObjectFailuresNotACrash() throws {
        let s = try run("""
            ipcsweep-testkit sem-create --key 0x5001 --count 3 --as-uid 33 --mode 0644 > /dev/null
            ipcsweep-testkit shm-create --key 0x5101 --as-uid 33 --mode 0644 > /dev/null
            ipcsweep-testkit msg-create --key 0x5201 --as-uid 33 --mode 0644 > /dev/null
            ipcsweep-testkit sem-create --key 0x5301 --as-uid 33 --mode 0600 > /dev/null
            ipcsweep-testkit shm-create --key 0x5401 --as-uid 33 --mode 0600 > /dev/null
            NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
            status $NOBODY ipcsweep clean --yes --format json > "$OUT/clean.json" 2> "$OUT/stderr"
            status $NOBODY ipcsweep clean --yes > "$OUT/clean.txt" 2>> "$OUT/stderr"
            ipcs -a | grep -c '^0x' > "$OUT/left" || true
            """)
        XCTAssertEqual(try statuses(s), [4, 4])
        XCTAssertEqual(try s.file("left"), "7\n", "nothing removed")
        let r = try results(s, "clean.json")
        XCTAssertEqual(r.count, 7)
        let failed = r.filter { $0["outcome"] as? String == "failed" }
        XCTAssertGreaterThanOrEqual(failed.count, 5, "\(r)")
        for x in failed {
            let reason = x["reason"] as? String ?? ""
            XCTAssertTrue(reason.hasPrefix("not the owner or creator of id \(x["id"] as? Int ?? -1), and not privileged")
                          || reason.contains("needs read permission"), reason)
        }
        for x in r where x["outcome"] as? String != "failed" {
            XCTAssertEqual(x["outcome"] as? String, "skipped", "\(x)")
        }
        let text_clean_txt = try s.file("clean.txt")
        XCTAssertTrue(text_clean_txt.contains("failed"), text_clean_txt)
    }

    func testQuietNothingToDoAndRefusalWithoutATerminal() throws {
        let s = try run("""
            L=$(ipcsweep-testkit sem-create --key 0x6001 --as-uid 33)
            ipcsweep-testkit sem-op --id $L --undo --hold &
            sleep 0.2
            status ipcsweep clean --yes --quiet > "$OUT/quiet.out"
            status ipcsweep clean --quiet < /dev/null > "$OUT/quiet-noyes.out"
            ipcsweep-testkit sem-create --key 0x6002 --as-uid 33 > /dev/null
            status ipcsweep clean < /dev/null > "$OUT/refused.out" 2> "$OUT/refused.err"
            ipcs -s | grep -c '^0x' > "$OUT/left" || true
            status ipcsweep clean --yes --quiet --lock-wait 5s > "$OUT/quiet-work.out"
            """)
        XCTAssertEqual(try statuses(s), [0, 0, 1, 0])
        XCTAssertEqual(try s.file("quiet.out"), "", "--quiet prints nothing when there is nothing to do")
        XCTAssertEqual(try s.file("quiet-noyes.out"), "")
        let text_refused_err = try s.file("refused.err")
        XCTAssertTrue(text_refused_err.contains("standard input is not a terminal"), text_refused_err)
        XCTAssertEqual(try s.file("left"), "2\n", "the refusal removed nothing")
        let quietWork = try s.file("quiet-work.out")
        XCTAssertTrue(quietWork.contains("removed 1"), quietWork)
        XCTAssertFalse(quietWork.contains("0x00006001"), "--quiet lists only planned objects: \(quietWork)")
    }

    func testRemovalsAndFailuresGoToSyslogWithIdKeyOwnerAndVerdict() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw XCTSkip("needs /usr/bin/python3 to listen on the namespace's own /dev/log")
        }
        let s = try run(Scenario.syslogListener + """
            ipcsweep-testkit sem-create --key 0x7001 --as-uid 33 > /dev/null
            ipcsweep-testkit sem-create --key 0x7002 --as-uid 33 --mode 0644 > /dev/null
            setpriv --reuid=65534 --regid=65534 --clear-groups ipcsweep clean --yes --key 0x7002 > /dev/null || true
            ipcsweep clean --yes --key 0x7001 > /dev/null
            wait $LISTENER
            """)
        let log = try s.file("syslog")
        let lines = log.split(separator: "\n").map(String.init)
        let removed = try XCTUnwrap(lines.first { $0.contains("removed semaphore set") }, log)
        // <85> = LOG_AUTHPRIV | LOG_NOTICE; <83> = LOG_AUTHPRIV | LOG_ERR.
        XCTAssertTrue(removed.hasPrefix("<85>"), removed)
        for part in ["ipcsweep[", "key 0x00007001", "owner www-data (uid 33)", "verdict orphaned", "evidence: "] {
            XCTAssertTrue(removed.contains(part), "\(part) missing: \(removed)")
        }
        let failed = try XCTUnwrap(lines.first { $0.contains("failed to remove") }, log)
        XCTAssertTrue(failed.hasPrefix("<83>"), failed)
        XCTAssertTrue(failed.contains("key 0x00007002") && failed.contains("not the owner or creator"), failed)
    }

    func testConfirmationOnATerminal() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else {
            throw XCTSkip("needs script(1) from util-linux to give clean a terminal")
        }
        let s = try run("""
            ipcsweep-testkit sem-create --key 0x8001 --count 2 --as-uid 33 > /dev/null
            printf 'n\\n' | script -qec "ipcsweep clean --color never" /dev/null > "$OUT/no.out" || echo $? >> "$OUT/status"
            ipcs -s | grep -c '^0x' > "$OUT/left-no" || true
            printf 'y\\n' | script -qec "ipcsweep clean --color never" /dev/null > "$OUT/yes.out" && echo 0 >> "$OUT/status"
            ipcs -s | grep -c '^0x' > "$OUT/left-yes" || true
            """)
        XCTAssertEqual(try statuses(s), [1, 0])
        let no = try s.file("no.out")
        XCTAssertTrue(no.contains("Remove these 2 objects?") && no.contains("0x00008001"), no)
        XCTAssertTrue(no.contains("nothing removed: not confirmed"), no)
        XCTAssertEqual(try s.file("left-no"), "2\n")
        let yes = try s.file("yes.out")
        XCTAssertTrue(yes.contains("removed 2"), yes)
        XCTAssertEqual(try s.file("left-yes"), "0\n")
    }

    /// The same without a hook: another process sends SIGTERM at whatever moment the removals have begun.
    /// Whenever it lands, no object is left half-done: removed + remaining is the whole set.
    func testSIGTERMFromAnotherProcessAtAnArbitraryMoment() throws {
        let s = try run("""
            ipcsweep-testkit sem-create --count 20000 --as-uid 33 > /dev/null
            ( set +e; ipcsweep clean --yes --format json > "$OUT/clean.json" 2> "$OUT/stderr"; echo $? > "$OUT/rc" ) &
            sleep 0.05
            CLEAN=$(pgrep -x ipcsweep | head -n 1)
            while [ "$(grep -c . /proc/sysvipc/sem)" -gt 19901 ] && kill -0 $CLEAN 2>/dev/null; do :; done
            sh -c 'echo $$ > "$OUT/killer"; exec kill -TERM '$CLEAN 2>/dev/null || true
            wait
            ipcs -s | grep -c '^0x' > "$OUT/left" || true
            """)
        let rc = try s.file("rc").trimmingCharacters(in: .whitespacesAndNewlines)
        let left = Int(try s.file("left").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        let r = try results(s, "clean.json")
        let removed = r.filter { $0["outcome"] as? String == "removed" }.count
        XCTAssertEqual(removed + left, 20000, "every set is either removed or intact")
        XCTAssertFalse(r.contains { $0["outcome"] as? String == "failed" })
        if rc == "143" {
            let killer = try s.file("killer").trimmingCharacters(in: .whitespacesAndNewlines)
            let stderr = try s.file("stderr")
            XCTAssertTrue(stderr.contains("SIGTERM from pid \(killer)"), stderr)
            XCTAssertGreaterThan(left, 0)
        } else {
            XCTAssertEqual(rc, "0", "the signal came after the last removal: a normal finish")
        }
    }
}
