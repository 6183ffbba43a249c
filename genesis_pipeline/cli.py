"""The ``genesis`` command line: parse, call service functions, print (human or ``--json``).

Errors Genesis raises on purpose become one line on stderr (and a JSON error document with
``--json``) and exit code 2; a run whose step failed exits 1; tracebacks only with ``--debug``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from genesis_pipeline import __version__, command_process, serde
from genesis_pipeline.config import Settings
from genesis_pipeline.errors import GenesisError

if TYPE_CHECKING:
    from genesis_pipeline.services.access import Actor
    from genesis_pipeline.store import Store

log = logging.getLogger("genesis_pipeline")

EXIT_OK, EXIT_RUN_FAILED, EXIT_ERROR = 0, 1, 2
_USER_ERRORS = {
    "InvalidSettingError",
    "InvalidMediaError",
    "ModelUnavailableError",
    "NotFoundError",
    "UploadError",
}


# -- the documents ``--json`` prints that no service returns -------------------------------------
@dataclass(frozen=True, slots=True)
class ProjectCreated:
    project_id: int
    name: str


@dataclass(frozen=True, slots=True)
class ConfigVariable:
    variable: str
    default: str
    meaning: str


@dataclass(frozen=True, slots=True)
class ConfigShown:
    settings: dict[str, str]  # every setting in effect, as text
    variables: list[ConfigVariable]
    executor: dict[str, Any]  # where stage calls run (GENESIS_EXECUTOR and its settings)
    storage: str = ""  # where footage and artifacts live, in effect


@dataclass(frozen=True, slots=True)
class ExportWritten:
    project_id: int
    format: str | None  # None: only the renders' subtitles were set
    path: str | None
    cache_hit: bool
    notes: list[str]
    render_subtitles: str  # the project's choice for its renders: off | soft | burned


@dataclass(frozen=True, slots=True)
class TokenShown:
    name: str
    role: str
    prefix: str  # the secret's first characters
    created_at: str
    revoked_at: str | None
    token: str | None  # the secret: only when it was just created


@dataclass(frozen=True, slots=True)
class TokenList:
    tokens: list[TokenShown]


@dataclass(frozen=True, slots=True)
class UserShown:
    name: str
    role: str
    created_at: str
    password_changed_at: str


@dataclass(frozen=True, slots=True)
class UserList:
    users: list[UserShown]


@dataclass(frozen=True, slots=True)
class ErrorShown:
    error: str
    type: str  # the GenesisError subclass


@dataclass(frozen=True, slots=True)
class OrderChanged:
    project_id: int
    action: str  # move-scene | move-chapter | reset | undo
    place: int | None  # the moved item's new place (0-based)
    what: str


class _Bar:
    """A progress display on stderr: a redrawn bar on a terminal, one line per step otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.label = ""

    def __call__(self, done: int, total: int, note: str) -> None:
        if not self.enabled:
            return
        if total == 0:  # a new step begins
            if self.tty and self.label:
                sys.stderr.write("\n")
            self.label = note
            if not self.tty:
                sys.stderr.write(f"genesis: {note} ...\n")
            sys.stderr.flush()
            return
        if not self.tty:
            return
        frac = max(0.0, min(1.0, done / total))
        width = 28
        filled = int(frac * width)
        bar = "#" * filled + "." * (width - filled)
        text = f"\r{self.label:<10} [{bar}] {frac:4.0%} {note[:40]:<40}"
        sys.stderr.write(text)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.label:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _settings(args: argparse.Namespace) -> Settings:
    """The settings in effect: ``GENESIS_*`` variables, ``--data-dir`` over ``GENESIS_HOME``."""
    return Settings.from_env(home=args.data_dir)


def _store(args: argparse.Namespace) -> Store:
    from genesis_pipeline.store import Store

    return Store(_settings(args))


def _cli_actor() -> Actor:
    """Who the command line acts as (recorded in the audit log)."""
    from genesis_pipeline.services.access import cli_actor

    return cli_actor()


def _emit(args: argparse.Namespace, doc: object, human: Callable[[], str]) -> None:
    """``doc`` (a dataclass) as one JSON document with ``--json``, else ``human()``'s text."""
    if args.json:
        sys.stdout.write(json.dumps(serde.to_json(doc), indent=2, default=str) + "\n")
    else:
        text = human()
        if text:
            sys.stdout.write(text.rstrip("\n") + "\n")


