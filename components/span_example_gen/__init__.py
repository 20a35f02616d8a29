"""SpanWindow and SpanImportExampleGen: a compiled spec's rolling window of spans (see component.py).

Import-light: the key names only.
"""

SPAN_KEY = "span"  # SpanImportExampleGen's exec property: the span it ingests
WINDOW_KEY = "window"  # SpanWindow's: how many of the latest spans
EXAMPLES_URI_KEY = "examples_uri"  # SpanWindow's: the DIR of span-<N>/ folders


def span_output(position: int) -> str:
  """SpanWindow's output key for a position of the window (1 the oldest .. K the latest)."""
  return f"span_{position}"


def examples_input(position: int) -> str:
  """SpanUnion's input key for a position of the window."""
  return f"examples_{position}"
