import pytest

from solubility.readers import DataFormatError, read_csv, read_fasta, read_labels, read_records


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_extra_columns(tmp_path):
    p = write(tmp_path, "a.csv", "id,sequence,solubility,label\nx1,MKV,0.71,1\n\nx2, acdw ,0.2,0\n")
    recs = read_csv(p)
    assert [(r.id, r.sequence, r.label) for r in recs] == [("x1", "MKV", 1), ("x2", "ACDW", 0)]
    assert recs[0].extra == {"solubility": "0.71"}


def test_csv_threshold_reads_continuous_labels(tmp_path):
    p = write(tmp_path, "a.csv", "id,sequence,solubility\nx1,MKV,0.71\nx2,MKV,0.2\nx3,MKV,0.5\n")
    assert [r.label for r in read_csv(p, label_column="solubility", threshold=0.5)] == [1, 0, 1]


def test_csv_without_id_column_uses_line_numbers(tmp_path):
    p = write(tmp_path, "a.csv", "sequence,label\nMKV,1\n")
    assert read_csv(p)[0].id == "line2"


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("id,sequence,label\nx1,MKV,1\nx2,MKV\n", 3, "expected 3 fields"),
        ("id,sequence,label\nx1,MKV,2\n", 2, "label must be 0 or 1"),
        ("id,sequence,label\nx1,MKV,1\nx2,MK1V,0\n", 3, "record x2: position 3"),
        ("id,sequence,label\nx1,,1\n", 2, "empty sequence"),
        ("id,sequence,label\nx1,MK V,1\n", 2, "whitespace"),
        ("id,sequence,label\n,MKV,1\n", 2, "empty id"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path, text, line, what):
    p = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataFormatError) as info:
        read_csv(p)
    assert f"bad.csv:{line}:" in str(info.value) and what in str(info.value)


def test_csv_header_problems(tmp_path):
    with pytest.raises(DataFormatError, match=r"a.csv:1: no 'label' column"):
        read_csv(write(tmp_path, "a.csv", "id,sequence\nx,MKV\n"))
    with pytest.raises(DataFormatError, match="empty file"):
        read_csv(write(tmp_path, "b.csv", ""))
    with pytest.raises(DataFormatError, match="no data rows"):
        read_csv(write(tmp_path, "c.csv", "id,sequence,label\n"))
    with pytest.raises(DataFormatError, match="is not a number"):
        read_csv(write(tmp_path, "d.csv", "id,sequence,label\nx,MKV,high\n"), threshold=0.5)


def test_fasta_labels_from_headers_and_wrapped_sequences(tmp_path):
    p = write(tmp_path, "a.fasta", ">p1 label=1 some description\nMKV\nLLA\n>p2|0\nACD\n>p3|label=0\nWWW\n")
    recs = read_fasta(p)
    assert [(r.id, r.sequence, r.label) for r in recs] == [("p1", "MKVLLA", 1), ("p2", "ACD", 0), ("p3", "WWW", 0)]


def test_fasta_side_label_file(tmp_path):
    fa = write(tmp_path, "a.fa", ">p1\nMKV\n>p2\nACD\n")
    lab = write(tmp_path, "labels.csv", "id,label\np1,0\np2,1\n")
    assert [r.label for r in read_fasta(fa, lab)] == [0, 1]
    lab2 = write(tmp_path, "labels.txt", "p1 1\n")
    with pytest.raises(DataFormatError, match=r"a.fa:3: record 'p2' has no label in"):
        read_fasta(fa, lab2)


