"""Would EMQX read this configuration text? A syntax checker for ``spec.config.data``, after EMQX's
own HOCON library, not Lightbend's.

EMQX parses its configuration with emqx/hocon (``src/hocon_scanner.xrl``, a leex scanner;
``src/hocon_token.erl``; ``src/hocon_parser.yrl``, a yecc grammar; ``src/hocon.erl``'s ``concat``).
This module follows those four steps, rule for rule, so that it accepts what EMQX accepts and
refuses what EMQX refuses; the corpus in ``tests/emqx/hocon_corpus/`` holds each difference, with
the verdict of EMQX's library itself. Where EMQX's HOCON differs from Lightbend's (HOCON.md):

* **Tokens** (the scanner, longest match, the earlier rule on a tie): ``{ } [ ] , : =``; ``true``,
  ``false``, ``null``; unquoted strings start with an ASCII letter and go on with letters, digits and
  ``_ . @ % - |`` (so ``admin@example.com``, ``tlsv1.3`` and ``emqx@127.0.0.1`` need no quotes, but
  ``/``, ``:``, ``*`` or a leading digit do); integers (``-5``), floats (``1.5``, ``.5``, ``1.5e3``,
  but ``1e3`` is ``1`` then ``e3``); sizes (``1MB``, ``64kb``, ``10b``), durations (``15s``, ``100ms``,
  ``1h``) and percentages (``80%``), each one token, which is a string; ``"..."`` strings, on one line,
  where a backslash before any character is kept (``"\\q"`` is ``\\q``) and only ``\\uXXXX`` must be
  valid; ``\"\"\"...\"\"\"`` strings, raw, closed by the first ``\"\"\"`` (``\"\"\"a\"\"\"\"`` is ``a``
  then a stray quote), with ``\"\"\"~`` ... ``~\"\"\"`` removing the indentation; substitutions
  ``${name}`` and ``${?name}`` (the name as an unquoted string: no spaces); ``include "file"`` and
  ``include required("file")``; comments from ``#`` or ``//`` to the end of the line. Nothing else:
  no ``+=``, no ``include file(...)``, no ``$`` or ``/`` outside quotes, no other characters.
* **Newlines are not tokens.** ``a = 1 b = 2`` is two fields, as ``a = 1, b = 2``. A key is the
  unquoted or quoted string right before ``=``, ``:`` or ``{``; a value runs until the next key.
  A comma right before ``}`` or ``]`` is dropped (``[1, 2,]``); two commas, or one at the very end
  of the text, are errors. ``a..b`` is the path ``a.b``; ``a."b"`` is an error.
* **Values**: one ``null``/boolean/number token, or a concatenation of strings, substitutions,
  objects and arrays ending the value; ``}`` then ``{`` on another line are two values (a comma is
  put between them). Concatenating an object or array with a string, or an object with an array,
  is an error (``hocon.erl`` ``concat``).

Substitutions are not resolved (they may name another file's settings), includes are not read,
and EMQX's schema is not checked: this says whether the text parses. One more bound of our own:
objects and arrays nested deeper than :data:`MAX_DEPTH` are refused (EMQX's configuration nests
about 6 levels), so that no text can exhaust Python's stack.

The first error is reported with its line and column (1-based), as a person would look for it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["MAX_DEPTH", "HoconSyntaxError", "check", "validate"]

MAX_DEPTH = 100
"""Levels of objects and arrays inside each other."""


class HoconSyntaxError(ValueError):
    """The text is not HOCON as EMQX reads it. ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"line {line}, column {column}: {message}")


@dataclass(slots=True)
class _Token:
    """A token of hocon_scanner.xrl, as hocon_token.erl then marks it: ``key`` (a string before
    ``=``, ``:`` or ``{``) and ``end*`` (the last part of a value)."""

    kind: str  # { } [ ] , = bool null integer float string unqstr variable include required key
    # endstr endvar endobj endarr eof
    text: str
    line: int
    column: int
    orphan: _Token | None = None  # a '=' or ':' right before it that follows no key (EMQX drops it)


# ----- the scanner (hocon_scanner.xrl) -----------------------------------------------------------

