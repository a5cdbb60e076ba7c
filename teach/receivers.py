"""Keeps teach.CheckResult in step with graded submissions."""

from __future__ import annotations

from django.dispatch import receiver

from sandbox.signals import submission_graded

from .models import store_check_results


@receiver(submission_graded, dispatch_uid="teach.store_check_results")
def _store_check_results(sender, submission, **kwargs) -> None:
    # Sent inside the transaction that stores the outcome, so the rows and the outcome commit together.
    store_check_results(submission)
