"""What pyproject.toml cannot say to setuptools: the top-level ``templates/`` folder (report and page
templates, where reviewers and the golden tests expect them) ships inside the package as
``ledger.templates``. Code finds it with ``importlib.resources.files("ledger.templates")``, the same in an
editable checkout and an installed wheel. Everything else is configured in pyproject.toml."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["ledger*", "pos*", "reports*"]),
        "ledger.templates",
        "ledger.templates.web",
    ],
    package_dir={"ledger.templates": "templates"},
)
