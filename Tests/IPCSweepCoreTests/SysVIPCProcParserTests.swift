import Foundation
import XCTest
@testable import IPCSweepCore

final class SysVIPCProcParserTests: XCTestCase {
    func testCurrentSemFormatWithSignedKeys() throws {
        var warnings: [String] = []
        let sets = try SysVIPCProcParser.parseSemaphoreSets(try Fixture.bytes("sem-current.txt"), warnings: &warnings)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(sets.count, 2)
        XCTAssertEqual(sets[0].perm.key, -559038737)
        XCTAssertEqual(sets[0].perm.unsignedKey, 0xdeadbeef)
        XCTAssertEqual(IPCTextFormat.hexKey(sets[0].perm.key), "0xdeadbeef")
        XCTAssertEqual(sets[0].nsems, 2)
        XCTAssertEqual(sets[0].otime, 0)
        XCTAssertEqual(sets[0].ctime, 1_795_224_773)
        XCTAssertEqual(sets[1].perm, IPCPermissions(key: 0, uid: 33, gid: 33, cuid: 33, cgid: 33, mode: 0o666))
        XCTAssertEqual(sets[1].nsems, 250)
    }

    /// A probe with a selection (`list --user 33`) keeps only the sets it admits, before anything more is read of
    /// them (a procfs copy: each kept set is marked as having no per-semaphore detail, the others are gone).
    func testAProbeWithASelectionKeepsOnlyTheObjectsItAdmits() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ipcsweep-probe-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("sysvipc"), withIntermediateDirectories: true)
        try Data(try Fixture.bytes("sem-current.txt")).write(to: root.appendingPathComponent("sysvipc/sem"))
        var probe = IPCProbe(procRoot: root.path, kinds: [.sem])
        XCTAssertEqual(try probe.snapshot(source: .proc).semaphoreSets.count, 2)
        probe.selection = ObjectFilter(uids: [33])
        let kept = try probe.snapshot(source: .proc).semaphoreSets
        XCTAssertEqual(kept.map(\.perm.uid), [33])
        XCTAssertNotNil(kept.first?.detailError)
        probe.selection = ObjectFilter(names: ["x"])
        XCTAssertEqual(try probe.snapshot(source: .proc).semaphoreSets.count, 2, "--name selects no System V object, but the kinds read are the caller's")
    }

    /// The lean rss/swap reader that fills segments read with the syscalls agrees with the full parser.
    func testSegmentUsageAgreesWithTheParserAndSkipsWhatItCannotRead() throws {
        var warnings: [String] = []
        let bytes = try Fixture.bytes("shm-current.txt")
        let full = try SysVIPCProcParser.parseSegments(bytes, warnings: &warnings)
        let lean = IPCProbe.segmentUsage(bytes)
        XCTAssertEqual(lean.count, full.count)
        for s in full {
            XCTAssertEqual(lean[s.id]?.rss, s.rss)
            XCTAssertEqual(lean[s.id]?.swap, s.swap)
        }
        let text = "key shmid perms size rss swap\n  1   7  600  8589934592   4096    8192\n  2  x8  600 1 1 1\n\n  3 9 600 1 12\n"
        let u = IPCProbe.segmentUsage(Array(text.utf8))
        XCTAssertEqual(u.count, 1)
        XCTAssertEqual(u[7]?.rss, 4096)
        XCTAssertEqual(u[7]?.swap, 8192)
        XCTAssertTrue(IPCProbe.segmentUsage(try Fixture.bytes("shm-old-kernel.txt")).isEmpty, "no rss column: nothing")
    }

    func testCurrentShmFormatWithDestFlagAndRss() throws {
        var warnings: [String] = []
        let segs = try SysVIPCProcParser.parseSegments(try Fixture.bytes("shm-current.txt"), warnings: &warnings)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(segs.count, 2)
        XCTAssertEqual(segs[0].perm.key, 0x42)
        XCTAssertEqual(segs[0].size, 65536)
        XCTAssertEqual(segs[0].nattch, 1)
        XCTAssertEqual(segs[0].rss, 0)
        XCTAssertFalse(segs[0].markedForRemoval)
        XCTAssertEqual(segs[1].perm.mode, 0o1600)
        XCTAssertTrue(segs[1].markedForRemoval)
        XCTAssertEqual(segs[1].perm.permissionBits, 0o600)
    }

    func testShmFormatWithoutRssAndSwap() throws {
        var warnings: [String] = []
        let segs = try SysVIPCProcParser.parseSegments(try Fixture.bytes("shm-old-kernel.txt"), warnings: &warnings)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(segs.map(\.id), [32768, 65537])
        XCTAssertNil(segs[0].rss)
        XCTAssertNil(segs[0].swap)
        XCTAssertEqual(segs[0].cpid, 2811)
        XCTAssertEqual(segs[0].lpid, 3120)
        XCTAssertEqual(segs[0].dtime, 1_288_000_100)
        XCTAssertEqual(segs[1].perm.key, 12345)
    }

    func testCurrentMsgFormat() throws {
        var warnings: [String] = []
        let qs = try SysVIPCProcParser.parseQueues(try Fixture.bytes("msg-current.txt"), warnings: &warnings)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(qs.count, 1)
        XCTAssertEqual(qs[0].perm.unsignedKey, 0x9000_0000)
        XCTAssertEqual(qs[0].qnum, 2)
        XCTAssertEqual(qs[0].cbytes, 10)
        XCTAssertEqual(qs[0].lspid, 11)
        XCTAssertNil(qs[0].qbytes, "/proc/sysvipc/msg has no qbytes column")
    }

    func testExtraColumnIsIgnored() throws {
        var warnings: [String] = []
        let qs = try SysVIPCProcParser.parseQueues(try Fixture.bytes("msg-extra-column.txt"), warnings: &warnings)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(qs.count, 1)
        XCTAssertEqual(qs[0].ctime, 1_795_224_773)
    }

    func testGarbageLinesAreSkippedWithWarningsNamingFileAndLine() throws {
        var warnings: [String] = []
        let sets = try SysVIPCProcParser.parseSemaphoreSets(try Fixture.bytes("sem-garbage.txt"), path: "sem-garbage.txt",
                                                            warnings: &warnings)
        XCTAssertEqual(sets.map(\.id), [0, 2])
        XCTAssertEqual(warnings.count, 3)
        XCTAssertTrue(warnings[0].hasPrefix("sem-garbage.txt:3: skipped"), warnings[0])
        XCTAssertTrue(warnings[1].hasPrefix("sem-garbage.txt:4: skipped: column perms"), warnings[1])
        XCTAssertTrue(warnings[2].hasPrefix("sem-garbage.txt:6: skipped: expected at least 10 fields"), warnings[2])
    }

    func testTruncatedFileKeepsCompleteLines() throws {
        var warnings: [String] = []
        let sets = try SysVIPCProcParser.parseSemaphoreSets(try Fixture.bytes("sem-truncated.txt"), path: "t",
                                                            warnings: &warnings)
        XCTAssertEqual(sets.map(\.id), [5])
        XCTAssertEqual(sets[0].perm.key, 4660)
        XCTAssertEqual(warnings.count, 1)
        XCTAssertTrue(warnings[0].hasPrefix("t:3:"), warnings[0])
    }

    func testEmptyFileIsAnErrorNamingTheFile() throws {
        var warnings: [String] = []
        XCTAssertThrowsError(try SysVIPCProcParser.parseSegments(try Fixture.bytes("empty.txt"), path: "/x/shm",
                                                                 warnings: &warnings)) { error in
            XCTAssertTrue("\(error)".hasPrefix("/x/shm: empty file"), "\(error)")
        }
    }

    func testWrongFileIsAnErrorNamingMissingColumns() throws {
        var warnings: [String] = []
        XCTAssertThrowsError(try SysVIPCProcParser.parseQueues(try Fixture.bytes("not-sysvipc.txt"), path: "/x/msg",
                                                               warnings: &warnings)) { error in
            XCTAssertTrue("\(error)".contains("header lacks columns key, msqid"), "\(error)")
        }
    }

    func testOverflowingNumberIsSkippedNotCrashed() throws {
        var warnings: [String] = []
        let text = "key semid perms nsems uid gid cuid cgid otime ctime\n1 99999999999 600 1 0 0 0 0 0 1\n"
        let sets = try SysVIPCProcParser.parseSemaphoreSets(Array(text.utf8), path: "p", warnings: &warnings)
        XCTAssertEqual(sets.count, 0)
        XCTAssertEqual(warnings.count, 1)
    }
}

