import Foundation
import XCTest
@testable import IPCSweepCore

/// RemoveIPC= as systemd-logind 252 applies it (src/shared/clean-ipc.c, src/login/logind-user.c): which objects of
/// which uid, on built snapshots; the system uid boundary from systemd.pc and login.defs; the /dev/shm walk on a
/// scratch directory. The real logind is in Tests/e2e/systemd/e2e-removeipc-logind.sh.
final class RemoveIPCAnalysisTests: XCTestCase {
    let names = NameLookup(user: { $0 == 1001 ? "alice" : $0 == 33 ? "www-data" : nil }, group: { _ in nil })
    let on = RemoveIPCSetting(enabled: true, source: "x line 2")

    func perm(_ uid: UInt32, cuid: UInt32? = nil, key: Int32 = 0) -> IPCPermissions {
        IPCPermissions(key: key, uid: uid, gid: uid, cuid: cuid ?? uid, cgid: uid, mode: 0o600)
    }
    func sem(_ id: Int32, uid: UInt32, cuid: UInt32? = nil, _ v: Verdict = .inUse) -> Classification {
        Classification(object: .sem(SemaphoreSet(id: id, perm: perm(uid, cuid: cuid, key: 0x100 + id), nsems: 1, otime: 0, ctime: 1)),
                       verdict: v, reasons: [])
    }
    func shm(_ id: Int32, uid: UInt32, nattch: UInt64, _ v: Verdict = .inUse) -> Classification {
        Classification(object: .shm(SharedMemorySegment(id: id, perm: perm(uid), size: 4096, cpid: 1, lpid: 1, nattch: nattch,
                                                        atime: 0, dtime: 0, ctime: 1)), verdict: v, reasons: [])
    }
    func msg(_ id: Int32, uid: UInt32, _ v: Verdict = .inUse) -> Classification {
        Classification(object: .msg(MessageQueue(id: id, perm: perm(uid), cbytes: 0, qnum: 0, lspid: 0, lrpid: 0, stime: 0,
                                                 rtime: 0, ctime: 1)), verdict: v, reasons: [])
    }
    func posix(_ path: String, _ kind: PosixIPCKind, uid: UInt32, _ v: Verdict = .inUse) -> PosixClassification {
        PosixClassification(object: PosixIPCObject(path: path, kind: kind, uid: uid, gid: uid, mode: 0o600), verdict: v)
    }

    func testOwnerOnlySetsAndQueuesAlwaysSegmentsWhenUnattached() {
        let items = [
            sem(1, uid: 1001), sem(2, uid: 1001, .suspect), sem(3, uid: 1001, .orphaned), sem(4, uid: 1001, .unknown),
            sem(5, uid: 33, cuid: 1001),          // created by 1001, handed to uid 33: logind matches the owner only
            sem(6, uid: 1001, cuid: 0),           // created by root, owned by 1001: destroyed
            sem(7, uid: 33),                      // system uid: spared
            shm(8, uid: 1001, nattch: 2),         // attached: skipped while attached
            shm(9, uid: 1001, nattch: 0, .suspect),
            msg(10, uid: 1001),
        ]
        let r = RemoveIPCReport.analyse(items, posix: [], setting: on, names: names)
        XCTAssertEqual(r.findings.map(\.uid), [1001])
        let f = r.findings[0]
        XCTAssertEqual(f.items.map(\.label), ["sem 1", "sem 2", "sem 3", "sem 4", "sem 6", "shm 9", "msg 10"])
        XCTAssertEqual([f.inUse, f.suspect, f.orphaned, f.unknown, f.entries], [3, 2, 1, 1, 0])
        XCTAssertEqual(f.objects.first, IPCObjectRef(kind: .sem, id: 1))
        XCTAssertEqual(f.items.first?.key, 0x101)
        XCTAssertEqual(f.message, "RemoveIPC=yes: these 7 objects (3 in-use, 2 suspect, 1 orphaned, 1 unknown) of uid 1001 (alice) will be destroyed when alice's last session ends, in use or not (sem 1, sem 2, sem 3, sem 4, sem 6, shm 9, msg 10); run the service as a system user (uid up to 999) or set RemoveIPC=no in a drop-in such as /etc/systemd/logind.conf.d/ipc.conf")
        XCTAssertEqual(r.attached.map(\.uid), [1001])
        XCTAssertEqual(r.attached[0].segments, [RemoveIPCItem(kind: .shm, id: 8, key: 0, verdict: .inUse, nattch: 2)])
        XCTAssertEqual(r.attached[0].message, "RemoveIPC=yes: shm 8 of uid 1001 (alice) is attached and survives while attached; systemd-logind destroys it at a logout of alice once no process has it attached (a restart of the service in between is enough)")
        XCTAssertEqual(r.notes, [])
    }

