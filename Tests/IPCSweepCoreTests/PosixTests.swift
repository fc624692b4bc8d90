import Foundation
import XCTest
@testable import IPCSweepCore

/// POSIX IPC: the pure parsers (mountinfo, maps, status, a queue's file), the classifier on built snapshots, the
/// filter, the removal plan and re-check comparison, the JSON writer and the audit grouping.
final class PosixTests: XCTestCase {
    let T: Int64 = 1_800_000_000
    let shmDev = DeviceInode(major: 0, minor: 23, inode: 0).device

    func object(_ name: String, kind: IPCKind = .posixShm, uid: UInt32 = 1000, gid: UInt32 = 1000, mode: UInt32 = 0o600,
                inode: UInt64 = 100, changed: Double? = nil, acl: [ACLEntry]? = nil,
                queue: MessageQueueStatus? = nil) -> PosixIPCObject {
        let t = changed ?? Double(T)
        let ft = FileTime(seconds: Int64(t), nanoseconds: Int64((t - t.rounded(.down)) * 1e9))
        return PosixIPCObject(path: "/dev/shm/" + (kind == .posixSem ? "sem." + name : name), kind: kind,
                              entry: kind == .posixSem ? "sem." + name : name, uid: uid, gid: gid, mode: mode, size: 4096,
                              blocks: 8, identity: DeviceInode(device: shmDev, inode: inode), mtimeNs: ft, ctime: ft,
                              acl: acl, queue: queue)
    }

    /// A process whose parent (pid 2, older) is an ordinary process: not re-parented unless `ppid` says so.
    func process(_ pid: Int32, uid: UInt32 = 1000, gid: UInt32 = 1000, groups: [UInt32]? = [], start: Double,
                 state: Character = "S", handles: [PosixHandle] = [], unreadable: String? = nil,
                 cgroup: String? = nil, ppid: Int32 = 2) -> ProcessRecord {
        ProcessRecord(pid: pid, ppid: ppid, state: state, uid: uid, euid: uid, gid: gid, egid: gid, groups: groups ?? [],
                      credentialsKnown: groups != nil, comm: "p\(pid)", startTime: start, cgroup: cgroup,
                      posixHandles: handles, handlesUnreadable: unreadable)
    }

    func classify(_ o: PosixIPCObject, _ procs: [ProcessRecord], scope: ResolvedScope? = nil) -> Classification {
        let parent = ProcessRecord(pid: 2, ppid: 0, state: "S", uid: 5000, euid: 5000, comm: "parent", startTime: 0)
        var c = [Classifier(processes: ProcessTable(processes: procs + [parent], ownPid: 999), scope: scope,
                            inheritWindow: 5, granularity: 0.004).classify(.posix(o))]
        EvidenceText(users: UserDirectory()).fillReasons(&c)
        return c[0]
    }

    // MARK: parsers

    func testMountInfoFindsStackedShmAndMqueueWithEscapes() {
        let text = """
            24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334192k
            25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683584k
            30 25 0:27 / /dev/shm rw,relatime shared:5 - tmpfs tmpfs rw,size=65536k
            41 24 0:40 / /run/my\\040queues rw,relatime - mqueue mqueue rw
            garbage line
            """
        let m = PosixIPCScanner.parseMountInfo(text)
        XCTAssertEqual(m.count, 4)
        XCTAssertEqual(m.last { $0.mountPoint == "/dev/shm" }?.device, DeviceInode(major: 0, minor: 27, inode: 0).device)
        XCTAssertEqual(m.first { $0.fsType == "mqueue" }?.mountPoint, "/run/my queues")
    }

