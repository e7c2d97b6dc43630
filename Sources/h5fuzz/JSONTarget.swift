import H5Model

/// The sidecar JSON parser (H5Model/JSONParser.swift). Input: any text.
/// A parse error points inside the input; a value that parses renders (pretty and compact)
/// to text that parses back to an equal value, and rendering that again gives the same bytes
/// (parse∘render is the identity, render∘parse∘render = render).
let jsonTarget = FuzzTarget(name: "json", summary: "JSON parse and render") { bytes in
    let text = Array(bytes)
    let value: JSONValue
    do throws(JSONParseError) {
        value = try JSONValue.parse(text)
    } catch {
        fuzzCheck((0...text.count).contains(error.offset), "parse error offset \(error.offset) outside \(text.count) bytes")
        return
    }
    for (form, rendered) in [("pretty", value.prettyText), ("compact", value.compactText)] {
        let again: JSONValue
        do throws(JSONParseError) {
            again = try JSONValue.parse(rendered)
        } catch {
            fuzzCheck(false, "the \(form) rendering does not parse (\(error)): \(rendered.prefix(200))")
            return
        }
        fuzzCheck(again == value, "parse(\(form) render(v)) != v for \(rendered.prefix(200))")
        let twice = form == "pretty" ? again.prettyText : again.compactText
        fuzzCheck(Array(twice.utf8) == Array(rendered.utf8), "\(form) rendering is not stable: \(rendered.prefix(200))")
    }
}
