/// What the filesystem needs from one open HDF5 file, as plain values.
///
/// `HDF5.HDF5Container` implements it over libhdf5; tests may implement it in
/// memory. Keeping every answer a `Sendable` value (no handles) is deliberate:
/// it lets the metadata work move behind a process boundary later (hostile
/// files, issue 3) without touching the filesystem layer.
package protocol ContainerReader: AnyObject, Sendable {
    /// Absolute path of the container on disk.
    var filePath: String { get }

    /// Information about the object a path leads to (links followed, like `H5Oget_info_by_name`).
    func object(at path: H5Path) throws(StoreError) -> ObjectInfo
    /// The links of a group, in byte order of their names.
    func links(in group: H5Path) throws(StoreError) -> [Link]
    /// `links(in:)` as a compact list (a group of a million links); a default implementation
    /// packs `links(in:)`.
    func linkList(in group: H5Path) throws(StoreError) -> LinkList
    /// One link of a group by name; nil when the group has no such link.
    func link(named name: String, in group: H5Path) throws(StoreError) -> Link?
    /// Type, shape, layout, filters and storage of a dataset.
    func dataset(at path: H5Path) throws(StoreError) -> DatasetInfo
    /// `dataset(at:)` after re-reading what a SWMR writer may have changed (`-o swmr`);
    /// a default implementation calls `dataset(at:)`.
    func refreshedDataset(at path: H5Path) throws(StoreError) -> DatasetInfo
    /// Type and shape only (see `DatasetSummary`); a default implementation calls `dataset(at:)`.
    func datasetSummary(at path: H5Path) throws(StoreError) -> DatasetSummary
    /// What a directory listing needs of the objects that hard links lead to (`path` is the
    /// link's path, `address` its target): each object's info and, for a dataset, its type
    /// and shape; one result per object, in order. A default implementation calls
    /// `object(at:)` and `datasetSummary(at:)`.
    func describeObjects(_ objects: [(path: H5Path, address: UInt64)]) -> [Result<ObjectDescription, StoreError>]
    /// User-visible attributes of an object, in name order. Reserved `h5mount.*` ones included;
    /// the filesystem decides what to hide.
    func attributes(of path: H5Path) throws(StoreError) -> [Attribute]

    /// File locations of chunks of a chunked dataset. `chunks` are chunk origins in
    /// element coordinates (multiples of the chunk shape). nil = chunk not allocated.
    func chunkLocations(dataset path: H5Path, chunks: [[UInt64]]) throws(StoreError) -> [ChunkLocation?]
    /// Reads the block `start ..< start+count` of a dataset with a fixed-size raw form through
    /// libhdf5 (any layout, any filter), as stored bytes in C order, into `buffer`, which holds
    /// exactly `elementSize * count.product` bytes. Scalar datasets: `start` and `count` empty.
    func readBlock(dataset path: H5Path, start: [UInt64], count: [UInt64],
                   into buffer: UnsafeMutableRawBufferPointer) throws(StoreError)
    /// Every element of a string dataset, in C order, as text (fixed strings without their padding).
    func readStrings(dataset path: H5Path) throws(StoreError) -> [String]
    /// Every element of a dataset rendered as JSON lines, in C order.
    func readJSONElements(dataset path: H5Path) throws(StoreError) -> [JSONValue]
}

