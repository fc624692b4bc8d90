import Foundation
import XCTest

/// The shipped Prometheus alert rules (dist/prometheus/ipcsweep.rules.yml): valid for promtool, unit-tested
/// with `promtool test rules` (Tests/prometheus/ipcsweep.rules.test.yml) with a history that fires every alert
/// and one that must not, complete annotations, and only series that the audit really writes and the
/// documentation lists. (The real node_exporter -> Prometheus -> Alertmanager path: Tests/e2e/systemd/e2e-alerts.sh.)
final class AlertRulesTests: XCTestCase {
    static let root = DocumentationDriftTests.root
    static let rules = root.appendingPathComponent("dist/prometheus/ipcsweep.rules.yml")
    static let ruleTests = root.appendingPathComponent("Tests/prometheus/ipcsweep.rules.test.yml")
    static let promtool = "/usr/bin/promtool"

    func promtool(_ args: [String]) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: Self.promtool) else {
            XCTFail("promtool is missing: apt-get install prometheus (the CI script does)")
            return (-1, "")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.promtool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The rules file split into its rules: (kind "alert" or "record", name, the lines of the rule).
    static func parsedRules() throws -> [(kind: String, name: String, body: String)] {
        let text = try String(contentsOf: rules, encoding: .utf8)
        var out: [(kind: String, name: String, body: String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("- alert: ") || t.hasPrefix("- record: ") {
                let kind = t.hasPrefix("- alert: ") ? "alert" : "record"
                out.append((kind, String(t.dropFirst(kind == "alert" ? 9 : 10)), ""))
            } else if !out.isEmpty {
                out[out.count - 1].body += line + "\n"
            }
        }
        return out
    }

    var alertNames: [String] { (try? Self.parsedRules().filter { $0.kind == "alert" }.map(\.name)) ?? [] }

    func testRulesPassPromtoolCheckAndTheirUnitTests() throws {
        let check = try promtool(["check", "rules", Self.rules.path])
        XCTAssertEqual(check.status, 0, check.output)
        XCTAssertTrue(check.output.contains("SUCCESS: \(try Self.parsedRules().count) rules found"), check.output)
        let test = try promtool(["test", "rules", Self.ruleTests.path])
        XCTAssertEqual(test.status, 0, test.output)
        XCTAssertTrue(test.output.contains("SUCCESS"), test.output)
    }

    /// For every alert the unit tests hold an evaluation where it fires and one where it must not.
    func testEveryAlertHasAFiringAndAQuietHistory() throws {
        let lines = try String(contentsOf: Self.ruleTests, encoding: .utf8).split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        var firing: Set<String> = [], quiet: Set<String> = []
        for (i, line) in lines.enumerated() where line.hasPrefix("alertname: ") {
            let name = String(line.dropFirst("alertname: ".count))
            guard i + 2 < lines.count else { continue }
            if lines[i + 1] == "exp_alerts: []" { quiet.insert(name) }
            if lines[i + 1] == "exp_alerts:" && lines[i + 2].hasPrefix("- exp_labels:") { firing.insert(name) }
        }
        XCTAssertGreaterThanOrEqual(alertNames.count, 10)
        for name in alertNames {
            XCTAssertTrue(firing.contains(name), "no promtool test case fires \(name)")
            XCTAssertTrue(quiet.contains(name), "no promtool test case shows \(name) quiet")
        }
        XCTAssertEqual(firing.union(quiet).subtracting(alertNames), [], "the tests name alerts the rules do not have")
    }

    /// Every alert has a severity, a summary, a description and a runbook with the command to run.
    func testEveryAlertHasSeverityAndAnnotations() throws {
        for rule in try Self.parsedRules() where rule.kind == "alert" {
            XCTAssertNotNil(rule.body.range(of: #"\n\s+severity: (critical|warning|info)\n"#, options: .regularExpression),
                            "\(rule.name) has no severity critical, warning or info")
            for key in ["summary", "description", "runbook"] {
                XCTAssertNotNil(rule.body.range(of: "\n\\s+\(key): ", options: .regularExpression), "\(rule.name) has no \(key)")
            }
            XCTAssertNotNil(rule.body.range(of: #"\n\s+(ipcsweep |systemctl [a-z ]*ipcsweep-audit)"#, options: .regularExpression),
                            "\(rule.name)'s runbook gives no ipcsweep command")
        }
    }

    /// Every ipcsweep_* series the rules read is one the audit writes (a real run with POSIX objects and
    /// RemoveIPC= on) and one docs/audit.md documents, so renaming a series breaks this test, not the alerts.
    func testTheRulesReadOnlySeriesTheAuditWritesAndTheDocsList() throws {
        let text = try String(contentsOf: Self.rules, encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"\bipcsweep_[a-z_]+"#)
        let used = Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map {
            String(text[Range($0.range, in: text)!])
        })
        XCTAssertTrue(used.isSuperset(of: ["ipcsweep_audit_timestamp_seconds", "ipcsweep_objects", "ipcsweep_posix_objects",
                                           "ipcsweep_limit_status", "ipcsweep_removeipc_objects_at_risk"]), "\(used)")
        let s = try Scenario.run("""
            mkdir -p "$OUT/mq" "$OUT/logind" && mount -t mqueue mqueue "$OUT/mq"
            printf '[Login]\\nRemoveIPC=yes\\n' > "$OUT/logind/logind.conf"
            ipcsweep audit --format prometheus --mqueue-root "$OUT/mq" --logind-conf "$OUT/logind/logind.conf" > "$OUT/prom"
            """)
        let prom = try s.file("prom")
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/audit.md"), encoding: .utf8)
        for name in used.sorted() {
            XCTAssertTrue(prom.contains("\n# TYPE \(name) gauge\n"), "the rules read \(name), which the audit does not write")
            XCTAssertTrue(docs.contains("| `\(name)` |"), "the rules read \(name), which docs/audit.md does not list")
        }
    }
}
