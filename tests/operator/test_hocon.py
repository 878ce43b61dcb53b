"""The HOCON syntax checker behind InvalidConfig: EMQX configs pass, broken ones fail at
the line and column a person would look at."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from emqx.hocon import HoconSyntaxError, check, validate

EXAMPLES = Path(__file__).resolve().parents[2] / "emqx" / "crds" / "examples"


def _example_configs() -> list[tuple[str, str]]:
    configs = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        data = ((document.get("spec") or {}).get("config") or {}).get("data")
        if data:
            configs.append((path.name, data))
    return configs


# What EMQX 5 users write in spec.config.data (from EMQX's own emqx.conf examples).
EMQX_CONFIGS = {
    "dotted keys": "dashboard.listeners.http.bind = 18083\nlog.console.level = warning\n",
    "nested objects": """
node {
  name = "emqx@127.0.0.1"
  cookie = "emqxsecretcookie"
  data_dir = "data"
}
cluster {
  name = emqxcl
  discovery_strategy = manual
}
""",
    "colon separators and a braced root": '{ mqtt: { max_packet_size: "1MB", retain_available: true } }',
    "arrays of objects and trailing commas": """
authentication = [
  {
    mechanism = password_based
    backend = built_in_database
    user_id_type = username,
  },
]
""",
    "comments of both kinds": """
# durable sessions, one shard per core
durable_sessions { enable = true }  // on
listeners.tcp.default {
  bind = "0.0.0.0:1883"   # quoted: ':' is not allowed unquoted
  max_connections = 1024000
}
""",
    "triple-quoted strings across lines": '''
rule_engine.rules.to_console {
  sql = """SELECT *
FROM "t/#" """
  actions = ["console"]
}
''',
    "substitutions, +=, includes and concatenation": """
include "extra.conf"
include required("base.conf")
node.name = ${?EMQX_NODE_NAME}
log.file.path = ${node.data_dir}"/log"
authorization.sources += { type = file, path = "acl.conf" }
greeting = hello world
""",
    "numbers, durations, sizes, booleans, null": """
mqtt.max_packet_size = 1MB
mqtt.idle_timeout = 15s
force_gc.count = 16000
sysmon.vm.process_high_watermark = 80%
ratio = 1.5e+3
flag = off
nothing = null
""",
    "quoted keys and escapes": '"a.b" { "c d" = "tab\\there \\u00e9 \\"quoted\\"" }\n',
    "empty": "",
}


@pytest.mark.parametrize(("name", "text"), _example_configs())
def test_the_operators_example_configs_are_valid(name: str, text: str) -> None:
    assert check(text) is None, name


def test_there_are_example_configs_to_check() -> None:
    assert len(_example_configs()) >= 2


@pytest.mark.parametrize("name", sorted(EMQX_CONFIGS))
def test_emqx_style_configs_are_valid(name: str) -> None:
    assert check(EMQX_CONFIGS[name]) is None


BROKEN = [
    # (text, line, column, words in the message)
    ("mqtt {\n  max_packet_size = 1MB\n", 3, 1, "'{' opened at line 1, column 6 is never closed"),
    ("a = 1\n}\n", 2, 1, "unexpected '}'"),
    ("a = [1, 2}\n", 1, 10, "expected ']'"),
    ("a = [1, 2\n", 2, 1, "'[' opened at line 1, column 5 is never closed"),
    ("a { b = [ { c = 1 ] }\n", 1, 19, "unexpected ']'"),
    ('name = "emqx@127.0.0.1\n', 1, 8, "not closed on its line"),
    ('sql = """SELECT *\nFROM t\n', 1, 7, "never closed"),
    ("a =\n", 2, 1, "has no value"),
    ("a = }\n", 1, 5, "has no value"),
    ("enable\n", 1, 7, "key 'enable' has no value"),
    ("a = 1 b = 2\n", 1, 9, "after a value"),
    ("listeners.tcp.default.bind = 0.0.0.0:1883\n", 1, 37, "after a value"),
    ("= 1\n", 1, 1, "without a key"),
    ("a..b = 1\n", 1, 1, "empty segment"),
    ("a = 1,,\nb = 2\n", 1, 7, "two commas"),
    ("email = admin@example.com\n", 1, 14, "'@' is not allowed"),
    ('a = "bad \\q escape"\n', 1, 10, "bad escape"),
    ("path = ${node.data_dir\n", 1, 8, "not closed"),
    ("price = $5\n", 1, 9, "'$' is only allowed"),
    ("a = [1 2, , 3]\n", 1, 11, "comma without an array element"),
    ("a = foo { b = 1 }\n", 1, 1, "cannot be concatenated"),
    ("{ a = 1 } b = 2\n", 1, 11, "after the closing"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), BROKEN)
def test_broken_configs_are_reported_at_their_line_and_column(text: str, line: int, column: int, words: str) -> None:
    error = check(text)
    assert error is not None, text
    assert (error.line, error.column) == (line, column), str(error)
    assert words in error.message, str(error)


def test_validate_raises_a_value_error_that_says_where() -> None:
    with pytest.raises(HoconSyntaxError) as raised:
        validate("mqtt {\n")
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith("line 2, column 1: ")
