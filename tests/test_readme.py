"""The README's examples can't rot: the example definition loads, and the sandbox walk-through's
config, definition and `sandbox submit` answers fit together."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

from forms_sync.commands import check_definitions
from forms_sync.definition import load_definition

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SANDBOX = ROOT / "examples" / "sandbox"


def section(title: str) -> str:
    """The text of a `## title` section, up to the next `## ` heading."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert m, f"README has no '## {title}' section"
    return m.group(1)


def code_blocks(text: str, lang: str | None = None) -> list[str]:
    return [body for tag, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
            if lang is None or tag == lang]


def test_form_definitions_example_is_a_valid_definition(tmp_path):
    blocks = code_blocks(section("Form definitions"), "yaml")
    assert blocks, "no ```yaml block under '## Form definitions'"
    path = tmp_path / "rekap_sekolah.yaml"
    path.write_text(blocks[0], encoding="utf-8")
    d = load_definition(path)
    names = {f.name for f in d.fields}
    assert {"siswa_laki_laki", "siswa_perempuan", "total_siswa"} <= names and d.rules


def test_quickstart_is_one_block_of_two_commands():
    blocks = code_blocks(section("Quickstart"))
    assert len(blocks) == 1 and len(blocks[0].strip().splitlines()) == 2


def test_sandbox_walkthrough_fits_its_example_files():
    checked = check_definitions([], SANDBOX / "forms-sync.toml")
    assert [d.id for d in checked] == ["rekap_sekolah"]
    d = checked[0]
    walk = next(b for b in code_blocks(README, "bash") if "sandbox submit" in b)
    assert "--config examples/sandbox/forms-sync.toml" in walk and "kill %1" in walk
    submit = walk[walk.index("forms-sync sandbox submit"):]
    submit = submit[:submit.index("\n", submit.index('Status data'))].replace("\\\n", " ")
    args = shlex.split(submit)
    answered = {args[i + 1].split("=", 1)[0] for i, a in enumerate(args) if a == "-a"}
    required = {d.region_label, d.period_label} | {f.label for f in d.fields if f.required}
    assert required <= answered, required - answered
