import Foundation
import XCTest

@testable import IPCSweepCore

/// The pure parts of the audit: leak groups, limit usage and headroom, insecure findings, state diff, filters.
final class AuditAnalysisTests: XCTestCase {
    typealias S = AuditSample

    func set(_ id: Int32, uid: UInt32 = 33, nsems: Int = 1, otime: Int64 = 0, ctime: Int64) -> IPCObject {
        .sem(SemaphoreSet(id: id, perm: S.perm(uid: uid), nsems: nsems, otime: otime, ctime: ctime))
    }

    // MARK: leaks

    func testLeakGroupsJoinSameOwnerBySecondOfCreation() {
        // Crash 1: created at 100, one set touched at the crash (500). Crash 2: created at 1000, both touched at 2000.
        // Another owner at 100 is another leak.
        let objects = [
            set(1, ctime: 100), set(2, otime: 500, ctime: 100),
            set(3, otime: 2000, ctime: 1000), set(4, otime: 2000, ctime: 1000),
            set(5, uid: 34, ctime: 100),
        ]
        let groups = LimitAnalysis.leakGroups(objects, pageSize: 4096)
        XCTAssertEqual(groups.map { $0.objects.map(\.id) }, [[1, 2], [3, 4], [5]])
        XCTAssertEqual(groups.map(\.units), [2, 2, 1])
        XCTAssertEqual(groups.first?.lastActivity, 500)
    }

    func testAQuickRestartDoesNotChainGenerationsIntoOneLeak() {
        // Generation A (created at 100) crashed at 200; systemd restarted it within that second, so generation B was
        // created at 200, and crashed at 300; C was created at 300. A's touched set and B's untouched one share the
        // second 200 as last activity: they must still be separate leaks.
        let objects = [
            set(1, otime: 200, ctime: 100), set(2, ctime: 100),
            set(3, otime: 300, ctime: 200), set(4, ctime: 200),
            set(5, otime: 400, ctime: 300), set(6, ctime: 300),
        ]
        XCTAssertEqual(LimitAnalysis.leakGroups(objects, pageSize: 4096).map { $0.objects.map(\.id) },
                       [[1, 2], [3, 4], [5, 6]])
    }

    func testTypicalLeakSizeIsTheMostFrequentAndTheLargerOnATie() {
        XCTAssertEqual(LimitAnalysis.typical([2, 2, 1, 3]), 2)
        XCTAssertEqual(LimitAnalysis.typical([1, 3]), 3)
        XCTAssertNil(LimitAnalysis.typical([]))
    }

    func testSharedMemoryCountsWholePages() {
        XCTAssertEqual(LimitAnalysis.pages(1, pageSize: 4096), 1)
        XCTAssertEqual(LimitAnalysis.pages(4096, pageSize: 4096), 1)
        XCTAssertEqual(LimitAnalysis.pages(4097, pageSize: 4096), 2)
        XCTAssertEqual(LimitAnalysis.pages(0, pageSize: 4096), 0)
    }

    // MARK: limits

    func limits(semmni: Int64, semmns: Int64 = 32000) -> KernelLimits {
        KernelLimits(semmsl: 250, semmns: semmns, semopm: 32, semmni: semmni, shmmax: -16_777_217, shmmni: 4096,
                     shmall: -16_777_217, msgmax: 8192, msgmnb: 16384, msgmni: 32000)
    }

    func usage(_ sets: Int, leakSize: Int, semmni: Int64, thresholds: AuditThresholds = AuditThresholds()) -> LimitUsage? {
        let objects = (0..<sets).map { i in set(Int32(i), uid: 5000 + UInt32(i / leakSize), ctime: 100) }
        let snap = IPCSnapshot(semaphoreSets: objects.compactMap { if case .sem(let s) = $0 { return s } else { return nil } },
                               source: "proc")
        let leaks = LimitAnalysis.leakGroups(objects, pageSize: 4096)
        return LimitAnalysis.usage(limits: limits(semmni: semmni), snapshot: snap, kinds: [.sem], pageSize: 4096,
                                   leaks: leaks, thresholds: thresholds).first { $0.name == "SEMMNI" }
    }

    func testHeadroomSaysHowManyMoreLeaksFit() throws {
        let u = try XCTUnwrap(usage(31994, leakSize: 2, semmni: 32000))
        XCTAssertEqual(u.level, .critical)
        XCTAssertEqual(u.leaksRemaining, 3)
        XCTAssertEqual(u.headroom, "SEMMNI: 31,994 of 32,000 sets used (99.98 %); the orphans here grow by 2 sets per leak (15,997 leaks seen): room for 3 more leaks of this size, then semget() fails with ENOSPC (Apache: AH00023)")
    }

