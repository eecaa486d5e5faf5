"""The replay command: the same pipeline offline, CSV in, decisions out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.voting.integrity.replay import main, parse_time

VOTES = """vote_id,voter,target,target_author,value,at,origin,device
1,ann,post1,zed,1,2024-05-01T12:00:00Z,addr-ann,ua1
2,zed,post1,zed,1,2024-05-01T12:01:00Z,,
3,f1,post2,zed,1,2024-05-01T12:02:00Z,,
4,f2,post2,zed,1,2024-05-01T12:05:00Z,,
5,f3,post2,zed,1,2024-05-01T12:09:00Z,,
6,f4,post2,zed,1,2024-05-01T12:15:00Z,,
7,ann,post1,zed,1,2024-05-01T13:00:00Z,addr-ann,ua1
8,ann,post1,zed,-1,2024-05-01T14:00:00Z,addr-ann,ua1
9,newbie,post1,zed,1,2024-05-01T14:30:00Z,,
10,r1,post3,zed,1,2024-05-01T15:00:00Z,,
11,blocked,post3,zed,1,2024-05-01T15:05:00Z,,
"""
EDGES = "a,b,at,provenance\nzed,f1,,\nzed,f2,,import\nzed,f3,2023-01-01T00:00:00Z,invitation\nzed,f4,,\n"
TRUST = "member,registered_at,email_verified,trust_level\nnewbie,2024-05-01T10:00:00Z,0,new\n"
SOLICITATIONS = "sender,recipients,target,at\nzed,r1;r2,post3,2024-05-01T14:50:00Z\n"
BLOCKS = "blocker,blocked,at\nzed,blocked,2024-04-01T00:00:00Z\n"


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def _read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_replay_writes_one_decision_per_vote_that_changed_something(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, tallies = tmp_path / "decisions.csv", tmp_path / "tallies.csv"
    code = main([
        "--votes", str(_write(tmp_path, "votes.csv", VOTES)), "--graph", str(_write(tmp_path, "edges.csv", EDGES)),
        "--trust", str(_write(tmp_path, "trust.csv", TRUST)), "--solicitations", str(_write(tmp_path, "s.csv", SOLICITATIONS)),
        "--blocks", str(_write(tmp_path, "blocks.csv", BLOCKS)), "--out", str(out), "--tallies", str(tallies),
    ])
    assert code == 0
    rows = {r["vote_id"]: r for r in _read(out)}
    assert "7" not in rows  # a repeat of ann's +1: nothing to decide
    assert (rows["1"]["outcome"], rows["8"]["outcome"]) == ("counted", "counted")
    assert (rows["2"]["outcome"], rows["2"]["reasons"]) == ("not_counted", "self_vote")
    assert {rows[i]["reasons"] for i in "3456"} == {"solicited_in_network_burst"}
    assert [rows[i]["revised"] for i in "3456"] == ["1", "1", "1", "0"]  # found at the fourth
    assert (rows["9"]["outcome"], rows["9"]["weight"], rows["9"]["reasons"]) == ("reduced", "0.5", "new_account;unverified_email;low_trust")
    assert rows["10"]["reasons"] == "solicited_message"
    assert rows["11"]["reasons"] == "blocked_by_author"
    t = {r["target"]: r for r in _read(tallies)}
    assert (t["post1"]["raw"], t["post1"]["trusted"], t["post1"]["downs"]) == ("1", "-0.5", "1")  # ann -1, zed +1 × 0 (self), newbie +1 × 0.5
    assert "1 repeats" in capsys.readouterr().err


def test_replay_rejects_a_bad_row_with_its_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = VOTES.replace("1,ann,post1,zed,1,", "1,ann,post1,zed,2,", 1)
    code = main(["--votes", str(_write(tmp_path, "votes.csv", bad)), "--graph", str(_write(tmp_path, "edges.csv", EDGES)), "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert "votes.csv:2: value 2 is not -1, 0 or 1" in capsys.readouterr().err


def test_replay_names_missing_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--votes", str(_write(tmp_path, "votes.csv", "vote_id,voter\n1,ann\n")), "--graph", str(_write(tmp_path, "e.csv", EDGES)), "--out", str(tmp_path / "o.csv")])
    assert code == 2
    assert "missing column(s) target, target_author, value, at" in capsys.readouterr().err


def test_times_are_epoch_seconds_or_iso_8601() -> None:
    assert parse_time("1714564800") == parse_time("2024-05-01T12:00:00Z") == parse_time("2024-05-01T12:00:00") == 1714564800.0
    with pytest.raises(ValueError, match="not a time"):
        parse_time("yesterday")