final class ProcessProbeParserTests: XCTestCase {
    func testStatWithSpacesAndParensInComm() throws {
        let line = "4181 (my (odd) name) S 1 4181 4181 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 100 18446744073709551615"
        let parsed = try XCTUnwrap(ProcessProbe.parseStat(Array(line.utf8)))
        XCTAssertEqual(parsed.comm, "my (odd) name")
        XCTAssertEqual(parsed.state, "S")
        XCTAssertEqual(parsed.ppid, 1)
        XCTAssertEqual(parsed.startTicks, 123_456)
    }

    func testZombieState() throws {
        let line = "77 (apache2) Z 1 77 77 0 -1 4228108 0 0 0 0 0 0 0 0 20 0 1 0 999 0 0 18446744073709551615"
        XCTAssertEqual(ProcessProbe.parseStat(Array(line.utf8))?.state, "Z")
    }

    func testTruncatedStatIsNil() {
        XCTAssertNil(ProcessProbe.parseStat(Array("12 (x) S 1 2".utf8)))
        XCTAssertNil(ProcessProbe.parseStat(Array("garbage".utf8)))
    }

    func testStatusIDs() throws {
        let text = "Name:\tphp-fpm\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t880\nNgid:\t0\nPid:\t881\nPPid:\t1\nUid:\t33\t0\t33\t33\nGid:\t33\t33\t33\t33\n"
        let ids = try XCTUnwrap(ProcessProbe.parseStatusIDs(Array(text.utf8)))
        XCTAssertEqual(ids.uid, 33)
        XCTAssertEqual(ids.euid, 0)
        XCTAssertEqual(ids.tgid, 880)
    }

