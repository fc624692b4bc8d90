import Foundation
import IPCSweepCore
import XCTest

/// The committed man page and completion scripts match what the current binary offers.
final class DocumentationDriftTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func run(_ args: [String], executable: String = Scenario.ipcsweep) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    func testCompletionScriptsMatchTheBinary() throws {
        for (shell, file) in [("bash", "completions/ipcsweep.bash"), ("zsh", "completions/_ipcsweep"),
                              ("fish", "completions/ipcsweep.fish")] {
            let committed = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            let generated = try run(["--generate-completion-script", shell])
            XCTAssertFalse(generated.isEmpty)
            XCTAssertEqual(committed, generated,
                           "\(file) drifted: regenerate with `.build/debug/ipcsweep --generate-completion-script \(shell) > \(file)`")
        }
    }

    /// `ipcsweep SUB ...` is parsed by the subcommand alone first (start-up); a completion request or help given
    /// after a subcommand must still be answered by the whole tree: the same script as the root's, and the
    /// subcommand's help with the full command name in its usage.
    func testCompletionRequestAndHelpAfterASubcommandAreTheTrees() throws {
        let root = try run(["--generate-completion-script", "bash"])
        XCTAssertTrue(root.hasPrefix("#!/bin/bash"), String(root.prefix(80)))
        for sub in ["list", "show", "orphans", "clean", "audit", "restore"] {
            XCTAssertEqual(try run([sub, "--generate-completion-script", "bash"]), root, sub)
            let help = try run([sub, "--help"])
            XCTAssertTrue(help.contains("USAGE: ipcsweep \(sub)"), "\(sub): \(help.prefix(200))")
        }
    }

    func testEveryOptionOfEverySubcommandIsInTheManPage() throws {
        let man = try String(contentsOf: Self.root.appendingPathComponent("man/ipcsweep.1"), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        let subcommands = ["list", "show", "orphans", "clean", "audit", "restore"]
        let regex = try NSRegularExpression(pattern: "--[a-z][a-z-]+")
        var checked = 0
        for sub in subcommands {
            let help = try run([sub, "--help"])
            XCTAssertTrue(man.contains(".SS \(sub)") || man.contains("ipcsweep \(sub)"), "man page lacks the \(sub) command")
            for m in regex.matches(in: help, range: NSRange(help.startIndex..., in: help)) {
                let option = String(help[Range(m.range, in: help)!])
                if option == "--help" || option == "--version" { continue }
                XCTAssertTrue(man.contains(option), "man/ipcsweep.1 does not document \(option) of `ipcsweep \(sub)`")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 30)
    }

    /// The manual names every column of the field tables and documents every JSON key they write.
    func testEveryColumnAndJSONFieldIsInTheManPage() throws {
        let man = try String(contentsOf: Self.root.appendingPathComponent("man/ipcsweep.1"), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        let columns = man.components(separatedBy: ".\\\" COLUMNS-START").last?.components(separatedBy: ".\\\" COLUMNS-END").first ?? ""
        let json = man.components(separatedBy: ".SH JSON OUTPUT").last ?? ""
        let clean = man.components(separatedBy: "CLEAN-SECTION-START").last?.components(separatedBy: "CLEAN-SECTION-END").first ?? ""
        for f in ObjectFields.table.fields + [] {
            XCTAssertTrue(columns.contains(f.name), "man page COLUMNS lacks column \(f.name)")
            for k in f.jsonKeys where !"\(k)".hasSuffix("ISO") {
                XCTAssertTrue(json.contains("\(k)"), "man page JSON OUTPUT lacks field \(k)")
            }
        }
        for f in CleanFields.own {
            XCTAssertTrue(columns.contains(f.name), "man page COLUMNS lacks clean column \(f.name)")
            for k in f.jsonKeys { XCTAssertTrue(clean.contains("\"\(k)\""), "man page clean JSON lacks field \(k)") }
        }
    }

    func testManPageRendersWithoutWarnings() throws {
        let groff = "/usr/bin/groff"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: groff), "groff (man-db) is not installed")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: groff)
        p.arguments = ["-man", "-Tutf8", "-ww", "-z", Self.root.appendingPathComponent("man/ipcsweep.1").path]
        let err = Pipe()
        p.standardError = err
        try p.run()
        let warnings = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(warnings, "", "groff warns about man/ipcsweep.1")
    }
}
