"""course_lib.config: one parser for every COURSE_* variable, with clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from course_lib import config, fast
from course_lib.device import get_device


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), (" YES ", True), ("on", True),
                                            ("0", False), ("false", False), ("No", False), ("off", False),
                                            ("", False)])
def test_flags_accept_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("COURSE_FAST", value)
    assert config.fast() is expected and fast.is_fast() is expected


def test_an_unset_flag_is_off(monkeypatch):
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    assert config.offline() is False


@pytest.mark.parametrize("name", ["COURSE_FAST", "COURSE_STRICT_CHECKS", "COURSE_OFFLINE"])
def test_a_bad_flag_names_the_variable_and_the_fix(monkeypatch, name):
    monkeypatch.setenv(name, "maybe")
    with pytest.raises(config.ConfigError, match=rf"{name}='maybe' is not a yes/no value: set it to 1 \(on\) or 0"):
        config.flag(name)


def test_paths_expand_the_home_folder_and_fall_back_to_defaults(monkeypatch):
    monkeypatch.setenv("COURSE_PROGRESS_FILE", "~/somewhere/p.json")
    assert config.progress_file() == Path.home() / "somewhere" / "p.json"
    monkeypatch.delenv("COURSE_PROGRESS_FILE")
    assert config.progress_file() == Path(config.DEFAULT_PROGRESS_FILE).expanduser()
    monkeypatch.setenv("COURSE_DATA_DIR", "  ")
    assert config.data_dir() is None
    monkeypatch.delenv("COURSE_DEBIAN_DATA_DIR", raising=False)
    assert config.debian_data_dir() == Path(config.DEFAULT_DEBIAN_DATA_DIR)


def test_device_is_read_through_config(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", " cpu ")
    assert config.device() == "cpu" and get_device().type == "cpu"
    monkeypatch.setenv("COURSE_DEVICE", "")
    assert config.device() is None


def test_every_variable_is_read_only_here():
    """No other course_lib module reads a COURSE_* variable from os.environ itself."""
    lib = Path(config.__file__).parent
    offenders = []
    for path in lib.rglob("*.py"):
        if path.name == "config.py":
            continue
        text = path.read_text()
        if "os.environ.get(" in text or "os.getenv(" in text:
            offenders.append(str(path.relative_to(lib)))
    assert offenders == []
