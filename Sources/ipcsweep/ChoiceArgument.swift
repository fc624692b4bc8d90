import ArgumentParser

/// An option value that is one of a fixed set of words (`--type sem`, `--format json`): the enum's raw values.
///
/// Same strings as ArgumentParser's defaults for such enums, given directly: the defaults go through string
/// interpolation and `String(describing:)`, whose first dynamic casts each scan every protocol conformance in
/// the binary, and ArgumentParser asks for them for every option of the command at every start.
protocol ChoiceArgument: ExpressibleByArgument, CaseIterable, RawRepresentable where RawValue == String {}

extension ChoiceArgument {
    public var defaultValueDescription: String { rawValue }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
    public static var allValueDescriptions: [String: String] { [:] }
    public static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}
