"""Autograded exercises: checks against gdlib, a sandbox for untrusted code, class grading."""