    func testCgroupHybridPrefersNameSystemd() {
        let hybrid = "12:pids:/system.slice/apache2.service\n1:name=systemd:/system.slice/apache2.service\n0::/system.slice/apache2.service\n"
        XCTAssertEqual(ProcessProbe.parseCgroup(Array(hybrid.utf8)), "/system.slice/apache2.service")
        let v2 = "0::/system.slice/postgresql@15-main.service\n"
        XCTAssertEqual(ProcessProbe.parseCgroup(Array(v2.utf8)), "/system.slice/postgresql@15-main.service")
        let v1root = "9:name=systemd:/\n0::/user.slice/user-1000.slice/session-3.scope\n"
        XCTAssertEqual(ProcessProbe.parseCgroup(Array(v1root.utf8)), "/user.slice/user-1000.slice/session-3.scope")
        XCTAssertNil(ProcessProbe.parseCgroup(Array("".utf8)))
    }

    func testUnitFromCgroupPath() {
        XCTAssertEqual(SystemdUnit.unit(ofCgroup: "/system.slice/apache2.service"), "apache2.service")
        XCTAssertEqual(SystemdUnit.unit(ofCgroup: "/system.slice/postgresql@15-main.service"), "postgresql@15-main.service")
        XCTAssertEqual(SystemdUnit.unit(ofCgroup: "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service"), "foo.service")
        XCTAssertEqual(SystemdUnit.unit(ofCgroup: "/user.slice/user-1000.slice/session-3.scope"), "session-3.scope")
        XCTAssertEqual(SystemdUnit.unit(ofCgroup: "/system.slice/x.service/control"), "x.service")
        XCTAssertNil(SystemdUnit.unit(ofCgroup: "/"))
        XCTAssertEqual(SystemdUnit.normalize("apache2"), "apache2.service")
        XCTAssertEqual(SystemdUnit.normalize("apache2.service"), "apache2.service")
        XCTAssertTrue(SystemdUnit.cgroup("/system.slice/apache2.service/control", isIn: "apache2.service"))
        XCTAssertFalse(SystemdUnit.cgroup("/system.slice/apache2-foo.service", isIn: "apache2.service"))
    }

