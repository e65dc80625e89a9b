"""The language netlab speaks: English (the messages as written in the code) or Russian (a gettext catalogue).

Messages are marked where they are written: `_("stage {name}").format(name=...)` translates at once,
`N_("...")` marks a message kept in data (a claim's note) that is translated where it is printed, with
`_(value)`. A bundled scenario's words (title, stage docs, claims) are looked up the same way when printed;
a user's own scenario has no translation and prints as written. The catalogue is
netlab/locale/ru/LC_MESSAGES/netlab.po, compiled to netlab.mo beside it (docs/translating.md).

The language is the process's: `use("ru")` from `--lang`, else the environment (LANGUAGE, LC_ALL,
LC_MESSAGES, LANG, in gettext's order: `ru_RU.UTF-8` speaks Russian), else English. Commands, flags,
addresses, rules and JSON stay as they are in every language.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALEDIR = Path(__file__).parent / "locale"
DOMAIN = "netlab"
LANGUAGES = ("en", "ru")

_catalogue: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it here (it is translated where printed)."""
    return message


def _(message: str) -> str:
    """The message in the language in use (as written when the catalogue has no translation of it)."""
    return _catalogue.gettext(message) if message else message


def from_environment() -> str:
    """The language the environment asks for, as gettext reads it: the first of LANGUAGE, LC_ALL,
    LC_MESSAGES and LANG that is set; Russian when it names ru, English otherwise."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            first = value.split(":")[0].split(".")[0].split("_")[0].lower()
            return first if first in LANGUAGES else "en"
    return "en"


def use(language: str | None = None) -> str:
    """Speak `language` ("en" or "ru"; None: the environment's) from now on; returns the language in use."""
    global _catalogue, _language
    chosen = from_environment() if language is None else language
    if chosen not in LANGUAGES:
        raise ValueError(f"language {chosen!r}: netlab speaks {', '.join(LANGUAGES)}")
    if chosen == "en":
        _catalogue = gettext.NullTranslations()
    else:
        _catalogue = gettext.translation(DOMAIN, str(LOCALEDIR), languages=[chosen])
    _language = chosen
    return chosen


def language() -> str:
    return _language
