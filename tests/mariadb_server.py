"""A private MariaDB server for the tests of FreePBX's CDR database: Debian's ``mariadb-server``
(``scripts/install-system.sh``), started as the current user on a fresh data folder, a private
socket and a free 127.0.0.1 port, and stopped at the end of the session. Nothing is mocked: the
tests read the ``cdr`` and ``cel`` tables FreePBX creates, through the real driver.

::

    server = MariaDB(tmp_path)
    server.start()
    database = server.create_cdr_database("asteriskcdrdb_t1")   # FreePBX cdr + cel schema
    server.url("asteriskcdrdb_t1")        # mysql://qa:...@127.0.0.1:PORT/asteriskcdrdb_t1
    server.stop()
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pymysql

# The reader's account: what a site would give the toolkit (SELECT only).
READER, READER_PASSWORD = "qa", "s3cret pass"

# FreePBX's cdr table (cdr module, FreePBX 16/17): no primary key.
FREEPBX_CDR = """
CREATE TABLE `cdr` (
  `calldate` datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  `clid` varchar(80) NOT NULL DEFAULT '',
  `src` varchar(80) NOT NULL DEFAULT '',
  `dst` varchar(80) NOT NULL DEFAULT '',
  `dcontext` varchar(80) NOT NULL DEFAULT '',
  `channel` varchar(80) NOT NULL DEFAULT '',
  `dstchannel` varchar(80) NOT NULL DEFAULT '',
  `lastapp` varchar(80) NOT NULL DEFAULT '',
  `lastdata` varchar(80) NOT NULL DEFAULT '',
  `duration` int(11) NOT NULL DEFAULT 0,
  `billsec` int(11) NOT NULL DEFAULT 0,
  `disposition` varchar(45) NOT NULL DEFAULT '',
  `amaflags` int(11) NOT NULL DEFAULT 0,
  `accountcode` varchar(20) NOT NULL DEFAULT '',
  `uniqueid` varchar(32) NOT NULL DEFAULT '',
  `userfield` varchar(255) NOT NULL DEFAULT '',
  `did` varchar(50) NOT NULL DEFAULT '',
  `recordingfile` varchar(255) NOT NULL DEFAULT '',
  `cnum` varchar(80) NOT NULL DEFAULT '',
  `cnam` varchar(80) NOT NULL DEFAULT '',
  `outbound_cnum` varchar(80) NOT NULL DEFAULT '',
  `outbound_cnam` varchar(80) NOT NULL DEFAULT '',
  `dst_cnam` varchar(80) NOT NULL DEFAULT '',
  `linkedid` varchar(32) NOT NULL DEFAULT '',
  `peeraccount` varchar(80) NOT NULL DEFAULT '',
  `sequence` int(11) NOT NULL DEFAULT 0,
  KEY `calldate` (`calldate`),
  KEY `dst` (`dst`),
  KEY `accountcode` (`accountcode`),
  KEY `uniqueid` (`uniqueid`),
  KEY `did` (`did`),
  KEY `recordingfile` (`recordingfile`(191)),
  KEY `linkedid` (`linkedid`)
) DEFAULT CHARSET=utf8mb4
"""

# FreePBX's cel table (cel module).
FREEPBX_CEL = """
CREATE TABLE `cel` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `eventtype` varchar(30) NOT NULL,
  `eventtime` datetime NOT NULL,
  `cid_name` varchar(80) NOT NULL,
  `cid_num` varchar(80) NOT NULL,
  `cid_ani` varchar(80) NOT NULL,
  `cid_rdnis` varchar(80) NOT NULL,
  `cid_dnid` varchar(80) NOT NULL,
  `exten` varchar(80) NOT NULL,
  `context` varchar(80) NOT NULL,
  `channame` varchar(80) NOT NULL,
  `appname` varchar(80) NOT NULL,
  `appdata` varchar(255) NOT NULL,
  `amaflags` int(11) NOT NULL,
  `accountcode` varchar(20) NOT NULL,
  `uniqueid` varchar(32) NOT NULL,
  `linkedid` varchar(32) NOT NULL,
  `peer` varchar(80) NOT NULL,
  `userdeftype` varchar(255) NOT NULL,
  `extra` varchar(512) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `uniqueid_index` (`uniqueid`),
  KEY `linkedid_index` (`linkedid`),
  KEY `context_index` (`context`)
) DEFAULT CHARSET=utf8mb4
"""
_CEL_TEXT = (
    "cid_name", "cid_num", "cid_ani", "cid_rdnis", "cid_dnid", "exten", "context", "channame",
    "appname", "appdata", "accountcode", "uniqueid", "linkedid", "peer", "userdeftype", "extra",
)  # fmt: skip


class MariaDBMissing(RuntimeError):
    """mariadb-server is not installed."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _binary(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path is None:
        raise MariaDBMissing(
            f"{name} is missing: install Debian's mariadb-server (make system, i.e. "
            "scripts/install-system.sh)"
        )
    return path


