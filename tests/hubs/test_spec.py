from __future__ import annotations

import pytest

from hubs.spec import SpecError, check_image_reference, parse_spec, split_image_reference
from tests.conftest import event_spec, github_spec


def errors_of(data) -> dict[str, list[str]]:
    with pytest.raises(SpecError) as exc:
        parse_spec(data)
    return exc.value.errors


def test_it_accepts_the_design_example():
    spec = parse_spec(github_spec())
    assert spec.auth.provider == "github"
    assert spec.dump()["auth"] == {
        "provider": "github",
        "github": {"organizations": ["bcc-org", "bcc-org:staff"]},
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Bad_Name", "must be lowercase letters"),
        ("-x", "must be lowercase letters"),
        ("staging", "'staging' is reserved"),
        ("kube-system", "'kube-system' is reserved"),
        ("a" * 64, "at most 63 characters"),
    ],
)
def test_it_refuses_bad_hub_names(name, message):
    assert message in errors_of(github_spec(name=name))["name"][0]


def test_it_names_every_bad_field_with_its_path():
    data = github_spec(
        expected_users=0,
        admins=["not a login!"],
        auth={"provider": "github", "github": {"organizations": ["ok", "bad org"]}},
        colour="blue",
    )
    errors = errors_of(data)
    assert errors["colour"] == ["unknown field"]
    assert errors["expected_users"] == ["input should be greater than or equal to 1"]
    assert "is not a GitHub organisation" in errors["auth.github.organizations[1]"][0]


def test_it_checks_admins_per_provider():
    cilogon = {
        "provider": "cilogon",
        "cilogon": {
            "idps": [
                {"entity_id": "https://idp.uni.edu/idp/shibboleth", "allowed_domains": ["uni.edu"]}
            ]
        },
    }
    errors = errors_of(github_spec(auth=cilogon, admins=["alice"]))
    assert errors == {
        "admins[0]": ["'alice' is not an email address (users log in with their email)"]
    }
    assert parse_spec(github_spec(auth=cilogon, admins=["alice@uni.edu"])).admins == [
        "alice@uni.edu"
    ]


def test_it_wants_allowed_domains_or_allow_all_for_each_idp():
    auth = {
        "provider": "cilogon",
        "cilogon": {"idps": [{"entity_id": "urn:mace:incommon:uni.edu"}]},
    }
    errors = errors_of(github_spec(auth=auth, admins=["a@uni.edu"]))
    assert errors == {
        "auth.cilogon.idps[0]": [
            "give the email domains allowed to log in, or allow all of its users"
        ]
    }


def test_it_keeps_temporary_users_for_events():
    errors = errors_of(github_spec(auth={"provider": "tmp"}, admins=[]))
    assert errors["auth.provider"] == ["tmp login is only for event hubs"]


def test_it_checks_the_event_window():
    spec = event_spec(event={"start": "2027-03-05T09:00:00Z", "end": "2027-03-01T09:00:00Z"})
    # The field is named, so a 400 says which one (issue 14).
    assert errors_of(spec) == {"event.end": ["the end must be after the start"]}
    naive = event_spec(event={"start": "2027-03-01T09:00:00", "end": "2027-03-02T09:00:00Z"})
    assert "needs a time zone" in errors_of(naive)["event.start"][0]


@pytest.mark.parametrize(
    "ref",
    [
        "quay.io/jupyter/scipy-notebook:2025-10-20",
        "pangeo/pangeo-notebook:2025.10.06",
        "localhost:5000/org/image:v1",
        "ghcr.io/org/image:v2@sha256:" + "a" * 64,
    ],
)
def test_it_accepts_oci_references(ref):
    assert check_image_reference(ref) == ref


@pytest.mark.parametrize("ref", ["Quay.io/UPPER/img:1", "img", "img:", "a b:1", "img:tag;rm -rf"])
def test_it_refuses_bad_references(ref):
    with pytest.raises(ValueError, match=r"\w"):
        check_image_reference(ref)


def test_it_splits_a_reference_into_name_and_tag():
    assert split_image_reference("localhost:5000/org/image:v1") == (
        "localhost:5000/org/image",
        "v1",
    )


def test_it_bounds_every_list():
    errors = errors_of(github_spec(allowed_users=[f"user{i}" for i in range(5001)]))
    assert errors["allowed_users"] == ["lists at most 5000 items"]


def test_it_wants_a_tag_even_with_a_digest():
    # z2jh's schema requires singleuser.image.tag.
    with pytest.raises(ValueError, match="needs a tag"):
        check_image_reference("ghcr.io/org/image@sha256:" + "a" * 64)