    func testMapsSysVInodesAreShmids() {
        let maps = """
            7f1c2a000000-7f1c2a010000 rw-s 00000000 00:01 32768                      /SYSV00000042 (deleted)
            7f1c2b000000-7f1c2b001000 r--s 00000000 00:01 5                          /SYSV00000000 (deleted)
            7f1c2c000000-7f1c2c021000 r-xp 00000000 fd:00 1234                       /usr/lib/libc.so.6
            7f1c2d000000-7f1c2d021000 rw-s 00000000 00:05 99                         /dev/shm/not-sysv
            """
        XCTAssertEqual(ProcessProbe.parseMapsSysV(Array(maps.utf8)), [32768, 5])
    }

    func testNamespaceInode() {
        XCTAssertEqual(ProcessProbe.namespaceInode("ipc:[4026531839]"), 4_026_531_839)
        XCTAssertNil(ProcessProbe.namespaceInode("garbage"))
        XCTAssertNil(ProcessProbe.namespaceInode("ipc:[]"))
        XCTAssertNil(ProcessProbe.namespaceInode("ipc:[12x]"))
    }

    /// The one reader of decimal numbers in /proc text (`decimalValue`, digits only, and `parseDecimal` with a sign
    /// on top) reads what Swift's own parsers read, and nothing else: at the ends of the ranges, with signs, empty,
    /// with other bytes, and on random digit strings of every length up to 21.
    func testDecimalNumbersReadAsSwiftReadsThem() {
        var texts = ["", "0", "7", "00", "+", "-", "+7", "-7", "-0", " 1", "1 ", "12a", "1-", "--1", "0x10",
                     "18446744073709551615", "18446744073709551616", "99999999999999999999",
                     "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809"]
        var r = SystemRandomNumberGenerator()
        for length in 1...21 {
            texts.append(String((0..<length).map { _ in "0123456789".randomElement(using: &r)! }))
        }
        for text in texts {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { b in
                XCTAssertEqual(b.decimalValue, text.first == "+" || text.first == "-" ? nil : UInt64(text), "\(text): digits only, no sign")
                XCTAssertEqual(ProcessProbe.parseDecimal(b), Int64(text), text)
            }
        }
    }

    func testKeyAndDurationParsing() {
        XCTAssertEqual(ObjectFilter.parseKey("0xdeadbeef"), -559038737)
        XCTAssertEqual(ObjectFilter.parseKey("3735928559"), -559038737)
        XCTAssertEqual(ObjectFilter.parseKey("-559038737"), -559038737)
        XCTAssertEqual(ObjectFilter.parseKey("42"), 42)
        XCTAssertNil(ObjectFilter.parseKey("0xzz"))
        XCTAssertEqual(TimeFormat.parseDuration("90s"), 90)
        XCTAssertEqual(TimeFormat.parseDuration("15m"), 900)
        XCTAssertEqual(TimeFormat.parseDuration("2h"), 7200)
        XCTAssertEqual(TimeFormat.parseDuration("7d"), 604_800)
        XCTAssertNil(TimeFormat.parseDuration("soon"))
        XCTAssertEqual(TimeFormat.iso8601(0), nil)
        XCTAssertEqual(TimeFormat.iso8601(1_795_224_773), "2026-11-21T01:32:53Z")
    }

    /// ISO-8601 times, written digit by digit, are what strftime(3) writes, from before the epoch to year 9999,
    /// and past it (a corrupt time: five digits of year) still a time.
    func testISO8601TimesAreStrftimes() {
        func strftimeISO(_ epoch: Int64) -> String {
            var t = time_t(epoch)
            var tmv = tm()
            XCTAssertNotNil(gmtime_r(&t, &tmv))
            var buf = [CChar](repeating: 0, count: 64)
            let n = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%SZ", &tmv)
            return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var r = ProcessNeedsTests.Rand(state: 8601)
        let edges: [Int64] = [1, -1, 59, 86_399, 951_782_400, 1_795_224_773, 253_402_300_799, -30_610_224_000]
        for epoch in edges + (0..<2000).map({ _ in Int64.random(in: -2_000_000_000...253_402_300_799, using: &r) }) {
            XCTAssertEqual(TimeFormat.iso8601(epoch), strftimeISO(epoch), "\(epoch)")
        }
        XCTAssertEqual(TimeFormat.iso8601(253_402_300_800), "10000-01-01T00:00:00Z")
    }
}
