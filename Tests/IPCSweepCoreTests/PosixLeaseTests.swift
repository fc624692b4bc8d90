import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// Write leases on POSIX objects (issue 17): what the scanner asks and the classifier makes of the answer, and
/// clean's removal under a held lease — every error path against the fake kernel (EAGAIN, EINVAL, EACCES, a
/// failed open, a lease broken between the re-check and the removal, a name that cannot be put back).
final class PosixLeaseTests: XCTestCase {
    typealias F = CleanFixtures

    func scan(_ k: FakeKernel) -> PosixScanResult {
        var scanner = PosixIPCScanner(shmRoot: "/dev/shm", mqueueRoot: "/dev/mqueue", mountInfoPath: "/nonexistent")
        scanner.kernel = k
        return scanner.scanRoot("/dev/shm", kind: .posixShm, mounts: [PosixMount(mountPoint: "/dev/shm", fsType: "tmpfs", device: k.device)])
    }

    func lease(_ r: PosixScanResult, _ name: String) -> PosixLease? { r.objects.first { $0.name == name }?.lease }

    // MARK: the scanner's probe

    func testTheScannerAsksEachObjectItMayLeaseAndLetsGoAtOnce() {
        let k = FakeKernel()
        k.add("/dev/shm/free")
        k.add("/dev/shm/held")
        k.add("/dev/shm/theirs")
        k.files["/dev/shm/theirs"]?.uid = 2000
        k.heldElsewhere = ["/dev/shm/held"]
        k.leaseCaller = LeaseCaller(euid: 1000, capLease: false)
        let r = scan(k)
        XCTAssertEqual(lease(r, "free"), .granted)
        XCTAssertEqual(lease(r, "held"), .refused, "EAGAIN: open elsewhere")
        XCTAssertEqual(lease(r, "theirs"), .unavailable(.notPermitted), "not its owner, no CAP_LEASE: not even opened")
        XCTAssertFalse(k.calls.contains { $0.contains("theirs") })
        XCTAssertEqual(k.calls, ["lease /dev/shm/free", "unlease /dev/shm/free"], "released before the next object")
        XCTAssertEqual(k.open.count, 0, "no descriptor of the tool stays open: it is never a holder itself")
        XCTAssertEqual(r.warnings, [], "a lease refused or not permitted is no warning")
    }

    /// `list --name 'torch_*' --type posix-shm --user 1000` on a /dev/shm of many files: only the entries whose
    /// name and kind can pass are read (stat, ACL), and only those whose owner passes too are leased; every
    /// other entry costs its directory listing and nothing more. The objects read are exactly those the whole
    /// filter keeps.
    func testTheScannerReadsOnlyTheEntriesItsSelectionAdmits() {
        let k = FakeKernel()
        for name in ["torch_1", "torch_2", "torch_theirs", "PostgreSQL.1", "sem.torch_s", "other"] { k.add("/dev/shm/" + name) }
        k.files["/dev/shm/torch_theirs"]?.uid = 2000
        k.leaseCaller = LeaseCaller(euid: 0, capLease: true)
        var scanner = PosixIPCScanner(shmRoot: "/dev/shm", mqueueRoot: "/dev/mqueue", mountInfoPath: "/nonexistent")
        scanner.kernel = k
        let filter = ObjectFilter(kinds: [.posixShm], uids: [1000], names: ["torch_*"])
        scanner.selection = filter
        let r = scanner.scanRoot("/dev/shm", kind: .posixShm, mounts: [PosixMount(mountPoint: "/dev/shm", fsType: "tmpfs", device: k.device)])
        XCTAssertEqual(r.objects.map(\.name), ["torch_1", "torch_2"])
        XCTAssertEqual(r.objects.map(\.lease), [.granted, .granted])
        for name in ["PostgreSQL.1", "sem.torch_s", "other"] {
            XCTAssertFalse(k.named.contains { $0.hasSuffix("/" + name) }, "\(name) is not read at all: \(k.named)")
        }
        XCTAssertTrue(k.named.contains("fstatat /dev/shm/torch_theirs"), "its owner is known only from its stat")
        XCTAssertEqual(k.named.filter { $0.contains("xattr /dev/shm/torch_1") }, ["fgetxattr /dev/shm/torch_1"],
                       "the ACL of a leased object is read through the lease's descriptor, not by its path again")
        XCTAssertFalse(k.calls.contains { $0.contains("torch_theirs") }, "and it is not leased: \(k.calls)")
        // The same scan without a selection, then the whole filter: the same objects.
        scanner.selection = nil
        let whole = scanner.scanRoot("/dev/shm", kind: .posixShm, mounts: [PosixMount(mountPoint: "/dev/shm", fsType: "tmpfs", device: k.device)])
        XCTAssertEqual(whole.objects.count, 6)
        XCTAssertEqual(whole.objects.filter { filter.matches(.posix($0), now: 0) }, r.objects)
    }

