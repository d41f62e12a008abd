"""`v4 config` and the settings layer: a real TOML file edited in place, environment overrides, keys never shown."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import run_v4
from v4cli import config
from v4cli.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEEPSEEK_KEY = "sk-5d1c2b3a49f8e7d6c5b4a3f2e1d0c9b8"


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("V4_CONFIG", str(path))
    for setting in config.SETTINGS.values():
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return path


def test_set_creates_the_file_and_get_reads_it_back(config_file):
    assert run_v4("config", "path").stdout.decode().strip() == str(config_file)
    proc = run_v4("config", "set", "model", "deepseek-v4-pro")
    assert proc.returncode == 0 and proc.stderr.decode() == f"model set in {config_file}\n"
    for key, value in (("thinking", "max"), ("n_ctx", "128k"), ("gpu_layers", "all"),
                       ("rpc", "10.0.0.2:50052, 10.0.0.3:50052"), ("base_url", "http://127.0.0.1:8080/v1/"),
                       ("api_key_env", "VLLM_KEY"), ("backend", "openai")):
        config.write_setting(key, value)
    stored = tomllib.loads(config_file.read_text())
    assert stored == {"model": "deepseek-v4-pro", "thinking": "max", "n_ctx": 128000, "gpu_layers": -1,
                      "rpc": "10.0.0.2:50052,10.0.0.3:50052", "base_url": "http://127.0.0.1:8080/v1",
                      "api_key_env": "VLLM_KEY", "backend": "openai"}
    assert run_v4("config", "get", "n_ctx").stdout == b"128000\n"
    assert config.resolve_model(None).name == "deepseek-v4-pro"  # the lead's resolver reads the same file


def test_editing_keeps_comments_and_other_tables(config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('# my settings\nmodel = "deepseek-flash"  # cheap\n\n[models.mine]\ncontext = 32000\n'
                           "# served by llama-server\n\n[unrelated]\nx = 1\n")
    config.write_setting("thinking", "low")
    config.write_setting("model", "deepseek-v4-pro")
    config.write_setting("models.mine.max_output", "4096")
    config.write_setting("models.mine.prices.output", "0.5")
    config.write_setting("models.my.model.v1.context", "8k")  # a name with dots is quoted
    text = config_file.read_text()
    assert text.startswith('# my settings\nmodel = "deepseek-v4-pro"\nthinking = "low"\n\n[models.mine]\n')
    assert "# served by llama-server\nmax_output = 4096\n" in text and "[unrelated]\nx = 1\n" in text
    catalog = config.model_catalog()
    assert (catalog["mine"].context, catalog["mine"].max_output, catalog["mine"].prices.output) == (32000, 4096, 0.5)
    assert catalog["my.model.v1"].context == 8000
    config.write_setting("thinking", None)
    assert "thinking" not in tomllib.loads(config_file.read_text())


def test_bad_keys_and_values_are_refused_and_the_file_is_left_alone(config_file):
    from v4cli.cli.config_cmd import config_command

    config.write_setting("thinking", "high")
    before = config_file.read_bytes()
    for args in (("set", "colour", "blue"), ("set", "thinking", "extreme"), ("set", "n_ctx", "lots"),
                 ("set", "gpu_layers", "-5"), ("set", "rpc", "host-without-port"), ("set", "base_url", "ftp://x"),
                 ("set", "api_key_env", "not a name"), ("set", "model", "gpt-17"), ("set", "models.x.colour", "1"),
                 ("set", "models.x.context", "0"), ("set", "thinking"), ("get",), ("frobnicate",),
                 ("get", "DEEPSEEK_API_KEY"), ("set", "DEEPSEEK_API_KEY", DEEPSEEK_KEY), ("get", "max_output")):
        with pytest.raises(UsageError) as err:
            config_command(*args, *[None] * (3 - len(args)), json_out=False)
        assert err.value.hint and "\n" not in err.value.message, args
        assert DEEPSEEK_KEY not in err.value.message + err.value.hint
    assert config_file.read_bytes() == before
    # through the real CLI: one line and a hint on stderr, exit 2
    for args in (("set", "thinking", "extreme"), ("set", "gpu_layers", "--", "-5"), ("get", "DEEPSEEK_API_KEY")):
        proc = run_v4("config", *args)
        err = proc.stderr.decode()
        assert proc.returncode == 2 and err.startswith("v4: error: ") and err.count("\n") == 2, (args, err)
    assert config_file.read_bytes() == before


def test_a_file_the_editor_cannot_change_safely_is_not_touched(config_file):
    config_file.parent.mkdir(parents=True)
    original = 'models.mine.context = 1000\nmodel = "deepseek-flash"\n'  # a dotted key instead of a table
    config_file.write_text(original)
    with pytest.raises(UsageError, match="cannot change models.mine.max_output") as err:
        config.write_setting("models.mine.max_output", "100")
    assert "by hand" in err.value.hint
    assert config_file.read_text() == original


def test_environment_overrides_the_file_and_show_says_where_each_value_comes_from(config_file):
    config.write_setting("model", "deepseek-v4-pro")
    config.write_setting("threads", "8")
    env = {"V4_MODEL": "deepseek-flash", "V4_BASE_URL": "http://127.0.0.1:9/v1", "DEEPSEEK_API_KEY": DEEPSEEK_KEY,
           "V4_API_KEY_ENV": "MY_SERVER_KEY", "MY_SERVER_KEY": "server-key-0123456789"}
    proc = run_v4("config", "show", env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1:] for line in proc.stdout.decode().splitlines()[1:]}
    assert rows["model"] == ["deepseek-flash", "env", "V4_MODEL"]
    assert rows["threads"] == ["8", "config"]
    assert rows["base_url"] == ["http://127.0.0.1:9/v1", "env", "V4_BASE_URL"]
    assert rows["thinking"] == ["high", "default"]
    assert rows["DEEPSEEK_API_KEY"] == ["set", "env"] and rows["MY_SERVER_KEY"] == ["set", "env"]
    as_json = json.loads(run_v4("config", "show", "--json", env=env).stdout)
    assert as_json["settings"]["model"] == {"value": "deepseek-flash", "source": "env V4_MODEL"}
    assert as_json["keys"] == {"DEEPSEEK_API_KEY": "set", "MY_SERVER_KEY": "set"}
    for output in (proc.stdout + proc.stderr, json.dumps(as_json).encode()):
        assert DEEPSEEK_KEY.encode() not in output and b"server-key-0123456789" not in output
    assert run_v4("config", "get", "model", env=env).stdout == b"deepseek-flash\n"
    overridden = run_v4("config", "set", "model", "deepseek-v4-flash", env=env)
    assert "V4_MODEL is set in the environment" in overridden.stderr.decode()


def test_show_without_a_file_lists_defaults(config_file):
    proc = run_v4("config")
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "model" in out and "deepseek-flash" in out and "DEEPSEEK_API_KEY  not set" in out
    assert "not created yet" in proc.stderr.decode() and not config_file.exists()


def test_a_bad_value_in_the_file_or_environment_is_a_clear_error(config_file, monkeypatch):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("n_ctx = true\n")
    with pytest.raises(UsageError, match="config: n_ctx has a bad value"):
        config.effective_settings()
    config_file.write_text("")
    monkeypatch.setenv("V4_THINKING", "loud")
    with pytest.raises(UsageError, match="bad value for thinking"):
        config.setting("thinking")
    proc = run_v4("config", "show", env={"V4_THINKING": "loud"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr.decode()
