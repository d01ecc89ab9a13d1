"""Loading templates at start-up: the built-in defaults, overridden per part and per kind from `template_dir`."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, Template, TemplateError, TemplateSyntaxError, meta, nodes

from poller.core.model import KINDS
from poller.core.notes.fields import FIELDS
from poller.core.notes.parts import PARTS
from poller.core.notes.render import render
from poller.core.rules import RuleConfig
from poller.errors import ConfigError
from poller.templates.environment import DEFAULTS, FILES, HTML_PARTS, environment
from poller.templates.samples import SAMPLE_NOW, samples

log = logging.getLogger(__name__)
Key = tuple[str | None, str]  # (kind, part); kind None: the template for every kind without its own


def broken(path: str | None, line: int | None, problem: str) -> ConfigError:
    """The one-line error for a template that cannot be used, naming its file and line."""
    where = f"template {path or '(unnamed)'}" + (f", line {line}" if line else "")
    return ConfigError(f"{where}: {problem}")


def failure_line(exc: BaseException) -> tuple[str | None, int | None]:
    """(file, line) of the innermost template frame an error passed through (Jinja maps frames to template lines)."""
    found: tuple[str | None, int | None] = (None, None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(".j2"):
            found = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


@dataclass(frozen=True, eq=False)
class TemplateSet:
    """Compiled templates: what the core renders every notification with (poller.core.notes.parts.Templates)."""

    folder: Path | None  # None: the built-in defaults alone
    overrides: tuple[str, ...]  # the folder's templates, as paths relative to it
    compiled: Mapping[Key, Template]
    fallback: TemplateSet | None = None  # the built-in defaults, for a custom template that fails on a real event
    strict: bool = False  # checking: a failure is a ConfigError naming file and line, not a fallback

    def template(self, kind: str, part: str) -> Template:
        return self.compiled.get((kind, part)) or self.compiled[(None, part)]

    def render(self, kind: str, part: str, fields: Mapping[str, object]) -> str:
        template = self.template(kind, part)
        try:
            return template.render(fields)
        except Exception as exc:
            path, line = failure_line(exc)
            if self.strict or self.fallback is None:
                raise broken(path or template.filename, line, f"{type(exc).__name__}: {exc}") from exc
            # Start-up rendered every template against samples of every kind; a real event can still take a branch
            # they did not. It is the template's fault, not the event's: send the built-in wording, never fail.
            log.warning("template %s, line %s failed on %s event %s (%s: %s); sent with the built-in template",
                        path or template.filename, line, kind, fields.get("event_key"), type(exc).__name__, exc)
            return self.fallback.render(kind, part, fields)

    def checking(self) -> TemplateSet:
        return dataclasses.replace(self, strict=True)

    def describe(self) -> str:
        if self.folder is None:
            return "built-in defaults"
        return f"{self.folder}: {', '.join(self.overrides) or 'no template'} over the built-in defaults"


def load_templates(folder: str | None, rules: RuleConfig) -> TemplateSet:
    """The templates in force: compiled, every name and field checked, and rendered once against a sample event of
    every kind. Anything wrong is a ConfigError naming the file and line, at start-up rather than at delivery."""
    builtin = _builtin(rules)
    if not folder:
        return builtin
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"template_dir: {folder} is not a folder (POLLER_TEMPLATE_DIR or template_dir)")
    overrides = _discover(root)
    templates = _compile([root, DEFAULTS], overrides)
    templates = dataclasses.replace(templates, folder=root, fallback=builtin)
    _check(templates, rules)
    return templates


@functools.lru_cache(maxsize=4)
def _builtin(rules: RuleConfig) -> TemplateSet:
    templates = _compile([DEFAULTS], ())
    _check(templates, rules)
    return templates


def _discover(root: Path) -> tuple[str, ...]:
    """The folder's templates: a part's file at the top (every kind) or in a folder named after a kind (that kind),
    and partials (`_name.j2`) to include or import. Any other `.j2` file or folder is a mistake worth naming."""
    names = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_dir():
            if len(relative.parts) > 1 or relative.name not in KINDS:
                raise ConfigError(f"template_dir: {path} is not a folder of templates for one event kind "
                                  f"(kinds: {', '.join(KINDS)})")
            continue
        if not path.name.endswith(".j2"):
            continue  # notes, a README: not templates
        if path.name not in FILES.values() and not (path.name.startswith("_") and len(relative.parts) == 1):
            raise ConfigError(f"template_dir: {path} is not a template name ({', '.join(FILES.values())}, "
                              "or _name.j2 for a partial at the top)")
        names.append(relative.as_posix())
    return tuple(names)


def _compile(folders: list[Path], overrides: tuple[str, ...]) -> TemplateSet:
    envs = {escaped: environment(folders, escaped=escaped) for escaped in (True, False)}
    compiled: dict[Key, Template] = {}
    for part in PARTS:
        env = envs[part in HTML_PARTS]
        compiled[(None, part)] = _get(env, FILES[part])
        for kind in KINDS:
            if f"{kind}/{FILES[part]}" in overrides:
                compiled[(kind, part)] = _get(env, f"{kind}/{FILES[part]}")
    for name in overrides:
        if name.startswith("_"):
            _get(envs[True], name)  # a partial's syntax and fields; it renders wherever it is included
    return TemplateSet(folder=None, overrides=overrides, compiled=compiled)


def _get(env: Environment, name: str) -> Template:
    """A compiled template whose every top-level name is a known field (StrictUndefined catches the rest, rendering)."""
    assert env.loader is not None
    try:
        template = env.get_template(name)
        source, filename, _uptodate = env.loader.get_source(env, name)
        tree = env.parse(source, name, filename)
        known = set(FIELDS) | set(env.globals)
        for unknown in sorted(meta.find_undeclared_variables(tree) - known):
            line = min(n.lineno for n in tree.find_all(nodes.Name) if n.name == unknown)
            raise broken(filename, line, f"unknown field {unknown!r} (fields: {', '.join(FIELDS)})")
        return template
    except TemplateSyntaxError as exc:
        raise broken(exc.filename, exc.lineno, exc.message or "syntax error") from None
    except TemplateError as exc:
        raise broken(name, None, str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise broken(name, None, f"cannot be read ({exc})") from None


def _check(templates: TemplateSet, rules: RuleConfig) -> None:
    """Every template rendered against a sample event of every kind: an unknown attribute, a failing filter, a
    bad include show up now, named by file and line."""
    checking = rules.with_overrides(templates=templates.checking())
    for sample in samples(rules, SAMPLE_NOW):
        try:
            render(sample.event, sample.context, SAMPLE_NOW, rules=checking)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (rendering the sample {sample.name} notification)") from None