@pytest.mark.parametrize(
    "text, line, what",
    [
        ("MKV\n>p1|1\nMKV\n", 1, "before the first '>'"),
        (">p1|1\n>p2|0\nMKV\n", 1, "has no sequence"),
        (">p1\nMKV\n", 1, "has no label"),
        (">p1|1\nMKV\n>p1|0\nMKV\n", 3, "duplicate id"),
        (">p1|1\nMK V\n", 2, "whitespace inside the sequence"),
        (">p1|1\nMKV*\n", 1, "position 4"),
        (">\nMKV\n", 1, "without an id"),
        (">p1 label=maybe\nMKV\n", 1, "label must be 0 or 1"),
    ],
)
def test_fasta_errors_name_file_and_line(tmp_path, text, line, what):
    p = write(tmp_path, "bad.fasta", text)
    with pytest.raises(DataFormatError) as info:
        read_fasta(p)
    assert f"bad.fasta:{line}:" in str(info.value) and what in str(info.value)


def test_label_side_file_errors(tmp_path):
    with pytest.raises(DataFormatError, match=r"l.csv:2: id 'a' already given at line 1"):
        read_labels(write(tmp_path, "l.csv", "a,1\na,0\n"))
    with pytest.raises(DataFormatError, match=r"m.csv:1: expected 'id,label'"):
        read_labels(write(tmp_path, "m.csv", "lonely\n"))


def test_read_records_dispatch(tmp_path):
    assert read_records(write(tmp_path, "a.csv", "id,sequence,label\nx,MKV,1\n"))[0].sequence == "MKV"
    assert read_records(write(tmp_path, "a.tsv", "id\tsequence\tlabel\nx\tMKV\t0\n"))[0].label == 0
    assert read_records(write(tmp_path, "a.faa", ">x|1\nMKV\n"))[0].label == 1
    with pytest.raises(ValueError, match="unknown data format '.xlsx'"):
        read_records(write(tmp_path, "a.xlsx", ""))
    with pytest.raises(FileNotFoundError, match="no such data file"):
        read_records(tmp_path / "missing.csv")


def test_shared_datasets(shared_data):
    sample = read_records(shared_data / "sample.csv")
    assert len(sample) == 200 and sum(r.label for r in sample) == 83
    # eSOL lists gene gatA twice (solubility 0.14 and 0.72, see the data README): a conflict, refused
    with pytest.raises(
        DataFormatError,
        match=r"esol_train.csv:477: duplicate id 'gatA' \(first at line 476, "
        r"with label 0 there and 1 here\)",
    ):
        read_records(shared_data / "esol_train.csv")
    net = read_records(shared_data / "netsolp_psi_biology.csv")
    assert {r.extra["partition"] for r in net} == {"0", "1", "2", "3", "4"}


