import Foundation
import SystemPackage
import XCTest

@testable import IPCSweepCore

/// The order of clean's and audit's steps, with every side effect injected and recorded.
final class CleanSessionTests: XCTestCase {
    typealias F = CleanFixtures

    final class Recorder: @unchecked Sendable {  // the pass is serial in these tests (fewer objects than a chunk)
        var events: [String] = []
    }

    func reading(_ objects: [IPCObject]) -> Inspector.Reading {
        var snap = IPCSnapshot(source: "syscall")
        var posix: [PosixIPCObject] = []
        for o in objects {
            switch o {
            case .sem(let s): snap.semaphoreSets.append(s)
            case .shm(let s): snap.segments.append(s)
            case .msg(let q): snap.queues.append(q)
            case .posix(let p): posix.append(p)
            }
        }
        return Inspector.Reading(snapshot: snap, processes: ProcessTable(processes: []), scope: nil, now: 2_000,
                                 warnings: [], options: InspectionOptions(), posixObjects: posix)
    }

    func environment(_ rec: Recorder, kernel: FakeKernel, objects: [IPCObject], verdict: Verdict = .orphaned,
                     verdicts: [String: Verdict] = [:], confirmed: Bool = true) -> CleanEnvironment {
        @Sendable func judged(_ o: IPCObject) -> Verdict { o.posix.flatMap { verdicts[$0.name] } ?? verdict }
        return CleanEnvironment(
            read: { detail in
                rec.events.append(detail ? "read full" : "read stats")
                return self.reading(objects)
            },
            classify: { r in
                rec.events.append("classify all")
                return r.objects.map { F.classified($0, judged($0)) }
            },
            decider: { _ in CleanDecision { fresh in
                rec.events.append("decide \(fresh.ref)")
                return F.classified(fresh, judged(fresh))
            } },
            prepareSaveDirectory: { rec.events.append("save dir \($0)") },
            lock: {
                rec.events.append("lock")
                return ("/run/test.lock", { rec.events.append("unlock") })
            },
            installSignals: { rec.events.append("signals") },
            confirm: { plan in
                rec.events.append("confirm \(plan.filter(\.goesAhead).count)")
                if !confirmed { throw CleanLockError(description: "not confirmed") }
            },
            pipeline: { policy in
                var p = CleanPipeline(policy: policy, kernel: kernel)
                p.log = { r in rec.events.append("log \(r.ref)") }
                return p
            })
    }

    func testYesLocksBeforeThePlanAndReadsEachObjectOnce() throws {
        let objects = [F.sem(1), F.sem(2)]
        let k = FakeKernel(objects)
        let rec = Recorder()
        let result = try CleanSession(request: CleanRequest(policy: CleanPolicy(saveTo: "/tmp/x")),
                                      environment: environment(rec, kernel: k, objects: objects)).run()
        XCTAssertEqual(rec.events, ["signals", "save dir /tmp/x", "lock", "read stats", "decide sem id 1", "log sem id 1",
                                    "decide sem id 2", "log sem id 2", "unlock"])
        XCTAssertEqual(result.lockPath, "/run/test.lock")
        XCTAssertEqual(result.run.results.map(\.outcome), [.removed, .removed])
        XCTAssertEqual(Set(k.statCount.values), [1])
    }

    func testConfirmationComesBeforeTheLockAndAnyRemoval() throws {
        let objects = [F.sem(1)]
        let k = FakeKernel(objects)
        let rec = Recorder()
        _ = try CleanSession(request: CleanRequest(confirm: true), environment: environment(rec, kernel: k, objects: objects)).run()
        XCTAssertEqual(rec.events, ["read full", "classify all", "confirm 1", "signals", "lock", "decide sem id 1", "log sem id 1",
                                    "unlock"])
    }

    func testRefusedConfirmationRemovesNothingAndTakesNoLock() {
        let objects = [F.sem(1)]
        let k = FakeKernel(objects)
        let rec = Recorder()
        XCTAssertThrowsError(try CleanSession(request: CleanRequest(confirm: true),
                                              environment: environment(rec, kernel: k, objects: objects, confirmed: false)).run())
        XCTAssertEqual(rec.events, ["read full", "classify all", "confirm 1"])
        XCTAssertEqual(k.removedOrder, [])
    }

    func testNothingEligibleAsksNothing() throws {
        let objects = [F.sem(1)]
        let rec = Recorder()
        let result = try CleanSession(request: CleanRequest(confirm: true),
                                      environment: environment(rec, kernel: FakeKernel(objects), objects: objects,
                                                               verdict: .inUse)).run()
        XCTAssertEqual(rec.events, ["read full", "classify all"])
        XCTAssertEqual(result.run.results.map(\.outcome), [.skipped])
    }

    func testDryRunTakesNoLockAndRemovesNothing() throws {
        let objects = [F.sem(1)]
        let k = FakeKernel(objects)
        let rec = Recorder()
        let result = try CleanSession(request: CleanRequest(policy: CleanPolicy(saveTo: "/tmp/x", dryRun: true)),
                                      environment: environment(rec, kernel: k, objects: objects)).run()
        XCTAssertEqual(rec.events, ["signals", "read stats", "decide sem id 1"])
        XCTAssertEqual(result.run.results.map(\.outcome), [.planned])
        XCTAssertNil(result.lockPath)
    }

