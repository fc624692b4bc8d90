import XCTest
@testable import IPCSweepCore

/// The facts the probe collects for the blind-spot and reach rules: /proc/PID/status credentials and the
/// procfs mount options and namespaces of the caller.
final class VisibilityProbeTests: XCTestCase {
    let status = """
        Name:\tphp-fpm
        Umask:\t0022
        State:\tS (sleeping)
        Tgid:\t880
        Ngid:\t0
        Pid:\t880
        PPid:\t1
        TracerPid:\t0
        Uid:\t33\t0\t33\t33
        Gid:\t33\t44\t33\t33
        FDSize:\t64
        Groups:\t4 24 5000 \nNStgid:\t880\t1
        NSpid:\t880\t1
        NSpgid:\t880\t1
        VmPeak:\t  10000 kB
        CapInh:\t0000000000000000
        CapPrm:\t0000000000008000
        CapEff:\t0000000000008000
        CapBnd:\t000001ffffffffff

        """

    func testStatusCredentials() throws {
        let s = try XCTUnwrap(ProcessProbe.parseStatus(Array(status.utf8)))
        XCTAssertEqual([s.uid, s.euid, s.gid, s.egid], [33, 0, 33, 44])
        XCTAssertEqual(s.groups, [4, 24, 5000])
        XCTAssertEqual(s.capEff, 1 << 15)
        XCTAssertEqual(s.tgid, 880)
        XCTAssertTrue(s.isNamespaceInit, "NSpid ends in 1: the init of a nested pid namespace")
        XCTAssertEqual(s.name, "php-fpm")
        XCTAssertEqual(s.state, "S")
        XCTAssertEqual(s.ppid, 1)
        let plain = try XCTUnwrap(ProcessProbe.parseStatus(Array("Tgid:\t9\nUid:\t1\t1\t1\t1\nGid:\t2\t2\t2\t2\nGroups:\t\nNSpid:\t9\n".utf8)))
        XCTAssertEqual(plain.groups, [])
        XCTAssertFalse(plain.isNamespaceInit)
        XCTAssertEqual(plain.capEff, 0)
        XCTAssertNil(ProcessProbe.parseStatus(Array("Name:\tx\n".utf8)))
    }

    func caller(uid: UInt32 = 1000, gid: UInt32 = 1000, groups: [UInt32] = [], cap: UInt64 = 0) -> ProcessProbe.StatusFields {
        ProcessProbe.StatusFields(uid: uid, euid: uid, gid: gid, egid: gid, groups: groups, capEff: cap, tgid: 1,
                                  isNamespaceInit: false)
    }

    func mountinfo(_ superOptions: String, at point: String = "/proc") -> String {
        "22 1 0:5 / /sys rw - sysfs sysfs rw\n27 1 0:21 / \(point) rw,nosuid,nodev,noexec,relatime shared:12 - proc proc \(superOptions)\n"
    }

    /// The procfs rules; the pid-namespace rule is tested on its own below.
    func spots(_ info: String, _ me: ProcessProbe.StatusFields?) -> [BlindSpot] {
        VisibilityProbe.procfsBlindSpots(mountinfo: info, procMountPoint: "/proc", caller: me)
    }

    func pidSpots(ipc: UInt64?, pid: UInt64?, procfs: UInt64? = 4_026_532_500, visible: Bool = false,
                  stated: Bool = false) -> [BlindSpot] {
        VisibilityProbe.pidNamespaceBlindSpots(ipcNamespace: ipc, pidNamespace: pid, procfsInitPidNamespace: procfs,
                                               allProcessesVisible: stated, hasVisibleProcess: visible)
    }

