"""GitOps: write a hub's files into the deploy repository and propose (or commit) them.

One persistent clone per deploy target lives under PORTAL_CLONE_DIR; each
change fetches it (never re-clones) while holding an flock on it, so workers
changing hubs of the same repository take turns and none sees another's
half-written tree. Every change is rebuilt on the base branch as it is now:

- merge policy "pull_request": one commit on `hub/<cluster>/<hub>/r<n>`,
  force-pushed with a lease when the base moved, then a pull request opened
  or updated through the forge's API (none for push-only targets);
- merge policy "direct": one commit pushed to the base branch; when another
  push got there first, fetch and re-apply the files on the new base.

Re-running after a crash at any step does the work once: a commit whose
tree already matches is reused, the commit dates come from the revision (so
the same change on the same base is the same commit), a change already in
the base branch is recognised, and the forge is asked for the branch's open
pull request before one is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string

from portal.text import one_line
from provisioning.deploy.backends.base import Backend, DeployError, LogFn, Outcome, rendered_files
from provisioning.deploy.forges import Forge, get_forge
from provisioning.deploy.git import (
    Git,
    GitError,
    auth_config,
    locked,
    push_rejection,
    remote_messages,
)
from provisioning.layout import cluster_file, paths
from provisioning.models import PendingCredentials
from provisioning.render.deployer import shared_files
from provisioning.render.renderer import Rendered, cluster_values
from provisioning.render.validate import ConfigError, UpstreamMissing, validate_in_checkout

if TYPE_CHECKING:
    from hubs.models import Hub
    from provisioning.models import Deployment, DeployTarget

# How often a direct commit is re-applied on a base branch that moved under it.
PUSH_TRIES = 5
MAX_DIFF = 200_000


class MissingBase(Exception):
    """The clone has no such base revision (yet): fetch it."""


def clone_path(target: DeployTarget) -> Path:
    return Path(settings.PORTAL_CLONE_DIR) / f"target-{target.pk}"


def lock_path(target: DeployTarget) -> Path:
    return Path(settings.PORTAL_CLONE_DIR) / f"target-{target.pk}.lock"


def branch_name(cluster: str, hub: str, revision: int, *, remove: bool = False) -> str:
    return f"hub/{cluster}/{hub}/r{revision}" + ("-remove" if remove else "")


def trailer(cluster: str, hub: str, revision: int, *, remove: bool = False) -> str:
    """The commit message line that names the change (how a re-run recognises it)."""
    return f"Hub-Portal-Revision: {cluster}/{hub}/r{revision}" + (" remove" if remove else "")


def _ident(text: str) -> str:
    """A name or address as a commit header may hold it."""
    return "".join(c for c in text if c not in "<>\n").strip() or "unknown"


def _data(text: str) -> list[str]:
    """A fast-import `data` command for `text` (its length counted in bytes)."""
    return [f"data {len(text.encode())}", text]


def _who(user: Any) -> str:
    if user is None:
        return "the portal"
    name = one_line(user.get_username(), 150)
    return f"{name} <{one_line(user.email, 254)}>" if user.email else name


@dataclass
class Change:
    """One apply or removal of one hub revision in one deploy repository."""

    deployment: Deployment
    log: LogFn
    remove: bool = False

    # --- what to change ---------------------------------------------------
    @cached_property
    def hub(self) -> Hub:
        return self.deployment.hub

    @cached_property
    def target(self) -> DeployTarget:
        target = self.hub.cluster.deploy_target
        if target is None:
            raise DeployError(
                f"Cluster {self.cluster!r} deploys through GitOps but has no deploy target; "
                "an operator must choose one in the admin.",
                permanent=True,
            )
        return target

    @property
    def cluster(self) -> str:
        return self.hub.cluster.slug

    @property
    def number(self) -> int:
        return self.deployment.revision.number

    @property
    def direct(self) -> bool:
        return self.target.merge_policy == "direct"

    @cached_property
    def branch(self) -> str:
        if self.direct:
            return self.target.base_branch
        return branch_name(self.cluster, self.hub.name, self.number, remove=self.remove)

    @cached_property
    def trailer(self) -> str:
        return trailer(self.cluster, self.hub.name, self.number, remove=self.remove)

    @cached_property
    def rendered(self) -> Rendered:
        rendered = rendered_files(self.deployment.revision, "2i2c", "a GitOps cluster")
        for path in rendered.files:
            try:
                paths.check_inside(path, self.cluster)
            except paths.LayoutError:
                raise DeployError(
                    f"Revision r{self.number} has a file outside "
                    f"{paths.cluster_folder(self.cluster)}/: {path!r}.",
                    permanent=True,
                ) from None
        return rendered

    @cached_property
    def forge(self) -> Forge | None:
        return None if self.direct else get_forge(self.target)

    # --- the repository ---------------------------------------------------
    @cached_property
    def git(self) -> Git:
        target = self.target
        username, password = "", ""
        forge = get_forge(target)
        if forge is not None and target.repo_url.startswith("https://"):
            username, password = forge.git_credentials()
        author = {
            "GIT_AUTHOR_NAME": target.commit_author_name,
            "GIT_AUTHOR_EMAIL": target.commit_author_email,
            "GIT_COMMITTER_NAME": target.commit_author_name,
            "GIT_COMMITTER_EMAIL": target.commit_author_email,
        }
        return Git(
            clone_path(target),
            config=auth_config(target.repo_url, username, password),
            identity=author,
        )

    def ensure_clone(self) -> None:
        """Create the persistent clone on first use; afterwards only point it at the URL."""
        path = clone_path(self.target)
        git = self.git
        # The URL the clone was last pointed at, kept beside it: comparing it
        # here costs nothing, asking git would cost a process per change.
        url_file = path / ".git" / "portal-remote-url"
        if not (path / ".git").exists():
            path.mkdir(parents=True, exist_ok=True)
            git.run("init", "-q", "-b", "portal-work")
            git.run("config", "gc.auto", "0")  # packing happens in `maintain`, not mid-deploy
            git.run("remote", "add", "origin", self.target.repo_url)
            self.log(f"Created a clone of {self.target.name} at {path.name}.", step="clone")
        elif not url_file.exists() or url_file.read_text() != self.target.repo_url:
            git.run("remote", "set-url", "origin", self.target.repo_url)
        else:
            return
        url_file.write_text(self.target.repo_url)

    def remote_heads(self) -> dict[str, str]:
        """{ref: sha} of the base branch and this change's branch on the remote."""
        refs = [f"refs/heads/{self.target.base_branch}"]
        if not self.direct:
            refs.append(f"refs/heads/{self.branch}")
        try:
            out = self.git.out("ls-remote", "origin", *refs)
        except GitError as exc:
            raise exc.deploy_error(f"Reading {self.target.name}") from exc
        heads = {}
        for line in out.splitlines():
            sha, ref = line.split("\t", 1)
            heads[ref.removeprefix("refs/heads/")] = sha
        if self.target.base_branch not in heads:
            raise DeployError(
                f"The repository {self.target.name} has no branch {self.target.base_branch!r}; "
                "check the deploy target's base branch.",
                permanent=True,
            )
        return heads

    def sync(self, heads: dict[str, str]) -> None:
        """Bring the remote-tracking refs to `heads`, fetching only what is missing."""
        missing = []
        for name, sha in heads.items():
            if self.git.ok("cat-file", "-e", f"{sha}^{{commit}}"):
                self.git.run("update-ref", f"refs/remotes/origin/{name}", sha)
            else:
                missing.append(f"+refs/heads/{name}:refs/remotes/origin/{name}")
        if missing:
            try:
                self.git.run("fetch", "-q", "--no-tags", "origin", *missing)
            except GitError as exc:
                raise exc.deploy_error(f"Fetching {self.target.name}") from exc

    def read(self, rev: str, paths: list[str]) -> tuple[str, dict[str, str | None]]:
        """(`rev`'s commit sha, {path: its text at `rev`, None if absent}), in one git call."""
        commands = [f"info {rev}", *(f"contents {rev}:{path}" for path in paths)]
        out = self.git.run("cat-file", "--batch-command", input="\n".join(commands) + "\n")
        raw = out.stdout.encode("utf-8", "surrogateescape")
        position, sha = 0, ""
        texts: dict[str, str | None] = {}
        for number, path in enumerate(["", *paths]):
            end = raw.index(b"\n", position)
            header = raw[position:end].decode()
            position = end + 1
            if header.endswith(" missing"):
                if number == 0:
                    raise MissingBase(rev)
                texts[path] = None
                continue
            if number == 0:
                sha = header.split(" ", 1)[0]
                continue
            size = int(header.rsplit(" ", 1)[1])
            texts[path] = raw[position : position + size].decode("utf-8", "surrogateescape")
            position += size + 1  # the content, then a newline
        return sha, texts

    def changed_files(self, text: str | None) -> dict[str, str | None]:
        """{repository path: new text, or None to delete} for this change.

        `text` is cluster.yaml as the base has it (None if the base has none).
        """
        cluster_path = paths.cluster_file_path(self.cluster)
        if text is None:
            raise DeployError(
                f"{self.target.name} has no {cluster_path}: the cluster has no folder in this "
                "repository yet. Add it (or import the repository), then retry.",
                permanent=True,
            )
        try:
            if self.remove:
                changed, entry = cluster_file.remove_entry_text(text, self.hub.name, cluster_path)
                gone = set(paths.hub_own_files(self.cluster, self.hub.name, entry))
                gone.update(self.rendered_paths())
                files: dict[str, str | None] = dict.fromkeys(sorted(gone))
            else:
                entry_ = self.rendered.cluster_entry or {}
                changed = cluster_file.upsert_entry_text(text, entry_, cluster_path)
                files = dict(self.rendered.files)
        except paths.LayoutError as exc:
            raise DeployError(f"Cannot change {self.target.name}: {exc}.", permanent=True) from exc
        files[cluster_path] = changed
        return files

    def build(self, base: str) -> str | None:
        """Commit this change on top of `base`; its sha, or None if `base` already has it.

        Two git processes, whatever the repository's size: one reads what the
        change touches, one (fast-import) writes the blobs, trees and commit.
        No work tree and no shared index are involved, so a crash leaves
        nothing half-written behind.
        """
        cluster_path = paths.cluster_file_path(self.cluster)
        shared = [] if self.remove else self.shared_paths()
        base_sha, current = self.read(base, [cluster_path, *self.rendered_paths(), *shared])
        if not self.remove:
            self.check_against({path: current[path] for path in shared})
        files = self.changed_files(current[cluster_path])
        changed = {
            path: text
            for path, text in files.items()
            if path not in current or current[path] != text
        }
        if not changed:
            return None
        target = self.target
        # Dates from the revision: the same change on the same base is the
        # same commit, so a re-run after a crash pushes nothing new.
        when = f"{int(self.deployment.revision.created_at.timestamp())} +0000"
        who = f"{_ident(target.commit_author_name)} <{_ident(target.commit_author_email)}> {when}"
        stream = [
            "feature done",
            "commit refs/portal/build",
            "mark :1",
            f"author {who}",
            f"committer {who}",
            *_data(self.message()),
            f"from {base_sha}",
        ]
        for path, text in changed.items():
            if text is None:
                stream.append(f"D {path}")
            else:
                stream += [f"M 100644 inline {path}", *_data(text)]
        stream += ["get-mark :1", "done"]
        out = self.git.out("fast-import", "--quiet", "--force", input="\n".join(stream) + "\n")
        return out.split()[-1]

    def shared_paths(self) -> list[str]:
        """The shared values files the hub's entry lists (common.values.yaml, say)."""
        entry = self.rendered.cluster_entry or {}
        return [paths.in_cluster(self.cluster, f) for f in shared_files([entry])]

    def check_against(self, shared: dict[str, str | None]) -> None:
        """Refuse, before anything is pushed, values the chart refuses on this base."""
        try:
            validate_in_checkout(self.rendered, cluster_values(self.hub.cluster), shared)
        except (ConfigError, UpstreamMissing) as exc:
            raise DeployError(
                f"The chart refuses r{self.number}'s values with the files "
                f"{self.target.base_branch} has now; nothing was pushed.",
                permanent=True,
                detail="\n".join(exc.lines()) if isinstance(exc, ConfigError) else str(exc),
            ) from exc

    def rendered_paths(self) -> list[str]:
        files = self.deployment.revision.files or {}
        names = list(files.get("files", {}))
        return names or [paths.hub_values_path(self.cluster, self.hub.name)]

    def push(self, sha: str, ref: str, lease: str | None = None) -> str:
        args = ["push", "--porcelain", "--no-verify", "origin"]
        if lease is not None:
            args.insert(2, f"--force-with-lease=refs/heads/{ref}:{lease}")
        result = self.git.run(*args, f"{sha}:refs/heads/{ref}", check=False)
        outcome, reason = push_rejection(result)
        if outcome == "refused":
            said = remote_messages(result.stderr)
            raise DeployError(
                f"The repository refused the push to {ref} ({reason.strip('()')}). "
                "It is probably protected: allow the portal to push there, or use the "
                "pull request merge policy.",
                permanent=True,
                detail=said,
            )
        if outcome == "error":
            raise GitError(
                list(args), result.returncode, result.stdout, result.stderr
            ).deploy_error(f"Pushing to {self.target.name}")
        # A successful push also moves the clone's refs/remotes/origin/<ref>.
        return outcome

    def people(self) -> tuple[str, str, str]:
        """(subject, who asked, who approved) for the commit and the pull request."""
        hub, revision = self.hub, self.deployment.revision
        request = hub.request
        if self.remove:
            subject = f"Remove hub {hub.name} from {self.cluster}"
            asked, approved = revision.author, self.deployment.requested_by
        elif self.number == 1 and request is not None:
            subject = f"Add hub {hub.name} to {self.cluster} (r{self.number})"
            asked, approved = request.requester, request.decided_by
        else:
            subject = f"Update hub {hub.name} on {self.cluster} (r{self.number})"
            asked, approved = revision.author, self.deployment.requested_by
        approver = _who(approved) if approved else "automatic approval (the tier needs no review)"
        return subject, _who(asked), approver

    def message(self) -> str:
        """The commit message: user text on one line in the body, the portal's trailer last.

        Display names and reasons are people's text: each is one line in the
        middle paragraph, so none can end the message or add a trailer.
        """
        hub, revision = self.hub, self.deployment.revision
        subject, asked, approver = self.people()
        about = one_line(f"{hub.display_name or hub.name}: {revision.reason}", 300)
        return (
            f"{one_line(subject)}\n\n"
            f"{about}.\n"
            f"{one_line(f'Requested by {asked}; approved by {approver}.', 300)}\n"
            f"{settings.PORTAL_BASE_URL}{hub.get_absolute_url()}\n\n"
            f"{self.trailer}\n"
        )

    def find_in_base(self) -> str:
        """The commit on the base branch that already carries this change, if any.

        A commit carries it when its own final trailer is this change's
        marker, as git parses trailers; the same words anywhere else in a
        message (someone's display name, say) do not count.
        """
        key, _, value = self.trailer.partition(": ")
        out = self.git.out(
            "log",
            "-F",
            f"--grep={self.trailer}",
            f"--format=%H%x00%(trailers:key={key},valueonly,separator=%x1f)%x1e",
            f"refs/remotes/origin/{self.target.base_branch}",
        )
        for record in out.split("\x1e"):
            sha, _, values = record.strip().partition("\x00")
            if sha and values and values.split("\x1f")[-1].strip() == value:
                return sha
        return ""

    # --- the two policies ---------------------------------------------------
    def run(self) -> Outcome:
        if not self.remove:
            _ = self.rendered  # fail early, before taking the lock, on bad files
        with locked(lock_path(self.target), settings.PORTAL_GIT_LOCK_TIMEOUT):
            try:
                self.ensure_clone()
                sha = self.to_base() if self.direct else self.to_branch()
            except GitError as exc:
                raise exc.deploy_error(f"Working in the clone of {self.target.name}") from exc
        if self.direct or sha is None:
            return Outcome(done=True, fields={"branch": self.branch, "commit_sha": sha or ""})
        fields: dict[str, object] = {"branch": self.branch, "commit_sha": sha}
        if self.forge is None:
            self.log(
                f"Pushed {self.branch}; {self.target.name} has no forge, so the branch waits "
                f"to be merged into {self.target.base_branch} by hand.",
                step="push",
            )
            return Outcome(done=False, fields=fields)
        pull = self.forge.open_or_update(
            branch=self.branch, base=self.target.base_branch, title=self.title(), body=self.body()
        )
        self.log(f"Pull request #{pull.number}: {pull.url}", step="pull_request")
        fields.update(pr_number=pull.number, pr_url=pull.url)
        return Outcome(done=False, fields=fields)

    def to_branch(self) -> str | None:
        """Commit on the revision's branch; None when the base already has the change."""
        heads = self.remote_heads()
        self.sync(heads)
        sha = self.build(f"refs/remotes/origin/{self.target.base_branch}")
        if sha is None:
            self.log(
                f"{self.target.base_branch} already has this change; nothing to propose.",
                step="commit",
            )
            return None
        remote = heads.get(self.branch)
        if remote and self.git.out("rev-parse", f"{remote}^{{tree}}") == self.git.out(
            "rev-parse", f"{sha}^{{tree}}"
        ):
            self.log(f"{self.branch} already has this change at {remote[:12]}.", step="commit")
            return remote
        self.log(f"Committed {sha[:12]} for {self.branch}.", step="commit")
        if self.push(sha, self.branch, lease=remote or "") == "stale":
            raise DeployError(
                f"{self.branch} changed on the remote while we pushed; will try again.",
                permanent=False,
            )
        self.log(f"Pushed {self.branch} to {self.target.name}.", step="push")
        return sha

    def to_base(self) -> str:
        """Commit straight onto the base branch, re-applying when it moved meanwhile.

        Optimistic: the clone's own idea of the base branch is tried first
        (it is right whenever the portal made the last push), and the remote
        is asked only when the push is turned down as stale.
        """
        base = self.target.base_branch
        tracking = f"refs/remotes/origin/{base}"
        for attempt in range(1, PUSH_TRIES + 1):
            try:
                sha = self.build(tracking)
            except MissingBase:
                # A new clone: fetch once; afterwards pushes keep the tracking ref current.
                self.sync(self.remote_heads())
                sha = self.build(tracking)
            if sha is None:
                found = self.find_in_base()
                self.log(
                    f"{base} already has this change" + (f" ({found[:12]})." if found else "."),
                    step="commit",
                )
                return found or self.git.out("rev-parse", tracking)
            if self.push(sha, base) == "ok":
                self.log(f"Committed {sha[:12]} to {base} and pushed it.", step="push")
                return sha
            self.log(
                f"{base} had moved on (try {attempt}); fetched it to re-apply the change.",
                step="push",
            )
            self.sync(self.remote_heads())
        raise DeployError(
            f"{base} kept moving during {PUSH_TRIES} tries; will try again.", permanent=False
        )

    def title(self) -> str:
        return self.people()[0]

    def body(self) -> str:
        _, asked, approver = self.people()
        base = settings.PORTAL_BASE_URL
        return render_to_string(
            "provisioning/pull_request.md",
            {
                "hub": self.hub,
                "revision": self.deployment.revision,
                "remove": self.remove,
                "requester": asked,
                "approver": approver,
                "hub_url": f"{base}{self.hub.get_absolute_url()}",
                "deployment_url": f"{base}{self.deployment.get_absolute_url()}",
                "files": sorted(self.rendered_paths()),
                "cluster_file": paths.cluster_file_path(self.cluster),
                "trailer": self.trailer,
                # Secrets the portal cannot write (provisioning/credentials.py).
                "credentials": []
                if self.remove
                else list(PendingCredentials.objects.filter(hub=self.hub, done_at__isnull=True)),
            },
        ).strip()


