"""Russian narration: every message in both languages, `--lang ru` and LANG=ru_* speak Russian, and the Russian
output keeps the width rules."""

from __future__ import annotations

import gettext
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import run_main

from netlab import i18n, loader
from netlab.backends.fake import FakeBackend
from netlab.report import console, fit
from netlab.report import explain as explain_report
from netlab.report.step import StepNarrator
from netlab.runner import run_topology

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import catalogue  # noqa: E402  (tools/catalogue.py: the catalogue's own maintenance script)

CYRILLIC = re.compile("[А-Яа-яЁё]")


def test_every_message_has_its_russian_and_the_compiled_catalogue_is_current() -> None:
    assert catalogue.problems() == []


def test_the_catalogue_holds_the_code_s_messages_and_the_bundled_scenarios_words() -> None:
    where = {w.split("/")[0] for ws in catalogue.messages().values() for w in ws}
    assert where == {"netlab", "scenarios"}
    assert len(catalogue.messages()) > 150


def test_the_compiled_catalogue_reads_back_through_gettext() -> None:
    image = catalogue.mo_bytes({"stage {name}": "этап {name}", "topology": "топология"})
    t = gettext.GNUTranslations(io.BytesIO(image))
    assert t.gettext("stage {name}") == "этап {name}" and t.gettext("topology") == "топология"
    assert t.gettext("not in it") == "not in it"


def test_a_translation_must_keep_the_message_s_fields() -> None:
    assert catalogue.fields("stage {name}: {doc!r} {n:>3}") == {"name", "doc!r", "n:>3"}
    assert catalogue.fields("literal {{braces}}") == set()


def test_the_language_comes_from_lang_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert i18n.from_environment() == "en"
    monkeypatch.setenv("LANG", "ru_RU.UTF-8")
    assert i18n.from_environment() == "ru"
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")  # LC_ALL outranks LANG; a language netlab lacks is English
    assert i18n.from_environment() == "en"
    monkeypatch.setenv("LANGUAGE", "ru:en")
    assert i18n.from_environment() == "ru"
    with pytest.raises(ValueError):
        i18n.use("fr")


def _english_messages() -> list[str]:
    """The catalogue's longer messages without fields: if one shows in the Russian output, it was not translated."""
    return [m for m in catalogue.messages() if len(m) > 15 and not catalogue.fields(m)]


def test_netlab_explain_bridge_lang_ru_is_russian_and_fits(monkeypatch, capsys) -> None:
    code, out, err = run_main(monkeypatch, capsys, "explain", "bridge", "--lang", "ru", "--width", "80")
    assert code == 0, err
    assert "топология" in out and "этап" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    leaked = [m for m in _english_messages() if m in out]
    assert leaked == []
    # the lecture's own words stay the lecture's: the Bridged card is in English
    assert "bridge: Uses IPTables." in out
    i18n.use("en")
    english = explain_report.render(loader.load("bridge"))
    assert "topology" in english and not CYRILLIC.search(english)


def test_the_lecture_s_russian_sentences_are_shown_as_written_in_russian(monkeypatch, capsys) -> None:
    code, out, _err = run_main(monkeypatch, capsys, "explain", "macvlan_vlan", "--lang", "ru")
    assert code == 0
    assert "этот драйвер дает контейнерам прямой доступ к интерфейсу и суб-интерфейсу (vlan) хоста." in out
    assert "(in English:" not in out
    code, out, _err = run_main(monkeypatch, capsys, "explain", "macvlan_vlan", "--lang", "en")
    assert "(in English: This driver gives containers direct access" in out


@pytest.mark.parametrize("name", [p.stem for p in sorted((ROOT / "scenarios").glob("*.py")) if p.stem != "__init__"])
@pytest.mark.parametrize("columns", [80, 100])
def test_every_bundled_scenario_explained_in_russian_fits(name: str, columns: int) -> None:
    i18n.use("ru")
    text = fit.fit(explain_report.render(loader.load(name)), columns)
    assert max(fit.visible(x) for x in text.splitlines()) <= columns
    assert CYRILLIC.search(text.splitlines()[0]), "the title is translated"


@pytest.mark.parametrize("columns", [80, 160])
def test_the_run_report_and_the_step_narration_in_russian_fit(columns: int) -> None:
    i18n.use("ru")
    out = io.StringIO()
    narrator = StepNarrator(pause=0, out=out, width=columns)
    r = run_topology(loader.load("bridge"), FakeBackend(node_gateways=True), narrator=narrator)
    report = fit.fit(console.render(r, predicted=True, width=columns), columns)
    for text in (out.getvalue(), report):
        assert max(fit.visible(x) for x in text.splitlines()) <= columns
        assert [m for m in _english_messages() if m in text] == []
    assert CYRILLIC.search(out.getvalue()) and CYRILLIC.search(report)


def test_lang_ru_in_the_environment_speaks_russian_and_a_bad_lang_is_exit_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env["LANG"] = "ru_RU.UTF-8"
    netlab = [sys.executable, "-c", "from netlab.cli import console; console()"]
    done = subprocess.run([*netlab, "explain", "host"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "топология" in done.stdout
    done = subprocess.run([*netlab, "explain", "host", "--lang", "fr"], env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "--lang fr" in done.stderr and done.stdout == ""


def test_no_module_that_translates_uses_the_translator_s_name_for_a_variable() -> None:
    """`kind, _, arg = ...` in a function that also calls `_()` would make `_` a local there (UnboundLocalError)."""
    import ast

    clashes = []
    for path in sorted((ROOT / "netlab").rglob("*.py")):
        tree = ast.parse(path.read_text())
        imports_it = any(
            isinstance(n, ast.ImportFrom) and n.module == "netlab.i18n" and any(a.name == "_" for a in n.names)
            for n in tree.body
        )
        if imports_it:
            clashes += [
                f"{path.relative_to(ROOT)}:{n.lineno}"
                for n in ast.walk(tree)
                if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
            ]
    assert clashes == []
