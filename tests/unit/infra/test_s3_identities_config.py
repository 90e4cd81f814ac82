"""The secured stack's S3 identities: one per principal, each granted only its buckets."""

from __future__ import annotations

import json
from pathlib import Path

from millrace_infra import StackConfig
from millrace_infra.kafka_security import usernames
from millrace_infra.s3_security import BUCKETS, GRANTS, write_identities
from millrace_shared.settings import MillraceSettings


def test_the_stack_makes_the_buckets_the_services_use() -> None:
    assert MillraceSettings().buckets == BUCKETS


def test_every_principal_has_an_identity_and_only_its_grants(tmp_path: Path) -> None:
    config = StackConfig.from_base_port(31000, home=tmp_path)
    path = write_identities(config)
    assert path.stat().st_mode & 0o077 == 0
    identities = {i["name"]: i for i in json.loads(path.read_text())["identities"]}
    assert set(identities) == set(usernames())
    admin = identities["millrace-admin"]
    assert admin["credentials"][0]["accessKey"] == config.s3_access_key
    assert "Admin" in admin["actions"]
    assert set(GRANTS) == set(usernames()) - {"millrace-admin"}
    assert identities["millrace-data-teams"]["actions"] == ["Write:millrace-landing"]
    assert all("Admin" not in i["actions"] for n, i in identities.items() if n != "millrace-admin")
    # Keys survive a restart.
    assert json.loads(write_identities(config).read_text())["identities"] == list(
        identities.values()
    )
