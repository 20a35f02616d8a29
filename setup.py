"""mnist-tfx: the TensorFlow tutorial models as a production TFX pipeline."""

from setuptools import find_packages, setup

setup(
    name="mnist-tfx",
    version="0.1.0",
    description="TFX pipelines for the classic TensorFlow MNIST and regression tutorials",
    python_requires="==3.10.*",
    packages=find_packages(include=["pipelines*", "components*", "models*", "serving*"]),
    package_data={"": ["*.pbtxt"]},
    install_requires=[
        # Exact versions of everything live in constraints.txt.
        "tfx[kfp]==1.16.0",
        "tensorflow==2.16.2",
        "tf-keras==2.16.0",
        "apache-beam[gcp]==2.59.0",
        "dill",  # tfx-bsl 1.16 imports it; newer Beam no longer pulls it in
        "tensorflow-datasets",
        "tensorflow-serving-api==2.16.1",
    ],
    extras_require={"dev": ["pytest"]},
    entry_points={"console_scripts": ["mnist-tfx=pipelines.cli:entry_point"]},
)
