import Foundation
import XCTest

@testable import IPCSweepCore

/// Snapshot tests of the three renderers on the fixed `AuditSample` report.
final class AuditRendererTests: XCTestCase {
    /// Compares with the expected text and prints the actual output on a mismatch, for review and update.
    func assertSnapshot(_ actual: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        if actual != expected {
            let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
            let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, e.count)
            XCTFail("snapshot differs at line \(first + 1)\n--- actual ---\n\(actual)--- end ---", file: file, line: line)
        }
    }

    func testTextReportWorstFirst() {
        let text = AuditTextRenderer().render(AuditSample.report(), quietIfClean: true).text
        assertSnapshot(text, """
            ipcsweep audit: WARNING SEMMNI 80.0 %; 3 orphaned, 2 insecure, 1 without owner entry, 1 suspect

            WARNING  SEMMNI: 4 of 5 sets used (80.0 %); the orphans here grow by 2 sets per leak (2 leaks seen): the next leak of this size does not fit: semget() fails with ENOSPC (Apache: AH00023)

            Orphaned: 3 (no live process can be holding them; remove with `ipcsweep clean`)
              sem 5 key 0x00001234 owner 4242 (no passwd entry), 3 sems, last activity 2027-01-15T05:14:20Z (2 h ago): no live process of uid 4242 (4242) existed at the last activity (2027-01-15T05:34:20Z)
              sem 32768, 32769 owner www-data, 1 sem each, last activity 2027-01-15T07:00:00Z (60 min ago): no live process of uid 33 (www-data) existed at the last activity (2027-01-15T06:20:00Z)

            Insecure: 2 (readable or writable beyond the owner)
              shm 65536 (key 0x00000042), owner root, mode 0666: any local user and members of group root (gid 0) (rw-) can attach it and read or overwrite its contents; create it with mode 0600 (the shmget() flags of the program that owns it) or tighten it with IPC_SET
              /dev/shm/data (POSIX shared memory object), owner root, mode 0660: user nobody (uid 65534) through the ACL (rw-) can open it and read, overwrite or truncate it (processes mapping it then die of SIGBUS); restrict it: `setfacl -x u:nobody /dev/shm/data` (and fix the mode the program creates it with)

            Owner or group without a passwd/group entry: 1
              sem 5 (key 0x00001234): owner and creator uid 4242, group and creator group gid 4242 have no entry (account deleted?); an account created later with that id would own it; if nothing uses it, remove it with `ipcsweep clean --user 4242 --id 5`, or see `ipcsweep show 5`

            Suspect: 1 (possible holders are alive; give --unit, --pidfile or --exe to settle)
              msg 3 key 0x00000077 owner www-data, 1 msg, last activity 2027-01-15T07:00:00Z (60 min ago): possible holder: pid 812 php-fpm (www-data, php-fpm.service) started before the last use

            Objects: 6 (sem 4, shm 1, msg 1): 3 orphaned, 1 suspect, 2 in-use, 0 unknown; 2 POSIX IPC objects
            Owners: www-data 3 (2 orphaned), root 2, 4242 1 (1 orphaned)
            Limits: SEMMNI 4/5 (80.0 %) WARNING, SEMMNS 7/32,000 (0.0 %), SHMMNI 1/4,096 (0.0 %), SHMALL 16/2,097,152 (0.0 %), MSGMNI 1/32,000 (0.0 %)

            """)
    }

    func testTextReportWithStateChange() {
        let report = AuditSample.report(previous: AuditSample.previousState)
        let text = AuditTextRenderer().render(report, quietIfClean: false).text
        let section = text.split(separator: "\n").filter { $0.hasPrefix("Since") || $0.hasPrefix("  new:") || $0.hasPrefix("  gone:") }
        XCTAssertEqual(section, [
            "Since the last audit (2027-01-14T20:00:00Z, 12 h ago): 2 new orphans, 1 gone; 2 -> 3 orphans (+2.0 a day since 2027-01-14T20:00:00Z)",
            "  new: sem 32768, sem 32769",
            "  gone: sem 4",
        ])
        XCTAssertTrue(text.hasPrefix("ipcsweep audit: WARNING SEMMNI 80.0 %; 3 orphaned, 2 insecure, 1 without owner entry, 1 suspect, 2 new since the last audit\n"))
    }

    func testQuietIfCleanPrintsNothingOnlyWhenClean() {
        let clean = Auditor.report(AuditInput(objects: [], snapshot: IPCSnapshot(source: "proc"),
                                              limits: AuditSample.limits, now: AuditSample.now, source: "proc"),
                                   names: AuditSample.names)
        XCTAssertEqual(AuditTextRenderer().render(clean, quietIfClean: true).text, "")
        XCTAssertTrue(AuditTextRenderer().render(clean, quietIfClean: false).text.hasPrefix("ipcsweep audit: nothing to report\n"))
        XCTAssertNotEqual(AuditTextRenderer().render(AuditSample.report(), quietIfClean: true).text, "")
    }

    func testPrometheusExposition() {
        let text = AuditPrometheus.render(AuditSample.report())
        assertSnapshot(text, Self.expectedPrometheus)
        XCTAssertFalse(text.split(separator: "\n").contains { !$0.hasPrefix("#") && $0.split(separator: " ").count != 2 },
                       "every sample is NAME VALUE, no timestamp")
    }

    func testPrometheusPassesPromtool() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") else {
            throw XCTSkip("promtool is not installed (Debian package prometheus)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        p.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data(AuditPrometheus.render(AuditSample.report(previous: AuditSample.previousState)).utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "promtool check metrics: \(said)")
        XCTAssertEqual(said, "", "promtool lint findings")
    }

    func testPrometheusEscapesLabelValues() {
        XCTAssertEqual(AuditPrometheus.escapeLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd")
        XCTAssertEqual(AuditPrometheus.escapeLabel("t\u{1b}]0;x\u{7}"), "t\\\\x1b]0;x\\\\x07", "controls as text, never raw")
    }

    func testJSONDocument() throws {
        let text = String(decoding: AuditJSON.document(AuditSample.report(previous: AuditSample.previousState)).document(pretty: false), as: UTF8.self)
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(doc["schemaVersion"] as? Int, 1)
        XCTAssertEqual(doc["status"] as? String, "warning")
        XCTAssertEqual(doc["findings"] as? [String], ["orphaned", "suspect", "limits", "insecure"])
        XCTAssertEqual(doc["clean"] as? Bool, false)
        let counts = try XCTUnwrap(doc["counts"] as? [String: Any])
        XCTAssertEqual(counts["total"] as? Int, 6)
        XCTAssertEqual(counts["byVerdict"] as? [String: Int], ["in-use": 2, "orphaned": 3, "suspect": 1, "unknown": 0])
        let owners = try XCTUnwrap(counts["byOwner"] as? [[String: Any]])
        XCTAssertEqual(owners.map { $0["uid"] as? Int }, [33, 0, 4242])
        XCTAssertTrue(owners[2]["user"] is NSNull)
        let orphans = try XCTUnwrap(doc["orphans"] as? [[String: Any]])
        XCTAssertEqual(orphans.map { $0["id"] as? Int }, [5, 32768, 32769])
        XCTAssertEqual(orphans[1]["reason"] as? String,
                       "no live process of uid 33 (www-data) existed at the last activity (2027-01-15T06:20:00Z)")
        let limits = try XCTUnwrap(doc["limits"] as? [[String: Any]])
        let semmni = try XCTUnwrap(limits.first { $0["name"] as? String == "SEMMNI" })
        XCTAssertEqual(semmni["used"] as? Int, 4)
        XCTAssertEqual(semmni["limit"] as? Int, 5)
        XCTAssertEqual(semmni["level"] as? String, "warning")
        XCTAssertEqual(semmni["perLeak"] as? Int, 2)
        XCTAssertEqual(semmni["leaksRemaining"] as? Int, 0)
        let insecure = try XCTUnwrap(doc["insecure"] as? [[String: Any]])
        XCTAssertEqual(insecure.map { $0["issue"] as? String }, ["mode", "acl", "unknown-owner"])
        let acl = try XCTUnwrap(insecure[1]["grantees"] as? [[String: Any]])
        XCTAssertEqual(acl.first?["name"] as? String, "nobody")
        XCTAssertEqual(acl.first?["source"] as? String, "acl-user")
        let posix = try XCTUnwrap(doc["posix"] as? [[String: Any]])
        XCTAssertEqual(posix.map { $0["scanned"] as? Bool }, [true, false])
        let state = try XCTUnwrap(doc["state"] as? [String: Any])
        XCTAssertEqual((state["newOrphans"] as? [[String: Any]])?.map { $0["id"] as? Int }, [32768, 32769])
        XCTAssertEqual((state["goneOrphans"] as? [[String: Any]])?.map { $0["id"] as? Int }, [4])
        XCTAssertEqual(state["netGrowthPerDay"] as? Double, 2.0)
    }

    /// The clock: a measured forward step and the note on orphans where a step could not be ruled out, in text and JSON.
    func testClockStepsAreReported() throws {
        var input = AuditSample.input()
        input.clock = ClockSteps(references: [ClockReference(source: .systemdManager, since: AuditSample.now - 7200, step: 3600)])
        input.clockNote = "steps of the wall clock are measured only since 2027-01-15T05:00:00Z (...)"
        let r = Auditor.report(input, names: AuditSample.names)
        let text = AuditTextRenderer().render(r, quietIfClean: false).text
        XCTAssertTrue(text.contains("\nClock: the wall clock was stepped forward by 60 min since "), text)
        XCTAssertTrue(text.contains("\nClock: steps of the wall clock are measured only since 2027-01-15T05:00:00Z"), text)
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(AuditJSON.document(r).document(pretty: false))) as? [String: Any])
        let clock = try XCTUnwrap(doc["clock"] as? [String: Any])
        XCTAssertEqual(clock["stepMs"] as? Int, 3_600_000)
        XCTAssertEqual(clock["source"] as? String, "systemd-manager")
        XCTAssertEqual(clock["since"] as? Int, Int(AuditSample.now) - 10_800)
        XCTAssertEqual(clock["note"] as? String, input.clockNote)
        XCTAssertTrue(clock["unmeasured"] is NSNull)
        // Nothing measured, nothing stepped: no paragraph.
        XCTAssertFalse(AuditTextRenderer().render(AuditSample.report(), quietIfClean: false).text.contains("Clock:"))
    }

    /// Every key the JSON document has, at every level, is documented in docs/audit.md; the objects written in the
    /// order given (`JSONFields`) give their keys in byte order, as the writer sorts every other object's.
    func testEveryJSONFieldIsDocumented() throws {
        let docURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/audit.md")
        let doc = try String(contentsOf: docURL, encoding: .utf8)
        var keys: Set<String> = []
        func collect(_ v: JSONValue) {
            switch v {
            case .object(let o):
                for (k, child) in o {
                    keys.insert(k)
                    collect(child)
                }
            case .fields(let f):
                XCTAssertTrue(f.sorted, "keys not in byte order: \(f.keys)")
                for (k, child) in zip(f.keys, f.values) {
                    keys.insert(k)
                    collect(child)
                }
            case .array(let a): a.forEach(collect)
            case .lazyArray(let a): a.elements.forEach(collect)
            default: break
            }
        }
        collect(AuditJSON.document(AuditSample.report(previous: AuditSample.previousState)))
        // RemoveIPC= with items of every shape (System V, POSIX, entries under /dev/shm, an attached segment).
        let items = [
            RemoveIPCItem(kind: .sem, id: 3, key: 0x1234, verdict: .orphaned),
            RemoveIPCItem(kind: .posixShm, path: "/dev/shm/x", name: "x", verdict: .inUse),
            RemoveIPCItem(kind: .file, path: "/dev/shm/d/f", fileType: .regular),
        ]
        let attached = RemoveIPCItem(kind: .shm, id: 7, key: 0, verdict: .inUse, nattch: 2)
        collect(AuditJSON.removeIPC(RemoveIPCReport(
            setting: RemoveIPCSetting(enabled: true, source: "logind.conf"),
            findings: [RemoveIPCFinding(uid: 1500, user: "pat", items: items, inUse: 1, suspect: 0, orphaned: 1, unknown: 0,
                                        entries: 1, message: "m")],
            attached: [RemoveIPCAttached(uid: 1500, user: nil, segments: [attached], message: "a")], notes: ["n"])))
        XCTAssertTrue(keys.isSuperset(of: ["fileType", "id", "key", "name", "nattch", "path", "type", "verdict", "atRisk", "attached"]))
        for key in keys.sorted() {
            XCTAssertTrue(doc.contains("`\(key)`"), "docs/audit.md does not document the JSON field `\(key)`")
        }
        for line in AuditPrometheus.render(AuditSample.report(previous: AuditSample.previousState)).split(separator: "\n")
        where line.hasPrefix("# TYPE ") {
            let name = line.split(separator: " ")[2]
            XCTAssertTrue(doc.contains("`\(name)`"), "docs/audit.md does not document the metric \(name)")
        }
    }

    static let expectedPrometheus = """
        # HELP ipcsweep_audit_timestamp_seconds When this audit ran, as Unix time.
        # TYPE ipcsweep_audit_timestamp_seconds gauge
        ipcsweep_audit_timestamp_seconds 1800000000
        # HELP ipcsweep_objects System V IPC objects by kind and verdict.
        # TYPE ipcsweep_objects gauge
        ipcsweep_objects{kind="sem",verdict="in-use"} 1
        ipcsweep_objects{kind="sem",verdict="orphaned"} 3
        ipcsweep_objects{kind="sem",verdict="suspect"} 0
        ipcsweep_objects{kind="sem",verdict="unknown"} 0
        ipcsweep_objects{kind="shm",verdict="in-use"} 1
        ipcsweep_objects{kind="shm",verdict="orphaned"} 0
        ipcsweep_objects{kind="shm",verdict="suspect"} 0
        ipcsweep_objects{kind="shm",verdict="unknown"} 0
        ipcsweep_objects{kind="msg",verdict="in-use"} 0
        ipcsweep_objects{kind="msg",verdict="orphaned"} 0
        ipcsweep_objects{kind="msg",verdict="suspect"} 1
        ipcsweep_objects{kind="msg",verdict="unknown"} 0
        # HELP ipcsweep_owner_objects System V IPC objects by owner, kind and verdict (owners with objects only).
        # TYPE ipcsweep_owner_objects gauge
        ipcsweep_owner_objects{kind="sem",owner="4242",verdict="orphaned"} 1
        ipcsweep_owner_objects{kind="sem",owner="root",verdict="in-use"} 1
        ipcsweep_owner_objects{kind="shm",owner="root",verdict="in-use"} 1
        ipcsweep_owner_objects{kind="sem",owner="www-data",verdict="orphaned"} 2
        ipcsweep_owner_objects{kind="msg",owner="www-data",verdict="suspect"} 1
        # HELP ipcsweep_findings 1 when a finding of this class exists (what --fail-on tests), else 0.
        # TYPE ipcsweep_findings gauge
        ipcsweep_findings{class="orphaned"} 1
        ipcsweep_findings{class="suspect"} 1
        ipcsweep_findings{class="limits"} 1
        ipcsweep_findings{class="insecure"} 1
        ipcsweep_findings{class="removeipc"} 0
        # HELP ipcsweep_limit Kernel IPC limit from /proc/sys/kernel (sem, shmmni, shmall, shmmax, msgmni, msgmnb, msgmax).
        # TYPE ipcsweep_limit gauge
        ipcsweep_limit{kind="sem",limit="semmni"} 5
        ipcsweep_limit{kind="sem",limit="semmns"} 32000
        ipcsweep_limit{kind="sem",limit="semmsl"} 250
        ipcsweep_limit{kind="sem",limit="semopm"} 32
        ipcsweep_limit{kind="shm",limit="shmmni"} 4096
        ipcsweep_limit{kind="shm",limit="shmall"} 2097152
        ipcsweep_limit{kind="shm",limit="shmmax"} 9.223372036854776e+18
        ipcsweep_limit{kind="msg",limit="msgmni"} 32000
        ipcsweep_limit{kind="msg",limit="msgmnb"} 16384
        ipcsweep_limit{kind="msg",limit="msgmax"} 8192
        # HELP ipcsweep_limit_usage Current usage counted against the kernel IPC limit (in the limit's own unit).
        # TYPE ipcsweep_limit_usage gauge
        ipcsweep_limit_usage{kind="sem",limit="semmni"} 4
        ipcsweep_limit_usage{kind="sem",limit="semmns"} 7
        ipcsweep_limit_usage{kind="sem",limit="semmsl"} 3
        ipcsweep_limit_usage{kind="shm",limit="shmmni"} 1
        ipcsweep_limit_usage{kind="shm",limit="shmall"} 16
        ipcsweep_limit_usage{kind="shm",limit="shmmax"} 65536
        ipcsweep_limit_usage{kind="msg",limit="msgmni"} 1
        ipcsweep_limit_usage{kind="msg",limit="msgmnb"} 12
        # HELP ipcsweep_limit_usage_ratio Usage divided by the limit (0 to 1).
        # TYPE ipcsweep_limit_usage_ratio gauge
        ipcsweep_limit_usage_ratio{kind="sem",limit="semmni"} 0.8
        ipcsweep_limit_usage_ratio{kind="sem",limit="semmns"} 0.00021875
        ipcsweep_limit_usage_ratio{kind="sem",limit="semmsl"} 0.012
        ipcsweep_limit_usage_ratio{kind="shm",limit="shmmni"} 0.000244140625
        ipcsweep_limit_usage_ratio{kind="shm",limit="shmall"} 7.62939453125e-06
        ipcsweep_limit_usage_ratio{kind="msg",limit="msgmni"} 3.125e-05
        ipcsweep_limit_usage_ratio{kind="msg",limit="msgmnb"} 0.000732421875
        # HELP ipcsweep_limit_status 0 ok, 1 warning, 2 critical, for limits that fill as objects accumulate.
        # TYPE ipcsweep_limit_status gauge
        ipcsweep_limit_status{kind="sem",limit="semmni"} 1
        ipcsweep_limit_status{kind="sem",limit="semmns"} 0
        ipcsweep_limit_status{kind="shm",limit="shmmni"} 0
        ipcsweep_limit_status{kind="shm",limit="shmall"} 0
        ipcsweep_limit_status{kind="msg",limit="msgmni"} 0
        # HELP ipcsweep_limit_leaks_remaining How many more leaks of the size the current orphans show fit before the limit.
        # TYPE ipcsweep_limit_leaks_remaining gauge
        ipcsweep_limit_leaks_remaining{kind="sem",limit="semmni"} 0
        ipcsweep_limit_leaks_remaining{kind="sem",limit="semmns"} 10664
        # HELP ipcsweep_limit_warning_ratio Usage ratio at which a limit is reported as warning.
        # TYPE ipcsweep_limit_warning_ratio gauge
        ipcsweep_limit_warning_ratio 0.8
        # HELP ipcsweep_limit_critical_ratio Usage ratio at which a limit is reported as critical.
        # TYPE ipcsweep_limit_critical_ratio gauge
        ipcsweep_limit_critical_ratio 0.95
        # HELP ipcsweep_insecure_objects Objects readable or writable beyond their owner (mode, acl) or owned by a deleted account (unknown-owner).
        # TYPE ipcsweep_insecure_objects gauge
        ipcsweep_insecure_objects{issue="mode",kind="sem"} 0
        ipcsweep_insecure_objects{issue="acl",kind="sem"} 0
        ipcsweep_insecure_objects{issue="unknown-owner",kind="sem"} 1
        ipcsweep_insecure_objects{issue="mode",kind="shm"} 1
        ipcsweep_insecure_objects{issue="acl",kind="shm"} 0
        ipcsweep_insecure_objects{issue="unknown-owner",kind="shm"} 0
        ipcsweep_insecure_objects{issue="mode",kind="msg"} 0
        ipcsweep_insecure_objects{issue="acl",kind="msg"} 0
        ipcsweep_insecure_objects{issue="unknown-owner",kind="msg"} 0
        ipcsweep_insecure_objects{issue="mode",kind="posix-shm"} 0
        ipcsweep_insecure_objects{issue="acl",kind="posix-shm"} 1
        ipcsweep_insecure_objects{issue="unknown-owner",kind="posix-shm"} 0
        ipcsweep_insecure_objects{issue="mode",kind="posix-sem"} 0
        ipcsweep_insecure_objects{issue="acl",kind="posix-sem"} 0
        ipcsweep_insecure_objects{issue="unknown-owner",kind="posix-sem"} 0
        ipcsweep_insecure_objects{issue="mode",kind="posix-mq"} 0
        ipcsweep_insecure_objects{issue="acl",kind="posix-mq"} 0
        ipcsweep_insecure_objects{issue="unknown-owner",kind="posix-mq"} 0
        # HELP ipcsweep_posix_objects POSIX IPC objects by kind and verdict.
        # TYPE ipcsweep_posix_objects gauge
        ipcsweep_posix_objects{kind="posix-shm",verdict="in-use"} 1
        ipcsweep_posix_objects{kind="posix-shm",verdict="orphaned"} 0
        ipcsweep_posix_objects{kind="posix-shm",verdict="suspect"} 0
        ipcsweep_posix_objects{kind="posix-shm",verdict="unknown"} 0
        ipcsweep_posix_objects{kind="posix-sem",verdict="in-use"} 1
        ipcsweep_posix_objects{kind="posix-sem",verdict="orphaned"} 0
        ipcsweep_posix_objects{kind="posix-sem",verdict="suspect"} 0
        ipcsweep_posix_objects{kind="posix-sem",verdict="unknown"} 0
        ipcsweep_posix_objects{kind="posix-mq",verdict="in-use"} 0
        ipcsweep_posix_objects{kind="posix-mq",verdict="orphaned"} 0
        ipcsweep_posix_objects{kind="posix-mq",verdict="suspect"} 0
        ipcsweep_posix_objects{kind="posix-mq",verdict="unknown"} 0
        # HELP ipcsweep_posix_shm_orphaned_bytes Bytes of /dev/shm held by orphaned POSIX objects.
        # TYPE ipcsweep_posix_shm_orphaned_bytes gauge
        ipcsweep_posix_shm_orphaned_bytes{root="/dev/shm"} 0
        # HELP ipcsweep_posix_orphan_group_objects Orphaned POSIX objects by name prefix.
        # TYPE ipcsweep_posix_orphan_group_objects gauge
        # HELP ipcsweep_posix_orphan_group_bytes Memory held by orphaned POSIX objects, by name prefix.
        # TYPE ipcsweep_posix_orphan_group_bytes gauge
        # HELP ipcsweep_posix_scan_ok 1 when this POSIX IPC directory was scanned, 0 when it was skipped (e.g. /dev/mqueue not mounted).
        # TYPE ipcsweep_posix_scan_ok gauge
        ipcsweep_posix_scan_ok{kind="posix-shm",root="/dev/shm"} 1
        ipcsweep_posix_scan_ok{kind="posix-mq",root="/dev/mqueue"} 0

        """
}
