import Testing
@testable import StoaGateway

private func order<Key, Value>(_ table: LRUTable<Key, Value>) -> [Key] {
    var keys: [Key] = []
    var slot = table.leastRecent
    while let current = slot {
        keys.append(table.key(at: current))
        slot = table.moreRecent(than: current)
    }
    return keys  // least recent first
}

@Suite("LRU table")
struct LRUTableTests {
    @Test("insert, touch and remove keep least-recent-first order and reuse freed slots")
    func insertTouchRemove() {
        var table = LRUTable<String, Int>()
        let a = table.insert("a", 1)
        let b = table.insert("b", 2)
        table.insert("c", 3)
        #expect(order(table) == ["a", "b", "c"])
        table.touch(a)
        #expect(order(table) == ["b", "c", "a"])
        table[b] += 40
        #expect(table[b] == 42)
        let removed = table.remove(b)
        #expect(removed.key == "b" && removed.value == 42)
        #expect(order(table) == ["c", "a"] && table.count == 2 && table.slot(of: "b") == nil)
        let d = table.insert("d", 4)
        #expect(d == b)  // the freed slot is reused
        #expect(order(table) == ["c", "a", "d"])
        table.remove(table.leastRecent!)
        table.remove(table.leastRecent!)
        table.remove(table.leastRecent!)
        #expect(table.isEmpty && table.leastRecent == nil && order(table) == [])
        table.insert("e", 5)
        #expect(order(table) == ["e"] && table[table.slot(of: "e")!] == 5)
    }

    @Test("random operations agree with a simple array model")
    func model() {
        var table = LRUTable<Int, Int>()
        var model: [(key: Int, value: Int)] = []  // least recent first
        var state: UInt64 = 11
        func next(_ bound: UInt64) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % bound)
        }
        for step in 0..<20_000 {
            let key = next(64)
            let position = model.firstIndex { $0.key == key }
            switch next(3) {
            case 0:
                if let position {
                    table.touch(table.slot(of: key)!)
                    model.append(model.remove(at: position))
                } else {
                    table.insert(key, step)
                    model.append((key, step))
                }
            case 1:
                if let position {
                    #expect(table.remove(table.slot(of: key)!).value == model.remove(at: position).value)
                }
            default:
                if let tail = table.leastRecent {
                    #expect(table.remove(tail).key == model.removeFirst().key)
                }
            }
        }
        #expect(order(table) == model.map(\.key))
        #expect(table.count == model.count)
    }
}
