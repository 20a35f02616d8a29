"""`mnist-tfx report` (and `run --report`): a run's HTML page, named by its run id."""

import os

from runners.errors import UserError
from runners.handler import checks, metadata_store


def default_output(home: str, run_id: str) -> str:
  """HOME/reports/<run id>.html: the one name both `report` and `run --report` use."""
  return os.path.join(home, "reports", f"{checks.safe_name(run_id)}.html")


def report(args, terminal) -> int:
  config = metadata_store.read_only_config(args)  # before anything heavy loads
  if args.output and not args.output.endswith((".html", ".htm")):
    raise UserError(f"--output {args.output}: must end in .html")
  checks.check_output_file("--output", args.output)
  terminal.out.write(write(config, args.run, args.output, home=args.home))
  return 0


def write(connection_config, run_id: str, output: str = None, home: str = None) -> str:
  """Renders the report with TF/absl logs kept off the terminal; returns the line to print.

  `run_id` may be "latest"; without `output` the page goes to default_output(home, <its id>).
  """
  os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
  import logging  # pylint: disable=import-outside-toplevel
  for name in ("tensorflow", "absl"):  # TF's Python deprecation notes
    logging.getLogger(name).setLevel(logging.ERROR)
  from pipelines import report  # pylint: disable=import-outside-toplevel
  try:
    run = report.find_run(connection_config, run_id)
  except report.ReportError as e:
    raise UserError(str(e)) from None
  if output is None:
    output = default_output(home, run.run_id)
  os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
  report.write_report(run, output)
  return f"report: {output}\n"