# -- commands -----------------------------------------------------------------------------------
def cmd_create_project(args: argparse.Namespace) -> int:
    from genesis_pipeline.services.projects import create_project

    project = create_project(_store(args), args.name, actor=_cli_actor())
    _emit(
        args,
        ProjectCreated(project.id, project.name),
        lambda: f"created project {project.id} ({project.name})",
    )
    return EXIT_OK


def cmd_add_media(args: argparse.Namespace) -> int:
    from genesis_pipeline.services.documents import MediaAdded, added_media_doc
    from genesis_pipeline.services.upload import add_sources

    bar = _Bar(not args.quiet)
    added = add_sources(
        _store(args), args.project_id, args.files, progress=None, actor=_cli_actor()
    )
    bar.close()
    doc = MediaAdded(args.project_id, [added_media_doc(a.media, a.duplicate) for a in added])

    def human() -> str:
        lines = []
        for a in added:
            m = a.media
            what = f"{m.width}x{m.height} {m.fps:g} fps" if m.has_video else "audio only"
            sound = "with audio" if m.has_audio else "no audio"
            dup = " (already in the project)" if a.duplicate else ""
            lines.append(
                f"media {m.id}: {m.original_name}: {m.duration_s:.2f} s, {what}, {sound}{dup}"
            )
        return "\n".join(lines)

    _emit(args, doc, human)
    return EXIT_OK


def cmd_upload_url(args: argparse.Namespace) -> int:
    """Issue an upload ticket for a script: a presigned PUT (S3) or a path (local storage)."""
    from genesis_pipeline.services.upload import create_upload, upload_target

    store = _store(args)
    ticket = create_upload(
        store,
        args.project_id,
        args.filename,
        size_bytes=args.size,
        sha256=args.sha256,
        part_sha256s=[h for h in (args.part_sha256 or "").split(",") if h.strip()],
        actor=_cli_actor(),
    )
    doc = upload_target(store, ticket)

    def human() -> str:
        lines = [
            f"upload {doc.upload_id} for {doc.filename} (expires {doc.expires_at})",
            *(f"  {c}" for c in doc.commands),
            f"then: {doc.finalize}",
        ]
        return "\n".join(lines)

    _emit(args, doc, human)
    return EXIT_OK


def cmd_finalize_upload(args: argparse.Namespace) -> int:
    """Verify an uploaded file and add it to the ticket's project."""
    from genesis_pipeline.services.documents import MediaAdded, added_media_doc
    from genesis_pipeline.services.upload import finalize_upload

    added = finalize_upload(_store(args), args.upload_id, args.token, actor=_cli_actor())
    m = added.media
    doc = MediaAdded(m.project_id, [added_media_doc(m, added.duplicate)])
    dup = " (already in the project)" if added.duplicate else ""
    _emit(args, doc, lambda: f"media {m.id}: {m.original_name}: {m.duration_s:.2f} s{dup}")
    return EXIT_OK


def _lower_priority(nice: int) -> None:
    """Run this process ``nice`` levels lower (``--nice``).

    Raises:
        InvalidSettingError: not 0 to 19 (raising a priority needs root).
    """
    import os

    from genesis_pipeline.errors import InvalidSettingError

    if not 0 <= nice <= 19:
        raise InvalidSettingError("--nice", f"{nice}: must be 0 to 19 (a nice level)")
    if nice:
        os.nice(nice)


