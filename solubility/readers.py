"""Readers for labelled protein sequences: CSV (``id,sequence,label`` + any extra columns) and FASTA.

Every reader returns a list of :class:`Record`. A malformed input raises :class:`DataFormatError`
naming the file and the line, so the bad row can be found and fixed. Sequences are checked with
the same rules as :func:`solubility.encoding.encode` while reading.

CSV
    A header row is required; it must have ``sequence`` and ``label`` columns (names can be changed),
    ``id`` is optional (the line number is used when absent). Extra columns (eSOL's continuous
    ``solubility``, NetSolP's homology ``partition``) are kept in ``Record.extra``. A label must be
    0 or 1, unless ``threshold`` is given: then the label column is read as a number and
    ``label = value >= threshold``.
FASTA
    ``>id`` header lines, sequence lines below (wrapped or not). The label comes from the header,
    as ``label=1`` anywhere after the id or as a last ``|1`` field (``>P12345|soluble|1``), or, when
    ``labels`` is given, from a side file with ``id,label`` rows (CSV or whitespace separated).

Every file must be UTF-8 text (a leading byte-order mark is accepted); an id may appear only once
per file. Labels must be exactly 0/1, or finite numbers when ``threshold`` (finite) is given.
"""

from __future__ import annotations

import csv
import io
import math
import pathlib
import re
from dataclasses import dataclass, field

from .encoding import SequenceError, encode

__all__ = ["Record", "DataFormatError", "read_csv", "read_fasta", "read_labels", "read_records"]


@dataclass
class Record:
    """One protein: its id, its sequence (uppercase letters), its 0/1 label, and any other columns."""

    id: str
    sequence: str
    label: int
    extra: dict = field(default_factory=dict)


class DataFormatError(ValueError):
    """A file that cannot be read as labelled sequences; the message starts with ``file:line:``."""


def _read_text(path: pathlib.Path, what: str = "data file") -> str:
    """The whole file as text: UTF-8, an optional byte-order mark dropped, or a one-line DataFormatError."""
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory, not a {what}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such {what}: {path}") from None
    except OSError as exc:
        raise DataFormatError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataFormatError(f"{path}: the {what} is UTF-16 text, not UTF-8; save it as UTF-8 (or plain ASCII)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # protein files are plain ASCII, so guessing another encoding (Latin-1...) would only hide a wrong file
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataFormatError(
            f"{path}:{line}: the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}); is it binary or in another encoding?"
        ) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DataFormatError(f"{path}:{line}: the {what} contains NUL bytes; it is binary, not text")
    return text


def _check_threshold(threshold) -> None:
    if threshold is not None and not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold}")


def _label(text: str, where: str, threshold: float | None) -> int:
    text = text.strip()
    if threshold is not None:
        try:
            value = float(text)
        except ValueError:
            raise DataFormatError(f"{where}: label {text!r} is not a number (threshold={threshold})") from None
        if not math.isfinite(value):  # nan >= t is False: a missing value would silently become label 0
            raise DataFormatError(f"{where}: label {text!r} is not a finite number (threshold={threshold})")
        return int(value >= threshold)
    if text in ("0", "1", "0.0", "1.0"):
        return int(float(text))
    raise DataFormatError(f"{where}: label must be 0 or 1, got {text!r} (pass threshold= for continuous values)")


def _check_sequence(seq: str, rec_id: str, where: str, ambiguous: str) -> str:
    try:
        encode(seq, record=rec_id, ambiguous=ambiguous)
    except SequenceError as exc:
        raise DataFormatError(f"{where}: {exc}") from None
    return seq.upper()


