"""The descriptor pool the bundled generated protos register in: their own, not protobuf's default.

protoc's Python modules register their files in protobuf's default pool, and so do
TensorFlow's and tensorflow-serving-api's, for the same file and message names
(tensorflow/core/example/example.proto, tensorflow.Example, ...). Where both kinds
load in one process (the project venv: a test with the model server in it, a
notebook with TensorFlow) that is a clash: the cpp backend refuses a file whose
contents differ (another TF release), and where they agree it keeps one descriptor
but hands sub-messages the class registered last, so the client's
`request.inputs[k].CopyFrom(tensor)` fails with "expected tensorflow.TensorProto".

So client/protogen.py points the bundled modules here: a pool and symbol database
of their own, with the well-known types they import added first, with classes
(protogen checks WELL_KNOWN covers them). They never meet TensorFlow's registrations, whichever
loads first and whatever its version; on the wire a message is its field numbers
and types, the same in either pool (client_package_test compares the bytes).
"""

from google.protobuf import any_pb2, descriptor_pool, symbol_database, wrappers_pb2

WELL_KNOWN = (any_pb2, wrappers_pb2)

POOL = descriptor_pool.DescriptorPool()
SYMBOLS = symbol_database.SymbolDatabase(pool=POOL)
for _module in WELL_KNOWN:
  _file = POOL.AddSerializedFile(_module.DESCRIPTOR.serialized_pb)
  for _message in _file.message_types_by_name.values():
    # A class per message, as the generated modules make for theirs: the cpp backend builds a
    # field's value (GetModelMetadataResponse.metadata's Any) only from a registered class.
    SYMBOLS.GetPrototype(_message)
