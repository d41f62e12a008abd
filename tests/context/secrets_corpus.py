"""A labelled corpus for the secret scanner, generated from a seed.

True secrets of every kind get random but valid-shaped values and are planted in realistic files of
several formats (Python, YAML, .env, JSON, INI, TOML, XML, shell, Go, JS, key files, a minified line);
each plant records its kind, value and line. Look-alike files (hashes, UUIDs, lock files, placeholders,
names without values, public keys, ...) hold nothing that should be redacted. The tests and
benchmarks/bench_secrets.py both score scanners against it.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
BASE64 = ALNUM + "+/"
HEX = "0123456789abcdef"


@dataclass(frozen=True)
class Planted:
    kind: str
    value: str
    line: int  # 1-based line where the value starts (a key block: its BEGIN line)


@dataclass(frozen=True)
class CorpusFile:
    name: str
    text: str
    planted: tuple[Planted, ...] = ()


@dataclass
class _Builder:
    name: str
    lines: list[str] = field(default_factory=list)
    planted: list[Planted] = field(default_factory=list)

    def add(self, *lines: str) -> _Builder:
        self.lines.extend(lines)
        return self

    def plant(self, template: str, kind: str, value: str, *, line_offset: int = 0) -> _Builder:
        """Add ``template`` (may span lines) with ``{v}`` replaced by ``value``."""
        self.planted.append(Planted(kind, value, len(self.lines) + 1 + line_offset))
        self.lines.extend(template.replace("{v}", value).split("\n"))
        return self

    def build(self) -> CorpusFile:
        return CorpusFile(self.name, "\n".join(self.lines) + "\n", tuple(self.planted))


class Shapes:
    """Random values with the shape of each kind of secret."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chars(self, alphabet: str, n: int) -> str:
        mixed = alphabet not in (HEX, string.digits, string.ascii_letters)
        while True:  # letters and digits both present, so a value never happens to look like a word or a number
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            if mixed and (sum(c.isdigit() for c in value) < 2 or sum(c.isalpha() for c in value) < 2):
                continue
            if "xxxx" not in value.lower() and "example" not in value.lower():
                return value

    def aws_access_key(self) -> str:
        return "AKIA" + "".join(self.rng.choice(string.ascii_uppercase + "234567") for _ in range(16))

    def aws_secret_key(self) -> str:
        return self.chars(BASE64, 40)

    def github(self) -> str:
        return self.rng.choice(["ghp_", "gho_", "ghs_"]) + self.chars(ALNUM, 36)

    def github_pat(self) -> str:
        return "github_pat_" + self.chars(ALNUM, 22) + "_" + self.chars(ALNUM, 59)

    def gitlab(self) -> str:
        return "glpat-" + self.chars(URLSAFE, 20)

    def slack(self) -> str:
        digits = string.digits
        return f"xoxb-{self.chars(digits, 12)}-{self.chars(digits, 13)}-{self.chars(ALNUM, 24)}"

    def stripe(self) -> str:
        return self.rng.choice(["sk_live_", "rk_live_"]) + self.chars(ALNUM, 24)

    def google(self) -> str:
        return "AIza" + self.chars(URLSAFE, 35)

    def openai(self) -> str:
        return self.rng.choice([
            "sk-proj-" + self.chars(URLSAFE, 74) + "T3BlbkFJ" + self.chars(URLSAFE, 74),
            "sk-" + self.chars(ALNUM, 20) + "T3BlbkFJ" + self.chars(ALNUM, 20),
            "sk-" + self.chars(ALNUM, 48),
        ])

    def anthropic(self) -> str:
        return "sk-ant-api03-" + self.chars(URLSAFE, 93) + "AA"

    def deepseek(self) -> str:
        return "sk-" + self.chars(HEX, 32)

    def npm(self) -> str:
        return "npm_" + self.chars(ALNUM, 36)

    def twilio(self) -> str:
        return "SK" + self.chars(HEX, 32)

    def sendgrid(self) -> str:
        return "SG." + self.chars(URLSAFE, 22) + "." + self.chars(URLSAFE, 43)

    def huggingface(self) -> str:
        return "hf_" + self.chars(string.ascii_letters, 34)

    def jwt(self) -> str:
        def part(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        header = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = {"sub": self.chars(string.digits, 10), "name": "Ada", "iat": self.rng.randrange(10**9, 2 * 10**9)}
        return f"{header}.{part(json.dumps(claims).encode())}.{part(self.rng.randbytes(32))}"

    def generic(self) -> str:
        return self.chars(ALNUM, self.rng.choice([24, 32, 48]))  # 40 would read as an AWS secret near AKIA

    def password(self) -> str:
        return self.rng.choice(string.ascii_letters) + self.chars(ALNUM + "%^+=-_", 13)

    def url_password(self) -> str:
        return self.rng.choice(string.ascii_letters) + self.chars(ALNUM + "-_.~!*", 15)

    def hex_token(self) -> str:
        return self.chars(HEX, 32)

    def key_body(self, lines: int = 8) -> str:
        data = base64.b64encode(self.rng.randbytes(48 * lines)).decode()
        return "\n".join(data[i : i + 64] for i in range(0, len(data), 64))


def true_secret_files(seed: int) -> list[CorpusFile]:
    """Files in many formats, each with planted secrets of known kind, value and line."""
    s = Shapes(random.Random(seed))
    files = []

    b = _Builder("settings.py").add('"""Settings for the app."""', "import os", "from pathlib import Path", "",
                                    "BASE_DIR = Path(__file__).parent", "DEBUG = False")
    b.plant('SECRET_KEY = "{v}"', "generic-secret", s.generic())
    b.plant('GITHUB_TOKEN = "{v}"', "github-token", s.github())
    b.add("", "def client():", '    """Build the client."""')
    b.plant("    return Anthropic(api_key='{v}')", "anthropic-key", s.anthropic())
    b.plant('openai.api_key = "{v}"', "openai-key", s.openai())
    b.plant('DATABASES = {"default": {"ENGINE": "postgresql", "USER": "app", "PASSWORD": "{v}"}}',
            "password", s.password())
    b.plant('DATABASE_URL = "postgres://app:{v}@db.internal:5432/app"', "url-credentials", s.url_password())
    b.plant("DEEPSEEK_API_KEY = '{v}'  # team key", "deepseek-key", s.deepseek())
    b.plant('self.signing_key = b"{v}"', "generic-secret", s.generic())
    files.append(b.build())

    b = _Builder("config.yaml").add("service:", "  name: billing", "  replicas: 3", "aws:")
    b.plant("  aws_access_key_id: {v}", "aws-access-key", s.aws_access_key())
    b.plant("  aws_secret_access_key: {v}", "aws-secret-key", s.aws_secret_key())
    b.add("slack:")
    b.plant("  token: {v}", "slack-token", s.slack())
    b.add("database:", "  host: db.internal")
    b.plant("  password: {v}", "password", s.password())
    b.plant('  api_key: "{v}"', "generic-secret", s.generic())
    b.plant("  client-secret: '{v}'", "generic-secret", s.generic())
    files.append(b.build())

    b = _Builder(".env").add("# local settings", "PORT=8080")
    b.plant("OPENAI_API_KEY={v}", "openai-key", s.openai())
    b.plant("NPM_TOKEN={v}", "npm-token", s.npm())
    b.plant("GITLAB_TOKEN={v}", "gitlab-token", s.gitlab())
    b.plant("export SENDGRID_API_KEY='{v}'", "sendgrid-key", s.sendgrid())
    b.plant("DB_PASSWORD={v}", "password", s.password())
    b.plant("JWT_SECRET={v}", "generic-secret", s.generic())
    b.plant("HF_TOKEN={v}", "huggingface-token", s.huggingface())
    b.plant('STRIPE_SECRET_KEY="{v}"', "stripe-key", s.stripe())
    files.append(b.build())

    key = s.key_body().replace("\n", "\\n")
    b = _Builder("service-account.json").add("{", '  "type": "service_account",', '  "project_id": "demo-123",')
    b.plant('  "private_key": "-----BEGIN PRIVATE KEY-----\\n{v}\\n-----END PRIVATE KEY-----\\n",', "private-key", key)
    b.plant('  "client_secret": "{v}",', "generic-secret", s.generic())
    b.plant('  "api_key": "{v}"', "google-api-key", s.google())
    b.add("}")
    files.append(b.build())

    b = _Builder("app.ini").add("[server]", "port = 8000", "", "[database]", "user = app")
    b.plant("password = {v}", "password", s.password())
    b.add("", "[twilio]")
    b.plant("api_key = {v}", "twilio-key", s.twilio())
    b.plant("auth_token = {v}", "generic-secret", s.hex_token())
    files.append(b.build())

    b = _Builder("pyproject.toml").add("[project]", 'name = "demo"', 'version = "1.0"', "", "[tool.publish]")
    b.plant('token = "{v}"', "generic-secret", s.generic())
    b.plant('webhook_secret = "{v}"', "generic-secret", s.generic())
    files.append(b.build())

    b = _Builder("web.config").add('<?xml version="1.0" encoding="utf-8"?>', "<configuration>", "  <appSettings>",
                                   '    <add key="Environment" value="production"/>')
    b.plant('    <add key="ApiSecret" value="{v}"/>', "generic-secret", s.generic())
    b.add("  </appSettings>", "  <connectionStrings>")
    b.plant('    <add name="Main" connectionString="Server=db;User Id=sa;Password={v};"/>', "password", s.password())
    b.add("  </connectionStrings>")
    b.plant("  <smtp><password>{v}</password></smtp>", "password", s.password())
    b.plant('  <service name="billing" apiToken="{v}"/>', "generic-secret", s.generic())
    b.add("</configuration>")
    files.append(b.build())

    b = _Builder("deploy.sh").add("#!/bin/sh", "set -eu")
    b.plant('curl -H "Authorization: Bearer {v}" https://api.internal/deploy', "jwt", s.jwt())
    b.plant("export GITHUB_TOKEN={v}", "github-token", s.github_pat())
    b.plant("git clone https://deploy:{v}@git.internal/org/repo.git", "url-credentials", s.url_password())
    b.plant("curl -H 'Authorization: Bearer {v}' https://api.internal/", "bearer-token", s.generic())
    b.plant("mysql --user=root --password={v} app", "password", s.password())
    files.append(b.build())

    b = _Builder("id_rsa")
    b.plant("-----BEGIN RSA PRIVATE KEY-----\n{v}\n-----END RSA PRIVATE KEY-----", "private-key", s.key_body(12))
    files.append(b.build())
    b = _Builder("id_ed25519")
    b.plant("-----BEGIN OPENSSH PRIVATE KEY-----\n{v}\n-----END OPENSSH PRIVATE KEY-----", "private-key", s.key_body(5))
    files.append(b.build())
    b = _Builder("notes.md").add("# Deploy notes", "", "The signing key (do not share):", "", "```")
    b.plant("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{v}\n=AbCd\n-----END PGP PRIVATE KEY BLOCK-----",
            "private-key", s.key_body(6))
    b.add("```", "", "Encrypted one:", "")
    b.plant("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
            "DEK-Info: AES-128-CBC,0A1B2C3D4E5F60718293A4B5C6D7E8F9\n\n{v}\n-----END EC PRIVATE KEY-----",
            "private-key", s.key_body(3))
    files.append(b.build())

    b = _Builder("main.go").add("package main", "", 'import "fmt"', "")
    b.plant('const apiKey = "{v}"', "generic-secret", s.generic())
    b.add("", "func main() {")
    b.plant('\ttoken := "{v}"', "github-token", s.github())
    b.plant('\tclient := NewClient(Config{AccessKey: "{v}",', "aws-access-key", s.aws_access_key())
    b.plant('\t\tSecretKey: "{v}"})', "aws-secret-key", s.aws_secret_key())
    b.add("\tfmt.Println(token, client)", "}")
    files.append(b.build())

    b = _Builder("app.js").add("'use strict';", "const express = require('express');")
    b.plant("const stripe = require('stripe')('{v}');", "stripe-key", s.stripe())
    b.plant("const firebaseConfig = { apiKey: \"{v}\", projectId: 'demo' };", "google-api-key", s.google())
    b.plant("const session = { secret: `{v}` };", "generic-secret", s.generic())
    b.add("module.exports = { stripe, firebaseConfig, session };")
    files.append(b.build())

    filler = "".join(f"function f{i}(a,b){{return a+b*{i}}};" for i in range(4000))
    b = _Builder("bundle.min.js").add("/*! bundle */")
    b.plant(filler + 'var cfg={slackToken:"{v}",' + filler + "};", "slack-token", s.slack())
    files.append(b.build())
    return files


def look_alike_files(seed: int) -> list[CorpusFile]:
    """Files full of things that resemble secrets but are not: nothing here may be redacted."""
    s = Shapes(random.Random(seed))
    sha40 = lambda: s.chars(HEX, 40)  # noqa: E731
    sha64 = lambda: s.chars(HEX, 64)  # noqa: E731
    b64 = lambda n: base64.b64encode(s.rng.randbytes(n)).decode()  # noqa: E731
    uuid = lambda: "-".join(s.chars(HEX, n) for n in (8, 4, 4, 4, 12))  # noqa: E731
    files = [
        CorpusFile("package-lock.json", "\n".join([
            "{", '  "name": "demo",', '  "lockfileVersion": 3,', '  "packages": {', '    "node_modules/left-pad": {',
            '      "version": "1.3.0",',
            '      "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz",',
            f'      "integrity": "sha512-{b64(64)}",', '      "license": "WTFPL"', "    }", "  }", "}", ""])),
        CorpusFile("requirements.txt", "\n".join([
            f"requests==2.32.3 --hash=sha256:{sha64()}", f"    --hash=sha256:{sha64()}",
            f"urllib3==2.2.2 --hash=sha256:{sha64()}", ""])),
        CorpusFile("poetry.lock", "\n".join([
            "[[package]]", 'name = "idna"', 'version = "3.7"', "files = [",
            f'    {{file = "idna-3.7-py3-none-any.whl", hash = "sha256:{sha64()}"}},', "]", "", "[metadata]",
            f'content-hash = "{sha64()}"', ""])),
        CorpusFile("go.sum", "\n".join([
            f"golang.org/x/text v0.14.0 h1:{b64(32)}", f"golang.org/x/text v0.14.0/go.mod h1:{b64(32)}", ""])),
        CorpusFile("git_refs.py", "\n".join([
            '"""Pinned revisions."""', f'COMMIT = "{sha40()}"', f'revision = "{sha40()}"',
            f'EMPTY_TREE_SHA = "{sha40()}"', f"# fixed in {sha40()[:12]} and {sha40()}",
            f'checksum = "{sha64()}"', f'cache_key = "{sha64()}"', f'key = "{s.chars(HEX, 32)}"',
            f'etag = "{s.chars(HEX, 32)}"', f'digest = "sha256:{sha64()}"', ""])),
        CorpusFile("ids.py", "\n".join([
            f'REQUEST_ID = "{uuid()}"', f'tenant_id = "{uuid()}"', f'{{"id": "{uuid()}", "name": "demo"}}',
            f'partition_key = "{uuid()}"', f'idempotency_key = "{uuid()}"', ""])),
        CorpusFile("assets.py", "\n".join([
            f'ICON_PNG = "iVBORw0KGgo{b64(300)}"', f'FONT_DATA = "{b64(120)}"',
            f'encoded = base64.b64encode(b"hello world").decode()  # {base64.b64encode(b"hello world").decode()}',
            f'BOUNDARY = "----WebKitFormBoundary{s.chars(ALNUM, 16)}"', ""])),
        CorpusFile("placeholders.env", "\n".join([
            "API_KEY=changeme", "OPENAI_API_KEY=sk-...", "DEEPSEEK_API_KEY=<your-deepseek-key>",
            "GITHUB_TOKEN=${GITHUB_TOKEN}", "SECRET_KEY=", "PASSWORD=", "DB_PASSWORD=$DB_PASSWORD",
            "api_key=xxxxxxxxxxxxxxxxxxxxxxxx", "TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "AWS_SECRET_ACCESS_KEY=your-secret-access-key", "STRIPE_KEY=sk_live_" + "x" * 24,
            "JWT_SECRET=replace-me-with-a-long-random-string", ""])),
        CorpusFile("placeholders.py", "\n".join([
            'password = os.environ["DB_PASSWORD"]', 'api_key = os.getenv("API_KEY")', "secret = None",
            'token = ""', "password = getpass.getpass()", 'SECRET_KEY = "{{ secret_key }}"',
            'dsn = "host=%(host)s password=%(password)s"', "API_TOKEN = settings.API_TOKEN",
            "client_secret = config['oauth']['client_secret']", "password = '********'",
            "api_key = '<API_KEY>'", "token = f\"{prefix}-{suffix}\"", ""])),
        CorpusFile("placeholders.js", "\n".join([
            "const token = process.env.API_TOKEN;", "const headers = { Authorization: `Bearer ${token}` };",
            "const apiKey = config.get('apiKey');", "const password = req.body.password;",
            "fetch(url, { headers: { 'X-Api-Key': apiKey } });", ""])),
        CorpusFile("aws_docs.md", "\n".join([
            "# Configure the CLI", "", "```", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "```", ""])),
        CorpusFile("names_only.py", "\n".join([
            "def login(username: str, password: str) -> Token:", '    """Check the password."""',
            "    token: Optional[str] = None", "    api_key: str", "    self.secret = secret",
            "    password_field = 'password'", "    PASSWORD_MIN_LENGTH = 12", "    max_tokens = 4096",
            '    TOKEN_URL = "https://auth.example.com/oauth/token"', '    token_type = "bearer"',
            "    if password == confirm_password:", "        return authenticate(user, password=password)",
            "    parser.add_argument('--password', help='the password')", "    secret_name = 'prod/db/password'",
            "    password_file = '/run/secrets/db_password'", "    key_func = lambda item: item.name",
            "    sort_key = operator.attrgetter('created_at')", "    auth = HTTPBasicAuth(user, password)",
            "    tokenizer = AutoTokenizer.from_pretrained('gpt2')", "class TokenType(Enum):",
            '    BEARER = "bearer"', '    REFRESH_TOKEN = "refresh_token"', ""])),
        CorpusFile("keys_not_secret.py", "\n".join([
            f'public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{b64(24)} dev@laptop"',
            f'stripe_publishable_key = "pk_live_{s.chars(ALNUM, 24)}"', 'primary_key = "id"',
            "PEM_HEADER = '-----BEGIN PRIVATE KEY-----'", "# Keys look like: -----BEGIN RSA PRIVATE KEY----- ...",
            "-----BEGIN CERTIFICATE-----", b64(48), "-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----", b64(48), "-----END PUBLIC KEY-----", ""])),
        CorpusFile("urls.txt", "\n".join([
            "https://example.com/path?query=1#frag", "ssh://git@github.com/org/repo.git",
            "postgres://app:${DB_PASSWORD}@db:5432/app", "https://user@host.example.com/",
            "http://[::1]:8080/health", "redis://localhost:6379/0", "http://user:password@example.com/",
            "mysql://root:<password>@localhost/app", "amqp://guest:guest@localhost:5672//", ""])),
        CorpusFile("code_lookalikes.py", "\n".join([
            "class SomeVeryLongClassNameForTestingPurposes(BaseModelWithMixins):", "    pass",
            "task_id = 'task-0123456789abcdef0123456789abcdef'", "model = 'sk-learn-compatible-estimator-name'",
            "COLORS = {'primary': '#1a2b3c', 'secondary': '#4d5e6f'}", "keyboard_layout = 'qwerty'",
            "monkey_patch = True", "hotkey = 'ctrl+shift+k'", "KEYWORDS = ['def', 'class', 'return']",
            "if key == '_generate_next_value_':", "    RegOpenKeyEx = win32api.RegOpenKeyEx",
            "statistics.sort(reverse=True, key=Statistic._sort_key)", ""])),
    ]
    return files
