"""`v4 models`: the catalog as a table and JSON, models from the config file, and --refresh against a real
HTTP server on 127.0.0.1 that lists its models."""

from __future__ import annotations

import json

import pytest

from tests.backends.fake_server import FakeDeepSeek
from tests.conftest import run_v4
from v4cli.config import CATALOG_DATE, DEFAULT_MODEL, DEFAULT_MODELS


@pytest.fixture
def env(tmp_path):
    """An empty config file and no model/URL overrides from the developer's environment."""
    return {"V4_CONFIG": str(tmp_path / "config.toml"), "V4_MODEL": "", "V4_BASE_URL": "", "V4_API_KEY_ENV": "",
            "DEEPSEEK_API_KEY": "", "OPENAI_API_KEY": ""}


def test_the_table_lists_every_catalog_model_with_prices(env):
    proc = run_v4("models", env=env)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "\x1b" not in out
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(lines) == set(DEFAULT_MODELS)
    flash = DEFAULT_MODELS["deepseek-flash"].prices
    row = lines[DEFAULT_MODEL]
    assert row[1] == "*"  # the default model is marked
    assert row[2:4] == ["1M", "384K"]
    off_peak = [flash.input_cache_hit, flash.input_cache_miss, flash.output]
    assert [float(x) for x in row[4].split("/")] == off_peak
    assert [float(x) for x in row[5].split("/")] == pytest.approx([p * flash.peak_multiplier for p in off_peak])
    assert row[-2:] == ["catalog", CATALOG_DATE]
    assert "peak hours 01:00-04:00, 06:00-10:00 UTC" in proc.stderr.decode()


def test_json_carries_off_peak_and_peak_prices_and_config_models(env, tmp_path):
    (tmp_path / "config.toml").write_text('model = "mine"\n[models.mine]\ncontext = 32768\nmax_output = 4096\n'
                                          "[models.mine.prices]\noutput = 0.5\npeak_multiplier = 3\n")
    proc = run_v4("models", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    models = {m["name"]: m for m in data["models"]}
    assert models["mine"] == {
        "name": "mine", "default": True, "context": 32768, "max_output": 4096,
        "prices_off_peak": {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 0.5},
        "prices_peak": {"input_cache_hit": 0.0, "input_cache_miss": 0.0, "output": 1.5},
        "source": "config",
    }
    for name, info in DEFAULT_MODELS.items():
        assert models[name]["prices_off_peak"]["input_cache_miss"] == info.prices.input_cache_miss
        assert models[name]["prices_peak"]["output"] == pytest.approx(info.prices.output * info.prices.peak_multiplier)
        assert not models[name]["default"]
    assert data["peak_hours_utc"] == [[1, 4], [6, 10]] and "served_not_in_catalog" not in data


def test_refresh_asks_the_server_which_models_it_serves(env):
    with FakeDeepSeek(api_key="server-secret-123456", models=("deepseek-flash", "qwen3-coder")) as server:
        env = {**env, "OPENAI_API_KEY": "server-secret-123456"}
        proc = run_v4("models", "--refresh", "--json", "--base-url", server.base_url, env=env)
        assert proc.returncode == 0, proc.stderr
        data = json.loads(proc.stdout)
        served = {m["name"]: m["served"] for m in data["models"]}
        assert served == {name: name == "deepseek-flash" for name in DEFAULT_MODELS}
        assert data["served_not_in_catalog"] == ["qwen3-coder"]
        table = run_v4("models", "--refresh", env={**env, "V4_BASE_URL": server.base_url})
        assert table.returncode == 0, table.stderr
        assert "served but not in the catalog: qwen3-coder" in table.stderr.decode()
        assert table.stdout.decode().splitlines()[0].split()[-1] == "served"
        # the key variable is configurable; the request carried it as a bearer token
        custom = run_v4("models", "--refresh", "--base-url", server.base_url,
                        env={**env, "OPENAI_API_KEY": "", "V4_API_KEY_ENV": "VLLM_KEY", "VLLM_KEY": "server-secret-123456"})
        assert custom.returncode == 0, custom.stderr
        assert all(r.headers.get("authorization") == "Bearer server-secret-123456" for r in server.requests)


def test_refresh_with_a_rejected_key_is_one_line_without_the_key(env):
    with FakeDeepSeek(api_key="the-right-key-000") as server:
        proc = run_v4("models", "--refresh", "--base-url", server.base_url, env={**env, "OPENAI_API_KEY": "wrong-key-999999"})
    err = proc.stderr.decode()
    assert proc.returncode == 1 and err.startswith("v4: error: ") and "401" in err and "Traceback" not in err
    assert "OPENAI_API_KEY" in err and "wrong-key-999999" not in err


def test_refresh_from_deepseek_needs_its_key_before_any_request(env):
    proc = run_v4("models", "--refresh", env=env)
    assert proc.returncode == 2
    assert "DEEPSEEK_API_KEY is not set" in proc.stderr.decode()
    bad_url = run_v4("models", "--refresh", "--base-url", "not a url", env=env)
    assert bad_url.returncode == 2 and "base_url" in bad_url.stderr.decode()
