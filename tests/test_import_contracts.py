"""The custom import-linter contract (tools/import_contracts.py) catches what it is for: one
module using another's private names, by ``from … import _name`` (absolute or relative) or
through an imported module (``mod._name``), and lets public names, dunders and a module's own
names pass. The contract itself runs in the README's test command (``lint-imports``)."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from tools.import_contracts import Violation, is_private, violations_in


@pytest.fixture()
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pkg = tmp_path / "fakepkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "__version__ = '1'\n",
        "a.py": "def _helper():\n    return 1\n\ndef public():\n    return _helper()\n",
        "b.py": "from fakepkg.a import _helper, public\n",
        "c.py": "from fakepkg import a\n\nVALUE = a._helper() + a.public()\n",
        "sub/__init__.py": "",
        "sub/d.py": "from .. import a\nfrom ..a import _helper as h\n\nX = a._helper\n",
        "sub/e.py": "from fakepkg import __version__\nimport json\nY = json._default_decoder\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return pkg


def check(pkg: Path, module: str) -> list[Violation]:
    rel = module.split(".")[1:]
    path = pkg.joinpath(*rel[:-1], f"{rel[-1]}.py")
    return violations_in(module, path.read_text(), False, {"fakepkg"})


def test_private_names_of_other_modules_are_caught(fake_package: Path) -> None:
    assert check(fake_package, "fakepkg.b") == [Violation("fakepkg.b", 1, "fakepkg.a", "_helper")]
    assert check(fake_package, "fakepkg.c") == [Violation("fakepkg.c", 3, "fakepkg.a", "_helper")]
    assert sorted(check(fake_package, "fakepkg.sub.d")) == [
        Violation("fakepkg.sub.d", 2, "fakepkg.a", "_helper"),
        Violation("fakepkg.sub.d", 4, "fakepkg.a", "_helper"),
    ]


def test_own_names_dunders_and_other_packages_pass(fake_package: Path) -> None:
    assert check(fake_package, "fakepkg.a") == []
    assert check(fake_package, "fakepkg.sub.e") == []
    assert not is_private("__version__") and is_private("_x") and not is_private("x")
