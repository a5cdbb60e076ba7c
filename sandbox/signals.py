"""Signals the submission pipeline sends, so that the course can follow it without sandbox/ importing the course."""

from django.dispatch import Signal

# Sent inside the transaction that stores a graded outcome (passed or failed; never for "could not finish").
# Arguments: submission, passed (bool), score (int).
submission_graded = Signal()