    func testHeadroomWhenTheNextLeakDoesNotFitOrTheLimitIsReached() throws {
        let tight = try XCTUnwrap(usage(9, leakSize: 3, semmni: 10))
        XCTAssertTrue(tight.headroom.hasSuffix("the next leak of this size does not fit: semget() fails with ENOSPC (Apache: AH00023)"), tight.headroom)
        let full = try XCTUnwrap(usage(10, leakSize: 2, semmni: 10))
        XCTAssertEqual(full.headroom, "SEMMNI: 10 of 10 sets used (100.0 %); the limit is reached: semget() fails with ENOSPC (Apache: AH00023) now")
    }

    func testThresholdsDecideTheLevel() throws {
        XCTAssertEqual(try XCTUnwrap(usage(7, leakSize: 1, semmni: 10)).level, .ok)
        XCTAssertEqual(try XCTUnwrap(usage(8, leakSize: 1, semmni: 10)).level, .warning)
        XCTAssertEqual(try XCTUnwrap(usage(95, leakSize: 1, semmni: 100)).level, .critical)
        let custom = AuditThresholds(warning: 0.5, critical: 0.6)
        XCTAssertEqual(try XCTUnwrap(usage(6, leakSize: 1, semmni: 10, thresholds: custom)).level, .critical)
    }

    func testUnlimitedAndWrappedLimitsAreNeverAtRisk() {
        let snap = IPCSnapshot(segments: [S.segment], source: "proc")
        let all = LimitAnalysis.usage(limits: limits(semmni: 10), snapshot: snap, kinds: [.shm], pageSize: 4096, leaks: [],
                                      thresholds: AuditThresholds())
        let shmall = all.first { $0.name == "SHMALL" }
        XCTAssertEqual(shmall?.limit, Int64.max, "IPC_INFO's wrapped ULONG_MAX - 2^24 reads as unlimited")
        XCTAssertEqual(shmall?.unlimited, true)
        XCTAssertEqual(shmall?.level, .ok)
        XCTAssertEqual(shmall?.used, 16)
        XCTAssertEqual(all.map(\.name), ["SHMMNI", "SHMALL", "SHMMAX"], "only the kinds audited")
    }

    func testGrowthGivesDaysToTheLimit() throws {
        let report = S.report(previous: AuditState(writtenAt: Int64(S.now) - 86400, orphans: [],
                                                   limitUsage: ["SEMMNI": 2]))
        let semmni = try XCTUnwrap(report.limits.first { $0.name == "SEMMNI" })
        XCTAssertEqual(semmni.growthPerDay, 2)
        XCTAssertEqual(semmni.daysToLimit, 0.5)
        XCTAssertTrue(semmni.headroom.hasSuffix("at the rate since the last audit (+2.0 sets a day) the limit is reached in less than a day"), semmni.headroom)
    }

    // MARK: insecure

    func testSysVModeBitsNameWhoAndWhat() throws {
        let sem = IPCObject.sem(SemaphoreSet(id: 9, perm: S.perm(uid: 33, mode: 0o620), nsems: 1, otime: 0, ctime: 1))
        let f = try XCTUnwrap(InsecureAnalysis.sysvAccess(sem, names: S.names))
        XCTAssertEqual(f.grantees.map(\.source), [.group])
        XCTAssertEqual(f.risk, "members of group www-data (gid 33) (-w-) can change its values with semop() or SETVAL, taking the lock forever or releasing it under its holder")
        let queue = IPCObject.msg(MessageQueue(id: 1, perm: S.perm(uid: 0, mode: 0o604), cbytes: 0, qnum: 0, lspid: 0,
                                               lrpid: 0, stime: 0, rtime: 0, ctime: 1))
        XCTAssertEqual(try XCTUnwrap(InsecureAnalysis.sysvAccess(queue, names: S.names)).risk,
                       "any local user (r--) can receive (drain) its messages")
        let exec = IPCObject.shm(SharedMemorySegment(id: 1, perm: S.perm(uid: 0, mode: 0o711), size: 1, cpid: 0, lpid: 0,
                                                     nattch: 0, atime: 0, dtime: 0, ctime: 1))
        XCTAssertNil(InsecureAnalysis.sysvAccess(exec, names: S.names), "x bits mean nothing for IPC")
    }

