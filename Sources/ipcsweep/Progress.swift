import IPCSweepCore

#if canImport(Glibc)
import Glibc
#endif

/// The progress reporter of saves and restores: on standard error when it is a terminal, never with --quiet.
/// Debug builds read IPCSWEEP_TEST_PROGRESS_DELAY (seconds before the first line; default 1) for the tests.
func progressReporter(quiet: Bool) -> SaveProgress? {
    guard !quiet, isatty(2) == 1 else { return nil }
    var delay = 1.0
    #if DEBUG
    if let d = ProcessEnv.get("IPCSWEEP_TEST_PROGRESS_DELAY").flatMap(Double.init) { delay = d }
    #endif
    return SaveProgress(delay: delay, write: { writeStandardError($0) })
}

#if DEBUG
/// Debug builds only: IPCSWEEP_TEST_SAVE_HOOK=COMMAND runs `/bin/sh -c COMMAND` at a stage of each save
/// (IPCSWEEP_TEST_SAVE_STAGE=writing: after the first chunk of data is written; written: once the save is in
/// place, before the object is removed), only at the stage IPCSWEEP_TEST_SAVE_AT names when it is set, with
/// IPCSWEEP_TEST_SAVE_FILE set to the save file's path: the tests kill clean there (SIGKILL) or fill the disk.
enum SaveTestHook {
    static func fromEnvironment() -> (@Sendable (SaveStage, String) -> Void)? {
        guard let command = ProcessEnv.get("IPCSWEEP_TEST_SAVE_HOOK"), !command.isEmpty else { return nil }
        let at = ProcessEnv.get("IPCSWEEP_TEST_SAVE_AT")
        return { stage, path in
            if let at, at != stage.rawValue { return }
            setenv("IPCSWEEP_TEST_SAVE_STAGE", stage.rawValue, 1)
            setenv("IPCSWEEP_TEST_SAVE_FILE", path, 1)
            TestHook.spawn(command)
        }
    }
}
#endif
