"""A small, honest HOCON *syntax* checker for ``spec.config.data``.

It answers one question: would a HOCON parser accept this text at all? It does not resolve
substitutions, merge objects, read includes or know EMQX's schema. What it checks, after the
HOCON spec (github.com/lightbend/config, HOCON.md):

* braces and brackets are balanced and properly nested (``{ [ } ]`` is an error);
* every field is ``key = value``, ``key : value``, ``key += value`` or ``key { ... }``;
  a key alone on its line, or ``=`` with no value, is an error;
* fields are separated by a newline or one comma (``a = 1 b = 2`` is an error);
* keys are path expressions: ``a.b.c``, ``"quoted.key"``, no empty segment (``a..b``);
* quoted strings end on their line and use JSON escapes; triple-quoted strings
  (``\"\"\"...\"\"\"``) may span lines and must be closed;
* unquoted strings do not use the characters HOCON forbids in them (``$ " { } [ ] : = , + # `
  ^ ? ! @ * & \\``); ``${path}`` / ``${?path}`` substitutions are closed;
* ``#`` and ``//`` start comments (outside quoted strings);
* ``include "file"`` (and ``include required("file")`` ...) statements.

The first error is reported with its line and column (1-based), as a person would look for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["HoconSyntaxError", "check", "validate"]

_FORBIDDEN = set('$"{}[]:=,+#`^?!@*&\\')
_WHITESPACE = set(" \t\r\f\v\ufeff\u00a0\u2028\u2029")
_ESCAPES = set('"\\/bfnrt')

TokenKind = Literal["{", "}", "[", "]", "=", "+=", ",", "newline", "string", "unquoted", "subst", "eof"]


class HoconSyntaxError(ValueError):
    """The text is not HOCON. ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {message}")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    line: int
    column: int

    def describe(self) -> str:
        if self.kind == "eof":
            return "the end of the text"
        if self.kind == "newline":
            return "the end of the line"
        if self.kind in ("string", "unquoted", "subst"):
            return repr(self.text)
        return f"'{self.kind}'"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.col = 1
        self.tokens: list[_Token] = []

    def _error(self, message: str, line: int | None = None, column: int | None = None) -> HoconSyntaxError:
        return HoconSyntaxError(message, line or self.line, column or self.col)

    def _peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < len(self.text) else ""

    def _advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.pos += 1

    def _emit(self, kind: TokenKind, text: str, line: int, column: int) -> None:
        self.tokens.append(_Token(kind, text, line, column))

    def run(self) -> list[_Token]:
        while self.pos < len(self.text):
            c = self._peek()
            line, col = self.line, self.col
            if c == "\n":
                self._emit("newline", "\n", line, col)
                self._advance()
            elif c in _WHITESPACE:
                self._advance()
            elif c == "#" or (c == "/" and self._peek(1) == "/"):
                while self.pos < len(self.text) and self._peek() != "\n":
                    self._advance()
            elif c in "{}[],":
                self._emit(c, c, line, col)  # type: ignore[arg-type]
                self._advance()
            elif c in "=:":
                self._emit("=", c, line, col)
                self._advance()
            elif c == "+" and self._peek(1) == "=":
                self._emit("+=", "+=", line, col)
                self._advance(2)
            elif c == '"':
                if self.text.startswith('"""', self.pos):
                    self._triple_quoted(line, col)
                else:
                    self._quoted(line, col)
            elif c == "$":
                self._substitution(line, col)
            else:
                self._unquoted(line, col)
        self._emit("eof", "", self.line, self.col)
        return self.tokens

    def _quoted(self, line: int, col: int) -> None:
        self._advance()  # opening quote
        chars: list[str] = []
        while True:
            c = self._peek()
            if c == "" or c == "\n":
                raise self._error("this quoted string is not closed on its line (missing '\"')", line, col)
            if c == '"':
                self._advance()
                break
            if c == "\\":
                escape = self._peek(1)
                if escape == "u":
                    digits = self.text[self.pos + 2 : self.pos + 6]
                    if len(digits) != 4 or any(d not in "0123456789abcdefABCDEF" for d in digits):
                        raise self._error("bad unicode escape in a quoted string (expected \\uXXXX)")
                    self._advance(6)
                    continue
                if escape not in _ESCAPES:
                    raise self._error(f"bad escape '\\{escape}' in a quoted string")
                self._advance(2)
                continue
            chars.append(c)
            self._advance()
        self._emit("string", "".join(chars), line, col)

    def _triple_quoted(self, line: int, col: int) -> None:
        end = self.text.find('"""', self.pos + 3)
        if end < 0:
            raise self._error('this triple-quoted string (""") is never closed', line, col)
        # Quotes right before the closing three belong to the string: """a"""" is 'a"'.
        while self.text.startswith('"', end + 3):
            end += 1
        content = self.text[self.pos + 3 : end]
        self._advance(end + 3 - self.pos)
        self._emit("string", content, line, col)

    def _substitution(self, line: int, col: int) -> None:
        if self._peek(1) != "{":
            raise self._error("'$' is only allowed in a substitution ${...}; quote the string if you mean a '$'")
        end = self.pos + 2
        while end < len(self.text) and self.text[end] not in "}\n":
            end += 1
        if end >= len(self.text) or self.text[end] != "}":
            raise self._error("this substitution '${' is not closed with '}' on its line", line, col)
        inner = self.text[self.pos + 2 : end]
        path = inner[1:] if inner.startswith("?") else inner
        if not path.strip():
            raise self._error("empty substitution '${}'", line, col)
        self._advance(end + 1 - self.pos)
        self._emit("subst", "${" + inner + "}", line, col)

    def _unquoted(self, line: int, col: int) -> None:
        start = self.pos
        while self.pos < len(self.text):
            c = self._peek()
            if c == "\n" or c in _WHITESPACE or c == "#":
                break
            if c == "/" and self._peek(1) == "/":
                break
            if c in _FORBIDDEN:
                # A number's exponent sign (1e+5) is fine; '+=' ends the token.
                if c == "+" and self._peek(1) != "=" and self.pos > start and self.text[self.pos - 1] in "eE":
                    self._advance()
                    continue
                if c in '{}[],=:"$' or (c == "+" and self._peek(1) == "="):
                    break
                raise self._error(f"the character {c!r} is not allowed in an unquoted string; put the value in quotes")
            self._advance()
        if self.pos == start:  # cannot happen: the caller saw a non-special character
            raise self._error(f"unexpected character {self._peek()!r}")
        self._emit("unquoted", self.text[start : self.pos], line, col)


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def _tok(self) -> _Token:
        return self.tokens[self.i]

    def _next(self) -> _Token:
        token = self.tokens[self.i]
        if token.kind != "eof":
            self.i += 1
        return token

    @staticmethod
    def _error(message: str, token: _Token) -> HoconSyntaxError:
        return HoconSyntaxError(message, token.line, token.column)

    def _skip_newlines(self) -> None:
        while self._tok().kind == "newline":
            self.i += 1

    def parse(self) -> None:
        self._skip_newlines()
        if self._tok().kind == "{":
            opener = self._next()
            self._object_body(opener)
            self._skip_newlines()
            token = self._tok()
            if token.kind != "eof":
                raise self._error(f"unexpected {token.describe()} after the closing '}}' of the root object", token)
        else:
            self._object_body(None)

    def _object_body(self, opener: _Token | None) -> None:
        """Fields up to the closing '}' (or the end of the text at the root)."""
        after_comma = False
        while True:
            token = self._tok()
            if token.kind == "newline":
                self.i += 1
                continue
            if token.kind == ",":
                if after_comma:
                    raise self._error("two commas in a row (an empty field)", token)
                raise self._error("a comma must follow a field", token)
            if token.kind == "eof":
                if opener is not None:
                    raise self._error(
                        f"the '{{' opened at line {opener.line}, column {opener.column} is never closed", token
                    )
                return
            if token.kind == "}":
                if opener is None:
                    raise self._error("unexpected '}' (there is no '{' open)", token)
                self.i += 1
                return
            if token.kind == "]":
                where = "no '[' is open" if opener is None else f"'{{' at line {opener.line} is open"
                raise self._error(f"unexpected ']' ({where})", token)
            self._field()
            # After a field: a newline, a comma, the closing brace or the end.
            after_comma = False
            token = self._tok()
            if token.kind == ",":
                self.i += 1
                after_comma = True
                if self._tok().kind == ",":
                    raise self._error("two commas in a row (an empty field)", self._tok())
                continue
            if token.kind in ("newline", "}", "eof"):
                continue
            if token.kind in ("=", "+="):
                hint = (
                    "quote a value that contains ':' (an address like \"0.0.0.0:1883\")"
                    if token.text == ":"
                    else "put each field on its own line or separate fields with a comma"
                )
                raise self._error(f"unexpected '{token.text}' after a value: {hint}", token)
            raise self._error(f"unexpected {token.describe()} after a field", token)

    def _field(self) -> None:
        first = self._tok()
        if first.kind == "unquoted" and first.text == "include":
            self.i += 1
            if self._tok().kind not in ("string", "unquoted"):
                raise self._error("'include' needs a quoted file name", self._tok())
            while self._tok().kind in ("string", "unquoted"):
                self.i += 1
            return
        if first.kind in ("=", "+="):
            raise self._error(f"'{first.text}' without a key before it", first)
        if first.kind not in ("unquoted", "string"):
            raise self._error(f"expected a key, found {first.describe()}", first)
        key_parts: list[_Token] = []
        while self._tok().kind in ("unquoted", "string"):
            key_parts.append(self._next())
        self._check_key(key_parts)
        key = "".join(t.text for t in key_parts)
        token = self._tok()
        if token.kind == "{":
            self._value(first)
            return
        if token.kind in ("=", "+="):
            separator = self._next()
            self._skip_newlines()
            if self._tok().kind in ("}", "]", ",", "eof", "=", "+="):
                raise self._error(f"'{separator.text}' after key {key!r} has no value", self._tok())
            self._value(first)
            return
        if token.kind == "subst":
            raise self._error(f"key {key!r} is followed by a substitution without '=' or ':'", token)
        raise self._error(
            f"key {key!r} has no value: expected '=', ':' or '{{' after it, found {token.describe()}", token
        )

    def _check_key(self, parts: list[_Token]) -> None:
        # A path expression: quoted parts are opaque, dots in unquoted parts separate segments.
        shape = "".join(p.text if p.kind == "unquoted" else "x" for p in parts)
        if shape.startswith(".") or shape.endswith(".") or ".." in shape:
            raise self._error(
                f"invalid key {''.join(p.text for p in parts)!r}: a key path has an empty segment", parts[0]
            )

    def _value(self, field_start: _Token) -> None:
        """One value: simple parts, objects, arrays and substitutions on one line, concatenated."""
        kinds: list[str] = []
        while True:
            token = self._tok()
            if token.kind in ("string", "unquoted", "subst"):
                self.i += 1
                kinds.append(token.kind)
            elif token.kind == "{":
                self.i += 1
                self._object_body(token)
                kinds.append("object")
            elif token.kind == "[":
                self.i += 1
                self._array(token)
                kinds.append("array")
            else:
                break
        if not kinds:
            raise self._error(f"expected a value, found {self._tok().describe()}", self._tok())
        structured = {k for k in kinds if k in ("object", "array")}
        if structured and any(k in ("string", "unquoted") for k in kinds):
            raise self._error("an object or array cannot be concatenated with a string", field_start)
        if len(structured) > 1:
            raise self._error("an object cannot be concatenated with an array", field_start)

    def _array(self, opener: _Token) -> None:
        expect_value = True
        while True:
            token = self._tok()
            if token.kind == "newline":
                self.i += 1
                expect_value = True
                continue
            if token.kind == "]":
                self.i += 1
                return
            if token.kind == "eof":
                raise self._error(
                    f"the '[' opened at line {opener.line}, column {opener.column} is never closed", token
                )
            if token.kind == "}":
                raise self._error(
                    f"expected ']' to close the '[' opened at line {opener.line}, column {opener.column}, found '}}'",
                    token,
                )
            if token.kind == ",":
                if expect_value:
                    raise self._error("a comma without an array element before it", token)
                self.i += 1
                expect_value = True
                continue
            if token.kind in ("=", "+="):
                raise self._error(f"unexpected '{token.text}' in an array", token)
            if not expect_value:
                raise self._error("array elements must be separated by a comma or a newline", token)
            self._value(token)
            expect_value = False


def check(text: str) -> HoconSyntaxError | None:
    """The first syntax error in ``text``, or None when it is well-formed HOCON."""
    try:
        _Parser(_Lexer(text).run()).parse()
    except HoconSyntaxError as error:
        return error
    return None


def validate(text: str) -> None:
    """Raise :class:`HoconSyntaxError` for the first syntax error in ``text``."""
    error = check(text)
    if error is not None:
        raise error
