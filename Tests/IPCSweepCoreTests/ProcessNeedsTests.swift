import XCTest
@testable import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

/// A process table read for the verdicts only (`ProcessNeeds`: status of every process, the rest only for the
/// processes that may reach an object or that the evidence names, units after the verdicts) gives every verdict,
/// every piece of evidence and every holder that a whole read gives: randomised snapshots over procfs copies.
final class ProcessNeedsTests: XCTestCase {
    /// SplitMix64: reproducible rounds (the seed of a failing round is in the message).
    struct Rand: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let T: Int64 = 1_800_000_000
    static let boot: Int64 = T - 86_400
    static let ownNamespace: UInt64 = 4_026_531_839
    static let otherNamespace: UInt64 = 4_026_532_000

    struct Proc {
        var pid: Int32
        var ppid: Int32
        var state: Character
        var uid: UInt32
        var euid: UInt32
        var gid: UInt32
        var groups: [UInt32]
        var capEff: UInt64
        var credentialsReadable: Bool
        var statReadable: Bool
        var namespaceInit: Bool
        var comm: String
        var startTicks: Int64
        var cgroup: String
        var namespace: UInt64
        var maps: [Int32]
        /// The thread group, for a thread's id (nil: a process, its own).
        var tgid: Int32? = nil
    }

    struct World {
        var processes: [Proc] = []
        var snapshot = IPCSnapshot(source: "test")
        var posix: [PosixIPCObject] = []

        var objects: [IPCObject] { snapshot.objects + posix.map(IPCObject.posix) }

