import Foundation
import XCTest

/// `ipcsweep restore`: what `clean --save-to` saved is put back, with real queues and segments in a private IPC
/// namespace. The queue's messages are compared with an identical reference queue that was never cleaned
/// (`ipcsweep-testkit msg-dump` digests, independent of ipcsweep's own checksum); a segment with the digest of
/// its bytes taken before it was cleaned.
final class RestoreScenarioTests: XCTestCase {
    static let prelude = Scenario.scratchPrelude + """
        count() { echo $(( $(ipcs -q | grep -c '^0x' || true) + $(ipcs -m | grep -c '^0x' || true) )); }
        # The same messages into a queue: every size from empty to msgmax, types from 1 to LONG_MAX, NULs and newlines.
        fill() {
            local q=$1
            ipcsweep-testkit msg-send --id $q --type 1 --size 0
            ipcsweep-testkit msg-send --id $q --type 7 --size 8192 --seed 1
            ipcsweep-testkit msg-send --id $q --type 3 --size 1 --seed 2
            ipcsweep-testkit msg-send --id $q --type 9223372036854775807 --size 100 --seed 3
            ipcsweep-testkit msg-send --id $q --type 5 --size 4000 --seed 4
            ipcsweep-testkit msg-send --id $q --type 1 --text again --count 3
            ipcsweep-testkit msg-send --id $q --type 2 --size 8191 --seed 5
        }

        """

    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Self.prelude + script, file: file, line: line)
    }

    func rc(_ s: Scenario, _ name: String) throws -> Int {
        try XCTUnwrap(Int(try s.file("\(name).rc").trimmingCharacters(in: .whitespacesAndNewlines)), name)
    }

    func text(_ s: Scenario, _ name: String) -> String { (try? s.file(name)) ?? "" }

    func testRestorePutsBackEveryMessageInOrderAndTheSegmentsBytesWithKeyModeAndOwner() throws {
        let s = try run("""
            sysctl -q kernel.msgmnb=65536
            [ "$(sysctl -n kernel.msgmax)" = 8192 ]
            Q=$(ipcsweep-testkit msg-create --key 0x5001 --mode 0640 --as-uid 33)
            R=$(ipcsweep-testkit msg-create --key 0x5002 --mode 0640)
            fill $Q
            fill $R
            M=$(ipcsweep-testkit shm-create --key 0x6001 --size 12305 --mode 0604 --as-uid 33)
            ipcsweep-testkit shm-fill --id $M --size 12305 --seed 9
            ipcsweep-testkit shm-dump --id $M > "$OUT/shm-before"
            ipcsweep clean --yes --key 0x5001 --key 0x6001 --save-to /mnt/saved --format json > "$OUT/clean.json"
            ls saved > "$OUT/saved"
            head -n 20 saved/msg-* | tr -d '\\0' | head -n 16 > "$OUT/msg-header"
            tail -n 1 saved/msg-* > "$OUT/msg-trailer"
            try_ restore ipcsweep restore --format json saved/msg-* saved/shm-* > "$OUT/restore.json"
            ipcs -q -c > "$OUT/ipcs-q"
            ipcs -m -c > "$OUT/ipcs-m"
            ipcsweep list --format json > "$OUT/list.json"
            NQ=$(ipcs -q | awk '$1 == "0x00005001" {print $2}')
            NM=$(ipcs -m | awk '$1 == "0x00006001" {print $2}')
            ipcsweep-testkit shm-dump --id $NM > "$OUT/shm-after"
            ipcsweep-testkit msg-dump --id $NQ > "$OUT/msg-after"
            ipcsweep-testkit msg-dump --id $R > "$OUT/msg-reference"
            # The same files again: the keys are taken now, so the copies get IPC_PRIVATE and a note.
            try_ again ipcsweep restore saved/msg-* saved/shm-* > "$OUT/again.txt"
            # A report that cannot be written still names what was created.
            mknod full c 1 7
            try_ full ipcsweep restore saved/shm-* > /mnt/full
            ipcs -m | grep -c '^0x' > "$OUT/segments" || true
            """)
        XCTAssertEqual(try rc(s, "restore"), 0, text(s, "restore.err"))
        XCTAssertEqual(try s.file("restore.err"), "")
        XCTAssertTrue(try s.file("msg-header").contains("IPCSWEEP-SAVE 3\ntype msg\n"), text(s, "msg-header"))
        XCTAssertTrue(try s.file("msg-header").contains("qbytes 65536"), text(s, "msg-header"))
        XCTAssertTrue(try s.file("msg-trailer").hasPrefix("checksum crc32 "), text(s, "msg-trailer"))
        // Every message, its type and bytes, in the saved order (compared with the queue that was never cleaned).
        let after = try s.file("msg-after")
        XCTAssertEqual(after, try s.file("msg-reference"))
        XCTAssertEqual(after.split(separator: "\n").map { $0.split(separator: " ")[0] },
                       ["1", "7", "3", "9223372036854775807", "5", "1", "1", "1", "2"])
        XCTAssertTrue(after.contains("7 8192 "), "the message at msgmax: \(after)")
        XCTAssertEqual(try s.file("shm-after"), try s.file("shm-before"), "the segment's 12305 bytes (more than a page)")
        XCTAssertTrue(try s.file("shm-after").hasPrefix("12305 "))
        // The saved key, mode and owner (run as root); the creator is the restoring process.
        let doc = try s.json("restore.json")
        let restored = try XCTUnwrap(doc["restored"] as? [[String: Any]])
        XCTAssertEqual(restored.count, 2)
        XCTAssertEqual((doc["failed"] as? [Any])?.count, 0)
        let q = try XCTUnwrap(restored.first { $0["type"] as? String == "msg" })
        XCTAssertEqual(q["keyHex"] as? String, "0x00005001")
        XCTAssertEqual(q["messages"] as? Int, 9)
        XCTAssertEqual(q["bytes"] as? Int, 0 + 8192 + 1 + 100 + 4000 + 15 + 8191)
        XCTAssertEqual(q["perms"] as? String, "0640")
        XCTAssertEqual((q["owner"] as? [String: Any])?["uid"] as? Int, 33)
        XCTAssertEqual((q["notes"] as? [Any])?.count, 0)
        let m = try XCTUnwrap(restored.first { $0["type"] as? String == "shm" })
        XCTAssertEqual(m["size"] as? Int, 12305)
        XCTAssertEqual(m["perms"] as? String, "0604")
        let objects = try s.objects("list.json")
        let listed = try XCTUnwrap(objects["msg:\(q["id"] as? Int ?? -1)"])
        XCTAssertEqual(listed["qnum"] as? Int, 9)
        XCTAssertEqual(listed["qbytes"] as? Int, 65536, "the saved capacity")
        XCTAssertEqual((listed["owner"] as? [String: Any])?["uid"] as? Int, 33)
        XCTAssertEqual((listed["creator"] as? [String: Any])?["uid"] as? Int, 0)
        XCTAssertTrue(try s.file("ipcs-m").contains("604"), text(s, "ipcs-m"))
        // Again: restored with key 0 and a note naming the object that holds the key.
        XCTAssertEqual(try rc(s, "again"), 0, text(s, "again.err"))
        let again = try s.file("again.err")
        XCTAssertTrue(again.contains("key 0x00005001 is taken by message queue id"), again)
        XCTAssertTrue(again.contains("key 0x00006001 is taken by shared memory segment id"), again)
        XCTAssertEqual(try rc(s, "full"), 1)
        let full = text(s, "full.err")
        XCTAssertTrue(full.contains("restore created shm ") && full.contains("could not write its report") && full.contains("ENOSPC"), full)
        XCTAssertEqual(try s.file("segments"), "3\n", "the third copy exists although its report was lost")
        let table = try s.file("again.txt")
        XCTAssertTrue(table.hasPrefix("TYPE") && table.contains("0x00000000") && table.contains("9 messages"), table)
    }

    func testRestoreAsAnotherUserKeepsThatUserAsOwnerAndSaysSo() throws {
        let s = try run("""
            Q=$(ipcsweep-testkit msg-create --key 0x5001 --as-uid 33)
            ipcsweep-testkit msg-send --id $Q --type 4 --text "one message"
            ipcsweep clean --yes --save-to /mnt/saved > /dev/null
            chmod 755 saved && chmod 644 saved/*
            try_ restore setpriv --reuid=65534 --regid=65534 --clear-groups ipcsweep restore --format json saved/msg-* > "$OUT/restore.json"
            ipcs -q -c > "$OUT/ipcs"
            """)
        XCTAssertEqual(try rc(s, "restore"), 0, text(s, "restore.err"))
        let r = try XCTUnwrap((try s.json("restore.json")["restored"] as? [[String: Any]])?.first)
        XCTAssertEqual((r["owner"] as? [String: Any])?["uid"] as? Int, 65534)
        XCTAssertEqual(r["keyHex"] as? String, "0x00005001")
        XCTAssertTrue((r["notes"] as? [String])?.first?.contains("saved owner uid 33") == true, "\(r)")
        XCTAssertTrue(try s.file("restore.err").contains("restored only when run as root"), text(s, "restore.err"))
    }

    func testDamagedTruncatedForeignAndEndlessFilesAreRefusedBeforeAnythingIsCreated() throws {
        let s = try run("""
            Q=$(ipcsweep-testkit msg-create --key 0x5001 --as-uid 33)
            ipcsweep-testkit msg-send --id $Q --type 4 --size 3000 --seed 1
            ipcsweep-testkit msg-send --id $Q --type 8 --size 5000 --seed 2
            M=$(ipcsweep-testkit shm-create --key 0x6001 --size 9000 --as-uid 33)
            ipcsweep-testkit shm-fill --id $M --size 9000
            ipcsweep clean --yes --save-to /mnt/saved > /dev/null
            cp saved/msg-* good.msg
            cp saved/shm-* good.shm
            /usr/bin/python3 -c '
            import sys
            b = bytearray(open("good.msg", "rb").read())
            b[len(b) // 2] ^= 0x01
            open("flipped.msg", "wb").write(b)
            s = bytearray(open("good.shm", "rb").read())
            s[300] ^= 0x80
            open("flipped.shm", "wb").write(s)
            open("truncated.msg", "wb").write(open("good.msg", "rb").read()[:-100])
            open("newer.msg", "wb").write(open("good.msg", "rb").read().replace(b"IPCSWEEP-SAVE 3", b"IPCSWEEP-SAVE 9", 1))
            # Versions 1 (no checksum) and 2 (the segment whole, one checksum), as earlier ipcsweep wrote them, from
            # the version 3 save: still restored.
            import zlib
            v3 = open("good.shm", "rb").read()
            head, body = v3.split(b"\\n\\n", 1)
            fields = [l for l in head.split(b"\\n")[1:] if l.split(b" ")[0] not in (b"data-bytes", b"extents", b"ipc-namespace")]
            size = int([l for l in fields if l.startswith(b"size ")][0].split()[1])
            data, pos = bytearray(size), 0
            while True:
                line, body = body.split(b"\\n", 1)
                if line == b"end": break
                kind, off, n = line.split(b" "); off, n = int(off), int(n)
                if kind == b"extent":
                    data[off:off + n] = body[:n]; body = body[n + 1:]
            old = b"\\n".join(fields) + b"\\n\\ndata %d\\n" % size + bytes(data) + b"\\nend\\n"
            open("v1.shm", "wb").write(b"IPCSWEEP-SAVE 1\\n" + old)
            v2 = b"IPCSWEEP-SAVE 2\\n" + old
            open("v2.shm", "wb").write(v2 + b"checksum crc32 %08x\\n" % zlib.crc32(v2))
            '
            printf 'root:x:0:0:root:/root:/bin/bash\\n' > passwd
            : > empty
            mknod zero c 1 5
            mkfifo fifo
            mkdir dir
            echo $(count) > "$OUT/before"
            for f in flipped.msg flipped.shm truncated.msg newer.msg passwd empty zero fifo dir missing; do
                try_ "$f" ipcsweep restore "/mnt/$f"
            done
            echo $(count) > "$OUT/after-refusals"
            # One bad file among good ones: nothing at all is created.
            try_ mixed ipcsweep restore /mnt/good.msg /mnt/flipped.shm /mnt/good.shm
            echo $(count) > "$OUT/after-mixed"
            # Messages larger than this kernel's msgmax: refused before the queue is created.
            sysctl -q kernel.msgmax=4096
            try_ msgmax ipcsweep restore /mnt/good.msg
            echo $(count) > "$OUT/after-msgmax"
            try_ v1 ipcsweep restore /mnt/v1.shm > /dev/null
            echo $(count) > "$OUT/after-v1"
            ipcs -m | awk '$1 == "0x00006001" { print $2 }' | xargs -r -n1 ipcrm -m
            try_ v2 ipcsweep restore /mnt/v2.shm > /dev/null
            echo $(count) > "$OUT/after-v2"
            """)
        XCTAssertEqual(try s.file("before"), "0\n")
        let expected: [(String, String)] = [
            ("flipped.msg", "checksum does not match"), ("flipped.shm", "checksum does not match"),
            ("truncated.msg", "truncated"), ("newer.msg", "newer than this ipcsweep reads"),
            ("passwd", "not an ipcsweep save file"), ("empty", "not an ipcsweep save file"),
            ("zero", "not a regular file (a character device)"), ("fifo", "not a regular file (a FIFO)"),
            ("dir", "not a regular file (a directory)"), ("missing", "No such file or directory"),
        ]
        for (f, why) in expected {
            let err = text(s, "\(f).err")
            XCTAssertEqual(try rc(s, f), 1, "\(f): \(err)")
            XCTAssertEqual(err.split(separator: "\n").count, 1, "\(f): one line: \(err)")
            XCTAssertTrue(err.contains("restore /mnt/\(f): ") && err.contains(why) && err.contains("nothing was created"),
                          "\(f): \(err)")
        }
        XCTAssertEqual(try s.file("after-refusals"), "0\n", "no refused file created anything")
        XCTAssertEqual(try rc(s, "mixed"), 1)
        XCTAssertTrue(text(s, "mixed.err").contains("flipped.shm") && text(s, "mixed.err").contains("nothing was restored"),
                      text(s, "mixed.err"))
        XCTAssertEqual(try s.file("after-mixed"), "0\n", "one bad file: nothing is created")
        XCTAssertEqual(try rc(s, "msgmax"), 1)
        XCTAssertTrue(text(s, "msgmax.err").contains("above this kernel's msgmax (4096)"), text(s, "msgmax.err"))
        XCTAssertEqual(try s.file("after-msgmax"), "0\n")
        XCTAssertEqual(try rc(s, "v1"), 0, text(s, "v1.err"))
        XCTAssertEqual(try s.file("after-v1"), "1\n", "a version 1 file is still restored")
        XCTAssertEqual(try rc(s, "v2"), 0, text(s, "v2.err"))
        XCTAssertEqual(try s.file("after-v2"), "1\n", "a version 2 file is still restored")
    }
}
