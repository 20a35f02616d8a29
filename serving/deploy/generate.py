"""A models.config for the models pushed under a local serving directory (for `mnist-tfx serve`).

    python -m serving.deploy.generate tfx_home/serving > models.config
    mnist-tfx serve --model-config-file models.config
"""

import os
import sys


def models_config(serving_root: str) -> str:
  """TF Serving model_config_list text: one model per subdirectory holding integer versions."""
  root = os.path.abspath(serving_root)
  names = sorted(name for name in os.listdir(root)
                 if os.path.isdir(os.path.join(root, name))
                 and any(v.isdigit() for v in os.listdir(os.path.join(root, name))))
  entries = "".join(f'  config {{\n    name: "{name}"\n    base_path: "{os.path.join(root, name)}"\n'
                    f'    model_platform: "tensorflow"\n  }}\n' for name in names)
  return f"model_config_list {{\n{entries}}}\n"


if __name__ == "__main__":
  if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
    sys.exit("usage: python -m serving.deploy.generate SERVING_DIR > models.config")
  sys.stdout.write(models_config(sys.argv[1]))
