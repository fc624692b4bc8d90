import Foundation
import XCTest

/// `make install` / `make uninstall` put every shipped file where the README says and take it all away
/// again; the Debian package's version is the binary's. (The package itself is built, installed and
/// purged by .ci/package.)
final class PackagingTests: XCTestCase {
    static let root = DocumentationDriftTests.root

    @discardableResult
    func sh(_ args: [String], in dir: URL = PackagingTests.root) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Regular files and symlinks under `dir`, as paths relative to it.
    func files(under dir: URL) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir.path) else { return [] }
        var out: [String] = []
        while let f = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path, isDirectory: &isDir), !isDir.boolValue {
                out.append("/" + f)
            }
        }
        return out.sorted()
    }

    func testMakeInstallAndUninstallWithPrefixAndDestdir() throws {
        let dest = FileManager.default.temporaryDirectory.appendingPathComponent("ipcsweep-destdir-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dest) }
        let install = try sh(["make", "--no-print-directory", "install", "DESTDIR=\(dest.path)", "PREFIX=/usr",
                              "UNITDIR=/lib/systemd/system", "BINARY=\(Scenario.ipcsweep)"])
        XCTAssertEqual(install.status, 0, install.output)

        var expected = [
            "/usr/bin/ipcsweep",
            "/usr/share/bash-completion/completions/ipcsweep",
            "/usr/share/zsh/vendor-completions/_ipcsweep",
            "/usr/share/fish/vendor_completions.d/ipcsweep.fish",
            "/lib/systemd/system/ipcsweep-audit.service",
            "/lib/systemd/system/ipcsweep-audit.timer",
            "/usr/share/doc/ipcsweep/examples/apache2.service.d/ipcsweep.conf",
            "/usr/share/ipcsweep/prometheus/ipcsweep.rules.yml",
        ]
        // Every man page of man/, in the section its name says.
        let pages = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("man").path)
            .filter { $0.range(of: #"\.[1-8]$"#, options: .regularExpression) != nil }
        XCTAssertTrue(pages.contains("ipcsweep.1"))
        expected += pages.map { "/usr/share/man/man\($0.split(separator: ".").last!)/\($0)" }
        XCTAssertEqual(files(under: dest), expected.sorted())

        let binary = dest.appendingPathComponent("usr/bin/ipcsweep").path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary))
        for unit in ["lib/systemd/system/ipcsweep-audit.service", "usr/share/doc/ipcsweep/examples/apache2.service.d/ipcsweep.conf"] {
            let text = try String(contentsOf: dest.appendingPathComponent(unit), encoding: .utf8)
            XCTAssertFalse(text.contains("@BINDIR@"), unit)
            XCTAssertTrue(text.contains("/usr/bin/ipcsweep "), unit)
        }
        let service = try String(contentsOf: dest.appendingPathComponent("lib/systemd/system/ipcsweep-audit.service"), encoding: .utf8)
        XCTAssertTrue(service.contains("ExecStart=/usr/bin/ipcsweep audit --format prometheus --output /var/lib/prometheus/node-exporter/ipcsweep.prom\n"))
        for line in ["ProtectSystem=strict", "ReadWritePaths=/var/lib/prometheus/node-exporter", "NoNewPrivileges=yes"] {
            XCTAssertTrue(service.contains("\n\(line)\n"), line)
        }
        // The alert rules are installed as they are in dist/ (the README's rule_files: path).
        XCTAssertEqual(try Data(contentsOf: dest.appendingPathComponent("usr/share/ipcsweep/prometheus/ipcsweep.rules.yml")),
                       try Data(contentsOf: Self.root.appendingPathComponent("dist/prometheus/ipcsweep.rules.yml")))
        let bash = try String(contentsOf: dest.appendingPathComponent("usr/share/bash-completion/completions/ipcsweep"), encoding: .utf8)
        XCTAssertFalse(bash.hasPrefix("#!"), "a sourced bash completion has no hashbang (lintian)")

        let uninstall = try sh(["make", "--no-print-directory", "uninstall", "DESTDIR=\(dest.path)", "PREFIX=/usr",
                                "UNITDIR=/lib/systemd/system", "BINARY=\(Scenario.ipcsweep)"])
        XCTAssertEqual(uninstall.status, 0, uninstall.output)
        XCTAssertEqual(files(under: dest), [], "make uninstall leaves files behind")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest.appendingPathComponent("usr/share/doc/ipcsweep").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dest.appendingPathComponent("usr/share/ipcsweep").path))
    }

    func testDebianVersionIsTheBinarysVersion() throws {
        let changelog = try String(contentsOf: Self.root.appendingPathComponent("debian/changelog"), encoding: .utf8)
        let first = changelog.split(separator: "\n").first.map(String.init) ?? ""
        let version = try sh([Scenario.ipcsweep, "--version"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertFalse(version.isEmpty)
        XCTAssertTrue(first.hasPrefix("ipcsweep (\(version)) "), "debian/changelog starts with '\(first)'; ipcsweep --version is \(version)")
        let man = try String(contentsOf: Self.root.appendingPathComponent("man/ipcsweep.1"), encoding: .utf8)
        XCTAssertTrue(man.contains("\"ipcsweep \(version)\""), "man/ipcsweep.1 .TH names another version than \(version)")
    }
}
