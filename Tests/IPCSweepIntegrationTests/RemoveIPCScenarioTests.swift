import Foundation
import XCTest

/// `audit` and systemd-logind's RemoveIPC=, judged from scratch copies of logind.conf and login.defs (never the
/// host's files), in the scenario's private IPC namespace. What the real logind destroys, object by object:
/// Tests/e2e/systemd/e2e-removeipc-logind.sh.
final class RemoveIPCScenarioTests: XCTestCase {
    /// Of uid 1001: a set held by a live process (in-use), an attached and an unattached segment, a set it created
    /// and handed to uid 33; an orphan of uid 1002; an in-use set of system uid 33.
    /// ipcsweep ran once before them, as on a host after boot (its clock pair then covers the orphan).
    static let prelude = """
        ipcsweep list > /dev/null
        C=$OUT/conf
        mkdir -p $C/etc/systemd/logind.conf.d $C/usr/lib/systemd/logind.conf.d
        printf '[Login]\\n#RemoveIPC=no\\nRemoveIPC=yes\\n' > $C/etc/systemd/logind.conf
        printf 'SYS_UID_MAX\\t\\t999\\n' > $OUT/login.defs
        A=$(ipcsweep-testkit sem-create --key 0x7001 --as-uid 1001)
        ipcsweep-testkit sem-op --id $A --undo --hold &
        ipcsweep-testkit sem-create --key 0x7002 --as-uid 1002 > /dev/null
        W=$(ipcsweep-testkit sem-create --key 0x7003 --as-uid 33)
        ipcsweep-testkit sem-op --id $W --undo --hold &
        M=$(ipcsweep-testkit shm-create --key 0x7004 --as-uid 1001)
        ipcsweep-testkit shm-attach --id $M --hold &
        ipcsweep-testkit shm-create --key 0x7005 --as-uid 1001 > /dev/null
        G=$(ipcsweep-testkit sem-create --key 0x7006 --as-uid 1001)
        setpriv --reuid 1001 --regid 1001 --clear-groups ipcsweep-testkit sem-chown --id $G --uid 33
        sleep 0.3
        AUDIT="ipcsweep audit --no-posix --logind-conf $C --login-defs $OUT/login.defs"
        set +e

        """

    func testRemoveIPCYesListsWhatLogindDestroysOfEachNonSystemOwner() throws {
        let s = try Scenario.run(Self.prelude + """
            $AUDIT > $OUT/text; echo $? > $OUT/rc
            $AUDIT --fail-on removeipc > /dev/null; echo $? > $OUT/rc-fail
            $AUDIT --format json > $OUT/json
            $AUDIT --format prometheus > $OUT/prom
            # login.defs disagrees with the boundary systemd was built with: logind ignores it, so does the audit.
            printf 'SYS_UID_MAX 1999\\n' > $OUT/login.defs
            $AUDIT --fail-on removeipc --format json > $OUT/json-defs; echo $? > $OUT/rc-defs
            """)
        let text = try s.file("text")
        XCTAssertTrue(text.contains("RemoveIPC=yes: these 2 objects (1 in-use, 1 "), text)
        XCTAssertTrue(text.contains(" of uid 1001 (no passwd entry) will be destroyed when uid 1001's last session ends, in use or not (sem 0, shm 1); run the service as a system user"), text)
        XCTAssertTrue(text.contains("RemoveIPC=yes: this orphaned object of uid 1002 (no passwd entry) will be destroyed when uid 1002's last session ends"), text)
        XCTAssertTrue(text.contains("RemoveIPC=yes: shm 0 of uid 1001 (no passwd entry) is attached and survives while attached"), text)
        XCTAssertTrue(text.contains("logind.conf line 3"), "the line that set it: \(text)")
        XCTAssertTrue(text.contains("note: POSIX objects were not inspected"), text)
        let lines = text.split(separator: "\n").filter { $0.hasPrefix("  RemoveIPC=yes") }
        XCTAssertEqual(lines.count, 3, "two uids at risk, one attached segment: \(text)")
        XCTAssertFalse(lines.contains { $0.contains("www-data") || $0.contains("uid 33 ") || $0.contains("sem 3") },
                       "a system owner is spared, whoever created the set: \(text)")
        XCTAssertEqual(try s.file("rc"), "0\n")
        XCTAssertEqual(try s.file("rc-fail"), "3\n")
        let rm = try XCTUnwrap(try s.json("json")["removeIPC"] as? [String: Any])
        XCTAssertEqual(rm["enabled"] as? Bool, true)
        XCTAssertEqual(rm["sysUidMax"] as? Int, 999)
        let atRisk = rm["atRisk"] as? [[String: Any]] ?? []
        XCTAssertEqual(atRisk.map { $0["uid"] as? Int }, [1001, 1002])
        XCTAssertEqual(atRisk.first?["inUse"] as? Int, 1)
        let objects = atRisk.first?["objects"] as? [[String: Any]] ?? []
        XCTAssertEqual(objects.map { "\($0["type"] ?? "?") \($0["key"] ?? "?")" }, ["sem \(0x7001)", "shm \(0x7005)"])
        XCTAssertEqual(objects.first?["verdict"] as? String, "in-use")
        let attached = rm["attached"] as? [[String: Any]] ?? []
        XCTAssertEqual(attached.map { $0["uid"] as? Int }, [1001])
        XCTAssertEqual((attached.first?["objects"] as? [[String: Any]])?.map { $0["nattch"] as? Int }, [1])
        XCTAssertTrue((try s.json("json")["findings"] as? [String] ?? []).contains("removeipc"))
        let prom = try s.file("prom")
        XCTAssertTrue(prom.contains("ipcsweep_removeipc_enabled 1\n"), prom)
        XCTAssertTrue(prom.contains("ipcsweep_removeipc_objects_at_risk{uid=\"1001\",user=\"1001\"} 2\n"), prom)
        XCTAssertTrue(prom.contains("ipcsweep_removeipc_objects_at_risk{uid=\"1002\",user=\"1002\"} 1\n"), prom)
        XCTAssertTrue(prom.contains("ipcsweep_removeipc_objects_attached{uid=\"1001\",user=\"1001\"} 1\n"), prom)
        XCTAssertTrue(prom.contains("ipcsweep_findings{class=\"removeipc\"} 1\n"), prom)
        XCTAssertEqual(try s.file("rc-defs"), "3\n", "uid 1001 and 1002 stay at risk")
        let defs = try XCTUnwrap(try s.json("json-defs")["removeIPC"] as? [String: Any])
        XCTAssertEqual(defs["sysUidMax"] as? Int, 999)
        XCTAssertTrue((defs["sysUidMaxNote"] as? String ?? "").contains("SYS_UID_MAX 1999 in "), "\(defs)")
        XCTAssertEqual((defs["atRisk"] as? [Any])?.count, 2)
    }

