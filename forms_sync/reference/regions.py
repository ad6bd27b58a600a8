"""Indonesian regions (Kemendagri codes) and how a typed region answer is read.

The rules are FORMAT.md §2 "Region answers"; data/SOURCES.md says where the tables come from and
what is odd in them (BPS codes that are another regency's Kemendagri code, codes retired by the
2022 Papua split, kabupaten whose names begin with "Kota"). Nothing is fuzzy: an answer is a code,
a code with its name, or a name that folds to exactly one region of the form's level.
"""
from __future__ import annotations

import bisect
import csv
import functools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

LEVELS = ("province", "regency", "village")  # a form's respondent
ALL_LEVELS = ("province", "regency", "district", "village")  # districts are parents only
DATA_DIR = Path(__file__).parent / "data"

_DEPTH = {level: depth for depth, level in enumerate(ALL_LEVELS, start=1)}
_FIXED_EXAMPLE = {"province": "32", "regency": "32.04", "village": "32.04.05.2001"}
_MISSING_TEXTS = {"", "-", "_", "."}
_OR = " atau "

# (Indonesian, English) words for a region's kind, used as found_level / found_level_en.
KIND_WORDS = {
    "provinsi": ("provinsi", "province"),
    "kabupaten": ("kabupaten", "regency"),
    "kota": ("kota", "city"),
    "kecamatan": ("kecamatan", "district"),
    "desa": ("desa", "village"),
    "kelurahan": ("kelurahan", "urban village"),
    "desa_adat": ("desa adat", "customary village"),
}

# Kind prefixes as folded tokens, longest first. "Kep." is not a kind: it is folded to
# "kepulauan" wherever it stands (official names use both).
_KIND_PREFIXES = (
    (("kabupaten", "administrasi"), "kabupaten"),
    (("kabupaten", "adm"), "kabupaten"),
    (("kab", "administrasi"), "kabupaten"),
    (("kab", "adm"), "kabupaten"),
    (("kabupaten",), "kabupaten"),
    (("kab",), "kabupaten"),
    (("kota", "administrasi"), "kota"),
    (("kota", "adm"), "kota"),
    (("kota",), "kota"),
    (("provinsi",), "provinsi"),
    (("propinsi",), "provinsi"),
    (("prov",), "provinsi"),
    (("kecamatan",), "kecamatan"),
    (("kec",), "kecamatan"),
)
_VILLAGE_PREFIXES = tuple((p, "village") for p in (("desa", "adat"), ("desa",), ("kelurahan",), ("kel",)))

# A code, optionally followed by a name: "32.04", "3204", "32.04 - Kabupaten Bandung".
_CODE_RE = re.compile(
    r"(?P<code>[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{2}(?:\.[0-9]{4})?)?)?|[0-9]{4})(?![0-9])"
    r"(?:\s*[-–—:|,.]?\s*(?P<name>(?=.*[^\W\d_])\w.*))?"  # a name holds a letter ("19 Nopember")
)


# --- name folding -------------------------------------------------------------------------------

