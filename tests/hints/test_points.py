"""Hint files and hint values: every problem is one HintError line naming the source."""

from __future__ import annotations

import json

import pytest

from deepcolor.hints.points import HintError, load_hint_json, parse_hints, read_hint_file


def test_a_hint_file_nested_2000_deep_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"points": ' + "[" * 2000 + "]" * 2000 + "}")
    with pytest.raises(HintError) as error:
        read_hint_file(path)
    assert str(error.value) == f'{path}: JSON nested too deeply (a hint file is {{"points": [...]}})'
    with pytest.raises(HintError, match="^form field: JSON nested too deeply"):
        load_hint_json("[" * 100_000, "form field")


def test_malformed_json_and_bytes_that_are_no_text(tmp_path):
    with pytest.raises(HintError, match=r"^h: malformed JSON \(line 1, column 2"):
        load_hint_json("{", "h")
    with pytest.raises(HintError, match="^h: not UTF-8 text$"):
        load_hint_json(b'{"a": "\xc3\x28"}', "h")


def test_a_deep_or_huge_value_is_shown_short_on_one_line():
    deep: list = []
    for _ in range(900):  # parses, and would make a repr of thousands of characters
        deep = [deep]
    with pytest.raises(HintError) as error:
        parse_hints({"points": [{"x": deep, "y": 1, "color": "red"}]}, "h.json")
    message = str(error.value)
    assert message.startswith("h.json: x must be a number. Got [[[") and len(message) < 120
    with pytest.raises(HintError) as error:
        parse_hints([{"x": 1, "y": 1, "color": "x" * 10_000 + "\nred"}], "h.json")
    assert "\n" not in str(error.value) and len(str(error.value)) < 200


def test_a_good_file_reads(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"points": [{"x": 1, "y": 2, "color": "#ff0000", "radius": 3}]}))
    (point,) = read_hint_file(path)
    assert (point.x, point.y, point.radius, point.hex) == (1.0, 2.0, 3, "#ff0000")
