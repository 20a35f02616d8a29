"""Executors of SpanWindow and SpanImportExampleGen (see component.py)."""

import os
from typing import Any, Dict, List

from absl import logging
from tfx import types
from tfx.components.example_gen import driver as example_gen_driver
from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.example_gen.import_example_gen import executor as import_executor
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.proto import range_config_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import proto_utils

from components import gate_result
from components.span_example_gen import EXAMPLES_URI_KEY, SPAN_KEY, WINDOW_KEY, examples_input, span_output
from components.span_example_gen import layout

GATE_NAME = "SpanWindow"


def _missing_split(span_dir: str):
  """The first split of a span with no record files, as one line; None if all have some."""
  for split, pattern in layout.split_patterns().items():
    if not fileio.glob(os.path.join(span_dir, pattern)):
      return (f"{os.path.join(span_dir, split)}: no *.tfrecord or *.tfrecord.gz files "
              "(missing or empty split)")
  return None


class SpanWindowExecutor(base_executor.BaseExecutor):
  """Outputs the span number of each position of the window; stops the run (a failed result,
  one line) if the folder is missing, has too few spans, or a span of the window lacks a split.

  Args (exec properties):
    examples_uri: the DIR of span-<N>/ folders, as the executing machine reads it.
    window: how many of the latest spans; outputs span_1 (oldest) .. span_<window>.
  """

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]):
    del input_dict
    uri, window = exec_properties[EXAMPLES_URI_KEY], int(exec_properties[WINDOW_KEY])
    if not fileio.isdir(uri):
      return gate_result.failed(GATE_NAME, [f"{uri}: not found (expected a folder of span-<N>/ folders)"])
    try:
      chosen = layout.window_of(layout.spans(uri, fileio.listdir, fileio.isdir), window, uri)
    except layout.SpanLayoutError as e:
      return gate_result.failed(GATE_NAME, [str(e)])
    for span in reversed(chosen):  # the latest first: the one a new batch most likely broke
      problem = _missing_split(layout.span_dir(uri, span))
      if problem:
        return gate_result.failed(GATE_NAME, [problem])
    for position, span in enumerate(chosen, start=1):
      artifact_utils.get_single_instance(output_dict[span_output(position)]).value = span
    logging.info("SpanWindow: spans %s of %s", ", ".join(map(str, chosen)), uri)
    return None


class SpanImportExecutor(import_executor.Executor):
  """TFX's ImportExampleGen executor, after what TFX's FileBasedExampleGen driver does
  (tfx/components/example_gen/driver.py, run by tfx/orchestration/kubeflow/v2/
  file_based_example_gen/driver.py where a pre-cache hook runs): `{SPAN}` in the patterns
  resolved to the given span, the files fingerprinted, `span` recorded on the Examples.

  Args (exec properties): ImportExampleGen's (input_base, input_config with `span-{SPAN}/`
    patterns, output_config, output_data_format, output_file_format) and
    span: the span to ingest (SpanWindow's output for this node's position).
  """

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    properties = {k: v for k, v in exec_properties.items() if k != SPAN_KEY}
    span = int(exec_properties[SPAN_KEY])
    properties[standard_component_specs.RANGE_CONFIG_KEY] = proto_utils.proto_to_json(
        range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
            start_span_number=span, end_span_number=span)))
    properties = example_gen_driver.FileBasedDriver(None).resolve_exec_properties(
        properties, None, None)
    super().Do(input_dict, output_dict, properties)
    examples = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
    example_gen_driver.update_output_artifact(properties, examples.mlmd_artifact)
    examples.span = span  # the property too: KFP's metadata carries one `span` key downstream


SPANS_PROPERTY = "spans"  # SpanUnion's output: the window's spans, comma-separated


class SpanUnionExecutor(base_executor.BaseExecutor):
  """Copies each position's record files into one Examples artefact, split by split.

  Args (inputs): examples_1 (the oldest span's Examples) .. examples_K; output: examples,
    every split of every input, each file renamed `span-<N>-<name>`; `span` = the latest
    span, `spans` = all of them; the latest input's payload and file format.
  """

  def Do(self, input_dict: Dict[str, List[types.Artifact]],
         output_dict: Dict[str, List[types.Artifact]], exec_properties: Dict[str, Any]) -> None:
    del exec_properties
    inputs = [artifact_utils.get_single_instance(input_dict[examples_input(p)])
              for p in range(1, len(input_dict) + 1)]
    output = artifact_utils.get_single_instance(output_dict[standard_component_specs.EXAMPLES_KEY])
    splits = []
    for artifact in inputs:
      splits += [s for s in artifact_utils.decode_split_names(artifact.split_names) if s not in splits]
    output.split_names = artifact_utils.encode_split_names(splits)
    for artifact in inputs:
      for split in artifact_utils.decode_split_names(artifact.split_names):
        source = artifact_utils.get_split_uri([artifact], split)
        target = artifact_utils.get_split_uri([output], split)
        fileio.makedirs(target)
        for name in fileio.listdir(source):
          fileio.copy(os.path.join(source, name), os.path.join(target, f"span-{artifact.span}-{name}"))
    latest = inputs[-1]
    for key in (example_gen_utils.PAYLOAD_FORMAT_PROPERTY_NAME,
                example_gen_utils.FILE_FORMAT_PROPERTY_NAME):
      if key in latest.mlmd_artifact.custom_properties:
        output.mlmd_artifact.custom_properties[key].CopyFrom(latest.mlmd_artifact.custom_properties[key])
    output.span = latest.span
    output.set_string_custom_property(SPANS_PROPERTY, ",".join(
        str(a.span) for a in inputs))
    logging.info("SpanUnion: spans %s", output.get_string_custom_property(SPANS_PROPERTY))