    func testPosixObjectsAndShmEntriesOfTheOwnerWhateverTheirUse() {
        let px = [
            posix("/dev/shm/open", .shm, uid: 1002), posix("/dev/shm/sem.s", .sem, uid: 1002, .orphaned),
            posix("/dev/mqueue/q", .mq, uid: 1002, .suspect), posix("/dev/shm/www", .shm, uid: 33),
        ]
        let tree = [
            ShmTreeEntry(path: "/dev/shm/d", uid: 1002, type: .directory),
            ShmTreeEntry(path: "/dev/shm/d/f", uid: 1002, type: .regular),
            ShmTreeEntry(path: "/dev/shm/mixed", uid: 1002, type: .directory, removedWithOwner: false),  // holds a file of 33
            ShmTreeEntry(path: "/dev/shm/mixed/w", uid: 33, type: .regular),
            ShmTreeEntry(path: "/dev/shm/m", uid: 1002, type: .directory, mountPoint: true, removedWithOwner: false),
            ShmTreeEntry(path: "/dev/shm/link", uid: 1002, type: .symlink),
        ]
        let r = RemoveIPCReport.analyse([], posix: px, tree: tree, setting: on, names: names)
        XCTAssertEqual(r.findings.map(\.uid), [1002])
        let f = r.findings[0]
        XCTAssertEqual(f.items.map(\.label), ["directory /dev/shm/d", "file /dev/shm/d/f", "file /dev/shm/link",
                                              "posix-shm /dev/shm/open", "posix-sem /dev/shm/sem.s", "posix-mq /dev/mqueue/q"]
            .sorted { $0.split(separator: " ")[1] < $1.split(separator: " ")[1] })
        XCTAssertEqual(f.items.first { $0.kind == .file && $0.path == "/dev/shm/link" }?.fileType, .symlink)
        XCTAssertEqual([f.inUse, f.suspect, f.orphaned, f.entries], [1, 1, 1, 3])
        XCTAssertTrue(f.message.hasPrefix("RemoveIPC=yes: these 6 objects (1 in-use, 1 suspect, 1 orphaned, 3 files and directories under /dev/shm) of uid 1002 (no passwd entry) will be destroyed when uid 1002's last session ends"), f.message)
        let one = RemoveIPCReport.analyse([], posix: [], tree: [tree[5]], setting: on, names: names)
        XCTAssertTrue(one.findings[0].message.hasPrefix("RemoveIPC=yes: this file under /dev/shm of uid 1002"), one.findings[0].message)
    }

    func testOffOrSystemUidsMeanNothingAndUninspectedPosixIsSaid() {
        let items = [sem(1, uid: 1001), shm(2, uid: 1001, nattch: 1)]
        let off = RemoveIPCReport.analyse(items, posix: nil, setting: RemoveIPCSetting(enabled: false, source: "x"), names: names)
        XCTAssertEqual(off.findings, [])
        XCTAssertEqual(off.attached, [])
        XCTAssertEqual(off.notes, [], "nothing to say when logind removes nothing")
        var higher = on
        higher.sysUidMax = 1001
        let spared = RemoveIPCReport.analyse(items, posix: nil, setting: higher, names: names)
        XCTAssertEqual(spared.findings, [])
        XCTAssertEqual(spared.attached, [])
        XCTAssertEqual(spared.notes.count, 1)
        XCTAssertTrue(spared.notes[0].hasPrefix("POSIX objects were not inspected"), spared.notes[0])
    }

