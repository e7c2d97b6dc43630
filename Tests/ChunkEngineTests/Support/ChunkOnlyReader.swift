import H5Model

/// A reader the chunk engine alone uses: it needs chunk locations (and maybe blocks), never
/// the namespace. Fakes adopt this and implement only what they serve; the rest fails.
protocol ChunkOnlyReader: ContainerReader {}

extension ChunkOnlyReader {
    func readBlock(dataset path: H5Path, start: [UInt64], count: [UInt64],
                   into buffer: UnsafeMutableRawBufferPointer) throws(StoreError) { throw notInTheFake() }
    func object(at path: H5Path) throws(StoreError) -> ObjectInfo { throw notInTheFake() }
    func links(in group: H5Path) throws(StoreError) -> [Link] { throw notInTheFake() }
    func link(named name: String, in group: H5Path) throws(StoreError) -> Link? { throw notInTheFake() }
    func dataset(at path: H5Path) throws(StoreError) -> DatasetInfo { throw notInTheFake() }
    func attributes(of path: H5Path) throws(StoreError) -> [Attribute] { throw notInTheFake() }
    func readStrings(dataset path: H5Path) throws(StoreError) -> [String] { throw notInTheFake() }
    func readJSONElements(dataset path: H5Path) throws(StoreError) -> [JSONValue] { throw notInTheFake() }
    func notInTheFake() -> StoreError { StoreError(.unsupported, "not in the fake") }
}