    /// The one mountinfo parser (the POSIX scanner, the restorer and the visibility probe read its lines).
    func testMountInfoLinesFieldByField() {
        let text = """
            30 25 0:27 / /dev/shm rw,relatime shared:5 master:1 - tmpfs tmpfs rw,size=65536k
            31 25 0:28 - /mnt/-  rw  -  tmpfs  -  rw
            32 25 0:29 / /run/end\\040 rw - tmpfs t rw
            33 25 0:30 / /run/a\\134b\\777\\08\\ rw - tmpfs t rw
            34 25 x:1 / /proc rw - proc proc rw,hidepid=2
            35 25 0:31 / /short rw - mqueue

            36 25 0:32 / /no-dash rw tmpfs t rw
            37 25 0:33 / /no-type rw -
            """
        let lines = MountInfoLine.parse(text)
        XCTAssertEqual(lines.map(\.mountPoint), ["/dev/shm", "/mnt/-", "/run/end ", "/run/a\\b\\777\\08\\", "/proc", "/short"])
        XCTAssertEqual(lines[0], MountInfoLine(mountPoint: "/dev/shm", fsType: "tmpfs",
                                               device: DeviceInode(major: 0, minor: 27, inode: 0).device, superOptions: "rw,size=65536k"))
        XCTAssertEqual(lines[1].fsType, "tmpfs", "a root named - is not the separator; runs of spaces are one")
        XCTAssertEqual(lines[1].superOptions, "rw")
        XCTAssertNil(lines[4].device, "MAJ:MIN that is not two numbers")
        XCTAssertEqual(lines[4].superOptions, "rw,hidepid=2")
        XCTAssertNil(lines[5].superOptions)
        XCTAssertEqual(PosixIPCScanner.parseMountInfo(text).map(\.mountPoint), ["/dev/shm", "/mnt/-", "/run/end ", "/run/a\\b\\777\\08\\", "/short"],
                       "the scanner keeps the mounts that name their device")
        XCTAssertEqual(VisibilityProbe.procMountOptions(mountinfo: text, mountPoint: "/proc"), "rw,hidepid=2")
        XCTAssertEqual(MountInfoLine.parse(""), [])
    }

    func testDeviceNumbersRoundTripAsGlibcEncodesThem() {
        for (maj, min) in [(0, 23), (8, 1), (259, 3), (4095, 255), (70000, 1 << 20)] as [(UInt64, UInt64)] {
            let d = DeviceInode(major: maj, minor: min, inode: 7)
            XCTAssertEqual(d.major, maj)
            XCTAssertEqual(d.minor, min)
        }
        XCTAssertEqual(DeviceInode(major: 8, minor: 1, inode: 0).device, 0x801)
    }

    func testMapsMatchByDeviceAndInodeOnly() {
        let ids: Set<DeviceInode> = [DeviceInode(major: 0, minor: 0x1b, inode: 4242)]
        let maps = """
            7f0000000000-7f0000001000 rw-s 00000000 00:1b 4242                       /dev/shm/torch_1 (deleted)
            7f0000002000-7f0000003000 rw-s 00000000 00:1b 4243                       /dev/shm/other
            7f0000004000-7f0000005000 rw-s 00000000 00:01 4242                       /SYSV00001234 (deleted)
            7f0000006000-7f0000007000 r--p 00000000 08:01 4242                       /usr/lib/libc.so.6
            7f0000008000-7f0000009000 rw-s 00001000 00:1b 4242                       /renamed/elsewhere
            7ffd0000-7ffe0000 rw-p 00000000 00:00 0                                  [stack]
            """
        let found = ProcessProbe.parseMapsPosix(Array(maps.utf8), objects: ids)
        XCTAssertEqual(found.map(\.mapping), ["7f0000000000-7f0000001000", "7f0000008000-7f0000009000"],
                       "matched by device and inode, whatever the path says")
        XCTAssertTrue(found.allSatisfy { $0.fd == nil })
    }

    func testQueueFileText() {
        let q = MessageQueueStatus.parse("QSIZE:129      NOTIFY:2    SIGNO:0    NOTIFY_PID:8260  \n")
        XCTAssertEqual(q, MessageQueueStatus(qsize: 129, notify: 2, signo: 0, notifyPid: 8260))
        XCTAssertNil(MessageQueueStatus.parse("not a queue"))
    }

    // MARK: classifier

    func testAnyDescriptorOrMappingIsInUseWithTheHolder() {
        let o = object("torch_1")
        let fd = process(10, start: Double(T) + 100, handles: [PosixHandle(object: o.identity, fd: 7)])
        let map = process(11, uid: 2000, start: Double(T) + 100, handles: [PosixHandle(object: o.identity, mapping: "7f-80")])
        let c = classify(o, [fd, map])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertEqual(c.holders.map(\.pid), [10, 11])
        XCTAssertEqual(c.holders.map(\.relation), [.fd, .mapping])
        XCTAssertEqual(c.holders[0].fds, [7])
        XCTAssertEqual(c.holders[1].mappings, ["7f-80"])
    }