    /// POSIX objects go through the same session and pipeline: planned with the System V ones, in the
    /// confirmation, read again and decided again; in-use or unknown ones are never removed.
    func testPosixObjectsArePlannedConfirmedAndNeverRemovedWhenHeld() throws {
        let k = FakeKernel([F.sem(1)])
        for n in ["orphan", "held", "unsure", "other"] { k.add("/dev/shm/" + n) }
        let objects = [F.sem(1)] + ["orphan", "held", "unsure", "other"].compactMap { k.posixObject("/dev/shm/" + $0) }.map(IPCObject.posix)
        let rec = Recorder()
        var env = environment(rec, kernel: k, objects: objects, verdict: .inUse,
                              verdicts: ["orphan": .orphaned, "held": .inUse, "unsure": .unknown, "other": .orphaned])
        var seen: [String] = []
        env.confirm = { plan in
            rec.events.append("confirm \(plan.filter(\.goesAhead).count)")
            seen = plan.filter(\.goesAhead).compactMap(\.classification.object.posix?.name)
            throw CleanLockError(description: "not confirmed")
        }
        let filter = ObjectFilter(kinds: [.posixShm], names: ["orphan", "held", "unsure"])
        XCTAssertThrowsError(try CleanSession(request: CleanRequest(filter: filter, confirm: true), environment: env).run())
        XCTAssertEqual(rec.events, ["read full", "classify all", "confirm 1"])
        XCTAssertEqual(seen, ["orphan"])

        // --dry-run: each read again and decided; only the orphan would go.
        rec.events = []
        let result = try CleanSession(request: CleanRequest(filter: filter, policy: CleanPolicy(dryRun: true)),
                                      environment: env).run()
        XCTAssertEqual(rec.events, ["signals", "read stats", "decide posix-shm /dev/shm/orphan", "decide posix-shm /dev/shm/held",
                                    "decide posix-shm /dev/shm/unsure"])
        XCTAssertEqual(result.run.results.compactMap(\.classification.object.posix?.name), ["orphan", "held", "unsure"])
        XCTAssertEqual(result.run.results.map(\.outcome), [.planned, .skipped, .skipped])
        XCTAssertEqual(result.run.results.map(\.planned), [true, false, false])

        // --yes: the orphan is removed, the others stay.
        rec.events = []
        let removed = try CleanSession(request: CleanRequest(filter: filter), environment: env).run()
        XCTAssertEqual(removed.run.results.map(\.status), [.removed, .notEligible, .notEligible])
        XCTAssertNil(k.files["/dev/shm/orphan"])
        XCTAssertNotNil(k.files["/dev/shm/held"])
        XCTAssertNotNil(k.files["/dev/shm/unsure"])
    }

    func testLockReleasedWhenThePlanCannotBeRead() {
        let rec = Recorder()
        var env = environment(rec, kernel: FakeKernel(), objects: [])
        env.read = { _ in
            rec.events.append("read stats")
            throw ProbeError(description: "cannot read")
        }
        XCTAssertThrowsError(try CleanSession(request: CleanRequest(), environment: env).run())
        XCTAssertEqual(rec.events, ["signals", "lock", "read stats", "unlock"])
    }
}

final class AuditSessionTests: XCTestCase {
    final class Files {
        var files: [String: [UInt8]] = [:]
        var events: [String] = []
        var failWrites: Set<String> = []
    }

    func environment(_ f: Files) -> AuditEnvironment {
        AuditEnvironment(
            inspect: {
                f.events.append("inspect")
                return Inspection(snapshot: IPCSnapshot(source: "syscall"), processes: ProcessTable(processes: []), scope: nil,
                                  objects: [], now: 1_800_000_000, warnings: [])
            },
            limits: {
                f.events.append("limits")
                throw ProbeError(description: "no limits here")
            },
            scanPosix: {
                f.events.append("posix")
                return []
            },
            readFile: { path throws(FileError) in
                f.events.append("read \(path)")
                guard let b = f.files[path] else { throw FileError(path: path, operation: "open", errno: .noSuchFileOrDirectory) }
                return b
            },
            writeAtomically: { bytes, path throws(FileError) in
                f.events.append("write \(path)")
                if f.failWrites.contains(path) { throw FileError(path: path, operation: "write", errno: .noSpace) }
                f.files[path] = bytes
            },
            stdout: { _ in f.events.append("stdout") },
            warn: { f.events.append("warn \($0)") },
            names: NameLookup(UserDirectory()), pageSize: 4096)
    }

