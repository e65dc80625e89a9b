"""One exception hierarchy. Messages say what failed, where, and what to try.

Exit codes are attached here but only the CLI turns them into a process status.
"""

from __future__ import annotations


class NetlabError(Exception):
    """Base of every error netlab raises on purpose."""

    exit_code = 3


class ScenarioError(NetlabError):
    """The scenario (or the command line) is wrong: nothing was created."""

    exit_code = 2


class UsageError(NetlabError):
    """A command-line option or argument is wrong."""

    exit_code = 2


class EnvironmentProblem(NetlabError):
    """The machine cannot run this: not root, a tool or a kernel feature missing, no daemon."""

    exit_code = 3


class KernelFeatureMissing(EnvironmentProblem):
    """A link kind or netfilter feature this scenario needs is not in the running kernel."""


class DeployError(EnvironmentProblem):
    """Creating or configuring a kernel object failed half-way (everything is torn down again)."""


class Timeout(EnvironmentProblem):
    """A bounded wait ran out; the message names what was awaited."""


class Interrupted(BaseException):
    """SIGTERM arrived; raised so that every `finally` runs, like KeyboardInterrupt for SIGINT."""