    func testZombiesAndTheToolItselfHoldNothing() {
        let o = object("x")
        let zombie = process(10, start: 0, state: "Z", handles: [PosixHandle(object: o.identity, fd: 3)])
        let me = process(999, start: 0, handles: [PosixHandle(object: o.identity, fd: 3)])
        let c = classify(o, [zombie, me])
        XCTAssertEqual(c.verdict, .orphaned, "\(c.reasons)")
    }

    func testNotifyPidIsEvidence() {
        let q = object("q", kind: .posixMq, queue: MessageQueueStatus(qsize: 0, notify: 0, notifyPid: 12, messages: 0))
        let c = classify(q, [process(12, uid: 5, start: Double(T) + 50)])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertEqual(c.holders.first?.relation, .notify)
        let gone = classify(q, [])
        XCTAssertEqual(gone.verdict, .orphaned)
        XCTAssertTrue(gone.reasons.contains { $0.contains("NOTIFY_PID 12") })
    }

    func testPossibleHolderExistedAtTheLastChangeWithinTheCoarseClockGranularity() {
        let o = object("y", changed: Double(T) + 0.5)
        // Started before the change: suspect. A file time is precise to the coarse clock's granularity (here 4 ms),
        // not to a whole second: a process started 3 ms after may have existed; 5 ms after, it is provably younger.
        XCTAssertEqual(classify(o, [process(10, start: Double(T))]).verdict, .suspect)
        XCTAssertEqual(classify(o, [process(10, start: Double(T) + 0.503)]).verdict, .suspect)
        XCTAssertEqual(classify(o, [process(10, start: Double(T) + 0.505)]).verdict, .orphaned)
        // Re-parented (its parent is init) and within the inheritance window: it may have inherited it.
        XCTAssertEqual(classify(o, [process(10, start: Double(T) + 3, ppid: 1)]).verdict, .suspect)
        XCTAssertEqual(classify(o, [process(10, start: Double(T) + 6, ppid: 1)]).verdict, .orphaned)
        // Another uid without group or other bits cannot reach it.
        XCTAssertEqual(classify(o, [process(10, uid: 2000, gid: 2000, start: 0)]).verdict, .orphaned)
    }

    func testReachByGroupOtherAndACL() {
        let older = Double(T) - 100
        let group = object("g", mode: 0o660)
        XCTAssertEqual(classify(group, [process(10, uid: 2000, gid: 2000, groups: [1000], start: older)]).verdict, .suspect)
        XCTAssertEqual(classify(group, [process(10, uid: 2000, gid: 2000, groups: [5], start: older)]).verdict, .orphaned)
        XCTAssertEqual(classify(group, [process(10, uid: 2000, gid: 2000, groups: nil, start: older)]).verdict, .suspect,
                       "unreadable credentials fail closed")
        let other = object("o", mode: 0o606)
        XCTAssertEqual(classify(other, [process(10, uid: 2000, gid: 2000, start: older)]).verdict, .suspect)
        // Named ACL entries (the mask lets them through) count as the other bits: anyone may reach it.
        let acl = object("a", mode: 0o660, acl: [ACLEntry(tag: .user, qualifier: 3000, perms: 6)])
        XCTAssertEqual(classify(acl, [process(10, uid: 3000, gid: 3000, start: older)]).verdict, .suspect)
        XCTAssertEqual(classify(object("m", mode: 0o600, acl: [ACLEntry(tag: .user, qualifier: 3000, perms: 6)]),
                                [process(10, uid: 3000, gid: 3000, start: older)]).verdict, .orphaned,
                       "a mask of ---: the named entry grants nothing")
    }

