"""The GitOps backend against real bare repositories seeded with 2i2c's cloudbank folder."""

# Fixtures come from gitops_fixtures; naming them as parameters shadows the import.
# ruff: noqa: F811
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections

from hubs.states import DeploymentState, HubState
from provisioning.deploy.backends.gitops import clone_path, show_commit
from provisioning.deploy.git import locked
from provisioning.deployments import requeue_stuck
from provisioning.models import Deployment, DeployTarget
from provisioning.render.renderer import Rendered
from provisioning.tasks import poll_pull_requests, run_deployment
from tests.provisioning.gitops_fixtures import (
    CLOUDBANK,
    bare_repo,  # noqa: F401 - fixture
    branch_commits,
    clones,  # noqa: F401 - fixture
    git,
    install_hook,
    make_cluster,
    make_hub,
    make_target,
    move_base,
    remote_branches,
    rendered_for,
    seed_bare_repo,
)

CLUSTER_YAML = f"config/clusters/{CLOUDBANK}/cluster.yaml"


def changed_lines(bare: Path, rev: str, path: str) -> tuple[list[str], list[str]]:
    """(added, removed) lines of `path` in commit `rev`."""
    diff = git(bare, "show", "--format=", "--unified=0", rev, "--", path)
    added = [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    removed = [
        line[1:]
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    return added, removed


def test_it_pushes_one_commit_on_the_revision_branch(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    cluster = make_cluster(make_target(bare_repo))
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    main_before = git(bare_repo, "rev-parse", "main")

    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    deployment.refresh_from_db()
    branch = "hub/cloudbank/newhub/r1"
    assert deployment.branch == branch
    assert deployment.state == DeploymentState.AWAITING_MERGE
    assert git(bare_repo, "rev-parse", "main") == main_before
    assert branch_commits(bare_repo, branch) == [deployment.commit_sha]
    files = git(bare_repo, "show", "--format=", "--name-only", deployment.commit_sha).split()
    assert sorted(files) == [CLUSTER_YAML, f"config/clusters/{CLOUDBANK}/newhub.values.yaml"]
    # cluster.yaml: only the new entry's lines are added, nothing else changes.
    added, removed = changed_lines(bare_repo, deployment.commit_sha, CLUSTER_YAML)
    assert removed == []
    assert any("name: newhub" in line for line in added)
    assert any("newhub.cloudbank.2i2c.cloud" in line for line in added)
    assert len(added) <= 8
    message = git(bare_repo, "log", "-1", "--format=%B", deployment.commit_sha)
    assert message.startswith("Add hub newhub to cloudbank (r1)")
    assert "alice <alice@example.org>" in message
    assert "charlie <charlie@example.org>" in message
    assert "Hub-Portal-Revision: cloudbank/newhub/r1" in message
    author = git(bare_repo, "log", "-1", "--format=%an <%ae>", deployment.commit_sha)
    assert author == "Portal Bot <bot@portal.example.org>"
    steps = list(deployment.log.values_list("step", flat=True))
    assert {"claimed", "commit", "push", "awaiting_merge"} <= set(steps)
    hub.refresh_from_db()
    assert hub.state == HubState.PROVISIONING


def test_it_commits_directly_to_the_base_branch(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    cluster = make_cluster(target)
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "succeeded"

    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED
    assert deployment.branch == "main"
    assert git(bare_repo, "rev-parse", "main") == deployment.commit_sha
    assert hub.state == HubState.ACTIVE
    assert remote_branches(bare_repo) == []
    # The deployment page's diff comes from the clone.
    shown = show_commit(target, deployment.commit_sha)
    assert "+  - name: newhub" in shown or "+- name: newhub" in shown
    assert "newhub.values.yaml" in shown


def test_it_fetches_the_persistent_clone_instead_of_recloning(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    cluster = make_cluster(target)
    _, first = make_hub(cluster, "first", requester=lead, approver=reviewer)
    assert first is not None
    run_deployment.delay(first.pk)
    marker = clone_path(target) / ".git" / "portal-test-marker"
    marker.write_text("still the same clone")
    moved = move_base(bare_repo, bare_repo.parent, "README.md", "hello\n")

    _, second = make_hub(cluster, "second", requester=lead, approver=reviewer)
    assert second is not None
    assert run_deployment.delay(second.pk).get() == "succeeded"

    second.refresh_from_db()
    assert marker.exists()
    # Applied on top of the commit someone else pushed meanwhile.
    assert git(bare_repo, "rev-parse", f"{second.commit_sha}^") == moved
    cluster_yaml = git(bare_repo, "show", f"main:{CLUSTER_YAML}")
    assert "name: first" in cluster_yaml and "name: second" in cluster_yaml


def test_it_reapplies_a_direct_commit_when_the_base_moves_during_the_push(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    cluster = make_cluster(target)
    _, first = make_hub(cluster, "first", requester=lead, approver=reviewer)
    assert first is not None
    run_deployment.delay(first.pk)
    # Someone pushes to main, so the clone's idea of main is stale; and once
    # our worker has fetched the new main, someone else pushes again before
    # our second push. A hook in the clone that git runs on every ref update
    # (the fetch's) makes that second race certain.
    move_base(bare_repo, bare_repo.parent, "README.md", "first move\n")
    racer = bare_repo.parent / "racer"
    git(bare_repo.parent, "clone", "-q", str(bare_repo), str(racer))
    (racer / "RACE.md").write_text("someone else got there first\n")
    git(racer, "add", "-A")
    git(racer, "commit", "-q", "-m", "Race")
    racer_sha = git(racer, "rev-parse", "HEAD")
    hook = clone_path(target) / ".git" / "hooks" / "reference-transaction"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(
        "#!/bin/sh\n"
        '[ "$1" = committed ] || exit 0\n'
        "grep -q refs/remotes/origin/main || exit 0\n"
        f'[ -e "{racer}/raced" ] && exit 0\n'
        f'touch "{racer}/raced"\n'
        "env -u GIT_DIR -u GIT_INDEX_FILE -u GIT_WORK_TREE "
        f'git -C "{racer}" push -q origin HEAD:main\n'
    )
    hook.chmod(0o755)
    _, second = make_hub(cluster, "second", requester=lead, approver=reviewer)
    assert second is not None

    assert run_deployment.delay(second.pk).get() == "succeeded"

    second.refresh_from_db()
    assert (racer / "raced").exists()
    assert git(bare_repo, "rev-parse", "main") == second.commit_sha
    assert git(bare_repo, "rev-parse", f"{second.commit_sha}^") == racer_sha
    moved = second.log.filter(step="push", message__contains="had moved on")
    assert moved.count() == 2
    assert branch_commits(bare_repo, "main", f"{racer_sha}") == [second.commit_sha]
    cluster_yaml = git(bare_repo, "show", f"main:{CLUSTER_YAML}")
    assert "name: first" in cluster_yaml and "name: second" in cluster_yaml


def test_it_rebuilds_the_branch_on_a_moved_base_with_one_commit(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    cluster = make_cluster(make_target(bare_repo))
    _, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk)
    deployment.refresh_from_db()
    first_sha = deployment.commit_sha
    moved = move_base(bare_repo, bare_repo.parent, "README.md", "moved\n")

    # Re-run (e.g. redelivered after a crash): the branch is rebuilt on main.
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.QUEUED)
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    deployment.refresh_from_db()
    assert deployment.commit_sha != first_sha
    assert branch_commits(bare_repo, deployment.branch) == [deployment.commit_sha]
    assert git(bare_repo, "rev-parse", f"{deployment.commit_sha}^") == moved


def test_it_fails_when_branch_protection_refuses_the_push(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    install_hook(
        bare_repo,
        "pre-receive",
        "#!/bin/sh\n"
        "while read old new ref; do\n"
        '  if [ "$ref" = "refs/heads/main" ]; then\n'
        "    echo 'GH006: Protected branch update failed for refs/heads/main.' >&2; exit 1\n"
        "  fi\n"
        "done\n",
    )
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    hub, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    main_before = git(bare_repo, "rev-parse", "main")

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.attempts == 1
    assert "refused the push to main" in deployment.error
    assert "protected" in deployment.error
    output = "\n".join(deployment.log.filter(level="output").values_list("message", flat=True))
    assert "GH006: Protected branch update failed" in output
    assert hub.state == HubState.FAILED
    assert git(bare_repo, "rev-parse", "main") == main_before


def test_it_retries_while_another_worker_holds_the_clone(
    bare_repo: Path, lead: User, reviewer: User, settings: object
) -> None:
    settings.PORTAL_GIT_LOCK_TIMEOUT = 0.2  # type: ignore[attr-defined]
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    hub, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    from provisioning.deploy.backends.gitops import lock_path

    with locked(lock_path(target), timeout=1):
        assert run_deployment.delay(deployment.pk).get() == "retry_scheduled"

    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.QUEUED
    assert deployment.attempts == 1
    assert "locked" in deployment.error
    assert deployment.not_before is not None
    # Not due yet: a message that arrives early does nothing.
    assert run_deployment.delay(deployment.pk).get() == "skipped"

    Deployment.objects.filter(pk=deployment.pk).update(not_before=deployment.created_at)
    assert run_deployment.delay(deployment.pk).get() == "succeeded"
    hub.refresh_from_db()
    assert hub.state == HubState.ACTIVE


def test_it_gives_up_after_the_last_attempt(
    bare_repo: Path, lead: User, reviewer: User, settings: object
) -> None:
    settings.PORTAL_GIT_LOCK_TIMEOUT = 0.1  # type: ignore[attr-defined]
    settings.PORTAL_DEPLOY_MAX_ATTEMPTS = 2  # type: ignore[attr-defined]
    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    _, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    from provisioning.deploy.backends.gitops import lock_path

    with locked(lock_path(target), timeout=1):
        assert run_deployment.delay(deployment.pk).get() == "retry_scheduled"
        Deployment.objects.filter(pk=deployment.pk).update(not_before=None)
        assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.attempts == 2
    assert "Gave up after 2 attempts" in deployment.error


def test_it_fails_on_a_missing_repository_without_retrying(
    tmp_path: Path, clones: Path, lead: User, reviewer: User
) -> None:
    target = make_target(tmp_path / "nowhere.git")
    _, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    assert deployment.attempts == 1
    assert "does not appear to be a git repository" in deployment.error


def test_it_fails_a_revision_without_rendered_files(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    from provisioning.render.renderer import Rendered

    cluster = make_cluster(make_target(bare_repo))
    rendered = Rendered(layout="2i2c", files={"../../etc/passwd": "x"}, cluster_entry={})
    _, deployment = make_hub(
        cluster, "newhub", requester=lead, approver=reviewer, rendered=rendered
    )
    assert deployment is not None

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    assert "outside config/clusters/cloudbank/" in deployment.error
    assert remote_branches(bare_repo) == []


@pytest.mark.parametrize(
    ("rendered", "message"),
    [
        (Rendered(layout="2i2c", files={}), None),
        (
            Rendered(layout="z2jh", files={"values.yaml": "hub: {}\n"}),
            "Revision r1 was rendered for the 'z2jh' layout; a GitOps cluster needs the "
            "'2i2c' layout.",
        ),
    ],
)
def test_it_fails_a_revision_not_rendered_for_its_cluster(
    bare_repo: Path, lead: User, reviewer: User, rendered: Rendered, message: str | None
) -> None:
    from hubs.models import HubRevision

    cluster = make_cluster(make_target(bare_repo))
    _, deployment = make_hub(
        cluster, "newhub", requester=lead, approver=reviewer, rendered=rendered
    )
    assert deployment is not None
    if message is None:  # a revision stored before rendering existed: no files at all
        HubRevision.objects.filter(pk=deployment.revision_id).update(files={})
        message = (
            "Revision r1 has no rendered files; render it again (a new revision) before deploying."
        )

    assert run_deployment.delay(deployment.pk).get() == "failed"

    deployment.refresh_from_db()
    assert deployment.error == message
    assert remote_branches(bare_repo) == []


@pytest.mark.parametrize("policy", ["pull_request", "direct"])
def test_it_is_idempotent_when_the_worker_dies_after_pushing(
    bare_repo: Path, lead: User, reviewer: User, settings: object, policy: str
) -> None:
    settings.PORTAL_SWEEP_AFTER = 60  # type: ignore[attr-defined]
    target = make_target(bare_repo, merge_policy=policy)
    _, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk)
    deployment.refresh_from_db()
    pushed = deployment.commit_sha
    main_after_first = git(bare_repo, "rev-parse", "main")

    # As if the worker was killed after the push, before it recorded anything:
    # the row still says running, and its heartbeat has gone quiet.
    import datetime as dt

    from django.utils import timezone

    long_ago = timezone.now() - dt.timedelta(minutes=5)
    Deployment.objects.filter(pk=deployment.pk).update(
        state=DeploymentState.RUNNING, heartbeat_at=long_ago, commit_sha="", branch=""
    )
    assert requeue_stuck() == 1
    # The sweeper's enqueue runs on commit; in this test, run the task ourselves.
    run_deployment.delay(deployment.pk)

    deployment.refresh_from_db()
    assert deployment.commit_sha == pushed
    assert deployment.attempts == 2
    assert git(bare_repo, "rev-parse", "main") == main_after_first
    if policy == "pull_request":
        assert deployment.state == DeploymentState.AWAITING_MERGE
        assert remote_branches(bare_repo) == ["hub/cloudbank/newhub/r1"]
        assert branch_commits(bare_repo, "hub/cloudbank/newhub/r1") == [pushed]
    else:
        assert deployment.state == DeploymentState.SUCCEEDED
        revisions = git(bare_repo, "log", "--format=%H", "-F", "--grep=cloudbank/newhub/r1", "main")
        assert revisions.split() == [pushed]


def test_it_is_idempotent_when_the_worker_dies_after_committing(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    target = make_target(bare_repo)
    _, deployment = make_hub(make_cluster(target), "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    # Run once with pushing impossible: the commit is made in the clone, not pushed.
    install_hook(bare_repo, "pre-receive", "#!/bin/sh\nexit 1\n")
    run_deployment.delay(deployment.pk)
    (bare_repo / "hooks" / "pre-receive").unlink()
    assert remote_branches(bare_repo) == []

    Deployment.objects.filter(pk=deployment.pk).update(
        state=DeploymentState.QUEUED, error="", not_before=None
    )
    assert run_deployment.delay(deployment.pk).get() == "awaiting_merge"

    deployment.refresh_from_db()
    assert remote_branches(bare_repo) == ["hub/cloudbank/newhub/r1"]
    assert branch_commits(bare_repo, "hub/cloudbank/newhub/r1") == [deployment.commit_sha]


def test_it_notices_a_push_only_branch_merged_by_hand(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    cluster = make_cluster(make_target(bare_repo))
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk)
    assert poll_pull_requests.delay().get() == 0

    git(bare_repo, "update-ref", "refs/heads/main", "refs/heads/hub/cloudbank/newhub/r1")
    assert poll_pull_requests.delay().get() == 1

    deployment.refresh_from_db()
    hub.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED
    assert hub.state == HubState.ACTIVE


def test_it_proposes_the_removal_of_a_hub(bare_repo: Path, lead: User, reviewer: User) -> None:
    from hubs.states import HubState as HS
    from provisioning.lifecycle import queue_deployment

    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    cluster = make_cluster(target)
    hub, deployment = make_hub(cluster, "newhub", requester=lead, approver=reviewer)
    assert deployment is not None
    run_deployment.delay(deployment.pk)
    hub.refresh_from_db()
    type(hub).objects.filter(pk=hub.pk).update(state=HS.DECOMMISSIONING)
    removal = queue_deployment(
        hub, hub.revisions.get(number=1), by=reviewer, action=Deployment.Action.DECOMMISSION
    )

    assert run_deployment.delay(removal.pk).get() == "succeeded"

    removal.refresh_from_db()
    hub.refresh_from_db()
    assert hub.state == HS.DECOMMISSIONED
    cluster_yaml = git(bare_repo, "show", f"main:{CLUSTER_YAML}")
    assert "name: newhub" not in cluster_yaml
    assert "name: bcc" in cluster_yaml
    tree = git(bare_repo, "ls-tree", "--name-only", "main", f"config/clusters/{CLOUDBANK}/")
    assert "newhub.values.yaml" not in tree
    message = git(bare_repo, "log", "-1", "--format=%s", "main")
    assert message == "Remove hub newhub from cloudbank"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("policy", ["direct", "pull_request"])
def test_it_lets_two_workers_change_one_repository_at_once(
    tmp_path: Path, clones: Path, policy: str
) -> None:
    from tests.conftest import make_user

    bare = seed_bare_repo(tmp_path)
    lead, reviewer = make_user("alice"), make_user("charlie", is_staff=True)
    cluster = make_cluster(make_target(bare, merge_policy=policy))
    deployments = []
    for name in ("east", "west"):
        # Rows only: queue_deployment would run them at once (eager Celery, autocommit).
        hub, _ = make_hub(cluster, name, requester=lead, approver=reviewer, queue=False)
        deployments.append(
            Deployment.objects.create(
                hub=hub, revision=hub.revisions.get(), backend="gitops", requested_by=reviewer
            )
        )
    results: dict[str, object] = {}
    errors: list[BaseException] = []

    def work(deployment: Deployment) -> None:
        try:
            results[deployment.hub.name] = run_deployment.apply(args=(deployment.pk,)).result
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(d,)) for d in deployments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    expected = "succeeded" if policy == "direct" else "awaiting_merge"
    assert results == {"east": expected, "west": expected}
    if policy == "direct":
        cluster_yaml = git(bare, "show", f"main:{CLUSTER_YAML}")
        assert "name: east" in cluster_yaml and "name: west" in cluster_yaml
        assert len(git(bare, "rev-list", "main").split()) == 3  # the seed + one each
    else:
        assert sorted(remote_branches(bare)) == ["hub/cloudbank/east/r1", "hub/cloudbank/west/r1"]
        for name in ("east", "west"):
            assert len(branch_commits(bare, f"hub/cloudbank/{name}/r1")) == 1


def test_it_makes_the_demo_repository_once(
    tmp_path: Path, clones: Path, catalog: None, settings: object, lead: User, reviewer: User
) -> None:
    import os

    from django.core.management import call_command

    from hubs.models import Cluster

    settings.PORTAL_DEMO_REPO = tmp_path / "demo.git"  # type: ignore[attr-defined]
    call_command("demo_repo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    head = git(tmp_path / "demo.git", "rev-parse", "main")
    call_command("demo_repo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    bare = tmp_path / "demo.git"
    assert git(bare, "rev-parse", "main") == head  # nothing new the second time
    assert DeployTarget.objects.filter(name="demo").count() == 1
    target = DeployTarget.objects.get(name="demo")
    assert (target.forge, target.merge_policy) == ("none", "direct")
    gitops = Cluster.objects.filter(deploy_mode="gitops")
    assert gitops.exists() and all(c.deploy_target_id == target.pk for c in gitops)
    files = git(bare, "ls-tree", "-r", "--name-only", "main").split()
    for cluster in gitops:
        assert f"config/clusters/{cluster.slug}/cluster.yaml" in files
        assert f"config/clusters/{cluster.slug}/common.values.yaml" in files
    # Each cluster.yaml is valid for 2i2c's deployer.
    import jsonschema
    import yaml

    schema = yaml.safe_load(
        (Path(settings.PORTAL_UPSTREAM_DIR) / "2i2c" / "cluster.schema.yaml").read_text()  # type: ignore[attr-defined]
    )
    for cluster in gitops:
        data = yaml.safe_load(
            git(bare, "show", f"main:config/clusters/{cluster.slug}/cluster.yaml")
        )
        jsonschema.validate(data, schema)
        assert data["name"] == cluster.slug

    # Approving into it makes a real commit.
    demo_cluster = gitops.get(slug="gcp-us-central1")
    _, deployment = make_hub(
        demo_cluster,
        "bcc",
        requester=lead,
        approver=reviewer,
        rendered=rendered_for("bcc", "gcp-us-central1"),
    )
    assert deployment is not None
    assert run_deployment.delay(deployment.pk).get() == "succeeded"
    deployment.refresh_from_db()
    assert git(bare, "rev-parse", "main") == deployment.commit_sha


def test_it_packs_a_clone_from_beat_not_during_deployments(
    bare_repo: Path, lead: User, reviewer: User
) -> None:
    from provisioning.deploy.backends.gitops import maintain

    target = make_target(bare_repo, merge_policy=DeployTarget.MergePolicy.DIRECT)
    cluster = make_cluster(target)
    for name in ("first", "second", "third"):
        _, deployment = make_hub(cluster, name, requester=lead, approver=reviewer)
        assert deployment is not None
        assert run_deployment.delay(deployment.pk).get() == "succeeded"
    clone = clone_path(target)
    assert git(clone, "config", "gc.auto") == "0"
    packs_before = git(clone, "count-objects", "-v")

    assert not maintain(target)  # below the limits: nothing to do

    assert maintain(target, loose_limit=1)

    counts = dict(line.split(": ") for line in git(clone, "count-objects", "-v").splitlines())
    assert counts["count"] == "0" and counts["packs"] == "1", packs_before


@pytest.mark.parametrize(
    "display_name",
    [
        "Hub-Portal-Revision: cloudbank/victim/r1",
        "Evil\n\nHub-Portal-Revision: cloudbank/victim/r1",
        "Evil\n\nHub-Portal-Revision: cloudbank/victim/r1\n\n"
        "Hub-Portal-Revision: cloudbank/victim/r1",
    ],
)
def test_it_is_not_fooled_by_a_forged_revision_marker(
    bare_repo: Path, lead: User, reviewer: User, display_name: str
) -> None:
    """A hub named like another hub's marker, once merged, does not finish that hub."""
    from hubs.models import Hub

    cluster = make_cluster(make_target(bare_repo))
    _, waiting = make_hub(cluster, "victim", requester=lead, approver=reviewer)
    evil, _ = make_hub(cluster, "evil", requester=lead, approver=reviewer, queue=False)
    Hub.objects.filter(pk=evil.pk).update(display_name=display_name)
    from provisioning.lifecycle import queue_deployment

    forged = queue_deployment(evil, evil.revisions.get(number=1), by=reviewer)
    assert waiting is not None
    run_deployment.delay(waiting.pk)
    run_deployment.delay(forged.pk)

    # Only the evil hub's branch is merged (push-only: by hand).
    git(bare_repo, "update-ref", "refs/heads/main", "refs/heads/hub/cloudbank/evil/r1")
    message = git(bare_repo, "log", "-1", "--format=%B", "main")
    assert poll_pull_requests.delay().get() == 1

    waiting.refresh_from_db()
    forged.refresh_from_db()
    assert forged.state == DeploymentState.SUCCEEDED
    assert waiting.state == DeploymentState.AWAITING_MERGE
    # The display name is one line in the body; the last paragraph is the portal's own trailer.
    assert message.split("\n\n")[-1].strip() == "Hub-Portal-Revision: cloudbank/evil/r1"
    assert git(bare_repo, "log", "-1", "--format=%(trailers:valueonly)", "main").strip() == (
        "cloudbank/evil/r1"
    )
