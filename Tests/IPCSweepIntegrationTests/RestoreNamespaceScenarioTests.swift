import Foundation
import XCTest

/// `restore --namespace` puts saves back into another IPC namespace (System V objects and POSIX queues) and that
/// process's /dev/shm (POSIX files), with the same checks; each save records the namespace it came from and a
/// restore elsewhere says so. And a save as a non-root user, who cannot open a segment's shmem file: a sparse
/// segment is kept (reading it through its mapping would make its holes resident), a dense one is saved.
/// Helpers: BigObjectScenarioTests.prelude. The "container" is a child IPC and mount namespace with its own
/// /dev/shm tmpfs, nested in the scenario's private namespaces.
final class RestoreNamespaceScenarioTests: XCTestCase {
    func run(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Scenario.scratchPrelude + BigObjectScenarioTests.prelude + script, file: file, line: line)
    }

    func inode(_ s: Scenario, _ name: String) throws -> String {
        String(try s.file(name).drop { $0 != "[" }.dropFirst().prefix { $0 != "]" })
    }

    func testRestoreIntoAnotherNamespaceAndItsDevShmRecordsAndNamesWhereEachSaveCameFrom() throws {
        let s = try run("""
            savedir /mnt/save 100m
            savedir /mnt/save2 100m
            cat > /run/h/container.sh <<'SH'
            mount -t tmpfs -o mode=1777,size=64m container-shm /dev/shm
            touch /run/h/cready
            exec sleep 300
            SH
            unshare --ipc --mount --propagation private bash /run/h/container.sh &
            P=$!
            for i in $(seq 100); do [ -e /run/h/cready ] && break; sleep 0.05; done
            readlink /proc/$P/ns/ipc > "$OUT/ns-container"
            readlink /proc/self/ns/ipc > "$OUT/ns-own"
            cat > /run/h/mq.py <<'PY'
            # mq.py make NAME | dump NAME: two messages into a new queue, or each message: "PRIORITY LENGTH SHA256".
            import ctypes, hashlib, os, sys
            libc = ctypes.CDLL(None, use_errno=True)
            libc.mq_receive.restype = ctypes.c_ssize_t
            name = ("/" + sys.argv[2]).encode()
            if sys.argv[1] == "make":
                q = libc.mq_open(name, os.O_CREAT | os.O_WRONLY, 0o600, None)
                for prio, m in ((2, b"first\\x00message"), (7, os.urandom(3000))):
                    if libc.mq_send(q, m, len(m), prio) != 0: raise OSError(ctypes.get_errno(), "mq_send")
            else:
                q = libc.mq_open(name, os.O_RDONLY | os.O_NONBLOCK)
                if q < 0: raise OSError(ctypes.get_errno(), "mq_open")
                buf = ctypes.create_string_buffer(8192); prio = ctypes.c_uint()
                while True:
                    n = libc.mq_receive(q, buf, 8192, ctypes.byref(prio))
                    if n < 0: break
                    print(prio.value, n, hashlib.sha256(buf.raw[:n]).hexdigest())
            PY
            # Orphans of the scenario's own namespace (the "host"): a sparse segment, a sparse file, a queue.
            M=$(ipcsweep-testkit shm-create --key 0x19041 --size 1073741824 --as-uid 33)
            ipcsweep-testkit shm-attach --id $M --write "container data" --offset 12288
            nobody truncate -s 1G /dev/shm/ns_file
            nobody sh -c 'echo hi | dd of=/dev/shm/ns_file bs=1 seek=100000 conv=notrunc status=none'
            nobody /usr/bin/python3 /run/h/mq.py make ns_q
            /usr/bin/python3 /run/h/digest.py shm $M > "$OUT/before-shm"
            /usr/bin/python3 /run/h/digest.py file /dev/shm/ns_file > "$OUT/before-file"
            sleep 1.2
            status ipcsweep clean --yes --save-to /mnt/save --format json > "$OUT/clean.json"
            grep -ah '^ipc-namespace ' /mnt/save/* > "$OUT/recorded"
            status ipcsweep restore --namespace $P --format json /mnt/save/* > "$OUT/restore.json"
            N=$(nsenter -t $P --ipc awk '$1 == 102465 { print $2 }' /proc/sysvipc/shm)
            nsenter -t $P --ipc /usr/bin/python3 /run/h/digest.py shm $N > "$OUT/after-shm"
            /usr/bin/python3 /run/h/digest.py file /proc/$P/root/dev/shm/ns_file > "$OUT/after-file"
            stat -c '%u %a' /proc/$P/root/dev/shm/ns_file > "$OUT/file-owner"
            nsenter -t $P --ipc /usr/bin/python3 /run/h/mq.py dump ns_q > "$OUT/after-q"
            # Nothing came back here.
            ipcs -m | grep -c 0x00019041 > "$OUT/own-shm" || true
            ls -A /dev/shm > "$OUT/own-files"
            # A namespace file names no /dev/shm: a POSIX file cannot go there; nothing is created.
            status ipcsweep restore --namespace /proc/$P/ns/ipc /mnt/save/posix-shm-* 2> "$OUT/nsfile.err"
            # Saved from the container, the saves record its namespace; restored here, the note says where from.
            nsenter -t $P --ipc /usr/bin/python3 /run/h/mq.py make ns_q
            sleep 1.2
            status ipcsweep clean --namespace $P --include-suspect --yes --type shm --type posix-mq --save-to /mnt/save2 --format json > "$OUT/clean-ns.json"
            grep -ah '^ipc-namespace ' /mnt/save2/* > "$OUT/recorded2"
            status ipcsweep restore --format json /mnt/save2/shm-* > "$OUT/home.json"
            kill $P
            """)
        XCTAssertEqual(try s.file("status").split(separator: "\n").compactMap { Int($0) }, [0, 0, 1, 0, 0])
        let own = try inode(s, "ns-own"), container = try inode(s, "ns-container")
        XCTAssertNotEqual(own, container)
        XCTAssertEqual(try s.lines("recorded"), Array(repeating: "ipc-namespace \(own)", count: 3))
        let restored = try XCTUnwrap(try s.json("restore.json")["restored"] as? [[String: Any]])
        XCTAssertEqual(restored.count, 3, "\(restored)")
        for r in restored {
            let notes = r["notes"] as? [String] ?? []
            XCTAssertTrue(notes.contains { $0.hasPrefix("saved from IPC namespace \(own), restored into IPC namespace \(container) (pid ") }, "\(r)")
        }
        XCTAssertEqual(try s.lines("after-shm"), try s.lines("before-shm"))
        XCTAssertEqual(try s.lines("after-file"), try s.lines("before-file"))
        XCTAssertEqual(try s.file("file-owner"), "65534 644\n")
        let q = try s.lines("after-q")
        XCTAssertEqual(q.count, 2, "\(q)")
        XCTAssertTrue(q.first?.hasPrefix("7 3000 ") == true && q.last?.hasPrefix("2 13 ") == true, "\(q)")
        XCTAssertEqual(try s.file("own-shm"), "0\n")
        XCTAssertEqual(try s.file("own-files"), "")
        XCTAssertTrue(try s.file("nsfile.err").contains("names no /dev/shm: give the pid of a process in that namespace"), s.text("nsfile.err"))
        XCTAssertEqual(Set(try s.lines("recorded2")), ["ipc-namespace \(container)"])
        let home = try XCTUnwrap((try s.json("home.json")["restored"] as? [[String: Any]])?.first)
        XCTAssertTrue((home["notes"] as? [String] ?? []).contains("saved from IPC namespace \(container), restored into this IPC namespace (\(own))"), "\(home)")
    }

    /// As uid 33, the owner of both segments: the shmem file cannot be opened (that needs CAP_SYS_ADMIN), so the
    /// sparse 1 GiB segment is kept with the reason and its rss stays one page; the dense 64 KiB one is read
    /// through its mapping (nothing to allocate there), saved and removed, and restored by that user (through
    /// the new segment's mapping) with the same data.
    func testANonRootSaveKeepsASparseSegmentRatherThanMakeItsHolesResident() throws {
        let s = try run("""
            savedir /mnt/save 100m uid=33,mode=0700
            S=$(ipcsweep-testkit shm-create --key 0x19051 --size 1073741824 --as-uid 33)
            ipcsweep-testkit shm-attach --id $S --write x --offset 8192
            D=$(ipcsweep-testkit shm-create --key 0x19052 --size 65536 --as-uid 33)
            /usr/bin/python3 /run/h/fill.py $D 65536 1
            /usr/bin/python3 /run/h/digest.py shm $D > "$OUT/dense-before"
            sleep 1.2
            status setpriv --reuid 33 --regid 33 --clear-groups ipcsweep clean --yes --type shm --save-to /mnt/save --lock-file /run/h/lock --format json > "$OUT/clean.json"
            rss $S > "$OUT/rss"
            ls -A /mnt/save > "$OUT/saved"
            # Restored by the same user: through the mapping (no shmem file), the data checked as written.
            status setpriv --reuid 33 --regid 33 --clear-groups ipcsweep restore /mnt/save/shm-* > /dev/null
            /usr/bin/python3 /run/h/digest.py shm $(shmid 0x19052) > "$OUT/dense-after"
            """)
        XCTAssertEqual(try s.file("status"), "4\n0\n")
        XCTAssertEqual(try s.lines("dense-after"), try s.lines("dense-before"))
        let r = try s.json("clean.json")["results"] as? [[String: Any]] ?? []
        let sparse = try XCTUnwrap(r.first { $0["key"] as? Int == 0x19051 })
        XCTAssertEqual(sparse["outcome"] as? String, "failed")
        let why = sparse["reason"] as? String ?? ""
        XCTAssertTrue(why.contains("CAP_SYS_ADMIN") && why.contains("holes resident") && why.contains("run clean as root"), why)
        XCTAssertEqual(try s.file("rss"), "4096 0\n")
        XCTAssertEqual(r.first { $0["key"] as? Int == 0x19052 }?["outcome"] as? String, "removed", "\(r)")
        XCTAssertEqual(try s.lines("saved").count, 1)
    }
}
