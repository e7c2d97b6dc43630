import H5Model

/// The JSON a sidecar shows (DESIGN.md §1, docs/mapping.md). Keys in a fixed
/// order: kind, dtype, [enum], [encoding], shape, maxshape, chunks, filters,
/// fillvalue, layout, storage, [virtual_sources], attributes.
enum SidecarBuilder {
    static func attributesObject(_ attributes: [Attribute]) -> JSONValue {
        .object(attributes.map { JSONMember(key: $0.name, value: $0.value) })
    }

    static func group(attributes: [Attribute]) -> JSONValue {
        .object([("kind", .string("group")), ("attributes", attributesObject(attributes))])
    }

    /// `missingSources`: indices of virtual mappings whose source file cannot be read
    /// (VirtualSourceTable.isMissing): their entries gain `"missing": true`.
    static func dataset(_ info: DatasetInfo, rendering: DatasetRendering, attributes: [Attribute],
                        missingSources: Set<Int> = []) -> JSONValue {
        var members: [(String, JSONValue)] = [("kind", .string("dataset"))]
        let flat = info.type.flattenedForRawArray
        let isFlattened = rendering == .rawArray && !flat.extraDims.isEmpty
        switch rendering {
        case .rawArray, .bytes:
            let element = isFlattened ? flat.element : info.type
            members.append(("dtype", element.numpyDescriptor ?? .string("O")))
        case .text:
            members.append(("dtype", info.type.numpyDescriptor ?? .string("O")))
        case .jsonLines:
            members.append(("dtype", .string("O")))
        }
        if case .enumeration(_, let enumMembers) = flat.element {
            members.append(("enum", .object(enumMembers.map { JSONMember(key: $0.name, value: .int($0.value)) })))
        }
        switch rendering {
        case .text: members.append(("encoding", .string("utf-8")))
        case .jsonLines: members.append(("encoding", .string("json")))
        default: break
        }
        let extra = isFlattened ? flat.extraDims.map { UInt64($0) } : []
        members.append(("shape", info.shape.map { .array(($0 + extra).map { .uint($0) }) } ?? .null))
        members.append(("maxshape", info.maxShape.map { dims in
            .array(dims.map { $0.map { .uint($0) } ?? .null } + extra.map { .uint($0) })
        } ?? .null))
        if case .chunked(let chunkShape) = info.layout {
            members.append(("chunks", .array(chunkShape.map { .uint($0) })))
        } else {
            members.append(("chunks", .null))
        }
        members.append(("filters", .array(info.filters.map { filter in
            .object([("id", .int(Int64(filter.id))), ("name", .string(filter.name)),
                     ("options", .array(filter.clientData.map { .uint(UInt64($0)) }))])
        })))
        members.append(("fillvalue", info.fillValue ?? .null))
        members.append(("layout", .string(layoutName(info.layout))))
        let logical = logicalBytes(info)
        let ratio: JSONValue = info.storageSize > 0
            ? .double((Double(logical) / Double(info.storageSize) * 1000).rounded() / 1000) : .null
        members.append(("storage", .object([("logical_bytes", .uint(logical)),
                                            ("allocated_bytes", .uint(info.storageSize)),
                                            ("ratio", ratio)])))
        if case .virtual = info.layout {
            members.append(("virtual_sources", .array(info.virtualSources.indices.map { index in
                let source = info.virtualSources[index]
                var entry: [(String, JSONValue)] = [("destination", selection(source.destination)),
                                                    ("file", .string(source.file)), ("dataset", .string(source.dataset)),
                                                    ("source", selection(source.source))]
                // Only when true: a present source's entry reads as before.
                if missingSources.contains(index) { entry.append(("missing", .bool(true))) }
                return .object(entry)
            })))
        }
        members.append(("attributes", attributesObject(attributes)))
        return .object(members)
    }

    static func layoutName(_ layout: StorageLayout) -> String {
        switch layout {
        case .compact: return "compact"
        case .contiguous: return "contiguous"
        case .chunked: return "chunked"
        case .virtual: return "virtual"
        }
    }

    /// Logical size as `h5ls -v` counts it: elements times the stored element size.
    static func logicalBytes(_ info: DatasetInfo) -> UInt64 {
        guard let shape = info.shape else { return 0 }
        let count = shape.reduce(UInt64(1)) { $0.multipliedReportingOverflow(by: $1).partialValue }
        return count.multipliedReportingOverflow(by: UInt64(info.type.fixedSize ?? 0)).partialValue
    }

    /// A selection in numpy slice notation when it is one regular block per
    /// dimension ("[0:100,0:2048]", open-ended "5:" for unlimited), else spelled out.
    static func selection(_ selection: Selection) -> JSONValue {
        switch selection {
        case .all: return .string("all")
        case .none: return .string("none")
        case .other(let text): return .string(text)
        case .regular(let start, let stride, let count, let block):
            var dims: [String] = []
            for i in start.indices {
                let unlimited = count[i] == UInt64.max || block[i] == UInt64.max
                if count[i] == 1 || (stride[i] == block[i] && !unlimited) {
                    let total = count[i] == 1 ? block[i] : count[i] * block[i]
                    dims.append(unlimited ? "\(start[i]):" : "\(start[i]):\(start[i] + total)")
                } else if block[i] == 1 {
                    dims.append(unlimited ? "\(start[i])::\(stride[i])"
                                          : "\(start[i]):\(start[i] + (count[i] - 1) * stride[i] + 1):\(stride[i])")
                } else {
                    return .object([("start", .array(start.map { .uint($0) })), ("stride", .array(stride.map { .uint($0) })),
                                    ("count", .array(count.map { .uint($0) })), ("block", .array(block.map { .uint($0) }))])
                }
            }
            return .string("[" + dims.joined(separator: ",") + "]")
        }
    }
}
