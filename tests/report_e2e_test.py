"""The HTML run report of a real full-MNIST run, rendered in headless Chromium.

Uses the session's MNIST scenario home (tests/conftest.py): its first run trained,
evaluated and pushed the softmax model. The page must be self-contained (every image
an inline PNG that decodes and is not blank), carry every section, and render in
Debian's Chromium to a screenshot that is not blank.
"""

import base64
import io
import re
import shutil
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from pipelines import report
from tests import fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _chromium() -> str:
  path = shutil.which("chromium") or shutil.which("chromium-browser")
  fixtures.require(path is not None, "Debian's chromium is not installed (apt-get install chromium)")
  return path


@pytest.fixture(scope="module")
def first_run_report(mnist_scenario, tmp_path_factory):
  output = tmp_path_factory.mktemp("report") / "first.html"
  started = time.monotonic()
  proc = fixtures.run_cli(["report", "--home", mnist_scenario.home, "--run",
                           mnist_scenario.first.summary["run_id"], "--output", str(output)],
                          timeout=300)
  seconds = time.monotonic() - started
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout == f"report: {output}\n" and proc.stderr == ""
  print(f"report of a full-MNIST run: {seconds:.1f} s (CLI process, TF import included)")
  return output


def _images(page: str):
  return [Image.open(io.BytesIO(base64.b64decode(data)))
          for data in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_page_is_self_contained_with_every_section_and_real_plots(first_run_report, mnist_scenario):
  page = first_run_report.read_text()
  assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from a network
  for heading in report.SECTIONS:
    assert f"<h2>{heading}</h2>" in page
  sections = dict(re.findall(r'<section id="(\w+)">(.*?)</section>', page, re.DOTALL))
  for name in ("data", "training", "evaluation"):
    assert 'src="data:image/png;base64,' in sections[name], name
  for image in _images(page):
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 5, "a blank plot"
  evaluation = sections["evaluation"]
  assert "Misclassified test digits" in evaluation and "blessed" in evaluation
  accuracy = mnist_scenario.first.summary["metrics"]["sparse_categorical_accuracy"]
  misclassified = int(re.search(r"first \d+ of (\d+)", evaluation).group(1))
  # The report runs the trained model over the test split itself: it must agree with TFMA.
  assert misclassified == round((1 - accuracy) * 10000)
  push = sections["push"]
  version = mnist_scenario.first.summary["pushed_path"].rsplit("/", 1)[-1]
  assert f"version <b>{version}</b>" in push and "classification" in push and "serving_default" in push


def test_chromium_renders_it(first_run_report, tmp_path):
  chromium = _chromium()
  shot = tmp_path / "shot.png"
  proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                         "--window-size=1200,4200", f"--screenshot={shot}",
                         f"file://{first_run_report}"], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
  pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
  assert pixels.std() > 20  # not a blank page
  inked_rows = (pixels < 200).any(axis=1)
  assert inked_rows[:3500].mean() > 0.3  # content down the page: plots and tables rendered
  dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                        f"file://{first_run_report}"], capture_output=True, text=True, timeout=120).stdout
  for heading in report.SECTIONS:
    assert f"<h2>{heading}</h2>" in dom
  assert dom.count("<img") >= 5


def test_a_refused_model_shows_the_failed_threshold(mnist_scenario, tmp_path):
  """The weak `--train-steps 1` run: not blessed, the shortfall is on the page."""
  output = tmp_path / "worse.html"
  proc = fixtures.run_cli(["report", "--home", mnist_scenario.home, "--run",
                           mnist_scenario.worse.summary["run_id"], "--output", str(output)], timeout=300)
  assert proc.returncode == 0, proc.stderr
  page = output.read_text()
  assert "<b>not blessed</b>" in page and "nothing was pushed" in page
  for line in mnist_scenario.worse.summary["failed_thresholds"]:
    assert report._escape(line) in page  # pylint: disable=protected-access


def test_run_text_is_escaped(tmp_path):
  assert report._escape('<script>"x"</script>') == "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"  # pylint: disable=protected-access
