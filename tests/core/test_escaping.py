import pytest

from flowaudit.core.escaping import spreadsheet_safe, terminal_safe


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "\t=1", "＝1"])
def test_formula_starts_are_neutralised(value):
    assert spreadsheet_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "1+1", 42, None, ""])
def test_other_values_pass_unchanged(value):
    assert spreadsheet_safe(value) == value


def test_terminal_safe_shows_control_characters_and_cuts():
    assert terminal_safe("a\x1b[31mred\x07") == "a\\x1b[31mred\\x07"
    assert terminal_safe("x" * 300, 10) == "x" * 10 + "…"
