import Foundation
import StoaCore
import StoaStore

/// The body of `POST /api/sync`, checked: a device id and its offline edits as ``DeviceEdit``s,
/// or the errors PocketBase-style (`data` keys such as `changes.3.content`).
///
/// ```json
/// {"device": "phone-1",
///  "changes": [{"id": "abc123def456ghi", "op": "upsert", "time": 1764412800123, "counter": 0,
///               "fields": {"content": "...", "tags+": ["stoic"]}},
///              {"id": "abc123def456ghi", "op": "delete", "time": 1764412900000}]}
/// ```
/// `time` is the device's clock in Unix milliseconds when the edit was made (the HLC input);
/// `counter` (0-65535, default 0) orders edits a device made within one millisecond. A device must
/// not give two different edits the same (time, counter).
struct DeviceBatchInput: Sendable {
    static let maxEdits = 1000
    static let maxDeviceLength = 64

    var edits: [DeviceEdit] = []
    var errors: [String: PBError.FieldError] = [:]

    init(_ object: [String: JSONValue], owner: String) {
        var device = ""
        switch object["device"] {
        case .string(let name)? where !name.isEmpty && name.count <= Self.maxDeviceLength
            && name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "_") }):
            device = name
        case nil, .null?, .string("")?:
            errors["device"] = .required
        default:
            errors["device"] = .init(code: "validation_invalid_value", message: "Must be 1-\(Self.maxDeviceLength) letters, digits, '-' or '_'.")
        }
        guard case .array(let items)? = object["changes"] else {
            errors["changes"] = object["changes"] == nil ? .required : .init(code: "validation_invalid_type", message: "Must be an array of edits.")
            return
        }
        guard items.count <= Self.maxEdits else {
            errors["changes"] = .init(code: "validation_length_out_of_range", message: "Must have at most \(Self.maxEdits) items.")
            return
        }
        var stamps = Set<Stamp>()
        for (index, item) in items.enumerated() {
            let key = "changes.\(index)"
            guard case .object(let edit) = item else {
                errors[key] = .init(code: "validation_invalid_type", message: "Must be an object.")
                continue
            }
            guard case .string(let id)? = edit["id"], RecordID.isValid(id) else {
                errors["\(key).id"] = .init(code: "validation_invalid_format", message: "Must be a 15-character id of a-z and 0-9.")
                continue
            }
            guard case .number(let time)? = edit["time"], time >= 0, time <= Double(HLCTimestamp.maxMillis), time == time.rounded() else {
                errors["\(key).time"] = .init(code: "validation_invalid_value", message: "Must be the edit's time in Unix milliseconds.")
                continue
            }
            var counter: UInt16 = 0
            switch edit["counter"] {
            case nil, .null?: break
            case .number(let value)? where value >= 0 && value <= Double(UInt16.max) && value == value.rounded(): counter = UInt16(value)
            default:
                errors["\(key).counter"] = .init(code: "validation_invalid_value", message: "Must be an integer from 0 to 65535.")
                continue
            }
            let stamp = DeviceEdit.stamp(device: device, millis: UInt64(time), counter: counter)
            guard stamps.insert(stamp).inserted else {
                errors["\(key).counter"] = .init(code: "validation_not_unique", message: "Another edit in the batch has the same time and counter.")
                continue
            }
            let operation: DeviceEdit.Operation
            switch edit["op"] {
            case .string("upsert")?:
                guard case .object(let fields)? = edit["fields"] else {
                    errors["\(key).fields"] = .required
                    continue
                }
                let input = RecordInput(fields, schema: .quotes, creating: false, required: ["content"])
                for (field, error) in input.errors { errors["\(key).\(field)"] = error }
                if let userId = input.fields["userId"], userId != .string(owner) {
                    errors["\(key).userId"] = .init(code: "validation_invalid_value", message: "Must be the id of the authenticated user.")
                }
                operation = .upsert(fields: input.fields, tags: input.tagEdit)
            case .string("delete")?: operation = .delete
            case .string("restore")?: operation = .restore
            default:
                errors["\(key).op"] = .init(code: "validation_invalid_value", message: "Must be \"upsert\", \"delete\" or \"restore\".")
                continue
            }
            edits.append(DeviceEdit(id: id, stamp: stamp, operation: operation))
        }
    }
}