def cmd_process_project(args: argparse.Namespace) -> int:
    from genesis_pipeline.runs.options import RunOptions
    from genesis_pipeline.runs.pipeline import ProjectPipelineService

    _lower_priority(args.nice)

    options = RunOptions(
        force=args.force,
        voiceover=Path(args.voiceover) if args.voiceover else None,
        voiceover_offset=args.voiceover_offset,
        voiceover_gain=args.voiceover_gain,
        bed_gain=args.bed_gain,
        render=not args.no_render,
        render_mode=args.render_mode,
        narration_overrun=args.narration_overrun,
        subtitles=args.subtitles,
    )
    if args.narration_overrun is not None:
        from genesis_pipeline.stages.narration import check_overrun_choice

        # Before the run starts: one line naming the flag, no failed run left behind.
        check_overrun_choice(args.narration_overrun, "--narration-overrun")
    if args.subtitles is not None:
        from genesis_pipeline.services.render_settings import check_subtitles_choice

        check_subtitles_choice(args.subtitles, "--subtitles")
    bar = _Bar(not args.quiet)
    try:
        report = ProjectPipelineService(_store(args)).run(
            args.project_id, options, progress=bar, wait=args.wait
        )
    finally:
        bar.close()

    def human() -> str:
        lines = [f"run {report.run_id}: {report.status}"]
        for d in report.step_details:
            hit = " (cached)" if d.get("cache_hit") else ""
            note = f"  {d['note']}" if d.get("note") else ""
            err = f"  ERROR: {d['error']}" if d.get("error") else ""
            took = f"{d.get('duration_s', 0):7.2f} s"
            lines.append(f"  {d['step']:<11} {d['status']:<8} {took}{hit}{note}{err}")
        if report.render_path:
            lines.append(f"render: {report.render_path}")
        return "\n".join(lines)

    _emit(args, report, human)
    if report.status != "succeeded":
        sys.stderr.write(f"genesis: run {report.run_id} failed: {report.error}\n")
        # A run that failed on something the user gave (a file, a setting) is bad input.
        return EXIT_ERROR if report.error_type in _USER_ERRORS else EXIT_RUN_FAILED
    return EXIT_OK


def cmd_make_proxies(args: argparse.Namespace) -> int:
    """Make the playable copies a project's footage needs (what the app runs in the background)."""
    from genesis_pipeline.runs.proxy_worker import ProxiesMade, make_project_proxies

    _lower_priority(args.nice)
    bar = _Bar(not args.quiet)
    try:
        outcomes = make_project_proxies(
            _store(args), args.project_id, retry_failed=args.retry_failed, progress=bar
        )
    finally:
        bar.close()
    doc = ProxiesMade(args.project_id, outcomes)

    def human() -> str:
        if not outcomes:
            return f"project {args.project_id}: another worker is making its playable copies"
        lines = []
        for o in outcomes:
            why = f" ({o.reason})" if o.reason else ""
            err = f": {o.error}" if o.error else ""
            lines.append(f"media {o.media_id}: {o.name}: {o.status}{why}{err}")
        return "\n".join(lines)

    _emit(args, doc, human)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from genesis_pipeline.services.status import status_report

    doc = status_report(_store(args), args.project_id, include_words=args.json or args.words)

    def human() -> str:
        p = doc.project
        lines = [f"project {p.id}: {p.name}"]
        for m in doc.media:
            lines.append(f"  media {m.id}: {m.original_name} ({m.duration_s:.1f} s)")
        lines.append(f"  scenes: {len(doc.scenes)}, chapters: {len(doc.chapters)}")
        c = doc.comments.counts
        if c.threads:
            lines.append(
                f"  comments: {c.open} open of {c.threads} threads"
                + (f", {c.orphaned} orphaned" if c.orphaned else "")
            )
        if doc.last_run:
            r = doc.last_run
            lines.append(f"  last run {r.id}: {r.status}" + (f" ({r.error})" if r.error else ""))
        for render in doc.renders[:3]:
            lines.append(f"  render {render.id}: {render.path} ({render.duration_s:.2f} s)")
        return "\n".join(lines)

    _emit(args, doc, human)
    return EXIT_OK


