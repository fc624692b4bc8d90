import Foundation
import XCTest

/// `clean --save-to` and `restore` of big objects, with real segments and files in private IPC, PID and mount
/// namespaces (see Scenario) and scratch tmpfs save directories of a few hundred MiB: an 8 GiB segment with one
/// page written, a 1 TiB sparse file, a dense object that does not fit, ENOSPC in the middle of a save, SIGKILL at
/// several points, progress on a terminal, restore into another namespace. Real memory stays well under 1 GiB:
/// the sparse objects hold a page or two, and the tool reads no hole. Segment rss comes from /proc/sysvipc/shm,
/// the tool's peak RSS from getrusage(RUSAGE_CHILDREN) of a wrapper (peak.py); data extents and holes are compared
/// with SEEK_DATA/SEEK_HOLE digests (digest.py), which make nothing resident either.
final class BigObjectScenarioTests: XCTestCase {
    static let prelude = """
        mount -t tmpfs tmpfs /run
        mkdir -p /run/h && chmod 1777 /run/h
        mkdir -p /run/mqueue && mount -t mqueue none /run/mqueue
        status() { set +e; "$@"; echo $? >> "$OUT/status"; set -e; }
        nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups "$@"; }
        # The segment limits are per IPC namespace: room for an 8 GiB segment in this one.
        sysctl -qw kernel.shmmax=17179869184 kernel.shmall=8388608
        # savedir DIR SIZE [OPTIONS]: a scratch tmpfs of that size for --save-to.
        savedir() { mkdir -p "$1"; mount -t tmpfs -o "size=$2${3:+,$3}" save "$1"; }
        # rss ID: "RSS SWAP" of a segment (/proc/sysvipc/shm); shmid KEY: the id of the segment with that key.
        rss() { awk -v id="$1" '$2 == id { print $15, $16 }' /proc/sysvipc/shm; }
        shmid() { awk -v k="$(( $1 ))" '$1 == k { print $2 }' /proc/sysvipc/shm; }
        # peak NAME CMD...: runs CMD; $OUT/NAME.peak gets "MAXRSS_KIB SECONDS" of it.
        peak() { local name=$1; shift; set +e; /usr/bin/python3 /run/h/peak.py "$OUT/$name.peak" "$@"; echo $? >> "$OUT/status"; set -e; }
        cat > /run/h/peak.py <<'PY'
        import resource, subprocess, sys, time
        t = time.monotonic()
        rc = subprocess.run(sys.argv[2:]).returncode
        open(sys.argv[1], "w").write("%d %.3f\\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - t))
        sys.exit(rc)
        PY
        cat > /run/h/digest.py <<'PY'
        # digest.py file PATH | shm ID: "size N", then "extent OFFSET LENGTH SHA256" per data extent, found with
        # SEEK_DATA/SEEK_HOLE (a segment through its shmem file: /proc/self/map_files of a read-only attach), read
        # with pread: holes are never read, nothing is made resident.
        import ctypes, hashlib, os, sys
        def walk(fd, size):
            print("size", size)
            pos = 0
            while pos < size:
                try: d = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError: break
                if d >= size: break
                h = min(os.lseek(fd, d, os.SEEK_HOLE), size)
                sha, at = hashlib.sha256(), d
                while at < h:
                    b = os.pread(fd, min(1 << 20, h - at), at); sha.update(b); at += len(b)
                print("extent", d, h - d, sha.hexdigest())
                pos = h
        if sys.argv[1] == "file":
            fd = os.open(sys.argv[2], os.O_RDONLY); walk(fd, os.fstat(fd).st_size)
        else:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.shmat.restype = ctypes.c_void_p
            libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
            sid = sys.argv[2]
            size = [int(l.split()[3]) for l in open("/proc/sysvipc/shm") if l.split()[1] == sid][0]
            a = libc.shmat(int(sid), None, 0o10000)
            if a in (None, ctypes.c_void_p(-1).value): raise OSError(ctypes.get_errno(), "shmat")
            page = os.sysconf("SC_PAGESIZE")
            walk(os.open("/proc/self/map_files/%x-%x" % (a, a + (size + page - 1) // page * page), os.O_RDONLY), size)
        PY
        cat > /run/h/fill.py <<'PY'
        # fill.py ID SIZE SEED: writes SIZE bytes (a repeated 1 MiB random block) into segment ID: every page data.
        import ctypes, random, sys
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        size = int(sys.argv[2]); block = random.Random(int(sys.argv[3])).randbytes(1 << 20)
        a = libc.shmat(int(sys.argv[1]), None, 0)
        if a in (None, ctypes.c_void_p(-1).value): raise OSError(ctypes.get_errno(), "shmat")
        for off in range(0, size, len(block)): ctypes.memmove(a + off, block, min(len(block), size - off))
        PY
        chmod 644 /run/h/*.py

        """