def _tokens(text: str) -> tuple[str, ...]:
    """Lower-case ASCII words; punctuation, hyphens and spaces only separate them."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return tuple("kepulauan" if t == "kep" else t for t in re.findall(r"[a-z0-9]+", ascii_text))


def fold(text: str) -> str:
    """A name folded for comparison: "Toli-Toli", "TOLI TOLI" and "Tolitoli" all give "tolitoli"."""
    return "".join(_tokens(text))


def _strip_prefix(tokens: tuple[str, ...], prefixes) -> tuple[str | None, tuple[str, ...]]:
    for prefix, kind in prefixes:
        if tokens[: len(prefix)] == prefix and len(tokens) > len(prefix):
            return kind, tokens[len(prefix):]
    return None, tokens


def split_kind(text: str) -> tuple[str | None, str]:
    """(kind read from the prefix or None, folded name without it): "Kab. Adm. Kep. Seribu" ->
    ("kabupaten", "kepulauanseribu")."""
    kind, rest = _strip_prefix(_tokens(text), _KIND_PREFIXES)
    return kind, "".join(rest)


def _village_keys(text: str) -> set[str]:
    """A village name folded with and without a Desa/Kelurahan prefix (some official names carry one)."""
    tokens = _tokens(text)
    _, rest = _strip_prefix(tokens, _VILLAGE_PREFIXES)
    return {"".join(tokens), "".join(rest)}


# --- answers ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RegionAnswer:
    """One read answer: a code, or an error with the message key and params to report it."""

    code: str | None = None
    error: str | None = None
    message_key: str | None = None
    params: dict | None = None


_MISSING = RegionAnswer()


def _ok(code: str) -> RegionAnswer:
    return RegionAnswer(code=code)


def _fail(error: str, message_key: str | None = None, **params) -> RegionAnswer:
    return RegionAnswer(None, error, message_key or error, params)


def _clean(value) -> str | None:
    """The answer as one-spaced text, or None when missing. XLSX may give 3204 as a number."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (float, np.floating)):
        if value != value:  # NaN
            return None
        value = int(value) if float(value).is_integer() else value
    text = " ".join(str(value).split())
    return None if text in _MISSING_TEXTS else text


def _level_of_code(code: str) -> str:
    return ALL_LEVELS[code.count(".")]


# --- the reference ------------------------------------------------------------------------------

