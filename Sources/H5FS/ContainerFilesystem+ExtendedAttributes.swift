import Glibc
import H5Model

/// HDF5 attributes as `user.NAME` extended attributes of datasets and directories.
/// (Setting and removing them: ContainerFilesystem+AttributeWriting.)
extension ContainerFilesystem {
    static let xattrNamespace = "user."

    package func extendedAttributeNames(_ node: NodeID) throws(FSError) -> [String] {
        try waitForStore(node)
        return try visibleAttributes(of: try existing(node)).map { ContainerFilesystem.xattrNamespace + $0.name }
    }

    package func extendedAttribute(_ node: NodeID, name: String) throws(FSError) -> [UInt8] {
        try waitForStore(node)
        let target = try existing(node)
        guard name.hasPrefix(ContainerFilesystem.xattrNamespace) else {
            throw FSError(ENODATA, "no extended attribute \(name)")
        }
        let attributeName = String(name.dropFirst(ContainerFilesystem.xattrNamespace.count))
        guard let attribute = try visibleAttributes(of: target).first(where: { $0.name == attributeName }) else {
            throw FSError(ENODATA, "no extended attribute \(name)")
        }
        return TextRendering.extendedAttributeValue(attribute.value)
    }

    private func visibleAttributes(of node: Node) throws(FSError) -> [Attribute] {
        // A file created in this session and not stored yet keeps its attributes aside.
        if let open = writes?.active(node.id), open.isNew { return AttributeEdit.applying(open.attributeEdits, to: []) }
        switch node.kind {
        case .dataset(_, _, _, let description):
            return description.attributes
        case .directory(let fileIndex, let path, _, _):
            return try groupAttributes(file: files[fileIndex], path: path).1
        default:
            return []
        }
    }
}
