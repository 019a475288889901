"""The GitOps backend checks a revision against the base it commits onto, before pushing."""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import User

from hubs.states import DeploymentState
from provisioning.tasks import run_deployment
from tests.provisioning.gitops_fixtures import (
    CLOUDBANK,
    bare_repo,  # noqa: F401 - fixture
    clones,  # noqa: F401 - fixture
    git,
    make_cluster,
    make_hub,
    make_target,
    move_base,
    remote_branches,
)

COMMON = f"config/clusters/{CLOUDBANK}/common.values.yaml"


def test_it_refuses_values_the_shared_files_on_the_base_make_invalid(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    _, deployment = make_hub(
        make_cluster(make_target(bare_repo)), "newhub", requester=lead, approver=reviewer
    )
    assert deployment is not None
    # Someone changed the shared file since the revision was rendered and approved.
    common = git(bare_repo, "show", f"main:{COMMON}")
    move_base(bare_repo, bare_repo.parent, COMMON, common.replace("limit: 2\n", "limit: two\n"))
    main_before = git(bare_repo, "rev-parse", "main")

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.attempts == 1  # permanent: trying again cannot help
    assert "The chart refuses r1's values with the files main has now" in deployment.error
    logged = "\n".join(deployment.log.values_list("message", flat=True))
    assert "jupyterhub.singleuser.cpu.limit: 'two' is not of type 'number'" in logged
    assert remote_branches(bare_repo) == []
    assert git(bare_repo, "rev-parse", "main") == main_before


def test_it_checks_against_the_shared_files_of_the_base(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    # The same revision is valid on cloudbank's files as they are: it is proposed.
    _, deployment = make_hub(
        make_cluster(make_target(bare_repo)), "newhub", requester=lead, approver=reviewer
    )
    assert deployment is not None
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"
    assert remote_branches(bare_repo) == ["hub/cloudbank/newhub/r1"]