        static func random(_ r: inout Rand, processes: ClosedRange<Int> = 4...40) -> World {
            var w = World()
            // Objects of uids 0 and 1000-1004, processes of 0, 1000-1003 and 1005-1009 (who own nothing).
            let uids: [UInt32] = [0, 1000, 1001, 1002, 1003]
            let otherUids: [UInt32] = [1005, 1006, 1007, 1008, 1009]
            let gids: [UInt32] = [0, 100, 1000, 2000, 3000]
            let comms = ["postgres", "apache2", "systemd", "worker", "containerd-shim", "a b", "x)y"]
            var pids: [Int32] = []
            for _ in 0..<Int.random(in: processes, using: &r) {
                var pid: Int32
                repeat { pid = Int32.random(in: 2...max(600, Int32(processes.upperBound) * 2), using: &r) } while pids.contains(pid)
                pids.append(pid)
            }
            func someUid() -> UInt32 { uids.randomElement(using: &r) ?? 0 }
            func someGid() -> UInt32 { gids.randomElement(using: &r) ?? 0 }
            // A pid of a process, of no process, or none.
            func somePid() -> Int32 {
                switch Int.random(in: 0..<20, using: &r) {
                case 0...11: return 0
                case 12...16: return pids.randomElement(using: &r) ?? 0
                default: return Int32.random(in: 601...700, using: &r)
                }
            }
            func someTime() -> Int64 { T - Int64.random(in: 0...15, using: &r) }
            let segmentIDs = (0..<Int.random(in: 0...6, using: &r)).map { Int32(100 + $0) }
            for pid in pids {
                let uid = Int.random(in: 0..<2, using: &r) == 0 ? (otherUids.randomElement(using: &r) ?? 1005) : someUid()
                let parent: Int32 = Int.random(in: 0..<10, using: &r) < 5 ? 1
                    : Int.random(in: 0..<10, using: &r) < 7 ? (pids.randomElement(using: &r) ?? 1) : 999
                // Users who own nothing mostly have their own group, and rarely one of the others.
                let own = otherUids.contains(uid) && Int.random(in: 0..<5, using: &r) != 0
                w.processes.append(Proc(
                    pid: pid, ppid: parent, state: Int.random(in: 0..<20, using: &r) == 0 ? "Z" : "S",
                    uid: uid, euid: Int.random(in: 0..<10, using: &r) == 0 ? someUid() : uid, gid: own ? uid : someGid(),
                    groups: own ? [] : gids.filter { _ in Int.random(in: 0..<4, using: &r) == 0 },
                    capEff: Int.random(in: 0..<15, using: &r) == 0 ? 1 << 15 : 0,
                    credentialsReadable: Int.random(in: 0..<30, using: &r) != 0,
                    statReadable: Int.random(in: 0..<40, using: &r) != 0,
                    namespaceInit: Int.random(in: 0..<30, using: &r) == 0,
                    comm: comms.randomElement(using: &r) ?? "worker",
                    startTicks: (T - boot - 20 + Int64.random(in: 0...30, using: &r)) * 100 + Int64.random(in: 0...99, using: &r),
                    cgroup: Int.random(in: 0..<3, using: &r) == 0 ? "0::/user.slice" : "0::/system.slice/s\(Int.random(in: 0...3, using: &r)).service",
                    namespace: Int.random(in: 0..<10, using: &r) == 0 ? otherNamespace : ownNamespace,
                    maps: segmentIDs.filter { _ in Int.random(in: 0..<25, using: &r) == 0 }))
            }
            let modes: [UInt32] = [0o600, 0o640, 0o660, 0o400, 0o600, 0o640, 0o060, 0o600, 0o644, 0o666, 0o604]
            func perm() -> IPCPermissions {
                let uid = Int.random(in: 0..<8, using: &r) == 0 ? 1004 : someUid()
                let cuid = Int.random(in: 0..<3, using: &r) == 0 ? someUid() : uid
                let gid = someGid()
                return IPCPermissions(key: Int32.random(in: 0...0xffff, using: &r), uid: uid, gid: gid, cuid: cuid,
                                      cgid: Int.random(in: 0..<4, using: &r) == 0 ? someGid() : gid,
                                      mode: (Int.random(in: 0..<30, using: &r) == 0 ? modes : Array(modes.prefix(7))).randomElement(using: &r) ?? 0o600)
            }
            for id in 0..<Int.random(in: 0...12, using: &r) {
                let n = Int.random(in: 1...3, using: &r)
                let sems = (0..<n).map { _ in
                    Semaphore(value: 1, pid: somePid(), ncnt: Int.random(in: 0..<25, using: &r) == 0 ? 1 : 0, zcnt: 0)
                }
                w.snapshot.semaphoreSets.append(SemaphoreSet(id: Int32(id), perm: perm(), nsems: n, otime: someTime(),
                                                             ctime: someTime() - 5, semaphores: sems))
            }
            for id in segmentIDs {
                let mapped = w.processes.filter { $0.maps.contains(id) }.count
                w.snapshot.segments.append(SharedMemorySegment(
                    id: id, perm: perm(), size: 4096, cpid: somePid(), lpid: somePid(),
                    nattch: UInt64(mapped + (Int.random(in: 0..<5, using: &r) == 0 ? 1 : 0)), atime: someTime(),
                    dtime: someTime(), ctime: someTime() - 5))
            }
            for id in 0..<Int.random(in: 0...6, using: &r) {
                w.snapshot.queues.append(MessageQueue(
                    id: Int32(200 + id), perm: perm(), cbytes: 0, qnum: 0, lspid: somePid(), lrpid: somePid(),
                    stime: Int.random(in: 0..<2, using: &r) == 0 ? 0 : someTime(), rtime: someTime(), ctime: someTime() - 5))
            }
            for i in 0..<Int.random(in: 0...6, using: &r) {
                let p = perm()
                let kind: IPCKind = [.posixShm, .posixSem, .posixMq].randomElement(using: &r) ?? .posixShm
                let t = FileTime(seconds: someTime(), nanoseconds: Int64.random(in: 0..<1_000_000_000, using: &r))
                w.posix.append(PosixIPCObject(
                    path: kind == .posixMq ? "/dev/mqueue/q\(i)" : "/dev/shm/\(kind == .posixSem ? "sem." : "")o\(i)",
                    kind: kind, uid: p.uid, gid: p.gid, mode: p.mode, identity: DeviceInode(device: 22, inode: UInt64(5000 + i)),
                    mtimeNs: t, ctime: t, queue: kind == .posixMq ? MessageQueueStatus(qsize: 0, notifyPid: somePid()) : nil))
            }
            return w
        }

        /// The processes as a procfs copy under `root`: stat, status, cgroup, maps and the ns/ipc link of each, and
        /// the boot time (`btime`) in `root/stat`.
        func write(to root: String) throws {
            try FileIO.writeAtomically(Array("cpu  1 2 3 4\nbtime \(ProcessNeedsTests.boot)\n".utf8), to: "\(root)/stat")
            try Self.write(processes, to: root)
        }

