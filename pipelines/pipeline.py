"""The one TFX graph every pipeline here shares.

ingest → validate (StatisticsGen, ImportSchemaGen, ExampleValidator) →
Transform → Trainer → Evaluator → Pusher. Each pipeline supplies only its
ExampleGen and a `ModelSpec` describing what is specific to it.
"""

import dataclasses
from typing import Any, Dict

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx
from tfx.dsl.components.base import base_component

from components.idempotent_pusher.component import IdempotentPusher
from pipelines import configs


@dataclasses.dataclass(frozen=True)
class ModelSpec:
  """The pipeline-specific parts of the graph."""
  schema_file: str
  preprocessing_fn: str  # dotted path, importable where the pipeline runs
  run_fn: str
  custom_config: Dict[str, Any]
  eval_config: tfma.EvalConfig  # with change thresholds if compare_to_baseline
  compare_to_baseline: bool = False


def create_pipeline(config: configs.PipelineConfig, example_gen: base_component.BaseComponent,
                    spec: ModelSpec) -> tfx.dsl.Pipeline:
  statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
  schema_gen = tfx.components.ImportSchemaGen(schema_file=spec.schema_file)
  example_validator = tfx.components.ExampleValidator(
      statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
  # The test split is only for the Evaluator, which parses raw examples itself.
  transform = tfx.components.Transform(
      examples=example_gen.outputs["examples"],
      schema=schema_gen.outputs["schema"],
      preprocessing_fn=spec.preprocessing_fn,
      splits_config=tfx.proto.SplitsConfig(analyze=["train"], transform=["train", "eval"]))
  trainer = tfx.components.Trainer(
      run_fn=spec.run_fn,
      examples=transform.outputs["transformed_examples"],
      transform_graph=transform.outputs["transform_graph"],
      schema=schema_gen.outputs["schema"],
      train_args=tfx.proto.TrainArgs(splits=["train"]),
      eval_args=tfx.proto.EvalArgs(splits=["eval"]),
      custom_config=spec.custom_config)
  components = [example_gen, statistics_gen, schema_gen, example_validator, transform, trainer]
  baseline = None
  if spec.compare_to_baseline:
    # The latest blessed model of this pipeline (one pipeline per model name).
    resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    components.append(resolver)
    baseline = resolver.outputs["model"]
  evaluator = tfx.components.Evaluator(
      examples=example_gen.outputs["examples"],
      model=trainer.outputs["model"],
      baseline_model=baseline,
      example_splits=["test"],
      eval_config=spec.eval_config)
  pusher = IdempotentPusher(
      model=trainer.outputs["model"],
      model_blessing=evaluator.outputs["blessing"],
      push_destination=tfx.proto.PushDestination(
          filesystem=tfx.proto.PushDestination.Filesystem(base_directory=config.serving_dir)),
  ).with_id("Pusher")
  return tfx.dsl.Pipeline(
      pipeline_name=config.pipeline_name,
      pipeline_root=config.pipeline_root,
      components=components + [evaluator, pusher],
      enable_cache=config.enable_cache,
      metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
          config.metadata_path),
      beam_pipeline_args=config.beam_pipeline_args)
