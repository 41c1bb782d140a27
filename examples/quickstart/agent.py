#!/usr/bin/env python3
"""The quickstart's agent: a script that stands in for a coding agent, so the example runs
without an API key. planrun starts it once per attempt, in the workspace, with the prompt file
as its argument and PLANRUN_TASK_ID / PLANRUN_ATTEMPT / PLANRUN_NOTES_FILE in its environment.

It makes one honest mistake: its first `lib` attempt forgets the "!". planrun's own verify
command catches that, and the next attempt's prompt carries the failing test's output, which
this agent reads and acts on, as a real agent would.
"""
import os
import sys
import time
from pathlib import Path

task = os.environ["PLANRUN_TASK_ID"]
attempt = os.environ["PLANRUN_ATTEMPT"]
prompt = Path(sys.argv[1]).read_text()
feedback = "Why the previous attempt was sent back" in prompt
print(f"agent: task {task}, attempt {attempt}" + (" (with feedback)" if feedback else ""))
# Pretend to think, so the run is slow enough to watch (and to interrupt).
time.sleep(float(os.environ.get("QUICKSTART_THINK", "1")))


def write(path, text):
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    print(f"agent: wrote {path}")


if task == "lib":
    punctuation = "!" if feedback else ""
    write(
        "src/greet/__init__.py",
        f'''"""Greetings."""


def greet(name: str) -> str:
    """Returns a greeting for `name`; blank names are refused."""
    if not name.strip():
        raise ValueError("name must not be blank")
    return f"Hello, {{name}}{punctuation}"
''',
    )
    write(
        "tests/test_greet.py",
        '''import unittest

from greet import greet


class GreetTest(unittest.TestCase):
    def test_greets_by_name(self):
        self.assertEqual(greet("Ada"), "Hello, Ada!")

    def test_blank_names_are_refused(self):
        with self.assertRaises(ValueError):
            greet("  ")


if __name__ == "__main__":
    unittest.main()
''',
    )
    Path(os.environ["PLANRUN_NOTES_FILE"]).write_text("greet(name) lives in src/greet/__init__.py.\n")
elif task == "cli":
    write(
        "src/greet_cli.py",
        '''"""Command-line entry point: prints a greeting."""
import sys

from greet import greet


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: greet_cli.py NAME", file=sys.stderr)
        return 2
    print(greet(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
''',
    )
    write(
        "tests/test_cli.py",
        '''import contextlib
import io
import unittest

from greet_cli import main


class CliTest(unittest.TestCase):
    def test_prints_the_greeting(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(main(["greet_cli.py", "Ada"]), 0)
        self.assertEqual(out.getvalue(), "Hello, Ada!\\n")

    def test_no_name_is_a_usage_error(self):
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(main(["greet_cli.py"]), 2)


if __name__ == "__main__":
    unittest.main()
''',
    )
elif task == "docs":
    write(
        "README.md",
        """# greet

    >>> from greet import greet
    >>> greet("Ada")
    'Hello, Ada!'

    $ PYTHONPATH=src python3 src/greet_cli.py Ada
    Hello, Ada!
""",
    )
elif task == "release":
    write("pyproject.toml", '[project]\nname = "greet"\nversion = "0.1.0"\n')
    write("CHANGELOG.md", "# Changelog\n\n## 0.1.0\n\n- greet() and the greet_cli.py command.\n")
else:
    print(f"agent: no idea how to do task {task}", file=sys.stderr)
    sys.exit(1)
