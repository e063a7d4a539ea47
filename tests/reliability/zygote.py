"""Cheap crash rounds: one long-lived child process (the zygote) imports everything once, then
forks a fresh worker for each round; the test SIGKILLs the worker wherever it is. A round costs
a fork, not a Python start-up and FastAPI import (about 1 s each on a loaded CI machine).

Protocol (lines on the zygote's stdin/stdout): the test sends a JSON list of arguments; the
zygote forks, answers ``pid <n>``, waits for the worker and answers ``exit <status>``. The
worker runs ``<module>.work(*args)`` and may print lines of its own (``ready ...``) meanwhile.
The zygote starts no thread and opens no file before it forks, so a fork is safe.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def serve(module_name: str) -> None:
    """The zygote's main loop (runs in the child process)."""
    module = importlib.import_module(module_name)
    prepare = getattr(module, "prepare", None)
    if prepare is not None:
        prepare()
    print("zygote ready", flush=True)
    for line in sys.stdin:
        args = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                module.work(*args)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)


class Worker:
    def __init__(self, zygote: Zygote) -> None:
        self.zygote = zygote
        self.pid = 0
        self.lines: list[str] = []
        self.status: int | None = None

    def wait_for(self, prefix: str) -> str:
        """Read the worker's lines until one starts with ``prefix``; returns it."""
        while True:
            line = self.zygote.readline()
            if line.startswith("pid "):
                self.pid = int(line.split()[1])
                if prefix == "pid ":
                    return line
                continue
            if line.startswith("exit "):
                self.status = int(line.split()[1])
                if prefix != "exit":
                    raise AssertionError(
                        f"the worker exited ({self.status}) before {prefix!r}: "
                        f"{self.lines}\n{self.zygote.stderr()}"
                    )
                return line
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        """SIGKILL the worker (wherever it is) and wait until the zygote has reaped it; a worker
        that ended by itself first (an error) fails the test with its traceback."""
        if not self.pid:  # the zygote's "pid" line not read yet: read up to it, no further
            self.wait_for("pid ")
        with contextlib.suppress(ProcessLookupError):  # ended already: its status says how
            os.kill(self.pid, signal.SIGKILL)
        if self.status is None:
            self.wait_for("exit")
        assert self.status is not None
        killed = os.WIFSIGNALED(self.status) and os.WTERMSIG(self.status) == signal.SIGKILL
        assert killed, f"the worker ended by itself ({self.status}):\n{self.zygote.stderr()}"

    def finish(self) -> None:
        if self.status is None:
            self.wait_for("exit")
        assert self.status == 0, f"the worker failed ({self.status}):\n{self.zygote.stderr()}"


class Zygote:
    """The zygote process of ``module`` (which has ``work(*args)`` and maybe ``prepare()``)."""

    def __init__(self, module: str, env: dict[str, str] | None = None) -> None:
        # the zygote's stderr, read when something fails; closed in close()
        self._err = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from tests.reliability.zygote import serve; serve({module!r})",
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            bufsize=1,
            env={**os.environ, **(env or {})},
        )
        line = self.readline()
        assert line == "zygote ready", f"{line!r}\n{self.stderr()}"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the zygote died:\n{self.stderr()}")
        return line.rstrip("\n")

    def stderr(self) -> str:
        self._err.seek(0)
        return self._err.read()[-5000:]

    def fork(self, *args: Any) -> Worker:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(list(args)) + "\n")
        self.proc.stdin.flush()
        return Worker(self)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._err.close()


def append_line(path: Path, line: str) -> None:
    """Append one line with one write(): it survives a SIGKILL of the writer (page cache)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def pause(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.002)
