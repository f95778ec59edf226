"""A PostgreSQL cluster of one's own, in a folder, on loopback: for `make serve` on a machine
with no PostgreSQL server at hand (`make postgres`), and for the tests that need one.

    python -m dagster_project.local_postgres start DIR   # initdb DIR if new, then start it
    python -m dagster_project.local_postgres stop DIR

The server listens on ``DAGSTER_PG_HOST``:``DAGSTER_PG_PORT`` (127.0.0.1:5432 unless set) and
on no Unix socket; the user ``DAGSTER_PG_USER`` (default ``dagster``) owns the cluster and the
database ``DAGSTER_PG_DB`` (default ``dagster``), and signs in with ``DAGSTER_PG_PASSWORD``
(scram-sha-256). A running cluster is left as it is.

PostgreSQL's programs come from ``PG_BINDIR`` when set, else from PATH, else from Debian's
``/usr/lib/postgresql/<version>/bin`` (the ``postgresql`` package puts them there, off PATH).
PostgreSQL refuses to run as root: as root, the cluster belongs to the system user
``postgres`` (which Debian's package creates), and DIR is made over to that user.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# The system user that owns a cluster started by root (created by Debian's package).
SYSTEM_USER = "postgres"


@dataclass(frozen=True)
class Server:
    """Where a PostgreSQL server listens and how to sign in to its database."""
    host: str
    port: int
    user: str
    password: str
    db: str

    @classmethod
    def from_env(cls, env=os.environ) -> "Server":
        """The server the ``DAGSTER_PG_*`` variables name (the defaults of `make serve`)."""
        return cls(env.get("DAGSTER_PG_HOST", "127.0.0.1"),
                   int(env.get("DAGSTER_PG_PORT", "5432")),
                   env.get("DAGSTER_PG_USER", "dagster"), env.get("DAGSTER_PG_PASSWORD", ""),
                   env.get("DAGSTER_PG_DB", "dagster"))

    def env(self) -> dict[str, str]:
        """The ``DAGSTER_PG_*`` variables naming this server."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(self.port),
                "DAGSTER_PG_USER": self.user, "DAGSTER_PG_PASSWORD": self.password,
                "DAGSTER_PG_DB": self.db}

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.db}"


def bin_dir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``; None when PostgreSQL is not
    installed."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                    key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return debian[-1].parent if debian else None


def _owner() -> str | None:
    """The user the cluster runs as: None for the current user, ``postgres`` under root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise SystemExit(f"PostgreSQL refuses to run as root, and there is no system user "
                         f"{SYSTEM_USER!r} to run it as (Debian's postgresql package creates "
                         "one)") from None
    return SYSTEM_USER


def _as_owner() -> dict:
    """The arguments of ``subprocess.run`` that run a program as the cluster's owner."""
    owner = _owner()
    if owner is None:
        return {}
    return {"user": owner, "group": pwd.getpwnam(owner).pw_gid, "extra_groups": []}


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run one of PostgreSQL's programs as the cluster's owner; its output is returned and,
    on failure, shown."""
    result = subprocess.run(argv, capture_output=True, text=True, cwd="/", **_as_owner(),
                            **kwargs)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:2])} failed:\n{result.stdout}{result.stderr}")
    return result


def _programs() -> Path:
    found = bin_dir()
    if found is None:
        raise SystemExit("PostgreSQL is not installed (no initdb on PATH, in PG_BINDIR or in "
                         "/usr/lib/postgresql/*/bin): apt-get install postgresql, or point "
                         "DAGSTER_PG_* at an existing server")
    return found


def init(data: Path, server: Server) -> None:
    """A new cluster in the empty or missing folder ``data``, owned by ``server.user``, with
    its database; password sign-in from loopback only."""
    programs = _programs()
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o700)
    owner = _owner()
    if owner:
        shutil.chown(data, owner, owner)
    if not server.password:
        raise SystemExit("set DAGSTER_PG_PASSWORD: the cluster's user signs in with it")
    # The password goes to initdb in a file outside ``data``, which initdb wants empty.
    with tempfile.NamedTemporaryFile("w", delete=False) as secret:
        secret.write(server.password)
    if owner:
        shutil.chown(secret.name, owner, owner)
    try:
        _run([str(programs / "initdb"), "-D", str(data), "-U", server.user,
              "--pwfile", secret.name, "--auth-host=scram-sha-256", "--auth-local=reject",
              "-E", "UTF8", "--locale=C"])
    finally:
        os.unlink(secret.name)


def start(data: Path, server: Server, durable: bool = True) -> None:
    """Start the cluster in ``data`` (created first when new) listening on the server's
    address and port only; wait until it accepts connections; create the database. A cluster
    that need not survive a power cut (``durable=False``, the tests') skips fsync."""
    if not (data / "PG_VERSION").exists():
        init(data, server)
    if running(data):
        return
    programs = _programs()
    options = (f"-c listen_addresses={server.host} -c port={server.port} "
               "-c unix_socket_directories=''" + ("" if durable else " -c fsync=off"))
    _run([str(programs / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"),
          "-o", options, "-w", "-t", "60", "start"])
    create_database(server)


def running(data: Path) -> bool:
    """Whether the cluster in ``data`` has a server running."""
    return subprocess.run([str(_programs() / "pg_ctl"), "-D", str(data), "status"],
                          capture_output=True, cwd="/", **_as_owner()).returncode == 0


def stop(data: Path) -> None:
    """Stop the cluster's server (fast shutdown: open sessions are ended), if it runs."""
    if running(data):
        _run([str(_programs() / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])


def _admin(server: Server):
    """A connection to the server's ``postgres`` database, each statement its own transaction
    (``CREATE DATABASE`` and ``DROP DATABASE`` run outside one)."""
    import psycopg2

    con = psycopg2.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, dbname="postgres")
    con.autocommit = True
    return con


def create_database(server: Server) -> None:
    """The server's database, unless it exists (initdb makes only ``postgres``)."""
    con = _admin(server)
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (server.db,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{server.db}"')
    finally:
        con.close()


def drop_database(server: Server) -> None:
    """Drop the server's database, ending its sessions."""
    con = _admin(server)
    try:
        with con.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{server.db}" WITH (FORCE)')
    finally:
        con.close()


def main(args: list[str]) -> None:
    if len(args) != 2 or args[0] not in ("start", "stop"):
        raise SystemExit("usage: python -m dagster_project.local_postgres start|stop DIR")
    action, data = args[0], Path(args[1]).resolve()
    server = Server.from_env()
    if action == "start":
        start(data, server)
        print(f"PostgreSQL on {server.host}:{server.port}, database {server.db}, user "
              f"{server.user} (cluster in {data})")
    else:
        stop(data)


if __name__ == "__main__":
    main(sys.argv[1:])