/// An absolute path inside one container: `/`, `/entry/data`.
package struct H5Path: Sendable, Hashable, CustomStringConvertible {
    package var components: [String]
    package init(_ components: [String] = []) { self.components = components }
    package static let root = H5Path()
    /// Parses "/a/b" (or "a/b"); empty components are dropped.
    package init(parsing text: String) {
        components = text.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
    package func appending(_ name: String) -> H5Path { H5Path(components + [name]) }
    package var parent: H5Path { H5Path(Array(components.dropLast())) }
    package var name: String { components.last ?? "/" }
    package var description: String { "/" + components.joined(separator: "/") }
}

package enum ObjectKind: String, Sendable, Hashable { case group, dataset, namedDatatype, unknown }

package struct ObjectInfo: Sendable, Hashable {
    package var kind: ObjectKind
    /// The object header's address: the object's identity within its file.
    package var address: UInt64
    /// How many hard links point at the object.
    package var referenceCount: Int
    /// Modification time (seconds since the epoch) when the file tracks it.
    package var modificationTime: Int64?
    package var attributeCount: Int
    package init(kind: ObjectKind, address: UInt64, referenceCount: Int, modificationTime: Int64?, attributeCount: Int) {
        self.kind = kind; self.address = address; self.referenceCount = referenceCount
        self.modificationTime = modificationTime; self.attributeCount = attributeCount
    }
}

package enum LinkTarget: Sendable, Hashable {
    case hard(address: UInt64)
    case soft(String)
    case external(file: String, object: String)
    /// A user-defined link class h5mount does not follow.
    case unknown
}

package struct Link: Sendable, Hashable {
    package var name: String
    package var target: LinkTarget
    package init(name: String, target: LinkTarget) { self.name = name; self.target = target }
}

package enum StorageLayout: Sendable, Hashable {
    case compact
    /// `offset` is nil when no storage is allocated yet or the data lives in external raw files.
    case contiguous(offset: UInt64?)
    case chunked(chunkShape: [UInt64])
    case virtual
}

package struct FilterSpec: Sendable, Hashable {
    package var id: Int32
    package var name: String
    package var flags: UInt32
    package var clientData: [UInt32]
    package init(id: Int32, name: String, flags: UInt32, clientData: [UInt32]) {
        self.id = id; self.name = name; self.flags = flags; self.clientData = clientData
    }
}

/// A dataspace selection, as a virtual dataset mapping describes it.
package enum Selection: Sendable, Hashable {
    case all
    case none
    case regular(start: [UInt64], stride: [UInt64], count: [UInt64], block: [UInt64])
    /// Points or irregular hyperslabs: only described.
    case other(String)
}

package struct VirtualSource: Sendable, Hashable {
    package var file: String
    package var dataset: String
    package var destination: Selection
    package var source: Selection
    package init(file: String, dataset: String, destination: Selection, source: Selection) {
        self.file = file; self.dataset = dataset; self.destination = destination; self.source = source
    }
}

package struct DatasetInfo: Sendable, Hashable {
    package var type: DataType
    /// nil for a null dataspace; [] for a scalar.
    package var shape: [UInt64]?
    /// Same rank as shape; nil entries are unlimited.
    package var maxShape: [UInt64?]?
    package var layout: StorageLayout
    package var filters: [FilterSpec]
    /// The fill value as JSON, nil when undefined.
    package var fillValue: JSONValue?
    /// The fill value as one stored element (type's bytes); nil when undefined (reads as zeros).
    package var fillValueBytes: [UInt8]?
    /// Bytes allocated in the file (`H5Dget_storage_size`).
    package var storageSize: UInt64
    package var virtualSources: [VirtualSource]
    package init(type: DataType, shape: [UInt64]?, maxShape: [UInt64?]?, layout: StorageLayout,
                 filters: [FilterSpec], fillValue: JSONValue?, fillValueBytes: [UInt8]?,
                 storageSize: UInt64, virtualSources: [VirtualSource]) {
        self.type = type; self.shape = shape; self.maxShape = maxShape; self.layout = layout
        self.filters = filters; self.fillValue = fillValue; self.fillValueBytes = fillValueBytes
        self.storageSize = storageSize; self.virtualSources = virtualSources
    }
}

package struct Attribute: Sendable, Hashable {
    package var name: String
    package var value: JSONValue
    package init(name: String, value: JSONValue) { self.name = name; self.value = value }
}

package struct ChunkLocation: Sendable, Hashable {
    package var offset: UInt64
    package var size: UInt64
    /// Bit i set = filter i of the pipeline was skipped for this chunk.
    package var filterMask: UInt32
    package init(offset: UInt64, size: UInt64, filterMask: UInt32) {
        self.offset = offset; self.size = size; self.filterMask = filterMask
    }
}

/// The one error type of the storage layer. `kind` decides the errno upstairs.
package struct StoreError: Error, Sendable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        case notFound, notHDF5, unreadable, unsupported, accessDenied, invalidArgument, busy
    }
    package var kind: Kind
    package var message: String
    package init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    package var description: String { message }
}

/// The part of a dataset's description that listing needs: enough to know how it
/// renders and how big its file is, without reading creation properties.
package struct DatasetSummary: Sendable, Hashable {
    package var type: DataType
    /// nil for a null dataspace; [] for a scalar.
    package var shape: [UInt64]?
    package init(type: DataType, shape: [UInt64]?) { self.type = type; self.shape = shape }
}

/// An object as a directory listing sees it (`ContainerReader.describeObjects`).
package struct ObjectDescription: Sendable, Hashable {
    package var info: ObjectInfo
    /// Type and shape, for a dataset.
    package var summary: DatasetSummary?
    package init(info: ObjectInfo, summary: DatasetSummary?) { self.info = info; self.summary = summary }
}

extension ContainerReader {
    package func linkList(in group: H5Path) throws(StoreError) -> LinkList {
        var list = LinkList(try links(in: group))
        list.finish()
        return list
    }

    /// Readers whose answers never go stale need nothing more.
    package func refreshedDataset(at path: H5Path) throws(StoreError) -> DatasetInfo { try dataset(at: path) }
    /// Readers that can answer more cheaply (one call, no path walks) override this.
    package func describeObjects(_ objects: [(path: H5Path, address: UInt64)]) -> [Result<ObjectDescription, StoreError>] {
        objects.map { object in
            Result { () throws(StoreError) -> ObjectDescription in
                let info = try self.object(at: object.path)
                return ObjectDescription(info: info, summary: info.kind == .dataset ? try datasetSummary(at: object.path) : nil)
            }
        }
    }

    /// Readers that can answer more cheaply than `dataset(at:)` override this.
    package func datasetSummary(at path: H5Path) throws(StoreError) -> DatasetSummary {
        let info = try dataset(at: path)
        return DatasetSummary(type: info.type, shape: info.shape)
    }
}
