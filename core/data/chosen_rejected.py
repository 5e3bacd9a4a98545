"""The chosen/rejected formats: TRL preference datasets and HH-RLHF transcripts.

``trl``: TRL's preference types (https://huggingface.co/docs/trl/dataset_formats), each row
``chosen`` and ``rejected`` with either an explicit ``prompt`` (strings, or lists of
``{"role", "content"}`` messages) or, for message lists, an implicit prompt: the messages both
share. A prompt of one user message becomes its text; a longer one becomes a
``Role: text`` transcript. The reply is one assistant message.

``hh-rlhf``: Anthropic's HH-RLHF rows, ``chosen`` and ``rejected`` transcripts
(``\\n\\nHuman: ... \\n\\nAssistant: ...``) split at the last Assistant turn; the dialogue before
it must be the same in both. A single Human turn becomes its text, a longer dialogue stays a
transcript.

Both read JSONL, JSON, Parquet or a saved HF dataset (``core.data.tables``). The pair id is the
``id`` (else ``pair_id``) column, else the record index. Replies may be empty strings (real RLHF
data has empty answers); prompts may not.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.frame import chosen_side, given_side, pair_id, placed_row, text, to_frame
from core.data.tables import Row, read_rows

ASSISTANT_TURN = "\n\nAssistant:"
HUMAN_TURN = "\n\nHuman:"


def read_trl(path: str | Path, *, seed: int = 0, annotator: str = "imported") -> pd.DataFrame:
    """The pairs frame of a TRL preference file; a ``chosen_side`` column ('A'/'B'), as this
    project's exporters write, keeps that placement instead of the seeded one."""
    rows, seen, frame_rows = read_rows(path), {}, []
    id_column = _id_column(rows)
    for row in rows:
        pid = pair_id(row, id_column, seen)
        prompt, chosen, rejected = trl_texts(row)
        given = given_side(row, "chosen_side")
        frame_rows.append(placed_row(pid, prompt, chosen, rejected, side=given or chosen_side(seed, pid),
                                     seed=None if given else seed, annotator=annotator))
    return to_frame(frame_rows, path)


def read_hh_rlhf(path: str | Path, *, seed: int = 0, annotator: str = "imported") -> pd.DataFrame:
    """The pairs frame of an HH-RLHF file (chosen/rejected transcripts)."""
    rows, seen, frame_rows = read_rows(path), {}, []
    id_column = _id_column(rows)
    for row in rows:
        pid = pair_id(row, id_column, seen)
        before_chosen, chosen = split_last_turn(row, "chosen")
        before_rejected, rejected = split_last_turn(row, "rejected")
        if before_chosen.strip() != before_rejected.strip():
            row.fail("rejected", "the dialogue before its last Assistant turn differs from the one in 'chosen'")
        prompt = dialogue_prompt(before_chosen, row)
        frame_rows.append(placed_row(pid, prompt, chosen, rejected, side=chosen_side(seed, pid), seed=seed,
                                     annotator=annotator))
    return to_frame(frame_rows, path)


def _id_column(rows: list[Row]) -> str | None:
    for column in ("id", "pair_id"):
        if any(column in row.record for row in rows):
            return column
    return None


# -- TRL ---------------------------------------------------------------------------------
def trl_texts(row: Row) -> tuple[str, str, str]:
    """(prompt, chosen reply, rejected reply) of one TRL preference row."""
    record = row.record
    for field in ("chosen", "rejected"):
        if record.get(field) is None:
            row.fail(field, "missing required field")
    if isinstance(record["chosen"], list):
        chosen, rejected = messages(row, "chosen"), messages(row, "rejected")
        if record.get("prompt") is None:
            prompt, chosen, rejected = split_shared_prefix(row, chosen, rejected)
        else:
            prompt = messages(row, "prompt")
        return render_prompt(row, prompt), reply(row, "chosen", chosen), reply(row, "rejected", rejected)
    if record.get("prompt") is None:
        row.fail("prompt", "missing required field (text chosen/rejected without a prompt are transcripts: "
                           "use --format hh-rlhf for Human:/Assistant: ones)")
    return text(row, "prompt"), text(row, "chosen", allow_empty=True), text(row, "rejected", allow_empty=True)


def messages(row: Row, field: str) -> list[tuple[str, str]]:
    value = row.record[field]
    if not isinstance(value, list):
        row.fail(field, f"must be a list of messages like chosen's, got {type(value).__name__}")
    for i, message in enumerate(value):
        if not (isinstance(message, dict) and isinstance(message.get("role"), str)
                and isinstance(message.get("content"), str)):
            row.fail(field, f"message {i} must be an object with string 'role' and 'content', got {message!r:.60}")
    return [(m["role"], m["content"]) for m in value]


def split_shared_prefix(row: Row, chosen: list, rejected: list) -> tuple[list, list, list]:
    """TRL's implicit prompt: the messages chosen and rejected share (all but their last at most)."""
    n = 0
    while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
        n += 1
    if n == 0:
        row.fail("chosen", "shares no prompt messages with 'rejected', and there is no 'prompt'")
    return chosen[:n], chosen[n:], rejected[n:]


def reply(row: Row, field: str, conversation: list[tuple[str, str]]) -> str:
    if len(conversation) != 1 or conversation[0][0] != "assistant":
        row.fail(field, f"must be one assistant message after the prompt, got roles {[r for r, _ in conversation]}")
    return conversation[0][1]


def render_prompt(row: Row, conversation: list[tuple[str, str]]) -> str:
    if not conversation:
        row.fail("prompt", "has no messages")
    if len(conversation) == 1 and conversation[0][0] == "user":
        if not conversation[0][1].strip():
            row.fail("prompt", "is empty")
        return conversation[0][1]
    return "\n\n".join(f"{role.capitalize()}: {content}" for role, content in conversation)


# -- HH-RLHF -----------------------------------------------------------------------------
def split_last_turn(row: Row, field: str) -> tuple[str, str]:
    """(dialogue before the last Assistant turn, that turn's text) of one transcript."""
    transcript = text(row, field)
    cut = transcript.rfind(ASSISTANT_TURN)
    if cut < 0:
        row.fail(field, "has no '\\n\\nAssistant:' turn")
    answer = transcript[cut + len(ASSISTANT_TURN):]
    if HUMAN_TURN in answer:
        row.fail(field, "ends with a Human turn; the last turn must be the Assistant's")
    return transcript[:cut], answer.strip()


def dialogue_prompt(before: str, row: Row) -> str:
    dialogue = before.strip()
    if not dialogue.startswith("Human:") or not dialogue[len("Human:"):].strip():
        row.fail("chosen", "has no Human turn before the last Assistant turn")
    single = ASSISTANT_TURN not in dialogue and HUMAN_TURN not in dialogue
    return dialogue[len("Human:"):].strip() if single else dialogue
