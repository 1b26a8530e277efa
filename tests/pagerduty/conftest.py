"""Fixtures shared by the PagerDuty tests."""

from __future__ import annotations

import pytest

from rotation.models import Rotation

POLICY = "PEPLAT1"  # the platform rotation's escalation policy in the fake


@pytest.fixture
def linked(platform: Rotation) -> Rotation:
    """The platform rotation, linked to POLICY."""
    platform.pagerduty_escalation_policy_id = POLICY
    platform.save()
    return platform
