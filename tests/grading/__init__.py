"""Tests of `course grade` and `course check` (course/grading/)."""
