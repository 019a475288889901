"""Reading, normalising and planning a hub's members (hubs/members.py): pure, no database."""

from __future__ import annotations

import json

import pytest

from hubs import members as people
from hubs.members import Entry, MembersError, normalise, parse_csv, plan, split_paste
from hubs.spec import MAX_SPEC_BYTES, check_draft, parse_spec
from tests.conftest import github_spec

GITHUB = parse_spec(github_spec(admins=["alice-gh"], allowed_users=["carol"]))
CILOGON = parse_spec(
    github_spec(
        auth={
            "provider": "cilogon",
            "cilogon": {
                "idps": [
                    {
                        "entity_id": "https://idp.uni.edu/idp/shibboleth",
                        "allowed_domains": ["uni.edu", "cs.uni.edu"],
                    }
                ]
            },
        },
        admins=["prof@uni.edu"],
    )
)
GOOGLE = parse_spec(
    github_spec(
        auth={"provider": "google", "google": {"hosted_domains": ["uni.edu"]}},
        admins=["prof@uni.edu"],
    )
)


def test_it_normalises_case_whitespace_and_a_github_at():
    assert normalise("  @Alice-GH ", "github") == "alice-gh"
    assert normalise("<Prof@Uni.EDU>", "cilogon") == "prof@uni.edu"
    assert normalise("@someone", "cilogon") == "@someone"  # only GitHub drops the @


def test_it_splits_a_paste_on_lines_commas_spaces_and_semicolons():
    entries = split_paste("alice, bob;carol\n\n  dave   eve\r\n@frank")

    assert [(e.line, e.raw) for e in entries] == [
        (1, "alice"), (1, "bob"), (1, "carol"), (3, "dave"), (3, "eve"), (4, "@frank"),
    ]  # fmt: skip
    assert {e.role for e in entries} == {"allowed"}


def test_it_reads_a_csv_with_a_username_and_an_optional_role_column():
    entries = parse_csv("\ufeffUsername,Role\nalice,admin\nbob,\n\ncarol,allowed_users\ndan,boss\n")

    assert [(e.line, e.raw, e.role) for e in entries] == [
        (2, "alice", "admin"), (3, "bob", "allowed"), (5, "carol", "allowed"), (6, "dan", "boss"),
    ]  # fmt: skip
    assert [e.role for e in parse_csv("username\nx\n", default_role="admin")] == ["admin"]
    assert [e.raw for e in parse_csv("name;username\nX;x\n")] == ["x"]  # the delimiter is sniffed


@pytest.mark.parametrize("text", ["", "name,email\na,b\n"])
def test_it_refuses_a_csv_without_a_username_column(text):
    with pytest.raises(MembersError, match="username"):
        parse_csv(text)


def test_it_plans_each_line_add_present_invalid_duplicate():
    entries = split_paste("@Carol, dave\nDave\nnot a/login\nalice-gh", role="allowed")
    entries += [Entry(line=9, raw="x", role="owner")]

    result = plan(people.of_spec(GITHUB.dump()), entries, GITHUB)

    statuses = [(line.line, line.name, line.status) for line in result.lines]
    assert statuses == [
        (1, "carol", "present"),
        (1, "dave", "add"),
        (2, "dave", "duplicate"),
        (3, "not", "add"),
        (3, "a/login", "invalid"),
        (4, "alice-gh", "add"),  # an admin, now also an allowed user
        (9, "x", "invalid"),
    ]
    assert result.lines[2].reason == "merged with line 1"
    assert "not a GitHub username" in result.lines[4].reason
    assert "unknown role" in result.lines[6].reason
    assert result.add == {"admin": [], "allowed": ["dave", "not", "alice-gh"]}
    assert result.counts["added"] == 3 and result.counts["invalid"] == 2


def test_it_plans_a_removal_and_says_what_was_not_there():
    result = plan(people.of_spec(GITHUB.dump()), split_paste("carol\nzed"), GITHUB, mode="remove")

    assert [(line.name, line.status) for line in result.lines] == [
        ("carol", "remove"),
        ("zed", "absent"),
    ]


def test_a_replace_import_removes_whoever_the_file_does_not_list_in_the_roles_it_names():
    current = {"admin": ["alice-gh"], "allowed": ["carol", "dave", "erin"]}

    result = plan(current, parse_csv("username\ncarol\nfrank\n"), GITHUB, mode="replace")

    assert result.add == {"admin": [], "allowed": ["frank"]}
    assert result.remove == {"admin": [], "allowed": ["dave", "erin"]}  # admins untouched
    assert [line.reason for line in result.by_status("remove")] == ["not in the file"] * 2


def test_it_refuses_emails_outside_the_hubs_domains_line_by_line():
    for spec in (CILOGON, GOOGLE):
        result = plan({}, split_paste("ta@cs.uni.edu\nstudent@gmail.com\nnot-an-email"), spec)
        reasons = {line.name: (line.status, line.reason) for line in result.lines}
        if spec is CILOGON:
            assert reasons["ta@cs.uni.edu"] == ("add", "")
        else:  # Google's hosted domain is uni.edu only
            assert reasons["ta@cs.uni.edu"][0] == "invalid"
        assert reasons["student@gmail.com"] == (
            "invalid",
            f"student@gmail.com is not in the hub's allowed domains "
            f"({', '.join(people.allowed_domains(spec) or [])})",
        )
        assert "not an email address" in reasons["not-an-email"][1]


def test_it_marks_names_github_does_not_know_or_could_not_check():
    lookups = {"dave": (True, ""), "ghost": (False, "no GitHub user named ghost"),
               "maybe": (None, "GitHub's rate limit is reached; not verified")}  # fmt: skip

    result = plan({}, split_paste("dave ghost maybe"), GITHUB, lookups=lookups)

    lines = {line.name: line for line in result.lines}
    assert (lines["dave"].status, lines["dave"].verified) == ("add", True)
    assert (lines["ghost"].status, lines["ghost"].reason) == (
        "invalid",
        "no GitHub user named ghost",
    )
    assert (lines["maybe"].status, lines["maybe"].verified) == ("add", False)
    assert result.counts["not_verified"] == 1


def test_it_summarises_a_change_as_a_revision_reason():
    before = {"admin": ["a"], "allowed": ["x", "y", "z"]}
    after = {"admin": ["a", "b"], "allowed": ["X", "w"]}

    assert people.summary(before, after) == "allowlist: +1 \u22122, admins: +1"
    assert people.summary(before, before) == ""


def test_it_exports_a_csv_the_import_reads_back():
    members = {"admin": ["alice-gh"], "allowed": ["carol", "dave"]}

    entries = parse_csv(people.to_csv(members))

    assert [(e.raw, e.role) for e in entries] == [
        ("alice-gh", "admin"), ("carol", "allowed"), ("dave", "allowed"),
    ]  # fmt: skip


def test_a_university_allowlist_of_ten_thousand_fits_a_spec():
    students = [f"firstname.lastname{i:05d}@students.university.edu" for i in range(10_000)]
    spec = github_spec(
        auth={"provider": "google", "google": {"hosted_domains": ["students.university.edu"]}},
        admins=["prof@students.university.edu"],
        allowed_users=students,
    )

    size = len(json.dumps(spec))
    parse_spec(check_draft(spec))

    assert size < MAX_SPEC_BYTES // 2  # room for twice as many
