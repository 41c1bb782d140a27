#!/usr/bin/env python3
"""The quickstart's reviewer: a script that stands in for a reviewing agent. planrun runs it for
each task's task review and code review, side by side, with the review prompt (the task, the
real diff from git) as its argument, and reads the verdict from the last JSON line it prints.

It checks the diff itself rather than trusting anyone's word, and leaves one advisory note,
which planrun reports without sending the task back.
"""
import json
import sys
from pathlib import Path

prompt = Path(sys.argv[1]).read_text()
code_review = "the code review:" in prompt
findings = []
if "```diff\n```" in prompt or "Files changed: (none found by git)" in prompt:
    findings.append({"severity": "blocking", "file": None, "line": None,
                     "message": "the change is empty: nothing was implemented"})
if code_review and "README.md" in prompt and "ValueError" not in prompt:
    findings.append({"severity": "advisory", "file": "README.md", "line": 1,
                     "message": "the README could mention that blank names raise ValueError"})
verdict = "changes_requested" if any(f["severity"] == "blocking" for f in findings) else "pass"
print("review:", "code" if code_review else "task", verdict)
print(json.dumps({"verdict": verdict, "findings": findings}))
