"""The QA kit's controls over a running sandbox: its clock, robot phones, faults, reset, world."""
