"""The only home of session_state keys and st.cache_* wrappers."""
from __future__ import annotations

import streamlit as st

from core.views import access, agreement, constitution, constitution_compare, costs, session
from core.views import runs_page as runs_ui

ANNOTATOR = "annotator"
SOURCE = "source"
CURRENT_PAIR = "current_pair"
ANSWERED = "answered_pair"
SAMPLING = "sampling"
SKIPPED = "skipped_pairs"
DOWNLOADS = "built_downloads"  # the Data page's files, kept so their buttons survive a rerun
REPORT = "built_report"  # the Report page's HTML, likewise


@st.cache_resource
def get_store():
    """The store (``core.store.Store``), with the sample workspace loaded on first start."""
    return session.open_store()


@st.cache_resource(max_entries=4, show_spinner=False)
def _judged(source: str, store_version: int, pairs_version: int, judgments_version: int) -> dict:
    """A source's pairs, verdicts and label costs (``core.views.agreement.read_judged``), kept read-only and
    uncopied until that source gets new pairs or verdicts: a new human label re-reads only the labels."""
    return agreement.read_judged(get_store(), source)


def judged(source: str, version: tuple) -> dict:
    return _judged(source, *version[:3])


@st.cache_data(max_entries=16, show_spinner="Auditing…")
def cached_audit(source: str, version: tuple, n_boot: int = 1000) -> dict:
    """The audit per judge of ``source`` at ``version`` (``Store.source_version``)."""
    return agreement.audit_with_votes(judged(source, version), get_store().source_vote_codes(source), n_boot=n_boot)


@st.cache_data(max_entries=8, show_spinner=False)
def team_labels(source: str, version: tuple) -> dict:
    """Who labelled the source and how they agree (``core.views.agreement.annotator_summary``) at ``version``."""
    return agreement.annotator_summary(get_store(), source)


def source_costs(source: str, prices: dict) -> dict[str, dict]:
    """What each judge's labels of ``source`` cost at ``prices`` (the sums come with the snapshot)."""
    return costs.costs_from_totals(judged(source, get_store().source_version(source))["costs"], **prices)


def sources() -> list[str]:
    return get_store().source_names()


def pick_source(label: str = "Pairs") -> str | None:
    options = sources()
    if not options:
        st.info("No pairs in the store yet: upload some on the Data page or run the loop.")
        return None
    current = st.session_state.get(SOURCE)
    index = options.index(current) if current in options else 0
    st.session_state[SOURCE] = st.selectbox(label, options, index=index, key="source_select")
    return st.session_state[SOURCE]


def source_reports() -> tuple[str, dict]:
    """The chosen pair source and its audit per judge; stops the page with a hint when there is none."""
    source = pick_source()
    if not source:
        st.stop()
    reports = cached_audit(source, get_store().source_version(source))
    if not reports:
        st.info("No pair here has both a human label and a judge verdict yet. Label some on the Spot-check page.")
        st.stop()
    return source, reports


def annotator() -> str:
    return st.session_state.get(ANNOTATOR, "")


ANNOTATOR_INPUT = "annotator_input"


def remembered_annotator() -> str:
    """The labeller's name: this session's, else the one in the tab's address (?annotator=...), which
    a reload keeps; whichever is known is written to both."""
    name = st.session_state.get(ANNOTATOR) or st.query_params.get(ANNOTATOR, "").strip()
    if name:
        st.session_state[ANNOTATOR] = name
        st.query_params[ANNOTATOR] = name
    return name


def take_annotator() -> None:
    """on_change of the name box: keep the name; the box is not drawn again, so it holds no focus."""
    name = st.session_state.get(ANNOTATOR_INPUT, "").strip()
    if name:
        st.session_state[ANNOTATOR] = name
        st.query_params[ANNOTATOR] = name


def forget_annotator() -> None:
    st.session_state.pop(ANNOTATOR, None)
    st.session_state[ANNOTATOR_INPUT] = ""
    st.query_params.pop(ANNOTATOR, None)


# -- access: who may launch, cancel, resume and delete runs (core/views/access.py) --------------
AUTHORIZED = "access_authorized"
PASSWORD = "access_password"
PASSWORD_WRONG = "access_password_wrong"


