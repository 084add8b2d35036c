"""nginx as the benchmark's fixed upstream and as the baseline reverse proxy.

Each instance runs in the foreground (``daemon off``) with its own prefix directory, config,
pid and log files in a temporary directory, one worker process, bound to 127.0.0.1 only.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.net import wait_for_port

# The upstream answers this path with the identity assertion it received (a check, not load).
ASSERTION_ECHO_PATH = "/_bench/assertion"

# Temp-path directives of optional modules; skipped when nginx was built without them.
_TEMP_PATHS = {
    "client_body_temp_path": None,
    "proxy_temp_path": "http_proxy",
    "fastcgi_temp_path": "http_fastcgi",
    "uwsgi_temp_path": "http_uwsgi",
    "scgi_temp_path": "http_scgi",
}


def find_nginx() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError("nginx is not installed (run scripts/ensure-system-deps.sh bench)")
    return found


def fixed_body(size: int = 1024) -> bytes:
    """A deterministic body of ``size`` printable bytes (no quotes or backslashes)."""
    alphabet = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return bytes(alphabet[i % len(alphabet)] for i in range(size))


def _common(prefix: Path, missing_modules: frozenset[str]) -> str:
    temp = []
    for directive, module in _TEMP_PATHS.items():
        if module is None or module not in missing_modules:
            temp.append(f"  {directive} {prefix}/{directive.removesuffix('_temp_path')};")
    temp_lines = "\n".join(temp)
    return f"""worker_processes 1;
daemon off;
master_process on;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
{temp_lines}
"""


def upstream_config(prefix: Path, port: int, body: bytes, missing: frozenset[str]) -> str:
    return (
        _common(prefix, missing)
        + f"""  server {{
    listen 127.0.0.1:{port};
    default_type text/plain;
    location / {{
      return 200 "{body.decode("ascii")}";
    }}
    location = {ASSERTION_ECHO_PATH} {{
      return 200 "$http_x_menshen_assertion";
    }}
  }}
}}
"""
    )


def proxy_config(prefix: Path, port: int, upstream_port: int, missing: frozenset[str]) -> str:
    """The baseline: keep-alive to the upstream and an access-log line per request, as
    deployed proxies do (menshen writes an audit row per request)."""
    return (
        _common(prefix, missing)
        + f"""  access_log {prefix}/access.log combined;
  upstream backend {{
    server 127.0.0.1:{upstream_port};
    keepalive 64;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
    }}
  }}
}}
"""
    )


def missing_modules(nginx: str) -> frozenset[str]:
    """Modules this nginx was built without (``--without-http_scgi_module`` -> ``http_scgi``)."""
    out = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=10, check=False)
    flags = (out.stdout + out.stderr).split()
    return frozenset(
        flag.removeprefix("--without-").removesuffix("_module")
        for flag in flags
        if flag.startswith("--without-") and flag.endswith("_module")
    )


@dataclass
class Nginx:
    """One nginx master (+1 worker) in the foreground; a context manager that always stops it."""

    nginx: str
    prefix: Path
    config: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.prefix.mkdir(parents=True, exist_ok=True)
        conf = self.prefix / "nginx.conf"
        conf.write_text(self.config, encoding="ascii")
        self.process = subprocess.Popen(
            [
                self.nginx,
                "-p",
                str(self.prefix),
                "-e",
                str(self.prefix / "error.log"),
                "-c",
                str(conf),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.port, timeout, alive=lambda: self._alive())
        except Exception:
            self.stop()
            raise RuntimeError(f"nginx did not start: {self.error_log()}") from None

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pids(self) -> list[int]:
        """The master and its worker(s)."""
        if self.process is None:
            return []
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        try:
            return [master, *(int(pid) for pid in children.read_text().split())]
        except OSError:
            return [master]

    def error_log(self) -> str:
        try:
            return (self.prefix / "error.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no error log)"

    def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        if process.poll() is None:
            process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()

    def __enter__(self) -> Nginx:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
