"""`mnist-tfx compile`: a pipeline as a Kubeflow Pipelines v2 spec (or a Vertex AI PipelineJob)."""

from runners.commands import options

NAME = "compile"
HELP = ("compile a pipeline for Kubeflow Pipelines v2 (or Vertex AI); writes nothing but "
        "--output")


def add_arguments(parser) -> None:
  options.add_pipeline_arguments(parser, local_paths=False)
  parser.add_argument("--target", choices=["kubeflow", "vertex"], default="kubeflow",
                      help="kubeflow: a bare PipelineSpec (schema 2.1.0) for the open-source "
                      "backend; vertex: TFX's PipelineJob form (default kubeflow)")
  parser.add_argument("--image", required=True, help="the pipeline image (see Dockerfile)")
  parser.add_argument("--pipeline-root", required=True, metavar="URI",
                      help="object-store URI for artefacts, e.g. gs://BUCKET/tfx")
  parser.add_argument("--serving-root", metavar="URI", help="push destination root (default "
                      "PIPELINE_ROOT/serving); models go to <root>/<model name>/<version>")
  parser.add_argument("--data-uri", metavar="URI",
                      help="the data as the cluster reads it, a run-time parameter of the spec: "
                      "mnist: the IDX files' directory (or --tfds); regression: a "
                      "DIR/{train,eval,test}/*.tfrecord[.gz] tree (default: generated in Beam); "
                      "with --span-window K, either: a DIR of span-<N>/ folders of tf.Examples, "
                      "the latest K read at each run")
  options.add_beam_argument(parser)
  parser.add_argument("--output", required=True, metavar="FILE", help="FILE.yaml or FILE.json")


def handle(args, terminal) -> int:
  from runners.handler import compile_handler  # pylint: disable=import-outside-toplevel
  return compile_handler.compile_pipeline(args, terminal)
