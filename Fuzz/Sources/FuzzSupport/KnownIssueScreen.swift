import Foundation

/// Whether targets skip the input shapes of bugs known and being fixed elsewhere (each target's
/// `*KnownIssues` type names them). On by default, so a run goes past them; set
/// `STOA_FUZZ_INCLUDE_KNOWN=1` to check that a fix has landed, or that the target finds them.
public enum KnownIssueScreen {
    public static let isOn = ProcessInfo.processInfo.environment["STOA_FUZZ_INCLUDE_KNOWN"] != "1"
}