        /// These processes' directories in the procfs copy under `root`.
        static func write(_ processes: [Proc], to root: String) throws {
            func put(_ path: String, _ text: String) throws {
                try FileIO.writeAtomically(Array(text.utf8), to: path)
            }
            for p in processes {
                let dir = "\(root)/\(p.pid)"
                XCTAssertEqual(mkdir(dir, 0o755), 0)
                XCTAssertEqual(mkdir("\(dir)/ns", 0o755), 0)
                let fields = ["\(p.state)", "\(p.ppid)"] + Array(repeating: "0", count: 17) + ["\(p.startTicks)", "1000", "10"]
                try put("\(dir)/stat", p.statReadable ? "\(p.pid) (\(p.comm)) \(fields.joined(separator: " "))\n" : "garbage\n")
                let caps = String(p.capEff, radix: 16)
                let uidLine = p.credentialsReadable ? "Uid:\t\(p.uid)\t\(p.euid)\t\(p.uid)\t\(p.uid)\n" : ""
                try put("\(dir)/status", """
                    Name:\t\(p.comm)
                    Umask:\t0022
                    State:\t\(p.state) (sleeping)
                    Tgid:\t\(p.tgid ?? p.pid)
                    Ngid:\t0
                    Pid:\t\(p.pid)
                    PPid:\t\(p.ppid)
                    TracerPid:\t0
                    \(uidLine)Gid:\t\(p.gid)\t\(p.gid)\t\(p.gid)\t\(p.gid)
                    FDSize:\t64
                    Groups:\t\(p.groups.map(String.init).joined(separator: " "))
                    NStgid:\t\(p.pid)
                    NSpid:\t\(p.pid)\(p.namespaceInit ? "\t1" : "")
                    CapInh:\t0000000000000000
                    CapEff:\t\(String(repeating: "0", count: 16 - caps.count) + caps)

                    """)
                try put("\(dir)/cgroup", p.cgroup + "\n")
                try put("\(dir)/maps", p.maps.map { "7f0000\($0)000-7f0000\($0)fff rw-s 00000000 00:01 \($0)                  /SYSV0000abcd (deleted)\n" }.joined())
                XCTAssertEqual(symlink("ipc:[\(p.namespace)]", "\(dir)/ns/ipc"), 0)
            }
        }
    }

    /// The classifications of a world over its procfs copy, with the table read whole or for the verdicts; and the
    /// processes of which only status was read.
    func classify(_ w: World, root: String, forVerdicts: Bool) throws -> (results: [Classification], credentialsOnly: Int) {
        let probe = ProcessProbe(procRoot: root, details: [], needs: forVerdicts ? ProcessNeeds(w.snapshot, posix: w.posix) : nil)
        var table = try probe.read()
        table.ownIPCNamespace = Self.ownNamespace
        var found = [Inspector.Found(snapshot: w.snapshot, namespace: nil, thread: nil, posixObjects: w.posix)]
        Inspector.complete(&found, table: &table, probe: probe,
                           options: InspectionOptions(procRoot: root, kinds: Set(IPCKind.allCases)))
        let classifier = Classifier(processes: table, scope: nil, inheritWindow: 5, granularity: 0.004)
        var results = classifier.classify(w.objects)
        if forVerdicts { probe.fillUnits(&results, table: &table) }
        return (results, table.byPid.values.filter { $0.files == [.status] }.count)
    }

    func testAReadForTheVerdictsGivesTheVerdictsOfAWholeRead() throws {
        let seed: UInt64 = UInt64(ProcessInfo.processInfo.environment["NEEDS_SEED"] ?? "20") ?? 20
        var r = Rand(state: seed)
        var skipped = 0
        var verdicts: [Verdict: Int] = [:]
        for round in 0..<(Int(ProcessInfo.processInfo.environment["NEEDS_ROUNDS"] ?? "150") ?? 150) {
            let w = World.random(&r)
            let root = try scratchDirectory()
            try w.write(to: root)
            let whole = try classify(w, root: root, forVerdicts: false)
            let lazy = try classify(w, root: root, forVerdicts: true)
            XCTAssertEqual(whole.credentialsOnly, 0)
            skipped += lazy.credentialsOnly
            XCTAssertEqual(whole.results.count, lazy.results.count)
            for (a, b) in zip(whole.results, lazy.results) {
                verdicts[a.verdict, default: 0] += 1
                XCTAssertEqual(a, b, "seed \(seed), round \(round): \(a.object.displayName)")
            }
        }
        // The rounds covered every verdict, and the read for the verdicts left processes out.
        XCTAssertGreaterThan(skipped, 500)
        for v in [Verdict.inUse, .orphaned, .suspect, .unknown] { XCTAssertGreaterThan(verdicts[v] ?? 0, 10, "\(v)") }
    }