    func testACLMaskLimitsNamedEntries() {
        // setfacl -m u:nobody:rw then chmod g-rw: the mask is --- and nobody gets nothing.
        let masked = PosixIPCObject(path: "/dev/shm/x", kind: .shm, uid: 0, gid: 0, mode: 0o600,
                                    acl: [ACLEntry(tag: .userObj, perms: 6), ACLEntry(tag: .user, qualifier: 65534, perms: 6),
                                          ACLEntry(tag: .groupObj, perms: 0), ACLEntry(tag: .mask, perms: 0),
                                          ACLEntry(tag: .other, perms: 0)])
        XCTAssertNil(InsecureAnalysis.posixAccess(masked, names: S.names))
        var open = masked
        open.acl = [ACLEntry(tag: .userObj, perms: 6), ACLEntry(tag: .group, qualifier: 33, perms: 4),
                    ACLEntry(tag: .groupObj, perms: 0), ACLEntry(tag: .mask, perms: 6), ACLEntry(tag: .other, perms: 0)]
        let f = InsecureAnalysis.posixAccess(open, names: S.names)
        XCTAssertEqual(f?.issue, .acl)
        XCTAssertEqual(f?.grantees.first?.who, "members of group www-data (gid 33) through the ACL")
        XCTAssertEqual(f?.advice, "restrict it: `setfacl -x g:www-data /dev/shm/x` (and fix the mode the program creates it with)")
    }

    func testPosixModeWithoutACL() {
        let sem = PosixIPCObject(path: "/dev/shm/sem.lock", kind: .sem, uid: 0, gid: 0, mode: 0o644)
        let f = InsecureAnalysis.posixAccess(sem, names: S.names)
        XCTAssertEqual(f?.issue, .mode)
        XCTAssertEqual(f?.risk, "any local user and members of group root (gid 0) (r--) can open it for reading only, which is of little use (sem_open() needs both)")
    }

    func testOwnersWithoutEntries() {
        let o = IPCObject.sem(SemaphoreSet(id: 2, perm: IPCPermissions(key: 0, uid: 33, gid: 33, cuid: 4242, cgid: 4243, mode: 0o600),
                                           nsems: 1, otime: 0, ctime: 1))
        XCTAssertEqual(InsecureAnalysis.sysvOwners(o, names: S.names)?.missing, ["creator uid 4242", "creator group gid 4243"])
        let file = PosixIPCObject(path: "/dev/shm/old", kind: .shm, uid: 4242, gid: 0, mode: 0o600)
        XCTAssertEqual(InsecureAnalysis.posixOwner(file, names: S.names)?.missing, ["owner uid 4242"])
    }

    // MARK: state

    func testStateIdentityMakesAReusedIdANewOrphan() {
        let report = S.report()
        var previous = AuditStateDiff.next(previous: nil, report: report)
        // Same id and key, another change time: the kernel reused the id for a new set.
        previous.orphans[0].ctime -= 1
        previous.writtenAt -= 3600
        let change = AuditStateDiff.change(previous: previous, orphans: report.orphans, now: S.now)
        XCTAssertEqual(change.newOrphans.map(\.id), [report.orphans[0].id])
        XCTAssertEqual(change.goneOrphans.map(\.id), [report.orphans[0].id])
    }

    func testStateRoundTripCarriesFirstSeenAndRateBase() throws {
        let first = AuditStateDiff.next(previous: nil, report: S.report())
        XCTAssertNil(first.rateBase)
        let decoded = try AuditState.decode(try first.encoded(), path: "/x")
        XCTAssertEqual(decoded, first)
        var later = S.report()
        later.generatedAt += 300
        let second = AuditStateDiff.next(previous: decoded, report: later)
        XCTAssertEqual(second.rateBase, first.sample, "the first state becomes the rate base")
        XCTAssertEqual(second.orphans.map(\.firstSeen), first.orphans.map(\.firstSeen))
        // Five minutes later: too short for a rate.
        XCTAssertNil(AuditStateDiff.change(previous: decoded, orphans: later.orphans, now: later.generatedAt).netGrowthPerDay)
    }