def _login_configured() -> bool:
    """Streamlit's OIDC login (st.login) is configured by an [auth] section in secrets.toml."""
    try:
        return hasattr(st, "login") and "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all: Streamlit raises StreamlitSecretNotFoundError
        return False


def _check_password() -> None:
    ok = access.password_matches(st.session_state.get(PASSWORD, ""))
    st.session_state[AUTHORIZED] = ok
    st.session_state[PASSWORD_WRONG] = not ok
    st.session_state[PASSWORD] = ""  # keep whether it matched, never the password itself


def access_controls(what: str = "start, cancel, resume or delete runs") -> bool:
    """Ask for the password (or offer the login) when one is configured; True when this session
    may launch, cancel, resume and delete runs, and upload data. ``what`` names the actions in
    the prompt. One password for all of them: a session that gave it on one page has it on all."""
    login = _login_configured()
    logged_in = login and bool(getattr(st.user, "is_logged_in", False))
    allowed = access.may_act(password_ok=bool(st.session_state.get(AUTHORIZED)), login_configured=login,
                             logged_in=logged_in)
    if allowed:
        return True
    if access.password_configured():
        st.text_input(f"Password to {what} (${access.PASSWORD_ENV})", type="password", key=PASSWORD,
                      on_change=_check_password)
        if st.session_state.get(PASSWORD_WRONG):
            st.error("Wrong password.")
    if login:
        st.button("Log in", key="access_login", on_click=st.login)
    st.caption(f"To {what} you need the password or a login.")
    return False


# -- the Runs form: its values live in a plain key, so they outlive the widgets on a page switch --
RUN_FORM = "run_form_values"
RUN_FORM_FROM = "run_form_from"
RUN_PRESET = "run_form_preset"
RUN_PRESET_WIDGET = "run_preset_select"
RUN_FORM_NOTE = "run_form_note"
RUN_SELECTED = "runs_selected"
MONITOR_RUN = "monitor_run"
MONITOR_CHOSEN = "monitor_run_chosen"


def run_form_key(name: str) -> str:
    return f"run_form.{name}"


def run_form_file_key(name: str) -> str:
    """The text box of a source field whose choice is 'a pairs file'."""
    return f"run_form.{name}#file"


def run_form_values() -> dict:
    """The form's values, dotted name -> value; the quick preset's until the user changes them.
    Widgets (cleared by Streamlit when the page is left) are drawn from these, and write back."""
    if RUN_FORM not in st.session_state:
        st.session_state[RUN_FORM] = runs_ui.default_values()
        st.session_state[RUN_PRESET] = runs_ui.DEFAULT_PRESET
        st.session_state[RUN_FORM_FROM] = f"preset {runs_ui.DEFAULT_PRESET}"
    values = st.session_state[RUN_FORM]
    for name, value in runs_ui.default_values().items():  # a field added to the config since the session began
        values.setdefault(name, value)
    seed_run_form(values)
    return values


def seed_run_form(values: dict) -> None:
    """Give each form widget its value from ``values`` where Streamlit has none (first visit, or back from
    another page, which dropped the widgets' state). Set here, never as a widget's ``value=``."""
    for name, value in values.items():
        if run_form_key(name) not in st.session_state:
            st.session_state[run_form_key(name)] = value


def _load_run_form(values: dict, origin: str) -> None:
    st.session_state[RUN_FORM] = values
    st.session_state[RUN_FORM_FROM] = origin
    st.session_state.pop(RUN_FORM_NOTE, None)
    for name, value in values.items():  # set, not dropped: the browser shows a value set through session_state
        st.session_state[run_form_key(name)] = value


def load_preset() -> None:
    """on_change of the preset box: fill the form from the chosen preset."""
    label = st.session_state[RUN_PRESET_WIDGET]
    st.session_state[RUN_PRESET] = label
    _load_run_form(runs_ui.preset_values(runs_ui.presets()[label]), f"preset {label}")


def load_run_config(run_id: str) -> None:
    """on_click of "New run from this one's config": the form takes that run's stored config."""
    try:
        values = runs_ui.run_values(get_store().get_run(run_id)["config"])
    except ValueError as exc:
        st.session_state[RUN_FORM_NOTE] = f"Cannot reuse run {run_id}'s config: {exc}"
        return
    _load_run_form(values, f"run {run_id}'s config: change what you want, then Start run")