    /// POSIX objects and the /dev/shm tree (the scenario's private tmpfs and mqueue): every object of uid 1001, open or
    /// not, and its entries in any directory; a directory holding another user's file, a mount point, and uid 33's
    /// objects are not listed; files on a filesystem mounted below /dev/shm are (logind enters it).
    func testRemoveIPCListsPosixObjectsAndEntriesUnderDevShm() throws {
        let s = try Scenario.run(Self.prelude + """
            mount -t tmpfs tmpfs /run
            mkdir -p /run/mqueue && mount -t mqueue none /run/mqueue
            u() { setpriv --reuid 1001 --regid 1001 --clear-groups "$@"; }
            u sh -c 'echo x > /dev/shm/obj; echo s > /dev/shm/sem.named; mkdir /dev/shm/own; echo i > /dev/shm/own/inner; ln -s obj /dev/shm/link'
            touch /run/mqueue/q1001 && chown 1001:1001 /run/mqueue/q1001
            mkdir -m 1777 /dev/shm/shared && u sh -c 'echo f > /dev/shm/shared/f'
            mkdir /dev/shm/mixed && echo w > /dev/shm/mixed/w && chown 33 /dev/shm/mixed/w && chown 1001 /dev/shm/mixed
            mkdir /dev/shm/mnt && mount -t tmpfs tmpfs /dev/shm/mnt && chown 1001 /dev/shm/mnt && u sh -c 'echo m > /dev/shm/mnt/m'
            echo www > /dev/shm/www && chown 33 /dev/shm/www
            R="ipcsweep audit --logind-conf $C --login-defs $OUT/login.defs --mqueue-root /run/mqueue --format json"
            $R > $OUT/all.json
            $R --user 1001 --type posix > $OUT/user.json
            $R --type sem > $OUT/sem.json
            """)
        func listed(_ name: String) throws -> [String] {
            let rm = try XCTUnwrap(try s.json(name)["removeIPC"] as? [String: Any])
            let f = (rm["atRisk"] as? [[String: Any]] ?? []).first { $0["uid"] as? Int == 1001 }
            return (f?["objects"] as? [[String: Any]] ?? []).map { o in
                o["path"].map { "\(o["type"] ?? "?") \($0)" } ?? "\(o["type"] ?? "?") key \(o["key"] ?? "?")"
            }
        }
        let posix = ["directory /dev/shm/own", "file /dev/shm/link", "file /dev/shm/mnt/m", "file /dev/shm/own/inner",
                     "file /dev/shm/shared/f", "posix-mq /run/mqueue/q1001", "posix-sem /dev/shm/sem.named", "posix-shm /dev/shm/obj"]
        XCTAssertEqual(try listed("all.json").filter { !$0.contains(" key ") }.sorted(), posix)
        XCTAssertEqual(try listed("all.json").filter { $0.contains(" key ") }.count, 2, "the System V ones too")
        XCTAssertEqual(try listed("user.json").sorted(), posix)
        XCTAssertEqual(try listed("sem.json"), ["sem key \(0x7001)"], "--type sem: no POSIX object, no entry")
        let rm = try XCTUnwrap(try s.json("all.json")["removeIPC"] as? [String: Any])
        let link = ((rm["atRisk"] as? [[String: Any]])?.first?["objects"] as? [[String: Any]])?.first { $0["path"] as? String == "/dev/shm/link" }
        XCTAssertEqual(link?["fileType"] as? String, "symlink")
        XCTAssertEqual(rm["notes"] as? [String], [])
    }

