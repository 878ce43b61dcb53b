"""Names from JSON property keys: class words (`httpGet` -> Http, Get; `extraContainers[]` -> ExtraContainer)
and Python field names (`externalIPs` -> external_ips)."""

from __future__ import annotations

import keyword
import re
from collections.abc import Sequence

__all__ = ["common_suffix", "field_name", "key_words", "singular"]

# Words of a camelCase or snake_case key, keeping acronyms whole, plural ones too:
# "bootstrapAPIKeys" -> bootstrap, API, Keys; "externalIPs" -> external, IPs; "node_status" -> node, status.
_WORD = re.compile(r"[A-Z]{2,}s(?![a-z])|[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")

# Plurals the suffix rules below get wrong. Keys are lower case.
_IRREGULAR = {
    "aliases": "alias",
    "addresses": "address",
    "statuses": "status",
    "data": "data",
    "metadata": "metadata",
}


def key_words(key: str) -> list[str]:
    """Split a JSON key into capitalised words, keeping acronyms: `bootstrapAPIKeys` -> Bootstrap, API, Keys."""
    words = _WORD.findall(key)
    if not words:
        raise ValueError(f"cannot name a class after the key {key!r}")
    return [w if w.isupper() else w[0].upper() + w[1:] for w in words]


def field_name(key: str, taken: frozenset[str] = frozenset()) -> str:
    """The snake_case Python name of a JSON key; `_` is appended to a keyword or a name in `taken`
    (the attributes of the base model: `json`, `copy`, `model_config` ...)."""
    name = "_".join(word.lower() for word in _WORD.findall(key))
    if not name.isidentifier() or name[0].isdigit():
        raise ValueError(f"cannot make a Python name of the key {key!r}")
    if keyword.iskeyword(name) or name in taken:
        name += "_"
    return name


def singular(word: str) -> str:
    """Singular of the last word of an array's key, for the class of its items: Containers -> Container."""
    lower = word.lower()
    if lower in _IRREGULAR:
        return _match_case(_IRREGULAR[lower], word)
    if word.isupper():  # acronyms: "ACL", "IPs" is handled below only when mixed case
        return word
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if lower.endswith(("ss", "us", "is")):
        return word
    if lower.endswith("s") and len(word) > 1:
        return word[:-1]
    return word


def common_suffix(word_lists: Sequence[Sequence[str]]) -> list[str]:
    """The longest run of words every list ends with: [Liveness, Probe], [Readiness, Probe] -> [Probe]."""
    suffix: list[str] = []
    for column in zip(*(reversed(words) for words in word_lists), strict=False):
        if len(set(column)) != 1:
            break
        suffix.insert(0, column[0])
    return suffix


def _match_case(replacement: str, original: str) -> str:
    return replacement[0].upper() + replacement[1:] if original[0].isupper() else replacement