    func testCapLeaseLeasesEveryonesObjects() {
        let k = FakeKernel()
        k.add("/dev/shm/theirs")
        k.files["/dev/shm/theirs"]?.uid = 2000
        k.leaseCaller = LeaseCaller(euid: 0, capLease: true)
        XCTAssertEqual(lease(scan(k), "theirs"), .granted)
    }

    /// fs.leases-enable=0 (EINVAL) and failed calls: the /proc rules alone, said once per root.
    func testLeasesUnavailableAreSaidOnce() {
        let k = FakeKernel()
        for n in ["a", "b", "c", "d"] { k.add("/dev/shm/" + n) }
        k.fail["F_SETLEASE /dev/shm/a"] = .invalidArgument
        k.fail["F_SETLEASE /dev/shm/b"] = .invalidArgument
        k.fail["openat /dev/shm/c"] = .permissionDenied
        k.fail["F_SETLEASE /dev/shm/d"] = .ioError
        let r = scan(k)
        XCTAssertEqual(lease(r, "a"), .unavailable(.disabled))
        XCTAssertEqual(lease(r, "c"), .unavailable(.failed("open: Permission denied")))
        XCTAssertEqual(lease(r, "d"), .unavailable(.failed("F_SETLEASE: Input/output error")))
        XCTAssertEqual(r.warnings.count, 2, "\(r.warnings)")
        XCTAssertTrue(r.warnings[0].hasPrefix("write leases are not available on /dev/shm") && r.warnings[0].contains("2 objects were judged"), r.warnings[0])
        XCTAssertTrue(r.warnings[1].contains("/dev/shm/c (open: Permission denied)") && r.warnings[1].contains("/dev/shm/d"), r.warnings[1])
        XCTAssertEqual(k.open.count, 0)
    }

    func testAnEACCESFromTheKernelIsNotPermitted() {
        let k = FakeKernel()
        k.add("/dev/shm/a")
        k.fail["F_SETLEASE /dev/shm/a"] = .permissionDenied
        XCTAssertEqual(lease(scan(k), "a"), .unavailable(.notPermitted))
    }

    // MARK: the classifier

    let shmDev = DeviceInode(major: 0, minor: 23, inode: 0).device

    func object(_ lease: PosixLease?, uid: UInt32 = 1000) -> PosixIPCObject {
        var o = PosixIPCObject(path: "/dev/shm/torch_1", kind: .posixShm, uid: uid, gid: uid, mode: 0o600, size: 4096,
                               identity: DeviceInode(device: shmDev, inode: 7), mtime: 1_800_000_000)
        o.lease = lease
        return o
    }

    func classify(_ o: PosixIPCObject, _ procs: [ProcessRecord], blind: [BlindSpot] = []) -> Classification {
        var c = [Classifier(processes: ProcessTable(processes: procs, ownPid: 999, blindSpots: blind), scope: nil,
                            granularity: 0.004).classify(.posix(o))]
        EvidenceText(users: UserDirectory()).fillReasons(&c)
        return c[0]
    }

