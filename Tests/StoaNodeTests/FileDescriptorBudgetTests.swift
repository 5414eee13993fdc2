import StoaNode
import Testing

@Suite("File descriptor budget")
struct FileDescriptorBudgetTests {
    @Test("client connections fit beside what is open, the other listeners and the runtime reserve")
    func fits() {
        // Debian's default hard limit: the asked-for 10,000 fit.
        #expect(FileDescriptorBudget(limit: 1_048_576, open: 30, otherConnections: 256).clientConnections(wanted: 10_000) == 10_000)
        // 1,024 descriptors (a soft limit that could not be raised): clamped, never past the table.
        #expect(FileDescriptorBudget(limit: 1024, open: 30, otherConnections: 256).clientConnections(wanted: 10_000) == 1024 - 30 - 256 - 64)
        #expect(FileDescriptorBudget(limit: 256, open: 40, otherConnections: 0).clientConnections(wanted: 10_000) == 152)
    }

    @Test("too few connections to serve: no budget (the process refuses to start)")
    func tooFew() {
        #expect(FileDescriptorBudget(limit: 96, open: 40, otherConnections: 0).clientConnections(wanted: 10_000) == nil)
        #expect(FileDescriptorBudget(limit: 64 + 16 + 10, open: 10, otherConnections: 0).clientConnections(wanted: 10_000) == 16)
        #expect(FileDescriptorBudget(limit: 64 + 15 + 10, open: 10, otherConnections: 0).clientConnections(wanted: 10_000) == nil)
    }
}