class GitOpsBackend(Backend):
    name = "gitops"

    def apply(self, deployment: Deployment, log: LogFn) -> Outcome:
        return Change(deployment, log).run()

    def decommission(self, deployment: Deployment, log: LogFn) -> Outcome:
        return Change(deployment, log, remove=True).run()

    def merged_files(self, deployment: Deployment) -> list[str] | None:
        """The paths the deployment's pull request changed (None: no pull request to ask)."""
        change = Change(deployment, lambda *a, **k: None)
        if change.forge is None or not deployment.pr_number:
            return None
        return change.forge.changed_files(deployment.pr_number)

    def close_pull_request(self, deployment: Deployment, comment: str) -> None:
        """Close the deployment's open pull request, saying why (a newer one replaces it)."""
        change = Change(deployment, lambda *a, **k: None)
        if change.forge is not None and deployment.pr_number:
            change.forge.close(deployment.pr_number, comment=comment)

    def poll(self, deployment: Deployment, log: LogFn) -> str:
        """Where a deployment that waits for a merge stands: "open", "merged" or "closed"."""
        change = Change(deployment, log, remove=deployment.action == "decommission")
        if change.forge is not None and deployment.pr_number:
            return change.forge.get(deployment.pr_number).state
        # Push-only: merged once the base branch carries the commit or its trailer.
        with locked(lock_path(change.target), settings.PORTAL_GIT_LOCK_TIMEOUT):
            try:
                change.ensure_clone()
                heads = change.remote_heads()
                change.sync({change.target.base_branch: heads[change.target.base_branch]})
                base = f"refs/remotes/origin/{change.target.base_branch}"
                if deployment.commit_sha and change.git.ok(
                    "merge-base", "--is-ancestor", deployment.commit_sha, base
                ):
                    return "merged"
                return "merged" if change.find_in_base() else "open"
            except GitError as exc:
                raise exc.deploy_error(f"Reading {change.target.name}") from exc


