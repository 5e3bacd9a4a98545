"""Constitutions kept in the run store, as a judge reads them.

A constitution is a name and numbered versions (``core/store/constitutions.py``); the packaged
constitution (``constitution.txt``) is version 1 of ``default``. A judge names a version with
``judge.constitution: NAME@VERSION``; ``resolve`` turns that into a principles file holding the
version's text, named by the text's hash (so it never changes), beside the store. The judge's
identity hashes the text it is shown (``identity.py``): a new version is a new judge, judged
afresh, and a version with the packaged text *is* the packaged default judge (its verdicts are
reused, not paid for twice).

What may be saved: a non-empty text (some line that is not blank or a '#' comment) of at most
``MAX_CHARS`` characters that differs from the version it was edited from, and from the latest,
in more than whitespace or comments; an author and a note saying why. A refused save stores nothing.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import re
from pathlib import Path

from core.config import CONSTITUTION_REF, ConfigError, JudgeConfig
from core.data.textfiles import read_utf8
from core.judges.local import DEFAULT_PRINCIPLES, principles_text
from core.store import DuplicateConstitution, Store

MAX_CHARS = 20_000
DEFAULT_NAME = "default"
PACKAGED_AUTHOR = "rlaif-audit"
PACKAGED_NOTE = "The packaged constitution (core/judges/constitution.txt)."
READS_PRINCIPLES = ("local", "openai")  # backends whose verdicts depend on the principles text
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
FOLDER = "constitutions"  # beside the store: the principles files of resolved versions


class ConstitutionError(ValueError):
    """A constitution (or a reference to one) that cannot be used; the message names the field."""


def fingerprint(text: str) -> str:
    """sha256 of what the judge is shown, whitespace collapsed: equal for edits of whitespace or comments."""
    return hashlib.sha256(" ".join(principles_text(text).split()).encode("utf-8")).hexdigest()


def check_text(text: str) -> str:
    """``text`` ready to store (line ends made '\\n'), or ConstitutionError saying what is wrong."""
    if not isinstance(text, str):
        raise ConstitutionError(f"text: must be a string, got {type(text).__name__}")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_CHARS:
        raise ConstitutionError(f"text: {len(text):,} characters, over the limit of {MAX_CHARS:,}")
    if "\x00" in text:
        raise ConstitutionError("text: holds a NUL character")
    if not principles_text(text):
        raise ConstitutionError("text: empty: no line the judge would read (blank lines and lines starting with '#' "
                                "are not shown to it)")
    return text


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConstitutionError(f"name: {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter "
                                "or digit")
    return name


def _check_words(field: str, value: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ConstitutionError(f"{field}: required" + (" (say why this version)" if field == "note" else ""))
    if len(value) > limit:
        raise ConstitutionError(f"{field}: {len(value):,} characters, over the limit of {limit:,}")
    return value


def ensure_default(store: Store) -> None:
    """Make the packaged constitution version 1 of ``default`` (once; a second writer changes nothing)."""
    if store.constitution_version(DEFAULT_NAME, 1) is not None:
        return
    text = read_utf8(DEFAULT_PRINCIPLES)
    try:
        store.add_constitution_version(DEFAULT_NAME, text, fingerprint=fingerprint(text), author=PACKAGED_AUTHOR,
                                       note=PACKAGED_NOTE)
    except DuplicateConstitution:  # another process seeded it first
        pass


def save_version(store: Store, name: str, text: str, *, author: str, note: str,
                 base_version: int | None = None) -> int:
    """Store ``text`` as the next version of ``name`` (edited from ``base_version``); its number.

    ConstitutionError (a ValueError naming the field), with nothing stored, for a bad name, an
    empty text, one over ``MAX_CHARS``, a missing author or note, an unknown base version, or
    a text that changes only whitespace or comments of the base or the latest version.
    """
    name, text = check_name(name), check_text(text)
    author, note = _check_words("author", author, 100), _check_words("note", note, 2000)
    ensure_default(store)
    if base_version is not None and store.constitution_version(name, base_version) is None:
        raise ConstitutionError(f"base version: {name}@{base_version} does not exist")
    try:
        return store.add_constitution_version(name, text, fingerprint=fingerprint(text), author=author, note=note,
                                              base_version=base_version)
    except DuplicateConstitution as exc:
        raise ConstitutionError(str(exc)) from None


def parse_ref(ref: str) -> tuple[str, int]:
    found = CONSTITUTION_REF.fullmatch(ref or "")
    if not found:
        raise ConstitutionError(f"constitution {ref!r}: write NAME@VERSION, e.g. 'default@2'")
    return found.group(1), int(found.group(2))


def version_row(store: Store, ref: str) -> dict:
    """The stored version ``ref`` names (ConstitutionError naming the versions there are)."""
    ensure_default(store)
    name, version = parse_ref(ref)
    row = store.constitution_version(name, version)
    if row is None:
        known = store.constitution_versions(name)
        there = (f"{name} has versions 1-{int(known['version'].max())}" if len(known)
                 else f"no constitution named {name!r} (known: {', '.join(store.constitution_names())})")
        raise ConstitutionError(f"constitution {ref!r} not in the store {store.path}: {there}")
    return row


def principles_file(store: Store, text: str) -> Path:
    """A file holding ``text``, named by its hash, in the folder beside the store (written once, atomically)."""
    folder = store.path.parent / FOLDER
    path = folder / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()[:20]}.txt"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    return path


def resolve(cfg: JudgeConfig, store: Store) -> JudgeConfig:
    """``cfg`` with ``principles`` pointing at the file of its constitution version (unchanged
    without one). A principles file of other text beside a constitution is refused: one of the two."""
    if not cfg.constitution:
        return cfg
    text = version_row(store, cfg.constitution)["text"]
    path = principles_file(store, text)
    if cfg.principles and Path(cfg.principles) != path:
        try:
            differs = principles_text(read_utf8(Path(cfg.principles))) != principles_text(text)
        except OSError:  # e.g. a stored run whose store moved: the version's text is the authority
            differs = False
        if differs:
            raise ConfigError(f"judge.constitution {cfg.constitution!r} and judge.principles {cfg.principles!r} are "
                              "both set, with different texts: keep one of them")
    return dataclasses.replace(cfg, principles=str(path))


def with_version(cfg: JudgeConfig, ref: str, store: Store) -> JudgeConfig:
    """The judge of ``cfg`` shown the constitution version ``ref`` instead of its own principles."""
    return resolve(dataclasses.replace(cfg, principles="", constitution=ref), store)


def principle_configs(cfg: JudgeConfig, store: Store) -> list[tuple[str, JudgeConfig]]:
    """(principle line, judge config) per principle of the resolved ``cfg``: the same judge asked
    about that one principle alone (its own key, so its verdicts are stored apart)."""
    from core.judges.local import read_principles

    lines = read_principles(cfg.principles).splitlines()
    return [(line, dataclasses.replace(cfg, principles=str(principles_file(store, line)), constitution=""))
            for line in lines]


def versions_of_text(store: Store, principles: str) -> list[str]:
    """'NAME@VERSION' of every stored version whose text shows the judge ``principles``."""
    rows = store.constitutions_with_fingerprint([fingerprint(principles)])
    return [f"{r.name}@{r.version}" for r in rows.itertuples()]


def constitution_of(cfg: JudgeConfig, store: Store) -> str:
    """Which version a (resolved) judge reads: its ``constitution``, else the first stored version with
    its principles' text; '' for a judge that reads no principles or a text no version has."""
    if cfg.backend not in READS_PRINCIPLES:
        return ""
    if cfg.constitution:
        return cfg.constitution
    from core.judges.local import read_principles

    ensure_default(store)
    found = versions_of_text(store, read_principles(cfg.principles))
    return found[0] if found else ""


def diff_versions(store: Store, name: str, old: int, new: int) -> str:
    """A unified diff of two versions' texts ('' when they are the same)."""
    a, b = (version_row(store, f"{name}@{v}")["text"] for v in (old, new))
    return "".join(difflib.unified_diff([ln + "\n" for ln in a.splitlines()], [ln + "\n" for ln in b.splitlines()],
                                        fromfile=f"{name}@{old}", tofile=f"{name}@{new}"))
