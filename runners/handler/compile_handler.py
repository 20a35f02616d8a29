"""`mnist-tfx compile`: the pipeline configured for a cluster, compiled, written to --output."""

import os

from runners.commands import options
from runners.errors import UserError
from runners.handler import checks


def compile_pipeline(args, terminal) -> int:
  from pipelines import definition as definitions, registry  # pylint: disable=import-outside-toplevel
  from runners import console, kubeflow_v2  # pylint: disable=import-outside-toplevel

  if not args.output.endswith((".yaml", ".yml", ".json")):
    raise UserError(f"--output {args.output}: must end in .yaml or .json")
  checks.check_output_file("--output", args.output)
  options.check_beam_args(args.beam_arg)
  for flag, value in (("--pipeline-root", args.pipeline_root), ("--serving-root", args.serving_root),
                      ("--data-uri", args.data_uri)):
    if value is not None and "://" not in value:
      raise UserError(f"{flag} {value}: expected a URI the cluster can read (gs://, s3://, "
                      "minio://, ...), not a path of this machine")
  definition = registry.get(args.pipeline)
  try:
    config = definition.configure(args.model, options.pipeline_values(args, definition),
                                  options.recipe_overrides(args), target=definitions.Target.CLUSTER,
                                  data_uri=args.data_uri)
  except definitions.DefinitionError as e:
    raise UserError(str(e)) from None
  placement = kubeflow_v2.KubeflowPlacement(image=args.image, pipeline_root=args.pipeline_root,
                                            serving_root=args.serving_root, beam_args=args.beam_arg)
  with console.quiet_logs(os.devnull):
    try:
      spec = kubeflow_v2.compile_pipeline(definition, config, placement, target=args.target)
    except kubeflow_v2.CompileError as e:
      raise UserError(str(e)) from None
  kubeflow_v2.write_spec(spec, args.output)
  terminal.out.write(f"wrote {args.output}: {args.target} spec of "
                     f"{definition.pipeline_name(config.model)} ({config.description})\n")
  return 0
