"""SpanWindow and SpanImportExampleGen: a rolling window of spans in a compiled Kubeflow spec.

Locally the runner lists `span-<N>/` before the run and builds one ImportExampleGen per
span, pinned to it (pipelines/examples_dir.py). A compiled spec is built before any span
exists, and on Kubeflow's open-source backend TFX's own way of picking spans at run time
does not run: FileBasedExampleGen's driver is a container `lifecycle.preCacheCheck` hook
(tfx/orchestration/kubeflow/v2/step_builder.py, `_build_file_based_example_gen_spec`) that
only Vertex AI executes, and a Resolver node is not implemented there. So:

- SpanWindow (never cached: the folder changes between runs, its parameters do not) lists
  the examples URI when the run starts, checks the latest K spans and outputs each
  position's span number as an Integer value artefact, `span_1` (oldest) .. `span_K`;
- one SpanImportExampleGen per position takes its span as a *dynamic exec property*
  (`SpanWindow.span(i)`, TFX's `channel.future()[0].value`, compiled to a KFP
  `taskOutputParameter`) and does in its executor what TFX's driver would have done
  before it: resolve `span-{SPAN}` to that span, fingerprint the files, record `span`.

KFP's cache key is the task's inputs, outputs' types, command and image — not the task's
name (backend/src/v2/cacheutils/cache.go, GenerateCacheKey) — so the ingestion of a span
is reused whatever position it holds: a run with one new span ingests only that span,
as locally. The window K is fixed when compiling (a KFP v2 graph has a fixed set of
tasks); the examples URI is the run-time parameter.
"""

from typing import Any, Sequence

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ChannelParameter, ComponentSpec, ExecutionParameter

from components.span_example_gen import (EXAMPLES_URI_KEY, SPAN_KEY, WINDOW_KEY, examples_input,
                                         executor, span_output)
from components.span_example_gen import layout


def _window_spec(window: int):
  """SpanWindow's spec for a window of `window` spans: one Integer output per position."""
  return type(f"SpanWindow{window}Spec", (ComponentSpec,), {
      "PARAMETERS": {EXAMPLES_URI_KEY: ExecutionParameter(type=str),
                     WINDOW_KEY: ExecutionParameter(type=int)},
      "INPUTS": {},
      "OUTPUTS": {span_output(p): ChannelParameter(type=standard_artifacts.Integer)
                  for p in range(1, window + 1)},
  })


class SpanWindow(base_component.BaseComponent):
  """Picks the latest `window` spans under `examples_uri` when the run starts.

  Build it with `span_window(uri, K)`: the outputs (one per position) depend on K, and TFX
  checks a spec against its component class's SPEC_CLASS, so each K has its own subclass.
  """
  SPEC_CLASS = _window_spec(1)
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.SpanWindowExecutor)

  def __init__(self, examples_uri: Any, window: int):
    super().__init__(spec=self.SPEC_CLASS(
        examples_uri=examples_uri, window=window,
        **{span_output(p): types.Channel(type=standard_artifacts.Integer)
           for p in range(1, window + 1)}))

  def span(self, position: int):
    """The span at `position` (1 the oldest) as a dynamic exec property of a downstream node."""
    return self.outputs[span_output(position)].future()[0].value


def _union_spec(window: int):
  return type(f"SpanUnion{window}Spec", (ComponentSpec,), {
      "PARAMETERS": {},
      "INPUTS": {examples_input(p): ChannelParameter(type=standard_artifacts.Examples)
                 for p in range(1, window + 1)},
      "OUTPUTS": {standard_component_specs.EXAMPLES_KEY:
                  ChannelParameter(type=standard_artifacts.Examples)},
  })


class SpanUnion(base_component.BaseComponent):
  """The window's Examples as one artefact, for the nodes that learn from all of it.

  Locally those nodes read a union channel of the per-span artefacts (pipelines/pipeline.py);
  TFX's Kubeflow v2 compiler takes one channel per input ("Only single Channel is supported",
  step_builder.py), so a compiled spec copies the window's record files into one artefact
  instead — files copied, nothing re-encoded; cached by KFP while the window's spans stay.
  Build it with `span_union([channel, ...])`.
  """
  SPEC_CLASS = _union_spec(1)
  EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.SpanUnionExecutor)

  def __init__(self, examples: Sequence[types.BaseChannel]):
    super().__init__(spec=self.SPEC_CLASS(
        examples=types.Channel(type=standard_artifacts.Examples),
        **{examples_input(p): channel for p, channel in enumerate(examples, start=1)}))


def span_union(examples: Sequence[types.BaseChannel]) -> SpanUnion:
  """A SpanUnion of the window's Examples channels, oldest first."""
  return type(f"SpanUnion{len(examples)}", (SpanUnion,),
              {"SPEC_CLASS": _union_spec(len(examples))})(examples)


def span_window(examples_uri: Any, window: int) -> SpanWindow:
  """A SpanWindow over the latest `window` spans of `examples_uri` (window ≥ 1)."""
  if window < 1:
    raise ValueError(f"SpanWindow: window {window} must be at least 1")
  component_class = SpanWindow if window == 1 else type(
      f"SpanWindow{window}", (SpanWindow,), {"SPEC_CLASS": _window_spec(window)})
  return component_class(examples_uri, window)


class SpanImportExampleGenSpec(ComponentSpec):
  PARAMETERS = {
      standard_component_specs.INPUT_BASE_KEY: ExecutionParameter(type=str),
      standard_component_specs.INPUT_CONFIG_KEY: ExecutionParameter(type=example_gen_pb2.Input),
      standard_component_specs.OUTPUT_CONFIG_KEY: ExecutionParameter(type=example_gen_pb2.Output),
      standard_component_specs.OUTPUT_DATA_FORMAT_KEY: ExecutionParameter(type=int),
      standard_component_specs.OUTPUT_FILE_FORMAT_KEY: ExecutionParameter(type=int),
      SPAN_KEY: ExecutionParameter(type=int),
  }
  INPUTS = {}
  OUTPUTS = {standard_component_specs.EXAMPLES_KEY: ChannelParameter(type=standard_artifacts.Examples)}


class SpanImportExampleGen(base_component.BaseComponent):
  """TFX's ImportExampleGen over `input_base/span-<span>/{train,eval,test}/`, the span given
  when the run starts (a SpanWindow output)."""
  SPEC_CLASS = SpanImportExampleGenSpec
  EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.SpanImportExecutor)

  def __init__(self, input_base: Any, span: Any):
    input_config = example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name=split, pattern=pattern)
        for split, pattern in layout.split_patterns(spans=True).items()])
    super().__init__(spec=SpanImportExampleGenSpec(
        input_base=input_base, input_config=input_config,
        output_config=example_gen_pb2.Output(),  # the input's splits, as ImportExampleGen's default
        output_data_format=example_gen_pb2.FORMAT_TF_EXAMPLE,
        output_file_format=example_gen_pb2.FORMAT_TFRECORDS_GZIP,
        span=span, examples=types.Channel(type=standard_artifacts.Examples)))
