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

    func spots(_ info: String, _ me: ProcessProbe.StatusFields?, ipc: UInt64 = 4_026_532_100, pid: UInt64 = 4_026_532_101) -> [BlindSpot] {
        VisibilityProbe.blindSpots(mountinfo: info, procMountPoint: "/proc", caller: me, ipcNamespace: ipc, pidNamespace: pid)
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
        let info = mountinfo("rw")
        XCTAssertEqual(spots(info, caller(), ipc: 4_026_531_839, pid: 4_026_532_500), [.hostIPCInChildPidNamespace(pidNamespace: 4_026_532_500)])
        XCTAssertEqual(spots(info, caller(), ipc: 4_026_531_839, pid: 4_026_531_836), [], "host IPC and host pids: a full view")
        XCTAssertEqual(spots(info, caller(), ipc: 4_026_532_400, pid: 4_026_532_500), [], "a private IPC namespace")
        // A child pid namespace that still reads the host's procfs (pid 1 there is the host's init) sees everyone.
        XCTAssertEqual(VisibilityProbe.blindSpots(mountinfo: info, procMountPoint: "/proc", caller: caller(),
                                                  ipcNamespace: 4_026_531_839, pidNamespace: 4_026_532_500,
                                                  procfsInitPidNamespace: 4_026_531_836), [])
        XCTAssertEqual(VisibilityProbe.blindSpots(mountinfo: info, procMountPoint: "/proc", caller: caller(),
                                                  ipcNamespace: 4_026_531_839, pidNamespace: 4_026_532_500,
                                                  procfsInitPidNamespace: 4_026_532_500).count, 1)
    }

    func testMountPointEscapes() {
        XCTAssertEqual(VisibilityProbe.unescape("/mnt/my\\040proc"), "/mnt/my proc")
        XCTAssertEqual(VisibilityProbe.procMountOptions(mountinfo: mountinfo("rw,hidepid=2", at: "/mnt/my\\040proc"), mountPoint: "/mnt/my proc"),
                       "rw,hidepid=2")
    }
}