    func testRootCountsForRootObjectsOrInsideTheScope() {
        let older = Double(T) - 100
        let root = process(11, uid: 0, gid: 0, start: older, cgroup: "/system.slice/x.service")
        XCTAssertEqual(classify(object("u"), [root]).verdict, .orphaned, "root does not make a user's object suspect")
        XCTAssertEqual(classify(object("r", uid: 0, gid: 0), [root]).verdict, .suspect)
        let scope = ResolvedScope(description: "unit x.service", members: [11], exclusive: false)
        XCTAssertEqual(classify(object("u"), [root], scope: scope).verdict, .suspect)
        let exclusive = ResolvedScope(description: "unit y.service", members: [], exclusive: true)
        XCTAssertEqual(classify(object("u"), [process(10, start: older)], scope: exclusive).verdict, .orphaned,
                       "--exclusive: processes outside the scope never count")
    }

    func testUnreadableDescriptorsFailClosed() {
        let o = object("z")
        let hidden = process(10, uid: 1000, start: Double(T) + 100, unreadable: "/proc/10/fd: EACCES")
        XCTAssertEqual(classify(o, [hidden]).verdict, .unknown)
        let stranger = process(11, uid: 2000, gid: 2000, start: Double(T) + 100, unreadable: "/proc/11/fd: EACCES")
        XCTAssertEqual(classify(o, [stranger]).verdict, .orphaned, "a process that cannot reach it does not matter")
        let q = object("q", kind: .posixMq, queue: nil)
        XCTAssertEqual(classify(q, []).verdict, .unknown, "a queue whose state could not be read")
    }

    // MARK: filter, plan, re-check

    func testNameGlobAndKinds() {
        let f = ObjectFilter(kinds: [.posixShm], names: ["PostgreSQL.*"])
        XCTAssertTrue(f.matches(.posix(object("PostgreSQL.1804289383")), now: 0))
        XCTAssertFalse(f.matches(.posix(object("torch_1")), now: 0))
        XCTAssertFalse(f.matches(.posix(object("PostgreSQL.1", kind: .posixSem)), now: 0))
        XCTAssertTrue(ObjectFilter(names: ["sem.*"]).matches(.posix(object("x", kind: .posixSem)), now: 0), "the directory entry matches too")
        XCTAssertFalse(ObjectFilter(idleFor: 60).matches(.posix(object("i", changed: Double(T))), now: Double(T) + 30))
    }

