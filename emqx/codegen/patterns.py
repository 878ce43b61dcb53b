"""Translate the API server's regular expressions (Go RE2 syntax) for pydantic-core.

The API server checks `pattern` with Go's `regexp` package. pydantic-core checks it with Rust's
`regex` crate, whose syntax and semantics differ in ways that matter for the operator's CRDs:

- Go reads `[\\d-_]` as "digit, '-' or '_'" (a `-` after a class escape is literal); Rust refuses it
  ("invalid range boundary") and so does Python's `re`.
- Go's `\\d`, `\\w` and `\\s` are ASCII; Rust's (and Python's) are Unicode, so `\\d` would accept an Arabic-Indic digit.

So each class escape is spelled out as its ASCII set, and every literal character inside a class
that is special to Rust or Python (`-`, `[`, `]`, `\\`, `^`, `&`, `~`, `|`) is escaped. The result
means the same to Go, Rust and Python `re`. Anything this module does not understand raises
`UnsupportedPattern`, so a new CRD cannot slip an untranslated pattern past code generation.
(`$` needs no change: without the `m` flag, Go and Rust both match it only at the end of the text.)
"""

from __future__ import annotations

__all__ = ["UnsupportedPattern", "translate_pattern"]


class UnsupportedPattern(ValueError):
    """A Go regular expression construct that has no translation here."""


# Go's Perl classes are ASCII-only (regexp/syntax/perl_groups.go).
_PERL_CLASSES = {
    "d": "0-9",
    "s": "\\t\\n\\f\\r ",
    "w": "0-9A-Za-z_",
}
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "digit": "0-9",
    "lower": "a-z",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
    "word": "0-9A-Za-z_",
    "space": "\\t\\n\\v\\f\\r ",
}
_CONTROL_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
# Characters that need a backslash inside a class for Rust (set operations `&&`, `--`, `~~`,
# nested classes) or Python (`FutureWarning: possible set ...`).
_CLASS_SPECIAL = set("\\]-[^&~|")


def translate_pattern(pattern: str) -> str:
    """Return `pattern` (Go RE2 syntax) rewritten so Rust's `regex` and Python's `re` accept
    exactly the strings Go's `regexp` accepts."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            text, i = _outside_escape(pattern, i)
            out.append(text)
        elif ch == "[":
            text, i = _char_class(pattern, i)
            out.append(text)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _outside_escape(pattern: str, i: int) -> tuple[str, int]:
    if i + 1 >= len(pattern):
        raise UnsupportedPattern(f"trailing backslash in {pattern!r}")
    letter = pattern[i + 1]
    if letter.lower() in _PERL_CLASSES:
        negate = "^" if letter.isupper() else ""
        return f"[{negate}{_PERL_CLASSES[letter.lower()]}]", i + 2
    if letter == "Q":
        raise UnsupportedPattern(f"\\Q...\\E quoting in {pattern!r}")
    if letter == "C":
        raise UnsupportedPattern(f"\\C (any byte) in {pattern!r}")
    # Punctuation escapes, anchors (\A \z \b \B), \pN, \x.. mean the same to Go and Rust.
    return pattern[i : i + 2], i + 2


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """Translate the class starting at pattern[i] == '[' (Go's regexp/syntax parseClass)."""
    start = i
    i += 1
    negate = ""
    if i < len(pattern) and pattern[i] == "^":
        negate = "^"
        i += 1
    items: list[str] = []
    first = True
    while True:
        if i >= len(pattern):
            raise UnsupportedPattern(f"unterminated class in {pattern!r}")
        if pattern[i] == "]" and not first:
            i += 1
            break
        first = False
        if pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end != -1 else ""
            if name not in _POSIX_CLASSES:
                raise UnsupportedPattern(f"POSIX class {pattern[i:]!r} in {pattern!r}")
            items.append(_POSIX_CLASSES[name])
            i = end + 2
            continue
        if pattern[i] == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            if letter in _PERL_CLASSES:
                items.append(_PERL_CLASSES[letter])
                i += 2
                continue
            if letter.lower() in _PERL_CLASSES or letter in "pP":
                raise UnsupportedPattern(f"negated or Unicode class escape inside {pattern[start:]!r}")
        lo, i = _class_char(pattern, i)
        # Go: "[a-]" means 'a' or '-'; "a-z" is a range only when '-' is not followed by ']'.
        if i + 1 < len(pattern) and pattern[i] == "-" and pattern[i + 1] != "]":
            hi, i = _class_char(pattern, i + 1)
            if hi < lo:
                raise UnsupportedPattern(f"invalid range {lo!r}-{hi!r} in {pattern!r}")
            items.append(f"{_class_literal(lo)}-{_class_literal(hi)}")
        else:
            items.append(_class_literal(lo))
    return f"[{negate}{''.join(items)}]", i


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """One (possibly escaped) character inside a class; returns the character itself."""
    ch = pattern[i]
    if ch != "\\":
        return ch, i + 1
    if i + 1 >= len(pattern):
        raise UnsupportedPattern(f"trailing backslash in {pattern!r}")
    letter = pattern[i + 1]
    if letter in _CONTROL_ESCAPES:
        return _CONTROL_ESCAPES[letter], i + 2
    if letter == "x":
        if pattern.startswith("{", i + 2):
            end = pattern.index("}", i + 3)
            return chr(int(pattern[i + 3 : end], 16)), end + 1
        return chr(int(pattern[i + 2 : i + 4], 16)), i + 4
    if letter.isalnum():
        raise UnsupportedPattern(f"escape \\{letter} inside a class in {pattern!r}")
    return letter, i + 2


def _class_literal(ch: str) -> str:
    if ch in _CLASS_SPECIAL:
        return "\\" + ch
    if not ch.isprintable() or ch == " ":
        return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
    return ch
