import Testing
@testable import StoaSimulator

@Suite("Event queue")
struct EventQueueTests {
    @Test("events pop in (time, scheduling order) order")
    func order() {
        var queue = EventQueue<String>()
        queue.schedule(at: 5, "c")
        queue.schedule(at: 1, "a")
        queue.schedule(at: 5, "d")
        queue.schedule(at: 3, "b")
        queue.schedule(at: 5, "e")
        queue.schedule(at: 0, "z")
        var out: [String] = []
        while let entry = queue.pop() { out.append(entry.payload) }
        #expect(out == ["z", "a", "b", "c", "d", "e"])
    }
}