    func testStateDecodeErrorsNameTheFile() {
        XCTAssertThrowsError(try AuditState.decode(Array("garbage".utf8), path: "/var/lib/ipcsweep/audit.json")) { e in
            let d = e as? AuditState.DecodeError
            XCTAssertEqual(d?.replaceable, false, "text that is not ours is never replaced")
            XCTAssertTrue(d?.description.contains("/var/lib/ipcsweep/audit.json") == true)
        }
        XCTAssertThrowsError(try AuditState.decode(Array(#"{"schemaVersion": 9}"#.utf8), path: "/s")) { e in
            XCTAssertEqual((e as? AuditState.DecodeError)?.replaceable, false)
        }
        // An audit report has a schemaVersion too, but it is not a state: refused.
        XCTAssertThrowsError(try AuditState.decode(Array(#"{"schemaVersion": 1, "generatedAt": 5}"#.utf8), path: "/r")) { e in
            XCTAssertEqual((e as? AuditState.DecodeError)?.replaceable, false)
        }
        // Our own magic on a damaged state: replaceable (a new baseline).
        XCTAssertThrowsError(try AuditState.decode(Array(#"{"format": "ipcsweep-audit-state", "schemaVersion": 1}"#.utf8), path: "/d")) { e in
            XCTAssertEqual((e as? AuditState.DecodeError)?.replaceable, true)
        }
    }

    func testStateWithoutFormatFromAnEarlierVersionIsStillOurs() throws {
        let legacy = #"{"limitUsage": {}, "orphans": [], "schemaVersion": 1, "writtenAt": 1700000000}"#
        XCTAssertEqual(try AuditState.decode(Array(legacy.utf8), path: "/old").writtenAt, 1_700_000_000)
        XCTAssertTrue(String(decoding: try AuditState(writtenAt: 1, orphans: [], limitUsage: [:]).encoded(), as: UTF8.self)
            .contains(#""format" : "ipcsweep-audit-state""#))
    }

    // MARK: findings, filters

    func testFindingClasses() {
        XCTAssertEqual(S.report().findingClasses, [.orphaned, .suspect, .limits, .insecure])
        let quiet = Auditor.report(AuditInput(objects: [S.classifications[3]], snapshot: S.snapshot,
                                              limits: nil, limitsError: "no /proc", now: S.now, source: "proc"),
                                   names: S.names)
        XCTAssertEqual(quiet.findingClasses, [])
        XCTAssertFalse(quiet.hasFindings)
        XCTAssertEqual(quiet.limitsError, "no /proc")
    }

    /// The one filter means the same for every kind that has the field; --key and --id select no POSIX object,
    /// --name no System V object.
    func testOneFilterMeansTheSameForEveryKind() {
        func paths(_ f: ObjectFilter) -> [String] {
            S.objects.filter { f.matches($0, now: S.now) }.map { $0.object.posix?.path ?? "\($0.object.kind.rawValue) \($0.object.id)" }
        }
        XCTAssertEqual(paths(ObjectFilter(kinds: [.posixSem])), ["/dev/shm/sem.private"])
        XCTAssertEqual(paths(ObjectFilter(kinds: [.sem, .posixShm], uids: [0])), ["sem 7", "/dev/shm/data"])
        XCTAssertEqual(paths(ObjectFilter(verdicts: [.inUse])), ["sem 7", "shm 65536", "/dev/shm/data", "/dev/shm/sem.private"])
        XCTAssertEqual(paths(ObjectFilter(keys: [0x77])), ["msg 3"])
        XCTAssertEqual(paths(ObjectFilter(ids: [5])), ["sem 5"])
        XCTAssertEqual(paths(ObjectFilter(names: ["sem*"])), ["/dev/shm/sem.private"], "the directory entry matches too")
        XCTAssertEqual(paths(ObjectFilter(names: ["private"])), ["/dev/shm/sem.private"], "a semaphore's name has no sem.")
        XCTAssertEqual(paths(ObjectFilter(idleFor: 3600)), ["sem 32768", "sem 32769", "sem 5", "shm 65536", "msg 3",
                                                            "/dev/shm/data", "/dev/shm/sem.private"])
        XCTAssertEqual(ObjectFilter(keys: [1], names: ["x"]).selectableKinds, [])
        XCTAssertEqual(ObjectFilter(kinds: [.sem, .posixMq], ids: [3]).selectableKinds, [.sem])
    }

    func testNumberWording() {
        XCTAssertEqual(AuditFormat.grouped(31994), "31,994")
        XCTAssertEqual(AuditFormat.grouped(-1_234_567), "-1,234,567")
        XCTAssertEqual(AuditFormat.percent(0.99981), "99.98 %")
        XCTAssertEqual(AuditFormat.percent(0.999999), "99.99 %")
        XCTAssertEqual(AuditFormat.percent(1), "100.0 %")
        XCTAssertEqual(AuditFormat.bytes(65536), "64 KiB")
        XCTAssertEqual(AuditFormat.bytes(4097), "4,097 B")
        XCTAssertEqual(AuditFormat.metric(0.95), "0.95")
        XCTAssertEqual(AuditFormat.metric(32000), "32000")
    }
}
