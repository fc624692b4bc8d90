import ArgumentParser
import IPCSweepCore

// Placeholder: replaced by the audit implementation (issue 5).
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report for cron, monitoring and humans: counts, verdicts, limits and headroom, insecure objects.")
    func run() throws { throw CLIError("audit is not built yet") }
}