def write_bytes(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_byte_order_mark_is_accepted(tmp_path):
    """Spreadsheet programs start UTF-8 files with a BOM; the first column must still be called 'id'."""
    csv_text, fasta_text = "id,sequence,label\nx1,MKV,1\n", ">p1\nMKV\n>p2\nACD\n"
    labels_text = "id,label\np1,1\np2,0\n"
    plain = read_csv(write(tmp_path, "plain.csv", csv_text))
    bom = read_csv(write_bytes(tmp_path, "bom.csv", csv_text.encode("utf-8-sig")))
    assert bom == plain and bom[0].id == "x1"
    fa_plain = read_fasta(write(tmp_path, "plain.fa", fasta_text), write(tmp_path, "plain.txt", labels_text))
    fa_bom = read_fasta(
        write_bytes(tmp_path, "bom.fa", fasta_text.encode("utf-8-sig")),
        write_bytes(tmp_path, "bom.txt", labels_text.encode("utf-8-sig")),
    )
    assert fa_bom == fa_plain and [r.label for r in fa_bom] == [1, 0]


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", ""])
def test_non_finite_or_empty_labels_are_errors(tmp_path, value):
    """nan >= threshold is False: without this check a missing value silently became label 0."""
    p = write(tmp_path, "bad.csv", f"id,sequence,score\nx1,MKV,1\nx2,MKV,{value}\n")
    with pytest.raises(DataFormatError, match=rf"bad.csv:3: label '{value}' is not a (finite )?number"):
        read_csv(p, label_column="score", threshold=0.5)
    with pytest.raises(DataFormatError, match=rf"bad.csv:3: label must be 0 or 1, got '{value}'"):
        read_csv(p, label_column="score")
    fa = write(tmp_path, "bad.fa", f">p1 label={value or '-'}\nMKV\n")
    with pytest.raises(DataFormatError, match=r"bad.fa:1: label"):
        read_fasta(fa, threshold=0.5)


@pytest.mark.parametrize("threshold", [float("nan"), float("inf")])
def test_threshold_must_be_finite(tmp_path, threshold):
    p = write(tmp_path, "a.csv", "id,sequence,score\nx1,MKV,0.7\n")
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        read_csv(p, label_column="score", threshold=threshold)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        read_fasta(write(tmp_path, "a.fa", ">p1 label=0.7\nMKV\n"), threshold=threshold)


@pytest.mark.parametrize("second, clash", [("x1,MKV,0", ", with label 1 there and 0 here"), ("x1,MKV,1", "")])
def test_csv_duplicate_ids_are_refused_like_fasta(tmp_path, second, clash):
    p = write(tmp_path, "dup.csv", f"id,sequence,label\nx1,MKV,1\nx2,ACD,0\n{second}\n")
    with pytest.raises(DataFormatError) as info:
        read_csv(p)
    assert str(info.value).endswith(f"dup.csv:4: duplicate id 'x1' (first at line 2{clash})")
    fa = write(tmp_path, "dup.fa", ">x1|1\nMKV\n>x2|0\nACD\n>x1|1\nMKV\n")  # the FASTA reader: same rule
    with pytest.raises(DataFormatError, match=r"dup.fa:5: duplicate id 'x1' \(first at line 1\)"):
        read_fasta(fa)


@pytest.mark.parametrize(
    "name, data, what",
    [
        (
            "u16.csv",
            "id,sequence,label\nx,MKV,1\n".encode("utf-16"),
            r"u16.csv: the data file is UTF-16 text, not UTF-8",
        ),
        ("u16.fasta", ">x|1\nMKV\n".encode("utf-16"), "u16.fasta: the data file is UTF-16 text"),
        (
            "latin1.csv",
            "id,sequence,label\nprot\u00e9ine,MKV,1\n".encode("latin-1"),
            r"latin1.csv:2: the data file is not UTF-8 text \(byte 0xe9 at offset 22\)",
        ),
        (
            "image.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            r"image.csv:1: the data file is not UTF-8 text \(byte 0x89",
        ),
        ("nul.fasta", b">x|1\nMK\x00V\n", "nul.fasta:2: the data file contains NUL bytes"),
    ],
)
def test_files_that_are_not_utf8_text(tmp_path, name, data, what):
    with pytest.raises(DataFormatError, match=what):
        read_records(write_bytes(tmp_path, name, data))


def test_directory_and_unreadable_label_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataFormatError, match=r"d.csv: is a directory, not a data file"):
        read_records(tmp_path / "d.csv")
    fa = write(tmp_path, "a.fa", ">p1\nMKV\n")
    with pytest.raises(DataFormatError, match=r": is a directory, not a labels file"):
        read_fasta(fa, tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no such labels file: .*missing.txt"):
        read_fasta(fa, tmp_path / "missing.txt")
    with pytest.raises(DataFormatError, match=r"l16.txt: the labels file is UTF-16"):
        read_fasta(fa, write_bytes(tmp_path, "l16.txt", "p1,1\n".encode("utf-16")))


def test_csv_header_with_a_repeated_column_and_bad_quoting(tmp_path):
    with pytest.raises(DataFormatError, match=r"r.csv:1: column name\(s\) \['label'\] appear more than once"):
        read_csv(write(tmp_path, "r.csv", "id,sequence,label,label\nx,MKV,1,0\n"))
    field = "M" * (131072 + 1)  # past csv's field size limit
    with pytest.raises(DataFormatError, match=r"q.csv:2: field larger than field limit"):
        read_csv(write(tmp_path, "q.csv", f'id,sequence,label\nx,"{field}",1\n'))
