"""`v4 ask` end to end: the real CLI against a real HTTP server on 127.0.0.1 that speaks DeepSeek's protocol."""

from __future__ import annotations

import json

import pytest

from tests.backends.fake_server import FakeDeepSeek, disconnect, status
from tests.conftest import make_git_repo, run_v4

KEY = "sk-test-0123456789abcdef"
REPO = {
    "app/main.py": "from app.retry import policy\n\n\ndef main():\n    return policy(3)\n",
    "app/retry.py": "def policy(attempt):\n    return min(60, 2 ** attempt)\n",
    "README.md": "# demo\n",
}


@pytest.fixture
def server():
    with FakeDeepSeek(api_key=KEY) as fake:
        yield fake


def ask(server, *args, stdin=None, cwd=None):
    env = {"DEEPSEEK_API_KEY": KEY}
    return run_v4("ask", "--backend", "deepseek", "--base-url", server.base_url, *args, env=env, stdin=stdin, cwd=cwd)


def test_answer_streams_to_stdout_and_the_question_goes_last(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    proc = ask(server, str(repo), "Where is the retry policy?")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().strip() == server.answer.text
    err = proc.stderr.decode()
    assert KEY not in err and KEY not in proc.stdout.decode()
    assert "hit 1,024" in err and "$" in err  # the usage and cost line
    (request,) = server.chat_requests
    body = request.body
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    assert body["messages"][-1]["content"] == "Where is the retry policy?"
    assert '<file path="app/retry.py"' in body["messages"][1]["content"]
    assert body["thinking"] == {"type": "enabled"} and body["stream"] is True


def test_the_prefix_is_byte_identical_for_different_questions(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    for question in ("First question?", "A different, second question?"):
        assert ask(server, str(repo), question).returncode == 0
    first, second = (r.body["messages"] for r in server.chat_requests)
    assert first[:-1] == second[:-1]
    assert first[-1] != second[-1]


def test_a_repository_over_budget_is_ranked_for_the_question_and_keeps_a_shared_prefix(tmp_path, cache_dir, server):
    filler = "".join(f"def step_{i}(value):\n    return value * {i} + sum(range({i}))\n\n\n" for i in range(150))
    files = {**REPO, **{f"app/module_{n}.py": filler.replace("step_", f"step{n}_") for n in range(20)}}
    repo = make_git_repo(tmp_path / "repo", files)
    questions = ("Where is the retry policy and its backoff cap?", "What does step7_3 compute?")
    for question in questions:  # 40k tokens of budget: the question-independent prefix gets its whole share
        proc = ask(server, str(repo), question, "--budget", "40000")
        assert proc.returncode == 0, proc.stderr
    first, second = (r.body["messages"] for r in server.chat_requests)
    # the question-independent part of the context goes before the acknowledgement, identical for both questions
    assert first[:3] == second[:3]
    assert first[1]["content"].startswith("<context>\n") and first[1]["content"].count("<file path=") >= 3
    # the files chosen for each question travel with it, in the last message, followed by the question
    assert first[-1]["content"].endswith(questions[0]) and second[-1]["content"].endswith(questions[1])
    assert '<file path="app/retry.py"' in first[1]["content"] + first[-1]["content"]
    assert "</context>" in first[-1]["content"] and "</context>" in second[-1]["content"]


def test_dry_run_and_max_cost_send_nothing(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    dry = ask(server, str(repo), "--dry-run", "What does main do?")
    assert dry.returncode == 0, dry.stderr
    out = dry.stdout.decode()
    assert "retry.py" in out and "estimated cost" in out
    refused = ask(server, str(repo), "--max-cost", "0.0000001", "What does main do?")
    assert refused.returncode == 2
    assert "max-cost" in refused.stderr.decode()
    assert server.chat_requests == []


def test_json_output_is_one_object(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    proc = ask(server, str(repo), "--json", "--thinking", "off", "Q?")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["answer"] == server.answer.text
    assert result["usage"]["cache_hit_tokens"] == 1024
    assert result["cost_usd"] > 0
    assert "app/retry.py" in result["included_files"]
    assert server.chat_requests[0].body["thinking"] == {"type": "disabled"}


def test_a_cut_stream_keeps_the_partial_answer_and_exits_1(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    server.inject(disconnect(after=3))
    proc = ask(server, str(repo), "--thinking", "off", "Q?")
    assert proc.returncode == 1
    shown = proc.stdout.decode()
    assert shown and server.answer.text.startswith(shown.strip()[:10])
    logs = json.loads(run_v4("logs", "--json").stdout)
    assert logs[0]["status"] == "cut"


def test_insufficient_balance_is_a_clear_error(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    server.inject(status(402))
    proc = ask(server, str(repo), "Q?")
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "balance" in err.lower() and "Traceback" not in err
    assert len(server.chat_requests) == 1  # never retried


def test_continue_sends_the_earlier_turn_with_the_same_context(tmp_path, cache_dir, server):
    repo = make_git_repo(tmp_path / "repo", REPO)
    assert ask(server, str(repo), "First?").returncode == 0
    proc = ask(server, "-c", "And then?", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    first, second = (r.body["messages"] for r in server.chat_requests)
    assert second[:3] == first[:3]
    assert [m["content"] for m in second[3:]] == ["First?", server.answer.text, "And then?"]


def test_piped_stdin_joins_the_context(tmp_path, cache_dir, server):
    proc = ask(server, "What changed?", stdin=b"diff --git a/x.py b/x.py\n+print('hi')\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    context = server.chat_requests[0].body["messages"][1]["content"]
    assert '<file path="&lt;stdin&gt;"' in context and "+print('hi')" in context


def test_secrets_never_reach_the_api(tmp_path, cache_dir, server):
    token = "ghp_" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa"
    repo = make_git_repo(tmp_path / "repo", dict(REPO, **{"deploy.py": f"GITHUB_TOKEN = '{token}'\n"}))
    assert ask(server, str(repo), "Q?").returncode == 0
    raw = json.dumps(server.chat_requests[0].body)
    assert token not in raw and "[REDACTED:github-token]" in raw


def test_ctrl_c_keeps_the_partial_answer_logs_it_and_exits_130(tmp_path, cache_dir, server):
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.backends.fake_server import drip
    from tests.conftest import ROOT

    repo = make_git_repo(tmp_path / "repo", REPO)
    server.inject(drip(every=0.4))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEEPSEEK_API_KEY": KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "v4cli", "ask", "--backend", "deepseek", "--base-url", server.base_url,
         "--thinking", "off", str(repo), "Q?"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    deadline = time.monotonic() + 60
    while not server.chat_requests and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # a few slow deltas arrive
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out and server.answer.text.startswith(out.decode().strip())
    assert len(out.decode().strip()) < len(server.answer.text)
    assert "Traceback" not in err.decode()
    logged = json.loads(run_v4("logs", "show", "last", "--json").stdout)
    assert logged["status"] == "interrupted" and logged["answer"].strip() == out.decode().strip()


def test_settings_come_from_the_environment_and_the_config_file(tmp_path, cache_dir, server, monkeypatch):
    repo = make_git_repo(tmp_path / "repo", REPO)
    (tmp_path / "no-config.toml").write_text('thinking = "max"\nmax_output = "2k"\n')
    assert ask(server, str(repo), "Q?").returncode == 0
    monkeypatch.setenv("V4_THINKING", "off")  # the environment wins over the file
    assert ask(server, str(repo), "Q?").returncode == 0
    from_file, from_env = (r.body for r in server.chat_requests)
    assert from_file["reasoning_effort"] == "max" and from_file["max_tokens"] == 2000
    assert from_env["thinking"] == {"type": "disabled"} and from_env["max_tokens"] == 2000
