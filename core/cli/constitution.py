"""``rlaif-audit constitution list|show|add|diff|compare``: constitution versions in the run store.

    rlaif-audit constitution list
    rlaif-audit constitution show default@2
    rlaif-audit constitution add default --file mine.txt --author ana --note "the judge rewards length"
    rlaif-audit constitution diff default@1 default@2
    rlaif-audit constitution compare --source dataset:team --judge embedded

A judge or run config names a version with ``judge.constitution: default@2``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def configure_parser(parser: argparse.ArgumentParser, default_store: Path) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="every constitution and its versions: who saved each, when, and why")
    listing.add_argument("name", nargs="?", help="only this constitution")
    show = sub.add_parser("show", help="print a version's text (NAME@VERSION, or NAME for its newest)")
    show.add_argument("ref")
    add = sub.add_parser("add", help="save a text file as the next version of a constitution")
    add.add_argument("name")
    add.add_argument("--file", required=True, type=Path, help="the constitution text (UTF-8), at most 20,000 characters")
    add.add_argument("--author", required=True)
    add.add_argument("--note", required=True, help="why this version")
    add.add_argument("--from", dest="base", type=int, help="the version it was edited from (default: the newest)")
    diff = sub.add_parser("diff", help="a unified diff of two versions (one: against the version it was edited from)")
    diff.add_argument("old")
    diff.add_argument("new", nargs="?")
    compare = sub.add_parser("compare", help="the versions judged on a source's held-out pairs, side by side")
    compare.add_argument("--source", required=True, help="'dataset:<name>' or 'run:<id>' with human labels")
    compare.add_argument("--judge", default="embedded", help="'embedded' or a judge YAML (local or API backend)")
    compare.add_argument("--name", default="default")
    compare.add_argument("--baseline", type=int, default=1)
    for p in (listing, show, add, diff, compare):
        p.add_argument("--store", type=Path, default=default_store)


def run(args) -> int:
    from core.judges.constitutions import ConstitutionError
    from core.store import Store

    store = Store(args.store)
    try:
        return {"list": _list, "show": _show, "add": _add, "diff": _diff, "compare": _compare}[args.action](store, args)
    except (ConstitutionError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _ref(store, ref: str) -> tuple[str, int]:
    from core.judges.constitutions import parse_ref
    from core.views.constitution import versions

    return parse_ref(ref) if "@" in ref else (ref, max(versions(store, ref) or [0]))


def _list(store, args) -> int:
    from core.views.constitution import names, versions_table

    for name in [args.name] if args.name else names(store):
        table = versions_table(store, name)
        if table.empty:
            print(f"error: no constitution named {name!r}", file=sys.stderr)
            return 2
        print(f"{name}: {len(table)} version(s)")
        for r in table.itertuples():
            base = f", from {r[4]}" if r[4] else ""
            print(f"  {name}@{r.Version}  {r.Saved}  {r.Author}{base}, {r.Characters} chars: {r.Why}")
    return 0


def _show(store, args) -> int:
    from core.views.constitution import version_text

    print(version_text(store, *_ref(store, args.ref)), end="")
    return 0


def _add(store, args) -> int:
    from core.data.textfiles import read_utf8
    from core.views.constitution import save, versions

    text = read_utf8(args.file)
    base = args.base if args.base is not None else max(versions(store, args.name) or [0]) or None
    if base is None:  # a new constitution
        from core.judges.constitutions import save_version

        version, message = save_version(store, args.name, text, author=args.author, note=args.note), ""
    else:
        version, message = save(store, args.name, text, author=args.author, note=args.note, base_version=base)
    print(message or f"Saved as {args.name}@{version}.")
    print(f"name it in a judge or run config as  judge.constitution: {args.name}@{version}  (store {store.path.resolve()})")
    return 0


def _diff(store, args) -> int:
    from core.views.constitution import diff

    name, old = _ref(store, args.old)
    if args.new is None:
        row = store.constitution_version(name, old)
        if row is None or row["base_version"] is None or row["base_version"] != row["base_version"]:
            print(f"{name}@{old} was not edited from another version; name two versions to compare")
            return 2
        old, new = int(row["base_version"]), old
    else:
        other, new = _ref(store, args.new)
        if other != name:
            raise ValueError(f"diff compares two versions of one constitution, got {name} and {other}")
    print(diff(store, name, old, new), end="")
    return 0


def _compare(store, args) -> int:
    from core.views.constitution_compare import comparison

    started = time.perf_counter()
    shown = comparison(store, args.source, args.judge, args.name, baseline=args.baseline)
    table = shown["table"]
    if table.empty:
        print(f"no version of {args.name} has judged the labelled pairs of {args.source} with this judge yet "
              "(the Constitution page's button, or a judge job, does)")
        return 0
    print(table.to_string(index=False))
    print("\n".join(["", *shown["sentences"], shown["multiple"]]).rstrip())
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0
