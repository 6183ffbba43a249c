"""The package and the app install as they should, and the layering's rules stay kept: SQL and
scene metadata parsing only in the store, no sys.path edits in the app."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "genesis_pipeline"
APP = REPO / "app"
SQL = re.compile(
    r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b.*\b(FROM|VALUES|SET|WHERE)\b"
)


def _configured_packages() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    return set(config["packages"])


def test_every_package_is_listed_in_pyproject() -> None:
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in PACKAGE.rglob("__init__.py")} | {
        "genesis_pipeline.store.migrations",
        "genesis_app",
        "genesis_app.views",
    }
    assert on_disk <= _configured_packages(), on_disk - _configured_packages()


def test_the_app_is_the_installed_genesis_app_package() -> None:
    spec = importlib.util.find_spec("genesis_app")
    assert spec is not None and spec.origin is not None
    assert Path(spec.origin).resolve().parent == APP
    assert (APP / "streamlit_app.py").is_file()


def test_no_sys_path_edits_in_the_app() -> None:
    for path in APP.rglob("*.py"):
        assert "sys.path" not in path.read_text(), path


def test_sql_only_in_the_store() -> None:
    sources = [*PACKAGE.rglob("*.py"), *APP.rglob("*.py")]
    outside = [p for p in sources if PACKAGE / "store" not in p.parents]
    for path in outside:
        text = path.read_text()
        assert ".execute(" not in text, f"{path}: runs SQL"
        assert not SQL.search(text), f"{path}: SQL text"
        assert "metadata_json" not in text, f"{path}: parses a JSON column the store parses"
