"""The one part of the build that pyproject.toml cannot declare: the list of packages.

hvdeck's packages live in top-level folders mapped into one namespace by ``[tool.setuptools] package-dir``
in pyproject.toml (hvdeck.tui = tui/, hvdeck.backends = backends/, …). setuptools' declarative
``packages.find`` cannot add that ``hvdeck.`` prefix, so the packages are found here: each mapped folder
and every folder below it, data-only folders included (backends/sim/data), so that a new sub-package
(backends/xen, backends/sim/zones) is built into the wheel without editing a list. Which data files ship
is declared in pyproject.toml (``[tool.setuptools.package-data]``).
"""

import tomllib
import warnings
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.warnings import InformationOnly

HERE = Path(__file__).resolve().parent

# An editable install of a package-dir layout always prints setuptools' "Editable installation ... be
# careful with folders in your working directory with the same name as your package" note, as a warning
# because pip offers no other channel (pypa/packaging-problems#558). There is no folder named hvdeck
# here; real warnings (SetuptoolsWarning, deprecations) still print.
warnings.filterwarnings("ignore", category=InformationOnly)

ROOTS: dict[str, str] = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def packages() -> list[str]:
    found = []
    for name, folder in ROOTS.items():
        found.append(name)
        found.extend(f"{name}.{sub}" for sub in find_namespace_packages(str(HERE / folder)))
    return sorted(found)


setup(packages=packages())
