"""The lab: a config's YAML read into a validated ``Lab`` (``reader``), and its expansion into users and
connections (``expand``). What Guacamole and guacd accept lives in ``guacamole`` and ``tokens``; the
owner numbers of pods in ``pods``."""

from .expand import UserMapping, expand
from .model import ConfigError, DeviceType, Lab, Numbering, Problem, UserType
from .reader import read_config

__all__ = ["ConfigError", "DeviceType", "Lab", "Numbering", "Problem", "UserMapping", "UserType", "expand",
           "read_config"]
