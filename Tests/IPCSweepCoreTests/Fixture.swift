import Foundation

/// Fixture files shipped in the test target.
enum Fixture {
    static func bytes(_ name: String) throws -> [UInt8] {
        guard let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures") else {
            throw NSError(domain: "Fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "no fixture \(name)"])
        }
        return Array(try Data(contentsOf: url))
    }
}
