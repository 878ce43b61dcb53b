"""The HOCON checker (emqx/hocon.py) agrees with EMQX's own HOCON library: it accepts every
configuration of the corpus that EMQX accepts and refuses, at the line and column a person would
look at, every one EMQX refuses (tests/emqx/hocon_corpus/README.md says how EMQX's verdicts were
obtained, and where pyhocon disagrees)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from emqx.hocon import MAX_DEPTH, HoconSyntaxError, check, validate
from tests.branches import Branches

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "hocon_corpus"
ACCEPTED = sorted((CORPUS / "accepted").glob("*.conf"))
REFUSED = sorted((CORPUS / "refused").glob("*.conf"))
_HEADER = re.compile(r"^# refused at line (\d+): (.+)$")


def _config_data(path: Path) -> str:
    document = yaml.safe_load(path.read_text())
    return str(((document.get("spec") or {}).get("config") or {}).get("data") or "")


def test_the_corpus_has_both_verdicts() -> None:
    assert len(ACCEPTED) >= 20 and len(REFUSED) >= 20


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.stem)
def test_what_emqx_reads_is_accepted(path: Path) -> None:
    assert check(path.read_text()) is None


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.stem)
def test_what_emqx_refuses_is_refused_where_it_is_wrong(path: Path) -> None:
    text = path.read_text()
    header = _HEADER.match(text.splitlines()[0])
    assert header is not None, f"{path.name} must start with '# refused at line N: words'"
    error = check(text)
    assert error is not None
    assert error.line == int(header.group(1)), str(error)
    assert header.group(2) in error.message, str(error)


def test_the_field_case_with_a_triple_quoted_sql_query_is_valid() -> None:
    # tests/fieldcases/02-hocon-multiline-sql: """~ ... ~""", ${username}, quoted identifiers, 2MB, a zone path.
    data = _config_data(ROOT / "tests" / "fieldcases" / "02-hocon-multiline-sql" / "input.yaml")
    assert "${username}" in data and '"""~' in data
    assert check(data) is None


