"""`mnist-tfx monitor`: one line per finding; exit 0 none, 3 some, 2 input it cannot use."""

import json
import os

from runners import errors
from runners.errors import UserError
from runners.handler import checks

EXIT_FINDINGS = errors.EXIT_NOT_PUSHED  # 3, as a gate that says no: a cron job or watch acts on it


def monitor(args, terminal) -> int:
  if args.output and not args.output.endswith((".html", ".htm")):
    raise UserError(f"--output {args.output}: must end in .html")
  checks.check_output_file("--output", args.output)
  if not os.path.isdir(args.model_base_path):
    raise UserError(f"--model-base-path {args.model_base_path}: not a directory")
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
  import logging  # pylint: disable=import-outside-toplevel
  for name in ("tensorflow", "absl"):
    logging.getLogger(name).setLevel(logging.ERROR)
  from runners import console  # pylint: disable=import-outside-toplevel
  # TF's and TFDV's C++ logs (e.g. "can't find: label", which the SERVING environment expects)
  # are not for the terminal; what the command says goes through `terminal`.
  with console.quiet_logs(os.devnull):
    return _monitor(args, terminal)


def _monitor(args, terminal) -> int:
  import tensorflow_data_validation as tfdv  # pylint: disable=import-outside-toplevel
  from pipelines import monitor as monitoring, registry  # pylint: disable=import-outside-toplevel
  import schemas  # pylint: disable=import-outside-toplevel
  try:
    requests = monitoring.read_logs(args.request_logs)
    names = sorted({log.log_metadata.model_spec.name for log in requests.logs})
    owners = {name: next((d for d in registry.PIPELINES.values() if d.serving_model_name == name), None)
              for name in names}
    unknown = [n for n, d in owners.items() if d is None]
    if unknown:
      raise monitoring.MonitorError(f"--request-logs {args.request_logs}: model {unknown[0]} is not "
                                    "one a pipeline here pushes (known: " + ", ".join(
                                        sorted(d.serving_model_name for d in registry.PIPELINES.values())) + ")")
    if len(names) > 1:
      raise monitoring.MonitorError(f"--request-logs {args.request_logs}: requests for several models "
                                    f"({', '.join(names)}); give the prefix of one model's logs")
    definition = owners[names[0]]
    schema = tfdv.load_schema_text(schemas.schema_path(definition.dataset))
    result = monitoring.analyse(requests, args.model_base_path, schema, definition.label_key,
                                definition.class_output)
  except monitoring.MonitorError as e:
    raise UserError(str(e)) from None
  for warning in requests.warnings:
    terminal.err.write(f"mnist-tfx: warning: {warning}\n")
  if args.json:
    json.dump(result.as_json(), terminal.out, indent=2)
    terminal.out.write("\n")
  else:
    for line in result.lines():
      terminal.out.write(line + "\n")
    if not result.findings:
      terminal.out.write(f"no findings in {len(requests.logs):,} logged requests\n")
  if args.output:
    with open(args.output, "w", encoding="utf-8") as f:
      f.write(monitoring.render(result, schema, args.request_logs, args.model_base_path))
    if not args.json:
      terminal.out.write(f"page: {args.output}\n")
  return EXIT_FINDINGS if result.findings else errors.EXIT_OK
