"""A thin wrapper over the `git` command line for the GitOps backend.

Everything runs `git` as a subprocess with a clean environment: no prompts
(a missing credential fails at once instead of hanging a worker), no user or
system configuration (a stray `commit.gpgsign` must not break deployments),
and the C locale so the messages we classify are the English ones.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import subprocess  # git and helm, with argument lists, no shell  # nosec B404
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from provisioning.deploy.errors import DeployError

# Messages from git that mean "try again later": the network or the remote
# was briefly unavailable. Anything matching PERMANENT needs a person.
TRANSIENT = re.compile(
    r"Could not resolve host|Connection (timed out|refused|reset)|Operation timed out|"
    r"early EOF|remote end hung up|unable to access|RPC failed|temporarily unavailable|"
    r"index\.lock|cannot lock ref|Unable to create .*\.lock|HTTP 5\d\d|returned error: 5\d\d",
    re.IGNORECASE,
)
PERMANENT = re.compile(
    r"Authentication failed|Permission denied|could not read Username|"
    r"Repository not found|does not appear to be a git repository|"
    r"returned error: 40[134]|Invalid username or password|HTTP 40[134]",
    re.IGNORECASE,
)


class GitError(Exception):
    """A git command failed."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str) -> None:
        self.args_ = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"git {' '.join(args[:2])} failed ({returncode}): {tail(stderr)}")

    def deploy_error(self, what: str) -> DeployError:
        """Classify the failure: network trouble is transient, refusals are permanent."""
        text = self.stderr + self.stdout
        permanent = bool(PERMANENT.search(text))
        return DeployError(f"{what}: {reason(text)}", permanent=permanent, detail=tail(text))


def reason(text: str) -> str:
    """git's own one-line reason: its first "fatal:"/"error:" line, else the last line."""
    for line in text.splitlines():
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                return line.removeprefix(prefix).strip()
    return tail(text, 1) or "git failed"


def tail(text: str, lines: int = 20) -> str:
    """The last `lines` non-empty lines of `text` (git puts the reason last)."""
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def base_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "TMPDIR", "SSH_AUTH_SOCK", "SSL_CERT_FILE", "SSL_CERT_DIR"}
    }
    env.update(
        LC_ALL="C",
        LANG="C",
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        # ssh must fail rather than ask about host keys or passphrases.
        GIT_SSH_COMMAND="ssh -o BatchMode=yes -o ConnectTimeout=20",
    )
    return env


@dataclass
class Git:
    """Run git in one directory, with extra configuration that never touches disk."""

    cwd: Path
    # Passed as GIT_CONFIG_KEY_n/VALUE_n: credentials stay out of the process
    # list and out of the clone's .git/config.
    config: Mapping[str, str] | None = None
    identity: Mapping[str, str] | None = None

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = base_env()
        items = list((self.config or {}).items())
        env["GIT_CONFIG_COUNT"] = str(len(items))
        for number, (key, value) in enumerate(items):
            env[f"GIT_CONFIG_KEY_{number}"] = key
            env[f"GIT_CONFIG_VALUE_{number}"] = value
        env.update(self.identity or {})
        env.update(extra or {})
        return env

    def run(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = ["git", *args]
        try:
            result = subprocess.run(  # an argument list, no shell  # nosec B603
                command,
                cwd=self.cwd,
                env=self.env(env),
                input=input,
                capture_output=True,
                text=True,
                encoding="utf-8",
                timeout=timeout or settings.PORTAL_GIT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError(
                f"git {args[0]} took longer than {exc.timeout:.0f} s", permanent=False
            ) from exc
        if check and result.returncode != 0:
            raise GitError(list(args), result.returncode, result.stdout, result.stderr)
        return result

    def out(
        self, *args: str, env: Mapping[str, str] | None = None, input: str | None = None
    ) -> str:
        return self.run(*args, env=env, input=input).stdout.strip()

    def ok(self, *args: str) -> bool:
        return self.run(*args, check=False).returncode == 0


def auth_config(repo_url: str, username: str, password: str) -> dict[str, str]:
    """HTTP basic credentials for an https remote, as a one-off config header."""
    if not password or not repo_url.startswith("https://"):
        return {}
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"http.extraHeader": f"Authorization: Basic {token}"}


@contextlib.contextmanager
def locked(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive flock on `path` (two workers on one clone take turns).

    The kernel drops the lock when its holder dies, so a killed worker never
    leaves a clone locked. Waiting longer than `timeout` is a transient error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        # Poll often: the holder usually finishes within ~100 ms, and every
        # millisecond the next worker oversleeps is a millisecond the clone idles.
        delay = 0.002
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DeployError(
                        f"The clone {path.parent.name} stayed locked by another worker for "
                        f"{timeout:.0f} s.",
                        permanent=False,
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.01)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def push_rejection(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """Read `git push --porcelain`: ("ok" | "stale" | "refused" | "error", reason).

    "stale": the remote moved on (non-fast-forward, lease broken) — fetch and
    redo. "refused": the remote declined (a pre-receive hook, branch
    protection) — a person must act.
    """
    if result.returncode == 0:
        return "ok", ""
    text = result.stdout + "\n" + result.stderr
    for line in result.stdout.splitlines():
        if not line.startswith("!"):
            continue
        reason = line.split("\t")[-1]
        if "remote rejected" in reason:
            return "refused", reason
        if any(
            word in reason for word in ("non-fast-forward", "fetch first", "stale info", "rejected")
        ):
            return "stale", reason
    if "remote rejected" in text or "hook declined" in text or "protected branch" in text:
        return "refused", tail(text, 1)
    return "error", tail(text, 1)


def remote_messages(stderr: str) -> str:
    """What the remote said (lines git prefixes with "remote:"), e.g. a hook's reason."""
    lines = [
        line.removeprefix("remote:").strip()
        for line in stderr.splitlines()
        if line.startswith("remote:")
    ]
    return "\n".join(line for line in lines if line)
