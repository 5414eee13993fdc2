import Foundation
import Hummingbird
import Testing

@Suite("quotes: PocketBase Records API")
struct QuotesAPITests {
    static let datePattern = #"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$"#

    @Test("create answers 200 with the full record and PocketBase's system fields")
    func create() async throws {
        try await withNode { api in
            let ann = try await api.user("ann@b.co")
            let response = try await api.createQuote(ann.token, ["content": "Waste no more time arguing", "author": "Marcus Aurelius", "tags": ["time", "virtue"], "userId": ann.id])
            #expect(response.status == .ok)
            let record = response.json
            let id = try #require(record["id"] as? String)
            #expect(id.range(of: "^[a-z0-9]{15}$", options: .regularExpression) != nil)
            #expect(record["collectionName"] as? String == "quotes")
            #expect(record["collectionId"] is String)
            #expect(record["content"] as? String == "Waste no more time arguing")
            #expect(record["source"] as? String == "" && record["notes"] as? String == "")
            #expect(record["tags"] as? [String] == ["time", "virtue"])
            let ordered = try await api.createQuote(ann.token, ["content": "order", "tags": ["zeno", "apathy", "zeno"]])
            #expect(ordered.json["tags"] as? [String] == ["zeno", "apathy"], "client order kept, duplicates dropped")
            #expect(record["userId"] as? String == ann.id)
            for key in ["created", "updated"] {
                #expect((record[key] as? String)?.range(of: Self.datePattern, options: .regularExpression) != nil)
            }
            // Keys come out sorted, as PocketBase's map encoding does.
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(text.hasPrefix(#"{"author":"Marcus Aurelius","collectionId":"#))
            // userId defaults to the caller.
            let implicit = try await api.createQuote(ann.token, ["content": "x"])
            #expect(implicit.json["userId"] as? String == ann.id)
        }
    }

    @Test("client-supplied ids are accepted, validated and never reused")
    func clientIDs() async throws {
        try await withNode { api in
            let ann = try await api.user("ann@b.co")
            let ok = try await api.createQuote(ann.token, ["id": "abcdefghij12345", "content": "x"])
            #expect(ok.status == .ok && ok.json["id"] as? String == "abcdefghij12345")
            for bad in ["ABCDEFGHIJ12345", "short", "abcdefghij123456", "abcdefghij1234-"] {
                let response = try await api.createQuote(ann.token, ["id": bad, "content": "x"])
                #expect(response.status == .badRequest)
                #expect(response.dataCode("id") != nil)
            }
            let numeric = try await api.createQuote(ann.token, ["id": 123, "content": "x"])
            #expect(numeric.status == .badRequest)
            let duplicate = try await api.createQuote(ann.token, ["id": "abcdefghij12345", "content": "again"])
            #expect(duplicate.status == .badRequest && duplicate.dataCode("id") != nil)
            #expect(try await api.request(.delete, "/api/collections/quotes/records/abcdefghij12345", token: ann.token).status == .noContent)
            let reused = try await api.createQuote(ann.token, ["id": "abcdefghij12345", "content": "after delete"])
            #expect(reused.status == .badRequest, "ids are never reused")
        }
    }

    @Test("bad input gets a clear 4xx and changes nothing")
    func badInput() async throws {
        try await withNode(maxBodyBytes: 6000) { api in
            let ann = try await api.user("ann@b.co")
            _ = try await api.createQuote(ann.token, ["content": "keep me"])
            let missing = try await api.createQuote(ann.token, ["author": "x"])
            #expect(missing.status == .badRequest && missing.message == "Failed to create record.")
            #expect(missing.dataCode("content") == "validation_required")
            let blank = try await api.createQuote(ann.token, ["content": ""])
            #expect(blank.dataCode("content") == "validation_required")
            let types = try await api.createQuote(ann.token, ["content": 123, "tags": "x", "author": ["a"]])
            #expect(types.dataCode("content") == "validation_invalid_type")
            #expect(types.dataCode("tags") == "validation_invalid_type")
            #expect(types.dataCode("author") == "validation_invalid_type")
            let badTags = try await api.createQuote(ann.token, ["content": "x", "tags": ["ok", 5]])
            #expect(badTags.dataCode("tags") == "validation_invalid_value")
            let long = try await api.createQuote(ann.token, ["content": String(repeating: "a", count: 5001)])
            #expect(long.dataCode("content") == "validation_max_text_constraint")
            let hugePage = try await api.request(.get, "/api/collections/quotes/records?page=400000000000000000", token: ann.token)
            #expect(hugePage.status == .ok && hugePage.items.isEmpty, "no overflow on absurd pages")
            for raw in [Array("{bad".utf8), Array("[1,2]".utf8), Array("\"text\"".utf8), [0x7B, 0x22, 0x63, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]] {
                let response = try await api.request(.post, "/api/collections/quotes/records", token: ann.token, raw: raw)
                #expect(response.status == .badRequest)
                #expect(response.message == "Failed to load the submitted data due to invalid formatting.")
            }
            let huge = try await api.request(.post, "/api/collections/quotes/records", token: ann.token, raw: Array(#"{"content":""#.utf8) + Array(repeating: 0x61, count: 8192) + Array(#""}"#.utf8))
            #expect(huge.status == .contentTooLarge)
            #expect(huge.json["status"] as? Int == 413)
            let otherOwner = try await api.createQuote(ann.token, ["content": "x", "userId": "someoneelse1234"])
            #expect(otherOwner.dataCode("userId") == "validation_invalid_value")
            #expect(try await api.count(ann.token) == 1)
        }
    }

    @Test("view, PATCH and DELETE; another user's record is a 404; a guest gets nothing")
    func accessRules() async throws {
        try await withNode { api in
            let ann = try await api.user("ann@b.co")
            let bob = try await api.user("bob@b.co")
            let id = try await api.createQuote(ann.token, ["content": "mine", "tags": ["a"]]).json["id"] as? String ?? ""
            let path = "/api/collections/quotes/records/\(id)"
            #expect(try await api.request(.get, path, token: ann.token).json["content"] as? String == "mine")
            for (method, body) in [(HTTPRequest.Method.get, nil), (.patch, ["content": "stolen"]), (.delete, nil)] as [(HTTPRequest.Method, [String: Any]?)] {
                for token in [bob.token, nil] {
                    let response = try await api.request(method, path, token: token, json: body)
                    #expect(response.status == .notFound, "\(method) by \(token == nil ? "guest" : "bob")")
                    #expect(response.message == "The requested resource wasn't found.")
                }
            }
            let guestList = try await api.request(.get, "/api/collections/quotes/records")
            #expect(guestList.status == .ok && guestList.items.isEmpty && guestList.json["totalItems"] as? Int == 0)
            #expect(try await api.count(bob.token) == 0)
            let guestCreate = try await api.createQuote("", ["content": "anon"])
            #expect(guestCreate.status == .badRequest)

            let patched = try await api.request(.patch, path, token: ann.token, json: ["author": "Epictetus", "tags": ["a", "b"], "unknownField": 1])
            #expect(patched.status == .ok)
            #expect(patched.json["content"] as? String == "mine")
            #expect(patched.json["author"] as? String == "Epictetus")
            #expect(patched.json["tags"] as? [String] == ["a", "b"])
            let blank = try await api.request(.patch, path, token: ann.token, json: ["content": ""])
            #expect(blank.status == .badRequest && blank.message == "Failed to update record.")
            #expect(try await api.request(.delete, path, token: ann.token).status == .noContent)
            #expect(try await api.request(.get, path, token: ann.token).status == .notFound)
            #expect(try await api.request(.delete, path, token: ann.token).status == .notFound)
        }
    }

    @Test("list: page, perPage, sort, filter, skipTotal, fields; unknown parameters ignored")
    func list() async throws {
        try await withNode { api in
            let ann = try await api.user("ann@b.co")
            let bob = try await api.user("bob@b.co")
            for index in 1...12 {
                _ = try await api.createQuote(ann.token, ["content": "quote \(index)", "author": index % 3 == 0 ? "Seneca" : "Marcus", "tags": index % 2 == 0 ? ["even"] : []])
            }
            _ = try await api.createQuote(bob.token, ["content": "bob's", "author": "Seneca"])
            let base = "/api/collections/quotes/records"
            let all = try await api.request(.get, base, token: ann.token)
            #expect(all.json["page"] as? Int == 1 && all.json["perPage"] as? Int == 30)
            #expect(all.json["totalItems"] as? Int == 12 && all.json["totalPages"] as? Int == 1)
            #expect(all.items.count == 12)

            let page = try await api.request(.get, base + "?page=2&perPage=5&sort=-content,id&unknown=1", token: ann.token)
            #expect(page.json["totalPages"] as? Int == 3)
            #expect(page.items.map { $0["content"] as? String } == ["quote 4", "quote 3", "quote 2", "quote 12", "quote 11"])

            let filtered = try await api.request(.get, base + "?filter=" + encode("author = 'Seneca' && (content ~ '1' || tags ~ 'even')"), token: ann.token)
            #expect(Set(filtered.items.compactMap { $0["content"] as? String }) == ["quote 6", "quote 12"])

            let skipped = try await api.request(.get, base + "?skipTotal=1&perPage=2", token: ann.token)
            #expect(skipped.json["totalItems"] as? Int == -1 && skipped.json["totalPages"] as? Int == -1)
            #expect(skipped.items.count == 2)

            let spaces = try await api.request(.get, base + "?filter=author+%3D+%27Seneca%27&perPage=1", token: ann.token)
            #expect(spaces.status == .ok && spaces.json["totalItems"] as? Int == 4, "+ is a space in a form-encoded query")
            let fields = try await api.request(.get, base + "?fields=id,content&perPage=1", token: ann.token)
            #expect(fields.items.first.map { Set($0.keys) } == ["id", "content"])

            let clamp = try await api.request(.get, base + "?perPage=5000", token: ann.token)
            #expect(clamp.json["perPage"] as? Int == 1000)

            for bad in ["content ~", "nope = 1", "content ?= 'x'", "@request.auth.id != ''", "(content = 'a'", "content = 'a'; DROP TABLE quotes", "passwordHash != ''"] {
                let response = try await api.request(.get, base + "?filter=" + encode(bad), token: ann.token)
                #expect(response.status == .badRequest, "filter \(bad)")
                #expect(response.message?.contains("filter") == true)
            }
            let badSort = try await api.request(.get, base + "?sort=-nope", token: ann.token)
            #expect(badSort.status == .badRequest)
            // Injection inside a string is bound, never executed.
            let injected = try await api.request(.get, base + "?filter=" + encode(#"content = "x\" OR 1=1 --""#), token: ann.token)
            #expect(injected.status == .ok && injected.items.isEmpty)
            #expect(try await api.count(ann.token) == 12)
        }
    }

    @Test("errors use PocketBase's envelope everywhere, unknown routes included")
    func envelope() async throws {
        try await withNode { api in
            let response = try await api.request(.get, "/api/collections/nothing/records")
            #expect(response.status == .notFound)
            #expect(response.json["data"] is [String: Any])
            #expect(response.json["status"] as? Int == 404)
            let health = try await api.request(.get, "/api/health")
            #expect(health.status == .ok && health.json["message"] as? String == "API is healthy.")
            let metrics = try await api.request(.get, "/metrics")
            #expect(metrics.status == .ok)
        }
    }

    func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

@Suite("quotes: tag modifiers")
struct TagModifierTests {
    @Test("tags+ and tags- add and remove single tags; the whole array still replaces")
    func modifiers() async throws {
        try await withNode { api in
            let ann = try await api.user("ann@b.co")
            let created = try await api.createQuote(ann.token, ["content": "x", "tags": ["a"], "tags+": "b"])
            #expect(created.json["tags"] as? [String] == ["a", "b"])
            let path = "/api/collections/quotes/records/\(created.json["id"] as? String ?? "")"
            let added = try await api.request(.patch, path, token: ann.token, json: ["tags+": ["c", "d"], "tags-": "a"])
            #expect(added.json["tags"] as? [String] == ["b", "c", "d"])
            let replaced = try await api.request(.patch, path, token: ann.token, json: ["tags": ["z"]])
            #expect(replaced.json["tags"] as? [String] == ["z"])
            // Lengths count Unicode scalars: one grapheme with 5000 combining marks is over the limit.
            let marks = try await api.createQuote(ann.token, ["content": "e" + String(repeating: "\u{301}", count: 5000)])
            #expect(marks.dataCode("content") == "validation_max_text_constraint")
            let bad = try await api.request(.patch, path, token: ann.token, json: ["tags+": 5])
            #expect(bad.status == .badRequest && bad.dataCode("tags") == "validation_invalid_value")
            // The tag limit holds for modifiers too.
            let many = (0..<100).map { "t\($0)" }
            #expect(try await api.request(.patch, path, token: ann.token, json: ["tags+": many]).dataCode("tags") == "validation_length_out_of_range")
            #expect(try await api.request(.patch, path, token: ann.token, json: ["tags+": Array(many.prefix(99))]).status == .ok)
            #expect(try await api.request(.patch, path, token: ann.token, json: ["tags+": "one-too-many"]).dataCode("tags") == "validation_length_out_of_range")
        }
    }
}