    /// What the listing decides before reading an object (`admits(posixEntry:rootKind:)` from a POSIX entry's
    /// name alone, `admits(sysV:id:)` from a System V object's owner, key and id, `admits(owner:)` once a file is
    /// stat'ed) is the filter's documented meaning, written out here independently of the code: `--type` by the
    /// kind the entry's name gives (`sem.NAME` in /dev/shm a semaphore named NAME), `--name` by name or entry,
    /// `--key`/`--id` ruling out every POSIX object, `--user` by owner or creator. And together they keep exactly
    /// what the whole filter keeps, over every combination of these entries, owners, objects and filters.
    func testWhatTheListingDecidesIsTheFiltersDocumentedMeaning() {
        // entry, root, the kind and name it must be read as.
        let entries: [(String, IPCKind, IPCKind, String)] = [
            ("torch_1", .posixShm, .posixShm, "torch_1"), ("sem.torch_1", .posixShm, .posixSem, "torch_1"),
            ("sem.", .posixShm, .posixSem, ""), ("PostgreSQL.9", .posixShm, .posixShm, "PostgreSQL.9"),
            ("sem.x", .posixMq, .posixMq, "sem.x"), ("q1", .posixMq, .posixMq, "q1"),
        ]
        let filters: [ObjectFilter] = [
            ObjectFilter(), ObjectFilter(kinds: [.posixSem]), ObjectFilter(kinds: [.posixShm, .sem]), ObjectFilter(kinds: [.posixMq]),
            ObjectFilter(names: ["torch_*"]), ObjectFilter(names: ["sem.*"]), ObjectFilter(names: ["x", "q?"]),
            ObjectFilter(kinds: [.posixSem], names: ["torch_1"]), ObjectFilter(keys: [5]), ObjectFilter(ids: [0]),
            ObjectFilter(uids: [1000]), ObjectFilter(uids: [1000], names: ["PostgreSQL.*"]), ObjectFilter(kinds: [.sem], keys: [0x1234]),
            ObjectFilter(uids: [0], ids: [3, 7]),
        ]
        func glob(_ p: String, _ s: String) -> Bool { fnmatch(p, s, 0) == 0 }
        var kept = 0, left = 0
        for f in filters {
            for (entry, root, kind, name) in entries {
                XCTAssertEqual(PosixIPCObject.kind(ofEntry: entry, rootKind: root), kind, entry)
                XCTAssertEqual(PosixIPCObject.name(ofEntry: entry, kind: kind), name, entry)
                let byName = (f.kinds.isEmpty || f.kinds.contains(kind)) && f.keys.isEmpty && f.ids.isEmpty
                    && (f.names.isEmpty || f.names.contains { glob($0, name) || glob($0, entry) })
                XCTAssertEqual(f.admits(posixEntry: entry, rootKind: root), byName, "\(f) \(entry)")
                for uid: UInt32 in [0, 1000] {
                    let dir = root == .posixMq ? "/dev/mqueue" : "/dev/shm"
                    let o = PosixIPCObject(path: dir + "/" + entry, kind: kind, uid: uid, gid: uid, mode: 0o600)
                    let byOwner = f.uids.isEmpty || f.uids.contains(uid)
                    XCTAssertEqual(f.admits(owner: o.perm), byOwner)
                    XCTAssertEqual(f.matches(.posix(o), now: 0), byName && byOwner, "\(f) \(entry) uid \(uid)")
                    byName && byOwner ? (kept += 1) : (left += 1)
                }
            }
            for (key, id, uid, cuid) in [(Int32(0x1234), Int32(0), UInt32(0), UInt32(0)), (5, 7, 1000, 0), (0, 3, 0, 1000)] {
                let perm = IPCPermissions(key: key, uid: uid, gid: 0, cuid: cuid, cgid: 0, mode: 0o600)
                let listed = (f.uids.isEmpty || f.uids.contains(uid) || f.uids.contains(cuid))
                    && (f.keys.isEmpty || f.keys.contains(key)) && (f.ids.isEmpty || f.ids.contains(id))
                XCTAssertEqual(f.admits(sysV: perm, id: id), listed, "\(f) id \(id)")
                for o in [IPCObject.sem(SemaphoreSet(id: id, perm: perm, nsems: 1, otime: 0, ctime: 0)),
                          .msg(MessageQueue(id: id, perm: perm, cbytes: 0, qnum: 0, lspid: 0, lrpid: 0, stime: 0, rtime: 0, ctime: 0))] {
                    let byKind = f.kinds.isEmpty || f.kinds.contains(o.kind)
                    XCTAssertEqual(f.matches(o, now: 0), byKind && f.names.isEmpty && listed, "\(f) \(o.kind) \(id)")
                    var snap = IPCSnapshot(source: "test")
                    if case .sem(let set) = o { snap.semaphoreSets = [set] } else if case .msg(let q) = o { snap.queues = [q] }
                    snap.keep(f)
                    XCTAssertEqual(snap.objects.count, listed ? 1 : 0, "IPCSnapshot.keep: \(f) \(id)")
                }
            }
        }
        XCTAssertGreaterThan(kept, 20)
        XCTAssertGreaterThan(left, 60)
    }

    func testPlanKeepsQueuesWithMessages() {
        let q = object("q", kind: .posixMq, queue: MessageQueueStatus(qsize: 12, messages: 2))
        let c = Classification(object: .posix(q), verdict: .orphaned, reasons: ["none"])
        XCTAssertFalse(CleanPlanner(policy: CleanPolicy()).entry(c).goesAhead)
        XCTAssertTrue(CleanPlanner(policy: CleanPolicy(discardMessages: true)).entry(c).goesAhead)
        XCTAssertTrue(CleanPlanner(policy: CleanPolicy(saveTo: "/x")).entry(c).goesAhead)
        let inUse = Classification(object: .posix(object("h")), verdict: .inUse, reasons: ["open"])
        XCTAssertFalse(CleanPlanner(policy: CleanPolicy(includeSuspect: true)).entry(inUse).planned)
    }

