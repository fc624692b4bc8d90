import Foundation
import XCTest

/// `ipcsweep restore` of POSIX saves: a shared memory file, a named semaphore and a message queue that a process of
/// uid 65534 left behind are saved and removed by `clean --save-to`, then put back; in private IPC, PID and mount
/// namespaces with a private tmpfs on /dev/shm and a private mqueue mount (never the host's). The queue is compared
/// with an identical reference queue that was never cleaned, read with mq_receive by Python (not by ipcsweep).
final class PosixRestoreScenarioTests: XCTestCase {
    static let prelude = PosixScenarioTests.prelude + """
        try_() { local name=$1; shift; set +e; timeout 10 "$@" 2> "$OUT/$name.err"; echo $? > "$OUT/$name.rc"; set -e; }
        cat > /run/h/make.py <<'PY'
        # make.py: rshm (10000 random bytes, mode 0640), sem.rsem (value 3), and the queues rq and rq_ref (the same
        # messages, mq_maxmsg 10, mq_msgsize 2048); then exits.
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.sem_open.restype = ctypes.c_void_p
        fd = os.open("/dev/shm/rshm", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
        os.write(fd, os.urandom(10000)); os.fchmod(fd, 0o640); os.close(fd)
        libc.sem_open(b"/rsem", os.O_CREAT, 0o640, 3)
        class Attr(ctypes.Structure):
            _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long), ("cur", ctypes.c_long), ("pad", ctypes.c_long * 4)]
        msgs = [(3, os.urandom(100)), (0, b""), (9, os.urandom(2048)), (3, b"second\\x00of3"), (1, os.urandom(1500)), (9, b"z")]
        for name in (b"/rq", b"/rq_ref"):
            a = Attr(0, 10, 2048, 0)
            q = libc.mq_open(name, os.O_CREAT | os.O_RDWR, 0o640, ctypes.byref(a))
            if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
            for prio, m in msgs:
                if libc.mq_send(q, m, len(m), prio) != 0: raise OSError(ctypes.get_errno(), "mq_send")
            os.close(q)
        PY
        cat > /run/h/dump.py <<'PY'
        # dump.py NAME: the queue's attributes, then each message as mq_receive gives it: priority, length, sha256.
        import ctypes, hashlib, os, sys
        libc = ctypes.CDLL(None, use_errno=True)
        class Attr(ctypes.Structure):
            _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long), ("cur", ctypes.c_long), ("pad", ctypes.c_long * 4)]
        libc.mq_receive.restype = ctypes.c_ssize_t
        q = libc.mq_open(("/" + sys.argv[1]).encode(), os.O_RDONLY | os.O_NONBLOCK)
        if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
        a = Attr(); libc.mq_getattr(q, ctypes.byref(a))
        print("maxmsg", a.maxmsg, "msgsize", a.msgsize, "cur", a.cur)
        buf = ctypes.create_string_buffer(a.msgsize); prio = ctypes.c_uint()
        while True:
            n = libc.mq_receive(q, buf, a.msgsize, ctypes.byref(prio))
            if n < 0: break
            print(prio.value, n, hashlib.sha256(buf.raw[:n]).hexdigest())
        PY
        chmod 644 /run/h/*.py

        """

    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Self.prelude + script, file: file, line: line)
    }

    func rc(_ s: Scenario, _ name: String) throws -> Int {
        try XCTUnwrap(Int(try s.file("\(name).rc").trimmingCharacters(in: .whitespacesAndNewlines)), name)
    }

    func text(_ s: Scenario, _ name: String) -> String { (try? s.file(name)) ?? "" }

    func testRestorePutsBackPosixBytesMessagesModeAndOwnerRefusesTakenNamesAndDamagedFiles() throws {
        let s = try run("""
            nobody /usr/bin/python3 /run/h/make.py
            sha256sum < /dev/shm/rshm > "$OUT/shm-before"
            sha256sum < /dev/shm/sem.rsem > "$OUT/sem-before"
            sleep 1.2
            mkdir -p /run/save
            ipcsweep clean --yes --name rshm --name rsem --name rq --save-to /run/save --format json > "$OUT/clean.json"
            ls /run/save > "$OUT/saved"
            ls /dev/shm /run/mqueue > "$OUT/after-clean"
            try_ restore ipcsweep restore --format json /run/save/* > "$OUT/restore.json"
            sha256sum < /dev/shm/rshm > "$OUT/shm-after"
            sha256sum < /dev/shm/sem.rsem > "$OUT/sem-after"
            stat -c '%n %u %g %a' /dev/shm/rshm /dev/shm/sem.rsem /run/mqueue/rq > "$OUT/stat"
            /usr/bin/python3 /run/h/dump.py rq > "$OUT/rq"
            /usr/bin/python3 /run/h/dump.py rq_ref > "$OUT/rq_ref"
            # Restoring again: every name is taken; nothing is overwritten.
            try_ taken ipcsweep restore /run/save/* > "$OUT/taken.out"
            sha256sum < /dev/shm/rshm > "$OUT/shm-taken"
            # Only the file's name taken: the queue (free again) is not created either.
            rm /run/mqueue/rq
            try_ one-taken ipcsweep restore /run/save/* > /dev/null
            ls /run/mqueue > "$OUT/mq-one-taken"
            # A damaged save (one byte of the segment changed): refused before anything is created.
            rm /dev/shm/rshm /dev/shm/sem.rsem
            cp /run/save/posix-shm-rshm-* /run/damaged
            printf 'X' | dd of=/run/damaged bs=1 seek=400 conv=notrunc status=none
            try_ damaged ipcsweep restore /run/save/posix-mq-* /run/save/posix-sem-* /run/damaged > /dev/null
            ls /dev/shm /run/mqueue > "$OUT/after-damaged"
            # The table names type, name and path.
            try_ table ipcsweep restore /run/save/* > "$OUT/table"
            """)
        let clean = try s.json("clean.json")["results"] as? [[String: Any]] ?? []
        XCTAssertEqual(Set(clean.compactMap { $0["outcome"] as? String }), ["removed"], "\(clean)")
        XCTAssertEqual(clean.count, 3)
        XCTAssertEqual(try s.file("after-clean"), "/dev/shm:\n\n/run/mqueue:\nrq_ref\n")
        XCTAssertEqual(try rc(s, "restore"), 0, text(s, "restore.err"))
        XCTAssertEqual(try s.file("restore.err"), "")
        // The same bytes (10000, more than a page; the semaphore's file too), mode and owner.
        XCTAssertEqual(try s.file("shm-after"), try s.file("shm-before"))
        XCTAssertEqual(try s.file("sem-after"), try s.file("sem-before"))
        XCTAssertEqual(try s.file("stat"), """
            /dev/shm/rshm 65534 65534 640
            /dev/shm/sem.rsem 65534 65534 640
            /run/mqueue/rq 65534 65534 640

            """)
        // The same messages in the order mq_receive gives them, with the saved mq_maxmsg and mq_msgsize.
        let rq = try s.file("rq")
        XCTAssertEqual(rq, try s.file("rq_ref"))
        XCTAssertTrue(rq.hasPrefix("maxmsg 10 msgsize 2048 cur 6\n"), rq)
        XCTAssertEqual(rq.split(separator: "\n").dropFirst().map { $0.split(separator: " ").prefix(2).joined(separator: " ") },
                       ["9 2048", "9 1", "3 100", "3 10", "1 1500", "0 0"])
        let doc = try s.json("restore.json")
        let restored = try XCTUnwrap(doc["restored"] as? [[String: Any]])
        XCTAssertEqual(Set(restored.compactMap { $0["type"] as? String }), ["posix-shm", "posix-sem", "posix-mq"])
        let q = try XCTUnwrap(restored.first { $0["type"] as? String == "posix-mq" })
        XCTAssertEqual(q["name"] as? String, "rq")
        XCTAssertEqual(q["path"] as? String, "/rq")
        XCTAssertEqual(q["messages"] as? Int, 6)
        XCTAssertEqual(q["perms"] as? String, "0640")
        XCTAssertEqual((q["owner"] as? [String: Any])?["uid"] as? Int, 65534)
        XCTAssertNil(q["id"])
        let m = try XCTUnwrap(restored.first { $0["type"] as? String == "posix-shm" })
        XCTAssertEqual(m["path"] as? String, "/dev/shm/rshm")
        XCTAssertEqual(m["size"] as? Int, 10000)
        // Taken names: refused by path, never overwritten.
        XCTAssertEqual(try rc(s, "taken"), 1)
        let taken = try s.file("taken.err")
        XCTAssertTrue(taken.contains("/dev/shm/rshm already exists: it is not overwritten"), taken)
        XCTAssertTrue(taken.contains("/dev/shm/sem.rsem already exists"), taken)
        XCTAssertTrue(taken.contains("the message queue /rq already exists"), taken)
        XCTAssertTrue(taken.contains("nothing was created"), taken)
        XCTAssertEqual(try s.file("taken.out"), "")
        XCTAssertEqual(try s.file("shm-taken"), try s.file("shm-before"))
        XCTAssertEqual(try rc(s, "one-taken"), 1)
        XCTAssertEqual(try s.file("mq-one-taken"), "rq_ref\n", "nothing is created when one file is refused")
        // Damaged: refused by its checksum, nothing created.
        XCTAssertEqual(try rc(s, "damaged"), 1)
        let damaged = try s.file("damaged.err")
        XCTAssertTrue(damaged.contains("restore /run/damaged: damaged: its content checksum does not match"), damaged)
        XCTAssertEqual(damaged.split(separator: "\n").count, 1, damaged)
        XCTAssertEqual(try s.file("after-damaged"), "/dev/shm:\n\n/run/mqueue:\nrq_ref\n")
        XCTAssertEqual(try rc(s, "table"), 0, text(s, "table.err"))
        let table = try s.file("table")
        XCTAssertTrue(table.hasPrefix("TYPE") && table.contains("NAME") && table.contains("PATH"), table)
        XCTAssertTrue(table.contains("posix-mq") && table.contains("/rq") && table.contains("6 messages"), table)
        XCTAssertTrue(table.contains("/dev/shm/rshm") && table.contains("10000 bytes"), table)
    }
}