class RegionReference:
    """The region tables with the lookups that reading answers needs. Build it with load()."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        self._tables = tables
        self._name: dict[str, str] = {}
        self._kind: dict[str, str] = {}
        self._parent: dict[str, str | None] = {}
        self._codes: dict[str, list[str]] = {}
        provinces, regencies = tables["provinces"], tables["regencies"]
        districts, villages = tables["districts"], tables["villages"]
        self._add("province", provinces.code, provinces.name, ["provinsi"] * len(provinces), [None] * len(provinces))
        self._add("regency", regencies.code, regencies.name, regencies.kind, regencies.province_code)
        self._add("district", districts.code, districts.name, ["kecamatan"] * len(districts), districts.regency_code)
        self._add("village", villages.code, villages.name, villages.kind, villages.district_code)

        retired = tables["retired_codes"]
        self._retired = dict(zip(retired.old_code, retired.new_code))
        self._retired_name = dict(zip(retired.old_code, retired.name))
        bps = tables["bps_crosswalk_2020"]
        self._bps = dict(zip(bps.bps_code_2020, bps.kemendagri_code_current))
        self._build_name_index(tables["aliases"])

    def _add(self, level, codes, names, kinds, parents) -> None:
        # Plain lists first: iterating a pandas str column cell by cell is slow (83,762 villages).
        codes, names, kinds, parents = (c.tolist() if hasattr(c, "tolist") else list(c)
                                        for c in (codes, names, kinds, parents))
        self._name.update(zip(codes, names))
        self._kind.update(zip(codes, kinds))
        self._parent.update(zip(codes, parents))
        self._codes[level] = sorted(codes)

    def _build_name_index(self, aliases: pd.DataFrame) -> None:
        """Folded names -> codes: provinces by name; regencies by (kind, name) and by bare name."""
        self._province_by_key: dict[str, set[str]] = defaultdict(set)
        self._regency_by_kind: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._regency_by_key: dict[str, set[str]] = defaultdict(set)
        for code in self._codes["province"]:
            self._province_by_key[split_kind(self._name[code])[1]].add(code)
        for code in self._codes["regency"]:
            self._add_regency_name(code, self._name[code])
        for alias, code in zip(aliases.alias, aliases.code):
            if code not in self._name:
                raise ValueError(f"aliases.csv: {alias!r} names unknown code {code}")
            if _level_of_code(code) == "province":
                self._province_by_key[split_kind(alias)[1]].add(code)
            else:
                self._add_regency_name(code, alias)

    @functools.cached_property
    def _district_by_key(self) -> dict[str, set[str]]:
        """Folded district names -> codes, built on first use: only a name answer that is no region
        of the form's level needs it, and folding 7,000 names costs ~0.1 s at every start."""
        index: dict[str, set[str]] = defaultdict(set)
        for code in self._codes["district"]:
            index[split_kind(self._name[code])[1]].add(code)
        return index

    def _add_regency_name(self, code: str, name: str) -> None:
        """Index one spelling. A spelling whose prefix contradicts the kind ("Kota Baru" for
        Kabupaten Kotabaru) is kept only as written, never as a bare name."""
        kind, key = split_kind(name)
        own_kind = self._kind[code]
        if kind is None or kind == own_kind:
            self._regency_by_key[key].add(code)
            self._regency_by_kind[(own_kind, key)].add(code)
        else:
            self._regency_by_kind[(kind, key)].add(code)

    # --- plain look-ups ---------------------------------------------------------------------

    def name(self, code: str) -> str:
        """Official name of a current code of any level (KeyError for anything else)."""
        return self._name[code]

    def kind(self, code: str) -> str:
        """provinsi, kabupaten, kota, kecamatan, desa, kelurahan or desa_adat."""
        return self._kind[code]

    def codes_for_level(self, level: str) -> list[str]:
        """All current codes of a level (province, regency, district, village), sorted."""
        if level not in self._codes:
            raise ValueError(f"unknown region level {level!r}")
        return list(self._codes[level])

    def dropdown_label(self, code: str) -> str:
        """The code and the official name, as the generated dropdown shows it: "32.04 Kabupaten Bandung"."""
        return f"{code} {self._name[code]}"

    def dropdown_options(self, level: str) -> list[str]:
        """Dropdown labels for a province or regency form; a village form has too many for a dropdown."""
        if level not in ("province", "regency"):
            raise ValueError(f"no dropdown for level {level!r}: only province and regency forms have one")
        return [self.dropdown_label(code) for code in self._codes[level]]

    def dimension_table(self) -> pd.DataFrame:
        """Every region of every level with its province and regency, for joins in the dashboard."""
        return self._dimension_table.copy()

    @functools.cached_property
    def _dimension_table(self) -> pd.DataFrame:
        rows = []
        for level in ALL_LEVELS:
            for code in self._codes[level]:
                parts = code.split(".")
                province = parts[0]
                regency = ".".join(parts[:2]) if len(parts) >= 2 else None
                rows.append((
                    code, self._name[code], level, self._kind[code], self._parent[code],
                    province, self._name[province], regency, self._name.get(regency) if regency else None,
                ))
        columns = ["code", "name", "level", "kind", "parent_code",
                   "province_code", "province_name", "regency_code", "regency_name"]
        return pd.DataFrame(rows, columns=columns, dtype=object)

    # --- reading answers --------------------------------------------------------------------

    def resolve(self, values: pd.Series, level: str) -> pd.DataFrame:
        """Read a column of region answers for a form of `level`.

        Returns a frame indexed like `values` with code, error, message_key and params (the
        message params this module knows; the caller adds label, label_en and value). Each
        distinct answer is read once and mapped back, so a column's size barely matters. The
        params dicts are shared between equal answers: do not modify them.
        """
        if level not in LEVELS:
            raise ValueError(f"unknown respondent level {level!r}; expected one of {', '.join(LEVELS)}")
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        # missing cells get code -1, which picks the _MISSING answer appended last
        answers = [self.resolve_one(value, level) for value in uniques] + [_MISSING]
        columns = {}
        for column in ("code", "error", "message_key", "params"):
            per_unique = np.empty(len(answers), dtype=object)
            per_unique[:] = [getattr(answer, column) for answer in answers]
            columns[column] = pd.Series(per_unique[codes], index=values.index, dtype=object)
        return pd.DataFrame(columns)

    def resolve_one(self, value, level: str) -> RegionAnswer:
        """One answer; see resolve()."""
        if level not in LEVELS:
            raise ValueError(f"unknown respondent level {level!r}; expected one of {', '.join(LEVELS)}")
        text = _clean(value)
        if text is None:
            return _MISSING
        m = _CODE_RE.fullmatch(text)
        if m and "." not in m["code"] and len(m["code"]) == 4:
            return self._by_four_digits(m["code"], m["name"], level)
        if m:
            return self._by_code(m["code"], m["name"], level)
        if text[0].isdigit():
            return self._unknown(level)
        if level == "province":
            return self._province_by_name(text)
        if level == "regency":
            return self._regency_by_name(text)
        return self._not_of_level(text, level)  # villages are answered by code

    def _by_code(self, code: str, name: str | None, level: str) -> RegionAnswer:
        """A dotted code, maybe with a name that must agree with it."""
        if _level_of_code(code) != level:
            if code in self._name:
                return self._wrong_level([code], level)
            return self._unknown(level, near=code)
        if code in self._name:
            if name is None or self._name_agrees(code, name):
                return _ok(code)
            return self._mismatch(code, self._name[code], example_code=code)
        if code in self._retired:
            current = self._retired[code]
            if name is None or self._name_agrees(current, name):
                return self._retired_answer(current)
            return self._mismatch(code, self._retired_name[code], example_code=current)
        return self._unknown(level, near=code)

    def _by_four_digits(self, digits: str, name: str | None, level: str) -> RegionAnswer:
        """A bare 4-digit regency code: a Kemendagri reading and a BPS 2020 reading; a name may pick."""
        if level != "regency":
            return self._unknown(level)
        readings = self._four_digit_readings(digits)  # [(current code, retired?)], BPS first
        if not readings:
            return self._unknown(level, near=digits[:2])
        if name is not None:
            agreeing = [r for r in readings if self._name_agrees(r[0], name)]
            if not agreeing:
                code_name = _OR.join(dict.fromkeys(self._name[code] for code, _ in readings))
                return self._mismatch(digits, code_name, example_code=readings[0][0])
            readings = agreeing
        currents = list(dict.fromkeys(code for code, _ in readings))
        any_retired = any(retired for _, retired in readings)
        if len(currents) == 1 and not any_retired:
            return _ok(currents[0])
        if len(readings) == 1:  # only the retired Kemendagri reading
            return self._retired_answer(currents[0])
        return self._ambiguous(currents)

    def _four_digit_readings(self, digits: str) -> list[tuple[str, bool]]:
        readings = []
        if digits in self._bps:
            readings.append((self._bps[digits], False))
        dotted = f"{digits[:2]}.{digits[2:]}"
        if dotted in self._name:
            readings.append((dotted, False))
        elif dotted in self._retired:
            readings.append((self._retired[dotted], True))
        return readings

    def _name_agrees(self, code: str, name: str) -> bool:
        """Whether a name given after a code names that code's region."""
        level = _level_of_code(code)
        if level == "province":
            return code in self._province_codes(name)
        if level == "regency":
            return code in self._regency_codes(name)
        if level == "district":
            return split_kind(name)[1] == split_kind(self._name[code])[1]
        return bool(_village_keys(name) & _village_keys(self._name[code]))

    def _province_codes(self, text: str) -> set[str]:
        kind, key = split_kind(text)
        return self._province_by_key.get(key, set()) if kind in (None, "provinsi") else set()

    def _regency_codes(self, text: str) -> set[str]:
        """Regencies a name may mean. With a kind prefix only that kind, unless the whole text is a
        name that begins with Kota ("Kota Waringin Barat" folds to Kotawaringin Barat)."""
        kind, key = split_kind(text)
        if kind is None:
            return self._regency_by_key.get(key, set())
        if kind in ("kabupaten", "kota"):
            return self._regency_by_kind.get((kind, key)) or self._regency_by_key.get(fold(text), set())
        return set()

    def _province_by_name(self, text: str) -> RegionAnswer:
        provinces = sorted(self._province_codes(text))
        if len(provinces) == 1:
            return _ok(provinces[0])
        if provinces:
            return self._ambiguous(provinces)
        return self._not_of_level(text, "province")

    def _regency_by_name(self, text: str) -> RegionAnswer:
        """A bare name is accepted only when one regency and no province has it (Jambi is both)."""
        regencies = sorted(self._regency_codes(text))
        provinces = sorted(self._province_codes(text))
        if len(regencies) == 1 and not provinces:
            return _ok(regencies[0])
        if regencies:
            return self._ambiguous(regencies + provinces)
        return self._not_of_level(text, "regency")

    def _not_of_level(self, text: str, level: str) -> RegionAnswer:
        """A name that is no region of the form's level: say which level it is, if any."""
        kind, key = split_kind(text)
        found = []
        if level != "province":
            found += sorted(self._province_codes(text))
        if level != "regency":
            found += sorted(self._regency_codes(text))
        if not found and kind in (None, "kecamatan"):  # district names repeat; mention them last
            found = sorted(self._district_by_key.get(key, ()))
        if found:
            return self._wrong_level(found, level)
        near = sorted(self._regency_by_key.get(key, ()))  # "Kota Siak": the kabupaten is a fair example
        return self._unknown(level, near=near[0] if near else None)

    # --- error answers ----------------------------------------------------------------------

    def _unknown(self, level: str, near: str | None = None) -> RegionAnswer:
        return _fail("region_unknown", example=self._example(level, near))

    def _wrong_level(self, codes: list[str], level: str) -> RegionAnswer:
        kinds = list(dict.fromkeys(self._kind[code] for code in codes))
        return _fail(
            "region_unknown", "region_unknown.level",
            found_level=_OR.join(KIND_WORDS[k][0] for k in kinds),
            found_level_en=" or ".join(KIND_WORDS[k][1] for k in kinds),
            example=self._example(level, codes[0]),
        )

    def _ambiguous(self, codes: list[str]) -> RegionAnswer:
        return _fail(
            "region_ambiguous",
            candidates=_OR.join(self._candidate_label(code) for code in codes),
            example=self.dropdown_label(codes[0]),
        )

    def _candidate_label(self, code: str) -> str:
        if _level_of_code(code) == "province":
            return f"Provinsi {self._name[code]}"
        return self.dropdown_label(code)

    def _retired_answer(self, current: str) -> RegionAnswer:
        label = self.dropdown_label(current)
        return _fail("region_retired", current=label, example=label)

    def _mismatch(self, code: str, code_name: str, example_code: str) -> RegionAnswer:
        return _fail("region_mismatch", code=code, code_name=code_name, example=self.dropdown_label(example_code))

    def _example(self, level: str, near: str | None) -> str:
        """A dropdown label of the form's level close to `near` (its ancestor, else its first
        descendant, else a relative's), else a fixed example."""
        if near:
            parts = near.split(".")
            if ".".join(parts[:2]) in self._retired:
                parts[:2] = self._retired[".".join(parts[:2])].split(".")
            depth = _DEPTH[level]
            if len(parts) >= depth and ".".join(parts[:depth]) in self._name:
                return self.dropdown_label(".".join(parts[:depth]))
            codes = self._codes[level]
            for n in range(min(len(parts), depth - 1), 0, -1):
                prefix = ".".join(parts[:n]) + "."
                i = bisect.bisect_left(codes, prefix)
                if i < len(codes) and codes[i].startswith(prefix):
                    return self.dropdown_label(codes[i])
        return self.dropdown_label(_FIXED_EXAMPLE[level])


def _read_csv(name: str) -> pd.DataFrame:
    """A reference table, every cell as text ("" stays ""). pyarrow reads villages.csv (83,762 rows)
    about five times faster than pandas' parser, which matters at every command's start."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = DATA_DIR / f"{name}.csv"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        names = next(csv.reader(fh))
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False),
                           parse_options=pacsv.ParseOptions(newlines_in_values=True),
                           convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                                strings_can_be_null=False,
                                                                quoted_strings_can_be_null=False))
    return table.to_pandas()


@functools.lru_cache(maxsize=1)
def load() -> RegionReference:
    """The reference shipped with the package, read once per process."""
    names = ("provinces", "regencies", "districts", "villages", "retired_codes", "bps_crosswalk_2020", "aliases")
    return RegionReference({name: _read_csv(name) for name in names})
