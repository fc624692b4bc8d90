import Foundation
import XCTest
@testable import IPCSweepCore

/// The sd-bus lookup of a unit's invocation start fails safe: no systemd, or a systemd that never answers,
/// gives "unavailable" (the exception then does not apply), never a hang.
final class UnitInvocationProbeTests: XCTestCase {
    /// A unix socket that accepts connections (kernel backlog) but never answers, like a stuck systemd.
    func silentSocket() throws -> (path: String, fd: Int32) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ipcsweep-bus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("private").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            for (i, b) in bytes.enumerated() where i < raw.count - 1 { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(listen(fd, 16), 0)
        return (path, fd)
    }

    func testASystemdThatNeverAnswersDoesNotHang() throws {
        try XCTSkipUnless(geteuid() == 0, "the private socket is tried only as root")
        let s = try silentSocket()
        defer {
            close(s.fd)
            try? FileManager.default.removeItem(atPath: (s.path as NSString).deletingLastPathComponent)
        }
        let t0 = Date()
        let r = UnitInvocationProbe.invocations(of: ["x.service"], privateSocket: s.path, systemBus: false)
        XCTAssertLessThan(Date().timeIntervalSince(t0), UnitInvocationProbe.deadlineSeconds + 2)
        guard case .unavailable(let why) = r["x.service"] else { return XCTFail("\(r)") }
        XCTAssertTrue(why.contains("did not answer"), why)
    }

    func testNoSystemdIsUnavailableAndSaysWhere() throws {
        try XCTSkipUnless(geteuid() == 0, "the private socket is tried only as root")
        let r = UnitInvocationProbe.invocations(of: ["a.service", "b.service"], privateSocket: "/nonexistent/ipcsweep/private",
                                                systemBus: false)
        XCTAssertEqual(r.count, 2)
        guard case .unavailable(let why) = r["b.service"] else { return XCTFail("\(r)") }
        XCTAssertTrue(why.contains("/nonexistent/ipcsweep/private") && why.contains("No such file"), why)
        XCTAssertEqual(UnitInvocationProbe.invocations(of: []), [:])
    }
}