    func testReportThenStateInThatOrder() throws {
        let f = Files()
        let status = try AuditSession(request: AuditRequest(format: .json, outputFile: "/r.json", stateFile: "/s"),
                                      environment: environment(f)).run()
        XCTAssertEqual(status, 0)
        XCTAssertEqual(f.events, ["inspect", "limits", "warn no limits here; the report has no kernel limits", "posix",
                                  "read /s", "write /r.json", "write /s"])
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(f.files["/r.json"] ?? [])) as? [String: Any])
        XCTAssertEqual((doc["schemaVersion"] as? NSNumber)?.intValue, 1)
        XCTAssertNotNil(f.files["/s"])
    }

    func testFailedReportWriteKeepsThePreviousState() {
        let f = Files()
        XCTAssertEqual(try AuditSession(request: AuditRequest(stateFile: "/s", posix: false), environment: environment(f)).run(), 0)
        let previous = f.files["/s"]
        f.failWrites = ["/r.txt"]
        XCTAssertThrowsError(try AuditSession(request: AuditRequest(outputFile: "/r.txt", stateFile: "/s", posix: false),
                                              environment: environment(f)).run()) { e in
            XCTAssertTrue("\(e)".hasPrefix("cannot write the report to /r.txt"), "\(e)")
        }
        XCTAssertEqual(f.events.filter { $0 == "write /s" }.count, 1, "the state is replaced only after the report is out")
        XCTAssertEqual(f.files["/s"], previous)
    }

    func testNewerStateEndsTheAuditBeforeAnythingIsWritten() {
        let f = Files()
        f.files["/s"] = Array(#"{"schemaVersion": 99}"#.utf8)
        XCTAssertThrowsError(try AuditSession(request: AuditRequest(stateFile: "/s", posix: false), environment: environment(f)).run())
        XCTAssertFalse(f.events.contains { $0.hasPrefix("write") || $0 == "stdout" }, "\(f.events)")
    }

    /// A JSON report of thousands of objects goes out in pieces, never gathered whole: on standard output each piece
    /// as it is written, together the whole document; with --output the file gets them and appears only at commit,
    /// and a piece that cannot be written (ENOSPC) leaves no report and keeps the previous state.
    func testALargeJSONReportGoesOutInPieces() throws {
        let f = Files()
        var pieces: [[UInt8]] = []
        var committed = 0
        func large(failAtPiece: Int? = nil) -> AuditEnvironment {
            var env = environment(f)
            let sets = (1...3000).map { CleanFixtures.sem(Int32($0)) }
            env.inspect = {
                var snap = IPCSnapshot(source: "syscall")
                for case .sem(let set) in sets { snap.semaphoreSets.append(set) }
                return Inspection(snapshot: snap, processes: ProcessTable(processes: []), scope: nil,
                                  objects: sets.map { CleanFixtures.classified($0) }, now: 1_800_000_000, warnings: [])
            }
            env.stdout = { pieces.append($0) }
            env.openAtomically = { path throws(FileError) in
                f.events.append("open \(path)")
                var pending: [[UInt8]] = []
                return AtomicOutput(put: { piece throws(FileError) in
                    if pending.count + 1 == failAtPiece { throw FileError(path: path, operation: "write", errno: .noSpace) }
                    pending.append(piece)
                }, commit: { () throws(FileError) in
                    committed += 1
                    f.files[path] = pending.flatMap { $0 }
                })
            }
            return env
        }
        XCTAssertEqual(try AuditSession(request: AuditRequest(format: .json, posix: false), environment: large()).run(), 0)
        XCTAssertGreaterThan(pieces.count, 10, "handed on as written")
        XCTAssertTrue(pieces.allSatisfy { $0.count < 1 << 17 }, "\(pieces.map(\.count).max() ?? 0) bytes in one piece")
        let whole = pieces.flatMap { $0 }
        let doc = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(whole)) as? [String: Any])
        XCTAssertEqual((doc["orphans"] as? [Any])?.count, 3000)
        XCTAssertEqual(whole.last, 10, "the final newline")

        XCTAssertEqual(try AuditSession(request: AuditRequest(format: .json, outputFile: "/r.json", posix: false), environment: large()).run(), 0)
        XCTAssertEqual(committed, 1)
        XCTAssertEqual(f.files["/r.json"], whole, "the same document")

        XCTAssertEqual(try AuditSession(request: AuditRequest(format: .json, stateFile: "/s", posix: false), environment: large()).run(), 0)
        let state = try XCTUnwrap(f.files["/s"])
        f.files["/r.json"] = nil
        XCTAssertThrowsError(try AuditSession(request: AuditRequest(format: .json, outputFile: "/r.json", stateFile: "/s", posix: false),
                                              environment: large(failAtPiece: 3)).run()) { e in
            XCTAssertTrue("\(e)".hasPrefix("cannot write the report to /r.json: "), "\(e)")
        }
        XCTAssertEqual(committed, 1, "never committed")
        XCTAssertNil(f.files["/r.json"])
        XCTAssertEqual(f.files["/s"], state, "the state is replaced only after the report is out")
    }

    func testFailOnDecidesAfterTheReportAndTheState() throws {
        let f = Files()
        var request = AuditRequest(stateFile: "/s", failOn: [.limits], posix: false)
        request.thresholds = AuditThresholds()
        let status = try AuditSession(request: request, environment: environment(f)).run()
        XCTAssertEqual(status, 0, "no limits read: no limits finding")
        XCTAssertEqual(f.events.suffix(2), ["stdout", "write /s"])
    }
}