    /// From `ProcessProbe.parallelFrom` processes the table's reads are spread over several threads (chunks of
    /// processes, each with its own buffer): the table holds the records that reading each process alone gives,
    /// read whole and for the verdicts; and a procfs copy's problem (a FIFO where a file should be) is still
    /// reported, whichever chunk meets it.
    func testATableReadOnSeveralThreadsHoldsTheRecordsOfOneReadEach() throws {
        var r = Rand(state: 4242)
        let w = World.random(&r, processes: 300...300)
        XCTAssertGreaterThanOrEqual(w.processes.count, ProcessProbe.parallelFrom * 2)
        let root = try scratchDirectory()
        try w.write(to: root)
        for needs in [nil, ProcessNeeds(w.snapshot, posix: w.posix)] {
            let probe = ProcessProbe(procRoot: root, details: [], needs: needs)
            let table = try probe.read()
            let boot = try XCTUnwrap(table.bootInstant)
            let alone = w.processes.compactMap { probe.record($0.pid, boot: boot, ticksPerSecond: 100) }
            XCTAssertEqual(alone.count, w.processes.count)
            XCTAssertEqual(table.byPid.count, alone.count)
            for a in alone { XCTAssertEqual(table.byPid[a.pid], a, "pid \(a.pid), needs \(needs != nil)") }
            if needs != nil { XCTAssertGreaterThan(alone.filter { $0.files == [.status] }.count, 10, "some read by status only") }
        }
        let last = try XCTUnwrap(w.processes.map(\.pid).max())
        XCTAssertEqual(unlink("\(root)/\(last)/stat"), 0)
        XCTAssertEqual(mkfifo("\(root)/\(last)/stat", 0o644), 0)
        XCTAssertThrowsError(try ProcessProbe(procRoot: root, details: []).read()) { error in
            XCTAssertTrue("\(error)".hasPrefix("cannot read \(last)/stat: not a regular file (a FIFO) under --proc \(root):"), "\(error)")
        }
    }

    /// `clean` re-checks each object just before removing it, with the plan's table: when its owner, group or mode
    /// changed since the plan (IPC_SET, chown, chmod), the processes its new access lets reach it are read whole
    /// before its verdict (`ProcessNeeds.covers`), so a decider over a table read for the plan's verdicts gives
    /// the verdict of a decider over a whole table, for fresh reads with random new permissions.
    func testCleanDecidesAnObjectWhosePermissionsChangedSinceThePlanAsAWholeReadDoes() throws {
        var r = Rand(state: 2020)
        var changed = 0
        var uncovered = 0
        for round in 0..<60 {
            let w = World.random(&r)
            guard !w.objects.isEmpty else { continue }
            let root = try scratchDirectory()
            try w.write(to: root)
            let whole = try Self.decider(w, root: root, forVerdicts: false)
            let lazy = try Self.decider(w, root: root, forVerdicts: true)
            let needs = ProcessNeeds(w.snapshot, posix: w.posix)
            for o in w.objects {
                let fresh = Self.withNewPermissions(o, &r)
                if fresh.access != o.access { changed += 1 }
                if !needs.covers(fresh.access) { uncovered += 1 }
                XCTAssertEqual(whole.classify(fresh), lazy.classify(fresh), "round \(round): \(fresh.displayName)")
            }
        }
        XCTAssertGreaterThan(changed, 100)
        XCTAssertGreaterThan(uncovered, 50)
    }