    func testRecheckComparesIdentitySizeTimesAndOwner() {
        let o = object("r", inode: 55)
        XCTAssertEqual(Recheck.differences(planned: .posix(o), current: .posix(o)), [])
        var other = o
        other.identity.inode = 56
        XCTAssertFalse(Recheck.differences(planned: .posix(o), current: .posix(other)).isEmpty)
        var grown = o
        grown.size = 8192
        grown.ctime.nanoseconds += 1
        XCTAssertEqual(Recheck.differences(planned: .posix(o), current: .posix(grown)), ["size 4096 -> 8192", "changed since planned (ctime)"])
        var chowned = o
        chowned.uid = 0
        XCTAssertEqual(Recheck.differences(planned: .posix(o), current: .posix(chowned)), ["owner 1000:1000 -> 0:1000"])
        let q = object("q", kind: .posixMq, queue: MessageQueueStatus(qsize: 0))
        var read = q
        read.ctime.seconds += 5
        XCTAssertEqual(Recheck.differences(planned: .posix(q), current: .posix(read)), [], "reading a queue's file sets its ctime")
    }

    // MARK: output

    func testPosixObjectsInTheObjectDocument() throws {
        let o = object("tricky \"name\"\n", acl: [ACLEntry(tag: .group, qualifier: 5, perms: 4)])
        let c = Classification(object: .posix(o), verdict: .inUse, reasons: ["open"],
                               holders: [Holder(process(7, start: 0), relation: .fd, fds: [3, 4])])
        let q = Classification(object: .posix(object("q", kind: .posixMq, queue: MessageQueueStatus(qsize: 3, messages: 1))),
                               verdict: .orphaned, reasons: [])
        let doc = ObjectDocument(objects: [c, q], users: UserDirectory(), scope: nil, warnings: [], source: "syscall")
        // Compact and pretty are the same document; both parse; the objects array holds both POSIX objects.
        let compact = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(doc.bytes())) as? [String: Any])
        let pretty = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(doc.bytes(pretty: true))) as? [String: Any])
        XCTAssertEqual(compact as NSDictionary, pretty as NSDictionary)
        let objects = try XCTUnwrap(compact["objects"] as? [[String: Any]])
        XCTAssertEqual(objects.map { $0["name"] as? String }, ["tricky \"name\"\n", "q"])
        XCTAssertEqual(objects.map { $0["type"] as? String }, ["posix-shm", "posix-mq"])
        XCTAssertEqual(objects.map { $0["verdict"] as? String }, ["in-use", "orphaned"])
        let holders = try XCTUnwrap(objects[0]["holders"] as? [[String: Any]])
        XCTAssertEqual(holders.first?["fds"] as? [Int], [3, 4])
        XCTAssertEqual((objects[1]["queue"] as? [String: Any])?["messages"] as? Int, 1)
        // Keys in byte order, as every ipcsweep document.
        let text = String(decoding: doc.bytes(), as: UTF8.self)
        let acl = try XCTUnwrap(text.range(of: "\"acl\""))
        let atime = try XCTUnwrap(text.range(of: "\"atime\""))
        XCTAssertLessThan(acl.lowerBound, atime.lowerBound)
    }

    /// `-o/--columns` selects the JSON fields of POSIX objects as of System V ones (issue 18: POSIX objects used to
    /// keep every field): `-o verdict` gives every object `verdict` alone; `-o name,inode` gives a System V object
    /// neither (it has no name, no inode); `-o type,queue` gives a queue its state and a file `queue: null`.
    func testColumnsSelectPosixFieldsLikeSystemVFields() throws {
        let shm = Classification(object: .posix(object("seg")), verdict: .orphaned, reasons: [])
        let q = Classification(object: .posix(object("q", kind: .posixMq, queue: MessageQueueStatus(qsize: 3, messages: 1))),
                               verdict: .orphaned, reasons: [])
        let perm = IPCPermissions(key: 0x10, uid: 0, gid: 0, cuid: 0, cgid: 0, mode: 0o600)
        let sem = Classification(object: .sem(SemaphoreSet(id: 7, perm: perm, nsems: 1, otime: 0, ctime: 0)), verdict: .orphaned,
                                 reasons: [])
        var doc = ObjectDocument(objects: [sem, shm, q], users: UserDirectory(), scope: nil, warnings: [], source: "syscall")
        func objects() throws -> [[String: Any]] {
            let d = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(doc.bytes())) as? [String: Any])
            return try XCTUnwrap(d["objects"] as? [[String: Any]])
        }
        doc.fields = try ObjectFields.table.jsonFields(.only(["verdict"]), kinds: [], command: "list")
        XCTAssertEqual(try objects().map { Set($0.keys) }, [["verdict"], ["verdict"], ["verdict"]])
        doc.fields = try ObjectFields.table.jsonFields(.only(["name", "inode"]), kinds: [], command: "list")
        XCTAssertEqual(try objects().map { Set($0.keys) }, [[], ["name", "inode"], ["name", "inode"]])
        doc.fields = try ObjectFields.table.jsonFields(.only(["type", "queue"]), kinds: [], command: "list")
        let selected = try objects()
        XCTAssertEqual(selected.map { Set($0.keys) }, [["type"], ["type", "queue"], ["type", "queue"]])
        XCTAssertTrue(selected[1]["queue"] is NSNull)
        XCTAssertEqual((selected[2]["queue"] as? [String: Any])?["messages"] as? Int, 1)
    }

    func testNamesAreEscapedForTerminals() {
        XCTAssertEqual(TextEscape.escaped("a\u{1b}[31mb\\c"), "a\\x1b[31mb\\x5cc")
        XCTAssertEqual(TextEscape.escaped("plain.name"), "plain.name")
        XCTAssertEqual(TextEscape.escaped("r\u{202e}l\u{9b}x\n"), "r\\u{202e}l\\x9bx\\x0a")
    }

    func testAuditGroupsOrphansByNamePrefix() {
        XCTAssertEqual(PosixAuditSection.pattern("torch_1234_5"), "torch_*")
        XCTAssertEqual(PosixAuditSection.pattern("PostgreSQL.1804289383"), "PostgreSQL.*")
        XCTAssertEqual(PosixAuditSection.pattern("single"), "single")
        XCTAssertEqual(PosixAuditSection.pattern("_lead"), "_lead")
        var items = (0..<3).map { Classification(object: .posix(object("torch_\($0)", inode: UInt64($0))), verdict: .orphaned, reasons: ["x"]) }
        items.append(Classification(object: .posix(object("PostgreSQL.1", inode: 9)), verdict: .inUse, reasons: ["open"]))
        let s = PosixAuditSection(items, shm: PosixScanResult(root: "/dev/shm", kind: .posixShm, scanned: true,
                                                              mount: PosixMount(mountPoint: "/dev/shm", fsType: "tmpfs", device: shmDev,
                                                                                sizeBytes: 1 << 30, usedBytes: 1 << 29)))
        XCTAssertEqual(s.orphanGroups, [PosixOrphanGroup(pattern: "torch_*", kind: .posixShm, count: 3, usedBytes: 3 * 4096, sizeBytes: 3 * 4096)])
        XCTAssertEqual(PosixAuditSection.groupLine(s.orphanGroups[0]), "3 orphaned torch_* files, 12 KiB")
        XCTAssertEqual(s.usageLine, "/dev/shm 50 % full (512 MiB of 1 GiB); 12 KiB of it in 3 orphaned files (torch_*)")
        XCTAssertEqual(PosixAuditSection.size(3_328_599_654), "3.1 GiB")
    }

    func testJournalLineNamesPathInodeOwnerVerdictAndEvidence() {
        let o = object("PostgreSQL.1\u{1b}", inode: 77)
        let c = Classification(object: .posix(o), verdict: .orphaned, reasons: ["no live process"])
        let r = CleanResult(classification: c, status: .removed, reason: "removed (orphaned)")
        // The message is made raw; the journal's sink (`note`) escapes it.
        let line = TextEscape.escaped(CleanSyslog.message(r, users: UserDirectory()))
        XCTAssertTrue(line.hasPrefix("removed POSIX shared memory object /dev/shm/PostgreSQL.1\\x1b inode 77 size 4096 owner "), line)
        XCTAssertTrue(line.contains("verdict orphaned: removed (orphaned); evidence: no live process"), line)
        XCTAssertEqual(o.directory, "/dev/shm")
        XCTAssertEqual(SaveFile.fileName(for: .posix(object("a/b\u{7}"))), "posix-shm-a_b_-100-\(T).ipcsweep")
    }
}
