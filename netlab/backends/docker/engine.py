"""Talking to Docker engines: one client per engine, a daemon that does not answer in time taken as hung
(teardown then leaves its objects to `netlab clean` instead of waiting again, object by object), and
removal of an object only when it carries the run's label."""

from __future__ import annotations

import os
from typing import Any

from netlab.backends import naming
from netlab.errors import EnvironmentProblem, Timeout, UsageError

#: how long one request to a Docker daemon may take before netlab calls it hung (--daemon-timeout,
#: NETLAB_DAEMON_TIMEOUT); image imports and container starts on a loaded machine stay well below it
API_TIMEOUT_S = 60.0


def daemon_timeout() -> float:
    raw = os.environ.get("NETLAB_DAEMON_TIMEOUT", "")
    try:
        value = float(raw) if raw else API_TIMEOUT_S
    except ValueError as e:
        raise UsageError(f"NETLAB_DAEMON_TIMEOUT={raw!r}: not a number of seconds") from e
    if not 0 < value <= 3600:
        raise UsageError(f"daemon timeout {value:g}: give 0 < seconds <= 3600")
    return value


class Engines:
    """The machine's engine (or the one at `base_url`) and remote engines by URL, connected on first use."""

    def __init__(self, base_url: str | None, daemon_timeout: float) -> None:
        self.base_url = base_url
        self.daemon_timeout = daemon_timeout
        self._client: Any = None
        self._engines: dict[str, Any] = {}
        #: set when a daemon did not answer in time
        self.hung: str | None = None

    def client(self) -> Any:
        if self._client is None:
            try:
                import docker
            except ImportError as e:
                raise EnvironmentProblem("the docker Python package is missing: pip install docker") from e
            try:
                c = (
                    docker.DockerClient(base_url=self.base_url, timeout=self.daemon_timeout)
                    if self.base_url
                    else docker.from_env(timeout=self.daemon_timeout)
                )
                c.ping()
            except Exception as e:
                where = self.base_url or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
                if caused_by(e, requests_timeout()):
                    self.hung = (
                        f"the Docker daemon on {where} accepts connections but did not answer within "
                        f"{self.daemon_timeout:g} s"
                    )
                    raise Timeout(f"{self.hung}; it may be hung (see its log; --daemon-timeout sets the limit)") from e
                raise EnvironmentProblem(
                    f"no Docker daemon answers on {where} ({type(e).__name__}); start it (dockerd, or "
                    "systemctl start docker) or use --backend netns"
                ) from e
            self._client = c
        return self._client

    def engine(self, url: str) -> Any:
        """A client for the engine at `url` (unix://, tcp://, ssh://user@host: the ssh client does the transport)."""
        if url not in self._engines:
            import docker

            try:
                c = docker.DockerClient(
                    base_url=url, timeout=self.daemon_timeout, use_ssh_client=url.startswith("ssh://")
                )
                c.ping()
            except Exception as e:
                if url.startswith("ssh://") and caused_by(e, (NameError, ImportError)):
                    # the SDK imports its ssh transport only with paramiko present
                    raise EnvironmentProblem(
                        f"{url}: ssh:// engines need the paramiko package: pip install 'netlab-cnm[ssh]'"
                    ) from e
                raise EnvironmentProblem(
                    f"no Docker engine answers at {url} ({type(e).__name__}: {e}); check the URL given to --node"
                ) from e
            self._engines[url] = c
        return self._engines[url]

    def did_not_answer(self, e: BaseException) -> Timeout:
        """A request ran out of time: the daemon is taken as hung from here on (see cleanup)."""
        req = getattr(e, "request", None)
        what = f"{req.method} {req.path_url}" if req is not None else "a request"
        where = self.base_url or os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        pool: Any = getattr(e.args[0] if e.args else None, "pool", None)  # urllib3's error names its pool
        if getattr(pool, "socket_path", None):  # a private daemon's socket, or the machine's
            where = f"unix://{pool.socket_path}"
        elif getattr(pool, "host", None) and getattr(pool, "port", None):
            where = f"tcp://{pool.host}:{pool.port}"
        self.hung = f"the Docker daemon on {where} did not answer {what} within {self.daemon_timeout:g} s"
        return Timeout(f"{self.hung}; it may be hung (see its log; --daemon-timeout sets the limit)")

    def remove(self, run: str, kind: str, name: str, engine: str | None = None) -> list[str]:
        import docker.errors

        collection = getattr(self.engine(engine) if engine else self.client(), kind)
        try:
            obj = collection.get(name)
        except docker.errors.NotFound:
            return []
        found = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}  # network / container
        if found.get(naming.LABEL_RUN) != run:
            return []  # same name, not ours: never touch it
        if kind == "containers":
            obj.remove(force=True, v=True)
        else:
            obj.remove()
        return [f"{kind[:-1]} {name}"]


def requests_timeout() -> tuple[type[BaseException], ...]:
    """The exception a docker SDK call raises when the daemon does not answer within the client's timeout."""
    try:
        from requests.exceptions import Timeout as RequestsTimeout
    except ImportError:  # no docker SDK, no requests: nothing can time out
        return ()
    return (RequestsTimeout,)


def api_errors() -> tuple[type[BaseException], ...]:
    """What a failing docker SDK call raises: the SDK's own errors and the HTTP layer's under it."""
    try:
        import docker.errors
        from requests.exceptions import RequestException
    except ImportError:
        return ()
    return (docker.errors.DockerException, RequestException)


def stream_errors() -> tuple[type[BaseException], ...]:
    """What the SDK raises when a streamed answer (an image build or pull, events) is not the JSON it expects:
    StreamParseError, which is a RuntimeError and not one of api_errors()."""
    try:
        import docker.errors
    except ImportError:
        return ()
    return (docker.errors.StreamParseError,)


def caused_by(e: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """Whether `e`, or an exception it was raised from, is one of `types` (the SDK wraps what failed under it:
    a daemon that does not answer its first request is a DockerException raised from a requests Timeout)."""
    seen: BaseException | None = e
    for _ in range(10):
        if seen is None:
            return False
        if types and isinstance(seen, types):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
