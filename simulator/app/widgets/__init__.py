"""Widgets of the terminal phone."""
