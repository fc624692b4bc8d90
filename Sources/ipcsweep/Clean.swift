import ArgumentParser
import IPCSweepCore

// Placeholder: replaced by the clean implementation (issue 4).
struct Clean: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove orphans that match the filters, after re-checking each one.")
    func run() throws { throw CLIError("clean is not built yet") }
}