def maintain(target: DeployTarget, loose_limit: int = 5000, pack_limit: int = 30) -> bool:
    """Pack a clone's objects once enough have gathered; True if it did.

    Clones are made with gc.auto=0 so that no deployment pays for a repack
    at a random moment; this runs from beat instead, under the clone's lock.
    """
    path = clone_path(target)
    if not (path / ".git").exists():
        return False
    git = Git(path)
    with locked(lock_path(target), settings.PORTAL_GIT_LOCK_TIMEOUT):
        counts = dict(line.split(": ", 1) for line in git.out("count-objects", "-v").splitlines())
        if int(counts["count"]) < loose_limit and int(counts["packs"]) < pack_limit:
            return False
        git.run("gc", "--quiet", timeout=settings.PORTAL_GIT_TIMEOUT * 10)
        return True


def show_commit(target: DeployTarget, sha: str) -> str:
    """`git show` of a commit from the target's clone, for the deployment page ("" if absent)."""
    path = clone_path(target)
    if not sha or not (path / ".git").exists():
        return ""
    result = Git(path).run("show", "--stat", "--patch", "--format=fuller", sha, check=False)
    if result.returncode != 0:
        return ""
    text = result.stdout
    if len(text) > MAX_DIFF:
        text = text[:MAX_DIFF] + "\n… (truncated)\n"
    return text
