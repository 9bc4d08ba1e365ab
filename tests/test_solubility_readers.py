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


@pytest.mark.parametrize("text, line, what", [
    ("id,sequence,label\nx1,MKV,1\nx2,MKV\n", 3, "expected 3 fields"),
    ("id,sequence,label\nx1,MKV,2\n", 2, "label must be 0 or 1"),
    ("id,sequence,label\nx1,MKV,1\nx2,MK1V,0\n", 3, "record x2: position 3"),
    ("id,sequence,label\nx1,,1\n", 2, "empty sequence"),
    ("id,sequence,label\nx1,MK V,1\n", 2, "whitespace"),
    ("id,sequence,label\n,MKV,1\n", 2, "empty id"),
])
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


@pytest.mark.parametrize("text, line, what", [
    ("MKV\n>p1|1\nMKV\n", 1, "before the first '>'"),
    (">p1|1\n>p2|0\nMKV\n", 1, "has no sequence"),
    (">p1\nMKV\n", 1, "has no label"),
    (">p1|1\nMKV\n>p1|0\nMKV\n", 3, "duplicate id"),
    (">p1|1\nMK V\n", 2, "whitespace inside the sequence"),
    (">p1|1\nMKV*\n", 1, "position 4"),
    (">\nMKV\n", 1, "without an id"),
    (">p1 label=maybe\nMKV\n", 1, "label must be 0 or 1"),
])
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
    esol = read_records(shared_data / "esol_train.csv")
    assert len(esol) == 2364 and all((float(r.extra["solubility"]) >= 0.5) == r.label for r in esol)
    net = read_records(shared_data / "netsolp_psi_biology.csv")
    assert {r.extra["partition"] for r in net} == {"0", "1", "2", "3", "4"}