    /// `clean` re-checks each object with the plan's table brought up to date: when the namespace's last pid moved
    /// (/proc/loadavg), the processes born since are read and appended to the decider's possible holders, not indexed
    /// whole again (a busy host starts hundreds a second). Over a procfs copy that gains processes between re-checks
    /// (that reach an object or are known by their status only, zombies, unreadable, some whose pid is the parent
    /// pid of a process of the plan or that started before one: those are indexed whole again), the verdicts are
    /// those of a decider made over the grown copy.
    func testCleanDecidesAfterBirthsAsADeciderMadeOverTheGrownTableDoes() throws {
        var r = Rand(state: 3030)
        var born = 0
        var checked = 0
        for round in 0..<40 {
            var w = World.random(&r)
            guard !w.objects.isEmpty else { continue }
            let root = try scratchDirectory()
            try w.write(to: root)
            var lastPid = max(w.processes.map(\.pid).max() ?? 0, 700)
            // Written in place: the decider keeps the file open, as it keeps /proc/loadavg.
            func writeLastPid() {
                let fd = open("\(root)/loadavg", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
                let text = Array("0.00 0.01 0.05 1/123 \(lastPid)\n".utf8)
                XCTAssertEqual(text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, text.count)
                close(fd)
            }
            writeLastPid()
            let live = try Self.decider(w, root: root, forVerdicts: true, watchingBirthsFrom: Int64(lastPid))
            for step in 0..<3 {
                let pids = w.processes.map(\.pid)
                var new: [Proc] = []
                for _ in 0..<Int.random(in: 1...4, using: &r) {
                    lastPid += Int32.random(in: 1...3, using: &r)  // short-lived processes take pids too
                    var start = (Self.T - Self.boot + 11 + Int64(step)) * 100 + Int64.random(in: 0...99, using: &r)
                    switch Int.random(in: 0..<14, using: &r) {
                    case 0 where lastPid < 999: lastPid = 999  // the invisible parent of some processes of the plan
                    case 1: start -= 3_000  // started before processes of the plan (a clock that stepped back)
                    case 2: lastPid += Int32(ProcessProbe.bornRangeLimit)  // so many pids handed out that /proc is listed
                    case 3:
                        // A new thread of a process of the plan: its id is not a process (a copy lists it, /proc not).
                        var thread = try XCTUnwrap(w.processes.first)
                        thread.tgid = thread.pid
                        thread.pid = lastPid
                        try World.write([thread], to: root)
                        continue
                    default: break
                    }
                    let pid = lastPid
                    let uid: UInt32 = [0, 1000, 1001, 1003, 1005, 1007, 1009].randomElement(using: &r) ?? 0
                    new.append(Proc(
                        pid: pid, ppid: Int.random(in: 0..<3, using: &r) == 0 ? 1 : (pids + new.map(\.pid)).randomElement(using: &r) ?? 1,
                        state: Int.random(in: 0..<15, using: &r) == 0 ? "Z" : "S", uid: uid, euid: uid,
                        gid: [0, 100, 1000, 1005, 2000].randomElement(using: &r) ?? 0,
                        groups: Int.random(in: 0..<4, using: &r) == 0 ? [2000] : [],
                        capEff: Int.random(in: 0..<15, using: &r) == 0 ? 1 << 15 : 0,
                        credentialsReadable: Int.random(in: 0..<20, using: &r) != 0,
                        statReadable: Int.random(in: 0..<20, using: &r) != 0, namespaceInit: false,
                        comm: Int.random(in: 0..<6, using: &r) == 0 ? "containerd-shim" : "worker", startTicks: start,
                        cgroup: "0::/system.slice/s\(Int.random(in: 0...3, using: &r)).service",
                        namespace: Int.random(in: 0..<10, using: &r) == 0 ? Self.otherNamespace : Self.ownNamespace, maps: []))
                }
                w.processes += new
                born += new.count
                try World.write(new, to: root)
                writeLastPid()
                let after = try Self.decider(w, root: root, forVerdicts: true)
                // A birth can concern only an object active within a minute of the plan (`recentActivity`). Each is
                // re-checked as it was, then with new permissions (its possible holders may then be processes born
                // since and known only by their status until now).
                for o in w.objects where o.lastActivity >= Self.T - CleanDecider.recentActivity {
                    checked += 1
                    XCTAssertEqual(live.classify(o), after.classify(o), "round \(round), step \(step): \(o.displayName)")
                    let fresh = Self.withNewPermissions(o, &r)
                    XCTAssertEqual(live.classify(fresh), after.classify(fresh), "round \(round), step \(step): \(fresh.displayName), new permissions")
                }
            }
        }
        XCTAssertGreaterThan(born, 200)
        XCTAssertGreaterThan(checked, 500)
    }

    /// With a wider inheritance window (`--inherit-window 10m`), a process born after the plan may have inherited an
    /// object active minutes before it, not only within the last minute; and so may it when the wall clock was
    /// measured to have stepped forward ten minutes (a process's start then counts that much earlier). The decider
    /// looks for births for every object that recent (the window and the step added to the minute), so its verdict
    /// is that of a decider made after the birth (suspect), not the plan's (orphaned).
    func testBirthsAreLookedForAcrossAWiderInheritanceWindow() throws {
        func proc(_ pid: Int32, parent: Int32, uid: UInt32, startedAt t: Int64) -> Proc {
            Proc(pid: pid, ppid: parent, state: "S", uid: uid, euid: uid, gid: uid, groups: [], capEff: 0,
                 credentialsReadable: true, statReadable: true, namespaceInit: false, comm: "worker",
                 startTicks: (t - Self.boot) * 100, cgroup: "0::/user.slice", namespace: Self.ownNamespace, maps: [])
        }
        var w = World()
        w.processes = [proc(11, parent: 1, uid: 1005, startedAt: Self.T - 3600)]
        // Uid 1000's set, last operated on five minutes before the plan by a process that exited.
        let perm = IPCPermissions(key: 0x1234, uid: 1000, gid: 1000, cuid: 1000, cgid: 1000, mode: 0o600)
        w.snapshot.semaphoreSets = [SemaphoreSet(id: 1, perm: perm, nsems: 1, otime: Self.T - 300, ctime: Self.T - 400,
                                                 semaphores: [Semaphore(value: 1, pid: 650, ncnt: 0, zcnt: 0)])]
        let set = try XCTUnwrap(w.objects.first)
        let root = try scratchDirectory()
        try w.write(to: root)
        func writeLastPid(_ pid: Int32) throws {  // in place: the decider keeps the file open, as /proc/loadavg
            let fd = open("\(root)/loadavg", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let text = Array("0.00 0.01 0.05 1/123 \(pid)\n".utf8)
            XCTAssertEqual(text.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }, text.count)
            close(fd)
        }
        try writeLastPid(700)
        let stepped = ClockSteps(references: [ClockReference(source: .systemdManager, since: Double(Self.boot), step: 600)])
        for (window, clock) in [(5.0, ClockSteps()), (600.0, ClockSteps()), (5.0, stepped)] {
            let wide = window > 5 || !clock.references.isEmpty
            let live = try Self.decider(w, root: root, forVerdicts: true, watchingBirthsFrom: 700, inheritWindow: window, clock: clock)
            XCTAssertEqual(live.classify(set).verdict, .orphaned, "window \(window): no process of uid 1000 at the plan")
            // Born after the plan, re-parented, uid 1000: within ten minutes of the last operation, not within 5 s.
            var grown = w
            grown.processes.append(proc(701, parent: 1, uid: 1000, startedAt: Self.T + 1))
            let groot = try scratchDirectory()
            try grown.write(to: groot)
            try World.write([grown.processes[1]], to: root)
            try writeLastPid(701)
            let after = try Self.decider(grown, root: groot, forVerdicts: true, inheritWindow: window, clock: clock)
            XCTAssertEqual(after.classify(set).verdict, wide ? .suspect : .orphaned, "window \(window), \(clock.references)")
            XCTAssertEqual(live.classify(set), after.classify(set), "window \(window): \(live.classify(set).reasons)")
            // The next window starts from the plan's copy again.
            try FileManager.default.removeItem(atPath: root + "/701")
            try writeLastPid(700)
        }
    }

    /// The catch-up looks at the pids handed out since the last look, not at the whole of /proc: a process born in
    /// that range is added, a thread's id in it is not (it is its process's thread), a pid outside it is not looked
    /// at; a wider range lists /proc.
    func testProcessesBornAreLookedForAmongThePidsHandedOutSince() throws {
        var r = Rand(state: 5)
        var w = World.random(&r, processes: 6...6)
        let root = try scratchDirectory()
        try w.write(to: root)
        let probe = ProcessProbe(procRoot: root, details: [], needs: nil)
        var table = try probe.read()
        let plan = table.byPid.count
        var born = w.processes[0]
        born.pid = 1001
        var thread = w.processes[1]
        thread.tgid = thread.pid
        thread.pid = 1002
        var explicit = w.processes[2]
        explicit.pid = 900  // given its pid explicitly (CRIU), outside the range
        try World.write([born, thread, explicit], to: root)
        w.processes += [born, explicit]
        XCTAssertEqual(table.insert(probe.processesBorn(after: 1000, through: 1003, in: table)).map(\.pid), [1001])
        XCTAssertEqual(table.byPid.count, plan + 1)
        XCTAssertNil(table.byPid[1002], "a thread's id")
        XCTAssertEqual(table.insert(probe.processesBorn(after: 1003, through: 1003 + ProcessProbe.bornRangeLimit + 1, in: table)).map(\.pid), [900])
        XCTAssertEqual(Set(table.byPid.keys), Set(w.processes.map(\.pid)))
    }

    /// `clean`'s decider over a world's procfs copy, its table read whole or for the verdicts; watching the copy's
    /// `loadavg` for births from that last pid on (nil: not watching).
    static func decider(_ w: World, root: String, forVerdicts: Bool, watchingBirthsFrom lastPid: Int64? = nil,
                        inheritWindow: Double = 5, clock: ClockSteps = ClockSteps()) throws -> CleanDecider {
        let needs = forVerdicts ? ProcessNeeds(w.snapshot, posix: w.posix) : nil
        let probe = ProcessProbe(procRoot: root, details: [], needs: needs)
        var table = try probe.read()
        table.ownIPCNamespace = ownNamespace
        let options = InspectionOptions(procRoot: root, kinds: Set(IPCKind.allCases), inheritWindow: inheritWindow)
        var found = [Inspector.Found(snapshot: w.snapshot, namespace: nil, thread: nil, posixObjects: w.posix)]
        Inspector.complete(&found, table: &table, probe: probe, options: options)
        var reading = Inspector.Reading(snapshot: w.snapshot, processes: table, scope: nil, now: Double(T),
                                        warnings: [], options: options, posixObjects: w.posix)
        reading.processNeeds = needs
        reading.lastPid = lastPid
        reading.clock = clock
        return CleanDecider(reading: reading, users: UserDirectory(), watchBirths: lastPid != nil)
    }

    /// The same object, read again after its owner, group or mode changed (or not).
    static func withNewPermissions(_ o: IPCObject, _ r: inout Rand) -> IPCObject {
        let uid: UInt32 = [0, 1000, 1003, 1005, 1007, 1009].randomElement(using: &r) ?? 0
        let gid: UInt32 = [0, 100, 1005, 2000, 4000].randomElement(using: &r) ?? 0
        let mode: UInt32 = [0o600, 0o660, 0o606, 0o640, o.perm.mode].randomElement(using: &r) ?? 0o600
        switch o {
        case .sem(var x): x.perm.uid = uid; x.perm.gid = gid; x.perm.mode = mode; return .sem(x)
        case .shm(var x): x.perm.uid = uid; x.perm.gid = gid; x.perm.mode = mode; return .shm(x)
        case .msg(var x): x.perm.uid = uid; x.perm.gid = gid; x.perm.mode = mode; return .msg(x)
        case .posix(var x): x.uid = uid; x.gid = gid; x.mode = mode; return .posix(x)
        }
    }

    /// A parent read only by its status (its user reaches no object) and completed later, because its child reaches
    /// one, keeps the start the table's boot instant gives, even when the clocks read later give another instant
    /// (on a live host two reads differ by microseconds; here the copy's `btime` moves by a second). Both started
    /// in the same tick: the parent is not younger than its child, so the child is not "re-parented" and does not
    /// become a possible holder of a set whose last operation was 2 s before it started (a flaky `suspect` once).
    func testProcessesCompletedLaterKeepTheTablesBootInstant() throws {
        let ticks = (Self.T - Self.boot) * 100
        func proc(_ pid: Int32, parent: Int32, uid: UInt32) -> Proc {
            Proc(pid: pid, ppid: parent, state: "S", uid: uid, euid: uid, gid: uid, groups: [], capEff: 0,
                 credentialsReadable: true, statReadable: true, namespaceInit: false, comm: "python3", startTicks: ticks,
                 cgroup: "0::/user.slice", namespace: Self.ownNamespace, maps: [])
        }
        var w = World()
        // 11 (uid 1000, reaches the set) is the child of 12 (uid 1005, reaches nothing), started in the same tick.
        w.processes = [proc(12, parent: 1, uid: 1005), proc(11, parent: 12, uid: 1000)]
        let perm = IPCPermissions(key: 0x1234, uid: 1000, gid: 1000, cuid: 1000, cgid: 1000, mode: 0o600)
        w.snapshot.semaphoreSets = [SemaphoreSet(id: 1, perm: perm, nsems: 1, otime: Self.T - 2, ctime: Self.T - 10,
                                                 semaphores: [Semaphore(value: 1, pid: 650, ncnt: 0, zcnt: 0)])]
        let root = try scratchDirectory()
        try w.write(to: root)
        let probe = ProcessProbe(procRoot: root, details: [], needs: ProcessNeeds(w.snapshot, posix: w.posix))
        var table = try probe.read()
        table.ownIPCNamespace = Self.ownNamespace
        XCTAssertEqual(table.byPid[12]?.files, [.status], "read by its status only: its user reaches no object")
        // Later reads of the clocks give another boot instant.
        try FileIO.writeAtomically(Array("cpu  1 2 3 4\nbtime \(Self.boot + 1)\n".utf8), to: "\(root)/stat")
        var found = [Inspector.Found(snapshot: w.snapshot, namespace: nil, thread: nil, posixObjects: w.posix)]
        Inspector.complete(&found, table: &table, probe: probe,
                           options: InspectionOptions(procRoot: root, kinds: Set(IPCKind.allCases)))
        XCTAssertTrue(table.byPid[12]?.files.contains(.stat) == true, "completed: the parent of a process that may reach the set")
        XCTAssertEqual(table.byPid[12]?.startTime, table.byPid[11]?.startTime)
        XCTAssertEqual(table.byPid[11]?.startTime, Double(Self.T))
        let result = Classifier(processes: table, scope: nil, inheritWindow: 5, granularity: 0.004).classify(w.objects)
        XCTAssertEqual(result.first?.verdict, .orphaned, "\(String(describing: result.first))")
    }

    /// `covers`: every process that may reach an object of a covered access may reach some object of the needs.
    func testCoveredAccessesNeedNoOtherProcess() {
        var r = Rand(state: 11)
        var covered = 0
        for _ in 0..<2000 {
            let w = World.random(&r)
            let needs = ProcessNeeds(w.snapshot, posix: w.posix)
            let other = World.random(&r).objects.map(\.access)
            for a in w.objects.map(\.access) { XCTAssertTrue(needs.covers(a), "\(a)") }
            for a in other where needs.covers(a) {
                covered += 1
                let one = ProcessNeeds(accesses: [a])
                for p in w.processes {
                    let record = ProcessRecord(pid: p.pid, ppid: p.ppid, state: p.state, uid: p.uid, euid: p.euid, gid: p.gid,
                                               groups: p.groups, capEff: p.capEff, credentialsKnown: p.credentialsReadable,
                                               comm: p.comm, startTime: 0)
                    if one.mayReach(record) { XCTAssertTrue(needs.mayReach(record), "\(a) \(p.uid) \(p.groups)") }
                }
            }
        }
        XCTAssertGreaterThan(covered, 100)
    }

    /// `mayReach` is exactly "some object's access gives the process a rule" (`PossibleHolderFinder.reachRule`
    /// without a scope), over random credentials and permissions.
    func testMayReachIsTheReachRuleOverEveryObject() {
        var r = Rand(state: 7)
        for _ in 0..<2000 {
            let w = World.random(&r)
            let accesses = w.objects.map(\.access)
            let needs = ProcessNeeds(accesses: accesses)
            for p in w.processes {
                let record = ProcessRecord(pid: p.pid, ppid: p.ppid, state: p.state, uid: p.uid, euid: p.euid, gid: p.gid,
                                           groups: p.groups, capEff: p.capEff, credentialsKnown: p.credentialsReadable,
                                           comm: p.comm, startTime: 0)
                let some = accesses.contains { PossibleHolderFinder.reachRule(record, $0, rootRule: $0.rootObject) != nil }
                XCTAssertEqual(needs.mayReach(record), some, "uid \(p.uid) euid \(p.euid) gid \(p.gid) groups \(p.groups) cred \(p.credentialsReadable) cap \(p.capEff) \(accesses)")
            }
        }
    }
}
