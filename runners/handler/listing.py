"""How the listing commands (`runs`, `models`) print: a JSON list for scripts, or a table."""

import json
from typing import Callable, List, Sequence


def emit(terminal, items: Sequence, as_json: bool, record: Callable, row: Callable,
         header: Sequence[str], empty: str) -> None:
  """Each item as `record(item)` in one JSON list, or as `row(item)` under `header`."""
  if as_json:
    json.dump([record(item) for item in items], terminal.out, indent=2)
    terminal.out.write("\n")
  elif not items:
    terminal.out.write(empty + "\n")
  else:
    terminal.out.write(table([tuple(header)] + [tuple(row(item)) for item in items]) + "\n")


def table(rows: List[Sequence[str]]) -> str:
  """Left-aligned columns, two spaces apart, no trailing blanks."""
  widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
  return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def yes_no(value) -> str:
  return {None: "-", True: "yes", False: "no"}[value]


def headline(run) -> str:
  """The run's headline metric (its definition's), as 0.1234, or '-'."""
  from pipelines import registry  # pylint: disable=import-outside-toplevel
  owner = registry.owner_of(run.pipeline) if run is not None else None
  value = run.metrics.get(owner.headline_metric) if owner else None
  return "-" if value is None else f"{value:.4f}"