def select_run(run_id: str) -> None:
    """Point the run list and the monitor at ``run_id`` (a run just started)."""
    st.session_state[RUN_SELECTED] = run_id
    st.session_state[MONITOR_CHOSEN] = run_id
    st.session_state.pop(MONITOR_RUN, None)  # the monitor's box is drawn anew at this run


def monitor_run_index(options: list[str], with_curves: list[str]) -> int:
    """Where the monitor's run box starts: the run last chosen there or last started, else the newest
    run that has curves (a newer run the gate stopped has none), else the newest. The box's own key is
    set to it before the box is drawn, so a choice made elsewhere (a button) shows in the browser too."""
    chosen = st.session_state.get(MONITOR_CHOSEN)
    index = options.index(chosen) if chosen in options else options.index(with_curves[0]) if with_curves else 0
    if st.session_state.get(MONITOR_RUN) != options[index]:
        st.session_state[MONITOR_RUN] = options[index]
    return index


def remember_monitor_run(run_id: str | None = None) -> None:
    """Keep the run the monitor shows (its box's on_change, or after drawing it) for the next visit."""
    st.session_state[MONITOR_CHOSEN] = run_id or st.session_state.get(MONITOR_RUN)


# -- the Constitution page: the version being edited, its text, the last save's message --------
CONSTITUTION_NAME = "constitution_name"
CONSTITUTION_VERSION = "constitution_version"
CONSTITUTION_JUDGE = "constitution_judge"
CONSTITUTION_AUTHOR = "constitution_author"
CONSTITUTION_NOTE = "constitution_note"
CONSTITUTION_SAVED = "constitution_saved"
CONSTITUTION_PER_PRINCIPLE = "constitution_per_principle"
CONSTITUTION_STARTED = "constitution_job_started"
CONSTITUTION_CANDIDATE = "constitution_candidate"
CONSTITUTION_BASELINE = "constitution_baseline"


def constitution_text_key(name: str, version: int) -> str:
    return f"constitution_text.{name}@{version}"


def seed_constitution_text(name: str, version: int) -> str:
    """The text box's key for ``name``@``version``, holding that version's text until the person edits it."""
    key = constitution_text_key(name, version)
    if key not in st.session_state:
        st.session_state[key] = constitution.version_text(get_store(), name, version)
    return key


def save_constitution(name: str, version: int) -> None:
    """on_click of "Save as the next version": the edit of ``name``@``version`` becomes a version (or is
    refused with the reason); the box then shows the new version, the old one's text is reloaded."""
    key = constitution_text_key(name, version)
    try:
        new, message = constitution.save(get_store(), name, st.session_state.get(key, ""),
                                         author=st.session_state.get(CONSTITUTION_AUTHOR, ""),
                                         note=st.session_state.get(CONSTITUTION_NOTE, ""), base_version=version)
    except ValueError as exc:
        st.session_state[CONSTITUTION_SAVED] = ("error", f"Not saved: {exc}")
        return
    st.session_state[CONSTITUTION_SAVED] = ("success", message)
    st.session_state[CONSTITUTION_VERSION] = new
    st.session_state[CONSTITUTION_CANDIDATE] = new
    st.session_state[CONSTITUTION_NOTE] = ""
    st.session_state.pop(key, None)


@st.cache_data(max_entries=8, show_spinner="Comparing versions…")
def constitution_comparison(source: str, judge: str, name: str, baseline: int, candidate: int | None,
                            version: tuple, n_versions: int) -> dict:
    """The versions side by side (``core.views.constitution_compare.comparison``) at ``version``
    (``Store.source_version``) with ``n_versions`` versions of ``name``."""
    return constitution_compare.comparison(get_store(), source, judge, name, baseline=baseline, candidate=candidate)


@st.cache_data(max_entries=8, show_spinner="Reading the tuning pairs…")
def constitution_faults(source: str, judge: str, name: str, version: int, data_version: tuple) -> dict:
    return constitution.faults(get_store(), source, judge, name, version)