class MariaDB:
    """One private mariadbd: its own data folder, socket and port."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.datadir = base / "data"
        self.socket = base / "mysqld.sock"
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def _as_user(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses root otherwise

    def start(self, timeout: float = 60.0) -> None:
        install, server = _binary("mariadb-install-db"), _binary("mariadbd")
        self.base.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                install,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *self._as_user(),
            ],
            check=True,
            capture_output=True,
        )
        log = (self.base / "error.log").open("wb")
        self.process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.base / 'mysqld.pid'}",
                "--skip-log-bin",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                "--innodb-log-file-size=8M",
                *self._as_user(),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(timeout)
            with self.admin() as conn, conn.cursor() as cursor:
                cursor.execute(f"CREATE USER '{READER}'@'%%' IDENTIFIED BY %s", (READER_PASSWORD,))
        except BaseException:
            self.stop()  # never leave a server behind
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.admin().close()
                return
            except pymysql.MySQLError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "mariadbd did not start: " + (self.base / "error.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def admin(self, database: str | None = None) -> pymysql.Connection:
        """A root connection over the private socket (autocommit)."""
        return pymysql.connect(
            unix_socket=str(self.socket),
            user="root",
            database=database,
            autocommit=True,
            charset="utf8mb4",
        )

    def url(self, database: str, *, password: str | None = READER_PASSWORD) -> str:
        """The cdr_url the toolkit is given (the reader account over TCP)."""
        quoted = "" if password is None else ":" + password.replace(" ", "%20")
        return f"mysql://{READER}{quoted}@127.0.0.1:{self.port}/{database}"

    def create_cdr_database(self, name: str, *, cdr_ddl: str = FREEPBX_CDR) -> CdrDatabaseFixture:
        """A fresh database with FreePBX's cdr and cel tables, readable by the reader account."""
        with self.admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            cursor.execute(f"GRANT SELECT ON `{name}`.* TO '{READER}'@'%'")
        with self.admin(name) as conn, conn.cursor() as cursor:
            cursor.execute(cdr_ddl)
            cursor.execute(FREEPBX_CEL)
        return CdrDatabaseFixture(self, name)


class CdrDatabaseFixture:
    """A test's CDR database: insert what the PBX would have written."""

    def __init__(self, server: MariaDB, name: str) -> None:
        self.server, self.name = server, name

    @property
    def url(self) -> str:
        return self.server.url(self.name)

    def insert_cdr(self, rows: Iterable[dict[str, Any]]) -> None:
        """Insert cdr rows (column → value; the rest take FreePBX's defaults)."""
        with self.server.admin(self.name) as conn, conn.cursor() as cursor:
            for row in rows:
                columns = ", ".join(f"`{column}`" for column in row)
                marks = ", ".join(["%s"] * len(row))
                cursor.execute(f"INSERT INTO cdr ({columns}) VALUES ({marks})", list(row.values()))

    def insert_cel(self, eventtype: str, eventtime: Any, uniqueid: str, linkedid: str) -> None:
        values = dict.fromkeys(_CEL_TEXT, "")
        values.update(uniqueid=uniqueid, linkedid=linkedid)
        columns: Sequence[str] = ("eventtype", "eventtime", "amaflags", *values)
        marks = ", ".join(["%s"] * len(columns))
        with self.server.admin(self.name) as conn, conn.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO cel ({', '.join(columns)}) VALUES ({marks})",
                [eventtype, eventtime, 3, *values.values()],
            )

    def drop(self) -> None:
        with self.server.admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
