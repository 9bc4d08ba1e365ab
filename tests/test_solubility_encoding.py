import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from solubility.encoding import ALPHABET, PAD, VOCAB_SIZE, SequenceError, decode, encode


def test_standard_letters_map_to_1_through_20():
    tok = encode(ALPHABET)
    assert tok.dtype == np.int64
    assert tok.tolist() == list(range(1, 21))
    assert VOCAB_SIZE == 21 and PAD == 0


def test_lowercase_is_read_as_uppercase():
    assert encode("acdw").tolist() == encode("ACDW").tolist()


@given(st.text(alphabet=ALPHABET + ALPHABET.lower(), min_size=1, max_size=50))
def test_decode_inverts_encode(seq):
    assert decode(encode(seq)) == seq.upper()


def test_substitute_policy_maps_ambiguous_letters():
    got = encode("BZJUOX", ambiguous="substitute").tolist()
    idx = {aa: i + 1 for i, aa in enumerate(ALPHABET)}
    assert got == [idx["D"], idx["E"], idx["L"], idx["C"], idx["K"], PAD]


def test_unknown_policy_maps_ambiguous_letters_to_zero():
    assert encode("AbZX", ambiguous="unknown").tolist() == [1, 0, 0, 0]


def test_error_policy_refuses_ambiguous_letters():
    with pytest.raises(SequenceError, match=r"record P1: position 3: ambiguous letter 'X'"):
        encode("ACXD", record="P1", ambiguous="error")


@pytest.mark.parametrize(
    "seq, pos, what",
    [
        ("ACD1E", 4, "'1'"),
        ("ACDE*", 5, "'*'"),
        ("AC DE", 3, "whitespace"),
        ("A\tC", 2, "whitespace"),
        ("AC-D", 3, "'-'"),
        ("ACDé", 4, "non-ASCII"),
    ],
)
def test_bad_characters_name_record_and_position(seq, pos, what):
    with pytest.raises(SequenceError) as info:
        encode(seq, record="rec7")
    msg = str(info.value)
    assert "record rec7" in msg and f"position {pos}" in msg and what in msg


def test_empty_sequence_is_an_error():
    with pytest.raises(SequenceError, match="record r0: empty sequence"):
        encode("", record="r0")


def test_bad_policy_and_type():
    with pytest.raises(ValueError, match="ambiguous must be one of"):
        encode("ACD", ambiguous="guess")
    with pytest.raises(TypeError, match="expected a str"):
        encode(b"ACD")
