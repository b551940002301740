"""`--help` describes every command and every option of the migration."""

from __future__ import annotations

import argparse

import pytest
from django.core.management import get_commands
from django.core.management import load_command_class

COMMANDS = sorted(
    name for name, app in get_commands().items() if app == "filemaker_migration"
)
# Django's own options (--verbosity, --settings, ...) have their help already.
DJANGO_OPTIONS = {
    "help", "version", "verbosity", "settings", "pythonpath", "traceback",
    "no_color", "force_color", "skip_checks",
}  # fmt: skip


def test_every_command_of_the_migration_is_checked():
    assert "import_filemaker_images" in COMMANDS
    assert len(COMMANDS) >= 9


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_says_what_it_does(name):
    command = load_command_class("filemaker_migration", name)
    assert command.help.strip(), f"{name} has no description"
    parser = command.create_parser("manage.py", name)
    silent = [
        action.option_strings or action.dest
        for action in parser._actions
        if action.dest not in DJANGO_OPTIONS
        and (not action.help or action.help == argparse.SUPPRESS)
    ]
    assert silent == []
