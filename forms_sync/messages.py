"""The message catalogue: every text a district operator may read, in Indonesian and English.

Each entry is keyed by a message key (usually the error code) and formatted with named params.
Messages say what is wrong, where, and what to type instead. Keep both languages side by side.
"""
from __future__ import annotations

CATALOGUE: dict[str, tuple[str, str]] = {
    # --- field values -------------------------------------------------------------------------
    "required": (
        "{label} wajib diisi.",
        "{label} is required.",
    ),
    "type.integer": (
        "{label} harus bilangan bulat, tertulis \"{value}\". Tulis angka tanpa desimal, mis. 1.234.",
        "{label} must be a whole number, got \"{value}\". Write digits without decimals, e.g. {example}.",
    ),
    "type.number": (
        "{label} harus berupa angka, tertulis \"{value}\". Tulis mis. {example} (titik pemisah ribuan, koma desimal).",
        "{label} must be a number, got \"{value}\". Write e.g. {example}.",
    ),
    "type.date": (
        "{label} harus tanggal yang ada, tertulis \"{value}\". Tulis mis. 03/12/2026 atau 3 Desember 2026.",
        "{label} must be a real date, got \"{value}\". Write e.g. {example}.",
    ),
    "type.boolean": (
        "{label} harus Ya atau Tidak, tertulis \"{value}\".",
        "{label} must be {yes} or {no}, got \"{value}\".",
    ),
    "ambiguous_number": (
        "{label}: \"{value}\" bisa dibaca dua cara. Pakai titik untuk ribuan dan koma untuk desimal, mis. {example}.",
        "{label}: \"{value}\" can be read two ways. {hint_en}, e.g. {example}.",
    ),
    "min": (
        "{label} paling kecil {bound}, tertulis \"{value}\".",
        "{label} must be at least {bound}, got \"{value}\".",
    ),
    "max": (
        "{label} paling besar {bound}, tertulis \"{value}\".",
        "{label} must be at most {bound}, got \"{value}\".",
    ),
    "max_length": (
        "{label} paling banyak {bound} karakter, tertulis {length} karakter.",
        "{label} must be at most {bound} characters long, got {length}.",
    ),
    "pattern": (
        "{label} tidak sesuai format yang diminta (pola {bound}), tertulis \"{value}\".",
        "{label} does not have the required format (pattern {bound}), got \"{value}\".",
    ),
    "choice": (
        "{label}: \"{value}\" bukan pilihan yang tersedia. Pilih salah satu: {options}.",
        "{label}: \"{value}\" is not an available option. Choose from: {options}.",
    ),
    "choice.multi": (
        "{label}: \"{value}\" bukan pilihan yang tersedia. Pilih satu atau lebih dari: {options}.",
        "{label}: \"{value}\" is not an available option. Choose one or more of: {options}.",
    ),
    "too_large": (
        "{label}: \"{value}\" terlalu besar untuk disimpan (batasnya {bound_id}). Periksa angkanya.",
        "{label}: \"{value}\" is too large to be stored (the limit is {bound_en}). Check the number.",
    ),
    "precision": (
        "{label}: \"{value}\" punya terlalu banyak digit untuk disimpan persis. Bulatkan, mis. ke rupiah utuh.",
        "{label}: \"{value}\" has too many digits to be stored exactly. Round it, e.g. to whole rupiah.",
    ),
    "too_long": (
        "{label}: isian terlalu panjang ({length} karakter). Periksa apakah sel ini benar.",
        "{label}: the answer is too long ({length} characters). Check this cell.",
    ),
    # --- region -------------------------------------------------------------------------------
    "region_unknown": (
        "{label} \"{value}\" tidak dikenal. Tulis kode dan nama seperti pada daftar, mis. \"{example}\".",
        "{label} \"{value}\" is not a known region. Write the code and name as in the list, e.g. \"{example}\".",
    ),
    "region_unknown.level": (
        "\"{value}\" adalah {found_level}, bukan {label}. Isi dengan {label}, mis. \"{example}\".",
        "\"{value}\" is a {found_level_en}, not a {label_en}. Answer with a {label_en}, e.g. \"{example}\".",
    ),
    "region_ambiguous": (
        "{label} \"{value}\" bisa berarti lebih dari satu wilayah ({candidates}). Tulis kode lengkap dengan titik, mis. \"{example}\".",
        "{label} \"{value}\" could mean more than one region ({candidates_en}). Write the full dotted code, e.g. \"{example}\".",
    ),
    "region_retired": (
        "Kode {label} \"{value}\" sudah tidak berlaku sejak pemekaran 2022. Pakai kode baru: {current}.",
        "{label} code \"{value}\" was retired in the 2022 split. Use the current code: {current}.",
    ),
    "region_mismatch": (
        "{label}: kode dan nama tidak cocok pada \"{value}\" (kode {code} adalah {code_name}). Periksa kembali.",
        "{label}: code and name disagree in \"{value}\" (code {code} is {code_name_en}). Check the answer.",
    ),
    # --- period -------------------------------------------------------------------------------
    "period_invalid": (
        "Periode \"{value}\" tidak dikenal untuk laporan {period_type_id}. Tulis mis. \"{example}\".",
        "Period \"{value}\" is not a valid {period_type_en} period. Write e.g. \"{example}\".",
    ),
    # --- rules --------------------------------------------------------------------------------
    "rule": ("{message}", "{message_en}"),
    # --- files --------------------------------------------------------------------------------
    "unknown_column": (
        "Kolom \"{column}\" tidak dikenal dan diabaikan.",
        "Column \"{column}\" matches no question and was ignored.",
    ),
    "missing_column": (
        "Kolom wajib \"{label}\" tidak ada di berkas; tidak ada baris yang diterima. Pakai templat terbaru.",
        "Required column \"{label}\" is missing from the file; no row was accepted. Use the current template.",
    ),
    "duplicate_column": (
        "Kolom \"{column}\" muncul lebih dari sekali; berkas ditolak. Hapus kolom yang ganda.",
        "Column \"{column}\" appears more than once; the file was refused. Remove the duplicate column.",
    ),
    "bad_timestamp": (
        "Stempel waktu \"{stamp}\" pada baris {at_row} tidak bisa dibaca (format {expected_id}); berkas ditolak.",
        "Timestamp \"{stamp}\" in row {at_row} cannot be read (expected {expected_en}); the file was refused.",
    ),
    # {reason} is the technical detail (in English, from the reader); render() strips its final period.
    "unreadable_file": (
        "Berkas tidak bisa dibaca. Pastikan berkas berupa CSV (UTF-8) atau XLSX dari templat, lalu "
        "kirim ulang. Keterangan teknis: {reason}.",
        "The file cannot be read: {reason}.",
    ),
    # params: reason_id (Indonesian) and reason_en (English). A caller that passes only `reason`
    # gets it split at " / " ("Indonesian / English") or used for both languages.
    "empty_file": (
        "Berkas tidak berisi data: {reason_id}. Isi templat lalu kirim ulang.",
        "The file holds no data: {reason_en}. Fill in the template and send it again.",
    ),
    # code "empty_file", no params: file_problem("empty_file", key="empty_file.header_only")
    "empty_file.header_only": (
        "Berkas tidak berisi data: hanya ada baris judul. Isi templat lalu kirim ulang.",
        "The file holds no data: only a header row. Fill in the template and send it again.",
    ),
}


class _Default(dict):
    def __missing__(self, key):  # a missing param shows as-is rather than crashing a report
        return "{" + key + "}"


def render(key: str, **params) -> tuple[str, str]:
    """Return (message_id, message_en) for a catalogue key."""
    text_id, text_en = CATALOGUE[key]
    p = _Default(params)
    if "reason" in p:  # a technical reason ends the sentence: never "..", never ". ."
        p["reason"] = str(p["reason"]).strip().rstrip(".").rstrip()
    if "reason" in p and ("reason_id" not in p or "reason_en" not in p):
        reason = p["reason"]
        r_id, sep, r_en = reason.partition(" / ")
        p.setdefault("reason_id", r_id.strip() if sep else reason)
        p.setdefault("reason_en", r_en.strip() if sep else reason)
    for k in ("candidates", "code_name"):  # the region reference joins alternatives in Indonesian
        if k in p and f"{k}_en" not in p:
            p[f"{k}_en"] = str(p[k]).replace(" atau ", " or ")
    return text_id.format_map(p), text_en.format_map(p)