    /// pid 1 (root, unreadable descriptors, as this machine's) and a root service, both old.
    let unreadableRoot = [
        ProcessRecord(pid: 1, ppid: 0, state: "S", uid: 0, euid: 0, comm: "init", startTime: 0, handlesUnreadable: "EACCES"),
        ProcessRecord(pid: 40, ppid: 1, state: "S", uid: 2000, euid: 2000, comm: "other", startTime: 0, handlesUnreadable: "EACCES"),
    ]

    func testRefusedIsInUseEvenWithoutANamedHolder() {
        let c = classify(object(.refused), [])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertEqual(c.evidence.first, .openElsewhere)
        XCTAssertTrue(c.reasons[0].hasPrefix("held by a process this tool cannot see"), c.reasons[0])
        XCTAssertEqual(c.evidence.first?.kind, "open-elsewhere")
    }

    func testRefusedWithAVisibleHolderNamesTheHolderOnly() {
        let holder = ProcessRecord(pid: 50, ppid: 1, state: "S", uid: 1000, euid: 1000, comm: "python3", startTime: 0,
                                   posixHandles: [PosixHandle(object: DeviceInode(device: shmDev, inode: 7), fd: 4)])
        let c = classify(object(.refused), [holder])
        XCTAssertEqual(c.verdict, .inUse)
        XCTAssertFalse(c.evidence.contains(.openElsewhere))
        XCTAssertEqual(c.holders.map(\.pid), [50])
    }

    /// Unreadable processes no longer make it unknown once a lease was granted; without one they still do.
    func testGrantedMakesUnreadableDescriptorsIrrelevant() {
        let granted = classify(object(.granted), unreadableRoot)
        XCTAssertEqual(granted.verdict, .orphaned, "\(granted.reasons)")
        XCTAssertTrue(granted.evidence.contains(.leaseGranted))
        XCTAssertFalse(granted.evidence.contains { if case .handlesUnreadable = $0 { return true } else { return false } })
        for without in [nil, PosixLease.unavailable(.notPermitted), .unavailable(.disabled)] {
            let c = classify(object(without), unreadableRoot)
            XCTAssertEqual(c.verdict, .unknown, "\(String(describing: without)): \(c.reasons)")
            XCTAssertTrue(c.reasons.contains { $0.contains("pid 1 (init)") && $0.contains("could not be read") }, "\(c.reasons)")
        }
    }

    /// The possible-holder rule still applies, and invisible processes stay a blind spot for it.
    func testGrantedKeepsThePossibleHolderRuleAndItsBlindSpots() {
        let sameUser = ProcessRecord(pid: 60, ppid: 1, state: "S", uid: 1000, euid: 1000, comm: "python3", startTime: 0)
        XCTAssertEqual(classify(object(.granted), [sameUser]).verdict, .suspect)
        let blind = classify(object(.granted), [], blind: [.childPidNamespace(pidNamespace: 4026532000, ipcNamespace: 4026532001)])
        XCTAssertEqual(blind.verdict, .unknown)
        XCTAssertEqual(classify(object(.refused), [], blind: [.hidepid(mountPoint: "/proc", value: "2", gid: nil)]).verdict, .inUse,
                       "a refused lease decides even where processes are hidden")
    }

    // MARK: clean under the lease

    func pipeline(_ k: FakeKernel, _ policy: CleanPolicy = CleanPolicy()) -> CleanPipeline {
        CleanPipeline(policy: policy, kernel: k)
    }

    func planned(_ k: FakeKernel, _ path: String) throws -> IPCObject { .posix(try XCTUnwrap(k.posixObject(path), path)) }

    /// The fresh read's verdict by the real classifier (no process visible): the lease decides.
    var byLease: CleanDecision {
        CleanDecision { o in Classifier(processes: ProcessTable(processes: []), scope: nil).classify(o) }
    }