@pytest.mark.parametrize("path", sorted((ROOT / "emqx" / "crds" / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_the_operators_example_configs_are_valid(path: Path) -> None:
    assert check(_config_data(path)) is None


# EMQX's HOCON where it is not Lightbend's (each checked against EMQX's library).
EMQX_READS = {
    "fields on one line without commas": "a = 1 b = 2\n",
    "an unquoted address with @ and dots": "node.name = emqx@127.0.0.1\n",
    "a backslash before any character is kept": 'path = "C:\\data\\emqx"\n',
    "an empty path segment is dropped": "a..b = 1\n",
    "durations and sizes concatenated as strings": "d = 1h30m\ns = 10MiB\n",
    "a comma before a closing bracket": "a = [1, 2,]\nb = {c = 1,}\n",
    "an empty object in a concatenation adds nothing": "a = {} x\n",
    "a separator without a key is dropped": "a = = 1\n",
    "the root in braces": '{ mqtt: { max_packet_size: "1MB" } }\n',
    "a byte order mark at the start": "\ufeffa = 1\n",
    "a quoted string ending in a backslash": 'a = "x\\"\n',
    "nothing but comments": "# a\n// b\n",
    "nesting up to the bound": "a = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
}


@pytest.mark.parametrize("name", sorted(EMQX_READS))
def test_emqx_style_configs_are_valid(name: str) -> None:
    assert check(EMQX_READS[name]) is None


BROKEN = [
    # (text, line, column, words in the message)
    ("mqtt {\n  max_packet_size = 1MB\n", 3, 1, "'{' opened at line 1, column 6 is never closed"),
    ("a = 1\n}\n", 2, 1, "unexpected '}'"),
    ("a = [1, 2}\n", 1, 10, "expected ']'"),
    ("a = [1, 2\n", 2, 1, "'[' opened at line 1, column 5 is never closed"),
    ("a { b = [ { c = 1 ] }\n", 1, 19, "unexpected ']'"),
    ('name = "emqx@127.0.0.1\n', 1, 8, "not closed on its line"),
    ('sql = """SELECT *\nFROM t\n', 1, 7, "never closed"),
    ("a =\n", 2, 1, "expected a value after key 'a'"),
    ("a = }\n", 1, 5, "expected a value after key 'a'"),
    ("enable\n", 1, 1, "key 'enable' has no value"),
    ("a = 1 b\n", 1, 7, "after a value"),
    ("listeners.tcp.default.bind = 0.0.0.0:1883\n", 1, 33, "quote a value that contains ':'"),
    ("= 1\n", 1, 1, "'=' without a key"),
    ("a = 1,,\nb = 2\n", 1, 7, "two commas"),
    ("a = 1,\n", 2, 1, "a field must follow the comma"),
    ("email = <admin@example.com>\n", 1, 9, "the character '<' is not allowed outside quotes"),
    ('a = "bad \\u12 escape"\n', 1, 10, "bad unicode escape"),
    ('a = "\\uD800"\n', 1, 6, "low surrogate"),
    ("path = ${node.data_dir\n", 1, 8, "not closed"),
    ("path = ${ node.data_dir }\n", 1, 8, "without spaces"),
    ("price = $5\n", 1, 9, "'$' is only allowed"),
    ("a += 1\n", 1, 3, "'+=' is not part of EMQX's HOCON"),
    ("a = [1 2, , 3]\n", 1, 11, "comma without an array element"),
    ("a = foo { b = 1 }\n", 1, 5, "'foo' is read as the next key"),
    ('a = "x" [1]\n', 1, 1, "a string and an array cannot be concatenated"),
    ("a = {b = 1} [1]\n", 1, 1, "an array and an object cannot be concatenated"),
    ("{ a = 1 } b = 2\n", 1, 11, "after the closing"),
    ("a = 1.5s\n", 1, 8, "unexpected 's' after a value"),
    ("a = 1e999\n", 1, 6, "after a value"),
    ("a = 1.5e999\n", 1, 5, "too large"),
    ("a = 'x'\n", 1, 5, 'quoted with "'),
    ("null = 1\n", 1, 1, "cannot be a key"),
    ("a = {x = 1}\n{y = 2}\n", 2, 1, "a field must follow the comma"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), BROKEN)
def test_broken_configs_are_reported_at_their_line_and_column(text: str, line: int, column: int, words: str) -> None:
    error = check(text)
    assert error is not None, text
    assert (error.line, error.column) == (line, column), str(error)
    assert words in error.message, str(error)


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 600 + "]" * 600,
        "a " + "{ b " * 600 + "}" * 600,
        "a = " + "[" * 100_000,
        "a = [" + "{b = [" * 400 + "]}" * 400 + "]",
    ],
    ids=["arrays", "objects", "unclosed", "mixed"],
)
def test_deep_nesting_is_a_clear_error_not_a_crash(text: str) -> None:
    error = check(text)
    assert error is not None
    assert f"nested more than {MAX_DEPTH} levels deep" in error.message


def test_validate_raises_a_value_error_that_says_where() -> None:
    with pytest.raises(HoconSyntaxError) as raised:
        validate("mqtt {\n")
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith("line 2, column 1: ")


FRAGMENTS = ["a", "b.c", '"k"', "=", ":", "{", "}", "[", "]", ",", " ", "\n", "1", "1.5", "15s", "2MB", "80%", "true"]
FRAGMENTS += ["null", "include", 'required("f")', "${a}", "${?b}", "$", '"""', '"', "\\", "#", "//", "+=", "'", "é"]


_lines = st.lists(
    st.tuples(
        st.sampled_from(["a", "b.c", "mqtt.max_packet_size", "log.console.level", '"quoted key"']),
        st.sampled_from([" = ", ": ", "="]),
        st.sampled_from(["1", "1.5", "15s", "2MB", "80%", "true", '"k"', "null", "[1, 2]", "{x = 1}", "${?HOME}"]),
    ).map("".join),
    min_size=1,
    max_size=8,
).map("\n".join)


def _inserted(text: str, at: int, fragment: str) -> str:
    at %= len(text) + 1
    return text[:at] + fragment + text[at:]


def test_any_text_gets_an_answer_with_a_position_inside_it() -> None:
    # Each example checks two texts: fragments strung together, and valid HOCON of a few lines
    # with one fragment inserted somewhere (its error, if any, is often past the first line).
    branches = Branches(
        "HOCON fragments",
        {"fragments, refused": 200, "one fragment inserted, refused": 120, "refused past line 1": 60, "accepted": 100},
    )

    def answered(made: str, text: str) -> None:
        error = check(text)
        branches(f"{made}, {'accepted' if error is None else 'refused'}")
        if error is None:
            branches("accepted")
            return
        if error.line > 1:
            branches("refused past line 1")
        lines = text.split("\n")
        assert 1 <= error.line <= len(lines)
        assert 1 <= error.column <= len(lines[error.line - 1]) + 1

    @settings(max_examples=500, deadline=None)
    @given(
        parts=st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=30),
        valid=_lines,
        at=st.integers(0, 400),
        fragment=st.sampled_from(FRAGMENTS),
    )
    def run(parts: list[str], valid: str, at: int, fragment: str) -> None:
        assert check(valid) is None, valid  # the text before the one change is valid
        answered("fragments", "".join(parts))
        answered("one fragment inserted", _inserted(valid, at, fragment))

    run()
    branches.check()
