import Foundation
import Testing
@testable import StoaNode

@Suite("JSONParser: request bodies as PocketBase reads them")
struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? { try? JSONParser.parse(Array(text.utf8)) }

    @Test("a key given twice in one object is refused, at every depth (PocketBase 0.40.6 answers 400)")
    func duplicateKeys() {
        #expect(parse(#"{"a":1,"a":2}"#) == nil)
        #expect(parse(#"{"o":{"k":"x","k":"y"}}"#) == nil)
        #expect(parse(#"{"o2":[{"k":true,"k":false}]}"#) == nil)
        #expect(parse(#"{"a":{"deep":1},"a":null}"#) == nil)
        #expect(parse(#"{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}"#) != nil, "the same key in different objects is fine")
        #expect(parse(#"{"a":1,"A":2}"#) != nil, "keys are compared case-sensitively")
        #expect(parse(#"{"aA":1,"a\u0041":2}"#) == nil, "keys are compared as decoded")
        #expect(parse(#"{"a":1,"\u0061":2}"#) == nil, "an escaped spelling of the same key is the same key")
    }

    @Test("values decode as JSONDecoder decodes them")
    func agreesWithJSONDecoder() throws {
        let samples = [
            #"{"content":"Waste no more time","tags":["a","b"],"n":-12.5e2,"t":true,"f":false,"z":null}"#,
            #"["\u00e9\ud83d\ude00\n\t\"\\\/",0,-0,1E3,0.25,[],{}]"#,
            #"  {"nested":{"a":[[[1]]]}}  "#,
        ]
        for sample in samples {
            let reference = try JSONDecoder().decode(JSONValue.self, from: Data(sample.utf8))
            #expect(parse(sample) == reference, "\(sample)")
        }
        #expect(parse(#""plain""#) == .string("plain") && parse(" 42 ") == .number(42) && parse("null") == .null)
        #expect(parse(#""a\u0000b""#) == .string("a\u{0}b"), "NUL is kept for the caller to refuse")
    }

    @Test("malformed input is refused")
    func refused() {
        let bad = [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "+1", "1e", "0x10",
            "1e400", "tru", "nul", "\"unterminated", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
            "\"\\ud800\\u0041\"", "{} {}", "[1] x", "\u{FEFF}{}", "'single'",
        ]
        for sample in bad {
            #expect(parse(sample) == nil, "\(sample.debugDescription)")
        }
        #expect((try? JSONParser.parse([0x22, 0xFF, 0x22])) == nil, "invalid UTF-8")
        #expect((try? JSONParser.parse([0x22, 0xC3, 0x22])) == nil, "truncated UTF-8")
    }

    @Test("nesting is bounded before recursing")
    func depth() {
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(parse(ok) != nil)
        let deep = String(repeating: "[", count: JSONParser.maxDepth + 1) + String(repeating: "]", count: JSONParser.maxDepth + 1)
        #expect(parse(deep) == nil)
        #expect(parse(String(repeating: "{\"a\":", count: 100_000)) == nil, "a hostile body fails without exhausting the stack")
    }
}