    func testBoundaryIsTheCompiledOneUnlessThisSystemdReadsLoginDefs() {
        let pc = (UInt32(999), "/usr/share/pkgconfig/systemd.pc")
        var asked = 0
        func reading(_ r: SystemUidBoundary.LoginDefsReading) -> () -> SystemUidBoundary.LoginDefsReading { { asked += 1; return r } }
        let plain = SystemUidBoundary.decide(compiled: pc, loginDefs: nil, reading: reading(.unknown(why: "x")))
        XCTAssertEqual(plain, SystemUidBoundary(max: 999, source: "system_uid_max=999 in /usr/share/pkgconfig/systemd.pc (compiled into systemd)"))
        let same = SystemUidBoundary.decide(compiled: pc, loginDefs: (999, "/etc/login.defs"), reading: reading(.unknown(why: "x")))
        XCTAssertEqual(same.max, 999)
        XCTAssertNil(same.note)
        XCTAssertEqual(asked, 0, "the binaries are read only when login.defs disagrees")

        let ignored = SystemUidBoundary.decide(compiled: pc, loginDefs: (1999, "/etc/login.defs"),
                                               reading: reading(.no(evidence: "no login.defs parser in /usr/lib/systemd/systemd-logind")))
        XCTAssertEqual(ignored.max, 999)
        XCTAssertEqual(ignored.note, "SYS_UID_MAX 1999 in /etc/login.defs is not what systemd-logind uses: this systemd reads no login.defs at run time (no login.defs parser in /usr/lib/systemd/systemd-logind); logind spares uids up to 999 only")
        let read = SystemUidBoundary.decide(compiled: pc, loginDefs: (1999, "/etc/login.defs"), reading: reading(.yes(evidence: "lib carries it")))
        XCTAssertEqual(read.max, 1999)
        XCTAssertTrue(read.source.hasPrefix("SYS_UID_MAX 1999 in /etc/login.defs, read at run time by this systemd"), read.source)
        // Unsure: the lower boundary, so that nothing logind may destroy is left out.
        XCTAssertEqual(SystemUidBoundary.decide(compiled: pc, loginDefs: (1999, "/l"), reading: reading(.unknown(why: "x"))).max, 999)
        let low = SystemUidBoundary.decide(compiled: pc, loginDefs: (499, "/l"), reading: reading(.unknown(why: "none found")))
        XCTAssertEqual(low.max, 499)
        XCTAssertTrue(low.note?.contains("could not tell whether systemd-logind reads /l (none found)") ?? false, "\(low)")
        let nopc = SystemUidBoundary.decide(compiled: nil, loginDefs: nil, reading: reading(.unknown(why: "x")))
        XCTAssertEqual(nopc.max, 999)
        XCTAssertTrue(nopc.source.hasPrefix("systemd's default 999 (no systemd.pc"), nopc.source)
    }

    func testPkgConfigAndLoginDefsAreParsedAsSystemdDoes() {
        XCTAssertEqual(SystemUidBoundary.systemUidMax(inPkgConfig: "prefix=/usr\nsystem_uid_max=999\nsystemuidmax=${system_uid_max}\n"), 999)
        XCTAssertEqual(SystemUidBoundary.systemUidMax(inPkgConfig: "system_uid_max=4999\r\n"), 4999)
        XCTAssertNil(SystemUidBoundary.systemUidMax(inPkgConfig: "systemuidmax=${system_uid_max}\n"))
        XCTAssertEqual(SystemUidBoundary.sysUidMax(inLoginDefs: "# SYS_UID_MAX 10\nUID_MIN 1000\nSYS_UID_MAX\t\t999\n"), 999)
        XCTAssertEqual(SystemUidBoundary.sysUidMax(inLoginDefs: "SYS_UID_MAX 4999\nSYS_UID_MAX x\n"), 4999, "an invalid value is ignored")
        XCTAssertEqual(SystemUidBoundary.sysUidMax(inLoginDefs: "SYS_UID_MAX 0\n"), 1, "0 reads as 1")
        XCTAssertNil(SystemUidBoundary.sysUidMax(inLoginDefs: "#SYS_UID_MAX 10\n  SYS_UID_MAX 5\n"))
        XCTAssertEqual(SystemUidBoundary.pkgConfigCandidates(usrLib: ["x86_64-linux-gnu", "systemd", "locale"]),
                       ["/usr/share/pkgconfig/systemd.pc", "/usr/lib/pkgconfig/systemd.pc",
                        "/usr/lib/x86_64-linux-gnu/pkgconfig/systemd.pc", "/usr/lib64/pkgconfig/systemd.pc"])
    }