    func testHidepidHidesFromNonExemptCallers() {
        for v in ["1", "2", "4", "noaccess", "invisible", "ptraceable"] {
            XCTAssertEqual(spots(mountinfo("rw,hidepid=\(v)"), caller()), [.hidepid(mountPoint: "/proc", value: v, gid: nil)], v)
        }
        XCTAssertEqual(spots(mountinfo("rw,hidepid=0"), caller()), [])
        XCTAssertEqual(spots(mountinfo("rw,hidepid=off"), caller()), [])
        XCTAssertEqual(spots(mountinfo("rw"), caller()), [])
        // Exempt: CAP_SYS_PTRACE (root), or a member of the gid= group (primary or supplementary).
        XCTAssertEqual(spots(mountinfo("rw,hidepid=invisible"), caller(uid: 0, cap: 0x1ff_ffff_ffff)), [])
        XCTAssertEqual(spots(mountinfo("rw,hidepid=2,gid=30"), caller(gid: 30)), [])
        XCTAssertEqual(spots(mountinfo("rw,hidepid=2,gid=30"), caller(groups: [30])), [])
        XCTAssertEqual(spots(mountinfo("rw,hidepid=2,gid=30"), caller()), [.hidepid(mountPoint: "/proc", value: "2", gid: 30)])
        // The caller's status unreadable: not exempt.
        XCTAssertEqual(spots(mountinfo("rw,hidepid=2"), nil).count, 1)
        // The topmost proc mount on the path counts; other mount points do not.
        let stacked = mountinfo("rw,hidepid=2") + "40 27 0:50 / /proc rw - proc proc rw\n"
        XCTAssertEqual(spots(stacked, caller()), [])
        XCTAssertEqual(spots(mountinfo("rw,hidepid=2", at: "/mnt/proc"), caller()), [])
    }

    func testSubsetPidIsABlindSpotUnlessExempt() {
        XCTAssertEqual(spots(mountinfo("rw,subset=pid"), caller()), [.subsetPid(mountPoint: "/proc")])
        XCTAssertEqual(spots(mountinfo("rw,subset=pid"), caller(cap: 1 << 19)), [])
    }

    func testHostIPCNamespaceWithAChildPidNamespace() {
        let host: UInt64 = 4_026_531_839, child: UInt64 = 4_026_532_500
        XCTAssertEqual(pidSpots(ipc: host, pid: child), [.hostIPCInChildPidNamespace(pidNamespace: child)])
        // The host's IPC namespace always has processes in the initial pid namespace: the statement cannot lift it.
        XCTAssertEqual(pidSpots(ipc: host, pid: child, visible: true, stated: true), [.hostIPCInChildPidNamespace(pidNamespace: child)])
        XCTAssertEqual(pidSpots(ipc: host, pid: 4_026_531_836, procfs: 4_026_531_836), [], "host IPC and host pids: a full view")
        // A child pid namespace that still reads the host's procfs (pid 1 there is the host's init) sees everyone.
        XCTAssertEqual(pidSpots(ipc: host, pid: child, procfs: 4_026_531_836), [])
    }

    /// A Kubernetes pod: containers share one (non-initial) IPC namespace and /dev/shm, each in its own pid
    /// namespace. From any child pid namespace the processes of the others are invisible, whatever the IPC namespace.
    func testAnyChildPidNamespaceIsBlindUnlessTheAdministratorStatesOtherwise() {
        let pod: UInt64 = 4_026_532_400, child: UInt64 = 4_026_532_500
        XCTAssertEqual(pidSpots(ipc: pod, pid: child, visible: true), [.childPidNamespace(pidNamespace: child, ipcNamespace: pod)])
        XCTAssertEqual(pidSpots(ipc: pod, pid: child, visible: true, stated: true), [], "--all-processes-visible")
        // Stated, but no process of the namespace inspected is visible at all (a bind-mounted namespace file).
        XCTAssertEqual(pidSpots(ipc: pod, pid: child, visible: false, stated: true),
                       [.namespaceWithoutVisibleProcess(ipcNamespace: pod, pidNamespace: child)])
        // The tool's own IPC namespace unreadable: not known to be private, so the statement cannot lift it.
        XCTAssertEqual(pidSpots(ipc: nil, pid: child, visible: true, stated: true), [.childPidNamespace(pidNamespace: child, ipcNamespace: nil)])
        // From the initial pid namespace (the host, --namespace): every process is visible.
        XCTAssertEqual(pidSpots(ipc: pod, pid: 4_026_531_836, procfs: 4_026_531_836), [])
        XCTAssertEqual(pidSpots(ipc: pod, pid: child, procfs: 4_026_531_836), [], "a procfs of the initial pid namespace")
    }

    func testMountPointEscapes() {
        XCTAssertEqual(VisibilityProbe.procMountOptions(mountinfo: mountinfo("rw,hidepid=2", at: "/mnt/my\\040proc"), mountPoint: "/mnt/my proc"),
                       "rw,hidepid=2")
    }
}
