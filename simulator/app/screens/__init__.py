"""Screens of the terminal phone."""
