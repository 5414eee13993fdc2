// Fuzz target: the JSON bodies of record writes (`POST`/`PATCH /api/collections/{users|quotes}/
// records`) and of `POST /api/sync`.
//
// Input: one selector byte, then the body. The body goes through `RecordInput.decodeObject` and,
// by the selector, `RecordInput(...)` for a quote or a user, create or update, or
// `DeviceBatchInput`. What validates must respect the documented limits; its fields and tags
// become the delta the store would write (`RecordState.createDelta`/`updateDelta` over an existing
// record), whose binary encoding must decode back to it, and the record the API would answer with,
// whose hand-written JSON (`JSONOutput`) must parse to the same value as `JSONEncoder`'s.
import Foundation
import FuzzSupport
@testable import StoaNode

FuzzDriver.run { bytes in
    var input = FuzzInput(bytes)
    let selector = input.byte()
    guard let object = try? RecordInput.decodeObject(Data(input.rest)) else { return }
    switch selector % 5 {
    case 0: RecordInputTarget.checkRecord(object, schema: .quotes, creating: true, required: ["content"])
    case 1: RecordInputTarget.checkRecord(object, schema: .quotes, creating: false, required: ["content"])
    case 2: RecordInputTarget.checkRecord(object, schema: .users, creating: true, required: ["email"])
    case 3: RecordInputTarget.checkRecord(object, schema: .users, creating: false, required: ["email"])
    default: RecordInputTarget.checkDeviceBatch(object)
    }
}
