"""Tests of `course grade` and `course check` (the grader package)."""
