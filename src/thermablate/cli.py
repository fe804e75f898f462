"""The ``thermablate`` console script.

It is Django's ``manage.py`` with the settings preset, except for the commands that only need
the pure core (``simulate``, ``guidance parse`` and ``opcs load``): those run without Django, so a researcher
can use them with no database at all.
"""

import os
import sys


def main(argv: list[str] | None = None) -> int | None:
    argv = list(sys.argv if argv is None else argv)
    command = argv[1:2]
    if command == ["simulate"]:
        from thermablate.planning.cli import main as simulate_main

        return simulate_main(argv[2:])
    if argv[1:3] == ["guidance", "parse"]:
        from thermablate.guidance.cli import parse_main

        return parse_main(argv[3:])
    if argv[1:3] == ["opcs", "load"]:
        from thermablate.clinical.opcs import load_main

        return load_main(argv[3:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "thermablate.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