    func hidden(_ k: FakeKernel, _ o: IPCObject) -> String { "/dev/shm/.ipcsweep-removing.\(k.pid).\(o.posix?.identity.inode ?? 0)" }

    func testOpenedAtTheFreshReadIsInUseAndKept() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x")
        let o = try planned(k, "/dev/shm/x")
        k.heldElsewhere = ["/dev/shm/x"]
        let run = pipeline(k).run([o], decision: byLease)
        XCTAssertEqual(run.results[0].status, .notEligible)
        XCTAssertEqual(run.results[0].classification.verdict, .inUse)
        XCTAssertNotNil(k.files["/dev/shm/x"])
    }

    /// A process opens it after the re-check: the lease breaks, the name comes back, nothing is removed.
    func testABreakBeforeTheUnlinkRestoresTheName() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x", bytes: [1, 2, 3])
        let o = try planned(k, "/dev/shm/x")
        let openBefore = k.open.count
        k.onGetLease = { k, path in if path.contains(".ipcsweep-removing.") { k.openElsewhere(path) } }
        let run = pipeline(k).run([o], decision: byLease)
        let r = run.results[0]
        XCTAssertEqual(r.status, .openedDuringRemoval, r.reason)
        XCTAssertTrue(r.reason.hasPrefix("opened during removal, restored: a process opened it while it was being removed: its name was restored"), r.reason)
        XCTAssertEqual(k.files["/dev/shm/x"]?.bytes, [1, 2, 3], "back under its name")
        XCTAssertNil(k.files[hidden(k, o)])
        XCTAssertFalse(k.calls.contains { $0.hasPrefix("unlinkat") })
        XCTAssertEqual(run.exitStatus, 4)
        XCTAssertEqual(run.counts.openedDuringRemoval, 1)
        XCTAssertEqual(run.summary, "removed 0; skipped 1 (1 opened during removal)")
        XCTAssertEqual(k.open.count, openBefore, "the leased descriptor and the directory are closed")
    }

    /// The name cannot be put back (a new file took it meanwhile): the object is kept under its hidden name,
    /// and the failure says where.
    func testANameThatCannotBePutBackIsReportedWithWhereTheFileIs() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x")
        let o = try planned(k, "/dev/shm/x")
        k.onGetLease = { k, path in
            k.openElsewhere(path)
            k.fail["renameat2 /dev/shm/x"] = .fileExists
        }
        let r = pipeline(k).run([o], decision: byLease).results[0]
        XCTAssertEqual(r.status, .failed, r.reason)
        XCTAssertTrue(r.reason.contains("its name could not be restored; it is kept as \(hidden(k, o))"), r.reason)
        XCTAssertNotNil(k.files[hidden(k, o)])
    }

    /// A break read back only after the unlink: removed, and the result says the opener keeps it unnamed.
    func testABreakAfterTheUnlinkIsSaid() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x")
        let o = try planned(k, "/dev/shm/x")
        var reads = 0
        k.onGetLease = { k, path in
            reads += 1
            if reads == 2 { k.openElsewhere(path) }
        }
        let r = pipeline(k).run([o], decision: byLease).results[0]
        XCTAssertEqual(r.status, .removed, r.reason)
        XCTAssertTrue(r.reason.contains("that process keeps it, unnamed"), r.reason)
    }

    /// F_GETLEASE failing counts as broken (fail closed).
    func testALeaseThatCannotBeReadBackIsTakenAsBroken() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x")
        let o = try planned(k, "/dev/shm/x")
        k.fail["F_GETLEASE \(hidden(k, o))"] = .badFileDescriptor
        XCTAssertEqual(pipeline(k).run([o], decision: byLease).results[0].status, .openedDuringRemoval)
        XCTAssertNotNil(k.files["/dev/shm/x"])
    }

    func testRenameErrors() throws {
        // EPERM (sticky directory, not the owner): the permission words of the removal.
        let k = FakeKernel()
        k.add("/dev/shm/x")
        var o = try planned(k, "/dev/shm/x")
        k.fail["renameat2 /dev/shm/x"] = .notPermitted
        var r = pipeline(k).run([o], decision: byLease).results[0]
        XCTAssertEqual(r.status, .failed)
        XCTAssertTrue(r.reason.hasPrefix("not allowed to remove POSIX shared memory object /dev/shm/x"), r.reason)
        // EINVAL (no renameat2 flags): unlinked in place, the lease read back just before.
        k.fail["renameat2 /dev/shm/x"] = .invalidArgument
        r = pipeline(k).run([o], decision: byLease).results[0]
        XCTAssertEqual(r.status, .removed, r.reason)
        XCTAssertTrue(k.calls.contains("unlinkat /dev/shm/x"))
        // The hidden name's unlink fails: the name is put back.
        k.add("/dev/shm/y")
        o = try planned(k, "/dev/shm/y")
        k.fail["unlinkat \(hidden(k, o))"] = .ioError
        r = pipeline(k).run([o], decision: byLease).results[0]
        XCTAssertEqual(r.status, .failed, r.reason)
        XCTAssertNotNil(k.files["/dev/shm/y"], "renamed back")
    }

    /// Changed between the fresh read and the removal, seen through the leased descriptor: nothing is removed.
    func testTheRecheckUnderTheLeaseComparesTheHeldFile() throws {
        let k = FakeKernel()
        k.add("/dev/shm/x", bytes: [1])
        let o = try planned(k, "/dev/shm/x")
        let openBefore = k.open.count
        guard case .read(let c) = PosixBackend(kernel: k).readFresh(o) else { return XCTFail("not read") }
        XCTAssertEqual(c.fresh.posix?.lease, .granted)
        k.files["/dev/shm/x"]?.bytes = [1, 2]
        guard case .changed(let d) = c.remove() else { return XCTFail("removed") }
        XCTAssertEqual(d, ["size 1 -> 2"])
        c.release()
        XCTAssertNotNil(k.files["/dev/shm/x"])
        XCTAssertEqual(k.open.count, openBefore)
    }

    /// A queue is drained through the leased descriptor (the tool's own second open would break the lease); a
    /// break before its unlink leaves it in place with its messages put back.
    func testAQueueIsDrainedUnderTheLeaseAndKeptWhenOpened() throws {
        let k = FakeKernel()
        var f = FakeKernel.File(kind: .queue, inode: 0)
        let msgs = [QueuedMessage(type: 3, bytes: Array("job".utf8))]
        f.queued = msgs
        k.add("/dev/mqueue/q", f)
        let o = try planned(k, "/dev/mqueue/q")
        k.onGetLease = { k, path in k.openElsewhere(path) }
        let r = pipeline(k, CleanPolicy(saveTo: "/save")).run([o], decision: byLease).results[0]
        XCTAssertEqual(r.status, .openedDuringRemoval, r.reason)
        XCTAssertTrue(r.reason.contains("it was left in place; its 1 message was put back"), r.reason)
        XCTAssertEqual(k.files["/dev/mqueue/q"]?.queued, msgs)
        let leased = try XCTUnwrap(k.calls.firstIndex(of: "lease /dev/mqueue/q"))
        let received = try XCTUnwrap(k.calls.firstIndex(of: "mq_receive /dev/mqueue/q"))
        XCTAssertLessThan(leased, received, "drained only under the lease")
        XCTAssertTrue(k.calls[leased..<received].allSatisfy { !$0.hasPrefix("unlease") })
        // Not opened: drained under the lease, then unlinked.
        k.onGetLease = nil
        k.heldElsewhere = []
        let o2 = try planned(k, "/dev/mqueue/q")
        XCTAssertEqual(pipeline(k, CleanPolicy(saveTo: "/save")).run([o2], decision: byLease).results[0].status, .removed)
        XCTAssertNil(k.files["/dev/mqueue/q"])
    }
}
