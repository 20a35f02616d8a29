"""The one TFX graph every pipeline here shares, gates included.

    ExampleGen ─► StatisticsGen ─► ExampleGate ◄─ ImportSchemaGen, ServedBaseline (statistics)
                                       │ (stops the run on any anomaly or drift)
                                       ▼
      Transform [─► Tuner] ─► Trainer ─┬─► BaselineEvaluator ◄─ ServedBaseline (model)
                                        └─► InfraValidator
                                                 ▼
                                   IdempotentPusher (blessed by both; atomic)

Each pipeline supplies only its ExampleGen and a `ModelSpec` describing what is
specific to it; a runner supplies the `PipelineRuntime` (root, metadata, schema
and serving locations, Beam flags). Nothing here knows which machine or
orchestrator runs it, and there is no Resolver node (Kubeflow's open-source
backend cannot run one): the baseline is the model being served.
"""

import dataclasses
from typing import Any, Dict, Optional, Sequence, Tuple

import tensorflow_model_analysis as tfma
# Not `from tfx import v1`: that also imports the Google Cloud extensions (~6 s of start-up).
from tfx.components import StatisticsGen, Transform, Tuner
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.dsl.components.base import base_component
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import pusher_pb2, trainer_pb2, transform_pb2
from tfx.types import channel_utils

from components.baseline_evaluator.component import BaselineEvaluator
from components.example_gate.component import ExampleGate
from components.idempotent_pusher.component import IdempotentPusher
from components.recipe_trainer import TUNE_TRIALS_KEY
from components.recipe_trainer.component import RecipeTrainer
from components.infra_validator.component import ServingInfraValidator
from components.served_baseline.component import ServedBaseline
from components.span_example_gen.component import span_union
from pipelines.definition import PipelineRuntime

from pipelines import nodes


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """The pipeline-specific parts of the graph."""
  preprocessing_fn: str  # dotted path, importable where the pipeline runs
  run_fn: str
  custom_config: Dict[str, Any]
  eval_config: tfma.EvalConfig  # with change thresholds if compare_to_baseline
  serving_model_name: str  # the name the infra-validation server loads it under
  compare_to_baseline: bool = False
  # Run-time overrides of the recipe's length (RuntimeParameters when compiled for Kubeflow);
  # None: the recipe in custom_config decides.
  epochs: Any = None
  train_steps: Any = None
  # --tune N: TFX's Tuner runs N trials of the model module's tuner_fn before the Trainer and
  # hands it the best hyperparameters; 0: no Tuner node.
  tuner_fn: Optional[str] = None
  tune_trials: int = 0


