import numpy as np
import pytest

from nnviz import fileio
from nnviz.data import csv_io
from nnviz.data.csv_io import read_points_csv, write_points_csv
from nnviz.data.generators import generate
from nnviz.data.points import TEST, TRAIN, VALIDATION, PointSet
from nnviz.errors import FileFormatError, NnvizError


def _roles(points):
    return points.role.tolist()


# -- round trips ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["spiral", "gaussians"])
def test_write_then_read_gives_the_same_points(tmp_path, kind):
    points = generate(kind, n=120, noise=0.3, seed=4, train_fraction=0.5, validation_fraction=0.2)
    path = tmp_path / "points.csv"
    write_points_csv(points, path)
    assert read_points_csv(path) == points
    assert read_points_csv(str(path)) == points
    assert read_points_csv(path.read_bytes()) == points


def test_written_file_has_header_whole_labels_and_role_words(tmp_path):
    points = PointSet([[0.5, -1.25], [2, 3]], [1, 2.5], [TRAIN, VALIDATION])
    path = tmp_path / "p.csv"
    write_points_csv(points, path)
    assert path.read_text().splitlines() == ["x,y,label,role", "0.5,-1.25,1,train", "2.0,3.0,2.5,validation"]


def test_empty_point_set_round_trips(tmp_path):
    path = tmp_path / "empty.csv"
    write_points_csv(PointSet.empty(), path)
    assert len(read_points_csv(path)) == 0


# -- accepted variations ------------------------------------------------------------------------------------

def test_no_header_and_no_role_column_means_train():
    points = read_points_csv("1,2,0\n3,4,1\n")
    assert points.xy.tolist() == [[1, 2], [3, 4]]
    assert points.target.tolist() == [0, 1]
    assert _roles(points) == [TRAIN, TRAIN]


def test_roles_as_words_numbers_or_empty():
    points = read_points_csv("1,2,0,test\n3,4,1,2\n5,6,1,\n7,8,0,VALIDATION\n9,9,1,1\n")
    assert _roles(points) == [TEST, VALIDATION, TRAIN, VALIDATION, TEST]


def test_header_is_detected_case_insensitive_and_may_reorder_columns():
    points = read_points_csv("Role, Label, Y, X\ntest,1,2.5,-3\n")
    assert points.xy.tolist() == [[-3, 2.5]]
    assert points.target.tolist() == [1]
    assert _roles(points) == [TEST]


def test_header_aliases_target_and_no_role():
    points = read_points_csv("x,y,target\n1,2,0.75\n")
    assert points.target.tolist() == [0.75]
    assert _roles(points) == [TRAIN]


def test_semicolons_tabs_crlf_bom_blank_lines_and_comments():
    text = "\ufeff# exported points\r\nx;y;label\r\n\r\n1,5;2;1\r\n"
    with pytest.raises(FileFormatError):  # a decimal comma is not a number: said, not guessed
        read_points_csv(text)
    points = read_points_csv("\ufeff# exported points\r\nx;y;label\r\n\r\n1.5;2;1\r\n# end\r\n")
    assert points.xy.tolist() == [[1.5, 2]]
    points = read_points_csv(b"\xef\xbb\xbf1\t2\t0\n3\t4\t1\n")
    assert points.target.tolist() == [0, 1]


def test_quoted_fields_are_read():
    points = read_points_csv('"x","y","label"\n"1","2","1"\n')
    assert points.xy.tolist() == [[1, 2]]


def test_str_without_line_break_or_delimiter_is_a_path(tmp_path, monkeypatch):
    (tmp_path / "pts").write_text("1,2,0\n")
    monkeypatch.chdir(tmp_path)
    assert len(read_points_csv("pts")) == 1
    assert len(read_points_csv("1,2,0")) == 1  # a single row of text