_WHITESPACE = "\t\v\f \u00a0"
_NEWLINES = "\n\r\u2028\u2029"
_UNQUOTED = re.compile(r"[A-Za-z][A-Za-z0-9_.@%\-|]*")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOATS = (re.compile(r"[+-]?[0-9]+\.[0-9]+[eE][+-]?[0-9]+"), re.compile(r"(?:[+-]?[0-9]+)?\.[0-9]+"))
_BYTESIZE = re.compile(r"[0-9]+(?:kb|KB|mb|MB|gb|GB|b|B)")
_PERCENT = re.compile(r"[0-9]+%")
_DURATION = re.compile(r"[0-9]+(?:ms|MS|d|D|h|H|m|M|s|S)")
_VARIABLE = re.compile(r"\$\{\??[A-Za-z][A-Za-z0-9_.@%\-|]*\}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[_Token] = []
        self.line = 1
        self.line_start = 0  # index of the current line's first character
        self.unclosed_triple: int | None = None  # where a """ with no closing """ was read as ""

    def _where(self, pos: int) -> tuple[int, int]:
        return self.line, pos - self.line_start + 1

    def _error(self, message: str, pos: int) -> HoconSyntaxError:
        line, column = self._where(pos)
        return HoconSyntaxError(message, line, column)

    def _emit(self, kind: str, start: int, end: int) -> None:
        line, column = self._where(start)
        self.tokens.append(_Token(kind, self.text[start:end], line, column))

    def _string_ends(self, start: int) -> list[int]:
        """Where a one-line "..." string opened at ``start`` may end (the closing quote's index),
        shortest first: a quote after a backslash may close it or be escaped (leex takes the longest)."""
        text, ends, j = self.text, [], start + 1
        while j < len(text) and text[j] not in _NEWLINES:
            if text[j] == '"':
                ends.append(j)
                if text[j - 1] != "\\" or j - 1 == start:
                    break
            j += 1
        return ends

    def _unescape_check(self, start: int, end: int) -> None:
        """hocon_scanner's unescape/1: only \\u escapes can be wrong (a bad hex, a lone surrogate)."""
        text, i = self.text, start
        while i < end:
            if text[i] == "\\" and i + 1 < end:
                if text[i + 1] != "u":
                    i += 2
                    continue
                digits = text[i + 2 : i + 6]
                if i + 6 > end or not _HEX4.fullmatch(digits):
                    raise self._error("bad unicode escape in a quoted string (expected \\uXXXX)", i)
                point = int(digits, 16)
                if 0xD800 <= point <= 0xDBFF:
                    low = text[i + 8 : i + 12] if text.startswith("\\u", i + 6) else ""
                    if i + 12 > end or not _HEX4.fullmatch(low) or not 0xDC00 <= int(low, 16) <= 0xDFFF:
                        raise self._error(f"\\u{digits} must be followed by a low surrogate \\uDC00-\\uDFFF", i)
                    i += 12
                    continue
                if 0xDC00 <= point <= 0xDFFF:
                    raise self._error(f"\\u{digits} is half of a surrogate pair; it cannot stand alone", i)
                i += 6
                continue
            i += 1

    def run(self) -> list[_Token]:
        text, n, i = self.text, len(self.text), 0
        if text.startswith("\ufeff"):  # hocon_token:read/1 drops a byte order mark at the start of a file
            i = 1
            self.line_start = 1
        while i < n:
            c = text[i]
            if c == "\n":
                i += 1
                self.line, self.line_start = self.line + 1, i
            elif c in _NEWLINES or c in _WHITESPACE:  # \r, U+2028, U+2029 end a comment, not a line
                i += 1
            elif c == "#" or text.startswith("//", i):
                while i < n and text[i] not in _NEWLINES:
                    i += 1
            elif c in "{}[],:=":
                self._emit(c, i, i + 1)
                i += 1
            elif c == '"':
                i = self._quoted(i)
            elif c.isascii() and c.isalpha():
                i = self._word(i)
            elif c in "+-.0123456789":
                i = self._number(i)
            elif c == "$":
                i = self._variable(i)
            else:
                raise self._illegal(i)
        self._emit("eof", n, n)
        return self.tokens

    def _illegal(self, i: int) -> HoconSyntaxError:
        c, text = self.text[i], self.text
        if text.startswith("+=", i):
            return self._error("'+=' is not part of EMQX's HOCON: write the whole list (key = [...])", i)
        if c == "'":
            return self._error("HOCON strings are quoted with \" (double quotes), not '", i)
        if c == "$":
            return self._error("'$' is only allowed in a substitution ${...}; quote the string if you mean a '$'", i)
        return self._error(f"the character {c!r} is not allowed outside quotes; put the value in quotes", i)

    def _quoted(self, i: int) -> int:
        text = self.text
        if text.startswith('"""', i):
            close = text.find('"""', i + 3)
            if close >= 0:  # raw: no escapes; the first """ closes it
                self._emit("string", i, close + 3)
                self.line += text.count("\n", i, close + 3)  # the token starts on the line it opened
                self.line_start = max(self.line_start, text.rfind("\n", i, close + 3) + 1)
                return close + 3
            self.unclosed_triple = i  # then it is "" and a string opened at its third quote
        ends = self._string_ends(i)
        if not ends:
            if self.unclosed_triple is not None and self.unclosed_triple == i - 2:
                raise self._error('this triple-quoted string (""") is never closed', i - 2)
            raise self._error("this quoted string is not closed on its line (missing '\"')", i)
        self._unescape_check(i + 1, ends[-1])
        self._emit("string", i, ends[-1] + 1)
        return ends[-1] + 1

    def _word(self, i: int) -> int:
        match = _UNQUOTED.match(self.text, i)
        assert match is not None  # the caller saw a letter
        word = match.group()
        if word == "required" and self.text.startswith("(", match.end()) and self.text.startswith('"', match.end() + 1):
            # required("file"): the Required token; the file name is pushed back and scanned as a string.
            opening = match.end() + 1
            for end in reversed(self._string_ends(opening)):
                if self.text.startswith(")", end + 1):
                    self._emit("required", i, match.end())
                    self._unescape_check(opening + 1, end)
                    self._emit("string", opening, end + 1)
                    return end + 2
        kind = "bool" if word in ("true", "false") else "null" if word == "null" else "unqstr"
        self._emit("include" if word == "include" else kind, i, match.end())
        return match.end()

    def _number(self, i: int) -> int:
        text = self.text
        # (length, kind) of each rule that matches; the longest wins, the earlier rule on a tie.
        candidates = []
        for kind, pattern in (
            ("integer", _INTEGER),
            ("float", _FLOATS[0]),
            ("float", _FLOATS[1]),
            ("string", _BYTESIZE),
            ("string", _PERCENT),
            ("string", _DURATION),
        ):
            match = pattern.match(text, i)
            if match:
                candidates.append((match.end(), kind))
        if not candidates:
            raise self._illegal(i)
        end = max(e for e, _ in candidates)
        kind = next(k for e, k in candidates if e == end)
        if kind == "float" and not math.isfinite(float(text[i:end])):  # list_to_float/1 fails on it
            raise self._error(f"the number {text[i:end]} is too large; quote it if it is text", i)
        self._emit(kind, i, end)
        return end

    def _variable(self, i: int) -> int:
        match = _VARIABLE.match(self.text, i)
        if match:
            self._emit("variable", i, match.end())
            return match.end()
        if self.text.startswith("${", i):
            line_end = next((j for j in range(i, len(self.text)) if self.text[j] in _NEWLINES), len(self.text))
            if self.text.find("}", i, line_end) < 0:
                raise self._error("this substitution '${' is not closed with '}' on its line", i)
            raise self._error(
                "a substitution is ${name} or ${?name}, the name starting with a letter, without spaces", i
            )
        raise self._illegal(i)


# ----- hocon_token.erl: trailing commas, keys, the ends of values ------------------------------------


def _rm_trailing_comma(tokens: list[_Token]) -> list[_Token]:
    return [t for i, t in enumerate(tokens) if not (t.kind == "," and tokens[i + 1].kind in ("}", "]"))]


def _trans_key(tokens: list[_Token]) -> list[_Token]:
    """A string right before ':', '=' or '{' is a key; ':' and '=' go."""
    out: list[_Token] = []
    orphan: _Token | None = None
    for token in tokens:
        keyed = bool(out) and out[-1].kind in ("unqstr", "string")
        if token.kind in (":", "=", "{") and keyed:
            out[-1].kind = "key"
        if token.kind in (":", "="):
            orphan = None if keyed else token
            continue
        token.orphan, orphan = orphan, None
        out.append(token)
    return out


_ENDS = {"unqstr": "endstr", "string": "endstr", "variable": "endvar", "}": "endobj", "]": "endarr"}


def _trans_splice_end(tokens: list[_Token]) -> list[_Token]:
    """The last token before a key, an include, a comma or the end (or before what follows a
    closing bracket) ends a value: endstr, endvar, endobj, endarr. ``}`` then ``{`` on another
    line get a comma between them."""
    out: list[_Token] = []
    last = -1  # index in ``out`` of the token that would end the current value
    for i, token in enumerate(tokens):
        boundary = token.kind in ("key", "include", ",", "eof", "}", "]")
        if boundary and last >= 0 and out[last].kind in _ENDS:
            out[last].kind = _ENDS[out[last].kind]
        if boundary:
            last = -1
        out.append(token)
        if token.kind in ("}", "]"):
            last = len(out) - 1
            following = tokens[i + 1]
            if token.kind == "}" and following.kind == "{" and following.line != token.line:
                out[last].kind = "endobj"
                out.append(_Token(",", "", token.line, token.column))
                last = -1
        elif not boundary:
            last = len(out) - 1
    return out


# ----- hocon_parser.yrl, and hocon.erl's concat ----------------------------------------------------

_SCALARS = ("null", "bool", "integer", "float")
_OPENING = {"{": ("}", "endobj"), "[": ("]", "endarr")}


def _describe(token: _Token) -> str:
    if token.kind == "eof":
        return "the end of the text"
    if token.kind == ",":
        return "','" if token.text else "the next line's '{'"
    return repr(token.text)


class _Parser:
    def __init__(self, tokens: list[_Token], text: str) -> None:
        self.tokens = tokens
        self.lines = text.split("\n")
        self.i = 0
        self.depth = 0
        # Concatenation errors (hocon.erl's concat): EMQX finds them after the whole text parsed.
        self.pending: list[HoconSyntaxError] = []

    def _tok(self) -> _Token:
        return self.tokens[self.i]

    @staticmethod
    def _error(message: str, token: _Token) -> HoconSyntaxError:
        return HoconSyntaxError(message, token.line, token.column)

    def parse(self) -> None:
        first = self._tok()
        if first.kind == "{":
            self.i += 1
            closing = self._fields(first)
            if closing.kind != "endobj" or self._tok().kind != "eof":
                token = self._tok()
                raise self._error(f"unexpected {_describe(token)} after the closing '}}' of the root object", token)
        elif first.kind != "eof":
            self._fields(None)
        if self.pending:
            raise self.pending[0]

    def _fields(self, opener: _Token | None) -> _Token:
        """Fields up to the object's closing brace (returned) or, at the root, the end."""
        if opener is not None:
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self._error(f"objects and arrays are nested more than {MAX_DEPTH} levels deep", opener)
            if self._tok().kind in ("}", "endobj"):
                self.depth -= 1
                self.i += 1
                return self.tokens[self.i - 1]
        while True:
            self._field()
            token = self._tok()
            if token.kind == ",":
                self.i += 1
                following = self._tok()
                if following.kind == ",":
                    raise self._error("two commas in a row (an empty field)", following)
                if following.kind not in ("key", "include"):
                    raise self._error(f"a field must follow the comma, found {_describe(following)}", following)
                continue
            if token.kind in ("key", "include"):
                continue
            if opener is not None and token.kind in ("}", "endobj"):
                self.depth -= 1
                self.i += 1
                return token
            if opener is None and token.kind == "eof":
                return token
            raise self._after_value(token, opener)

    def _after_value(self, token: _Token, opener: _Token | None) -> HoconSyntaxError:
        previous = self.tokens[self.i - 1]
        if token.kind == "eof":
            assert opener is not None
            return self._error(f"the '{{' opened at line {opener.line}, column {opener.column} is never closed", token)
        if token.kind in ("]", "endarr"):
            where = "no '[' is open" if opener is None else f"the '{{' at line {opener.line} is open"
            return self._error(f"unexpected ']' ({where})", token)
        if token.kind in ("}", "endobj"):
            return self._error("unexpected '}' (there is no '{' open)", token)
        if token.kind in ("unqstr", "string", "endstr") and token.line != previous.line:
            return self._error(
                f"key {token.text!r} has no value: expected '=', ':' or '{{' after it, found "
                f"{_describe(self.tokens[self.i + 1]) if token.kind != 'endstr' else 'the next line'}",
                token,
            )
        line = self.lines[token.line - 1] if token.line - 1 < len(self.lines) else ""
        hint = "put each field on its own line or separate fields with a comma"
        if token.line == previous.line and any(c in line[previous.column - 1 :] for c in ":/"):
            hint = "quote a value that contains ':' or '/' (an address like \"0.0.0.0:1883\", a path)"
        return self._error(f"unexpected {_describe(token)} after a value: {hint}", token)

    def _field(self) -> None:
        token = self._tok()
        if token.kind == "include":
            self.i += 1
            if self._tok().kind == "required":
                self.i += 1
            if self._tok().kind not in ("unqstr", "string", "endstr"):
                raise self._error("'include' needs a quoted file name (include \"file\")", self._tok())
            self.i += 1
            return
        if token.kind != "key":
            if token.orphan is not None:
                raise self._error(f"'{token.orphan.text}' without a key before it", token.orphan)
            if token.kind in ("unqstr", "string", "endstr", "bool", "null", "integer", "float"):
                following = self.tokens[self.i + 1]
                if token.kind in ("bool", "null", "integer", "float"):
                    raise self._error(f'{token.text!r} cannot be a key; quote it ("{token.text}" = ...)', token)
                raise self._error(
                    f"key {token.text!r} has no value: expected '=', ':' or '{{' after it, found "
                    f"{_describe(following)}",
                    token,
                )
            raise self._error(f"expected a key, found {_describe(token)}", token)
        self.i += 1
        self._value(token)

    def _value(self, key: _Token) -> None:
        """One value: a scalar token, or parts ending with an end token, concatenated."""
        token = self._tok()
        if token.kind in _SCALARS:
            self.i += 1
            return
        parts: set[str] = set()
        previous: _Token | None = None
        while True:
            token = self._tok()
            self.i += 1
            if token.kind in ("unqstr", "string", "endstr"):
                parts.add("a string")
                ended = token.kind == "endstr"
            elif token.kind in ("variable", "endvar"):
                ended = token.kind == "endvar"
            elif token.kind == "{":
                empty = self.tokens[self.i].kind in ("}", "endobj")
                closing = self._fields(token)
                if not empty:  # an empty object adds no field to a concatenation: {} x is "x"
                    parts.add("an object")
                ended = closing.kind == "endobj"
            elif token.kind == "[":
                closing = self._elements(token)
                parts.add("an array")
                ended = closing.kind == "endarr"
            else:
                self.i -= 1
                if previous is None and token.kind == "key" and key.kind == "key":
                    raise self._error(
                        f"key {key.text!r} has no value: {token.text!r} is read as the next key (a string "
                        "before '=', ':' or '{' is a key); quote the value",
                        token,
                    )
                if previous is None:
                    name = "" if key.kind != "key" else f" after key {key.text!r}"
                    raise self._error(f"expected a value{name}, found {_describe(token)}", token)
                raise self._error(
                    f"unexpected {_describe(token)} after {_describe(previous)} in a value: quote the whole value",
                    token,
                )
            if ended:
                break
            previous = token
        if len(parts) > 1:
            self.pending.append(self._error(f"{' and '.join(sorted(parts))} cannot be concatenated", key))

    def _elements(self, opener: _Token) -> _Token:
        """Array elements up to the closing bracket (returned)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(f"objects and arrays are nested more than {MAX_DEPTH} levels deep", opener)
        expect_value = True
        while True:
            token = self._tok()
            if token.kind in ("]", "endarr"):
                self.depth -= 1
                self.i += 1
                return token
            if token.kind == "eof":
                where = f"line {opener.line}, column {opener.column}"
                raise self._error(f"the '[' opened at {where} is never closed", token)
            if token.kind in ("}", "endobj"):
                raise self._error(
                    f"expected ']' to close the '[' opened at line {opener.line}, column {opener.column}, found '}}'",
                    token,
                )
            if token.kind == ",":
                if expect_value:
                    raise self._error("a comma without an array element before it", token)
                self.i += 1
                expect_value = True
                if self._tok().kind in ("]", "endarr", ","):
                    raise self._error("a comma without an array element after it", self._tok())
                continue
            if token.kind == "key":
                raise self._error(f"unexpected key {token.text!r} in an array (arrays hold values)", token)
            self._value(token)
            expect_value = False


def check(text: str) -> HoconSyntaxError | None:
    """The first syntax error in ``text`` as EMQX's HOCON library would find it, or None."""
    try:
        tokens = _Scanner(text).run()
        _Parser(_trans_splice_end(_trans_key(_rm_trailing_comma(tokens))), text).parse()
    except HoconSyntaxError as error:
        return error
    return None


def validate(text: str) -> None:
    """Raise :class:`HoconSyntaxError` for the first syntax error in ``text``."""
    error = check(text)
    if error is not None:
        raise error
