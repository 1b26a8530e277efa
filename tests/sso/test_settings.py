"""Settings read at start-up: single sign-on half set up, or nobody able to log in, refuses
to start."""

from __future__ import annotations

import pytest

from tests.processes import run_manage


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"OIDC_ISSUER": "https://login.example.com"}, "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET"),
        ({"PASSWORD_LOGIN": "off"}, "nobody can log in"),
    ],
)
def test_the_portal_refuses_to_start_with_sign_in_set_up_halfway(
    env: dict[str, str], says: str, tmp_path: object
) -> None:
    started = run_manage("check", env={**env, "DATABASE_URL": f"sqlite:///{tmp_path}/db"})
    assert started.returncode != 0
    assert says in started.stderr


def test_a_complete_setup_starts(tmp_path: object) -> None:
    env = {
        "OIDC_ISSUER": "https://login.example.com",
        "OIDC_CLIENT_ID": "portal",
        "OIDC_CLIENT_SECRET": "secret",
        "PASSWORD_LOGIN": "off",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db",
    }
    started = run_manage("check", env=env)
    assert started.returncode == 0, started.stderr