# -- errors -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("", ["empty"]),
    ("  \n\n\t\n", ["empty"]),
    ("# only a comment\n", ["empty"]),
    (",,\n , \n", ["no rows with values"]),
    ("1,2\n", ["line 1", "3 or 4 columns", "got 2"]),
    ("1,2,0,train,extra\n", ["line 1", "got 5"]),
    ("1,2,0\n3,4,1\n5,6\n", ["line 3", "expected 3 columns", "got 2"]),
    ("x,y,label\n1,2,0\n\n1,2,0,test\n", ["line 4", "expected 3 columns"]),
    ("x,y,label\n1,2,0\n3,4,0\n5,6,1\n7,8,1\n9,9,1\n1,1,abc\n", ["line 7, column label", "expected a number",
                                                                  "'abc'"]),
    ("1,abc,0\n", ["line 1, column y", "expected a number", "'abc'"]),
    ("1,2,abc\nfoo,2,0\n", ["line 1, column label"]),  # the earliest problem, though x is checked first
    ("1,2,0\n1,nan,x\n", ["line 2, column y", "finite"]),
    ("1,2,nan\n", ["line 1, column label", "finite"]),
    ("inf,2,1\n", ["line 1, column x", "finite"]),
    ("1,1e400,1\n", ["line 1, column y", "finite"]),
    ("1,2e6,1\n", ["line 1, column y", "within"]),
    ("1,2,0,trian\n", ["line 1, column role", "train, test or validation", "'trian'"]),
    ("1,2,0,3\n", ["line 1, column role"]),
    ("x,y,colour\n1,2,0\n", ["line 1", "unknown column 'colour'"]),
    ("x,x,label\n1,2,0\n", ["line 1", "'x' appears twice"]),
    ("x,label,role\n1,0,test\n", ["line 1", "no 'y' column"]),
    ('1,2,"0\n', ["line"]),
    ("1,2,0\n" + "9," * 100_000 + "\n", ["line 2"]),
    ("1,2," + "9" * 200_000 + "\n", ["line 1"]),
])
def test_malformed_text_is_a_file_format_error_naming_the_place(text, words):
    with pytest.raises(FileFormatError) as info:
        read_points_csv(text if text.strip() else text.encode())
    message = str(info.value)
    for word in words:
        assert word in message, message


def test_binary_and_undecodable_bytes_are_clean_errors():
    with pytest.raises(FileFormatError, match="binary"):
        read_points_csv(b"\x00\x01\x02,\x03\n")
    with pytest.raises(FileFormatError, match="UTF-8.*offset 6"):
        read_points_csv(b"1,2,0\n\xff\xfe\x00garbage")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    with pytest.raises(FileFormatError):
        read_points_csv(png)


def test_more_rows_than_a_point_set_holds_is_refused(monkeypatch):
    monkeypatch.setattr(csv_io, "MAX_POINTS", 5)
    assert len(read_points_csv("1,2,0\n" * 5)) == 5
    with pytest.raises(FileFormatError, match="line 6: more than 5 points"):
        read_points_csv("1,2,0\n" * 6)


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("1,2,0\n" * 20)
    monkeypatch.setattr(csv_io, "MAX_CSV_BYTES", 50)
    with pytest.raises(FileFormatError, match="larger than"):
        read_points_csv(path)
    with pytest.raises(FileFormatError, match="larger than"):
        read_points_csv(path.read_bytes())


def test_missing_file_and_folder_name_the_path(tmp_path):
    with pytest.raises(FileFormatError, match="no such file") as info:
        read_points_csv(tmp_path / "nope.csv")
    assert str(tmp_path / "nope.csv") in str(info.value)
    with pytest.raises(FileFormatError, match="folder"):
        read_points_csv(tmp_path)


def test_unreadable_file_names_the_path(tmp_path, monkeypatch):
    path = tmp_path / "secret.csv"
    path.write_text("1,2,0\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fileio, "open", denied, raising=False)  # chmod would not stop root
    with pytest.raises(FileFormatError, match="permission denied") as info:
        read_points_csv(path)
    assert str(path) in str(info.value)


def test_wrong_argument_type_is_a_clean_error():
    with pytest.raises(NnvizError):
        read_points_csv(12)


# -- writing ------------------------------------------------------------------------------------------------

def test_write_into_missing_folder_is_a_clean_error(tmp_path):
    with pytest.raises(FileFormatError, match="cannot write"):
        write_points_csv(generate("xor", n=5), tmp_path / "no" / "such" / "p.csv")


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "p.csv"
    path.write_text("old contents\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(csv_io.os, "replace", broken_replace)
    with pytest.raises(FileFormatError, match="No space left"):
        write_points_csv(generate("xor", n=5), path)
    assert path.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]


def test_written_numbers_are_exact(tmp_path):
    xy = np.array([[0.1 + 0.2, -1e-300], [123456.789012345, 1 / 3]])
    points = PointSet(xy, [np.pi, -0.0], [TRAIN, TEST])
    write_points_csv(points, tmp_path / "p.csv")
    back = read_points_csv(tmp_path / "p.csv")
    assert back.xy.tolist() == xy.tolist()
    assert back.target.tolist() == [np.pi, 0.0]


@pytest.mark.parametrize("text", ["x,y,label\n" + "\n" * 4_000_001, "1,2," + "," * 5_000_001 + "\n",
                                  "1;2;0\n" + "\r\n" * 2_000_001, "1\t2\t0" + "\t" * 5_000_001])
def test_text_that_would_cost_too_much_to_split_is_refused_first(text):
    import time
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="too many lines or fields"):
        read_points_csv(text)
    assert time.perf_counter() - start < 1.0