    func run(_ script: String, allowFailure: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws -> Scenario {
        try Scenario.run(Scenario.scratchPrelude + Self.prelude + script, allowFailure: allowFailure, file: file, line: line)
    }

    func statuses(_ s: Scenario) throws -> [Int] {
        try s.file("status").split(separator: "\n").compactMap { Int($0) }
    }

    /// "MAXRSS_KIB SECONDS" of a `peak` run.
    func peak(_ s: Scenario, _ name: String) throws -> (kib: Int, seconds: Double) {
        let f = try s.file("\(name).peak").split(separator: " ")
        return (Int(f[0]) ?? -1, Double(f[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)
    }

    func results(_ s: Scenario, _ name: String) throws -> [[String: Any]] {
        try s.json(name)["results"] as? [[String: Any]] ?? []
    }

    /// An 8 GiB segment with one page written: saved without making any hole resident (its rss stays one page
    /// while the save is in place), in a save file of a few KiB, by a tool whose peak RSS is that of a small
    /// run; restored with the same data extents and holes, one page resident.
    func testEightGiBSegmentWithOnePageIsSavedAndRestoredWithoutMakingItsHolesResident() throws {
        let s = try run("""
            savedir /mnt/save 300m
            M=$(ipcsweep-testkit shm-create --key 0x19001 --size 8589934592 --as-uid 33)
            ipcsweep-testkit shm-attach --id $M --write "one page of data in an 8 GiB segment" --offset 5368709243
            /usr/bin/python3 /run/h/digest.py shm $M > "$OUT/before"
            rss $M > "$OUT/rss-before"
            ipcsweep list --type shm > "$OUT/list.txt"
            ipcsweep list --type shm --format json > "$OUT/list.json"
            ipcsweep show $M > "$OUT/show.txt"
            # While the save is in place (before the segment is removed): its rss.
            echo "awk -v id=$M '\\$2 == id { print \\$15, \\$16 }' /proc/sysvipc/shm > \\"\\$OUT/rss-saved\\"" > /run/h/rss-hook.sh
            export IPCSWEEP_TEST_SAVE_HOOK='. /run/h/rss-hook.sh' IPCSWEEP_TEST_SAVE_AT=written
            peak clean ipcsweep clean --yes --type shm --save-to /mnt/save --format json > "$OUT/clean.json"
            unset IPCSWEEP_TEST_SAVE_HOOK IPCSWEEP_TEST_SAVE_AT
            ls -A /mnt/save > "$OUT/saved"
            F=/mnt/save/$(ls /mnt/save)
            stat -c '%s %b' "$F" > "$OUT/file-stat"
            head -c 400 "$F" > "$OUT/file-head"
            test -z "$(shmid 0x19001)"
            peak restore ipcsweep restore --format json "$F" > "$OUT/restore.json"
            N=$(shmid 0x19001)
            rss $N > "$OUT/rss-restored"
            /usr/bin/python3 /run/h/digest.py shm $N > "$OUT/after"
            """)
        XCTAssertEqual(try statuses(s), [0, 0])
        XCTAssertEqual(try s.file("rss-before"), "4096 0\n")
        XCTAssertEqual(try s.file("rss-saved"), "4096 0\n", "saving made no hole resident")
        XCTAssertEqual(try s.file("rss-restored"), "4096 0\n", "the restore recreated the holes")
        let before = try s.lines("before")
        XCTAssertEqual(before.count, 2, "one data extent: \(before)")
        XCTAssertEqual(try s.lines("after"), before, "same size, same data extents at the same offsets, same bytes")
        let r = try XCTUnwrap(try results(s, "clean.json").first)
        XCTAssertEqual(r["outcome"] as? String, "removed", "\(r)")
        XCTAssertTrue((r["reason"] as? String ?? "").contains("8589934592 bytes (4 KiB (4096 bytes) of data in 1 extent) saved"), "\(r)")
        let stat = try s.file("file-stat").split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertLessThan(stat[0], 8192, "the save file holds the page and its records")
        XCTAssertLessThan(stat[1] * 512, 64 << 10)
        let head = try s.file("file-head")
        XCTAssertTrue(head.hasPrefix("IPCSWEEP-SAVE 3\ntype shm\n"), head)
        XCTAssertTrue(head.contains("\nsize 8589934592\n") && head.contains("\ndata-bytes 4096\n") && head.contains("\nhole 0 5368709120\nextent 5368709120 4096\n"), head)
        XCTAssertLessThan(try peak(s, "clean").kib, 64 << 10, "the tool's peak RSS does not grow with the segment")
        XCTAssertLessThan(try peak(s, "restore").kib, 64 << 10)
        // list and show say how much of the 8 GiB is really used.
        XCTAssertTrue(try s.file("list.txt").contains("8589934592 B (4 KiB used)"), s.text("list.txt"))
        let listed = try XCTUnwrap((try s.json("list.json")["objects"] as? [[String: Any]])?.first)
        XCTAssertEqual(listed["usedBytes"] as? Int, 4096)
        XCTAssertEqual(listed["rss"] as? Int, 4096)
        XCTAssertTrue(try s.file("show.txt").contains("8589934592 bytes, 4096 bytes of memory used (rss 4096, swap 0)"), s.text("show.txt"))
    }

    /// A 1 TiB sparse file with 8 bytes of data in the scenario's /dev/shm: saved in a few KiB by a small tool
    /// (the old one tried to allocate 1 TiB and aborted), restored with its holes: a page or two allocated.
    func testOneTebibyteSparseFileIsSavedAndRestoredWithItsHoles() throws {
        let s = try run("""
            mount -t tmpfs -o size=2T,mode=1777 bigshm /dev/shm
            savedir /mnt/save 300m
            nobody truncate -s 1T /dev/shm/big_sparse
            nobody sh -c 'printf "8 bytes!" | dd of=/dev/shm/big_sparse bs=1 seek=751619276800 conv=notrunc status=none'
            /usr/bin/python3 /run/h/digest.py file /dev/shm/big_sparse > "$OUT/before"
            stat -c '%s %b' /dev/shm/big_sparse > "$OUT/stat-before"
            sleep 1.2
            ipcsweep list --type posix > "$OUT/list.txt"
            status ipcsweep audit > "$OUT/audit.txt"
            peak clean ipcsweep clean --yes --name big_sparse --save-to /mnt/save --format json > "$OUT/clean.json"
            test ! -e /dev/shm/big_sparse
            F=/mnt/save/$(ls /mnt/save)
            stat -c '%s %b' "$F" > "$OUT/file-stat"
            peak restore ipcsweep restore --format json "$F" > "$OUT/restore.json"
            stat -c '%s %b %a %u' /dev/shm/big_sparse > "$OUT/stat-after"
            /usr/bin/python3 /run/h/digest.py file /dev/shm/big_sparse > "$OUT/after"
            """)
        XCTAssertEqual(try statuses(s), [0, 0, 0])
        XCTAssertEqual(try s.lines("after"), try s.lines("before"))
        XCTAssertEqual(try s.lines("before").first, "size 1099511627776")
        let r = try XCTUnwrap(try results(s, "clean.json").first)
        XCTAssertEqual(r["outcome"] as? String, "removed", "\(r)")
        let after = try s.file("stat-after").split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(after[0], "1099511627776")
        XCTAssertLessThanOrEqual(Int(after[1]) ?? .max, 16, "a page or two allocated, not 1 TiB")
        XCTAssertEqual(after[3], "65534")
        XCTAssertLessThan(Int(try s.file("file-stat").split(separator: " ")[0]) ?? .max, 8192)
        XCTAssertLessThan(try peak(s, "clean").kib, 64 << 10)
        XCTAssertLessThan(try peak(s, "restore").kib, 64 << 10)
        XCTAssertTrue(try s.file("list.txt").contains("1099511627776 B (4 KiB used)"), s.text("list.txt"))
        XCTAssertTrue(try s.file("audit.txt").contains("4 KiB of it in 1 orphaned file"), s.text("audit.txt"))
    }

    /// A dense 300 MiB segment and a 200 MiB save directory: kept, one line naming it, its data size and the free
    /// space; no partial file; clean exits 4; the objects after it are still cleaned (a queue saved, a set removed).
    func testADenseSegmentThatDoesNotFitIsKeptWithOneLineAndTheRunGoesOn() throws {
        let s = try run("""
            savedir /mnt/save 200m
            M=$(ipcsweep-testkit shm-create --key 0x19003 --size 314572800 --as-uid 33)
            /usr/bin/python3 /run/h/fill.py $M 314572800 3
            Q=$(ipcsweep-testkit msg-create --key 0x19004 --as-uid 33)
            ipcsweep-testkit msg-send --id $Q --text "small enough"
            ipcsweep-testkit sem-create --key 0x19005 --as-uid 33 > /dev/null
            status ipcsweep clean --yes --save-to /mnt/save --format json > "$OUT/clean.json"
            status ipcsweep clean --yes --save-to /mnt/save > "$OUT/clean.txt"
            ls -A /mnt/save > "$OUT/saved"
            ipcs -m > "$OUT/ipcs"
            """)
        XCTAssertEqual(try statuses(s), [4, 4])
        let r = try results(s, "clean.json")
        let seg = try XCTUnwrap(r.first { $0["type"] as? String == "shm" })
        XCTAssertEqual(seg["outcome"] as? String, "failed")
        let reason = seg["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("not enough space in /mnt/save"), reason)
        XCTAssertTrue(reason.contains("300 MiB (314572800 bytes) of data"), reason)
        XCTAssertTrue(reason.contains("free") && reason.contains("not removed"), reason)
        XCTAssertEqual(r.first { $0["type"] as? String == "msg" }?["outcome"] as? String, "removed")
        XCTAssertEqual(r.first { $0["type"] as? String == "sem" }?["outcome"] as? String, "removed")
        let table = try s.file("clean.txt")
        XCTAssertEqual(table.components(separatedBy: "not enough space in /mnt/save").count, 2, "one line names it: \(table)")
        XCTAssertEqual(try s.lines("saved").count, 1, "only the queue's save, no partial file")
        XCTAssertTrue(try s.lines("saved")[0].hasPrefix("msg-"))
        XCTAssertTrue(try s.file("ipcs").contains("0x00019003"), "the segment is kept")
    }

    /// ENOSPC in the middle of a save (the test fills the save directory once the first chunk is written): the
    /// partial file is gone, the segment kept, the reason names ENOSPC; the POSIX file after it finds the directory
    /// full and is kept with the not-enough-space line; a set is still removed; clean exits 4.
    func testENOSPCInTheMiddleOfASaveRemovesThePartialFileAndKeepsTheObject() throws {
        let s = try run("""
            savedir /mnt/save 100m
            M=$(ipcsweep-testkit shm-create --key 0x19006 --size 67108864 --as-uid 33)
            /usr/bin/python3 /run/h/fill.py $M 67108864 6
            ipcsweep-testkit sem-create --key 0x19007 --as-uid 33 > /dev/null
            nobody sh -c 'head -c 20000000 /dev/urandom > /dev/shm/dense_file'
            /usr/bin/python3 /run/h/digest.py shm $M > "$OUT/before"
            sleep 1.2
            echo 'dd if=/dev/zero of=/mnt/save/filler bs=1M 2> /dev/null || true' > /run/h/fill.sh
            export IPCSWEEP_TEST_SAVE_HOOK='. /run/h/fill.sh' IPCSWEEP_TEST_SAVE_AT=writing
            status ipcsweep clean --yes --save-to /mnt/save --format json > "$OUT/clean.json"
            unset IPCSWEEP_TEST_SAVE_HOOK IPCSWEEP_TEST_SAVE_AT
            ls -A /mnt/save > "$OUT/saved"
            ls /dev/shm > "$OUT/shm"
            /usr/bin/python3 /run/h/digest.py shm $M > "$OUT/after"
            """)
        XCTAssertEqual(try statuses(s), [4])
        let r = try results(s, "clean.json")
        let seg = try XCTUnwrap(r.first { $0["type"] as? String == "shm" })
        XCTAssertEqual(seg["outcome"] as? String, "failed")
        let reason = seg["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("No space left on device") && reason.contains("partial save file was deleted") && reason.contains("not removed"), reason)
        let file = try XCTUnwrap(r.first { $0["type"] as? String == "posix-shm" })
        XCTAssertEqual(file["outcome"] as? String, "failed")
        XCTAssertTrue((file["reason"] as? String ?? "").contains("not enough space in /mnt/save"), "\(file)")
        XCTAssertEqual(r.first { $0["type"] as? String == "sem" }?["outcome"] as? String, "removed")
        XCTAssertEqual(try s.lines("saved"), ["filler"], "no partial save left behind")
        XCTAssertEqual(try s.lines("shm"), ["dense_file"])
        XCTAssertEqual(try s.lines("after"), try s.lines("before"), "the segment is kept as it was")
    }
}

extension Scenario {
    /// The lines of a file the scenario wrote.
    func lines(_ name: String) throws -> [String] { try file(name).split(separator: "\n").map(String.init) }

    /// A file the scenario wrote, or "" (for assertion messages).
    func text(_ name: String) -> String { (try? file(name)) ?? "" }
}
