"""GET /canned-replies: the replies supervisors keep in api/canned_replies.yml."""

from __future__ import annotations

import os
import re

import pytest

from app.api.routes.canned import CANNED_FILE, get_canned_path, read_canned_file

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_shipped_file_has_a_dozen_chinese_replies_with_short_unique_keys():
    replies = read_canned_file(CANNED_FILE).replies
    assert len(replies) >= 12
    keys = [r.key for r in replies]
    assert len(set(keys)) == len(keys) and all(len(k) <= 24 for k in keys)
    assert all(CJK.search(r.text) and CJK.search(r.title) for r in replies)


def test_staff_read_the_replies(client, agent1, supervisor):
    for headers in (agent1, supervisor):
        response = client.get("/canned-replies", headers=headers)
        assert response.status_code == 200, response.text
        replies = response.json()["replies"]
        assert {"key", "title", "text"} == set(replies[0])
        assert any(r["key"] == "hello" and "人工客服" in r["text"] for r in replies)


def test_only_staff(client, service):
    assert client.get("/canned-replies").status_code == 401
    assert client.get("/canned-replies", headers=service).status_code == 403


def test_an_edited_file_is_served_without_a_restart(app, client, agent1, tmp_path):
    path = tmp_path / "canned.yml"
    path.write_text("replies:\n  - {key: a1, title: 第一条, text: 您好}\n", encoding="utf-8")
    app.dependency_overrides[get_canned_path] = lambda: path
    assert [r["key"] for r in client.get("/canned-replies", headers=agent1).json()["replies"]] == ["a1"]
    path.write_text(
        "replies:\n  - {key: a1, title: 第一条, text: 您好}\n  - {key: 新, title: 第二条, text: 再见}\n",
        encoding="utf-8",
    )
    stat = path.stat()
    os.utime(
        path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000)
    )  # a later edit, whatever the clock
    assert [r["key"] for r in client.get("/canned-replies", headers=agent1).json()["replies"]] == ["a1", "新"]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "file not found"),
        ("replies: [", "not readable YAML"),
        ("replies:\n  - {key: a, title: t}\n", "replies.0.text"),
        ("replies:\n  - {key: 'has space', title: t, text: x}\n", "replies.0.key"),
        ("replies:\n  - {key: a, title: t, text: x}\n  - {key: A, title: u, text: y}\n", "used twice"),
        ("- just a list\n", "file"),
    ],
)
def test_a_broken_file_is_a_503_that_names_the_problem(app, client, agent1, tmp_path, content, says):
    path = tmp_path / "canned.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    app.dependency_overrides[get_canned_path] = lambda: path
    response = client.get("/canned-replies", headers=agent1)
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert detail["field"] == "canned_replies" and says in detail["msg"], detail