def cmd_list_projects(args: argparse.Namespace) -> int:
    from genesis_pipeline.services.projects import ProjectList, list_projects

    rows = list_projects(_store(args))
    _emit(
        args,
        ProjectList(rows),
        lambda: (
            "\n".join(
                f"{r.project.id:>4}  {r.project.name}  ({len(r.media)} media, "
                f"last run: {r.last_run.status if r.last_run else 'never'})"
                for r in rows
            )
            or "no projects"
        ),
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from genesis_pipeline.runs.demo import build_demo

    bar = _Bar(not args.quiet)
    try:
        result = build_demo(_store(args), progress=bar, force=args.force)
    finally:
        bar.close()
    _emit(
        args,
        result,
        lambda: (
            f"demo project {result.project_id}: run {result.run.status}\n"
            f"render: {result.render_path}"
        ),
    )
    return EXIT_OK if result.run.status == "succeeded" else EXIT_RUN_FAILED


def cmd_export(args: argparse.Namespace) -> int:
    """Write an export of the approved cut (a timeline, subtitles or chapters); with
    ``--subtitles``, first save the subtitles the project's renders carry."""
    from genesis_pipeline.errors import InvalidSettingError
    from genesis_pipeline.files import write_bytes
    from genesis_pipeline.runs.exports import export_project
    from genesis_pipeline.services.exports import check_format
    from genesis_pipeline.services.render_settings import (
        check_subtitles_choice,
        get_render_subtitles,
        set_render_subtitles,
    )
    from genesis_pipeline.stages.exports.cues import CueParams

    if args.format is None and args.subtitles is None:
        raise InvalidSettingError("--format", "say which export to write (or give --subtitles)")
    if args.format is not None:
        check_format(args.format)
    if args.subtitles is not None:
        check_subtitles_choice(args.subtitles, "--subtitles")
    store = _store(args)
    if args.subtitles is not None:
        set_render_subtitles(
            store, args.project_id, args.subtitles, "--subtitles", actor=_cli_actor()
        )
    subtitles = get_render_subtitles(store, args.project_id)
    if args.format is None:
        doc = ExportWritten(args.project_id, None, None, False, [], subtitles)
        _emit(args, doc, lambda: f"subtitles in renders of project {args.project_id}: {subtitles}")
        return EXIT_OK
    cues = CueParams(
        max_chars=args.max_chars, max_s=args.max_cue_s, mark_uncertain=not args.unmarked
    )
    out = Path(args.out) if args.out else None
    result = export_project(store, args.project_id, args.format, out=out, cue_params=cues)
    if out is None:
        out = store.project_dir("artifacts", args.project_id) / "exports" / result.file_name
        write_bytes(out, result.text.encode("utf-8"))
    for note in result.notes:
        sys.stderr.write(f"genesis: {note}\n")
    doc = ExportWritten(
        args.project_id, args.format, str(out), result.cache_hit, list(result.notes), subtitles
    )
    _emit(args, doc, lambda: f"{args.format}: {out}")
    return EXIT_OK


def cmd_import_timeline(args: argparse.Namespace) -> int:
    """Map an edited timeline onto the project's scenes; change them only with --apply."""
    from genesis_pipeline.services.exports import import_timeline

    report = import_timeline(
        _store(args), args.project_id, Path(args.file), apply=args.apply, actor=_cli_actor()
    )

    def human() -> str:
        lines = [f"{Path(report.file).name}: {report.clips} clips, {len(report.kept)} scenes kept"]
        lines += [f"  reject scene {c.scene_id}: {c.label}" for c in report.reject]
        lines += [f"  approve scene {c.scene_id}: {c.label}" for c in report.approve]
        lines += [f"  not mapped: {u.clip}: {u.reason}" for u in report.unmapped]
        if report.reordered:
            lines.append("  the timeline's order differs from the cut's: not applied")
        if not (report.reject or report.approve):
            lines.append("  no approval changes")
        elif report.applied:
            lines.append("  applied")
        else:
            lines.append("  nothing changed yet: run again with --apply to apply")
        return "\n".join(lines)

    _emit(args, report, human)
    return EXIT_OK


def cmd_order(args: argparse.Namespace) -> int:
    """Show the cut's order, move a scene or a chapter, reset it, undo the last change."""
    from genesis_pipeline.services import cut_order as order
    from genesis_pipeline.services.queries import scenes_table

    store, pid, actor = _store(args), args.project_id, _cli_actor()
    verb = args.order_command
    if verb == "show":
        now = order.cut_order(store, pid)
        names = {
            int(r.id): f"{r.media_name} scene {int(r.idx) + 1}"
            + (" (rejected)" if r.review_status == "rejected" else "")
            for r in scenes_table(store, pid).itertuples()
        }

        def human() -> str:
            lines = [] if now.reordered else ["footage order (nothing moved)"]
            for i, block in enumerate(now.blocks):
                lines.append(f"{i + 1}. {block.title} (chapter id {block.chapter_id})")
                lines += [
                    f"   {j + 1}. {names.get(s, s)} (scene id {s})"
                    for j, s in enumerate(block.scene_ids)
                ]
            return "\n".join(lines) or "no scenes yet"

        _emit(args, now, human)
        return EXIT_OK
    if verb == "history":
        changes = order.order_history(store, pid, limit=args.limit)
        _emit(
            args,
            changes,
            lambda: (
                "\n".join(
                    f"{c.created_at:%Y-%m-%d %H:%M:%S}  {c.who:<12} {c.label}"
                    + ("  (undone)" if c.undone else "")
                    for c in changes
                )
                or "no moves yet"
            ),
        )
        return EXIT_OK
    place: int | None = None
    if verb == "move-scene":
        place = order.move_scene(store, pid, args.scene_id, args.by, actor=actor)
        what = f"scene {args.scene_id} is now {place + 1} in its chapter"
    elif verb == "move-chapter":
        place = order.move_chapter(store, pid, args.chapter_id, args.by, actor=actor)
        what = f"chapter {args.chapter_id} is now {place + 1} in the cut"
    elif verb == "reset":
        n = order.reset_order(store, pid, actor=actor)
        what = f"back to the footage's order ({n} stored places forgotten)"
    else:
        what = f"undid: {order.undo_order_change(store, pid, actor=actor).label}"
    _emit(args, OrderChanged(pid, verb, place, what), lambda: what)
    return EXIT_OK


def cmd_app(args: argparse.Namespace) -> int:
    """Start the review app (Streamlit) on this data dir."""
    import importlib.util
    import os
    import subprocess

    from genesis_pipeline.errors import ToolNotFoundError

    spec = importlib.util.find_spec("genesis_app")
    if spec is None or spec.origin is None:
        raise ToolNotFoundError("genesis_app: the review app is not installed (pip install -e .)")
    entry = Path(spec.origin).resolve().parent / "streamlit_app.py"
    from genesis_pipeline.services.sign_in import (
        check_address,
        read_secrets,
        secrets_paths,
        sign_in_mode,
    )

    store = _store(args)
    mode = sign_in_mode(read_secrets(secrets_paths(entry.parent.parent)), store)
    check_address(args.address, mode, insecure_no_auth=args.insecure_no_auth)
    home = store.home.resolve()
    env = {**os.environ, "GENESIS_HOME": str(home)}
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    signs = {"oidc": "OpenID Connect sign-in", "local": "local accounts", "none": "no sign-in"}
    sys.stderr.write(
        f"genesis: review app on http://{args.address}:{args.port} ({signs[mode]}; data: {home})\n"
    )
    # From the folder above the app: a checkout's .streamlit/config.toml is found there.
    return subprocess.call(cmd, cwd=entry.parent.parent, env=env)


def cmd_token(args: argparse.Namespace) -> int:
    """Create, list or revoke API tokens (a new token's secret is printed this once)."""
    from genesis_pipeline.services.access import create_token, list_tokens, revoke_token

    store = _store(args)
    if args.token_command == "create":
        created = create_token(store, args.name, args.role, actor=_cli_actor())
        t = created.token
        doc = TokenShown(t.name, t.role, t.prefix, t.created_at.isoformat(), None, created.secret)
        _emit(
            args,
            doc,
            lambda: f"token {t.name} ({t.role}); shown once, keep it now:\n{created.secret}",
        )
    elif args.token_command == "revoke":
        t = revoke_token(store, args.name, actor=_cli_actor())
        _emit(
            args,
            TokenShown(t.name, t.role, t.prefix, t.created_at.isoformat(), "now", None),
            lambda: f"token {t.name} revoked",
        )
    else:
        tokens = [
            TokenShown(
                t.name,
                t.role,
                t.prefix,
                t.created_at.isoformat(timespec="seconds"),
                t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else None,
                None,
            )
            for t in list_tokens(store)
        ]
        _emit(
            args,
            TokenList(tokens),
            lambda: (
                "\n".join(
                    f"{t.name:<20} {t.role:<9} {t.prefix}…  created {t.created_at}"
                    + (f"  revoked {t.revoked_at}" if t.revoked_at else "")
                    for t in tokens
                )
                or "no tokens"
            ),
        )
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line on stdin with ``--password-stdin``, else typed twice at a
    prompt (never an argument: argv is visible to every user of the machine).

    Raises:
        InvalidSettingError: no terminal to prompt on, or the two entries differ.
    """
    import getpass

    from genesis_pipeline.errors import InvalidSettingError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise InvalidSettingError(
            "password", "no terminal to ask on; pipe it in with --password-stdin"
        )
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidSettingError("password", "the two entries differ")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    """Local accounts of the app's sign-in form: add, list, remove, passwd."""
    from genesis_pipeline.services import accounts

    store = _store(args)

    def shown(u: Any) -> UserShown:
        return UserShown(
            u.name,
            u.role,
            u.created_at.isoformat(timespec="seconds"),
            u.password_changed_at.isoformat(timespec="seconds"),
        )

    if args.user_command == "add":
        user = accounts.add_user(
            store, args.name, args.role, _read_password(args), actor=_cli_actor()
        )
        _emit(args, shown(user), lambda: f"user {user.name} ({user.role}) added")
    elif args.user_command == "remove":
        user = accounts.remove_user(store, args.name, actor=_cli_actor())
        _emit(args, shown(user), lambda: f"user {user.name} removed")
    elif args.user_command == "passwd":
        user = accounts.set_password(store, args.name, _read_password(args), actor=_cli_actor())
        _emit(args, shown(user), lambda: f"user {user.name}: password changed")
    else:
        users = [shown(u) for u in accounts.list_users(store)]
        _emit(
            args,
            UserList(users),
            lambda: (
                "\n".join(f"{u.name:<20} {u.role:<9} added {u.created_at}" for u in users)
                or "no users (the app signs nobody in; see the README's access modes)"
            ),
        )
    return EXIT_OK


def cmd_api(args: argparse.Namespace) -> int:
    """Serve the HTTP API (FastAPI under uvicorn) on this data dir."""
    from genesis_pipeline.api import serve

    return serve(
        _settings(args),
        host=args.host,
        port=args.port,
        cors_origins=tuple(args.cors_origin or ()),
        log_level="debug" if args.debug else "info",
    )


def cmd_config(args: argparse.Namespace) -> int:
    from genesis_pipeline.config import configuration_table
    from genesis_pipeline.runs.executor import make_executor
    from genesis_pipeline.store import Store

    settings = _settings(args)
    rows = configuration_table()
    executor = make_executor(settings).describe()  # says where; connects to nothing
    storage = Store(settings).storage.describe()  # describes; S3 is not contacted

    def human() -> str:
        table = "\n".join(f"{v:<30} {d or '(empty)':<40} {m}" for v, d, m in rows)
        where = ", ".join(f"{k} {v}" for k, v in executor.items() if k != "executor")
        return (
            f"{table}\n\nexecutor in effect: {executor['executor']} ({where})\n"
            f"storage in effect: {storage}"
        )

    _emit(
        args,
        ConfigShown(
            settings={k: str(v) for k, v in dataclasses.asdict(settings).items()},
            variables=[ConfigVariable(*r) for r in rows],
            executor=executor,
            storage=storage,
        ),
        human,
    )
    return EXIT_OK


# -- parser -------------------------------------------------------------------------------------
def _subtitles_flag(p: argparse.ArgumentParser) -> None:
    # No argparse choices: a bad value is one line naming the flag (exit 2), like every setting.
    p.add_argument(
        "--subtitles",
        metavar="CHOICE",
        help="subtitles of the cut in its renders: off (default), soft (a track players can "
        "switch on) or burned (drawn into the pictures: a full re-encode). Saved for the "
        "project.",
    )


def build_parser() -> argparse.ArgumentParser:
    def add_common(p: argparse.ArgumentParser, default: object) -> None:
        # Accepted before or after the command; the subcommand's copy only overrides when given.
        p.add_argument(
            "--data-dir", default=default, help="data dir (default: $GENESIS_HOME or ./data)"
        )
        p.add_argument(
            "--json", action="store_true", default=default, help="print one JSON document on stdout"
        )
        p.add_argument(
            "--debug", action="store_true", default=default, help="show tracebacks and debug logs"
        )
        p.add_argument(
            "-q", "--quiet", action="store_true", default=default, help="no progress on stderr"
        )

    common = argparse.ArgumentParser(add_help=False)
    add_common(common, argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="genesis", description="Raw footage in, a reviewed rough cut out."
    )
    add_common(parser, None)
    parser.add_argument("--version", action="version", version=f"genesis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("create-project", parents=[common], help="create a project")
    p.add_argument("--name", required=True)
    p.set_defaults(func=cmd_create_project)

    p = sub.add_parser(
        "add-media",
        parents=[common],
        help="add footage to a project (files are copied in; s3:// objects are registered in "
        "place with S3 storage)",
    )
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("files", nargs="+", metavar="FILE|s3://URI")
    p.set_defaults(func=cmd_add_media)

    p = sub.add_parser(
        "upload-url",
        parents=[common],
        help="issue an upload ticket: a presigned PUT (multipart with --size over "
        "GENESIS_S3_MULTIPART_MB) with S3 storage, a path with local storage",
    )
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("--filename", required=True)
    p.add_argument(
        "--size",
        type=int,
        default=None,
        metavar="BYTES",
        help="the file's size (the URLs are signed with it; finalize refuses another size)",
    )
    p.add_argument(
        "--sha256",
        default=None,
        metavar="HEX",
        help="the file's sha256 (a single PUT is signed with it; finalize refuses other bytes)",
    )
    p.add_argument(
        "--part-sha256",
        default=None,
        metavar="HEX,HEX,...",
        help="with --size over GENESIS_S3_MULTIPART_MB: each part's sha256, in order (parts of "
        "GENESIS_S3_MULTIPART_MB, the last shorter); each part URL is signed with its own",
    )
    p.set_defaults(func=cmd_upload_url)

    p = sub.add_parser(
        "finalize-upload",
        parents=[common],
        help="verify an uploaded file (size, sha256, probe) and add it to the ticket's project",
    )
    p.add_argument("--upload-id", required=True)
    p.add_argument("--token", required=True)
    p.set_defaults(func=cmd_finalize_upload)

    p = sub.add_parser("process-project", parents=[common], help="run the pipeline")
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("--voiceover", metavar="PATH", help="narration for the whole cut")
    p.add_argument(
        "--voiceover-offset",
        type=float,
        metavar="S",
        help="where the narration starts on the cut, seconds",
    )
    p.add_argument("--voiceover-gain", type=float, metavar="G", help="narration gain (linear)")
    p.add_argument("--bed-gain", type=float, metavar="G", help="natural sound gain (linear)")
    p.add_argument("--force", action="store_true", help="recompute every step, ignore the cache")
    p.add_argument("--wait", action="store_true", help="wait for a run already in progress")
    p.add_argument(
        "--nice", type=int, default=0, metavar="N", help="lower this run's priority (0-19)"
    )
    p.add_argument("--no-render", action="store_true", help="stop before rendering")
    from genesis_pipeline.services.render_settings import RENDER_MODES

    p.add_argument(
        "--render-mode",
        choices=RENDER_MODES,
        help="smart (default): stream-copy what the cut leaves whole, encode around the cuts; "
        "reencode: decode and encode everything. Saved for the project.",
    )
    p.add_argument(
        "--narration-overrun",
        metavar="CHOICE",
        help="a voiceover that runs past the cut's end: trim (default; fade it out at the end), "
        "extend (the last scene runs on in its source until it is over) or freeze (the last "
        "picture is held under its own sound). Saved for the project.",
    )
    _subtitles_flag(p)
    p.set_defaults(func=cmd_process_project)

    p = sub.add_parser(
        "make-proxies",
        parents=[common],
        help="make playable copies of footage browsers cannot play (cached; the app does this "
        "in the background after an upload)",
    )
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("--retry-failed", action="store_true", help="try failed copies again")
    p.add_argument("--nice", type=int, default=0, metavar="N", help="lower this process' priority")
    p.set_defaults(func=cmd_make_proxies)

    p = sub.add_parser("status", parents=[common], help="everything about a project")
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("--words", action="store_true", help="include word timings in human output")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("list-projects", parents=[common], help="list projects")
    p.set_defaults(func=cmd_list_projects)

    p = sub.add_parser("demo", parents=[common], help="build and process the demo project")
    p.add_argument("--force", action="store_true", help="rebuild even if it exists")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "export",
        parents=[common],
        help="export the approved cut: an NLE timeline, subtitles or chapters",
    )
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument(
        "--format",
        metavar="FORMAT",
        help="otio (Resolve), fcpxml (Final Cut Pro X), fcp7 (Premiere / FCP 7 XML), edl, "
        "srt, vtt, chapters-youtube or chapters-vtt",
    )
    p.add_argument(
        "--out", metavar="PATH", help="file to write (default: artifacts/<project>/exports/)"
    )
    p.add_argument("--max-chars", type=int, default=42, metavar="N", help="subtitle line length")
    p.add_argument(
        "--max-cue-s", type=float, default=7.0, metavar="S", help="longest subtitle cue, seconds"
    )
    p.add_argument(
        "--unmarked",
        action="store_true",
        help="subtitles without the marks on words of uncertain timing (SRT <u>, VTT "
        "<c.uncertain>)",
    )
    _subtitles_flag(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "import-timeline",
        parents=[common],
        help="map an edited timeline (.otio, .fcpxml, .xml, .edl) onto approvals",
    )
    p.add_argument("--project-id", type=int, required=True)
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "--apply", action="store_true", help="apply the approvals (default: only report them)"
    )
    p.set_defaults(func=cmd_import_timeline)

    p = sub.add_parser("order", parents=[common], help="the cut's order: show, move, reset, undo")
    osub = p.add_subparsers(dest="order_command", required=True, metavar="ACTION")
    by_help = "places to move: negative earlier, positive later (stops at the ends)"
    o = osub.add_parser("show", parents=[common], help="chapters and scenes as the cut plays them")
    o.add_argument("--project-id", type=int, required=True)
    o = osub.add_parser("move-scene", parents=[common], help="move a scene within its chapter")
    o.add_argument("--project-id", type=int, required=True)
    o.add_argument("--scene-id", type=int, required=True)
    o.add_argument("--by", type=int, required=True, help=by_help)
    o = osub.add_parser("move-chapter", parents=[common], help="move a chapter with its scenes")
    o.add_argument("--project-id", type=int, required=True)
    o.add_argument("--chapter-id", type=int, required=True)
    o.add_argument("--by", type=int, required=True, help=by_help)
    o = osub.add_parser("reset", parents=[common], help="back to the footage's order")
    o.add_argument("--project-id", type=int, required=True)
    o = osub.add_parser("undo", parents=[common], help="take back the last move or reset")
    o.add_argument("--project-id", type=int, required=True)
    o = osub.add_parser("history", parents=[common], help="the latest moves, newest first")
    o.add_argument("--project-id", type=int, required=True)
    o.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_order)

    p = sub.add_parser("app", parents=[common], help="start the review app in the browser")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="address to bind (default: this machine only); another needs a sign-in configured",
    )
    p.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve a non-local address with no sign-in (anyone who reaches it has every right)",
    )
    p.set_defaults(func=cmd_app)

    p = sub.add_parser("token", parents=[common], help="create, list or revoke API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    t = tsub.add_parser("create", parents=[common], help="issue a token (printed once)")
    t.add_argument("--name", required=True, help="who or what uses it (shown in the audit log)")
    # No argparse choices: a bad role is one line naming the flag, like every setting.
    t.add_argument("--role", required=True, help="viewer, reviewer or admin")
    tsub.add_parser("list", parents=[common], help="every token, revoked ones marked")
    t = tsub.add_parser("revoke", parents=[common], help="refuse a token from now on")
    t.add_argument("--name", required=True)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("user", parents=[common], help="local accounts of the app's sign-in")
    usub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    stdin_help = "read the password from one line of stdin instead of a prompt"
    u = usub.add_parser("add", parents=[common], help="add an account (asks for its password)")
    u.add_argument("name", help="the name to sign in with (shown in the audit log)")
    u.add_argument("--role", required=True, help="viewer, reviewer or admin")
    u.add_argument("--password-stdin", action="store_true", help=stdin_help)
    usub.add_parser("list", parents=[common], help="every account with its role")
    u = usub.add_parser("remove", parents=[common], help="remove an account")
    u.add_argument("name")
    u = usub.add_parser("passwd", parents=[common], help="set an account's password")
    u.add_argument("name")
    u.add_argument("--password-stdin", action="store_true", help=stdin_help)
    p.set_defaults(func=cmd_user)

    p = sub.add_parser("api", parents=[common], help="serve the HTTP API (bearer tokens)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: localhost)")
    p.add_argument("--port", type=int, default=8600)
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow browser pages from this origin (repeatable; default: CORS off)",
    )
    p.set_defaults(func=cmd_api)

    p = sub.add_parser("config", parents=[common], help="show settings and GENESIS_* variables")
    p.set_defaults(func=cmd_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="genesis: %(levelname)s %(name)s: %(message)s"
        if args.debug
        else "genesis: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except GenesisError as exc:
        if args.debug:
            log.exception("failed")
        sys.stderr.write(f"genesis: error: {exc}\n")
        if getattr(args, "json", False):
            shown = ErrorShown(str(exc), type(exc).__name__)
            sys.stdout.write(json.dumps(serde.to_json(shown)) + "\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("genesis: interrupted\n")
        return 130


def run() -> NoReturn:
    """The ``genesis`` command: :func:`main` in a process of its own, tuned for one command
    (:mod:`genesis_pipeline.command_process`)."""
    command_process.begin()
    code = main()
    command_process.end()
    sys.exit(code)


if __name__ == "__main__":
    run()
