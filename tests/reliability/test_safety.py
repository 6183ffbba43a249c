"""Paths stay inside the data dir, nothing reaches a shell, user text is data, tickets expire."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
from support.actors import ADMIN

from genesis_pipeline.config import Settings
from genesis_pipeline.errors import InvalidSettingError, UploadError
from genesis_pipeline.services.projects import create_project, get_project
from genesis_pipeline.services.upload import create_upload, finalize_upload
from genesis_pipeline.store import Store

PACKAGE = Path(__file__).resolve().parents[2] / "genesis_pipeline"


def test_tampered_upload_target_outside_the_data_dir_is_rejected(home: Path, footage) -> None:
    store = Store(Settings(home=home))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "clip.mp4", actor=ADMIN)
    outside = home.parent / "elsewhere.mp4"
    shutil.copyfile(footage.path, outside)
    with store.db.write() as con:
        con.execute(
            "UPDATE uploads SET target_path = ? WHERE id = ?", [str(outside), ticket.upload_id]
        )
    with pytest.raises(InvalidSettingError, match="outside the data dir"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    assert outside.is_file()  # not moved into the store, not deleted


def test_store_inside_rejects_escapes(home: Path) -> None:
    store = Store(Settings(home=home))
    assert store.inside("renders/1/x.mp4") == home.resolve() / "renders/1/x.mp4"
    for bad in ("../x", "/etc/passwd", "renders/../../x"):
        with pytest.raises(InvalidSettingError):
            store.inside(bad)
    (home / "link").symlink_to("/etc")
    with pytest.raises(InvalidSettingError):
        store.inside("link/passwd")


def test_user_text_is_stored_as_data(home: Path) -> None:
    store = Store(Settings(home=home))
    name = "Robert'); DROP TABLE projects; --"
    pid = create_project(store, name, actor=ADMIN).id
    assert get_project(store, pid).name == name


def test_ticket_used_twice_or_late_is_refused(home: Path, footage) -> None:
    store = Store(Settings(home=home, upload_ttl_s=3600))
    pid = create_project(store, "p", actor=ADMIN).id
    ticket = create_upload(store, pid, "a.mp4", actor=ADMIN)
    shutil.copyfile(footage.path, ticket.target)
    finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)
    with pytest.raises(UploadError, match="already used"):
        finalize_upload(store, ticket.upload_id, ticket.token, actor=ADMIN)


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_no_shell_anywhere_in_the_package() -> None:
    """Every subprocess gets an argument list; nothing goes through a shell."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for call in _calls(tree):
            for kw in call.keywords:
                if kw.arg == "shell" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    offenders.append(f"{path.name}:{call.lineno} shell=")
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("system", "popen")
                and (isinstance(func.value, ast.Name) and func.value.id == "os")
            ):
                offenders.append(f"{path.name}:{call.lineno} os.{func.attr}")
    assert not offenders, offenders


def test_sql_values_are_parameters() -> None:
    """No f-string or %-formatted SQL carries a value: only internal names are formatted in."""
    # These format table/column names chosen by code (or read from the catalog), not users;
    # the store's attach/detach/use format its alias (a hash of the path) and the access mode.
    allowed = {"_insert_df", "update", "delete_project_rows", "_attach", "_detach", "_open"}
    offenders = []
    for path in (PACKAGE / "store").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for call in _calls(fn):
                if (
                    isinstance(call.func, ast.Attribute)
                    and call.func.attr == "execute"
                    and call.args
                    and isinstance(call.args[0], ast.JoinedStr)
                    and fn.name not in allowed
                ):
                    offenders.append(f"{path.name}:{fn.name}")
    assert not offenders, offenders