    func testLoginDefsReaderIsFoundInTheBinaries() throws {
        let dir = try scratch()
        let marker = Array("SYS_UID_MIN > SYS_UID_MAX, resetting".utf8)
        // The marker across the 1 MiB read boundary, and a file without it.
        var bytes = [UInt8](repeating: 0x41, count: (1 << 20) - 10) + marker + [0, 1, 2]
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/with.so", contents: Data(bytes)))
        bytes = [UInt8](repeating: 0x53, count: 3 << 20)
        XCTAssertTrue(FileManager.default.createFile(atPath: dir + "/without.so", contents: Data(bytes)))
        XCTAssertEqual(SystemUidBoundary.fileContains(dir + "/with.so", marker), true)
        XCTAssertEqual(SystemUidBoundary.fileContains(dir + "/without.so", marker), false)
        XCTAssertNil(SystemUidBoundary.fileContains(dir + "/missing.so", marker))
        XCTAssertNil(SystemUidBoundary.fileContains(dir, marker), "a directory is not a binary")

        typealias B = SystemUidBoundary.Binary
        let running = [B(path: "/usr/lib/systemd/systemd-logind", readPath: dir + "/without.so", pid: 42),
                       B(path: "/usr/lib/x/libsystemd-shared-252.so", readPath: dir + "/with.so", pid: 42)]
        XCTAssertEqual(SystemUidBoundary.loginDefsReading(binaries: running),
                       .yes(evidence: "/usr/lib/x/libsystemd-shared-252.so, which systemd-logind (pid 42) runs, carries login.defs' parser"))
        XCTAssertEqual(SystemUidBoundary.loginDefsReading(binaries: [running[0]]),
                       .no(evidence: "no login.defs parser in /usr/lib/systemd/systemd-logind, which systemd-logind (pid 42) runs"))
        XCTAssertEqual(SystemUidBoundary.loginDefsReading(binaries: []), .unknown(why: "no systemd-logind or libsystemd-shared found"))
        XCTAssertEqual(SystemUidBoundary.loginDefsReading(binaries: [B(path: "/nope", readPath: dir + "/missing", pid: nil)]),
                       .unknown(why: "cannot read /nope"))
    }

    func testShmWalkEntersEveryDirectoryAndKnowsWhichEmpty() throws {
        let root = try scratch()
        let fm = FileManager.default
        func file(_ p: String, uid: UInt32) throws {
            XCTAssertTrue(fm.createFile(atPath: root + p, contents: Data("x".utf8)))
            XCTAssertEqual(chown(root + p, uid, uid), 0)
        }
        func dir(_ p: String, uid: UInt32) throws {
            try fm.createDirectory(atPath: root + p, withIntermediateDirectories: false)
            XCTAssertEqual(chown(root + p, uid, uid), 0)
        }
        try file("/top", uid: 1001)                 // a POSIX object: the scanner's, not the walk's
        try dir("/own", uid: 1001)
        try dir("/own/sub", uid: 1001)
        try file("/own/sub/f", uid: 1001)
        try dir("/mixed", uid: 1001)
        try file("/mixed/w", uid: 33)
        try dir("/rootdir", uid: 0)
        try file("/rootdir/a", uid: 1001)
        XCTAssertEqual(symlink("top", root + "/link"), 0)
        XCTAssertEqual(lchown(root + "/link", 1001, 1001), 0)
        XCTAssertEqual(mkfifo(root + "/own/fifo", 0o600), 0)
        XCTAssertEqual(chown(root + "/own/fifo", 1001, 1001), 0)

        let tree = ShmTreeWalker().walk(root)
        XCTAssertEqual(tree.warnings, [])
        let byPath = Dictionary(uniqueKeysWithValues: tree.entries.map { (String($0.path.dropFirst(root.count)), $0) })
        XCTAssertEqual(byPath.keys.sorted(), ["/link", "/mixed", "/mixed/w", "/own", "/own/fifo", "/own/sub", "/own/sub/f",
                                              "/rootdir", "/rootdir/a"])
        XCTAssertEqual(byPath["/link"]?.type, .symlink)
        XCTAssertEqual(byPath["/own/fifo"]?.type, .fifo)
        XCTAssertEqual(byPath["/own"]?.removedWithOwner, true, "everything in it is its owner's")
        XCTAssertEqual(byPath["/mixed"]?.removedWithOwner, false, "a file of uid 33 stays, so rmdir fails")
        XCTAssertEqual(byPath["/rootdir/a"]?.uid, 1001, "logind enters directories of any owner")
        XCTAssertEqual(byPath["/rootdir"]?.removedWithOwner, false)
        XCTAssertFalse(tree.entries.contains { $0.mountPoint })

        let small = ShmTreeWalker(maxEntries: 3).walk(root)
        XCTAssertEqual(small.entries.count, 3)
        XCTAssertTrue(small.truncated)
        XCTAssertEqual(small.warnings.count, 1)
        XCTAssertTrue(small.warnings[0].hasPrefix("stopped after 3 entries below \(root)"), small.warnings[0])
        XCTAssertTrue(ShmTreeWalker().walk(root + "/missing").warnings[0].hasPrefix("cannot open \(root)/missing"))
    }

    /// A scratch directory, removed after the test.
    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipcsweep-rmipc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}
