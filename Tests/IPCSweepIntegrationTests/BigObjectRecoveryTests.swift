import Foundation
import XCTest

/// Crash consistency and progress of `clean --save-to` (see BigObjectScenarioTests for the helpers): SIGKILL at
/// several points of saving segments, POSIX files and a queue loses nothing (what is left restores to the
/// original data extents and holes), and a long save or restore shows progress on a terminal only.
final class BigObjectRecoveryTests: XCTestCase {
    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Scenario.scratchPrelude + BigObjectScenarioTests.prelude + script, file: file, line: line)
    }

    /// Objects of every kind that is saved; clean runs again and again, each killed with SIGKILL at the Nth save
    /// while it is being written (after its first chunk), or once it is in place but before the object is
    /// removed, or before an object's re-check; a last run finishes. Then every object is gone, the save directory
    /// holds exactly one complete save per object (no partial file), and restoring them gives back every
    /// object's size, data extents and bytes, and every message.
    func testSIGKILLAtAnyPointLeavesEveryObjectInPlaceOrInACompleteSave() throws {
        let s = try run("""
            savedir /mnt/save 300m
            A=$(ipcsweep-testkit shm-create --key 0x19011 --size 1073741824 --as-uid 33)
            ipcsweep-testkit shm-attach --id $A --write "a page of a sparse segment" --offset 700000000
            B=$(ipcsweep-testkit shm-create --key 0x19012 --size 12582912 --as-uid 33)
            /usr/bin/python3 /run/h/fill.py $B 12582912 12
            Q=$(ipcsweep-testkit msg-create --key 0x19013 --as-uid 33)
            ipcsweep-testkit msg-send --id $Q --size 5000 --seed 1 --type 3
            ipcsweep-testkit msg-send --id $Q --text "second" --type 1
            nobody truncate -s 10G /dev/shm/kill_sparse
            nobody sh -c 'echo data | dd of=/dev/shm/kill_sparse bs=1 seek=5000000000 conv=notrunc status=none'
            nobody sh -c 'head -c 9000000 /dev/urandom > /dev/shm/kill_dense'
            for k in 0x19011 0x19012; do /usr/bin/python3 /run/h/digest.py shm $(shmid $k) > "$OUT/before-$k"; done
            for f in kill_sparse kill_dense; do /usr/bin/python3 /run/h/digest.py file /dev/shm/$f > "$OUT/before-$f"; done
            sleep 1.2
            cat > /run/h/kill.sh <<'SH'
            n=$(cat /run/h/count); n=$((n + 1)); echo $n > /run/h/count
            if [ "$n" -eq "$KILL_AT" ]; then echo "${IPCSWEEP_TEST_SAVE_STAGE:-recheck} ${IPCSWEEP_TEST_SAVE_FILE:-$IPCSWEEP_TEST_TYPE}" >> "$OUT/kills"; kill -KILL $PPID; fi
            SH
            # Each round: killed in the middle of the first save; killed once the first save is in place (the object
            # not yet removed); killed before the second object's re-check (the first one done). One object a round.
            for round in 1 2 3 4 5; do
                for stage in writing written; do
                    echo 0 > /run/h/count
                    KILL_AT=1 IPCSWEEP_TEST_SAVE_HOOK='. /run/h/kill.sh' IPCSWEEP_TEST_SAVE_AT=$stage \\
                        status ipcsweep clean --yes --save-to /mnt/save --format json > /dev/null
                    ls -A /mnt/save | grep -v '\\.ipcsweep$' >> "$OUT/partial" || true
                done
                echo 0 > /run/h/count
                KILL_AT=2 IPCSWEEP_TEST_BEFORE_RMID='. /run/h/kill.sh' status ipcsweep clean --yes --save-to /mnt/save --format json > /dev/null
                ls -A /mnt/save | grep -v '\\.ipcsweep$' >> "$OUT/partial" || true
            done
            status ipcsweep clean --yes --save-to /mnt/save > "$OUT/final.txt"
            ls -A /mnt/save > "$OUT/saved"
            ipcs -m -q | grep -c '^0x' > "$OUT/left-sysv" || true
            ls -A /dev/shm > "$OUT/left-shm"
            status ipcsweep restore --format json /mnt/save/* > "$OUT/restore.json"
            for k in 0x19011 0x19012; do /usr/bin/python3 /run/h/digest.py shm $(shmid $k) > "$OUT/after-$k"; done
            for f in kill_sparse kill_dense; do /usr/bin/python3 /run/h/digest.py file /dev/shm/$f > "$OUT/after-$f"; done
            ipcsweep-testkit msg-dump --id $(ipcs -q | awk '$1 == "0x00019013" { print $2 }') > "$OUT/messages"
            """)
        let kills = try s.lines("kills")
        XCTAssertEqual(kills.filter { $0.hasPrefix("writing ") }.count, 5, kills.joined(separator: "\n"))
        XCTAssertEqual(kills.filter { $0.hasPrefix("written ") }.count, 5, kills.joined(separator: "\n"))
        for kind in ["shm-", "msg-", "posix-shm-"] {
            XCTAssertTrue(kills.contains { $0.hasPrefix("writing /mnt/save/\(kind)") }, "killed while writing a \(kind) save: \(kills)")
        }
        XCTAssertGreaterThanOrEqual(kills.filter { $0.hasPrefix("recheck ") }.count, 3, kills.joined(separator: "\n"))
        let status = try s.file("status").split(separator: "\n").compactMap { Int($0) }
        XCTAssertTrue(status.contains(137), "some runs were killed: \(status)")
        XCTAssertEqual(status.suffix(2), [0, 0], "the last clean and the restore succeed: \(status)")
        XCTAssertEqual(s.text("partial"), "", "no partial file was ever left in the save directory")
        XCTAssertEqual(try s.lines("saved").count, 5, "one save per object: \(s.text("saved"))")
        XCTAssertEqual(try s.file("left-sysv"), "0\n")
        XCTAssertEqual(try s.file("left-shm"), "")
        for name in ["0x19011", "0x19012", "kill_sparse", "kill_dense"] {
            XCTAssertEqual(try s.lines("after-\(name)"), try s.lines("before-\(name)"), name)
        }
        let messages = try s.lines("messages")
        XCTAssertEqual(messages.count, 2, "\(messages)")
        XCTAssertTrue(messages.first?.hasPrefix("3 5000 ") == true && messages.last?.hasPrefix("1 6 ") == true, "\(messages)")
    }

    /// On a terminal (script(1) gives one), a save and a restore show a progress line on standard error (the delay
    /// before it is shortened by a debug-build variable); with --quiet, or when standard error is not a terminal,
    /// nothing.
    func testProgressOnATerminalOnlyAndNotWithQuiet() throws {
        let s = try run("""
            savedir /mnt/save 200m
            make() { M=$(ipcsweep-testkit shm-create --key $1 --size 16777216 --as-uid 33); /usr/bin/python3 /run/h/fill.py $M 16777216 5; }
            make 0x19031
            export IPCSWEEP_TEST_PROGRESS_DELAY=0
            script -qec "ipcsweep clean --yes --type shm --save-to /mnt/save" /dev/null > "$OUT/tty-clean"
            F=$(ls /mnt/save/*)
            script -qec "ipcsweep restore $F" /dev/null > "$OUT/tty-restore"
            status ipcsweep clean --yes --type shm --save-to /mnt/save > /dev/null 2> "$OUT/notty-clean"
            script -qec "ipcsweep restore --quiet $F" /dev/null > "$OUT/tty-quiet"
            """)
        let clean = try s.file("tty-clean")
        XCTAssertTrue(clean.contains("\rsaving shared memory segment id") && clean.contains(" of 16 MiB (") && clean.contains("/s\u{1b}[K"), clean)
        XCTAssertTrue(clean.contains("\r\u{1b}[K"), "the line is erased when the save is done: \(clean)")
        let restore = try s.file("tty-restore")
        XCTAssertTrue(restore.contains("\rrestoring shm id") && restore.contains(" of 16 MiB ("), restore)
        XCTAssertEqual(try s.file("notty-clean"), "")
        XCTAssertFalse(try s.file("tty-quiet").contains("restoring"), s.text("tty-quiet"))
    }
}