def create_pipeline(pipeline_name: str, runtime: PipelineRuntime,
                    example_gens: Sequence[Tuple[str, base_component.BaseComponent]],
                    spec: ModelSpec) -> tfx_pipeline.Pipeline:
  """The graph over `example_gens`: [("", gen)] for one dataset, or [(suffix, gen)] per span
  of the window, oldest first, the suffix naming its data nodes (pipelines/examples_dir.py,
  nodes.span_suffix / nodes.window_suffix).

  Per span: its own StatisticsGen and ExampleGate, named after the span (or, compiled, its
  position in the window), so a span's data work is cached whatever window it is in. Transform analyses, the Tuner and Trainer
  learn from, every span's train split (a union channel); the Evaluator measures on the
  latest span's test split, and the Pusher files the latest span's statistics with the
  model: the next run measures drift against the newest data behind what is served.
  """
  schema_gen = ImportSchemaGen(schema_file=runtime.schema_uri).with_id(nodes.SCHEMA_GEN)
  baseline = ServedBaseline(serving_dir=runtime.serving_dir,
                            served_version=runtime.served_version or "").with_id(nodes.SERVED_BASELINE)
  data_nodes, statistics, gates = [], [], []
  for suffix, example_gen in example_gens:
    name = lambda node, suffix=suffix: node + suffix  # pylint: disable=unnecessary-lambda-assignment
    # What picks a compiled spec's spans (SpanWindow) is upstream of its ExampleGens.
    data_nodes += [node for node in example_gen.upstream_nodes if node not in data_nodes]
    # Given the curated schema, StatisticsGen keeps per-value counts of categorical features
    # (the MNIST label), which the drift comparator needs.
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"],
                                   schema=schema_gen.outputs["schema"]).with_id(name(nodes.STATISTICS_GEN))
    gate = ExampleGate(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"],
        baseline_statistics=baseline.outputs["statistics"]).with_id(name(nodes.EXAMPLE_GATE))
    data_nodes += [example_gen, statistics_gen]
    statistics.append(statistics_gen.outputs["statistics"])
    gates.append(gate)
  latest_examples = example_gens[-1][1].outputs["examples"]
  examples, union = latest_examples, None
  if len(example_gens) > 1 and runtime.union_channels:
    examples = channel_utils.union([gen.outputs["examples"] for _, gen in example_gens])
  elif len(example_gens) > 1:
    union = span_union([gen.outputs["examples"] for _, gen in example_gens]).with_id(nodes.SPAN_UNION)
    examples = union.outputs["examples"]
  transform = Transform(
      examples=examples,
      schema=schema_gen.outputs["schema"],
      preprocessing_fn=spec.preprocessing_fn,
      materialize=False,
      disable_statistics=True,
      splits_config=transform_pb2.SplitsConfig(analyze=["train"])).with_id(nodes.TRANSFORM)
  # Nothing is transformed or trained on data the gate has not passed. An ordering edge,
  # not an artefact input: Transform's cache key stays its data and code.
  for gate in gates:
    transform.add_upstream_node(gate)
  tuner = None
  if spec.tune_trials > 0:
    tuner = Tuner(
        tuner_fn=spec.tuner_fn,
        examples=examples,
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
        custom_config={**spec.custom_config, TUNE_TRIALS_KEY: spec.tune_trials}).with_id(nodes.TUNER)
  warm_start_base = None  # what the Trainer starts from: the served model, or a pinned version
  if runtime.warm_start_from == "":
    warm_start_base = baseline
  elif runtime.warm_start_from is not None:
    warm_start_base = ServedBaseline(serving_dir=runtime.serving_dir,
                                     served_version=runtime.warm_start_from).with_id(nodes.WARM_START_BASE)
  trainer = RecipeTrainer(
      run_fn=spec.run_fn,
      examples=examples,
      transform_graph=transform.outputs["transform_graph"],
      schema=schema_gen.outputs["schema"],
      custom_config=spec.custom_config,
      hyperparameters=tuner.outputs["best_hyperparameters"] if tuner else None,
      # TFX's warm-start input (models/warm_start.py decides if the model fits).
      base_model=warm_start_base.outputs["model"] if warm_start_base else None,
      epochs=spec.epochs, train_steps=spec.train_steps).with_id(nodes.TRAINER)
  evaluator = BaselineEvaluator(
      examples=latest_examples,
      model=trainer.outputs["model"],
      baseline_model=baseline.outputs["model"] if spec.compare_to_baseline else None,
      example_splits=["test"],
      eval_config=spec.eval_config).with_id(nodes.EVALUATOR)
  infra_validator = ServingInfraValidator(
      model=trainer.outputs["model"],
      serving_model_name=spec.serving_model_name).with_id(nodes.INFRA_VALIDATOR)
  pusher = IdempotentPusher(
      model=trainer.outputs["model"],
      model_blessing=evaluator.outputs["blessing"],
      infra_blessing=infra_validator.outputs["blessing"],
      statistics=statistics[-1],
      push_destination=pusher_pb2.PushDestination(
          filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=runtime.serving_dir)),
  ).with_id(nodes.PUSHER)
  return tfx_pipeline.Pipeline(
      pipeline_name=pipeline_name,
      pipeline_root=runtime.pipeline_root,
      components=[*data_nodes, *([union] if union else []), schema_gen, baseline, *gates, transform,
                  *([tuner] if tuner else []),
                  *([warm_start_base] if warm_start_base not in (None, baseline) else []),
                  trainer, evaluator, infra_validator, pusher],
      enable_cache=runtime.enable_cache,
      metadata_connection_config=runtime.metadata_connection_config,
      beam_pipeline_args=list(runtime.beam_pipeline_args))
