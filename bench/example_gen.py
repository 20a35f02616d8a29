"""MnistIdxExampleGen's executor against TFX's generic ExampleGen path, on real MNIST, in one run.

    python -m bench.example_gen [--runs 3] [--data-dir ../shared/data/mnist]

Both write the same 70,000 tf.Examples (55,000 train, 5,000 eval, 10,000 test) as gzipped
TFRecords with the in-memory DirectRunner, in this process, alternating run by run:

- baseline, TFX's generic path (what BaseExampleGenExecutor.Do runs): Beam elements of 2,000
  records encoded with tfx_bsl's C++ coder, then TFX's own `write_split.WriteSplit` — a
  Reshuffle and Beam's TFRecord sink, record by record, zlib level 6;
- ours (components/mnist_idx_example_gen/executor.py): one Beam element per output file,
  framed and compressed whole (components/tfrecord_files.py, zlib level 1).

Prints seconds (median of --runs) and the ratio; JSON to bench/results/example_gen-<cpu kind>-<stamp>.json.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from bench import cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _encode_chunk(bounds, pair):
  """The former executor's element: records [start, stop) of a pair, read once per process."""
  from components import mnist_example_encoding  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import executor  # pylint: disable=import-outside-toplevel
  images, labels = executor._load(pair.images_path, pair.labels_path)  # pylint: disable=protected-access
  return mnist_example_encoding.encode_examples(images[bounds[0]:bounds[1]], labels[bounds[0]:bounds[1]])


def _tfx_generic(data_dir: str, out: str) -> None:
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  from tfx.components.example_gen import write_split  # pylint: disable=import-outside-toplevel
  from tfx.proto import example_gen_pb2  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import executor, idx_reader  # pylint: disable=import-outside-toplevel
  with beam.Pipeline() as pipeline:
    for name, src in executor.SPLITS.items():
      pair = idx_reader.find_pair(data_dir, src.prefix)
      start, stop, _ = slice(src.start, src.stop).indices(idx_reader.read_pair(pair)[1].shape[0])
      chunks = [(i, min(i + 2000, stop)) for i in range(start, stop, 2000)]
      _ = (pipeline
           | f"Chunks[{name}]" >> beam.Create(chunks)
           | f"Encode[{name}]" >> beam.FlatMap(_encode_chunk, pair)
           | f"Write[{name}]" >> write_split.WriteSplit(
               os.path.join(out, f"Split-{name}"), example_gen_pb2.FORMAT_TFRECORDS_GZIP))


def _ours(data_dir: str, out: str) -> None:
  from tfx.proto import example_gen_pb2  # pylint: disable=import-outside-toplevel
  from tfx.types import standard_artifacts  # pylint: disable=import-outside-toplevel
  from tfx.utils import proto_utils  # pylint: disable=import-outside-toplevel
  from components.mnist_idx_example_gen import executor  # pylint: disable=import-outside-toplevel
  examples = standard_artifacts.Examples()
  examples.uri = out
  executor.Executor().Do({}, {"examples": [examples]}, {
      "input_base": data_dir, "input_config": proto_utils.proto_to_json(executor.input_config())})


def _records(out: str) -> int:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  files = tf.io.gfile.glob(os.path.join(out, "Split-*", "*.gz"))
  return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(prog="bench.example_gen", description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--data-dir", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist"))
  parser.add_argument("--out-dir", default=os.path.join(ROOT, "bench", "results"))
  args = parser.parse_args(argv)
  import models  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
  info = cpu.describe()
  print(cpu.line(info), flush=True)
  ways = {"tfx_generic": _tfx_generic, "ours": _ours}
  seconds = {name: [] for name in ways}
  sizes = {}
  scratch = tempfile.mkdtemp(prefix="bench-example-gen-")
  try:
    for _ in range(args.runs + 1):  # the first round warms imports and caches; not counted
      for name, write in ways.items():
        out = os.path.join(scratch, name)
        shutil.rmtree(out, ignore_errors=True)
        started = time.monotonic()
        write(args.data_dir, out)
        seconds[name].append(time.monotonic() - started)
        sizes[name] = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
    records = {name: _records(os.path.join(scratch, name)) for name in ways}
  finally:
    shutil.rmtree(scratch, ignore_errors=True)
  medians = {name: statistics.median(s[1:]) for name, s in seconds.items()}
  ratio = medians["ours"] / medians["tfx_generic"]
  print(f"TFX generic path {medians['tfx_generic']:.2f} s, ours {medians['ours']:.2f} s: "
        f"{ratio:.2f}x the time (median of {args.runs}; {records['ours']:,} records each; "
        f"files {sizes['tfx_generic'] / 1e6:.1f} vs {sizes['ours'] / 1e6:.1f} MB)", flush=True)
  if records["ours"] != records["tfx_generic"]:
    print(f"record counts differ: {records}", file=sys.stderr)
    return 1
  os.makedirs(args.out_dir, exist_ok=True)
  path = os.path.join(args.out_dir, f"example_gen-{info['kind']}-{time.strftime('%Y%m%d-%H%M%S')}.json")
  with open(path, "w") as f:
    json.dump({"cpu": info, "seconds": {k: [round(x, 3) for x in v[1:]] for k, v in seconds.items()},
               "median_seconds": {k: round(v, 3) for k, v in medians.items()},
               "ratio_ours_over_tfx_generic": round(ratio, 3), "records": records["ours"],
               "bytes": sizes}, f, indent=2)
  print(f"wrote {path}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
