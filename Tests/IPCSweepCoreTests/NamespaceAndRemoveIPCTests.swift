import XCTest
@testable import IPCSweepCore

/// Pure parts of the namespace and RemoveIPC= features: namespace owners, logind.conf parsing and ordering, lock
/// names and journal lines (the RemoveIPC= analysis and boundary: `RemoveIPCAnalysisTests`).
final class NamespaceAndRemoveIPCTests: XCTestCase {
    func process(_ pid: Int32, cgroup: String?, start: Double = 100, ns: UInt64? = 4_026_532_300,
                 state: Character = "S", comm: String = "sh") -> ProcessRecord {
        ProcessRecord(pid: pid, ppid: 1, state: state, uid: 0, euid: 0, comm: comm, startTime: start, cgroup: cgroup,
                      ipcNamespace: ns)
    }

    func testOwnerOfANamespaceIsTheUnitOrPodOfItsOldestProcess() {
        let ns: UInt64 = 4_026_532_300
        func owner(_ cgroup: String?) -> String { IPCNamespaceInfo.owner(inode: ns, oldest: process(9, cgroup: cgroup)) }
        XCTAssertEqual(owner("/system.slice/docker-3f2a9c.scope"), "docker-3f2a9c.scope")
        XCTAssertEqual(owner("/machine.slice/libpod-77aa.scope/container"), "libpod-77aa.scope")
        XCTAssertEqual(owner("/system.slice/postgresql@15-main.service"), "postgresql@15-main.service")
        XCTAssertEqual(owner("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_5678.slice/cri-containerd-abcd.scope"),
                       "kubepods-besteffort-pod1234_5678.slice/cri-containerd-abcd.scope")
        XCTAssertEqual(owner("/kubepods/burstable/pod1234/abcdef"), "kubepods/burstable/pod1234/abcdef")
        XCTAssertEqual(owner("/lxc.payload.web"), "/lxc.payload.web")
        XCTAssertEqual(owner("/"), "pid 9 (sh)")
        XCTAssertEqual(owner(nil), "pid 9 (sh)")
        XCTAssertEqual(IPCNamespaceInfo.owner(inode: IPCNamespaceInfo.initialInode, oldest: process(1, cgroup: "/init.scope")), "host")
    }

    func testAllNamespacesInOnePassPickTheOldestLiveProcess() {
        let table = ProcessTable(processes: [
            process(10, cgroup: "/system.slice/docker-a.scope", start: 50, ns: 7, state: "Z"),  // zombie: not the owner
            process(11, cgroup: "/system.slice/docker-a.scope/child", start: 60, ns: 7),
            process(12, cgroup: "/other", start: 70, ns: 7),
            process(20, cgroup: "/machine.slice/libpod-b.scope", start: 10, ns: 8),
            process(21, cgroup: "/machine.slice/libpod-b.scope", start: 10, ns: 8),  // same start: the lower pid
            process(30, cgroup: "/x", start: 1, ns: nil),  // unreadable ns/ipc: no namespace of its own
        ])
        let all = IPCNamespaceInfo.all(in: table)
        XCTAssertEqual(all, [IPCNamespaceInfo(inode: 7, owner: "docker-a.scope", pid: 11),
                             IPCNamespaceInfo(inode: 8, owner: "libpod-b.scope", pid: 20)])
    }

    func testRemoveIPCIsTheLastValidAssignmentOfTheLoginSection() {
        XCTAssertNil(LogindConfig.removeIPC(in: "[Login]\n#RemoveIPC=no\n"))
        XCTAssertEqual(LogindConfig.removeIPC(in: "[Login]\nRemoveIPC=no\n").map { $0.value }, false)
        XCTAssertEqual(LogindConfig.removeIPC(in: "[Login]\n  RemoveIPC = No \r\n").map { $0.value }, false)
        let r = LogindConfig.removeIPC(in: "# c\n[Login]\nRemoveIPC=no\n; x\nRemoveIPC=maybe\nKillUserProcesses=no\nRemoveIPC=on\n")
        XCTAssertEqual(r?.value, true)
        XCTAssertEqual(r?.line, 7)
        XCTAssertEqual(LogindConfig.removeIPC(in: "[Login]\nRemoveIPC=maybe\n").map { $0.value }, nil, "invalid is ignored")
        XCTAssertNil(LogindConfig.removeIPC(in: "[Other]\nRemoveIPC=no\n"), "other sections do not count")
        for t in ["1", "yes", "y", "TRUE", "t", "on"] { XCTAssertEqual(LogindConfig.parseBoolean(t), true, t) }
        for f in ["0", "no", "N", "false", "f", "off"] { XCTAssertEqual(LogindConfig.parseBoolean(f), false, f) }
    }

    func testDropInsAreSortedByNameAndEtcHidesTheSameNameBelow() {
        let (mains, dirs) = LogindConfig.layout(root: "/r/")
        XCTAssertEqual(mains.first, "/r/etc/systemd/logind.conf")
        XCTAssertEqual(dirs, ["/r/etc/systemd/logind.conf.d", "/r/run/systemd/logind.conf.d",
                              "/r/usr/local/lib/systemd/logind.conf.d", "/r/usr/lib/systemd/logind.conf.d"])
        let tree: [String: [String]] = [
            "/r/etc/systemd/logind.conf.d": ["50-admin.conf", "README", "90-late.conf"],
            "/r/run/systemd/logind.conf.d": ["60-run.conf"],
            "/r/usr/lib/systemd/logind.conf.d": ["50-admin.conf", "10-vendor.conf"],
        ]
        let files = Set(["/r/usr/lib/systemd/logind.conf"] + tree.flatMap { d, names in names.map { d + "/" + $0 } })
        let order = LogindConfig.files(mains: mains, dropInDirs: dirs, list: { tree[$0] }, isFile: files.contains)
        XCTAssertEqual(order, ["/r/usr/lib/systemd/logind.conf",  // no /etc main file: the vendor one
                               "/r/usr/lib/systemd/logind.conf.d/10-vendor.conf",
                               "/r/etc/systemd/logind.conf.d/50-admin.conf",
                               "/r/run/systemd/logind.conf.d/60-run.conf",
                               "/r/etc/systemd/logind.conf.d/90-late.conf"])
    }

    func testLockPerNamespaceAndJournalLineNameTheNamespace() {
        XCTAssertEqual(CleanLock.candidatePaths(euid: 0, environment: [:], namespace: 4_026_532_281),
                       ["/run/ipcsweep-ipcns-4026532281.lock", "/var/lib/ipcsweep/clean-ipcns-4026532281.lock",
                        "/tmp/ipcsweep-0-ipcns-4026532281.lock"])
        var c = Classification(object: .sem(SemaphoreSet(id: 3, perm: IPCPermissions(key: 1, uid: 33, gid: 33, cuid: 33,
                                                                                       cgid: 33, mode: 0o600),
                                                           nsems: 1, otime: 0, ctime: 1, semaphores: [])),
                               verdict: .orphaned, reasons: ["no live process"])
        c.namespace = IPCNamespaceInfo(inode: 4_026_532_281, owner: "docker-3f2a.scope", pid: 4711)
        let m = CleanSyslog.message(CleanResult(classification: c, outcome: .removed, reason: "orphaned", planned: true),
                                    users: UserDirectory())
        XCTAssertTrue(m.hasPrefix("removed semaphore set in IPC namespace 4026532281 (docker-3f2a.scope) id 3 key 0x00000001"), m)
    }
}
