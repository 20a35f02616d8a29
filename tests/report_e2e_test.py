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
import sys
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
    assert report.escape(line) in page
  assert "compared with the served model, version " in page  # the first run's push


def test_every_figure_says_what_it_shows(first_run_report):
  """Before, every figure was <img alt="plot">: a page that could not be read without pictures."""
  page = first_run_report.read_text()
  figures = re.findall(r'<figure><img alt="([^"]+)"[^>]*><figcaption>([^<]+)</figcaption></figure>', page)
  assert len(figures) == page.count("<img") >= 5
  alts = [alt for alt, _ in figures]
  assert all(alt != "plot" and len(alt) > 20 for alt in alts), alts
  assert any(alt.startswith("confusion matrix of the trained model on the 10,000 test images")
             for alt in alts), alts
  assert any("55,000 train examples" in alt for alt in alts), alts  # counts from the statistics
  assert "no model was served yet (nothing to compare with)" in page  # the scenario's first run


def test_run_text_is_escaped(tmp_path):
  assert report.escape('<script>"x"</script>') == "&lt;script&gt;&quot;x&quot;&lt;/script&gt;"


# A pipeline report.py has never heard of: the regression graph under its own name, with an
# Evaluation hook of its own and the default Data section.
_TOY_PIPELINE = '''
import sys
from pipelines import registry
from pipelines.definition import PipelineDefinition
from pipelines.regression_pipeline import RegressionDefinition
from runners import cli


class Toy(RegressionDefinition):
  name = "toy"
  serving_model_name = "toy"
  report_data = PipelineDefinition.report_data  # the default

  def report_evaluation(self, run):
    return f"<p id='toy'>toy section: {len(run.steps)} steps</p>"


registry.PIPELINES["toy"] = Toy()
home, page = sys.argv[1], sys.argv[2]
code = cli.main(["run", "--pipeline", "toy", "--examples", "300", "--train-steps", "20", "--home", home])
sys.exit(code if code not in (0, 3) else cli.main(["report", "--home", home, "--output", page]))
'''


def test_a_third_pipeline_gets_a_report_without_touching_report_py(tmp_path):
  page = tmp_path / "toy.html"
  proc = subprocess.run([sys.executable, "-c", _TOY_PIPELINE, str(tmp_path / "home"), str(page)],
                        capture_output=True, text=True, cwd=fixtures.ROOT, timeout=600)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  text = page.read_text()
  for heading in report.SECTIONS:
    assert f"<h2>{heading}</h2>" in text
  assert "<b>toy_linear</b>" in text and "<p id='toy'>toy section: 10 steps</p>" in text
  assert "TFDV statistics" in text and "Training curves" in text  # the generic parts
