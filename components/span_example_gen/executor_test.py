"""SpanWindow, SpanImportExampleGen and SpanUnion executors on real span folders of tf.Examples.

In process, with TFX's own artefact classes; the compiled spec running them as KFP tasks
is tests/kubeflow_e2e_test.py.
"""

import glob
import json
import os

import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts

from components.span_example_gen import executor, span_output
from components.span_example_gen.component import SpanImportExampleGen
from pipelines import examples_dir


def _records(n, offset):
  return [tf.train.Example(features=tf.train.Features(feature={"x": tf.train.Feature(
      float_list=tf.train.FloatList(value=[float(offset + i)]))})).SerializeToString()
          for i in range(n)]


def _publish(root, span, sizes=(8, 2, 2)):
  return examples_dir.publish_span(root, span, {
      split: _records(n, 100 * span) for split, n in zip(examples_dir.SPLITS, sizes)})


def _window(root, window):
  outputs = {span_output(p): [standard_artifacts.Integer()] for p in range(1, window + 1)}
  out = os.path.join(os.path.dirname(root), "outputs")  # beside: the folder may not exist
  os.makedirs(out, exist_ok=True)
  for key, (artifact,) in outputs.items():
    artifact.uri = os.path.join(out, key)
  result = executor.SpanWindowExecutor().Do({}, outputs, {"examples_uri": root, "window": window})
  return result, {k: v[0].read() for k, v in outputs.items()} if result is None else None


def _problem(result):
  assert result is not None and result.execution_result.code != 0
  return json.loads(result.execution_result.result_message)["problems"]


def test_picks_the_latest_spans_oldest_first_and_skips_one_being_written(tmp_path):
  root = str(tmp_path / "spans")
  for span in (1, 2, 10):
    _publish(root, span)
  os.makedirs(os.path.join(root, ".incoming-span-11", "train"))  # being written: not a span yet
  result, spans = _window(root, 2)
  assert result is None and spans == {"span_1": 2, "span_2": 10}


@pytest.mark.parametrize("setup, window, message", [
    (lambda root: None, 1, "--span-window 1: {root} has no span-<N>/ folders"),
    (lambda root: _publish(root, 1), 2, "--span-window 2: {root} has only 1 span (1)"),
    (lambda root: [os.remove(f) for f in glob.glob(os.path.join(_publish(root, 3), "test", "*"))], 1,
     "{root}/span-3/test: no *.tfrecord or *.tfrecord.gz files (missing or empty split)"),
    (lambda root: os.makedirs(os.path.join(root, "span-04")), 1, "{root}/span-04: not a span folder"),
])
def test_refuses_in_one_line_naming_the_folder(tmp_path, setup, window, message):
  root = str(tmp_path / "spans")
  os.makedirs(root)
  setup(root)
  result, _ = _window(root, window)
  (line,) = _problem(result)
  assert message.format(root=root) in line


def test_a_missing_folder_is_refused(tmp_path):
  result, _ = _window(str(tmp_path / "nowhere"), 1)
  assert "nowhere: not found" in _problem(result)[0]


def _import(root, span, out):
  component = SpanImportExampleGen(input_base=root, span=span)
  examples = standard_artifacts.Examples()
  examples.uri = out
  # The exec properties as the component declares them (protos already JSON), as KFP passes them.
  executor.SpanImportExecutor().Do({}, {"examples": [examples]}, dict(component.exec_properties))
  return examples


def _count(artifact, split):
  files = glob.glob(os.path.join(artifact_utils.get_split_uri([artifact], split), "*"))
  return sum(1 for f in files for _ in tf.data.TFRecordDataset(f, compression_type="GZIP"))


def test_ingests_exactly_its_span_and_records_it(tmp_path):
  root = str(tmp_path / "spans")
  _publish(root, 1, sizes=(5, 1, 1))
  _publish(root, 2, sizes=(8, 2, 3))
  examples = _import(root, 2, str(tmp_path / "out"))
  assert examples.span == 2 and examples.get_int_custom_property("span") == 2
  assert examples.get_string_custom_property("input_fingerprint")  # as TFX's driver records it
  assert [_count(examples, s) for s in examples_dir.SPLITS] == [8, 2, 3]


def test_union_copies_every_spans_records_under_one_artefact(tmp_path):
  root = str(tmp_path / "spans")
  _publish(root, 1, sizes=(5, 1, 1))
  _publish(root, 2, sizes=(8, 2, 3))
  first, second = (_import(root, s, str(tmp_path / f"out{s}")) for s in (1, 2))
  union = standard_artifacts.Examples()
  union.uri = str(tmp_path / "union")
  executor.SpanUnionExecutor().Do({"examples_1": [first], "examples_2": [second]},
                                  {"examples": [union]}, {})
  assert artifact_utils.decode_split_names(union.split_names) == list(examples_dir.SPLITS)
  assert [_count(union, s) for s in examples_dir.SPLITS] == [13, 3, 4]
  assert union.span == 2 and union.get_string_custom_property(executor.SPANS_PROPERTY) == "1,2"
  assert union.get_string_custom_property("payload_format") == "FORMAT_TF_EXAMPLE"
