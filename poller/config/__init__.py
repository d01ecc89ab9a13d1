"""Settings from defaults, `poller.toml` and the environment, validated into one value; and how they are reported."""

from poller.config.report import Check, config_path, effective
from poller.config.settings import DURATIONS, ENV, TOKEN_FILE_ENV, Settings, load_settings, parse_duration

__all__ = ["DURATIONS", "ENV", "TOKEN_FILE_ENV", "Check", "Settings", "config_path", "effective", "load_settings",
           "parse_duration"]
