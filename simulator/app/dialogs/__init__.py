"""Modal dialogs of the terminal phone."""
