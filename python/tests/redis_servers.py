"""redis-server processes started by the Python tests and the fault suite (tests/faults), on
ports from tests/ports.env; each is stopped, signalled or restarted through its own process
handle, never by name or by port."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import redis

ARGS_FILE = Path(__file__).resolve().parents[2] / "tests/redis-server.args"


def common_args():
    """tests/redis-server.args as arguments: `--name value` per line, `""` the empty value."""
    args = []
    for line in ARGS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, value = line.split(" ", 1)
        args += [name, "" if value.strip() == '""' else value.strip()]
    return args


class Server:
    """A redis-server this process started, answering PING when the constructor returns."""

    def __init__(self, port, *args):
        self.port = port
        self.args = args
        self.dir = tempfile.mkdtemp(prefix=f"rediscluster-py-{port}-")
        self.start()

    def start(self):
        """Starts (again, after `kill`: empty, as nothing is persisted) on the same port."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                *common_args(),
                "--port",
                str(self.port),
                "--dir",
                self.dir,
                *self.args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_timeout=1).ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server on port {self.port} did not start") from None
                time.sleep(0.02)

    def client(self, **kwargs):
        return redis.Redis(port=self.port, **kwargs)

    def pause(self):
        """SIGSTOP: the port stays open (the kernel accepts) but nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def kill(self):
        """SIGKILL, as a crash; `start` brings it back."""
        if self.process.poll() is None:
            self.resume()
            self.process.kill()
            self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