def _csv_rows(path: pathlib.Path, delimiter: str):
    """``(line number, row)`` for every row of the CSV file; a malformed quote becomes a DataFormatError."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataFormatError(f"{path}:{reader.line_num}: {exc}") from None


def _csv_header(path, row, required) -> list[str]:
    if row is None:
        raise DataFormatError(
            f"{path}:1: empty file (expected a header with {' and '.join(map(repr, required))} columns)"
        )
    header = [h.strip() for h in row]
    for col in required:
        if col not in header:
            raise DataFormatError(f"{path}:1: no {col!r} column in the header {header}")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise DataFormatError(f"{path}:1: column name(s) {repeated} appear more than once in the header")
    return header


def read_csv(
    path,
    *,
    sequence_column="sequence",
    label_column="label",
    id_column="id",
    threshold=None,
    ambiguous="substitute",
    delimiter=",",
) -> list[Record]:
    """Read a CSV file of labelled sequences (see the module docstring for the rules)."""
    path = pathlib.Path(path)
    _check_threshold(threshold)
    rows = _csv_rows(path, delimiter)
    _, first = next(rows, (1, None))
    header = _csv_header(path, first, (sequence_column, label_column))
    i_seq, i_lab = header.index(sequence_column), header.index(label_column)
    i_id = header.index(id_column) if id_column in header else None
    others = [(i, h) for i, h in enumerate(header) if i not in (i_seq, i_lab, i_id)]
    records, first_seen = [], {}  # id -> (line, label)
    for line, row in rows:
        where = f"{path}:{line}"
        if not row or all(not c.strip() for c in row):
            continue  # blank line
        if len(row) != len(header):
            raise DataFormatError(f"{where}: expected {len(header)} fields ({','.join(header)}), got {len(row)}")
        rec_id = row[i_id].strip() if i_id is not None else f"line{line}"
        if not rec_id:
            raise DataFormatError(f"{where}: empty id")
        seq = _check_sequence(row[i_seq].strip(), rec_id, where, ambiguous)
        label = _label(row[i_lab], where, threshold)
        if rec_id in first_seen:  # refused even when identical, as the FASTA reader does
            first_line, first_label = first_seen[rec_id]
            clash = f", with label {first_label} there and {label} here" if first_label != label else ""
            raise DataFormatError(f"{where}: duplicate id {rec_id!r} (first at line {first_line}{clash})")
        first_seen[rec_id] = (line, label)
        records.append(Record(rec_id, seq, label, {h: row[i].strip() for i, h in others}))
    if not records:
        raise DataFormatError(f"{path}: no data rows after the header")
    return records


_HEADER_LABEL = re.compile(r"(?:^|\s|\|)label=(\S+)")


def read_labels(path) -> dict[str, str]:
    """Read a side file of ``id,label`` (or ``id label``) rows; a header row is skipped if present."""
    path = pathlib.Path(path)
    out, where_of = {}, {}
    with io.StringIO(_read_text(path, "labels file"), newline=None) as fh:
        for line_no, line in enumerate(fh, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = [p.strip() for p in (line.split(",") if "," in line else line.split())]
            if len(parts) < 2:
                raise DataFormatError(f"{path}:{line_no}: expected 'id,label', got {line!r}")
            if line_no == 1 and parts[1].lower() == "label":
                continue
            if parts[0] in out:
                raise DataFormatError(f"{path}:{line_no}: id {parts[0]!r} already given at line {where_of[parts[0]]}")
            out[parts[0]], where_of[parts[0]] = parts[1], line_no
    return out


def read_fasta(path, labels=None, *, threshold=None, ambiguous="substitute") -> list[Record]:
    """Read a FASTA file; labels come from the headers or from the side file ``labels``."""
    path = pathlib.Path(path)
    _check_threshold(threshold)
    side = read_labels(labels) if labels is not None else None
    records, seen = [], {}
    cur = None  # [id, header_label, header_line, [sequence lines]]

    def finish():
        rec_id, head_label, line_no, chunks = cur
        where = f"{path}:{line_no}"
        if not chunks:
            raise DataFormatError(f"{where}: record {rec_id!r} has no sequence")
        seq = _check_sequence("".join(chunks), rec_id, where, ambiguous)
        if side is not None:
            if rec_id not in side:
                raise DataFormatError(f"{where}: record {rec_id!r} has no label in {labels}")
            text = side[rec_id]
        elif head_label is not None:
            text = head_label
        else:
            raise DataFormatError(
                f"{where}: record {rec_id!r} has no label (put 'label=0|1' in the header, "
                "end it with '|0' or '|1', or pass a labels file)"
            )
        records.append(Record(rec_id, seq, _label(text, where, threshold)))

    with io.StringIO(_read_text(path), newline=None) as fh:
        for line_no, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line or line.startswith(";"):
                continue
            if line.startswith(">"):
                if cur is not None:
                    finish()
                header = line[1:].strip()
                if not header:
                    raise DataFormatError(f"{path}:{line_no}: header line without an id")
                first = header.split()[0]
                m = _HEADER_LABEL.search(header)
                if m:
                    head_label = m.group(1)
                    rec_id = re.sub(r"\|?label=\S*$", "", first) or first
                elif "|" in first and first.rsplit("|", 1)[1] in ("0", "1"):
                    rec_id, head_label = first.rsplit("|", 1)
                else:
                    rec_id, head_label = first, None
                if rec_id in seen:
                    raise DataFormatError(f"{path}:{line_no}: duplicate id {rec_id!r} (first at line {seen[rec_id]})")
                seen[rec_id] = line_no
                cur = [rec_id, head_label, line_no, []]
            else:
                if cur is None:
                    raise DataFormatError(f"{path}:{line_no}: sequence data before the first '>' header")
                if any(c.isspace() for c in line):
                    col = next(i for i, c in enumerate(line) if c.isspace())
                    raise DataFormatError(
                        f"{path}:{line_no}: record {cur[0]!r}: whitespace inside the sequence at column {col + 1}"
                    )
                cur[3].append(line)
    if cur is not None:
        finish()
    if not records:
        raise DataFormatError(f"{path}: no FASTA records")
    return records


def read_records(path, labels=None, **kwargs) -> list[Record]:
    """Read CSV (``.csv``, ``.tsv``) or FASTA (``.fasta``, ``.fa``, ``.faa``, ``.fas``), chosen by extension."""
    path = pathlib.Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such data file: {path}")
    if path.is_dir():
        raise DataFormatError(f"{path}: is a directory, not a data file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        if labels is not None:
            raise ValueError(f"{path}: a labels file is only used with FASTA input")
        return read_csv(path, delimiter="\t" if suffix == ".tsv" else ",", **kwargs)
    if suffix in (".fasta", ".fa", ".faa", ".fas"):
        return read_fasta(path, labels, **kwargs)
    raise ValueError(f"{path}: unknown data format {suffix!r}; use .csv, .tsv, .fasta, .fa or .faa")