    func testRemoveIPCNoInADropInMeansNoFinding() throws {
        let s = try Scenario.run(Self.prelude + """
            # A vendor drop-in says yes, the admin's drop-in (sorted later) says no; a same-named file in /etc
            # hides the one in /usr/lib.
            printf '[Login]\\nRemoveIPC=yes\\n' > $C/usr/lib/systemd/logind.conf.d/10-vendor.conf
            printf '[Login]\\nRemoveIPC=no\\n' > $C/etc/systemd/logind.conf.d/50-admin.conf
            printf '[Login]\\nRemoveIPC=yes\\n' > $C/usr/lib/systemd/logind.conf.d/50-admin.conf
            $AUDIT --fail-on removeipc > $OUT/text; echo $? > $OUT/rc
            $AUDIT --format json > $OUT/json
            $AUDIT --format prometheus > $OUT/prom
            # The main file alone, with its drop-ins in FILE.d.
            mkdir -p $OUT/single.conf.d
            printf '[Login]\\nRemoveIPC=off\\n' > $OUT/single.conf
            ipcsweep audit --no-posix --logind-conf $OUT/single.conf --fail-on removeipc --format json > $OUT/single.json; echo $? > $OUT/rc-single
            printf '[Login]\\nRemoveIPC=on\\n' > $OUT/single.conf.d/90.conf
            ipcsweep audit --no-posix --logind-conf $OUT/single.conf --fail-on removeipc > /dev/null; echo $? > $OUT/rc-single-dropin
            # Wrong input never hangs: a FIFO or a missing path is a one-line error.
            mkfifo $OUT/fifo.conf
            timeout 5 ipcsweep audit --no-posix --logind-conf $OUT/fifo.conf > /dev/null 2> $OUT/fifo.err; echo $? > $OUT/rc-fifo
            ipcsweep audit --no-posix --login-defs $OUT/missing > /dev/null 2> $OUT/missing.err; echo $? > $OUT/rc-missing
            """)
        XCTAssertEqual(try s.file("rc"), "0\n")
        let text = try s.file("text")
        XCTAssertFalse(text.contains("RemoveIPC"), text)
        let rm = try XCTUnwrap(try s.json("json")["removeIPC"] as? [String: Any])
        XCTAssertEqual(rm["enabled"] as? Bool, false)
        XCTAssertTrue((rm["source"] as? String ?? "").hasSuffix("/etc/systemd/logind.conf.d/50-admin.conf line 2"), "\(rm)")
        XCTAssertEqual((rm["atRisk"] as? [Any])?.count, 0)
        XCTAssertTrue(try s.file("prom").contains("ipcsweep_removeipc_enabled 0\n"))
        XCTAssertEqual(try s.file("rc-single"), "0\n")
        XCTAssertEqual(((try s.json("single.json")["removeIPC"] as? [String: Any])?["enabled"] as? Bool), false)
        XCTAssertEqual(try s.file("rc-single-dropin"), "3\n", "FILE.d/90.conf turns it back on")
        for name in ["fifo", "missing"] {
            let err = try s.file("\(name).err")
            XCTAssertEqual(try s.file("rc-\(name)"), "1\n", err)
            XCTAssertTrue(err.contains(name == "fifo" ? "fifo.conf" : "missing"), err)
            XCTAssertEqual(err.split(separator: "\n").count, 1, err)
        }
    }
}
